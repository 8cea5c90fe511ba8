"""The few places where evaluation touches the series type and the estimator.

Everything the backtest needs from :class:`forecaster.data.Series` and
:class:`forecaster.forecaster.Forecaster` goes through these functions, so a
change to either type is absorbed here.

Used from a series: ``values`` (rows x columns, target in column 0), ``index``,
``freq``, ``target``, ``features``, ``source``, ``fingerprint``, ``kind``,
``frame`` and ``len()``. From a forecaster: ``Forecaster(config)``,
``.fit(series, verbose=...)``, ``.predict_origins(series, origins)``,
``.history_``, ``.metrics_`` and ``.config``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError, DataError


def model_config(model: Any) -> ForecastConfig:
    """The config of ``model``: a :class:`ForecastConfig`, or anything with a ``.config`` that is one."""
    if isinstance(model, ForecastConfig):
        return model
    config = getattr(model, "config", None)
    if isinstance(config, ForecastConfig):
        return config
    raise ConfigError(
        "`model` must be a Forecaster or a ForecastConfig (every fold fits a fresh model from its config). "
        f"Received: model={type(model).__name__}"
    )


def one_series(data: Any) -> Any:
    """``data`` itself, or the only member of a collection of series (anything with ``members``)."""
    members = getattr(data, "members", None)
    if members is None:
        return data
    if len(members) != 1:
        raise DataError(
            f"A backtest evaluates one series at a time. Received: {len(members)} series; pick one with data[id]."
        )
    return members[0]


def target(series: Any) -> np.ndarray:
    """The target column as a float64 array."""
    return series.values[:, 0]


def target_series(series: Any) -> pd.Series:
    """The target column as a pandas Series on the series' time index."""
    return pd.Series(target(series), index=series.index, name=series.target)


def rows(series: Any, start: int, stop: int) -> Any:
    """``series`` restricted to rows ``[start, stop)`` (same columns, frequency and source)."""
    return dataclasses.replace(
        series,
        frame=series.frame.iloc[start:stop],
        fingerprint=f"{series.fingerprint}[{start}:{stop}]",
        report=None,
    )


def data_info(series: Any) -> dict[str, Any]:
    """What a backtest records about its data (``backtest.json``'s ``data``)."""
    idx = series.index
    return {
        "source": series.source,
        "name": Path(series.source).name if series.source else "<data>",
        "fingerprint": series.fingerprint,
        "target": series.target,
        "features": list(series.features),
        "frequency": series.freq,
        "kind": series.kind,
        "rows": len(series),
        "start": idx[0].isoformat(),
        "end": idx[-1].isoformat(),
    }


def fit(config: ForecastConfig, series: Any, start: int, stop: int, verbose: int | str, warm_start: Any = None) -> Any:
    """A brand-new forecaster (fresh model, fresh optimizer, scaler fitted on these rows) fitted on rows ``[start, stop)``.

    ``warm_start``: a fitted forecaster whose weights the new network starts from (``--refit-warm``).
    """
    from forecaster.forecaster import (
        Forecaster,  # Keras is imported only when a backtest runs
    )

    return Forecaster(config).fit(rows(series, start, stop), verbose=verbose, warm_start=warm_start)


def predict(forecaster: Any, series: Any, origins: np.ndarray) -> np.ndarray:
    """``(len(origins), horizon)`` forecasts from the rows before each origin, in one batched pass."""
    return forecaster.predict_origins(series, origins)


def predict_intervals(forecaster: Any, series: Any, origins: np.ndarray) -> dict[str, np.ndarray]:
    """Point forecasts (``"point"``), quantile and interval columns at ``origins``, in one batched pass."""
    return forecaster.predict_intervals(series, origins)


def fit_summary(forecaster: Any) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """The fit's metrics a backtest records, and its per-epoch history."""
    m = forecaster.metrics_
    keys = ("epochs_run", "best_epoch", "val_mae", "naive_val_mae")
    return {k: m[k] for k in keys}, dict(forecaster.history_)
