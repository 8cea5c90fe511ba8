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

``config.runtime.mixed_precision`` builds the layers under a Keras mixed dtype policy
(compute in float16/bfloat16, variables in float32); the output ``Dense``
stays float32 so the loss and the forecasts are float32. The global policy is
set only while the model is built and restored afterwards.

``Forecaster.fit`` compiles with ``steps_per_execution`` > 1 on the
TensorFlow backend: one call into the compiled training function runs several
batches, so Python's per-batch overhead is paid once per group (this matters
most for small, fast cells such as SimpleRNN). See
:func:`forecaster.pipeline.steps_per_execution_for`.
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


#: Most batches per call of the compiled training function that ``Forecaster.fit`` asks for
#: (TensorFlow backend, no tf.distribute strategy; 1 elsewhere).
STEPS_PER_EXECUTION = 16


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


def build_model(config: ForecastConfig, n_features: int, *, steps_per_execution: int = 1) -> keras.Model:
    """Build and compile the network described by ``config``.

    Args:
        config: hyperparameters (``cell``, ``layers``, ``units``,
            ``bidirectional``, ``dropout``, ``recurrent_dropout``,
            ``lookback``, ``horizon``, ``learning_rate``, ``clipnorm``,
            ``mixed_precision``, ``jit_compile``). Call it inside
            ``strategy.scope()`` to place the variables on a
            ``tf.distribute`` strategy's replicas.
        n_features: input columns per time step (target included).
        steps_per_execution: batches per call of the compiled training
            function (Keras' ``compile`` argument); it must divide the
            batches of an epoch (:func:`forecaster.pipeline.steps_per_execution_for`).

    Returns:
        A compiled ``keras.Model`` mapping ``(batch, lookback, n_features)``
        to ``(batch, horizon)``. The optimizer is new on every call, so a
        refit never continues an old optimizer's state.

    >>> m = build_model(ForecastConfig(cell="lstm", layers=2, units=4, lookback=8, horizon=3), n_features=2)
    >>> m.output_shape
    (None, 3)
    """
    policy = PRECISION_POLICIES[config.runtime.mixed_precision]
    if policy is None:
        return _build(config, n_features, steps_per_execution)
    # The dtype policy is process-global: set it for this build only, so models
    # built or loaded later (each layer stores its own policy) are unaffected.
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        return _build(config, n_features, steps_per_execution)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def _build(config: ForecastConfig, n_features: int, steps_per_execution: int) -> keras.Model:
    layer_cls = CELLS[config.model.cell]
    inputs = keras.Input(shape=(config.window.lookback, n_features), name="window")
    x = inputs
    for i in range(config.model.layers):
        # Every layer but the last passes the whole sequence to the next one.
        return_sequences = i < config.model.layers - 1
        layer = layer_cls(
            config.model.units,
            return_sequences=return_sequences,
            dropout=config.model.dropout,
            recurrent_dropout=config.model.recurrent_dropout,
            name=f"{config.model.cell}_{i + 1}",
        )
        if config.model.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{i + 1}")
        x = layer(x)
    if config.model.dropout > 0:
        x = keras.layers.Dropout(config.model.dropout, name="dropout")(x)
    outputs = keras.layers.Dense(config.window.horizon, name="forecast", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name=f"forecaster_{config.model.cell}")
    optimizer = keras.optimizers.Adam(learning_rate=config.train.learning_rate, clipnorm=config.train.clipnorm or None)
    # With "mixed_float16" Keras wraps the optimizer in a LossScaleOptimizer (dynamic loss scaling).
    model.compile(
        optimizer=optimizer, loss="mse", jit_compile=config.runtime.jit_compile, steps_per_execution=steps_per_execution
    )
    return model
