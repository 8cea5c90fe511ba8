"""Many series, one model: panels through the API and the CLI, leakage, layout and bad input."""

from __future__ import annotations

import json
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
        assert {p.name for p in saved.iterdir()} == {"metrics.json", "per_series.csv", "forecasts.csv", "history.csv",
                                                     "forecast.png"}
        # `plot --backtest` redraws the figure from the directory alone: the same series and history.
        history = pd.read_csv(saved / "history.csv")
        assert set(history["id"]) == {"a", "b", "c"}
        (saved / "forecast.png").unlink()
        res = runner.invoke(cli, ["plot", "--backtest", str(saved)])
        assert res.exit_code == 0, res.output
        assert "forecast.png" in res.output and (saved / "forecast.png").stat().st_size > 0
        (saved / "history.csv").unlink()  # as an earlier version saved it: a one-line error, nothing written
        assert "holds no history" in assert_one_line_error(runner.invoke(cli, ["plot", "--backtest", str(saved)]))


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


# ------------------------------------------------------------ static inputs
#: id -> (a, b): two static columns; "tiny" (skipped by the fit) has values far from the others.
STATIC = {"north": (1.0, 200.0), "south": (2.5, 150.0), "east": (6.0, 150.0), "tiny": (100.0, -900.0)}


def static_frame(static=STATIC) -> pd.DataFrame:
    frame = panel_frame()
    frame["a"] = frame["unique_id"].map({k: v[0] for k, v in static.items()})
    frame["b"] = frame["unique_id"].map({k: v[1] for k, v in static.items()})
    return frame


@pytest.fixture(scope="module")
def static_fitted(tmp_path_factory):
    """A tiny panel model with two static inputs, fitted from a real CSV through the API, saved and loaded back."""
    path = tmp_path_factory.mktemp("static") / "panel.csv"
    static_frame().to_csv(path, index=False)
    ts = fc.read_csv(path, static_features=["b", "a"])
    model = fc.Forecaster(**TINY, calendar=False).fit(ts)
    run = model.save(path.parent / "run")
    return ts, model, run, fc.load(run)


def test_static_features_are_model_inputs(static_fitted):
    _, model, run, _ = static_fitted
    assert model.io_.n_static == 2 and model.static_features_ == ["a", "b"]
    assert model.config.data.static_features == ("a", "b")  # recorded (sorted): predict reads data the same way
    assert model.model_.get_layer("static").output.shape == (None, 2)
    assert "with_static" in [layer.name for layer in model.model_.layers]
    # Standardised with the mean and std over the series the model is fitted on ("tiny", skipped, is not one).
    used = np.array([STATIC[s] for s in model.ids_])
    np.testing.assert_allclose(model.static_scaler_.mean, used.mean(axis=0))
    np.testing.assert_allclose(model.static_scaler_.std, used.std(axis=0))
    manifest = json.loads((run / "forecaster.json").read_text())
    assert manifest["io"]["n_static"] == 2
    assert manifest["panel"]["static"]["features"] == ["a", "b"]
    np.testing.assert_allclose(manifest["panel"]["static"]["mean"], used.mean(axis=0))
    # The input is wired: another static value of one series changes that series' forecast only.
    base = model.predict(static_frame())
    moved = model.predict(static_frame({**STATIC, "north": (4.0, 120.0)}))
    north, south = base["id"] == "north", base["id"] == "south"
    assert np.abs(moved.loc[north, "value"].to_numpy() - base.loc[north, "value"].to_numpy()).max() > 1e-4
    np.testing.assert_allclose(moved.loc[south, "value"], base.loc[south, "value"], rtol=1e-6)
    pd.testing.assert_frame_equal(base, model.predict())  # the stored static values are the data's


def test_static_constant_column_gets_unit_std():
    from forecaster.panel import StaticScaler

    sc = StaticScaler.fit(["a", "b"], np.array([[1.0, 7.0], [3.0, 7.0], [8.0, 7.0]]))
    assert sc.std[1] == 1.0 and sc.mean[1] == 7.0
    np.testing.assert_allclose(sc.transform(np.array([[1.0, 7.0]]))[0], [(1 - 4) / np.std([1, 3, 8]), 0.0], rtol=1e-6)
    assert StaticScaler.from_dict(sc.to_dict()).to_dict() == sc.to_dict()


def test_static_save_load_predicts_the_same(static_fitted):
    from forecaster.forecaster import NUMPY_GRAPH
    from forecaster.inference import WEIGHTS_FILE, NumpyModel

    ts, model, run, back = static_fitted
    assert back.io_ == model.io_ and back.static_features_ == ["a", "b"]
    np.testing.assert_array_equal(back.static_values_, model.static_values_)
    pd.testing.assert_frame_equal(back.predict(), model.predict())
    pd.testing.assert_frame_equal(back.predict(ts), model.predict(ts))
    origins = {"north": np.array([40, 60, 86]), "east": np.array([20, 36])}
    for sid, f in back.predict_panel_origins(ts, origins).items():
        np.testing.assert_array_equal(f, model.predict_panel_origins(ts, origins)[sid])
    # The NumPy graph (prediction without Keras) computes the static input too.
    graph = fc.load(run)
    graph.model_, graph.model_backend_ = NumpyModel.from_run(run / "model.keras", run / WEIGHTS_FILE), NUMPY_GRAPH
    np.testing.assert_allclose(graph.predict()["value"], model.predict()["value"], rtol=1e-5)


def test_static_columns_missing_or_extra_at_predict_are_clean_errors(static_fitted, tmp_path):
    _, _, _, back = static_fitted
    with pytest.raises(fc.DataError, match="Static column 'b' not found") as exc:
        back.predict(static_frame().drop(columns="b"))
    assert "\n" not in str(exc.value)
    plain = fc.from_dataframe(static_frame().drop(columns=["a", "b"]))  # no static columns read
    with pytest.raises(fc.DataError, match=r"has static columns \(none\); the model's are \(a, b\)"):
        back.predict(plain)
    extra = fc.from_dataframe(static_frame().assign(c=1.0), static_features=["a", "b", "c"])
    with pytest.raises(fc.DataError, match=r"has static columns \(a, b, c\)"):
        back.predict_panel_origins(extra, {"north": np.array([50])})


def test_run_saved_before_static_inputs_still_predicts(fitted, tmp_path):
    """A panel run saved before static columns were inputs (its config may name them) loads and ignores them."""
    import shutil

    ts, model, run = fitted
    old = tmp_path / "old"
    shutil.copytree(run, old)
    manifest = json.loads((old / "forecaster.json").read_text())
    assert "static" not in manifest["panel"] and manifest["io"]["n_static"] == 0
    manifest["config"]["data"]["static_features"] = ["a"]  # what a CLI fit with --static-features a recorded
    (old / "forecaster.json").write_text(json.dumps(manifest))
    back = fc.load(old)
    assert back.io_.n_static == 0
    pd.testing.assert_frame_equal(back.predict(), model.predict())
    with_a = panel_frame().assign(a=1.0)
    pd.testing.assert_frame_equal(back.predict(with_a), model.predict(ts))


@pytest.mark.parametrize("family", ["rnn", "recursive", "seq2seq", "attention", "transformer"])
def test_every_family_takes_the_static_input(family):
    from forecaster.models import build_model
    from forecaster.shapes import IOSpec

    params = {"recursive": {"multistep": "recursive", "base": "naive"}}.get(family, {"model": family})
    cfg = ForecastConfig(units=4, lookback=6, horizon=2, model_dim=8, **params)
    io = IOSpec(lookback=6, horizon=2, n_past=1, n_static=2, n_series=3, embedding=2)
    model = build_model(cfg, io)
    assert [t.name for t in model.inputs] == ["window", "series", "static"]
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()])
    window, series = rng.normal(size=(4, 6, 1)).astype("float32"), np.zeros((4, 1), dtype="int32")
    a = model.predict_on_batch((window, series, np.zeros((4, 2), dtype="float32")))
    b = model.predict_on_batch((window, series, np.ones((4, 2), dtype="float32")))
    assert np.abs(np.asarray(a) - np.asarray(b)).max() > 1e-4


def test_training_batches_gather_each_windows_static_vector():
    """tf.data (training) and WindowView (prediction) give every window its own series' static row."""
    from forecaster.training.pipeline import window_dataset
    from forecaster.windowing import WindowView

    buf = np.arange(40, dtype=np.float32)[:, None]
    rows_of = np.repeat(np.array([0, 1], dtype=np.int32), 20)
    static = np.array([[1.0, -1.0], [5.0, 7.0]], dtype=np.float32)
    view = WindowView(buf, 4, 2, series_index=rows_of, series_input=False, static=static)
    origins = SegmentedOrigins([4, 24], [10, 10])
    (_, s), _ = next(iter(window_dataset(view, origins, batch_size=20)))
    expected = static[rows_of[np.asarray(origins)]]
    np.testing.assert_array_equal(s.numpy(), expected)
    np.testing.assert_array_equal(view.model_inputs(np.asarray(origins))[1], expected)


def test_cli_fit_with_static_features(runner):
    with runner.isolated_filesystem():
        static_frame().to_csv("panel.csv", index=False)
        res = runner.invoke(cli, ["fit", "panel.csv", "--static-features", "a,b", *TINY_FLAGS])
        assert res.exit_code == 0, res.output
        manifest = json.loads(Path("runs/latest/forecaster.json").read_text())
        assert manifest["io"]["n_static"] == 2 and manifest["panel"]["static"]["features"] == ["a", "b"]
        used = np.array([STATIC[s] for s in ("north", "south", "east")])
        np.testing.assert_allclose(manifest["panel"]["static"]["std"], used.std(axis=0))
        res = runner.invoke(cli, ["predict", "--data", "panel.csv"])
        assert res.exit_code == 0, res.output
        out = pd.read_csv(Path("runs/latest/forecast.csv"))
        assert sorted(out["id"].unique()) == ["east", "north", "south"] and np.isfinite(out["value"]).all()
        static_frame().drop(columns="a").to_csv("no_a.csv", index=False)
        err = assert_one_line_error(runner.invoke(cli, ["predict", "--data", "no_a.csv"]))
        assert "Static column 'a' not found" in err


def test_backtest_api_on_a_panel_with_static_columns():
    """The panel backtest fits on the rows before each origin and forecasts them with each series' static vector."""
    result = fc.backtest(fc.Forecaster(**TINY, static_features=("a", "b")), static_frame(), origin_stride=4)
    assert set(result.per_series["id"]) == {"north", "south", "east"}
    assert np.isfinite(result.metrics.loc["model", ["sMAPE", "MASE"]].astype(float)).all()


def test_damaged_static_entries_are_artifact_errors(static_fitted, tmp_path):
    import shutil

    _, _, run, _ = static_fitted
    bad = tmp_path / "bad"
    shutil.copytree(run, bad)
    manifest = json.loads((bad / "forecaster.json").read_text())
    manifest["panel"]["static"]["std"] = [1.0, -2.0]
    (bad / "forecaster.json").write_text(json.dumps(manifest))
    with pytest.raises(fc.ArtifactError, match="`static` entry is malformed"):
        fc.load(bad)
    shutil.rmtree(bad)
    shutil.copytree(run, bad)
    with np.load(bad / "panel.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "static"}
    np.savez(bad / "panel.npz", **arrays)
    with pytest.raises(fc.ArtifactError, match="panel.npz"):
        fc.load(bad)


def test_skip_auto_is_linear_with_a_season_and_none_without():
    """``skip auto``: a seasonal panel keeps the window's linear map, a panel without a season drops it; the choice
    is recorded, and a given value is kept."""
    frame = panel_frame()
    _, cfg, choices, _, _ = _prepare(frame, ForecastConfig(**TINY))
    assert cfg.model.skip == "linear" and choices["skip"]["value"] == "linear"
    _, cfg, choices, _, _ = _prepare(frame, ForecastConfig(**TINY, season=1))
    assert cfg.model.skip == "none" and "without a season" in choices["skip"]["why"]
    _, cfg, choices, _, _ = _prepare(frame, ForecastConfig(**TINY, season=1, skip="linear"))
    assert cfg.model.skip == "linear" and "skip" not in choices


def _layout_buffer(values: list[np.ndarray], lookback: int, horizon: int):
    from forecaster.panel import panel_buffer

    layout = plan_layout([str(i) for i in range(len(values))], [len(v) for v in values], lookback, horizon, 0.15)
    return layout, panel_buffer([v[:, None] for v in values], _IdentityScalers(), layout.pad)


class _IdentityScalers:
    """What panel_buffer reads of the scalers: one column, values as they are."""

    columns = ("value",)

    @staticmethod
    def transform_values(i, v):
        return np.asarray(v, dtype=np.float32)


def test_each_series_gets_the_base_most_accurate_on_its_own_training_windows():
    """A random walk under a strong season of 4 is best served by Naive2; a plain random walk by the last value
    (the panel's per-step choice here, which ties keep); a season that grows from one season to the next around a
    fixed level by the seasonal naive (Naive2 averages the older, smaller seasons into its profile)."""
    from forecaster.panel import choose_series_bases, describe_series_bases

    rng = np.random.default_rng(0)
    n = 200
    season = 8 * np.tile([1.0, -1.0, 2.0, -2.0], n // 4)
    walk = 50 + np.cumsum(rng.normal(0, 1, n))
    growing = 50 + season * (1 + np.arange(n) / 20) + rng.normal(0, 0.1, n)
    values = [walk + season, 50 + np.cumsum(rng.normal(0, 1, n)), growing]
    layout, buf = _layout_buffer(values, 16, 4)
    cfg = ForecastConfig(lookback=16, horizon=4, season=4, step_bases=("naive",) * 4)
    names, choice = choose_series_bases(buf, layout, cfg)
    assert names == ["panel", "naive", "seasonal_naive", "naive2"]
    assert [names[c] for c in choice] == ["naive2", "panel", "seasonal_naive"]
    assert describe_series_bases(names, choice) == "panel 1, seasonal naive 1, naive2 1 series"


def test_the_series_base_choice_reads_training_windows_only():
    """Leakage spy: rewriting every row from a series' validation part on leaves its choice as it was."""
    from forecaster.panel import choose_series_bases

    rng = np.random.default_rng(1)
    n = 120
    values = [50 + np.cumsum(rng.normal(0, 1, n)) + 5 * np.tile([1.0, -1.0, 2.0, -2.0], n // 4) for _ in range(4)]
    layout, buf = _layout_buffer(values, 16, 4)
    cfg = ForecastConfig(lookback=16, horizon=4, season=4, step_bases=("naive",) * 4)
    before = choose_series_bases(buf, layout, cfg)[1]
    poisoned = buf.copy()
    for start, end, n_rows in zip(layout.starts, layout.train_ends, layout.lengths):
        poisoned[start + end : start + n_rows] = rng.normal(0, 1e4, n_rows - end)[:, None]
    np.testing.assert_array_equal(choose_series_bases(poisoned, layout, cfg)[1], before)


@pytest.mark.slow  # two panel fits; the choice itself and its leakage spy above run in the default tier
def test_a_panel_with_its_own_base_per_series_saves_and_loads(tmp_path):
    frame = panel_frame()
    fit = fc.Forecaster(ForecastConfig(**TINY, season=12, series_base=True)).fit(frame)
    assert fit.choices_["base"]["value"].startswith("per series:")
    assert fit.series_bases_ is not None and len(fit.series_bases_[1]) == len(fit.ids_)
    run = fit.save(tmp_path / "run")
    manifest = json.loads((run / "forecaster.json").read_text())
    assert manifest["panel"]["series_bases"][0] == "panel"
    loaded = fc.Forecaster.load(run)
    np.testing.assert_array_equal(loaded.series_bases_[1], fit.series_bases_[1])
    pd.testing.assert_frame_equal(loaded.predict(), fit.predict(), rtol=1e-5)
    # The default (--no-series-base): every series takes the panel's per-step base, and the run records none.
    plain = fc.Forecaster(ForecastConfig(**TINY, season=12)).fit(frame)
    assert plain.series_bases_ is None and not plain.choices_["base"]["value"].startswith("per series")
    run2 = plain.save(tmp_path / "run2")
    assert "series_bases" not in json.loads((run2 / "forecaster.json").read_text())["panel"]
    assert fc.Forecaster.load(run2).series_bases_ is None
