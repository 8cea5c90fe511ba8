"""The network combined with each series' Theta forecast (``--combine``), for a panel and for one series: the
method, leakage, the exact combination, every prediction path, save/load and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import assert_one_line_error
from hypothesis import given, settings
from hypothesis import strategies as st
from test_panel import TINY, panel_frame

import forecaster as fc
from forecaster.cli import cli
from forecaster.exceptions import ConfigError
from forecaster.panel import split_rows
from forecaster.theta import (
    ALPHAS,
    ETS_TREND_ROWS,
    choose_alpha,
    choose_ets,
    end_state,
    ets_forecast,
    ets_states,
    ets_valid,
    forecast,
    member_forecast,
    states,
    theta_rows,
)

EXACT = {**TINY, "calendar": False, "deseason": "off"}


def theta_long_way(x: np.ndarray, alpha: float, horizon: int) -> np.ndarray:
    """Hyndman and Billah's Theta forecast from the end of ``x``: the smoothing recursion from the first value,
    half the least-squares slope times the step gain."""
    level = x[0]
    for v in x[1:]:
        level = alpha * v + (1 - alpha) * level
    slope = np.polyfit(np.arange(len(x)), x, 1)[0] if len(x) > 1 else 0.0
    k = np.arange(1, horizon + 1)
    return level + slope / 2 * (k - 1 + 1 / alpha - (1 - alpha) ** len(x) / alpha)


def ets_long_way(x: np.ndarray, params, horizon: int) -> tuple[np.ndarray, float]:
    """Holt's (damped) trend method from the end of ``x`` the long way, in the textbook's component form, and its
    sum of squared one-step errors: level ``x[0]``, trend ``x[1] - x[0]`` (0 without a trend)."""
    alpha, beta, phi, trend = params
    level, slope, sse = x[0], (x[1] - x[0]) * trend if len(x) > 1 else 0.0, 0.0
    for v in x[1:]:
        sse += (v - (level + phi * slope)) ** 2
        new = alpha * v + (1 - alpha) * (level + phi * slope)
        # beta here is the error-correction beta: beta* = beta / alpha in the component form.
        slope = (beta / alpha) * (new - level) + (1 - beta / alpha) * phi * slope
        level = new
    return level + np.array([sum(phi**i for i in range(1, k + 1)) for k in range(1, horizon + 1)]) * slope, sse


def stat_long_way(x: np.ndarray, alpha: float, ets, horizon: int) -> np.ndarray:
    """The statistical forecast the network is combined with: the mean of Theta's and the smoothing model's."""
    return (theta_long_way(x, alpha, horizon) + ets_long_way(x, ets, horizon)[0]) / 2


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 40), st.integers(1, 8), st.sampled_from(ALPHAS), st.integers(0, 2**31 - 1))
def test_states_give_the_theta_method_at_every_origin(n, horizon, alpha, seed):
    x = np.random.default_rng(seed).normal(0, 1, n).cumsum() + 5
    level, slope, count = states(x, alpha)
    for r in range(1, n + 1):
        got = forecast(level[r : r + 1], slope[r : r + 1], count[r : r + 1], np.array([alpha]), horizon)[0]
        np.testing.assert_allclose(got, theta_long_way(x[:r], alpha, horizon), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(end_state(x, alpha), [level[-1], slope[-1], count[-1]])
    # Affine-equivariant: the forecast of a scaled series is the scaled forecast (it maps back through a scaler).
    l2, s2, c2 = states(3 * x - 2, alpha)
    np.testing.assert_allclose(forecast(l2, s2, c2, np.full(n + 1, alpha), horizon),
                               3 * forecast(level, slope, count, np.full(n + 1, alpha), horizon) - 2, atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 40), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_states_give_the_smoothing_model_at_every_origin(n, horizon, seed):
    """The exponential-smoothing member at every origin equals Holt's method run the long way, for each form,
    is affine-equivariant, and the combined member is the mean of the two forecasts."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n).cumsum() + 5
    for params in ([0.3, 0.0, 1.0, 0.0], [0.5, 0.05, 1.0, 1.0], [0.7, 0.14, 0.9, 1.0], [1.0, 0.2, 0.8, 1.0],
                   [0.5, 0.1, 0.95, 0.0]):
        p = np.array(params)
        level, trend = ets_states(x, p)
        for r in range(1, n + 1):
            got = ets_forecast(level[r : r + 1], trend[r : r + 1], p[None], horizon)[0]
            np.testing.assert_allclose(got, ets_long_way(x[:r], params, horizon)[0], rtol=1e-9, atol=1e-9)
        l2, t2 = ets_states(3 * x - 2, p)
        np.testing.assert_allclose(ets_forecast(l2, t2, np.tile(p, (n + 1, 1)), horizon),
                                   3 * ets_forecast(level, trend, np.tile(p, (n + 1, 1)), horizon) - 2, atol=1e-8)
        alpha = ALPHAS[seed % len(ALPHAS)]
        both = end_state(x, alpha, p)
        np.testing.assert_allclose(both[:3], end_state(x, alpha))
        np.testing.assert_allclose(member_forecast(both[None], np.array([alpha]), p[None], horizon)[0],
                                   stat_long_way(x, alpha, params, horizon), rtol=1e-9, atol=1e-9)


def test_the_smoothing_form_and_weights_are_the_lowest_error_then_aicc():
    """Brute force over the grid: per form the weights with the lowest one-step squared error, then the form with
    the lowest AICc; short series take simple smoothing, too short ones weight 0.5; every choice is valid."""
    from forecaster.theta import _ETS_PARAMS, _ets_grid

    grid, form = _ets_grid()
    rng = np.random.default_rng(5)
    t = np.arange(40.0)
    series = [0.5 * t + rng.normal(0, 0.3, 40), 10 + rng.normal(0, 1, 40), 10 + 8 * (1 - 0.9**t) + rng.normal(0, 0.1, 40),
              rng.normal(0, 1, 25).cumsum(), np.arange(ETS_TREND_ROWS - 1.0), np.array([1.0, 2.0])]
    got = choose_ets(series)
    assert ets_valid(got)
    for x, p in zip(series, got):
        if len(x) < 3:
            np.testing.assert_array_equal(p, [0.5, 0.0, 1.0, 0.0])
            continue
        sse = np.array([ets_long_way(x, g, 1)[1] for g in grid])
        m, k = len(x) - 1, _ETS_PARAMS[form]
        with np.errstate(divide="ignore"):
            aicc = m * np.log(np.maximum(sse, 1e-300) / m) + 2 * k + 2 * k * (k + 1) / (m - k - 1)
        aicc[(m - k - 1 <= 0) | ((form > 0) & (len(x) < ETS_TREND_ROWS))] = np.inf
        np.testing.assert_array_equal(p, grid[np.argmin(aicc)])
    assert got[0, 1] > 0 and got[1, 1] == 0.0 and got[4, 1] == 0.0  # a trend; a level; too short for a trend
    assert {tuple(g[3:]) for g in grid[form > 0]} == {(0.0,), (1.0,)}  # each trend form from both starts
    assert not ets_valid(np.array([[0.0, 0.0, 1.0, 0.0]])) and not ets_valid(np.array([[0.5, 0.1, 1.0, 0.5]]))


def test_the_state_at_an_origin_reads_only_the_rows_before_it():
    """The leakage spy of the method: rewriting every row from ``r`` on leaves the states up to ``r`` unchanged,
    in a panel buffer too (two series, padding rows before each)."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 50).cumsum()
    for r in (1, 10, 49):
        spoiled = x.copy()
        spoiled[r:] = rng.normal(0, 100, 50 - r)
        for a in (0.1, 0.9):
            for got, want in zip(states(spoiled, a), states(x, a)):
                np.testing.assert_array_equal(got[: r + 1], want[: r + 1])
        for p in ([0.3, 0.0, 1.0, 0.0], [0.7, 0.14, 0.9, 1.0]):
            for got, want in zip(ets_states(spoiled, np.array(p)), ets_states(x, np.array(p))):
                np.testing.assert_array_equal(got[: r + 1], want[: r + 1])
    for pad in (3, 0):
        lengths = [20, 30]
        buf = np.concatenate([np.zeros(pad), x[:20], np.zeros(pad), x[20:]])
        # Series 2's origin r (buffer row pad + 20 + pad + r) holds the state of its first r rows; the row after
        # series 1's last row holds its end state (a forecast from its end), even without padding.
        rows = np.array([2 * pad + 21, 2 * pad + 25, 2 * pad + 50, pad + 20, pad + 1])
        got = theta_rows(buf, lengths, pad, np.array([0.3, 0.7]), rows)
        two, one = states(x[20:], 0.7), states(x[:20], 0.3)
        want = [[s[r] for s in two] for r in (1, 5, 30)] + [list(end_state(x[:20], 0.3)), [s[1] for s in one]]
        np.testing.assert_allclose(got, want)
        ets = np.array([[0.3, 0.0, 1.0, 0.0], [0.7, 0.14, 0.9, 1.0]])
        got = theta_rows(buf, lengths, pad, np.array([0.3, 0.7]), rows, ets)
        two, one = [*two, *ets_states(x[20:], ets[1])], [*one, *ets_states(x[:20], ets[0])]
        want = [[s[r] for s in two] for r in (1, 5, 30)] + [list(end_state(x[:20], 0.3, ets[0])), [s[1] for s in one]]
        np.testing.assert_allclose(got, want)
        with pytest.raises(ValueError, match="Theta origins"):
            theta_rows(buf, lengths, pad, np.array([0.3, 0.7]), np.array([pad]))  # before any row: no state


def test_alpha_follows_the_series():
    rng = np.random.default_rng(1)
    assert choose_alpha(np.arange(40.0) + rng.normal(0, 0.01, 40)) >= 0.9  # a clean trend: the newest value
    assert choose_alpha(10 + rng.normal(0, 1, 200)) <= 0.1               # noise on a level: a long average
    assert choose_alpha(np.array([1.0, 2.0])) == 0.5                      # too short to judge


@pytest.fixture(scope="module")
def pair():
    """The same panel fitted with the network alone and combined with Theta (same seed: the same network)."""
    frame = panel_frame()
    return frame, fc.Forecaster(**EXACT, combine="off").fit(frame), fc.Forecaster(**EXACT, combine="theta").fit(frame)


def test_the_combination_is_the_mean_of_the_network_and_theta(pair):
    """Each served forecast is the mean of the network-alone forecast and the statistical forecast of the series'
    whole history in original units. The validation windows were scored with parameters chosen on each series'
    training rows only; the served ones are chosen again on every fitted row (all before the forecast origin)."""
    frame, off, on = pair
    assert off.config.output.combine == "off" and on.config.output.combine == "theta"
    assert "given" in on.choices_["combine"]["why"] and on.config.output.theta_weight == 0.5
    got, alone = on.predict(), off.predict()
    h = on.config.window.horizon
    for j, sid in enumerate(on.ids_):
        y = frame.loc[frame["unique_id"] == sid, "value"].to_numpy(float)
        end = split_rows(len(y), h, on.config.window.val_fraction)
        train = on.panel_scalers_.transform_values(j, y[:end, None])[:, 0]
        assert on.theta_["train_alpha"][j] == choose_alpha(train)
        np.testing.assert_array_equal(on.theta_["train_ets"][j], choose_ets([train])[0])
        every = on.panel_scalers_.transform_values(j, y[:, None])[:, 0]
        alpha, ets = choose_alpha(every), choose_ets([every])[0]
        assert on.theta_["alpha"][j] == alpha
        np.testing.assert_array_equal(on.theta_["ets"][j], ets)
        want = (alone["value"].to_numpy()[j * h : (j + 1) * h] + stat_long_way(y, alpha, ets, h)) / 2
        np.testing.assert_allclose(got["value"].to_numpy()[j * h : (j + 1) * h], want, rtol=1e-4)


def test_every_prediction_path_and_a_saved_run_agree(pair, tmp_path):
    frame, _, on = pair
    want = on.predict()
    np.testing.assert_allclose(on.predict(frame)["value"], want["value"], rtol=1e-6)
    lengths = frame.groupby("unique_id").size()
    at_end = on.predict_panel_origins(frame, {s: np.array([int(lengths[s])]) for s in on.ids_})
    np.testing.assert_allclose(np.concatenate([at_end[s][0] for s in on.ids_]), want["value"], rtol=1e-6)
    loaded = fc.load(on.save(tmp_path / "run"))
    assert loaded.config.output.combine == "theta" and loaded.config.output.combine_ets == "on"  # auto: on for a panel
    np.testing.assert_allclose(loaded.theta_["alpha"], on.theta_["alpha"])
    np.testing.assert_array_equal(loaded.theta_["ets"], on.theta_["ets"])
    pd.testing.assert_frame_equal(loaded.predict(), want)
    # A history cut short is forecast from its own end, not from the stored state.
    short = frame.groupby("unique_id").head(30)
    cut = on.predict(short)
    o = on.predict_panel_origins(short, {s: np.array([30]) for s in on.ids_ if (short["unique_id"] == s).sum() == 30})
    for sid, f in o.items():
        np.testing.assert_allclose(cut.loc[cut["id"] == sid, "value"], f[0], rtol=1e-6)


def test_auto_keeps_the_lowest_validation_smape(pair):
    frame, _, on = pair
    # A given weight (combine theta: 0.5) is the only one scored.
    assert [k for k in on.metrics_ if k.startswith("val_smape_theta_")] == ["val_smape_theta_0.5"]
    from forecaster.forecaster import PANEL_THETA_WEIGHTS

    model = fc.Forecaster(**EXACT, combine="auto").fit(frame)
    m = model.metrics_
    # A panel scores the network alone and every weight of its grid, 0.9 included.
    assert PANEL_THETA_WEIGHTS == (0.25, 0.5, 0.75, 0.9)
    assert sorted(k for k in m if k.startswith("val_smape_theta_")) == [
        f"val_smape_theta_{wt:g}" for wt in (0.0, *PANEL_THETA_WEIGHTS)]
    scores = {wt: m[f"val_smape_theta_{wt:g}"] for wt in (0.0, *PANEL_THETA_WEIGHTS)}
    best = min(scores, key=lambda wt: (scores[wt], wt))
    assert m["val_smape"] == scores[best]
    if best == 0.0:
        assert model.config.output.combine == "off" and model.theta_ is None
    else:
        assert model.config.output.combine == "theta" and model.config.output.theta_weight == best
        assert model.theta_["weight"] == best and model.choices_["combine"]["value"] == f"theta, weight {best:g}"
    for bad in (0, 1, 1.5, True):
        with pytest.raises(ConfigError, match="theta_weight"):
            fc.Forecaster(theta_weight=bad)


def test_alpha_reads_no_validation_row(pair):
    """The leakage spy of the fit: rewriting every series' validation rows leaves the parameters the validation
    windows were scored with (each series' smoothing weight and smoothing model)."""
    frame, _, on = pair
    spoiled = frame.copy()
    for _, part in frame.groupby("unique_id"):
        end = split_rows(len(part), 4, on.config.window.val_fraction)
        spoiled.loc[part.index[end:], "value"] = part["value"].to_numpy()[end:] * 5 + 50
    again = fc.Forecaster(**EXACT, combine="theta").fit(spoiled)
    np.testing.assert_array_equal(again.theta_["train_alpha"], on.theta_["train_alpha"])
    np.testing.assert_array_equal(again.theta_["train_ets"], on.theta_["train_ets"])


@pytest.fixture(scope="module")
def one_pair():
    """One seasonal monthly series fitted with the network alone and combined with Theta (the same network)."""
    rng = np.random.default_rng(3)
    t = np.arange(96)
    y = (50 + 0.3 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 1, len(t))
    frame = pd.DataFrame({"date": pd.date_range("2001-01-01", periods=len(t), freq="MS"), "value": y})
    return (frame, fc.Forecaster(**EXACT, combine="off").fit(frame),
            fc.Forecaster(**EXACT, combine="theta", combine_ets="on").fit(frame))


def _one_theta_long_way(model, y: np.ndarray, index: pd.DatetimeIndex, train_end: int, h: int) -> np.ndarray:
    """One series' statistical forecast from the end of ``y`` the long way: the seasonal indices of the training
    rows, the parameters of the whole adjusted history (those of its training rows scored the validation windows),
    the methods on the whole adjusted history, reseasonalised."""
    from forecaster.seasonality import grid_ordinal, seasonal_indices

    m = model.config.window.season
    first = int(grid_ordinal(index[:1], "MS")[0])
    idx = seasonal_indices(y[:train_end], m, first % m)
    assert idx is not None  # the series is seasonal: the adjustment is exercised
    pos = (first + np.arange(len(y) + h)) % m
    adjusted = y / idx[pos[: len(y)]]
    assert model.theta_["train_alpha"] == choose_alpha(adjusted[:train_end])
    np.testing.assert_array_equal(model.theta_["train_ets"], choose_ets([adjusted[:train_end]])[0])
    alpha, ets = choose_alpha(adjusted), choose_ets([adjusted])[0]
    assert model.theta_["alpha"] == alpha
    np.testing.assert_array_equal(model.theta_["ets"], ets)
    np.testing.assert_allclose(model.theta_["indices"], idx)
    return stat_long_way(adjusted, alpha, ets, h) * idx[pos[len(y) :]]


def test_one_series_combination_is_the_mean_of_the_network_and_theta(one_pair):
    frame, off, on = one_pair
    assert off.theta_ is None and off.config.output.combine == "off"
    assert on.config.output.combine == "theta" and on.config.output.theta_weight == 0.5
    assert "seasonally adjusted" in on.choices_["combine"]["why"]
    y, h = frame["value"].to_numpy(float), on.config.window.horizon
    train_end = int(np.searchsorted(frame["date"], pd.Timestamp(on.data_["train_end"]))) + 1
    theta = _one_theta_long_way(on, y, pd.DatetimeIndex(frame["date"]), train_end, h)
    want = (off.predict()["value"].to_numpy() + theta) / 2
    np.testing.assert_allclose(on.predict()["value"].to_numpy(), want, rtol=1e-6)


def test_one_series_prediction_paths_and_a_saved_run_agree(one_pair, tmp_path):
    from forecaster.data import as_timeseries

    frame, _, on = one_pair
    want = on.predict()
    pd.testing.assert_frame_equal(on.predict(frame), want)
    series = as_timeseries(frame).members[0]
    np.testing.assert_allclose(on.predict_origins(series, np.array([len(frame)]))[0], want["value"], rtol=1e-9)
    # A history cut short is forecast from its own end, as the backtest's origin there.
    cut = on.predict(frame.iloc[:70])["value"].to_numpy()
    np.testing.assert_allclose(on.predict_origins(series, np.array([70]))[0], cut, rtol=1e-9)
    np.testing.assert_allclose(on.predict_intervals(series, np.array([70]))["point"][0], cut, rtol=1e-9)
    loaded = fc.load(on.save(tmp_path / "run"))
    assert loaded.theta_["weight"] == 0.5 and loaded.theta_["alpha"] == on.theta_["alpha"]
    np.testing.assert_array_equal(loaded.theta_["ets"], on.theta_["ets"])
    pd.testing.assert_frame_equal(loaded.predict(), want)


def test_the_served_parameters_read_the_newest_rows():
    """A level that turns into a clean trend in the validation rows: the validation windows are scored with the
    training rows' simple smoothing, the served forecast (from the end, after every fitted row) follows the trend."""
    rng = np.random.default_rng(6)
    y = np.concatenate([20 + rng.normal(0, 0.5, 90), 20 + 2.0 * np.arange(1, 31) + rng.normal(0, 0.05, 30)])
    frame = pd.DataFrame({"date": pd.date_range("2001-01-01", periods=len(y), freq="D"), "value": y})
    model = fc.Forecaster(**EXACT, combine="theta", combine_ets="on", val_fraction=0.3).fit(frame)
    assert model.theta_["train_ets"][1] == 0.0 and model.theta_["ets"][1] > 0  # simple, then a trend
    assert model.theta_["alpha"] > model.theta_["train_alpha"]
    h = model.config.window.horizon
    stat = stat_long_way(y, model.theta_["alpha"], model.theta_["ets"], h)
    assert stat[-1] > y[-1] + h  # the statistical forecast carries the trend on


def test_one_series_combines_with_theta_alone_by_default(one_pair):
    """combine_ets auto: off for one series (on for a panel, see the panel tests); the config records it."""
    frame, _, on = one_pair
    model = fc.Forecaster(**EXACT, combine="theta").fit(frame)
    assert model.config.output.combine_ets == "off" and model.theta_["ets"] is None and model.theta_["end"].shape == (3,)
    assert on.config.output.combine_ets == "on" and on.theta_["end"].shape == (5,)
    with pytest.raises(ConfigError, match="combine_ets"):
        fc.Forecaster(combine_ets="maybe")


@pytest.mark.slow  # a third fit; the default tier keeps the exact combination and every path
def test_one_series_auto_takes_half_on_few_windows(one_pair):
    """``combine auto`` for one series: below SERIES_CHOICE_WINDOWS validation windows Theta's weight 0.5 (every
    candidate still scored and reported); from there on the lowest validation MAE (below)."""
    from forecaster.forecaster import SERIES_CHOICE_WINDOWS

    frame = one_pair[0]
    few = fc.Forecaster(**EXACT).fit(frame)  # combine auto, the default
    assert few.metrics_["val_windows"] < SERIES_CHOICE_WINDOWS
    assert few.config.output.combine == "theta" and few.theta_["weight"] == 0.5
    assert few.metrics_["val_mae"] == few.metrics_["val_mae_theta_0.5"]
    assert "too few to choose on" in few.choices_["combine"]["why"]


@pytest.mark.slow  # an 800-row fit
def test_one_series_auto_chooses_on_many_windows():
    from forecaster.forecaster import SERIES_CHOICE_WINDOWS

    rng = np.random.default_rng(4)
    t = np.arange(800)
    y = 20 + np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.5, len(t)).cumsum() * 0.1
    long = pd.DataFrame({"date": pd.date_range("2001-01-01", periods=len(t), freq="D"), "value": y})
    model = fc.Forecaster(**EXACT).fit(long)
    m = model.metrics_
    assert m["val_windows"] >= SERIES_CHOICE_WINDOWS
    # One series keeps the shorter grid (0.9 is a panel's only).
    assert sorted(k for k in m if k.startswith("val_mae_theta_")) == [
        f"val_mae_theta_{wt:g}" for wt in (0.0, 0.25, 0.5, 0.75)]
    scores = {wt: m[f"val_mae_theta_{wt:g}"] for wt in (0.0, 0.25, 0.5, 0.75)}
    best = min(scores, key=lambda wt: (scores[wt], wt))
    assert m["val_mae"] == scores[best]
    assert model.config.output.combine == ("off" if best == 0.0 else "theta")
    assert (model.theta_ is None) == (best == 0.0)


@pytest.mark.slow  # a further fit; the panel's spy and the contract test's choices stay in the default tier
def test_one_series_theta_reads_no_validation_row(one_pair):
    """The leakage spy of a one-series fit: rewriting the validation rows leaves the parameters the validation
    windows were scored with and the seasonal indices."""
    frame, _, on = one_pair
    train_end = int(np.searchsorted(frame["date"], pd.Timestamp(on.data_["train_end"]))) + 1
    spoiled = frame.copy()
    spoiled.loc[train_end:, "value"] = spoiled["value"].to_numpy()[train_end:] * 3 + 40
    again = fc.Forecaster(**EXACT, combine="theta", combine_ets="on").fit(spoiled)
    assert again.theta_["train_alpha"] == on.theta_["train_alpha"]
    np.testing.assert_array_equal(again.theta_["train_ets"], on.theta_["train_ets"])
    np.testing.assert_array_equal(again.theta_["indices"], on.theta_["indices"])


def test_one_series_tampered_theta_entry_is_refused(one_pair, tmp_path):
    import json

    from forecaster.exceptions import ArtifactError

    run = one_pair[2].save(tmp_path / "run")
    path = run / "forecaster.json"
    manifest = json.loads(path.read_text())
    good = json.loads(path.read_text())
    for key, value in (("alpha", 2.0), ("ets", [0.5, 0.1, 1.5, 1.0]), ("end", good["theta"]["end"][:3])):
        manifest = json.loads(json.dumps(good))
        manifest["theta"][key] = value
        path.write_text(json.dumps(manifest))
        with pytest.raises(ArtifactError, match="theta"):
            fc.load(run)


def test_runs_saved_before_the_smoothing_member_combine_with_theta_alone(one_pair, pair, tmp_path):
    """A run without the smoothing model's parameters (saved before it existed: a 3-number Theta state) loads and
    serves the network combined with Theta alone, and says so in its config; for one series and for a panel."""
    import json

    frame, off, on = one_pair
    run = on.save(tmp_path / "one")
    path = run / "forecaster.json"
    manifest = json.loads(path.read_text())
    del manifest["theta"]["ets"]
    manifest["theta"]["end"] = manifest["theta"]["end"][:3]
    path.write_text(json.dumps(manifest))
    old = fc.load(run)
    assert old.theta_["ets"] is None and old.config.output.combine_ets == "off"
    y, h = frame["value"].to_numpy(float), on.config.window.horizon
    train_end = int(np.searchsorted(frame["date"], pd.Timestamp(on.data_["train_end"]))) + 1
    theta = _one_theta_long_way(on, y, pd.DatetimeIndex(frame["date"]), train_end, h)  # checks on's choices too
    from forecaster.seasonality import grid_ordinal

    m = on.config.window.season
    pos = (int(grid_ordinal(pd.DatetimeIndex(frame["date"][:1]), "MS")[0]) + np.arange(len(y) + h)) % m
    idx = on.theta_["indices"]
    theta = theta_long_way(y / idx[pos[: len(y)]], on.theta_["alpha"], h) * idx[pos[len(y) :]]
    np.testing.assert_allclose(old.predict()["value"], (off.predict()["value"].to_numpy() + theta) / 2, rtol=1e-6)
    np.testing.assert_allclose(old.predict(frame)["value"], old.predict()["value"], rtol=1e-9)

    pframe, palone, pon = pair
    run = pon.save(tmp_path / "panel")
    with np.load(run / "panel.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "theta_ets"}
    arrays["theta_end"] = arrays["theta_end"][:, :3]
    with open(run / "panel.npz", "wb") as fh:
        np.savez(fh, **arrays)
    old = fc.load(run)
    assert old.theta_["ets"] is None and old.config.output.combine_ets == "off"
    got, alone = old.predict(), palone.predict()
    for j, sid in enumerate(pon.ids_):
        y = pframe.loc[pframe["unique_id"] == sid, "value"].to_numpy(float)
        want = (alone["value"].to_numpy()[j * h : (j + 1) * h] + theta_long_way(y, pon.theta_["alpha"][j], h)) / 2
        np.testing.assert_allclose(got["value"].to_numpy()[j * h : (j + 1) * h], want, rtol=1e-4)


@pytest.mark.slow
def test_quantiles_move_with_the_median_and_stay_ordered():
    """A quantile head combined with Theta: every quantile moves by the median's shift, so the band keeps its
    width and order, and the median is the combined point forecast."""
    frame = panel_frame()
    kw = {**EXACT, "quantiles": (0.1, 0.9)}
    alone = fc.Forecaster(**kw, combine="off").fit(frame).predict()
    both = fc.Forecaster(**kw, combine="theta").fit(frame).predict()
    for a, b in (("q0.1", "q0.5"), ("q0.5", "q0.9")):
        assert (both[a] <= both[b] + 1e-9).all()
    np.testing.assert_allclose(both["q0.9"] - both["q0.1"], alone["q0.9"] - alone["q0.1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(both["value"], both["q0.5"])


def test_a_seasonally_adjusted_panel_forecasts_the_same_from_every_path(tmp_path):
    """With the seasonal adjustment (Theta then runs on the adjusted series) and no calendar inputs, a forecast from
    the end of each series (origin = its length, the last series' included) equals ``predict()``, and the indices
    of the forecast rows are those after the series' last row."""
    from test_seasonality import seasonal_panel

    frame = seasonal_panel()
    model = fc.Forecaster(**{**TINY, "calendar": False}, combine="theta").fit(frame)
    assert model.config.data.deseason == "on" and model.theta_ is not None
    want = model.predict()["value"].to_numpy()
    lengths = frame.groupby("unique_id", sort=False).size()
    at_end = model.predict_panel_origins(frame, {s: np.array([int(lengths[s])]) for s in model.ids_})
    np.testing.assert_allclose(np.concatenate([at_end[s][0] for s in model.ids_]), want, rtol=1e-6)
    np.testing.assert_allclose(fc.load(model.save(tmp_path / "run")).predict(frame)["value"], want, rtol=1e-6)


def test_a_bad_theta_weight_is_a_one_line_cli_error(one_pair, tmp_path):
    path = tmp_path / "one.csv"
    one_pair[0].to_csv(path, index=False)
    result = CliRunner().invoke(cli, ["--runs-dir", str(tmp_path / "runs"), "fit", str(path), "--combine", "theta",
                                      "--theta-weight", "1.5", "--epochs", "1", "--units", "4"])
    assert "theta-weight" in assert_one_line_error(result, code=2)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
