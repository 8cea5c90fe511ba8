"""The benchmark runs end to end (tiny sizes).

No timing is asserted anywhere: machines are shared and noisy.
"""

from __future__ import annotations

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
        [sys.executable, str(BENCH), "--quick", "--only", "train,memory,predict,cli", "--json", str(tmp_path / "b.json")],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    assert "machine: " in text and "CPUs" in text
    for heading in ("## Training throughput", "## Memory", "## Predict and backtest", "## CLI start-up"):
        assert heading in text
    for row in ("SimpleRNN", "LSTM", "GRU", "BiLSTM x2"):
        assert any(line.startswith(row + " ") for line in text.splitlines()), row
    for row in ("forecaster path", "materialised windows (computed)", "ratio backtest / batched predict",
                "forecast --help"):
        assert row in text
    assert "tensorflow imported: False" in text
    assert (tmp_path / "b.json").exists()
