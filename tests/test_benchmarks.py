"""The benchmark runs end to end (tiny sizes).

No timing is asserted anywhere: machines are shared and noisy.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"

# Runs every benchmark table in a fresh process (minutes on 2 cores): CI's slow tier.
pytestmark = pytest.mark.slow


def test_benchmark_quick_mode_prints_every_table(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--only", "train,memory,predict,cli,fit", "--json", str(tmp_path / "b.json")],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "machine: " in text and "CPUs" in text
    for heading in ("## Training throughput", "## Memory", "## Predict and backtest", "## CLI start-up",
                    "## A default fit"):
        assert heading in text
    for row in ("SimpleRNN", "LSTM", "GRU", "BiLSTM x2"):
        assert any(line.startswith(row + " ") for line in text.splitlines()), row
    for row in ("forecaster path", "materialised windows (computed)", "ratio backtest / batched predict",
                "forecast --help", "forecast fit, 200-point monthly CO2, defaults",
                "forecast fit, 200-point monthly CO2, --ensemble 1",
                "forecast fit, 200-point monthly CO2, defaults, KERAS_BACKEND=tensorflow"):
        assert row in text
    fits = [line for line in text.splitlines() if line.startswith("forecast fit, ")]
    assert all("backend on" in line for line in fits), fits  # each row names the backend its fit trained on
    assert "tensorflow backend on" in fits[-1]
    assert "tensorflow imported: False" in text
    assert (tmp_path / "b.json").exists()


ACCURACY = ROOT / "benchmarks" / "accuracy.py"


@pytest.mark.slow
def test_accuracy_quick_mode_prints_a_finite_table(tmp_path: Path) -> None:
    pytest.importorskip("statsforecast")
    series = "co2,airline passengers" if (ROOT.parent / "shared" / "data" / "airline-passengers.csv").exists() else "co2"
    out = subprocess.run(
        [sys.executable, str(ACCURACY), "--quick", "--sets", "bundled,shared", "--series", series,
         "--json", str(tmp_path / "a.json")],
        capture_output=True, text=True, cwd=tmp_path, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    header = next(line for line in text.splitlines() if line.lstrip().startswith("set "))
    for column in ("name", "freq", "n", "h", "season", "mase_fc", "mase_ets", "mase_arima", "mase_theta",
                   "mase_snaive", "mase_naive", "ratio_fc_best", "fc_beats_snaive", "sec_fc", "sec_ets"):
        assert column in header.split(), column
    assert "## Summary" in text and "overall:" in text
    rows = json.loads((tmp_path / "a.json").read_text())["rows"]
    assert len(rows) == len(series.split(","))
    for row in rows:
        for key in ("mase_fc", "mase_ets", "mase_arima", "mase_theta", "mase_snaive", "mase_naive",
                    "ratio_fc_best", "smape_fc", "sec_fc"):
            assert math.isfinite(row[key]), (row["name"], key, row[key])
