"""Historical forecasts: fit per fold, forecast every origin, beside every baseline. No scoring.

For each fold that refits (see :mod:`forecaster.evaluation.splits`) a
brand-new ``Forecaster(config)`` is fitted on the fold's training rows
``[train_start, train_end)``: a fresh model, a fresh optimizer and a scaler
fitted on those rows only; early stopping validates on the last
``val_fraction`` of the same slice. The fitted model then forecasts every
origin it is responsible for in one batched ``predict_origins`` call (with
``refit="never"``: one fit and one call for the whole backtest). The model
never sees a row at or after the cutoff, except as the *input* window of a
forecast issued at or after it.

The baselines of :data:`forecaster.baselines.BASELINES` (naive, seasonal
naive, drift, window mean) forecast exactly the same origins.

The result is one long table, one row per (origin, step)::

    fold  cutoff               origin  step  timestamp            actual  model  naive  seasonal_naive  drift  window_mean
    1     2024-01-10 23:00:00  240     1     2024-01-11 00:00:00  19.8    20.1   19.6   19.9            19.7   20.0
    1     2024-01-10 23:00:00  240     2     2024-01-11 01:00:00  20.9    20.6   19.6   20.8            19.8   20.0

``cutoff`` is the last observed timestamp (row ``origin - 1``) and
``timestamp`` the forecast row's (row ``origin + step - 1``).

A model with a quantile head adds ``q0.1``, ``q0.5``, ... columns; with
``--interval`` levels, ``lower_80, upper_80, ...`` (each fold's model's own
conformal intervals, calibrated on its validation windows, all before the
fold's cutoff) and ``seasonal_naive_lower_80, seasonal_naive_upper_80, ...``:
the baseline interval, seasonal naive with conformal residuals on the same
calibration windows (:func:`forecaster.intervals.baseline_intervals`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecaster.baselines import BASELINES, all_baselines
from forecaster.config import ForecastConfig
from forecaster.evaluation import _series
from forecaster.evaluation.splits import (
    BacktestConfig,
    BacktestPlan,
    plan_backtest,
    stamp_format,
)
from forecaster.exceptions import TrainingError

log = logging.getLogger(__name__)

__all__ = ["FORECAST_COLUMNS", "MODEL", "HistoricalForecasts", "Progress", "historical_forecasts"]

#: Column of the model's forecasts; the baselines follow in registry order.
MODEL = "model"
FORECAST_COLUMNS = ("fold", "cutoff", "origin", "step", "timestamp", "actual", MODEL, *BASELINES)
#: Above this many fits a warning suggests --folds, --stride or --refit.
MANY_FITS = 50


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives after each event of a running backtest."""

    fold: int
    n_folds: int
    fits_done: int
    n_fits: int
    elapsed: float
    eta: float | None
    message: str


@dataclass(eq=False)
class HistoricalForecasts:
    """Forecasts of the model and every baseline on the origins of ``plan``.

    Attributes:
        plan: the folds, season and resolved configs.
        forecasts: the long table (:data:`FORECAST_COLUMNS`).
        fits: one record per fit (fold, training range, seconds, epochs, validation MAE).
        histories: the per-epoch history of each fit.
        timings: ``fit_seconds``, ``predict_seconds``, ``baseline_seconds``.
        forecaster: the last fitted forecaster.
    """

    plan: BacktestPlan
    forecasts: pd.DataFrame
    fits: list[dict[str, Any]] = field(default_factory=list)
    histories: list[dict[str, list[float]]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    forecaster: Any = field(default=None, repr=False)


def duration(seconds: float) -> str:
    """``75.2 -> '1m15s'``."""
    s = int(round(seconds))
    if s < 60:
        return f"{max(seconds, 0):.1f}s" if seconds < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def historical_forecasts(
    model: Any,
    data: Any,
    config: BacktestConfig | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    verbose: int | str = 0,
) -> HistoricalForecasts:
    """Fit per fold and forecast every origin of a backtest, with the baselines on the same origins.

    Args:
        model: a :class:`ForecastConfig`, or a ``Forecaster`` (fitted or not:
            only its ``config`` is used; every fold fits a fresh one).
        data: the series (what :func:`forecaster.data.load` returns).
        config: origins, folds and refit schedule (default: ``BacktestConfig()``).
        progress: called with a :class:`Progress` before and after each fit
            (the same lines are logged at INFO level).
        verbose: passed to ``keras.Model.fit``.

    Returns:
        A :class:`HistoricalForecasts`; score it with
        :func:`forecaster.evaluation.report.score_forecasts`.

    >>> hf = historical_forecasts(ForecastConfig(horizon=5), series, BacktestConfig(folds=5))  # doctest: +SKIP
    >>> hf.forecasts[["actual", "model", "naive"]].head()  # doctest: +SKIP
    """
    fc_config: ForecastConfig = _series.model_config(model)
    data = _series.one_series(data)
    plan = plan_backtest(data, fc_config, config if config is not None else BacktestConfig())
    folds, fc_config = plan.folds, plan.fc_config
    horizon = fc_config.window.horizon
    if plan.n_fits > MANY_FITS:
        log.warning(
            "this backtest fits %d models; use --folds, a larger --stride or --refit never/N to make it cheaper",
            plan.n_fits,
        )
    index = data.index
    origins = np.concatenate([f.origins for f in folds])
    fold_of = np.concatenate([np.full(f.n_origins, f.fold, dtype=np.int64) for f in folds])
    preds = np.full((len(origins), horizon), np.nan)
    model_of = np.zeros(len(origins), dtype=np.int64)  # which fit forecast each origin
    calibrations: list[tuple[Any, Any]] = []  # per fit: the model's and the baseline's calibration
    extra: dict[str, np.ndarray] = {}  # quantile and interval columns, filled fold by fold
    out_cfg = fc_config.output
    probabilistic = bool(out_cfg.intervals) or out_cfg.type == "quantiles"

    started = time.perf_counter()
    fit_seconds = predict_seconds = 0.0
    fits: list[dict[str, Any]] = []
    histories: list[dict[str, list[float]]] = []
    last_fc = None
    n_folds, n_fits = len(folds), plan.n_fits
    fmt = stamp_format(index)

    def stamp(row: int) -> str:
        return index[row].strftime(fmt)

    def report(fold: int, eta: float | None, message: str) -> None:
        log.info("%s", message)
        if progress is not None:
            progress(Progress(fold, n_folds, len(fits), n_fits, time.perf_counter() - started, eta, message))

    for fold in (f for f in folds if f.refit):
        served = [f for f in folds if f.model_fold == fold.fold]
        eta = None
        if fits:
            eta = (time.perf_counter() - started) / len(fits) * (n_fits - len(fits))
        report(
            fold.fold,
            eta,
            f"fold {fold.fold}/{n_folds}: fitting on {stamp(fold.train_start)} .. {stamp(fold.train_end - 1)} "
            f"({fold.n_train} rows)" + (f"; ETA {duration(eta)}" if eta is not None else ""),
        )
        t0 = time.perf_counter()
        warm = last_fc if plan.config.refit_warm else None
        fc = _series.fit(fc_config, data, fold.train_start, fold.train_end, verbose, warm_start=warm)
        t1 = time.perf_counter()
        mask = (fold_of >= served[0].fold) & (fold_of <= served[-1].fold)
        # One batched pass over every origin this model is responsible for.
        if probabilistic:
            parts = _series.predict_intervals(fc, data, origins[mask])
            pred = parts.pop("point")
            if out_cfg.intervals:
                base_cal = _baseline_calibration(fc, data, fold, plan.season)
                parts.update(_baseline_columns(base_cal, data, origins[mask], plan.season, fc.config.window.lookback))
                calibrations.append((fc.calibration_, base_cal))
                model_of[mask] = len(calibrations) - 1
            for name, values in parts.items():
                extra.setdefault(name, np.full((len(origins), horizon), np.nan))[mask] = values
        else:
            pred = _series.predict(fc, data, origins[mask])
        t2 = time.perf_counter()
        if not np.isfinite(pred).all():
            raise TrainingError(
                f"The model of fold {fold.fold} produced non-finite forecasts. Lower --learning-rate or check the data."
            )
        preds[mask] = pred
        fit_seconds += t1 - t0
        predict_seconds += t2 - t1
        m, history = _series.fit_summary(fc)
        fits.append({
            "fold": fold.fold,
            "train_start": str(index[fold.train_start]),
            "train_end": str(index[fold.train_end - 1]),
            "train_rows": fold.n_train,
            "fit_seconds": round(t1 - t0, 3),
            "predict_seconds": round(t2 - t1, 4),
            "origins": int(mask.sum()),
            **({"warm_start": bool(fc.warm_started_)} if plan.config.refit_warm else {}),
            **m,
        })
        histories.append(history)
        last_fc = fc
        remaining = n_fits - len(fits)
        eta = (time.perf_counter() - started) / len(fits) * remaining
        served_txt = f"fold {served[0].fold}" if len(served) == 1 else f"folds {served[0].fold}-{served[-1].fold}"
        report(
            fold.fold,
            eta,
            f"fold {fold.fold}/{n_folds}: fitted in {duration(t1 - t0)} ({m['epochs_run']} "
            f"epoch{'s' if m['epochs_run'] != 1 else ''}, best {m['best_epoch']}), "
            f"forecast {int(mask.sum())} origins of {served_txt} in one batch ({duration(t2 - t1)})"
            + (f"; {remaining} fit(s) left, ETA {duration(eta)}" if remaining else ""),
        )

    t0 = time.perf_counter()
    y = _series.target(data)
    base = all_baselines(y, origins, horizon, plan.season)
    baseline_seconds = time.perf_counter() - t0

    actual = y[origins[:, None] + np.arange(horizon)]
    calibration = plan.config.resolved_calibration
    if out_cfg.intervals and calibration != "validation":
        _roll(extra, calibrations, model_of, origins, actual, preds, base["seasonal_naive"], y, fc_config,
              adaptive=calibration == "adaptive")
    frame = forecast_frame(index, origins, fold_of, actual, {MODEL: preds, **base, **extra})
    return HistoricalForecasts(
        plan=plan,
        forecasts=frame,
        fits=fits,
        histories=histories,
        timings={"fit_seconds": fit_seconds, "predict_seconds": predict_seconds, "baseline_seconds": baseline_seconds},
        forecaster=last_fc,
    )


def _baseline_calibration(fc: Any, data: Any, fold: Any, season: int) -> Any:
    """The seasonal-naive conformal calibration on the fold model's own calibration windows (same method, units)."""
    from forecaster.intervals import baseline_calibration

    cfg = fc.config
    # The model's calibration origins are rows of its training slice; here they are rows of the whole series.
    cal_origins = np.asarray(fc.calibration_origins_, dtype=np.int64) + fold.train_start
    return baseline_calibration(
        _series.target(data), cal_origins, horizon=cfg.window.horizon, season=season, lookback=cfg.window.lookback,
        method=fc.calibration_.method, levels=cfg.output.intervals, log=bool(fc.calibration_.log),
        pool=fc.calibration_.pool_setting,  # pooled as the model's calibration is
        first_row=getattr(fc, "calibration_first_row_", 0) + fold.train_start,  # partial windows: the same steps
    )


def _baseline_columns(cal: Any, data: Any, origins: np.ndarray, season: int, lookback: int,
                      radius: dict | None = None) -> dict[str, np.ndarray]:
    """``seasonal_naive_lower_<level>`` / ``_upper_`` columns of the baseline interval at ``origins``."""
    from forecaster.intervals import interval_columns, local_scale, seasonal_naive

    y = _series.target(data)
    h = len(next(iter(cal.radius.values())))
    bounds = cal.bounds(seasonal_naive(y, origins, h, season), scale=local_scale(cal.g(y), origins, lookback),
                        radius=radius)
    out = {}
    for level, (lo, hi) in bounds.items():
        lo_name, hi_name = interval_columns(level)
        out[f"seasonal_naive_{lo_name}"], out[f"seasonal_naive_{hi_name}"] = lo, hi
    return out


def _roll(extra: dict[str, np.ndarray], calibrations: list, model_of: np.ndarray, origins: np.ndarray,
          actual: np.ndarray, preds: np.ndarray, snaive: np.ndarray, y: np.ndarray, cfg: ForecastConfig, *,
          adaptive: bool = False) -> None:
    """Rolling calibration: recompute every interval column with the radii of
    :func:`forecaster.intervals.rolling_radius` (calibration windows plus earlier origins observed by the cutoff),
    or with ``adaptive`` those of :func:`forecaster.intervals.adaptive_radius` (the same pools at a level that
    follows the misses observed so far)."""
    from forecaster.intervals import adaptive_radius, interval_columns, local_scale, quantile_column, rolling_radius

    radius_of = adaptive_radius if adaptive else rolling_radius
    lookback, taus = cfg.window.lookback, cfg.output.head_quantiles
    quantiles = np.stack([extra[quantile_column(t)] for t in taus], axis=-1) if taus else None
    for which, point, prefix in ((0, preds, ""), (1, snaive, "seasonal_naive_")):
        cals = [c[which] for c in calibrations]
        scale = local_scale(cals[0].g(y), origins, lookback)
        scores = {lv: np.empty_like(actual) for lv in cals[0].levels}
        for m, cal in enumerate(cals):
            sel = model_of == m
            for lv, sc in cal.score(actual[sel], point[sel], scale=scale[sel],
                                    quantiles=None if quantiles is None else quantiles[sel]).items():
                scores[lv][sel] = sc
        radius = {lv: radius_of(origins, scores[lv], [c.scores[lv] for c in cals], model_of, lv) for lv in scores}
        for m, cal in enumerate(cals):
            sel = model_of == m
            bounds = cal.bounds(point[sel], scale=scale[sel], quantiles=None if quantiles is None else quantiles[sel],
                                radius={lv: r[sel] for lv, r in radius.items()})
            for lv, (lo, hi) in bounds.items():
                lo_name, hi_name = interval_columns(lv)
                extra[prefix + lo_name][sel], extra[prefix + hi_name][sel] = lo, hi


def forecast_frame(
    index: pd.DatetimeIndex,
    origins: np.ndarray,
    fold_of: np.ndarray,
    actual: np.ndarray,
    forecasts: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Long table, one row per (origin, step), every forecaster in its own column.

    ``actual`` and each forecast are ``(len(origins), horizon)``; row ``i``,
    column ``k - 1`` is the ``k``-step forecast of row ``origins[i] + k - 1``.
    """
    horizon = actual.shape[1]
    target_rows = (origins[:, None] + np.arange(horizon)).ravel()
    frame = pd.DataFrame({
        "fold": np.repeat(fold_of, horizon),
        # Last observed timestamp when the forecast was issued (row origin - 1).
        "cutoff": np.repeat(index[origins - 1].to_numpy(), horizon),
        "origin": np.repeat(origins, horizon),
        "step": np.tile(np.arange(1, horizon + 1), len(origins)),
        "timestamp": index[target_rows].to_numpy(),
        "actual": actual.ravel(),
    })
    for name, values in forecasts.items():
        frame[name] = values.ravel()
    return frame
