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
#: NumPy backend, else the configured backend), ``keras`` (skip the NumPy graph) or ``default``
#: (Keras on the configured backend, TensorFlow unless ``KERAS_BACKEND`` says otherwise).
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


def seed_random(seed: int) -> None:
    """``keras.utils.set_random_seed``: Python, NumPy, Keras' global seed and the backend's.

    On the JAX and PyTorch backends TensorFlow is not imported for it (Keras seeds
    TensorFlow whenever it is importable, which costs a 5 s import on every fit):
    training there reads its batches through a NumPy ``PyDataset``, never ``tf.data``.
    """
    import keras

    lazy = getattr(sys.modules.get("keras.src.utils.module_utils"), "tensorflow", None)
    skip_tf = (backend_name() != "tensorflow" and "tensorflow" not in sys.modules
               and getattr(lazy, "_available", True) is None)
    if not skip_tf:
        keras.utils.set_random_seed(seed)
        return
    lazy._available = False  # read by set_random_seed as "TensorFlow is not installed"
    try:
        keras.utils.set_random_seed(seed)
    finally:
        lazy._available = None  # asked again (and imported) by whatever needs TensorFlow later


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


def import_backend(quiet: bool = True) -> None:
    """Import Keras and its backend (and probe devices) with native log noise silenced."""
    with quiet_native_stderr(quiet):
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
      configured backend (:func:`import_backend`); also when jax (which
      Keras' NumPy backend imports) is not installed.
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


def leave_inference_backend(quiet: bool = True) -> bool:
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

    backend = _default_backend()
    with warnings.catch_warnings(), quiet_native_stderr(quiet):
        warnings.simplefilter("ignore")  # Keras warns that re-importing itself is dangerous: handled here
        keras.config.set_backend(backend)
    for name in [m for m in sys.modules if m.startswith(("forecaster.models", "forecaster.training"))]:
        del sys.modules[name]
    _inference_numpy = False
    log.debug("Keras switched from the NumPy inference backend to %s", backend)
    import_backend(quiet)
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
