"""The benchmark runs end to end (tiny sizes), and the tf.data path gathers the same windows as WindowView.

No timing is asserted anywhere: machines are shared and noisy.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from forecaster.pipeline import WindowBatches, aligned_empty, scale_in_chunks, training_data, window_dataset
from forecaster.scaling import SeriesScaler
from forecaster.windowing import WindowView

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"

needs_tf = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data path is TensorFlow-only")


def _buffer(n: int = 300, columns: int = 2) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.cumsum(rng.normal(size=(n, columns)), axis=0).astype(np.float32)


@needs_tf
@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize(
    "origins",
    [np.arange(20, 295), np.arange(20, 295, 7), np.array([20, 33, 34, 100, 21, 295])],
    ids=["contiguous", "strided", "arbitrary"],
)
def test_tf_dataset_yields_the_same_batches_as_window_view(relative: bool, origins: np.ndarray) -> None:
    view = WindowView(_buffer(), lookback=20, horizon=5, relative=relative)
    batches = list(window_dataset(view, origins, batch_size=16))
    assert len(batches) == -(-len(origins) // 16)
    for i, (x, y) in enumerate(batches):
        chunk = origins[i * 16 : (i + 1) * 16]
        np.testing.assert_array_equal(x.numpy(), view.inputs(chunk))
        np.testing.assert_array_equal(y.numpy(), view.targets(chunk))


@needs_tf
def test_tf_dataset_on_a_shared_aligned_buffer() -> None:
    buf = aligned_empty((300, 2), np.float32)
    buf[:] = _buffer()
    view = WindowView(buf, lookback=10, horizon=3, relative=True)
    origins = np.arange(10, 298)
    x, y = next(iter(window_dataset(view, origins, batch_size=32)))
    np.testing.assert_array_equal(x.numpy(), view.inputs(origins[:32]))
    np.testing.assert_array_equal(y.numpy(), view.targets(origins[:32]))


@needs_tf
def test_tf_dataset_shuffles_every_epoch_repeatably_and_covers_each_origin_once() -> None:
    view = WindowView(_buffer(), lookback=10, horizon=1)
    origins = np.arange(10, 299)
    n_batches = -(-len(origins) // 32)

    def first_epochs(seed: int) -> list[np.ndarray]:
        it = iter(window_dataset(view, origins, batch_size=32, shuffle=True, seed=seed, repeat=True))
        epochs = []
        for _ in range(2):
            ys = np.concatenate([next(it)[1].numpy()[:, 0] for _ in range(n_batches)])
            epochs.append(ys)
        return epochs

    a, b, other = first_epochs(1), first_epochs(1), first_epochs(2)
    expected = np.sort(view.targets(origins)[:, 0])
    for epoch in a:
        np.testing.assert_array_equal(np.sort(epoch), expected)  # every window exactly once per epoch
    assert not np.array_equal(a[0], a[1])  # reshuffled between epochs
    np.testing.assert_array_equal(a[0], b[0])  # same seed, same order
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], other[0])


def test_scale_in_chunks_matches_one_call() -> None:
    x = np.abs(_buffer(1000).astype(np.float64)) + 1
    sc = SeriesScaler("log").fit(x[:700], columns=["p", "v"])
    z = scale_in_chunks(sc, x, chunk=64)
    assert z.dtype == np.float32 and z.ctypes.data % 64 == 0
    np.testing.assert_array_equal(z, sc.transform_values(x))


def test_training_data_respects_steps_per_epoch() -> None:
    view = WindowView(_buffer(), lookback=10, horizon=2)
    train, val, steps = training_data(view, np.arange(10, 200), np.arange(200, 299), 32, seed=0, steps_per_epoch=3)
    assert steps == 3
    _, _, steps = training_data(view, np.arange(10, 200), np.arange(200, 299), 32, seed=0, steps_per_epoch=99)
    assert steps == 6  # capped at one pass over the origins
    if keras.backend.backend() != "tensorflow":
        assert isinstance(train, WindowBatches) and isinstance(val, WindowBatches)


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
