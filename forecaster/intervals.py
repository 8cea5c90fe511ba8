"""Conformal prediction intervals and the scores that check them (pure NumPy, no Keras).

Split conformal prediction per horizon step. On calibration windows the
model never trained on, with forecast ``f`` and actual ``y`` of step ``k``,
each method takes a non-conformity score ``s`` and its finite-sample
quantile::

    absolute  s = |g(y) - g(f)|                     interval g^-1(g(f) -/+ r_k)
    scaled    s = |g(y) - g(f)| / d                 interval g^-1(g(f) -/+ r_k * d)
    damped    s = |g(y) - g(f)| / sqrt(d * D)       interval g^-1(g(f) -/+ r_k * sqrt(d * D))
    cqr       s = max(g(lo) - g(y), g(y) - g(hi))   interval g^-1(g(lo) - r_k), g^-1(g(hi) + r_k)

    r_k = the ceil((n + 1) * level)-th smallest of the n scores of step k

``g`` is the model's target transform (log for a log-transformed series,
else the identity), so an interval of a log model is multiplicative and its
bounds come back to original units exactly through ``exp``; window-relative
normalisation only shifts forecast and actual alike and drops out of ``g(y) -
g(f)``. ``d`` is the mean absolute one-step change of ``g(y)`` over the
input window before the origin (known when the forecast is issued), so
``scaled`` intervals widen when the series is volatile. ``damped`` widens
half as much in log terms: its scale is the geometric mean of ``d`` and
``D``, the median ``d`` of the calibration windows (stored with the radii),
so a window much calmer or wilder than usual moves the width by the square
root of the ratio. ``cqr`` is
conformalised quantile regression (Romano et al., 2019) on the quantile
head's ``(1 -/+ level) / 2`` quantiles: ``r_k`` may be negative (the head's
band was too wide) and narrows it.

With ``n`` exchangeable calibration windows, ``ceil((n + 1) level) / n`` is
the finite-sample correction that makes the coverage of a new window at
least ``level``; when ``(n + 1) level > n`` no finite radius guarantees it
and the largest score is used (``Calibration.short`` lists those levels).

**Pooling the steps.** With few calibration windows the per-step rank is
coarse: 30 windows put the 95 % radius of every step on its largest error
(coverage up to 30/31 = 96.8 % guaranteed, in practice more). ``pool_steps``
then pools the horizon steps: each step's scores are divided by a step
profile ``p_k``, a power law ``a k^b`` (``0 <= b <= 1.5``) fitted to the
per-step mean absolute scores, the ``n * horizon`` profiled scores give one
finite-sample quantile ``q``, and ``r_k = p_k q``. The steps of one window
are not exchangeable in general, so this trades the exact guarantee for a
rank ``horizon`` times finer; ``auto`` pools below :data:`POOL_WINDOWS`
windows. ``cqr`` pools with a flat profile (its band already widens with
the step). Pooled, one series' calibration also takes **partial windows**:
the ``horizon - 1`` origins just before the validation rows, each scoring
only its steps inside those rows (rows that no training window had as a
target); on a short series with one validation window of 8 steps that is
36 scores instead of 8. Their unscored steps are NaN, left out of the
profile and the pool.

Which windows calibrate: ``fit`` uses its validation windows (the last
``val_fraction`` of the rows: after every training window, used only to
stop early); a backtest's folds each use their own model's validation
windows, all before the fold's cutoff.

Panels (many series, one model) pool the validation windows of every series
into one calibration per step. Series have their own units, so every score
is made scale-free first: ``g`` of each series (log or identity, its own) is
divided by that series' scale ``m``, the mean absolute one-step change of
``g(y)`` over its **training rows** (the MASE denominator of a non-seasonal
series)::

    z = g(x) / m      absolute  s = |z(y) - z(f)|               interval g^-1(m (z(f) -/+ r_k))
                      scaled    s = |z(y) - z(f)| / (d / m)     (= the one-series score: d is in g units)
                      damped    s = |z(y) - z(f)| / sqrt((d / m) D)   (D: the median d / m of the pool)
                      cqr       s = max(z(lo) - z(y), z(y) - z(hi))

so a series multiplied by 1000 keeps its scores, and its intervals are 1000
times as wide. ``Calibration.series_scale`` stores ``m`` per series.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forecaster.exceptions import ArtifactError, ConfigError

__all__ = [
    "Calibration",
    "adaptive_radius",
    "calibrate",
    "calibrate_panel",
    "choose_method",
    "conformal_radius",
    "coverage_verdict",
    "crps_from_quantiles",
    "interval_columns",
    "local_scale",
    "pinball",
    "pool_steps_for",
    "quantile_column",
    "series_scale",
    "step_profile",
    "winkler",
]

#: ``method="auto"`` compares absolute, damped and scaled on a split of at least this many calibration windows.
AUTO_WINDOWS = 40
#: The methods whose scores are divided by a scale read from each window's input (``Calibration.window_scale``).
SCALED_METHODS = ("scaled", "damped")
#: What ``method="auto"`` chooses from.
AUTO_METHODS = ("absolute", "damped", "scaled")
#: ``scaled`` / ``damped``: a window's local scale counts as at least this fraction of the calibration windows'
#: median (``Calibration.floor``). A flat input (a gap carried forward, a sensor stuck) has ``d = 0``: its error
#: divided by a vanishing scale would be an enormous score, and one such score in a rolling pool widens every
#: later interval without bound.
SCALE_FLOOR = 0.1

#: ``pool_steps="auto"`` pools the horizon steps below this many calibration windows.
POOL_WINDOWS = 100
#: The step profile's exponent is clipped to this range (flat .. faster than a linear trend error).
PROFILE_EXPONENT = (0.0, 1.5)

#: z of the two-sided 95 % normal interval, for the coverage tolerance.
Z95 = 1.959964


def quantile_column(q: float) -> str:
    """Column name of a forecast quantile: ``0.1 -> 'q0.1'``."""
    return f"q{q:g}"


def interval_columns(level: int) -> tuple[str, str]:
    """``80 -> ('lower_80', 'upper_80')``."""
    return f"lower_{level}", f"upper_{level}"


def conformal_radius(scores: np.ndarray, level: float) -> tuple[np.ndarray, bool]:
    """Per column, the ``ceil((n + 1) level)``-th smallest of the ``n`` scores; and whether that rank exists.

    >>> r, ok = conformal_radius(np.arange(1.0, 10.0)[:, None], 0.8)   # n = 9: rank ceil(10 * 0.8) = 8
    >>> r.tolist(), ok
    ([8.0], True)
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    if n == 0:
        raise ConfigError("Conformal calibration needs at least one calibration window.")
    rank = math.ceil((n + 1) * level - 1e-9)
    ok = rank <= n
    return np.sort(scores, axis=0)[min(rank, n) - 1], ok


def local_scale(g_target: np.ndarray, origins: np.ndarray, lookback: int) -> np.ndarray:
    """Mean absolute one-step change of ``g_target`` over the ``lookback`` rows before each origin.

    Row ``o - 1`` is the last one read for origin ``o``: nothing at or after the origin.

    >>> local_scale(np.array([0.0, 1.0, 3.0, 6.0, 10.0]), np.array([4]), 3).tolist()   # |3-1|, |6-3|
    [2.5]
    """
    g_target = np.asarray(g_target, dtype=np.float64)
    origins = np.asarray(origins, dtype=np.int64)
    steps = np.abs(np.diff(g_target))  # steps[t - 1] = |g[t] - g[t - 1]|
    csum = np.concatenate([[0.0], np.cumsum(steps)])
    lo = np.maximum(origins - lookback, 0)  # first row of the window; its changes: rows lo+1 .. o-1
    count = np.maximum(origins - 1 - lo, 1)
    return (csum[origins - 1] - csum[lo]) / count


@dataclass
class Calibration:
    """Per-step conformal radii of each interval level, and where they came from (stored in the run manifest).

    Attributes:
        method: ``absolute``, ``scaled``, ``damped`` or ``cqr``.
        levels: nominal coverages in percent.
        radius: level -> one radius per horizon step (``g`` units; ``scaled``: multiples of ``d``; ``damped``:
            multiples of ``sqrt(d * D)``).
        log: whether ``g`` is the log.
        windows: how many calibration windows.
        source: which windows, in words, with their time range.
        short: levels whose finite-sample rank exceeded the windows (the largest score was used).
        floor: the smallest ``d`` used (``scaled``, ``damped``): :data:`SCALE_FLOOR` times the calibration
            windows' median ``d``, so a flat window neither gets a zero-width interval nor an enormous score.
        ref: ``damped``: ``D``, the median local scale of the calibration windows.
        pooled: whether the horizon steps were pooled (``radius`` = step profile x one pooled quantile).
        chosen: with ``--conformal auto``, how the method was chosen (the held-out Winkler score of each).
        partial: pooled only: how many partial windows (origins before the validation rows, whose steps in
            the validation rows were scored) joined the pool.
        partial_scores: how many scores those partial windows gave.
    """

    method: str
    levels: tuple[int, ...]
    radius: dict[int, np.ndarray]
    log: bool
    windows: int
    source: str
    short: tuple[int, ...] = ()
    floor: float = 0.0
    ref: float = 0.0
    quantiles: tuple[float, ...] = field(default=())
    pooled: bool = False
    chosen: dict[str, Any] = field(default_factory=dict)
    partial: int = 0
    partial_scores: int = 0
    #: level -> the calibration scores of each step, ``(windows, horizon)`` (in memory only: a rolling backtest
    #: extends them); pooled: ``(windows * horizon, horizon)``, every window's every profiled score at each step's
    #: profile.
    scores: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    #: A panel's per-series scales ``m`` (in the model's series order), None for one series.
    series_scale: np.ndarray | None = field(default=None, repr=False)

    def g(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.log(np.maximum(x, 1e-300)) if self.log else x

    def g_inv(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.log else z

    def window_scale(self, scale: np.ndarray) -> np.ndarray:
        """What a window's score is divided by and its radius multiplied by: ``d`` (``scaled``, at least
        :attr:`floor`) or ``sqrt(d * D)`` (``damped``)."""
        d = np.maximum(np.asarray(scale, dtype=np.float64), self.floor)
        return np.sqrt(d * self.ref) if self.method == "damped" else d

    def bounds(self, point: np.ndarray, *, scale: np.ndarray | None = None,
               quantiles: np.ndarray | None = None,
               radius: dict[int, np.ndarray] | None = None) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """level -> ``(lower, upper)``, each ``(n_origins, horizon)`` in original units.

        Args:
            point: ``(n, horizon)`` point forecasts (original units).
            scale: ``(n,)`` local scales ``d`` (methods ``scaled`` and ``damped``).
            quantiles: ``(n, horizon, Q)`` quantile forecasts (method ``cqr``), of :attr:`quantiles`.
            radius: level -> ``(n, horizon)`` radii of each origin (a rolling backtest), instead of :attr:`radius`.
        """
        out = {}
        for level in self.levels:
            r = radius[level] if radius is not None else self.radius[level][None, :]
            if self.method == "cqr":
                lo_q, hi_q = _band(quantiles, self.quantiles, level)
                lo, hi = self.g(lo_q) - r, self.g(hi_q) + r
                # A negative radius narrows the band; it never turns it inside out.
                mid = (self.g(lo_q) + self.g(hi_q)) / 2
                lo, hi = np.minimum(lo, mid), np.maximum(hi, mid)
            else:
                width = r * (self.window_scale(scale)[:, None] if self.method in SCALED_METHODS else 1.0)
                gp = self.g(point)
                lo, hi = gp - width, gp + width
            out[level] = (self.g_inv(lo), self.g_inv(hi))
        return out

    def panel_bounds(self, point: np.ndarray, *, series: np.ndarray, log: np.ndarray, scale: np.ndarray | None = None,
                     quantiles: np.ndarray | None = None,
                     radius: dict[int, np.ndarray] | None = None) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """:meth:`bounds` of a panel: rows of many series, each in its own units (see the module docstring).

        Args:
            point: ``(n, horizon)`` point forecasts, original units of each row's series.
            series: ``(n,)`` each row's series (index into :attr:`series_scale`).
            log: ``(n,)`` whether each row's series is log-transformed.
            scale, quantiles, radius: as for :meth:`bounds` (``scale`` in each series' ``g`` units, ``radius``
                scale-free).
        """
        unit = self.series_scale[np.asarray(series, dtype=np.int64)]
        z = self.bounds(
            to_units(point, log, unit), scale=None if scale is None else np.asarray(scale) / unit,
            quantiles=None if quantiles is None else to_units(quantiles, log, unit), radius=radius,
        )
        return {lv: (from_units(lo, log, unit), from_units(hi, log, unit)) for lv, (lo, hi) in z.items()}

    def series_rolled_bounds(self, index: int, log: bool, origins: np.ndarray, actual: np.ndarray, point: np.ndarray,
                             *, scale: np.ndarray | None = None, quantiles: np.ndarray | None = None,
                             adaptive: bool = True) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """A panel backtest's bounds of one series (``index`` into :attr:`series_scale`) at its ``origins``,
        each origin's radius from this calibration's pool plus the series' own earlier errors observed by its
        cutoff (:func:`rolling_radius`, or with ``adaptive`` :func:`adaptive_radius`), all scale-free.

        Args:
            actual, point: ``(n, horizon)`` in the series' original units; ``scale`` and ``quantiles`` as for
                :meth:`panel_bounds`.
        """
        n = len(origins)
        lg, unit = np.full(n, bool(log)), np.full(n, float(self.series_scale[index]))
        scores = self.score(to_units(actual, lg, unit), to_units(point, lg, unit),
                            scale=None if scale is None else np.asarray(scale) / unit,
                            quantiles=None if quantiles is None else to_units(quantiles, lg, unit))
        radius_of = adaptive_radius if adaptive else rolling_radius
        model_of = np.zeros(n, dtype=np.int64)
        radius = {lv: radius_of(origins, scores[lv], [self.scores[lv]], model_of, lv) for lv in self.levels}
        return self.panel_bounds(point, series=np.full(n, index), log=lg, scale=scale, quantiles=quantiles,
                                 radius=radius)

    def describe(self) -> str:
        """One line for ``fit`` and ``info``."""
        if self.series_scale is not None:
            return self._describe_panel()
        widths = ", ".join(f"{lv} %: step 1 {self.radius[lv][0]:.4g} .. step {len(self.radius[lv])} "
                           f"{self.radius[lv][-1]:.4g}" for lv in self.levels)
        unit = {"absolute": "log units" if self.log else "units", "scaled": "x local scale",
                "damped": f"x sqrt(local scale x {self.ref:.4g}, the calibration windows' median local scale)",
                "cqr": "widening of the quantile band" + (" (log units)" if self.log else "")}[self.method]
        note = self._notes()
        return f"{self.method} conformal on {self.source}; radius ({unit}) {widths}{note}"

    def _describe_panel(self) -> str:
        widths = ", ".join(f"{lv} %: step 1 {self.radius[lv][0]:.4g} .. step {len(self.radius[lv])} "
                           f"{self.radius[lv][-1]:.4g}" for lv in self.levels)
        unit = {"absolute": "x each series' mean absolute one-step change", "scaled": "x local scale",
                "damped": "x sqrt(local scale x the calibration windows' median local scale), both in each series' "
                          "mean absolute one-step changes",
                "cqr": "widening of the quantile band, x each series' mean absolute one-step change"}[self.method]
        note = self._notes()
        return f"{self.method} conformal on {self.source}, pooled scale-free scores; radius ({unit}) {widths}{note}"

    def short_warning(self) -> str:
        """What ``fit`` warns when a level's finite-sample rank exceeds the calibration scores (:attr:`short`)."""
        pooled = f" ({self.score_count()} scores with the steps pooled)" if self.pooled else ""
        return (f"Only {self.windows} calibration windows{pooled}: the {', '.join(map(str, self.short))} % "
                "interval(s) take the largest validation error, without the finite-sample coverage guarantee. "
                "Raise --val-fraction or supply more data.")

    def _horizon(self) -> int:
        return len(next(iter(self.radius.values())))

    def score_count(self) -> int:
        """How many scores each step's radius was taken from: the windows, times the steps when pooled (plus
        the partial windows' scores)."""
        return self.windows * self._horizon() + self.partial_scores if self.pooled else self.windows

    @property
    def pool_setting(self) -> str:
        """``on`` or ``off``: the ``pool`` that calibrates another forecast (a baseline) as this one was."""
        return "on" if self.pooled else "off"

    def _notes(self) -> str:
        """The ``describe`` notes: levels short of the finite-sample rank, pooled steps, the ``auto`` choice."""
        note = (f"; {', '.join(map(str, self.short))} % took the largest error ({self.windows} windows are too few for "
                "the finite-sample guarantee)") if self.short else ""
        if self.pooled:
            extra = f", + {self.partial_scores} from {self.partial} partial windows," if self.partial else ""
            note += f"; horizon steps pooled ({self.windows} x {self._horizon()} scores{extra} over a step profile)"
        c = self.chosen
        if c and "winkler" not in c:
            note += f"; auto: {self.method} ({c['reason']})"
        elif c:
            w = c["winkler"]
            note += (f"; auto: {self.method}, mean Winkler score on the later {c['held_out']} of the windows, "
                     f"calibrated on the first {c['calibrated']}: " + ", ".join(f"{k} {v:.4g}" for k, v in w.items()))
        return note

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "levels": list(self.levels), "log": bool(self.log), "windows": int(self.windows),
            "source": self.source, "short": list(self.short), "floor": float(self.floor),
            **({"ref": float(self.ref)} if self.method == "damped" else {}),
            "quantiles": list(self.quantiles), "pooled": bool(self.pooled),
            **({"chosen": self.chosen} if self.chosen else {}),
            **({"partial": [int(self.partial), int(self.partial_scores)]} if self.partial else {}),
            "radius": {str(k): [float(x) for x in v] for k, v in self.radius.items()},
            **({"series_scale": [float(x) for x in self.series_scale]} if self.series_scale is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Any, horizon: int) -> "Calibration":
        try:
            levels = tuple(int(x) for x in data["levels"])
            radius = {int(k): np.asarray(v, dtype=np.float64) for k, v in data["radius"].items()}
            cal = cls(
                method=str(data["method"]), levels=levels, radius=radius, log=bool(data["log"]),
                windows=int(data["windows"]), source=str(data["source"]), short=tuple(int(x) for x in data["short"]),
                floor=float(data["floor"]), ref=float(data.get("ref", 0.0)), quantiles=tuple(float(q) for q in data.get("quantiles", [])),
                pooled=bool(data.get("pooled", False)), chosen=dict(data.get("chosen", {})),
                partial=int(data.get("partial", [0, 0])[0]), partial_scores=int(data.get("partial", [0, 0])[1]),
                series_scale=(np.asarray(data["series_scale"], dtype=np.float64).reshape(-1)
                              if data.get("series_scale") is not None else None),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ArtifactError(f"The run's `intervals` entry is malformed: {exc!r}") from None
        if (cal.method not in ("absolute", *SCALED_METHODS, "cqr") or set(radius) != set(levels)
                or any(v.shape != (horizon,) or not np.isfinite(v).all() for v in radius.values())):
            raise ArtifactError(f"The run's `intervals` entry does not hold {horizon} finite radii per level.")
        if cal.method == "damped" and not (math.isfinite(cal.ref) and cal.ref > 0):
            raise ArtifactError("The run's `intervals` entry (damped) holds no finite, positive median scale `ref`.")
        if cal.series_scale is not None and not (np.isfinite(cal.series_scale).all() and (cal.series_scale > 0).all()):
            raise ArtifactError("The run's `intervals` entry holds series scales that are not finite and positive.")
        return cal


def _band(quantiles: np.ndarray, taus: tuple[float, ...], level: int) -> tuple[np.ndarray, np.ndarray]:
    lo_t, hi_t = round((1 - level / 100) / 2, 6), round((1 + level / 100) / 2, 6)
    try:
        i, j = taus.index(lo_t), taus.index(hi_t)
    except ValueError:
        raise ConfigError(f"cqr at {level} % needs the quantiles {lo_t:g} and {hi_t:g} in the head.") from None
    return quantiles[..., i], quantiles[..., j]


def calibrate(
    method: str,
    levels: tuple[int, ...],
    actual: np.ndarray,
    point: np.ndarray,
    *,
    log: bool,
    source: str,
    scale: np.ndarray | None = None,
    quantiles: np.ndarray | None = None,
    taus: tuple[float, ...] = (),
    pool: str = "auto",
) -> Calibration:
    """Per-step conformal radii from forecasts of calibration windows and their actual values.

    Args:
        method: ``absolute``, ``scaled``, ``damped`` or ``cqr`` (see the module docstring); ``auto``: one of
            :data:`AUTO_METHODS` by :func:`choose_method`.
        levels: nominal coverages in percent.
        actual, point: ``(n, horizon)`` actual values and point forecasts, original units. A NaN actual value
            is a step not scored: its row is a partial window, pooled with the others when the steps are
            pooled (the count of whole windows decides that), dropped when they are not.
        log: whether residuals are taken in log units.
        source: which windows these are (recorded).
        scale: ``(n,)`` local scales ``d`` of the windows (``scaled``, ``damped``).
        quantiles: ``(n, horizon, Q)`` quantile forecasts at ``taus`` (``cqr``).
        pool: pool the horizon steps over a step profile: ``on``, ``off``, or ``auto`` (below
            :data:`POOL_WINDOWS` windows; see the module docstring).
    """
    actual = np.asarray(actual, dtype=np.float64)
    whole = np.isfinite(actual).all(axis=1)
    pooled = pool_steps_for(pool, int(whole.sum()), actual.shape[1])
    if not whole.all():  # partial windows: pooled with the rest, or dropped
        keep = np.ones(len(actual), dtype=bool) if pooled else whole
        actual, point = actual[keep], np.asarray(point)[keep]
        scale = None if scale is None else np.asarray(scale)[keep]
        quantiles = None if quantiles is None else np.asarray(quantiles)[keep]
        whole = whole[keep]
    chosen = {}
    if method == "auto":  # compared on the whole windows only
        method, chosen = choose_method(levels, actual[whole], np.asarray(point)[whole], log=log,
                                       scale=None if scale is None else np.asarray(scale)[whole], pool=pool)
    cal = Calibration(method, tuple(levels), {}, log, int(whole.sum()), source, quantiles=tuple(taus), chosen=chosen,
                      pooled=pooled, partial=int((~whole).sum()), partial_scores=int(np.isfinite(actual[~whole]).sum()))
    if method in SCALED_METHODS:
        scale = np.asarray(scale, dtype=np.float64)
        positive = scale[scale > 0]
        if len(positive):
            median = float(np.median(positive))
            cal.floor = SCALE_FLOOR * median
        else:  # every window flat: a token scale, so an interval still exists
            median = cal.floor = 1e-12
        if method == "damped":
            cal.ref = median
    cal.scores = cal.score(actual, point, scale=scale, quantiles=quantiles)
    short = []
    for level in levels:
        if cal.pooled:
            cal.scores[level] = pooled_scores(cal.scores[level], flat=method == "cqr")
        cal.radius[level], ok = conformal_radius(cal.scores[level], level / 100)
        if not ok:
            short.append(level)
    cal.short = tuple(short)
    return cal


def choose_method(levels: tuple[int, ...], actual: np.ndarray, point: np.ndarray, *, log: bool,
                  scale: np.ndarray, pool: str = "auto") -> tuple[str, dict[str, Any]]:
    """One of :data:`AUTO_METHODS`, whichever has the lowest mean Winkler score (in ``g`` units, over ``levels``) on
    the later half of the calibration windows when calibrated on the earlier half; ``absolute`` below
    :data:`AUTO_WINDOWS` windows. Returns the method and how it was chosen.

    A panel's windows come series by series, so its halves are two sets of series.
    """
    n = len(actual)
    if n < AUTO_WINDOWS:
        return "absolute", {"reason": f"{n} calibration windows, fewer than {AUTO_WINDOWS} to compare on"}
    half = n // 2
    first, second = slice(0, half), slice(half, n)
    scale = np.asarray(scale, dtype=np.float64)
    out = {}
    for method in AUTO_METHODS:
        cal = calibrate(method, levels, actual[first], point[first], log=log, source="", scale=scale[first], pool=pool)
        g_y = cal.g(actual[second])
        bounds = cal.bounds(point[second], scale=scale[second])
        out[method] = float(np.mean([winkler(g_y, cal.g(lo), cal.g(hi), lv / 100).mean()
                                     for lv, (lo, hi) in bounds.items()]))
    best = min(out, key=out.get)
    return best, {"winkler": out, "calibrated": half, "held_out": n - half}


def pool_steps_for(pool: str, windows: int, horizon: int) -> bool:
    """Whether ``pool`` (``auto``, ``on``, ``off``) pools the steps of ``windows`` calibration windows.

    >>> pool_steps_for("auto", 30, 8), pool_steps_for("auto", 100, 8), pool_steps_for("auto", 30, 1)
    (True, False, False)
    """
    if pool not in ("auto", "on", "off"):
        raise ConfigError(f"pool_steps must be auto, on or off, not {pool!r}.")
    if horizon < 2 or pool == "off":
        return False
    return pool == "on" or windows < POOL_WINDOWS


def step_profile(scores: np.ndarray) -> np.ndarray:
    """``(horizon,)`` profile ``a k^b`` of the steps' mean absolute scores (least squares in logs, ``b`` clipped
    to :data:`PROFILE_EXPONENT`); all ones when fewer than two steps have a positive mean.

    >>> step_profile(np.array([[1.0, 2.0, 3.0, 4.0]])).round(6).tolist()     # a = 1, b = 1
    [1.0, 2.0, 3.0, 4.0]
    >>> step_profile(np.array([[1.0, 4.0, 9.0]])).round(3).tolist()   # b = 2 clipped to 1.5, a refitted for it
    [1.348, 3.813, 7.004]
    """
    scores = np.abs(np.asarray(scores, dtype=np.float64))
    seen = np.isfinite(scores).sum(axis=0)
    mean = np.where(seen > 0, np.nansum(scores, axis=0) / np.maximum(seen, 1), 0.0)  # NaN: a step not scored
    k = np.log(np.arange(1, len(mean) + 1, dtype=np.float64))
    ok = mean > 0
    if ok.sum() < 2:
        return np.ones(len(mean))
    b = float(np.clip(np.polyfit(k[ok], np.log(mean[ok]), 1)[0], *PROFILE_EXPONENT))
    a = float(np.mean(np.log(mean[ok]) - b * k[ok]))
    return np.exp(a + b * k)


def pooled_scores(scores: np.ndarray, *, flat: bool = False) -> np.ndarray:
    """``(n * horizon, horizon)``: every profiled score of every step, times each step's profile (NaN scores,
    the steps a partial window did not score, are left out).

    Column ``k`` is the pool whose finite-sample quantile is step ``k``'s radius ``p_k q``
    (:func:`conformal_radius` of it, or a rolling backtest's pool extended by earlier origins).
    ``flat``: a profile of ones (``cqr``).

    >>> pooled_scores(np.array([[1.0, 2.0], [3.0, 6.0]])).round(9).tolist()   # profile 2, 4: profiled 1/2, 1/2, 3/2, 3/2
    [[1.0, 2.0], [1.0, 2.0], [3.0, 6.0], [3.0, 6.0]]
    """
    scores = np.asarray(scores, dtype=np.float64)
    profile = np.ones(scores.shape[1]) if flat else step_profile(scores)
    z = (scores / profile).reshape(-1)
    z = z[~np.isnan(z)]
    return z[:, None] * profile[None, :]


def series_scale(g_train: np.ndarray) -> float:
    """A panel series' scale ``m``: the mean absolute one-step change of ``g(y)`` over its training rows.

    >>> series_scale(np.array([1.0, 3.0, 2.0]))
    1.5
    """
    g_train = np.asarray(g_train, dtype=np.float64)
    return float(np.mean(np.abs(np.diff(g_train)))) if len(g_train) > 1 else float("nan")


def _rows(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A per-row vector ``(n,)`` shaped to broadcast over ``x`` ``(n, ...)``."""
    return np.asarray(v).reshape((-1,) + (1,) * (np.ndim(x) - 1))


def to_units(x: np.ndarray, log: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """``g(x) / m`` per row: each row's own transform (``log``) and series scale (``unit``)."""
    x = np.asarray(x, dtype=np.float64)
    lg = _rows(np.asarray(log, dtype=bool), x)
    g = np.where(lg, np.log(np.maximum(np.where(lg, x, 1.0), 1e-300)), x)
    return g / _rows(unit, x)


def from_units(z: np.ndarray, log: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_units`."""
    g = np.asarray(z, dtype=np.float64) * _rows(unit, z)
    lg = _rows(np.asarray(log, dtype=bool), g)
    return np.where(lg, np.exp(np.where(lg, g, 0.0)), g)


def calibrate_panel(
    method: str,
    levels: tuple[int, ...],
    actual: np.ndarray,
    point: np.ndarray,
    *,
    series: np.ndarray,
    log: np.ndarray,
    unit: np.ndarray,
    source: str,
    scale: np.ndarray | None = None,
    quantiles: np.ndarray | None = None,
    taus: tuple[float, ...] = (),
    pool: str = "auto",
) -> Calibration:
    """:func:`calibrate` on the pooled validation windows of a panel, with scale-free scores.

    Args:
        actual, point, scale, quantiles, taus: as for :func:`calibrate`, rows of many series.
        series: ``(n,)`` each row's series (index into ``unit``).
        log: ``(n,)`` whether each row's series is log-transformed.
        unit: ``(series,)`` each series' scale ``m`` (:func:`series_scale` of its training rows).
    """
    unit = np.asarray(unit, dtype=np.float64)
    m = unit[np.asarray(series, dtype=np.int64)]
    cal = calibrate(
        method, levels, to_units(actual, log, m), to_units(point, log, m), log=False, source=source,
        scale=None if scale is None else np.asarray(scale) / m,
        quantiles=None if quantiles is None else to_units(quantiles, log, m), taus=taus, pool=pool,
    )
    cal.series_scale = unit
    return cal


def _score(self: Calibration, actual: np.ndarray, point: np.ndarray, *, scale: np.ndarray | None = None,
           quantiles: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """level -> ``(n, horizon)`` non-conformity scores of these forecasts (the module docstring's ``s``)."""
    g_y = self.g(actual)
    if self.method == "cqr":
        out = {}
        for level in self.levels:
            lo, hi = _band(quantiles, self.quantiles, level)
            out[level] = np.maximum(self.g(lo) - g_y, g_y - self.g(hi))
        return out
    resid = np.abs(g_y - self.g(point))
    if self.method in SCALED_METHODS:
        resid = resid / self.window_scale(scale)[:, None]
    return dict.fromkeys(self.levels, resid)


Calibration.score = _score  # defined after `_band`, which it uses


def rolling_radius(
    origins: np.ndarray,
    scores: np.ndarray,
    calibration_scores: list[np.ndarray],
    model_of: np.ndarray,
    level: int,
) -> np.ndarray:
    """Per origin and step, the conformal radius of a rolling backtest: the model's calibration windows plus
    every earlier origin whose actual value of that step was observed before this origin.

    Step ``k`` (0-based) of origin ``j`` is row ``o_j + k``; it joins the pool of
    origin ``i`` when ``o_j + k < o_i`` (observed by the cutoff ``o_i - 1``).

    Args:
        origins: ``(N,)`` backtest origins, ascending.
        scores: ``(N, horizon)`` the scores of the backtest forecasts.
        calibration_scores: per model, its ``(n_m, horizon)`` calibration scores.
        model_of: ``(N,)`` the index (into ``calibration_scores``) of the model that forecast each origin.
        level: nominal coverage in percent.

    >>> rolling_radius(np.array([10, 11, 12]), np.array([[5.0], [7.0], [9.0]]), [np.array([[1.0], [2.0], [3.0]])],
    ...                np.zeros(3, dtype=int), 50).ravel().tolist()    # pools: 1,2,3 | 1,2,3,5 | 1,2,3,5,7
    [2.0, 3.0, 3.0]
    """
    return adaptive_radius(origins, scores, calibration_scores, model_of, level, gammas=(0.0,))  # a fixed level


#: Step sizes of the adaptive conformal experts (:func:`adaptive_radius`): how far one hit or miss moves the
#: level. 0 is rolling calibration; 0.005 is Gibbs and Candes' choice; the larger ones follow a shift of the
#: error distribution within tens of origins, at the price of a level that moves with every miss.
ACI_GAMMAS = (0.0, 0.005, 0.01, 0.02, 0.04)


def adaptive_radius(
    origins: np.ndarray,
    scores: np.ndarray,
    calibration_scores: list[np.ndarray],
    model_of: np.ndarray,
    level: int,
    gammas: tuple[float, ...] = ACI_GAMMAS,
) -> np.ndarray:
    """:func:`rolling_radius` at a level that adapts to the misses observed so far (adaptive conformal
    inference, Gibbs and Candes, 2021), with the step size chosen online.

    Per step and per step size ``gamma`` (an expert), ``a <- a + gamma (1 - level - miss)`` for each earlier
    origin whose actual value of that step was observed before this origin, and the expert's radius is the
    pool's ``ceil((n + 1)(1 - a))``-th smallest score (the largest when that rank exceeds ``n``, none when it
    is below 1). Each origin takes the radius of the sharpest calibrated expert: among the experts whose miss
    rate over the ``n`` observed origins is within ``z sqrt(alpha (1 - alpha) / n)`` of ``alpha = 1 - level``
    (``z =`` :data:`CALIBRATED_Z`), the one with the lowest total interval (Winkler) score
    ``2 r + (2 / alpha) max(s - r, 0)`` over those origins; when none is, the one whose miss rate is nearest
    ``alpha`` (the first expert while none is observed, and on ties).

    Under any shift of the error distribution, each expert's long-run miss rate tends to ``1 - level``; the
    interval score, a proper score, then prefers the expert whose radii were sharpest where they covered.
    Taking the lowest score alone favours experts that were lucky so far, which under-covered at 95 % on
    several real series; the miss-rate condition ("sharpness subject to calibration") keeps the choice among
    the experts that have covered as promised. A miss is read only once its actual value is observed, so
    nothing at or after an origin is used.

    >>> o = np.arange(10, 16)   # errors 9 where calibration saw 1: two misses widen it, then hits narrow it again
    >>> s = np.full((6, 1), 9.0)
    >>> adaptive_radius(o, s, [np.ones((4, 1))], np.zeros(6, dtype=int), 50, gammas=(0.2,)).ravel().tolist()
    [1.0, 1.0, 9.0, 9.0, 9.0, 1.0]
    >>> # two experts: the fixed level (first, while their scores tie) until the adaptive one has scored better
    >>> adaptive_radius(o, s, [np.ones((4, 1))], np.zeros(6, dtype=int), 50, gammas=(0.0, 0.2)).ravel().tolist()
    [1.0, 1.0, 1.0, 9.0, 9.0, 1.0]
    """
    origins = np.asarray(origins, dtype=np.int64)
    gammas = tuple(float(g) for g in gammas)
    n, horizon = scores.shape
    out = np.empty((n, horizon))
    experts = np.empty((len(gammas), n))  # each expert's radius at each origin (of the current step)
    target = 1 - level / 100
    for k in range(horizon):
        seen = np.searchsorted(origins + k, origins, side="left")  # origins j < seen[i] have o_j + k < o_i
        alpha, loss, misses, fed = [target] * len(gammas), [0.0] * len(gammas), [0] * len(gammas), 0
        model, pool, added = None, [], 0  # pool: sorted scores of `model`'s calibration and origins < added
        for i in range(n):
            for j in range(fed, seen[i]):  # feedback of the origins observed since the last one
                s = float(scores[j, k])
                for e, gamma in enumerate(gammas):
                    r = experts[e, j]
                    alpha[e] += gamma * (target - float(s > r))
                    loss[e] += 2 * r + 2 / target * max(s - r, 0.0)
                    misses[e] += s > r
            fed = max(fed, seen[i])
            if model_of[i] != model or seen[i] < added:  # a new fold's model (or origins out of order): rebuild
                model, added = model_of[i], seen[i]
                pool = sorted(np.concatenate([calibration_scores[model][:, k], scores[:added, k]]).tolist())
            for j in range(added, seen[i]):  # one insertion per newly observed origin, not a sort per origin
                bisect.insort(pool, float(scores[j, k]))
            added = seen[i]
            for e, a in enumerate(alpha):
                rank = math.ceil((len(pool) + 1) * (1 - a) - 1e-9)
                if rank < 1:
                    experts[e, i] = 0.0 if pool[0] >= 0 else pool[0]
                else:
                    experts[e, i] = pool[min(rank, len(pool)) - 1]
            out[i, k] = experts[_sharpest_calibrated(loss, misses, fed, target), i]
    return out


#: How many binomial standard errors an expert's miss rate may be from nominal and still count as calibrated
#: in :func:`adaptive_radius`'s choice.
CALIBRATED_Z = 2.0


def _sharpest_calibrated(loss: list[float], misses: list[int], n: int, target: float) -> int:
    """Index of the expert with the lowest ``loss`` among those whose miss rate over ``n`` observations is within
    :data:`CALIBRATED_Z` standard errors of ``target``; with none, the one whose rate is nearest ``target``.

    >>> _sharpest_calibrated([5.0, 4.0, 3.0], [10, 20, 40], 100, 0.2)   # rates .1, .2, .4: only expert 1 is within .08
    1
    >>> _sharpest_calibrated([5.0, 4.0, 3.0], [10, 20, 40], 0, 0.2)     # nothing observed: the first
    0
    """
    if n == 0:
        return 0
    tolerance = CALIBRATED_Z * math.sqrt(target * (1 - target) / n)
    gaps = [abs(m / n - target) for m in misses]
    calibrated = [e for e, gap in enumerate(gaps) if gap <= tolerance]
    if not calibrated:
        return gaps.index(min(gaps))
    return min(calibrated, key=lambda e: (loss[e], e))


# ----------------------------------------------------------------------------
# Scores of intervals and quantiles
# ----------------------------------------------------------------------------
def winkler(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> np.ndarray:
    """Interval (Winkler) score of each point: width plus ``2 / alpha`` times the miss, ``alpha = 1 - level``.

    >>> winkler(np.array([0.0, 5.0]), np.array([1.0, 1.0]), np.array([3.0, 3.0]), 0.8).round(9).tolist()  # misses 1, 2
    [12.0, 22.0]
    """
    alpha = 1.0 - level
    below = np.maximum(lower - actual, 0.0)
    above = np.maximum(actual - upper, 0.0)
    return (upper - lower) + (2.0 / alpha) * (below + above)


def pinball(actual: np.ndarray, quantiles: np.ndarray, taus) -> np.ndarray:
    """Mean pinball loss of each quantile level: ``quantiles`` is ``(..., Q)`` at ``taus``; returns ``(Q,)``."""
    taus = np.asarray(taus, dtype=np.float64)
    e = np.asarray(actual, dtype=np.float64)[..., None] - quantiles
    loss = np.maximum(taus * e, (taus - 1.0) * e)
    return loss.reshape(-1, len(taus)).mean(axis=0)


def crps_from_quantiles(actual: np.ndarray, quantiles: np.ndarray, taus) -> float:
    """CRPS approximated from quantiles: twice the mean pinball loss over the levels.

    Exact in the limit of many evenly spaced levels (CRPS = 2 * integral of the
    pinball loss over tau in (0, 1)); with a few levels it is a coarse approximation,
    comparable between forecasters only on the same levels.
    """
    return float(2.0 * pinball(actual, quantiles, taus).mean())


def coverage_verdict(coverage: float, level: float, points: int, horizon: int) -> dict[str, Any]:
    """Whether an empirical coverage is within sampling error of its nominal level.

    The tolerance is ``1.96 * sqrt(level (1 - level) / n_eff)`` with
    ``n_eff = points / horizon``: the errors of overlapping forecast windows are
    correlated, so about one independent point per horizon-length stretch is
    counted (a conservative choice; with ``n_eff`` the point count it would be
    ``sqrt(horizon)`` times narrower).

    >>> coverage_verdict(0.78, 0.8, 1000, 10)["verdict"]
    'calibrated'
    """
    n_eff = max(points / max(horizon, 1), 1.0)
    tol = Z95 * math.sqrt(level * (1 - level) / n_eff)
    if abs(coverage - level) <= tol:
        word = "calibrated"
    else:
        word = "under-covers" if coverage < level else "over-covers"
    return {"verdict": word, "tolerance": tol, "n_eff": n_eff}


# ----------------------------------------------------------------------------
# The baseline interval: seasonal naive with conformal residuals
# ----------------------------------------------------------------------------
def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """``(n, horizon)`` seasonal naive forecasts: step ``k`` repeats row ``origin - season + (k - 1) % season``."""
    origins = np.asarray(origins, dtype=np.int64)
    return np.asarray(y, dtype=np.float64)[origins[:, None] - season + np.arange(horizon) % season]


def baseline_intervals(
    y: np.ndarray,
    calibration_origins: np.ndarray,
    origins: np.ndarray,
    *,
    horizon: int,
    season: int,
    lookback: int,
    method: str,
    levels: tuple[int, ...],
    log: bool,
    pool: str = "auto",
    first_row: int = 0,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Conformal intervals around the seasonal naive forecast, calibrated on the given windows.

    The same calibration windows, method (``cqr`` falls back to ``absolute``: the
    baseline has no quantiles) and units as the model's, so the two intervals differ
    only in the forecasts they are built around. Calibration windows that start
    before one whole season are left out; steps before ``first_row`` (the model's
    first validation row: partial windows) are not scored, as the model's are not.
    """
    cal = baseline_calibration(y, calibration_origins, horizon=horizon, season=season, lookback=lookback,
                               method=method, levels=levels, log=log, pool=pool, first_row=first_row)
    g = cal.g(np.asarray(y, dtype=np.float64))
    return cal.bounds(seasonal_naive(y, origins, horizon, season), scale=local_scale(g, origins, lookback))


def baseline_calibration(
    y: np.ndarray, calibration_origins: np.ndarray, *, horizon: int, season: int, lookback: int, method: str,
    levels: tuple[int, ...], log: bool, pool: str = "auto", first_row: int = 0,
) -> Calibration:
    """The seasonal-naive calibration that :func:`baseline_intervals` applies (for a rolling backtest)."""
    y = np.asarray(y, dtype=np.float64)
    cal_o = np.asarray(calibration_origins, dtype=np.int64)
    cal_o = cal_o[cal_o >= season]
    g = np.log(np.maximum(y, 1e-300)) if log else y
    rows = cal_o[:, None] + np.arange(horizon)
    return calibrate(
        "absolute" if method == "cqr" else method, levels, np.where(rows >= first_row, y[rows], np.nan),
        seasonal_naive(y, cal_o, horizon, season), log=log, source="seasonal naive", scale=local_scale(g, cal_o, lookback),
        pool=pool,
    )


# ----------------------------------------------------------------------------
# Scoring a table of historical interval forecasts
# ----------------------------------------------------------------------------
def levels_in(columns) -> list[int]:
    """The interval levels of a forecast table (its ``lower_<level>`` columns)."""
    return sorted(int(c[len("lower_"):]) for c in columns if c.startswith("lower_") and c[len("lower_"):].isdigit())


def score_intervals(
    actual: np.ndarray,
    point: dict[str, np.ndarray],
    bounds: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]],
    *,
    quantiles: np.ndarray | None = None,
    taus: tuple[float, ...] = (),
) -> dict[str, Any]:
    """Coverage (overall, per step), mean width, Winkler score, and pinball / CRPS of each forecaster's intervals.

    Args:
        actual: ``(n, horizon)`` actual values.
        point: forecaster -> ``(n, horizon)`` point forecasts.
        bounds: forecaster -> level -> ``(lower, upper)``.
        quantiles, taus: the model's quantile head forecasts, if any (scored too).

    The pinball loss and CRPS of each forecaster are computed on the same
    quantile set for all: ``(1 -/+ level) / 2`` of every level (the interval
    bounds) and 0.5 (the point forecast), so they compare like for like.
    """
    n, horizon = actual.shape
    levels = sorted(next(iter(bounds.values())))
    out: dict[str, Any] = {"points": int(actual.size), "levels": {}}
    for level in levels:
        row: dict[str, Any] = {}
        for name, by_level in bounds.items():
            lo, hi = by_level[level]
            inside = (actual >= lo) & (actual <= hi)
            cov = float(inside.mean())
            row[name] = {
                "coverage": cov,
                "coverage_per_step": [float(v) for v in inside.mean(axis=0)],
                "width": float((hi - lo).mean()),
                "winkler": float(winkler(actual, lo, hi, level / 100).mean()),
                "winkler_per_step": [float(v) for v in winkler(actual, lo, hi, level / 100).mean(axis=0)],
                **coverage_verdict(cov, level / 100, actual.size, horizon),
            }
        names = list(bounds)
        if len(names) > 1:
            ref = row[names[1]]["winkler"]
            row["winkler_ratio"] = row[names[0]]["winkler"] / ref if ref > 0 else float("nan")
        out["levels"][str(level)] = row
    taus_i = sorted({round((1 - lv / 100) / 2, 6) for lv in levels} | {0.5} | {round((1 + lv / 100) / 2, 6) for lv in levels})
    out["interval_quantiles"] = taus_i
    out["pinball"], out["crps"] = {}, {}
    for name, by_level in bounds.items():
        cols = {0.5: point[name]}
        for lv in levels:
            cols[round((1 - lv / 100) / 2, 6)], cols[round((1 + lv / 100) / 2, 6)] = by_level[lv]
        stack = np.stack([cols[t] for t in taus_i], axis=-1)
        out["pinball"][name] = float(pinball(actual, stack, taus_i).mean())
        out["crps"][name] = crps_from_quantiles(actual, stack, taus_i)
    if quantiles is not None:
        out["head_quantiles"] = {
            "taus": list(taus),
            "pinball": [float(v) for v in pinball(actual, quantiles, taus)],
            "crps": crps_from_quantiles(actual, quantiles, taus),
            "coverage": [float(v) for v in (actual[..., None] <= quantiles).reshape(-1, len(taus)).mean(axis=0)],
        }
    return out
