"""Training batches gathered from the one scaled buffer; windows are never materialised.

Two interchangeable sources of ``(x, y)`` batches over a :class:`WindowView`:

* :func:`window_dataset` (TensorFlow backend): a ``tf.data`` pipeline that
  holds the scaled series as one tensor and gathers each batch in-graph::

      origins (batch,)  ->  rows = origins[:, None] - lookback + arange(lookback)
      x = gather(buffer, rows)                      (batch, lookback, columns)
      y = gather(buffer, origins[:, None] + arange(horizon))[..., 0]
      relative: x -= x[:, -1:, :];  y -= buffer[origins - 1, 0]

  e.g. lookback=3, horizon=2, origin 5: inputs rows 2, 3, 4, targets rows
  5, 6. Shuffling permutes the *origin indices* per epoch (stateless, seeded
  by ``(seed, epoch)``, so two processes with the same seed see the same
  batches), and batches are prefetched while the model trains. Memory stays
  one buffer whatever the lookback.
* :class:`WindowBatches` (every backend, used for JAX and PyTorch): a
  ``keras.utils.PyDataset`` gathering batches with NumPy.

Both give the same windows, targets and normalisation as
:meth:`WindowView.inputs` / :meth:`WindowView.targets`.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from forecaster.windowing import WindowView

#: Rows scaled per step by :func:`scale_in_chunks`: bounds the float64
#: temporaries of the scaler to a few MB whatever the series length.
SCALE_CHUNK = 1 << 18


class WindowBatches(keras.utils.PyDataset):
    """Batches gathered on demand from a :class:`WindowView` (no materialised windows)."""

    def __init__(
        self,
        view: WindowView,
        origins: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        with_targets: bool = True,
    ) -> None:
        super().__init__()
        self.view = view
        self.origins = np.asarray(origins, dtype=np.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.with_targets = with_targets
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(self.origins) if shuffle else self.origins

    def __len__(self) -> int:
        return math.ceil(len(self.origins) / self.batch_size)

    def __getitem__(self, i: int):
        batch = self._order[i * self.batch_size : (i + 1) * self.batch_size]
        x = self.view.inputs(batch)
        if not self.with_targets:
            return (x,)
        return x, self.view.targets(batch)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(self.origins)


def scale_in_chunks(scaler, values: np.ndarray, chunk: int = SCALE_CHUNK) -> np.ndarray:
    """``scaler.transform_values(values)`` written chunk by chunk into one float32 buffer.

    Same result as one call, but the float64 temporaries are ``chunk`` rows,
    not the whole series: peak memory is the input plus its float32 copy.
    """
    values = np.asarray(values)
    out = aligned_empty(values.shape, np.float32)
    for lo in range(0, len(values), chunk):
        out[lo : lo + chunk] = scaler.transform_values(values[lo : lo + chunk])
    return out


def aligned_empty(shape: tuple[int, ...], dtype, align: int = 64) -> np.ndarray:
    """An uninitialised array whose data starts on an ``align``-byte boundary.

    TensorFlow can wrap such memory without copying it (see :func:`_as_tensor`);
    a large ``numpy.empty`` starts 16 bytes past a page boundary and would be copied.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    return raw[offset : offset + nbytes].view(dtype).reshape(shape)


def _as_tensor(values: np.ndarray):
    """The float32 buffer as a TensorFlow tensor, sharing its memory where possible."""
    import tensorflow as tf

    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.ctypes.data % 64 == 0:
        try:
            # DLPack hands TensorFlow the NumPy memory itself (no second copy of the series).
            return tf.experimental.dlpack.from_dlpack(values.__dlpack__())
        except Exception:  # pragma: no cover - a TensorFlow build without CPU DLPack
            pass
    return tf.convert_to_tensor(values)


def use_tf_data() -> bool:
    """Whether the in-graph ``tf.data`` path applies (the TensorFlow backend)."""
    return keras.backend.backend() == "tensorflow"


def window_dataset(
    view: WindowView,
    origins: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    repeat: bool = False,
):
    """A ``tf.data.Dataset`` of ``(x, y)`` batches over ``view`` (TensorFlow only).

    Args:
        view: the windows (its ``values`` buffer is shared, not copied, where
            TensorFlow can wrap the NumPy memory).
        origins: window origins, in the order used when ``shuffle=False``.
        batch_size: windows per batch (the last batch of an epoch may be smaller).
        shuffle: permute the origins at every epoch, seeded by ``(seed, epoch)``.
        seed: shuffling seed.
        repeat: run epoch after epoch without end (pass ``steps_per_epoch``
            to ``fit``); otherwise one epoch.

    >>> buf = np.arange(20, dtype=np.float32).reshape(10, 2)
    >>> ds = window_dataset(WindowView(buf, 3, 2), np.array([3, 4]), batch_size=2)  # doctest: +SKIP
    >>> [t.shape for t in next(iter(ds))]  # doctest: +SKIP
    [TensorShape([2, 3, 2]), TensorShape([2, 2])]
    """
    import tensorflow as tf

    lookback, horizon, relative = view.lookback, view.horizon, view.relative
    origins = np.asarray(origins, dtype=np.int64)
    n_batches = math.ceil(len(origins) / batch_size)
    buffer = _as_tensor(view.values)
    n = len(origins)
    step = int(origins[1] - origins[0]) if n > 1 else 1
    if n > 1 and step > 0 and origins[-1] == origins[0] + (n - 1) * step and (np.diff(origins) == step).all():
        # Origins from a split are an arithmetic progression: keep (first, step) and
        # shuffle int32 positions, instead of holding int64 copies of every origin.
        first = int(origins[0])

        def origin_at(pos):
            return first + tf.cast(pos, tf.int64) * step
    else:
        origins_t = tf.constant(origins)

        def origin_at(pos):
            return tf.gather(origins_t, pos)
    input_offsets = tf.range(-lookback, 0, dtype=tf.int64)
    target_offsets = tf.range(horizon, dtype=tf.int64)

    def gather(batch):
        x = tf.gather(buffer, batch[:, None] + input_offsets)  # (batch, lookback, columns)
        y = tf.gather(buffer, batch[:, None] + target_offsets)[:, :, 0]  # (batch, horizon)
        if relative:
            last = x[:, -1:, :]  # row origin - 1: the reference
            y = y - last[:, :, 0]
            x = x - last
        return x, y

    def epoch_batches(epoch):
        positions = tf.range(n, dtype=tf.int32)
        if shuffle:
            key = tf.stack([tf.constant(seed, tf.int64), epoch])
            positions = tf.random.experimental.stateless_shuffle(positions, seed=key)
        return tf.data.Dataset.range(n_batches).map(
            lambda i: origin_at(positions[i * batch_size : (i + 1) * batch_size])
        )

    epochs = tf.data.Dataset.range(np.iinfo(np.int64).max if repeat else 1)
    ds = epochs.flat_map(epoch_batches)
    if not repeat:
        # A known length lets Keras run validation to the end without an "ran out of data" warning.
        ds = ds.apply(tf.data.experimental.assert_cardinality(n_batches))
    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def training_data(
    view: WindowView,
    train_origins: np.ndarray,
    val_origins: np.ndarray,
    batch_size: int,
    *,
    seed: int,
    steps_per_epoch: int | None = None,
):
    """``(train, validation, steps_per_epoch)`` arguments for ``keras.Model.fit``.

    On TensorFlow the training set is an endless shuffled ``tf.data`` stream
    cut into epochs of ``steps_per_epoch`` batches (default: one pass over the
    origins); other backends get :class:`WindowBatches`. Validation batches are
    gathered lazily too, in order.
    """
    n_batches = math.ceil(len(train_origins) / batch_size)
    steps = min(steps_per_epoch, n_batches) if steps_per_epoch else None
    if use_tf_data():
        train = window_dataset(view, train_origins, batch_size, shuffle=True, seed=seed, repeat=True)
        val = window_dataset(view, val_origins, batch_size)
        return train, val, steps or n_batches
    train = WindowBatches(view, train_origins, batch_size, shuffle=True, seed=seed)
    val = WindowBatches(view, val_origins, batch_size)
    return train, val, steps
