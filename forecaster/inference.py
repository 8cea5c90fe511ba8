"""Prediction from a saved run without importing Keras: the model's graph evaluated in NumPy.

A saved run holds ``model.keras`` (a zip with the layer graph as
``config.json`` and the weights) and, since this version, ``predict.npz``:
the same weights keyed by layer name (``member_1/gru_1/0``), written by
:func:`export_weights` at save time. :class:`NumpyModel` reads the two and
computes the forward pass of the layers forecaster's models are made of
(``InputLayer``, ``Dense``, ``SimpleRNN``/``LSTM``/``GRU``, ``Bidirectional``,
``Flatten``, ``Reshape``, ``Concatenate``, ``Add``, ``Dropout``,
``Embedding``, ``Activation`` and nested functional models) in float32,
as Keras does. It imports neither Keras nor TensorFlow, so loading and
predicting take a fraction of a second and about 150 MB.

Anything else (another layer class, a mixed-precision policy, a masked
input, an option this module does not implement) raises
:class:`UnsupportedModel` while the model is *read*, never while it runs,
and :meth:`forecaster.Forecaster.load` falls back to Keras (its NumPy
backend, else TensorFlow). The test suite checks the forecasts of every
registered model family and output head against Keras' (``tests/test_inference.py``).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

#: Weights of a run by layer path, for :class:`NumpyModel` (plain arrays, loaded with ``allow_pickle=False``).
WEIGHTS_FILE = "predict.npz"
#: Version of the layout of :data:`WEIGHTS_FILE`.
FORMAT = 1

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": lambda x: (1.0 / (1.0 + np.exp(-x))).astype(x.dtype),
    "relu": lambda x: np.maximum(x, 0),
    "softplus": lambda x: np.logaddexp(x, 0).astype(x.dtype),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype),
    "silu": lambda x: (x / (1.0 + np.exp(-x))).astype(x.dtype),
    "swish": lambda x: (x / (1.0 + np.exp(-x))).astype(x.dtype),
}
_RNN = ("SimpleRNN", "LSTM", "GRU")
#: Layer options whose only supported value is the given one (others change the computation).
_FIXED = {
    "stateful": False, "return_state": False,  # zero_output_for_mask matters only with a mask (refused)
    "use_cudnn": None,  # "auto" is accepted too: it only picks the kernel
}


class UnsupportedModel(Exception):
    """The saved model uses something :class:`NumpyModel` does not compute; Keras must load it."""


def export_weights(model: Any, path: Path) -> None:
    """Write ``model``'s weights keyed by layer path (``name/i``, nested models ``outer/inner/i``).

    ``model`` is a functional ``keras.Model``; nothing of Keras is imported here.
    """
    arrays: dict[str, np.ndarray] = {"__format__": np.asarray(FORMAT)}

    def walk(layers, prefix: str) -> None:
        for layer in layers:
            if type(layer).__name__ == "Functional":
                walk(layer.layers, f"{prefix}{layer.name}/")
                continue
            for i, w in enumerate(layer.get_weights()):
                arrays[f"{prefix}{layer.name}/{i}"] = np.asarray(w)

    walk(model.layers, "")
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())


class NumpyModel:
    """A saved functional Keras model evaluated in NumPy (see the module docstring).

    >>> m = NumpyModel.from_run(Path("runs/latest"))       # doctest: +SKIP
    >>> m.predict_on_batch(window_batch).shape             # doctest: +SKIP
    (32, 24)
    """

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        if config.get("class_name") != "Functional":
            raise UnsupportedModel(f"a {config.get('class_name')} model (only functional models)")
        self._config = config["config"]
        self._weights = weights
        self._used: set[str] = set()
        _check_graph(self._config, weights, "", self._used)
        unused = set(weights) - self._used - {"__format__"}
        if unused:
            raise UnsupportedModel(f"weights of no known layer ({', '.join(sorted(unused)[:3])})")
        inputs = [_layer(self._config, name) for name, _, _ in _refs(self._config["input_layers"])]
        self.input_shape = [tuple(layer["config"]["batch_shape"]) for layer in inputs]
        self._dtypes = [layer["config"].get("dtype", "float32") for layer in inputs]
        probe = [np.zeros((1, *shape[1:]), dtype=np.int64 if "int" in str(d) else np.float32)
                 for shape, d in zip(self.input_shape, self._dtypes)]
        if len(self.input_shape) == 1:
            self.input_shape = self.input_shape[0]
        try:  # one zero row through the graph: the output shape, and any mismatch, before real use
            out = self.predict_on_batch(probe)
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise UnsupportedModel(f"the graph does not evaluate ({type(exc).__name__}: {exc})") from None
        self.output_shape = (None, *np.shape(out)[1:])

    def recurrent_layers(self) -> list[tuple[str, int, bool]]:
        """``(cell class, units, bidirectional)`` of each recurrent layer, in graph order (members included).

        What a loaded run's config is checked against without building a Keras model.
        """
        out: list[tuple[str, int, bool]] = []

        def walk(cfg: dict[str, Any]) -> None:
            for layer in cfg["layers"]:
                kind, c = layer["class_name"], layer["config"]
                if kind == "Functional":
                    walk(c)
                elif kind in _RNN:
                    out.append((kind, int(c.get("units", 0)), False))
                elif kind == "Bidirectional":
                    inner = c.get("layer", {})
                    out.append((inner.get("class_name", "?"), int(inner.get("config", {}).get("units", 0)), True))

        walk(self._config)
        return out

    @classmethod
    def from_run(cls, model_file: Path, weights_file: Path) -> "NumpyModel":
        """Read ``model.keras``'s graph and ``predict.npz``'s weights; :class:`UnsupportedModel` if not computable."""
        try:
            with zipfile.ZipFile(model_file) as zf:
                config = json.loads(zf.read("config.json"))
            with np.load(weights_file, allow_pickle=False) as z:
                weights = {k: z[k] for k in z.files}
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise UnsupportedModel(f"unreadable ({exc})") from None
        if int(weights.get("__format__", -1)) != FORMAT:
            raise UnsupportedModel(f"{weights_file.name} has another format")
        return cls(config, weights)

    def predict_on_batch(self, inputs) -> np.ndarray:
        xs = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
        xs = [np.asarray(x, dtype=np.int64 if "int" in str(d) else np.float32) for x, d in zip(xs, self._dtypes)]
        out = _run_graph(self._config, xs, self._weights, "")
        return out[0] if len(out) == 1 else out


# ----------------------------------------------------------------------------- graph
def _refs(spec) -> list[tuple[str, int, int]]:
    """``input_layers``/``output_layers``: one ``[name, node, tensor]`` or a list of them."""
    if spec and isinstance(spec[0], str):
        return [tuple(spec)]
    return [tuple(s) for s in spec]


def _layer(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    for layer in cfg["layers"]:
        if layer["name"] == name:
            return layer
    raise UnsupportedModel(f"no layer {name!r}")


def _is_tensor(obj) -> bool:
    return isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__"


def _resolve(obj, get):
    if _is_tensor(obj):
        return get(tuple(obj["config"]["keras_history"]))
    if isinstance(obj, list):
        return [_resolve(o, get) for o in obj]
    return obj


def _run_graph(cfg: dict[str, Any], inputs: list[np.ndarray], weights: dict[str, np.ndarray], prefix: str):
    layers = {layer["name"]: layer for layer in cfg["layers"]}
    values: dict[tuple[str, int], list[np.ndarray]] = {}
    in_refs = _refs(cfg["input_layers"])
    if len(in_refs) != len(inputs):
        raise ValueError(f"the model takes {len(in_refs)} inputs; received {len(inputs)}")
    for (name, node, _), x in zip(in_refs, inputs):
        values[(name, node)] = [x]

    def get(ref: tuple[str, int, int]) -> np.ndarray:
        name, node, tensor = ref
        if (name, node) not in values:
            layer = layers[name]
            args = _resolve(layer["inbound_nodes"][node]["args"], get)
            out = _call(layer, args[0], weights, f"{prefix}{name}/")
            values[(name, node)] = out if isinstance(out, list) else [out]
        return values[(name, node)][tensor]

    return [get(r) for r in _refs(cfg["output_layers"])]


def _call(layer: dict[str, Any], x, weights: dict[str, np.ndarray], path: str):
    kind, c = layer["class_name"], layer["config"]
    w = [weights[f"{path}{i}"] for i in range(_count(weights, path))]
    if kind == "Functional":
        return _run_graph(c, x if isinstance(x, list) else [x], weights, path)
    if kind in ("Dropout", "InputLayer", "GaussianNoise", "GaussianDropout", "SpatialDropout1D"):
        return x  # inference: identity
    if kind == "Dense":
        y = x @ w[0] + (w[1] if c.get("use_bias", True) else 0)
        return _ACTIVATIONS[_activation(c.get("activation"))](y.astype(np.float32))
    if kind == "Activation":
        return _ACTIVATIONS[_activation(c.get("activation"))](x)
    if kind == "Flatten":
        return x.reshape(len(x), -1)
    if kind == "Reshape":
        return x.reshape(len(x), *c["target_shape"])
    if kind == "Concatenate":
        return np.concatenate(x, axis=c.get("axis", -1))
    if kind == "Add":
        return np.sum(np.stack(x), axis=0)
    if kind == "Embedding":
        return w[0][np.asarray(x, dtype=np.int64)]
    if kind in _RNN:
        return _rnn(kind, c, x, w)
    if kind == "Bidirectional":
        inner = c["layer"]["class_name"]
        fwd_c = c["layer"]["config"]
        bwd_c = c["backward_layer"]["config"] if c.get("backward_layer") else {**fwd_c, "go_backwards": not fwd_c.get("go_backwards", False)}
        n = len(w) // 2
        fwd, bwd = _rnn(inner, fwd_c, x, w[:n]), _rnn(inner, bwd_c, x, w[n:])
        if fwd_c.get("return_sequences"):
            bwd = bwd[:, ::-1]
        mode = c.get("merge_mode", "concat")
        if mode == "concat":
            return np.concatenate([fwd, bwd], axis=-1)
        if mode == "sum":
            return fwd + bwd
        if mode == "ave":
            return (fwd + bwd) / np.float32(2)
        return fwd * bwd  # "mul" (checked when read)
    raise UnsupportedModel(f"layer {kind}")  # pragma: no cover - refused by _check_graph


def _count(weights: dict[str, np.ndarray], path: str) -> int:
    n = 0
    while f"{path}{n}" in weights:
        n += 1
    return n


def _activation(spec) -> str:
    name = spec if isinstance(spec, str) else (spec or {}).get("config", {}).get("name", spec)
    return "linear" if name in (None, "linear") else str(name)


def _rnn(kind: str, c: dict[str, Any], x: np.ndarray, w: list[np.ndarray]) -> np.ndarray:
    """One recurrent layer over ``x`` ``(batch, time, features)``, as Keras computes it (float32)."""
    act = _ACTIVATIONS[_activation(c.get("activation", "tanh"))]
    rec = _ACTIVATIONS[_activation(c.get("recurrent_activation", "sigmoid"))] if kind != "SimpleRNN" else None
    kernel, recurrent = w[0], w[1]
    bias = w[2] if c.get("use_bias", True) else None
    units = recurrent.shape[0]
    steps = x[:, ::-1] if c.get("go_backwards") else x
    batch = len(x)
    h = np.zeros((batch, units), dtype=np.float32)
    cell = np.zeros((batch, units), dtype=np.float32)
    reset_after = kind == "GRU" and c.get("reset_after", True)
    if reset_after and bias is not None:
        x_proj = steps @ kernel + bias[0]
        rec_bias = bias[1]
    else:
        x_proj = steps @ kernel + (bias if bias is not None else 0)
        rec_bias = None
    x_proj = x_proj.astype(np.float32)
    outputs = []
    for t in range(steps.shape[1]):
        xt = x_proj[:, t]
        if kind == "SimpleRNN":
            h = act(xt + h @ recurrent)
        elif kind == "LSTM":
            z = xt + h @ recurrent
            i, f, g, o = np.split(z, 4, axis=-1)
            cell = rec(f) * cell + rec(i) * act(g)
            h = rec(o) * act(cell)
        else:  # GRU: gates z, r, candidate
            xz, xr, xh = np.split(xt, 3, axis=-1)
            if reset_after:
                inner = h @ recurrent + (rec_bias if rec_bias is not None else 0)
                iz, ir, ih = np.split(inner, 3, axis=-1)
                z, r = rec(xz + iz), rec(xr + ir)
                hh = act(xh + r * ih)
            else:
                uz, ur, uh = np.split(recurrent, 3, axis=-1)
                z, r = rec(xz + h @ uz), rec(xr + h @ ur)
                hh = act(xh + (r * h) @ uh)
            h = z * h + (1 - z) * hh
        h = h.astype(np.float32, copy=False)
        if c.get("return_sequences"):
            outputs.append(h)
    return np.stack(outputs, axis=1) if c.get("return_sequences") else h


# ----------------------------------------------------------------------------- checks when read
def _dtype_ok(c: dict[str, Any]) -> bool:
    d = c.get("dtype", "float32")
    name = d if isinstance(d, str) else (d or {}).get("config", {}).get("name", "float32")
    return name in ("float32", "int32", "int64", None)


def _check_graph(cfg: dict[str, Any], weights: dict[str, np.ndarray], prefix: str, used: set[str]) -> None:
    """Refuse, before any computation, what :func:`_call` does not compute exactly like Keras."""
    for layer in cfg["layers"]:
        kind, c, name = layer["class_name"], layer["config"], layer["name"]
        path = f"{prefix}{name}/"
        if len(layer.get("inbound_nodes", [])) > 1:
            raise UnsupportedModel(f"layer {name} is called more than once")
        for node in layer.get("inbound_nodes", []):
            kwargs = node.get("kwargs", {})
            masks = kwargs.get("mask")
            if any(m is not None for m in (masks if isinstance(masks, list) else [masks])):
                raise UnsupportedModel(f"layer {name} is masked")
            if set(kwargs) - {"mask", "training"} or len(node.get("args", [])) != 1:
                raise UnsupportedModel(f"layer {name} is called with other arguments")
        if kind == "Functional":
            _check_graph(c, weights, path, used)
            continue
        if not _dtype_ok(c):
            raise UnsupportedModel(f"layer {name} computes in {c.get('dtype')}")
        n = _count(weights, path)
        used.update(f"{path}{i}" for i in range(n))
        if kind in ("Dropout", "InputLayer", "GaussianNoise", "GaussianDropout", "SpatialDropout1D",
                    "Flatten", "Reshape", "Add", "Concatenate"):
            if kind == "InputLayer" and (c.get("sparse") or c.get("ragged")):
                raise UnsupportedModel(f"input {name} is sparse or ragged")
            if kind == "Flatten" and c.get("data_format", "channels_last") != "channels_last":
                raise UnsupportedModel(f"layer {name}: data_format {c.get('data_format')}")
            expected = 0
        elif kind in ("Dense", "Activation"):
            if _activation(c.get("activation")) not in _ACTIVATIONS:
                raise UnsupportedModel(f"layer {name}: activation {c.get('activation')}")
            if kind == "Dense" and c.get("lora_rank"):
                raise UnsupportedModel(f"layer {name}: LoRA")
            expected = 0 if kind == "Activation" else 1 + bool(c.get("use_bias", True))
        elif kind == "Embedding":
            if c.get("mask_zero") or c.get("lora_rank"):
                raise UnsupportedModel(f"layer {name}: mask_zero or LoRA")
            expected = 1
        elif kind in _RNN:
            expected = _check_rnn(kind, c, name)
        elif kind == "Bidirectional":
            inner = c.get("layer", {})
            back = c.get("backward_layer") or inner
            if inner.get("class_name") not in _RNN or back.get("class_name") != inner.get("class_name"):
                raise UnsupportedModel(f"layer {name} wraps {inner.get('class_name')}")
            if c.get("merge_mode", "concat") not in ("concat", "sum", "ave", "mul"):
                raise UnsupportedModel(f"layer {name}: merge_mode {c.get('merge_mode')}")
            expected = _check_rnn(inner["class_name"], inner["config"], name) + _check_rnn(
                back["class_name"], back["config"], name
            )
        else:
            raise UnsupportedModel(f"layer {kind}")
        if n != expected:
            raise UnsupportedModel(f"layer {name} has {n} weight arrays, expected {expected}")


def _check_rnn(kind: str, c: dict[str, Any], name: str) -> int:
    for key, value in _FIXED.items():
        if key in c and c[key] != value and not (key == "use_cudnn" and c[key] == "auto"):
            raise UnsupportedModel(f"layer {name}: {key}={c[key]!r}")
    if not _dtype_ok(c):
        raise UnsupportedModel(f"layer {name} computes in {c.get('dtype')}")
    for key in ("activation", "recurrent_activation"):
        if key in c and _activation(c[key]) not in _ACTIVATIONS:
            raise UnsupportedModel(f"layer {name}: {key} {c[key]}")
    return 2 + bool(c.get("use_bias", True))
