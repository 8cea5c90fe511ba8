"""Lookback/horizon windows as zero-copy views, and chronological splits.

Every position in forecaster is expressed as an *origin*: origin ``o`` is the
first time step that is **not** observed. A window at origin ``o`` reads the
inputs ``rows[o - lookback : o]`` and forecasts ``rows[o : o + horizon]``::

    lookback = 4, horizon = 2, origin o = 6

    row:     0   1   2   3   4   5   6   7   8
                 [ inputs: 2..5  ] [tgt 6,7]
                                   ^ o

    valid origins: lookback <= o <= n_rows - horizon

Windows are never materialised: :class:`WindowView` holds
``numpy.lib.stride_tricks.sliding_window_view`` views into the one scaled
buffer, and a batch is gathered only when it is asked for. A series of
``n`` rows costs ``n * n_columns`` floats whatever the lookback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from forecaster.exceptions import ConfigError, DataError


def origin_range(
    n_rows: int,
    lookback: int,
    horizon: int,
    *,
    stride: int = 1,
    first_target: int = 0,
    end: int | None = None,
) -> range:
    """Origins whose inputs exist and whose targets lie in ``[first_target, end)``, as a ``range``.

    A ``range`` holds three numbers however many windows it describes, so a
    split of a 10-million-row series costs nothing per window.

    Args:
        n_rows: length of the series.
        lookback: input steps per window.
        horizon: forecast steps per window.
        stride: keep every ``stride``-th origin, counted back from the last
            one so that the most recent window is always included.
        first_target: first row a target may occupy (start of a split).
        end: one past the last row a target may occupy (end of a split).

    >>> origin_range(10, lookback=4, horizon=2)
    range(4, 9)
    >>> origin_range(10, lookback=4, horizon=2, stride=3)  # counted back from 8
    range(5, 9, 3)
    """
    end = n_rows if end is None else min(end, n_rows)
    lo = max(lookback, first_target)
    hi = end - horizon  # inclusive: targets o .. o + horizon - 1 < end
    if hi < lo:
        return range(0)
    first = hi - (hi - lo) // stride * stride
    return range(first, hi + 1, stride)


def valid_origins(
    n_rows: int,
    lookback: int,
    horizon: int,
    *,
    stride: int = 1,
    first_target: int = 0,
    end: int | None = None,
) -> np.ndarray:
    """:func:`origin_range` as an int64 array (for fancy indexing).

    >>> valid_origins(10, lookback=4, horizon=2).tolist()
    [4, 5, 6, 7, 8]
    >>> valid_origins(10, lookback=4, horizon=2, first_target=7).tolist()
    [7, 8]
    """
    r = origin_range(n_rows, lookback, horizon, stride=stride, first_target=first_target, end=end)
    return np.arange(r.start, r.stop, r.step, dtype=np.int64)


@dataclass(frozen=True)
class Split:
    """Row boundaries of a chronological split and the origins in each part.

    ``train_end`` is one past the last training row: the scaler is fitted on
    ``rows[:train_end]`` and no training target reaches beyond it. The
    origins are ``range`` objects (no memory per window); ``np.asarray``
    turns a slice of them into an array where one is needed.
    """

    train_end: int
    val_end: int
    train_origins: range
    val_origins: range


def chronological_split(n_rows: int, lookback: int, horizon: int, val_fraction: float, *, stride: int = 1) -> Split:
    """Split rows into train then validation, by position, never shuffled.

    Training windows have every target before ``train_end``; validation
    windows have every target in ``[train_end, n_rows)`` (their inputs may
    reach back into training rows: the past is allowed). Windows whose
    targets straddle the boundary belong to neither part.

    >>> s = chronological_split(100, lookback=10, horizon=5, val_fraction=0.2)
    >>> s.train_end, s.train_origins, s.val_origins
    (80, range(10, 76), range(80, 96))
    """
    need = lookback + 2 * horizon + 1
    if n_rows < need:
        raise DataError(
            f"Series has {n_rows} rows; lookback={lookback} + horizon={horizon} needs at least {need} "
            "(one training and one validation window). Reduce --lookback or --horizon, or supply more data."
        )
    n_val = max(int(round(n_rows * val_fraction)), horizon)
    train_end = n_rows - n_val
    train = origin_range(n_rows, lookback, horizon, stride=stride, end=train_end)
    val = origin_range(n_rows, lookback, horizon, stride=stride, first_target=train_end)
    if len(train) == 0:
        raise DataError(
            f"Series has {n_rows} rows; with val_fraction={val_fraction} the training part has {train_end} rows, "
            f"fewer than lookback={lookback} + horizon={horizon}. Reduce --lookback or supply more data."
        )
    if len(val) == 0:
        raise DataError(
            f"The validation part ({n_val} rows) is shorter than horizon={horizon}. Increase --val-fraction or reduce --horizon."
        )
    return Split(train_end=train_end, val_end=n_rows, train_origins=train, val_origins=val)


class WindowView:
    """Lazy windows over one ``(n_rows, n_columns)`` buffer; column 0 is the target.

    ``relative=True`` gives window-relative normalisation: each window's last
    observed row is subtracted from its inputs and from its targets, so the
    network sees the *shape* of the recent past and predicts *changes*
    (see :mod:`forecaster.scaling`). The reference row is returned by
    :meth:`reference` so forecasts can be put back exactly.

    >>> buf = np.arange(20, dtype=np.float32).reshape(10, 2)
    >>> wv = WindowView(buf, lookback=3, horizon=2)
    >>> wv.inputs(np.array([3]))[0, :, 0].tolist(), wv.targets(np.array([3]))[0].tolist()
    ([0.0, 2.0, 4.0], [6.0, 8.0])
    """

    def __init__(
        self,
        values: np.ndarray,
        lookback: int,
        horizon: int,
        *,
        relative: bool = False,
        n_future: int = 0,
        base_steps: np.ndarray | None = None,
        series_index: np.ndarray | None = None,
        series_input: bool = True,
        static: np.ndarray | None = None,
        series_bases: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        if values.ndim != 2:
            raise ConfigError(f"`values` must be 2-D (rows, columns). Received shape {values.shape}")
        if len(values) < lookback:
            raise DataError(
                f"The series has {len(values)} rows; lookback={lookback} needs at least {lookback}. "
                "Reduce --lookback or supply more data."
            )
        self.values = values
        self.lookback = lookback
        self.horizon = horizon
        self.relative = relative
        #: The last ``n_future`` columns are known-future covariates: :meth:`future` reads them over the horizon.
        self.n_future = n_future
        # Which input row (0 .. lookback-1) holds the baseline forecast of each horizon step: the
        # network predicts the target minus that value (see `reference`). Window-relative inputs
        # default to the last row (the naive forecast); None means no baseline (predict the level).
        # It may also be a weighted sum of input rows: ``base_steps`` is then ``(horizon, lookback)`` weights
        # (``base_weights``; e.g. Naive2, see forecaster.choices.naive2_weights) and ``base_steps`` is None.
        if base_steps is None and relative:
            base_steps = np.full(horizon, lookback - 1)
        self.base_weights = None
        if base_steps is not None and np.ndim(base_steps) == 2:
            weights = np.asarray(base_steps, dtype=np.float64)
            if weights.shape != (horizon, lookback) or not np.isfinite(weights).all():
                raise ConfigError(f"`base_steps` weights must be finite, of shape ({horizon}, {lookback}). "
                                  f"Received shape {weights.shape}")
            self.base_weights, base_steps = weights, None
        elif base_steps is not None:
            base_steps = np.asarray(base_steps, dtype=np.int64)
            if base_steps.shape != (horizon,) or base_steps.min() < 0 or base_steps.max() >= lookback:
                raise ConfigError(f"`base_steps` must be {horizon} input rows in [0, {lookback}). Received: {base_steps}")
        self.base_steps = base_steps
        #: Panels: the series index of every buffer row (int32). Fed as an input (``series_input``) to a
        #: series embedding, and read to gather each window's static vector.
        self.series_index = None if series_index is None else np.asarray(series_index, dtype=np.int32)
        self.series_input = bool(series_input) and self.series_index is not None
        #: Panels with static attributes: ``(n_series, n_static)`` float32, row ``i`` the vector of series ``i``;
        #: each window gets its series' row (so the buffer holds nothing per row for them).
        self.static = None
        if static is not None:
            if self.series_index is None:
                raise ConfigError("`static` vectors are gathered by `series_index`; pass both.")
            self.static = np.ascontiguousarray(static, dtype=np.float32)
            if self.static.ndim != 2 or (len(self.series_index) and self.series_index.max() >= len(self.static)):
                raise ConfigError(f"`static` must be (series, columns) covering every series index. Received shape "
                                  f"{self.static.shape}")
        #: Panels: ``(stack, choice)``, each series its own base: ``stack`` ``(candidates, horizon, lookback)``
        #: weights, ``choice[i]`` the candidate of series ``i`` (read through ``series_index``). Replaces
        #: ``base_steps``; memory grows with the series, not the windows.
        self.series_bases = None
        if series_bases is not None:
            stack, choice = np.asarray(series_bases[0], dtype=np.float64), np.asarray(series_bases[1], dtype=np.int64)
            if self.series_index is None:
                raise ConfigError("`series_bases` are read through `series_index`; pass both.")
            if (stack.ndim != 3 or stack.shape[1:] != (horizon, lookback) or not np.isfinite(stack).all()
                    or choice.ndim != 1 or (len(choice) and (choice.min() < 0 or choice.max() >= len(stack)))
                    or (len(self.series_index) and self.series_index.max() >= len(choice))):
                raise ConfigError(f"`series_bases` must be finite (candidates, {horizon}, {lookback}) weights and one "
                                  f"candidate per series. Received shapes {stack.shape}, {choice.shape}")
            self.series_bases = (stack, choice)
            self.base_steps = self.base_weights = None
        # (n - L + 1, C, L) -> (n - L + 1, L, C): still a view, no copy.
        self._inputs = sliding_window_view(values, lookback, axis=0).transpose(0, 2, 1)
        self._targets = sliding_window_view(values[:, 0], horizon) if len(values) >= horizon else None

    def inputs(self, origins: np.ndarray) -> np.ndarray:
        """``(len(origins), lookback, n_columns)`` inputs (a gathered copy of just this batch)."""
        x = self._inputs[np.asarray(origins) - self.lookback]
        if self.relative:
            x = x - x[:, -1:, :]
        return x

    def future(self, origins: np.ndarray) -> np.ndarray:
        """``(len(origins), horizon, n_future)`` known-future covariates at the target rows.

        They are given as scaled, never relative to the window's last row:
        their future values are known, so there is nothing to normalise away.
        """
        rows = np.asarray(origins)[:, None] + np.arange(self.horizon)
        return self.values[rows, self.values.shape[1] - self.n_future :]

    def model_inputs(self, origins: np.ndarray):
        """What the model is called on: the lookback window, plus the known-future block, the series index and
        the series' static vector if any (the order of :meth:`forecaster.shapes.IOSpec.inputs`)."""
        x = self.inputs(origins)
        parts = [x]
        if self.n_future:
            parts.append(self.future(origins))
        if self.series_input:
            parts.append(self.series_index[np.asarray(origins)][:, None])
        if self.static is not None:
            parts.append(self.static[self.series_index[np.asarray(origins)]])
        return tuple(parts) if len(parts) > 1 else x

    def targets(self, origins: np.ndarray) -> np.ndarray:
        """``(len(origins), horizon)`` targets, relative to the reference when ``relative``."""
        if self._targets is None:
            raise DataError(f"The series is shorter than horizon={self.horizon}.")
        y = self._targets[np.asarray(origins)]
        if self.base_steps is not None or self.base_weights is not None or self.series_bases is not None:
            y = y - self.reference(origins)
        return y

    def reference(self, origins: np.ndarray) -> np.ndarray:
        """``(len(origins), horizon)``: the baseline forecast the network's output is added to.

        With ``base_steps`` it is the target at those input rows (the last row:
        the naive forecast; the rows one season back: the seasonal naive
        forecast); without, zero (the network predicts the level).

        >>> buf = np.arange(10, dtype=np.float32)[:, None]
        >>> WindowView(buf, 4, 3, base_steps=np.array([2, 3, 2])).reference(np.array([5])).tolist()
        [[3.0, 4.0, 3.0]]
        """
        origins = np.asarray(origins)
        if self.series_bases is not None:
            stack, choice = self.series_bases
            window = self.values[origins[:, None] - self.lookback + np.arange(self.lookback), 0].astype(np.float64)
            weights = stack[choice[self.series_index[origins]]]  # (windows, horizon, lookback)
            return np.einsum("nl,nhl->nh", window, weights).astype(self.values.dtype)
        if self.base_weights is not None:
            window = self.values[origins[:, None] - self.lookback + np.arange(self.lookback), 0].astype(np.float64)
            return (window @ self.base_weights.T).astype(self.values.dtype)
        if self.base_steps is None:
            return np.zeros((len(origins), self.horizon), dtype=self.values.dtype)
        return self.values[origins[:, None] - self.lookback + self.base_steps, 0]


class SegmentedOrigins:
    """The origins of many series in one buffer: one arithmetic run per series, nothing stored per window.

    Series ``i`` contributes ``counts[i]`` origins ``firsts[i], firsts[i] + stride, ...``
    (buffer rows). Position ``p`` (``0 <= p < len``) maps to its series by a
    binary search of the cumulative counts, then to its origin by arithmetic::

        counts = [3, 2], firsts = [4, 20], stride = 1
        positions 0 1 2 | 3  4
        origins   4 5 6 | 20 21        (series 0 | series 1)

    So a panel of 100,000 series costs three integers per series, whatever
    the number of windows; ``np.asarray`` expands them only where asked.

    >>> o = SegmentedOrigins([4, 20], [3, 2])
    >>> len(o), o.take(np.array([0, 2, 3, 4])).tolist(), o.series_of(np.array([2, 3])).tolist()
    (5, [4, 6, 20, 21], [0, 1])
    """

    def __init__(self, firsts, counts, stride: int = 1) -> None:
        self.firsts = np.asarray(firsts, dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.int64)
        if self.firsts.shape != self.counts.shape or (self.counts < 0).any():
            raise ConfigError("`firsts` and `counts` must be equally long, counts non-negative.")
        self.stride = int(stride)
        #: ``ends[i]``: one past the last position of series ``i``.
        self.ends = np.cumsum(self.counts)

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def series_of(self, positions: np.ndarray) -> np.ndarray:
        """The series index of each position."""
        return np.searchsorted(self.ends, np.asarray(positions, dtype=np.int64), side="right")

    def take(self, positions: np.ndarray) -> np.ndarray:
        """The origins (buffer rows) at ``positions``."""
        positions = np.asarray(positions, dtype=np.int64)
        i = self.series_of(positions)
        return self.firsts[i] + (positions - (self.ends[i] - self.counts[i])) * self.stride

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self.take(np.arange(*key.indices(len(self)), dtype=np.int64))
        return self.take(np.asarray(key))

    def __array__(self, dtype=None, copy=None):
        out = self.take(np.arange(len(self), dtype=np.int64))
        return out if dtype is None else out.astype(dtype)
