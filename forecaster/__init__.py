"""forecaster: neural time-series forecasting with honest baselines.

The public API, for notebooks and scripts::

    import forecaster as fc
    ts = fc.read_csv("sensor.csv", target="temp")       # validated TimeSeries (one or many series)
    m = fc.Forecaster(cell="gru", units=32, lookback=60, horizon=12, epochs=30)
    m.fit(ts)                                            # or a DataFrame: m.fit(df, target="temp")
    m.predict()                                          # the next horizon, original units, future timestamps
    m.save("runs/x"); m2 = fc.load("runs/x")
    r = fc.backtest(m, ts, folds=5)                      # rolling origin, beside the baselines
    cfg = fc.ForecastConfig.from_file("cfg.toml")

Importing this package is cheap: the names are resolved on first use
(PEP 562), so Keras and TensorFlow load only when a model is built, trained
or loaded, and ``forecast --help`` stays instant.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from forecaster.exceptions import (
    ArtifactError,
    ConfigError,
    DataError,
    ForecasterError,
    NotFittedError,
    TrainingError,
)

__version__ = "0.2.0"

#: Public name -> module that defines it (imported on first access).
_LAZY = {
    "Forecaster": "forecaster.forecaster",
    "load": "forecaster.forecaster",
    "ForecastConfig": "forecaster.config",
    "TimeSeries": "forecaster.data",
    "Series": "forecaster.data",
    "read_csv": "forecaster.data",
    "from_dataframe": "forecaster.data",
    "backtest": "forecaster.evaluation",
    "historical_forecasts": "forecaster.evaluation",
    "BacktestResult": "forecaster.evaluation",
    "RunStore": "forecaster.store",
    "plot_forecast": "forecaster.plot",
    "plot_history": "forecaster.plot",
    "plot_backtest": "forecaster.plot",
    "plot_error_by_step": "forecaster.plot",
}

__all__ = [
    "ArtifactError",
    "ConfigError",
    "DataError",
    "ForecasterError",
    "NotFittedError",
    "TrainingError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'forecaster' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only  # noqa: F401
    from forecaster.config import ForecastConfig
    from forecaster.data import Series, TimeSeries, from_dataframe, read_csv
    from forecaster.evaluation import BacktestResult, backtest, historical_forecasts
    from forecaster.forecaster import Forecaster, load
    from forecaster.plot import plot_backtest, plot_error_by_step, plot_forecast, plot_history
    from forecaster.store import RunStore
