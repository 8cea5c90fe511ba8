"""Window index arithmetic (property-based), chronological splits and zero-copy views."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from forecaster.exceptions import ConfigError, DataError
from forecaster.windowing import Split, WindowView, chronological_split, valid_origins

PROPS = settings(max_examples=150, deadline=None)


# ----------------------------------------------------------------------------
# valid_origins
# ----------------------------------------------------------------------------
def test_valid_origins_worked_example() -> None:
    # lookback 4, horizon 2, 10 rows: inputs rows[o-4:o], targets rows[o:o+2].
    assert valid_origins(10, 4, 2).tolist() == [4, 5, 6, 7, 8]
    assert valid_origins(10, 4, 2, stride=3).tolist() == [5, 8]
    assert valid_origins(10, 4, 2, first_target=7).tolist() == [7, 8]
    assert valid_origins(10, 4, 2, end=8).tolist() == [4, 5, 6]
    assert valid_origins(5, 4, 2).tolist() == []
    assert valid_origins(6, 4, 2).tolist() == [4]
    assert valid_origins(10, 4, 2).dtype == np.int64


@PROPS
@given(
    n=st.integers(0, 600),
    lookback=st.integers(1, 120),
    horizon=st.integers(1, 60),
    stride=st.integers(1, 40),
)
def test_valid_origins_properties(n: int, lookback: int, horizon: int, stride: int) -> None:
    origins = valid_origins(n, lookback, horizon, stride=stride)
    if n - horizon < lookback:
        assert len(origins) == 0
        return
    assert len(origins) > 0
    assert (origins >= lookback).all() and (origins <= n - horizon).all()
    # The most recent window is always included.
    assert origins[-1] == n - horizon
    # Evenly spaced by stride, and no origin left out before the first one.
    assert (np.diff(origins) == stride).all()
    assert origins[0] - stride < lookback
    assert len(origins) == (n - horizon - lookback) // stride + 1


@PROPS
@given(
    n=st.integers(0, 400),
    lookback=st.integers(1, 60),
    horizon=st.integers(1, 30),
    stride=st.integers(1, 20),
    first_target=st.integers(0, 400),
    end=st.integers(0, 500),
)
def test_valid_origins_respect_split_bounds(
    n: int, lookback: int, horizon: int, stride: int, first_target: int, end: int
) -> None:
    origins = valid_origins(n, lookback, horizon, stride=stride, first_target=first_target, end=end)
    stop = min(end, n)
    for o in origins.tolist():
        assert o - lookback >= 0  # inputs exist
        assert o >= first_target  # first target inside the part
        assert o + horizon <= stop  # last target inside the part
    if len(origins):
        assert origins[-1] == stop - horizon
        assert (np.diff(origins) == stride).all()
    else:
        assert stop - horizon < max(lookback, first_target)


# ----------------------------------------------------------------------------
# WindowView
# ----------------------------------------------------------------------------
@st.composite
def buffers(draw: st.DrawFn) -> tuple[np.ndarray, int, int]:
    lookback = draw(st.integers(1, 40))
    horizon = draw(st.integers(1, 20))
    n = draw(st.integers(lookback + horizon, lookback + horizon + 150))
    n_cols = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    values = np.random.default_rng(seed).normal(100.0, 30.0, size=(n, n_cols)).astype(dtype)
    return values, lookback, horizon


@PROPS
@given(data=buffers(), stride=st.integers(1, 10))
def test_window_view_slices_match_index_arithmetic(data: tuple[np.ndarray, int, int], stride: int) -> None:
    values, lookback, horizon = data
    origins = valid_origins(len(values), lookback, horizon, stride=stride)
    view = WindowView(values, lookback, horizon)
    x, y = view.inputs(origins), view.targets(origins)
    assert x.shape == (len(origins), lookback, values.shape[1])
    assert y.shape == (len(origins), horizon)
    assert x.dtype == values.dtype and y.dtype == values.dtype
    for i, o in enumerate(origins.tolist()):
        np.testing.assert_array_equal(x[i], values[o - lookback : o])
        np.testing.assert_array_equal(y[i], values[o : o + horizon, 0])
    np.testing.assert_array_equal(view.reference(origins), np.zeros((len(origins), horizon)))


@PROPS
@given(data=buffers())
def test_relative_windows_subtract_last_observed_row_exactly(data: tuple[np.ndarray, int, int]) -> None:
    values, lookback, horizon = data
    origins = valid_origins(len(values), lookback, horizon)
    view = WindowView(values, lookback, horizon, relative=True)
    x, y, ref = view.inputs(origins), view.targets(origins), view.reference(origins)
    for i, o in enumerate(origins.tolist()):
        np.testing.assert_array_equal(x[i], values[o - lookback : o] - values[o - 1])
        np.testing.assert_array_equal(y[i], values[o : o + horizon, 0] - values[o - 1, 0])
        assert (ref[i] == values[o - 1, 0]).all()
    # The last input row is the reference itself: exactly zero.
    assert (x[:, -1, :] == 0).all()


def test_window_view_docstring_example() -> None:
    buf = np.arange(20, dtype=np.float32).reshape(10, 2)
    wv = WindowView(buf, lookback=3, horizon=2)
    assert wv.inputs(np.array([3]))[0, :, 0].tolist() == [0.0, 2.0, 4.0]
    assert wv.targets(np.array([3]))[0].tolist() == [6.0, 8.0]
    rel = WindowView(buf, lookback=3, horizon=2, relative=True)
    assert rel.inputs(np.array([3]))[0, :, 0].tolist() == [-4.0, -2.0, 0.0]
    assert rel.targets(np.array([3]))[0].tolist() == [2.0, 4.0]
    assert rel.reference(np.array([3, 5])).tolist() == [[4.0, 4.0], [8.0, 8.0]]


@PROPS
@given(data=buffers(), season=st.integers(1, 6))
def test_seasonal_base_is_the_value_one_season_earlier(data: tuple[np.ndarray, int, int], season: int) -> None:
    values, lookback, horizon = data
    if season > lookback:
        return
    steps = lookback - season + np.arange(horizon) % season
    origins = valid_origins(len(values), lookback, horizon)
    view = WindowView(values, lookback, horizon, relative=True, base_steps=steps)
    ref, y = view.reference(origins), view.targets(origins)
    for i, o in enumerate(origins.tolist()):
        for k in range(horizon):
            # The seasonal naive forecast of step k: the last observed value in the same phase of the season.
            assert ref[i, k] == values[o - season + k % season, 0]
            assert y[i, k] == values[o + k, 0] - ref[i, k]


def test_window_view_holds_views_not_copies() -> None:
    buf = np.random.default_rng(0).normal(size=(500, 3)).astype(np.float32)
    view = WindowView(buf, lookback=32, horizon=4)
    assert np.shares_memory(view._inputs, buf)
    assert np.shares_memory(view._targets, buf)
    assert view._inputs.base is not None
    # Writing to the buffer shows through the windows: nothing was copied.
    buf[40, 0] = 1234.5
    assert view.inputs(np.array([41]))[0, -1, 0] == 1234.5
    assert view.targets(np.array([40]))[0, 0] == 1234.5


def test_window_view_memory_is_independent_of_lookback() -> None:
    buf = np.ones((1_000_000, 1), dtype=np.float32)  # 4 MB, allocated before tracing
    lookback = 256
    materialised = buf.nbytes * lookback  # about 1 GB if windows were copied
    tracemalloc.start()
    try:
        view = WindowView(buf, lookback=lookback, horizon=5)
        batch = view.inputs(np.arange(lookback, lookback + 64))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert view._inputs.shape == (1_000_000 - lookback + 1, lookback, 1)
    assert batch.shape == (64, lookback, 1)
    assert peak < 10 * 2**20
    assert peak < materialised / 100


def test_window_view_rejects_non_2d() -> None:
    with pytest.raises(ConfigError, match=re.escape("`values` must be 2-D (rows, columns). Received shape (10,)")):
        WindowView(np.zeros(10), lookback=3, horizon=1)


def test_window_view_shorter_than_lookback() -> None:
    msg = "The series has 3 rows; lookback=5 needs at least 5."
    with pytest.raises(DataError, match=re.escape(msg)):
        WindowView(np.zeros((3, 1)), lookback=5, horizon=1)


def test_window_view_targets_need_horizon_rows() -> None:
    # Prediction builds a view over exactly `lookback` rows: inputs work, targets do not exist.
    buf = np.arange(4, dtype=np.float64).reshape(4, 1)
    view = WindowView(buf, lookback=4, horizon=6)
    np.testing.assert_array_equal(view.inputs(np.array([4]))[0, :, 0], [0.0, 1.0, 2.0, 3.0])
    with pytest.raises(DataError, match=re.escape("The series is shorter than horizon=6.")):
        view.targets(np.array([4]))


# ----------------------------------------------------------------------------
# chronological_split
# ----------------------------------------------------------------------------
def test_split_docstring_example() -> None:
    s = chronological_split(100, lookback=10, horizon=5, val_fraction=0.2)
    assert isinstance(s, Split)
    assert (s.train_end, s.val_end) == (80, 100)
    assert s.train_origins == range(10, 76)
    assert s.val_origins == range(80, 96)


@PROPS
@given(
    n=st.integers(10, 800),
    lookback=st.integers(1, 100),
    horizon=st.integers(1, 40),
    val_fraction=st.floats(0.01, 0.9),
    stride=st.integers(1, 12),
)
def test_split_never_lets_targets_cross_the_boundary(
    n: int, lookback: int, horizon: int, val_fraction: float, stride: int
) -> None:
    try:
        split = chronological_split(n, lookback, horizon, val_fraction, stride=stride)
    except DataError:
        assume(False)
        return
    assert isinstance(split.train_origins, range) and isinstance(split.val_origins, range)  # O(1) memory
    # The ranges are exactly the array form of valid_origins.
    assert list(split.train_origins) == valid_origins(n, lookback, horizon, stride=stride, end=split.train_end).tolist()
    assert list(split.val_origins) == valid_origins(
        n, lookback, horizon, stride=stride, first_target=split.train_end
    ).tolist()
    train, val, cut = np.asarray(split.train_origins), np.asarray(split.val_origins), split.train_end
    assert len(train) > 0 and len(val) > 0
    assert split.val_end == n
    assert 0 < cut < n
    # Every training target row lies before the cut, every validation target row at or after it.
    assert (train + horizon - 1 < cut).all()
    assert (val >= cut).all()
    assert (val + horizon <= n).all()
    assert (train >= lookback).all() and (val >= lookback).all()
    assert not set(train.tolist()) & set(val.tolist())
    # Validation holds at least one horizon, and the most recent windows are kept.
    assert n - cut >= horizon
    assert train[-1] == cut - horizon
    assert val[-1] == n - horizon
    assert (np.diff(train) == stride).all() and (np.diff(val) == stride).all()


def test_split_too_short_series() -> None:
    msg = (
        "Series has 45 rows; lookback=60 + horizon=5 needs at least 71 "
        "(one training and one validation window). Reduce --lookback or --horizon, or supply more data."
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        chronological_split(45, lookback=60, horizon=5, val_fraction=0.15)


def test_split_minimum_length_is_enough() -> None:
    # 71 rows, validation part = one horizon (5 rows): training targets end at row 65.
    split = chronological_split(71, lookback=60, horizon=5, val_fraction=0.01)
    assert split.train_end == 66
    assert list(split.train_origins) == [60, 61]
    assert list(split.val_origins) == [66]


def test_split_with_too_little_training_data() -> None:
    msg = (
        "Series has 100 rows; with val_fraction=0.9 the training part has 10 rows, "
        "fewer than lookback=10 + horizon=5. Reduce --lookback or supply more data."
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        chronological_split(100, lookback=10, horizon=5, val_fraction=0.9)


@PROPS
@given(data=buffers(), season=st.integers(2, 4))
def test_naive2_base_is_the_seasonally_adjusted_last_value(data: tuple[np.ndarray, int, int], season: int) -> None:
    """Naive2 of each window, computed the long way: seasonal profile over the window's last whole seasons."""
    from forecaster.choices import naive2_weights

    values, lookback, horizon = data
    if lookback // season < 2:
        return
    view = WindowView(values, lookback, horizon, relative=True, base_steps=naive2_weights(lookback, horizon, season))
    origins = valid_origins(len(values), lookback, horizon)
    ref, y = view.reference(origins), view.targets(origins)
    k = lookback // season
    for i, o in enumerate(origins.tolist()):
        cycles = values[o - k * season : o, 0].astype(np.float64).reshape(k, season)
        profile = (cycles - cycles.mean(axis=1, keepdims=True)).mean(axis=0)
        level = values[o - 1, 0] - profile[-1]
        want = level + profile[np.arange(horizon) % season]
        np.testing.assert_allclose(ref[i], want, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(y[i], values[o : o + horizon, 0] - ref[i], rtol=1e-4, atol=1e-3)


def test_naive2_needs_two_seasons_in_the_window() -> None:
    from forecaster.choices import base_candidates, naive2_weights

    with pytest.raises(ConfigError, match="two whole seasons"):
        naive2_weights(7, 3, 4)
    assert set(base_candidates(7, 3, 4)) == {"naive", "seasonal_naive"}
    assert set(base_candidates(8, 3, 4)) == {"naive", "seasonal_naive", "naive2"}
    assert set(base_candidates(8, 3, 1)) == {"naive"}
    assert set(base_candidates(8, 3, 1, ("naive", "drift"))) == {"naive", "drift"}
    # The candidate list is the user's; naive is always there; a recursive model takes the one-row bases only.
    assert set(base_candidates(8, 3, 4, ("seasonal_naive",))) == {"naive", "seasonal_naive"}
    assert set(base_candidates(8, 3, 4, ("naive2", "drift", "seasonal_naive"), rows_only=True)) == {"naive", "seasonal_naive"}


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 30), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_drift_base_is_the_window_random_walk_with_drift(lookback, horizon, seed) -> None:
    """The drift weights give ``x[-1] + k (x[-1] - x[0]) / (L - 1)`` for step ``k``, equal the baselines module's
    drift over the same window, and sum to one (so they commute with scaling and the window shift)."""
    from forecaster.baselines import drift
    from forecaster.choices import drift_weights

    x = np.random.default_rng(seed).normal(0, 1, lookback).cumsum()
    w = drift_weights(lookback, horizon)
    k = np.arange(1, horizon + 1)
    np.testing.assert_allclose(w @ x, x[-1] + k * (x[-1] - x[0]) / (lookback - 1), atol=1e-9)
    np.testing.assert_allclose(w @ x, drift(x, [lookback], horizon)[0], atol=1e-9)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 40), st.integers(1, 12), st.sampled_from([0.2, 0.5, 0.9, 1.0]), st.integers(0, 2**31 - 1))
def test_theta_base_is_the_theta_method_on_the_window(lookback, horizon, alpha, seed) -> None:
    """The theta weights give the Theta forecast of :mod:`forecaster.theta` over the window's rows alone (smoothed
    level from the window's first row, its least-squares slope, its row count), and sum to one."""
    from forecaster.choices import theta_weights
    from forecaster.theta import forecast, states

    x = 20 + np.random.default_rng(seed).normal(0, 1, lookback).cumsum()
    level, slope, count = (v[-1:] for v in states(x, alpha))
    want = forecast(level, slope, count, np.array([alpha]), horizon)[0]
    w = theta_weights(lookback, horizon, alpha)
    np.testing.assert_allclose(w @ x, want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)


def test_theta_base_fits_three_rows_and_is_a_weighted_base() -> None:
    from forecaster.choices import base_candidates, base_steps, theta_weights

    with pytest.raises(ConfigError, match="three rows"):
        theta_weights(2, 3)
    assert set(base_candidates(2, 3, 1, ("naive", "theta"))) == {"naive"}
    assert set(base_candidates(3, 3, 1, ("naive", "theta"))) == {"naive", "theta"}
    assert set(base_candidates(8, 3, 1, ("naive", "theta"), rows_only=True)) == {"naive"}
    np.testing.assert_allclose(base_steps("theta", 8, 3, 1), theta_weights(8, 3))
    np.testing.assert_allclose(base_steps("auto", 8, 3, 1, ("naive", "theta", "theta"))[1:], theta_weights(8, 3)[1:])


def test_auto_base_picks_drift_on_a_trend() -> None:
    from forecaster.choices import _step_bases, base_candidates

    rng = np.random.default_rng(1)
    y = 3.0 * np.arange(300) + rng.normal(0, 0.5, 300)
    bases, why = _step_bases(y, range(12, 280), base_candidates(12, 4, 1, ("naive", "drift")), 4, 12)
    assert bases == ("drift",) * 4 and "drift" in why
    # Without drift among the candidates, naive is all that is left.
    assert _step_bases(y, range(12, 280), base_candidates(12, 4, 1, ("naive",)), 4, 12)[0] == ("naive",) * 4


def test_auto_base_picks_naive2_where_it_is_most_accurate_on_training_windows() -> None:
    """A random-walk level under a strong season of 4: the last value is blind to the season, the value one season
    back is a season out of date; the seasonally adjusted last value (Naive2) is closest at every step but the one
    in the last value's own phase, where all three are the last value (the tie goes to naive)."""
    from forecaster.choices import _step_bases, base_candidates
    from forecaster.panel import _panel_step_bases

    rng = np.random.default_rng(0)
    n = 400
    y = 50 + np.cumsum(rng.normal(0, 1, n)) + 5 * np.tile([1.0, -1.0, 2.0, -2.0], n // 4)
    want = ("naive2", "naive2", "naive2", "naive")
    cands = base_candidates(16, 4, 4, ("naive", "seasonal_naive", "naive2"))
    bases, why = _step_bases(y, range(16, 300), cands, 4, 16)
    assert bases == want, why
    assert "naive2" in why and "seasonal naive" in why

    class Member:  # what _panel_step_bases reads of a series: its target
        def __init__(self, v):
            self.target_values = v

    bases, _ = _panel_step_bases([Member(y), Member(2 * y[:200])], cands, 16, 4, 0.15)
    assert bases == want
    # A season that does not fit twice: naive2 is no candidate.
    assert "naive2" not in _step_bases(y, range(16, 300), base_candidates(16, 4, 12), 4, 16)[0]


def test_a_recursive_rnn_with_the_automatic_base_chooses_among_one_row_bases():
    """A recursive model feeds its prediction back through a one-row base: ``base auto`` must not pick Naive2 or
    drift for it, even where they fit (two seasons in the window) and win, and the model then builds."""
    from forecaster.choices import resolve
    from forecaster.config import ForecastConfig
    from forecaster.models import IOSpec, build_model

    rng = np.random.default_rng(0)
    n = 400
    y = 50 + np.cumsum(rng.normal(0, 1, n)) + 5 * np.tile([1.0, -1.0, 2.0, -2.0], n // 4)
    values = y[:, None]
    base = dict(lookback=16, horizon=4, season=4, units=4, calendar=False, ensemble=1,
                base_candidates=["naive", "seasonal_naive", "naive2", "drift"])
    kw = dict(prices=False, linear=(), columns=["y"])
    direct, _ = resolve(ForecastConfig(**base), values, "D", **kw)
    assert "naive2" in direct.output.step_bases  # where it may, the direct model takes it
    cfg, _ = resolve(ForecastConfig(**base, multistep="recursive"), values, "D", **kw)
    assert set(cfg.output.step_bases) <= {"naive", "seasonal_naive"}
    build_model(cfg, IOSpec(lookback=16, horizon=4, n_past=1))
