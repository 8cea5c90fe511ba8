"""What the current Keras backend will compute on, and repeatability settings."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

log = logging.getLogger(__name__)


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
    import keras

    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    keras.utils.set_random_seed(seed)
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
