"""Classic forecasting baselines, vectorised over many forecast origins.

Every baseline makes direct multi-step forecasts for many origins at once
(no Python loop over origins) and returns an array of shape
``(len(origins), horizon)``, ready to be scored with :mod:`forecaster.evaluation.metrics`
against the same windows a model is evaluated on.

Origin convention
-----------------
``history`` is the 1-D target series in original units and ``origins`` a 1-D
integer array of positions in it. **Origin** ``o`` **means the last observed
point is** ``history[o - 1]``: the forecast covers positions
``o, o + 1, ..., o + horizon - 1`` and may only use ``history[:o]``. Row ``i``,
column ``k - 1`` of the result is the ``k``-step-ahead forecast (``k`` is
1-based) of ``history[origins[i] + k - 1]``. Valid origins satisfy
``1 <= o <= len(history)``; ``o == len(history)`` forecasts past the end of the
data.

Worked example, ``history = [10, 11, 12, 13, 14, 15]``, ``origins = [4]``,
``horizon = 2``::

    position:   0   1   2   3 | 4   5
    history:   10  11  12  13 | 14  15
               observed: history[:4] | targets: history[4:6]

    naive                     -> [[13, 13]]            (history[3] repeated)
    seasonal_naive, season=2  -> [[12, 13]]            (history[2], history[3])
    drift                     -> [[14, 15]]            (13 + k * (13 - 10) / 3)
    window_mean, window=2     -> [[12.5, 12.5]]        (mean of history[2:4])

:data:`BASELINES` is the one registry (name -> label, formula, function) that
historical forecasts and reports use.

Nothing at or after position ``o`` is ever read for origin ``o``; the tests
check this by changing ``history[o:]`` and asserting the forecasts for ``o``
stay identical.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from pandas.tseries.frequencies import to_offset

from forecaster.exceptions import ConfigError, DataError

__all__ = [
    "BASELINES",
    "Baseline",
    "all_baselines",
    "drift",
    "infer_season",
    "naive",
    "seasonal_naive",
    "window_mean",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def _prepare(history: ArrayLike, origins: ArrayLike, horizon: object) -> tuple[FloatArray, IntArray, int]:
    """Validate the common arguments; return float history, int origins, horizon."""
    horizon = _check_positive_int(horizon, "horizon")
    try:
        hist = np.asarray(history, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"`history` must be a 1-D array of numbers. Received: {type(history).__name__} ({exc})"
        ) from None
    if hist.ndim != 1 or hist.shape[0] == 0:
        raise DataError(f"`history` must be a non-empty 1-D series. Received: history.shape={hist.shape}")

    orig = np.asarray(origins)
    if orig.size == 0:
        orig = orig.astype(np.int64)
    if orig.ndim != 1 or not np.issubdtype(orig.dtype, np.integer):
        raise DataError(
            "`origins` must be a 1-D array of integer positions. "
            f"Received: origins.shape={orig.shape}, origins.dtype={orig.dtype}"
        )
    orig = orig.astype(np.int64, copy=False)
    n = hist.shape[0]
    bad = (orig < 1) | (orig > n)
    if bad.any():
        shown = orig[bad][:5].tolist()
        raise DataError(
            f"Every origin must satisfy 1 <= origin <= len(history) = {n} (origin o forecasts from "
            f"history[:o]). Received: {int(bad.sum())} origin(s) out of range, e.g. {shown}"
        )
    if orig.size:
        used = hist[: int(orig.max())]
        if not np.isfinite(used).all():
            first = int(np.flatnonzero(~np.isfinite(used))[0])
            raise DataError(
                "`history` must not contain NaN or infinite values before the last origin. "
                f"Received: history[{first}]={float(hist[first])!r}"
            )
    return hist, orig, horizon


def _require_min_origin(orig: IntArray, minimum: int, what: str, fix: str) -> None:
    if orig.size and int(orig.min()) < minimum:
        raise DataError(
            f"{what} needs every origin >= {minimum}. Received: min(origins)={int(orig.min())}. {fix}"
        )


def _steps(horizon: int) -> FloatArray:
    """``[1, 2, ..., horizon]`` as a row vector (the 1-based step ``k``)."""
    return np.arange(1, horizon + 1, dtype=np.float64)[None, :]


# --------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------


def naive(history: ArrayLike, origins: ArrayLike, horizon: int) -> FloatArray:
    """Naive (random-walk) forecast: repeat the last observed value.

    ``yhat[o, k] = history[o - 1]`` for every step ``k = 1..horizon``.

    Args:
        history: 1-D target series in original units.
        origins: 1-D integer positions; origin ``o`` uses ``history[:o]``.
        horizon: Number of steps to forecast (positive integer).

    Returns:
        Float array of shape ``(len(origins), horizon)``.

    Raises:
        DataError: If ``history`` / ``origins`` are malformed or an origin is
            outside ``1..len(history)``.
        ConfigError: If ``horizon`` is not a positive integer.

    >>> naive([10.0, 11.0, 12.0, 13.0], [2, 4], horizon=3).tolist()
    [[11.0, 11.0, 11.0], [13.0, 13.0, 13.0]]
    """
    hist, orig, horizon = _prepare(history, origins, horizon)
    last = hist[orig - 1]
    return np.repeat(last[:, None], horizon, axis=1)


def seasonal_naive(history: ArrayLike, origins: ArrayLike, horizon: int, season: int) -> FloatArray:
    """Seasonal naive forecast: the value one season earlier.

    ``yhat[o, k] = history[o - season + ((k - 1) % season)]`` for
    ``k = 1..horizon``: the last observed season is repeated for horizons
    longer than ``season``. ``season=1`` is the naive forecast.

    Args:
        history: 1-D target series in original units.
        origins: 1-D integer positions; origin ``o`` uses ``history[:o]``.
        horizon: Number of steps to forecast (positive integer).
        season: Season length in steps (positive integer), see
            :func:`infer_season`.

    Returns:
        Float array of shape ``(len(origins), horizon)``.

    Raises:
        DataError: If inputs are malformed, or an origin is below ``season``
            (a full season must be observed before each origin).
        ConfigError: If ``horizon`` or ``season`` is not a positive integer.

    >>> seasonal_naive([1.0, 2.0, 3.0, 4.0, 5.0], [4], horizon=3, season=2).tolist()
    [[3.0, 4.0, 3.0]]
    """
    season = _check_positive_int(season, "season")
    hist, orig, horizon = _prepare(history, origins, horizon)
    _require_min_origin(
        orig,
        season,
        f"seasonal_naive with season={season}",
        f"Start forecasting at origin >= {season} (a full season of history) or pass a smaller `season`.",
    )
    offsets = np.arange(horizon, dtype=np.int64) % season
    idx = orig[:, None] - season + offsets[None, :]
    return hist[idx]


def drift(history: ArrayLike, origins: ArrayLike, horizon: int, window: int | None = None) -> FloatArray:
    """Drift forecast (Hyndman & Athanasopoulos): extend the line through the data.

    With ``window=None`` the slope is that of the line from the first to the
    last observed point:
    ``yhat[o, k] = history[o - 1] + k * (history[o - 1] - history[0]) / (o - 1)``.

    With an integer ``window`` the slope is estimated from the last ``window``
    observed points only (a local trend):
    ``yhat[o, k] = history[o - 1] + k * (history[o - 1] - history[o - window]) / (window - 1)``.

    Args:
        history: 1-D target series in original units.
        origins: 1-D integer positions; origin ``o`` uses ``history[:o]``.
        horizon: Number of steps to forecast (positive integer).
        window: ``None`` to use all of ``history[:o]``, or an integer
            ``>= 2``: number of most recent points the slope is estimated on.

    Returns:
        Float array of shape ``(len(origins), horizon)``.

    Raises:
        DataError: If inputs are malformed, or an origin is below 2 (below
            ``window`` when given): a slope needs two observed points.
        ConfigError: If ``horizon`` is not a positive integer or ``window``
            is not ``None`` or an integer ``>= 2``.

    >>> drift([10.0, 11.0, 12.0, 13.0], [4], horizon=2).tolist()
    [[14.0, 15.0]]
    """
    if window is not None and (
        isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 2
    ):
        raise ConfigError(
            f"`window` must be None or an integer >= 2 (a slope needs two points). Received: window={window!r}"
        )
    hist, orig, horizon = _prepare(history, origins, horizon)
    if window is None:
        _require_min_origin(
            orig, 2, "drift", "Start forecasting at origin >= 2 (two observed points are needed for a slope)."
        )
        first = hist[0]
        span = (orig - 1).astype(np.float64)
    else:
        window = int(window)
        _require_min_origin(
            orig,
            window,
            f"drift with window={window}",
            f"Start forecasting at origin >= {window} or pass a smaller `window`.",
        )
        first = hist[orig - window]
        span = float(window - 1)
    last = hist[orig - 1]
    slope = (last - first) / span
    return last[:, None] + _steps(horizon) * slope[:, None]


def window_mean(history: ArrayLike, origins: ArrayLike, horizon: int, window: int) -> FloatArray:
    """Moving-average forecast: the mean of the last ``window`` observed points.

    ``yhat[o, k] = mean(history[o - window : o])`` for every ``k = 1..horizon``.

    Args:
        history: 1-D target series in original units.
        origins: 1-D integer positions; origin ``o`` uses ``history[:o]``.
        horizon: Number of steps to forecast (positive integer).
        window: Number of most recent observed points to average.

    Returns:
        Float array of shape ``(len(origins), horizon)``.

    Raises:
        DataError: If inputs are malformed, or an origin is below ``window``.
        ConfigError: If ``horizon`` or ``window`` is not a positive integer.

    >>> window_mean([1.0, 2.0, 6.0, 4.0], [3, 4], horizon=2, window=2).tolist()
    [[4.0, 4.0], [5.0, 5.0]]
    """
    window = _check_positive_int(window, "window")
    hist, orig, horizon = _prepare(history, origins, horizon)
    _require_min_origin(
        orig,
        window,
        f"window_mean with window={window}",
        f"Start forecasting at origin >= {window} or pass a smaller `window`.",
    )
    if orig.size == 0:
        return np.empty((0, horizon), dtype=np.float64)
    # windows[j] == hist[j : j + window], so windows[o - window] == hist[o - window : o].
    windows = sliding_window_view(hist, window)
    means = windows[orig - window].mean(axis=1)
    return np.repeat(means[:, None], horizon, axis=1)


@dataclass(frozen=True)
class Baseline:
    """One entry of :data:`BASELINES`: its name, label, formula and function.

    Calling the entry calls the function, so ``BASELINES["naive"](history,
    origins, horizon)`` works. :meth:`forecast` gives every baseline the same
    signature: it passes ``season`` and ``window`` only to the baselines that
    take them (``params``).

    Attributes:
        name: registry key, also the forecast table's column.
        label: name in words (``"seasonal naive"``).
        formula: how the forecast is made, written into ``metrics.json``.
        fn: the function, ``(history, origins, horizon, ...)``.
        params: which of ``season`` / ``window`` the function takes.
    """

    name: str
    label: str
    formula: str
    fn: Callable[..., FloatArray]
    params: tuple[str, ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> FloatArray:
        return self.fn(*args, **kwargs)

    def forecast(self, history: ArrayLike, origins: ArrayLike, horizon: int, *, season: int, window: int) -> FloatArray:
        """Forecasts of shape ``(len(origins), horizon)``, with this baseline's own settings taken from
        ``season`` (the season length) and ``window`` (the averaging window)."""
        given = {"season": season, "window": window}
        return self.fn(history, origins, horizon, **{k: given[k] for k in self.params})


#: Baseline name -> :class:`Baseline`, in the order reports show them.
#: ``drift`` uses the whole observed history (Hyndman's drift) here; its
#: function also accepts a ``window`` for a local slope.
BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline("naive", "naive", "yhat[o, k] = y[o - 1] (the last observed value)", naive),
        Baseline(
            "seasonal_naive", "seasonal naive",
            "yhat[o, k] = y[o - season + ((k - 1) % season)] (the value one season earlier)",
            seasonal_naive, ("season",),
        ),
        Baseline(
            "drift", "drift",
            "yhat[o, k] = y[o - 1] + k * (y[o - 1] - y[0]) / (o - 1) (the line from the first to the last observation)",
            drift,
        ),
        Baseline(
            "window_mean", "window mean", "yhat[o, k] = mean(y[o - window : o]) (window = season unless given)",
            window_mean, ("window",),
        ),
    )
}


def formulas() -> dict[str, str]:
    """Baseline name -> formula text (what ``metrics.json`` records)."""
    return {name: b.formula for name, b in BASELINES.items()}


def all_baselines(
    history: ArrayLike,
    origins: ArrayLike,
    horizon: int,
    season: int,
    window: int | None = None,
) -> dict[str, FloatArray]:
    """Run every baseline of :data:`BASELINES` on the same origins.

    ``drift`` uses the whole observed history (Hyndman's drift);
    ``window_mean`` averages the last ``window`` points, ``window`` defaulting
    to ``season``.

    Args:
        history: 1-D target series in original units.
        origins: 1-D integer positions; origin ``o`` uses ``history[:o]``.
        horizon: Number of steps to forecast (positive integer).
        season: Season length in steps, for ``seasonal_naive``.
        window: Window of ``window_mean``; ``None`` means ``season``.

    Returns:
        ``{"naive", "seasonal_naive", "drift", "window_mean"}`` mapped to
        arrays of shape ``(len(origins), horizon)``.

    Raises:
        DataError: If an origin is too early for a baseline (see each one).
        ConfigError: If an integer argument is invalid.

    >>> out = all_baselines([1.0, 2.0, 3.0, 4.0], [4], horizon=1, season=2)
    >>> {name: forecast.tolist() for name, forecast in out.items()}
    {'naive': [[4.0]], 'seasonal_naive': [[3.0]], 'drift': [[5.0]], 'window_mean': [[3.5]]}
    """
    season = _check_positive_int(season, "season")
    window = season if window is None else window
    return {name: b.forecast(history, origins, horizon, season=season, window=window) for name, b in BASELINES.items()}


# --------------------------------------------------------------------------
# Season inference
# --------------------------------------------------------------------------

# Aliases removed or renamed in recent pandas versions -> current spelling.
_LEGACY_ALIASES: dict[str, str] = {
    "H": "h",
    "T": "min",
    "S": "s",
    "L": "ms",
    "U": "us",
    "N": "ns",
    "BH": "bh",
    "CBH": "cbh",
    "M": "ME",
    "BM": "BME",
    "CBM": "CBME",
    "SM": "SME",
    "Q": "QE",
    "BQ": "BQE",
    "A": "YE",
    "Y": "YE",
    "BA": "BYE",
    "BY": "BYE",
    "AS": "YS",
    "BAS": "BYS",
}
# Current spelling -> older one, for pandas versions that predate the rename.
_MODERN_ALIASES: dict[str, str] = {
    "h": "H",
    "min": "T",
    "ME": "M",
    "BME": "BM",
    "SME": "SM",
    "QE": "Q",
    "BQE": "BQ",
    "YE": "A",
    "BYE": "BA",
}
_FREQ_RE = re.compile(r"^([+-]?\d+)?([A-Za-z]+)(-\w+)?$")

_NS_PER_DAY = 86_400 * 10**9
_NS_PER_WEEK = 7 * _NS_PER_DAY

_MONTHLY = (
    pd.offsets.MonthBegin,
    pd.offsets.MonthEnd,
    pd.offsets.BusinessMonthBegin,
    pd.offsets.BusinessMonthEnd,
    pd.offsets.CustomBusinessMonthBegin,
    pd.offsets.CustomBusinessMonthEnd,
    pd.offsets.WeekOfMonth,
    pd.offsets.LastWeekOfMonth,
)
_SEMI_MONTHLY = (pd.offsets.SemiMonthBegin, pd.offsets.SemiMonthEnd)
_QUARTERLY = (
    pd.offsets.QuarterBegin,
    pd.offsets.QuarterEnd,
    pd.offsets.BQuarterBegin,
    pd.offsets.BQuarterEnd,
    pd.offsets.FY5253Quarter,
)
_YEARLY = (
    pd.offsets.YearBegin,
    pd.offsets.YearEnd,
    pd.offsets.BYearBegin,
    pd.offsets.BYearEnd,
    pd.offsets.FY5253,
    pd.offsets.Easter,
)


def _parse_freq(freq: str) -> pd.offsets.BaseOffset | None:
    """Parse ``freq`` with pandas, also accepting older / newer aliases."""
    text = freq.strip()
    candidates = [text]
    match = _FREQ_RE.match(text)
    if match:
        mult, base, suffix = match.group(1) or "", match.group(2), match.group(3) or ""
        for table in (_LEGACY_ALIASES, _MODERN_ALIASES):
            if base in table:
                candidates.append(f"{mult}{table[base]}{suffix}")
    for candidate in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return to_offset(candidate)
        except (ValueError, TypeError, KeyError):
            continue
    return None


def _divide(cycle: int, n: int) -> int | None:
    """``cycle // n`` when ``n`` steps fit a whole number of times in ``cycle``."""
    return cycle // n if n >= 1 and cycle % n == 0 else None


def infer_season(freq: str) -> int:
    """Infer a season length (steps per natural cycle) from a pandas frequency.

    The cycle is the day for sub-daily data, the week for daily and business
    daily data, and the year for weekly and coarser data; the season is the
    number of steps per cycle, so multiples divide it (``'2h'`` -> 12):

    * minutely ``'min'`` / ``'T'`` -> 1440; 5-minute -> 288; 10-minute -> 144;
      15-minute -> 96; half-hourly ``'30min'`` / ``'30T'`` -> 48;
      hourly ``'h'`` / ``'H'`` / ``'1h'`` -> 24 (cycle: one day);
    * daily ``'D'`` -> 7; business / trading days ``'B'``, ``'C'`` -> 5
      (cycle: one week);
    * weekly ``'W'``, ``'W-SUN'``, ``'W-SAT'``... -> 52; monthly ``'MS'``,
      ``'ME'``, ``'M'`` -> 12; quarterly ``'QS'``, ``'QE'``, ``'Q-DEC'``... -> 4
      (cycle: one year);
    * yearly ``'YS'``, ``'YE'``, ``'Y'``, ``'A'`` -> 1 (no seasonality).

    Frequencies are parsed with :func:`pandas.tseries.frequencies.to_offset`;
    legacy aliases removed from recent pandas (``'H'``, ``'T'``, ``'M'``,
    ``'Q-DEC'``, ``'A'``...) are accepted too.

    Args:
        freq: A pandas frequency string, e.g. ``'h'``, ``'15min'``, ``'W-SUN'``.

    Returns:
        The season length as a positive integer.

    Raises:
        ConfigError: If ``freq`` cannot be parsed or has no whole number of
            steps per cycle (e.g. ``'7min'``, ``'2D'``); pass ``--season``
            explicitly then.

    >>> infer_season("h"), infer_season("2h"), infer_season("W-SUN"), infer_season("MS")
    (24, 12, 52, 12)
    """
    hint = "Pass the season length explicitly with --season."
    if not isinstance(freq, str):
        raise ConfigError(
            f"`freq` must be a pandas frequency string such as 'h' or 'D'. {hint} Received: freq={freq!r}"
        )
    offset = _parse_freq(freq)
    if offset is None:
        raise ConfigError(f"Unknown frequency; cannot infer a season length. {hint} Received: freq={freq!r}")

    n = abs(int(offset.n))
    season: int | None = None
    if isinstance(offset, (pd.offsets.Tick, pd.offsets.Day)):
        step = int(pd.Timedelta(offset).value)
        if 0 < step < _NS_PER_DAY:
            season = _divide(_NS_PER_DAY, step)
        elif step == _NS_PER_DAY:
            season = 7
        elif step == _NS_PER_WEEK:
            season = 52
    elif isinstance(offset, pd.offsets.Week):
        season = _divide(52, n)
    elif isinstance(offset, pd.offsets.BusinessDay):  # also CustomBusinessDay
        season = _divide(5, n)
    elif isinstance(offset, _MONTHLY):
        season = _divide(12, n)
    elif isinstance(offset, _SEMI_MONTHLY):
        season = _divide(24, n)
    elif isinstance(offset, _QUARTERLY):
        season = _divide(4, n)
    elif isinstance(offset, _YEARLY):
        season = 1

    if season is None:
        raise ConfigError(
            f"Cannot infer a season length from this frequency (no whole number of steps per day, week "
            f"or year). {hint} Received: freq={freq!r}"
        )
    return season
