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
    choose_alpha,
    end_state,
    forecast,
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
    """Each served forecast is the mean of the network-alone forecast and the Theta forecast of the series' whole
    history in original units, with the smoothing weight chosen on that series' training rows only."""
    frame, off, on = pair
    assert off.config.output.combine == "off" and on.config.output.combine == "theta"
    assert "given" in on.choices_["combine"]["why"] and on.config.output.theta_weight == 0.5
    got, alone = on.predict(), off.predict()
    h = on.config.window.horizon
    for j, sid in enumerate(on.ids_):
        y = frame.loc[frame["unique_id"] == sid, "value"].to_numpy(float)
        end = split_rows(len(y), h, on.config.window.val_fraction)
        alpha = choose_alpha(on.panel_scalers_.transform_values(j, y[:end, None])[:, 0])
        assert on.theta_["alpha"][j] == alpha
        want = (alone["value"].to_numpy()[j * h : (j + 1) * h] + theta_long_way(y, alpha, h)) / 2
        np.testing.assert_allclose(got["value"].to_numpy()[j * h : (j + 1) * h], want, rtol=1e-4)


def test_every_prediction_path_and_a_saved_run_agree(pair, tmp_path):
    frame, _, on = pair
    want = on.predict()
    np.testing.assert_allclose(on.predict(frame)["value"], want["value"], rtol=1e-6)
    lengths = frame.groupby("unique_id").size()
    at_end = on.predict_panel_origins(frame, {s: np.array([int(lengths[s])]) for s in on.ids_})
    np.testing.assert_allclose(np.concatenate([at_end[s][0] for s in on.ids_]), want["value"], rtol=1e-6)
    loaded = fc.load(on.save(tmp_path / "run"))
    assert loaded.config.output.combine == "theta"
    np.testing.assert_allclose(loaded.theta_["alpha"], on.theta_["alpha"])
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
    model = fc.Forecaster(**EXACT, combine="auto").fit(frame)
    m = model.metrics_
    scores = {wt: m[f"val_smape_theta_{wt:g}"] for wt in (0.0, 0.25, 0.5, 0.75)}
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
    """The leakage spy of the fit: rewriting every series' validation rows leaves each smoothing weight."""
    frame, _, on = pair
    spoiled = frame.copy()
    for _, part in frame.groupby("unique_id"):
        end = split_rows(len(part), 4, on.config.window.val_fraction)
        spoiled.loc[part.index[end:], "value"] = part["value"].to_numpy()[end:] * 5 + 50
    again = fc.Forecaster(**EXACT, combine="theta").fit(spoiled)
    np.testing.assert_array_equal(again.theta_["alpha"], on.theta_["alpha"])


@pytest.fixture(scope="module")
def one_pair():
    """One seasonal monthly series fitted with the network alone and combined with Theta (the same network)."""
    rng = np.random.default_rng(3)
    t = np.arange(96)
    y = (50 + 0.3 * t) * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 1, len(t))
    frame = pd.DataFrame({"date": pd.date_range("2001-01-01", periods=len(t), freq="MS"), "value": y})
    return frame, fc.Forecaster(**EXACT, combine="off").fit(frame), fc.Forecaster(**EXACT, combine="theta").fit(frame)


def _one_theta_long_way(model, y: np.ndarray, index: pd.DatetimeIndex, train_end: int, h: int) -> np.ndarray:
    """One series' Theta forecast from the end of ``y`` the long way: the seasonal indices of the training rows,
    the smoothing weight of the adjusted training rows, the method on the whole adjusted history, reseasonalised."""
    from forecaster.seasonality import grid_ordinal, seasonal_indices

    m = model.config.window.season
    first = int(grid_ordinal(index[:1], "MS")[0])
    idx = seasonal_indices(y[:train_end], m, first % m)
    assert idx is not None  # the series is seasonal: the adjustment is exercised
    pos = (first + np.arange(len(y) + h)) % m
    adjusted = y / idx[pos[: len(y)]]
    alpha = choose_alpha(adjusted[:train_end])
    assert model.theta_["alpha"] == alpha
    np.testing.assert_allclose(model.theta_["indices"], idx)
    return theta_long_way(adjusted, alpha, h) * idx[pos[len(y) :]]


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
    pd.testing.assert_frame_equal(loaded.predict(), want)


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
    scores = {wt: m[f"val_mae_theta_{wt:g}"] for wt in (0.0, 0.25, 0.5, 0.75)}
    best = min(scores, key=lambda wt: (scores[wt], wt))
    assert m["val_mae"] == scores[best]
    assert model.config.output.combine == ("off" if best == 0.0 else "theta")
    assert (model.theta_ is None) == (best == 0.0)


@pytest.mark.slow  # a further fit; the panel's spy and the contract test's choices stay in the default tier
def test_one_series_theta_reads_no_validation_row(one_pair):
    """The leakage spy of a one-series fit: rewriting the validation rows leaves the smoothing weight and the
    seasonal indices."""
    frame, _, on = one_pair
    train_end = int(np.searchsorted(frame["date"], pd.Timestamp(on.data_["train_end"]))) + 1
    spoiled = frame.copy()
    spoiled.loc[train_end:, "value"] = spoiled["value"].to_numpy()[train_end:] * 3 + 40
    again = fc.Forecaster(**EXACT, combine="theta").fit(spoiled)
    assert again.theta_["alpha"] == on.theta_["alpha"]
    np.testing.assert_array_equal(again.theta_["indices"], on.theta_["indices"])


def test_one_series_tampered_theta_entry_is_refused(one_pair, tmp_path):
    import json

    from forecaster.exceptions import ArtifactError

    run = one_pair[2].save(tmp_path / "run")
    path = run / "forecaster.json"
    manifest = json.loads(path.read_text())
    manifest["theta"]["alpha"] = 2.0
    path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="theta"):
        fc.load(run)


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
