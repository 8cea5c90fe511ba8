"""Backtests that fit models: leakage spies, baselines on the same origins, the public backtest(), files, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import assert_one_line_error, seasonal_frame, write_sensor_csv

import forecaster.forecaster as fmod
from forecaster import data
from forecaster.baselines import BASELINES, all_baselines
from forecaster.cli import cli
from forecaster.config import ForecastConfig
from forecaster.evaluation import (
    FORECAST_COLUMNS,
    MODEL,
    BacktestConfig,
    BacktestResult,
    backtest,
    plan_backtest,
    historical_forecasts,
    run_backtest,
)
from forecaster.exceptions import ArtifactError, ConfigError, DataError
from forecaster.scaling import SeriesScaler
from forecaster.windowing import chronological_split

TINY = ForecastConfig(units=4, epochs=1, lookback=16, horizon=4, batch_size=32, ensemble=1, min_steps_per_epoch=1)
LOOKBACK, HORIZON, VAL_FRACTION, BATCH = 16, 4, TINY.window.val_fraction, 32
TINY_ARGS = ["--units", "4", "--epochs", "1", "--lookback", "16", "--horizon", "4", "--batch-size", "32", "--ensemble", "1", "--min-steps-per-epoch", "1"]


def _series(n: int = 300) -> data.Series:
    return data.from_frame(seasonal_frame(n)[["time", "temp"]], time_col="time")


# --------------------------------------------------------------------------- running (with spies)


@pytest.fixture(scope="module")
def spied():
    """A refit-always backtest (fixed window, gap 2, 3 folds) with spies on models, optimizers and scalers."""
    series = _series(300)
    models, scaler_rows, fits, predicts, events, fit_starts = [], [], [], [], [], []
    real_scaler_fit = SeriesScaler.fit
    real_fit, real_predict = fmod.Forecaster.fit, fmod.Forecaster.predict_origins

    def scaler_spy(self, train, **kw):
        scaler_rows.append(np.array(train, copy=True))
        return real_scaler_fit(self, train, **kw)

    def fit_spy(self, s, **kw):
        fits.append(len(s))
        fit_starts.append(len(scaler_rows))  # the scaler fits that follow belong to this fit
        out = real_fit(self, s, **kw)
        models.append(self.model_)  # keep it alive so optimizer identities stay meaningful
        return out

    def predict_spy(self, s, origins):
        predicts.append(np.asarray(origins).copy())
        return real_predict(self, s, origins)

    cfg = BacktestConfig(folds=3, window="fixed", gap=2, origin_stride=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SeriesScaler, "fit", scaler_spy)
        mp.setattr(fmod.Forecaster, "fit", fit_spy)
        mp.setattr(fmod.Forecaster, "predict_origins", predict_spy)
        result = run_backtest(TINY, series, cfg, progress=events.append)
    return {"series": series, "result": result, "models": models, "scaler_rows": scaler_rows,
            "fits": fits, "predicts": predicts, "events": events, "fit_starts": fit_starts}


def _global_rows(values: np.ndarray, block: np.ndarray) -> tuple[int, int]:
    """Where the contiguous ``block`` of rows lies in ``values`` (first row, one past the last)."""
    for s in np.flatnonzero(values[:, 0] == block[0, 0]):
        if np.array_equal(values[s : s + len(block)], block):
            return int(s), int(s + len(block))
    raise AssertionError("block not found in the series")


def test_every_refit_builds_a_fresh_model_and_optimizer(spied):
    folds = spied["result"].folds
    assert len(spied["models"]) == len(folds) == 3
    assert len({id(m) for m in spied["models"]}) == 3  # the models are kept alive, so ids are unique
    optimizers = [m.optimizer for m in spied["models"]]
    assert len({id(o) for o in optimizers}) == 3
    # Each model trained from scratch: its optimizer took only this fit's steps (1 epoch here).
    for fold, opt in zip(folds, optimizers):
        split = chronological_split(fold.n_train, LOOKBACK, HORIZON, VAL_FRACTION)
        assert int(opt.iterations.numpy()) == -(-len(split.train_origins) // BATCH)


def test_every_scaler_only_saw_rows_before_its_cutoff(spied):
    values = spied["series"].values
    folds = spied["result"].folds
    # Per fold: the automatic choices' scalers on inner splits, then the model's.
    bounds = [*spied["fit_starts"], len(spied["scaler_rows"])]
    assert len(bounds) == len(folds) + 1
    for k, fold in enumerate(folds):
        blocks = spied["scaler_rows"][bounds[k] : bounds[k + 1]]
        assert blocks
        for block in blocks:
            # The series' own columns (calendar features are appended after them).
            first, stop = _global_rows(values, block[:, : values.shape[1]])
            assert first >= fold.train_start
            assert stop <= fold.train_end <= fold.cutoff - 2  # gap 2
            assert stop < fold.origins.min()
    assert spied["fits"] == [f.n_train for f in folds]


def test_each_model_predicts_its_origins_in_one_batch(spied):
    folds = spied["result"].folds
    assert len(spied["predicts"]) == len(folds)
    for fold, origins in zip(folds, spied["predicts"]):
        np.testing.assert_array_equal(origins, fold.origins)


def test_baselines_and_model_on_identical_origins(spied):
    result, series = spied["result"], spied["series"]
    fc = result.forecasts
    assert list(fc.columns) == list(FORECAST_COLUMNS)
    assert not fc.isna().any().any()
    origins = np.concatenate([f.origins for f in result.folds])
    assert len(fc) == len(origins) * HORIZON
    # Every forecaster has a value for every (cutoff, step); baselines are recomputed independently.
    base = all_baselines(series.values[:, 0], origins, HORIZON, season=24)
    for name in BASELINES:
        np.testing.assert_allclose(fc[name].to_numpy().reshape(-1, HORIZON), base[name])
    actual = series.values[origins[:, None] + np.arange(HORIZON), 0]
    np.testing.assert_allclose(fc["actual"].to_numpy().reshape(-1, HORIZON), actual)
    assert (fc["cutoff"].to_numpy().reshape(-1, HORIZON)[:, 0] == series.index[origins - 1]).all()
    assert (fc["timestamp"] > fc["cutoff"]).all()


def test_metrics_recomputed_from_the_forecast_table(spied):
    result = spied["result"]
    fc, m = result.forecasts, result.scores
    scales = {row["fold"]: row["mase_scale"] for row in m["per_fold"]}
    y = result.forecasts["actual"].to_numpy()
    for name in (MODEL, *BASELINES):
        err = np.abs(y - fc[name].to_numpy())
        assert m["overall"][name]["mae"] == pytest.approx(err.mean())
        assert m["overall"][name]["rmse"] == pytest.approx(np.sqrt((err**2).mean()))
        assert m["overall"][name]["mase"] == pytest.approx((err / fc["fold"].map(scales).to_numpy()).mean())
        per_step = pd.Series(err).groupby(fc["step"].to_numpy()).mean().to_numpy()
        assert m["per_step"][name]["mae"] == pytest.approx(per_step)
    series = spied["series"].values[:, 0]
    for f in result.folds:
        s = series[f.train_start : f.train_end]
        assert scales[f.fold] == pytest.approx(np.mean(np.abs(s[24:] - s[:-24])))
    v = result.verdict
    assert [s["step"] for s in v] == [1, 2, 3, 4]
    for s in v:
        assert s["beats_seasonal_naive"] == (s["model_mase"] < s["seasonal_naive_mase"])
        assert s["beats_naive"] == (s["model_mase"] < s["naive_mase"])
        assert 0.0 <= s["p_seasonal_naive"] <= 1.0 and 0.0 <= s["p_naive"] <= 1.0


def test_progress_reports_fold_and_eta(spied):
    events = spied["events"]
    assert [(e.fold, e.n_folds) for e in events] == [(1, 3), (1, 3), (2, 3), (2, 3), (3, 3), (3, 3)]
    assert events[0].eta is None and events[1].eta is not None and events[-1].eta == 0
    assert "fold 2/3" in events[2].message and "ETA" in events[2].message


def test_save_and_load_round_trip(spied, tmp_path):
    result = spied["result"]
    out = result.save(tmp_path / "bt")
    assert out == tmp_path / "bt"
    assert {p.name for p in out.iterdir()} == {"backtest.json", "metrics.json", "forecasts.csv", "folds.csv", "history.csv"}
    assert result.save(tmp_path / "bt").name == "bt-2"  # never overwritten
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
    # metrics.json is strict JSON (NaN would be written as null).
    metrics = json.loads((out / "metrics.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert set(metrics["overall"]) == {MODEL, *BASELINES}
    assert all(set(v) == {"mae", "rmse", "mape", "smape", "mase"} for v in metrics["overall"].values())
    assert all(len(v["mase"]) == HORIZON for v in metrics["per_step"].values())
    assert "0-200" in metrics["formulas"]["smape"]
    folds_csv = pd.read_csv(out / "folds.csv")
    assert {"fold", "train_start", "train_end", "cutoff", "test_start", "test_end", "origins"} <= set(folds_csv)
    loaded = BacktestResult.load(out)
    pd.testing.assert_frame_equal(loaded.forecasts, result.forecasts, check_dtype=False, check_exact=False)
    assert [f.origins.tolist() for f in loaded.folds] == [f.origins.tolist() for f in result.folds]
    assert loaded.scores["verdict"] == json.loads(json.dumps(result.scores["verdict"]))
    assert loaded.fc_config == result.fc_config and loaded.config == result.config
    (out / "forecasts.csv").unlink()
    with pytest.raises(ArtifactError, match="forecasts.csv is missing"):
        BacktestResult.load(out)


def test_refit_never_is_one_fit_and_one_batched_predict(monkeypatch):
    series = _series(300)
    calls = {"fit": 0, "predict": []}
    real_fit, real_predict = fmod.Forecaster.fit, fmod.Forecaster.predict_origins

    def fit_spy(self, s, **kw):
        calls["fit"] += 1
        return real_fit(self, s, **kw)

    def predict_spy(self, s, origins):
        calls["predict"].append(len(origins))
        return real_predict(self, s, origins)

    monkeypatch.setattr(fmod.Forecaster, "fit", fit_spy)
    monkeypatch.setattr(fmod.Forecaster, "predict_origins", predict_spy)
    result = run_backtest(TINY, series, BacktestConfig(folds=4, refit="never"))
    assert calls["fit"] == 1 and calls["predict"] == [result.scores["origins"]] == [57]
    assert [f.refit for f in result.folds] == [True, False, False, False]
    assert {(f.train_start, f.train_end) for f in result.folds} == {(0, 240)}


@pytest.mark.slow  # two fits; refit-every-N planning is property-tested above, refit always/never run by default
def test_refit_every_n_folds(monkeypatch):
    series = _series(300)
    sizes = []
    real_fit = fmod.Forecaster.fit
    monkeypatch.setattr(fmod.Forecaster, "fit", lambda self, s, **kw: sizes.append(len(s)) or real_fit(self, s, **kw))
    result = run_backtest(TINY, series, BacktestConfig(folds=4, refit=2))
    assert [f.refit for f in result.folds] == [True, False, True, False]
    assert sizes == [result.folds[0].cutoff, result.folds[2].cutoff]
    assert result.fold_table["fit"].tolist() == ["fit", "fold 1", "fit", "fold 3"]


@pytest.mark.slow  # two backtests (four fits); the scaler and fit spies above check the same cutoffs by default
def test_future_rows_cannot_change_past_forecasts():
    """End-to-end leakage check: rewriting the rows after the last cutoff leaves every earlier forecast unchanged."""
    frame = seasonal_frame(300)[["time", "temp"]]
    cfg = BacktestConfig(folds=2)
    a = run_backtest(TINY, data.from_frame(frame, time_col="time"), cfg)
    cutoff = a.folds[-1].cutoff
    changed = frame.copy()
    changed.loc[cutoff:, "temp"] = changed.loc[cutoff:, "temp"] * 3 + 100
    b = run_backtest(TINY, data.from_frame(changed, time_col="time"), cfg)
    issued_before = a.forecasts["cutoff"] <= frame["time"].pipe(pd.to_datetime).iloc[cutoff - 1]
    assert issued_before.sum() == (a.folds[0].n_origins + 1) * HORIZON
    for name in (MODEL, *BASELINES):
        np.testing.assert_allclose(a.forecasts.loc[issued_before, name], b.forecasts.loc[issued_before, name], rtol=1e-6)
    assert not np.allclose(a.forecasts.loc[~issued_before, MODEL], b.forecasts.loc[~issued_before, MODEL])


@pytest.mark.slow  # a fit on a real data set (17,420 rows)
def test_real_sensor_data(shared_data):
    series = data.load(shared_data / "ETTh1.csv", target="OT")
    cfg = TINY.replace(horizon=24, lookback=24, steps_per_epoch=10)
    result = run_backtest(cfg, series, BacktestConfig(refit="never", origin_stride=24))
    assert result.season == 24 and result.scores["origins"] == len(result.forecasts) // 24
    assert result.fold_table["train_end"].iloc[0] < result.fold_table["test_start"].iloc[0]


# --------------------------------------------------------------------------- public backtest()


@pytest.fixture(scope="module")
def public():
    """backtest() of an unfitted Forecaster on 200 hourly points: 2 folds, 1 epoch, 4 units."""
    series = _series(200)
    model = fmod.Forecaster(TINY)
    result = backtest(model, series, folds=2, origin_stride=2)
    return {"series": series, "model": model, "result": result}


def test_backtest_metrics_frame(public):
    result = public["result"]
    m = result.metrics
    assert isinstance(m, pd.DataFrame)
    assert list(m.index) == [MODEL, "naive", "seasonal_naive", "drift", "window_mean"]
    assert list(m.columns) == ["MAE", "RMSE", "MAPE", "sMAPE", "MASE"]
    assert np.isfinite(m.to_numpy()).all()
    assert m.loc[MODEL, "MAE"] == result.scores["overall"][MODEL]["mae"]
    assert m.loc["naive", "MASE"] == result.scores["overall"]["naive"]["mase"]
    per_step = result.per_step
    assert per_step.shape == (5 * HORIZON, 5) and list(per_step.columns) == list(m.columns)
    assert per_step.loc[(MODEL, 2), "MASE"] == result.scores["per_step"][MODEL]["mase"][1]
    assert [v["step"] for v in result.verdict] == list(range(1, HORIZON + 1))
    assert result.summary == result.format_verdict()[-1]
    # The passed forecaster only lent its config: it is still unfitted, every fold fitted a fresh one.
    assert not hasattr(public["model"], "model_")
    assert result.forecaster is not public["model"] and len(result.fits) == 2


def test_backtest_forecasts_long_table(public):
    result, series = public["result"], public["series"]
    fc = result.forecasts
    assert list(fc.columns) == list(FORECAST_COLUMNS)
    origins = np.concatenate([f.origins for f in result.folds])
    assert (np.diff(origins) == 2).all()
    assert fc["origin"].tolist() == np.repeat(origins, HORIZON).tolist()
    assert fc["step"].tolist() == np.tile(np.arange(1, HORIZON + 1), len(origins)).tolist()
    rows = fc["origin"].to_numpy() + fc["step"].to_numpy() - 1
    assert (fc["timestamp"].to_numpy() == series.index[rows].to_numpy()).all()
    assert (fc["cutoff"].to_numpy() == series.index[fc["origin"].to_numpy() - 1].to_numpy()).all()
    np.testing.assert_array_equal(fc["actual"].to_numpy(), series.values[rows, 0])


def test_backtest_takes_a_config_or_a_forecaster_and_refuses_anything_else(public):
    with pytest.raises(ConfigError, match="`model` must be a Forecaster or a ForecastConfig"):
        backtest(public["series"], public["series"])
    with pytest.raises(ConfigError, match="`origin_stride` must be a positive integer"):
        backtest(TINY, public["series"], origin_stride=0)


def test_a_collection_of_one_series_is_that_series():
    from types import SimpleNamespace

    from forecaster.evaluation import _series as adapter

    series = _series(120)
    assert adapter.one_series(SimpleNamespace(members=(series,))) is series
    assert adapter.one_series(series) is series
    # Several series are a panel (one global model, tests/test_panel.py): they need unique ids.
    with pytest.raises(DataError, match="Series ids must be present and unique"):
        backtest(TINY, SimpleNamespace(members=(series, series)))


def test_historical_forecasts_are_forecasts_only():
    hf = historical_forecasts(TINY, _series(200), BacktestConfig(folds=1, refit="never", origin_stride=8))
    assert list(hf.forecasts.columns) == list(FORECAST_COLUMNS)
    assert set(hf.timings) == {"fit_seconds", "predict_seconds", "baseline_seconds"}
    assert len(hf.fits) == len(hf.histories) == 1 and hf.plan.n_origins * HORIZON == len(hf.forecasts)


def test_backtest_plot_returns_figures(public):
    from matplotlib.figure import Figure

    figures = public["result"].plot()
    assert set(figures) == {"backtest.png", "error_by_step.png", "training.png", "forecast.png"}
    assert all(isinstance(f, Figure) for f in figures.values())


def test_backtest_save_load_round_trip(public, tmp_path):
    result = public["result"]
    out = result.save(tmp_path / "bt", figures=result.plot())
    assert {"backtest.json", "metrics.json", "forecasts.csv", "folds.csv", "history.csv", "backtest.png",
            "error_by_step.png", "training.png", "forecast.png"} == {p.name for p in out.iterdir()}
    assert json.loads((out / "backtest.json").read_text())["backtest"]["origin_stride"] == 2
    loaded = BacktestResult.load(out)
    pd.testing.assert_frame_equal(loaded.metrics, result.metrics)
    pd.testing.assert_frame_equal(loaded.per_step, result.per_step)
    pd.testing.assert_frame_equal(loaded.forecasts, result.forecasts, check_dtype=False)
    assert loaded.verdict == result.verdict
    assert loaded.format_table() == result.format_table()
    assert loaded.format_verdict() == result.format_verdict()
    assert loaded.describe() == result.describe()
    assert loaded.config == result.config and loaded.fc_config == result.fc_config
    assert loaded.series is None and loaded.forecaster is None
    # Without the series, the figures are the ones a saved directory can redraw.
    assert set(loaded.plot()) == {"backtest.png", "error_by_step.png", "training.png"}


def test_load_reads_a_directory_from_before_the_origin_column(public, tmp_path):
    out = public["result"].save(tmp_path / "old")
    forecasts = pd.read_csv(out / "forecasts.csv").drop(columns="origin")
    forecasts.to_csv(out / "forecasts.csv", index=False, float_format="%.10g")
    manifest = json.loads((out / "backtest.json").read_text())
    manifest["backtest"]["stride"] = manifest["backtest"].pop("origin_stride")
    (out / "backtest.json").write_text(json.dumps(manifest))
    loaded = BacktestResult.load(out)
    assert loaded.forecasts["origin"].tolist() == public["result"].forecasts["origin"].tolist()
    assert loaded.config.origin_stride == 2


# --------------------------------------------------------------------------- CLI


def test_cli_backtest_and_plot():
    runner = CliRunner()
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=300)
        res = runner.invoke(cli, ["backtest", "s.csv", "--target", "temp", *TINY_ARGS, "--folds", "2", "--name", "bt"])
        assert res.exit_code == 0, res.output
        out = res.stdout
        # The fold table comes first, then the metric table and the verdict.
        assert out.index("train from") < out.index("MASE")
        for row in (MODEL, *BASELINES):
            assert any(line.split()[:1] == [row] for line in out.splitlines()), row
        assert "sMAPE%" in out and "step 4: model" in out and "Diebold-Mariano" in out
        assert "fold 2/2" in res.stderr
        run = Path("runs/bt")
        names = {p.name for p in run.iterdir()}
        assert {"metrics.json", "forecasts.csv", "folds.csv", "backtest.json", "history.csv",
                "backtest.png", "error_by_step.png", "training.png", "forecast.png"} <= names
        forecasts = pd.read_csv(run / "forecasts.csv")
        assert list(forecasts.columns) == list(FORECAST_COLUMNS)
        assert not Path("runs/latest").exists()  # a backtest is not a model for 'predict'

        (run / "backtest.png").unlink()
        res = runner.invoke(cli, ["plot", "--backtest", str(run)])
        assert res.exit_code == 0, res.output
        assert (run / "backtest.png").read_bytes()[:4] == b"\x89PNG"
        assert (run / "error_by_step.png").is_file()


@pytest.mark.parametrize(
    "args,needle,code",
    [
        (["--refit", "sometimes"], "Invalid value for '--refit'", 2),
        (["--folds", "0"], "Invalid value for '--folds'", 2),
        (["--start", "1.5"], "Invalid value for '--start'", 2),
        (["--train-size", "100"], "`train_size` only applies to a fixed training window", 1),
        (["--start", "10"], "The first cutoff must leave at least", 1),
        (["--folds", "500"], "folds=500 needs at least 500 origins", 1),
        (["--season", "500"], "no origin is left to forecast after the first cutoff (row 501)", 1),
    ],
)
def test_cli_backtest_bad_options(args, needle, code):
    runner = CliRunner()
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=300)
        res = runner.invoke(cli, ["backtest", "s.csv", "--target", "temp", *TINY_ARGS, *args])
        line = assert_one_line_error(res, code=code)
        assert needle in line
        if "--season" in args:
            assert line.endswith("reduce --lookback, --horizon or --season.")
        assert not Path("runs").exists()


def test_cli_plot_backtest_errors():
    runner = CliRunner()
    with runner.isolated_filesystem():
        assert "is not a complete backtest" in assert_one_line_error(runner.invoke(cli, ["plot", "--backtest", "."]))
        assert "does not exist" in assert_one_line_error(runner.invoke(cli, ["plot", "--backtest", "nope"]))
        line = assert_one_line_error(runner.invoke(cli, ["plot", "--backtest", ".", "--model", "x"]), code=2)
        assert "--backtest cannot be combined" in line


def test_automatic_lookback_is_fixed_once_from_the_rows_before_the_first_cutoff():
    series = _series(300)
    cfg = ForecastConfig(units=2, epochs=1, horizon=4, lookback=0, ensemble=1, min_steps_per_epoch=1)  # 0: automatic
    plan = plan_backtest(series, cfg, BacktestConfig(folds=2, refit="never"))
    from forecaster.choices import auto_lookback

    first_cutoff = plan.folds[0].cutoff
    assert plan.fc_config.window.lookback == auto_lookback(first_cutoff, 24, 4, cfg.window.val_fraction)
    result = backtest(cfg, series, folds=2, refit="never")
    assert result.fc_config.window.lookback == plan.fc_config.window.lookback
    assert set(result.metrics.index) >= {"model", "seasonal_naive"}
