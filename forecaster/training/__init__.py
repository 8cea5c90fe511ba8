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
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError, TrainingError
from forecaster.models import IOSpec, build_model, uses_teacher
from forecaster.runtime import seed_random
from forecaster.training import distribute
from forecaster.training.pipeline import steps_per_execution_for, training_data, use_tf_data
from forecaster.windowing import Split, WindowView

log = logging.getLogger(__name__)

#: Most batches per call of the compiled training function (TensorFlow backend,
#: no tf.distribute strategy; 1 elsewhere).
STEPS_PER_EXECUTION = 16
#: Epochs of fewer batches run one batch per call: Keras traces the training step three times into its
#: multi-batch function, which cost more than the per-batch dispatch it saves at the default budget of 30
#: batches per epoch (a 200-point monthly series' default fit: 29.2 -> 26.5 s on 2 CPU cores, a 200-series
#: panel 51.6 -> 51.7 s, the same weights).
MULTI_STEP_MIN_STEPS = 100
HISTORY_FILE = "history.csv"
#: ``--resume`` backups: after the first epoch, then at most one per this many seconds (see :class:`EpochBackup`).
BACKUP_SECONDS = 10.0
#: In a checkpoint directory: the weights of a fit whose training ended (kept until the run is saved).
TRAINED_FILE = "trained.weights.h5"


def _per_call(steps: int, strategy) -> int:
    """Batches per call of the compiled training step (see :data:`STEPS_PER_EXECUTION`)."""
    if not use_tf_data() or strategy is not None or steps < MULTI_STEP_MIN_STEPS:
        return 1
    return steps_per_execution_for(steps, STEPS_PER_EXECUTION)


class StopOnNonFinite(keras.callbacks.TerminateOnNaN):
    """Keras' ``TerminateOnNaN`` that also remembers the (1-based) epoch it stopped in."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_epoch: int | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        # The model is touched only when the loss is not finite: on JAX, reading ``self.model``
        # synchronises the trainer's state into the layers, which cost ~2 ms on every batch.
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        super().on_batch_end(batch, logs)
        if self.bad_epoch is None:
            self.bad_epoch = self._epoch + 1


class EpochBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that writes after the first epoch, then after an epoch only when at least ``every``
    seconds have passed since the last backup.

    A backup (weights and optimizer state) cost about 0.16 s on 2 CPU cores for the default three-member GRU:
    written after every one of a default fit's ~45 half-second epochs it was a fifth of the training time. An
    interruption now loses at most about ``every`` seconds of epochs, which ``--resume`` runs again.
    """

    def __init__(self, backup_dir: str, every: float) -> None:
        super().__init__(backup_dir)
        self.every = every
        self._saved_at: float | None = None

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        now = time.monotonic()
        if self._saved_at is None or now - self._saved_at >= self.every:
            self._save_model()
            self._saved_at = time.monotonic()


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


class EpochETA(keras.callbacks.Callback):
    """Logs an overall estimate of the time left: the remaining epochs at the mean epoch time so far.

    The estimate is an upper bound (every remaining epoch run; early stopping usually ends
    sooner). Logged (INFO) after epochs 1 and 2, then every 10 epochs: the CLI shows it on stderr.
    """

    def __init__(self, epochs: int, every: int = 10) -> None:
        super().__init__()
        self.epochs, self.every = epochs, every
        self.started: float | None = None
        self.first_epoch: int | None = None

    def on_epoch_begin(self, epoch, logs=None):
        # Printed here, before Keras's "Epoch k/N" line, so it follows the previous epoch's summary.
        if self.started is None:
            self.started, self.first_epoch = time.perf_counter(), epoch  # a resumed fit starts later
            return
        done = epoch - (self.first_epoch or 0)
        left = self.epochs - epoch
        if left <= 0 or not (done <= 2 or done % self.every == 0):
            return
        per_epoch = (time.perf_counter() - self.started) / max(done, 1)
        # Through logging (the CLI shows INFO on stderr): library code does not write to the terminal itself.
        log.info("ETA: at most %s for the %d epoch%s left (%.1fs per epoch so far; early stopping may end sooner)",
                 format_seconds(per_epoch * left), left, "s" if left > 1 else "", per_epoch)


def format_seconds(seconds: float) -> str:
    """``75.0`` -> ``'1m15s'``; ``3725`` -> ``'1h02m'``; ``9.4`` -> ``'9s'``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def tensorboard_callback(log_dir: str | Path) -> keras.callbacks.Callback:
    """A ``keras.callbacks.TensorBoard`` writing losses, the learning rate and weight histograms per epoch.

    Raises:
        ConfigError: the ``tensorboard`` package (extra ``forecaster[tensorboard]``) is missing,
            or the directory cannot be created.
    """
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("TensorBoard logs need the `tensorboard` package, which is not installed. "
                          "Install it with: pip install 'forecaster[tensorboard]' (or pip install tensorboard).")
    path = Path(log_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the TensorBoard directory {path}: {exc.strerror or exc}. "
                          "Pass a writable directory to --tensorboard.") from None
    return keras.callbacks.TensorBoard(log_dir=str(path), histogram_freq=1, write_graph=False, update_freq="epoch")


def compile_model(model: keras.Model, config: ForecastConfig, io: IOSpec, *, steps_per_execution: int = 1) -> keras.Model:
    """Compile ``model`` with a fresh Adam optimizer, the head's loss and the runtime options.

    With the ``mixed_float16`` policy Keras wraps the optimizer in a
    ``LossScaleOptimizer`` (dynamic loss scaling).
    """
    optimizer = keras.optimizers.Adam(
        learning_rate=config.train.learning_rate, clipnorm=config.train.clipnorm or None
    )
    model.compile(
        optimizer=optimizer, loss=io.loss(config.train.loss), jit_compile=config.runtime.jit_compile,
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
    holdout_model: keras.Model | None = None  # with final_fit "all": the early-stopped model behind the scores
    final_epochs: int | None = None           # with final_fit "all": epochs of the refit on every window
    initial_val_loss: float | None = None     # with keep_base: the untrained network's validation loss
    kept_initial: bool = False                # the untrained network (its base forecast) beat every epoch


def train(
    config: ForecastConfig,
    io: IOSpec,
    view: WindowView,
    split: Split,
    *,
    verbose: int | str = 0,
    checkpoint_dir: str | Path | None = None,
    weights=None,
    tensorboard: str | Path | None = None,
    callbacks: list | None = None,
    initial_weights: list | None = None,
    final_origins=None,
    final_weights=None,
) -> TrainResult:
    """Fit a brand-new model on the training origins of ``split``, early-stopped on its validation origins.

    Args:
        config: the model config (``train`` and ``runtime`` sections are used here).
        io: the model's shapes.
        view: lazy windows over the scaled series.
        split: training and validation origins.
        verbose: ``keras.Model.fit`` verbosity.
        checkpoint_dir: if given, weights, optimizer state and epoch are
            backed up there after the first epoch and then at most every
            :data:`BACKUP_SECONDS` (:class:`EpochBackup`) with the
            per-epoch history beside them; a later call with the same
            directory resumes after the last completed epoch.
        weights: per-series loss weights of a panel (``split`` then holds
            :class:`~forecaster.windowing.SegmentedOrigins`); None: every window weighs 1.
        tensorboard: a directory for ``keras.callbacks.TensorBoard`` logs (losses, learning
            rate and weight histograms, once per epoch).
        callbacks: more Keras callbacks, run after the project's own.
        initial_weights: start from these weights (``model.get_weights()`` of a model of the
            same shapes) instead of a random initialisation: a warm start. The optimizer is
            fresh either way.
        final_origins: with ``config.train.final_fit == "all"``, every origin (training
            and validation rows): after the early-stopped fit, a fresh model is trained on
            them for its best epoch count, replaying its learning rates, and returned as
            ``model`` (the early-stopped one as ``holdout_model``). ``final_weights``: their
            per-series loss weights.

    With ``verbose`` set, an overall estimate of the time left (:class:`EpochETA`) is
    logged after the first epochs.

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
    n_train = len(split.train_origins)
    if n_train and batch_size > n_train:
        # A batch beyond the window count only adds padding (memory grows with the batch size, not the data).
        clamped = -(-n_train // replicas) * replicas
        log.info("note: batch size %d is above the %d training windows; using %d", batch_size, n_train, clamped)
        batch_size = clamped
    train_ds, val_ds, steps = training_data(
        view, split.train_origins, split.val_origins, batch_size, seed=config.train.seed,
        steps_per_epoch=config.train.steps_per_epoch, min_steps_per_epoch=config.train.min_steps_per_epoch,
        weights=weights, teacher=teacher,
    )
    # Several batches per call of the compiled training step on TensorFlow. Not under a
    # tf.distribute strategy: Keras 3.15's multi-step function fails there ("You must feed a
    # value for placeholder tensor"); not on the PyDataset path, whose epochs are not a stream.
    per_call = _per_call(steps, strategy)
    with distribute.scope(strategy):
        model = new_model(config, io, steps_per_execution=per_call, graph="train" if teacher else "predict")
        if initial_weights is not None:
            if teacher:  # the saved (predict) graph orders its weights differently from the training graph
                log.info("warm start skipped: %s trains a teacher-forcing graph; starting from scratch", config.model.type)
            else:
                model.set_weights(initial_weights)
    log.debug("jit_compile=%s, dtype policy %s", model.jit_compile, model.dtype_policy.name)
    nonfinite = StopOnNonFinite()
    monitor = "val_loss"
    user_callbacks = list(callbacks or [])
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
    history_csv = trained = None
    if checkpoint_dir is not None:
        ckpt = Path(checkpoint_dir)
        ckpt.mkdir(parents=True, exist_ok=True)
        history_csv, trained = ckpt / HISTORY_FILE, ckpt / TRAINED_FILE
        if trained.exists() and history_csv.exists():
            # Training had ended (early stopping or the last epoch) but the run was not saved: no epoch reruns.
            log.info("training of this fit had finished before the interruption; reusing its weights")
            plain = build_model(config, io) if strategy is not None else model
            import warnings

            with warnings.catch_warnings():  # the finished fit's optimizer state is not needed, only its weights
                warnings.simplefilter("ignore", UserWarning)
                plain.load_weights(trained)
            kept_initial, initial_val_loss = _read_kept(trained)
            result = TrainResult(model=plain, history=_read_history(history_csv), seconds=0.0, replicas=replicas,
                                 global_batch_size=batch_size, initial_val_loss=initial_val_loss,
                                 kept_initial=kept_initial)
            return _final_fit(result, config, io, view, final_origins, final_weights, strategy, batch_size, teacher)
        _align_history(history_csv, ckpt / "backup")
        callbacks += [
            EpochBackup(str(ckpt / "backup"), BACKUP_SECONDS),
            keras.callbacks.CSVLogger(str(history_csv), append=True),
        ]
    if tensorboard is not None:
        callbacks.append(tensorboard_callback(tensorboard))
    if verbose:
        callbacks.append(EpochETA(config.train.epochs))
    callbacks += user_callbacks
    started = time.perf_counter()
    # keep_base: the untrained network is a candidate of early stopping too. With a zero-initialised point head it
    # forecasts exactly its base, so the fit can never end worse than the base on the validation windows.
    guard = config.train.keep_base and config.output.zero_init and config.output.type == "point"
    initial = initial_loss = None
    if guard:
        initial = model.get_weights()
        initial_loss = float(_evaluate_loss(model, val_ds))
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
    if history_csv is not None and history_csv.exists():
        # Includes the epochs run before an interruption, not just this call's.
        history = _read_history(history_csv)
    else:
        history = {k: [float(v) for v in vals] for k, vals in fitted.history.items()}
    kept = False
    if guard and np.isfinite(initial_loss):
        best = restored_val_loss(history)
        if not initial_loss > best:  # also when no epoch has a finite validation loss
            model.set_weights(initial)
            kept = True
            log.info("no epoch beat the untrained network (its base forecast) on the validation windows "
                     "(val_loss %.5g vs %.5g): keeping it", initial_loss, best)
    if strategy is not None or teacher:
        # The predict graph of a teacher-forced family (same layers, same weight order); and
        # keep a plain single-device copy: predicting and saving then work without the strategy
        # (a strategy's predict_on_batch would return one copy of the batch per replica).
        plain = build_model(config, io)
        plain.set_weights(model.get_weights())
        model = plain
    if trained is not None:
        # Written before the run is saved: an interruption from here on resumes without training again.
        partial = trained.with_name("trained-partial.weights.h5")
        model.save_weights(partial)
        # Whether the untrained network was kept, beside the weights: a resumed fit reports it as this one would.
        _write_kept(trained, kept, initial_loss)
        partial.replace(trained)
    result = TrainResult(model=model, history=history, seconds=elapsed, replicas=replicas, global_batch_size=batch_size,
                         initial_val_loss=initial_loss, kept_initial=kept)
    return _final_fit(result, config, io, view, final_origins, final_weights, strategy, batch_size, teacher)


def _kept_file(trained: Path) -> Path:
    return trained.with_name("trained.json")


def _write_kept(trained: Path, kept: bool, initial_loss: float | None) -> None:
    """Record beside the trained weights whether the untrained network was kept and its validation loss."""
    import json

    loss = initial_loss if initial_loss is not None and np.isfinite(initial_loss) else None
    path = _kept_file(trained)
    tmp = path.with_name("trained-partial.json")
    tmp.write_text(json.dumps({"kept_initial": bool(kept), "initial_val_loss": loss}), encoding="utf-8")
    tmp.replace(path)


def _read_kept(trained: Path) -> tuple[bool, float | None]:
    """What :func:`_write_kept` recorded; a checkpoint without the record (or a damaged one): not kept."""
    import json

    try:
        entry = json.loads(_kept_file(trained).read_text(encoding="utf-8"))
        kept, loss = entry["kept_initial"], entry["initial_val_loss"]
    except (OSError, ValueError, KeyError, TypeError):
        return False, None
    if not isinstance(kept, bool) or not (loss is None or isinstance(loss, (int, float))):
        return False, None
    return kept, None if loss is None else float(loss)


def _final_fit(result: TrainResult, config: ForecastConfig, io: IOSpec, view: WindowView, origins, weights,
               strategy, batch_size: int, teacher: bool) -> TrainResult:
    """``config.train.final_fit == "all"``: train a fresh model on ``origins`` for the best epoch count of ``result``.

    The epoch count is that of the restored (best) epoch of the monitored validation loss; the learning rate of
    each epoch is replayed from the history (the plateau schedule reacted to validation losses this fit does not
    see). Seeded with the training seed, so the refit repeats exactly on a CPU.
    """
    if config.train.final_fit != "all" or origins is None or len(origins) == 0:
        return result
    history = result.history
    monitored = history.get("val_loss_smoothed", history.get("val_loss", []))
    finite = np.isfinite(np.asarray(monitored, dtype=float)) if len(monitored) else np.zeros(0, bool)
    epochs = int(np.nanargmin(monitored)) + 1 if finite.any() else len(history.get("loss", [])) or config.train.epochs
    if result.kept_initial:  # the untrained network won: so does the refit's (the same base forecast)
        with distribute.scope(strategy):
            model = build_model(config, io)
        return replace(result, model=model, holdout_model=result.model, final_epochs=0)
    rates = history.get("learning_rate") or history.get("lr") or []
    rates = [float(r) for r in rates[:epochs]] + [config.train.learning_rate] * max(0, epochs - len(rates))
    seed_random(config.train.seed)
    train_ds, _, steps = training_data(
        view, origins, origins, batch_size,  # the validation stream is built lazily and never read
        seed=config.train.seed + 1, steps_per_epoch=config.train.steps_per_epoch,
        min_steps_per_epoch=config.train.min_steps_per_epoch, weights=weights, teacher=teacher,
    )
    per_call = _per_call(steps, strategy)
    with distribute.scope(strategy):
        model = new_model(config, io, steps_per_execution=per_call, graph="train" if teacher else "predict")
    nonfinite = StopOnNonFinite()
    started = time.perf_counter()
    model.fit(
        train_ds, epochs=epochs, steps_per_epoch=steps, shuffle=False, verbose=0,
        callbacks=[nonfinite, keras.callbacks.LearningRateScheduler(lambda epoch, lr: rates[min(epoch, len(rates) - 1)])],
    )
    if nonfinite.bad_epoch is not None:
        raise TrainingError(
            f"Training diverged in the final fit on every window: the loss became NaN/inf in epoch "
            f"{nonfinite.bad_epoch}. Lower --learning-rate or use --final-fit holdout."
        )
    if strategy is not None or teacher:
        plain = build_model(config, io)
        plain.set_weights(model.get_weights())
        model = plain
    log.info("final fit: a fresh model trained on %d windows (validation rows included) for %d epochs", len(origins),
             epochs)
    return TrainResult(model=model, history=history, seconds=result.seconds + time.perf_counter() - started,
                       replicas=result.replicas, global_batch_size=result.global_batch_size,
                       holdout_model=result.model, final_epochs=epochs)


def restored_val_loss(history: dict[str, list[float]]) -> float:
    """The raw validation loss of the epoch early stopping restores (the best of the monitored, possibly smoothed,
    loss); NaN when no epoch has a finite one."""
    raw = np.asarray(history.get("val_loss", []), dtype=float)
    monitored = np.asarray(history.get("val_loss_smoothed", raw), dtype=float)
    if not np.isfinite(monitored).any():
        return float("nan")
    return float(raw[int(np.nanargmin(monitored))])


def _evaluate_loss(model: keras.Model, data) -> float:
    """The compiled loss of ``model`` over a validation stream (one pass)."""
    out = model.evaluate(data, verbose=0, return_dict=True)
    return float(out["loss"])


def _read_history(path: Path) -> dict[str, list[float]]:
    logged = pd.read_csv(path).drop(columns=["epoch"], errors="ignore")
    return {k: [float(v) for v in logged[k]] for k in logged.columns}


def _align_history(history_csv: Path, backup: Path) -> None:
    """Keep exactly the logged epochs the backup will resume after, so no epoch is listed twice.

    Without a backup (a fresh fit, or one interrupted before its first epoch ended)
    the log starts afresh; with one, rows past its epoch (logged after the backup
    was written) are dropped.
    """
    import json

    if not history_csv.exists():
        return
    meta = backup / "training_metadata.json"
    if not meta.exists():
        history_csv.unlink()
        return
    epochs = int(json.loads(meta.read_text(encoding="utf-8"))["epoch"])
    lines = history_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    if len(lines) - 1 > epochs:
        history_csv.write_text("".join(lines[: epochs + 1]), encoding="utf-8")
