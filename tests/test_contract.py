"""Contract checks every registered model family must pass (scikit-learn's ``check_estimator`` idea).

``check_forecaster(model_type)`` runs one family through the estimator
contract on tiny data: not-fitted error, output shapes and timestamps,
save -> load -> identical forecasts (``safe_mode=True``), the leakage spy
(scaler and training windows see rows before the validation split only) and
clear errors for bad input. A new family in ``forecaster.models.MODEL_BUILDERS``
is picked up by the parametrisation below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from forecaster.exceptions import ConfigError, DataError, NotFittedError
from forecaster.models import MODEL_BUILDERS
from forecaster.scaling import SeriesScaler
from forecaster.training import pipeline

TINY = dict(units=4, epochs=1, lookback=16, horizon=4, batch_size=32, ensemble=1, min_steps_per_epoch=1)


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    idx = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame(
        {"temp": 20 + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, n),
         "load": np.cos(2 * np.pi * t / 24) + rng.normal(0, 0.3, n),
         "hour_sin": np.sin(2 * np.pi * idx.hour / 24)},
        index=idx,
    )


#: Variants every family runs through: fixed settings, and every automatic choice switched on.
VARIANTS = {
    "fixed": {},
    "auto": {"lookback": None, "calendar": True, "ensemble": 2, "base": "auto", "normalization": "auto",
             "min_steps_per_epoch": 3, "lr_patience": 1, "skip": "linear"},
}


def check_forecaster(model_type: str, tmp_path, monkeypatch, variant: dict | None = None) -> None:
    frame = _frame()
    params = dict(TINY, model=model_type, **(variant or {}))

    # 1. Not fitted: a clear error, not an AttributeError.
    with pytest.raises(NotFittedError, match="not fitted yet"):
        fc.Forecaster(**params).predict()

    # 2. Leakage spy: the scaler and the training windows see rows before the validation split only.
    seen_scaler_rows: list[int] = []
    seen_train_origins: list[range] = []
    real_scaler_fit, real_training_data = SeriesScaler.fit, pipeline.training_data

    def scaler_spy(self, train, **kw):
        seen_scaler_rows.append(len(train))
        return real_scaler_fit(self, train, **kw)

    def data_spy(view, train_origins, val_origins, *args, **kw):
        seen_train_origins.append(train_origins)
        return real_training_data(view, train_origins, val_origins, *args, **kw)

    import forecaster.training as training

    monkeypatch.setattr(SeriesScaler, "fit", scaler_spy)
    monkeypatch.setattr(training, "training_data", data_spy)
    model = fc.Forecaster(**params).fit(frame, target="temp", features=["load"], future_features=["hour_sin"])
    monkeypatch.undo()
    train_end = frame.index.get_loc(pd.Timestamp(model.data_["train_end"])) + 1
    # Automatic choices fit scalers on inner splits of the training rows first; the model's scaler last.
    assert seen_scaler_rows[-1] == train_end and max(seen_scaler_rows) == train_end
    (origins,) = seen_train_origins
    assert max(origins) + TINY["horizon"] <= train_end  # no training target at or after the split

    # 3. Shapes, timestamps and units of the forecast.
    future = pd.DataFrame({"hour_sin": np.sin(2 * np.pi * (np.arange(4) + 8) / 24)})
    out = model.predict(future=future)
    assert list(out.columns) == ["temp"] and len(out) == 4
    assert out.index[0] == frame.index[-1] + pd.Timedelta(hours=1) and out.index.freqstr == "h"
    assert np.isfinite(out.to_numpy()).all() and 5 < out["temp"].mean() < 35
    lookback = model.config.window.lookback
    many = model.predict_origins(model._as_series(frame), np.array([lookback, 100, 196]))
    assert many.shape == (3, 4)

    # 4. Save -> load (safe_mode) -> identical forecasts, with and without data.
    run = model.save(tmp_path / f"run-{model_type}")
    again = fc.load(run)
    assert again.config == model.config
    np.testing.assert_array_equal(again.predict(future=future).to_numpy(), out.to_numpy())
    np.testing.assert_array_equal(again.predict(frame, future=future).to_numpy(), out.to_numpy())

    # 5. Bad input: clear errors naming the problem.
    with pytest.raises(DataError, match="known-future columns"):
        model.predict()
    with pytest.raises(DataError, match="Feature column .load. not found"):
        model.predict(frame.drop(columns=["load"]), future=future)
    with pytest.raises(DataError, match="needs at least"):
        fc.Forecaster(**params).fit(frame.iloc[:8], target="temp")
    with pytest.raises(ConfigError, match="`units` must be a positive integer"):
        fc.Forecaster(**{**params, "units": 0})
    return model


#: Families checked in the default tier; the others (an unrolled decoder or attention blocks: slower to
#: trace) run the same contract in the slow tier, and tests/test_families.py checks them quickly.
FAST_FAMILIES = ("rnn",)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("model_type", [
    name if name in FAST_FAMILIES else pytest.param(name, marks=pytest.mark.slow) for name in sorted(MODEL_BUILDERS)
])
def test_every_model_family_meets_the_contract(model_type, variant, tmp_path, monkeypatch):
    model = check_forecaster(model_type, tmp_path, monkeypatch, VARIANTS[variant])
    if variant == "auto":
        # Every automatic setting was resolved to a concrete value and reported.
        assert set(model.choices_) >= {"season", "lookback", "base", "normalization", "transform"}
        assert model.config.window.lookback == model.choices_["lookback"]["value"]
        assert model.calendar_ == ["cal_hour_sin", "cal_hour_cos", "cal_weekday_sin", "cal_weekday_cos"]
        assert model.io_.members == 2 and model.model_.output_shape == (None, 2, 4)
        # No leakage into the choices: rewriting every row after the training rows (validation rows and
        # beyond) changes none of them.
        frame = _frame()
        train_end = frame.index.get_loc(pd.Timestamp(model.data_["train_end"])) + 1
        changed = frame.copy()
        changed.iloc[train_end:] = changed.iloc[train_end:] * 7.0 + 300.0
        other = fc.Forecaster(**dict(TINY, model=model_type, **VARIANTS[variant])).fit(
            changed, target="temp", features=["load"], future_features=["hour_sin"]
        )
        # The combination with Theta is chosen on the validation windows (as early stopping is), so it may differ.
        def from_training_rows(m):
            return ({k: v for k, v in m.choices_.items() if k != "combine"},
                    m.config.replace(combine="auto", theta_weight=None))

        assert from_training_rows(other) == from_training_rows(model)
        assert "combine" in model.choices_
