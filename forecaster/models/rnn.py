"""The recurrent family (``model.type = "rnn"``): SimpleRNN, LSTM, GRU.

The network is deliberately plain so it loads with ``safe_mode=True`` and runs
on every Keras 3 backend (TensorFlow, JAX, PyTorch)::

    Input (lookback, n_features)
      -> [Bidirectional] RNN cell x layers   (return_sequences on all but the last)
      -> Dropout (if dropout > 0)
      [-> Concatenate(Flatten(future))]      known-future inputs over the horizon, if any
      [-> Concatenate(Embedding(series))]    a learned vector per series id (panels, --series-embedding)
      [-> Concatenate(static)]               the series' standardised static attributes (panels, --static-features)
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
import numpy as np

from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError
from forecaster.models.common import head_layer, inputs_of, per_series, with_linear_skip
from forecaster.models.heads import IOSpec

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
    >>> cudnn_status(ForecastConfig(model="transformer"), on_gpu=True)[:26]
    'cuDNN: not applicable (tra'
    >>> cudnn_status(ForecastConfig(cell="rnn"), on_gpu=True)
    'cuDNN: not used (SimpleRNN has no fused cuDNN kernel; use --cell lstm or gru for GPU speed)'
    """
    if config.model.type == "transformer":
        return "cuDNN: not applicable (transformer: no recurrent layers; attention and dense layers are matrix products)"
    issues = cudnn_issues(config)
    if issues:
        return f"cuDNN: not used ({'; '.join(issues)})"
    cell = config.model.cell.upper()
    if config.model.type != "rnn":
        # The encoder runs the fused kernel over the lookback; the decoder calls it once per horizon step.
        cell = f"{cell} encoder ({config.model.type}; the decoder runs one step per call)"
    if not on_gpu:
        return f"cuDNN: {cell} eligible (not used: no GPU)"
    if backend != "tensorflow":
        # Keras' JAX and PyTorch backends choose their own GPU RNN kernels.
        return f"cuDNN: {cell} eligible (the {backend} backend picks its own GPU kernel)"
    return f"cuDNN: {cell} eligible (used on GPU)"


def build_rnn(config: ForecastConfig, io: IOSpec, *, graph: str = "predict") -> keras.Model:
    """The recurrent family: stacked (optionally bidirectional) SimpleRNN / LSTM / GRU, direct head.

    Known-future inputs over the horizon (``io.n_future > 0``) are flattened
    and joined to the last recurrent state before the output head, so each
    horizon step's output can use, e.g., that step's calendar position.

    ``multistep="recursive"`` builds :func:`build_recursive_rnn` instead.

    Returns:
        An uncompiled ``keras.Model`` (see :mod:`forecaster.models`).
    """
    spec = config.model
    if spec.multistep == "recursive":
        return build_recursive_rnn(config, io, graph=graph)
    layer_cls = CELLS[spec.cell]
    ins = inputs_of(io)
    inputs = ins.all
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
    vectors = per_series(io, ins)
    if io.embedding:
        # A learned vector per series (panels): what sets this series apart, beside its recent window.
        x = keras.layers.Concatenate(name="with_series")([x, vectors.pop(0)])
    if io.n_static:
        # The series' static attributes (panels): known differences between series, shared across them.
        x = keras.layers.Concatenate(name="with_static")([x, vectors.pop(0)])
    if spec.dropout > 0:
        x = keras.layers.Dropout(spec.dropout, name="dropout")(x)
    outputs = head_layer(config, io)(x)
    outputs = with_linear_skip(config, io, inputs[0], outputs)
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=f"forecaster_{spec.cell}")


def build_recursive_rnn(config: ForecastConfig, io: IOSpec, *, graph: str = "predict") -> keras.Model:
    """The recurrent family, recursive multi-step: a one-step model that continues on its own predictions.

    ::

        window (lookback, n_past) -> RNN x layers (states kept) -> h_0
        step t:  [h_t, future_t, series, static] -> head Dense(1) [+ linear skip_t] -> y_t
                 row_t = [y_t + baseline_t (the target, back in input space), covariates of the last row]
                 row_t -> the same RNN layers, one step, from their states -> h_{t+1}

    The continuation rows go through the *same* recurrent layers as the
    window (shared weights): one model of "the next value given the rows so
    far", applied horizon times. Past covariates are unknown after the
    origin and held at their last observed value; the known-future values
    of step t join the head, as in the direct model. In training the row is
    built from the true previous value (teacher forcing: the classic way to
    fit the one-step model; ``graph="train"``; ``scheduled_sampling`` mixes in
    its own predictions); at inference from the
    model's own prediction, so its errors compound over the horizon, which
    is what this strategy is to be compared on.

    The model's outputs are the target minus its baseline (see
    :mod:`forecaster.windowing`); a prediction is mapped back into the
    window's space by adding the baseline's input value, so the baseline
    (``output.base``) and the normalisation must be known when it is built:
    ``base none`` with window normalisation has no such map and is refused.
    """
    from forecaster.choices import base_steps
    from forecaster.models.common import inputs_of
    from forecaster.models.layers import RecursiveRow, StepSlice, TeacherForcing

    spec = config.model
    if spec.bidirectional:
        raise ConfigError("`bidirectional` does not go with multistep='recursive'. Drop --bidirectional.")
    relative = config.data.normalization == "window"
    steps = base_steps(config.output.base, io.lookback, io.horizon, config.window.season or 1, config.output.step_bases)
    if steps is None and relative:
        raise ConfigError(
            "`multistep='recursive'` maps each prediction back to the window's scale through its baseline; "
            "with base 'none' and window normalisation there is none. Use --base naive (or auto) or "
            "--normalization global."
        )
    if steps is not None and np.ndim(steps) == 2:
        raise ConfigError(
            "`multistep='recursive'` feeds each prediction back as the next input row through a one-row baseline; "
            "naive2, drift and theta are weighted sums of rows. Use --base naive or seasonal_naive."
        )
    one = IOSpec(**{**io.to_dict(), "horizon": 1, "members": 1})
    if io.output != "point":
        raise ConfigError(f"`multistep='recursive'` feeds its point forecast back in; it takes the point output "
                          f"only. Received: output type {io.output!r}")
    layer_cls = CELLS[spec.cell]
    ins = inputs_of(io, teacher=graph == "train")
    layers = [
        layer_cls(spec.units, return_sequences=True, return_state=True, dropout=spec.dropout,
                  recurrent_dropout=spec.recurrent_dropout, name=f"{spec.cell}_{i + 1}")
        for i in range(spec.layers)
    ]

    def advance(x, states):
        new = []
        for i, layer in enumerate(layers):
            out = layer(x, initial_state=states[i]) if states else layer(x)
            x = out[0]
            new.append(list(out[1:]))
        return x, new

    seq, states = advance(ins.window, None)
    h = StepSlice(-1, name="last_state")(seq)
    flat = keras.layers.Flatten(name="state_flat")
    head = head_layer(config, one)
    drop = keras.layers.Dropout(spec.dropout, name="dropout") if spec.dropout > 0 else None
    vectors = per_series(io, ins)
    linear = None
    if spec.skip != "none":
        zeros = {"kernel_initializer": "zeros"} if config.output.zero_init else {}
        window_flat = keras.layers.Flatten(name="window_flat")(ins.window)
        linear = keras.layers.Dense(io.horizon, name="linear_skip", dtype="float32", **zeros)(window_flat)
    teacher = None
    if ins.teacher is not None:
        teacher = TeacherForcing(spec.scheduled_sampling, seed=config.train.seed, name="teacher_forcing")
    preds = []
    for t in range(io.horizon):
        parts = [flat(h)]
        if ins.future is not None:
            parts.append(keras.layers.Flatten(name=f"future_{t + 1}_flat")(
                StepSlice(t, name=f"future_{t + 1}")(ins.future)))
        parts.extend(vectors)
        z = keras.layers.Concatenate(name=f"step_{t + 1}_features")(parts) if len(parts) > 1 else parts[0]
        if drop is not None:
            z = drop(z)
        y = head(z)  # (batch, 1)
        if linear is not None:
            y = keras.layers.Add(name=f"step_{t + 1}_sum", dtype="float32")(
                [y, keras.layers.Flatten(name=f"skip_{t + 1}")(StepSlice(t, name=f"skip_{t + 1}_step")(linear))])
        preds.append(y)
        if t == io.horizon - 1:
            break
        fed = y if teacher is None else teacher([y, StepSlice(t, name=f"teacher_{t + 1}")(ins.teacher)])
        row = RecursiveRow(None if steps is None else int(steps[t]), name=f"row_{t + 1}")([fed, ins.window])
        h, states = advance(row, states)
    outputs = keras.layers.Concatenate(name="recursive", dtype="float32")(preds) if io.horizon > 1 else preds[0]
    return keras.Model(ins.model_inputs, outputs, name=f"forecaster_{spec.cell}_recursive")
