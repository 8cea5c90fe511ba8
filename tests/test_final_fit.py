"""``train.final_fit="all"``: after early stopping, a fresh model is trained on every window for the best epoch count.

What must hold: the reported validation scores are those of the held-out model (identical to a plain
``final_fit="holdout"`` fit with the same seed, since CPU runs repeat exactly), the served model is another one
(trained on the validation rows too), it is what is saved and loaded back, and panels work the same way.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import write_sensor_csv
from test_panel import TINY as PANEL_TINY
from test_panel import panel_frame

import forecaster as fc
from forecaster import data
from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError
from forecaster.forecaster import Forecaster

TINY = dict(units=4, epochs=2, lookback=16, horizon=4, batch_size=32, patience=5, ensemble=1, min_steps_per_epoch=2)


@pytest.fixture(scope="module")
def sensor(tmp_path_factory):
    return data.load(write_sensor_csv(tmp_path_factory.mktemp("d") / "sensor.csv", n=240), target="temp")


@pytest.fixture(scope="module")
def pair(sensor):
    held = Forecaster(ForecastConfig(**TINY)).fit(sensor)
    final = Forecaster(ForecastConfig(**TINY, final_fit="all")).fit(sensor)
    return held, final


def test_scores_are_the_held_out_models_and_the_served_model_is_refitted(sensor, pair):
    held, final = pair
    for key in ("val_mae", "val_loss", "best_epoch", "train_windows", "val_windows"):
        assert final.metrics_[key] == held.metrics_[key], key
    assert "final_fit" not in held.metrics_
    assert final.metrics_["final_fit"] == "all"
    assert final.metrics_["final_epochs"] == held.metrics_["best_epoch"]
    # Every window: the training and validation windows and those straddling the boundary.
    assert final.metrics_["final_windows"] > held.metrics_["train_windows"] + held.metrics_["val_windows"]
    a, b = held.predict(sensor).to_numpy(), final.predict(sensor).to_numpy()
    assert np.isfinite(b).all() and not np.allclose(a, b)


def test_the_refitted_model_is_saved_and_loaded_back(tmp_path, sensor, pair):
    _, final = pair
    run = final.save(tmp_path / "run")
    loaded = Forecaster.load(run)
    assert loaded.config.train.final_fit == "all"
    np.testing.assert_allclose(loaded.predict(sensor).to_numpy(), final.predict(sensor).to_numpy(), rtol=1e-5)


@pytest.mark.slow  # two panel fits and a refit: the single-series tests above cover the mechanism in the default tier
def test_a_panel_refits_on_every_series_window():
    frame = panel_frame()
    held = fc.Forecaster(**PANEL_TINY, series_weights="series").fit(frame)
    final = fc.Forecaster(**PANEL_TINY, series_weights="series", final_fit="all").fit(frame)
    assert final.metrics_["val_smape"] == held.metrics_["val_smape"]
    assert final.metrics_["final_windows"] > held.metrics_["train_windows"] + held.metrics_["val_windows"]
    a, b = held.predict(), final.predict()
    assert list(a["id"]) == list(b["id"]) and not np.allclose(a["value"], b["value"])


def test_an_unknown_final_fit_is_refused():
    with pytest.raises(ConfigError, match="`final_fit` must be one of holdout, all"):
        ForecastConfig(final_fit="everything")
