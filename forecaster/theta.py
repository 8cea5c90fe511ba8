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

**With exponential smoothing** (``output.combine_ets``; ``auto``: on for a panel, off for one series): the statistical forecast is the mean of
the Theta forecast and an exponential-smoothing forecast of the same adjusted series, an equal-weight combination of
two statistical models, which forecasts better than either alone on the M3 and Tourism samples. The smoothing model
is simple (no trend), Holt's linear trend or Holt's damped trend (Gardner and McKenzie, 1985), in error-correction
form from the first row (level ``z[0]``, trend ``z[1] - z[0]`` or 0)::

    forecast(k) = level + (phi + phi**2 + ... + phi**k) * trend
    level' = level + phi * trend + alpha * error,   trend' = phi * trend + beta * error

Each series' form and weights are chosen on its training rows: per form, the grid point of :data:`ETS_ALPHAS`,
:data:`ETS_BETA_SHARES` (``beta = share * alpha``) and :data:`ETS_PHIS` with the lowest one-step squared error;
between the forms, the lowest AICc (2, 4 and 5 parameters, the initial states counted), as in Hyndman et al.'s
automatic ETS. Like Theta's, its level and trend are affine-equivariant, so it runs in model units too. Its state
adds two numbers (level, trend) to Theta's three; its parameters are ``(alpha, beta, phi, trend)`` per series
(``trend`` 0 or 1: whether the trend starts at ``z[1] - z[0]`` or at 0, both tried for each trend form; simple
smoothing has ``beta`` 0 and ``trend`` 0).
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


def theta_rows(target: np.ndarray, lengths, pad: int, alphas: np.ndarray, rows: np.ndarray,
               ets: np.ndarray | None = None) -> np.ndarray:
    """``(len(rows), 3)`` level, slope and count at origin ``rows`` of a panel buffer's ``target`` column (series
    ``j``: ``pad`` padding rows, then ``lengths[j]`` rows, smoothed with ``alphas[j]``); with ``ets`` (``(n, 4)``
    parameters per series, see :func:`choose_ets`), ``(len(rows), 5)``: the smoothing model's level and trend after.

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
    out = np.empty((len(rows), 3 if ets is None else 5), dtype=np.float64)
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(len(lengths) + 1))
    for j in np.flatnonzero(np.diff(bounds)):
        pick = order[bounds[j] : bounds[j + 1]]
        z = np.asarray(target[first[j] : first[j] + lengths[j]], dtype=np.float64)
        cols = [*states(z, float(alphas[j])), *(() if ets is None else ets_states(z, ets[j]))]
        out[pick] = np.stack([c[r[pick]] for c in cols], axis=1)
    return out


def end_state(z: np.ndarray, alpha: float, ets: np.ndarray | None = None) -> np.ndarray:
    """``(3,)`` level, slope and count after every row of ``z``: the state a forecast from its end reads; with
    ``ets`` parameters, ``(5,)``: the smoothing model's level and trend after."""
    cols = [*states(z, alpha), *(() if ets is None else ets_states(z, ets))]
    return np.array([c[-1] for c in cols], dtype=np.float64)


# ----------------------------------------------------------------------------- exponential smoothing
#: The grid each series' exponential-smoothing weights are chosen from: ``alpha``, ``beta`` as a share of
#: ``alpha`` (so ``0 < beta <= alpha``, the usual admissible region) and the damping ``phi``.
ETS_ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
ETS_BETA_SHARES = (0.02, 0.05, 0.1, 0.2)
ETS_PHIS = (0.8, 0.9, 0.95, 0.98)
#: Series with fewer training rows take simple smoothing only (a trend's four parameters need more rows).
ETS_TREND_ROWS = 8
#: Parameters for series too short to choose on (below 3 rows): simple smoothing with weight 0.5.
ETS_SHORT = np.array([0.5, 0.0, 1.0, 0.0])


def _ets_grid() -> tuple[np.ndarray, np.ndarray]:
    """``(G, 4)`` candidate parameters (simple, linear-trend and damped-trend forms, the trend forms with both
    starts) and each one's form (0, 1, 2)."""
    a = np.asarray(ETS_ALPHAS, dtype=np.float64)
    simple = np.stack([a, np.zeros_like(a), np.ones_like(a), np.zeros_like(a)], axis=1)
    ga, gb = (g.ravel() for g in np.meshgrid(a, ETS_BETA_SHARES, indexing="ij"))
    linear = np.stack([ga, ga * gb, np.ones_like(ga), np.ones_like(ga)], axis=1)
    ga, gb, gp = (g.ravel() for g in np.meshgrid(a, ETS_BETA_SHARES, ETS_PHIS, indexing="ij"))
    damped = np.stack([ga, ga * gb, gp, np.ones_like(ga)], axis=1)
    # Each trend form starts from the first difference or from no trend: a noisy first difference takes long to
    # forget with a small beta, a zero start long to learn a steep trend with one; the error decides.
    linear, damped = (np.concatenate([g, g * np.array([1.0, 1.0, 1.0, 0.0])]) for g in (linear, damped))
    grid = np.concatenate([simple, linear, damped])
    form = np.repeat([0, 1, 2], [len(simple), len(linear), len(damped)])
    return grid, form


#: Parameters counted by the AICc of each form (the weights and the initial states).
_ETS_PARAMS = np.array([2, 4, 5])


def choose_ets(segments: list[np.ndarray]) -> np.ndarray:
    """``(len(segments), 4)`` exponential-smoothing parameters ``(alpha, beta, phi, trend)``, one row per series
    (its training rows): per form the grid point with the lowest one-step squared error, then the form with the
    lowest AICc (:data:`ETS_SHORT` below 3 rows; simple smoothing only below :data:`ETS_TREND_ROWS`).

    Every series of a chunk runs the recursion at once, over every grid point: a panel of thousands of series
    costs one pass of its longest series' rows per chunk.

    >>> p = choose_ets([np.arange(30.0), np.full(30, 5.0) + np.tile([0.3, -0.3], 15)])
    >>> bool(p[0, 1] > 0), float(p[1, 1])  # a clean trend takes one (beta > 0); noise on a level does not
    (True, 0.0)
    """
    grid, form = _ets_grid()
    out = np.tile(ETS_SHORT, (len(segments), 1))
    segs = [np.asarray(s, dtype=np.float64) for s in segments]
    todo = [j for j, s in enumerate(segs) if len(s) >= 3 and np.isfinite(s).all()]
    todo.sort(key=lambda j: len(segs[j]))  # a chunk's series of similar lengths: little padding to run over
    chunk = max(1, 100_000 // len(grid))  # arrays that stay in cache: faster than fewer, larger passes
    for lo in range(0, len(todo), chunk):
        idx = todo[lo : lo + chunk]
        lengths = np.array([len(segs[j]) for j in idx])
        z = np.zeros((len(idx), int(lengths.max())))
        for i, j in enumerate(idx):
            z[i, : lengths[i]] = segs[j]
        alpha, beta, phi, trend = (grid[:, k][None, :] for k in range(4))
        level = np.repeat(z[:, :1], len(grid), axis=1)
        slope = (z[:, 1:2] - z[:, :1]) * trend
        sse = np.zeros((len(idx), len(grid)))
        for t in range(1, z.shape[1]):
            step = level + phi * slope
            err = z[:, t : t + 1] - step
            if t >= lengths[0]:  # a series past its end adds no error (its state is not read again)
                err *= (t < lengths)[:, None]
            sse += err * err
            level = step + alpha * err
            slope = phi * slope + beta * err
        m = (lengths - 1)[:, None].astype(np.float64)  # one-step errors per series
        k = _ETS_PARAMS[form][None, :].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            aicc = m * np.log(np.maximum(sse, 1e-300) / m) + 2 * k + 2 * k * (k + 1) / (m - k - 1)
        usable = (m - k - 1 > 0) & ((form == 0)[None, :] | (lengths >= ETS_TREND_ROWS)[:, None])
        aicc = np.where(usable & np.isfinite(aicc), aicc, np.inf)
        # Per form the lowest error (its AICc ranks the same way), then the form with the lowest AICc; ties keep
        # the simpler form (argmin takes the first).
        out[idx] = grid[np.argmin(aicc, axis=1)]
    return out


def ets_valid(params: np.ndarray | None) -> bool:
    """Whether ``(n, 4)`` loaded parameters can be smoothing parameters: ``alpha`` in (0, 1], ``beta`` in [0, 1],
    ``phi`` in (0, 1], ``trend`` 0 or 1 (None: no smoothing model, valid)."""
    if params is None:
        return True
    p = np.asarray(params, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 4 or not np.isfinite(p).all():
        return False
    a, b, phi, trend = p.T
    return bool(((a > 0) & (a <= 1) & (b >= 0) & (b <= 1) & (phi > 0) & (phi <= 1) & ((trend == 0) | (trend == 1))).all())


def ets_states(z: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(level, trend)``, each ``(len(z) + 1,)``: entry ``r`` is the smoothing model's state after the first ``r``
    rows of ``z`` (entries 0 and 1: level ``z[0]``, trend 0; the recursion starts from trend ``z[1] - z[0]`` (or 0)
    at the second row, so each entry reads the rows before it only)."""
    z = np.asarray(z, dtype=np.float64)
    alpha, beta, phi, trend = (float(v) for v in params)
    n = len(z)
    level, slope = np.empty(n + 1), np.empty(n + 1)
    lv = z[0] if n else 0.0
    level[:2], slope[:2] = lv, 0.0  # one row has no trend yet (the initial trend reads the second row)
    tr = (z[1] - z[0]) * trend if n > 1 else 0.0
    for t in range(1, n):
        step = lv + phi * tr
        err = z[t] - step
        lv, tr = step + alpha * err, phi * tr + beta * err
        level[t + 1], slope[t + 1] = lv, tr
    return level, slope


def ets_forecast(level: np.ndarray, trend: np.ndarray, params: np.ndarray, horizon: int) -> np.ndarray:
    """``(len(level), horizon)`` smoothing forecasts from the states at the origins (``params`` ``(k, 4)``).

    >>> ets_forecast(np.array([10.0]), np.array([2.0]), np.array([[0.5, 0.1, 0.5, 1.0]]), 3).tolist()
    [[11.0, 11.5, 11.75]]
    """
    phi = np.asarray(params, dtype=np.float64)[:, 2:3]
    k = np.arange(1, horizon + 1, dtype=np.float64)[None, :]
    gain = np.where(phi == 1.0, k, phi * (1.0 - phi**k) / np.where(phi == 1.0, 0.5, 1.0 - phi))
    return np.asarray(level, dtype=np.float64)[:, None] + np.asarray(trend, dtype=np.float64)[:, None] * gain


def member_forecast(state: np.ndarray, alpha: np.ndarray, ets: np.ndarray | None, horizon: int) -> np.ndarray:
    """``(len(state), horizon)`` statistical forecasts from the states at the origins: Theta's (``state`` 3 wide,
    ``ets`` None) or the mean of Theta's and the smoothing model's (5 wide, ``ets`` ``(k, 4)``)."""
    theta = forecast(state[:, 0], state[:, 1], state[:, 2], alpha, horizon)
    if ets is None:
        return theta
    return 0.5 * (theta + ets_forecast(state[:, 3], state[:, 4], ets, horizon))
