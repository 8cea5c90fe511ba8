"""Encoder-decoder families: ``seq2seq`` and ``attention`` (``model.type``).

::

    seq2seq
      window (lookback, n_past) -> encoder RNN x layers -> final state(s) --+
                                                                          v
      step t:  [previous value, future_t] -> decoder RNN x layers (state carried) -> head -> y_t
                      ^                                                              |
                      +---- training: true y_{t-1} (teacher forcing) ; inference: own y_{t-1}

    attention (Bahdanau-style: the query is the decoder state before step t)
      encoder states h_1..h_L (every lookback step) ----------------+
      step t: score(s_{t-1}, h_j) -> softmax a_tj -> context c_t = sum_j a_tj h_j
              [previous value, future_t, c_t] -> decoder -> [s_t, c_t] -> head -> y_t
      score: additive  v . tanh(W_q s + W_k h)  (Bahdanau)   or   dot  s . h  (Luong)

A panel's per-series vectors (the series embedding, the standardised static
attributes) join each step's decoder output before the head.

The decoder is unrolled over the horizon in the functional graph: the same
recurrent layers (``return_state``, called on one step with the carried
state as ``initial_state``), the same attention and the same head are
called at every step, so the weights are shared across steps and the saved
model is plain Keras layers plus :mod:`forecaster.models.layers`.

Teacher forcing needs the true previous values, which a forecast does not
have. The model is therefore built as two graphs over the *same* layers:

* ``graph="train"``: one more input, ``teacher`` ``(batch, horizon)`` (the
  training targets, supplied by :mod:`forecaster.training.pipeline`), and a
  :class:`~forecaster.models.layers.TeacherForcing` layer per step that
  passes the true ``y_{t-1}`` in training (or, with ``scheduled_sampling``
  p, the model's own prediction with probability p) and the model's own
  prediction when not training (so validation losses are free-running);
* ``graph="predict"`` (what is saved and served): no ``teacher`` input,
  each step fed its own previous prediction.

:func:`forecaster.training.train` fits the first and copies the weights into
the second (same layers in the same order). ``graph="attention"`` is the
predict graph with a second output, the attention weights ``(batch,
horizon, lookback)``, for :func:`forecaster.models.attention_weights`.

Every value the decoder sees or emits is in the space of the model's
outputs: the scaled target minus its baseline forecast (naive or seasonal
naive, see ``output.base``), so teacher values and fed-back predictions are
alike; the first step's previous value is 0 ("as the baseline says").

With the quantile head (``output.type = "quantiles"``) each step emits
``(batch, 1, Q)`` ordered quantiles (:class:`~forecaster.models.heads.QuantileHead`
with a horizon of one, shared by every step) and the decoder feeds back the
**median** (:class:`~forecaster.models.layers.QuantilePick`): the point
forecast, the value the true previous value stands in for in training
(teacher forcing is unchanged). Feeding back another quantile would make
every later step's median depend on how wide the band is. The steps are
stacked on axis 1: ``(batch, horizon, Q)``, as the other families emit.
"""

from __future__ import annotations

import keras

from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError
from forecaster.models.common import head_layer, inputs_of, per_series, step_io, with_linear_skip
from forecaster.models.heads import IOSpec
from forecaster.models.layers import QuantilePick, StartToken, StepSlice, TeacherForcing
from forecaster.models.rnn import CELLS

GRAPHS = ("predict", "train", "attention")


def build_seq2seq(config: ForecastConfig, io: IOSpec, *, graph: str = "predict") -> keras.Model:
    """Encoder RNN over the lookback, decoder RNN over the horizon (see the module docstring)."""
    return _build(config, io, graph=graph, attention=None)


def build_attention(config: ForecastConfig, io: IOSpec, *, graph: str = "predict") -> keras.Model:
    """:func:`build_seq2seq` whose decoder attends over every encoder state (``model.attention`` score)."""
    return _build(config, io, graph=graph, attention=config.model.attention)


def _build(config: ForecastConfig, io: IOSpec, *, graph: str, attention: str | None) -> keras.Model:
    if graph not in GRAPHS:
        raise ConfigError(f"`graph` must be one of {', '.join(GRAPHS)}. Received: graph={graph!r}")
    if graph == "attention" and attention is None:
        raise ConfigError("Attention weights exist for the attention family only. Received: model='seq2seq'")
    spec = config.model
    one = step_io(io)  # one step's shapes; a quantile head keeps its quantiles
    # A quantile head emits (batch, 1, Q) per step; the median is the step's point forecast and is fed back.
    median = QuantilePick(io.quantiles.index(0.5), name="fed_back_median") if io.output == "quantiles" else None
    rnn_cls = CELLS[spec.cell]
    ins = inputs_of(io, teacher=graph == "train")

    # Encoder: every layer returns its whole sequence (the attention memory) and its final state(s).
    x = ins.window
    states = []
    for i in range(spec.layers):
        out = rnn_cls(spec.units, return_sequences=True, return_state=True, dropout=spec.dropout,
                      recurrent_dropout=spec.recurrent_dropout, name=f"encoder_{spec.cell}_{i + 1}")(x)
        x, state = out[0], list(out[1:])
        states.append(state)
    memory = x  # (batch, lookback, units)

    decoders = [
        rnn_cls(spec.units, return_sequences=True, return_state=True, dropout=spec.dropout,
                recurrent_dropout=spec.recurrent_dropout, name=f"decoder_{spec.cell}_{i + 1}")
        for i in range(spec.layers)
    ]
    if attention == "additive":
        query_proj = keras.layers.Dense(spec.units, use_bias=False, name="attention_query")
        keys = keras.layers.Dense(spec.units, name="attention_keys")(memory)
        scorer = keras.layers.AdditiveAttention(name="attention")
    elif attention == "dot":
        query_proj, keys = None, memory
        scorer = keras.layers.Attention(score_mode="dot", name="attention")
    query_shape = keras.layers.Reshape((1, spec.units), name="query")
    as_step = keras.layers.Reshape((1, 1), name="previous_value")
    flat = keras.layers.Flatten(name="step_flat")
    head = head_layer(config, one)  # Dense(1) (or QuantileHead(1, Q)): one step's forecast, shared by every step
    drop = keras.layers.Dropout(spec.dropout, name="dropout") if spec.dropout > 0 else None
    teacher = None
    if ins.teacher is not None:
        teacher = TeacherForcing(spec.scheduled_sampling, seed=config.train.seed, name="teacher_forcing")
    vectors = per_series(io, ins)  # the series embedding and static attributes, joined at every step

    previous = StartToken(name="start")(ins.window)
    preds, weights = [], []
    for t in range(io.horizon):
        if t > 0:
            own = preds[-1] if median is None else median(preds[-1])  # (batch, 1)
            if teacher is not None:
                own = teacher([own, StepSlice(t - 1, name=f"teacher_{t}")(ins.teacher)])
            previous = as_step(own)
        parts = [previous]
        if ins.future is not None:
            parts.append(StepSlice(t, name=f"future_{t + 1}")(ins.future))
        context = None
        if attention is not None:
            # The query is the top decoder state before step t (the encoder's last state at t = 0).
            query = query_shape(states[-1][0])
            if query_proj is not None:
                query = query_proj(query)
            context, score = scorer([query, memory, keys], return_attention_scores=True)
            parts.append(context)
            weights.append(score)
        h = keras.layers.Concatenate(name=f"step_{t + 1}_in")(parts) if len(parts) > 1 else previous
        new_states = []
        for i, dec in enumerate(decoders):
            out = dec(h, initial_state=states[i])
            h = out[0]
            new_states.append(list(out[1:]))
        states = new_states
        features = [flat(h)]
        if context is not None:
            features.append(flat(context))
        features.extend(vectors)
        z = keras.layers.Concatenate(name=f"step_{t + 1}_features")(features) if len(features) > 1 else features[0]
        if drop is not None:
            z = drop(z)
        preds.append(head(z))  # (batch, 1), or (batch, 1, Q) for a quantile head
    axis = 1 if median is not None else -1  # steps are axis 1 in both: (batch, horizon[, Q])
    outputs = keras.layers.Concatenate(axis=axis, name="decoded", dtype="float32")(preds) if io.horizon > 1 else preds[0]
    outputs = with_linear_skip(config, io, ins.window, outputs)
    name = f"forecaster_{'attention' if attention else 'seq2seq'}_{spec.cell}"
    if graph == "attention":
        scores = keras.layers.Concatenate(axis=1, name="attention_weights")(weights) if io.horizon > 1 else weights[0]
        return keras.Model(ins.model_inputs, [outputs, scores], name=name)
    return keras.Model(ins.model_inputs, outputs, name=name)
