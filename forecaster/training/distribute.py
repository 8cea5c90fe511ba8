"""``--strategy``: train on several devices or machines with ``tf.distribute``.

==============  ==============================================================
``default``     no strategy: Keras places the model on one device (the GPU if
                there is one)
``mirrored``    ``tf.distribute.MirroredStrategy`` over every local GPU (on a
                machine without GPUs: every logical CPU device, usually one)
``multiworker`` ``tf.distribute.MultiWorkerMirroredStrategy``; the cluster and
                this process's place in it come from the ``TF_CONFIG``
                environment variable. Every worker runs the same command.
==============  ==============================================================

Batch size: ``--batch-size`` is the batch *per replica*; a step consumes a
global batch of ``batch_size x replicas`` windows, split evenly across the
replicas. So adding GPUs keeps each GPU's load (and memory) the same and
cuts the steps per epoch, as in the TensorFlow guides; scale
``--learning-rate`` up with the replicas if training becomes too slow to move.

Only the TensorFlow backend has these strategies.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
from typing import Any

from forecaster.config import STRATEGIES
from forecaster.exceptions import ConfigError

log = logging.getLogger(__name__)


def get_strategy(name: str) -> Any:
    """The ``tf.distribute`` strategy for ``--strategy name`` (``None`` for ``default``).

    A strategy is made once per process and reused: a
    ``MultiWorkerMirroredStrategy`` configures the process's collective ops
    and cannot be made twice. Make it before TensorFlow runs its first op
    (the CLI does so right after importing the backend).

    Raises:
        ConfigError: an unknown name, a backend other than TensorFlow, or
            ``multiworker`` without a usable ``TF_CONFIG``.

    >>> get_strategy("default") is None
    True
    """
    if name not in STRATEGIES:
        raise ConfigError(f"`strategy` must be one of {', '.join(STRATEGIES)}. Received: strategy={name!r}")
    if name == "default":
        return None
    from forecaster.runtime import backend_name

    backend = backend_name()
    if backend != "tensorflow":
        raise ConfigError(
            f"--strategy {name} needs the TensorFlow backend (tf.distribute); the Keras backend is {backend!r}. "
            "Set KERAS_BACKEND=tensorflow, or use --strategy default."
        )
    if name == "multiworker":
        _check_tf_config()
    return _make(name)


@functools.lru_cache(maxsize=None)
def _make(name: str) -> Any:
    import tensorflow as tf

    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:
        raise ConfigError(
            f"Cannot start the multi-worker strategy: {exc}. It must be created before TensorFlow runs "
            "any operation: use the 'forecast fit' command, or call get_strategy('multiworker') first."
        ) from None
    _patch_multiworker_reduce(strategy)
    return strategy


def _check_tf_config() -> None:
    raw = os.environ.get("TF_CONFIG")
    example = (
        'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\''
    )
    if not raw:
        raise ConfigError(
            f"--strategy multiworker reads the cluster from the TF_CONFIG environment variable, which is not set. "
            f"Set it on every worker, e.g. {example} (index 1 on the second machine)."
        )
    try:
        spec = json.loads(raw)
        workers = spec["cluster"]["worker"]
        task = spec["task"]
        ok = isinstance(workers, list) and workers and task["type"] in ("worker", "chief") and int(task["index"]) >= 0
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise ConfigError(f"TF_CONFIG must be JSON naming the cluster's workers and this task. Received: {raw!r}. Example: {example}")


def num_replicas(strategy: Any) -> int:
    """Replicas that each take ``--batch-size`` windows per step (1 without a strategy)."""
    return 1 if strategy is None else int(strategy.num_replicas_in_sync)


def scope(strategy: Any):
    """``strategy.scope()``, or a no-op context without a strategy."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def describe(name: str, strategy: Any, batch_size: int) -> str:
    """One line for the log, e.g. ``'mirrored: 2 replicas, global batch 2 x 64 = 128'``."""
    n = num_replicas(strategy)
    if strategy is None:
        return f"{name}: 1 device, batch {batch_size}"
    return f"{name}: {n} replica(s), global batch {n} x {batch_size} = {n * batch_size}"


def _patch_multiworker_reduce(strategy: Any) -> None:
    """Work around two Keras 3 bugs in ``model.fit`` under ``MultiWorkerMirroredStrategy``.

    Keras (up to at least 3.15) calls ``strategy.reduce("MEAN", (x, y), axis=None)``
    on the first batch when it builds the model, which this strategy cannot do
    for a tuple ("Attempt to convert a value (PerReplica...) to a Tensor"), and
    ``strategy.reduce("MEAN", loss, axis=0)`` on scalar logs ("Invalid reduction
    dimension 0 for input with 0 dimensions"); see keras-team/keras#20585 and
    tensorflow/tensorflow#72388. This instance's ``reduce`` (only this object's)
    reduces nested values leaf by leaf and scalars without an axis, which is
    what those calls mean.
    """
    import tensorflow as tf

    original = strategy.reduce

    def reduce(reduce_op, value, axis=None):
        def one(v):
            ax = axis
            if ax is not None:
                first = getattr(v, "values", (v,))[0]
                if getattr(first.shape, "rank", None) == 0:
                    ax = None
            return original(reduce_op, v, axis=ax)

        return tf.nest.map_structure(one, value)

    strategy.reduce = reduce
