"""Training batches gathered from the one scaled buffer; windows are never materialised.

Two interchangeable sources of ``(x, y)`` batches over a :class:`WindowView`:

* :func:`window_dataset` (TensorFlow backend): a ``tf.data`` pipeline that
  holds the scaled series as one tensor and gathers each batch in-graph::

      origins (batch,)  ->  rows = origins[:, None] - lookback + arange(lookback)
      x = gather(buffer, rows)                      (batch, lookback, columns)
      y = gather(buffer, origins[:, None] + arange(horizon))[..., 0]
      relative: x -= x[:, -1:, :];  y -= buffer[origins - 1, 0]

  e.g. lookback=3, horizon=2, origin 5: inputs rows 2, 3, 4, targets rows
  5, 6. Batches are prefetched while the model trains. Memory stays one
  buffer whatever the lookback and however many windows there are.
* :class:`WindowBatches` (every backend, used for JAX and PyTorch): a
  ``keras.utils.PyDataset`` gathering batches with NumPy.

Both give the same windows, targets and normalisation as
:meth:`WindowView.inputs` / :meth:`WindowView.targets`, and both shuffle
without storing a permutation: :func:`permute` maps batch positions
``0..n-1`` to shuffled positions with a keyed Feistel network (a bijection
computed per batch, or per block of 64 batches in ``tf.data``, so shuffling
costs no memory per window; see its docstring). Keys come from the seed and
the pass number, so two processes with the same seed, and the two paths,
see the same batches.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from forecaster.windowing import SegmentedOrigins, WindowView

#: Rows scaled per step by :func:`scale_in_chunks`: bounds the float64
#: temporaries of the scaler to a few MB whatever the series length.
SCALE_CHUNK = 1 << 18

#: Feistel rounds of :func:`permute`. Luby and Rackoff showed 4 rounds of a
#: random round function give a pseudo-random permutation; 6 leave margin for
#: the cheap integer hash used as round function.
SHUFFLE_ROUNDS = 6
_M31 = 0x7FFFFFFF  # hash values are kept below 2**31 so products fit in int64
#: Batches whose origins :func:`window_dataset` computes in one step.
ORIGIN_BLOCK = 64


class _NumpyBits:
    xor, band, bor = np.bitwise_xor, np.bitwise_and, np.bitwise_or
    shr, shl = np.right_shift, np.left_shift


def _tf_bits():
    import tensorflow as tf

    class _TFBits:
        xor, band, bor = tf.bitwise.bitwise_xor, tf.bitwise.bitwise_and, tf.bitwise.bitwise_or
        shr, shl = tf.bitwise.right_shift, tf.bitwise.left_shift
        where = tf.where
        any = tf.reduce_any

    return _TFBits


def _mix(x, b):
    """31-bit integer hash (multiply, xor-shift), identical on NumPy int64 and TensorFlow int64."""
    x = b.band(b.xor(x, b.shr(x, 16)) * 0x45D9F3B, _M31)  # x < 2**31, so the product < 2**58: no overflow
    x = b.band(b.xor(x, b.shr(x, 16)) * 0x45D9F3B, _M31)
    return b.xor(x, b.shr(x, 16))


def shuffle_keys(seed: int, epoch, *, backend: str = "numpy") -> list:
    """The :data:`SHUFFLE_ROUNDS` round keys of the permutation for ``(seed, epoch)``.

    ``epoch`` may be an int64 tensor with ``backend="tensorflow"`` (keys computed in-graph);
    both backends give the same keys.
    """
    b = _NumpyBits if backend == "numpy" else _tf_bits()
    base = int(_mix(np.int64(seed & _M31) ^ 0x2545F491, _NumpyBits))
    if backend == "numpy":
        epoch = np.int64(epoch)
    base = _mix(b.xor(b.band(epoch, _M31), base), b)
    keys = [_mix(b.xor(base, 0x61C88647 * (r + 1) & _M31), b) for r in range(SHUFFLE_ROUNDS)]
    return [int(k) for k in keys] if backend == "numpy" else keys


def _feistel(x, keys, half: int, b):
    """One pass of a balanced Feistel network on ``2 * half``-bit integers (a bijection)."""
    mask = (1 << half) - 1
    left, right = b.shr(x, half), b.band(x, mask)
    for key in keys:
        left, right = right, b.xor(left, b.band(_mix(b.xor(right, key), b), mask))
    return b.bor(b.shl(left, half), right)


def permute(positions, n: int, keys, *, backend: str = "numpy"):
    """Shuffled positions: a pseudo-random bijection of ``0..n-1``, applied element-wise.

    Shuffling ``n`` windows the usual way stores a permutation of ``n``
    integers (40 MB for 10 million windows, more for ``tf.random.shuffle``'s
    temporaries). Here batch ``i`` of an epoch takes positions
    ``i * batch .. (i + 1) * batch - 1`` and maps each through a keyed
    Feistel network, so nothing per window is stored:

    * the positions are written with ``2 * half`` bits, the smallest even
      width with ``2 ** (2 * half) >= n`` (a domain below ``4 n``);
    * each round maps ``(L, R) -> (R, L xor F(R, key))``, invertible whatever
      ``F`` is, so the whole network is a bijection of that domain;
    * a result ``>= n`` is sent through the network again ("cycle walking")
      until it lands in ``0..n-1``: the cycle through a position below ``n``
      returns below ``n``, so this is a bijection of ``0..n-1``.

    e.g. ``n = 10``: the domain is ``0..15`` (half = 2 bits); a position
    mapped to 13 is mapped again, say to 4, and 4 is its shuffled place.

    Args:
        positions: int64 positions in ``[0, n)`` (NumPy array, or a
            TensorFlow tensor with ``backend="tensorflow"``).
        n: number of positions permuted.
        keys: round keys from :func:`shuffle_keys` (ints, or int64 tensors).
        backend: "numpy" or "tensorflow"; the results are identical.

    >>> keys = shuffle_keys(seed=0, epoch=0)
    >>> sorted(permute(np.arange(10), 10, keys).tolist()) == list(range(10))
    True
    """
    half = max(1, (max(n - 1, 1).bit_length() + 1) // 2)
    if backend == "numpy":
        b = _NumpyBits
        y = _feistel(np.asarray(positions, dtype=np.int64), keys, half, b)
        out = np.flatnonzero(y >= n)
        while len(out):
            y[out] = _feistel(y[out], keys, half, b)
            out = out[y[out] >= n]
        return y
    import tensorflow as tf

    b = _tf_bits()
    y = _feistel(tf.cast(positions, tf.int64), keys, half, b)
    return tf.while_loop(
        lambda y: b.any(y >= n), lambda y: (b.where(y >= n, _feistel(y, keys, half, b), y),), (y,)
    )[0]


def _as_range(origins) -> range | None:
    """``origins`` as a ``range`` when they are an arithmetic progression (as splits make them), else None."""
    if isinstance(origins, range):
        return origins
    origins = np.asarray(origins)
    n = len(origins)
    if n == 0:
        return None
    step = int(origins[1] - origins[0]) if n > 1 else 1
    if step > 0 and (n == 1 or (np.diff(origins) == step).all()):
        return range(int(origins[0]), int(origins[-1]) + 1, step)
    return None


class WindowBatches(keras.utils.PyDataset):
    """Batches gathered on demand from a :class:`WindowView` (no materialised windows).

    ``origins`` may be a ``range`` (what :func:`forecaster.windowing.chronological_split`
    returns): it is never turned into an array, and shuffling uses :func:`permute`,
    so memory does not grow with the number of windows.
    """

    def __init__(
        self,
        view: WindowView,
        origins,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        with_targets: bool = True,
        min_batches: int = 1,
        weights: np.ndarray | None = None,
        teacher: bool = False,
    ) -> None:
        super().__init__()
        #: Append the targets to the inputs too (the ``teacher`` input of a teacher-forced training graph).
        self.teacher = teacher
        #: Per-series loss weights (with :class:`SegmentedOrigins`): batches are then ``(x, y, w)``.
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float32)
        #: Batches per epoch: at least ``min_batches``, by drawing further shuffled passes (short series).
        self.min_batches = min_batches
        self.view = view
        rng = None if isinstance(origins, SegmentedOrigins) else _as_range(origins)
        if rng is not None or isinstance(origins, SegmentedOrigins):
            self.origins = rng if rng is not None else origins
        else:
            self.origins = np.asarray(origins, dtype=np.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.with_targets = with_targets
        self.seed = seed
        self.epoch = 0

    def _per_pass(self) -> int:
        return math.ceil(len(self.origins) / self.batch_size)

    def __len__(self) -> int:
        return max(self._per_pass(), self.min_batches)

    def batch_positions(self, i: int) -> np.ndarray:
        """Positions (into ``origins``) of batch ``i`` of the current epoch (an epoch may span several passes)."""
        n, per_pass = len(self.origins), self._per_pass()
        passes_per_epoch = math.ceil(len(self) / per_pass)
        which, i = divmod(i, per_pass)
        pos = np.arange(i * self.batch_size, min((i + 1) * self.batch_size, n), dtype=np.int64)
        if self.shuffle:
            pos = permute(pos, n, shuffle_keys(self.seed, self.epoch * passes_per_epoch + which))
        return pos

    def batch_origins(self, i: int) -> np.ndarray:
        """Origins of batch ``i`` of the current epoch."""
        pos = self.batch_positions(i)
        if isinstance(self.origins, range):
            return self.origins.start + pos * self.origins.step
        return self.origins[pos]

    def __getitem__(self, i: int):
        pos = self.batch_positions(i)
        batch = self.origins.start + pos * self.origins.step if isinstance(self.origins, range) else self.origins[pos]
        x = self.view.model_inputs(batch)
        if not self.with_targets:
            return (x,)
        y = self.view.targets(batch)
        if self.teacher:
            x = (*x, y) if isinstance(x, tuple) else (x, y)
        if self.weights is not None:
            return x, y, self.weights[self.origins.series_of(pos)]
        return x, y

    def on_epoch_end(self) -> None:
        self.epoch += 1


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
    origins,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    repeat: bool = False,
    weights: np.ndarray | None = None,
    teacher: bool = False,
):
    """A ``tf.data.Dataset`` of ``(x, y)`` batches over ``view`` (TensorFlow only).

    Args:
        view: the windows (its ``values`` buffer is shared, not copied, where
            TensorFlow can wrap the NumPy memory).
        origins: window origins (a ``range`` or an array), in the order used
            when ``shuffle=False``.
        batch_size: windows per batch (the last batch of a pass may be smaller).
        shuffle: permute the origins at every pass, keyed by ``(seed, pass)``
            (:func:`permute`; the same order as :class:`WindowBatches`).
        seed: shuffling seed.
        repeat: run pass after pass without end (give ``fit`` a
            ``steps_per_epoch``: one iterator then serves the whole fit);
            otherwise one pass.
        weights: with :class:`~forecaster.windowing.SegmentedOrigins`, one loss
            weight per series: batches are then ``(x, y, w)``.

    >>> buf = np.arange(20, dtype=np.float32).reshape(10, 2)
    >>> ds = window_dataset(WindowView(buf, 3, 2), range(3, 5), batch_size=2)  # doctest: +SKIP
    >>> [t.shape for t in next(iter(ds))]  # doctest: +SKIP
    [TensorShape([2, 3, 2]), TensorShape([2, 2])]
    """
    import tensorflow as tf

    lookback, horizon, relative, n_future = view.lookback, view.horizon, view.relative, view.n_future
    base_steps = None if view.base_steps is None else tf.constant(view.base_steps, dtype=tf.int64)
    base_weights = None if view.base_weights is None else tf.constant(view.base_weights.T, dtype=tf.float32)
    n = len(origins)
    n_batches = math.ceil(n / batch_size)
    buffer = _as_tensor(view.values)
    series_rows = None if view.series_index is None else tf.constant(view.series_index)
    series_stack = series_choice = None
    if view.series_bases is not None:  # each series its own base: (candidates, lookback, horizon) and one pick per series
        series_stack = tf.constant(view.series_bases[0].transpose(0, 2, 1), dtype=tf.float32)
        series_choice = tf.constant(view.series_bases[1], dtype=tf.int32)
    series_input = view.series_input  # the series index is fed (an embedding), not only read for the static rows
    static_t = None if view.static is None else tf.constant(view.static)  # (series, n_static): small
    segmented = isinstance(origins, SegmentedOrigins)
    rng = None if segmented else _as_range(origins)
    weights_t = None
    if segmented:
        # A panel: one arithmetic run per series (see SegmentedOrigins), found by a binary search.
        ends_t = tf.constant(origins.ends, dtype=tf.int64)
        starts_t = tf.constant(origins.ends - origins.counts, dtype=tf.int64)
        firsts_t = tf.constant(origins.firsts, dtype=tf.int64)
        seg_stride = origins.stride
        if weights is not None:
            weights_t = tf.constant(np.asarray(weights, dtype=np.float32))

        def series_at(pos):
            return tf.searchsorted(ends_t, pos, side="right", out_type=tf.int64)

        def origin_at(pos):
            i = series_at(pos)
            return tf.gather(firsts_t, i) + (pos - tf.gather(starts_t, i)) * seg_stride
    elif rng is not None:
        # Origins from a split are a range: origin = start + position * step, nothing stored per window.
        first, step = rng.start, rng.step

        def origin_at(pos):
            return first + pos * step
    else:
        origins_t = tf.constant(np.asarray(origins, dtype=np.int64))

        def origin_at(pos):
            return tf.gather(origins_t, pos)
    input_offsets = tf.range(-lookback, 0, dtype=tf.int64)
    target_offsets = tf.range(horizon, dtype=tf.int64)
    padded = n % batch_size != 0  # the last batch of a pass is padded with -1 (see `block`)

    def gather(batch, w=None):
        if padded:
            if w is not None:
                w = tf.boolean_mask(w, batch >= 0)
            batch = tf.boolean_mask(batch, batch >= 0)
        x = tf.gather(buffer, batch[:, None] + input_offsets)  # (batch, lookback, columns)
        ahead = tf.gather(buffer, batch[:, None] + target_offsets)  # (batch, horizon, columns)
        y = ahead[:, :, 0]
        if base_steps is not None:
            # The baseline forecast of each step (see WindowView.reference): the network predicts the rest.
            y = y - tf.gather(x[:, :, 0], base_steps, axis=1)
        elif base_weights is not None:
            y = y - tf.matmul(x[:, :, 0], base_weights)  # a weighted sum of input rows per step (e.g. Naive2)
        elif series_stack is not None:
            picked = tf.gather(series_stack, tf.gather(series_choice, tf.gather(series_rows, batch)))  # (b, L, H)
            y = y - tf.einsum("bl,blh->bh", x[:, :, 0], picked)
        if relative:
            x = x - x[:, -1:, :]  # inputs relative to the last observed row
        parts = [x]
        if n_future:
            # Known-future covariates over the horizon, as scaled (see WindowView.future).
            parts.append(ahead[:, :, -n_future:])
        if series_input:
            parts.append(tf.gather(series_rows, batch)[:, None])  # the series index (embedding input)
        if static_t is not None:
            parts.append(tf.gather(static_t, tf.gather(series_rows, batch)))  # the series' static vector
        if teacher:
            parts.append(y)  # the true targets: the `teacher` input of a teacher-forced training graph
        x = tuple(parts) if len(parts) > 1 else x
        return (x, y) if w is None else (x, y, w)

    # Batch origins are computed ORIGIN_BLOCK batches at a time: the permutation is a few dozen
    # small integer ops, and running them once per block instead of once per batch keeps the
    # pipeline's CPU time (taken from training on a small machine) negligible. The pipeline is
    # static (no per-pass datasets), so one iterator runs every pass without re-instantiation.
    per_block = ORIGIN_BLOCK * batch_size
    blocks_per_pass = max(1, math.ceil(n / per_block))

    def block(g):
        """Block ``g`` of the stream: ``(k, batch_size)`` origins, -1 padding the pass's last batch."""
        b = g % blocks_per_pass
        lo = b * per_block
        hi = tf.minimum(lo + per_block, n)
        pos = tf.range(lo, hi, dtype=tf.int64)
        if shuffle:
            pos = permute(pos, n, shuffle_keys(seed, g // blocks_per_pass, backend="tensorflow"), backend="tensorflow")
        batch_origins = origin_at(pos)
        k = (hi - lo + batch_size - 1) // batch_size
        batch_origins = tf.pad(batch_origins, [[0, k * batch_size - (hi - lo)]], constant_values=-1)
        if weights_t is None:
            return tf.reshape(batch_origins, [-1, batch_size])
        w = tf.pad(tf.gather(weights_t, series_at(pos)), [[0, k * batch_size - (hi - lo)]])
        return tf.reshape(batch_origins, [-1, batch_size]), tf.reshape(w, [-1, batch_size])

    blocks = tf.data.Dataset.range(np.iinfo(np.int64).max if repeat else blocks_per_pass)
    ds = blocks.map(block).unbatch()
    if not repeat:
        # A known length lets Keras run validation to the end without an "ran out of data" warning.
        ds = ds.apply(tf.data.experimental.assert_cardinality(n_batches))
    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
    # tf.data's default static optimisations rewrite the pipeline by serialising its graph, which
    # copies the captured series buffer into a constant (a second copy of the series, measured).
    # The pipeline is already parallel and prefetched by hand, so they would add nothing.
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    return ds.with_options(options)


def training_data(
    view: WindowView,
    train_origins,
    val_origins,
    batch_size: int,
    *,
    seed: int,
    steps_per_epoch: int | None = None,
    min_steps_per_epoch: int = 1,
    weights: np.ndarray | None = None,
    teacher: bool = False,
):
    """``(train, validation, steps_per_epoch)`` arguments for ``keras.Model.fit``.

    On TensorFlow the training set is an endless stream of shuffled passes
    over the origins, cut into epochs of ``steps_per_epoch`` batches (default:
    one pass; a capped epoch continues where the last one stopped), served by
    one iterator for the whole fit; other backends get :class:`WindowBatches`.
    Validation batches are gathered lazily too, in order. Both paths shuffle
    identically for the same seed. ``teacher=True`` appends the targets to
    each batch's inputs (training and validation alike), for the training
    graph of a teacher-forced family (:func:`forecaster.models.uses_teacher`).
    """
    n_batches = math.ceil(len(train_origins) / batch_size)
    # A short series gets at least `min_steps_per_epoch` optimiser steps an epoch: further shuffled
    # passes of its windows, so the training budget does not shrink with the series.
    steps = max(min(steps_per_epoch, n_batches) if steps_per_epoch else n_batches, min_steps_per_epoch)
    if use_tf_data():
        train = window_dataset(view, train_origins, batch_size, shuffle=True, seed=seed, repeat=True, weights=weights,
                               teacher=teacher)
        val = window_dataset(view, val_origins, batch_size, teacher=teacher)
        return train, val, steps
    # Keras keeps one iterator over a PyDataset across epochs of `steps` batches and cuts the epoch in which it runs
    # dry short ("Your input ran out of data"): a whole number of epochs per length keeps every epoch at `steps`.
    train = WindowBatches(view, train_origins, batch_size, shuffle=True, seed=seed,
                          min_batches=steps * math.ceil(n_batches / steps), weights=weights, teacher=teacher)
    val = WindowBatches(view, val_origins, batch_size, teacher=teacher)
    return train, val, steps if steps != n_batches else None


def steps_per_execution_for(steps: int, limit: int = 16) -> int:
    """The largest divisor of ``steps`` up to ``limit``: batches per call of the compiled train function.

    Keras runs ``steps_per_execution`` batches per call and would run past the
    end of an epoch of an endless stream if it did not divide the epoch, so
    epochs stay exact (e.g. 66 batches: 11 per call; 30: 15; a prime: 1).

    >>> steps_per_execution_for(66), steps_per_execution_for(30), steps_per_execution_for(97)
    (11, 15, 1)
    """
    return max(d for d in range(1, min(limit, steps) + 1) if steps % d == 0)
