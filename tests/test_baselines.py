"""Tests for forecaster.baselines: exact values, no look-ahead, season inference."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from forecaster.baselines import (
    BASELINES,
    all_baselines,
    drift,
    formulas,
    infer_season,
    naive,
    seasonal_naive,
    window_mean,
)
from forecaster.exceptions import ConfigError, DataError

H = np.array([10.0, 11.0, 12.0, 13.0, 14.0, 15.0])
# A series with no trend structure, so every baseline gives distinct numbers.
S = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


# --------------------------------------------------------------------------- exact values


def test_module_docstring_worked_example():
    out = all_baselines(H, [4], horizon=2, season=2)
    np.testing.assert_array_equal(out["naive"], [[13.0, 13.0]])
    np.testing.assert_array_equal(out["seasonal_naive"], [[12.0, 13.0]])
    np.testing.assert_allclose(out["drift"], [[14.0, 15.0]])
    np.testing.assert_array_equal(out["window_mean"], [[12.5, 12.5]])


def test_naive_exact():
    out = naive(S, [1, 3, 8], horizon=2)
    np.testing.assert_array_equal(out, [[3.0, 3.0], [4.0, 4.0], [6.0, 6.0]])
    assert out.dtype == np.float64


def test_seasonal_naive_exact_and_repeats_last_season():
    # origin 5, season 3: last season is S[2:5] = [4, 1, 5], repeated for k > 3.
    out = seasonal_naive(S, [5, 8], horizon=5, season=3)
    np.testing.assert_array_equal(out, [[4.0, 1.0, 5.0, 4.0, 1.0], [9.0, 2.0, 6.0, 9.0, 2.0]])


def test_seasonal_naive_horizon_shorter_than_season():
    # origin 7, season 4: k=1 -> S[3], k=2 -> S[4]
    np.testing.assert_array_equal(seasonal_naive(S, [7], horizon=2, season=4), [[1.0, 5.0]])


def test_seasonal_naive_season_one_is_naive():
    origins = np.arange(1, len(S) + 1)
    np.testing.assert_array_equal(seasonal_naive(S, origins, 3, season=1), naive(S, origins, 3))


def test_drift_exact():
    # origin 5: last = 5, first = 3, slope = (5 - 3) / 4 = 0.5 -> 5.5, 6.0, 6.5
    # origin 8: last = 6, first = 3, slope = 3 / 7
    out = drift(S, [5, 8], horizon=3)
    np.testing.assert_allclose(out, [[5.5, 6.0, 6.5], [6 + 3 / 7, 6 + 6 / 7, 6 + 9 / 7]])


def test_drift_origin_two():
    # two observed points: slope = S[1] - S[0] = -2
    np.testing.assert_allclose(drift(S, [2], horizon=2), [[-1.0, -3.0]])


def test_drift_window():
    # origin 6, window 3: points S[3:6] = [1, 5, 9], slope = (9 - 1) / 2 = 4
    np.testing.assert_allclose(drift(S, [6], horizon=2, window=3), [[13.0, 17.0]])
    # window == origin is the full-history drift
    np.testing.assert_allclose(drift(S, [6], horizon=2, window=6), drift(S, [6], horizon=2))


def test_window_mean_exact():
    # origin 4, window 3: mean(S[1:4]) = 2; origin 8: mean(S[5:8]) = 17 / 3
    out = window_mean(S, [4, 8], horizon=2, window=3)
    np.testing.assert_allclose(out, [[2.0, 2.0], [17 / 3, 17 / 3]])


def test_all_baselines_window_defaults_to_season():
    out = all_baselines(S, [6, 8], horizon=4, season=3)
    assert list(out) == ["naive", "seasonal_naive", "drift", "window_mean"]
    np.testing.assert_allclose(out["window_mean"], window_mean(S, [6, 8], 4, window=3))
    np.testing.assert_allclose(out["drift"], drift(S, [6, 8], 4))
    out5 = all_baselines(S, [6, 8], horizon=4, season=3, window=5)
    np.testing.assert_allclose(out5["window_mean"], window_mean(S, [6, 8], 4, window=5))
    for forecast in out.values():
        assert forecast.shape == (2, 4)


def test_registry():
    assert {name: b.fn for name, b in BASELINES.items()} == {
        "naive": naive,
        "seasonal_naive": seasonal_naive,
        "drift": drift,
        "window_mean": window_mean,
    }
    assert [b.label for b in BASELINES.values()] == ["naive", "seasonal naive", "drift", "window mean"]
    assert formulas() == {name: b.formula for name, b in BASELINES.items()}
    # Calling an entry calls its function; forecast() passes each baseline only the settings it takes.
    np.testing.assert_array_equal(BASELINES["naive"](H, [4], 2), naive(H, [4], 2))
    np.testing.assert_array_equal(
        BASELINES["window_mean"].forecast(H, [4], 2, season=3, window=2), window_mean(H, [4], 2, window=2)
    )
    np.testing.assert_array_equal(
        BASELINES["seasonal_naive"].forecast(H, [4], 2, season=3, window=2), seasonal_naive(H, [4], 2, season=3)
    )


def test_empty_origins():
    out = all_baselines(S, np.array([], dtype=int), horizon=3, season=2)
    for forecast in out.values():
        assert forecast.shape == (0, 3)


def test_origin_at_end_of_history_forecasts_past_the_data():
    np.testing.assert_array_equal(naive(S, [len(S)], horizon=2), [[6.0, 6.0]])


def test_nan_after_last_origin_is_allowed():
    history = np.append(S, np.nan)
    np.testing.assert_array_equal(naive(history, [8], horizon=1), [[6.0]])


# --------------------------------------------------------------------------- vectorised == reference


def _reference(history, origin, horizon, season, window):
    """Straightforward per-origin implementation of the documented formulas."""
    past = history[:origin]
    last = past[-1]
    steps = np.arange(1, horizon + 1)
    return {
        "naive": np.full(horizon, last),
        "seasonal_naive": np.array([past[origin - season + (k - 1) % season] for k in steps]),
        "drift": last + steps * (last - past[0]) / (origin - 1),
        "window_mean": np.full(horizon, np.mean(past[-window:])),
    }


@st.composite
def series_and_origins(draw):
    n = draw(st.integers(min_value=3, max_value=40))
    history = draw(hnp.arrays(np.float64, n, elements=finite))
    season = draw(st.integers(min_value=1, max_value=n - 1))
    window = draw(st.integers(min_value=1, max_value=n - 1))
    low = max(2, season, window)
    origins = draw(st.lists(st.integers(min_value=low, max_value=n), min_size=1, max_size=6))
    horizon = draw(st.integers(min_value=1, max_value=10))
    return history, np.array(origins), horizon, season, window


@settings(max_examples=100, deadline=None)
@given(series_and_origins())
def test_vectorised_matches_reference(case):
    history, origins, horizon, season, window = case
    out = all_baselines(history, origins, horizon, season, window)
    for row, origin in enumerate(origins):
        expected = _reference(history, int(origin), horizon, season, window)
        for name, values in expected.items():
            np.testing.assert_allclose(out[name][row], values, rtol=1e-9, atol=1e-6)


# --------------------------------------------------------------------------- no look-ahead


@settings(max_examples=100, deadline=None)
@given(series_and_origins(), st.data())
def test_forecasts_use_only_data_before_the_origin(case, data):
    history, origins, horizon, season, window = case
    before = all_baselines(history, origins, horizon, season, window)
    for row, origin in enumerate(origins):
        origin = int(origin)
        future = data.draw(hnp.arrays(np.float64, len(history) - origin, elements=finite))
        perturbed = history.copy()
        perturbed[origin:] = future + 1e3  # arbitrary new values after the origin
        after = all_baselines(perturbed, origins, horizon, season, window)
        for name in before:
            np.testing.assert_array_equal(after[name][row], before[name][row], err_msg=name)
        np.testing.assert_array_equal(
            drift(perturbed, [origin], horizon, window=max(window, 2)),
            drift(history, [origin], horizon, window=max(window, 2)),
        )


# --------------------------------------------------------------------------- errors


def test_seasonal_naive_origin_before_first_season():
    msg = (
        "seasonal_naive with season=4 needs every origin >= 4. Received: min(origins)=3. "
        "Start forecasting at origin >= 4 (a full season of history) or pass a smaller `season`."
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        seasonal_naive(S, [3, 6], horizon=2, season=4)


def test_drift_needs_two_points():
    msg = (
        "drift needs every origin >= 2. Received: min(origins)=1. "
        "Start forecasting at origin >= 2 (two observed points are needed for a slope)."
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        drift(S, [1], horizon=1)


def test_drift_window_too_long_for_origin():
    msg = "drift with window=5 needs every origin >= 5. Received: min(origins)=4."
    with pytest.raises(DataError, match=re.escape(msg)):
        drift(S, [4], horizon=1, window=5)


@pytest.mark.parametrize("window", [1, 0, 2.0])
def test_drift_bad_window(window):
    msg = f"`window` must be None or an integer >= 2 (a slope needs two points). Received: window={window!r}"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        drift(S, [4], horizon=1, window=window)


def test_window_mean_origin_too_early():
    msg = (
        "window_mean with window=3 needs every origin >= 3. Received: min(origins)=2. "
        "Start forecasting at origin >= 3 or pass a smaller `window`."
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        window_mean(S, [2], horizon=1, window=3)


@pytest.mark.parametrize("origins", [[0], [9], [-1, 3]])
def test_origin_out_of_range(origins):
    msg = "Every origin must satisfy 1 <= origin <= len(history) = 8 (origin o forecasts from history[:o])."
    with pytest.raises(DataError, match=re.escape(msg)):
        naive(S, origins, horizon=1)


def test_origin_out_of_range_lists_offenders():
    msg = "Received: 2 origin(s) out of range, e.g. [0, 9]"
    with pytest.raises(DataError, match=re.escape(msg)):
        naive(S, [0, 3, 9], horizon=1)


def test_float_origins_rejected():
    msg = "`origins` must be a 1-D array of integer positions. Received: origins.shape=(1,), origins.dtype=float64"
    with pytest.raises(DataError, match=re.escape(msg)):
        naive(S, [3.0], horizon=1)


def test_2d_history_rejected():
    msg = "`history` must be a non-empty 1-D series. Received: history.shape=(2, 4)"
    with pytest.raises(DataError, match=re.escape(msg)):
        naive(S.reshape(2, 4), [1], horizon=1)


def test_nan_before_origin_rejected():
    history = S.copy()
    history[2] = np.nan
    msg = "`history` must not contain NaN or infinite values before the last origin. Received: history[2]=nan"
    with pytest.raises(DataError, match=re.escape(msg)):
        naive(history, [5], horizon=1)


@pytest.mark.parametrize("name,value", [("horizon", 0), ("horizon", 1.5)])
def test_bad_horizon(name, value):
    msg = f"`horizon` must be a positive integer. Received: horizon={value!r}"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        naive(S, [3], horizon=value)


def test_bad_season():
    msg = "`season` must be a positive integer. Received: season=0"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        seasonal_naive(S, [3], horizon=1, season=0)
    with pytest.raises(ConfigError, match=re.escape(msg)):
        all_baselines(S, [3], horizon=1, season=0)


def test_bad_window_mean_window():
    msg = "`window` must be a positive integer. Received: window=0"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        window_mean(S, [3], horizon=1, window=0)


# --------------------------------------------------------------------------- infer_season


@pytest.mark.parametrize(
    "freq,season",
    [
        # sub-daily: steps per day
        ("h", 24),
        ("H", 24),
        ("1h", 24),
        ("2h", 12),
        ("6h", 4),
        ("30min", 48),
        ("30T", 48),
        ("15min", 96),
        ("15T", 96),
        ("10min", 144),
        ("5min", 288),
        ("min", 1440),
        ("T", 1440),
        ("1min", 1440),
        # daily: steps per week
        ("D", 7),
        ("B", 5),
        ("C", 5),
        # weekly and coarser: steps per year
        ("W", 52),
        ("W-SUN", 52),
        ("W-SAT", 52),
        ("2W", 26),
        ("MS", 12),
        ("ME", 12),
        ("M", 12),
        ("3MS", 4),
        ("QS", 4),
        ("QE", 4),
        ("Q", 4),
        ("Q-DEC", 4),
        ("QS-JAN", 4),
        ("YS", 1),
        ("YE", 1),
        ("Y", 1),
        ("A", 1),
        ("A-DEC", 1),
        (" h ", 24),
    ],
)
def test_infer_season(freq, season):
    assert infer_season(freq) == season


@pytest.mark.parametrize("freq", ["xyz", "", "not a freq"])
def test_infer_season_unknown(freq):
    msg = (
        "Unknown frequency; cannot infer a season length. Pass the season length explicitly with --season. "
        f"Received: freq={freq!r}"
    )
    with pytest.raises(ConfigError, match=re.escape(msg)):
        infer_season(freq)


@pytest.mark.parametrize("freq", ["7min", "2D", "3W"])
def test_infer_season_no_whole_cycle(freq):
    msg = (
        "Cannot infer a season length from this frequency (no whole number of steps per day, week or year). "
        f"Pass the season length explicitly with --season. Received: freq={freq!r}"
    )
    with pytest.raises(ConfigError, match=re.escape(msg)):
        infer_season(freq)


def test_infer_season_non_string():
    with pytest.raises(ConfigError, match=re.escape("Received: freq=24")):
        infer_season(24)  # type: ignore[arg-type]
