"""Many series, one model: the panel layout, its automatic choices and its per-series scaling.

A panel is trained as one model on the windows of all its series (global
training, "cross-learning"). Nothing here imports Keras; ``Forecaster.fit``
drives it.

One buffer holds every series, scaled by its **own** :class:`SeriesScaler`
(fitted on that series' training rows only), each preceded by ``lookback - 1``
copies of its first scaled row (edge padding)::

    lookback = 3, horizon = 2; series a (5 rows), b (4 rows)

    buffer row: 0  1  | 2  3  4  5  6  | 7  8  | 9  10 11 12
                pad a | a0 a1 a2 a3 a4 | pad b | b0 b1 b2 b3

    an origin is a buffer row; series a's real row r is buffer row 2 + r.

Windows never cross a series boundary: a series' origins keep their inputs
inside its own padded segment and their targets inside its own rows.

Per series (the same rule as one series, applied to each):

* ``n_val = max(round(n * val_fraction), horizon)`` last rows validate, the
  rest trains (``train_end = n - n_val``); the scaler sees ``rows[:train_end]``;
* training origins ``r`` have every target before ``train_end``; validation
  origins every target in ``[train_end, n)``;
* the first origin is ``lookback`` (no padding read) when that still leaves
  ``lookback`` training windows, else as early as needed, down to row 1 (one
  observed input): a short series reads a flat past before its first value
  instead of being dropped. Long series never read padding;
* a series with fewer than 3 training rows (no scaler can be fitted), no
  window at all, or a target constant over its training rows is **skipped and
  reported** (``Forecaster.metrics_["skipped_series"]``, a warning): never
  silently dropped.

Static attributes (``--static-features``, one number per series) are model
inputs: each window gets its series' vector, every column standardised by
:class:`StaticScaler` with the mean and standard deviation over the series
the model is fitted on (the training series; a constant column gets a
standard deviation of 1). Values of one series are constant over time, so
nothing of a validation row enters them.

Origins are held as one arithmetic run per series
(:class:`~forecaster.windowing.SegmentedOrigins`): memory is the buffer
(total points + series x lookback) plus three integers per series.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forecaster.choices import (
    MAX_AUTO_LOOKBACK,
    _describe_steps,
    base_candidates,
    season_of,
)
from forecaster.config import ForecastConfig
from forecaster.exceptions import DataError
from forecaster.scaling import SeriesScaler
from forecaster.windowing import SegmentedOrigins, origin_range

log = logging.getLogger(__name__)

#: Origins per series the automatic per-step base choice reads (evenly spaced).
BASE_ORIGINS_PER_SERIES = 64


def panel_lookback(lengths: np.ndarray, season: int, horizon: int) -> int:
    """Automatic lookback of a panel: three seasons, at least twice the horizon and 8, at most the median length less a horizon.

    >>> panel_lookback(np.array([20, 30, 40]), 1, 6), panel_lookback(np.array([120, 140]), 12, 18)
    (12, 36)
    """
    want = min(max(3 * season if season > 1 else 0, 2 * horizon, 8), max(MAX_AUTO_LOOKBACK, season))
    return max(1, min(want, int(np.median(lengths)) - horizon))


@dataclass
class PanelLayout:
    """Where each used series lies in the panel buffer and which of its rows train and validate."""

    lookback: int
    horizon: int
    ids: list[str]
    lengths: np.ndarray        # real rows per series
    train_ends: np.ndarray     # one past the last training row, per series (real-row coordinates)
    first_origins: np.ndarray  # r0: first origin (real-row coordinates) per series
    skipped: dict[str, str] = field(default_factory=dict)  # id -> why

    @property
    def pad(self) -> int:
        return self.lookback - 1

    @property
    def starts(self) -> np.ndarray:
        """Buffer row of each series' first *real* row."""
        seg = self.lengths + self.pad
        return np.concatenate([[0], np.cumsum(seg)[:-1]]).astype(np.int64) + self.pad

    @property
    def n_rows(self) -> int:
        return int((self.lengths + self.pad).sum())

    def origins(self, part: str, stride: int = 1) -> SegmentedOrigins:
        """Training (``part="train"``) or validation origins of every series, as buffer rows."""
        firsts, counts = [], []
        for n, end, r0, start in zip(self.lengths, self.train_ends, self.first_origins, self.starts):
            if part == "train":
                r = origin_range(int(n), int(r0), self.horizon, stride=stride, end=int(end))
            else:
                r = origin_range(int(n), int(r0), self.horizon, stride=stride, first_target=int(end))
            firsts.append(start + (r.start if len(r) else 0))
            counts.append(len(r))
        return SegmentedOrigins(firsts, counts, stride)


def split_rows(n: int, horizon: int, val_fraction: float) -> int:
    """``train_end`` of one series of ``n`` rows (see the module docstring)."""
    return n - max(int(round(n * val_fraction)), horizon)


def first_origin(train_end: int, lookback: int, horizon: int) -> int:
    """``r0``: ``lookback`` when that leaves ``lookback`` training windows, else earlier, at least 1.

    >>> first_origin(100, 12, 6), first_origin(14, 12, 6), first_origin(24, 12, 6)
    (12, 1, 7)
    """
    return int(max(1, min(lookback, train_end - horizon - lookback + 1)))


def plan_layout(ids: list[str], lengths: list[int], lookback: int, horizon: int, val_fraction: float) -> PanelLayout:
    """The layout of the series that can be used; the others are listed in ``skipped`` with the reason."""
    keep, skipped = [], {}
    ends, firsts = [], []
    for sid, n in zip(ids, lengths):
        end = split_rows(n, horizon, val_fraction)
        r0 = first_origin(end, lookback, horizon)
        if end < 3:
            skipped[sid] = f"{n} rows: its training part ({max(end, 0)} rows) is shorter than 3"
            continue
        if n - horizon < max(r0, 1):
            skipped[sid] = f"{n} rows: fewer than horizon={horizon} + 1 (no window)"
            continue
        keep.append(sid)
        ends.append(end)
        firsts.append(r0)
    n_of = dict(zip(ids, lengths))
    return PanelLayout(
        lookback=lookback, horizon=horizon, ids=keep, lengths=np.array([n_of[i] for i in keep], dtype=np.int64),
        train_ends=np.array(ends, dtype=np.int64), first_origins=np.array(firsts, dtype=np.int64), skipped=skipped,
    )


def resolve_panel(config: ForecastConfig, members: list, freq: str, *, prices: bool) -> tuple[ForecastConfig, dict[str, Any]]:
    """Every automatic setting of ``config`` for a panel, from series lengths and training rows only.

    ``season`` from the frequency; ``lookback`` by :func:`panel_lookback`;
    ``base`` auto per horizon step, the baseline (naive or seasonal naive)
    with the lower MASE-scaled error over every series' training windows;
    ``normalization`` auto is window-relative (the per-series proxy of
    :mod:`forecaster.choices` picks for one series, not for a panel);
    ``ensemble`` from the number of training windows of the panel.
    """
    w = config.window
    choices: dict[str, Any] = {}
    season = season_of(config, freq)
    choices["season"] = {"value": season, "why": "given" if w.season is not None else f"from frequency {freq!r}"}
    lengths = np.array([len(m) for m in members])
    lookback = w.lookback
    if lookback is None:
        lookback = panel_lookback(lengths, season, w.horizon)
        choices["lookback"] = {
            "value": lookback, "why": f"3 seasons (>= 2 x horizon), at most the median series length less a horizon "
            f"and {MAX_AUTO_LOOKBACK}",
        }
    config = config.replace(lookback=lookback, season=season)
    if config.output.base == "auto":
        cands = base_candidates(lookback, w.horizon, season, config.output.base_candidates,
                                rows_only=config.model.multistep == "recursive")
        bases, why = _panel_step_bases(members, cands, lookback, w.horizon, w.val_fraction)
        config = config.replace(step_bases=bases)
        choices["base"] = {"value": _describe_steps(bases), "why": why}
    if config.model.skip == "auto":
        skip = "linear" if season > 1 else "none"
        config = config.replace(skip=skip)
        choices["skip"] = {"value": skip, "why": "a panel with a season: the window's linear map helps" if season > 1
                           else "a panel without a season: the window's linear map measured worse (M3 yearly)"}
    transform, normalization = config.data.transform, config.data.normalization
    if normalization == "auto":
        normalization = "window"
        transform = "none" if transform == "auto" and not prices else transform
        choices["normalization"] = {"value": normalization, "why": "a panel: window-relative (the proxy choice is per series)"}
    config = config.replace(transform=transform, normalization=normalization)
    if config.train.ensemble is None:
        layout = plan_layout([str(i) for i in range(len(members))], list(lengths), lookback, w.horizon, w.val_fraction)
        n = len(layout.origins("train", w.window_stride))
        size = 3 if n < 2000 else 1
        config = config.replace(ensemble=size)
        choices["ensemble"] = {"value": size, "why": f"{n} training windows"}
    return config, choices


def _panel_step_bases(members, cands: dict[str, np.ndarray], lookback: int, horizon: int, val_fraction: float):
    """Per step, the baseline of ``cands`` (see :func:`forecaster.choices.base_candidates`) with the lower mean
    error over the series' training windows, each series' errors divided by its mean absolute one-step change over
    its training rows (so no series dominates by its units)."""
    from forecaster.choices import _pick_steps

    if len(cands) == 1:
        return ("naive",) * horizon, "no other candidate fits the lookback: naive at every step"
    k = np.arange(horizon)
    errors, count = {name: np.zeros(horizon) for name in cands}, 0
    for m in members:
        y = m.target_values
        end = split_rows(len(y), horizon, val_fraction)
        origins = np.arange(lookback, end - horizon + 1)
        if end < 3 or len(origins) == 0:
            continue
        scale = float(np.mean(np.abs(np.diff(y[:end]))))
        if not scale > 0:
            continue
        if len(origins) > BASE_ORIGINS_PER_SERIES:
            origins = origins[np.linspace(0, len(origins) - 1, BASE_ORIGINS_PER_SERIES).astype(int)]
        actual = y[origins[:, None] + k]
        window = y[origins[:, None] - lookback + np.arange(lookback)]
        for name, w in cands.items():
            errors[name] += np.abs(actual - window @ w.T).sum(axis=0) / scale
        count += len(origins)
    if count == 0:
        return ("naive",) * horizon, "no training window a lookback long: naive at every step"
    return _pick_steps({n: e / count for n, e in errors.items()}, "lower scaled training-window error per step over the panel")


def deseason_members(members: list, config: ForecastConfig, freq: str, season: int) -> tuple[list, dict[str, np.ndarray], dict[str, Any] | None]:
    """``data.deseason`` for a panel (see :mod:`forecaster.seasonality`): each series' seasonal indices from its
    training rows (the rows before its validation split), and the members with those series' targets divided by them.

    Returns:
        The members (an adjusted copy for each adjusted series, the others as given), series id -> indices
        ``(season,)`` of the adjusted series, and the choice to report (None when off by ``config``).
    """
    from dataclasses import replace

    from forecaster.seasonality import adjust, grid_ordinal, seasonal_indices

    mode = config.data.deseason
    if mode == "off" or (mode == "auto" and season < 2):
        return members, {}, None
    if season < 2:
        return members, {}, {"value": "off", "why": "the series have no season (season 1)"}
    ordinals = [grid_ordinal(m.index[:1], freq) for m in members]
    if any(o is None for o in ordinals):
        return members, {}, {"value": "off", "why": f"the frequency {freq!r} has no fixed grid to place the seasons on"}
    w = config.window
    out, indices = [], {}
    for m, o in zip(members, ordinals):
        end = split_rows(len(m), w.horizon, w.val_fraction)
        idx = seasonal_indices(m.target_values[: max(end, 0)], season, int(o[0] % season)) if end > 0 else None
        if idx is None:
            out.append(m)
            continue
        indices[m.id] = idx
        # A shallow copy with a new target column: the other columns (calendar features included) stay shared.
        frame = m.frame.copy(deep=False)
        frame[m.target] = adjust(m.target_values[:, None], idx, int(o[0]))[:, 0]
        out.append(replace(m, frame=frame))
    choice = {
        "value": f"{len(indices)} of {len(members)} series seasonally adjusted",
        "why": f"{mode}: multiplicative indices of season {season} from each series' training rows, where they are "
               "positive, span three seasons and pass the 90 % seasonality test (M4's Naive2)",
    }
    return out, indices, choice


#: Name of the panel's own per-step choice among the per-series base candidates (see :func:`choose_series_bases`).
PANEL_BASE = "panel"


def series_base_stack(names: list[str], config: ForecastConfig) -> np.ndarray:
    """``(len(names), horizon, lookback)`` weights of the per-series base candidates named ``names``: ``panel`` (the
    panel's per-step choice, ``output.step_bases``) or a single baseline of :func:`forecaster.choices.base_candidates`."""
    from forecaster.choices import base_steps

    w = config.window
    season = w.season or 1
    rows = base_candidates(w.lookback, w.horizon, season, tuple(n for n in names if n != PANEL_BASE))
    out = []
    for name in names:
        if name == PANEL_BASE:
            steps = base_steps("auto", w.lookback, w.horizon, season, config.output.step_bases)
            if np.ndim(steps) == 1:
                steps = np.eye(w.lookback)[steps]
            out.append(np.asarray(steps, dtype=np.float64))
        elif name in rows:
            out.append(rows[name])
        else:
            raise DataError(f"The base {name!r} does not fit the window (lookback {w.lookback}, season {season}).")
    return np.stack(out)


def choose_series_bases(buffer: np.ndarray, layout: PanelLayout, config: ForecastConfig) -> tuple[list[str], np.ndarray]:
    """Each series' own base: the panel's per-step choice or one of ``output.base_candidates`` (those that fit the
    window), whichever has the lowest absolute error summed over that series' training windows (model units, so a
    log transform's multiplicative forms are judged as the network sees them; ties keep the panel's choice). A
    series without a training window keeps the panel's choice. Reads only training windows, whose targets end
    before each series' validation rows.

    Returns:
        The candidate names (``panel`` first) and one index into them per series of ``layout``.
    """
    w = config.window
    cands = base_candidates(w.lookback, w.horizon, w.season or 1, config.output.base_candidates)
    names = [PANEL_BASE, *cands]
    stack = series_base_stack(names, config)
    train = layout.origins("train", w.window_stride)
    choice = np.zeros(len(layout.ids), dtype=np.int64)
    lags, steps = np.arange(-w.lookback, 0), np.arange(w.horizon)
    for i in range(len(layout.ids)):
        hi = int(train.ends[i])
        lo = hi - int(train.counts[i])
        if hi == lo:
            continue
        pos = np.arange(lo, hi)
        if len(pos) > BASE_ORIGINS_PER_SERIES:
            pos = pos[np.linspace(0, len(pos) - 1, BASE_ORIGINS_PER_SERIES).astype(int)]
        o = train.take(pos)
        window = buffer[o[:, None] + lags, 0].astype(np.float64)
        actual = buffer[o[:, None] + steps, 0].astype(np.float64)
        errors = np.abs(actual[None] - np.einsum("nl,chl->cnh", window, stack)).sum(axis=(1, 2))
        choice[i] = int(np.argmin(errors))
    return names, choice


def describe_series_bases(names: list[str], choice: np.ndarray) -> str:
    """``panel 40, naive2 35, naive 25 series``."""
    counts = np.bincount(choice, minlength=len(names))
    order = np.argsort(-counts, kind="stable")
    return ", ".join(f"{names[i].replace('_', ' ')} {counts[i]}" for i in order if counts[i]) + " series"


def fit_scalers(members: list, layout: PanelLayout, config: ForecastConfig, *, prices: bool, linear: tuple[str, ...]):
    """One :class:`SeriesScaler` per series of ``layout``, fitted on that series' training rows only.

    A series whose scaler cannot be fitted (a target constant over its training
    rows) is moved to ``layout.skipped``; returns the new layout and the scalers.
    """
    by_id = {m.id: m for m in members}
    scalers, bad = [], {}
    for sid, end in zip(layout.ids, layout.train_ends):
        m = by_id[sid]
        try:
            scalers.append(SeriesScaler(config.data.transform, config.data.normalization).fit(
                m.values[: int(end)], columns=m.columns, prices=prices, linear=linear))
        except DataError as exc:
            bad[sid] = str(exc).split(";")[0]
            scalers.append(None)
    if bad:
        keep = [i for i, sid in enumerate(layout.ids) if sid not in bad]
        layout = PanelLayout(
            lookback=layout.lookback, horizon=layout.horizon, ids=[layout.ids[i] for i in keep],
            lengths=layout.lengths[keep], train_ends=layout.train_ends[keep], first_origins=layout.first_origins[keep],
            skipped={**layout.skipped, **bad},
        )
        scalers = [s for s in scalers if s is not None]
    return layout, scalers


@dataclass
class PanelScalers:
    """Every series' scaler parameters as arrays ``(series, columns)``: vectorised inverse, compact to save."""

    transform: str
    normalization: str
    columns: list[str]
    log: np.ndarray     # bool
    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def from_scalers(cls, scalers: list[SeriesScaler]) -> "PanelScalers":
        first = scalers[0]
        return cls(
            transform=first.transform, normalization=first.normalization, columns=list(first.columns_),
            log=np.stack([s.log_ for s in scalers]).astype(bool),
            center=np.stack([s.center_ for s in scalers]).astype(np.float64),
            scale=np.stack([s.scale_ for s in scalers]).astype(np.float64),
        )

    def scaler(self, i: int) -> SeriesScaler:
        """Series ``i``'s :class:`SeriesScaler`."""
        sc = SeriesScaler(self.transform, self.normalization)
        sc.columns_, sc.log_, sc.center_, sc.scale_ = list(self.columns), self.log[i], self.center[i], self.scale[i]
        return sc

    def transform_values(self, i: int, values: np.ndarray) -> np.ndarray:
        return self.scaler(i).transform_values(values)

    def inverse_target(self, series: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Original units of target values ``z`` (rows of series ``series[row]``)."""
        g = np.asarray(z, dtype=np.float64) * self.scale[series, 0][:, None] + self.center[series, 0][:, None]
        return np.where(self.log[series, 0][:, None], np.exp(np.where(self.log[series, 0][:, None], g, 0.0)), g)


@dataclass
class StaticScaler:
    """Standardisation of the static attributes: one mean and standard deviation per column, over the training series.

    >>> sc = StaticScaler.fit(["a", "b"], np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> sc.mean.tolist(), sc.std.tolist(), sc.transform(np.array([[3.0, 6.0]])).tolist()
    ([2.0, 5.0], [1.0, 1.0], [[1.0, 1.0]])
    """

    names: list[str]
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, names: list[str], values: np.ndarray) -> StaticScaler:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(names) or not np.isfinite(values).all():
            raise DataError(f"Static columns ({', '.join(names)}) must hold one finite number per series.")
        std = values.std(axis=0)
        return cls(list(names), values.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """``(series, n_static)`` original values -> the float32 model input."""
        return ((np.asarray(values, dtype=np.float64) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.names), "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StaticScaler:
        """Strictly: names, and as many finite means and positive standard deviations (else ValueError)."""
        names = [str(n) for n in d["features"]]
        mean, std = np.asarray(d["mean"], dtype=np.float64), np.asarray(d["std"], dtype=np.float64)
        if not names or mean.shape != (len(names),) or std.shape != (len(names),) or not np.isfinite(mean).all() \
                or not (np.isfinite(std) & (std > 0)).all():
            raise ValueError("`static` needs feature names with as many finite means and positive stds")
        return cls(names, mean, std)


def static_matrix(members: list, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """``(len(members), len(names))`` float64: each series' static values in the order ``names``.

    A series whose static columns differ from ``names`` (one missing, or one more) is a DataError.
    """
    names = list(names)
    for m in members:
        have = sorted(m.static)
        if have != sorted(names):
            fix = f"read the data with static_features={','.join(names)}" if names else "read it without static_features"
            raise DataError(
                f"Series {m.id!r} has static columns ({', '.join(have) or 'none'}); the model's are "
                f"({', '.join(names) or 'none'}): {fix} (--static-features)."
            )
    out = np.array([[m.static[n] for n in names] for m in members], dtype=np.float64).reshape(len(members), len(names))
    if not np.isfinite(out).all():
        bad = members[int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])].id
        raise DataError(f"Static columns ({', '.join(names)}) of series {bad!r} must be finite numbers.")
    return out


def panel_buffer(members: list, scalers: PanelScalers, pad: int, index: list[int] | None = None) -> np.ndarray:
    """The float32 panel buffer: each series scaled by its own scaler, preceded by ``pad`` copies of its first row.

    ``members`` are series (their ``values`` are read one at a time, so no second full copy of the panel exists)
    or arrays. The buffer is 64-byte aligned: TensorFlow then reads it in place (no copy).
    """
    from forecaster.training.pipeline import aligned_empty

    index = list(range(len(members))) if index is None else index
    n_cols = len(scalers.columns)
    out = aligned_empty((sum(len(v) + pad for v in members), n_cols), np.float32)
    row = 0
    for i, m in zip(index, members):
        v = m if isinstance(m, np.ndarray) else m.values
        z = scalers.transform_values(i, v)
        out[row : row + pad] = z[:1]
        out[row + pad : row + pad + len(v)] = z
        row += pad + len(v)
    return out


def pad_rows(values: np.ndarray, rows: int) -> np.ndarray:
    """The last ``rows`` rows of ``values``, edge-padded at the start when it is shorter."""
    if len(values) >= rows:
        return values[len(values) - rows :]
    return np.vstack([np.repeat(values[:1], rows - len(values), axis=0), values])
