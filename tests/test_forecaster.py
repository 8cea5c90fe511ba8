"""Forecaster fit -> predict -> save -> load on tiny real CSV files, real Keras training."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from helpers import write_price_csv, write_sensor_csv

from forecaster import data
from forecaster.config import ForecastConfig
from forecaster.exceptions import ArtifactError, DataError, NotFittedError, TrainingError
from forecaster.forecaster import Forecaster
from forecaster.scaling import SeriesScaler

TINY = dict(units=4, epochs=1, lookback=16, horizon=4, batch_size=32, patience=1, ensemble=1, min_steps_per_epoch=1)


@pytest.fixture(scope="module")
def sensor(tmp_path_factory):
    path = write_sensor_csv(tmp_path_factory.mktemp("d") / "sensor.csv", n=240)
    return data.load(path, target="temp", features=["load"])


@pytest.fixture(scope="module")
def fitted(sensor):
    return Forecaster(ForecastConfig(**TINY)).fit(sensor)


def test_predict_continues_calendar_in_original_units(sensor, fitted):
    out = fitted.predict(sensor)
    assert list(out.columns) == ["temp"]
    expected = pd.date_range(sensor.index[-1], periods=5, freq="h")[1:]
    assert out.index.equals(expected)
    # Original units: the series lives around 20 +- 6; a forecast in scaled units would be near 0.
    assert np.isfinite(out["temp"]).all()
    assert 5 < out["temp"].mean() < 35


def test_price_forecast_uses_business_days(tmp_path):
    series = data.load(write_price_csv(tmp_path / "p.csv", n=200))
    assert (series.target, series.freq, series.kind) == ("Adj Close", "B", "prices")
    fc = Forecaster(ForecastConfig(**TINY)).fit(series)
    out = fc.predict(series)
    assert (out.index.dayofweek < 5).all()
    assert out.index[0] == pd.bdate_range(series.index[-1], periods=2)[1]
    assert fc.scaler_.log_[0], "auto transform takes logs of a price target"
    last = series.frame["Adj Close"].iloc[-1]
    assert np.all(np.abs(out["Adj Close"] / last - 1) < 0.5)


def test_save_load_identical_predictions(tmp_path, sensor, fitted):
    run = fitted.save(tmp_path / "runs" / "r1")
    assert sorted(p.name for p in run.iterdir()) == ["forecaster.json", "history.csv", "model.keras", "predict.npz"]
    again = Forecaster.load(run)
    np.testing.assert_array_equal(again.predict(sensor).to_numpy(), fitted.predict(sensor).to_numpy())
    origins = np.arange(20, 200, 7)
    np.testing.assert_array_equal(again.predict_origins(sensor, origins), fitted.predict_origins(sensor, origins))
    manifest = json.loads((run / "forecaster.json").read_text())
    assert manifest["schema_version"] == 2
    assert manifest["target"] == "temp" and manifest["features"] == ["load"]
    assert manifest["frequency"] == "h"
    assert manifest["data"]["fingerprint"] == sensor.fingerprint
    assert manifest["versions"]["keras"]
    assert manifest["config"]["model"]["cell"] == "gru"


def test_save_never_overwrites_and_leaves_no_temp(tmp_path, fitted):
    a = fitted.save(tmp_path / "run")
    b = fitted.save(tmp_path / "run")
    assert a.name == "run" and b.name == "run-2"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


def test_interrupted_save_leaves_nothing(tmp_path, fitted, monkeypatch):
    import forecaster.forecaster as mod

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mod, "write_json", boom)
    with pytest.raises(KeyboardInterrupt):
        fitted.save(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_scaler_sees_training_rows_only(sensor, monkeypatch):
    seen = []
    original = SeriesScaler.fit

    def spy(self, train, **kw):
        seen.append(np.array(train, copy=True))
        return original(self, train, **kw)

    monkeypatch.setattr(SeriesScaler, "fit", spy)
    fc = Forecaster(ForecastConfig(**TINY, normalization="auto")).fit(sensor)
    # The automatic choices fit scalers on inner splits of the training rows, then the model's
    # scaler is fitted on the training rows: every fit sees a prefix of them, none sees more.
    assert len(seen) >= 2 and set(fc.choices_) >= {"normalization", "transform"}
    n_train = len(seen[-1])
    assert sensor.index[n_train - 1] == pd.Timestamp(fc.data_["train_end"])
    for rows in seen:
        assert len(rows) <= n_train
        # The series' own columns, then the calendar features computed from its timestamps.
        np.testing.assert_array_equal(rows[:, : sensor.values.shape[1]], sensor.values[: len(rows)])
    assert n_train < len(sensor)
    # No validation target can sit inside the rows the scaler saw.
    assert pd.Timestamp(fc.data_["val_start"]) > pd.Timestamp(fc.data_["train_end"])


def test_not_fitted():
    with pytest.raises(NotFittedError, match="This Forecaster instance is not fitted yet"):
        Forecaster().predict(None)


def test_incompatible_data_is_refused(tmp_path, fitted):
    other = data.load(write_sensor_csv(tmp_path / "s.csv", n=120), target="temp")  # no 'load' feature
    with pytest.raises(DataError, match="differ from the model's"):
        fitted.predict(other)
    daily = data.load(write_sensor_csv(tmp_path / "d.csv", n=120, freq="D"), target="temp", features=["load"])
    with pytest.raises(DataError, match="frequency is 'D' but the model was fitted on 'h' data"):
        fitted.predict(daily)


@pytest.mark.slow  # a fit of its own; the cuDNN eligibility rules are checked without fitting in test_models
def test_recurrent_dropout_warns_about_cudnn(sensor, caplog):
    with caplog.at_level(logging.WARNING, logger="forecaster"):
        Forecaster(ForecastConfig(**{**TINY, "recurrent_dropout": 0.1})).fit(sensor)
    from forecaster.runtime import on_gpu

    # Printed only where a GPU could use the fused kernel.
    assert any("cuDNN" in r.getMessage() for r in caplog.records) == on_gpu()


def test_diverging_loss_raises_training_error(sensor):
    cfg = ForecastConfig(**{**TINY, "epochs": 2, "learning_rate": 1e30, "clipnorm": None, "normalization": "global"})
    with pytest.raises(TrainingError, match="Lower --learning-rate"):
        Forecaster(cfg).fit(sensor)


def test_too_short_series(tmp_path):
    short = data.load(write_sensor_csv(tmp_path / "s.csv", n=40), target="temp")
    with pytest.raises(DataError, match=r"Series has 40 rows; lookback=60 \+ horizon=5 needs at least 71"):
        Forecaster(ForecastConfig(lookback=60)).fit(short)


def test_automatic_lookback_adapts_to_a_short_series_and_refuses_a_tiny_one(tmp_path):
    short = data.load(write_sensor_csv(tmp_path / "s.csv", n=40), target="temp")
    fc = Forecaster(ForecastConfig(units=2, epochs=1, lookback=0, ensemble=1, min_steps_per_epoch=1)).fit(short)
    assert fc.choices_["lookback"]["value"] == fc.config.window.lookback < 40 - 2 * 5
    tiny = data.load(write_sensor_csv(tmp_path / "t.csv", n=9), target="temp")
    with pytest.raises(DataError, match=r"Series has 9 rows; lookback=1 \+ horizon=5 needs at least 12"):
        Forecaster(ForecastConfig(units=2, epochs=1, lookback=0)).fit(tiny)


def test_load_rejects_missing_model_file(tmp_path, fitted):
    run = fitted.save(tmp_path / "r")
    (run / "model.keras").unlink()
    with pytest.raises(ArtifactError):
        Forecaster.load(run)


_REPEAT = textwrap.dedent(
    """
    import sys, numpy as np
    from forecaster import data
    from forecaster.config import ForecastConfig
    from forecaster.forecaster import Forecaster
    s = data.load(sys.argv[1], target="temp", features=["load"])
    fc = Forecaster(ForecastConfig(units=4, epochs=2, lookback=16, horizon=4, seed=7, ensemble=1, min_steps_per_epoch=1)).fit(s)
    np.save(sys.argv[2], fc.predict_origins(s, np.arange(16, 236, 5)))
    """
)


@pytest.mark.slow  # two fresh processes, each importing Keras and training
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_same_seed_same_predictions_in_two_processes(tmp_path, backend):
    if backend == "jax":
        pytest.importorskip("jax")
    csv = write_sensor_csv(tmp_path / "s.csv", n=240)
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": ""}
    outs = []
    for i in range(2):
        out = tmp_path / f"p{i}.npy"
        subprocess.run([sys.executable, "-c", _REPEAT, str(csv), str(out)], check=True, capture_output=True, timeout=300,
                       env=env)
        outs.append(np.load(out))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_val_smoothing_monitors_a_moving_average_of_the_validation_loss(tmp_path):
    """Early stopping watches the smoothed loss; the reported best epoch is the restored one."""
    import numpy as np
    import pandas as pd

    import forecaster as fc

    rng = np.random.default_rng(3)
    idx = pd.date_range("2024-01-01", periods=160, freq="h")
    frame = pd.DataFrame({"y": np.sin(np.arange(160) / 4) + rng.normal(0, 0.2, 160)}, index=idx)
    m = fc.Forecaster(units=3, epochs=4, lookback=12, horizon=3, ensemble=1, min_steps_per_epoch=1,
                      val_smoothing=0.5, patience=10).fit(frame, target="y")
    raw, smooth = m.history_["val_loss"], m.history_["val_loss_smoothed"]
    expected = [raw[0]]
    for v in raw[1:]:
        expected.append(0.5 * expected[-1] + 0.5 * v)
    np.testing.assert_allclose(smooth, expected, rtol=1e-6)
    assert m.metrics_["best_epoch"] == int(np.argmin(smooth)) + 1
    assert m.metrics_["val_loss"] == raw[m.metrics_["best_epoch"] - 1]


@pytest.mark.slow  # two fits: over the default tier's time budget
def test_zero_init_starts_the_network_at_its_base_forecast():
    """With zero_init and (almost) no training, the forecast is exactly the seasonal naive one."""
    import numpy as np
    import pandas as pd

    import forecaster as fc

    rng = np.random.default_rng(5)
    idx = pd.date_range("2024-01-01", periods=200, freq="h")
    y = 10 + 3 * np.sin(2 * np.pi * np.arange(200) / 24) + rng.normal(0, 0.2, 200)
    frame = pd.DataFrame({"y": y}, index=idx)
    m = fc.Forecaster(units=3, epochs=1, lookback=24, horizon=6, ensemble=1, min_steps_per_epoch=1, season=24,
                      base="seasonal_naive", zero_init=True, learning_rate=1e-12, calendar=False,
                      normalization="window", combine="off").fit(frame, target="y")  # the network alone
    out = m.predict()["y"].to_numpy()
    np.testing.assert_allclose(out, y[-24:-18], rtol=1e-5)
    # Without it, the same untrained network does not reproduce the base.
    other = fc.Forecaster(**{**m.get_params(), "zero_init": False}).fit(frame, target="y")
    assert not np.allclose(other.predict()["y"].to_numpy(), y[-24:-18], rtol=1e-5)
