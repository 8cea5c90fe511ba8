"""Training batches: the tf.data and PyDataset paths gather exactly the WindowView windows,
shuffle every epoch without storing a permutation, and respect epoch boundaries."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster.scaling import SeriesScaler
from forecaster.training.pipeline import (
    WindowBatches,
    aligned_empty,
    permute,
    scale_in_chunks,
    shuffle_keys,
    steps_per_execution_for,
    training_data,
    window_dataset,
)
from forecaster.windowing import WindowView

needs_tf = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data path is TensorFlow-only")


def _buffer(n: int = 300, columns: int = 2) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.cumsum(rng.normal(size=(n, columns)), axis=0).astype(np.float32)


# ----------------------------------------------------------------------------
# permute: a keyed bijection of 0..n-1
# ----------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 5000), seed=st.integers(0, 2**40), epoch=st.integers(0, 1000))
def test_permute_is_a_bijection_of_the_positions(n: int, seed: int, epoch: int) -> None:
    perm = permute(np.arange(n), n, shuffle_keys(seed, epoch))
    assert perm.dtype == np.int64
    np.testing.assert_array_equal(np.sort(perm), np.arange(n))


def test_permute_is_keyed_and_looks_random() -> None:
    n = 100_000
    a = permute(np.arange(n), n, shuffle_keys(7, 0))
    np.testing.assert_array_equal(a, permute(np.arange(n), n, shuffle_keys(7, 0)))  # deterministic
    b = permute(np.arange(n), n, shuffle_keys(7, 1))
    c = permute(np.arange(n), n, shuffle_keys(8, 0))
    assert (a == b).mean() < 0.01 and (a == c).mean() < 0.01  # another epoch or seed: another order
    # No visible structure: position and shuffled position are uncorrelated, neighbours land far apart,
    # and each tenth of the positions spreads evenly over the tenths of the output.
    assert abs(np.corrcoef(np.arange(n), a)[0, 1]) < 0.02
    assert np.median(np.abs(np.diff(a))) > n / 5
    counts = np.histogram2d(np.arange(n), a, bins=10)[0]
    assert counts.min() > 0.8 * n / 100 and counts.max() < 1.2 * n / 100


def test_permute_of_a_part_matches_the_whole() -> None:
    # Batch i permutes only its own positions; together the batches give the whole permutation.
    n, keys = 1000, shuffle_keys(3, 2)
    whole = permute(np.arange(n), n, keys)
    parts = np.concatenate([permute(np.arange(lo, min(lo + 64, n)), n, keys) for lo in range(0, n, 64)])
    np.testing.assert_array_equal(parts, whole)


@needs_tf
@pytest.mark.parametrize("n", [1, 2, 3, 10, 17, 1000, 4099])
def test_permute_is_the_same_in_tensorflow_and_numpy(n: int) -> None:
    import tensorflow as tf

    keys = shuffle_keys(11, 4)
    in_tf = permute(tf.range(n, dtype=tf.int64), n, [tf.constant(k, tf.int64) for k in keys], backend="tensorflow")
    np.testing.assert_array_equal(in_tf.numpy(), permute(np.arange(n), n, keys))


# ----------------------------------------------------------------------------
# tf.data path
# ----------------------------------------------------------------------------
@needs_tf
@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize(
    "origins",
    [np.arange(20, 295), range(20, 295), np.arange(20, 295, 7), range(21, 296, 7), np.array([20, 33, 34, 100, 21, 295])],
    ids=["contiguous", "range", "strided", "strided-range", "arbitrary"],
)
def test_tf_dataset_yields_the_same_batches_as_window_view(relative: bool, origins) -> None:
    view = WindowView(_buffer(), lookback=20, horizon=5, relative=relative)
    batches = list(window_dataset(view, origins, batch_size=16))
    assert len(batches) == -(-len(origins) // 16)
    for i, (x, y) in enumerate(batches):
        chunk = np.asarray(origins[i * 16 : (i + 1) * 16])
        np.testing.assert_array_equal(x.numpy(), view.inputs(chunk))
        np.testing.assert_array_equal(y.numpy(), view.targets(chunk))


@needs_tf
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("n_origins", [16 * 7, 16 * 7 + 5, 9])
def test_tf_dataset_blocks_do_not_change_the_batches(monkeypatch, shuffle: bool, n_origins: int) -> None:
    # Origins are computed ORIGIN_BLOCK batches at a time; small blocks (several per epoch, a
    # partial last block, a partial last batch) must give exactly the batches of one big block.
    from forecaster.training import pipeline

    view = WindowView(_buffer(), lookback=10, horizon=1)
    origins = range(10, 10 + n_origins)

    def batches(block: int) -> list[list[float]]:
        monkeypatch.setattr(pipeline, "ORIGIN_BLOCK", block)
        ds = window_dataset(view, origins, batch_size=16, shuffle=shuffle, seed=3)
        return [y.numpy()[:, 0].tolist() for _, y in ds]

    big, small = batches(64), batches(3)
    assert small == big
    assert len(big) == -(-n_origins // 16)
    if not shuffle:
        np.testing.assert_array_equal(np.concatenate(big), view.targets(np.asarray(origins))[:, 0])
    # Shuffled or not, every window exactly once.
    np.testing.assert_array_equal(np.sort(np.concatenate(big)), np.sort(view.targets(np.asarray(origins))[:, 0]))


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
def test_tf_dataset_shuffles_every_pass_repeatably_and_covers_each_origin_once() -> None:
    view = WindowView(_buffer(), lookback=10, horizon=1)
    origins = range(10, 299)
    n_batches = -(-len(origins) // 32)

    def first_passes(seed: int) -> list[np.ndarray]:
        it = iter(window_dataset(view, origins, batch_size=32, shuffle=True, seed=seed, repeat=True))
        return [np.concatenate([next(it)[1].numpy()[:, 0] for _ in range(n_batches)]) for _ in range(3)]

    a, b, other = first_passes(1), first_passes(1), first_passes(2)
    expected = np.sort(view.targets(np.asarray(origins))[:, 0])
    for epoch in a:
        np.testing.assert_array_equal(np.sort(epoch), expected)  # every window exactly once per pass
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[1], a[2])  # reshuffled between passes
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)  # same seed, same order
    assert not np.array_equal(a[0], other[0])


@needs_tf
def test_tf_dataset_and_pydataset_shuffle_identically() -> None:
    # The same seed gives the same batches on TensorFlow (tf.data) and on JAX/PyTorch (PyDataset).
    view = WindowView(_buffer(), lookback=10, horizon=2, relative=True)
    origins = range(10, 297)
    it = iter(window_dataset(view, origins, batch_size=32, shuffle=True, seed=9, repeat=True))
    wb = WindowBatches(view, origins, 32, shuffle=True, seed=9)
    for _ in range(2):
        for i in range(len(wb)):
            x, y = next(it)
            ex, ey = wb[i]
            np.testing.assert_array_equal(x.numpy(), ex)
            np.testing.assert_array_equal(y.numpy(), ey)
        wb.on_epoch_end()


def test_steps_per_execution_divides_the_epoch() -> None:
    for steps in range(1, 300):
        d = steps_per_execution_for(steps, 16)
        assert steps % d == 0 and 1 <= d <= 16
        assert not any(steps % e == 0 for e in range(d + 1, min(16, steps) + 1))  # the largest such divisor
    assert (steps_per_execution_for(96), steps_per_execution_for(66), steps_per_execution_for(97)) == (16, 11, 1)


@needs_tf
def test_fit_with_steps_per_execution_runs_exactly_each_epoch() -> None:
    # steps_per_execution runs several batches per call; an epoch must still be one pass
    # over the windows, each exactly once, reshuffled between epochs. A model that records
    # the targets it trains on shows what fit actually consumed.
    import tensorflow as tf

    n_rows, lookback, batch = 400, 4, 16
    view = WindowView(np.arange(n_rows, dtype=np.float32)[:, None], lookback, 1)
    train, _, steps = training_data(view, range(4, 314), range(314, 399), batch, seed=1)
    epochs = 3
    per_call = steps_per_execution_for(steps)
    assert (steps, per_call) == (20, 10)  # 310 windows: 19 full batches and a partial one

    class Recorder(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(1)
            self.seen = tf.Variable(tf.zeros((epochs * steps, batch)), trainable=False)
            self.step = tf.Variable(0, trainable=False)

        def call(self, x):
            return self.dense(x[:, -1, :])

        def train_step(self, data):
            _, y = data
            self.seen[self.step].assign(tf.pad(y[:, 0], [[0, batch - tf.shape(y)[0]]]))
            self.step.assign_add(1)
            return {"steps": tf.cast(self.step, tf.float32)}

    model = Recorder()
    model.compile(optimizer="adam", loss="mse", steps_per_execution=per_call)
    model.fit(train, epochs=epochs, steps_per_epoch=steps, shuffle=False, verbose=0)
    assert int(model.step.numpy()) == epochs * steps
    seen = model.seen.numpy().reshape(epochs, steps * batch)
    for epoch in seen:
        np.testing.assert_array_equal(np.sort(epoch[epoch > 0]), np.arange(4, 314))  # targets = origins here
    assert not np.array_equal(seen[0], seen[1]) and not np.array_equal(seen[1], seen[2])


# ----------------------------------------------------------------------------
# PyDataset path (JAX, PyTorch)
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("origins", [range(10, 299), np.arange(10, 299), range(12, 299, 5)])
def test_window_batches_shuffle_each_epoch_without_storing_a_permutation(origins) -> None:
    view = WindowView(_buffer(), lookback=10, horizon=1, relative=True)
    wb = WindowBatches(view, origins, 32, shuffle=True, seed=4)
    assert isinstance(wb.origins, range)  # kept as a range, never materialised

    def epoch() -> np.ndarray:
        got = np.concatenate([wb.batch_origins(i) for i in range(len(wb))])
        wb.on_epoch_end()
        return got

    first, second = epoch(), epoch()
    np.testing.assert_array_equal(np.sort(first), np.asarray(origins))
    np.testing.assert_array_equal(np.sort(second), np.asarray(origins))
    assert not np.array_equal(first, second)
    again = WindowBatches(view, origins, 32, shuffle=True, seed=4)
    np.testing.assert_array_equal(again.batch_origins(0), first[:32])
    x, y = wb[0]
    batch = wb.batch_origins(0)
    np.testing.assert_array_equal(x, view.inputs(batch))
    np.testing.assert_array_equal(y, view.targets(batch))
    ordered = WindowBatches(view, origins, 32)
    np.testing.assert_array_equal(ordered.batch_origins(1), np.asarray(origins)[32:64])


def test_window_batches_accept_arbitrary_origins() -> None:
    view = WindowView(_buffer(), lookback=10, horizon=1)
    origins = np.array([50, 12, 99, 13, 200])
    wb = WindowBatches(view, origins, 2, shuffle=True, seed=0)
    got = np.concatenate([wb.batch_origins(i) for i in range(len(wb))])
    assert sorted(got.tolist()) == sorted(origins.tolist())


# ----------------------------------------------------------------------------
# training_data and scaling
# ----------------------------------------------------------------------------
def test_training_data_respects_steps_per_epoch() -> None:
    view = WindowView(_buffer(), lookback=10, horizon=2)
    for cap, expected in ((3, 3), (99, 6), (None, 6)):  # capped at one pass over the origins
        train, val, steps = training_data(view, range(10, 200), range(200, 299), 32, seed=0, steps_per_epoch=cap)
        if keras.backend.backend() == "tensorflow":
            assert steps == expected
            assert int(train.cardinality()) == -1  # an endless stream, cut into epochs by steps_per_epoch
            assert int(val.cardinality()) == 4
        else:
            assert isinstance(train, WindowBatches) and isinstance(val, WindowBatches)
            assert steps == (None if expected == 6 else expected)  # None: one whole pass (6 batches) an epoch


def test_the_pydataset_path_holds_a_whole_number_of_epochs(monkeypatch) -> None:
    """Keras cuts short the epoch in which a PyDataset runs dry: its length is a multiple of the epoch's steps."""
    from forecaster.training import pipeline

    monkeypatch.setattr(pipeline, "use_tf_data", lambda: False)  # the JAX / PyTorch path, on any backend
    view = WindowView(_buffer(), lookback=10, horizon=2)
    for cap, min_steps in ((4, 1), (5, 1), (None, 1), (3, 30)):
        train, _, steps = pipeline.training_data(view, range(10, 200), range(200, 299), 8, seed=0,
                                                 steps_per_epoch=cap, min_steps_per_epoch=min_steps)
        per_epoch = steps or len(train)
        assert len(train) % per_epoch == 0 and len(train) >= math.ceil(190 / 8), (cap, len(train), steps)


def test_scale_in_chunks_matches_one_call() -> None:
    x = np.abs(_buffer(1000).astype(np.float64)) + 1
    sc = SeriesScaler("log").fit(x[:700], columns=["p", "v"])
    z = scale_in_chunks(sc, x, chunk=64)
    assert z.dtype == np.float32 and z.ctypes.data % 64 == 0
    np.testing.assert_array_equal(z, sc.transform_values(x))


@needs_tf
def test_tf_dataset_subtracts_a_weighted_base_like_window_view() -> None:
    """A base that is a weighted sum of input rows (Naive2) is taken off the targets identically on both paths."""
    from forecaster.choices import naive2_weights

    weights = naive2_weights(20, 5, 4)
    view = WindowView(_buffer(), lookback=20, horizon=5, relative=True, base_steps=weights)
    assert view.base_steps is None and view.base_weights is not None
    origins = np.arange(20, 120)
    for i, (x, y) in enumerate(window_dataset(view, origins, batch_size=16)):
        chunk = origins[i * 16 : (i + 1) * 16]
        np.testing.assert_array_equal(x.numpy(), view.inputs(chunk))
        np.testing.assert_allclose(y.numpy(), view.targets(chunk), rtol=1e-5, atol=1e-4)


@needs_tf
def test_tf_dataset_subtracts_each_series_own_base_like_window_view() -> None:
    """Per-series bases (a panel: each buffer row's series picks its own weights) are taken off the targets
    identically on both paths, and equal each series' own weighted sum of its window."""
    from forecaster.choices import base_candidates

    cands = base_candidates(20, 5, 4)
    stack = np.stack(list(cands.values()))  # naive, seasonal naive, naive2
    buf = _buffer(300)
    rows = np.repeat(np.arange(3, dtype=np.int32), 100)  # three series of 100 buffer rows
    choice = np.array([2, 0, 1])
    view = WindowView(buf, lookback=20, horizon=5, relative=True, series_index=rows, series_input=False,
                      series_bases=(stack, choice))
    origins = np.concatenate([np.arange(20, 95), np.arange(120, 195), np.arange(220, 295)])
    ref = view.reference(origins)
    for o, r in zip(origins, ref):
        window = buf[o - 20 : o, 0].astype(np.float64)
        np.testing.assert_allclose(r, stack[choice[rows[o]]] @ window, rtol=1e-5, atol=1e-4)
    for i, (x, y) in enumerate(window_dataset(view, origins, batch_size=16)):
        chunk = origins[i * 16 : (i + 1) * 16]
        np.testing.assert_array_equal(x.numpy(), view.inputs(chunk))
        np.testing.assert_allclose(y.numpy(), view.targets(chunk), rtol=1e-5, atol=1e-4)
