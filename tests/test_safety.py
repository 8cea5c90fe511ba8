"""Untrusted model files and manifests are refused without running any code; no pickle anywhere."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import write_sensor_csv

from forecaster import data
from forecaster.artifacts import read_manifest
from forecaster.config import ForecastConfig
from forecaster.exceptions import ArtifactError, DataError
from forecaster.forecaster import Forecaster

PACKAGE = Path(__file__).resolve().parents[1] / "forecaster"


@pytest.fixture(scope="module")
def run(tiny_run):
    return tiny_run  # one tiny real fit, shared with test_faults.py (conftest.py)


def _copy(run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(run, dst)
    return dst


def test_lambda_layer_is_refused_and_never_executed(run, tmp_path):
    marker = tmp_path / "pwned"
    evil = _copy(run, tmp_path)
    inputs = keras.Input(shape=(12, 1))
    # If this lambda were ever deserialised and called, it would create the marker file.
    path = str(marker)
    x = keras.layers.Lambda(lambda t: (open(path, "w").close(), t)[1], output_shape=(12, 1))(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.GRU(3)(x))
    model = keras.Model(inputs, outputs)
    model.save(evil / "model.keras")
    marker.unlink(missing_ok=True)
    with pytest.raises(ArtifactError, match="Cannot load .* safely"):
        Forecaster.load(evil)
    assert not marker.exists()
    # Control: the payload is live. Loaded unsafely and run, it does create the marker.
    unsafe = keras.saving.load_model(evil / "model.keras", safe_mode=False)
    unsafe.predict(np.zeros((1, 12, 1), dtype="float32"), verbose=0)
    assert marker.exists()


def test_unknown_class_is_refused(run, tmp_path):
    evil = _copy(run, tmp_path)
    src = evil / "model.keras"
    patched = tmp_path / "patched.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(patched, "w") as zout:
        for item in zin.infolist():
            payload = zin.read(item.filename)
            if item.filename == "config.json":
                cfg = payload.decode()
                cfg = cfg.replace('"class_name": "GRU"', '"class_name": "EvilLayer"')
                cfg = cfg.replace('"module": "keras.layers"', '"module": "os"', 1)
                payload = cfg.encode()
            zout.writestr(item, payload)
    shutil.move(patched, src)
    with pytest.raises(ArtifactError, match="Cannot load"):
        Forecaster.load(evil)


def test_model_not_matching_manifest_is_refused(run, tmp_path):
    evil = _copy(run, tmp_path)
    man = json.loads((evil / "forecaster.json").read_text())
    man["config"]["window"]["horizon"] = 7
    (evil / "forecaster.json").write_text(json.dumps(man))
    # The manifest's own shapes no longer agree with its config.
    with pytest.raises(ArtifactError, match="does not match its config and columns"):
        Forecaster.load(evil)
    man["io"]["horizon"] = 7  # a consistent manifest, but the model file has horizon 3
    (evil / "forecaster.json").write_text(json.dumps(man))
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        Forecaster.load(evil)


@pytest.mark.parametrize(
    "tamper,needle",
    [
        (lambda m: m.update(schema_version=99), "schema_version=99"),
        (lambda m: m.pop("scaler"), "missing scaler"),
        (lambda m: m.update(extra_key=1), "unknown extra_key"),
        (lambda m: m.update(target=3), "`target` must be str"),
        (lambda m: m.update(seed=True), "`seed` must be int"),
        (lambda m: m["config"].update(evil={}), "Unknown config section(s): evil"),
        (lambda m: m["config"]["model"].update(evil="x"), "Unknown key(s) in config section [model]: evil"),
        (lambda m: m["config"]["window"].update(lookback=-1), "`lookback` must be a positive integer"),
        (lambda m: m["last_window"].update(values=[[1.0]]), "`last_window` must hold"),
        (lambda m: m["scaler"].update(scale=[-1.0] * len(m["scaler"]["scale"])), "`scale` must hold finite numbers > 0"),
        (lambda m: m["data"].pop("fingerprint"), "`data` must have exactly the keys"),
        (lambda m: m.update(features=["ghost"]), "scaler columns do not match"),
    ],
)
def test_tampered_manifest_is_refused(run, tmp_path, tamper, needle):
    bad = _copy(run, tmp_path)
    man = json.loads((bad / "forecaster.json").read_text())
    tamper(man)
    (bad / "forecaster.json").write_text(json.dumps(man))
    with pytest.raises(ArtifactError, match=re.escape(needle)):
        Forecaster.load(bad)


def test_truncated_manifest_is_refused(run, tmp_path):
    bad = _copy(run, tmp_path)
    text = (bad / "forecaster.json").read_text()
    (bad / "forecaster.json").write_text(text[: len(text) // 2])
    with pytest.raises(ArtifactError, match="is not valid JSON"):
        read_manifest(bad)


def test_good_run_still_loads(run):
    fc = Forecaster.load(run)
    assert fc.model_.output_shape == (None, 3)
    assert np.isfinite(fc.scaler_.scale_).all()


def test_no_pickle_in_the_package():
    pattern = re.compile(r"^\s*(import|from)\s+(pickle|cPickle|joblib|dill|cloudpickle)\b|allow_pickle\s*=\s*True|safe_mode\s*=\s*False")
    offenders = [
        f"{path.name}:{i}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
    # And loading always asks for safe mode explicitly.
    assert "safe_mode=True" in (PACKAGE / "forecaster.py").read_text()


def test_keras_requirement_has_cve_fixes():
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert re.search(r'"keras>=3\.13\.2"', text)
    assert tuple(int(p) for p in keras.__version__.split(".")[:3]) >= (3, 13, 2)


@pytest.fixture(scope="module")
def v1_like_run(tmp_path_factory):
    """A run with only what version-1 runs could have: no calendar, base, skip or combination, one member, a fixed
    lookback."""
    tmp = tmp_path_factory.mktemp("v1")
    series = data.load(write_sensor_csv(tmp / "s.csv", n=160), target="temp")
    fc = Forecaster(ForecastConfig(
        units=3, epochs=1, lookback=12, horizon=3, ensemble=1, min_steps_per_epoch=1, calendar=False, base="naive",
        skip="none", normalization="window", lr_patience=0, combine="off",
    )).fit(series)
    return fc.save(tmp / "runs" / "v1")


def test_a_run_saved_before_a_field_existed_loads_with_the_value_it_was_built_with(v1_like_run, tmp_path):
    """A manifest without `skip` (or calendar, base, ensemble) is a run built without them, whatever today's default."""
    old = _copy(v1_like_run, tmp_path)
    man = json.loads((old / "forecaster.json").read_text())
    for section, name in (("model", "skip"), ("data", "calendar"), ("output", "base"), ("train", "ensemble")):
        man["config"][section].pop(name)
    (old / "forecaster.json").write_text(json.dumps(man))
    loaded = Forecaster.load(old)
    cfg = loaded.config
    assert (cfg.model.skip, cfg.data.calendar, cfg.output.base, cfg.train.ensemble) == ("none", False, "naive", 1)
    assert ForecastConfig().model.skip == "auto"  # not today's default
    np.testing.assert_array_equal(loaded.predict().to_numpy(), Forecaster.load(v1_like_run).predict().to_numpy())


def test_a_run_of_schema_version_1_still_loads_and_predicts_from_data(v1_like_run, tmp_path):
    """The previous version's manifest: a flat config, no io / last window / choices."""
    run = v1_like_run
    old = _copy(run, tmp_path)
    man = json.loads((old / "forecaster.json").read_text())
    flat = ForecastConfig.from_dict(man["config"]).to_flat()
    legacy = {k: v for k, v in flat.items() if k in (
        "target", "features", "time_col", "missing", "na_values", "transform", "normalization", "lookback", "horizon",
        "val_fraction", "cell", "layers", "units", "bidirectional", "dropout", "recurrent_dropout", "epochs",
        "batch_size", "learning_rate", "clipnorm", "patience", "seed", "steps_per_epoch", "mixed_precision",
        "jit_compile", "strategy")}
    legacy["stride"] = flat["window_stride"]
    legacy["features"], legacy["na_values"] = list(legacy["features"]), list(legacy["na_values"])
    for key in ("io", "future_features", "last_window", "series_id", "calendar", "choices", "fallback"):
        man.pop(key)
    man.update(schema_version=1, config=legacy)
    (old / "forecaster.json").write_text(json.dumps(man))
    loaded = Forecaster.load(old)
    series = data.load(Path(man["data"]["source"]), target="temp")
    np.testing.assert_array_equal(loaded.predict(series).to_numpy(), Forecaster.load(run).predict(series).to_numpy())
    with pytest.raises(DataError, match="schema version 1"):
        loaded.predict()
