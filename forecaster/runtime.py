"""What the current Keras backend will compute on, and repeatability settings."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import warnings

log = logging.getLogger(__name__)

#: How a saved run is loaded for prediction: ``auto`` (default: forecaster's NumPy graph, else Keras'
#: NumPy backend, else the training backend), ``keras`` (skip the NumPy graph) or ``default``
#: (Keras on the backend a fit would train on, :func:`training_backend`: ``KERAS_BACKEND`` if set, else
#: JAX on a CPU-only machine, TensorFlow on a GPU).
INFERENCE_ENV = "FORECASTER_INFERENCE"
#: Packages Keras imports (when installed) only for helpers inference never uses: its scikit-learn
#: wrappers and its image-gallery plot. Kept out of the NumPy-backend import; imported normally later.
_KERAS_OPTIONAL_IMPORTS = ("sklearn", "matplotlib")
#: Whether this process imported Keras with the NumPy backend itself, for inference only.
_inference_numpy = False


def backend_name() -> str:
    """The Keras backend in use (``KERAS_BACKEND``, default ``tensorflow``)."""
    import keras

    return keras.backend.backend()


def device_summary() -> str:
    """One line naming the backend and the device training will run on.

    >>> device_summary()  # doctest: +SKIP
    'tensorflow backend on CPU'
    """
    backend = backend_name()
    gpus: list[str] = []
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            for dev in tf.config.list_physical_devices("GPU"):
                details = tf.config.experimental.get_device_details(dev)
                gpus.append(details.get("device_name", dev.name))
        elif backend == "jax":
            import jax

            gpus = [str(getattr(d, "device_kind", d)) for d in jax.devices() if d.platform == "gpu"]
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception as exc:  # device probing must never stop a run
        log.debug("device probe failed: %s", exc)
    if gpus:
        return f"{backend} backend on GPU: {', '.join(gpus)}"
    return f"{backend} backend on CPU"


def on_gpu() -> bool:
    """Whether the current backend sees a GPU (see :func:`device_summary`)."""
    return " on GPU" in device_summary()


def set_seed(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic.

    On CPU this makes two runs with the same data, config and seed produce
    identical weights. On a GPU, TensorFlow's op determinism also pins the
    cuDNN algorithms (slower); JAX and PyTorch GPU kernels may still differ in
    the last bits between runs.

    ``deterministic=False`` turns TensorFlow's op determinism off (Keras
    refuses XLA compilation while it is on, so ``--jit-compile`` needs it off).
    """
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    seed_random(seed)
    if backend_name() == "tensorflow":
        import tensorflow as tf

        try:
            if deterministic:
                tf.config.experimental.enable_op_determinism()
            else:
                # Not exported under tf.config (TF 2.21); the module function is what enable_ pairs with.
                from tensorflow.python.framework import config as tf_config

                tf_config.disable_op_determinism()
        except Exception as exc:  # pragma: no cover - very old TF
            log.debug("op determinism unavailable: %s", exc)


@contextlib.contextmanager
def tensorflow_unneeded():
    """Inside the block Keras sees TensorFlow as not installed, on the JAX and PyTorch backends while no one has
    imported it: Keras asks whether it is importable (and so imports it, about 5 s) when it seeds the random
    generators (to seed TensorFlow too) and when it serialises a model (to test for ``tf.TensorShape``), neither
    of which a JAX or PyTorch fit needs. Its import is left to whatever needs it later."""
    import keras  # noqa: F401

    lazy = getattr(sys.modules.get("keras.src.utils.module_utils"), "tensorflow", None)
    if (backend_name() == "tensorflow" or "tensorflow" in sys.modules
            or lazy is None or getattr(lazy, "_available", True) is not None):
        yield
        return
    lazy._available = False
    try:
        yield
    finally:
        lazy._available = None  # asked again, and imported, by whatever needs TensorFlow later


def seed_random(seed: int) -> None:
    """``keras.utils.set_random_seed``: Python, NumPy, Keras' global seed and the backend's.

    On the JAX and PyTorch backends TensorFlow is not imported for it (see :func:`tensorflow_unneeded`):
    training there reads its batches through a NumPy ``PyDataset``, never ``tf.data``.
    """
    import keras

    with tensorflow_unneeded():
        keras.utils.set_random_seed(seed)


@contextlib.contextmanager
def quiet_native_stderr(enabled: bool = True):
    """Silence C++ log lines that native libraries write straight to file descriptor 2.

    TensorFlow prints absl/oneDNN/CUDA-probe notices at import, before any
    Python logging setting applies (``TF_CPP_MIN_LOG_LEVEL`` no longer hides
    them all). The CLI wraps the import and the device probe in this so its
    own output stays readable; ``--verbose`` leaves them visible. Python
    exceptions are unaffected: they are printed after the descriptor is back.
    """
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor (e.g. captured streams)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


#: ``forecaster.runtime.training_backend`` reads NVIDIA's driver through these device files: present, a GPU is
#: there for TensorFlow (probing it through TensorFlow itself would cost its import on every CPU-only fit).
NVIDIA_DEVICES = ("/dev/nvidiactl", "/dev/nvidia0")


def gpu_present() -> bool:
    """Whether an NVIDIA GPU looks usable here: its driver's device files exist and ``CUDA_VISIBLE_DEVICES``
    does not hide every device (``""`` or ``-1``)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    return any(os.path.exists(p) for p in NVIDIA_DEVICES)


def tensorflow_required(config=None, *, tensorboard: bool = False) -> bool:
    """Whether a fit with ``config`` (a ``ForecastConfig``; None: the defaults) needs TensorFlow whatever the
    machine: a tf.distribute ``--strategy``, or TensorBoard logs (Keras writes them with TensorFlow)."""
    return tensorboard or (config is not None and config.runtime.strategy != "default")


def training_backend(*, needs_tensorflow: bool = False) -> str:
    """The Keras backend a fit imports when Keras is not imported yet; see the README's "Backends".

    * ``KERAS_BACKEND`` set: that one (``tensorflow`` keeps TensorFlow on a CPU).
    * ``~/.keras/keras.json`` naming ``jax`` or ``torch``: that one (Keras writes ``tensorflow`` there by
      itself on its first import, so that entry is no choice and is not read as one).
    * ``needs_tensorflow`` (:func:`tensorflow_required`): TensorFlow.
    * An NVIDIA GPU present (:func:`gpu_present`): TensorFlow, which trains on it (cuDNN kernels, the
      ``--strategy`` and ``--mixed-precision`` options).
    * Otherwise, on a CPU, JAX when it is installed (a runtime dependency): the default three-member GRU
      trained 2.9x faster on it than on TensorFlow on 2 cores (a default fit of a 200-point monthly
      series 17.2 s against 49.9 s of training); TensorFlow when it is not.
    """
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    configured = _default_backend()
    if configured != "tensorflow":
        return configured
    if needs_tensorflow or gpu_present() or importlib.util.find_spec("jax") is None:
        return "tensorflow"
    return "jax"


def import_backend(quiet: bool = True, *, needs_tensorflow: bool = False) -> None:
    """Import Keras on :func:`training_backend` (unless it is imported) and probe devices, native noise silenced."""
    with quiet_native_stderr(quiet):
        if "keras" not in sys.modules and not os.environ.get("KERAS_BACKEND"):
            os.environ["KERAS_BACKEND"] = training_backend(needs_tensorflow=needs_tensorflow)
            try:
                import keras  # noqa: F401
            finally:
                # Keras read it at its import; child processes and the NumPy inference choice see the user's environment.
                del os.environ["KERAS_BACKEND"]
        import keras  # noqa: F401

        if backend_name() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")
            if quiet:
                # Each backtest fold builds a new model, so TensorFlow's "retracing" notice
                # fires on every fold although nothing is wrong; keep its Python logger to errors.
                logging.getLogger("tensorflow").setLevel(logging.ERROR)


def numpy_inference_available() -> bool:
    """Whether Keras' NumPy backend can be imported here (it needs ``jax`` importable for a few ops)."""
    return importlib.util.find_spec("jax") is not None


def import_for_inference(quiet: bool = True) -> str:
    """Import Keras for loading and predicting a saved model, on the cheapest backend; returns its name.

    Keras fixes its backend at the first ``import keras`` of a process, so
    the choice is made here, once:

    * Keras already imported (a notebook that trained, a test session): it
      is used as it is.
    * ``KERAS_BACKEND`` set, or ``FORECASTER_INFERENCE=default``: the
      backend a fit would train on (:func:`import_backend`); also when jax
      (which Keras' NumPy backend imports) is not installed.
    * Otherwise Keras' NumPy backend: inference without importing
      TensorFlow. scikit-learn and matplotlib, which Keras imports only for
      its scikit-learn wrappers and image-gallery plot, are kept out of that
      import (they import normally afterwards). Should the process train later,
      :func:`leave_inference_backend` switches to the default backend first.
    """
    global _inference_numpy
    if (
        "keras" in sys.modules
        or "KERAS_BACKEND" in os.environ
        or os.environ.get(INFERENCE_ENV, "auto") not in ("auto", "keras")
        or not numpy_inference_available()
    ):
        import_backend(quiet)
        return backend_name()
    os.environ["KERAS_BACKEND"] = "numpy"
    try:
        with keep_out(*_KERAS_OPTIONAL_IMPORTS, "tensorflow"), quiet_native_stderr(quiet):
            import keras  # noqa: F401
    finally:
        # Child processes and a later switch see the user's environment again.
        del os.environ["KERAS_BACKEND"]
    _inference_numpy = True
    return backend_name()


@contextlib.contextmanager
def keep_out(*names: str):
    """Make ``import name`` fail inside the block for packages not imported yet (restored afterwards).

    Keras asks whether TensorFlow is importable while it deserialises some layers (``tf.available``
    in its serialisation code) and imports it to find out; on the NumPy backend that answer is not needed.
    """
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def inference_only() -> bool:
    """Whether Keras runs on the NumPy backend that :func:`import_for_inference` chose (it cannot train)."""
    return _inference_numpy and "keras" in sys.modules and backend_name() == "numpy"


def leave_inference_backend(quiet: bool = True, *, needs_tensorflow: bool = False) -> bool:
    """Switch from the NumPy inference backend to the default one; ``True`` if a switch happened.

    Called before anything is built or trained, and when a saved model uses
    a layer the NumPy backend cannot run. Keras is re-imported
    (``keras.config.set_backend``) and forecaster's own Keras modules
    (``forecaster.models``, ``forecaster.training``) are dropped so their
    next import binds the new backend. Models loaded before the switch are
    loaded again on their next prediction (see ``Forecaster``).
    """
    global _inference_numpy
    if not inference_only():
        return False
    import keras

    backend = training_backend(needs_tensorflow=needs_tensorflow)
    with warnings.catch_warnings(), quiet_native_stderr(quiet):
        warnings.simplefilter("ignore")  # Keras warns that re-importing itself is dangerous: handled here
        keras.config.set_backend(backend)
    for name in [m for m in sys.modules if m.startswith(("forecaster.models", "forecaster.training"))]:
        del sys.modules[name]
    _inference_numpy = False
    log.debug("Keras switched from the NumPy inference backend to %s", backend)
    import_backend(quiet, needs_tensorflow=needs_tensorflow)
    return True


def _default_backend() -> str:
    """The backend Keras would pick without ``KERAS_BACKEND``: ``~/.keras/keras.json``, else TensorFlow."""
    import json

    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as fh:
            backend = json.load(fh).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"
    return backend if backend in ("tensorflow", "jax", "torch") else "tensorflow"
