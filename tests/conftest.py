"""Shared fixtures: the real data sets beside the project and tiny synthetic CSV files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# The suite runs on TensorFlow unless KERAS_BACKEND says otherwise (subprocesses inherit it): the backend of GPUs,
# tf.distribute and the tf.data pipeline. A CPU-only fit's own default is JAX (forecaster.runtime.training_backend),
# which .ci/run checks by running this tier again with KERAS_BACKEND=jax; tests/test_backend.py checks the choice.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

#: Real public data sets, kept outside the repository (never copied into it).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Directory of the real data sets; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data sets not available ({SHARED_DATA} is missing)")
    return SHARED_DATA


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """Write text (UTF-8 unless told) or raw bytes to ``tmp_path / name`` and return the path.

    >>> path = write_file("x.csv", "date,y\\n2024-01-01,1\\n")  # doctest: +SKIP
    """

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        data = content if isinstance(content, bytes) else content.encode(encoding)
        path.write_bytes(data)
        return path

    return _write


@pytest.fixture
def write_series_csv(write_file: Callable[..., Path]) -> Callable[..., Path]:
    """Write a small synthetic series as CSV: ``time_col`` then one column per entry of ``columns``.

    Values are a noisy sine plus a level, so no column is constant. Timestamps come from
    ``pandas.date_range(start, periods=n, freq=freq)``, optionally with ``drop`` positions removed.
    """

    def _write(
        name: str = "series.csv",
        *,
        n: int = 120,
        freq: str = "D",
        start: str = "2024-01-01",
        columns: tuple[str, ...] = ("value",),
        time_col: str = "date",
        drop: tuple[int, ...] = (),
        seed: int = 0,
    ) -> Path:
        rng = np.random.default_rng(seed)
        index = pd.date_range(start, periods=n, freq=freq)
        t = np.arange(n)
        frame = pd.DataFrame(
            {c: np.round(20 + 5 * np.sin(t / 7 + k) + rng.normal(0, 0.5, n), 3) for k, c in enumerate(columns)},
            index=index,
        )
        frame.index.name = time_col
        if drop:
            frame = frame.drop(index=frame.index[list(drop)])
        daily = bool((frame.index == frame.index.normalize()).all())
        return write_file(name, frame.to_csv(date_format="%Y-%m-%d" if daily else "%Y-%m-%d %H:%M:%S"))

    return _write


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One real saved run (a tiny one-epoch GRU on a synthetic sensor series), shared read-only by the tests
    that tamper with copies of a run directory. Copy it before changing anything in it."""
    from helpers import write_sensor_csv

    from forecaster import data
    from forecaster.config import ForecastConfig
    from forecaster.forecaster import Forecaster

    tmp = tmp_path_factory.mktemp("tiny_run")
    series = data.load(write_sensor_csv(tmp / "s.csv", n=160), target="temp")
    fc = Forecaster(ForecastConfig(units=3, epochs=1, lookback=12, horizon=3, ensemble=1, min_steps_per_epoch=1)).fit(series)
    return fc.save(tmp / "runs" / "good")
