"""Pieces every family shares: its inputs by role, the per-series vectors, the output head and the linear skip.

Layer names are those the recurrent family has always used, so runs saved
before the other families existed still load.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import keras

from forecaster.config import ForecastConfig
from forecaster.models.heads import IOSpec, add_to_forecast, output_head


@dataclass
class Inputs:
    """A model's ``keras.Input`` tensors by role (``None`` where the model has no such input)."""

    all: list
    window: object
    future: object = None
    series: object = None
    static: object = None
    teacher: object = None

    @property
    def model_inputs(self):
        """What ``keras.Model`` takes: the one tensor, or the list."""
        return self.all if len(self.all) > 1 else self.all[0]


def inputs_of(io: IOSpec, *, teacher: bool = False) -> Inputs:
    tensors = io.inputs(teacher=teacher)
    it = iter(tensors[1:])
    future = next(it) if io.n_future else None
    series = next(it) if io.embedding else None
    static = next(it) if io.n_static else None
    truth = next(it) if teacher else None
    return Inputs(all=tensors, window=tensors[0], future=future, series=series, static=static, teacher=truth)


def series_vector(io: IOSpec, series) -> keras.KerasTensor:
    """The learned vector of each series id (panels): ``(batch, embedding)``."""
    ids = keras.layers.Embedding(io.n_series, io.embedding, name="series_embedding")(series)
    return keras.layers.Flatten(name="series_flat")(ids)


def per_series(io: IOSpec, ins: Inputs) -> list:
    """What is known of each window's series beside its values: the learned embedding and the static attributes.

    Both are constant over a series, so they join the summary of the window (the last recurrent state, the
    decoder's state of each step, the encoded sequence) rather than every input row; the static vector is
    fed as given (standardised over the training series, see :mod:`forecaster.panel`).
    """
    out = []
    if ins.series is not None:
        out.append(series_vector(io, ins.series))
    if ins.static is not None:
        out.append(ins.static)
    return out


def head_layer(config: ForecastConfig, io: IOSpec) -> keras.layers.Layer:
    """The output head of ``io`` (:data:`~forecaster.models.heads.OUTPUT_HEADS`), zero-initialised with ``zero_init``.

    A decoder family asks for it with ``horizon=1`` (one step's forecast, applied at every step).
    """
    head = output_head(io).layer(io)
    if config.output.zero_init and io.output == "point":
        # The untrained network then forecasts exactly its base (the output is a correction to it). A quantile head
        # keeps its own initialisation: its quantiles must start apart.
        head = keras.layers.Dense(io.horizon, name=head.name, dtype="float32", kernel_initializer="zeros")
    return head


def step_io(io: IOSpec) -> IOSpec:
    """The shapes of one decoder step: the same model with a horizon of one (a quantile head keeps its quantiles)."""
    return replace(io, horizon=1, members=1)


def with_linear_skip(config: ForecastConfig, io: IOSpec, window, outputs):
    """``skip = linear``: add a linear map of the whole (scaled) input window to ``outputs`` (as in LSTNet)."""
    if config.model.skip == "none":  # "auto" left unresolved (a model built by hand) is linear
        return outputs
    zeros = {"kernel_initializer": "zeros"} if config.output.zero_init else {}
    flat = keras.layers.Flatten(name="window_flat")(window)
    linear = keras.layers.Dense(io.horizon, name="linear_skip", dtype="float32", **zeros)(flat)
    return add_to_forecast(io, outputs, linear, name="forecast_sum")
