"""Accelerator options: mixed precision, XLA (jit_compile), the cuDNN report; config round trip and CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from helpers import write_sensor_csv

from forecaster import data
from forecaster.cli import cli
from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError
from forecaster.forecaster import Forecaster
from forecaster.models import IOSpec, cudnn_status
from forecaster.training import new_model
from forecaster.runtime import on_gpu, set_seed

TINY = dict(units=4, epochs=1, lookback=16, horizon=4, batch_size=32, patience=1, ensemble=1, min_steps_per_epoch=1)
TINY_CLI = ["--units", "4", "--epochs", "1", "--lookback", "16", "--horizon", "4", "--batch-size", "32", "--ensemble", "1", "--min-steps-per-epoch", "1"]


@pytest.fixture(scope="module")
def sensor(tmp_path_factory):
    path = write_sensor_csv(tmp_path_factory.mktemp("d") / "sensor.csv", n=240)
    return data.load(path, target="temp", features=["load"])


# ----------------------------------------------------------------------- config


def test_defaults():
    cfg = ForecastConfig()
    assert (cfg.runtime.mixed_precision, cfg.runtime.jit_compile, cfg.runtime.strategy) == ("off", "auto", "default")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("mixed_precision", "fp16", "`mixed_precision` must be one of off, float16, bfloat16. Received: mixed_precision='fp16'"),
        ("mixed_precision", None, "`mixed_precision` must be one of off, float16, bfloat16. Received: mixed_precision=None"),
        ("jit_compile", 1, "`jit_compile` must be True, False or 'auto'. Received: jit_compile=1"),
        ("jit_compile", "yes", "`jit_compile` must be True, False or 'auto'. Received: jit_compile='yes'"),
        ("jit_compile", None, "`jit_compile` must be True, False or 'auto'. Received: jit_compile=None"),
        ("strategy", "tpu", "`strategy` must be one of default, mirrored, multiworker. Received: strategy='tpu'"),
    ],
)
def test_invalid_values_are_rejected(field, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        ForecastConfig(**{field: value})


@pytest.mark.parametrize("jit", [True, False, "auto"])
@pytest.mark.parametrize("precision", ["off", "float16", "bfloat16"])
def test_round_trip_through_json(precision, jit):
    cfg = ForecastConfig(mixed_precision=precision, jit_compile=jit, strategy="mirrored")
    again = ForecastConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.runtime.jit_compile == cfg.runtime.jit_compile
    assert type(again.runtime.jit_compile) is type(cfg.runtime.jit_compile)  # True stays a bool, not 1


# ------------------------------------------------------------------- precision


@pytest.mark.parametrize("precision, compute", [("bfloat16", "bfloat16"), ("float16", "float16")])
def test_mixed_precision_build_restores_the_global_policy(precision, compute):
    before = keras.mixed_precision.dtype_policy().name
    model = new_model(ForecastConfig(cell="lstm", units=4, mixed_precision=precision), IOSpec(8, 3, 2))
    assert keras.mixed_precision.dtype_policy().name == before == "float32"
    rnn = model.get_layer("lstm_1")
    assert rnn.dtype_policy.name == f"mixed_{precision}" and rnn.compute_dtype == compute
    assert rnn.variable_dtype == "float32"
    assert model.get_layer("forecast").compute_dtype == "float32"
    out = model.predict_on_batch(np.zeros((2, 8, 2), dtype="float32"))
    assert np.asarray(out).dtype == np.float32
    # float16 gets Keras' dynamic loss scaling; bfloat16 has float32's range and needs none.
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "float16")
    # A model built afterwards is float32 again.
    assert new_model(ForecastConfig(units=4), IOSpec(8, 3, 2)).get_layer("gru_1").compute_dtype == "float32"


def test_policy_is_restored_when_the_build_fails(monkeypatch):
    import forecaster.models as models

    def boom(*args, **kwargs):
        raise RuntimeError("build failed")

    monkeypatch.setitem(models.MODEL_BUILDERS, "rnn", boom)
    with pytest.raises(RuntimeError):
        models.build_model(ForecastConfig(mixed_precision="bfloat16"), IOSpec(8, 3, 1))
    assert keras.mixed_precision.dtype_policy().name == "float32"


@pytest.mark.slow  # a fit on another precision policy repeats the default-tier save/load check
def test_bfloat16_fit_save_load_predict(tmp_path, sensor):
    fc = Forecaster(ForecastConfig(mixed_precision="bfloat16", **TINY)).fit(sensor)
    assert keras.mixed_precision.dtype_policy().name == "float32"
    before = fc.predict(sensor)
    assert np.isfinite(before.to_numpy()).all()
    run = fc.save(tmp_path / "bf16")
    manifest = json.loads((run / "forecaster.json").read_text())
    assert manifest["config"]["runtime"]["mixed_precision"] == "bfloat16"
    loaded = Forecaster.load(run)
    assert loaded.config.runtime.mixed_precision == "bfloat16"
    assert loaded.model_.get_layer("gru_1").compute_dtype == "bfloat16"
    assert keras.mixed_precision.dtype_policy().name == "float32"
    np.testing.assert_array_equal(loaded.predict(sensor).to_numpy(), before.to_numpy())


@pytest.mark.slow  # a second mixed-precision fit; the float16 build (loss scaling) and the bfloat16 fit run by default
def test_float16_fit_runs_on_cpu(sensor):
    fc = Forecaster(ForecastConfig(mixed_precision="float16", **TINY)).fit(sensor)
    assert np.isfinite(fc.predict(sensor).to_numpy()).all()


# ------------------------------------------------------------------------ XLA


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="Keras' auto XLA choice on TensorFlow")
def test_jit_compile_auto_is_off_on_a_cpu_only_machine():
    assert new_model(ForecastConfig(units=4), IOSpec(8, 3, 1)).jit_compile is False


@pytest.mark.slow  # XLA-compiles a fit; the jit_compile settings of the build are checked by default
def test_jit_compile_true_compiles_a_model_xla_supports(sensor):
    # TensorFlow's LSTM/GRU layers are marked not XLA-compatible (cuDNN), so use SimpleRNN;
    # Keras also refuses XLA while op determinism is on, which an explicit --jit-compile turns off.
    cfg = ForecastConfig(cell="simple_rnn", jit_compile=True, **TINY)
    set_seed(0, deterministic=False)
    try:
        assert new_model(cfg, IOSpec(cfg.window.lookback, cfg.window.horizon, 1)).jit_compile is True
        fc = Forecaster(cfg).fit(sensor)
        assert fc.model_.jit_compile is True
        assert np.isfinite(fc.predict(sensor).to_numpy()).all()
    finally:
        set_seed(0)


def test_no_jit_compile_is_passed_to_compile():
    assert new_model(ForecastConfig(units=4, jit_compile=False), IOSpec(8, 3, 1)).jit_compile is False


# ---------------------------------------------------------------------- cuDNN


@pytest.mark.parametrize(
    "cfg, on_gpu, backend, expected",
    [
        (ForecastConfig(cell="lstm"), True, "tensorflow", "cuDNN: LSTM eligible (used on GPU)"),
        (ForecastConfig(cell="gru"), False, "tensorflow", "cuDNN: GRU eligible (not used: no GPU)"),
        (ForecastConfig(cell="gru"), True, "jax", "cuDNN: GRU eligible (the jax backend picks its own GPU kernel)"),
        (
            ForecastConfig(cell="lstm", recurrent_dropout=0.2),
            True,
            "tensorflow",
            "cuDNN: not used (recurrent_dropout=0.2 > 0 disables the fused cuDNN kernel "
            "(training is several times slower on a GPU))",
        ),
    ],
)
def test_cudnn_status(cfg, on_gpu, backend, expected):
    assert cudnn_status(cfg, on_gpu=on_gpu, backend=backend) == expected


# ------------------------------------------------------------------------ CLI


@pytest.mark.slow  # two CLI fits; the bfloat16 fit, save and load and the cuDNN report text are checked by default
def test_cli_fit_records_accelerator_options_and_reports_cudnn():
    runner = CliRunner()
    with runner.isolated_filesystem():
        write_sensor_csv(Path("sensor.csv"), n=200)
        res = runner.invoke(
            cli,
            ["fit", "sensor.csv", "--target", "temp", "--cell", "lstm", "--mixed-precision", "bfloat16",
             "--no-jit-compile", *TINY_CLI],
        )
        assert res.exit_code == 0, res.output
        # The cuDNN note is printed only where a GPU is present (the rules are checked in test_cudnn_status).
        assert ("cuDNN: " in res.stderr) == on_gpu()
        cfg = json.loads(Path("runs/latest/forecaster.json").read_text())["config"]
        assert cfg["runtime"] == {"mixed_precision": "bfloat16", "jit_compile": False, "strategy": "default"}
        res = runner.invoke(cli, ["predict"])
        assert res.exit_code == 0, res.output

        res = runner.invoke(cli, ["fit", "sensor.csv", "--target", "temp", "--cell", "rnn", *TINY_CLI])
        assert res.exit_code == 0, res.output
        assert ("cuDNN: not used (SimpleRNN has no fused cuDNN kernel" in res.stderr) == on_gpu()
        cfg = json.loads(Path("runs/latest/forecaster.json").read_text())["config"]
        assert (cfg["runtime"]["mixed_precision"], cfg["runtime"]["jit_compile"]) == ("off", "auto")


def test_cli_rejects_unknown_precision():
    res = CliRunner().invoke(cli, ["fit", "x.csv", "--mixed-precision", "fp8"])
    assert res.exit_code == 2
    assert "'fp8' is not one of 'off', 'float16', 'bfloat16'" in res.output
