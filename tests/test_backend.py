"""Which Keras backend a fit trains on: JAX on a CPU, TensorFlow on a GPU or when asked (forecaster.runtime)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_sensor_csv

from forecaster import runtime

ROOT = Path(__file__).resolve().parents[1]
HAS_JAX = importlib.util.find_spec("jax") is not None
TINY = ["--target", "temp", "--units", "4", "--epochs", "1", "--lookback", "16", "--horizon", "4", "--batch-size", "32",
        "--ensemble", "1", "--min-steps-per-epoch", "1"]


@pytest.fixture
def unset(monkeypatch, tmp_path):
    """No KERAS_BACKEND, a Keras home of its own (no keras.json yet), no GPU, jax importable."""
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(runtime, "gpu_present", lambda: False)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "jax" else real(name, *a))
    return tmp_path / "keras-home"


def test_a_cpu_fit_trains_on_jax_when_nothing_else_is_asked(unset):
    assert runtime.training_backend() == "jax"


@pytest.mark.parametrize("backend", ["tensorflow", "torch", "jax"])
def test_keras_backend_variable_wins(unset, monkeypatch, backend):
    monkeypatch.setenv("KERAS_BACKEND", backend)
    assert runtime.training_backend(needs_tensorflow=True) == backend


def test_tensorflow_where_a_gpu_or_a_tensorflow_feature_asks_for_it(unset, monkeypatch):
    assert runtime.training_backend(needs_tensorflow=True) == "tensorflow"
    monkeypatch.setattr(runtime, "gpu_present", lambda: True)
    assert runtime.training_backend() == "tensorflow"


def test_tensorflow_required_by_a_strategy_or_tensorboard():
    from forecaster.config import ForecastConfig

    assert not runtime.tensorflow_required() and not runtime.tensorflow_required(ForecastConfig())
    assert runtime.tensorflow_required(ForecastConfig(strategy="mirrored"))
    assert runtime.tensorflow_required(ForecastConfig(), tensorboard=True)


def test_tensorflow_without_jax(unset, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    assert runtime.training_backend() == "tensorflow"


def test_keras_json_naming_another_backend_is_a_choice_but_its_own_default_is_not(unset):
    unset.mkdir()
    (unset / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert runtime.training_backend() == "torch"
    # Keras writes "tensorflow" there by itself on its first import: not read as a user's choice.
    (unset / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))
    assert runtime.training_backend() == "jax"


def test_gpu_present_reads_the_driver_files_and_cuda_visible_devices(monkeypatch, tmp_path):
    dev = tmp_path / "nvidiactl"
    monkeypatch.setattr(runtime, "NVIDIA_DEVICES", (str(dev),))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert runtime.gpu_present() is False
    dev.write_text("")
    assert runtime.gpu_present() is True
    for hidden in ("", "-1"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
        assert runtime.gpu_present() is False
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert runtime.gpu_present() is True


def _cli(args, cwd: Path, *, code: str = "from forecaster.cli import main; main()") -> subprocess.CompletedProcess:
    """``code`` (the CLI by default) with ``args`` in a child process that has no backend chosen and no GPU."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "FORECASTER_INFERENCE")}
    env.update(PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="", KERAS_HOME=str(cwd / "keras-home"))
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_the_cli_fits_on_jax_without_importing_tensorflow_and_predicts_from_the_run(tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=300)
    probe = ("import sys, atexit; atexit.register(lambda: print('TF-IMPORTED' if 'tensorflow' in sys.modules "
             "else 'TF-NOT-IMPORTED', file=sys.stderr)); from forecaster.cli import main; main()")
    fit = _cli(["fit", "s.csv", *TINY], tmp_path, code=probe)
    assert fit.returncode == 0, fit.stderr
    assert "Device: jax backend on CPU" in fit.stderr
    assert "TF-NOT-IMPORTED" in fit.stderr, "a JAX fit imported TensorFlow (5 s of start-up)"
    manifest = json.loads(next((tmp_path / "runs").glob("*/forecaster.json")).read_text())
    assert "jax" in json.dumps(manifest).lower()
    pred = _cli(["predict"], tmp_path)
    assert pred.returncode == 0, pred.stderr
    assert (tmp_path / "runs" / "latest" / "forecast.csv").exists() or "forecast" in pred.stdout.lower()


def test_a_strategy_keeps_the_fit_on_tensorflow(tmp_path):
    write_sensor_csv(tmp_path / "s.csv", n=300)
    fit = _cli(["fit", "s.csv", *TINY, "--strategy", "mirrored"], tmp_path)
    assert fit.returncode == 0, fit.stderr
    assert "Device: tensorflow backend on CPU" in fit.stderr
