"""Prediction without TensorFlow: forecaster's NumPy graph and Keras' NumPy backend against Keras.

Every registered model family (``MODEL_BUILDERS``) and output head
(``OUTPUT_HEADS``) is built with random weights in each variant (cells,
stacked and bidirectional layers, ensembles, the linear skip, known-future
inputs, a panel's series embedding), saved, and predicted by the inference
paths; the outputs must equal Keras' on the same inputs within 1e-5. A family
or head added later is picked up by the parametrisation; one that the NumPy
graph does not compute must be refused when read (then Keras loads it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError
from forecaster.inference import WEIGHTS_FILE, NumpyModel, UnsupportedModel, export_weights
from forecaster.models import MODEL_BUILDERS, OUTPUT_HEADS, IOSpec, build_model

REPO = Path(__file__).resolve().parents[1]
#: Families and heads whose every variant forecaster's NumPy graph must compute (others may be refused
#: when read; Keras then runs them, checked by test_keras_numpy_backend_equals_tensorflow).
NUMPY_GRAPH_FAMILIES = {"rnn"}
NUMPY_GRAPH_HEADS = {"point"}
#: name -> (config keywords, IOSpec keywords)
VARIANTS = {
    "ensemble_skip_future": ({"cell": "gru", "skip": "linear", "dropout": 0.2}, {"members": 3, "n_future": 2}),
    "lstm": ({"cell": "lstm"}, {}),
    "simple_rnn_calendar": ({"cell": "simple_rnn"}, {"n_future": 3}),
    "stacked_bidirectional": ({"cell": "lstm", "layers": 2, "bidirectional": True}, {}),
    "panel_embedding": ({"cell": "gru", "series_embedding": 2}, {"n_series": 3, "embedding": 2}),
}
#: The default test tier runs the first (richest) variant of every family and head; the others are slow-tier.
DEFAULT_VARIANT = next(iter(VARIANTS))
CASES = [(m, o, v) for m in MODEL_BUILDERS for o in OUTPUT_HEADS for v in VARIANTS]
PARAMS = [pytest.param(*c, marks=() if c[2] == DEFAULT_VARIANT else pytest.mark.slow) for c in CASES]


def _case(model_type: str, output: str, variant: str, seed: int = 0):
    """A built model with random (non-zero) weights and random inputs of its shapes."""
    import keras

    params, io_kw = VARIANTS[variant]
    try:
        cfg = ForecastConfig(model=model_type, output=output, units=5, lookback=7, horizon=3, **params)
    except ConfigError as exc:  # e.g. bidirectional layers outside the rnn family
        pytest.skip(f"not a valid combination: {exc}")
    if "quantiles" in {f.name for f in dataclasses.fields(IOSpec)}:  # the head's quantiles, as fit passes them
        io_kw = {**io_kw, "quantiles": tuple(getattr(cfg.output, "head_quantiles", ()))}
    io = IOSpec(lookback=7, horizon=3, n_past=2 + io_kw.get("n_future", 0), output=output, **io_kw)
    keras.utils.set_random_seed(seed)
    try:
        model = build_model(cfg, io)
    except ConfigError as exc:  # e.g. a decoder family with the quantile head: a combination that does not exist
        pytest.skip(f"not a valid combination: {exc}")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()])
    x = [rng.normal(0, 1, (6, 7, io.n_past)).astype("float32")]
    if io.n_future:
        x.append(rng.normal(0, 1, (6, 3, io.n_future)).astype("float32"))
    if io.embedding:
        x.append(rng.integers(0, io.n_series, (6, 1)).astype("int32"))
    return model, tuple(x) if len(x) > 1 else x[0]


@pytest.mark.parametrize(("model_type", "output", "variant"), PARAMS)
def test_numpy_graph_equals_keras(model_type, output, variant, tmp_path):
    model, x = _case(model_type, output, variant)
    model.save(tmp_path / "model.keras")
    export_weights(model, tmp_path / WEIGHTS_FILE)
    expected = np.asarray(model.predict_on_batch(x))
    try:
        graph = NumpyModel.from_run(tmp_path / "model.keras", tmp_path / WEIGHTS_FILE)
    except UnsupportedModel as exc:
        # A clean refusal when read is allowed for families added later (Keras then loads them) ...
        must = model_type in NUMPY_GRAPH_FAMILIES and output in NUMPY_GRAPH_HEADS
        assert not must, f"the NumPy graph refused {model_type}/{output}/{variant}: {exc}"
        return
    got = graph.predict_on_batch(x)
    assert got.shape == expected.shape and graph.output_shape == tuple(model.output_shape)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert np.abs(expected).max() > 0.05  # the comparison is not of zeros


def test_numpy_graph_refuses_what_it_does_not_compute(tmp_path):
    import keras

    inp = keras.Input((4, 2))
    out = keras.layers.Dense(3)(keras.layers.Conv1D(2, 2)(inp))
    model = keras.Model(inp, keras.layers.Flatten()(out))
    model.save(tmp_path / "model.keras")
    export_weights(model, tmp_path / WEIGHTS_FILE)
    with pytest.raises(UnsupportedModel, match="Conv1D"):
        NumpyModel.from_run(tmp_path / "model.keras", tmp_path / WEIGHTS_FILE)
    # A mixed-precision model computes in bfloat16: refused, not silently computed in float32.
    mixed = build_model(ForecastConfig(units=3, lookback=7, horizon=3, mixed_precision="bfloat16"),
                        IOSpec(lookback=7, horizon=3, n_past=2))
    mixed.save(tmp_path / "mixed.keras")
    export_weights(mixed, tmp_path / "mixed.npz")
    with pytest.raises(UnsupportedModel, match="bfloat16"):
        NumpyModel.from_run(tmp_path / "mixed.keras", tmp_path / "mixed.npz")


_SUBPROCESS_PREDICT = """
import json, os, sys
from pathlib import Path
import numpy as np
import forecaster as fc
from forecaster.forecaster import _load_inference_model
from forecaster import runtime
runtime.import_for_inference()
out = {"backend": runtime.backend_name()}
for path in sorted(Path(sys.argv[1]).glob("*.keras")):
    x = np.load(path.with_suffix(".npz"))
    inputs = tuple(x[k] for k in sorted(x.files))
    model = _load_inference_model(path)
    out[path.stem] = np.asarray(model.predict_on_batch(inputs if len(inputs) > 1 else inputs[0])).tolist()
out["tensorflow_imported"] = "tensorflow" in sys.modules
print(json.dumps(out))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "FORECASTER_INFERENCE")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return {**env, **extra}


@pytest.mark.slow
def test_keras_numpy_backend_equals_tensorflow(tmp_path):
    """The second tier (Keras on its NumPy backend, for what the NumPy graph refuses), in one child process."""
    pytest.importorskip("jax", reason="Keras' NumPy backend needs jax importable")
    expected = {}
    for i, (model_type, output, variant) in enumerate(CASES):
        if variant not in ("stacked_bidirectional", "ensemble_skip_future", "panel_embedding"):
            continue  # the richest graphs of each family and head keep the child process short
        name = f"{i:02d}_{model_type}_{output}_{variant}"
        try:
            model, x = _case(model_type, output, variant, seed=i)
        except pytest.skip.Exception:
            continue
        model.save(tmp_path / f"{name}.keras")
        xs = x if isinstance(x, tuple) else (x,)
        np.savez(tmp_path / f"{name}.npz", **{f"x{j}": a for j, a in enumerate(xs)})
        expected[name] = np.asarray(model.predict_on_batch(x))
    proc = subprocess.run([sys.executable, "-c", _SUBPROCESS_PREDICT, str(tmp_path)], capture_output=True,
                          text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["backend"] == "numpy" and got["tensorflow_imported"] is False
    for name, want in expected.items():
        np.testing.assert_allclose(np.asarray(got[name]), want, rtol=1e-5, atol=1e-5, err_msg=name)


_SUBPROCESS_LOAD = """
import json, sys
import forecaster as fc
m = fc.load(sys.argv[1])
f = m.predict()
print(json.dumps({"values": f.iloc[:, 0].tolist(), "on": m.model_backend_,
                  "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}))
"""


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    from tests.helpers import write_sensor_csv

    root = tmp_path_factory.mktemp("runs")
    csv = write_sensor_csv(root / "sensor.csv", n=160)
    m = fc.Forecaster(units=4, epochs=1, lookback=12, horizon=4, ensemble=2, calendar=True, skip="linear",
                      min_steps_per_epoch=1)
    m.fit(fc.read_csv(csv, target="temp"))
    run = m.save(root / "r")
    return run, m.predict().iloc[:, 0].to_numpy()


def _child_backend() -> str:
    """The backend a child process with ``_env()`` trains on (``forecaster.runtime.training_backend``, tested in
    tests/test_backend.py): JAX on a CPU-only machine with jax installed, else TensorFlow."""
    code = "from forecaster.runtime import training_backend; print(training_backend())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120,
                          check=True)
    return proc.stdout.strip()


def _load_in_child(run: Path, **env: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _SUBPROCESS_LOAD, str(run)], capture_output=True, text=True,
                          env=_env(**env), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.slow  # a fit and a child process: over the default tier's time budget
def test_load_predict_imports_neither_keras_nor_tensorflow(saved_run):
    run, expected = saved_run
    got, _ = _load_in_child(run)
    assert got["on"] == "numpy-graph" and not got["keras"] and not got["tensorflow"]
    np.testing.assert_allclose(got["values"], expected, rtol=1e-5)


@pytest.mark.slow
def test_runs_without_the_weights_file_load_with_keras(saved_run, tmp_path):
    """A run saved before predict.npz existed: Keras on its NumPy backend, still no TensorFlow."""
    pytest.importorskip("jax")
    import shutil

    run, expected = saved_run
    old = shutil.copytree(run, tmp_path / "old")
    (old / WEIGHTS_FILE).unlink()
    got, _ = _load_in_child(old)
    assert got["on"] == "numpy" and not got["tensorflow"]
    np.testing.assert_allclose(got["values"], expected, rtol=1e-5)
    got, _ = _load_in_child(old, FORECASTER_INFERENCE="default")  # the backend a fit would train on
    backend = _child_backend()
    assert got["on"] == backend and got["tensorflow"] == (backend == "tensorflow")
    np.testing.assert_allclose(got["values"], expected, rtol=1e-5)


@pytest.mark.slow
def test_load_then_fit_in_one_process(saved_run, tmp_path):
    """A notebook that loads (no Keras) and then trains: training switches to the backend a fit trains on."""
    run, expected = saved_run
    script = f"""
import json, sys
import forecaster as fc
from tests.helpers import seasonal_frame
m = fc.load({str(run)!r}); first = m.predict().iloc[:, 0].tolist()
frame = seasonal_frame(n=160)
m2 = fc.Forecaster(units=4, epochs=1, lookback=12, horizon=4, ensemble=1, min_steps_per_epoch=1)
m2.fit(frame, target="temp")
again = m.predict().iloc[:, 0].tolist()
import keras
print(json.dumps({{"first": first, "again": again, "backend": keras.backend.backend(), "fitted": m2.predict().shape[0]}}))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=300,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["backend"] == _child_backend() and got["fitted"] == 4
    np.testing.assert_allclose(got["first"], expected, rtol=1e-5)
    np.testing.assert_allclose(got["again"], expected, rtol=1e-5)


@pytest.mark.slow
def test_cli_predict_imports_neither_keras_nor_tensorflow(saved_run, tmp_path):
    """`forecast predict` in a fresh process: same forecasts, TensorFlow never imported (checked via -X importtime)."""
    run, expected = saved_run
    cmd = [sys.executable, "-X", "importtime", "-m", "forecaster.cli", "-v", "--runs-dir", str(run.parent),
           "predict", "--model", str(run), "--output", str(tmp_path / "f.csv")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "tensorflow" not in imported and "keras" not in imported
    got = pd.read_csv(tmp_path / "f.csv").iloc[:, 1].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_numpy_graph_is_checked_against_the_manifest_config(tiny_run):
    """A run loaded on the NumPy graph is refused when its recurrent layers are not those its config builds."""
    from forecaster.exceptions import ArtifactError
    from forecaster.forecaster import Forecaster, _check_model_architecture

    run = Forecaster.load(tiny_run)  # (Keras is imported in this process: the Keras model, for its config)
    graph = NumpyModel.from_run(tiny_run / "model.keras", tiny_run / WEIGHTS_FILE)
    assert graph.recurrent_layers() == [("GRU", 3, False)]
    _check_model_architecture(graph, run.config, run.io_, tiny_run / "model.keras")  # its own config: accepted
    for other in ({"cell": "lstm"}, {"units": 4}, {"layers": 2}, {"bidirectional": True}):
        with pytest.raises(ArtifactError, match="does not match its manifest"):
            _check_model_architecture(graph, run.config.replace(**other), run.io_, tiny_run / "model.keras")
