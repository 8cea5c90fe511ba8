"""Interrupted, killed, concurrent and resumed training runs of the real CLI in real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_sensor_csv

from forecaster.store import is_complete_run

# Every test starts real CLI processes (each imports TensorFlow) and some kill them: CI's slow tier.
pytestmark = pytest.mark.slow

FIT = ["fit", "s.csv", "--target", "temp", "--units", "8", "--lookback", "24", "--horizon", "4",
       "--batch-size", "16", "--epochs", "6", "--patience", "6", "--ensemble", "1", "--min-steps-per-epoch", "1"]


def _forecast(args, cwd, **kw):
    cmd = [sys.executable, "-c", "from forecaster.cli import main; main()", *args]
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _wait_for_epochs(runs: Path, n: int, proc, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for hist in runs.glob(".checkpoint-*/history.csv"):
            if len(hist.read_text().strip().splitlines()) - 1 >= n:
                return hist
        if proc.poll() is not None:
            pytest.fail(f"fit ended before {n} epochs: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no {n} completed epochs within {timeout}s")


def _complete_runs(runs: Path) -> list[Path]:
    return [p for p in runs.iterdir() if p.is_dir() and not p.is_symlink() and is_complete_run(p)] if runs.exists() else []


def test_kill_9_leaves_no_usable_run_and_resume_continues(tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=1500)
    proc = _forecast(FIT, tmp_path)
    _wait_for_epochs(tmp_path / "runs", 2, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    runs = tmp_path / "runs"
    assert _complete_runs(runs) == []
    assert not (runs / "latest").exists()
    pred = _forecast(["predict"], tmp_path)
    out, err = pred.communicate(timeout=60)
    assert pred.returncode == 1 and err.strip().splitlines()[-1].startswith("Error: No model given")

    done = _forecast([*FIT, "--resume"], tmp_path)
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert "resuming from" in err
    # Keras reports the epochs it still runs; the completed ones are not repeated.
    assert "Epoch 1/6" not in out and "Epoch 6/6" in out
    run = (runs / "latest").resolve()
    history = pd.read_csv(run / "history.csv")
    assert len(history) == 6, "history covers the epochs before and after the kill"
    assert not list(runs.glob(".checkpoint-*")), "the checkpoint is removed once the run is saved"


def test_sigterm_interrupts_cleanly(tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=1500)
    proc = _forecast(FIT, tmp_path)
    _wait_for_epochs(tmp_path / "runs", 1, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "--resume" in err and "Traceback" not in err
    runs = tmp_path / "runs"
    assert _complete_runs(runs) == []
    assert not list(runs.glob(".tmp-*"))


def test_two_fits_at_once_never_share_a_directory(tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=200)
    args = ["fit", "s.csv", "--target", "temp", "--units", "2", "--lookback", "8", "--horizon", "2",
            "--epochs", "1", "--ensemble", "1", "--min-steps-per-epoch", "1", "--name", "same"]
    procs = [_forecast(args, tmp_path) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    names = sorted(p.name for p in _complete_runs(tmp_path / "runs"))
    assert names == ["same", "same-2"]
