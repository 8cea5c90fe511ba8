"""Seasonal adjustment of each series of a panel: M4's Naive2 decomposition, fitted on training rows only.

``data.deseason`` (``--deseason``): before scaling, each series' target is divided by its multiplicative seasonal
indices, and the network (and its base) forecasts the adjusted series; each forecast is multiplied back by the
indices of the forecast rows' positions in the season. It is the decomposition of M4's Naive2 benchmark, and
close to what the ES-RNN hybrid that won M4 did (the network works on a deseasonalised level):

* **Which series.** Only series whose training rows are all positive, hold at least three whole seasons, and pass
  the M4 seasonality test (:func:`seasonal_test`: the autocorrelation at the season's lag beyond 1.645 Bartlett
  standard errors, a 90 % test). The others keep indices of 1: nothing changes for them.
* **The indices** (:func:`seasonal_indices`): classical multiplicative decomposition of the training rows: a
  centred moving average of one season (2 x m for an even m) as the trend, the mean ratio of value to trend at
  each position of the season, normalised to mean 1. Read from the training rows only, so nothing after a
  series' validation cutoff (a backtest fold's cutoff) enters them.
* **Positions in the season** (:func:`grid_ordinal`) come from the timestamps, counted on the frequency's grid
  from a fixed epoch, so new data given to ``predict`` (a longer history, a window starting elsewhere) lines up
  with the indices learned at fit. A frequency without a fixed grid (an exchange's sessions) has no positions:
  the adjustment is then off, and the fit says so.

The inverse is exact: positive indices multiply forecasts, quantiles and interval bounds in original units, so
their order is kept.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pandas.tseries import offsets
from pandas.tseries.frequencies import to_offset

_EPOCH = pd.Timestamp("1970-01-01")


def seasonal_test(x: np.ndarray, season: int) -> bool:
    """M4's seasonality test: ``|ACF(season)|`` beyond 1.645 standard errors (Bartlett), i.e. seasonal at 90 %.

    >>> t = np.arange(48)
    >>> seasonal_test(10 + np.sin(2 * np.pi * t / 12), 12), seasonal_test(np.linspace(1, 2, 48), 12)
    (True, False)
    """
    x = np.asarray(x, dtype=np.float64)
    if season < 2 or len(x) <= season:
        return False
    xc = x - x.mean()
    denom = float((xc**2).sum())
    if not denom > 0:
        return False
    acf = np.array([float((xc[k:] * xc[: len(x) - k]).sum()) / denom for k in range(season + 1)])
    limit = 1.645 * math.sqrt((1 + 2 * float((acf[1:season] ** 2).sum())) / len(x))
    return bool(abs(acf[season]) > limit)


def seasonal_indices(x: np.ndarray, season: int, first_position: int = 0) -> np.ndarray | None:
    """Multiplicative seasonal indices ``(season,)`` of ``x`` (mean 1), indexed by position in the season; None when
    ``x`` is not seasonal by :func:`seasonal_test`, not positive, or shorter than three seasons.

    ``first_position`` is the position of ``x[0]`` in the season (see :func:`grid_ordinal`).

    >>> x = np.tile([8.0, 12.0], 6) * np.linspace(1, 2, 12)  # a season of 2, the first row at position 1
    >>> seasonal_indices(x, 2, first_position=1).round(2).tolist()
    [1.2, 0.8]
    """
    x = np.asarray(x, dtype=np.float64)
    if season < 2 or len(x) < 3 * season or not np.isfinite(x).all() or not (x > 0).all() or not seasonal_test(x, season):
        return None
    w = np.r_[0.5, np.ones(season - 1), 0.5] / season if season % 2 == 0 else np.ones(season) / season
    trend = np.convolve(x, w, mode="valid")
    off = (len(x) - len(trend)) // 2
    ratio = x[off : off + len(trend)] / trend
    pos = (np.arange(off, off + len(trend)) + first_position) % season
    idx = np.array([ratio[pos == p].mean() for p in range(season)])
    idx = idx / idx.mean()
    return idx if np.isfinite(idx).all() and (idx > 0).all() else None


def grid_ordinal(times, freq: str | None) -> np.ndarray | None:
    """Each timestamp's step number on the frequency's grid, counted from 1970-01-01 (int64); None when the
    frequency has no fixed grid (an exchange calendar, an unknown offset).

    Months and quarters count calendar months (``//3``), years calendar years, weeks and days days, business days
    weekdays, and sub-daily frequencies whole steps. ``ordinal % season`` is a row's position in the season.

    >>> grid_ordinal(pd.DatetimeIndex(["2000-01-01", "2000-04-01"]), "QS").tolist()
    [8000, 8001]
    """
    if freq is None:
        return None
    try:
        off = to_offset(freq)
    except ValueError:
        return None
    t = pd.DatetimeIndex([times] if isinstance(times, pd.Timestamp) else times)
    if t.tz is not None:
        t = t.tz_localize(None)
    n = max(int(getattr(off, "n", 1)), 1)
    if isinstance(off, (offsets.MonthBegin, offsets.MonthEnd)):
        steps = t.year.to_numpy(np.int64) * 12 + t.month.to_numpy(np.int64) - 1
    elif isinstance(off, (offsets.QuarterBegin, offsets.QuarterEnd)):
        steps = (t.year.to_numpy(np.int64) * 12 + t.month.to_numpy(np.int64) - 1) // 3
    elif isinstance(off, (offsets.YearBegin, offsets.YearEnd)):
        steps = t.year.to_numpy(np.int64)
    elif isinstance(off, offsets.Week):
        steps = (t.normalize() - _EPOCH).days.to_numpy(np.int64) // 7
    elif isinstance(off, offsets.BusinessDay) and type(off) is offsets.BusinessDay:
        steps = np.busday_count(np.datetime64("1970-01-01", "D"), t.to_numpy().astype("datetime64[D]")).astype(np.int64)
    elif isinstance(off, offsets.Day):
        steps = (t.normalize() - _EPOCH).days.to_numpy(np.int64)
        return steps // n
    elif isinstance(off, offsets.Tick):
        step_ns = int(pd.Timedelta(off).value)
        return (t - _EPOCH).to_numpy().astype("timedelta64[ns]").astype(np.int64) // step_ns
    else:
        return None
    return steps // n


def adjust(values: np.ndarray, indices: np.ndarray | None, first_ordinal: int) -> np.ndarray:
    """``values`` (rows, columns; the target first) with the target divided by the indices of its rows' positions;
    ``first_ordinal`` is the grid ordinal of row 0. A copy; ``indices`` None returns ``values`` itself."""
    if indices is None:
        return values
    out = np.array(values, dtype=np.float64, copy=True)
    m = len(indices)
    out[:, 0] /= indices[(first_ordinal + np.arange(len(out))) % m]
    return out
