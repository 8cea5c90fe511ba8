"""Fault injection: hostile paths, special files, tampered runs, file-system faults, absurd sizes,
silent misreads, interrupted work and early rejection.

One section per family of failures. The default tier runs in-process checks on real files
(FIFOs, devices, symbolic links, real run directories, a real tiny fit); the slow tier
starts real ``forecast`` processes: a file-size limit (``RLIMIT_FSIZE``, so writes fail with
EFBIG as on a full disk), timing of early rejection, and resumes after a failed save.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import assert_one_line_error, write_sensor_csv

from forecaster import data
from forecaster.artifacts import read_manifest, write_run_dir
from forecaster.cli import cli
from forecaster.exceptions import ArtifactError, DataError
from forecaster.safeio import (
    check_writable_dir,
    read_regular_file,
    safe_component,
    short_list,
)
from forecaster.store import RunStore, checkpoint_problem

FIT = ["--target", "temp", "--units", "2", "--lookback", "12", "--horizon", "3", "--epochs", "1", "--ensemble", "1",
       "--min-steps-per-epoch", "1"]


@pytest.fixture
def runner():
    return CliRunner()


def _fit(runner, tmp_path, *args, csv="s.csv", env=None):
    return runner.invoke(cli, ["--runs-dir", str(tmp_path / "runs"), "fit", str(tmp_path / csv), *FIT, *args],
                         env=env)


# ------------------------------------------------------------------------------------------------
# 1. Run names and paths
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "a/b", ".", "..", "", ".hidden", "latest", "a\\b",
                                  "x\x00y", "tab\tname", "n" * 300])
def test_a_run_name_is_one_safe_component(name, runner, tmp_path):
    with pytest.raises(ArtifactError, match="must be a plain directory name"):
        RunStore(tmp_path / "runs").path(name)
    write_sensor_csv(tmp_path / "s.csv", n=120)
    if "\x00" in name or not name:
        return  # not passable as a command-line argument
    res = _fit(runner, tmp_path, "--name", name)
    assert "must be a plain directory name" in assert_one_line_error(res)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]  # nothing written anywhere


def test_safe_component_accepts_plain_names_and_lists_stay_short(tmp_path):
    assert safe_component("prices-gru-20240501") == "prices-gru-20240501"
    assert short_list(range(12), 3) == "0, 1, 2 and 9 more"
    (tmp_path / "a.csv").write_bytes(b"x,y\n1,2\n")
    assert read_regular_file(tmp_path / "a.csv", limit="csv_bytes") == b"x,y\n1,2\n"


def test_latest_pointing_outside_or_in_a_loop_is_a_clear_error(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "latest").symlink_to(tmp_path)
    with pytest.raises(ArtifactError, match="points outside"):
        RunStore(runs).resolve()
    (runs / "latest").unlink()
    (runs / "latest").symlink_to("latest")
    with pytest.raises(ArtifactError, match="symbolic link loop"):
        RunStore(runs).resolve()
    (runs / "latest").unlink()
    (runs / "latest").write_text("../../etc\n")
    with pytest.raises(ArtifactError, match="must name one run inside"):
        RunStore(runs).resolve()


# ------------------------------------------------------------------------------------------------
# 2. Special and huge inputs
# ------------------------------------------------------------------------------------------------
def test_special_files_are_refused_without_reading(tmp_path):
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    (tmp_path / "loop.csv").symlink_to("loop.csv")
    cases = {tmp_path / "fifo.csv": "is a FIFO (named pipe), not a regular file",
             Path("/dev/zero"): "is a character device, not a regular file",
             Path("/dev/urandom"): "is a character device, not a regular file",
             tmp_path / "zero.csv": "is a character device, not a regular file",
             tmp_path / "loop.csv": "symbolic link loop",
             tmp_path: "is a directory, not a CSV file"}
    for path, needle in cases.items():
        started = time.monotonic()
        with pytest.raises(DataError, match=re.escape(needle)):
            data.read_csv(path)
        assert time.monotonic() - started < 2


def test_size_line_and_column_limits_name_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("FORECAST_MAX_CSV_MB", "0.001")
    write_sensor_csv(tmp_path / "s.csv", n=120)
    with pytest.raises(DataError, match=r"above the limit of 0.001 MB \(raise it with the environment variable "
                                        r"FORECAST_MAX_CSV_MB\)"):
        data.read_csv(tmp_path / "s.csv")
    monkeypatch.delenv("FORECAST_MAX_CSV_MB")
    (tmp_path / "line.csv").write_text("time,temp\n" + "9" * 3_000_000 + "\n")
    started = time.monotonic()
    with pytest.raises(DataError, match="Line 2 of .* is 2930 KB long, above the line limit of 1024 KB"):
        data.read_csv(tmp_path / "line.csv")
    (tmp_path / "fields.csv").write_text("a," * 500_000 + "a\n1\n")
    with pytest.raises(DataError, match="has 500001 fields, above the column limit of 10000"):
        data.read_csv(tmp_path / "fields.csv")
    assert time.monotonic() - started < 5
    monkeypatch.setenv("FORECAST_MAX_CSV_MB", "lots")
    with pytest.raises(Exception, match="FORECAST_MAX_CSV_MB must be a positive number"):
        data.read_csv(tmp_path / "s.csv")


def test_error_lines_stay_short_with_many_columns(tmp_path):
    (tmp_path / "wide.csv").write_text(",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join("1" * 5000) + "\n")
    with pytest.raises(DataError) as err:
        data.read_csv(tmp_path / "wide.csv")
    assert "and 4992 more" in str(err.value) and len(str(err.value)) < 300


# ------------------------------------------------------------------------------------------------
# 3. Untrusted run directories (one real tiny fit, reused)
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def good_run(tiny_run):
    return tiny_run  # a real tiny fit, shared with test_safety.py (conftest.py); tests change copies only


def _tampered(good_run, tmp_path, edit=None, text=None) -> Path:
    run = tmp_path / "runs" / "t"
    shutil.copytree(good_run, run)
    if text is not None:
        (run / "forecaster.json").write_text(text)
    else:
        m = json.loads((run / "forecaster.json").read_text())
        edit(m)
        (run / "forecaster.json").write_text(json.dumps(m))
    return run


@pytest.mark.parametrize("edit, needle", [
    (lambda m: m["data"].update(rows="many"), "`data.rows` must be a non-negative integer. Received: 'many'"),
    (lambda m: m["data"].update(start=[1]), "`data.start` must be an ISO 8601 timestamp"),
    (lambda m: m["data"].update(fingerprint=5), "`data.fingerprint` must be a sha256 hex digest"),
    (lambda m: m["data"].update(source={"a": 1}), "`data.source` must be a file path or null"),
    (lambda m: m["metrics"].update(val_mae="x"), "`metrics.val_mae` must be a number. Received: 'x'"),
    (lambda m: m["metrics"].update(best_baseline=[1]), "`metrics.best_baseline` must be a number, a short string"),
    (lambda m: m["metrics"].update(best_baseline="oracle"), "`metrics.oracle_val_mae` must be present"),
    (lambda m: m["metrics"].update(beats_best_baseline="yes"), "`metrics.beats_best_baseline` must be true or false"),
    (lambda m: m["metrics"].pop("val_windows"), "`metrics.val_windows` must be present"),
    (lambda m: m.update(seed=2**40), "`seed` must be an integer in [0, 2**32)"),
    (lambda m: m["versions"].update(keras={"x": 1}), "`versions.keras` must be a version string"),
])
def test_manifest_values_are_checked_against_the_schema(good_run, tmp_path, edit, needle):
    run = _tampered(good_run, tmp_path, edit)
    with pytest.raises(ArtifactError) as err:
        read_manifest(run)
    assert needle in str(err.value)


def test_deep_huge_or_special_manifests_are_refused(good_run, tmp_path, monkeypatch):
    run = _tampered(good_run, tmp_path, text="[" * 100_000 + "]" * 100_000)
    with pytest.raises(ArtifactError, match="nested too deeply"):
        read_manifest(run)
    nested: list = [1]
    for _ in range(20):
        nested = [nested]
    (run / "forecaster.json").write_text(json.dumps({"a": nested}))
    monkeypatch.setenv("FORECAST_MAX_JSON_DEPTH", "10")
    with pytest.raises(ArtifactError, match="nested deeper than the limit of 10"):
        read_manifest(run)
    (run / "forecaster.json").unlink()
    os.mkfifo(run / "forecaster.json")
    with pytest.raises(ArtifactError, match="is a FIFO"):
        read_manifest(run)


def test_damaged_history_and_other_architecture_are_refused(good_run, tmp_path):
    import keras

    from forecaster.forecaster import Forecaster
    from forecaster.models import build_model

    run = tmp_path / "h"
    shutil.copytree(good_run, run)
    (run / "history.csv").write_text('epoch,loss\n1,"2\n3,4,5,6\n')
    with pytest.raises(ArtifactError, match="history.csv is damaged"):
        Forecaster.load(run)
    (run / "history.csv").unlink()
    os.symlink("/dev/zero", run / "history.csv")
    with pytest.raises(ArtifactError, match="character device"):
        Forecaster.load(run)
    (run / "history.csv").unlink()
    fc = Forecaster.load(run)  # a run without history still loads
    assert fc.history_ == {}
    # Same input and output shapes, another cell: the manifest says GRU.
    other = build_model(fc.config.replace(cell="lstm"), fc.io_)
    assert other.input_shape == fc.model_.input_shape and other.output_shape == fc.model_.output_shape
    (run / "model.keras").unlink()
    other.save(run / "model.keras")
    with pytest.raises(ArtifactError, match="does not match its manifest: layer .* is LSTM"):
        Forecaster.load(run)
    assert isinstance(keras.saving.load_model(run / "model.keras", safe_mode=True), keras.Model)


def test_recorded_data_source_is_only_a_hint(good_run, tmp_path, runner):
    for source in ("/etc/passwd", "/dev/zero", str(tmp_path)):
        run = _tampered(good_run, tmp_path / source.replace("/", "_"), lambda m, s=source: m["data"].update(source=s))
        res = runner.invoke(cli, ["predict", "--model", str(run)])
        error = assert_one_line_error(res)
        assert "not a readable CSV file; it is not opened. Pass --data" in error, error
        assert "root:" not in res.output


# ------------------------------------------------------------------------------------------------
# 4. File-system faults (the disk-full cases are in the slow tier)
# ------------------------------------------------------------------------------------------------
def test_unusable_runs_locations_fail_before_training(runner, tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=120)
    (tmp_path / "plain").write_text("x")
    cases = {str(tmp_path / "plain" / "runs"): "cannot be created: ",
             str(tmp_path / "plain"): "is a file, not a directory",
             "/dev/null": "is a character device, not a directory",
             "/proc/runs": "is not writable"}
    for runs_dir, needle in cases.items():
        started = time.monotonic()
        res = runner.invoke(cli, ["--runs-dir", runs_dir, "fit", str(tmp_path / "s.csv"), *FIT])
        error = assert_one_line_error(res)
        assert needle in error and runs_dir in error and "--runs-dir" in error, error
        assert time.monotonic() - started < 5  # refused before any training


def test_unwritable_output_is_refused_before_predicting(good_run, runner, tmp_path):
    (tmp_path / "plain").write_text("x")
    for out, needle in {"/proc/forecast.csv": "is not writable", str(tmp_path / "plain" / "f.csv"): "is a file"}.items():
        res = runner.invoke(cli, ["predict", "--model", str(good_run), "--output", out])
        assert needle in assert_one_line_error(res) and "Pass --output with a path in a writable folder" in res.stderr
    res = runner.invoke(cli, ["predict", "--model", str(good_run), "--output", str(tmp_path)])
    assert "is a directory" in assert_one_line_error(res, code=2)  # click's own usage check


def test_run_directories_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        run = write_run_dir(tmp_path / "r", lambda tmp: (tmp / "f").write_text("x"))
    finally:
        os.umask(old)
    assert run.stat().st_mode & 0o777 == 0o755


def test_a_failed_write_is_an_artifact_error_and_leaves_nothing(tmp_path):
    def write(tmp):
        (tmp / "part").write_text("x")
        raise OSError(28, "No space left on device")

    with pytest.raises(ArtifactError, match=r"Cannot write the run .*r: No space left on device. Free disk space"):
        write_run_dir(tmp_path / "r", write)
    assert list(tmp_path.iterdir()) == []


def test_check_writable_dir_creates_a_writable_directory(tmp_path):
    assert check_writable_dir(tmp_path / "a" / "b").is_dir()
    assert list((tmp_path / "a" / "b").iterdir()) == []


# ------------------------------------------------------------------------------------------------
# 5. Absurd sizes and values, 8. early rejection (usage errors, exit 2)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag, value, needle", [
    ("--batch-size", "1000000000", "1000000000 is not in the range 1<=x<=1048576"),
    ("--seed", str(2**32), "is not in the range 0<=x<=4294967295"),
    ("--learning-rate", "nan", "'nan' is not a finite number"),
    ("--clipnorm", "inf", "'inf' is not a finite number"),
    ("--val-fraction", "-inf", "'-inf' is not a finite number"),
])
def test_absurd_option_values_are_usage_errors(runner, tmp_path, flag, value, needle):
    write_sensor_csv(tmp_path / "s.csv", n=120)
    res = _fit(runner, tmp_path, flag, value)
    assert needle in assert_one_line_error(res, code=2)


def test_memory_estimate_refuses_what_cannot_fit(runner, tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=120)
    res = _fit(runner, tmp_path, "--units", "200000", "--layers", "4")
    error = assert_one_line_error(res)
    assert "GB to train" in error and "Reduce --units, --layers or --batch-size" in error
    assert not (tmp_path / "runs").exists()


def test_extreme_outlier_is_reported(tmp_path, caplog):
    f = pd.read_csv(write_sensor_csv(tmp_path / "s.csv", n=120))
    f.loc[60, "temp"] = 1e29
    f.to_csv(tmp_path / "o.csv", index=False)
    with caplog.at_level("WARNING", logger="forecaster"):
        data.load(tmp_path / "o.csv", target="temp")
    assert "column 'temp' of" in caplog.text and "extreme value 1e+29" in caplog.text
    caplog.clear()
    intermittent = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=200).strftime("%Y-%m-%d"),
                                 "y": np.where(np.arange(200) % 17 == 0, 5.0, 0.0)})
    intermittent.to_csv(tmp_path / "i.csv", index=False)
    with caplog.at_level("WARNING", logger="forecaster"):
        data.load(tmp_path / "i.csv")
    assert "extreme" not in caplog.text


# ------------------------------------------------------------------------------------------------
# 6. Silent misreads
# ------------------------------------------------------------------------------------------------
def test_missing_header_and_duplicate_names_are_refused(tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=60)
    lines = (tmp_path / "s.csv").read_text().splitlines()
    (tmp_path / "nohdr.csv").write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(DataError, match=r"holds values, not column names: the file has no header row"):
        data.read_csv(tmp_path / "nohdr.csv")
    (tmp_path / "dup.csv").write_text("\n".join(["time,temp,temp", *lines[1:]]) + "\n")
    with pytest.raises(DataError, match="names column 'temp' more than once"):
        data.read_csv(tmp_path / "dup.csv")


def test_daylight_saving_offsets_and_epoch_seconds_are_read(tmp_path, caplog):
    idx = pd.date_range("2024-03-25", periods=24 * 10, freq="h", tz="Europe/Berlin")
    y = np.sin(np.arange(len(idx)) / 4) + 5
    pd.DataFrame({"time": [t.isoformat() for t in idx], "y": y}).to_csv(tmp_path / "dst.csv", index=False)
    with caplog.at_level("INFO", logger="forecaster"):
        s = data.load(tmp_path / "dst.csv")
    assert s.freq == "h" and len(s) == len(idx) and "read as UTC" in caplog.text
    assert s.index[0] == idx[0].tz_convert("UTC").tz_localize(None)
    daily = pd.date_range("2024-03-20", periods=20, freq="D", tz="Europe/Berlin")
    pd.DataFrame({"time": [t.isoformat() for t in daily], "y": np.arange(20.0) % 7}).to_csv(tmp_path / "d.csv", index=False)
    assert data.load(tmp_path / "d.csv").freq == "D"  # local midnight: the wall-clock reading is regular
    epoch = 1_700_000_000 + 3600 * np.arange(100)
    pd.DataFrame({"time": epoch, "y": y[:100]}).to_csv(tmp_path / "e.csv", index=False)
    s = data.load(tmp_path / "e.csv")
    assert s.freq == "h" and s.index[0] == pd.Timestamp(1_700_000_000, unit="s")
    pd.DataFrame({"time": epoch * 1000, "y": y[:100]}).to_csv(tmp_path / "ms.csv", index=False)
    assert data.load(tmp_path / "ms.csv").index[0] == pd.Timestamp(1_700_000_000, unit="s")


# ------------------------------------------------------------------------------------------------
# 7. Interrupted and resumed work
# ------------------------------------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_dead_processes_are_cleaned_and_others_reported(tmp_path, caplog):
    runs = tmp_path / "runs"
    dead = runs / f".tmp-r.pid{_dead_pid()}-abc123"
    live = runs / f".tmp-r.pid{os.getpid()}-def456"
    old = runs / ".tmp-r-olderversion"
    for d in (dead, live, old):
        d.mkdir(parents=True)
        (d / "model.keras").write_text("half")
    (runs / ".checkpoint-0123.lock").write_text("")
    with caplog.at_level("INFO", logger="forecaster"):
        RunStore(runs).preflight()
    assert not dead.exists() and live.exists() and old.exists()
    assert not (runs / ".checkpoint-0123.lock").exists()
    assert "left by an interrupted save" in caplog.text and "looks like an interrupted save" in caplog.text


def test_a_torn_checkpoint_is_set_aside_not_deleted(tmp_path, caplog):
    from forecaster.config import ForecastConfig

    store, cfg = RunStore(tmp_path / "runs"), ForecastConfig()
    ckpt = store.checkpoint_dir(cfg, "f" * 64)
    (ckpt / "backup").mkdir(parents=True)
    (ckpt / "backup" / "training_metadata.json").write_text('{"epoch": 2}')
    (ckpt / "backup" / "latest.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)  # torn
    (ckpt / "history.csv").write_text("epoch,loss\n0,1.0\n1,0.5\n")
    assert "latest.weights.h5" in checkpoint_problem(ckpt)
    with caplog.at_level("WARNING", logger="forecaster"), store.checkpoint(cfg, "f" * 64, resume=True) as got:
        assert got == ckpt and not got.exists()
    aside = [p for p in store.root.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and (aside[0] / "backup" / "latest.weights.h5").exists()
    assert "is damaged" in caplog.text and "set aside" in caplog.text


def test_latest_as_a_real_directory_is_refused_before_training(runner, tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=120)
    (tmp_path / "runs" / "latest").mkdir(parents=True)
    res = _fit(runner, tmp_path)
    assert "is a real directory" in assert_one_line_error(res)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["latest"]


# ------------------------------------------------------------------------------------------------
# Slow tier: real processes, file-size limits, timing
# ------------------------------------------------------------------------------------------------
def _forecast(args, cwd, *, fsize=None, timeout=300):
    def limit():
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    env = dict(os.environ, FORECAST_RUNS_DIR=str(Path(cwd) / "runs"))
    return subprocess.run([sys.executable, "-c", "from forecaster.cli import main; main()", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout, preexec_fn=limit, check=False)


def _one_error(proc) -> str:
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[-1].startswith("Error: ") and sum(x.startswith("Error: ") for x in lines) == 1, proc.stderr
    return lines[-1]


@pytest.mark.slow
def test_a_file_size_limit_is_refused_before_training_and_keeps_runs(tmp_path):
    """``RLIMIT_FSIZE`` makes writes fail with EFBIG, as a full disk fails them with ENOSPC.

    HDF5 can crash the process when a weights write fails half-way (a segmentation fault
    in the per-epoch backup), so the limit is compared with the checkpoint size first.
    """
    write_sensor_csv(tmp_path / "s.csv", n=400)
    first = _forecast(["fit", "s.csv", *FIT, "--name", "keep"], tmp_path)
    assert first.returncode == 0, first.stderr
    before = sorted((tmp_path / "runs" / "keep").iterdir())
    for limit in (3_000, 20_000):
        started = time.monotonic()
        proc = _forecast(["fit", "s.csv", *FIT, "--units", "3", "--epochs", "3"], tmp_path, fsize=limit)
        assert proc.returncode != -11, "segmentation fault"
        error = _one_error(proc)
        assert f"file-size limit of this process ({limit} bytes" in error and str(tmp_path / "runs") in error, error
        assert "Epoch" not in proc.stdout and time.monotonic() - started < 60
    assert sorted((tmp_path / "runs" / "keep").iterdir()) == before
    assert sorted(p.name for p in (tmp_path / "runs").iterdir() if not p.name.endswith(".lock")) == ["keep", "latest"]


@pytest.mark.slow
def test_training_that_ended_before_an_interrupted_save_is_not_rerun(tmp_path, caplog):
    """What ``fit --resume`` meets after a kill between the end of training and the saved run."""
    from forecaster.config import ForecastConfig
    from forecaster.forecaster import Forecaster

    series = data.load(write_sensor_csv(tmp_path / "s.csv", n=300), target="temp")
    cfg = ForecastConfig(units=3, epochs=3, patience=3, lookback=12, horizon=3, ensemble=1, min_steps_per_epoch=1)
    ckpt = tmp_path / "ckpt"
    first = Forecaster(cfg).fit(series, checkpoint_dir=ckpt)  # no RunStore: the checkpoint stays, as after a kill
    assert (ckpt / "trained.weights.h5").exists() and not (ckpt / "backup").exists()
    with caplog.at_level("INFO", logger="forecaster"):
        again = Forecaster(cfg).fit(series, checkpoint_dir=ckpt)
    assert "reusing its weights" in caplog.text
    assert again.history_ == first.history_ and len(again.history_["loss"]) == 3  # each epoch once
    np.testing.assert_array_equal(again.predict().to_numpy(), first.predict().to_numpy())


@pytest.mark.slow
def test_checks_that_need_no_model_answer_before_tensorflow_loads(tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=60)
    probe = ("import sys\nfrom forecaster.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
             "    print('TF' if 'tensorflow' in sys.modules else 'noTF', e.code)\n")
    cases = [(["fit", "s.csv", "--target", "temp", "--lookback", "80"], "1", "needs at least"),
             (["fit", "s.csv", "--learning-rate", "nan"], "2", "finite"),
             (["--runs-dir", "/dev/null", "fit", "s.csv", "--target", "temp"], "1", "/dev/null"),
             (["predict", "--model", "missing-run"], "1", "does not exist")]
    for args, code, needle in cases:
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", probe, *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, check=False)
        assert proc.stdout.split() == ["noTF", code], (args, proc.stdout, proc.stderr)
        assert needle in proc.stderr and "Traceback" not in proc.stderr
        assert time.monotonic() - started < 15  # TensorFlow alone takes 5-13 s to import here


@pytest.mark.slow
def test_special_files_through_the_cli_answer_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo.csv")
    for path in ("fifo.csv", "/dev/zero", "/dev/urandom"):
        started = time.monotonic()
        proc = _forecast(["fit", path], tmp_path, timeout=60)
        assert "not a regular file" in _one_error(proc)
        assert time.monotonic() - started < 15


@pytest.mark.slow
def test_degenerate_split_is_reported(tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=200)
    proc = _forecast(["fit", "s.csv", *FIT, "--stride", "150"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"warning: only \d+ training windows? and 1 validation window", proc.stderr), proc.stderr
