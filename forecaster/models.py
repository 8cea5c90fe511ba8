"""Recurrent model builder: one registry, one ``build_model``.

The network is deliberately plain so it loads with ``safe_mode=True`` and runs
on every Keras 3 backend (TensorFlow, JAX, PyTorch)::

    Input (lookback, n_features)
      -> [Bidirectional] RNN cell x layers   (return_sequences on all but the last)
      -> Dropout (if dropout > 0)
      -> Dense(horizon)                      direct multi-step output

Defaults keep LSTM and GRU layers eligible for the fused cuDNN kernels on a GPU
(tanh / sigmoid activations, no recurrent dropout, ``unroll=False``,
``use_bias=True``, GRU ``reset_after=True``). :func:`cudnn_issues` says when a
setting leaves that path.
"""

from __future__ import annotations

import keras

from forecaster.config import ForecastConfig

#: Registry of recurrent cells. Keys are the canonical ``--cell`` names.
CELLS: dict[str, type[keras.layers.Layer]] = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
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
    if config.cell == "simple_rnn":
        issues.append("SimpleRNN has no fused cuDNN kernel; use --cell lstm or gru for GPU speed")
    if config.recurrent_dropout > 0:
        issues.append(
            f"recurrent_dropout={config.recurrent_dropout} > 0 disables the fused cuDNN kernel "
            "(training is several times slower on a GPU)"
        )
    return issues


def build_model(config: ForecastConfig, n_features: int) -> keras.Model:
    """Build and compile the network described by ``config``.

    Args:
        config: hyperparameters (``cell``, ``layers``, ``units``,
            ``bidirectional``, ``dropout``, ``recurrent_dropout``,
            ``lookback``, ``horizon``, ``learning_rate``, ``clipnorm``).
        n_features: input columns per time step (target included).

    Returns:
        A compiled ``keras.Model`` mapping ``(batch, lookback, n_features)``
        to ``(batch, horizon)``. The optimizer is new on every call, so a
        refit never continues an old optimizer's state.

    >>> m = build_model(ForecastConfig(cell="lstm", layers=2, units=4, lookback=8, horizon=3), n_features=2)
    >>> m.output_shape
    (None, 3)
    """
    layer_cls = CELLS[config.cell]
    inputs = keras.Input(shape=(config.lookback, n_features), name="window")
    x = inputs
    for i in range(config.layers):
        # Every layer but the last passes the whole sequence to the next one.
        return_sequences = i < config.layers - 1
        layer = layer_cls(
            config.units,
            return_sequences=return_sequences,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            name=f"{config.cell}_{i + 1}",
        )
        if config.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{i + 1}")
        x = layer(x)
    if config.dropout > 0:
        x = keras.layers.Dropout(config.dropout, name="dropout")(x)
    outputs = keras.layers.Dense(config.horizon, name="forecast", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name=f"forecaster_{config.cell}")
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate, clipnorm=config.clipnorm)
    model.compile(optimizer=optimizer, loss="mse")
    return model
