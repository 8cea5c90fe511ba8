"""The Theta method per series, the forecast the network is combined with (``output.combine``, ``--combine``).

The Theta method won the M3 competition (Assimakopoulos and Nikolopoulos, 2000). Hyndman and Billah (2003) showed
it is simple exponential smoothing with a drift of half the series' linear trend: at an origin after ``n`` rows,
step ``k`` is forecast as

    level_n + slope_n / 2 * (k - 1 + 1 / alpha - (1 - alpha) ** n / alpha)

where ``level_n`` is the smoothed level (weight ``alpha`` on the newest row, the first row as the initial level)
and ``slope_n`` the least-squares slope of the ``n`` rows against time. Applied to the seasonally adjusted series
(``--deseason``, M4's decomposition), and reseasonalised, it is the classical method.

For a panel it runs on the buffer in model units (each series scaled by its own scaler, seasonally adjusted
where the panel is): the level and the slope are affine-equivariant (the level's weights sum to one, the slope's
to zero), so the forecast maps back to original units through the series' scaler like the network's own. Every
quantity at an origin reads the series' rows *before* it only: the level is a recursion, the slope comes from
running sums. ``alpha`` is chosen per series from :data:`ALPHAS` by the lowest one-step-ahead squared error over
that series' training rows (the rows before its validation split).

One series takes it in original units, on the series divided by the seasonal indices of its training rows (see
``Forecaster._choose_series_combination``). Only the states at the origins asked for are kept (:func:`theta_rows`): three numbers per forecast origin, so the
memory grows with the validation and forecast origins, not with the buffer.
"""

from __future__ import annotations

import numpy as np

#: The smoothing weights each series' ``alpha`` is chosen from.
ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)


def _levels(z: np.ndarray, alpha: float) -> np.ndarray:
    """The smoothed level after each row of ``z`` (``levels[t]`` has read rows ``0 .. t``); the first row starts it."""
    from scipy.signal import lfilter

    z = np.asarray(z, dtype=np.float64)
    if len(z) < 2:
        return z.copy()
    rest = lfilter([alpha], [1.0, alpha - 1.0], z[1:], zi=[(1.0 - alpha) * z[0]])[0]
    return np.concatenate([z[:1], rest])


def choose_alpha(z: np.ndarray) -> float:
    """The ``alpha`` of :data:`ALPHAS` with the lowest one-step-ahead squared error over ``z`` (0.5 below 3 rows).

    >>> choose_alpha(np.arange(30.0)), choose_alpha(np.tile([1.0, -1.0], 15)) <= 0.1  # a trend; noise on a level
    (1.0, True)
    """
    z = np.asarray(z, dtype=np.float64)
    if len(z) < 3 or not np.isfinite(z).all():
        return 0.5
    sse = [float(np.sum((z[1:] - _levels(z, a)[:-1]) ** 2)) for a in ALPHAS]
    return float(ALPHAS[int(np.argmin(sse))])


def states(z: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(level, slope, count)``, each ``(len(z) + 1,)``: entry ``r`` is the state after the first ``r`` rows of ``z``
    (entry 0 has read nothing: level ``z[0]``, slope 0, count 0)."""
    z = np.asarray(z, dtype=np.float64)
    n = len(z)
    level = np.empty(n + 1)
    level[0] = z[0] if n else 0.0
    level[1:] = _levels(z, alpha)
    t = np.arange(n, dtype=np.float64)
    zero = np.zeros(1)
    c = np.arange(n + 1, dtype=np.float64)
    st = np.concatenate([zero, np.cumsum(t)])
    stt = np.concatenate([zero, np.cumsum(t * t)])
    sy = np.concatenate([zero, np.cumsum(z)])
    sty = np.concatenate([zero, np.cumsum(t * z)])
    den = c * stt - st * st
    slope = np.divide(c * sty - st * sy, den, out=np.zeros(n + 1), where=den > 0)
    return level, slope, c


def forecast(level: np.ndarray, slope: np.ndarray, count: np.ndarray, alpha: np.ndarray, horizon: int) -> np.ndarray:
    """``(len(level), horizon)`` Theta forecasts from the states at the origins (``alpha`` per origin).

    >>> lv, sl, n = states(np.arange(1.0, 6.0), 1.0)  # a line: alpha 1 gives the last value plus half the slope
    >>> forecast(lv[-1:], sl[-1:], n[-1:], np.array([1.0]), 2).tolist()
    [[5.5, 6.0]]
    """
    a = np.asarray(alpha, dtype=np.float64)[:, None]
    k = np.arange(1, horizon + 1, dtype=np.float64)[None, :]
    gain = 0.5 * (k - 1.0 + 1.0 / a - (1.0 - a) ** np.asarray(count, dtype=np.float64)[:, None] / a)
    return np.asarray(level, dtype=np.float64)[:, None] + np.asarray(slope, dtype=np.float64)[:, None] * gain


def theta_rows(target: np.ndarray, lengths, pad: int, alphas: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(len(rows), 3)`` level, slope and count at origin ``rows`` of a panel buffer's ``target`` column (series
    ``j``: ``pad`` padding rows, then ``lengths[j]`` rows, smoothed with ``alphas[j]``).

    An origin ``r`` rows after a series' first real row (``1 <= r <= length``; ``r = length``: the row just after
    its last one, a forecast from its end) gets the state of that series' first ``r`` rows: what a forecast from
    it may read. Only the asked rows are kept, so memory grows with them, not with the buffer.
    """
    rows = np.asarray(rows, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(lengths + pad)[:-1]]).astype(np.int64) + pad  # each series' first real row
    which = np.searchsorted(first, rows, side="right") - 1  # a series' end row is the next one's first padding row
    r = rows - first[np.maximum(which, 0)]
    end = (r == 0) & (which > 0)  # without padding a series' end row is the next one's first row
    which[end] -= 1
    r[end] = lengths[which[end]]
    if len(rows) and ((which < 0).any() or (r < 1).any() or (r > lengths[np.maximum(which, 0)]).any()):
        raise ValueError("Theta origins must lie after one to all of a series' rows.")
    out = np.empty((len(rows), 3), dtype=np.float64)
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(len(lengths) + 1))
    for j in np.flatnonzero(np.diff(bounds)):
        pick = order[bounds[j] : bounds[j + 1]]
        z = np.asarray(target[first[j] : first[j] + lengths[j]], dtype=np.float64)
        level, slope, count = states(z, float(alphas[j]))
        out[pick] = np.stack([level[r[pick]], slope[r[pick]], count[r[pick]]], axis=1)
    return out


def end_state(z: np.ndarray, alpha: float) -> np.ndarray:
    """``(3,)`` level, slope and count after every row of ``z``: the state a forecast from its end reads."""
    level, slope, count = states(z, alpha)
    return np.array([level[-1], slope[-1], count[-1]], dtype=np.float64)
