"""Many series, one model: panels through the API and the CLI, leakage, layout and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import assert_one_line_error

import forecaster as fc
from forecaster.cli import cli
from forecaster.config import ForecastConfig
from forecaster.panel import fit_scalers, plan_layout, resolve_panel, split_rows
from forecaster.scaling import SeriesScaler
from forecaster.windowing import SegmentedOrigins

TINY = dict(units=4, epochs=1, lookback=12, horizon=4, batch_size=32, ensemble=1, min_steps_per_epoch=1)
TINY_FLAGS = ["--units", "4", "--epochs", "1", "--lookback", "12", "--horizon", "4", "--batch-size", "32",
              "--ensemble", "1", "--min-steps-per-epoch", "1"]
#: id -> (rows, first timestamp): different lengths and starts; "tiny" is too short for any window.
SERIES = {"north": (90, "2001-01-01"), "south": (60, "2003-04-01"), "east": (40, "2004-07-01"), "tiny": (4, "2002-01-01")}


def panel_frame(series=SERIES, seed: int = 0) -> pd.DataFrame:
    """A long monthly panel: id, date, value (a seasonal level of its own per series)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, (sid, (n, start)) in enumerate(series.items()):
        t = np.arange(n)
        y = 10 * (k + 1) + 3 * np.sin(2 * np.pi * t / 12 + k) + 0.05 * t + rng.normal(0, 0.3, n)
        idx = pd.date_range(start, periods=n, freq="MS")
        parts.append(pd.DataFrame({"unique_id": sid, "date": idx.strftime("%Y-%m-%d"), "value": y.round(4)}))
    return pd.concat(parts, ignore_index=True)


def wide_frame(n: int = 80, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    idx = pd.date_range("2024-01-01", periods=n, freq="D")
    return pd.DataFrame({
        "date": idx.strftime("%Y-%m-%d"),
        "a": (20 + 3 * np.sin(t / 3) + rng.normal(0, 0.2, n)).round(4),
        "b": (50 + rng.normal(0, 1, n).cumsum()).round(4),
        "c": (5 + 2 * np.cos(t / 5) + rng.normal(0, 0.2, n)).round(4),
        "temp": rng.normal(0, 1, n).round(4),
    })


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One tiny panel model fitted from a real CSV (series embedding, per-series weights), saved and loaded back."""
    path = tmp_path_factory.mktemp("panel") / "panel.csv"
    panel_frame().to_csv(path, index=False)
    ts = fc.read_csv(path)
    model = fc.Forecaster(**TINY, series_embedding=2, series_weights="series").fit(ts)
    run = model.save(path.parent / "run")
    return ts, model, run


def test_fit_predict_save_load(fitted):
    ts, model, run = fitted
    assert model.is_panel and model.ids_ == ["north", "south", "east"]
    assert [s["id"] for s in model.metrics_["skipped_series"]] == ["tiny"]
    assert model.metrics_["series"] == 3 and model.metrics_["train_windows"] > 0
    assert model.model_.get_layer("series_embedding").input_dim == 3  # one learned vector per fitted series
    out = model.predict()
    assert list(out.columns) == ["id", "timestamp", "value"] and len(out) == 3 * 4
    for sid in model.ids_:
        stamps = pd.DatetimeIndex(out.loc[out["id"] == sid, "timestamp"])
        assert stamps[0] == ts[sid].index[-1] + pd.offsets.MonthBegin(1)  # each series continues its own end
    assert np.isfinite(out["value"]).all()
    assert {p.name for p in run.iterdir()} == {"model.keras", "forecaster.json", "history.csv", "panel.npz", "predict.npz"}
    back = fc.load(run)
    assert back.is_panel and back.ids_ == model.ids_ and back.skipped_ == model.skipped_
    pd.testing.assert_frame_equal(back.predict(), out)
    # New data of the same series: the last windows come from it; a selection forecasts only those.
    again = back.predict(ts, series=["south"])
    np.testing.assert_allclose(again["value"], out.loc[out["id"] == "south", "value"], rtol=1e-6)


def test_too_short_series_is_reported():
    layout = plan_layout(["long", "tiny"], [60, 4], lookback=12, horizon=4, val_fraction=0.15)
    assert layout.ids == ["long"] and "tiny" in layout.skipped and "4 rows" in layout.skipped["tiny"]


def test_unknown_series_is_an_error(fitted):
    _, model, _ = fitted
    with pytest.raises(fc.DataError, match="Unknown series 'nope'.*north"):
        model.predict(series=["nope"])
    with pytest.raises(fc.DataError, match="was skipped at fit"):
        model.predict(series="tiny")


def _prepare(frame: pd.DataFrame, config: ForecastConfig):
    ts = fc.from_dataframe(frame)
    members = list(ts.members)
    cfg, choices = resolve_panel(config, members, ts.freq, prices=False)
    w = cfg.window
    layout = plan_layout(ts.ids, [len(m) for m in members], w.lookback, w.horizon, w.val_fraction)
    layout, scalers = fit_scalers(members, layout, cfg, prices=False, linear=())
    return ts, cfg, choices, layout, scalers


def test_scaler_per_series_fitted_on_its_training_rows_only():
    config = ForecastConfig(horizon=4, lookback=12, normalization="global")
    ts, cfg, _, layout, scalers = _prepare(panel_frame(), config)
    for sid, scaler in zip(layout.ids, scalers):
        values = ts[sid].values
        end = split_rows(len(values), 4, cfg.window.val_fraction)
        expected = SeriesScaler("auto", "global").fit(values[:end], columns=ts[sid].columns)
        np.testing.assert_allclose(scaler.center_, expected.center_)
        np.testing.assert_allclose(scaler.scale_, expected.scale_)


def test_future_rows_do_not_change_scalers_or_choices():
    """Rows after each series' training cutoff (its own future, and the other series') leave the fit's inputs alone."""
    config = ForecastConfig(horizon=4, lookback=0, base="auto", normalization="auto", ensemble=0)
    frame = panel_frame()
    ts, cfg, choices, layout, scalers = _prepare(frame, config)
    changed = frame.copy()
    for sid, end in zip(layout.ids, layout.train_ends):
        rows = changed.index[changed["unique_id"] == sid][int(end):]
        changed.loc[rows, "value"] = changed.loc[rows, "value"] * 3 + 100  # every row after the cutoff
    _, cfg2, choices2, _, scalers2 = _prepare(changed, config)
    assert cfg2 == cfg and choices2 == choices
    for a, b in zip(scalers, scalers2):
        assert a.to_dict() == b.to_dict()


def test_windows_never_cross_a_series_boundary():
    layout = plan_layout(["a", "b", "c"], [50, 9, 30], lookback=12, horizon=4, val_fraction=0.15)
    seg_start = layout.starts - layout.pad
    seg_end = layout.starts + layout.lengths
    for part in ("train", "val"):
        origins = layout.origins(part)
        o = np.asarray(origins)
        which = origins.series_of(np.arange(len(o)))
        assert (o - 12 >= seg_start[which]).all() and (o + 4 <= seg_end[which]).all()
        assert (o - layout.starts[which] >= 1).all()  # at least one observed input row
    train_targets_end = np.asarray(layout.origins("train")) + 4
    which = layout.origins("train").series_of(np.arange(len(train_targets_end)))
    assert (train_targets_end <= layout.starts[which] + layout.train_ends[which]).all()


def test_segmented_origins_match_their_expansion():
    o = SegmentedOrigins([5, 40, 70], [3, 0, 4], stride=2)
    assert np.asarray(o).tolist() == [5, 7, 9, 70, 72, 74, 76]
    assert o[2:4].tolist() == [9, 70] and o.series_of(np.array([0, 3, 6])).tolist() == [0, 2, 2]


def test_series_weights_give_each_series_the_same_total_weight():
    from forecaster.training.pipeline import WindowBatches
    from forecaster.windowing import WindowView

    buf = np.arange(200, dtype=np.float32)[:, None]
    origins = SegmentedOrigins([10, 100], [60, 6])
    weights = np.array([66 / (2 * 60), 66 / (2 * 6)])
    batches = WindowBatches(WindowView(buf, 4, 2), origins, 16, shuffle=True, weights=weights)
    total = np.zeros(2)
    for i in range(len(batches)):
        _, y, w = batches[i]
        series = origins.series_of(np.searchsorted(np.asarray(origins), y[:, 0]))  # buf[row] == row: the target is the origin
        np.add.at(total, series, w)
    np.testing.assert_allclose(total, [33, 33], rtol=1e-5)


def test_backtest_api_on_a_panel_dataframe():
    model = fc.Forecaster(**TINY)
    result = fc.backtest(model, panel_frame(), origin_stride=4)
    assert set(result.metrics.index) == {"model", "naive", "seasonal_naive", "drift"}
    assert result.metrics.loc["seasonal_naive", "OWA"] == pytest.approx(1.0)
    assert set(result.per_series["id"]) == {"north", "south", "east"} and "tiny" in result.skipped


# ---------------------------------------------------------------------- CLI
@pytest.fixture
def runner():
    return CliRunner()


def test_cli_long_csv_fit_predict_plot(runner):
    with runner.isolated_filesystem():
        panel_frame().to_csv("panel.csv", index=False)
        res = runner.invoke(cli, ["fit", "panel.csv", *TINY_FLAGS])
        assert res.exit_code == 0, res.output
        assert "4 series (id column 'unique_id')" in res.stderr
        assert "Panel: 3 series" in res.stdout and "Skipped 1 series too short" in res.stdout
        res = runner.invoke(cli, ["predict"])
        assert res.exit_code == 0, res.output
        out = pd.read_csv(Path("runs/latest/forecast.csv"))
        assert list(out.columns) == ["id", "timestamp", "value"] and sorted(out["id"].unique()) == ["east", "north", "south"]
        res = runner.invoke(cli, ["plot", "--series", "north,east", "--output", "p.png"])
        assert res.exit_code == 0, res.output
        assert Path("p.png").stat().st_size > 0
        err = assert_one_line_error(runner.invoke(cli, ["predict", "--series", "north,nowhere"]))
        assert "Unknown series 'nowhere'" in err


@pytest.mark.slow  # a CLI fit and backtest; the long-CSV CLI test stays in the default tier
def test_cli_wide_csv_targets_and_backtest(runner):
    with runner.isolated_filesystem():
        wide_frame().to_csv("wide.csv", index=False)
        res = runner.invoke(cli, ["fit", "wide.csv", "--targets", "a,b,c", *TINY_FLAGS])
        assert res.exit_code == 0, res.output
        res = runner.invoke(cli, ["predict", "--output", "f.csv"])
        assert res.exit_code == 0, res.output
        out = pd.read_csv("f.csv")
        assert sorted(out["id"].unique()) == ["a", "b", "c"] and len(out) == 12
        res = runner.invoke(cli, ["backtest", "wide.csv", "--targets", "a,b,c", "--refit", "never", "--stride", "4",
                                  *TINY_FLAGS])
        assert res.exit_code == 0, res.output
        assert "Panel backtest: 3 series" in res.stdout and "seasonal_naive" in res.stdout
        saved = next(Path("runs").glob("backtest-*"))
        assert {p.name for p in saved.iterdir()} == {"metrics.json", "per_series.csv", "forecasts.csv"}


def test_cli_bad_targets_leave_no_run(runner):
    with runner.isolated_filesystem():
        wide_frame().to_csv("wide.csv", index=False)
        err = assert_one_line_error(runner.invoke(cli, ["fit", "wide.csv", "--targets", "a,missing", *TINY_FLAGS]))
        assert "'missing'" in err and "--targets" in err
        assert not Path("runs").exists() or not any(Path("runs").iterdir())


def test_panel_backtest_refuses_several_folds():
    with pytest.raises(fc.ConfigError, match="`folds` must be 1"):
        fc.backtest(fc.Forecaster(**TINY), panel_frame(), folds=3)


def test_long_csv_of_one_series_stays_a_single_series_run(tmp_path):
    """A CSV without an id column is one series, read exactly as before (no panel)."""
    from forecaster.cli.common import load_series

    path = tmp_path / "one.csv"
    panel_frame({"x": (40, "2001-01-01")}).drop(columns="unique_id").to_csv(path, index=False)
    config, series = load_series(str(path), ForecastConfig())
    assert not hasattr(series, "members") and series.id is None and config.data.target == "value"
