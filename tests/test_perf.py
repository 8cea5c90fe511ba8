"""Warm-started refits (``--refit-warm``): the mechanism and its wiring into backtests (fits: marked slow)."""

from __future__ import annotations

import numpy as np
import pytest

import forecaster as fc
from forecaster.evaluation import historical_forecasts
from forecaster.evaluation.splits import BacktestConfig
from forecaster.exceptions import ConfigError
from tests.helpers import seasonal_frame

TINY = dict(units=4, epochs=2, lookback=12, horizon=4, batch_size=32, ensemble=1, min_steps_per_epoch=1)


@pytest.mark.slow
def test_warm_start_begins_from_the_given_weights():
    frame = seasonal_frame(n=200)
    first = fc.Forecaster(**TINY, learning_rate=1e-2).fit(frame, target="temp")
    # With a vanishing learning rate the fit keeps its starting weights: the warm one keeps first's.
    warm = fc.Forecaster(**TINY, learning_rate=1e-12).fit(frame, target="temp", warm_start=first)
    cold = fc.Forecaster(**TINY, learning_rate=1e-12).fit(frame, target="temp")
    assert warm.warm_started_ and not cold.warm_started_
    for a, b in zip(first.model_.get_weights(), warm.model_.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert max(np.abs(a - c).max() for a, c in zip(first.model_.get_weights(), cold.model_.get_weights())) > 1e-3
    # Another architecture: the warm start is skipped, not forced.
    other = fc.Forecaster(**{**TINY, "units": 5}).fit(frame, target="temp", warm_start=first)
    assert not other.warm_started_


@pytest.mark.slow
def test_backtest_refit_warm_chains_the_folds():
    frame = seasonal_frame(n=220)
    ts = fc.from_dataframe(frame, target="temp")
    hf = historical_forecasts(fc.ForecastConfig(**TINY), ts, BacktestConfig(folds=3, refit="always", refit_warm=True))
    assert [f["warm_start"] for f in hf.fits] == [False, True, True]
    assert np.isfinite(hf.forecasts["model"]).all()
    with pytest.raises(ConfigError, match="refit_warm"):
        BacktestConfig(refit="never", refit_warm=True)
