"""--strategy: MirroredStrategy over two logical CPUs, MultiWorkerMirroredStrategy with two local workers.

Logical devices must be configured before TensorFlow initialises, and a
multi-worker strategy before TensorFlow runs any op, so both run in fresh
processes. Workers only listen on 127.0.0.1, and every process has a timeout.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from helpers import write_sensor_csv

import forecaster.runtime as runtime
from forecaster import data
from forecaster.cli import cli
from forecaster.config import ForecastConfig
from forecaster.training.distribute import describe, get_strategy
from forecaster.exceptions import ConfigError
from forecaster.forecaster import Forecaster

TIMEOUT = 180
FIT = ["--target", "temp", "--features", "load", "--units", "4", "--epochs", "2", "--ensemble", "1", "--min-steps-per-epoch", "1", "--lookback", "16",
       "--horizon", "4", "--batch-size", "8", "--patience", "5"]

#: Runs the CLI after splitting the CPU into two logical devices (before TensorFlow initialises them).
TWO_CPUS = textwrap.dedent(
    """
    import sys
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from forecaster.cli import main

    main(sys.argv[1:])
    """
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)
    return env


def _steps(stdout: str) -> list[int]:
    """Steps per epoch from Keras' one-line-per-epoch log ('13/13 - 1s - ...')."""
    return [int(a) for a, b in re.findall(r"^(\d+)/(\d+) - ", stdout, flags=re.M) if a == b]


@pytest.fixture(scope="module")
def sensor_csv(tmp_path_factory) -> Path:
    return write_sensor_csv(tmp_path_factory.mktemp("d") / "sensor.csv", n=240)


@pytest.mark.slow  # a fresh TensorFlow process with two logical CPUs
def test_mirrored_on_two_logical_cpus_scales_the_global_batch(tmp_path, sensor_csv):
    proc = subprocess.run(
        [sys.executable, "-c", TWO_CPUS, "--runs-dir", str(tmp_path / "runs"), "fit", str(sensor_csv), *FIT,
         "--strategy", "mirrored", "--name", "m"],
        capture_output=True, text=True, timeout=TIMEOUT, env=_env(), cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Strategy: mirrored: 2 replica(s), global batch 2 x 8 = 16" in proc.stderr
    manifest = json.loads((tmp_path / "runs" / "m" / "forecaster.json").read_text())
    metrics = manifest["metrics"]
    assert (metrics["replicas"], metrics["global_batch_size"]) == (2, 16)
    assert manifest["config"]["train"]["batch_size"] == 8 and manifest["config"]["runtime"]["strategy"] == "mirrored"
    # Every step consumed a global batch of 16 windows (8 per replica).
    assert _steps(proc.stdout) == [math.ceil(metrics["train_windows"] / 16)] * metrics["epochs_run"]
    assert all(np.isfinite(manifest["metrics"][k]) for k in ("val_loss", "val_mae"))
    # The saved model is a plain single-device model: it loads and predicts without a strategy.
    series = data.load(sensor_csv, target="temp", features=["load"])
    forecast = Forecaster.load(tmp_path / "runs" / "m").predict(series)
    assert forecast.shape == (4, 1) and np.isfinite(forecast.to_numpy()).all()


def _free_loopback_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.mark.slow  # two worker processes training together over loopback
def test_multiworker_with_two_local_workers(tmp_path, sensor_csv):
    ports = _free_loopback_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    try:
        for index in range(2):
            tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            # Each worker has its own runs directory, as on separate machines.
            cmd = [sys.executable, "-m", "forecaster.cli", "--runs-dir", str(tmp_path / f"runs{index}"), "fit",
                   str(sensor_csv), *FIT, "--strategy", "multiworker", "--name", "w"]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          env=_env(TF_CONFIG=tf_config), cwd=tmp_path))
        outputs = [p.communicate(timeout=TIMEOUT) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
        assert "Strategy: multiworker: 2 replica(s), global batch 2 x 8 = 16" in err
    runs = [tmp_path / f"runs{i}" / "w" for i in range(2)]
    manifests = [json.loads((r / "forecaster.json").read_text()) for r in runs]
    for m in manifests:
        assert (m["metrics"]["replicas"], m["metrics"]["global_batch_size"]) == (2, 16)
    assert _steps(outputs[0][0]) == [math.ceil(manifests[0]["metrics"]["train_windows"] / 16)] * 2
    # Synchronous training: both workers end with the same weights, hence the same forecast.
    series = data.load(sensor_csv, target="temp", features=["load"])
    a, b = (Forecaster.load(r).predict(series).to_numpy() for r in runs)
    np.testing.assert_array_equal(a, b)
    assert (runs[0] / "history.csv").read_text() == (runs[1] / "history.csv").read_text()


# ---------------------------------------------------------------- in process


def test_default_strategy_is_none():
    assert get_strategy("default") is None
    assert describe("default", None, 64) == "default: 1 device, batch 64"


@pytest.mark.slow  # a full fit under MirroredStrategy; the strategy errors and the default path stay fast
@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute: TensorFlow only")
def test_mirrored_in_process_single_device(tmp_path, sensor_csv):
    series = data.load(sensor_csv, target="temp", features=["load"])
    cfg = ForecastConfig(units=4, epochs=1, lookback=16, horizon=4, batch_size=32, strategy="mirrored", ensemble=1, min_steps_per_epoch=1)
    fc = Forecaster(cfg).fit(series)
    assert fc.metrics_["replicas"] == 1 and fc.metrics_["global_batch_size"] == 32
    loaded = Forecaster.load(fc.save(tmp_path / "m1"))
    np.testing.assert_array_equal(loaded.predict(series).to_numpy(), fc.predict(series).to_numpy())


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute: TensorFlow only")
def test_multiworker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match=r"reads the cluster from the TF_CONFIG environment variable, which is not set"):
        get_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ConfigError, match=r"TF_CONFIG must be JSON naming the cluster's workers and this task"):
        get_strategy("multiworker")


@pytest.mark.parametrize("name", ["mirrored", "multiworker"])
def test_strategies_need_the_tensorflow_backend(monkeypatch, name):
    monkeypatch.setattr(runtime, "backend_name", lambda: "jax")
    msg = f"--strategy {name} needs the TensorFlow backend (tf.distribute); the Keras backend is 'jax'."
    with pytest.raises(ConfigError, match=re.escape(msg)):
        get_strategy(name)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute: TensorFlow only")
def test_cli_multiworker_without_tf_config_is_one_line(monkeypatch, sensor_csv):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    res = CliRunner().invoke(cli, ["fit", str(sensor_csv), *FIT, "--strategy", "multiworker"])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines()[-1].startswith("Error: --strategy multiworker reads the cluster from the TF_CONFIG")
    assert "Traceback" not in res.output
