"""Fold planning: which origins a backtest forecasts, and on which rows each model trains.

A backtest replays history. At each **origin** ``o`` (the first row that is
not yet observed; the same convention as :mod:`forecaster.baselines` and
:meth:`Forecaster.predict_origins`) the model forecasts rows
``o .. o + horizon - 1`` from the rows before ``o``. Origins are grouped into
**folds**; each fold has a **cutoff** (its first origin) and a training range
that ends before it::

    rows:   0 ............................................................ n
            |== train fold 1 ==|gap|o o o o o|
            |========= train fold 2 =========|gap|o o o o o|
            |================== train fold 3 ==================|gap|o o o o o|
                                    ^ cutoff 1          ^ cutoff 2       ^ cutoff 3

    fold k: training rows [train_start, cutoff_k - gap), test origins
            cutoff_k, cutoff_k + origin_stride, ... < cutoff_{k+1}

Worked example: ``n_rows=100, lookback=10, horizon=5, origin_stride=5,
folds=2``, default first cutoff ``100 - round(0.2 * 100) = 80``: origins are
``80, 85, 90, 95`` (the last origin is ``n - horizon = 95``, whose targets are
rows 95..99), fold 1 has cutoff 80 and origins ``80, 85``, fold 2 cutoff 90
and origins ``90, 95``; with an expanding window fold 1 trains on rows
``[0, 80)`` and fold 2 on ``[0, 90)``.

Choosing origins and folds (:class:`BacktestConfig`):

* ``start`` is the first cutoff: a row position, a fraction of the rows
  (``0.8``) or a date (the first row at or after it). Default: the last 20 %
  of the rows are forecast, but never with fewer training rows than a fit
  needs.
* ``origin_stride`` is the step between forecast origins (1: forecast from
  every row); not to be confused with the model's ``window_stride``, the step
  between training windows. The CLI spells it ``--stride``.
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

Everything here is index arithmetic (numpy and pandas only, no Keras).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from forecaster.baselines import infer_season
from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError, DataError

__all__ = [
    "BacktestConfig",
    "BacktestPlan",
    "Fold",
    "fold_table",
    "format_fold_table",
    "min_train_rows",
    "plan_backtest",
    "plan_folds",
    "stamp_format",
]

REFIT_POLICIES = ("always", "never")
WINDOWS = ("expanding", "fixed")
#: Folds used when neither ``folds`` nor ``start`` is given.
DEFAULT_FOLDS = 5
#: Share of the rows forecast when ``start`` is not given.
DEFAULT_TEST_FRACTION = 0.2
#: Keys of backtest configs saved before ``stride`` was renamed ``origin_stride``.
_LEGACY_KEYS = {"stride": "origin_stride"}


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
        origin_stride: rows between consecutive forecast origins.
        refit: ``"always"``, ``"never"`` or a positive integer N (every N folds).
        window: ``"expanding"`` or ``"fixed"`` training window.
        train_size: rows per training window with ``window="fixed"``
            (default: the first fold's).
        gap: rows left out between the end of training and the cutoff.
        season: season length for seasonal naive, window mean and MASE
            (default: inferred from the series' frequency).
        refit_warm: each refit after the first starts from the previous
            fit's network weights (a fresh optimizer, the fold's own scaler)
            instead of a random initialisation. Default ``False``: every fit
            is independent of the others.

    >>> BacktestConfig(folds=10, refit="never").refit
    'never'
    >>> BacktestConfig(refit=0)
    Traceback (most recent call last):
    ...
    forecaster.exceptions.ConfigError: `refit` must be 'always', 'never' or a positive integer N (refit every N folds). Received: refit=0
    """

    folds: int | None = None
    start: int | float | str | None = None
    origin_stride: int = 1
    refit: str | int = "always"
    window: str = "expanding"
    train_size: int | None = None
    gap: int = 0
    season: int | None = None
    #: Conformal intervals: ``validation`` (each fold's model's validation windows) or ``rolling`` (those plus
    #: every earlier origin's errors observed by the cutoff; see :func:`forecaster.intervals.rolling_radius`);
    #: ``adaptive``: rolling at a level that adapts to the misses observed so far
    #: (:func:`forecaster.intervals.adaptive_radius`);
    #: ``auto``: adaptive, for one series and for a panel (one fit; each series' pool is the fit's pooled
    #: validation scores plus its own earlier errors).
    calibration: str = "auto"
    refit_warm: bool = False

    @property
    def resolved_calibration(self) -> str:
        """``calibration`` with ``auto`` resolved: ``validation``, ``rolling`` or ``adaptive``."""
        return "adaptive" if self.calibration == "auto" else self.calibration

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
        if not _is_int(self.origin_stride, 1):
            raise ConfigError(
                f"`origin_stride` must be a positive integer. Received: origin_stride={self.origin_stride!r}"
            )
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
        if self.calibration not in CALIBRATIONS:
            raise ConfigError(
                f"`calibration` must be one of {', '.join(CALIBRATIONS)}. Received: calibration={self.calibration!r}"
            )
        if not isinstance(self.refit_warm, bool):
            raise ConfigError(f"`refit_warm` must be true or false. Received: refit_warm={self.refit_warm!r}")
        if self.refit_warm and self.refit == "never":
            raise ConfigError("`refit_warm` needs refits: pass --refit always or --refit N, or drop --refit-warm.")
        if self.season is not None and not _is_int(self.season, 1):
            raise ConfigError(f"`season` must be a positive integer or None. Received: season={self.season!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON representation."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BacktestConfig":
        """Rebuild a config; unknown keys are an error (``stride``, the key written before it was
        renamed ``origin_stride``, is read as ``origin_stride``)."""
        if not isinstance(data, dict):
            raise ConfigError(f"A backtest config must be a JSON object. Received: {type(data).__name__}")
        data = {_LEGACY_KEYS.get(k, k): v for k, v in data.items()}
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"Unknown backtest config key(s): {', '.join(unknown)}.")
        return cls(**data)

    def replace(self, **changes: Any) -> "BacktestConfig":
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def describe_refit(self) -> str:
        warm = ", warm" if self.refit_warm else ""
        if self.refit in REFIT_POLICIES:
            return f"{self.refit}{warm}"
        return (f"every {self.refit} folds" if self.refit != 1 else "always") + warm


#: How a backtest calibrates conformal intervals (``BacktestConfig.calibration``).
CALIBRATIONS = ("auto", "validation", "rolling", "adaptive")


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
    ``origin_stride``, each at least ``lookback`` and ``season``, with all targets
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
    >>> [(f.train_start, f.train_end, f.origins.tolist()) for f in plan_folds(100, BacktestConfig(folds=2, origin_stride=5), cfg)]
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
    origins = np.arange(first, last_origin + 1, config.origin_stride, dtype=np.int64)

    n_folds = config.folds if config.folds is not None else (DEFAULT_FOLDS if config.start is None else None)
    refit = config.refit
    if n_folds is not None:
        if len(origins) < n_folds:
            raise DataError(
                f"folds={n_folds} needs at least {n_folds} origins, but rows {first}..{last_origin} with "
                f"origin_stride={config.origin_stride} give {len(origins)}. Reduce --folds or --stride, or start earlier."
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


def plan_backtest(series: Any, fc_config: ForecastConfig, config: BacktestConfig) -> BacktestPlan:
    """Resolve the season and a date ``start`` on ``series``, then :func:`plan_folds`.

    ``series`` is what :func:`forecaster.data.load` returns (its ``freq``,
    ``index``, ``target``, ``features`` and length are used).
    """
    season_inferred = config.season is None
    season = infer_season(series.freq) if season_inferred else int(config.season)  # type: ignore[arg-type]
    if isinstance(config.start, str):
        config = config.replace(start=_start_row(series.index, config.start))
    if fc_config.data.target is not None and fc_config.data.target != series.target:
        raise DataError(f"The config's target is {fc_config.data.target!r} but the series' target is {series.target!r}.")
    fc_config = fc_config.replace(target=series.target, features=tuple(series.features))
    if fc_config.window.lookback is None:
        # An automatic lookback is fixed once for every fold, from the number of rows before the first
        # cutoff (a count, no values): every refit then trains the same architecture.
        from forecaster.choices import auto_lookback

        n = len(series)
        start = config.start
        first = (n - int(round(DEFAULT_TEST_FRACTION * n)) if start is None
                 else int(round(start * n)) if isinstance(start, float) else int(start))
        rows = config.train_size if config.window == "fixed" and config.train_size else first - config.gap
        model_season = fc_config.window.season or season
        lookback = auto_lookback(max(rows, 1), model_season, fc_config.window.horizon, fc_config.window.val_fraction)
        fc_config = fc_config.replace(lookback=lookback)
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


def stamp_format(index: pd.DatetimeIndex) -> str:
    """Dates alone for daily and coarser series, date and clock time otherwise."""
    return "%Y-%m-%d" if (index == index.normalize()).all() else "%Y-%m-%d %H:%M"


def format_fold_table(table: pd.DataFrame) -> str:
    """The fold table as printed before a backtest runs."""
    shown = table[["fold", "fit", "train_start", "train_end", "train_rows", "cutoff", "test_start", "test_end", "origins"]]
    shown = shown.rename(columns={"train_start": "train from", "train_end": "train to", "train_rows": "rows",
                                  "test_start": "test from", "test_end": "test to"})
    stamps = ["train from", "train to", "cutoff", "test from", "test to"]
    fmt = stamp_format(pd.DatetimeIndex(pd.concat([shown[c] for c in stamps])))
    formatters = {c: (lambda v, fmt=fmt: pd.Timestamp(v).strftime(fmt)) for c in stamps}
    return shown.to_string(index=False, formatters=formatters)


