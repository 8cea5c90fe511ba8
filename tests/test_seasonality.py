"""Seasonal adjustment of panels (``--deseason``): indices, grid positions, leakage, the exact inverse, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import assert_one_line_error

import forecaster as fc
from forecaster.cli import cli
from forecaster.exceptions import ConfigError
from forecaster.panel import split_rows
from forecaster.seasonality import adjust, grid_ordinal, seasonal_indices, seasonal_test

TINY = {"units": 4, "epochs": 1, "lookback": 12, "horizon": 4, "batch_size": 32, "ensemble": 1,
        "min_steps_per_epoch": 1}
PROFILE = np.array([0.8, 0.9, 1.0, 1.1, 1.3, 1.2, 1.1, 1.0, 0.9, 0.85, 0.9, 0.95])


def seasonal_panel(n_series: int = 4, seed: int = 0, negative: str | None = None) -> pd.DataFrame:
    """Monthly series with a multiplicative season (``PROFILE`` by calendar month) on a growing level."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(n_series):
        n = 60 + 6 * k
        idx = pd.date_range(f"{2000 + k}-0{k % 9 + 1}-01", periods=n, freq="MS")
        level = 100 + 10 * k + 0.8 * np.arange(n)
        y = level * PROFILE[idx.month - 1] * (1 + rng.normal(0, 0.01, n))
        sid = f"s{k}"
        if sid == negative:
            y = y - y.mean()  # crosses zero: no multiplicative indices
        parts.append(pd.DataFrame({"unique_id": sid, "date": idx, "value": y}))
    return pd.concat(parts, ignore_index=True)


def test_seasonal_indices_recover_a_known_multiplicative_profile():
    idx = pd.date_range("2001-04-01", periods=96, freq="MS")
    x = (50 + np.arange(96)) * PROFILE[idx.month - 1]
    first = int(grid_ordinal(idx[:1], "MS")[0] % 12)
    got = seasonal_indices(x, 12, first_position=first)
    # Position p of the grid is calendar month p + 1 (the grid counts months from January 1970).
    np.testing.assert_allclose(got, PROFILE / PROFILE.mean(), rtol=0.02)
    assert seasonal_test(x, 12)


def test_no_indices_without_a_season_positive_values_or_three_seasons():
    rng = np.random.default_rng(1)
    assert seasonal_indices(rng.normal(10, 1, 60) + 50, 12) is None        # noise: the 90 % test fails
    assert seasonal_indices(np.sin(np.arange(60) * np.pi / 6), 12) is None  # seasonal but crosses zero
    assert seasonal_indices(10 + np.sin(np.arange(30) * np.pi / 6), 12) is None  # under three seasons
    assert seasonal_indices(10 + np.sin(np.arange(60) * np.pi / 6), 1) is None


@pytest.mark.parametrize("freq, step", [("MS", "MS"), ("QS", "QS"), ("h", "h"), ("30min", "30min"), ("D", "D"),
                                        ("W-SUN", "W-SUN"), ("B", "B"), ("YS", "YS")])
def test_grid_ordinals_count_consecutive_steps_of_the_frequency(freq, step):
    idx = pd.date_range("2003-02-01", periods=40, freq=step)
    o = grid_ordinal(idx, freq)
    np.testing.assert_array_equal(np.diff(o), 1)
    # A later slice of the same grid continues the count: positions do not depend on where the data starts.
    np.testing.assert_array_equal(grid_ordinal(idx[17:], freq), o[17:])


def test_grid_ordinal_is_none_without_a_fixed_grid():
    assert grid_ordinal(pd.DatetimeIndex(["2020-01-02"]), None) is None
    assert grid_ordinal(pd.DatetimeIndex(["2020-01-02"]), "not-a-frequency") is None


def test_adjust_divides_the_target_only_and_is_exact():
    values = np.column_stack([np.arange(1.0, 9.0), np.ones(8)])
    idx = np.array([0.5, 2.0])
    out = adjust(values, idx, first_ordinal=3)  # row 0 at position 1
    np.testing.assert_allclose(out[:, 0], values[:, 0] / np.tile([2.0, 0.5], 4))
    np.testing.assert_array_equal(out[:, 1], 1.0)
    assert adjust(values, None, 0) is values


@pytest.fixture(scope="module")
def deseasoned():
    frame = seasonal_panel(negative="s3")
    return frame, fc.Forecaster(**TINY).fit(frame)


def test_auto_adjusts_the_seasonal_positive_series_of_a_panel(deseasoned):
    _, model = deseasoned
    assert model.config.data.deseason == "on"
    assert model.choices_["deseason"]["value"] == "3 of 4 series seasonally adjusted"
    s = dict(zip(model.ids_, model.seasonal_))
    np.testing.assert_array_equal(s["s3"], 1.0)  # crosses zero: left alone
    for sid in ("s0", "s1", "s2"):
        np.testing.assert_allclose(s[sid], PROFILE / PROFILE.mean(), rtol=0.05)


def test_indices_read_the_training_rows_only(deseasoned):
    frame, model = deseasoned
    # Change every series' validation rows (the rows after its training split): the indices must not move.
    changed = frame.copy()
    for sid, part in changed.groupby("unique_id"):
        val_rows = part.index[split_rows(len(part), TINY["horizon"], model.config.window.val_fraction):]
        changed.loc[val_rows, "value"] *= 3.0
    other = fc.Forecaster(**TINY).fit(changed)
    np.testing.assert_array_equal(other.seasonal_, model.seasonal_)


def test_forecasts_are_the_adjusted_forecasts_times_the_indices_of_their_months(deseasoned):
    frame, model = deseasoned
    out = model.predict()
    assert np.isfinite(out["value"]).all()
    # Refit without the adjustment on the adjusted data by hand: same network inputs, so the same forecasts
    # divided by the indices of each forecast month.
    manual = frame.copy()
    for i, sid in enumerate(model.ids_):
        rows = manual["unique_id"] == sid
        months = pd.DatetimeIndex(manual.loc[rows, "date"]).month.to_numpy() - 1
        pos = (months - 0) % 12  # grid position = calendar month - 1 for monthly data
        manual.loc[rows, "value"] = manual.loc[rows, "value"] / model.seasonal_[i][pos]
    plain = fc.Forecaster(**TINY, deseason="off").fit(manual)
    assert plain.seasonal_ is None
    back = plain.predict()
    for i, sid in enumerate(model.ids_):
        got = out[out["id"] == sid]
        want = back[back["id"] == sid]
        pos = pd.DatetimeIndex(got["timestamp"]).month.to_numpy() - 1
        np.testing.assert_allclose(got["value"].to_numpy(), want["value"].to_numpy() * model.seasonal_[i][pos], rtol=1e-5)


def test_save_load_and_new_data_predict_the_same(deseasoned, tmp_path):
    frame, model = deseasoned
    run = model.save(tmp_path / "run")
    loaded = fc.load(run)
    np.testing.assert_array_equal(loaded.seasonal_, model.seasonal_)
    first = model.predict()["value"].to_numpy()
    np.testing.assert_allclose(loaded.predict()["value"].to_numpy(), first, rtol=1e-6)
    # The same history passed as new data (positions from its timestamps) gives the same forecasts.
    np.testing.assert_allclose(loaded.predict(frame)["value"].to_numpy(), first, rtol=1e-6)
    # A backtest-style forecast (origins inside the data, the path of `forecast backtest`) equals predict() from
    # the rows before that origin.
    h = TINY["horizon"]
    origins = {sid: np.array([len(part) - h]) for sid, part in frame.groupby("unique_id", sort=False)}
    at = loaded.predict_panel_origins(frame, origins)
    head = pd.concat([part.iloc[:-h] for _, part in frame.groupby("unique_id", sort=False)])
    np.testing.assert_allclose(np.concatenate([at[s][0] for s in loaded.ids_]), loaded.predict(head)["value"].to_numpy(),
                               rtol=1e-5)


@pytest.mark.slow
def test_off_and_one_series():
    frame = seasonal_panel(n_series=2)
    assert fc.Forecaster(**TINY, deseason="off").fit(frame).seasonal_ is None
    one = frame[frame["unique_id"] == "s0"].drop(columns="unique_id")
    single = fc.Forecaster(**TINY).fit(one)
    assert single.config.data.deseason == "off" and single.seasonal_ is None
    with pytest.raises(ConfigError, match="panels"):
        fc.Forecaster(**TINY, deseason="on").fit(one)


def test_cli_deseason_on_for_one_series_is_a_one_line_error(tmp_path):
    path = tmp_path / "one.csv"
    seasonal_panel(n_series=1).drop(columns="unique_id").to_csv(path, index=False)
    result = CliRunner().invoke(cli, ["--runs-dir", str(tmp_path / "runs"), "fit", str(path), "--deseason", "on",
                                      "--epochs", "1", "--units", "4"])
    assert "panels" in assert_one_line_error(result)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.slow
def test_a_run_saved_before_the_adjustment_existed_loads_unadjusted(tmp_path):
    import json

    frame = seasonal_panel(n_series=2)
    model = fc.Forecaster(**TINY, deseason="off").fit(frame)
    run = model.save(tmp_path / "run")
    manifest = json.loads((run / "forecaster.json").read_text())
    del manifest["config"]["data"]["deseason"]  # what an older version wrote
    (run / "forecaster.json").write_text(json.dumps(manifest))
    back = fc.load(run)
    assert back.seasonal_ is None
    pd.testing.assert_frame_equal(back.predict(), model.predict())


@pytest.mark.slow
def test_lookback_search_keeps_the_lowest_validation_smape():
    frame = seasonal_panel(n_series=2)
    tiny = {k: v for k, v in TINY.items() if k != "lookback"}
    model = fc.Forecaster(**tiny, lookback=0).fit(frame)
    scores = dict(part.split(": ") for part in model.metrics_["lookback_search"].split(", "))
    scores = {int(k): float(v) for k, v in scores.items()}
    auto = 36  # three seasons of 12 (monthly), under the median length less the horizon
    assert sorted(scores) == [18, 36, 54]
    chosen = model.config.window.lookback
    assert chosen == min(scores, key=scores.get) == model.choices_["lookback"]["value"]
    assert f"automatic {auto}" in model.choices_["lookback"]["why"]
    assert model.metrics_["val_smape"] == pytest.approx(scores[chosen], abs=5e-4)
    assert model.config.window.lookback_search is False  # the manifest records the resolved lookback


def test_a_given_lookback_is_fitted_once(deseasoned):
    _, model = deseasoned
    assert model.config.window.lookback == TINY["lookback"] and "lookback_search" not in model.metrics_


@pytest.mark.slow
def test_lookback_search_leaves_out_a_window_the_forced_base_does_not_fit():
    frame = seasonal_panel(n_series=2)
    tiny = {k: v for k, v in TINY.items() if k != "lookback"}
    # Naive2 needs two seasons (24 months) in the window: the half lookback (18) cannot take it.
    model = fc.Forecaster(**tiny, lookback=0, base="naive2").fit(frame)
    assert sorted(int(p.split(": ")[0]) for p in model.metrics_["lookback_search"].split(", ")) == [36, 54]
    assert model.config.window.lookback in (36, 54)
