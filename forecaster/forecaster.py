"""The Forecaster: fit -> predict -> save / load.

A fitted Forecaster owns a Keras model, a scaler fitted on training rows only,
and the facts needed to apply them to new data (columns, frequency, ranges).
It is saved as a directory, never a pickle::

    runs/<name>/
      model.keras        Keras 3 archive, loaded with safe_mode=True
      forecaster.json    manifest: schema_version, config, scaler, columns,
                         frequency, ranges, data fingerprint, versions, metrics
      history.csv        per-epoch losses

The directory is written under a temporary name and renamed into place, so a
run interrupted at any moment leaves no directory that looks complete.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from forecaster import __version__
from forecaster.artifacts import MANIFEST_FILE, MODEL_FILE, SCHEMA_VERSION, read_manifest, write_json, write_run_dir
from forecaster import distribute
from forecaster.config import ForecastConfig
from forecaster.data import Series
from forecaster.exceptions import ArtifactError, DataError, NotFittedError, TrainingError
from forecaster.models import STEPS_PER_EXECUTION, build_model, cudnn_issues
from forecaster.pipeline import (  # noqa: F401 (WindowBatches re-exported)
    WindowBatches,
    scale_in_chunks,
    steps_per_execution_for,
    training_data,
    use_tf_data,
)
from forecaster.runtime import backend_name, set_seed
from forecaster.scaling import SeriesScaler
from forecaster.windowing import WindowView, chronological_split

log = logging.getLogger(__name__)

HISTORY_FILE = "history.csv"
#: Origins predicted per model call: large enough to amortise call overhead,
#: small enough that a gathered chunk of windows stays a few MB.
PREDICT_CHUNK = 4096


class _StopOnNonFinite(keras.callbacks.Callback):
    """Stop at the first NaN/inf batch loss and remember it."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_epoch: int | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self.bad_epoch = self._epoch + 1
            self.model.stop_training = True


class Forecaster:
    """Recurrent forecaster for one target series (optionally with features).

    ``__init__`` only stores the config; ``fit`` learns ``model_``,
    ``scaler_`` and the series facts (attributes ending in ``_``).

    >>> from forecaster import data
    >>> series = data.load("data/prices.csv")            # doctest: +SKIP
    >>> fc = Forecaster(ForecastConfig(cell="gru", epochs=5)).fit(series)  # doctest: +SKIP
    >>> fc.predict(series)                                 # doctest: +SKIP
    """

    def __init__(self, config: ForecastConfig | None = None) -> None:
        self.config = config if config is not None else ForecastConfig()

    # ------------------------------------------------------------------ fit
    def fit(
        self, series: Series, *, verbose: int | str = 0, checkpoint_dir: str | os.PathLike[str] | None = None
    ) -> "Forecaster":
        """Train on ``series``: chronological split, scaler on training rows, early stopping.

        Args:
            series: a validated :class:`forecaster.data.Series`.
            verbose: passed to ``keras.Model.fit`` (0 silent, 1 progress bar,
                2 one line per epoch).
            checkpoint_dir: if given, the weights, optimizer state and epoch
                are backed up there after every epoch
                (``keras.callbacks.BackupAndRestore``) with the per-epoch
                history beside them; a later ``fit`` with the same directory
                resumes after the last completed epoch. Early stopping's
                patience counter and best weights restart at the resume.

        Returns:
            ``self``.

        Raises:
            TrainingError: the loss became NaN/inf (nothing is kept).
        """
        cfg = self.config
        if cfg.data.target is not None and cfg.data.target != series.target:
            raise DataError(f"The config's target is {cfg.data.target!r} but the series' target is {series.target!r}.")
        # Keras refuses XLA while TensorFlow's op determinism is on: an explicit --jit-compile trades it away.
        set_seed(cfg.train.seed, deterministic=cfg.runtime.jit_compile is not True)
        for issue in cudnn_issues(cfg):
            log.warning("%s", issue)
        strategy = distribute.get_strategy(cfg.runtime.strategy)
        log.log(logging.DEBUG if strategy is None else logging.INFO, "Strategy: %s",
                distribute.describe(cfg.runtime.strategy, strategy, cfg.train.batch_size))
        if distribute.num_replicas(strategy) > 1:
            # --batch-size is per replica; the data source yields global batches that the strategy splits.
            cfg = cfg.replace(batch_size=cfg.train.batch_size * distribute.num_replicas(strategy))
        values = series.values
        split = chronological_split(len(values), cfg.window.lookback, cfg.window.horizon, cfg.window.val_fraction, stride=cfg.window.window_stride)
        # The scaler sees training rows only: nothing after train_end leaks into its parameters.
        scaler = SeriesScaler(cfg.data.transform, cfg.data.normalization).fit(
            values[: split.train_end], columns=series.columns, prices=series.kind == "prices"
        )
        z = scale_in_chunks(scaler, values)
        view = WindowView(z, cfg.window.lookback, cfg.window.horizon, relative=cfg.data.normalization == "window")
        # tf.data gathering in-graph on TensorFlow, a PyDataset elsewhere; both lazy (see forecaster.pipeline).
        train, val, steps = training_data(
            view, split.train_origins, split.val_origins, cfg.train.batch_size, seed=cfg.train.seed, steps_per_epoch=cfg.train.steps_per_epoch
        )

        # Several batches per call of the compiled training step on TensorFlow. Not under a
        # tf.distribute strategy: Keras 3.15's multi-step function fails there ("You must feed a
        # value for placeholder tensor"); not on the PyDataset path, whose epochs are not a stream.
        per_call = 1
        if use_tf_data() and strategy is None:
            per_call = steps_per_execution_for(steps, STEPS_PER_EXECUTION)
        with distribute.scope(strategy):
            model = build_model(cfg, n_features=len(series.columns), steps_per_execution=per_call)
        log.debug("jit_compile=%s, dtype policy %s", model.jit_compile, model.dtype_policy.name)
        nonfinite = _StopOnNonFinite()
        callbacks = [
            nonfinite,
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=cfg.train.patience, restore_best_weights=True, verbose=0
            ),
        ]
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
        history = model.fit(
            train,
            validation_data=val,
            epochs=cfg.train.epochs,
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

        if strategy is not None:
            # Keep a plain single-device copy: predicting and saving then work without the strategy
            # (a strategy's predict_on_batch would return one copy of the batch per replica).
            plain = build_model(cfg, n_features=len(series.columns))
            plain.set_weights(model.get_weights())
            model = plain
        self.model_ = model
        self.scaler_ = scaler
        if history_csv is not None and history_csv.exists():
            # Includes the epochs run before an interruption, not just this call's.
            logged = pd.read_csv(history_csv).drop(columns=["epoch"], errors="ignore")
            self.history_ = {k: [float(v) for v in logged[k]] for k in logged.columns}
        else:
            self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self._remember_series(series, split.train_end)
        # Validation score in original units, beside the naive (last value) forecast on the same origins.
        score = self._validation_errors(view, values, split.val_origins)
        val_loss = min(self.history_.get("val_loss", [float("nan")]))
        self.metrics_ = {
            "val_loss": float(val_loss),
            **score,
            "val_windows": int(len(split.val_origins)),
            "train_windows": int(len(split.train_origins)),
            "epochs_run": len(self.history_.get("loss", [])),
            "best_epoch": int(np.argmin(self.history_["val_loss"])) + 1 if "val_loss" in self.history_ else None,
            "fit_seconds": round(elapsed, 3),
            "replicas": distribute.num_replicas(strategy),
            "global_batch_size": cfg.train.batch_size,
        }
        return self

    def _validation_errors(self, view: WindowView, values: np.ndarray, origins: range) -> dict[str, float]:
        """MAE and RMSE of the model and of the naive forecast, summed chunk by chunk (bounded memory)."""
        sums = np.zeros(4)  # model |e|, model e^2, naive |e|, naive e^2
        steps = np.arange(self.config.window.horizon)
        for lo in range(0, len(origins), PREDICT_CHUNK):
            chunk = np.asarray(origins[lo : lo + PREDICT_CHUNK])
            actual = values[chunk[:, None] + steps, 0]
            err = self._predict_view(view, chunk) - actual
            naive_err = values[chunk - 1, 0][:, None] - actual
            sums += [np.abs(err).sum(), (err**2).sum(), np.abs(naive_err).sum(), (naive_err**2).sum()]
        count = len(origins) * self.config.window.horizon
        return {
            "val_mae": float(sums[0] / count),
            "val_rmse": float(np.sqrt(sums[1] / count)),
            "naive_val_mae": float(sums[2] / count),
            "naive_val_rmse": float(np.sqrt(sums[3] / count)),
        }

    def _remember_series(self, series: Series, train_end: int) -> None:
        idx = series.index
        self.target_ = series.target
        self.features_ = list(series.features)
        self.columns_ = series.columns
        self.freq_ = series.freq
        self.kind_ = series.kind
        self.time_col_ = series.time_col
        self.data_ = {
            "source": series.source,
            "fingerprint": series.fingerprint,
            "rows": len(series),
            "start": idx[0].isoformat(),
            "end": idx[-1].isoformat(),
            "train_start": idx[0].isoformat(),
            "train_end": idx[train_end - 1].isoformat(),
            "val_start": idx[train_end].isoformat(),
            "val_end": idx[-1].isoformat(),
        }

    # -------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("This Forecaster instance is not fitted yet. Call 'fit' with a series first.")

    def _predict_view(self, view: WindowView, origins: np.ndarray | range) -> np.ndarray:
        """Forecast many origins at once, in original units: ``(len(origins), horizon)``."""
        out = np.empty((len(origins), self.config.window.horizon), dtype=np.float64)
        for lo in range(0, len(origins), PREDICT_CHUNK):
            chunk = np.asarray(origins[lo : lo + PREDICT_CHUNK])  # a range slice becomes an array here
            x = view.inputs(chunk)
            # Pad to a power-of-two batch: a compiled predict function is traced
            # once per input shape, so arbitrary sizes would retrace every call.
            size = max(32, 1 << (len(chunk) - 1).bit_length())
            if size != len(chunk):
                x = np.concatenate([x, np.zeros((size - len(chunk), *x.shape[1:]), dtype=x.dtype)])
            rel = np.asarray(self.model_.predict_on_batch(x), dtype=np.float64)[: len(chunk)]
            out[lo : lo + len(chunk)] = self.scaler_.inverse_target(rel + view.reference(chunk)[:, None])
        return out

    def check_compatible(self, series: Series) -> None:
        """Raise a clear DataError if ``series`` does not match what the model was fitted on."""
        self._check_fitted()
        if series.columns != self.columns_:
            raise DataError(
                f"The data's columns ({', '.join(series.columns)}) differ from the model's "
                f"({', '.join(self.columns_)}). Use a CSV with the same columns, or pass the same --target/--features."
            )
        if series.freq != self.freq_:
            raise DataError(
                f"The data's frequency is {series.freq!r} but the model was fitted on {self.freq_!r} data. "
                "Use data sampled like the training data."
            )
        if len(series) < self.config.window.lookback:
            raise DataError(
                f"The data has {len(series)} rows; the model needs the last lookback={self.config.window.lookback} rows. Supply more data."
            )

    def predict_origins(self, series: Series, origins: np.ndarray) -> np.ndarray:
        """Forecasts for many origins of ``series`` in one batched pass (original units)."""
        self.check_compatible(series)
        origins = np.asarray(origins, dtype=np.int64)
        if len(origins) and (origins.min() < self.config.window.lookback or origins.max() > len(series)):
            raise DataError(f"Origins must lie in [{self.config.window.lookback}, {len(series)}].")
        z = self.scaler_.transform_values(series.values)
        view = WindowView(z, self.config.window.lookback, self.config.window.horizon, relative=self.config.data.normalization == "window")
        return self._predict_view(view, origins)

    def predict(self, series: Series) -> pd.DataFrame:
        """Forecast the ``horizon`` steps after the end of ``series``.

        Returns:
            DataFrame indexed by the future timestamps (continuing the
            series' frequency; business days for trading-day data) with one
            column, the target, in original units.
        """
        self.check_compatible(series)
        n = len(series)
        # Only the last `lookback` rows are used; scale just those.
        tail = series.values[n - self.config.window.lookback :]
        z = self.scaler_.transform_values(tail)
        view = WindowView(z, self.config.window.lookback, self.config.window.horizon, relative=self.config.data.normalization == "window")
        forecast = self._predict_view(view, np.array([self.config.window.lookback]))[0]
        if not np.isfinite(forecast).all():
            raise TrainingError("The model produced non-finite forecasts. Refit with a lower --learning-rate.")
        index = future_index(series.index[-1], self.config.window.horizon, self.freq_)
        return pd.DataFrame({self.target_: forecast}, index=index)

    # ------------------------------------------------------------ save/load
    def manifest(self) -> dict[str, Any]:
        """The JSON manifest describing this fitted forecaster."""
        self._check_fitted()
        import sys

        versions = {
            "forecaster": __version__,
            "keras": keras.__version__,
            "backend": backend_name(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "python": platform.python_version(),
        }
        if backend_name() == "tensorflow":
            versions["tensorflow"] = sys.modules["tensorflow"].__version__
        return {
            "schema_version": SCHEMA_VERSION,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "config": self.config.to_dict(),
            "scaler": self.scaler_.to_dict(),
            "target": self.target_,
            "features": list(self.features_),
            "frequency": self.freq_,
            "kind": self.kind_,
            "time_col": self.time_col_,
            "data": dict(self.data_),
            "metrics": dict(self.metrics_),
            "versions": versions,
            "seed": self.config.train.seed,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the run directory atomically and return its final path.

        The files are written into a temporary sibling directory, then renamed
        to ``path``. If ``path`` exists already, ``-2``, ``-3``, ... is appended:
        a finished run is never overwritten, and two processes saving at once
        never share a directory (a rename onto an existing directory fails).
        """
        self._check_fitted()

        def write(tmp: Path) -> None:
            self.model_.save(tmp / MODEL_FILE)
            pd.DataFrame(self.history_).rename_axis("epoch").rename(lambda i: i + 1).to_csv(tmp / HISTORY_FILE)
            write_json(tmp / MANIFEST_FILE, self.manifest())

        return write_run_dir(Path(path), write)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Forecaster":
        """Load a run directory saved by :meth:`save` (``safe_mode=True``: no code runs)."""
        run = Path(path)
        manifest = read_manifest(run)
        fc = cls(ForecastConfig.from_dict(manifest["config"]))
        try:
            fc.model_ = keras.saving.load_model(run / MODEL_FILE, compile=False, safe_mode=True)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtifactError(f"Cannot load {run / MODEL_FILE} safely: {first}") from None
        expected_in = (None, fc.config.window.lookback, len(manifest["scaler"]["columns"]))
        if tuple(fc.model_.input_shape) != expected_in or tuple(fc.model_.output_shape) != (None, fc.config.window.horizon):
            raise ArtifactError(
                f"{run / MODEL_FILE} does not match its manifest (model input {fc.model_.input_shape}, "
                f"output {fc.model_.output_shape}; manifest expects {expected_in} -> (None, {fc.config.window.horizon}))."
            )
        fc.scaler_ = SeriesScaler.from_dict(manifest["scaler"])
        fc.target_ = manifest["target"]
        fc.features_ = list(manifest["features"])
        fc.columns_ = [fc.target_, *fc.features_]
        fc.freq_ = manifest["frequency"]
        fc.kind_ = manifest["kind"]
        fc.time_col_ = manifest["time_col"]
        fc.data_ = dict(manifest["data"])
        fc.metrics_ = dict(manifest["metrics"])
        history = run / HISTORY_FILE
        fc.history_ = pd.read_csv(history, index_col=0).to_dict(orient="list") if history.exists() else {}
        fc.run_dir_ = run
        return fc


# ----------------------------------------------------------------------------
def future_index(last: pd.Timestamp, horizon: int, freq: str) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after ``last`` on the series' own calendar.

    >>> future_index(pd.Timestamp("2024-01-05"), 2, "B").strftime("%a %d").tolist()  # a Friday
    ['Mon 08', 'Tue 09']
    """
    return pd.date_range(start=last, periods=horizon + 1, freq=freq)[1:]
