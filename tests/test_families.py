"""The model families beyond the direct rnn: seq2seq, attention, transformer, the recursive rnn, and compare.

Default tier: graphs only (no training): teacher forcing switches with the
training flag, the predict graph equals the training graph run free,
safe-mode save/load, attention weights, config refusals, the overall
Diebold-Mariano test. Slow tier: fits through the CLI (``forecast
compare``, with rnn_recursive) and every family on the JAX and PyTorch backends in a
subprocess (skipped where the backend's package is missing). The full
estimator contract runs over every family in tests/test_contract.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_one_line_error, write_sensor_csv

from forecaster.config import ForecastConfig
from forecaster.evaluation.compare import COMPARE_MODELS, family_configs, parse_families
from forecaster.evaluation.stats import dm_pvalue
from forecaster.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _inputs(n=5, lookback=8, horizon=3, n_past=2, n_future=1, seed=0):
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(n, lookback, n_past)).astype("float32"), rng.normal(size=(n, horizon, n_future)).astype("float32")]
    return x


#: Building an unrolled decoder takes seconds on a shared 2-core machine: one case of each kind runs in the
#: default tier, the rest in the slow tier.
slow = pytest.mark.slow


@pytest.mark.parametrize("settings", [
    {"model": "seq2seq"},
    pytest.param({"model": "seq2seq", "cell": "lstm", "layers": 2}, marks=slow),
    pytest.param({"model": "rnn", "multistep": "recursive", "base": "seasonal_naive", "season": 4}, marks=slow),
])
def test_teacher_forcing_is_the_training_graph_only(settings):
    """Training: step t gets the true y_{t-1} (the output depends on the teacher input); otherwise its own."""
    from forecaster.models import IOSpec, build_model

    # A random output layer (zero_init off): a zero one would hide the wiring under identical zero outputs.
    cfg = ForecastConfig(units=4, skip="none", zero_init=False, **settings)
    io = IOSpec(lookback=8, horizon=3, n_past=2, n_future=1)
    train, predict = build_model(cfg, io, graph="train"), build_model(cfg, io)
    assert [t.name for t in train.inputs] == ["window", "future", "teacher"]
    assert [t.name for t in predict.inputs] == ["window", "future"]
    predict.set_weights(train.get_weights())
    x = _inputs()
    zeros, other = np.zeros((5, 3), "float32"), np.full((5, 3), 5.0, "float32")
    own = np.asarray(predict(x))
    # Not training: the teacher input is ignored and the graph runs free, as the saved model does.
    np.testing.assert_allclose(np.asarray(train([*x, zeros], training=False)), own, atol=1e-6)
    np.testing.assert_allclose(np.asarray(train([*x, other], training=False)), own, atol=1e-6)
    a, b = np.asarray(train([*x, zeros], training=True)), np.asarray(train([*x, other], training=True))
    # Step 1 has no previous value to force; steps 2.. follow the teacher's values.
    np.testing.assert_allclose(a[:, 0], b[:, 0], atol=1e-6)
    assert np.abs(a[:, 1:] - b[:, 1:]).min() > 1e-4


@pytest.mark.slow
def test_scheduled_sampling_one_feeds_back_own_predictions():
    from forecaster.models import IOSpec, build_model

    cfg = ForecastConfig(model="seq2seq", units=4, skip="none", scheduled_sampling=1.0)
    io = IOSpec(lookback=8, horizon=3, n_past=2, n_future=1)
    train, predict = build_model(cfg, io, graph="train"), build_model(cfg, io)
    predict.set_weights(train.get_weights())
    x = _inputs()
    np.testing.assert_allclose(np.asarray(train([*x, np.full((5, 3), 9.0, "float32")], training=True)),
                               np.asarray(predict(x)), atol=1e-6)


@pytest.mark.parametrize("settings", [
    pytest.param({"model": "seq2seq", "zero_init": True}, marks=slow),
    {"model": "attention", "attention": "additive"},
    pytest.param({"model": "attention", "attention": "dot", "cell": "simple_rnn", "dropout": 0.1}, marks=slow),
    {"model": "transformer", "model_dim": 8, "attention_heads": 2, "transformer_blocks": 1, "zero_init": True},
    pytest.param({"model": "rnn", "multistep": "recursive", "base": "naive", "cell": "lstm"}, marks=slow),
])
def test_families_save_and_load_in_safe_mode(settings, tmp_path):
    """Ensemble of 2, known-future input, series embedding, linear skip: one .keras file, identical forecasts."""
    import keras

    from forecaster.models import IOSpec, attention_weights, build_model

    cfg = ForecastConfig(units=4, skip="linear", **settings)
    io = IOSpec(lookback=8, horizon=3, n_past=2, n_future=1, members=2, n_series=3, embedding=2)
    model = build_model(cfg, io)
    assert model.output_shape == (None, 2, 3)
    x = [*_inputs(), np.array([[0], [1], [2], [1], [0]], dtype="int32")]
    before = np.asarray(model.predict_on_batch(x))
    path = tmp_path / "m.keras"
    model.save(path)
    back = keras.saving.load_model(path, safe_mode=True, compile=False)
    np.testing.assert_allclose(np.asarray(back.predict_on_batch(x)), before, atol=1e-6)
    if cfg.model.type == "attention":
        w = attention_weights(back, cfg, io, x)
        assert w.shape == (5, 3, 8)
        np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-5)
    else:
        with pytest.raises(ConfigError, match="attention family only"):
            attention_weights(back, cfg, io, x)


@pytest.mark.parametrize("settings, match", [
    ({"model": "rnn", "scheduled_sampling": 0.5}, "mixes the inputs of a decoder"),
    ({"model": "transformer", "multistep": "recursive"}, "for the rnn family"),
    ({"model": "seq2seq", "bidirectional": True}, "`bidirectional` is for the rnn family"),
    ({"model": "transformer", "model_dim": 10, "attention_heads": 3}, "multiple of `attention_heads`"),
    ({"model": "transformer", "recurrent_dropout": 0.1}, "the transformer has none"),
    ({"model": "seq2seq", "scheduled_sampling": 1.5}, r"in \[0, 1\]"),
    ({"model": "cnn"}, "`type` must be one of rnn, seq2seq, attention, transformer"),
])
def test_family_combinations_refused_with_a_config_error(settings, match):
    with pytest.raises(ConfigError, match=match):
        ForecastConfig(**settings)


def test_recursive_refuses_a_window_without_a_map_back():
    from forecaster.models import IOSpec, build_model

    cfg = ForecastConfig(multistep="recursive", base="none", normalization="window")
    with pytest.raises(ConfigError, match="--normalization global"):
        build_model(cfg, IOSpec(lookback=8, horizon=3, n_past=1))


def test_model_flag_and_its_old_spelling():
    from click.testing import CliRunner

    from forecaster.cli import cli

    runner = CliRunner()
    for flag in ("--model", "--model-type"):
        res = runner.invoke(cli, ["config", "show", flag, "attention", "--attention", "dot"])
        assert res.exit_code == 0, res.output
        assert 'type = "attention"' in res.output and 'attention = "dot"' in res.output
    line = assert_one_line_error(runner.invoke(cli, ["config", "show", "--model", "rnn", "--scheduled-sampling", "0.2"]))
    assert "--scheduled-sampling" in line


def test_parse_families():
    assert parse_families("rnn, Seq2Seq") == ("rnn", "seq2seq")
    for bad in ("", "rnn,cnn", "rnn,rnn"):
        with pytest.raises(ConfigError, match="`models`"):
            parse_families(bad)


def test_compare_takes_the_recursive_rnn_beside_the_direct_one(tmp_path):
    """``rnn_recursive`` (or ``rnn-recursive``) is the rnn with multistep recursive; listed, the others are direct."""
    from click.testing import CliRunner

    from forecaster.cli import cli

    assert parse_families("rnn, RNN-Recursive,seq2seq") == ("rnn", "rnn_recursive", "seq2seq")
    with pytest.raises(ConfigError, match="twice"):
        parse_families("rnn_recursive,rnn-recursive")
    cfgs = family_configs(ForecastConfig(**COMPARE_MODELS["rnn_recursive"]), ("rnn_recursive", "rnn", "seq2seq"))
    assert [(c.model.type, c.model.multistep) for c in cfgs.values()] == [
        ("rnn", "recursive"), ("rnn", "direct"), ("seq2seq", "direct")]
    shared = ForecastConfig(**COMPARE_MODELS["rnn_recursive"], scheduled_sampling=0.2)  # as the CLI starts
    assert family_configs(shared, ("rnn_recursive", "attention"))["attention"].model.scheduled_sampling == 0.2
    with pytest.raises(ConfigError, match="mixes the inputs of a decoder"):
        family_configs(shared, ("rnn_recursive", "rnn"))  # the direct rnn has no decoder inputs to mix
    # Without rnn_recursive a typed --multistep recursive is the rnn's, and a decoder family still refuses it.
    assert family_configs(ForecastConfig(multistep="recursive"), ("rnn",))["rnn"].model.multistep == "recursive"
    with pytest.raises(ConfigError, match="for the rnn family"):
        family_configs(ForecastConfig(multistep="recursive"), ("rnn", "seq2seq"))
    # The command line checks each model's config before the data is read.
    runner = CliRunner()
    args = ["--runs-dir", str(tmp_path / "runs"), "compare", str(tmp_path / "missing.csv"), "--scheduled-sampling", "0.3"]
    line = assert_one_line_error(runner.invoke(cli, [*args, "--models", "rnn-recursive,transformer"]))
    assert "--scheduled-sampling" in line
    line = assert_one_line_error(runner.invoke(cli, [*args, "--models", "rnn-recursive,seq2seq"]))
    assert "missing.csv" in line and "scheduled" not in line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_overall_diebold_mariano():
    rng = np.random.default_rng(3)
    y = np.zeros((250, 6))
    good, bad = y + rng.normal(0, 1, y.shape), y + rng.normal(0, 1.5, y.shape)
    assert dm_pvalue(y, good, bad) < 1e-3 and dm_pvalue(y, bad, good) < 1e-3
    assert dm_pvalue(y, good, good) == 1.0
    close = good + rng.normal(0, 0.01, y.shape)
    assert dm_pvalue(y, good, close) > 0.05


# ------------------------------------------------------------------------------ slow tier
@pytest.mark.slow
def test_compare_cli_same_origins_one_directory(tmp_path):
    """forecast compare: one table (families + baselines), DM p-values, timings, the figure, one run directory."""
    from click.testing import CliRunner

    from forecaster.cli import cli

    csv = write_sensor_csv(tmp_path / "s.csv", n=300)
    runner = CliRunner()
    args = ["--runs-dir", str(tmp_path / "runs"), "compare", str(csv), "--target", "temp", "--models", "rnn,attention,transformer",
            "--horizon", "4", "--lookback", "24", "--epochs", "1", "--units", "4", "--ensemble", "1",
            "--refit", "never", "--stride", "4", "--normalization", "window", "--name", "cmp"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = tmp_path / "runs" / "cmp"
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.csv", "compare.json", "error_by_step.png", "forecasts.csv", "per_step.csv"]
    table = pd.read_csv(out / "compare.csv", index_col=0)
    assert list(table.index) == ["rnn", "attention", "transformer", "naive", "seasonal_naive", "drift", "window_mean"]
    models = table[table["kind"] == "model"]
    assert models["DM p vs best baseline"].between(0, 1).all()
    assert (models["params"] > 0).all() and (models["fit_s"] > 0).all()
    assert (table["kind"] == "baseline (best)").sum() == 1
    forecasts = pd.read_csv(out / "forecasts.csv")
    assert {"actual", "rnn", "attention", "transformer", "naive"} <= set(forecasts.columns)
    assert np.isfinite(forecasts[["rnn", "attention", "transformer"]].to_numpy()).all()
    manifest = json.loads((out / "compare.json").read_text())
    assert manifest["families"] == ["rnn", "attention", "transformer"]
    # A family that refuses a shared setting fails before any data is read, and nothing is written.
    bad = runner.invoke(cli, [*args[:-2], "--name", "bad", "--scheduled-sampling", "0.3"])
    assert "--scheduled-sampling" in assert_one_line_error(bad)
    assert not (tmp_path / "runs" / "bad").exists()


@pytest.mark.slow
def test_compare_cli_direct_and_recursive_rnn_on_the_same_origins(tmp_path):
    """rnn and rnn-recursive: two rows, two forecast columns, two lines of the figure, their configs in compare.json."""
    from click.testing import CliRunner

    from forecaster.cli import cli

    csv = write_sensor_csv(tmp_path / "s.csv", n=240)
    res = CliRunner().invoke(cli, [
        "--runs-dir", str(tmp_path / "runs"), "compare", str(csv), "--target", "temp", "--models", "rnn,rnn-recursive",
        "--horizon", "3", "--lookback", "12", "--epochs", "1", "--units", "4", "--ensemble", "1", "--refit", "never",
        "--stride", "6", "--name", "cmp"])
    assert res.exit_code == 0, res.output
    assert "rnn_recursive: cuDNN" in res.output
    out = tmp_path / "runs" / "cmp"
    table = pd.read_csv(out / "compare.csv", index_col=0)
    assert list(table.index[:2]) == ["rnn", "rnn_recursive"]
    assert (table.loc[["rnn", "rnn_recursive"], "kind"] == "model").all()
    assert table.loc[["rnn", "rnn_recursive"], "MASE"].notna().all()
    forecasts = pd.read_csv(out / "forecasts.csv")
    assert np.isfinite(forecasts[["rnn", "rnn_recursive"]].to_numpy()).all()
    assert not np.allclose(forecasts["rnn"], forecasts["rnn_recursive"])
    assert list(pd.read_csv(out / "per_step.csv", index_col=0).columns[:2]) == ["rnn", "rnn_recursive"]
    manifest = json.loads((out / "compare.json").read_text())
    assert manifest["families"] == ["rnn", "rnn_recursive"]
    assert manifest["configs"]["rnn"]["model"]["multistep"] == "direct"
    assert manifest["configs"]["rnn_recursive"]["model"]["multistep"] == "recursive"
    # Where it ran: the backend and device, and each model's cuDNN status (printed too).
    backend = manifest["versions"]["backend"]
    assert manifest["device"].startswith(f"{backend} backend on ") and backend in manifest["versions"]
    assert manifest["cudnn"]["rnn_recursive"].startswith("cuDNN: GRU eligible")
    assert f"Device: {manifest['device']} (keras " in res.output
    assert (out / "error_by_step.png").stat().st_size > 0


BACKEND_SCRIPT = textwrap.dedent("""
    import os, sys, numpy as np, pandas as pd
    import forecaster as fc
    import keras
    assert keras.backend.backend() == sys.argv[2], keras.backend.backend()
    rng = np.random.default_rng(0)
    idx = pd.date_range("2024-01-01", periods=200, freq="h")
    frame = pd.DataFrame({"temp": 20 + 5 * np.sin(np.arange(200) * 2 * np.pi / 24) + rng.normal(0, 0.3, 200)}, index=idx)
    cases = [dict(model="rnn"), dict(model="rnn", multistep="recursive"), dict(model="seq2seq", scheduled_sampling=0.2),
             dict(model="attention"), dict(model="transformer"),
             dict(model="rnn", quantiles=(0.1, 0.5, 0.9)), dict(model="transformer", quantiles=(0.1, 0.5, 0.9))]
    for i, settings in enumerate(cases):
        m = fc.Forecaster(units=4, epochs=1, lookback=16, horizon=4, ensemble=2, calendar=True, **settings).fit(frame)
        p = m.predict()
        assert np.isfinite(p.to_numpy()).all(), settings
        run = m.save(os.path.join(sys.argv[1], f"{i}-{settings['model']}"))  # loaded back with safe_mode=True
        back = fc.Forecaster.load(run)
        np.testing.assert_allclose(back.predict().to_numpy(), p.to_numpy(), rtol=1e-5)
        print("ok", settings)
""")
#: The families and the quantile heads (rnn, transformer) on each backend Keras runs besides TensorFlow.
BACKEND_CASES = 7


@pytest.mark.slow
@pytest.mark.parametrize("backend, package", [("jax", "jax"), ("torch", "torch")])
def test_every_family_fits_predicts_saves_and_loads_on_other_backends(backend, package, tmp_path):
    """Each family, the recursive rnn and the quantile heads on Keras' JAX and PyTorch backends, in a subprocess.

    Skipped where the backend's package is not installed (PyTorch is the ``torch`` extra, not ``dev``).
    """
    import importlib.util

    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed (the {backend} backend)")
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT, str(tmp_path), backend], capture_output=True, text=True,
                         env=env, timeout=1200, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("ok ") == BACKEND_CASES, out.stdout
