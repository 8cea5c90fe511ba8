"""The one training loop: compile, callbacks, checkpoints, fit.

Models arrive uncompiled from :mod:`forecaster.models`; :func:`compile_model`
gives each a **new** optimizer (Adam with gradient clipping) and the loss of
its output head, so a refit never continues an old optimizer's state.
:func:`train` runs ``keras.Model.fit`` on the lazy window streams of
:mod:`forecaster.training.pipeline` with early stopping (best weights
restored), a NaN guard and optional per-epoch backups for ``--resume``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd

from forecaster.config import ForecastConfig
from forecaster.exceptions import TrainingError
from forecaster.models import IOSpec, build_model, uses_teacher
from forecaster.training import distribute
from forecaster.training.pipeline import steps_per_execution_for, training_data, use_tf_data
from forecaster.windowing import Split, WindowView

log = logging.getLogger(__name__)

#: Most batches per call of the compiled training function (TensorFlow backend,
#: no tf.distribute strategy; 1 elsewhere).
STEPS_PER_EXECUTION = 16
HISTORY_FILE = "history.csv"


class StopOnNonFinite(keras.callbacks.TerminateOnNaN):
    """Keras' ``TerminateOnNaN`` that also remembers the (1-based) epoch it stopped in."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_epoch: int | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        super().on_batch_end(batch, logs)
        if self.model.stop_training and self.bad_epoch is None:
            self.bad_epoch = self._epoch + 1


class SmoothedValLoss(keras.callbacks.Callback):
    """Adds ``val_loss_smoothed``: an exponential moving average of ``val_loss`` (weight ``past`` on the past).

    Placed before the callbacks that monitor it (they see the same ``logs``).
    A handful of validation windows gives a jumpy loss; its average stops
    early stopping from keeping the weights of a lucky epoch.
    """

    def __init__(self, past: float) -> None:
        super().__init__()
        self.past = past
        self._value: float | None = None

    def on_train_begin(self, logs=None):
        self._value = None

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or "val_loss" not in logs:
            return
        v = float(logs["val_loss"])
        self._value = v if self._value is None else self.past * self._value + (1 - self.past) * v
        logs["val_loss_smoothed"] = self._value


def compile_model(model: keras.Model, config: ForecastConfig, io: IOSpec, *, steps_per_execution: int = 1) -> keras.Model:
    """Compile ``model`` with a fresh Adam optimizer, the head's loss and the runtime options.

    With the ``mixed_float16`` policy Keras wraps the optimizer in a
    ``LossScaleOptimizer`` (dynamic loss scaling).
    """
    optimizer = keras.optimizers.Adam(
        learning_rate=config.train.learning_rate, clipnorm=config.train.clipnorm or None
    )
    model.compile(
        optimizer=optimizer, loss=io.loss, jit_compile=config.runtime.jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model


def new_model(config: ForecastConfig, io: IOSpec, *, steps_per_execution: int = 1, graph: str = "predict") -> keras.Model:
    """Build and compile: what every fit starts from (``graph="train"``: a teacher-forced family's training graph)."""
    return compile_model(build_model(config, io, graph=graph), config, io, steps_per_execution=steps_per_execution)


@dataclass
class TrainResult:
    model: keras.Model
    history: dict[str, list[float]]
    seconds: float
    replicas: int
    global_batch_size: int


def train(
    config: ForecastConfig,
    io: IOSpec,
    view: WindowView,
    split: Split,
    *,
    verbose: int | str = 0,
    checkpoint_dir: str | Path | None = None,
    weights=None,
) -> TrainResult:
    """Fit a brand-new model on the training origins of ``split``, early-stopped on its validation origins.

    Args:
        config: the model config (``train`` and ``runtime`` sections are used here).
        io: the model's shapes.
        view: lazy windows over the scaled series.
        split: training and validation origins.
        verbose: ``keras.Model.fit`` verbosity.
        checkpoint_dir: if given, weights, optimizer state and epoch are
            backed up there after every epoch (``BackupAndRestore``) with the
            per-epoch history beside them; a later call with the same
            directory resumes after the last completed epoch.
        weights: per-series loss weights of a panel (``split`` then holds
            :class:`~forecaster.windowing.SegmentedOrigins`); None: every window weighs 1.

    Raises:
        TrainingError: the loss became NaN/inf.
    """
    strategy = distribute.get_strategy(config.runtime.strategy)
    log.log(logging.DEBUG if strategy is None else logging.INFO, "Strategy: %s",
            distribute.describe(config.runtime.strategy, strategy, config.train.batch_size))
    replicas = distribute.num_replicas(strategy)
    # seq2seq/attention train a graph that takes the true targets as an input (teacher forcing) and are
    # saved as the predict graph over the same weights, which feeds each step its own prediction.
    teacher = uses_teacher(config)
    # --batch-size is per replica; the data source yields global batches that the strategy splits.
    batch_size = config.train.batch_size * replicas
    train_ds, val_ds, steps = training_data(
        view, split.train_origins, split.val_origins, batch_size, seed=config.train.seed,
        steps_per_epoch=config.train.steps_per_epoch, min_steps_per_epoch=config.train.min_steps_per_epoch,
        weights=weights, teacher=teacher,
    )
    # Several batches per call of the compiled training step on TensorFlow. Not under a
    # tf.distribute strategy: Keras 3.15's multi-step function fails there ("You must feed a
    # value for placeholder tensor"); not on the PyDataset path, whose epochs are not a stream.
    per_call = 1
    if use_tf_data() and strategy is None:
        per_call = steps_per_execution_for(steps, STEPS_PER_EXECUTION)
    with distribute.scope(strategy):
        model = new_model(config, io, steps_per_execution=per_call, graph="train" if teacher else "predict")
    log.debug("jit_compile=%s, dtype policy %s", model.jit_compile, model.dtype_policy.name)
    nonfinite = StopOnNonFinite()
    monitor = "val_loss"
    callbacks: list[keras.callbacks.Callback] = [nonfinite]
    if config.train.val_smoothing > 0:
        callbacks.append(SmoothedValLoss(config.train.val_smoothing))
        monitor = "val_loss_smoothed"
    callbacks.append(keras.callbacks.EarlyStopping(
        monitor=monitor, mode="min", patience=config.train.patience, restore_best_weights=True, verbose=0
    ))
    if config.train.lr_patience:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, mode="min", factor=0.5, patience=config.train.lr_patience,
            min_lr=config.train.learning_rate / 32, verbose=0,
        ))
    history_csv = None
    if checkpoint_dir is not None:
        ckpt = Path(checkpoint_dir)
        ckpt.mkdir(parents=True, exist_ok=True)
        history_csv = ckpt / HISTORY_FILE
        callbacks += [
            keras.callbacks.BackupAndRestore(str(ckpt / "backup")),
            keras.callbacks.CSVLogger(str(history_csv), append=True),
        ]
    started = time.perf_counter()
    fitted = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.train.epochs,
        steps_per_epoch=steps,
        shuffle=False,  # the data source shuffles its own origins, seeded
        callbacks=callbacks,
        verbose=verbose,
    )
    elapsed = time.perf_counter() - started
    if nonfinite.bad_epoch is not None:
        raise TrainingError(
            f"Training diverged: the loss became NaN/inf in epoch {nonfinite.bad_epoch}. "
            "Lower --learning-rate, keep gradient clipping on (--clipnorm 1.0), or check the data for extreme values."
        )
    if strategy is not None or teacher:
        # The predict graph of a teacher-forced family (same layers, same weight order); and
        # keep a plain single-device copy: predicting and saving then work without the strategy
        # (a strategy's predict_on_batch would return one copy of the batch per replica).
        plain = build_model(config, io)
        plain.set_weights(model.get_weights())
        model = plain
    if history_csv is not None and history_csv.exists():
        # Includes the epochs run before an interruption, not just this call's.
        logged = pd.read_csv(history_csv).drop(columns=["epoch"], errors="ignore")
        history = {k: [float(v) for v in logged[k]] for k in logged.columns}
    else:
        history = {k: [float(v) for v in vals] for k, vals in fitted.history.items()}
    return TrainResult(model=model, history=history, seconds=elapsed, replicas=replicas, global_batch_size=batch_size)
