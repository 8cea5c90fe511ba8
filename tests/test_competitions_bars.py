"""benchmarks/competitions.py's forecast-quality bars: each method's geometric-mean MASE over the per-series best of
the three statistical models, and its share of series beating SeasonalNaive (pure arithmetic, no fit)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
try:
    import competitions
finally:
    sys.path.pop(0)


def test_bars_against_the_per_series_best_and_seasonal_naive():
    mase = {"AutoETS": [1.0, 2.0, 3.0], "AutoTheta": [2.0, 1.0, 3.0], "AutoARIMA": [4.0, 4.0, 1.5],
            "SeasonalNaive": [2.0, 2.0, 2.0], "forecaster": [0.5, 4.0, 1.5], "worse": [2.0, 2.0, 3.0]}
    got = competitions.bars(mase)
    # The oracle's own members can at best tie it: each is >= 1, and only a method below it reaches < 1.
    assert all(got[m]["ratio"] >= 1.0 for m in competitions.BEST_OF)
    np.testing.assert_allclose(got["forecaster"]["ratio"], (0.5 * 4.0 * 1.0) ** (1 / 3))
    np.testing.assert_allclose(got["worse"]["ratio"], (2.0 * 2.0 * 2.0) ** (1 / 3))
    assert got["forecaster"]["beats_snaive"] == 2 / 3 and got["worse"]["beats_snaive"] == 0.0
    assert got["SeasonalNaive"]["beats_snaive"] == 0.0  # ties do not count as beating
    # A series with a zero or undefined MASE is left out of the ratio, not of the share.
    mase["forecaster"][0] = float("nan")
    np.testing.assert_allclose(competitions.bars(mase)["forecaster"]["ratio"], (4.0 * 1.0) ** 0.5)
