"""``train.keep_base``: the untrained network, which with a zero-initialised output forecasts exactly its base, is a
candidate of early stopping too, so a fit never ends worse than its base on the validation windows.

The data make the base exact on every validation window (a season of 4 repeated without noise at the end), so no
trained epoch can beat it there; training windows carry noise, so training does move the weights.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError
from forecaster.forecaster import Forecaster

TINY = dict(units=4, epochs=2, lookback=8, horizon=4, season=4, batch_size=16, patience=5, ensemble=1,
            min_steps_per_epoch=2, base="seasonal_naive", normalization="global", transform="none", calendar=False,
            combine="off")  # the network alone: a combination with Theta would move the forecast off the exact base


def _frame(n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = np.tile([10.0, 14.0, 12.0, 8.0], n // 4)
    y[: n // 2] += rng.normal(0, 2.0, n // 2)  # noise in the training rows only: the base is exact later on
    return pd.DataFrame({"time": pd.date_range("2020-01-01", periods=n, freq="D"), "y": y})


def _seasonal_naive(frame: pd.DataFrame, horizon: int = 4) -> np.ndarray:
    y = frame["y"].to_numpy()
    return y[-4:][np.arange(horizon) % 4]


def test_the_untrained_network_is_kept_when_no_epoch_beats_its_base():
    frame = _frame()
    kept = Forecaster(ForecastConfig(**TINY)).fit(frame, target="y")
    assert kept.metrics_["kept_base"] is True and kept.metrics_["best_epoch"] == 0
    assert kept.metrics_["epochs_run"] >= 1
    np.testing.assert_allclose(kept.predict().to_numpy().ravel(), _seasonal_naive(frame), atol=1e-4)
    # Without the guard the trained weights are served and the forecast leaves the exact base.
    trained = Forecaster(ForecastConfig(**TINY, keep_base=False)).fit(frame, target="y")
    assert "kept_base" not in trained.metrics_ and trained.metrics_["best_epoch"] >= 1
    assert not np.allclose(trained.predict().to_numpy().ravel(), _seasonal_naive(frame), atol=1e-4)
    assert trained.metrics_["val_loss"] > kept.metrics_["val_loss"]


@pytest.mark.slow  # a third fit; the default tier has the kept case and its opposite above
def test_a_trained_epoch_that_beats_the_base_is_served():
    """A season of 4 with the naive base: the base is far off, one epoch of training beats it."""
    n = 120
    y = np.tile([10.0, 14.0, 12.0, 8.0], n // 4) + np.random.default_rng(1).normal(0, 0.1, n)
    frame = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=n, freq="D"), "y": y})
    fit = Forecaster(ForecastConfig(**{**TINY, "base": "naive", "epochs": 3, "learning_rate": 0.01})).fit(frame, target="y")
    assert "kept_base" not in fit.metrics_ and fit.metrics_["best_epoch"] >= 1


def test_keep_base_must_be_a_bool():
    with pytest.raises(ConfigError, match="keep_base"):
        ForecastConfig(keep_base="yes")


@pytest.mark.slow  # a CLI fit, refit and predict: ~15 s
def test_fit_info_and_predict_of_a_kept_base_with_the_final_fit(tmp_path, monkeypatch):
    """Through the CLI: fit says the base was kept, the final fit on every window is then 0 epochs, info says it, and
    the saved run, loaded back by predict, forecasts exactly the seasonal naive forecast."""
    from click.testing import CliRunner

    from forecaster.cli import cli

    monkeypatch.chdir(tmp_path)
    frame = _frame()
    frame.to_csv("kept.csv", index=False)
    runner = CliRunner()
    flags = ["--units", "4", "--epochs", "2", "--lookback", "8", "--horizon", "4", "--season", "4", "--batch-size", "16",
             "--ensemble", "1", "--min-steps-per-epoch", "2", "--base", "seasonal_naive", "--normalization", "global",
             "--transform", "none", "--no-calendar", "--final-fit", "all", "--combine", "off"]
    res = runner.invoke(cli, ["fit", "kept.csv", "--target", "y", *flags])
    assert res.exit_code == 0, res.output
    assert "(best 0)" in res.output and "it is kept" in res.output
    info = runner.invoke(cli, ["info"])
    assert info.exit_code == 0, info.output
    assert "was kept" in info.output
    metrics = json.loads(Path("runs/latest/forecaster.json").read_text())["metrics"]
    assert metrics["kept_base"] is True and metrics["final_epochs"] == 0
    res = runner.invoke(cli, ["predict", "--output", "-"])
    assert res.exit_code == 0, res.output
    values = pd.read_csv(io.StringIO(res.stdout)).iloc[:, 1].to_numpy()
    np.testing.assert_allclose(values, _seasonal_naive(frame), atol=1e-4)


@pytest.mark.slow
def test_a_resumed_fit_that_had_kept_its_base_still_reports_it(tmp_path, caplog):
    """``fit --resume`` after a kill between the end of training and the saved run reuses the trained weights and
    reports the kept base as the uninterrupted fit did."""
    frame = _frame()
    ckpt = tmp_path / "ckpt"
    first = Forecaster(ForecastConfig(**TINY)).fit(frame, target="y", checkpoint_dir=ckpt)
    assert first.metrics_["kept_base"] is True
    with caplog.at_level("INFO", logger="forecaster"):
        again = Forecaster(ForecastConfig(**TINY)).fit(frame, target="y", checkpoint_dir=ckpt)
    assert "reusing its weights" in caplog.text
    assert again.metrics_["kept_base"] is True and again.metrics_["best_epoch"] == 0
    assert again.metrics_["val_loss"] == first.metrics_["val_loss"]
    np.testing.assert_array_equal(again.predict().to_numpy(), first.predict().to_numpy())
    # A checkpoint written before the record existed: read as not kept, never an error.
    (ckpt / "trained.json").unlink()
    older = Forecaster(ForecastConfig(**TINY)).fit(frame, target="y", checkpoint_dir=ckpt)
    assert "kept_base" not in older.metrics_
