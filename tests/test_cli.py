"""The `forecast` CLI end to end through click's CliRunner: exit codes, messages, artifacts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import keras
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import assert_one_line_error, write_price_csv, write_sensor_csv

from forecaster.cli import cli, with_flags
from forecaster.config import ForecastConfig, cli_fields
from forecaster.exceptions import ConfigError

TINY = ["--units", "4", "--epochs", "1", "--lookback", "16", "--horizon", "4", "--batch-size", "32", "--ensemble", "1", "--min-steps-per-epoch", "1"]


@pytest.fixture
def runner():
    return CliRunner()


def test_fit_predict_info_plot(runner):
    with runner.isolated_filesystem():
        write_price_csv(Path("prices.csv"), n=200)
        res = runner.invoke(cli, ["fit", "prices.csv", "--cell", "lstm", "--layers", "2", "--bidirectional", *TINY])
        assert res.exit_code == 0, res.output
        assert f"Device: {keras.backend.backend()} backend on CPU" in res.stderr  # the backend this process imported
        assert "target 'Adj Close'" in res.stderr
        assert "MAE" in res.stdout and "naive" in res.stdout
        latest = Path("runs/latest")
        assert latest.exists()
        run = latest.resolve()
        assert {p.name for p in run.iterdir()} == {"model.keras", "forecaster.json", "history.csv", "predict.npz"}
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


# ---------------------------------------------------------------- options generated from the config
def _options(command) -> dict:
    return {p.name: p for p in command.params if isinstance(p, click.Option)}


@pytest.mark.parametrize("name", ["fit", "backtest", "config show"])
def test_every_config_field_has_a_flag_with_help_and_the_config_default(name):
    command = cli.commands[name] if " " not in name else cli.commands["config"].commands["show"]
    options = _options(command)
    for section, key, f in cli_fields():
        opt = options[key]
        expected = f.metadata.get("flag") or "--" + key.replace("_", "-")
        if name == "backtest" and key == "window_stride":
            expected = "--train-stride"  # backtest's --stride is the step between forecast origins
        assert expected in opt.opts, (key, opt.opts)
        assert opt.help == f.metadata["help"]
        assert opt.help
        default = getattr(getattr(ForecastConfig(), section), "type" if key in ("model", "output") else key)
        if opt.is_bool_flag and not isinstance(default, bool):
            assert opt.default is None and opt.show_default == str(default)  # tri-state: jit_compile 'auto'
        else:
            assert opt.default == default, key
        if f.metadata.get("choices"):
            assert set(f.metadata["choices"]) <= set(opt.type.choices)


def test_help_shows_config_defaults_and_ranges(runner):
    res = runner.invoke(cli, ["fit", "--help"])
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    assert "--lookback INTEGER RANGE Input steps per window; 0: automatic (three seasons, capped by the series length). [default: (automatic); x>=0]" in text
    assert "--horizon INTEGER RANGE Steps forecast at once. [default: 5; x>=1]" in text
    assert "--bidirectional / --no-bidirectional" in text and "--jit-compile / --no-jit-compile" in text
    assert "--config FILE" in text and "--set SECTION.KEY=VALUE" in text


def test_range_metadata_matches_the_config_validation():
    """The CLI refuses exactly what the config refuses at a range's edge (one source, checked)."""
    for section, key, f in cli_fields():
        meta = f.metadata
        if "min" not in meta:
            continue
        is_int = isinstance(meta["min"], int)
        step = 1 if is_int else 1e-9
        lo = meta["min"] if not meta.get("min_open") else meta["min"] + step
        # A setting of one model family is checked with that family.
        family = {"scheduled_sampling": {"model": "seq2seq"}}.get(key, {})
        ForecastConfig(**{key: lo}, **family)
        with pytest.raises(ConfigError):
            ForecastConfig(**{key: lo - step}, **family)
        if "max" in meta:
            hi = meta["max"] - step if meta.get("max_open") else meta["max"]
            ForecastConfig(**{key: hi}, **family)
            with pytest.raises(ConfigError):
                ForecastConfig(**{key: hi + step}, **family)


# ------------------------------------------------------------------------------- config layering
def _show(runner, *args) -> ForecastConfig:
    res = runner.invoke(cli, ["config", "show", *args])
    assert res.exit_code == 0, res.output
    Path("shown.toml").write_text(res.stdout)
    return ForecastConfig.from_file("shown.toml")


def test_config_file_layering_defaults_file_set_flags(runner):
    with runner.isolated_filesystem():
        assert _show(runner) == ForecastConfig()
        Path("cfg.toml").write_text(
            '[model]\nunits = 8\ncell = "lstm"\nbidirectional = true\n[window]\nlookback = 12\n'
            '[runtime]\njit_compile = true\n'
        )
        cfg = _show(runner, "--config", "cfg.toml")
        assert (cfg.model.units, cfg.model.cell, cfg.window.lookback, cfg.window.horizon) == (8, "lstm", 12, 5)
        assert cfg.model.bidirectional is True and cfg.runtime.jit_compile is True  # untyped flags keep the file's
        cfg = _show(runner, "--config", "cfg.toml", "--no-bidirectional", "--no-jit-compile")
        assert cfg.model.bidirectional is False and cfg.runtime.jit_compile is False
        # A flag left out (its click default is 32) does not override the file; a typed one wins,
        # even when it types the default.
        assert _show(runner, "--config", "cfg.toml", "--horizon", "3").model.units == 8
        assert _show(runner, "--config", "cfg.toml", "--units", "32").model.units == 32
        # --set beats the file; a flag beats --set.
        assert _show(runner, "--config", "cfg.toml", "--set", "model.units=16").model.units == 16
        cfg = _show(runner, "--config", "cfg.toml", "--set", "units=16", "--set", "train.seed=7", "--units", "4")
        assert (cfg.model.units, cfg.train.seed) == (4, 7)
        cfg = _show(runner, "--config", "cfg.toml", "--set", 'data.features=["a", "b"]', "--no-bidirectional")
        assert cfg.data.features == ("a", "b") and cfg.model.bidirectional is False


def test_config_show_round_trip(runner):
    with runner.isolated_filesystem():
        args = ["--cell", "RNN", "--bidirectional", "--features", "load,x", "--target", "temp", "--units", "9",
                "--jit-compile", "--learning-rate", "3e-4", "--stride", "2", "--steps-per-epoch", "5",
                "--na-values", "-200", "--set", "train.clipnorm=0"]
        first = runner.invoke(cli, ["config", "show", *args])
        assert first.exit_code == 0, first.output
        expected = ForecastConfig(cell="simple_rnn", bidirectional=True, features=("load", "x"), target="temp", units=9,
                                  jit_compile=True, learning_rate=3e-4, window_stride=2, steps_per_epoch=5,
                                  na_values=("-200",), clipnorm=0.0)
        Path("cfg.toml").write_text(first.stdout)
        assert ForecastConfig.from_file("cfg.toml") == expected
        again = runner.invoke(cli, ["config", "show", "--config", "cfg.toml"])
        assert again.exit_code == 0 and again.stdout == first.stdout
        Path("cfg.json").write_text(json.dumps(expected.to_dict()))
        assert runner.invoke(cli, ["config", "show", "--config", "cfg.json"]).stdout == first.stdout


def test_fit_reads_config_file_and_records_it(runner):
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=200)
        Path("cfg.toml").write_text(
            '[data]\ntarget = "temp"\n[model]\nunits = 3\n[window]\nlookback = 16\nhorizon = 4\n'
            '[train]\nepochs = 1\nbatch_size = 32\nensemble = 1\nmin_steps_per_epoch = 1\n[backtest]\nfolds = 2\n'
        )
        res = runner.invoke(cli, ["fit", "s.csv", "--config", "cfg.toml", "--set", "window.horizon=3", "--name", "r"])
        assert res.exit_code == 0, res.output
        config = json.loads(Path("runs/r/forecaster.json").read_text())["config"]
        assert (config["model"]["units"], config["window"]["lookback"], config["window"]["horizon"]) == (3, 16, 3)


@pytest.mark.parametrize(
    "content,args,needle,code",
    [
        # The file is input the user points at, like the CSV: its content is a data error (exit 1),
        # named with the file; what click rejects on the command line is a usage error (exit 2).
        ("[model]\nunitz = 4\n", [], "cfg.toml: Unknown key(s) in config section [model]: unitz", 1),
        ("[modle]\nunits = 4\n", [], "cfg.toml: Unknown config section(s): modle", 1),
        ("[model]\nunits = 0\n", [], "`units` (--units) must be a positive integer. Received: units=0", 1),
        ("[model]\nunits = 4.5\n", [], "`units` (--units) must be an integer", 1),
        ("[model\n", [], "is not valid TOML", 1),
        ("", ["--config", "nope.toml"], "Invalid value for '--config'", 2),
        ("", ["--set", "model.unitz=3"], "Invalid value for '--set': Unknown config key 'model.unitz'", 2),
        ("", ["--set", "units"], "Invalid value for '--set': --set expects section.key=value", 2),
        ("", ["--set", "model.units=0"], "Invalid value for '--set': `units` must be a positive integer", 2),
        ("", ["--units", "0"], "Invalid value for '--units'", 2),
    ],
)
def test_config_errors_are_one_line(runner, content, args, needle, code):
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=200)
        Path("cfg.toml").write_text(content)
        cfg_args = [] if "--config" in args else ["--config", "cfg.toml"]
        for command in (["config", "show"], ["fit", "s.csv", "--target", "temp"]):
            line = assert_one_line_error(runner.invoke(cli, [*command, *cfg_args, *args]), code=code)
            assert needle in line, line
        assert not Path("runs").exists()


def test_backtest_assignment_outside_backtest_is_a_usage_error(runner):
    with runner.isolated_filesystem():
        line = assert_one_line_error(runner.invoke(cli, ["fit", "s.csv", "--set", "backtest.folds=3"]), code=2)
        assert "Invalid value for '--set': 'backtest.folds': backtest keys apply to 'forecast backtest' only" in line


def test_library_argument_names_are_shown_with_the_flag(runner):
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=200)
        res = runner.invoke(cli, ["fit", "s.csv", "--features", "load", "--future-features", "load"])
        line = assert_one_line_error(res)
        assert "`features` (--features), `future_features` (--future-features)" in line
    assert with_flags("`window_stride` bad", {"window_stride": "--train-stride"}) == "`window_stride` (--train-stride) bad"
    assert with_flags("`stride` bad; raise --stride", {"stride": "--stride"}) == "`stride` bad; raise --stride"
    assert with_flags("`other` bad", {}) == "`other` bad"


def test_backtest_table_and_flags_layer_like_the_model_config(runner):
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=300)
        base = ["backtest", "s.csv", "--target", "temp", *TINY]
        Path("cfg.toml").write_text("[backtest]\nfolds = 500\n")
        # The plan fails before any training, naming the folds it was given: the file's, then the typed flag's.
        assert "folds=500 needs" in assert_one_line_error(runner.invoke(cli, [*base, "--config", "cfg.toml"]))
        line = assert_one_line_error(runner.invoke(cli, [*base, "--config", "cfg.toml", "--set", "backtest.folds=400"]))
        assert "folds=400 needs" in line
        line = assert_one_line_error(runner.invoke(cli, [*base, "--config", "cfg.toml", "--folds", "300"]))
        assert "folds=300 needs" in line
        Path("cfg.toml").write_text("[backtest]\ntrain_size = 100\n")
        line = assert_one_line_error(runner.invoke(cli, [*base, "--config", "cfg.toml"]))
        assert "`train_size` only applies to a fixed training window" in line
        Path("cfg.toml").write_text("[backtest]\nfoldz = 2\n")
        line = assert_one_line_error(runner.invoke(cli, [*base, "--config", "cfg.toml"]))
        assert "cfg.toml: Unknown key(s) in config section [backtest]: foldz" in line
        show = runner.invoke(cli, ["config", "show", "--set", "backtest.start=2024-01-05", "--set", "backtest.folds=2"])
        assert show.exit_code == 0, show.output
        assert show.stdout.endswith('[backtest]\nstart = "2024-01-05"\nfolds = 2\n')
        assert not Path("runs").exists()


def test_bad_run_name_is_a_one_line_error(runner):
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=200)
        for name in ("../x", "latest", ".hidden"):
            line = assert_one_line_error(runner.invoke(cli, ["fit", "s.csv", "--target", "temp", "--name", name]))
            assert "`name` (--name) must be a plain directory name" in line


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "forecaster.cli", "config", "show", "--units", "5"],
                         check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "units = 5" in out.stdout
