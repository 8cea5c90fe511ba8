"""Backtests: fold planning properties, leakage spies, baselines on the same origins, files, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import assert_one_line_error, seasonal_frame, write_sensor_csv
from hypothesis import given, settings
from hypothesis import strategies as st

import forecaster.forecaster as fmod
from forecaster import data
from forecaster.backtest import (
    BASELINES,
    FORECAST_COLUMNS,
    MODEL,
    BacktestConfig,
    BacktestResult,
    dm_pvalues,
    min_train_rows,
    plan_backtest,
    plan_folds,
    run_backtest,
    score,
)
from forecaster.baselines import all_baselines
from forecaster.cli import cli
from forecaster.config import ForecastConfig
from forecaster.exceptions import ArtifactError, ConfigError, DataError, ForecasterError
from forecaster.scaling import SeriesScaler
from forecaster.windowing import chronological_split

TINY = ForecastConfig(units=4, epochs=1, lookback=16, horizon=4, batch_size=32)
TINY_ARGS = ["--units", "4", "--epochs", "1", "--lookback", "16", "--horizon", "4", "--batch-size", "32"]


def _series(n: int = 300) -> data.Series:
    return data.from_frame(seasonal_frame(n)[["time", "temp"]], time_col="time")


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"folds": 0}, "`folds` must be a positive integer or None. Received: folds=0"),
        ({"stride": 0}, "`stride` must be a positive integer. Received: stride=0"),
        ({"refit": "sometimes"}, "`refit` must be 'always', 'never' or a positive integer N (refit every N folds). "
                                 "Received: refit='sometimes'"),
        ({"refit": True}, "Received: refit=True"),
        ({"window": "sliding"}, "`window` must be one of expanding, fixed. Received: window='sliding'"),
        ({"train_size": 100}, "`train_size` only applies to a fixed training window. Pass --window fixed, or drop "
                              "--train-size. Received: train_size=100, window='expanding'"),
        ({"gap": -1}, "`gap` must be a non-negative integer. Received: gap=-1"),
        ({"season": 0}, "`season` must be a positive integer or None. Received: season=0"),
        ({"start": 1.5}, "`start` must be a row number, a fraction of the rows in (0, 1) or a date"),
        ({"start": "not a date"}, "Received: start='not a date'"),
    ],
)
def test_config_validation_messages(kwargs, message):
    with pytest.raises(ConfigError) as err:
        BacktestConfig(**kwargs)
    assert message in str(err.value)


def test_config_round_trip():
    cfg = BacktestConfig(folds=3, start="2024-01-05", stride=2, refit=2, window="fixed", train_size=50, gap=1, season=7)
    assert BacktestConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="Unknown backtest config key"):
        BacktestConfig.from_dict({"fold": 3})


# --------------------------------------------------------------------------- fold planning


def test_plan_worked_example():
    cfg = ForecastConfig(lookback=10, horizon=5, val_fraction=0.2)
    folds = plan_folds(100, BacktestConfig(folds=2, stride=5), cfg)
    assert [(f.train_start, f.train_end, f.cutoff, f.origins.tolist()) for f in folds] == [
        (0, 80, 80, [80, 85]),
        (0, 90, 90, [90, 95]),
    ]


def test_min_train_rows_is_the_split_boundary():
    for lookback, horizon, vf in [(10, 5, 0.2), (16, 4, 0.15), (1, 1, 0.5), (60, 5, 0.15), (3, 30, 0.9)]:
        cfg = ForecastConfig(lookback=lookback, horizon=horizon, val_fraction=vf)
        m = min_train_rows(cfg)
        assert chronological_split(m, lookback, horizon, vf).train_end >= 3
        try:
            split = chronological_split(m - 1, lookback, horizon, vf)
        except DataError:
            pass
        else:
            assert split.train_end < 3


@st.composite
def _plans(draw):
    lookback = draw(st.integers(1, 40))
    horizon = draw(st.integers(1, 24))
    fc = ForecastConfig(lookback=lookback, horizon=horizon, val_fraction=draw(st.sampled_from([0.1, 0.15, 0.3])))
    window = draw(st.sampled_from(["expanding", "fixed"]))
    cfg = BacktestConfig(
        folds=draw(st.none() | st.integers(1, 12)),
        start=draw(st.none() | st.integers(0, 2500) | st.floats(0.05, 0.95)),
        stride=draw(st.integers(1, 40)),
        refit=draw(st.sampled_from(["always", "never", 1, 2, 3])),
        window=window,
        train_size=draw(st.none() | st.integers(1, 1500)) if window == "fixed" else None,
        gap=draw(st.integers(0, 20)),
    )
    return draw(st.integers(5, 3000)), cfg, fc, draw(st.integers(1, 30))


@settings(max_examples=300, deadline=None)
@given(_plans())
def test_plan_folds_properties(case):
    n_rows, cfg, fc, season = case
    try:
        folds = plan_folds(n_rows, cfg, fc, season=season)
    except ForecasterError as exc:  # a clear refusal is fine; anything else is a bug
        assert isinstance(exc, (ConfigError, DataError)) and str(exc)
        return
    horizon, gap = fc.horizon, cfg.gap
    origins = np.concatenate([f.origins for f in folds])
    # Origins: increasing, spaced by stride, all targets inside the series, up to the end.
    assert (np.diff(origins) == cfg.stride).all()
    assert origins[0] == folds[0].cutoff
    assert origins[-1] + horizon <= n_rows < origins[-1] + cfg.stride + horizon
    assert origins.min() >= max(fc.lookback, season)
    if cfg.folds is not None:
        assert len(folds) == cfg.folds
    if isinstance(cfg.start, int):
        assert folds[0].cutoff == cfg.start
    elif cfg.start is None:
        assert folds[0].cutoff >= n_rows - round(0.2 * n_rows)
    assert [f.fold for f in folds] == list(range(1, len(folds) + 1))
    m = min_train_rows(fc, season)
    by_number = {f.fold: f for f in folds}
    for i, f in enumerate(folds):
        assert f.cutoff == f.origins[0]
        if i + 1 < len(folds):
            assert f.origins[-1] < folds[i + 1].cutoff
        # The model that forecasts this fold never trained on a row at or after cutoff - gap.
        assert 0 <= f.train_start < f.train_end <= f.cutoff - gap
        assert f.n_train >= m
        assert chronological_split(f.n_train, fc.lookback, horizon, fc.val_fraction).train_end >= 3
        if cfg.window == "expanding":
            assert f.train_start == 0
        owner = by_number[f.model_fold]
        assert owner.refit and owner.fold <= f.fold
        assert (owner.train_start, owner.train_end) == (f.train_start, f.train_end)
        if f.refit:
            assert f.model_fold == f.fold and f.train_end == f.cutoff - gap
    assert folds[0].refit
    if cfg.refit == "never":
        assert sum(f.refit for f in folds) == 1
    elif cfg.refit in ("always", 1):
        assert all(f.refit for f in folds)
    elif cfg.folds is not None:
        assert [f.refit for f in folds] == [(f.fold - 1) % cfg.refit == 0 for f in folds]
    if cfg.window == "fixed":
        sizes = {f.n_train for f in folds}
        assert sizes == {cfg.train_size if cfg.train_size is not None else folds[0].cutoff - gap}


def test_plan_defaults_and_refusals():
    fc = ForecastConfig(lookback=16, horizon=4)
    folds = plan_folds(300, BacktestConfig(), fc, season=24)
    assert len(folds) == 5 and folds[0].cutoff == 240 and all(f.refit for f in folds)
    # --start without --folds: one fold per origin with refit always, one fold with refit never.
    assert len(plan_folds(300, BacktestConfig(start=280), fc)) == 17
    assert len(plan_folds(300, BacktestConfig(start=280, refit="never"), fc)) == 1
    assert len(plan_folds(300, BacktestConfig(start=280, refit=4), fc)) == 5
    with pytest.raises(ConfigError, match=r"The first cutoff must leave at least \d+ rows before it"):
        plan_folds(300, BacktestConfig(start=10), fc)
    with pytest.raises(DataError, match="folds=100 needs at least 100 origins"):
        plan_folds(300, BacktestConfig(folds=100, stride=4), fc)
    with pytest.raises(DataError, match="Series has 28 rows: no origin is left"):
        plan_folds(28, BacktestConfig(), fc)
    with pytest.raises(ConfigError, match="`train_size` must be at least"):
        plan_folds(300, BacktestConfig(window="fixed", train_size=5), fc)


def test_plan_backtest_resolves_dates_and_season():
    series = _series(300)
    plan = plan_backtest(series, TINY, BacktestConfig(start="2024-01-11 12:00", folds=2))
    assert plan.season == 24 and plan.season_inferred
    assert series.index[plan.folds[0].cutoff] == pd.Timestamp("2024-01-11 12:00")
    assert plan_backtest(series, TINY, BacktestConfig(season=12)).season == 12
    with pytest.raises(ConfigError, match="is after the end of the series"):
        plan_backtest(series, TINY, BacktestConfig(start="2030-01-01"))


def test_score_mase_uses_each_origins_fold_scale():
    y = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = score(y, {"m": y + np.array([[1.0, 1.0], [2.0, 2.0], [0.0, 4.0]])}, np.array([1.0, 2.0, 4.0]))
    # scaled errors: [1, 1], [1, 1], [0, 1]
    assert out["overall"]["m"]["mase"] == pytest.approx(5 / 6)
    assert out["per_step"]["m"]["mase"] == pytest.approx([2 / 3, 1.0])
    assert out["overall"]["m"]["mae"] == pytest.approx(10 / 6)


# --------------------------------------------------------------------------- running (with spies)


@pytest.fixture(scope="module")
def spied():
    """A refit-always backtest (fixed window, gap 2, 3 folds) with spies on models, optimizers and scalers."""
    series = _series(300)
    builds, scaler_rows, fits, predicts, events = [], [], [], [], []
    real_build, real_scaler_fit = fmod.build_model, SeriesScaler.fit
    real_fit, real_predict = fmod.Forecaster.fit, fmod.Forecaster.predict_origins

    def build_spy(config, n_features, **kw):
        model = real_build(config, n_features, **kw)
        builds.append(model)  # keep it alive so optimizer identities stay meaningful
        return model

    def scaler_spy(self, train, **kw):
        scaler_rows.append(np.array(train, copy=True))
        return real_scaler_fit(self, train, **kw)

    def fit_spy(self, s, **kw):
        fits.append(len(s))
        return real_fit(self, s, **kw)

    def predict_spy(self, s, origins):
        predicts.append(np.asarray(origins).copy())
        return real_predict(self, s, origins)

    cfg = BacktestConfig(folds=3, window="fixed", gap=2, stride=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fmod, "build_model", build_spy)
        mp.setattr(SeriesScaler, "fit", scaler_spy)
        mp.setattr(fmod.Forecaster, "fit", fit_spy)
        mp.setattr(fmod.Forecaster, "predict_origins", predict_spy)
        result = run_backtest(series, TINY, cfg, progress=events.append)
    return {"series": series, "result": result, "builds": builds, "scaler_rows": scaler_rows,
            "fits": fits, "predicts": predicts, "events": events}


def _global_rows(values: np.ndarray, block: np.ndarray) -> tuple[int, int]:
    """Where the contiguous ``block`` of rows lies in ``values`` (first row, one past the last)."""
    for s in np.flatnonzero(values[:, 0] == block[0, 0]):
        if np.array_equal(values[s : s + len(block)], block):
            return int(s), int(s + len(block))
    raise AssertionError("block not found in the series")


def test_every_refit_builds_a_fresh_model_and_optimizer(spied):
    folds = spied["result"].folds
    assert len(spied["builds"]) == len(folds) == 3
    optimizers = [m.optimizer for m in spied["builds"]]
    assert len({id(o) for o in optimizers}) == 3  # the models are kept alive, so ids are unique
    # Each model trained from scratch: its optimizer took only this fit's steps (1 epoch here).
    for fold, opt in zip(folds, optimizers):
        split = chronological_split(fold.n_train, TINY.lookback, TINY.horizon, TINY.val_fraction)
        assert int(opt.iterations.numpy()) == -(-len(split.train_origins) // TINY.batch_size)


def test_every_scaler_only_saw_rows_before_its_cutoff(spied):
    values = spied["series"].values
    folds = spied["result"].folds
    assert len(spied["scaler_rows"]) == len(folds)
    for fold, block in zip(folds, spied["scaler_rows"]):
        first, stop = _global_rows(values, block)
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
    assert len(fc) == len(origins) * TINY.horizon
    # Every forecaster has a value for every (cutoff, step); baselines are recomputed independently.
    base = all_baselines(series.values[:, 0], origins, TINY.horizon, season=24)
    for name in BASELINES:
        np.testing.assert_allclose(fc[name].to_numpy().reshape(-1, TINY.horizon), base[name])
    actual = series.values[origins[:, None] + np.arange(TINY.horizon), 0]
    np.testing.assert_allclose(fc["actual"].to_numpy().reshape(-1, TINY.horizon), actual)
    assert (fc["cutoff"].to_numpy().reshape(-1, TINY.horizon)[:, 0] == series.index[origins - 1]).all()
    assert (fc["timestamp"] > fc["cutoff"]).all()


def test_metrics_recomputed_from_the_forecast_table(spied):
    result = spied["result"]
    fc, m = result.forecasts, result.metrics
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


def test_diebold_mariano_p_values():
    rng = np.random.default_rng(0)
    y = np.zeros((300, 2))
    good, bad = y + rng.normal(0, 1, y.shape), y + rng.normal(0, 2, y.shape)
    assert all(p < 1e-6 for p in dm_pvalues(y, good, bad))
    assert dm_pvalues(y, good, good) == [1.0, 1.0]
    # Two equally good forecasters: no significant difference (most of the time; fixed seed here).
    same = y + rng.normal(0, 1, y.shape)
    assert all(p > 0.05 for p in dm_pvalues(y, good, same))


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
    assert all(len(v["mase"]) == TINY.horizon for v in metrics["per_step"].values())
    assert "0-200" in metrics["formulas"]["smape"]
    folds_csv = pd.read_csv(out / "folds.csv")
    assert {"fold", "train_start", "train_end", "cutoff", "test_start", "test_end", "origins"} <= set(folds_csv)
    loaded = BacktestResult.load(out)
    pd.testing.assert_frame_equal(loaded.forecasts, result.forecasts, check_dtype=False, check_exact=False)
    assert [f.origins.tolist() for f in loaded.folds] == [f.origins.tolist() for f in result.folds]
    assert loaded.metrics["verdict"] == json.loads(json.dumps(result.metrics["verdict"]))
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
    result = run_backtest(series, TINY, BacktestConfig(folds=4, refit="never"))
    assert calls["fit"] == 1 and calls["predict"] == [result.metrics["origins"]] == [57]
    assert [f.refit for f in result.folds] == [True, False, False, False]
    assert {(f.train_start, f.train_end) for f in result.folds} == {(0, 240)}


@pytest.mark.slow  # two fits; refit-every-N planning is property-tested above, refit always/never run by default
def test_refit_every_n_folds(monkeypatch):
    series = _series(300)
    sizes = []
    real_fit = fmod.Forecaster.fit
    monkeypatch.setattr(fmod.Forecaster, "fit", lambda self, s, **kw: sizes.append(len(s)) or real_fit(self, s, **kw))
    result = run_backtest(series, TINY, BacktestConfig(folds=4, refit=2))
    assert [f.refit for f in result.folds] == [True, False, True, False]
    assert sizes == [result.folds[0].cutoff, result.folds[2].cutoff]
    assert result.fold_table["fit"].tolist() == ["fit", "fold 1", "fit", "fold 3"]


@pytest.mark.slow  # two backtests (four fits); the scaler and fit spies above check the same cutoffs by default
def test_future_rows_cannot_change_past_forecasts():
    """End-to-end leakage check: rewriting the rows after the last cutoff leaves every earlier forecast unchanged."""
    frame = seasonal_frame(300)[["time", "temp"]]
    cfg = BacktestConfig(folds=2)
    a = run_backtest(data.from_frame(frame, time_col="time"), TINY, cfg)
    cutoff = a.folds[-1].cutoff
    changed = frame.copy()
    changed.loc[cutoff:, "temp"] = changed.loc[cutoff:, "temp"] * 3 + 100
    b = run_backtest(data.from_frame(changed, time_col="time"), TINY, cfg)
    issued_before = a.forecasts["cutoff"] <= frame["time"].pipe(pd.to_datetime).iloc[cutoff - 1]
    assert issued_before.sum() == (a.folds[0].n_origins + 1) * TINY.horizon
    for name in (MODEL, *BASELINES):
        np.testing.assert_allclose(a.forecasts.loc[issued_before, name], b.forecasts.loc[issued_before, name], rtol=1e-6)
    assert not np.allclose(a.forecasts.loc[~issued_before, MODEL], b.forecasts.loc[~issued_before, MODEL])


@pytest.mark.slow  # a fit on a real data set (17,420 rows)
def test_real_sensor_data(shared_data):
    series = data.load(shared_data / "ETTh1.csv", target="OT")
    cfg = TINY.replace(horizon=24, lookback=24, steps_per_epoch=10)
    result = run_backtest(series, cfg, BacktestConfig(refit="never", stride=24))
    assert result.season == 24 and result.metrics["origins"] == len(result.forecasts) // 24
    assert result.fold_table["train_end"].iloc[0] < result.fold_table["test_start"].iloc[0]


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
