"""Fitting in: output for people and programs (stdout, JSON), help texts, ETA, TensorBoard, calendars, tune."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import assert_one_line_error, write_price_csv

from forecaster import output
from forecaster.cli import cli
from forecaster.evaluation.report import _verdict_runs

TINY = ["--units", "4", "--epochs", "2", "--lookback", "10", "--horizon", "3", "--batch-size", "32",
        "--ensemble", "1", "--min-steps-per-epoch", "1", "--steps-per-epoch", "2"]


BUNDLED_PRICES = Path(__file__).resolve().parents[1] / "data" / "prices.csv"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One tiny model fitted through the CLI on the last 160 rows of the bundled S&P 500 file (ends 2018-12-31)."""
    root = tmp_path_factory.mktemp("eco")
    csv = root / "prices.csv"
    pd.read_csv(BUNDLED_PRICES).tail(160).to_csv(csv, index=False)
    # Fixed normalisation and transform: the automatic choices (and their cost) are tested elsewhere.
    args = ["--runs-dir", str(root / "runs"), "fit", str(csv), *TINY, "--name", "p", "--holidays", "US",
            "--normalization", "window", "--transform", "none"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    return root, res


def _run(root, *args):
    return CliRunner().invoke(cli, ["--runs-dir", str(root / "runs"), *args])


def _all_commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_every_option_of_every_command_has_help():
    missing = [(" ".join(path), p.opts[0]) for path, cmd in _all_commands(cli) for p in cmd.params
               if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert missing == []


def test_fit_prints_eta_and_no_cudnn_note_on_cpu(fitted):
    _, res = fitted
    assert "ETA: at most" in res.stderr and "epoch left" in res.stderr  # logged: stdout stays the program's output
    assert "cuDNN" not in res.output  # no GPU on the test machine


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="tensorboard not installed")
def test_tensorboard_logs_are_written(tmp_path):
    csv = write_price_csv(tmp_path / "prices.csv", n=160)
    res = CliRunner().invoke(cli, ["--runs-dir", str(tmp_path / "runs"), "fit", str(csv), *TINY,
                                   "--tensorboard", str(tmp_path / "tb")])
    assert res.exit_code == 0, res.output
    events = list((tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert {p.parent.name for p in events} >= {"train", "validation"}
    assert "TensorBoard logs in" in res.stdout
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "tb" / "train"), size_guidance={"tensors": 0}).Reload()
    tags = set(acc.Tags()["tensors"])
    assert {"epoch_loss", "epoch_learning_rate"} <= tags, tags


def test_predict_to_stdout_csv_and_json(fitted):
    root, _ = fitted
    res = _run(root, "predict", "--model", str(root / "runs/p"), "--output", "-")
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(pd.io.common.StringIO(res.stdout), index_col=0, parse_dates=True)
    assert list(frame.columns) == ["Adj Close"] and len(frame) == 3
    assert "Wrote stdout" in res.stderr and not Path("-").exists()
    # Loader report once: predicting from the training data does not repeat it.
    assert "read 160 rows" not in res.stderr
    # The exchange calendar chosen for a price file skips the 2019-01-01 market holiday.
    assert frame.index[0] == pd.Timestamp("2019-01-02")
    assert "XNYS sessions" in res.stderr
    res = _run(root, "predict", "--model", str(root / "runs/p"), "--output", "-", "--format", "json")
    rows = json.loads(res.stdout)
    assert [set(r) for r in rows] == [{"time", "Adj Close"}] * 3
    assert rows[0]["time"] == frame.index[0].strftime("%Y-%m-%d")
    assert rows[0]["Adj Close"] == pytest.approx(frame.iloc[0, 0])
    # Rounded to 6 significant digits: a price near 100 keeps 4 decimals.
    assert all(round(r["Adj Close"], 4) == r["Adj Close"] for r in rows)


def test_predict_json_file_by_suffix(fitted):
    root, _ = fitted
    out = root / "f.json"
    res = _run(root, "predict", "--model", str(root / "runs/p"), "--output", str(out))
    assert res.exit_code == 0, res.output
    assert len(json.loads(out.read_text())) == 3


def test_info_formats(fitted):
    root, _ = fitted
    doc = json.loads(_run(root, "info", "--model", str(root / "runs/p"), "--format", "json").stdout)
    assert doc["target"] == "Adj Close"
    table = pd.read_csv(pd.io.common.StringIO(_run(root, "info", "--model", str(root / "runs/p"), "--format", "csv").stdout))
    assert list(table.columns) == ["key", "value"]
    assert table.set_index("key").loc["config.model.units", "value"] == "4"


def test_output_helpers_are_generic_over_columns():
    idx = pd.date_range("2024-01-01", periods=2, freq="D", name="time")
    frame = pd.DataFrame({"y": [1234.56789, 1.0], "y_lo": [0.001234567, np.nan], "n": [1, 2]}, index=idx)
    r = output.rounded(frame)
    assert r["y"].tolist() == [1234.57, 1.0] and r["n"].tolist() == [1, 2]
    rows = json.loads(output.to_json(r))
    assert rows[1] == {"time": "2024-01-02", "y": 1.0, "y_lo": None, "n": 2}
    assert output.format_of("x.JSON", None) == "json" and output.format_of("-", None) == "csv"


def _step(k, model, sn, nv):
    return {"step": k, "model_mase": model, "seasonal_naive_mase": sn, "naive_mase": nv,
            "beats_seasonal_naive": model < sn, "beats_naive": model < nv}


def test_verdict_runs_summarise_long_horizons_and_call_equal_numbers_a_tie():
    from forecaster.evaluation.report import BacktestResult

    steps = [_step(k, 0.5 + k / 100, 0.9, 0.6) for k in range(1, 9)]
    steps += [_step(k, 0.70, 0.9, 0.7 + 1e-5) for k in range(9, 11)]  # prints as 0.700 vs 0.700
    steps += [_step(k, 0.95, 0.9, 0.7) for k in range(11, 49)]

    def word(s, name):
        if f"{s['model_mase']:.3f}" == f"{s[f'{name}_mase']:.3f}":
            return "ties with"
        return "beats" if s[f"beats_{name}"] else "loses to"

    lines = _verdict_runs(steps, word, "seasonal naive", "naive")
    assert lines == [
        "steps 1-8: model 0.510..0.580 vs seasonal naive 0.900 -> beats; vs naive 0.600 -> beats",
        "steps 9-10: model 0.700 vs seasonal naive 0.900 -> beats; vs naive 0.700 -> ties with",
        "steps 11-48: model 0.950 vs seasonal naive 0.900 -> loses to; vs naive 0.700 -> loses to",
    ]
    assert BacktestResult.format_verdict.__defaults__ is None  # keyword-only max_lines


def test_tensorboard_without_the_package_is_a_clear_error(monkeypatch, tmp_path):
    import importlib.util as iu

    real = iu.find_spec
    monkeypatch.setattr(iu, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    from forecaster.exceptions import ConfigError
    from forecaster.training import tensorboard_callback

    with pytest.raises(ConfigError, match=r"forecaster\[tensorboard\]"):
        tensorboard_callback(tmp_path / "tb")
    assert not (tmp_path / "tb").exists()


# ---------------------------------------------------------------- calendars
def test_fit_states_the_calendar_and_the_manifest_records_it(fitted):
    root, res = fitted
    assert "Calendar: frequency B, XNYS sessions; holidays of US as inputs" in res.stdout
    assert "trading_calendar: XNYS" in res.stdout  # the automatic choice and why
    manifest = json.loads((root / "runs/p/forecaster.json").read_text())
    assert manifest["config"]["data"]["trading_calendar"] == "XNYS"
    assert manifest["config"]["data"]["holidays"] == ["US"]
    assert "hol_US" in manifest["calendar"]
    info = _run(root, "info", "--model", str(root / "runs/p")).stdout
    assert "XNYS sessions" in info and "00:00:00" not in info


def test_api_predict_follows_the_exchange_and_weekdays_stay_available(fitted):
    from forecaster import Forecaster

    root, _ = fitted
    fc = Forecaster.load(root / "runs/p")
    assert fc.predict().index[0] == pd.Timestamp("2019-01-02")
    weekdays = Forecaster.load(root / "runs/p")
    weekdays.config = weekdays.config.replace(trading_calendar="weekdays")
    assert weekdays.predict().index[0] == pd.Timestamp("2019-01-01")


def test_auto_calendar_choice():
    from forecaster.data.trading import choose

    real = pd.DatetimeIndex(pd.read_csv(BUNDLED_PRICES, usecols=["Date"])["Date"])
    assert choose(real, "B", "auto", prices=True)[0] == "XNYS"
    assert choose(real, "B", "auto", prices=False)[0] == "weekdays"  # not a price file
    every_weekday = pd.bdate_range("2016-01-04", "2018-12-31")
    name, why = choose(every_weekday, "B", "auto", prices=True)
    assert name == "weekdays" and "nearly every weekday" in why
    assert choose(real, "B", "xlon", prices=True) == ("XLON", "given")


def test_calendar_errors_are_clear():
    from forecaster.data.trading import check_holidays, choose
    from forecaster.exceptions import ConfigError

    with pytest.raises(ConfigError, match="exchange code"):
        choose(pd.bdate_range("2024-01-01", periods=10), "B", "NOPE", prices=True)
    with pytest.raises(ConfigError, match="business-day series"):
        choose(pd.date_range("2024-01-01", periods=10, freq="h"), "h", "XNYS", prices=False)
    with pytest.raises(ConfigError, match="ISO 3166"):
        check_holidays(["ZZ"])
    assert check_holidays(["us", "de-by"]) == ("US", "DE-BY")


def test_missing_calendar_packages_degrade_with_a_clear_error(monkeypatch):
    import sys

    from forecaster.data.trading import choose, holiday_features
    from forecaster.exceptions import ConfigError

    monkeypatch.setitem(sys.modules, "exchange_calendars", None)
    monkeypatch.setitem(sys.modules, "holidays", None)
    real = pd.DatetimeIndex(pd.read_csv(BUNDLED_PRICES, usecols=["Date"])["Date"])
    assert choose(real, "B", "auto", prices=True) == ("weekdays", "exchange_calendars is not installed")
    with pytest.raises(ConfigError, match="pip install exchange_calendars"):
        choose(real, "B", "XNYS", prices=True)
    with pytest.raises(ConfigError, match="pip install holidays"):
        holiday_features(real[:3], ["US"])


def test_holiday_features_mark_public_holidays():
    from forecaster.data.calendar import calendar_features

    idx = pd.date_range("2024-12-24", periods=3, freq="D")
    cal = calendar_features(idx, "D", holidays=("GB", "US"))
    assert cal["hol_GB"].tolist() == [0.0, 1.0, 1.0]  # Christmas and Boxing Day
    assert cal["hol_US"].tolist() == [0.0, 1.0, 0.0]
    assert list(calendar_features(idx, "D", cycles=False, holidays=("US",)).columns) == ["hol_US"]


def test_older_runs_keep_weekdays_and_the_old_flag_still_works():
    from forecaster.config import ForecastConfig

    stored = ForecastConfig().to_dict()
    del stored["data"]["trading_calendar"]
    assert ForecastConfig.from_dict(stored, stored=True).data.trading_calendar == "weekdays"
    res = CliRunner().invoke(cli, ["config", "show", "--no-calendar", "--calendar", "XNYS", "--holidays", "us,gb"])
    assert res.exit_code == 0, res.output
    assert "calendar = false" in res.stdout and 'trading_calendar = "XNYS"' in res.stdout
    assert 'holidays = ["US", "GB"]' in res.stdout


# ---------------------------------------------------------------- plots
def _inside(fig, artist) -> bool:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    box, page = artist.get_window_extent(), fig.bbox
    return box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1 and box.y1 <= page.y1 + 1


def test_long_titles_wrap_inside_the_figure_and_epoch_ticks_are_integers():
    from forecaster.plot import plot_forecast, plot_history

    idx = pd.date_range("2018-01-01", periods=300, freq="D")
    hist = pd.Series(np.sin(np.arange(300) / 9.0), index=idx, name="y")
    fc = pd.Series([0.1, 0.2, 0.3], index=pd.date_range("2018-10-28", periods=3, freq="D"))
    title = "a_rather_long_data_file_name_for_a_report.csv: target - 2xbi-lstm (64 units), " * 2
    fig = plot_forecast(hist, fc, title=title)
    assert fig._suptitle.get_text().count("\n") >= 1 and _inside(fig, fig._suptitle)
    fig = plot_history({"loss": [3.0, 2.0, 1.5], "val_loss": [3.1, 2.5, 2.0]}, title=title)
    ax = fig.axes[0]
    assert _inside(fig, ax.title)
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_short_forecast_gets_a_zoom_panel_and_axes_name_the_year():
    from forecaster.plot import plot_forecast

    idx = pd.bdate_range("2017-06-01", "2018-12-31")
    hist = pd.Series(np.linspace(100, 120, len(idx)), index=idx, name="Close")
    fc = pd.Series([121.0, 122.0], index=pd.DatetimeIndex(["2019-01-02", "2019-01-03"]))
    fig = plot_forecast(hist, fc, ylabel="Close (USD)")
    overview, zoom = fig.axes
    assert "2017" in overview.get_xlabel() and "2019" in overview.get_xlabel()
    assert "Dec 2018 - Jan 2019" in zoom.get_xlabel()
    assert overview.get_ylabel() == "Close (USD)"
    # A forecast as long as a fair share of the history needs no zoom.
    assert len(plot_forecast(hist.iloc[-10:], fc).axes) == 1


def test_horizon_in_time_units_and_titles_without_midnight():
    from forecaster.plot import describe_horizon, time_label

    assert describe_horizon(48, "h") == "48 hours"
    assert describe_horizon(5, "B") == "5 business days"
    assert describe_horizon(5, "B", "XNYS") == "5 XNYS sessions"
    assert describe_horizon(12, "MS") == "12 months"
    assert describe_horizon(4, "30min") == "4 steps of 30 minutes (2 hours)"
    assert time_label(pd.Timestamp("2018-12-21")) == "2018-12-21"


def test_plot_command_title_and_ylabel(fitted):
    root, _ = fitted
    out = root / "custom.png"
    res = _run(root, "plot", "--model", str(root / "runs/p"), "--output", str(out), "--title", "My report figure",
               "--ylabel", "Close (USD)")
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = _run(root, "plot", "--backtest", str(root), "--title", "x")
    assert_one_line_error(res, 2)


# ---------------------------------------------------------------- tune
def test_tune_lookback_choices_and_missing_optuna(monkeypatch, tmp_path):
    import sys

    from forecaster.tune import lookback_choices, tune

    assert lookback_choices(24, 4, 1000) == [0, 24, 48, 72, 96]
    assert lookback_choices(5, 10, 60) == [0, 10, 15]
    monkeypatch.setitem(sys.modules, "optuna", None)
    from forecaster.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"forecaster\[tune\]"):
        tune(None)
    csv = write_price_csv(tmp_path / "p.csv", n=120)
    res = CliRunner().invoke(cli, ["--runs-dir", str(tmp_path / "runs"), "tune", str(csv), "--trials", "1"])
    assert "pip install 'forecaster[tune]'" in assert_one_line_error(res)
    assert not (tmp_path / "runs").exists()


TUNE_TINY = ["--epochs", "1", "--ensemble", "1", "--horizon", "4", "--steps-per-epoch", "2",
             "--min-steps-per-epoch", "1", "--batch-size", "32", "--target", "temp"]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("optuna") is None, reason="optuna not installed")
def test_tune_end_to_end_resumes_and_writes_a_config_fit_accepts(tmp_path):
    from helpers import write_sensor_csv

    csv = write_sensor_csv(tmp_path / "sensor.csv", n=300)
    base = ["--runs-dir", str(tmp_path / "runs"), "tune", str(csv), *TUNE_TINY, "--name", "t", "--folds", "2"]
    res = CliRunner().invoke(cli, [*base, "--trials", "2"])
    assert res.exit_code == 0, res.output
    assert "trial 0 (1/2" in res.stderr and "Test region (" in res.stdout and "seasonal_naive" in res.stdout
    res = CliRunner().invoke(cli, [*base, "--trials", "1"])  # the same name continues the study
    assert res.exit_code == 0, res.output
    assert "Continuing a search" in res.stderr
    trials = pd.read_csv(tmp_path / "runs/t/trials.csv")
    assert (trials["state"] == "COMPLETE").sum() == 3
    doc = json.loads((tmp_path / "runs/t/tune.json").read_text())
    assert doc["tuning_rows"] == 240 and doc["test"]["origins"] > 0
    # Other settings under the same name: refused, not mixed into the study.
    res = CliRunner().invoke(cli, [*base[:-4], "--horizon", "6", "--name", "t", "--folds", "2", "--trials", "1"])
    assert "other data or settings" in assert_one_line_error(res)
    res = CliRunner().invoke(cli, ["--runs-dir", str(tmp_path / "runs"), "fit", str(csv),
                                   "--config", str(tmp_path / "runs/t/best.toml"), "--name", "best"])
    assert res.exit_code == 0, res.output
    best = json.loads((tmp_path / "runs/best/forecaster.json").read_text())["config"]
    assert best["model"]["units"] == doc["best_params"]["units"]
    assert best["model"]["cell"] == doc["best_params"]["cell"]


# ---------------------------------------------------------------- the container's mounted folder
def test_unwritable_runs_directory_is_one_clear_error_before_any_work(tmp_path):
    """What a root-owned `docker run -v` mount does to the image's uid 1000, reproduced without docker."""
    import os

    runs = tmp_path / "runs"
    runs.mkdir()
    csv = write_price_csv(tmp_path / "p.csv", n=120)
    as_root = os.getuid() == 0
    if not as_root:
        runs.chmod(0o555)
    try:
        if as_root:  # root writes anywhere: act as another user (as the image's uid does) on a folder root owns
            os.seteuid(65534)
        res = CliRunner().invoke(cli, ["--runs-dir", str(runs), "fit", str(csv)])
    finally:
        if as_root:
            os.seteuid(0)
        runs.chmod(0o755)
    message = assert_one_line_error(res)
    assert message.startswith("Error: Permission denied: cannot write to")
    assert '--user "$(id -u):$(id -g)"' in message and "mkdir -p runs" in message
    assert list(runs.iterdir()) == []


@pytest.mark.slow
def test_backtest_format_json_on_stdout_and_the_mape_note(tmp_path):
    from helpers import write_sensor_csv

    csv = write_sensor_csv(tmp_path / "sensor.csv", n=300)  # 'load' swings around zero
    res = CliRunner().invoke(cli, ["--runs-dir", str(tmp_path / "runs"), "backtest", str(csv), "--target", "load",
                                   *TUNE_TINY[:-2], "--folds", "2", "--refit", "never", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["forecaster"] for r in doc["metrics"]][:2] == ["model", "naive"]
    assert "crosses zero" in doc["mape_note"] and "crosses zero" in res.stderr
    assert len(doc["verdict"]["per_step"]) == 4 and Path(doc["saved"]).is_dir()
    assert "MASE per horizon step" in res.stderr
    res = CliRunner().invoke(cli, ["--runs-dir", str(tmp_path / "runs"), "backtest", str(csv), "--target", "load",
                                   *TUNE_TINY[:-2], "--folds", "2", "--refit", "never", "--format", "csv"])
    table = pd.read_csv(pd.io.common.StringIO(res.stdout), index_col=0)
    assert "model" in table.index and "MASE" in table.columns
