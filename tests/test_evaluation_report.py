"""Scoring a forecast table, Diebold-Mariano p-values, the verdict: pure numpy, no model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.baselines import BASELINES
from forecaster.evaluation.historical import FORECAST_COLUMNS, MODEL, forecast_frame
from forecaster.evaluation.metrics import METRICS
from forecaster.evaluation.report import score, score_forecasts, verdict
from forecaster.evaluation.stats import dm_pvalues
from forecaster.exceptions import DataError


def test_score_mase_uses_each_origins_fold_scale():
    y = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = score(y, {"m": y + np.array([[1.0, 1.0], [2.0, 2.0], [0.0, 4.0]])}, np.array([1.0, 2.0, 4.0]))
    # scaled errors: [1, 1], [1, 1], [0, 1]
    assert out["overall"]["m"]["mase"] == pytest.approx(5 / 6)
    assert out["per_step"]["m"]["mase"] == pytest.approx([2 / 3, 1.0])
    assert out["overall"]["m"]["mae"] == pytest.approx(10 / 6)



def test_diebold_mariano_p_values():
    rng = np.random.default_rng(0)
    y = np.zeros((300, 2))
    good, bad = y + rng.normal(0, 1, y.shape), y + rng.normal(0, 2, y.shape)
    assert all(p < 1e-6 for p in dm_pvalues(y, good, bad))
    assert dm_pvalues(y, good, good) == [1.0, 1.0]
    # Two equally good forecasters: no significant difference (most of the time; fixed seed here).
    same = y + rng.normal(0, 1, y.shape)
    assert all(p > 0.05 for p in dm_pvalues(y, good, same))


def _table(rng: np.random.Generator, n_origins: int = 6, horizon: int = 3) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=40, freq="h")
    origins = np.arange(20, 20 + n_origins, dtype=np.int64)
    actual = rng.normal(10, 1, (n_origins, horizon))
    forecasts = {name: actual + rng.normal(0, 1 + i, actual.shape) for i, name in enumerate((MODEL, *BASELINES))}
    return forecast_frame(index, origins, np.repeat([1, 2], n_origins // 2), actual, forecasts)


def test_score_forecasts_matches_score_on_the_arrays():
    table = _table(np.random.default_rng(1))
    assert list(table.columns) == list(FORECAST_COLUMNS)
    out = score_forecasts(table, {1: 2.0, 2: 4.0}, horizon=3)
    actual = table["actual"].to_numpy().reshape(-1, 3)
    arrays = {name: table[name].to_numpy().reshape(-1, 3) for name in (MODEL, *BASELINES)}
    direct = score(actual, arrays, np.array([2.0, 2.0, 2.0, 4.0, 4.0, 4.0]))
    assert out["overall"] == direct["overall"] and out["per_step"] == direct["per_step"]
    assert set(out["overall"][MODEL]) == set(METRICS)
    assert [f["fold"] for f in out["per_fold"]] == [1, 2] and [f["origins"] for f in out["per_fold"]] == [3, 3]
    assert out["per_fold"][1]["mase"][MODEL] == pytest.approx(out["per_fold"][1]["mae"][MODEL] / 4.0)
    assert out["verdict"]["per_step"] == verdict(direct["per_step"], {
        name: dm_pvalues(actual, arrays[MODEL], arrays[name]) for name in ("seasonal_naive", "naive")
    })
    assert out["verdict"]["summary"].startswith("The model beats seasonal naive at ")


def test_score_forecasts_refuses_a_table_out_of_order():
    table = _table(np.random.default_rng(2)).iloc[::-1]
    with pytest.raises(DataError, match="must hold steps 1..3 of each origin, in order"):
        score_forecasts(table, {1: 1.0, 2: 1.0}, horizon=3)
