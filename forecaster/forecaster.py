"""The Forecaster: the estimator a notebook user holds, and the CLI drives.

scikit-learn style: ``__init__`` only stores the config (keyword parameters
or a :class:`~forecaster.config.ForecastConfig`); ``fit`` learns the model,
the scaler and the facts needed to apply them (attributes ending in ``_``)
and returns ``self``; ``predict()`` forecasts the horizon after the fitted
data without being given it again.

A fitted Forecaster is saved as a directory, never a pickle::

    runs/<name>/
      model.keras        Keras 3 archive, loaded with safe_mode=True
      forecaster.json    manifest: schema_version, config, scaler, columns,
                         frequency, ranges, the last observed window, data
                         fingerprint, versions, metrics
      history.csv        per-epoch losses

The directory is written under a temporary name and renamed into place, so a
run interrupted at any moment leaves no directory that looks complete.
"""

from __future__ import annotations

import logging
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from forecaster import __version__
from forecaster.artifacts import MANIFEST_FILE, MODEL_FILE, SCHEMA_VERSION, read_manifest, write_json, write_run_dir
from forecaster.config import ForecastConfig
from forecaster.data import Series, TimeSeries, as_timeseries, future_index
from forecaster.exceptions import ArtifactError, ConfigError, DataError, NotFittedError, TrainingError
from forecaster.models import IOSpec, cudnn_issues
from forecaster.runtime import backend_name, set_seed
from forecaster.scaling import SeriesScaler
from forecaster.training import HISTORY_FILE, train
from forecaster.training.pipeline import scale_in_chunks
from forecaster.choices import base_steps, resolve
from forecaster.data.calendar import calendar_features
from forecaster.windowing import WindowView, chronological_split

log = logging.getLogger(__name__)

#: Origins predicted per model call: large enough to amortise call overhead,
#: small enough that a gathered chunk of windows stays a few MB.
PREDICT_CHUNK = 4096
#: Baselines the fit report compares the model with on the validation windows.
VALIDATION_BASELINES = ("naive", "seasonal_naive", "drift")


class Forecaster:
    """A neural forecaster of one series (optionally with past and known-future covariates).

    Args:
        config: a full :class:`ForecastConfig` (default: the defaults).
        **params: flat config keywords (``cell="lstm"``, ``units=64``,
            ``lookback=48``, ``horizon=12``, ``epochs=50``, ...), applied on
            top of ``config``; every field of every config section has one.

    >>> import forecaster as fc
    >>> m = fc.Forecaster(cell="gru", units=32, lookback=60, horizon=12)
    >>> m.get_params()["units"], m.config.window.horizon
    (32, 12)
    >>> m.fit(df, target="temp").predict()       # doctest: +SKIP
    """

    def __init__(self, config: ForecastConfig | None = None, **params: Any) -> None:
        if config is not None and not isinstance(config, ForecastConfig):
            raise ConfigError(f"`config` must be a ForecastConfig. Received: {type(config).__name__}")
        base = config if config is not None else ForecastConfig()
        self.config = base.replace(**params) if params else base

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.config.to_flat().items() if ForecastConfig().to_flat()[k] != v}
        return f"Forecaster({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def get_params(self) -> dict[str, Any]:
        """The flat config keywords (scikit-learn style)."""
        return self.config.to_flat()

    def set_params(self, **params: Any) -> "Forecaster":
        """Change config keywords (validated); a fitted model is kept until the next ``fit``."""
        self.config = self.config.replace(**params)
        return self

    # ------------------------------------------------------------------ fit
    def _roles(self, **given: Any) -> dict[str, Any]:
        """Column roles: what ``fit`` was given, else what the config says."""
        d = self.config.data
        roles = {
            "target": d.target, "features": d.features, "future_features": d.future_features,
            "time_col": d.time_col, "missing": d.missing,
        }
        roles.update({k: v for k, v in given.items() if v is not None})
        return roles

    def fit(
        self,
        data: pd.DataFrame | TimeSeries | Series,
        *,
        target: str | None = None,
        features: list[str] | tuple[str, ...] | None = None,
        future_features: list[str] | tuple[str, ...] | None = None,
        time_col: str | None = None,
        verbose: int | str = 0,
        checkpoint_dir: str | os.PathLike[str] | None = None,
    ) -> "Forecaster":
        """Train on ``data``: chronological split, scaler on training rows, early stopping.

        Args:
            data: a DataFrame (a time column or a ``DatetimeIndex``), or what
                :func:`forecaster.read_csv` returns. It is validated like a CSV.
            target, features, future_features, time_col: column roles for a
                DataFrame (default: the config's ``data`` section, then detection).
            verbose: passed to ``keras.Model.fit`` (0 silent, 1 progress bar,
                2 one line per epoch).
            checkpoint_dir: if given, the weights, optimizer state and epoch
                are backed up there after every epoch; a later ``fit`` with
                the same directory resumes after the last completed epoch.

        Returns:
            ``self``.

        Raises:
            DataError: the data cannot be used (too short, wrong columns...).
            TrainingError: the loss became NaN/inf (nothing is kept).
        """
        roles = self._roles(target=target, features=features, future_features=future_features, time_col=time_col)
        series = _one_series(as_timeseries(data, **roles), "fit")
        cfg = self.config
        if roles["target"] is not None and roles["target"] != series.target:
            raise DataError(f"The config's target is {roles['target']!r} but the series' target is {series.target!r}.")
        # The config records the roles actually used, so the manifest (and `predict`) read data the same way.
        cfg = cfg.replace(target=series.target, features=series.features, future_features=series.future_features)
        user_future = series.future_features
        calendar: tuple[str, ...] = ()
        if cfg.data.calendar:
            series, calendar = _with_calendar(series)
        # Automatic settings (lookback, season, base, normalization, transform, ensemble) from the training rows.
        cfg, self.choices_ = resolve(
            cfg, series.values, series.freq, prices=series.kind == "prices", linear=calendar, columns=series.columns
        )
        # Keras refuses XLA while TensorFlow's op determinism is on: an explicit --jit-compile trades it away.
        set_seed(cfg.train.seed, deterministic=cfg.runtime.jit_compile is not True)
        for issue in cudnn_issues(cfg):
            log.warning("%s", issue)
        values = series.values
        w = cfg.window
        split = chronological_split(len(values), w.lookback, w.horizon, w.val_fraction, stride=w.window_stride)
        # The scaler sees training rows only: nothing after train_end leaks into its parameters.
        scaler = SeriesScaler(cfg.data.transform, cfg.data.normalization).fit(
            values[: split.train_end], columns=series.columns, prices=series.kind == "prices", linear=calendar
        )
        io = IOSpec(
            lookback=w.lookback, horizon=w.horizon, n_past=len(series.columns),
            n_future=len(user_future) + len(calendar), output=cfg.output.type, members=cfg.train.ensemble or 1,
        )
        view = self._view(scale_in_chunks(scaler, values), io, cfg)
        result = train(cfg, io, view, split, verbose=verbose, checkpoint_dir=checkpoint_dir)

        self.config = cfg
        self.io_ = io
        self.model_ = result.model
        self.scaler_ = scaler
        self.history_ = result.history
        self.calendar_ = list(calendar)
        self._remember_series(series, split.train_end, user_future)
        # Validation score in original units, beside the baselines on the same origins.
        score = self._validation_errors(view, values, split)
        # Opt-in: serve the best baseline when the model loses to it on the validation windows (recorded).
        self.fallback_ = (
            score["best_baseline"] if cfg.output.fallback == "baseline" and not score["beats_best_baseline"] else None
        )
        self.first_value_ = float(values[0, 0])
        val_losses = self.history_.get("val_loss", [float("nan")])
        # The restored weights are those of the best epoch of the monitored loss (smoothed or raw).
        monitored = self.history_.get("val_loss_smoothed", val_losses)
        best = int(np.nanargmin(monitored)) if np.isfinite(monitored).any() else None
        self.metrics_ = {
            "val_loss": float(val_losses[best]) if best is not None else float("nan"),
            **score,
            "val_windows": int(len(split.val_origins)),
            "train_windows": int(len(split.train_origins)),
            "epochs_run": len(self.history_.get("loss", [])),
            "best_epoch": best + 1 if best is not None and "val_loss" in self.history_ else None,
            "fit_seconds": round(result.seconds, 3),
            "replicas": result.replicas,
            "global_batch_size": result.global_batch_size,
        }
        return self

    @staticmethod
    def _view(z: np.ndarray, io: IOSpec, cfg: ForecastConfig) -> WindowView:
        w = cfg.window
        return WindowView(
            z, io.lookback, io.horizon, relative=cfg.data.normalization == "window", n_future=io.n_future,
            base_steps=base_steps(cfg.output.base, io.lookback, io.horizon, w.season or 1, cfg.output.step_bases),
        )

    def _validation_errors(self, view: WindowView, values: np.ndarray, split) -> dict[str, Any]:
        """MAE and RMSE of the model and of the baselines on the validation origins, chunk by chunk.

        MASE divides by the in-sample seasonal-naive MAE of the training rows.
        The model's line says whether it beats the best of the baselines.
        """
        from forecaster.baselines import all_baselines
        from forecaster.evaluation.metrics import seasonal_naive_scale

        season = self.config.window.season or 1
        origins = split.val_origins
        # The seasonal naive forecast needs a whole season before the first validation origin.
        baselines = [b for b in VALIDATION_BASELINES if b != "seasonal_naive" or origins[0] >= season]
        names = ["model", *baselines]
        abs_sum, sq_sum = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
        steps = np.arange(self.config.window.horizon)
        target = values[:, 0]
        for lo in range(0, len(origins), PREDICT_CHUNK):
            chunk = np.asarray(origins[lo : lo + PREDICT_CHUNK])
            actual = target[chunk[:, None] + steps]
            forecasts = {"model": self._predict_view(view, chunk)}
            base = all_baselines(target, chunk, len(steps), season if "seasonal_naive" in baselines else 1)
            forecasts.update({name: base[name] for name in baselines})
            for name, forecast in forecasts.items():
                err = forecast - actual
                abs_sum[name] += float(np.abs(err).sum())
                sq_sum[name] += float((err**2).sum())
        count = len(origins) * len(steps)
        scale = seasonal_naive_scale(target[: split.train_end], season if season < split.train_end else 1)
        out: dict[str, Any] = {}
        for name in names:
            prefix = "val" if name == "model" else f"{name}_val"
            out[f"{prefix}_mae"] = abs_sum[name] / count
            out[f"{prefix}_rmse"] = float(np.sqrt(sq_sum[name] / count))
            out[f"{prefix}_mase"] = abs_sum[name] / count / scale if scale > 0 else float("nan")
        best = min(baselines, key=lambda n: out[f"{n}_val_mae"])
        out["best_baseline"] = best
        out["beats_best_baseline"] = bool(out["val_mae"] < out[f"{best}_val_mae"])
        return out

    def _remember_series(self, series: Series, train_end: int, user_future: tuple[str, ...] = ()) -> None:
        idx = series.index
        self.target_ = series.target
        self.features_ = list(series.features)
        self.future_features_ = list(user_future)
        self.columns_ = series.columns
        self.freq_ = series.freq
        self.kind_ = series.kind
        self.time_col_ = series.time_col
        self.series_id_ = series.id or "series"
        # The last observed window in original units: `predict()` starts from it without the data.
        self.last_window_ = series.values[-self.config.window.lookback :].copy()
        self.last_time_ = idx[-1]
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
            inputs = view.model_inputs(chunk)
            # Pad to a power-of-two batch: a compiled predict function is traced
            # once per input shape, so arbitrary sizes would retrace every call.
            size = max(32, 1 << (len(chunk) - 1).bit_length())
            if size != len(chunk):
                inputs = _pad(inputs, size)
            rel = np.asarray(self.model_.predict_on_batch(inputs), dtype=np.float64)[: len(chunk)]
            if rel.ndim == 3:  # an ensemble: (batch, members, horizon) -> the members' median
                rel = np.median(rel, axis=1)
            out[lo : lo + len(chunk)] = self.scaler_.inverse_target(rel + view.reference(chunk))
        return out

    def _as_series(self, data) -> Series:
        """Validate new data with the fitted roles."""
        ts = as_timeseries(
            data, target=self.target_, features=self.features_, future_features=self.future_features_,
            time_col=self.config.data.time_col, missing=self.config.data.missing,
        )
        series = _one_series(ts, "predict")
        return _with_calendar(series)[0] if self.calendar_ else series

    def check_compatible(self, series: Series) -> None:
        """Raise a clear DataError if ``series`` does not match what the model was fitted on."""
        self._check_fitted()
        if series.freq != self.freq_:
            raise DataError(
                f"The data's frequency is {series.freq!r} but the model was fitted on {self.freq_!r} data. "
                "Use data sampled like the training data."
            )
        if series.columns != self.columns_:
            raise DataError(
                f"The data's columns ({', '.join(series.columns)}) differ from the model's "
                f"({', '.join(self.columns_)}). Use a CSV with the same columns, or pass the same --target/--features."
            )
        if len(series) < self.config.window.lookback:
            raise DataError(
                f"The data has {len(series)} rows; the model needs the last lookback={self.config.window.lookback} rows. Supply more data."
            )

    def predict_origins(self, series: Series, origins: np.ndarray) -> np.ndarray:
        """Forecasts for many origins of ``series`` in one batched pass (original units).

        With known-future covariates every origin needs ``horizon`` rows after it.
        """
        if not isinstance(series, Series):
            series = self._as_series(series)
        elif self.calendar_ and not set(self.calendar_) <= set(series.columns):
            series = _with_calendar(series)[0]
        self.check_compatible(series)
        origins = np.asarray(origins, dtype=np.int64)
        last = len(series) - (self.io_.horizon if self.io_.n_future else 0)
        if len(origins) and (origins.min() < self.config.window.lookback or origins.max() > last):
            raise DataError(f"Origins must lie in [{self.config.window.lookback}, {last}].")
        view = self._view(self.scaler_.transform_values(series.values), self.io_, self.config)
        return self._predict_view(view, origins)

    def predict(self, data=None, *, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast the ``horizon`` steps after the end of the data.

        Args:
            data: newer data of the same shape (DataFrame or what
                :func:`forecaster.read_csv` returns). Default: the data the
                model was fitted on (its last window is kept in the model).
            future: the known-future covariates over the next ``horizon``
                steps (a DataFrame with those columns, one row per step),
                needed only when the model has ``future_features``.

        Returns:
            DataFrame indexed by the future timestamps (continuing the
            series' frequency; business days for trading-day data) with one
            column, the target, in original units.
        """
        self._check_fitted()
        lookback, horizon = self.config.window.lookback, self.config.window.horizon
        if data is None:
            if self.last_window_ is None:
                raise DataError("This run was saved without its last window (schema version 1); pass the data: predict(df).")
            tail, last_time = self.last_window_, self.last_time_
        else:
            series = self._as_series(data)
            self.check_compatible(series)
            # Only the last `lookback` rows are used.
            tail, last_time = series.values[len(series) - lookback :], series.index[-1]
        index = future_index(last_time, horizon, self.freq_)
        # Rows after the end hold only known-future values; the others repeat the last row so the
        # transform stays defined (a log of 0 would not be), and are zeroed after scaling: never read.
        rows = np.vstack([tail, np.repeat(tail[-1:], horizon, axis=0)])
        if self.io_.n_future:
            known = [calendar_features(index, self.freq_).to_numpy()] if self.calendar_ else []
            if self.future_features_:
                known.insert(0, self._future_values(future, index))
            rows[lookback:, tail.shape[1] - self.io_.n_future :] = np.hstack(known)
        if self.fallback_ is not None:
            n_rows = self.data_["rows"] if data is None else len(series)
            forecast = self._baseline_forecast(tail[:, 0], n_rows)
            return pd.DataFrame({self.target_: forecast}, index=index)
        z = self.scaler_.transform_values(rows)
        z[lookback:, : tail.shape[1] - self.io_.n_future] = 0.0  # unknown future values are never read
        forecast = self._predict_view(self._view(z, self.io_, self.config), np.array([lookback]))[0]
        if not np.isfinite(forecast).all():
            raise TrainingError("The model produced non-finite forecasts. Refit with a lower --learning-rate.")
        return pd.DataFrame({self.target_: forecast}, index=index)

    def _baseline_forecast(self, tail: np.ndarray, n_rows: int) -> np.ndarray:
        """The fallback baseline's forecast from the last observed values (``--fallback baseline``)."""
        h, season = self.config.window.horizon, self.config.window.season or 1
        steps = np.arange(h)
        if self.fallback_ == "seasonal_naive" and season <= len(tail):
            return tail[len(tail) - season + steps % season].astype(np.float64)
        if self.fallback_ == "drift" and n_rows > 1:
            slope = (tail[-1] - self.first_value_) / (n_rows - 1)
            return tail[-1] + slope * (steps + 1)
        return np.full(h, tail[-1], dtype=np.float64)

    def _future_values(self, future: pd.DataFrame | None, index: pd.DatetimeIndex) -> np.ndarray:
        cols = self.future_features_
        if future is None:
            raise DataError(
                f"The model uses known-future columns ({', '.join(cols)}); pass `future` with their values "
                f"for the next {len(index)} steps ({index[0]} .. {index[-1]})."
            )
        missing = [c for c in cols if c not in future.columns]
        if missing or len(future) < len(index):
            raise DataError(
                f"`future` must have the columns {', '.join(cols)} and {len(index)} rows. "
                f"Received columns {', '.join(map(str, future.columns))} and {len(future)} rows."
            )
        values = future[cols].iloc[: len(index)].to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise DataError("`future` holds missing or infinite values; known-future columns must be known.")
        return values

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
            "io": self.io_.to_dict(),
            "scaler": self.scaler_.to_dict(),
            "target": self.target_,
            "features": list(self.features_),
            "future_features": list(self.future_features_),
            "calendar": list(self.calendar_),
            "choices": self.choices_,
            "fallback": None if self.fallback_ is None else {"baseline": self.fallback_, "first_value": self.first_value_},
            "series_id": self.series_id_,
            "frequency": self.freq_,
            "kind": self.kind_,
            "time_col": self.time_col_,
            "data": dict(self.data_),
            "last_window": {"end": self.last_time_.isoformat(), "values": self.last_window_.tolist()},
            "metrics": dict(self.metrics_),
            "versions": versions,
            "seed": self.config.train.seed,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the run directory atomically and return its final path.

        The files are written into a temporary sibling directory, then renamed
        to ``path``. If ``path`` exists already, ``-2``, ``-3``, ... is appended:
        a finished run is never overwritten.
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
        fc = cls(ForecastConfig.from_dict(manifest["config"], stored=True))
        future = list(manifest.get("future_features", []))
        calendar = list(manifest.get("calendar", []))
        n_cols = 1 + len(manifest["features"]) + len(future) + len(calendar)
        fc.io_ = IOSpec(
            lookback=fc.config.window.lookback, horizon=fc.config.window.horizon, n_past=n_cols,
            n_future=len(future) + len(calendar), output=fc.config.output.type,
            members=fc.config.train.ensemble or 1,
        )
        if "io" in manifest and manifest["io"] != fc.io_.to_dict():
            raise ArtifactError(f"{run / MANIFEST_FILE}: `io` {manifest['io']} does not match its config and columns.")
        try:
            fc.model_ = keras.saving.load_model(run / MODEL_FILE, compile=False, safe_mode=True)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtifactError(f"Cannot load {run / MODEL_FILE} safely: {first}") from None
        _check_model_shapes(fc.model_, fc.io_, run / MODEL_FILE)
        fc.scaler_ = SeriesScaler.from_dict(manifest["scaler"])
        fc.target_ = manifest["target"]
        fc.features_ = list(manifest["features"])
        fc.future_features_ = future
        fc.calendar_ = calendar
        fc.choices_ = dict(manifest.get("choices", {}))
        fallback = manifest.get("fallback") or {}
        fc.fallback_ = fallback.get("baseline")
        fc.first_value_ = float(fallback.get("first_value", np.nan))
        if fc.fallback_ not in (None, *VALIDATION_BASELINES):
            raise ArtifactError(f"{run / MANIFEST_FILE}: `fallback` names an unknown baseline {fc.fallback_!r}.")
        fc.columns_ = [fc.target_, *fc.features_, *future, *calendar]
        fc.freq_ = manifest["frequency"]
        fc.kind_ = manifest["kind"]
        fc.time_col_ = manifest["time_col"]
        fc.series_id_ = manifest.get("series_id", "series")
        fc.data_ = dict(manifest["data"])
        fc.metrics_ = dict(manifest["metrics"])
        _load_last_window(fc, manifest, run)
        history = run / HISTORY_FILE
        fc.history_ = pd.read_csv(history, index_col=0).to_dict(orient="list") if history.exists() else {}
        fc.run_dir_ = run
        return fc


def load(path: str | os.PathLike[str]) -> Forecaster:
    """Load a saved run directory: ``forecaster.load("runs/latest").predict()``."""
    return Forecaster.load(path)


# ----------------------------------------------------------------------------
def _one_series(ts: TimeSeries, what: str) -> Series:
    if len(ts) != 1:
        raise DataError(
            f"The data holds {len(ts)} series ({', '.join(ts.ids[:3])}{', ...' if len(ts) > 3 else ''}); "
            f"`{what}` trains and forecasts one series per model. Select one with ts[id]."
        )
    return ts.members[0]


def _with_calendar(series: Series) -> tuple[Series, tuple[str, ...]]:
    """``series`` with its calendar features appended as known-future columns (see :func:`calendar_features`)."""
    import dataclasses

    cal = calendar_features(series.index, series.freq)
    if cal.empty:
        return series, ()
    frame = series.frame.join(cal)
    names = tuple(cal.columns)
    return dataclasses.replace(series, frame=frame, future_features=(*series.future_features, *names)), names


def _pad(inputs, size: int):
    """Zero-pad a batch (or each array of a tuple of inputs) to ``size`` rows."""
    if isinstance(inputs, tuple):
        return tuple(_pad(x, size) for x in inputs)
    return np.concatenate([inputs, np.zeros((size - len(inputs), *inputs.shape[1:]), dtype=inputs.dtype)])


def _check_model_shapes(model: keras.Model, io: IOSpec, path: Path) -> None:
    """A model file of other shapes than its manifest describes is refused."""
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    expected = [(None, io.lookback, io.n_past)] + ([(None, io.horizon, io.n_future)] if io.n_future else [])
    got = [tuple(s) for s in shapes]
    output = (None, io.horizon) if io.members == 1 else (None, io.members, io.horizon)
    if got != expected or tuple(model.output_shape) != output:
        raise ArtifactError(
            f"{path} does not match its manifest (model inputs {got}, output {model.output_shape}; "
            f"manifest expects {expected} -> (None, {io.horizon}))."
        )


def _load_last_window(fc: Forecaster, manifest: dict[str, Any], run: Path) -> None:
    lw = manifest.get("last_window")
    if lw is None:  # schema version 1: predict needs the data passed again
        fc.last_window_, fc.last_time_ = None, None
        return
    try:
        values = np.asarray(lw["values"], dtype=np.float64)
        end = pd.Timestamp(lw["end"])
    except (KeyError, TypeError, ValueError):
        raise ArtifactError(f"{run / MANIFEST_FILE}: `last_window` is malformed.") from None
    if values.shape != (fc.config.window.lookback, len(fc.columns_)) or not np.isfinite(values).all():
        raise ArtifactError(
            f"{run / MANIFEST_FILE}: `last_window` must hold {fc.config.window.lookback} x {len(fc.columns_)} finite numbers."
        )
    fc.last_window_, fc.last_time_ = values, end
