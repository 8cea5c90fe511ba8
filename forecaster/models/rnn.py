"""The recurrent family (``model.type = "rnn"``): SimpleRNN, LSTM, GRU.

The network is deliberately plain so it loads with ``safe_mode=True`` and runs
on every Keras 3 backend (TensorFlow, JAX, PyTorch)::

    Input (lookback, n_features)
      -> [Bidirectional] RNN cell x layers   (return_sequences on all but the last)
      -> Dropout (if dropout > 0)
      [-> Concatenate(Flatten(future))]      known-future inputs over the horizon, if any
      [-> Concatenate(Embedding(series))]    a learned vector per series id (panels, --series-embedding)
    -> output head (Dense(horizon))        direct multi-step output
    [+ Dense(horizon)(Flatten(window))]     skip = linear: an autoregressive highway

Defaults keep LSTM and GRU layers eligible for the fused cuDNN kernels on a GPU
(tanh / sigmoid activations, no recurrent dropout, ``unroll=False``,
``use_bias=True``, GRU ``reset_after=True``). :func:`cudnn_issues` says when a
setting leaves that path.

Mixed precision is applied by :func:`forecaster.models.build_model`;
compiling (``steps_per_execution``, XLA) by :mod:`forecaster.training`.
"""

from __future__ import annotations

import keras

from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError
from forecaster.models.heads import IOSpec, add_to_forecast, output_head

#: Registry of recurrent cells. Keys are the canonical ``--cell`` names.
CELLS: dict[str, type[keras.layers.Layer]] = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


#: ``--mixed-precision`` value -> Keras dtype policy (None: the global policy, normally float32).
PRECISION_POLICIES: dict[str, str | None] = {
    "off": None,
    "float16": "mixed_float16",
    "bfloat16": "mixed_bfloat16",
}


def cudnn_issues(config: ForecastConfig) -> list[str]:
    """Reasons the recurrent layers would not use the fused cuDNN kernels.

    An empty list means LSTM/GRU layers are eligible (the kernel is used when
    the backend runs on an NVIDIA GPU).

    >>> cudnn_issues(ForecastConfig(cell="gru"))
    []
    >>> cudnn_issues(ForecastConfig(cell="lstm", recurrent_dropout=0.2))
    ['recurrent_dropout=0.2 > 0 disables the fused cuDNN kernel (training is several times slower on a GPU)']
    """
    issues = []
    if config.model.cell == "simple_rnn":
        issues.append("SimpleRNN has no fused cuDNN kernel; use --cell lstm or gru for GPU speed")
    if config.model.recurrent_dropout > 0:
        issues.append(
            f"recurrent_dropout={config.model.recurrent_dropout} > 0 disables the fused cuDNN kernel "
            "(training is several times slower on a GPU)"
        )
    return issues


def cudnn_status(config: ForecastConfig, *, on_gpu: bool, backend: str = "tensorflow") -> str:
    """One line saying whether the recurrent layers run on the fused cuDNN kernels.

    >>> cudnn_status(ForecastConfig(cell="lstm"), on_gpu=True)
    'cuDNN: LSTM eligible (used on GPU)'
    >>> cudnn_status(ForecastConfig(cell="gru"), on_gpu=False)
    'cuDNN: GRU eligible (not used: no GPU)'
    >>> cudnn_status(ForecastConfig(cell="rnn"), on_gpu=True)
    'cuDNN: not used (SimpleRNN has no fused cuDNN kernel; use --cell lstm or gru for GPU speed)'
    """
    issues = cudnn_issues(config)
    if issues:
        return f"cuDNN: not used ({'; '.join(issues)})"
    cell = config.model.cell.upper()
    if not on_gpu:
        return f"cuDNN: {cell} eligible (not used: no GPU)"
    if backend != "tensorflow":
        # Keras' JAX and PyTorch backends choose their own GPU RNN kernels.
        return f"cuDNN: {cell} eligible (the {backend} backend picks its own GPU kernel)"
    return f"cuDNN: {cell} eligible (used on GPU)"


def build_rnn(config: ForecastConfig, io: IOSpec) -> keras.Model:
    """The recurrent family: stacked (optionally bidirectional) SimpleRNN / LSTM / GRU, direct head.

    Known-future inputs over the horizon (``io.n_future > 0``) are flattened
    and joined to the last recurrent state before the output head, so each
    horizon step's output can use, e.g., that step's calendar position.

    Returns:
        An uncompiled ``keras.Model`` (see :mod:`forecaster.models`).
    """
    spec = config.model
    layer_cls = CELLS[spec.cell]
    inputs = io.inputs()
    x = inputs[0]
    for i in range(spec.layers):
        # Every layer but the last passes the whole sequence to the next one.
        return_sequences = i < spec.layers - 1
        layer = layer_cls(
            spec.units,
            return_sequences=return_sequences,
            dropout=spec.dropout,
            recurrent_dropout=spec.recurrent_dropout,
            name=f"{spec.cell}_{i + 1}",
        )
        if spec.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{i + 1}")
        x = layer(x)
    if io.n_future:
        future = keras.layers.Flatten(name="future_flat")(inputs[1])
        x = keras.layers.Concatenate(name="with_future")([x, future])
    if io.embedding:
        # A learned vector per series (panels): what sets this series apart, beside its recent window.
        ids = keras.layers.Embedding(io.n_series, io.embedding, name="series_embedding")(inputs[-1])
        x = keras.layers.Concatenate(name="with_series")([x, keras.layers.Flatten(name="series_flat")(ids)])
    if spec.dropout > 0:
        x = keras.layers.Dropout(spec.dropout, name="dropout")(x)
    zeros = {"kernel_initializer": "zeros"} if config.output.zero_init else {}
    head = output_head(io).layer(io)
    if zeros:
        if io.output != "point":
            raise ConfigError(f"`zero_init` is for the point output. Received: output type {io.output!r}")
        # The untrained network then forecasts exactly its base (the output is a correction to it).
        head = keras.layers.Dense(io.horizon, name=head.name, dtype="float32", **zeros)
    outputs = head(x)
    if spec.skip == "linear":
        # An autoregressive highway (as in LSTNet): a linear map of the whole (scaled) input window,
        # added to the recurrent part, so the network only has to learn what a linear model misses.
        flat = keras.layers.Flatten(name="window_flat")(inputs[0])
        linear = keras.layers.Dense(io.horizon, name="linear_skip", dtype="float32", **zeros)(flat)
        outputs = add_to_forecast(io, outputs, linear, name="forecast_sum")
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=f"forecaster_{spec.cell}")
