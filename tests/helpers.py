"""Small real-format CSV writers shared by the tests (no fixtures magic needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def seasonal_frame(n: int = 240, freq: str = "h", seed: int = 0, level: float = 20.0) -> pd.DataFrame:
    """A daily-seasonal sensor-like series with a second, correlated column."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = level + 5 * np.sin(2 * np.pi * t / 24) + 0.01 * t + rng.normal(0, 0.3, n)
    x = 3 * np.cos(2 * np.pi * t / 24) + rng.normal(0, 0.3, n)
    idx = pd.date_range("2024-01-01", periods=n, freq=freq)
    return pd.DataFrame({"time": idx.strftime("%Y-%m-%d %H:%M:%S"), "temp": y.round(4), "load": x.round(4)})


def write_sensor_csv(path: Path, n: int = 240, **kw) -> Path:
    seasonal_frame(n, **kw).to_csv(path, index=False)
    return path


def write_price_csv(path: Path, n: int = 260, seed: int = 1) -> Path:
    """A geometric random walk on business days in the Yahoo layout."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, n)))
    idx = pd.bdate_range("2023-01-02", periods=n)
    frame = pd.DataFrame(
        {
            "Date": idx.strftime("%Y-%m-%d"),
            "Open": close * 0.999,
            "High": close * 1.01,
            "Low": close * 0.99,
            "Close": close,
            "Adj Close": close,
            "Volume": rng.integers(1_000_000, 2_000_000, n),
        }
    )
    frame.to_csv(path, index=False, float_format="%.4f")
    return path


def assert_one_line_error(result, code: int = 1) -> str:
    """A failed CLI call: exit ``code``, exactly one ``Error:`` line (the last on stderr), no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    # Progress notes may precede it, but the error itself is exactly one line, and the last.
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.output
    return errors[0]
