"""Rolling-origin backtests: historical forecasts, always beside honest baselines.

A backtest replays history. At each **origin** ``o`` (the first row that is
not yet observed; the same convention as :mod:`forecaster.baselines` and
:meth:`Forecaster.predict_origins`) the model forecasts rows
``o .. o + horizon - 1`` from the rows before ``o``, and the forecast is
compared with what really happened. Origins are grouped into **folds**; each
fold has a **cutoff** (its first origin) and a training range that ends before
it::

    rows:   0 ............................................................ n
            |== train fold 1 ==|gap|o o o o o|
            |========= train fold 2 =========|gap|o o o o o|
            |================== train fold 3 ==================|gap|o o o o o|
                                    ^ cutoff 1          ^ cutoff 2       ^ cutoff 3

    fold k: training rows [train_start, cutoff_k - gap), test origins
            cutoff_k, cutoff_k + stride, ... < cutoff_{k+1}

Worked example: ``n_rows=100, lookback=10, horizon=5, stride=5, folds=2``,
default first cutoff ``100 - round(0.2 * 100) = 80``: origins are
``80, 85, 90, 95`` (the last origin is ``n - horizon = 95``, whose targets are
rows 95..99), fold 1 has cutoff 80 and origins ``80, 85``, fold 2 cutoff 90
and origins ``90, 95``; with an expanding window fold 1 trains on rows
``[0, 80)`` and fold 2 on ``[0, 90)``.

Choosing origins and folds (:class:`BacktestConfig`):

* ``start`` is the first cutoff: a row position, a fraction of the rows
  (``0.8``) or a date (the first row at or after it). Default: the last 20 %
  of the rows are forecast, but never with fewer training rows than a fit
  needs.
* ``stride`` is the step between origins (1: forecast from every row).
* ``folds=K`` splits the origins into K consecutive folds of (nearly) equal
  size. Without ``folds``, the folds follow the refit schedule: one fold per
  origin with ``refit="always"`` (the Darts ``historical_forecasts`` layout),
  one per N origins with ``refit=N``, a single fold with ``refit="never"``;
  when neither ``folds`` nor ``start`` is given, ``folds=5``.
* ``refit``: ``"always"`` fits a new model at every fold, ``"never"`` fits
  once on the rows before the first cutoff and forecasts every origin with
  that model in one batched pass, an integer N refits at folds 1, 1+N, ...
* ``window``: ``"expanding"`` trains on every row before the cutoff,
  ``"fixed"`` on the last ``train_size`` rows only (default: as many as
  the first fold has).
* ``gap`` leaves rows out between training and the cutoff (data that is
  published late); the forecast's inputs may still use them.

No leakage, by construction: every refit is a brand-new
``Forecaster(config).fit(rows[train_start:train_end])``, which builds a fresh
model and a fresh optimizer and fits its scaler on (the training part of)
those rows only; early stopping validates on the last ``val_fraction`` of the
same slice. The model never sees a row at or after the cutoff, except as the
*input* window of a forecast issued at or after it.

Baselines (:func:`forecaster.baselines.all_baselines`: naive, seasonal naive,
drift, window mean) are computed on exactly the same origins and scored with
the same metrics.

Metrics, with ``e = y - yhat`` over every origin ``i`` and step ``k``
(``k = 1..horizon``), reported overall and per step (mean over origins):

* ``MAE   = mean |e|`` (units of the series)
* ``RMSE  = sqrt(mean e^2)`` (units of the series)
* ``MAPE  = 100 * mean(|e| / |y|)`` in percent, over points where ``y`` is
  not (close to) zero: points with ``|y| <= 1e-8 * max|y|`` are left out
  (``nan`` if none remains)
* ``sMAPE = 100 * mean(2 |e| / (|y| + |yhat|))`` in percent, on a 0-200 scale
  (0 perfect; 200 when forecast and actual have opposite signs); a term with
  ``y = yhat = 0`` counts 0
* ``MASE  = mean_i,k(|e_ik| / s_f(i))`` where ``s_f`` is the in-sample MAE of
  the seasonal naive forecast on the training rows of the model that
  forecast fold ``f``: ``s_f = mean_t |y_t - y_(t-m)|`` over those rows, ``m``
  the season. Each origin is scaled by its own fold's training part, then
  the scaled errors are averaged over origins. Below 1: smaller errors than
  the seasonal naive forecast had in-sample.

The **verdict** per horizon step compares the model's MASE with the seasonal
naive forecast's on the same origins (the same scale, so this is a
comparison of MAE): "beats" when the model's is lower. The naive
(random-walk) forecast is reported beside it; on prices it is the one to beat.
Each comparison carries a Diebold-Mariano p-value (:func:`dm_pvalues`), so a
difference in the third decimal is not sold as a win.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster import __version__
from forecaster import metrics as M
from forecaster.baselines import all_baselines, infer_season
from forecaster.config import ForecastConfig
from forecaster.data import Series
from forecaster.artifacts import read_json_object, write_json, write_run_dir
from forecaster.exceptions import ArtifactError, ConfigError, DataError, TrainingError

log = logging.getLogger(__name__)

__all__ = [
    "BASELINES",
    "BacktestConfig",
    "BacktestPlan",
    "BacktestResult",
    "Fold",
    "dm_pvalues",
    "METRIC_NAMES",
    "Progress",
    "fold_table",
    "min_train_rows",
    "plan_backtest",
    "plan_folds",
    "run_backtest",
    "score",
]

REFIT_POLICIES = ("always", "never")
WINDOWS = ("expanding", "fixed")
#: Folds used when neither ``folds`` nor ``start`` is given.
DEFAULT_FOLDS = 5
#: Share of the rows forecast when ``start`` is not given.
DEFAULT_TEST_FRACTION = 0.2
#: Column / key of the model's forecasts; baselines follow in this order.
MODEL = "model"
BASELINES = ("naive", "seasonal_naive", "drift", "window_mean")
METRIC_NAMES = ("mae", "rmse", "mape", "smape", "mase")
#: Above this many fits a warning suggests --folds, --stride or --refit.
MANY_FITS = 50

SCHEMA_VERSION = 1
MANIFEST_FILE = "backtest.json"
METRICS_FILE = "metrics.json"
FORECASTS_FILE = "forecasts.csv"
FOLDS_FILE = "folds.csv"
HISTORY_FILE = "history.csv"
FORECAST_COLUMNS = ("fold", "cutoff", "step", "timestamp", "actual", MODEL, *BASELINES)

FORMULAS = {
    "mae": "mean(|y - yhat|), units of the series",
    "rmse": "sqrt(mean((y - yhat)^2)), units of the series",
    "mape": "100 * mean(|y - yhat| / |y|) in percent, points with |y| <= 1e-8 * max|y| left out",
    "smape": "100 * mean(2 |y - yhat| / (|y| + |yhat|)) in percent, 0-200 scale",
    "mase": (
        "mean over origins i and steps k of |y - yhat| / s_f(i), s_f = mean_t |y_t - y_(t-season)| "
        "on the training rows of the model that forecast fold f"
    ),
}


# ----------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BacktestConfig:
    """How origins are chosen and how often the model is refit.

    Args:
        folds: number of folds, or ``None`` (see the module docstring).
        start: first cutoff: a row position (int), a fraction of the rows
            (float in (0, 1)) or a date string; ``None`` forecasts the last
            20 % of the rows.
        stride: rows between consecutive origins.
        refit: ``"always"``, ``"never"`` or a positive integer N (every N folds).
        window: ``"expanding"`` or ``"fixed"`` training window.
        train_size: rows per training window with ``window="fixed"``
            (default: the first fold's).
        gap: rows left out between the end of training and the cutoff.
        season: season length for seasonal naive, window mean and MASE
            (default: inferred from the series' frequency).

    >>> BacktestConfig(folds=10, refit="never").refit
    'never'
    >>> BacktestConfig(refit=0)
    Traceback (most recent call last):
    ...
    forecaster.exceptions.ConfigError: `refit` must be 'always', 'never' or a positive integer N (refit every N folds). Received: refit=0
    """

    folds: int | None = None
    start: int | float | str | None = None
    stride: int = 1
    refit: str | int = "always"
    window: str = "expanding"
    train_size: int | None = None
    gap: int = 0
    season: int | None = None

    def __post_init__(self) -> None:
        if self.folds is not None and not _is_int(self.folds, 1):
            raise ConfigError(f"`folds` must be a positive integer or None. Received: folds={self.folds!r}")
        start = self.start
        if isinstance(start, pd.Timestamp):
            object.__setattr__(self, "start", start.isoformat())
        elif start is None or _is_int(start, 0):
            pass
        elif isinstance(start, float) and 0.0 < start < 1.0:
            pass
        elif isinstance(start, str) and start.strip():
            try:
                pd.Timestamp(start.strip())
            except (ValueError, TypeError):
                raise ConfigError(
                    "`start` must be a row number, a fraction of the rows in (0, 1) or a date such as 2017-01-01. "
                    f"Received: start={start!r}"
                ) from None
            object.__setattr__(self, "start", start.strip())
        else:
            raise ConfigError(
                "`start` must be a row number, a fraction of the rows in (0, 1) or a date such as 2017-01-01. "
                f"Received: start={start!r}"
            )
        if not _is_int(self.stride, 1):
            raise ConfigError(f"`stride` must be a positive integer. Received: stride={self.stride!r}")
        if not (self.refit in REFIT_POLICIES or _is_int(self.refit, 1)):
            raise ConfigError(
                "`refit` must be 'always', 'never' or a positive integer N (refit every N folds). "
                f"Received: refit={self.refit!r}"
            )
        if self.window not in WINDOWS:
            raise ConfigError(f"`window` must be one of expanding, fixed. Received: window={self.window!r}")
        if self.train_size is not None:
            if not _is_int(self.train_size, 1):
                raise ConfigError(
                    f"`train_size` must be a positive integer or None. Received: train_size={self.train_size!r}"
                )
            if self.window != "fixed":
                raise ConfigError(
                    "`train_size` only applies to a fixed training window. Pass --window fixed, or drop --train-size. "
                    f"Received: train_size={self.train_size}, window={self.window!r}"
                )
        if not _is_int(self.gap, 0):
            raise ConfigError(f"`gap` must be a non-negative integer. Received: gap={self.gap!r}")
        if self.season is not None and not _is_int(self.season, 1):
            raise ConfigError(f"`season` must be a positive integer or None. Received: season={self.season!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON representation."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BacktestConfig":
        """Rebuild a config; unknown keys are an error."""
        if not isinstance(data, dict):
            raise ConfigError(f"A backtest config must be a JSON object. Received: {type(data).__name__}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"Unknown backtest config key(s): {', '.join(unknown)}.")
        return cls(**data)

    def replace(self, **changes: Any) -> "BacktestConfig":
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def describe_refit(self) -> str:
        if self.refit in REFIT_POLICIES:
            return str(self.refit)
        return f"every {self.refit} folds" if self.refit != 1 else "always"


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum


# ----------------------------------------------------------------------------
# Fold planning (pure, numpy only)
# ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Fold:
    """One fold: the rows its model was trained on and the origins it forecasts.

    ``train_start``/``train_end`` are the training rows of the model that
    forecasts this fold (``[train_start, train_end)``). With ``refit=False``
    the fold reuses the model fitted at fold ``model_fold``, so its range is
    that fold's. Folds are numbered from 1.
    """

    fold: int
    train_start: int
    train_end: int
    cutoff: int
    origins: np.ndarray
    refit: bool
    model_fold: int

    @property
    def n_train(self) -> int:
        return self.train_end - self.train_start

    @property
    def n_origins(self) -> int:
        return len(self.origins)

    def __repr__(self) -> str:
        return (
            f"Fold({self.fold}, train=[{self.train_start}, {self.train_end}), cutoff={self.cutoff}, "
            f"origins={self.n_origins} ({int(self.origins[0])}..{int(self.origins[-1])}), "
            f"{'refit' if self.refit else f'model of fold {self.model_fold}'})"
        )


def min_train_rows(fc_config: ForecastConfig, season: int = 1) -> int:
    """Fewest training rows a fit (and the MASE scale) can work with.

    ``Forecaster.fit`` splits its rows chronologically: the last
    ``max(round(n * val_fraction), horizon)`` rows validate, and the rest
    must hold at least one training window (``lookback + horizon`` rows);
    in all, at least ``lookback + 2 * horizon + 1`` rows. The MASE scale
    needs ``season + 1`` rows.

    >>> min_train_rows(ForecastConfig(lookback=10, horizon=5, val_fraction=0.2))
    21
    """
    lookback, horizon, vf = fc_config.window.lookback, fc_config.window.horizon, fc_config.window.val_fraction
    need = lookback + horizon
    # n - round(n * vf) never decreases as n grows, so the first n that works is the answer;
    # anything below (need - 0.5) / (1 - vf) cannot work, so start just under it.
    n = max(lookback + 2 * horizon + 1, season + 1, 3, int((need - 0.5) / (1.0 - vf)) - 1)
    while True:
        n_val = max(int(round(n * vf)), horizon)
        if n - n_val >= max(need, 3):
            return n
        n += 1


def plan_folds(n_rows: int, config: BacktestConfig, fc_config: ForecastConfig, *, season: int = 1) -> list[Fold]:
    """Choose the origins and folds of a backtest (pure index arithmetic).

    Guarantees (tested with hypothesis): origins are increasing, spaced by
    ``stride``, each at least ``lookback`` and ``season``, with all targets
    inside the series (``origin + horizon <= n_rows``); each fold's origins
    lie in ``[cutoff, next cutoff)``; each fold's model trained on rows
    ``[train_start, train_end)`` with ``train_end <= cutoff - gap`` and at
    least :func:`min_train_rows` rows.

    Args:
        n_rows: length of the series.
        config: the backtest settings; a date ``start`` must be turned into
            a row first (:func:`plan_backtest` does).
        fc_config: the model settings (``lookback``, ``horizon``,
            ``val_fraction``).
        season: season length of the baselines and of the MASE scale.

    Raises:
        ConfigError: a setting cannot work (a start too early for training...).
        DataError: the series is too short for the requested folds.

    >>> cfg = ForecastConfig(lookback=10, horizon=5, val_fraction=0.2)
    >>> [(f.train_start, f.train_end, f.origins.tolist()) for f in plan_folds(100, BacktestConfig(folds=2, stride=5), cfg)]
    [(0, 80, [80, 85]), (0, 90, [90, 95])]
    """
    if not _is_int(n_rows, 1):
        raise DataError(f"`n_rows` must be a positive integer. Received: n_rows={n_rows!r}")
    if not _is_int(season, 1):
        raise ConfigError(f"`season` must be a positive integer. Received: season={season!r}")
    horizon, gap = fc_config.window.horizon, config.gap
    min_rows = min_train_rows(fc_config, season)
    fixed = config.window == "fixed"
    if fixed and config.train_size is not None and config.train_size < min_rows:
        raise ConfigError(
            f"`train_size` must be at least {min_rows}: a fit with lookback={fc_config.window.lookback}, "
            f"horizon={fc_config.window.horizon}, val_fraction={fc_config.window.val_fraction} and season={season} needs that many "
            f"rows. Received: train_size={config.train_size}"
        )
    train_rows = config.train_size if fixed and config.train_size is not None else min_rows
    earliest = max(train_rows + gap, fc_config.window.lookback, season, 2)
    last_origin = n_rows - horizon

    start = config.start
    if isinstance(start, str):
        raise ConfigError(
            f"`start` is a date ({start!r}); turn it into a row position first with plan_backtest(series, ...)."
        )
    if start is None:
        first = max(n_rows - int(round(DEFAULT_TEST_FRACTION * n_rows)), earliest)
    else:
        first = int(round(start * n_rows)) if isinstance(start, float) else int(start)
        if first < earliest:
            raise ConfigError(
                f"The first cutoff must leave at least {earliest} rows before it ({train_rows} training rows"
                f"{f' + gap {gap}' if gap else ''}). Received: start={start!r} (row {first}). "
                "Choose a later --start, or a shorter --lookback/--horizon/--train-size."
            )
    if first > last_origin:
        knobs = ["--lookback", "--horizon"] + (["--gap"] if gap else []) + (
            ["--season"] if season + 1 >= min_rows else []) + (["--train-size"] if fixed and config.train_size else [])
        raise DataError(
            f"Series has {n_rows} rows: no origin is left to forecast after the first cutoff (row {first}) with "
            f"horizon={horizon} (the last origin with known actuals is row {last_origin}; training needs at least "
            f"{earliest} rows before the first cutoff). Supply more data, or reduce {', '.join(knobs[:-1])} or {knobs[-1]}."
        )
    origins = np.arange(first, last_origin + 1, config.stride, dtype=np.int64)

    n_folds = config.folds if config.folds is not None else (DEFAULT_FOLDS if config.start is None else None)
    refit = config.refit
    if n_folds is not None:
        if len(origins) < n_folds:
            raise DataError(
                f"folds={n_folds} needs at least {n_folds} origins, but rows {first}..{last_origin} with "
                f"stride={config.stride} give {len(origins)}. Reduce --folds or --stride, or start earlier."
            )
        groups = np.array_split(origins, n_folds)
        every = {"always": 1, "never": 0}.get(refit, refit)  # type: ignore[arg-type]
        flags = [i == 0 or (every > 0 and i % every == 0) for i in range(n_folds)]
    else:
        step = {"always": 1, "never": len(origins)}.get(refit, refit)  # type: ignore[arg-type]
        groups = [origins[i : i + step] for i in range(0, len(origins), step)]
        flags = [True] * len(groups)

    fixed_size = (config.train_size if config.train_size is not None else first - gap) if fixed else None
    folds: list[Fold] = []
    for i, (group, refit_here) in enumerate(zip(groups, flags)):
        cutoff = int(group[0])
        if refit_here:
            train_end = cutoff - gap
            train_start = 0 if fixed_size is None else train_end - fixed_size
            model_fold = i + 1
        else:
            prev = folds[-1]
            train_start, train_end, model_fold = prev.train_start, prev.train_end, prev.model_fold
        folds.append(Fold(i + 1, train_start, train_end, cutoff, group, bool(refit_here), model_fold))
    return folds


@dataclass(frozen=True)
class BacktestPlan:
    """Folds of a backtest on one series, with the season and the resolved config."""

    folds: list[Fold]
    season: int
    season_inferred: bool
    config: BacktestConfig
    fc_config: ForecastConfig

    @property
    def n_fits(self) -> int:
        return sum(f.refit for f in self.folds)

    @property
    def n_origins(self) -> int:
        return sum(f.n_origins for f in self.folds)


def plan_backtest(series: Series, fc_config: ForecastConfig, config: BacktestConfig) -> BacktestPlan:
    """Resolve the season and a date ``start`` on ``series``, then :func:`plan_folds`."""
    season_inferred = config.season is None
    season = infer_season(series.freq) if season_inferred else int(config.season)  # type: ignore[arg-type]
    if isinstance(config.start, str):
        config = config.replace(start=_start_row(series.index, config.start))
    if fc_config.data.target is not None and fc_config.data.target != series.target:
        raise DataError(f"The config's target is {fc_config.data.target!r} but the series' target is {series.target!r}.")
    fc_config = fc_config.replace(target=series.target, features=tuple(series.features))
    folds = plan_folds(len(series), config, fc_config, season=season)
    return BacktestPlan(folds, season, season_inferred, config, fc_config)


def _start_row(index: pd.DatetimeIndex, start: str) -> int:
    ts = pd.Timestamp(start)
    if index.tz is not None and ts.tz is None:
        ts = ts.tz_localize(index.tz)
    elif index.tz is None and ts.tz is not None:
        ts = ts.tz_convert(None)
    pos = int(index.searchsorted(ts, side="left"))
    if pos >= len(index):
        raise ConfigError(
            f"`start` {start!r} is after the end of the series ({index[-1]}). Choose a date inside the data."
        )
    return pos


def fold_table(folds: list[Fold], index: pd.DatetimeIndex, horizon: int) -> pd.DataFrame:
    """One row per fold: training range, cutoff and test range, as timestamps and row positions.

    ``cutoff`` is the last observed timestamp when the fold's first forecast
    is issued (row ``cutoff - 1``); ``test_start .. test_end`` are the
    timestamps its forecasts cover.
    """
    rows = []
    for f in folds:
        last = int(f.origins[-1])
        rows.append({
            "fold": f.fold,
            "fit": "fit" if f.refit else f"fold {f.model_fold}",
            "train_start": index[f.train_start],
            "train_end": index[f.train_end - 1],
            "train_rows": f.n_train,
            "cutoff": index[f.cutoff - 1],
            "test_start": index[f.cutoff],
            "test_end": index[last + horizon - 1],
            "origins": f.n_origins,
            "train_start_row": f.train_start,
            "train_end_row": f.train_end,
            "cutoff_row": f.cutoff,
            "last_origin_row": last,
        })
    return pd.DataFrame(rows)


def _stamp_format(index: pd.DatetimeIndex) -> str:
    """Dates alone for daily and coarser series, date and clock time otherwise."""
    return "%Y-%m-%d" if (index == index.normalize()).all() else "%Y-%m-%d %H:%M"


def format_fold_table(table: pd.DataFrame) -> str:
    """The fold table as printed before a backtest runs."""
    shown = table[["fold", "fit", "train_start", "train_end", "train_rows", "cutoff", "test_start", "test_end", "origins"]]
    shown = shown.rename(columns={"train_start": "train from", "train_end": "train to", "train_rows": "rows",
                                  "test_start": "test from", "test_end": "test to"})
    stamps = ["train from", "train to", "cutoff", "test from", "test to"]
    fmt = _stamp_format(pd.DatetimeIndex(pd.concat([shown[c] for c in stamps])))
    formatters = {c: (lambda v, fmt=fmt: pd.Timestamp(v).strftime(fmt)) for c in stamps}
    return shown.to_string(index=False, formatters=formatters)


# ----------------------------------------------------------------------------
# Scoring (pure numpy)
# ----------------------------------------------------------------------------
def score(actual: np.ndarray, forecasts: dict[str, np.ndarray], scales: np.ndarray) -> dict[str, dict[str, Any]]:
    """Every metric, overall and per horizon step, for each forecaster.

    Args:
        actual: ``(n_origins, horizon)`` true values.
        forecasts: name -> ``(n_origins, horizon)`` forecasts on the same origins.
        scales: ``(n_origins,)`` MASE scale of each origin's fold.

    Returns:
        ``{"overall": {name: {metric: float}}, "per_step": {name: {metric: [floats]}}}``.

    >>> y = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> out = score(y, {"a": y + 1.0}, np.array([1.0, 2.0]))
    >>> out["overall"]["a"]["mae"], out["overall"]["a"]["mase"], out["per_step"]["a"]["mase"]
    (1.0, 0.75, [0.75, 0.75])
    """
    scales = np.asarray(scales, dtype=np.float64)
    if scales.shape != (len(actual),) or not (np.isfinite(scales).all() and (scales > 0).all()):
        raise DataError(f"`scales` must hold one positive scale per origin. Received shape {scales.shape}")
    overall: dict[str, dict[str, float]] = {}
    per_step: dict[str, dict[str, list[float]]] = {}
    for name, yhat in forecasts.items():
        overall[name] = {m: float(M.METRICS[m](actual, yhat)) for m in ("mae", "rmse", "mape", "smape")}
        per_step[name] = {m: [float(v) for v in M.METRICS[m](actual, yhat, axis=0)] for m in ("mae", "rmse", "mape", "smape")}
        scaled = np.abs(actual - yhat) / scales[:, None]
        overall[name]["mase"] = float(scaled.mean())
        per_step[name]["mase"] = [float(v) for v in scaled.mean(axis=0)]
    return {"overall": overall, "per_step": per_step}


def dm_pvalues(actual: np.ndarray, a: np.ndarray, b: np.ndarray, *, stride: int = 1) -> list[float]:
    """Two-sided Diebold-Mariano p-value per horizon step for "forecasts a and b are equally accurate".

    The loss is the absolute error; ``d_i = |e_a,i| - |e_b,i|`` over the
    origins (in time order). ``DM = mean(d) / sqrt(V / n)`` with ``V`` the
    Newey-West (Bartlett) long-run variance of ``d``: overlapping ``k``-step
    forecasts from origins ``stride`` apart are correlated up to lag
    ``ceil(k / stride) - 1``, and the series itself adds more, so the lag is
    the larger of that and ``floor(4 (n / 100) ** (2 / 9))``. The p-value
    uses the normal distribution. A rough guide, not a proof: a small
    p-value says the difference is unlikely to be noise.

    >>> y = np.zeros((200, 1)); rng = np.random.default_rng(0)
    >>> a = y + rng.normal(0, 1, y.shape); b = y + rng.normal(0, 3, y.shape)
    >>> dm_pvalues(y, a, b)[0] < 0.001, dm_pvalues(y, a, a)[0]
    (True, 1.0)
    """
    d = np.abs(actual - a) - np.abs(actual - b)  # (n_origins, horizon)
    n, horizon = d.shape
    if n < 2:
        return [float("nan")] * horizon
    base_lag = int(4 * (n / 100) ** (2 / 9))
    lags = np.array([min(n - 1, max(math.ceil(k / stride) - 1, base_lag)) for k in range(1, horizon + 1)])
    mean = d.mean(axis=0)
    dc = d - mean
    var = (dc * dc).sum(axis=0) / n
    # All steps at once: one pass per lag j, Bartlett weight 1 - j / (lag + 1) where j <= that step's lag.
    for j in range(1, int(lags.max()) + 1):
        weight = np.where(j <= lags, 1 - j / (lags + 1), 0.0)
        var += 2 * weight * (dc[j:] * dc[:-j]).sum(axis=0) / n
    out = []
    for k in range(horizon):
        if var[k] <= 0:
            out.append(1.0 if mean[k] == 0 else 0.0)
        else:
            stat = float(mean[k]) / math.sqrt(var[k] / n)
            out.append(float(math.erfc(abs(stat) / math.sqrt(2))))
    return out


def verdict(
    per_step: dict[str, dict[str, list[float]]],
    p_values: dict[str, list[float]] | None = None,
    reference: str = "seasonal_naive",
) -> list[dict[str, Any]]:
    """Per horizon step: does the model's MASE beat ``reference``'s (and the naive one's)?

    ``p_values`` (name -> per-step Diebold-Mariano p-value of the model
    against that baseline, see :func:`dm_pvalues`) are added when given.
    """
    model = per_step[MODEL]["mase"]
    out = []
    for k in range(len(model)):
        row: dict[str, Any] = {"step": k + 1, "model_mase": model[k]}
        for name in dict.fromkeys((reference, "naive")):
            row[f"{name}_mase"] = per_step[name]["mase"][k]
            row[f"beats_{name}"] = bool(model[k] < per_step[name]["mase"][k])
            if p_values is not None and name in p_values:
                row[f"p_{name}"] = p_values[name][k]
        out.append(row)
    return out


# ----------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------
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


def _rows(series: Series, start: int, stop: int) -> Series:
    """``series`` restricted to rows ``[start, stop)`` (same columns, frequency and source)."""
    return dataclasses.replace(
        series,
        frame=series.frame.iloc[start:stop],
        fingerprint=f"{series.fingerprint}[{start}:{stop}]",
        report=None,
    )


def _duration(seconds: float) -> str:
    """``75.2 -> '1m15s'``."""
    s = int(round(seconds))
    if s < 60:
        return f"{max(seconds, 0):.1f}s" if seconds < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def run_backtest(
    series: Series,
    fc_config: ForecastConfig | None = None,
    config: BacktestConfig | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    fit_verbose: int | str = 0,
) -> "BacktestResult":
    """Rolling-origin backtest of a recurrent forecaster beside the baselines.

    Each refit is a brand-new ``Forecaster(fc_config).fit`` on the fold's
    training rows (fresh model, fresh optimizer, scaler fitted on those rows
    only). Each fitted model forecasts every origin it is responsible for in
    one batched :meth:`Forecaster.predict_origins` call: with
    ``refit="never"`` that is one fit and one call for the whole backtest.

    Args:
        series: the validated series.
        fc_config: model settings (as for ``forecast fit``).
        config: origins, folds and refit schedule.
        progress: called with a :class:`Progress` before and after each fit
            (the same lines are logged at INFO level).
        fit_verbose: passed to ``keras.Model.fit``.

    >>> result = run_backtest(series, ForecastConfig(horizon=5), BacktestConfig(folds=5))  # doctest: +SKIP
    >>> result.metrics["overall"]["model"]["mase"]  # doctest: +SKIP
    """
    from forecaster.forecaster import Forecaster  # Keras is imported only when a backtest runs

    fc_config = fc_config if fc_config is not None else ForecastConfig()
    config = config if config is not None else BacktestConfig()
    plan = plan_backtest(series, fc_config, config)
    folds, season, fc_config = plan.folds, plan.season, plan.fc_config
    horizon = fc_config.window.horizon
    if plan.n_fits > MANY_FITS:
        log.warning(
            "this backtest fits %d models; use --folds, a larger --stride or --refit never/N to make it cheaper",
            plan.n_fits,
        )
    y = series.values[:, 0]
    index = series.index
    origins = np.concatenate([f.origins for f in folds])
    fold_of = np.concatenate([np.full(f.n_origins, f.fold, dtype=np.int64) for f in folds])
    preds = np.full((len(origins), horizon), np.nan)

    started = time.perf_counter()
    fit_seconds = predict_seconds = 0.0
    fits: list[dict[str, Any]] = []
    histories: list[dict[str, list[float]]] = []
    last_fc = None
    n_folds, n_fits = len(folds), plan.n_fits

    fmt = _stamp_format(index)

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
            f"({fold.n_train} rows)" + (f"; ETA {_duration(eta)}" if eta is not None else ""),
        )
        t0 = time.perf_counter()
        fc = Forecaster(fc_config).fit(_rows(series, fold.train_start, fold.train_end), verbose=fit_verbose)
        t1 = time.perf_counter()
        mask = (fold_of >= served[0].fold) & (fold_of <= served[-1].fold)
        # One batched pass over every origin this model is responsible for.
        pred = fc.predict_origins(series, origins[mask])
        t2 = time.perf_counter()
        if not np.isfinite(pred).all():
            raise TrainingError(
                f"The model of fold {fold.fold} produced non-finite forecasts. Lower --learning-rate or check the data."
            )
        preds[mask] = pred
        fit_seconds += t1 - t0
        predict_seconds += t2 - t1
        m = fc.metrics_
        fits.append({
            "fold": fold.fold,
            "train_start": str(index[fold.train_start]),
            "train_end": str(index[fold.train_end - 1]),
            "train_rows": fold.n_train,
            "fit_seconds": round(t1 - t0, 3),
            "predict_seconds": round(t2 - t1, 4),
            "origins": int(mask.sum()),
            "epochs_run": m["epochs_run"],
            "best_epoch": m["best_epoch"],
            "val_mae": m["val_mae"],
            "naive_val_mae": m["naive_val_mae"],
        })
        histories.append(dict(fc.history_))
        last_fc = fc
        remaining = n_fits - len(fits)
        eta = (time.perf_counter() - started) / len(fits) * remaining
        served_txt = f"fold {served[0].fold}" if len(served) == 1 else f"folds {served[0].fold}-{served[-1].fold}"
        report(
            fold.fold,
            eta,
            f"fold {fold.fold}/{n_folds}: fitted in {_duration(t1 - t0)} ({m['epochs_run']} "
            f"epoch{'s' if m['epochs_run'] != 1 else ''}, best {m['best_epoch']}), "
            f"forecast {int(mask.sum())} origins of {served_txt} in one batch ({_duration(t2 - t1)})"
            + (f"; {remaining} fit(s) left, ETA {_duration(eta)}" if remaining else ""),
        )

    t0 = time.perf_counter()
    base = all_baselines(y, origins, horizon, season)
    baseline_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    actual = y[origins[:, None] + np.arange(horizon)]
    fold_scales = {
        f.fold: M.seasonal_naive_scale(y[f.train_start : f.train_end], season) for f in folds
    }
    scales = np.array([fold_scales[k] for k in fold_of])
    forecasts = {MODEL: preds, **base}
    scored = score(actual, forecasts, scales)
    per_fold = []
    for f in folds:
        sel = fold_of == f.fold
        per_fold.append({
            "fold": f.fold,
            "origins": f.n_origins,
            "mase_scale": fold_scales[f.fold],
            "mae": {name: float(np.mean(np.abs(actual[sel] - fc_[sel]))) for name, fc_ in forecasts.items()},
            "mase": {name: float(np.mean(np.abs(actual[sel] - fc_[sel])) / fold_scales[f.fold])
                     for name, fc_ in forecasts.items()},
        })
    p_values = {name: dm_pvalues(actual, preds, base[name], stride=config.stride) for name in ("seasonal_naive", "naive")}
    steps = verdict(scored["per_step"], p_values)
    frame = _forecast_frame(index, origins, fold_of, actual, forecasts, horizon)
    score_seconds = time.perf_counter() - t0
    total = time.perf_counter() - started

    metrics = {
        "schema_version": SCHEMA_VERSION,
        "target": series.target,
        "horizon": horizon,
        "season": season,
        "origins": int(len(origins)),
        "forecasts": int(actual.size),
        "folds": n_folds,
        "fits": n_fits,
        "models": [MODEL, *BASELINES],
        "overall": scored["overall"],
        "per_step": scored["per_step"],
        "per_fold": per_fold,
        "verdict": {"reference": "seasonal_naive", "per_step": steps, "summary": _summary(scored, steps)},
        "formulas": dict(FORMULAS),
    }
    timings = {
        "total_seconds": round(total, 3),
        "fit_seconds": round(fit_seconds, 3),
        "predict_seconds": round(predict_seconds, 4),
        "baseline_seconds": round(baseline_seconds, 4),
        "score_seconds": round(score_seconds, 4),
    }
    log.info(
        "backtest done in %s: %d fit(s) %s, %d origins forecast in %s, baselines %s, scoring %s",
        _duration(total), n_fits, _duration(fit_seconds), len(origins), _duration(predict_seconds),
        _duration(baseline_seconds), _duration(score_seconds),
    )
    return BacktestResult(
        data=_data_info(series),
        fc_config=fc_config,
        config=plan.config,
        season=season,
        season_inferred=plan.season_inferred,
        folds=folds,
        fold_table=fold_table(folds, index, horizon),
        forecasts=frame,
        metrics=metrics,
        fits=fits,
        histories=histories,
        timings=timings,
        forecaster=last_fc,
    )


def _forecast_frame(index, origins, fold_of, actual, forecasts, horizon) -> pd.DataFrame:
    """Long table, one row per (origin, step), every forecaster in its own column."""
    n = len(origins)
    steps = np.tile(np.arange(1, horizon + 1), n)
    target_rows = (origins[:, None] + np.arange(horizon)).ravel()
    frame = pd.DataFrame({
        "fold": np.repeat(fold_of, horizon),
        # Last observed timestamp when the forecast was issued (row origin - 1).
        "cutoff": np.repeat(index[origins - 1].to_numpy(), horizon),
        "step": steps,
        "timestamp": index[target_rows].to_numpy(),
        "actual": actual.ravel(),
    })
    for name, values in forecasts.items():
        frame[name] = values.ravel()
    return frame


#: Significance level of the verdict's Diebold-Mariano tests.
ALPHA = 0.05


def _summary(scored: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    o = scored["overall"]
    n = len(steps)
    parts = []
    for name, label in (("seasonal_naive", "seasonal naive"), ("naive", "naive (random walk)")):
        wins = [s for s in steps if s[f"beats_{name}"]]
        sig_w = sum(s.get(f"p_{name}", 1.0) < ALPHA for s in wins)
        sig_l = sum(s.get(f"p_{name}", 1.0) < ALPHA for s in steps if not s[f"beats_{name}"])
        parts.append(
            f"{label} at {len(wins)} of {n} steps (overall MASE {o[MODEL]['mase']:.3f} vs {o[name]['mase']:.3f}; "
            f"significantly better at {sig_w}, significantly worse at {sig_l}, no significant difference at "
            f"{n - sig_w - sig_l})"
        )
    best = min(BASELINES, key=lambda b: o[b]["mase"])
    return (
        f"The model beats {parts[0]}, and {parts[1]}. Best baseline: {best} (MASE {o[best]['mase']:.3f}). "
        f"Significance: Diebold-Mariano test on absolute errors, {int(ALPHA * 100)}% level."
    )


def _data_info(series: Series) -> dict[str, Any]:
    idx = series.index
    return {
        "source": series.source,
        "name": Path(series.source).name if series.source else "<data>",
        "fingerprint": series.fingerprint,
        "target": series.target,
        "features": list(series.features),
        "frequency": series.freq,
        "kind": series.kind,
        "rows": len(series),
        "start": idx[0].isoformat(),
        "end": idx[-1].isoformat(),
    }


# ----------------------------------------------------------------------------
# Result, save / load
# ----------------------------------------------------------------------------
@dataclass(eq=False)
class BacktestResult:
    """Everything a backtest produced; :meth:`save` writes it as a directory.

    ``forecasts`` has one row per (origin, step) with the columns
    ``fold, cutoff, step, timestamp, actual, model, naive, seasonal_naive,
    drift, window_mean``; ``metrics`` is what ``metrics.json`` holds.
    ``forecaster`` is the last fitted model (not saved; ``None`` after load).
    """

    data: dict[str, Any]
    fc_config: ForecastConfig
    config: BacktestConfig
    season: int
    season_inferred: bool
    folds: list[Fold]
    fold_table: pd.DataFrame
    forecasts: pd.DataFrame
    metrics: dict[str, Any]
    fits: list[dict[str, Any]] = field(default_factory=list)
    histories: list[dict[str, list[float]]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    forecaster: Any = field(default=None, repr=False)

    # -------------------------------------------------------------- views
    @property
    def verdict(self) -> list[dict[str, Any]]:
        """Per horizon step: model vs seasonal naive (and naive) MASE."""
        return self.metrics["verdict"]["per_step"]

    def table(self) -> pd.DataFrame:
        """Overall metrics: rows model and baselines, columns MAE RMSE MAPE sMAPE MASE."""
        overall = self.metrics["overall"]
        rows = [MODEL, *BASELINES]
        return pd.DataFrame(
            [[overall[r][m] for m in METRIC_NAMES] for r in rows],
            index=pd.Index(rows, name=None),
            columns=["MAE", "RMSE", "MAPE%", "sMAPE%", "MASE"],
        )

    def format_table(self) -> str:
        """The metric table as printed by ``forecast backtest``."""
        table = self.table()
        return table.to_string(float_format=lambda v: f"{v:.4g}", na_rep="n/a")

    def format_verdict(self) -> list[str]:
        """One line per horizon step, then the summary."""
        lines = []
        width = len(str(len(self.verdict)))
        def judged(s: dict[str, Any], name: str) -> str:
            word = "beats" if s[f"beats_{name}"] else "loses to"
            p = s.get(f"p_{name}")
            if p is None or not math.isfinite(p):
                return word
            return f"{word} (p={p:.3f}{'' if p < ALPHA else ', not significant'})"

        for s in self.verdict:
            lines.append(
                f"step {s['step']:>{width}}: model {s['model_mase']:.3f} vs seasonal naive {s['seasonal_naive_mase']:.3f} "
                f"-> {judged(s, 'seasonal_naive')}; vs naive {s['naive_mase']:.3f} -> {judged(s, 'naive')}"
            )
        lines.append(self.metrics["verdict"]["summary"])
        return lines

    def title(self, what: str) -> str:
        """Figure title naming the data, target, cell and horizon."""
        c = self.fc_config
        return (
            f"{self.data['name']}: {self.data['target']} - {c.layers}x{'bi-' if c.bidirectional else ''}{c.cell} "
            f"({c.units} units), horizon {c.horizon} ({self.data['frequency']}) - {what}"
        )

    def describe(self) -> str:
        """One line: what was backtested and how."""
        c, b = self.fc_config, self.config
        return (
            f"{self.data['name']} {self.data['target']!r}: {c.layers}x{c.cell} ({c.units} units), lookback "
            f"{c.lookback} -> horizon {c.horizon}; {len(self.folds)} folds, refit {b.describe_refit()}, "
            f"{b.window} window, gap {b.gap}, stride {b.stride}, {self.metrics['origins']} origins; season {self.season}"
            f" ({'inferred from frequency ' + repr(self.data['frequency']) if self.season_inferred else 'given'})"
        )

    # -------------------------------------------------------------- save
    def manifest(self) -> dict[str, Any]:
        versions = {"forecaster": __version__, "numpy": np.__version__, "pandas": pd.__version__}
        if "keras" in sys.modules:
            versions["keras"] = sys.modules["keras"].__version__
            versions["backend"] = sys.modules["keras"].backend.backend()
        if "tensorflow" in sys.modules:
            versions["tensorflow"] = getattr(sys.modules["tensorflow"], "__version__", "?")
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "backtest",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data": dict(self.data),
            "config": self.fc_config.to_dict(),
            "backtest": self.config.to_dict(),
            "season": self.season,
            "season_inferred": self.season_inferred,
            "fits": list(self.fits),
            "timings": dict(self.timings),
            "versions": versions,
        }

    def save(self, path: str | os.PathLike[str], *, figures: dict[str, Any] | None = None) -> Path:
        """Write the backtest directory atomically and return its final path.

        Files: ``backtest.json`` (manifest), ``metrics.json``,
        ``forecasts.csv``, ``folds.csv``, ``history.csv`` (training curves of
        every fit) and the ``figures`` given (name -> matplotlib Figure, saved
        as PNG). Written into a temporary sibling and renamed into place; an
        existing directory is never overwritten (``-2``, ``-3``... is appended).
        """

        def write(tmp: Path) -> None:
            write_json(tmp / MANIFEST_FILE, _jsonable(self.manifest()))
            write_json(tmp / METRICS_FILE, _jsonable(self.metrics))
            self.forecasts.to_csv(tmp / FORECASTS_FILE, index=False, float_format="%.10g")
            self.fold_table.to_csv(tmp / FOLDS_FILE, index=False)
            _history_frame(self.histories, self.fits).to_csv(tmp / HISTORY_FILE, index=False)
            for name, fig in (figures or {}).items():
                fig.savefig(tmp / name, dpi=110)

        return write_run_dir(Path(path), write)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "BacktestResult":
        """Read a directory written by :meth:`save` (for ``forecast plot --backtest``)."""
        run = Path(path)
        if not run.is_dir():
            raise ArtifactError(f"Backtest directory {run} does not exist. Pass a directory made by 'forecast backtest'.")
        for name in (MANIFEST_FILE, METRICS_FILE, FORECASTS_FILE, FOLDS_FILE):
            if not (run / name).is_file():
                raise ArtifactError(
                    f"{run} is not a complete backtest directory ({name} is missing). Run 'forecast backtest' again."
                )
        manifest = read_json_object(run / MANIFEST_FILE)
        if manifest.get("schema_version") != SCHEMA_VERSION or manifest.get("kind") != "backtest":
            raise ArtifactError(
                f"{run / MANIFEST_FILE} is not a backtest manifest of schema version {SCHEMA_VERSION}. "
                "Run 'forecast backtest' again with this version."
            )
        metrics = read_json_object(run / METRICS_FILE)
        try:
            fc_config = ForecastConfig.from_dict(manifest["config"])
            config = BacktestConfig.from_dict(manifest["backtest"])
            season = int(manifest["season"])
            data = dict(manifest["data"])
            for key in ("overall", "per_step", "verdict", "horizon"):
                metrics[key]  # noqa: B018 - presence check
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise ArtifactError(f"{run} has an invalid backtest manifest or metrics file: {exc!r}") from None
        try:
            forecasts = pd.read_csv(run / FORECASTS_FILE, parse_dates=["cutoff", "timestamp"])
            table = pd.read_csv(run / FOLDS_FILE, parse_dates=["train_start", "train_end", "cutoff", "test_start", "test_end"])
        except (ValueError, pd.errors.ParserError) as exc:
            raise ArtifactError(f"Cannot read the tables of {run}: {exc}") from None
        missing = [c for c in FORECAST_COLUMNS if c not in forecasts.columns]
        if missing:
            raise ArtifactError(f"{run / FORECASTS_FILE} lacks the column(s) {', '.join(missing)}.")
        folds = [
            Fold(
                int(r.fold), int(r.train_start_row), int(r.train_end_row), int(r.cutoff_row),
                np.arange(int(r.cutoff_row), int(r.last_origin_row) + 1, config.stride, dtype=np.int64),
                r.fit == "fit", int(str(r.fit).split()[-1]) if r.fit != "fit" else int(r.fold),
            )
            for r in table.itertuples(index=False)
        ]
        histories = []
        if (run / HISTORY_FILE).is_file():
            hist = pd.read_csv(run / HISTORY_FILE)
            for _, part in hist.groupby("fit", sort=True):
                histories.append({c: part[c].tolist() for c in part.columns if c not in ("fit", "fold", "epoch")})
        return cls(
            data=data, fc_config=fc_config, config=config, season=season,
            season_inferred=bool(manifest.get("season_inferred", True)), folds=folds, fold_table=table,
            forecasts=forecasts, metrics=metrics, fits=list(manifest.get("fits", [])), histories=histories,
            timings=dict(manifest.get("timings", {})),
        )


def _history_frame(histories: list[dict[str, list[float]]], fits: list[dict[str, Any]]) -> pd.DataFrame:
    parts = []
    for i, (hist, fit) in enumerate(zip(histories, fits)):
        n = max((len(v) for v in hist.values()), default=0)
        part = pd.DataFrame({k: list(v) + [np.nan] * (n - len(v)) for k, v in hist.items()})
        part.insert(0, "epoch", np.arange(1, n + 1))
        part.insert(0, "fold", fit["fold"])
        part.insert(0, "fit", i + 1)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["fit", "fold", "epoch"])


def _jsonable(value: Any) -> Any:
    """NaN/inf become null: metrics.json stays strict JSON (MAPE may be undefined)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
