"""The `forecast` CLI end to end through click's CliRunner: exit codes, messages, artifacts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import assert_one_line_error, write_price_csv, write_sensor_csv

from forecaster.cli import cli

TINY = ["--units", "4", "--epochs", "1", "--lookback", "16", "--horizon", "4", "--batch-size", "32"]


@pytest.fixture
def runner():
    return CliRunner()


def test_fit_predict_info_plot(runner):
    with runner.isolated_filesystem():
        write_price_csv(Path("prices.csv"), n=200)
        res = runner.invoke(cli, ["fit", "prices.csv", "--cell", "lstm", "--layers", "2", "--bidirectional", *TINY])
        assert res.exit_code == 0, res.output
        assert "Device: tensorflow backend on CPU" in res.stderr
        assert "target 'Adj Close'" in res.stderr
        assert "MAE" in res.stdout and "naive" in res.stdout
        latest = Path("runs/latest")
        assert latest.exists()
        run = latest.resolve()
        assert {p.name for p in run.iterdir()} == {"model.keras", "forecaster.json", "history.csv"}
        assert json.loads((run / "forecaster.json").read_text())["config"]["model"]["bidirectional"] is True

        res = runner.invoke(cli, ["predict"])
        assert res.exit_code == 0, res.output
        out = pd.read_csv(run / "forecast.csv", index_col=0, parse_dates=True)
        assert len(out) == 4 and (out.index.dayofweek < 5).all()
        assert out.index[0] > pd.Timestamp(pd.read_csv("prices.csv")["Date"].iloc[-1])

        res = runner.invoke(cli, ["info"])
        assert res.exit_code == 0 and "Target:     Adj Close" in res.output
        assert "bidirectional lstm" in res.output

        res = runner.invoke(cli, ["plot", "--output", "f.png"])
        assert res.exit_code == 0, res.output
        assert Path("f.png").read_bytes()[:4] == b"\x89PNG"


def test_fit_sensor_with_features_and_named_run(runner):
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=200)
        res = runner.invoke(cli, ["fit", "s.csv", "--target", "temp", "--features", "load", "--cell", "rnn",
                                  "--name", "mine", *TINY])
        assert res.exit_code == 0, res.output
        assert Path("runs/mine/model.keras").is_file()
        res = runner.invoke(cli, ["predict", "--model", "runs/mine", "--output", "p.csv"])
        assert res.exit_code == 0, res.output
        assert pd.read_csv("p.csv").shape == (4, 2)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["fit", "missing.csv"], "File not found: missing.csv"),
        (["fit", "."], "is a directory"),
        (["fit", "s.csv"], "several numeric columns (temp, load)"),
        (["fit", "s.csv", "--target", "nope"], "Target column 'nope' not found"),
        (["fit", "s.csv", "--target", "temp", "--lookback", "500"], "Series has 200 rows; lookback=500"),
        (["predict"], "runs/latest does not exist"),
        (["info", "--model", "s.csv"], "is not a run directory"),
    ],
)
def test_bad_input_one_line_error_no_artifact(runner, args, needle):
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=200)
        line = assert_one_line_error(runner.invoke(cli, args))
        assert needle in line
        assert not Path("runs").exists() or not any(Path("runs").iterdir())


@pytest.mark.parametrize(
    "args,needle",
    [
        (["fit", "s.csv", "--horizon", "0"], "Invalid value for '--horizon'"),
        (["fit", "s.csv", "--cell", "transformer"], "Invalid value for '--cell'"),
        (["nonsense"], "No such command"),
    ],
)
def test_usage_errors_exit_2_with_one_line(runner, args, needle):
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=50)
        assert needle in assert_one_line_error(runner.invoke(cli, args), code=2)


def test_verbose_shows_traceback(runner):
    with runner.isolated_filesystem():
        res = runner.invoke(cli, ["-v", "fit", "missing.csv"])
        assert res.exit_code == 1
        assert "Traceback" in res.stderr and "File not found" in res.stderr


def test_help_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from forecaster.cli import cli\n"
        "r = CliRunner().invoke(cli, ['--help'])\n"
        "assert r.exit_code == 0 and 'fit' in r.output\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'pandas', 'matplotlib') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
