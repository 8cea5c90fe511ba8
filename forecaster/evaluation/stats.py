"""Statistical tests for comparing forecasters on the same origins.

:func:`dm_pvalues` is the Diebold-Mariano test per horizon step, so a
difference in the third decimal is not sold as a win.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ALPHA", "dm_pvalue", "dm_pvalues"]

#: Significance level of the verdict's Diebold-Mariano tests.
ALPHA = 0.05


def dm_pvalues(actual: np.ndarray, a: np.ndarray, b: np.ndarray, *, origin_stride: int = 1) -> list[float]:
    """Two-sided Diebold-Mariano p-value per horizon step for "forecasts a and b are equally accurate".

    The loss is the absolute error; ``d_i = |e_a,i| - |e_b,i|`` over the
    origins (in time order). ``DM = mean(d) / sqrt(V / n)`` with ``V`` the
    Newey-West (Bartlett) long-run variance of ``d``: overlapping ``k``-step
    forecasts from origins ``origin_stride`` apart are correlated up to lag
    ``ceil(k / origin_stride) - 1``, and the series itself adds more, so the lag is
    the larger of that and ``floor(4 (n / 100) ** (2 / 9))``. The p-value
    uses the normal distribution. A rough guide, not a proof: a small
    p-value says the difference is unlikely to be noise.

    >>> y = np.zeros((200, 1)); rng = np.random.default_rng(0)
    >>> a = y + rng.normal(0, 1, y.shape); b = y + rng.normal(0, 3, y.shape)
    >>> dm_pvalues(y, a, b)[0] < 0.001, dm_pvalues(y, a, a)[0]
    (True, 1.0)
    """
    d = np.abs(actual - a) - np.abs(actual - b)  # (n_origins, horizon)
    n, horizon = d.shape
    if n < 2:
        return [float("nan")] * horizon
    base_lag = int(4 * (n / 100) ** (2 / 9))
    lags = np.array([min(n - 1, max(math.ceil(k / origin_stride) - 1, base_lag)) for k in range(1, horizon + 1)])
    mean = d.mean(axis=0)
    dc = d - mean
    var = (dc * dc).sum(axis=0) / n
    # All steps at once: one pass per lag j, Bartlett weight 1 - j / (lag + 1) where j <= that step's lag.
    for j in range(1, int(lags.max()) + 1):
        weight = np.where(j <= lags, 1 - j / (lags + 1), 0.0)
        var += 2 * weight * (dc[j:] * dc[:-j]).sum(axis=0) / n
    out = []
    for k in range(horizon):
        if var[k] <= 0:
            out.append(1.0 if mean[k] == 0 else 0.0)
        else:
            stat = float(mean[k]) / math.sqrt(var[k] / n)
            out.append(float(math.erfc(abs(stat) / math.sqrt(2))))
    return out




def dm_pvalue(actual: np.ndarray, a: np.ndarray, b: np.ndarray, *, origin_stride: int = 1) -> float:
    """One two-sided Diebold-Mariano p-value over the whole horizon: are forecasts a and b equally accurate?

    The loss of an origin is its mean absolute error over the ``horizon``
    steps, so ``d_i = mean_k |e_a,ik| - mean_k |e_b,ik|``. Consecutive
    origins share up to ``horizon - 1`` target rows, so the Newey-West lag is
    at least ``ceil(horizon / origin_stride) - 1`` (and at least the usual
    ``floor(4 (n / 100) ** (2 / 9))``).

    >>> y = np.zeros((300, 4)); rng = np.random.default_rng(1)
    >>> a = y + rng.normal(0, 1, y.shape); b = y + rng.normal(0, 2, y.shape)
    >>> dm_pvalue(y, a, b) < 0.001, dm_pvalue(y, a, a)
    (True, 1.0)
    """
    actual, a, b = (np.asarray(v, dtype=np.float64) for v in (actual, a, b))
    d = (np.abs(actual - a) - np.abs(actual - b)).mean(axis=1)
    n, horizon = actual.shape
    if n < 2:
        return float("nan")
    lag = min(n - 1, max(math.ceil(horizon / origin_stride) - 1, int(4 * (n / 100) ** (2 / 9))))
    mean = float(d.mean())
    dc = d - mean
    var = float((dc * dc).sum() / n)
    for j in range(1, lag + 1):
        var += 2 * (1 - j / (lag + 1)) * float((dc[j:] * dc[:-j]).sum()) / n
    if var <= 0:
        return 1.0 if mean == 0 else 0.0
    return float(math.erfc(abs(mean / math.sqrt(var / n)) / math.sqrt(2)))
