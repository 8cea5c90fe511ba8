"""The Transformer family (``model.type = "transformer"``): a small self-attention encoder, direct head.

::

    window (lookback, n_past) -> Dense(model_dim) + sinusoidal position code
      -> [ MultiHeadAttention(attention_heads) -> Add & LayerNorm
           -> Dense(2 model_dim, relu) -> Dense(model_dim) -> Add & LayerNorm ] x transformer_blocks
      -> [last step, mean over steps]
      [-> Concatenate(Flatten(future))]     known-future inputs over the horizon
      [-> Concatenate(Embedding(series))]   panels (--series-embedding)
      [-> Concatenate(static)]              panels: the series' standardised static attributes
    -> output head (Dense(horizon))           direct multi-step output
    [+ Dense(horizon)(Flatten(window))]      skip = linear

Attention over the lookback is **full** (every step attends to every other,
no causal mask). That cannot leak: the window holds only rows observed at
or before the forecast origin, and the targets (the rows after it) never
enter the network; they are reached only through the loss. A causal mask
would matter only for a model that emits an output at every input position
(a decoder trained on shifted sequences); this one emits one direct
forecast from the whole window.

Defaults are sized for a CPU (model_dim 32, 2 heads, 2 blocks: about 20k
parameters). There are no recurrent layers, so no cuDNN kernel is involved.
"""

from __future__ import annotations

import keras

from forecaster.config import ForecastConfig
from forecaster.models.common import head_layer, inputs_of, per_series, with_linear_skip
from forecaster.models.heads import IOSpec
from forecaster.models.layers import PositionalEncoding, StepSlice


def build_transformer(config: ForecastConfig, io: IOSpec, *, graph: str = "predict") -> keras.Model:
    """Encoder-only Transformer over the lookback with a direct head (see the module docstring)."""
    spec = config.model
    ins = inputs_of(io)
    d = spec.model_dim
    x = keras.layers.Dense(d, name="embed")(ins.window)
    x = PositionalEncoding(name="positions")(x)
    for b in range(1, spec.transformer_blocks + 1):
        a = keras.layers.MultiHeadAttention(spec.attention_heads, d // spec.attention_heads, dropout=spec.dropout,
                                            name=f"self_attention_{b}")(x, x)
        x = keras.layers.LayerNormalization(name=f"norm_{b}a")(keras.layers.Add(name=f"residual_{b}a")([x, a]))
        f = keras.layers.Dense(2 * d, activation="relu", name=f"ffn_{b}_1")(x)
        f = keras.layers.Dense(d, name=f"ffn_{b}_2")(f)
        if spec.dropout > 0:
            f = keras.layers.Dropout(spec.dropout, name=f"ffn_{b}_dropout")(f)
        x = keras.layers.LayerNormalization(name=f"norm_{b}b")(keras.layers.Add(name=f"residual_{b}b")([x, f]))
    last = keras.layers.Flatten(name="last_flat")(StepSlice(-1, name="last_step")(x))
    mean = keras.layers.GlobalAveragePooling1D(name="mean_step")(x)
    parts = [last, mean]
    if ins.future is not None:
        parts.append(keras.layers.Flatten(name="future_flat")(ins.future))
    parts.extend(per_series(io, ins))  # the series embedding and static attributes, if any
    z = keras.layers.Concatenate(name="encoded")(parts)
    if spec.dropout > 0:
        z = keras.layers.Dropout(spec.dropout, name="dropout")(z)
    outputs = head_layer(config, io)(z)
    outputs = with_linear_skip(config, io, ins.window, outputs)
    return keras.Model(ins.model_inputs, outputs, name="forecaster_transformer")
