"""Evaluation: rolling-origin backtests of a forecaster beside honest baselines.

A backtest composes three steps, each its own module:

* :mod:`~forecaster.evaluation.splits`: which origins are forecast, in which
  folds, and on which rows each fold's model trains (pure index arithmetic);
* :mod:`~forecaster.evaluation.historical`: fit per fold and forecast every
  origin, the baselines on the same origins (a long table, no scores);
* :mod:`~forecaster.evaluation.report`: scores (:mod:`~forecaster.evaluation.metrics`),
  Diebold-Mariano tests (:mod:`~forecaster.evaluation.stats`), verdict, text
  and figures; :mod:`~forecaster.evaluation.storage` writes and reads the
  run directory.

>>> from forecaster import data
>>> from forecaster.config import ForecastConfig
>>> from forecaster.evaluation import backtest
>>> result = backtest(ForecastConfig(horizon=5, epochs=5), data.load("data/prices.csv"), folds=3)  # doctest: +SKIP
>>> result.metrics  # doctest: +SKIP
"""

from forecaster.evaluation.engine import backtest, run_backtest
from forecaster.evaluation.historical import (
    FORECAST_COLUMNS,
    MODEL,
    HistoricalForecasts,
    Progress,
    historical_forecasts,
)
from forecaster.evaluation.metrics import METRICS, Metric
from forecaster.evaluation.report import (
    BacktestResult,
    backtest_figures,
    score,
    score_forecasts,
    verdict,
)
from forecaster.evaluation.splits import (
    BacktestConfig,
    BacktestPlan,
    Fold,
    fold_table,
    format_fold_table,
    min_train_rows,
    plan_backtest,
    plan_folds,
)
from forecaster.evaluation.stats import dm_pvalues

__all__ = [
    "FORECAST_COLUMNS",
    "METRICS",
    "MODEL",
    "BacktestConfig",
    "BacktestPlan",
    "BacktestResult",
    "Fold",
    "HistoricalForecasts",
    "Metric",
    "Progress",
    "backtest",
    "backtest_figures",
    "dm_pvalues",
    "fold_table",
    "format_fold_table",
    "historical_forecasts",
    "min_train_rows",
    "plan_backtest",
    "plan_folds",
    "run_backtest",
    "score",
    "score_forecasts",
    "verdict",
]
