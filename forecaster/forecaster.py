"""The Forecaster: the estimator a notebook user holds, and the CLI drives (one series, or a panel of many).

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
      predict.npz        the model's weights by layer name, for prediction without Keras
                         (forecaster.inference; runs saved without it load with Keras)
      history.csv        per-epoch losses
      panel.npz          a model of many series: every series' id, scaler parameters and last window,
                         and its static attributes if the model takes them (plain arrays, loaded with
                         allow_pickle=False; their standardisation is in the manifest's `panel` entry)

The directory is written under a temporary name and renamed into place, so a
run interrupted at any moment leaves no directory that looks complete.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecaster import __version__
from forecaster.artifacts import MANIFEST_FILE, MODEL_FILE, SCHEMA_VERSION, read_manifest, write_json, write_run_dir
from forecaster.config import ForecastConfig
from forecaster.data import Series, TimeSeries, as_timeseries, future_index
from forecaster.exceptions import ArtifactError, ConfigError, DataError, NotFittedError, TrainingError
from forecaster import runtime
from forecaster.runtime import backend_name, on_gpu, set_seed
from forecaster.scaling import SeriesScaler
from forecaster.shapes import IOSpec
from forecaster.theta import ets_valid
from forecaster.choices import base_steps, resolve
from forecaster.data.calendar import calendar_features
from forecaster.windowing import WindowView, chronological_split, origin_range

if TYPE_CHECKING:  # pragma: no cover
    import keras

# Keras, forecaster.models and forecaster.training are imported where they are used, never here:
# loading and predicting may run on Keras' NumPy backend (see forecaster.runtime.import_for_inference),
# and a later fit in the same process switches backend and imports those modules afresh.

log = logging.getLogger(__name__)
#: Per-epoch losses of a run (the same name as forecaster.training.HISTORY_FILE).
HISTORY_FILE = "history.csv"

#: Origins predicted per model call: large enough to amortise call overhead,
#: small enough that a gathered chunk of windows stays a few MB.
PREDICT_CHUNK = 4096
#: Theta's weights in the combination that ``combine auto`` scores beside the network alone (see ``--theta-weight``).
THETA_WEIGHTS = (0.25, 0.5, 0.75)
#: A panel's: one more, 0.9 (the network's share down to a tenth). On the seeded 200-series samples (sample 0) the
#: validation windows chose it for M3 other only, which went from 4.69 to 4.51 sMAPE; the other groups kept their
#: weight. One series keeps :data:`THETA_WEIGHTS` (not measured there).
PANEL_THETA_WEIGHTS = (*THETA_WEIGHTS, 0.9)
#: One series: ``combine auto`` chooses Theta's weight on the validation windows only from this many windows on;
#: with fewer it takes 0.5. On 24 short M3/Tourism series (at most 23 validation windows) choosing measured worse
#: than 0.5 (geometric-mean MASE ratio to the best statistical model 1.339 against 1.268); on two long series
#: (daily temperatures, sunspots: hundreds of windows) choosing measured better (0.703 against 0.726, 1.082
#: against 1.144).
SERIES_CHOICE_WINDOWS = 100
#: Baselines the fit report compares the model with on the validation windows.
VALIDATION_BASELINES = ("naive", "seasonal_naive", "drift")
#: Per-series state of a panel model in its run directory (plain arrays, no pickle).
PANEL_FILE = "panel.npz"
#: ``model_backend_`` of a model evaluated by :class:`forecaster.inference.NumpyModel` (no Keras).
NUMPY_GRAPH = "numpy-graph"


class Forecaster:
    """A neural forecaster of one series (optionally with past and known-future covariates), or of many.

    Fitted on several series (a DataFrame with a series id column, a
    :class:`TimeSeries` of many, or ``targets``), it trains one global model
    on the windows of all of them, each series scaled on its own training
    rows (see :mod:`forecaster.panel`); ``predict()`` then returns a long
    DataFrame ``id, timestamp, value``.

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
            "time_col": d.time_col, "missing": d.missing, "id_col": d.id_col, "targets": d.targets,
            "static_features": d.static_features,
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
        tensorboard: str | os.PathLike[str] | None = None,
        callbacks: list | None = None,
        warm_start: "Forecaster | None" = None,
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
                are backed up there after the first epoch, then at most every
                10 s; a later ``fit`` with the same directory resumes after the
                last backed-up epoch.
            tensorboard: a directory for Keras TensorBoard logs (losses,
                learning rate and weight histograms per epoch;
                ``tensorboard --logdir DIR`` shows them).
            callbacks: more ``keras.callbacks.Callback`` objects for ``Model.fit``.
            warm_start: a fitted forecaster whose network weights this fit starts from
                (with a fresh optimizer, and this data's own scaler) instead of a random
                initialisation; ignored, with a log line, when its shapes or model differ
                from this fit's. Backtests use it for ``--refit-warm``.

        Returns:
            ``self``.

        Raises:
            DataError: the data cannot be used (too short, wrong columns...).
            TrainingError: the loss became NaN/inf (nothing is kept).
        """
        roles = self._roles(target=target, features=features, future_features=future_features, time_col=time_col)
        ts = as_timeseries(data, **roles)
        if len(ts) > 1 or roles["targets"]:
            return self._fit_panel(ts, verbose=verbose, checkpoint_dir=checkpoint_dir,
                                   extra={"tensorboard": tensorboard, "callbacks": callbacks})
        self.ids_ = self.series_bases_ = self.seasonal_ = None
        self.static_features_, self.static_scaler_, self.static_values_ = [], None, None
        series = _one_series(ts, "fit")
        cfg = self.config
        if cfg.data.deseason == "on":
            raise ConfigError("`deseason` on applies to panels (many series) only; use --deseason auto or off for one series.")
        cfg = cfg.replace(deseason="off")
        self.theta_ = None
        if roles["target"] is not None and roles["target"] != series.target:
            raise DataError(f"The config's target is {roles['target']!r} but the series' target is {series.target!r}.")
        # The config records the roles actually used, so the manifest (and `predict`) read data the same way.
        cfg = cfg.replace(target=series.target, features=series.features, future_features=series.future_features)
        user_future = series.future_features
        calendar: tuple[str, ...] = ()
        cfg, trading_choice = _resolve_calendars(cfg, series.index, series.freq, prices=series.kind == "prices")
        if cfg.data.calendar or cfg.data.holidays:
            series, calendar = _with_calendar(series, cycles=cfg.data.calendar, holidays=cfg.data.holidays)
        # Automatic settings (lookback, season, base, normalization, transform, ensemble) from the training rows.
        cfg, self.choices_ = resolve(
            cfg, series.values, series.freq, prices=series.kind == "prices", linear=calendar, columns=series.columns
        )
        self.choices_.update(trading_choice)
        IOSpec, cudnn_issues, train, scale_in_chunks = _training_api(cfg, tensorboard)
        # Keras refuses XLA while TensorFlow's op determinism is on: an explicit --jit-compile trades it away.
        set_seed(cfg.train.seed, deterministic=cfg.runtime.jit_compile is not True)
        for issue in cudnn_issues(cfg) if on_gpu() else ():  # the fused kernels exist on GPUs only
            log.warning("%s", issue)
        values = series.values
        w = cfg.window
        split = chronological_split(len(values), w.lookback, w.horizon, w.val_fraction, stride=w.window_stride)
        _warn_degenerate(len(split.train_origins), len(split.val_origins), w.window_stride, w.val_fraction)
        # The scaler sees training rows only: nothing after train_end leaks into its parameters.
        scaler = SeriesScaler(cfg.data.transform, cfg.data.normalization).fit(
            values[: split.train_end], columns=series.columns, prices=series.kind == "prices", linear=calendar
        )
        io = IOSpec(
            lookback=w.lookback, horizon=w.horizon, n_past=len(series.columns),
            n_future=len(user_future) + len(calendar), output=cfg.output.type, members=cfg.train.ensemble or 1,
            quantiles=cfg.output.head_quantiles,
        )
        view = self._view(scale_in_chunks(scaler, values), io, cfg)
        initial = _warm_weights(warm_start, cfg, io)
        # Every window of the series, counted back from the most recent one (as the split's strides are).
        every = origin_range(len(values), w.lookback, w.horizon, stride=w.window_stride) \
            if cfg.train.final_fit == "all" else None
        result = train(cfg, io, view, split, verbose=verbose, checkpoint_dir=checkpoint_dir, tensorboard=tensorboard,
                       callbacks=callbacks, initial_weights=initial, final_origins=every)
        self.warm_started_ = initial is not None

        self.config = cfg
        self.io_ = io
        # Scores and calibration come from the held-out model (never trained on the validation rows).
        self.model_ = result.holdout_model if result.holdout_model is not None else result.model
        self.scaler_ = scaler
        self.history_ = result.history
        self.calendar_ = list(calendar)
        self._remember_series(series, split.train_end, user_future)
        # Validation score in original units, beside the baselines on the same origins (and the Theta combination).
        score = self._choose_series_combination(view, values, split)
        # Opt-in: serve the best baseline when the model loses to it on the validation windows (recorded).
        self.fallback_ = (
            score["best_baseline"] if cfg.output.fallback == "baseline" and not score["beats_best_baseline"] else None
        )
        self.first_value_ = float(values[0, 0])
        self.calibration_ = self._calibrate(view, values, split) if cfg.output.intervals else None
        if self.theta_ is not None:
            self._refit_theta([self._theta_adjusted(values[:, 0], self.last_index_)[0]], one=True)
        self.model_ = result.model
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
            **_kept_metrics(result),
            "fit_seconds": round(result.seconds, 3),
            "replicas": result.replicas,
            "global_batch_size": result.global_batch_size,
            **_final_metrics(result, every),
        }
        return self

    @staticmethod
    def _view(z: np.ndarray, io: IOSpec, cfg: ForecastConfig, series_index: np.ndarray | None = None,
              static: np.ndarray | None = None, series_bases: tuple[np.ndarray, np.ndarray] | None = None) -> WindowView:
        """Windows over the scaled buffer ``z``; a panel's ``series_index`` per buffer row and ``static`` vectors
        (standardised, one row per series index) feed the series embedding and the static input; its
        ``series_bases`` (see :meth:`_series_base_arrays`) give each series its own base."""
        w = cfg.window
        if io.n_static and (static is None or series_index is None):
            raise DataError(f"The model takes {io.n_static} static attributes per series; none were given.")
        return WindowView(
            z, io.lookback, io.horizon, relative=cfg.data.normalization == "window", n_future=io.n_future,
            base_steps=base_steps(cfg.output.base, io.lookback, io.horizon, w.season or 1, cfg.output.step_bases),
            series_index=series_index if io.embedding or io.n_static or series_bases is not None else None,
            series_input=bool(io.embedding), static=static if io.n_static else None, series_bases=series_bases,
        )

    def _series_base_arrays(self, cfg: ForecastConfig | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """A panel's per-series bases as ``(weights, choice)`` for :class:`WindowView`; None when every series
        takes the panel's per-step base."""
        chosen = getattr(self, "series_bases_", None)
        if chosen is None:
            return None
        from forecaster.panel import series_base_stack

        names, choice = chosen
        return series_base_stack(names, cfg or self.config), choice

    def _choose_series_combination(self, view: WindowView, values: np.ndarray, split) -> dict[str, Any]:
        """``output.combine`` for one series (as :meth:`_choose_combination` for a panel): the network alone and its
        combinations with the series' Theta forecast scored on the validation windows (MAE); ``auto`` keeps the
        lowest. Theta runs in original units on the series seasonally adjusted by indices from its training rows
        (M4's Naive2 test; none when it fails), its ``alpha`` chosen on the training rows. Returns the validation
        scores of the kept forecast, with every candidate's MAE."""
        from forecaster.seasonality import grid_ordinal, seasonal_indices
        from forecaster.theta import choose_alpha, choose_ets

        out = self.config.output
        mode = out.combine
        self.theta_ = None
        if mode == "off":
            return self._validation_errors(view, values, split)
        season, end = self.config.window.season or 1, split.train_end
        first = grid_ordinal(self.last_index_[:1], self.freq_)
        indices = None
        if season > 1 and first is not None:
            indices = seasonal_indices(values[:end, 0], season, int(first[0]) % season)
        self.theta_ = {"indices": indices}
        adjusted, first = self._theta_adjusted(values[:, 0], self.last_index_)
        self.theta_["alpha"] = choose_alpha(adjusted[:end])
        use_ets = out.combine_ets == "on"  # auto: off for one series
        self.theta_["ets"] = choose_ets([adjusted[:end]])[0] if use_ets else None
        self.config = self.config.replace(combine_ets="on" if use_ets else "off")
        # The states at the validation origins and at the partial calibration windows before them (see _calibrate).
        origins = np.concatenate([self._partial_origins(split), split.val_origins])
        self.theta_["end"] = self._series_theta_state(view, adjusted, origins, first)
        weights = (out.theta_weight,) if out.theta_weight is not None else (
            (0.5,) if mode == "theta" else (0.0, *THETA_WEIGHTS))
        self.theta_["weight"] = weights[0]
        scores = dict(zip(weights, self._validation_errors(view, values, split, weights=weights)))
        note = "the series seasonally adjusted" if indices is not None else "the series not seasonally adjusted"
        n_val = len(split.val_origins)
        few = len(weights) > 1 and n_val < SERIES_CHOICE_WINDOWS
        return self._keep_combination(
            scores, "val_mae", "MAE", f"Theta smoothing weight {self.theta_['alpha']:g}, {note}",
            keep=(0.5, f"{n_val} validation windows are too few to choose on (fewer than {SERIES_CHOICE_WINDOWS})")
            if few else None)

    def _refit_theta(self, rows: list[np.ndarray], *, one: bool) -> None:
        """The served combination's statistical parameters re-chosen on every fitted row of each series (``rows``:
        seasonally adjusted, one series' in original units or each panel series' in model units), and the end
        states from them. Called once Theta's weight is chosen and the intervals calibrated, which used the
        parameters of the training rows only (kept as ``train_alpha`` / ``train_ets``): like a final refit, the
        forecast then reads every row before its origin, the newest included."""
        from forecaster.theta import choose_alpha, choose_ets, end_state

        theta = self.theta_
        theta["train_alpha"], theta["train_ets"] = theta["alpha"], theta.get("ets")
        alpha = np.array([choose_alpha(z) for z in rows])
        ets = None if theta.get("ets") is None else choose_ets(rows)
        end = np.stack([end_state(z, float(a), None if ets is None else e) for z, a, e in
                        zip(rows, alpha, ets if ets is not None else [None] * len(rows))])
        theta["alpha"] = float(alpha[0]) if one else alpha
        theta["ets"] = None if ets is None else (ets[0] if one else ets)
        theta["end"] = end[0] if one else end
        served = ", ".join(f"{a:g}: {np.count_nonzero(alpha == a)}" for a in np.unique(alpha))
        if ets is not None:
            forms = np.where(ets[:, 1] == 0, "simple", np.where(ets[:, 2] == 1, "linear trend", "damped trend"))
            served += "; exponential smoothing " + ", ".join(
                f"{f}: {np.count_nonzero(forms == f)}" for f in ("simple", "linear trend", "damped trend") if (forms == f).any())
        choice = self.choices_.get("combine")
        if choice is not None:
            choice["why"] += f"; served with parameters chosen again on every fitted row (Theta smoothing weight {served})"

    def _series_theta_state(self, view: WindowView, adjusted: np.ndarray, origins: np.ndarray,
                            first: int | None) -> np.ndarray:
        """Give ``view`` the Theta states of one series at ``origins`` (rows of ``adjusted``, the seasonally
        adjusted target of the view's rows, the first at grid ordinal ``first``) and at its end; returns the
        end state."""
        from forecaster.theta import theta_rows

        n = len(adjusted)
        rows = np.unique(np.concatenate([np.asarray(origins, dtype=np.int64), [n]]))
        rows = rows[(rows >= 1) & (rows <= n)]
        ets = self.theta_.get("ets")
        states = theta_rows(adjusted, [n], 0, np.array([self.theta_["alpha"]]), rows, None if ets is None else ets[None])
        view.theta, view.theta_first = (rows, states), first
        return states[-1].copy()

    def _theta_first(self, times) -> int | None:
        """The grid ordinal of ``times[0]``, where one series' Theta combination reads its seasonal indices from
        (None without indices)."""
        if self.theta_["indices"] is None:
            return None
        from forecaster.seasonality import grid_ordinal

        first = grid_ordinal(pd.DatetimeIndex(times[:1]), self.freq_)
        if first is None:
            raise DataError(f"The frequency {self.freq_!r} has no fixed grid; this model's Theta combination needs one.")
        return int(first[0])

    def _theta_adjusted(self, target: np.ndarray, index: pd.DatetimeIndex) -> tuple[np.ndarray, int | None]:
        """One series' ``target`` (original units, at ``index``) divided by the seasonal indices of ``theta_``, and
        the grid ordinal of its first row (the target as given and None without indices)."""
        from forecaster.seasonality import adjust

        first = self._theta_first(index)
        if first is None:
            return np.asarray(target, dtype=np.float64), None
        return adjust(np.asarray(target)[:, None], self.theta_["indices"], first)[:, 0], first

    def _series_theta(self, view: WindowView, series: Series, origins: np.ndarray) -> None:
        """The Theta states of ``series`` (original units, the rows of ``view``) at ``origins``, for
        :meth:`_predict_view`; nothing without a combination."""
        if getattr(self, "theta_", None) is None:
            return
        adjusted, first = self._theta_adjusted(series.target_values, series.index)
        self._series_theta_state(view, adjusted, origins, first)

    def _series_theta_last(self, view: WindowView, series: Series | None) -> None:
        """The Theta state after the last row (stored, or of the new data ``series``) for the one origin of
        ``view`` (:meth:`_last_view`); nothing without a combination."""
        theta = getattr(self, "theta_", None)
        if theta is None:
            return
        from forecaster.theta import end_state

        lookback = self.config.window.lookback
        last = self.last_time_ if series is None else series.index[-1]
        first = self._theta_first([last])
        first = None if first is None else first - lookback + 1  # the view's first row: lookback - 1 rows before the last
        if series is None:
            state = np.asarray(theta["end"], dtype=np.float64)
        else:
            state = end_state(self._theta_adjusted(series.target_values, series.index)[0], theta["alpha"], theta.get("ets"))
        view.theta, view.theta_first = (np.array([lookback], dtype=np.int64), state[None, :]), first

    def _series_theta_shift(self, view: WindowView, origins: np.ndarray, mid: np.ndarray) -> np.ndarray:
        """One series' Theta forecast (original units, reseasonalised) at rows ``origins`` of ``view`` less the
        network's point forecast ``mid``: the served forecast is ``mid + theta_["weight"] * shift``."""
        h = mid.shape[1]
        ets = self.theta_.get("ets")
        theta = _theta_forecast(view, origins, np.full(len(origins), self.theta_["alpha"]), h,
                                None if ets is None else np.tile(ets, (len(origins), 1)))
        indices = self.theta_["indices"]
        if indices is not None:
            theta = theta * indices[(view.theta_first + origins[:, None] + np.arange(h)) % len(indices)]
        return theta - mid

    def _validation_errors(self, view: WindowView, values: np.ndarray, split, *,
                           weights: tuple[float, ...] | None = None):
        """MAE and RMSE of the model and of the baselines on the validation origins, chunk by chunk.

        MASE divides by the in-sample seasonal-naive MAE of the training rows.
        The model's line says whether it beats the best of the baselines. ``weights``: a list of such scores
        instead, one for each of these Theta weights (0: the network alone), from one pass of the network.
        """
        from forecaster.baselines import all_baselines
        from forecaster.evaluation.metrics import seasonal_naive_scale

        season = self.config.window.season or 1
        origins = split.val_origins
        # The seasonal naive forecast needs a whole season before the first validation origin.
        baselines = [b for b in VALIDATION_BASELINES if b != "seasonal_naive" or origins[0] >= season]
        models = ["model"] if weights is None else [f"model_{i}" for i in range(len(weights))]
        names = [*models, *baselines]
        abs_sum, sq_sum = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
        steps = np.arange(self.config.window.horizon)
        target = values[:, 0]
        for lo in range(0, len(origins), PREDICT_CHUNK):
            chunk = np.asarray(origins[lo : lo + PREDICT_CHUNK])
            actual = target[chunk[:, None] + steps]
            fitted = self._predict_view(view, chunk, weights=weights)
            forecasts = dict(zip(models, [fitted] if weights is None else fitted))
            base = all_baselines(target, chunk, len(steps), season if "seasonal_naive" in baselines else 1)
            forecasts.update({name: base[name] for name in baselines})
            for name, forecast in forecasts.items():
                err = forecast - actual
                abs_sum[name] += float(np.abs(err).sum())
                sq_sum[name] += float((err**2).sum())
        count = len(origins) * len(steps)
        scale = seasonal_naive_scale(target[: split.train_end], season if season < split.train_end else 1)
        def errors(name: str, prefix: str) -> dict[str, float]:
            return {f"{prefix}_mae": abs_sum[name] / count, f"{prefix}_rmse": float(np.sqrt(sq_sum[name] / count)),
                    f"{prefix}_mase": abs_sum[name] / count / scale if scale > 0 else float("nan")}

        base_errors: dict[str, Any] = {}
        for name in baselines:
            base_errors.update(errors(name, f"{name}_val"))
        best = min(baselines, key=lambda n: base_errors[f"{n}_val_mae"])
        reports = []
        for model in models:
            out = {**errors(model, "val"), **base_errors, "best_baseline": best}
            out["beats_best_baseline"] = bool(out["val_mae"] < out[f"{best}_val_mae"])
            reports.append(out)
        return reports[0] if weights is None else reports

    def _partial_origins(self, split) -> np.ndarray:
        """The ``horizon - 1`` origins just before the validation rows: the partial calibration windows, whose
        steps in those rows :meth:`_calibrate` scores when the steps are pooled (all after the last training
        origin, so each has a whole lookback)."""
        return np.arange(split.train_end - self.config.window.horizon + 1, split.train_end, dtype=np.int64)

    def _calibrate(self, view: WindowView, values: np.ndarray, split):
        """Conformal radii of ``output.intervals`` from the validation windows (see :mod:`forecaster.intervals`).

        The validation windows' targets lie after every training window's; the
        weights never fitted them (they only chose the epoch to stop at).

        When the horizon steps are pooled (few validation windows), the ``horizon - 1`` origins just before
        the validation rows join as partial windows: only their steps in the validation rows are scored
        (rows no training window had as a target), which on a short series multiplies the pooled scores.
        """
        from forecaster.intervals import calibrate, pool_steps_for

        out = self.config.output
        origins = np.asarray(split.val_origins, dtype=np.int64)
        h = self.config.window.horizon
        n_whole = len(origins)
        if pool_steps_for(out.pool_steps, n_whole, h):
            origins = np.concatenate([self._partial_origins(split), origins])
        self.calibration_origins_ = origins  # rows of the fitted data (read by a backtest's baseline interval)
        self.calibration_first_row_ = split.train_end  # steps before it are not scored (partial windows)
        rows = origins[:, None] + np.arange(h)
        actual = np.where(rows >= split.train_end, values[rows, 0], np.nan)
        parts = self._interval_inputs(view, origins, values[:, 0])
        first = self.last_index_[split.train_end].isoformat()
        last = self.last_index_[origins[-1] + h - 1].isoformat()
        partial = (f", and the steps in those rows of the {len(origins) - n_whole} windows before them"
                   if len(origins) > n_whole else "")
        cal = calibrate(
            out.conformal, out.intervals, actual, parts["point"], log=bool(self.scaler_.log_[0]),
            source=f"{n_whole} validation windows, targets {first} .. {last}{partial}",
            scale=parts["scale"], quantiles=parts["quantiles"], taus=self.io_.quantiles, pool=out.pool_steps,
        )
        if cal.short:
            log.warning(cal.short_warning())
        return cal

    def _interval_inputs(self, view: WindowView, origins: np.ndarray, target: np.ndarray) -> dict[str, Any]:
        """Point and quantile forecasts of ``origins`` and each window's local scale (what the intervals need)."""
        from forecaster.intervals import local_scale

        point, quantiles = self._point_and_quantiles(self._predict_view(view, origins, quantiles=True))
        g = np.log(np.maximum(target, 1e-300)) if self.scaler_.log_[0] else np.asarray(target, dtype=np.float64)
        return {"point": point, "quantiles": quantiles, "scale": local_scale(g, origins, self.config.window.lookback)}

    def _point_and_quantiles(self, full: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The point forecast (the median of a quantile head) and the quantiles (None for a point head)."""
        if not self.io_.quantiles:
            return full, None
        return full[..., self.io_.quantiles.index(0.5)], full

    def _interval_frame(self, parts: dict[str, Any]) -> dict[str, np.ndarray]:
        """Quantile and interval columns (``q0.1``, ``lower_80``, ...) of the forecasts in ``parts``."""
        cal = getattr(self, "calibration_", None)
        bounds = {} if cal is None else cal.bounds(parts["point"], scale=parts["scale"], quantiles=parts["quantiles"])
        return self._quantile_interval_columns(parts["quantiles"], bounds)

    def _quantile_interval_columns(self, quantiles: np.ndarray | None, bounds: dict) -> dict[str, np.ndarray]:
        """``q0.1`` ... columns of ``quantiles`` and ``lower_80``/``upper_80`` ... columns of ``bounds`` (level -> (lo, hi))."""
        from forecaster.intervals import interval_columns, quantile_column

        cols: dict[str, np.ndarray] = {}
        if quantiles is not None:
            for i, q in enumerate(self.io_.quantiles):
                cols[quantile_column(q)] = quantiles[..., i]
        for level, (lo, hi) in bounds.items():
            lo_name, hi_name = interval_columns(level)
            cols[lo_name], cols[hi_name] = lo, hi
        return cols

    def predict_intervals(self, series: Series, origins: np.ndarray) -> dict[str, np.ndarray]:
        """Point forecasts, quantiles and conformal intervals at many origins of ``series`` (original units).

        Returns:
            ``{"point": (n, horizon), "q0.1": ..., "lower_80": ..., "upper_80": ...}``: the columns that
            ``predict()`` adds, each ``(len(origins), horizon)``.
        """
        if not isinstance(series, Series):
            series = self._as_series(series)
        elif self.calendar_ and not set(self.calendar_) <= set(series.columns):
            series = _with_calendar(series)[0]
        self.check_compatible(series)
        origins = np.asarray(origins, dtype=np.int64)
        view = self._view(self.scaler_.transform_values(series.values), self.io_, self.config)
        self._series_theta(view, series, origins)
        parts = self._interval_inputs(view, origins, series.values[:, 0])
        return {"point": parts["point"], **self._interval_frame(parts)}

    def _remember_series(self, series: Series, train_end: int, user_future: tuple[str, ...] = ()) -> None:
        idx = series.index
        self.last_index_ = idx
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


    # ---------------------------------------------------------------- panel
    @property
    def is_panel(self) -> bool:
        """Whether this forecaster was fitted on many series (one global model)."""
        return getattr(self, "ids_", None) is not None

    def _fit_panel(self, ts: TimeSeries, *, verbose: int | str, checkpoint_dir, extra: dict | None = None) -> "Forecaster":
        """Global training on every series of ``ts`` (see :mod:`forecaster.panel`)."""
        from forecaster.choices import season_of
        from forecaster.panel import (PanelLayout, PanelScalers, StaticScaler, choose_series_bases, deseason_members,
                                      describe_series_bases, fit_scalers, panel_buffer, plan_layout, resolve_panel,
                                      static_matrix)

        cfg = self.config
        if cfg.window.lookback is None and cfg.window.lookback_search and checkpoint_dir is None:
            return self._search_panel_lookback(ts, verbose=verbose, extra=extra)
        if ts.future_features:
            raise ConfigError(
                "Known-future columns are not supported for panels yet; use --calendar for calendar features, "
                "or fit one series at a time."
            )
        if cfg.output.fallback != "none":
            raise ConfigError("`fallback` applies to one series; a panel model serves its own forecasts. Use fallback none.")
        # The static columns actually read are recorded (sorted), so `predict` reads new data the same way.
        cfg = cfg.replace(target=ts.target if not cfg.data.targets else None, features=ts.features, future_features=(),
                          static_features=ts.static_features)
        members = list(ts.members)
        calendar: tuple[str, ...] = ()
        prices = all(m.kind == "prices" for m in members)
        longest = max(members, key=len)
        cfg, trading_choice = _resolve_calendars(cfg, longest.index, ts.freq, prices=prices)
        if cfg.data.calendar or cfg.data.holidays:
            pairs = [_with_calendar(m, cycles=cfg.data.calendar, holidays=cfg.data.holidays) for m in members]
            members, calendar = [p[0] for p in pairs], pairs[0][1]
        # Seasonal adjustment first: the automatic base, the scalers and the network see the adjusted series; the
        # validation scores, intervals and stored windows keep the original values (``raw_by_id``).
        raw_by_id = {m.id: m for m in members}
        members, seasonal, deseason_choice = deseason_members(members, cfg, ts.freq, season_of(cfg, ts.freq))
        cfg, self.choices_ = resolve_panel(cfg, members, ts.freq, prices=prices)
        cfg = cfg.replace(deseason="on" if seasonal else "off")
        if deseason_choice is not None:
            self.choices_["deseason"] = deseason_choice
        self.choices_.update(trading_choice)
        IOSpec, cudnn_issues, train, scale_in_chunks = _training_api(cfg, (extra or {}).get("tensorboard"))
        set_seed(cfg.train.seed, deterministic=cfg.runtime.jit_compile is not True)
        for issue in cudnn_issues(cfg) if on_gpu() else ():  # the fused kernels exist on GPUs only
            log.warning("%s", issue)
        w = cfg.window
        layout = plan_layout([m.id for m in members], [len(m) for m in members], w.lookback, w.horizon, w.val_fraction)
        # Each series' scaler sees that series' training rows only.
        layout, scaler_list = fit_scalers(members, layout, cfg, prices=prices, linear=calendar)
        for sid, why in layout.skipped.items():
            log.warning("Series %r skipped: %s.", sid, why)
        if not layout.ids:
            raise DataError(
                f"No series of the panel is long enough: {len(layout.skipped)} skipped (e.g. "
                f"{next(iter(layout.skipped.items()))[0]!r}: {next(iter(layout.skipped.values()))}). "
                "Reduce --horizon or supply longer series."
            )
        by_id = {m.id: m for m in members}
        used = [by_id[i] for i in layout.ids]
        scalers = PanelScalers.from_scalers(scaler_list)
        static_values = static_scaler = static_input = None
        if ts.static_features:
            # Standardised over the series the model is fitted on: constant over time, so no row after a
            # series' training cutoff enters them.
            static_values = static_matrix(used, ts.static_features)
            static_scaler = StaticScaler.fit(list(ts.static_features), static_values)
            static_input = static_scaler.transform(static_values)
        train_o, val_o = layout.origins("train", w.window_stride), layout.origins("val", w.window_stride)
        if len(train_o) == 0 or len(val_o) == 0:
            raise DataError(
                f"The panel has {len(train_o)} training and {len(val_o)} validation windows; both are needed. "
                "Reduce --lookback or --horizon, or supply longer series."
            )
        io = IOSpec(
            lookback=w.lookback, horizon=w.horizon, n_past=len(used[0].columns), n_future=len(calendar),
            output=cfg.output.type, members=cfg.train.ensemble or 1,
            n_series=len(used) if cfg.model.series_embedding else 0, embedding=cfg.model.series_embedding,
            quantiles=cfg.output.head_quantiles,
            n_static=len(ts.static_features),
        )
        rows_of = np.repeat(np.arange(len(used), dtype=np.int32), layout.lengths + layout.pad)
        buffer = panel_buffer(used, scalers, layout.pad)
        self.seasonal_ = None
        if seasonal:
            self.seasonal_ = np.ones((len(used), cfg.window.season), dtype=np.float64)
            for i, sid in enumerate(layout.ids):
                if sid in seasonal:
                    self.seasonal_[i] = seasonal[sid]
        used_raw = [raw_by_id[i] for i in layout.ids]
        self.series_bases_ = None
        if cfg.output.base == "auto" and cfg.output.series_base and cfg.model.multistep != "recursive":
            # Each series its own base, chosen on its training windows (the network still corrects it).
            self.series_bases_ = choose_series_bases(buffer, layout, cfg)
            self.choices_["base"] = {
                "value": f"per series: {describe_series_bases(*self.series_bases_)}",
                "why": f"each series' lowest training-window error among the panel's choice "
                       f"({self.choices_['base']['value']}) and {', '.join(self.series_bases_[0][1:])}",
            }
        view = self._view(buffer, io, cfg, rows_of, static_input, self._series_base_arrays(cfg))
        self._place_seasons(view, self._ordinals([m.index[0] for m in used], ts.freq), [len(m) for m in used], layout.pad)
        weights = _series_weights(train_o) if cfg.train.series_weights == "series" else None
        split = _PanelSplit(train_origins=train_o, val_origins=val_o)
        every = every_weights = None
        if cfg.train.final_fit == "all":
            # Every window of every series, the validation rows included (the scalers stay those of the training rows).
            whole = PanelLayout(lookback=layout.lookback, horizon=layout.horizon, ids=layout.ids, lengths=layout.lengths,
                                train_ends=layout.lengths, first_origins=layout.first_origins)
            every = whole.origins("train", w.window_stride)
            if weights is not None:
                every_weights = _series_weights(every)
        result = train(cfg, io, view, split, verbose=verbose, checkpoint_dir=checkpoint_dir, weights=weights,
                       final_origins=every, final_weights=every_weights, **(extra or {}))

        self.config = cfg
        self.io_ = io
        # Scores come from the held-out model (never trained on the validation rows); the final one is served.
        self.model_ = result.holdout_model if result.holdout_model is not None else result.model
        self.panel_scalers_ = scalers
        self.scaler_ = scalers.scaler(0)
        self.history_ = result.history
        self.calendar_ = list(calendar)
        self.fallback_ = None
        self.first_value_ = float("nan")
        self.ids_ = list(layout.ids)
        self.static_features_ = list(ts.static_features)
        self.static_scaler_ = static_scaler
        self.static_values_ = static_values  # (series, n_static) original values, or None
        self.skipped_ = dict(layout.skipped)
        self.id_col_ = ts.id_col or "id"
        self.target_ = ts.target
        self.features_ = list(ts.features)
        self.future_features_ = []
        self.columns_ = used[0].columns
        self.freq_ = ts.freq
        self.kind_ = used[0].kind
        self.time_col_ = used[0].time_col
        self.series_id_ = "panel"
        self.last_windows_ = np.stack([_pad_rows(m.values, w.lookback) for m in used_raw])
        self.last_times_ = [m.index[-1] for m in used]
        self.last_window_, self.last_time_ = None, max(self.last_times_)
        starts = [m.index[0] for m in used]
        train_last = [m.index[int(e) - 1] for m, e in zip(used, layout.train_ends)]
        val_first = [m.index[int(e)] for m, e in zip(used, layout.train_ends)]
        self.data_ = {
            "source": used[0].source,
            "fingerprint": _panel_fingerprint([m.fingerprint for m in used]),
            "rows": int(layout.lengths.sum()),
            "start": min(starts).isoformat(),
            "end": self.last_time_.isoformat(),
            "train_start": min(starts).isoformat(),
            "train_end": max(train_last).isoformat(),
            "val_start": min(val_first).isoformat(),
            "val_end": self.last_time_.isoformat(),
        }
        score = self._choose_combination(view, buffer, layout, used_raw, val_o)
        cfg = self.config
        # Calibrated on the validation windows by the held-out model, like one series.
        self.calibration_ = self._calibrate_panel(view, layout, used_raw, val_o) if cfg.output.intervals else None
        if self.theta_ is not None:
            self._refit_theta([buffer[s : s + int(n), 0] for s, n in zip(layout.starts, layout.lengths)], one=False)
        self.model_ = result.model
        val_losses = self.history_.get("val_loss", [float("nan")])
        self.metrics_ = {
            "val_loss": float(min(val_losses)),
            **score,
            "series": len(self.ids_),
            "skipped_series": [{"id": k, "why": v} for k, v in self.skipped_.items()],
            "val_windows": int(len(val_o)),
            "train_windows": int(len(train_o)),
            "series_weights": cfg.train.series_weights,
            "epochs_run": len(self.history_.get("loss", [])),
            "best_epoch": int(np.argmin(self.history_["val_loss"])) + 1 if "val_loss" in self.history_ else None,
            **_kept_metrics(result),
            "fit_seconds": round(result.seconds, 3),
            "replicas": result.replicas,
            "global_batch_size": result.global_batch_size,
            **_final_metrics(result, every),
        }
        return self

    def _choose_combination(self, view: WindowView, buffer: np.ndarray, layout, used: list, val_o) -> dict[str, Any]:
        """``output.combine``: each series' Theta smoothing weight from its training rows, then the network alone
        and its combinations with the Theta forecasts (Theta's weight ``output.theta_weight``, or each of
        :data:`PANEL_THETA_WEIGHTS` when unset) scored on the validation windows; ``auto`` keeps the lowest sMAPE.
        Sets ``theta_`` (None: the network alone) and the concrete ``combine`` and ``theta_weight`` in the config;
        returns the kept validation scores (with every candidate's sMAPE)."""
        from forecaster.theta import choose_alpha, choose_ets

        out = self.config.output
        mode = out.combine
        self.theta_ = None
        scores = {}
        if mode == "off":
            return self._panel_validation(view, layout, used, val_o)
        starts = layout.starts
        train = [buffer[s : s + int(e), 0] for s, e in zip(starts, layout.train_ends)]
        alpha = np.array([choose_alpha(z) for z in train])
        use_ets = out.combine_ets != "off"  # auto: on for a panel
        self.theta_ = {"alpha": alpha, "ets": choose_ets(train) if use_ets else None}
        self.config = self.config.replace(combine_ets="on" if use_ets else "off")
        ends = starts + layout.lengths
        self._theta_state(view, buffer, layout.lengths, layout.pad, range(len(alpha)),
                          np.concatenate([val_o.take(np.arange(len(val_o), dtype=np.int64)), ends]))
        rows, states = view.theta
        self.theta_["end"] = states[np.searchsorted(rows, ends)]
        weights = (out.theta_weight,) if out.theta_weight is not None else (
            (0.5,) if mode == "theta" else (0.0, *PANEL_THETA_WEIGHTS))
        self.theta_["weight"] = weights[0]
        scores.update(zip(weights, self._panel_validation(view, layout, used, val_o, weights=weights)))
        values = ", ".join(f"{a:g}: {np.count_nonzero(alpha == a)}" for a in np.unique(alpha))
        return self._keep_combination(scores, "val_smape", "sMAPE", f"Theta smoothing weight by series ({values})")

    def _keep_combination(self, scores: dict[float, dict[str, Any]], key: str, label: str, detail: str,
                          keep: tuple[float, str] | None = None) -> dict[str, Any]:
        """Keep the Theta weight of ``scores`` (weight -> validation scores; 0: the network alone) with the lowest
        ``key`` (or the weight of ``keep``, for its reason): sets ``theta_`` (None for the network alone), the
        ``combine`` choice and the config; returns the kept scores with every candidate's ``key``
        (``val_smape_theta_0`` ...)."""
        table = {f"{key}_theta_{wt:g}": sc[key] for wt, sc in scores.items()}
        best = min(scores, key=lambda wt: (scores[wt][key], wt)) if keep is None else keep[0]
        listed = ", ".join(f"{wt:g}: {sc[key]:.4g}" for wt, sc in scores.items())
        why = "given" if len(scores) == 1 else f"validation {label} by Theta's weight ({listed})"
        if keep is not None:
            why = f"{why}; {keep[1]}: weight {keep[0]:g}"
        if best == 0.0:
            self.theta_ = None
            self.choices_["combine"] = {"value": "off", "why": f"{why}: the network alone"}
            self.config = self.config.replace(combine="off")
        else:
            self.theta_["weight"] = best
            self.choices_["combine"] = {"value": f"theta, weight {best:g}", "why": f"{why}; {detail}"}
            self.config = self.config.replace(combine="theta", theta_weight=best)
        return {**scores[best], **table}

    def _search_panel_lookback(self, ts: TimeSeries, *, verbose: int | str, extra: dict | None) -> "Forecaster":
        """``window.lookback_search``: the panel fitted at half, one and one and a half times its automatic lookback
        (:func:`forecaster.panel.panel_lookback`, the longest capped like it); the fit with the lowest validation
        sMAPE (mean over series, on the validation rows: before every forecast origin) is kept whole."""
        from forecaster.choices import season_of
        from forecaster.panel import panel_lookback

        cfg = self.config
        lengths = np.array([len(m) for m in ts.members])
        auto = panel_lookback(lengths, season_of(cfg, ts.freq), cfg.window.horizon)
        cap = max(auto, int(np.median(lengths)) - cfg.window.horizon)
        candidates = sorted({max(2, auto // 2), auto, min(auto + auto // 2, cap)})
        scores, best = {}, None
        for lookback in candidates:
            trial = Forecaster(cfg.replace(lookback=lookback, lookback_search=False))
            try:
                trial._fit_panel(ts, verbose=verbose, checkpoint_dir=None, extra=extra)
            except (DataError, ConfigError) as exc:  # no series long enough, or a forced base that does not fit
                if lookback == auto:
                    raise
                log.info("Lookback %d left out of the search: %s", lookback, exc)
                continue
            score = float(trial.metrics_.get("val_smape", float("nan")))
            scores[lookback] = score
            key = score if np.isfinite(score) else np.inf
            if best is None or key < best[0]:
                best = (key, lookback, trial)
        _, lookback, trial = best
        self.__dict__.update(trial.__dict__)
        listed = ", ".join(f"{k}: {v:.3f}" for k, v in scores.items())
        self.choices_["lookback"] = {
            "value": lookback,
            "why": f"lowest validation sMAPE of lookbacks {listed} (half, one and 1.5 x the automatic {auto})",
        }
        self.metrics_["lookback_search"] = listed
        return self

    def _panel_predict(self, view: WindowView, origins: np.ndarray, series: np.ndarray, *,
                       quantiles: bool = False, weights: tuple[float, ...] | None = None):
        """Forecasts in original units at buffer-row ``origins`` of the series ``series`` (indices into ``ids_``).

        As :meth:`_predict_view`: a quantile head's point forecast is its median; ``quantiles=True``
        returns every quantile, ``(len(origins), horizon, Q)``, each mapped back by its series' scaler.
        ``weights``: a list of forecasts instead, one for each of these Theta weights (0: the network alone), from
        one pass of the network (see :meth:`_theta_shift`).
        """
        horizon = self.config.window.horizon
        taus = getattr(self.io_, "quantiles", ())
        shape = (len(origins), horizon, *((len(taus),) if taus else ()))
        theta = getattr(self, "theta_", None)
        mixes = (None if theta is None else theta["weight"],) if weights is None else tuple(weights)
        outs = [np.empty(shape, dtype=np.float64) for _ in mixes]
        for lo in range(0, len(origins), PREDICT_CHUNK):
            chunk = np.asarray(origins[lo : lo + PREDICT_CHUNK])
            inputs = view.model_inputs(chunk)
            size = max(32, 1 << (len(chunk) - 1).bit_length())  # one traced shape per power of two
            if size != len(chunk):
                inputs = _pad(inputs, size)
            rel = np.asarray(self._predict_batch(inputs), dtype=np.float64)[: len(chunk)]
            if rel.ndim == len(shape) + 1:  # an ensemble: the members' median (quantiles stay ordered)
                rel = np.median(rel, axis=1)
            ref = view.reference(chunk)
            net = rel + (ref[..., None] if taus else ref)
            which = np.asarray(series[lo : lo + len(chunk)])
            shift = self._theta_shift(view, chunk, which, net, taus) if any(mixes) else None
            factors = None
            if getattr(self, "seasonal_", None) is not None:  # the indices of the forecast rows, multiplied back
                factors = self._season_factors(view, chunk, which)
                factors = factors[..., None] if taus else factors
            for out, wt in zip(outs, mixes):
                z = net + wt * shift if wt else net
                out[lo : lo + len(chunk)] = self.panel_scalers_.inverse_target(which, z.reshape(len(chunk), -1)).reshape(z.shape)
                if factors is not None:
                    out[lo : lo + len(chunk)] *= factors
        if taus and not quantiles:
            outs = [out[..., taus.index(0.5)] for out in outs]
        return outs if weights is not None else outs[0]

    def _theta_shift(self, view: WindowView, origins: np.ndarray, series: np.ndarray, z: np.ndarray, taus) -> np.ndarray:
        """``output.combine`` theta: each series' Theta forecast at buffer-row ``origins`` less the network's
        forecast ``z`` (model units; a quantile head's median), shaped like ``z``. The served forecast is
        ``z + theta_["weight"] * shift`` (:mod:`forecaster.theta`): a quantile head's quantiles all move by the
        median's shift, so they keep their order."""
        ets = self.theta_.get("ets")
        theta = _theta_forecast(view, origins, self.theta_["alpha"][series], z.shape[1], None if ets is None else ets[series])
        shift = theta - (z[..., taus.index(0.5)] if taus else z)
        return shift[..., None] if taus else shift

    def _theta_state(self, view: WindowView, buffer: np.ndarray, lengths, pad: int, index, rows: np.ndarray) -> None:
        """Give ``view`` the Theta states at the origin ``rows`` of ``buffer`` (series ``index`` laid out with
        ``pad`` padding rows before their ``lengths`` rows), for :meth:`_theta_shift`; nothing without a
        combination. ``view.theta`` is ``(sorted rows, (len(rows), 3) states)``."""
        if getattr(self, "theta_", None) is not None:
            from forecaster.theta import theta_rows

            rows = np.unique(np.asarray(rows, dtype=np.int64))
            index = np.asarray(index, dtype=np.int64)
            ets = self.theta_.get("ets")
            view.theta = (rows, theta_rows(buffer[:, 0], lengths, pad, self.theta_["alpha"][index], rows,
                                           None if ets is None else ets[index]))

    def _theta_ends(self, members: list, index: list[int]) -> np.ndarray:
        """``(len(members), 3)`` Theta state (5 wide with the smoothing model) after every row of each member (new
        data of the series ``index``),
        read like the fit read its series: seasonally adjusted, then in the series' model units."""
        from forecaster.theta import end_state

        first = self._ordinals([m.index[0] for m in members])
        ets = self.theta_.get("ets")
        out = np.empty((len(members), 3 if ets is None else 5))
        for j, (m, i) in enumerate(zip(members, index)):
            z = self.panel_scalers_.transform_values(i, self._adjusted(m.values, i, first, j))[:, 0]
            out[j] = end_state(z, float(self.theta_["alpha"][i]), None if ets is None else ets[i])
        return out

    def _ordinals(self, times: list, freq: str | None = None) -> np.ndarray | None:
        """Grid ordinals of ``times`` (see :func:`forecaster.seasonality.grid_ordinal`); None without seasonal indices."""
        if getattr(self, "seasonal_", None) is None:
            return None
        from forecaster.seasonality import grid_ordinal

        out = grid_ordinal(pd.DatetimeIndex(times), freq or self.freq_)
        if out is None:
            raise DataError(f"The frequency {freq or self.freq_!r} has no fixed grid; this model's seasonal adjustment needs one.")
        return out

    @staticmethod
    def _place_seasons(view: WindowView, first: np.ndarray | None, lengths: list[int], pad: int) -> None:
        """Give ``view`` each buffer row's grid ordinal, for :meth:`_season_factors`: series ``j``'s first row has
        ordinal ``first[j]`` and follows ``pad`` padding rows (nothing to do when ``first`` is None)."""
        if first is not None:
            view.row_ordinal = np.concatenate([o - pad + np.arange(n + pad, dtype=np.int64) for o, n in zip(first, lengths)])

    def _season_factors(self, view: WindowView, origins: np.ndarray, series: np.ndarray) -> np.ndarray:
        """``(len(origins), horizon)`` seasonal indices of each forecast row of buffer-row ``origins``."""
        m = self.seasonal_.shape[1]
        # From the last input row (always the series' own; the origin row itself may lie past its end).
        rows = view.row_ordinal[np.asarray(origins) - 1][:, None] + 1 + np.arange(self.config.window.horizon)
        return self.seasonal_[np.asarray(series)[:, None], rows % m]

    def _adjusted(self, values: np.ndarray, i: int, first: np.ndarray | None, j: int) -> np.ndarray:
        """Series ``i``'s rows ``values`` (original units, the first at grid ordinal ``first[j]``), seasonally
        adjusted (as given when ``first`` is None)."""
        if first is None:
            return values
        from forecaster.seasonality import adjust

        return adjust(values, self.seasonal_[i], int(first[j]))

    def _calibrate_panel(self, view: WindowView, layout, used: list, val_o):
        """Conformal radii of a panel from the validation windows of every series, pooled with scale-free scores.

        Each series' scale is fitted on its training rows only (see :mod:`forecaster.intervals`).
        """
        from forecaster.intervals import calibrate_panel, series_scale

        out, h = self.config.output, self.config.window.horizon
        log_of = self.panel_scalers_.log[:, 0]
        raw, g = self._panel_targets(layout, used)
        unit = np.array([series_scale(g_of(m.target_values[: int(e)], lg)) for m, e, lg in zip(used, layout.train_ends, log_of)])
        pos = np.arange(len(val_o), dtype=np.int64)
        series, origins = val_o.series_of(pos), val_o.take(pos)
        # Each series' calibration origins in its own rows (read by a panel backtest's baseline interval).
        starts = layout.starts
        self.series_calibration_origins_ = {
            sid: origins[series == i] - starts[i] for i, sid in enumerate(layout.ids)
        }
        parts = self._panel_interval_inputs(view, origins, series, g)
        cal = calibrate_panel(
            out.conformal, out.intervals, raw[origins[:, None] + np.arange(h)], parts["point"], series=series,
            log=log_of[series], unit=unit,
            source=f"{len(origins)} validation windows of {int(np.count_nonzero(val_o.counts))} series, targets "
                   f"{self.data_['val_start']} .. {self.data_['val_end']}",
            scale=parts["scale"], quantiles=parts["quantiles"], taus=self.io_.quantiles, pool=out.pool_steps,
        )
        if cal.short:
            log.warning(cal.short_warning())
        return cal

    def _panel_targets(self, layout, used: list, *, g: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """The original-units target in the buffer's layout (padding: the first value) and, when ``g``, its ``g``
        (log or not, per series; None otherwise)."""
        raw = np.concatenate([np.concatenate([np.repeat(m.target_values[:1], layout.pad), m.target_values]) for m in used])
        if not g:
            return raw, None
        log_of = self.panel_scalers_.log[: len(used), 0]
        return raw, (g_of(raw, np.repeat(log_of, layout.lengths + layout.pad)) if log_of.any() else raw)

    def _panel_interval_inputs(self, view: WindowView, origins: np.ndarray, series: np.ndarray,
                               g_target: np.ndarray) -> dict[str, Any]:
        """Point and quantile forecasts of buffer-row ``origins`` and each window's local scale (``g`` units)."""
        from forecaster.intervals import local_scale

        point, quantiles = self._point_and_quantiles(self._panel_predict(view, origins, series, quantiles=True))
        return {"point": point, "quantiles": quantiles, "series": np.asarray(series, dtype=np.int64),
                "scale": local_scale(g_target, origins, self.config.window.lookback)}

    def _panel_interval_frame(self, parts: dict[str, Any]) -> dict[str, np.ndarray]:
        """Quantile and interval columns of panel forecasts (the names of :meth:`_interval_frame`)."""
        cal = getattr(self, "calibration_", None)
        bounds = {} if cal is None else cal.panel_bounds(
            parts["point"], series=parts["series"], log=self.panel_scalers_.log[parts["series"], 0],
            scale=parts["scale"], quantiles=parts["quantiles"])
        return self._quantile_interval_columns(parts["quantiles"], bounds)

    def _panel_validation(self, view: WindowView, layout, used: list, val_o, *, weights: tuple[float, ...] | None = None):
        """Mean over series of sMAPE and MASE on the validation windows: the model beside naive and seasonal naive.

        Scored a chunk of windows at a time into per-series sums, so memory does not grow with windows x horizon.
        ``weights``: a list of such scores instead, one for each of these Theta weights (see :meth:`_panel_predict`),
        from one pass of the network.
        """
        from forecaster.evaluation.metrics import seasonal_naive_scale

        h, season = self.config.window.horizon, self.config.window.season or 1
        n_series = len(used)
        # Original-units target in the buffer's layout (padding: the first value), for actuals and baselines.
        raw = self._panel_targets(layout, used, g=False)[0]
        k = np.arange(h)
        models = ["model"] if weights is None else [f"model_{i}" for i in range(len(weights))]
        names = models + ["naive"] + (["seasonal_naive"] if 1 < season <= self.config.window.lookback else [])
        abs_sum = {n: np.zeros(n_series) for n in names}
        smape_sum = {n: np.zeros(n_series) for n in names}
        for lo in range(0, len(val_o), 16 * PREDICT_CHUNK):
            pos = np.arange(lo, min(lo + 16 * PREDICT_CHUNK, len(val_o)), dtype=np.int64)
            series, origins = val_o.series_of(pos), val_o.take(pos)
            actual = raw[origins[:, None] + k]
            fitted = self._panel_predict(view, origins, series, weights=weights)
            fitted = dict(zip(models, [fitted] if weights is None else fitted))
            for name in names:
                if name in fitted:
                    f = fitted[name]
                elif name == "naive":
                    f = raw[origins - 1][:, None]
                else:
                    f = raw[origins[:, None] - season + k % season]
                err = np.abs(f - actual)
                denom = np.abs(f) + np.abs(actual)
                sm = np.divide(2 * err, denom, out=np.zeros_like(err), where=denom > 0)
                abs_sum[name] += np.bincount(series, weights=err.sum(axis=1), minlength=n_series)
                smape_sum[name] += np.bincount(series, weights=sm.sum(axis=1), minlength=n_series)
        scales = np.array([
            seasonal_naive_scale(m.target_values[: int(e)], season if season < int(e) else 1) for m, e in zip(used, layout.train_ends)
        ])
        scales = np.where(scales > 0, scales, np.nan)
        counts = val_o.counts * h
        seen = counts > 0
        means: dict[str, Any] = {}
        for name in names:
            mae = abs_sum[name][seen] / counts[seen]
            mase = mae / scales[seen]
            means[name] = (float(np.mean(100 * smape_sum[name][seen] / counts[seen])),
                           float(np.nanmean(mase)) if np.isfinite(mase).any() else float("nan"))
        baselines = names[len(models):]
        best = min(baselines, key=lambda n: means[n][1] if np.isfinite(means[n][1]) else np.inf)
        reports = []
        for model in models:
            out: dict[str, Any] = {"val_smape": means[model][0], "val_mase": means[model][1]}
            for name in baselines:
                out[f"{name}_val_smape"], out[f"{name}_val_mase"] = means[name]
            out["best_baseline"] = best
            out["beats_best_baseline"] = bool(out["val_mase"] < out[f"{best}_val_mase"])
            reports.append(out)
        return reports[0] if weights is None else reports

    def _panel_rows(self, windows: np.ndarray, last_times: list, index: list[int],
                    first: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, list]:
        """The scaled buffer of each series' last window plus ``horizon`` future rows, its origins and future indexes;
        ``first``: each segment's first grid ordinal, for the seasonal adjustment (None: none)."""
        lookback, horizon = self.config.window.lookback, self.config.window.horizon
        n_cols = windows.shape[2]
        seg = lookback + horizon
        buf = np.empty((len(index) * seg, n_cols), dtype=np.float32)
        futures = []
        for j, (i, tail, t) in enumerate(zip(index, windows, last_times)):
            fidx = self._future_index(t, horizon)
            futures.append(fidx)
            rows = self._adjusted(np.vstack([tail, np.repeat(tail[-1:], horizon, axis=0)]), i, first, j)
            if self.io_.n_future:
                rows[lookback:, n_cols - self.io_.n_future :] = self._calendar_values(fidx)
            z = self.panel_scalers_.transform_values(i, rows)
            z[lookback:, : n_cols - self.io_.n_future] = 0.0  # unknown future values are never read
            buf[j * seg : (j + 1) * seg] = z
        origins = np.arange(len(index), dtype=np.int64) * seg + lookback
        return buf, origins, futures, np.repeat(np.asarray(index, dtype=np.int32), seg)

    def _static_input(self, members: list[Series] | None = None, index: list[int] | None = None) -> np.ndarray | None:
        """The standardised static vector of every fitted series, ``(len(ids_), n_static)`` (None: the model takes none).

        ``members`` (new data of the series at positions ``index``) replace the stored values of those series.
        """
        if not self.io_.n_static:
            return None
        values = self.static_values_.copy()
        if members is not None:
            from forecaster.panel import static_matrix

            values[np.asarray(index, dtype=np.int64)] = static_matrix(members, self.static_features_)
        return self.static_scaler_.transform(values)

    def _panel_members(self, data, series: list[str] | None = None) -> list[Series]:
        """The members of new panel data, validated with the fitted roles, each one a fitted series."""
        d = self.config.data
        ts = as_timeseries(
            data, target=None if d.targets else self.target_, features=self.features_, time_col=d.time_col,
            missing=d.missing, id_col=d.id_col, targets=d.targets, static_features=d.static_features,
        )
        members = list(ts.members)
        if self.static_features_:
            # Every series carries the model's static columns, no fewer and no more. (A model without static
            # inputs, e.g. a run saved before they were inputs, ignores any it is given.)
            from forecaster.panel import static_matrix

            static_matrix(members, self.static_features_)
        unknown = [m.id for m in members if m.id not in self.ids_]
        if unknown and series is None:
            members = [m for m in members if m.id in self.ids_]
            log.warning("Series not in the model (skipped at fit or new) are not forecast: %s", ", ".join(unknown[:10]))
        if self.calendar_:
            members = [self._with_own_calendar(m) for m in members]
        return members

    def select_series(self, series: str | list[str] | tuple[str, ...] | None) -> list[str]:
        """The ids asked for (all when None); an unknown id is a DataError naming the known ones."""
        self._check_fitted()
        if series is None:
            return list(self.ids_)
        wanted = [series] if isinstance(series, str) else list(series)
        known = set(self.ids_)
        bad = [s for s in wanted if s not in known]
        if bad:
            skipped = [s for s in bad if s in getattr(self, "skipped_", {})]
            why = f" ({skipped[0]!r} was skipped at fit: {self.skipped_[skipped[0]]})" if skipped else ""
            raise DataError(
                f"Unknown series {', '.join(map(repr, bad))}{why}. Series of this model: "
                f"{', '.join(self.ids_[:10])}{' ...' if len(self.ids_) > 10 else ''}"
            )
        return wanted

    def _predict_panel(self, data=None, series=None) -> pd.DataFrame:
        lookback = self.config.window.lookback
        wanted = self.select_series(series)
        pos = {sid: i for i, sid in enumerate(self.ids_)}
        theta_end = None
        if data is None:
            index = [pos[s] for s in wanted]
            windows = self.last_windows_[index]
            times = [self.last_times_[i] for i in index]
            static = self._static_input()
            if getattr(self, "theta_", None) is not None:
                theta_end = self.theta_["end"][index]
        else:
            members = {m.id: m for m in self._panel_members(data, series)}
            missing = [s for s in wanted if s not in members] if series is not None else []
            if missing:
                raise DataError(f"The data holds no series {', '.join(map(repr, missing))}.")
            wanted = [s for s in wanted if s in members]
            index = [pos[s] for s in wanted]
            for s in wanted:
                if members[s].columns != self.columns_:
                    raise DataError(
                        f"Series {s!r} has columns ({', '.join(members[s].columns)}); the model's are "
                        f"({', '.join(self.columns_)})."
                    )
            windows = np.stack([_pad_rows(members[s].values, lookback) for s in wanted])
            times = [members[s].index[-1] for s in wanted]
            static = self._static_input([members[s] for s in wanted], index)
            if getattr(self, "theta_", None) is not None:  # the Theta state after each series' whole given history
                theta_end = self._theta_ends([members[s] for s in wanted], index)
        last = self._ordinals(times)
        first = None if last is None else last - (lookback - 1)
        buf, origins, futures, rows_of = self._panel_rows(windows, times, index, first)
        view = self._view(buf, self.io_, self.config, rows_of, static, self._series_base_arrays())
        self._place_seasons(view, first, [lookback + self.config.window.horizon] * len(index), 0)
        if theta_end is not None:  # the origins ascend with the series: one per segment
            view.theta = (np.asarray(origins, dtype=np.int64), np.asarray(theta_end, dtype=np.float64))
        h = self.config.window.horizon
        extra: dict[str, np.ndarray] = {}
        if self.io_.quantiles or getattr(self, "calibration_", None) is not None:
            # Each series' observed window in original units, the buffer's layout (the rows after it are not read).
            observed = np.concatenate([windows[:, :, 0], np.repeat(windows[:, -1:, 0], h, axis=1)], axis=1)
            g = g_of(observed, self.panel_scalers_.log[index, 0][:, None]).reshape(-1)
            parts = self._panel_interval_inputs(view, origins, np.asarray(index), g)
            forecast = parts["point"]
            extra = {k: v.reshape(-1) for k, v in self._panel_interval_frame(parts).items()}
        else:
            forecast = self._panel_predict(view, origins, np.asarray(index))
        if not np.isfinite(forecast).all() or not all(np.isfinite(v).all() for v in extra.values()):
            raise TrainingError("The model produced non-finite forecasts. Refit with a lower --learning-rate.")
        return pd.DataFrame({
            "id": np.repeat(np.asarray(wanted, dtype=object), h),
            "timestamp": np.concatenate([f.to_numpy() for f in futures]),
            "value": forecast.reshape(-1),
            **extra,
        })

    def predict_panel_origins(self, data, origins: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Forecasts at many origins (rows of each series) of many series in one batched pass.

        Args:
            data: the panel (DataFrame with an id column, or what :func:`forecaster.read_csv` returns).
            origins: series id -> origins (row numbers, each ``>= 1`` and at most ``len - horizon``
                with known-future columns, else ``len``): inputs are the rows before each origin,
                edge-padded when fewer than ``lookback``.

        Returns:
            series id -> ``(len(origins), horizon)`` forecasts in original units.
        """
        return {s: cols["point"] for s, cols in self.predict_panel_intervals(data, origins, columns=False).items()}

    def predict_panel_intervals(self, data, origins: dict[str, np.ndarray], *,
                                columns: bool = True, with_scale: bool = False) -> dict[str, dict[str, np.ndarray]]:
        """:meth:`predict_panel_origins` with the quantile and interval columns that ``predict()`` adds.

        Returns:
            series id -> ``{"point": (n, horizon), "q0.1": ..., "lower_80": ..., "upper_80": ...}``; with
            ``with_scale`` also ``"scale"``: each window's local scale in ``g`` units (a rolling calibration's).
        """
        self._check_fitted()
        self.select_series(list(origins))
        members = {m.id: m for m in self._panel_members(data, list(origins))}
        pos = {sid: i for i, sid in enumerate(self.ids_)}
        pad = self.config.window.lookback - 1
        ids = list(origins)
        missing = [s for s in ids if s not in members]
        if missing:
            raise DataError(f"The data holds no series {', '.join(map(repr, missing))}.")
        from forecaster.panel import panel_buffer

        values = [members[s].values for s in ids]
        index = [pos[s] for s in ids]
        first = self._ordinals([members[s].index[0] for s in ids])
        buf = panel_buffer([self._adjusted(v, i, first, j) for j, (v, i) in enumerate(zip(values, index))],
                           self.panel_scalers_, pad, index)
        starts = np.concatenate([[0], np.cumsum([len(v) + pad for v in values])[:-1]]).astype(np.int64) + pad
        flat, which = [], []
        last_ok = self.config.window.horizon if self.io_.n_future else 0
        for j, s in enumerate(ids):
            o = np.asarray(origins[s], dtype=np.int64)
            if len(o) and (o.min() < 1 or o.max() > len(values[j]) - last_ok):
                raise DataError(f"Origins of series {s!r} must lie in [1, {len(values[j]) - last_ok}].")
            flat.append(starts[j] + o)
            which.append(np.full(len(o), index[j], dtype=np.int64))
        flat_o, flat_s = np.concatenate(flat), np.concatenate(which)
        rows_of = np.repeat(np.asarray(index, dtype=np.int32), [len(v) + pad for v in values])
        static = self._static_input([members[s] for s in ids], index)
        view = self._view(buf, self.io_, self.config, rows_of, static, self._series_base_arrays())
        self._place_seasons(view, first, [len(v) for v in values], pad)
        self._theta_state(view, buf, [len(v) for v in values], pad, index, flat_o)
        if columns and (self.io_.quantiles or getattr(self, "calibration_", None) is not None):
            raw = np.concatenate([np.concatenate([np.repeat(v[:1, 0], pad), v[:, 0]]) for v in values])
            g = g_of(raw, np.repeat(self.panel_scalers_.log[index, 0], [len(v) + pad for v in values]))
            parts = self._panel_interval_inputs(view, flat_o, flat_s, g)
            out = {"point": parts["point"], **self._panel_interval_frame(parts),
                   **({"scale": parts["scale"]} if with_scale else {})}
        else:
            out = {"point": self._panel_predict(view, flat_o, flat_s)}
        result, lo = {}, 0
        for s in ids:
            n = len(origins[s])
            result[s] = {k: v[lo : lo + n] for k, v in out.items()}
            lo += n
        return result

    def _save_panel(self, path: Path) -> None:
        """Per-series state of a panel model as plain arrays (``numpy.savez``, loaded with ``allow_pickle=False``)."""
        sc = self.panel_scalers_
        with open(path, "wb") as fh:
            np.savez(
                fh, ids=np.asarray(self.ids_, dtype=str), log=sc.log, center=sc.center, scale=sc.scale,
                last_windows=self.last_windows_,
                last_times=np.asarray([t.value for t in self.last_times_], dtype=np.int64),
                **({"static": self.static_values_} if self.io_.n_static else {}),
                **({"series_base": self.series_bases_[1]} if getattr(self, "series_bases_", None) else {}),
                **({"seasonal": self.seasonal_} if getattr(self, "seasonal_", None) is not None else {}),
                **({"theta_alpha": self.theta_["alpha"], "theta_end": self.theta_["end"]}
                   if getattr(self, "theta_", None) is not None else {}),
                **({"theta_ets": self.theta_["ets"]}
                   if getattr(self, "theta_", None) is not None and self.theta_.get("ets") is not None else {}),
            )
            fh.flush()
            os.fsync(fh.fileno())


    def _load_panel(self, manifest: dict[str, Any], run: Path) -> None:
        """Read ``panel.npz`` strictly: shapes, finiteness and ids must match the manifest."""
        from forecaster.panel import PanelScalers, StaticScaler

        info = manifest["panel"]
        path = run / PANEL_FILE
        n_static = self.io_.n_static
        base_names = info.get("series_bases")
        deseason = self.config.data.deseason == "on"
        theta = self.config.output.combine == "theta"  # a run saved before the combination existed: "auto", none
        keys = ("ids", "log", "center", "scale", "last_windows", "last_times", *(("static",) if n_static else ()),
                *(("series_base",) if base_names else ()), *(("seasonal",) if deseason else ()),
                *(("theta_alpha", "theta_end") if theta else ()))
        try:
            with np.load(path, allow_pickle=False) as z:
                # The smoothing model's parameters: runs saved before it combine with Theta alone.
                arrays = {k: z[k] for k in (*keys, *(("theta_ets",) if theta and "theta_ets" in z.files else ()))}
        except FileNotFoundError:
            raise ArtifactError(f"{path} is missing; {run} is not a complete panel run.") from None
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"Cannot read {path}: {exc}") from None
        n, cols, lookback = len(arrays["ids"]), len(self.columns_), self.config.window.lookback
        shapes = {"log": (n, cols), "center": (n, cols), "scale": (n, cols), "last_windows": (n, lookback, cols),
                  "last_times": (n,), **({"static": (n, n_static)} if n_static else {}),
                  **({"series_base": (n,)} if base_names else {}),
                  **({"seasonal": (n, self.config.window.season or 1)} if deseason else {}),
                  **({"theta_alpha": (n,), "theta_end": (n, 5 if "theta_ets" in arrays else 3)} if theta else {}),
                  **({"theta_ets": (n, 4)} if "theta_ets" in arrays else {})}
        bad = [k for k, shape in shapes.items() if arrays[k].shape != shape]
        if bad or n != info.get("series") or arrays["ids"].dtype.kind != "U":
            raise ArtifactError(f"{path} does not match its manifest ({', '.join(bad) or 'ids'}).")
        if not (np.isfinite(arrays["center"]).all() and np.isfinite(arrays["scale"]).all() and (arrays["scale"] > 0).all()
                and np.isfinite(arrays["last_windows"]).all() and np.isfinite(arrays.get("static", 0.0)).all()
                and np.isfinite(arrays.get("seasonal", 1.0)).all() and (np.asarray(arrays.get("seasonal", 1.0)) > 0).all()):
            raise ArtifactError(f"{path}: scaler parameters, last windows, static values and seasonal indices must be "
                                "finite (scales and indices > 0).")
        if theta and not (np.isfinite(arrays["theta_end"]).all() and (arrays["theta_alpha"] > 0).all()
                          and (arrays["theta_alpha"] <= 1).all() and ets_valid(arrays.get("theta_ets"))):
            raise ArtifactError(f"{path}: the Theta states must be finite, the smoothing weights in (0, 1] and the "
                                "exponential-smoothing parameters valid.")
        self.static_features_, self.static_scaler_, self.static_values_ = [], None, None
        if n_static:
            try:
                self.static_scaler_ = StaticScaler.from_dict(info["static"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ArtifactError(f"{run / MANIFEST_FILE}: the panel's `static` entry is malformed ({exc}).") from None
            self.static_features_ = list(self.static_scaler_.names)
            self.static_values_ = arrays["static"].astype(np.float64)
        cfg = self.config.data
        self.panel_scalers_ = PanelScalers(
            transform=cfg.transform, normalization=cfg.normalization, columns=list(self.columns_),
            log=arrays["log"].astype(bool), center=arrays["center"].astype(np.float64), scale=arrays["scale"].astype(np.float64),
        )
        self.ids_ = [str(i) for i in arrays["ids"]]
        self.seasonal_ = arrays["seasonal"].astype(np.float64) if deseason else None
        self.theta_ = ({"alpha": arrays["theta_alpha"].astype(np.float64), "end": arrays["theta_end"].astype(np.float64),
                        "ets": arrays["theta_ets"].astype(np.float64) if "theta_ets" in arrays else None,
                        "weight": self.config.output.theta_weight if self.config.output.theta_weight is not None else 0.5}
                       if theta else None)
        self.series_bases_ = None
        if base_names:
            choice = arrays["series_base"]
            if (not isinstance(base_names, list) or choice.dtype.kind not in "iu"
                    or (n and (choice.min() < 0 or choice.max() >= len(base_names)))):
                raise ArtifactError(f"{path}: the per-series bases do not match the manifest's `series_bases`.")
            self.series_bases_ = ([str(b) for b in base_names], choice.astype(np.int64))
            try:
                self._series_base_arrays()
            except (DataError, ConfigError) as exc:
                raise ArtifactError(f"{run / MANIFEST_FILE}: `series_bases` {base_names}: {exc}") from None
        self.skipped_ = {str(k): str(v) for k, v in dict(info.get("skipped", {})).items()}
        self.id_col_ = str(info.get("id_col", "id"))
        self.last_windows_ = arrays["last_windows"].astype(np.float64)
        self.last_times_ = [pd.Timestamp(int(t)) for t in arrays["last_times"]]
        self.last_window_, self.last_time_ = None, max(self.last_times_)

    # -------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("This Forecaster instance is not fitted yet. Call 'fit' with a series first.")

    def _predict_batch(self, inputs):
        """One model call. A model loaded on the NumPy inference backend before this process switched
        backend (to train) is loaded again from its run directory first: its objects belong to the old Keras."""
        loaded_on = getattr(self, "model_backend_", None)
        if loaded_on not in (None, NUMPY_GRAPH) and loaded_on != backend_name() and getattr(self, "run_dir_", None):
            self.model_ = _load_keras_model(Path(self.run_dir_) / MODEL_FILE)
            self.model_backend_ = backend_name()
        return self.model_.predict_on_batch(inputs)

    def _predict_view(self, view: WindowView, origins: np.ndarray | range, *, quantiles: bool = False,
                      weights: tuple[float, ...] | None = None):
        """Forecast many origins at once, in original units: ``(len(origins), horizon)``.

        A quantile head's point forecast is its median; ``quantiles=True`` returns every
        quantile, ``(len(origins), horizon, Q)``. Quantiles map back through the scaler's
        monotone inverse, so they stay ordered and exact in original units.
        With a Theta combination (``theta_``, states given to ``view`` by :meth:`_series_theta`) the forecast moves
        by Theta's weight times Theta's forecast less the network's point forecast (quantiles all by the median's
        shift, so they stay ordered); ``weights``: a list of forecasts instead, one per Theta weight (0: the network
        alone), from one pass of the network.
        """
        taus = getattr(self.io_, "quantiles", ())
        shape = (len(origins), self.config.window.horizon, *((len(taus),) if taus else ()))
        out = np.empty(shape, dtype=np.float64)
        for lo in range(0, len(origins), PREDICT_CHUNK):
            chunk = np.asarray(origins[lo : lo + PREDICT_CHUNK])  # a range slice becomes an array here
            inputs = view.model_inputs(chunk)
            # Pad to a power-of-two batch: a compiled predict function is traced
            # once per input shape, so arbitrary sizes would retrace every call.
            size = max(32, 1 << (len(chunk) - 1).bit_length())
            if size != len(chunk):
                inputs = _pad(inputs, size)
            rel = np.asarray(self._predict_batch(inputs), dtype=np.float64)[: len(chunk)]
            if rel.ndim == len(shape) + 1:  # an ensemble: (batch, members, horizon[, Q]) -> the members' median
                rel = np.median(rel, axis=1)  # per quantile: the median of ordered vectors stays ordered
            ref = view.reference(chunk)
            out[lo : lo + len(chunk)] = self.scaler_.inverse_target(rel + (ref[..., None] if taus else ref))
        theta = getattr(self, "theta_", None)
        mixes = (None if theta is None else theta["weight"],) if weights is None else tuple(weights)
        outs = [out]
        if any(mixes):
            mid = out[..., taus.index(0.5)] if taus else out
            shift = self._series_theta_shift(view, np.asarray(origins, dtype=np.int64), mid)
            shift = shift[..., None] if taus else shift
            outs = [out + wt * shift if wt else out for wt in mixes]
        if taus and not quantiles:
            outs = [o[..., taus.index(0.5)] for o in outs]
        return outs if weights is not None else outs[0]

    def _future_index(self, last, horizon: int) -> pd.DatetimeIndex:
        """The timestamps after ``last``: the frequency's grid, or the sessions of the run's exchange calendar."""
        return future_index(last, horizon, self.freq_, getattr(self.config.data, "trading_calendar", None))

    def _calendar_values(self, index: pd.DatetimeIndex) -> np.ndarray:
        """The fitted calendar and holiday columns at ``index``, in the fitted order."""
        d = self.config.data
        return calendar_features(index, self.freq_, cycles=d.calendar, holidays=d.holidays)[self.calendar_].to_numpy()

    def _with_own_calendar(self, series: Series) -> Series:
        # The fitted calendar columns exist only at the fitted frequency: check it first.
        self._check_frequency(series)
        d = self.config.data
        return _with_calendar(series, cycles=d.calendar, holidays=d.holidays, names=self.calendar_)[0]

    def _as_series(self, data) -> Series:
        """Validate new data with the fitted roles."""
        ts = as_timeseries(
            data, target=self.target_, features=self.features_, future_features=self.future_features_,
            time_col=self.config.data.time_col, missing=self.config.data.missing,
        )
        series = _one_series(ts, "predict")
        return self._with_own_calendar(series) if self.calendar_ else series

    def _check_frequency(self, series: Series) -> None:
        if series.freq != self.freq_:
            raise DataError(
                f"The data's frequency is {series.freq!r} but the model was fitted on {self.freq_!r} data. "
                "Use data sampled like the training data."
            )

    def check_compatible(self, series: Series) -> None:
        """Raise a clear DataError if ``series`` does not match what the model was fitted on."""
        self._check_fitted()
        self._check_frequency(series)
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
            series = self._with_own_calendar(series)
        self.check_compatible(series)
        origins = np.asarray(origins, dtype=np.int64)
        last = len(series) - (self.io_.horizon if self.io_.n_future else 0)
        if len(origins) and (origins.min() < self.config.window.lookback or origins.max() > last):
            raise DataError(f"Origins must lie in [{self.config.window.lookback}, {last}].")
        view = self._view(self.scaler_.transform_values(series.values), self.io_, self.config)
        self._series_theta(view, series, origins)
        return self._predict_view(view, origins)

    def predict(self, data=None, *, future: pd.DataFrame | None = None, series=None) -> pd.DataFrame:
        """Forecast the ``horizon`` steps after the end of the data.

        Args:
            data: newer data of the same shape (DataFrame or what
                :func:`forecaster.read_csv` returns). Default: the data the
                model was fitted on (its last window is kept in the model).
            future: the known-future covariates over the next ``horizon``
                steps (a DataFrame with those columns, one row per step),
                needed only when the model has ``future_features``.

            series: a panel model only: the ids to forecast (default: all).

        Returns:
            DataFrame indexed by the future timestamps (continuing the
            series' frequency; business days for trading-day data) with one
            column, the target, in original units. For a panel model, a long
            DataFrame with the columns ``id``, ``timestamp`` and ``value``:
            every series' next horizon, from one batched pass.
        """
        self._check_fitted()
        if self.is_panel:
            if future is not None:
                raise DataError("A panel model has no known-future columns; `future` does not apply.")
            return self._predict_panel(data, series)
        if series is not None:
            raise DataError("`series` selects series of a panel model; this model forecasts one series.")
        lookback, horizon = self.config.window.lookback, self.config.window.horizon
        tail, last_time, series = self._last_observed(data)
        index = self._future_index(last_time, horizon)
        if self.fallback_ is not None:
            if self.io_.n_future and self.future_features_:
                self._future_values(future, index)  # still required, as for the model
            n_rows = self.data_["rows"] if data is None else len(series)
            forecast = self._baseline_forecast(tail[:, 0], n_rows)
            return pd.DataFrame({self.target_: forecast}, index=index)
        view = self._last_view(tail, index, future)
        self._series_theta_last(view, series)
        if self.io_.quantiles or getattr(self, "calibration_", None) is not None:
            # The observed window in original units (the repeated rows after it are not read).
            observed = np.concatenate([tail[:, 0], np.repeat(tail[-1:, 0], horizon)])
            parts = self._interval_inputs(view, np.array([lookback]), observed)
            forecast = parts["point"][0]
            extra = {k: v[0] for k, v in self._interval_frame(parts).items()}
        else:
            forecast, extra = self._predict_view(view, np.array([lookback]))[0], {}
        if not np.isfinite(forecast).all() or not all(np.isfinite(v).all() for v in extra.values()):
            raise TrainingError("The model produced non-finite forecasts. Refit with a lower --learning-rate.")
        return pd.DataFrame({self.target_: forecast, **extra}, index=index)

    def _last_observed(self, data) -> tuple[np.ndarray, pd.Timestamp, Series | None]:
        """The last ``lookback`` rows, the last timestamp and the validated series (None: the stored window)."""
        if data is None:
            if self.last_window_ is None:
                raise DataError("This run was saved without its last window (schema version 1); pass the data: predict(df).")
            return self.last_window_, self.last_time_, None
        series = self._as_series(data)
        self.check_compatible(series)
        # Only the last `lookback` rows are used.
        return series.values[len(series) - self.config.window.lookback :], series.index[-1], series

    def _last_view(self, tail: np.ndarray, index: pd.DatetimeIndex, future: pd.DataFrame | None) -> WindowView:
        """The scaled window after ``tail`` (its one origin is row ``lookback``), with the known-future rows."""
        lookback, horizon = self.config.window.lookback, self.config.window.horizon
        # Rows after the end hold only known-future values; the others repeat the last row so the
        # transform stays defined (a log of 0 would not be), and are zeroed after scaling: never read.
        rows = np.vstack([tail, np.repeat(tail[-1:], horizon, axis=0)])
        if self.io_.n_future:
            known = [self._calendar_values(index)] if self.calendar_ else []
            if self.future_features_:
                known.insert(0, self._future_values(future, index))
            rows[lookback:, tail.shape[1] - self.io_.n_future :] = np.hstack(known)
        z = self.scaler_.transform_values(rows)
        z[lookback:, : tail.shape[1] - self.io_.n_future] = 0.0  # unknown future values are never read
        return self._view(z, self.io_, self.config)

    def attention(self, data=None, *, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """The attention weights behind the next forecast (``model="attention"`` only).

        Returns:
            DataFrame ``(horizon, lookback)``: one row per forecast timestamp,
            one column per lookback step (``-(lookback - 1) .. 0``, rows before
            the last observed one, ``0``); each row sums to 1. Of an
            ensemble, the first member's.
        """
        from forecaster.models import attention_weights

        self._check_fitted()
        if self.is_panel:
            raise DataError("Attention weights are drawn for a model of one series.")
        lookback, horizon = self.config.window.lookback, self.config.window.horizon
        tail, last_time, _ = self._last_observed(data)
        index = self._future_index(last_time, horizon)
        view = self._last_view(tail, index, future)
        weights = attention_weights(self.model_, self.config, self.io_, view.model_inputs(np.array([lookback])))[0]
        return pd.DataFrame(weights, index=index, columns=pd.RangeIndex(-(lookback - 1), 1, name="lookback step"))

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

        import keras

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
            **({"theta": _theta_manifest(self.theta_)} if not self.is_panel and getattr(self, "theta_", None) else {}),
            "series_id": self.series_id_,
            "frequency": self.freq_,
            "kind": self.kind_,
            "time_col": self.time_col_,
            "data": dict(self.data_),
            "last_window": {
                "end": self.last_time_.isoformat(),
                "values": self.last_window_.tolist() if self.last_window_ is not None else [],
            },
            "metrics": dict(self.metrics_),
            **({"intervals": self.calibration_.to_dict()} if getattr(self, "calibration_", None) is not None else {}),
            "versions": versions,
            "seed": self.config.train.seed,
            **({"panel": {
                "file": PANEL_FILE, "series": len(self.ids_), "id_col": self.id_col_, "skipped": dict(self.skipped_),
                # The static columns' standardisation (fitted over the training series); their values are in panel.npz.
                **({"static": self.static_scaler_.to_dict()} if self.io_.n_static else {}),
                # Each series' own base: the candidates' names here, one index per series in panel.npz.
                **({"series_bases": list(self.series_bases_[0])} if getattr(self, "series_bases_", None) else {}),
            }} if self.is_panel else {}),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the run directory atomically and return its final path.

        The files are written into a temporary sibling directory, then renamed
        to ``path``. If ``path`` exists already, ``-2``, ``-3``, ... is appended:
        a finished run is never overwritten.
        """
        self._check_fitted()

        def write(tmp: Path) -> None:
            from forecaster.inference import WEIGHTS_FILE, export_weights

            if getattr(self, "model_backend_", None) == NUMPY_GRAPH:  # loaded without Keras: the same files again
                import shutil

                for name in (MODEL_FILE, WEIGHTS_FILE):
                    shutil.copyfile(Path(self.run_dir_) / name, tmp / name)
            else:
                with runtime.tensorflow_unneeded():  # Keras would import TensorFlow to serialise a JAX model
                    self.model_.save(tmp / MODEL_FILE)
                export_weights(self.model_, tmp / WEIGHTS_FILE)
            if self.is_panel:
                self._save_panel(tmp / PANEL_FILE)
            pd.DataFrame(self.history_).rename_axis("epoch").rename(lambda i: i + 1).to_csv(tmp / HISTORY_FILE)
            write_json(tmp / MANIFEST_FILE, self.manifest())

        return write_run_dir(Path(path), write)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Forecaster":
        """Load a run directory saved by :meth:`save` (``safe_mode=True``: no code runs).

        In a process that has not imported Keras yet, the network is read by
        forecaster's NumPy graph (:mod:`forecaster.inference`; ``model_`` is
        then a :class:`~forecaster.inference.NumpyModel`) and neither Keras nor
        TensorFlow is imported; a model it does not compute loads with Keras'
        NumPy backend, else TensorFlow (with a note). Where Keras is already
        imported, or with ``FORECASTER_INFERENCE=default``, ``model_`` is the
        ``keras.Model`` on the configured backend. A later ``fit`` in the same
        process works either way (see :func:`forecaster.runtime.leave_inference_backend`).
        """
        run = Path(path)
        manifest = read_manifest(run)
        fc = cls(ForecastConfig.from_dict(manifest["config"], stored=True))

        future = list(manifest.get("future_features", []))
        calendar = list(manifest.get("calendar", []))
        n_cols = 1 + len(manifest["features"]) + len(future) + len(calendar)
        embedding = fc.config.model.series_embedding if "panel" in manifest else 0
        # Static model inputs (panels): the columns of the manifest's panel entry; runs saved before have none.
        static = manifest["panel"].get("static") if "panel" in manifest else None
        n_static = len(static.get("features", ())) if isinstance(static, dict) else 0
        fc.io_ = IOSpec(
            lookback=fc.config.window.lookback, horizon=fc.config.window.horizon, n_past=n_cols,
            n_future=len(future) + len(calendar), output=fc.config.output.type,
            members=fc.config.train.ensemble or 1,
            n_series=int(manifest["panel"].get("series", 0)) if embedding else 0, embedding=embedding,
            n_static=n_static, quantiles=fc.config.output.head_quantiles,
        )
        if "io" in manifest and manifest["io"] != fc.io_.to_dict():
            raise ArtifactError(f"{run / MANIFEST_FILE}: `io` {manifest['io']} does not match its config and columns.")
        fc.model_, fc.model_backend_ = _load_for_prediction(run)
        _check_model_shapes(fc.model_, fc.io_, run / MODEL_FILE)
        _check_model_architecture(fc.model_, fc.config, fc.io_, run / MODEL_FILE)
        fc.scaler_ = SeriesScaler.from_dict(manifest["scaler"])
        fc.ids_ = fc.series_bases_ = None
        fc.static_features_, fc.static_scaler_, fc.static_values_ = [], None, None
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
        fc.calibration_ = None
        if fc.config.output.intervals:
            from forecaster.intervals import Calibration

            if "intervals" not in manifest:
                raise ArtifactError(f"{run / MANIFEST_FILE}: the config asks for intervals but the run stores none.")
            fc.calibration_ = Calibration.from_dict(manifest["intervals"], fc.config.window.horizon)
        if "panel" in manifest:
            fc._load_panel(manifest, run)
            cal = fc.calibration_
            if cal is not None and (cal.series_scale is None or len(cal.series_scale) != len(fc.ids_)):
                raise ArtifactError(f"{run / MANIFEST_FILE}: the panel's `intervals` entry needs one series scale per series.")
        else:
            _load_last_window(fc, manifest, run)
            fc.theta_ = _theta_from_manifest(manifest, fc.config, run) if fc.config.output.combine == "theta" else None
        if fc.theta_ is not None and fc.theta_["ets"] is None:
            fc.config = fc.config.replace(combine_ets="off")  # saved before the smoothing member: Theta alone
        fc.history_ = _read_history(run / HISTORY_FILE)
        fc.run_dir_ = run
        return fc


def load(path: str | os.PathLike[str]) -> Forecaster:
    """Load a saved run directory: ``forecaster.load("runs/latest").predict()``."""
    return Forecaster.load(path)


# ----------------------------------------------------------------------------
def _theta_forecast(view: WindowView, origins: np.ndarray, alpha: np.ndarray, horizon: int,
                    ets: np.ndarray | None = None) -> np.ndarray:
    """``(len(origins), horizon)`` statistical forecasts from the states ``view.theta`` holds at those origin rows
    (``(sorted rows, states)``, see :mod:`forecaster.theta`), smoothed with ``alpha`` per origin: Theta's, or with
    ``ets`` parameters per origin the mean of Theta's and the exponential-smoothing forecast."""
    from forecaster.theta import member_forecast

    rows, states = view.theta
    pos = np.minimum(np.searchsorted(rows, origins), len(rows) - 1)
    if not np.array_equal(rows[pos], origins):
        raise ValueError("A Theta state was asked for an origin it was not computed for.")
    return member_forecast(states[pos], alpha, ets, horizon)


def _theta_manifest(theta: dict[str, Any]) -> dict[str, Any]:
    """One series' Theta combination as manifest JSON: smoothing and combination weights, the state after the last
    fitted row and the seasonal indices (null: not adjusted)."""
    indices, ets = theta["indices"], theta.get("ets")
    return {"alpha": float(theta["alpha"]), "weight": float(theta["weight"]),
            "end": [float(v) for v in theta["end"]], "indices": None if indices is None else [float(v) for v in indices],
            **({"ets": [float(v) for v in ets]} if ets is not None else {})}


def _theta_from_manifest(manifest: dict[str, Any], config: ForecastConfig, run: Path) -> dict[str, Any]:
    """Read a one-series run's ``theta`` entry strictly (see :func:`_theta_manifest`)."""
    entry = manifest.get("theta")
    where = f"{run / MANIFEST_FILE}: `theta`"
    if not isinstance(entry, dict):
        raise ArtifactError(f"{where} is missing; the config combines with Theta.")
    try:
        alpha, weight = float(entry["alpha"]), float(entry["weight"])
        end = np.asarray(entry["end"], dtype=np.float64)
        indices = None if entry["indices"] is None else np.asarray(entry["indices"], dtype=np.float64)
        # Runs saved before the exponential-smoothing member combine with Theta alone.
        ets = np.asarray(entry["ets"], dtype=np.float64) if "ets" in entry else None
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{where} is malformed ({exc}).") from None
    season = config.window.season or 1
    width = 3 if ets is None else 5
    if not (0 < alpha <= 1 and 0 < weight < 1 and end.shape == (width,) and np.isfinite(end).all()
            and (ets is None or (ets.shape == (4,) and ets_valid(ets[None])))
            and (indices is None or (indices.shape == (season,) and np.isfinite(indices).all() and (indices > 0).all()))):
        raise ArtifactError(f"{where} must hold alpha in (0, 1], weight in (0, 1), a finite {width}-number end state, "
                            f"{'valid exponential-smoothing parameters, ' if ets is not None else ''}"
                            f"and null or {season} positive seasonal indices.")
    return {"alpha": alpha, "weight": weight, "end": end, "indices": indices, "ets": ets}


def _one_series(ts: TimeSeries, what: str) -> Series:
    if len(ts) != 1:
        raise DataError(
            f"The data holds {len(ts)} series ({', '.join(ts.ids[:3])}{', ...' if len(ts) > 3 else ''}); "
            f"`{what}` trains and forecasts one series per model. Select one with ts[id]."
        )
    return ts.members[0]


class _PanelSplit:
    """The training and validation origins of a panel, as :func:`forecaster.training.train` reads a split."""

    def __init__(self, train_origins, val_origins) -> None:
        self.train_origins, self.val_origins = train_origins, val_origins


def g_of(x: np.ndarray, log: np.ndarray | bool) -> np.ndarray:
    """The interval transform ``g`` of target values: the log where ``log`` (a flag per row or one flag), else the values."""
    x = np.asarray(x, dtype=np.float64)
    log = np.broadcast_to(np.asarray(log, dtype=bool), x.shape)
    return np.where(log, np.log(np.maximum(np.where(log, x, 1.0), 1e-300)), x)


def _pad_rows(values: np.ndarray, rows: int) -> np.ndarray:
    from forecaster.panel import pad_rows

    return pad_rows(values, rows).copy()


def _panel_fingerprint(parts: list[str]) -> str:
    import hashlib

    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _resolve_calendars(cfg: ForecastConfig, index, freq: str, *, prices: bool) -> tuple[ForecastConfig, dict]:
    """The trading calendar (``auto`` resolved) and the checked holiday codes; the choice record for ``auto``."""
    from forecaster.data.trading import check_holidays, choose

    name, why = choose(index, freq, cfg.data.trading_calendar, prices=prices)
    record = {} if why == "given" else {"trading_calendar": {"value": name, "why": why}}
    return cfg.replace(trading_calendar=name, holidays=check_holidays(cfg.data.holidays)), record


def _with_calendar(series: Series, *, cycles: bool = True, holidays=(), names=None) -> tuple[Series, tuple[str, ...]]:
    """``series`` with its calendar (and holiday) features appended as known-future columns.

    ``names``: keep these columns only, in this order (a fitted model's ``calendar_``).
    See :func:`forecaster.data.calendar.calendar_features`.
    """
    import dataclasses

    cal = calendar_features(series.index, series.freq, cycles=cycles, holidays=holidays)
    if names is not None:
        # Data of another frequency lacks some columns; check_compatible then names the frequency.
        cal = cal.reindex(columns=list(names))
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


def _warm_weights(warm_start: "Forecaster | None", cfg: ForecastConfig, io: IOSpec) -> list | None:
    """The weights of ``warm_start`` if its network has this fit's architecture, else None (logged)."""
    if warm_start is None:
        return None
    same = (getattr(warm_start, "io_", None) == io and warm_start.config.model == cfg.model
            and hasattr(getattr(warm_start, "model_", None), "get_weights"))
    if not same:
        log.info("Warm start skipped: the previous model's shapes or settings differ; this fit starts cold.")
        return None
    return warm_start.model_.get_weights()


def _training_api(cfg: ForecastConfig, tensorboard=None):
    """What fitting needs, imported on the backend that can train (leaving the NumPy inference backend)."""
    needs_tensorflow = runtime.tensorflow_required(cfg, tensorboard=tensorboard is not None)
    # Keras on the backend a fit trains on (forecaster.runtime.training_backend), unless this process has it already.
    if not runtime.leave_inference_backend(needs_tensorflow=needs_tensorflow) and "keras" not in sys.modules:
        runtime.import_backend(needs_tensorflow=needs_tensorflow)
    from forecaster.models import cudnn_issues
    from forecaster.training import train
    from forecaster.training.pipeline import scale_in_chunks

    return IOSpec, cudnn_issues, train, scale_in_chunks


def _load_keras_model(path: Path) -> "keras.Model":
    import keras

    import forecaster.models  # noqa: F401  # registers the custom objects (losses, layers) on this backend

    try:
        with runtime.tensorflow_unneeded():
            return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f"Cannot load {path} safely: {first}") from None


def _load_for_prediction(run: Path) -> tuple[Any, str]:
    """The saved model of ``run``, loaded the cheapest way that computes it exactly, and what runs it.

    In order (see :func:`forecaster.runtime.import_for_inference` for when each applies):
    forecaster's NumPy graph (:mod:`forecaster.inference`: no Keras import at all), Keras on its
    NumPy backend, Keras on the configured backend (TensorFlow).
    """
    import sys

    from forecaster.inference import WEIGHTS_FILE, NumpyModel, UnsupportedModel

    weights = run / WEIGHTS_FILE
    if os.environ.get(runtime.INFERENCE_ENV, "auto") == "auto" and "keras" not in sys.modules:
        if not weights.exists():
            log.debug("%s has no %s (saved by an earlier version); loading with Keras", run, WEIGHTS_FILE)
        else:
            try:
                return NumpyModel.from_run(run / MODEL_FILE, weights), NUMPY_GRAPH
            except UnsupportedModel as exc:
                log.info("Note: forecaster's NumPy inference does not compute this model (%s); loading it with Keras.", exc)
    runtime.import_for_inference()
    return _load_inference_model(run / MODEL_FILE), backend_name()


def _load_inference_model(path: Path) -> "keras.Model":
    """Load ``path`` for prediction; on the NumPy backend, check that it runs there, else fall back.

    A model whose layers the NumPy backend cannot load or run is loaded with
    the backend a fit would train on (:func:`forecaster.runtime.training_backend`)
    instead, with a note: the forecasts are the same, only slower to start.
    """
    if not runtime.inference_only():
        return _load_keras_model(path)
    try:
        with runtime.keep_out("tensorflow"):
            model = _load_keras_model(path)
            model.predict_on_batch(_zero_inputs(model))
        return model
    except Exception as exc:  # a layer or op without a NumPy implementation
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        backend = runtime.training_backend()
        log.warning("Note: Keras' NumPy backend cannot run this model (%s); predicting with %s.", reason[:200],
                    {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}.get(backend, backend))
    runtime.leave_inference_backend()
    return _load_keras_model(path)


def _zero_inputs(model: "keras.Model"):
    """One all-zero row of each model input (the probe that the model runs on this backend)."""
    x = [np.zeros((1, *t.shape[1:]), dtype=t.dtype) for t in model.inputs]
    return tuple(x) if len(x) > 1 else x[0]


def _check_model_shapes(model: "keras.Model", io: IOSpec, path: Path) -> None:
    """A model file of other shapes than its manifest describes is refused."""
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    expected = [(None, io.lookback, io.n_past)] + ([(None, io.horizon, io.n_future)] if io.n_future else [])
    expected += [(None, 1)] if io.embedding else []
    expected += [(None, io.n_static)] if io.n_static else []
    got = [tuple(s) for s in shapes]
    output = (None, *io.output_shape) if io.members == 1 else (None, io.members, *io.output_shape)
    if got != expected or tuple(model.output_shape) != output:
        raise ArtifactError(
            f"{path} does not match its manifest (model inputs {got}, output {model.output_shape}; "
            f"manifest expects {expected} -> (None, {io.horizon}))."
        )


#: Layer settings compared between a loaded model and the one its config builds (names and initializers aside).
_ARCH_KEYS = ("units", "activation", "recurrent_activation", "return_sequences", "go_backwards", "use_bias",
              "merge_mode", "rate", "filters", "kernel_size", "num_heads", "key_dim", "axis", "dtype")


def _architecture(model: keras.Model) -> list[tuple]:
    """Each layer's class, weight shapes and the settings in :data:`_ARCH_KEYS` (also of wrapped layers)."""
    out = []
    for layer in model.layers:
        cfg = layer.get_config()
        inner = cfg.get("layer", {}).get("config", {}) if isinstance(cfg.get("layer"), dict) else {}
        settings = tuple(sorted((k, repr(c[k])) for c in (cfg, inner) for k in _ARCH_KEYS if k in c))
        out.append((type(layer).__name__, tuple(tuple(w.shape) for w in layer.weights), settings))
    return out


def _check_model_architecture(model: keras.Model, config: ForecastConfig, io: IOSpec, path: Path) -> None:
    """A model file whose layers differ from what its manifest's config builds is refused (even with equal shapes)."""
    if not hasattr(model, "layers"):  # forecaster's NumPy graph: checked without building a Keras model
        _check_graph_architecture(model, config, io, path)
        return
    from forecaster.models import build_model

    # On Keras' NumPy backend get_config() must not import TensorFlow to ask whether it is there; on JAX or
    # PyTorch it need not (runtime.tensorflow_unneeded).
    with runtime.keep_out("tensorflow") if runtime.inference_only() else runtime.tensorflow_unneeded():
        expected = _architecture(build_model(config, io))
        got = _architecture(model)
    if got != expected:
        where = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        have = got[where][0] if where < len(got) else "nothing"
        want = expected[where][0] if where < len(expected) else "nothing"
        raise ArtifactError(
            f"{path} does not match its manifest: layer {where + 1} is {have} where the config "
            f"({config.model.cell}, {config.model.layers} x {config.model.units} units) builds {want} "
            "or other settings. The run directory was altered; refit or restore it."
        )


#: ``model.cell`` -> the Keras class name of its recurrent layer.
_CELL_CLASSES = {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "SimpleRNN"}


def _check_graph_architecture(model, config: ForecastConfig, io: IOSpec, path: Path) -> None:
    """The NumPy graph's recurrent layers (cell, units, direction, count) against the manifest's config.

    The NumPy graph computes the recurrent family only (other families load with Keras
    and get the full layer-by-layer check), so these are the settings that can differ.
    """
    m = config.model
    want = (_CELL_CLASSES.get(m.cell, m.cell), m.units, bool(m.bidirectional))
    got = model.recurrent_layers()
    n = m.layers * max(io.members, 1)
    bad = next((layer for layer in got if layer != want), None)
    if m.type != "rnn" or bad is not None or len(got) != n:
        found = f"{bad[0]} ({bad[1]} units{', bidirectional' if bad[2] else ''})" if bad else f"{len(got)} recurrent layers"
        raise ArtifactError(
            f"{path} does not match its manifest: it holds {found} where the config "
            f"({m.type} {m.cell}, {n} x {m.units} units{', bidirectional' if m.bidirectional else ''}) builds "
            f"{want[0]} layers. The run directory was altered; refit or restore it."
        )


def _series_weights(origins) -> np.ndarray:
    """Per-series loss weights of ``series_weights="series"``: each series weighs the same in the loss, its windows
    sharing 1 / count, rescaled to a mean of 1 over the windows (a series without windows gets 0)."""
    counts = origins.counts.astype(np.float64)
    return np.where(counts > 0, len(origins) / (np.count_nonzero(counts) * np.maximum(counts, 1)), 0.0)


def _kept_metrics(result) -> dict[str, Any]:
    """With ``train.keep_base``, when the untrained network (its base forecast) beat every epoch: best epoch 0 and
    its validation loss."""
    if not result.kept_initial:
        return {}
    return {"best_epoch": 0, "val_loss": float(result.initial_val_loss), "kept_base": True}


def _final_metrics(result, origins) -> dict[str, Any]:
    """``final_fit`` entries of ``metrics_``: present only when a final fit on every window ran."""
    if result.final_epochs is None:
        return {}
    return {"final_fit": "all", "final_epochs": int(result.final_epochs), "final_windows": int(len(origins))}


def _warn_degenerate(n_train: int, n_val: int, stride: int, val_fraction: float) -> None:
    """Warn when a split leaves a single training or validation window: nothing to learn from or judge on."""
    if n_train < 2 or n_val < 2:
        log.warning(
            "warning: only %d training window%s and %d validation window%s (stride %d, val_fraction %g); the model "
            "is fitted or judged on almost nothing. Lower --stride or change --val-fraction.",
            n_train, "" if n_train == 1 else "s", n_val, "" if n_val == 1 else "s", stride, val_fraction,
        )


def _read_history(path: Path) -> dict[str, list[float]]:
    """A run's per-epoch history (empty when absent); a damaged or oversized file is an ArtifactError."""
    import io as _io

    from forecaster.safeio import read_regular_file

    if not path.exists() and not path.is_symlink():
        return {}
    raw = read_regular_file(path, limit="history_bytes", what="history file", error=ArtifactError)
    try:
        frame = pd.read_csv(_io.BytesIO(raw), index_col=0)
        history = {str(k): [float(v) for v in frame[k]] for k in frame.columns}
    except (ValueError, TypeError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f"{path} is damaged ({first}). Delete it (the model still loads) or refit.") from None
    return history


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
