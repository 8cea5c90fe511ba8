"""The backtest: historical forecasts, then their scores; one engine for the library and the CLI."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from forecaster.evaluation import _series
from forecaster.evaluation.historical import Progress, duration, historical_forecasts
from forecaster.evaluation.report import BacktestResult, score_backtest
from forecaster.evaluation.splits import BacktestConfig, fold_table

log = logging.getLogger(__name__)

__all__ = ["backtest", "run_backtest"]


def run_backtest(
    model: Any,
    series: Any,
    config: BacktestConfig | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    verbose: int | str = 0,
) -> BacktestResult:
    """Rolling-origin backtest of a recurrent forecaster beside the baselines, from a :class:`BacktestConfig`.

    :func:`historical_forecasts` (a fresh model and optimizer per refit,
    scaler on the rows before the cutoff only), then
    :func:`~forecaster.evaluation.report.score_backtest`.

    Args:
        model: a ``ForecastConfig`` or a ``Forecaster`` (only its config is
            used; every refit fits a fresh one).
        series: the validated series (what :func:`forecaster.data.load` returns).
        config: origins, folds and refit schedule (default: ``BacktestConfig()``).
        progress: called with a :class:`Progress` before and after each fit.
        verbose: passed to ``keras.Model.fit``.
    """
    members = getattr(series, "members", None)
    if members is not None and (len(members) > 1 or _series.model_config(model).data.targets):
        return _panel(model, series, config or BacktestConfig(), verbose)
    started = time.perf_counter()
    series = _series.one_series(series)
    hf = historical_forecasts(model, series, config, progress=progress, verbose=verbose)
    t0 = time.perf_counter()
    scores = score_backtest(hf, _series.target(series), series.target)
    score_seconds = time.perf_counter() - t0
    total = time.perf_counter() - started
    plan, t = hf.plan, hf.timings
    timings = {
        "total_seconds": round(total, 3),
        "fit_seconds": round(t["fit_seconds"], 3),
        "predict_seconds": round(t["predict_seconds"], 4),
        "baseline_seconds": round(t["baseline_seconds"], 4),
        "score_seconds": round(score_seconds, 4),
    }
    log.info(
        "backtest done in %s: %d fit(s) %s, %d origins forecast in %s, baselines %s, scoring %s",
        duration(total), plan.n_fits, duration(t["fit_seconds"]), plan.n_origins, duration(t["predict_seconds"]),
        duration(t["baseline_seconds"]), duration(score_seconds),
    )
    return BacktestResult(
        data=_series.data_info(series),
        fc_config=plan.fc_config,
        config=plan.config,
        season=plan.season,
        season_inferred=plan.season_inferred,
        folds=plan.folds,
        fold_table=fold_table(plan.folds, series.index, plan.fc_config.window.horizon),
        forecasts=hf.forecasts,
        scores=scores,
        fits=hf.fits,
        histories=hf.histories,
        timings=timings,
        forecaster=hf.forecaster,
        series=series,
    )


def _panel(model: Any, ts: Any, config: BacktestConfig, verbose: int | str):
    """A panel: one global model, every series' origins at once (see :mod:`forecaster.evaluation.panel`)."""
    from forecaster.data import TimeSeries
    from forecaster.evaluation.panel import panel_backtest
    from forecaster.exceptions import ConfigError

    if not isinstance(ts, TimeSeries):
        ts = TimeSeries(tuple(ts.members))  # validated: unique ids, shared roles and frequency

    if config.train_size is not None:
        raise ConfigError("A panel backtest trains on every row before each series' first origin; `train_size` does not apply.")
    return panel_backtest(
        model, ts, start=config.start, origin_stride=config.origin_stride, gap=config.gap, folds=config.folds,
        window=config.window, season=config.season, verbose=verbose, calibration=config.resolved_calibration,
    )


def backtest(
    model: Any,
    data: Any,
    *,
    folds: int | None = None,
    start: int | float | str | None = None,
    origin_stride: int = 1,
    refit: str | int = "always",
    window: str = "expanding",
    train_size: int | None = None,
    gap: int = 0,
    season: int | None = None,
    calibration: str = "auto",
    refit_warm: bool = False,
    verbose: int | str = 0,
) -> BacktestResult:
    """Rolling-origin backtest of ``model`` on ``data``, beside naive, seasonal naive, drift and window mean.

    Every refit fits a brand-new model with a fresh optimizer, its scaler on
    the rows before the fold's cutoff only; the baselines forecast exactly
    the same origins. See :mod:`forecaster.evaluation.splits` for how
    ``folds``, ``start``, ``origin_stride``, ``refit``, ``window``,
    ``train_size`` and ``gap`` choose the origins and the training rows.

    Args:
        model: a ``Forecaster`` (fitted or not: only its ``config`` is used,
            every fold gets a fresh one) or a ``ForecastConfig``.
        data: the series, as :func:`forecaster.data.load` returns it, or a
            panel (a :class:`~forecaster.data.TimeSeries` of several series, or
            a DataFrame with a series id column): one global model is then fitted
            before each series' first origin and every origin forecast at once
            (:func:`forecaster.evaluation.panel.panel_backtest`; a
            :class:`~forecaster.evaluation.panel.PanelBacktestResult`).
        folds: number of consecutive folds (default 5 when ``start`` is not given).
        start: first cutoff: a row, a fraction of the rows or a date (default: the last 20 %).
        origin_stride: rows between forecast origins.
        refit: ``"always"``, ``"never"`` or every N folds.
        window: ``"expanding"`` or ``"fixed"`` training window.
        train_size: rows per training window with ``window="fixed"``.
        gap: rows left out between the training rows and the cutoff.
        season: season length of the seasonal baselines and MASE (default: from the frequency).
        calibration: with ``intervals`` in the model's config: ``"validation"`` (each fold model's
            validation windows), ``"rolling"`` (plus the earlier origins' errors observed by each cutoff) or
            ``"adaptive"`` (rolling at a level that follows the misses observed so far) or ``"auto"`` (the
            default: adaptive, for one series and for a panel).
        refit_warm: each refit starts from the previous fit's weights (fresh optimizer) instead of
            a random initialisation; faster, and the folds are no longer independent fits.
        verbose: passed to ``keras.Model.fit``.

    Returns:
        A :class:`BacktestResult`: ``.metrics`` (DataFrame, rows model and
        baselines, columns MAE RMSE MAPE sMAPE MASE), ``.per_step``,
        ``.forecasts``, ``.verdict``, ``.plot()``, ``.save(path)``.

    >>> from forecaster import data
    >>> from forecaster.config import ForecastConfig
    >>> result = backtest(ForecastConfig(horizon=5), data.load("data/prices.csv"), folds=3)  # doctest: +SKIP
    >>> result.metrics.loc[["model", "naive"], "MASE"]  # doctest: +SKIP
    """
    if hasattr(data, "columns") and hasattr(data, "iloc"):  # a DataFrame: one series or a panel with an id column
        from forecaster.data import from_dataframe

        cfg = _series.model_config(model).data
        data = from_dataframe(data, target=cfg.target, features=cfg.features, time_col=cfg.time_col,
                              id_col=cfg.id_col, missing=cfg.missing, targets=cfg.targets,
                              static_features=cfg.static_features)
    config = BacktestConfig(
        folds=folds, start=start, origin_stride=origin_stride, refit=refit, window=window,
        train_size=train_size, gap=gap, season=season, calibration=calibration, refit_warm=refit_warm,
    )
    return run_backtest(model, data, config, verbose=verbose)
