"""Tests for forecaster.evaluation.metrics: hand-computed values, guards and error messages."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from forecaster.baselines import seasonal_naive
from forecaster.evaluation.metrics import (
    METRICS,
    evaluate,
    formulas,
    mae,
    mape,
    mase,
    mean_scaled_error,
    rmse,
    seasonal_naive_scale,
    smape,
)
from forecaster.exceptions import ConfigError, DataError

# Two origins, horizon 3. Errors e = y - yhat:
#   [[ 1, -2,  0],
#    [-3,  2,  4]]
Y = np.array([[1.0, 2.0, 4.0], [5.0, 4.0, 8.0]])
YHAT = np.array([[0.0, 4.0, 4.0], [8.0, 2.0, 4.0]])

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


# --------------------------------------------------------------------------- MAE / RMSE


def test_mae_exact():
    # |e| = [1, 2, 0, 3, 2, 4] -> 12 / 6
    assert mae(Y, YHAT) == pytest.approx(2.0)
    assert isinstance(mae(Y, YHAT), float)


def test_mae_per_horizon():
    np.testing.assert_allclose(mae(Y, YHAT, axis=0), [2.0, 2.0, 2.0])


def test_rmse_exact():
    # e^2 = [1, 4, 0, 9, 4, 16] -> sqrt(34 / 6)
    assert rmse(Y, YHAT) == pytest.approx(math.sqrt(34 / 6))
    assert isinstance(rmse(Y, YHAT), float)


def test_rmse_per_horizon():
    # per step: sqrt((1 + 9) / 2), sqrt((4 + 4) / 2), sqrt((0 + 16) / 2)
    np.testing.assert_allclose(rmse(Y, YHAT, axis=0), [math.sqrt(5), 2.0, math.sqrt(8)])


def test_one_dimensional_input_is_one_step_forecasts():
    y, yhat = [1.0, 2.0, 3.0], [2.0, 2.0, 5.0]
    assert mae(y, yhat) == pytest.approx(1.0)
    per_step = mae(y, yhat, axis=0)
    assert per_step.shape == (1,)
    np.testing.assert_allclose(per_step, [1.0])


def test_perfect_forecast_scores_zero():
    for name in ("mae", "rmse", "mape", "smape"):
        assert METRICS[name](Y, Y) == 0.0
    assert mase(Y, Y, [1.0, 3.0, 2.0], 1) == 0.0


# --------------------------------------------------------------------------- MAPE


def test_mape_exact():
    # |e| / |y| = [1, 1, 0, 0.6, 0.5, 0.5] -> 3.6 / 6 * 100
    assert mape(Y, YHAT) == pytest.approx(60.0)


def test_mape_per_horizon():
    # step 1: (1 + 0.6) / 2, step 2: (1 + 0.5) / 2, step 3: (0 + 0.5) / 2
    np.testing.assert_allclose(mape(Y, YHAT, axis=0), [80.0, 75.0, 25.0])


def test_mape_excludes_exact_zeros():
    # y = 0 is left out: (|2 - 1| / 2 + |4 - 5| / 4) / 2 = 0.375
    assert mape([0.0, 2.0, 4.0], [5.0, 1.0, 5.0]) == pytest.approx(37.5)


def test_mape_excludes_near_zeros_relative_to_scale():
    # 1e-12 <= 1e-8 * max|y| = 1e-8 -> excluded; only |1 - 2| / 1 remains.
    assert mape([1e-12, 1.0], [3.0, 2.0]) == pytest.approx(100.0)
    # 1e-6 > 1e-8 -> kept (a genuinely small value, not a zero).
    assert mape([1e-6, 1.0], [2e-6, 1.0]) == pytest.approx(50.0)


def test_mape_all_zero_is_nan():
    assert math.isnan(mape([0.0, 0.0], [1.0, 2.0]))


def test_mape_per_horizon_nan_only_where_all_excluded():
    y = [[0.0, 2.0], [0.0, 4.0]]
    yhat = [[1.0, 1.0], [1.0, 5.0]]
    out = mape(y, yhat, axis=0)
    assert math.isnan(out[0])
    assert out[1] == pytest.approx(37.5)


# --------------------------------------------------------------------------- sMAPE


def test_smape_exact():
    # 2|e| / (|y| + |yhat|) = [2/1, 4/6, 0, 6/13, 4/6, 8/12]
    expected = 100 * (2 + 4 / 6 + 0 + 6 / 13 + 4 / 6 + 8 / 12) / 6
    assert smape(Y, YHAT) == pytest.approx(expected)


def test_smape_per_horizon():
    expected = [100 * (2 + 6 / 13) / 2, 100 * (4 / 6 + 4 / 6) / 2, 100 * (0 + 8 / 12) / 2]
    np.testing.assert_allclose(smape(Y, YHAT, axis=0), expected)


def test_smape_both_zero_counts_as_zero():
    assert smape([0.0, 0.0], [0.0, 0.0]) == 0.0
    # one term 0 (both zero), one term 2 (opposite signs) -> 100 * 2 / 2
    assert smape([0.0, 1.0], [0.0, -1.0]) == pytest.approx(100.0)


def test_smape_maximum_is_200():
    assert smape([1.0, -3.0, 0.0], [-2.0, 5.0, 7.0]) == pytest.approx(200.0)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=6).flatmap(
        lambda h: st.tuples(
            hnp.arrays(np.float64, (3, h), elements=finite),
            hnp.arrays(np.float64, (3, h), elements=finite),
        )
    )
)
def test_smape_is_between_0_and_200(pair):
    y, yhat = pair
    value = smape(y, yhat)
    assert 0.0 <= value <= 200.0
    per_step = smape(y, yhat, axis=0)
    assert np.all((per_step >= 0.0) & (per_step <= 200.0))


# --------------------------------------------------------------------------- MASE


def test_seasonal_naive_scale_exact():
    # season 1: |2-1|, |4-2|, |7-4| -> 2; season 2: |4-1|, |7-2| -> 4
    assert seasonal_naive_scale([1.0, 2.0, 4.0, 7.0], 1) == pytest.approx(2.0)
    assert seasonal_naive_scale([1.0, 2.0, 4.0, 7.0], 2) == pytest.approx(4.0)


def test_mase_exact():
    # MAE = 2, scale (season 2) = 4
    assert mase(Y, YHAT, [1.0, 2.0, 4.0, 7.0], 2) == pytest.approx(0.5)
    np.testing.assert_allclose(mase(Y, YHAT, [1.0, 2.0, 4.0, 7.0], 2, axis=0), [0.5, 0.5, 0.5])


def test_mase_of_in_sample_seasonal_naive_is_one():
    season = 3
    y_train = np.array([5.0, 1.0, 3.0, 6.0, 2.0, 2.0, 8.0, 1.0, 4.0, 7.0])
    origins = np.arange(season, len(y_train))
    # In-sample one-step seasonal naive: yhat[t] = y_train[t - season].
    yhat = seasonal_naive(y_train, origins, horizon=1, season=season)
    y = y_train[origins][:, None]
    np.testing.assert_array_equal(yhat[:, 0], y_train[origins - season])
    assert mase(y, yhat, y_train, season) == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda s: st.tuples(
            st.just(s),
            hnp.arrays(np.float64, st.integers(min_value=s + 2, max_value=40), elements=finite),
        )
    )
)
def test_mase_of_in_sample_seasonal_naive_is_one_random(case):
    season, y_train = case
    if np.mean(np.abs(y_train[season:] - y_train[:-season])) == 0.0:
        return  # scale 0 (an exact repeat, or differences that underflow, e.g. 5e-324 / 2): MASE undefined (tested separately)
    y = y_train[season:]
    yhat = y_train[:-season]
    assert mase(y, yhat, y_train, season) == pytest.approx(1.0)


# --------------------------------------------------------------------------- evaluate / registry


def test_registry_names():
    assert set(METRICS) == {"mae", "rmse", "mape", "smape", "mase"}


def test_registry_entries():
    assert [m.label + m.unit for m in METRICS.values()] == ["MAE", "RMSE", "MAPE%", "sMAPE%", "MASE"]
    assert {name: m.fn for name, m in METRICS.items()} == {
        "mae": mae, "rmse": rmse, "mape": mape, "smape": smape, "mase": mase,
    }
    assert [name for name, m in METRICS.items() if m.scaled] == ["mase"]
    assert formulas() == {name: m.formula for name, m in METRICS.items()}
    assert "0-200" in formulas()["smape"] and "1e-8" in formulas()["mape"]


def test_mean_scaled_error_scales_each_origin():
    # |e| = [[1, 2, 0], [3, 2, 4]]; scales 1 and 2 -> [[1, 2, 0], [1.5, 1, 2]]
    assert mean_scaled_error(Y, YHAT, [1.0, 2.0]) == pytest.approx(7.5 / 6)
    np.testing.assert_allclose(mean_scaled_error(Y, YHAT, [1.0, 2.0], axis=0), [1.25, 1.5, 1.0])
    # One scale for every origin is MASE.
    assert mean_scaled_error(Y, YHAT, [2.0, 2.0]) == pytest.approx(mase(Y, YHAT, [1.0, 2.0, 4.0, 7.0], season=1))
    with pytest.raises(DataError, match="`scales` must hold one positive scale per origin"):
        mean_scaled_error(Y, YHAT, [1.0, 0.0])


def test_evaluate_computes_all():
    scores = evaluate(Y, YHAT, y_train=[1.0, 2.0, 4.0, 7.0], season=2)
    assert set(scores) == set(METRICS)
    assert all(isinstance(v, float) for v in scores.values())
    assert scores["mae"] == pytest.approx(2.0)
    assert scores["rmse"] == pytest.approx(math.sqrt(34 / 6))
    assert scores["mape"] == pytest.approx(60.0)
    assert scores["smape"] == pytest.approx(smape(Y, YHAT))
    assert scores["mase"] == pytest.approx(0.5)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", ["mae", "rmse", "mape", "smape"])
def test_shape_mismatch_message(name):
    msg = "`y` and `yhat` must have the same shape. Received: y.shape=(2, 3) and yhat.shape=(3, 2)"
    with pytest.raises(DataError, match=re.escape(msg)):
        METRICS[name](np.zeros((2, 3)), np.zeros((3, 2)))


def test_shape_mismatch_mase():
    with pytest.raises(DataError, match=re.escape("y.shape=(3,) and yhat.shape=(4,)")):
        mase([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0], 1)


def test_nan_rejected():
    msg = "`yhat` must not contain NaN or infinite values. Received: 1 NaN and 0 infinite value(s) in yhat"
    with pytest.raises(DataError, match=re.escape(msg)):
        mae([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(DataError, match=re.escape("`y` must not contain NaN")):
        smape([np.nan, 2.0], [1.0, 2.0])


def test_inf_rejected():
    msg = "`y` must not contain NaN or infinite values. Received: 0 NaN and 1 infinite value(s) in y"
    with pytest.raises(DataError, match=re.escape(msg)):
        rmse([np.inf, 2.0], [1.0, 2.0])


def test_nan_in_y_train_rejected():
    with pytest.raises(DataError, match=re.escape("`y_train` must not contain NaN")):
        mase([1.0], [2.0], [1.0, np.nan, 3.0], 1)


def test_empty_rejected():
    with pytest.raises(DataError, match=re.escape("`y` must not be empty. Received: y.shape=(0,)")):
        mae([], [])


def test_three_dimensional_rejected():
    msg = "`y` and `yhat` must be 1-D or 2-D arrays of shape (n_origins, horizon). Received: y.shape=(1, 2, 2)"
    with pytest.raises(DataError, match=re.escape(msg)):
        mae(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)))


def test_bad_axis():
    with pytest.raises(ConfigError, match=re.escape("`axis` must be None or 0. Received: axis=1")):
        mae(Y, YHAT, axis=1)


@pytest.mark.parametrize("season", [0, -1, 1.5, True])
def test_bad_season(season):
    msg = f"`season` must be a positive integer. Received: season={season!r}"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        mase(Y, YHAT, [1.0, 2.0, 3.0], season)


def test_y_train_too_short():
    msg = (
        "`y_train` must have at least season + 1 = 4 points to compute the seasonal naive scale. "
        "Received: len(y_train)=3, season=3"
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        seasonal_naive_scale([1.0, 2.0, 3.0], 3)
    with pytest.raises(DataError, match=re.escape(msg)):
        evaluate(Y, YHAT, y_train=[1.0, 2.0, 3.0], season=3)


def test_y_train_not_1d():
    with pytest.raises(DataError, match=re.escape("`y_train` must be a 1-D series. Received: y_train.shape=(2, 2)")):
        seasonal_naive_scale(np.ones((2, 2)), 1)


def test_zero_scale():
    msg = (
        "The seasonal naive scale of `y_train` is 0 (the training series repeats itself exactly every 2 "
        "step(s), e.g. it is constant), so MASE is undefined. Received: season=2, len(y_train)=6"
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        mase(Y, YHAT, [1.0, 5.0, 1.0, 5.0, 1.0, 5.0], 2)
    with pytest.raises(DataError, match=re.escape("is 0")):
        seasonal_naive_scale([3.0, 3.0, 3.0], 1)


def test_errors_are_value_errors():
    # DataError / ConfigError stay catchable as ValueError.
    with pytest.raises(ValueError):
        mae([1.0], [1.0, 2.0])
