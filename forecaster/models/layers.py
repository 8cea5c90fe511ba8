"""Small custom layers of the model families, registered Keras-serializable.

Each is pure ``keras.ops`` (TensorFlow, JAX and PyTorch backends) and saves
with its config only, so a model holding them loads with ``safe_mode=True``.
"""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="forecaster")
class StepSlice(keras.layers.Layer):
    """Step ``index`` of a sequence, keeping the time axis: ``(batch, T, ...) -> (batch, 1, ...)``.

    Negative indices count from the end (``-1``: the last step).
    """

    def __init__(self, index: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, x):
        stop = None if self.index == -1 else self.index + 1
        return x[:, self.index:stop]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, *input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="forecaster")
class QuantilePick(keras.layers.Layer):
    """Quantile ``index`` of one step's quantile forecast: ``(batch, 1, Q) -> (batch, 1)``.

    What a decoder with a quantile head feeds back as its previous value:
    the median, its point forecast (the other quantiles never enter the
    next step).
    """

    def __init__(self, index: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, x):
        return x[:, :, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="forecaster")
class StartToken(keras.layers.Layer):
    """Zeros ``(batch, 1, 1)``: the decoder's "previous value" at the first horizon step.

    The decoder works in the space of the model's outputs (the target minus
    its baseline, see :mod:`forecaster.windowing`), where zero means "as the
    baseline forecasts"; the encoder state carries what the window says.
    """

    def call(self, window):
        return ops.zeros_like(window[:, -1:, :1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 1)


@keras.saving.register_keras_serializable(package="forecaster")
class TeacherForcing(keras.layers.Layer):
    """The decoder's input for the next step: the true previous value in training, its own prediction otherwise.

    Called on ``[own, truth]`` (both ``(batch, 1)``). In training each
    value is the model's own prediction with probability ``sampling``
    (scheduled sampling; 0 = pure teacher forcing) and the truth otherwise;
    a fed-back prediction carries no gradient (it is an input, as at
    inference). Outside training the output is always ``own``, so
    validation losses and forecasts are those of the free-running decoder.
    This layer exists only in the training graph; the saved model has none.
    """

    def __init__(self, sampling: float = 0.0, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sampling = float(sampling)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if self.sampling > 0 else None

    def call(self, inputs, training=None):
        own, truth = inputs
        if not training:
            return own
        truth = ops.cast(truth, own.dtype)
        if self.sampling <= 0:
            return truth
        own = ops.stop_gradient(own)
        if self.sampling >= 1:
            return own
        pick = keras.random.uniform(ops.shape(own), seed=self.seed_generator) < self.sampling
        return ops.where(pick, own, truth)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "sampling": self.sampling, "seed": self.seed}


@keras.saving.register_keras_serializable(package="forecaster")
class PositionalEncoding(keras.layers.Layer):
    """Adds the fixed sinusoidal position code of "Attention is all you need" to ``(batch, T, d)``.

    ``PE[t, 2i] = sin(t / 10000^(2i/d))``, ``PE[t, 2i+1] = cos(...)``; no
    weights, so the position of each lookback step is known to the
    otherwise order-blind self-attention.
    """

    def call(self, x):
        steps, dim = x.shape[1], x.shape[2]
        pos = ops.expand_dims(ops.arange(steps, dtype="float32"), 1)
        i = ops.arange(dim, dtype="float32")
        rates = ops.exp(-math.log(10000.0) * (2.0 * ops.floor(i / 2.0)) / float(dim))
        angles = pos * ops.expand_dims(rates, 0)
        even = ops.cast(ops.equal(ops.mod(ops.arange(dim), 2), 0), "float32")
        code = even * ops.sin(angles) + (1.0 - even) * ops.cos(angles)
        return x + ops.cast(ops.expand_dims(code, 0), x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="forecaster")
class RecursiveRow(keras.layers.Layer):
    """The next input row of a recursive model: ``[value, covariates of the window's last row]``, ``(batch, 1, n)``.

    Called on ``[y, window]``: ``y`` ``(batch, 1)`` is a prediction in the
    model's output space (the target minus its baseline); adding the
    baseline's value in the window (row ``base_row``, target column) maps
    it back into the window's space. ``base_row=None``: no baseline (the
    output is the target itself).
    """

    def __init__(self, base_row: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base_row = None if base_row is None else int(base_row)

    def call(self, inputs):
        y, window = inputs
        value = ops.cast(y, window.dtype)
        if self.base_row is not None:
            value = value + window[:, self.base_row, :1]
        return ops.expand_dims(ops.concatenate([value, window[:, -1, 1:]], axis=-1), 1)

    def compute_output_shape(self, input_shapes):
        _, window_shape = input_shapes
        return (window_shape[0], 1, window_shape[2])

    def get_config(self):
        return {**super().get_config(), "base_row": self.base_row}
