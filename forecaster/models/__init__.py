"""Model families: one registry of builders that return *uncompiled* Keras models.

A builder takes the model section of the config and the input/output shapes
(:class:`IOSpec`) and returns a ``keras.Model`` mapping::

    past   (batch, lookback, n_past)        target first, then past and known-future columns
    future (batch, horizon, n_future)       known-future columns over the horizon (only when n_future > 0)
      -> (batch, horizon)                    one value per horizon step (point output)
      -> (batch, horizon, quantiles)         ascending quantiles per step (quantile output)

The output layer and the loss come from the output spec (:mod:`forecaster.models.heads`);
compiling and fitting live in :mod:`forecaster.training`. Adding a family is
one builder function and one registry entry; the contract tests
(``tests/test_contract.py``) then run over it.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from forecaster.config import DECODER_TYPES, MODEL_TYPES, ForecastConfig
from forecaster.exceptions import ConfigError
from forecaster.models import layers as _layers  # noqa: F401  (registers the custom layers for loading)
from forecaster.models.heads import OUTPUT_HEADS, IOSpec, PinballLoss, QuantileHead, add_to_forecast, output_head
from forecaster.models.rnn import CELLS, PRECISION_POLICIES, build_rnn, cudnn_issues, cudnn_status
from forecaster.models.seq2seq import build_attention, build_seq2seq
from forecaster.models.transformer import build_transformer

#: ``model.type`` -> builder ``(ForecastConfig, IOSpec, *, graph="predict") -> uncompiled keras.Model``.
#: ``graph="train"`` is the training graph of a family with teacher forcing (:func:`uses_teacher`).
MODEL_BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "rnn": build_rnn,
    "seq2seq": build_seq2seq,
    "attention": build_attention,
    "transformer": build_transformer,
}
assert set(MODEL_BUILDERS) == set(MODEL_TYPES), "every model type in the config needs a builder"

__all__ = [
    "CELLS",
    "MODEL_BUILDERS",
    "OUTPUT_HEADS",
    "PRECISION_POLICIES",
    "IOSpec",
    "PinballLoss",
    "QuantileHead",
    "add_to_forecast",
    "attention_weights",
    "build_model",
    "cudnn_issues",
    "cudnn_status",
    "output_head",
    "uses_teacher",
]


def uses_teacher(config: ForecastConfig) -> bool:
    """Whether the family trains on a graph with the true targets as an input (teacher forcing).

    seq2seq, attention and the recursive rnn (``multistep="recursive"``).
    Training then feeds ``teacher`` (:func:`forecaster.training.pipeline.training_data`
    with ``teacher=True``) and saves the predict graph, which has no such input.
    """
    return config.model.type in DECODER_TYPES or config.model.multistep == "recursive"


def build_model(config: ForecastConfig, io: IOSpec, *, graph: str = "predict") -> keras.Model:
    """Build the (uncompiled) network of ``config.model.type`` for the shapes in ``io``.

    ``config.runtime.mixed_precision`` builds the layers under a Keras mixed
    dtype policy (compute in float16/bfloat16, variables in float32); the
    output head stays float32. The global policy is set only for this build
    and restored afterwards, so models built or loaded later are unaffected.

    >>> m = build_model(ForecastConfig(cell="lstm", layers=2, units=4), IOSpec(lookback=8, horizon=3, n_past=2))
    >>> m.output_shape, m.compiled
    ((None, 3), False)

    ``graph="train"`` builds the training graph of a teacher-forced family
    (an extra ``teacher`` input); it has the same weights, in the same order,
    as the predict graph (other families have one graph).
    """
    builder = MODEL_BUILDERS.get(config.model.type)
    if builder is None:
        raise ConfigError(f"`type` must be one of {', '.join(MODEL_BUILDERS)}. Received: type={config.model.type!r}")
    policy = PRECISION_POLICIES[config.runtime.mixed_precision]
    previous = keras.mixed_precision.dtype_policy()
    if policy is not None:
        keras.mixed_precision.set_dtype_policy(policy)
    try:
        if io.members == 1:
            return builder(config, io, graph=graph)
        return _ensemble(builder, config, io, graph=graph)
    finally:
        if policy is not None:
            keras.mixed_precision.set_dtype_policy(previous)


def _ensemble(builder, config: ForecastConfig, io: IOSpec, *, graph: str = "predict") -> keras.Model:
    """``io.members`` independent networks of one family on the same inputs: ``(batch, members, horizon)``.

    Each member is a whole sub-model with its own random initialisation;
    :func:`forecaster.models.heads.ensemble_mse` trains them side by side and
    the forecaster takes the median of their outputs. One model, one file,
    one fit: the members' arithmetic runs in the same calls.
    """
    inputs = io.inputs(teacher=graph == "train" and uses_teacher(config))
    single = IOSpec(**{**io.to_dict(), "members": 1})
    outs = []
    for i in range(io.members):
        member = builder(config, single, graph=graph)
        member.name = f"member_{i + 1}"
        out = member(inputs if len(inputs) > 1 else inputs[0])
        outs.append(keras.layers.Reshape((1, *io.output_shape), name=f"member_{i + 1}_out")(out))
    stacked = keras.layers.Concatenate(axis=1, name="members", dtype="float32")(outs)
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], stacked, name=f"ensemble_{io.members}")


def attention_weights(model: keras.Model, config: ForecastConfig, io: IOSpec, inputs) -> np.ndarray:
    """The attention family's weights for ``inputs``: ``(n, horizon, lookback)``, each row summing to 1.

    Row ``t`` says how much each lookback step contributed to the context of
    horizon step ``t + 1``. The fitted ``model`` (the predict graph) is
    copied into the same graph with the weights as a second output; of an
    ensemble, the first member's weights are shown.
    """
    if config.model.type != "attention":
        raise ConfigError(
            f"Attention weights exist for the attention family only. Received: model={config.model.type!r}. "
            "Fit with --model attention."
        )
    single = IOSpec(**{**io.to_dict(), "members": 1})
    probe = MODEL_BUILDERS["attention"](config, single, graph="attention")
    source = model.get_layer("member_1") if io.members > 1 else model
    probe.set_weights(source.get_weights())
    _, weights = probe.predict_on_batch(inputs)
    return np.asarray(weights, dtype=np.float64).reshape(-1, io.horizon, io.lookback)
