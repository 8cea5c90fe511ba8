"""Point-forecast accuracy metrics.

Every metric compares actual values ``y`` with forecasts ``yhat`` laid out as
``(n_origins, horizon)``: row ``i`` is the forecast made at origin ``i`` and
column ``k`` is horizon step ``k + 1``. A 1-D array of length ``n`` is read as
``n`` one-step forecasts, i.e. as shape ``(n, 1)``; pass ``y[None, :]`` for a
single forecast path of length ``n``.

Each metric takes an ``axis`` argument:

* ``axis=None`` (default) averages over all origins and horizon steps and
  returns a Python ``float``;
* ``axis=0`` averages over origins only and returns a float array of shape
  ``(horizon,)``: the error at each horizon step.

Inputs must have identical shapes and contain only finite values; anything
else raises :class:`~forecaster.exceptions.DataError`.

Formulas, with ``e = y - yhat`` and means taken over the reduced axis:

* ``MAE   = mean(|e|)``
* ``RMSE  = sqrt(mean(e ** 2))``
* ``MAPE  = 100 * mean(|e| / |y|)`` over points where ``y`` is not (close to)
  zero, in percent;
* ``sMAPE = 100 * mean(2 * |e| / (|y| + |yhat|))``, in percent, between 0 and
  200;
* ``MASE  = MAE / mean_t(|y_train[t] - y_train[t - season]|)``.

MAE and RMSE are in the units of the series; MAPE, sMAPE and MASE are
scale-free and can be compared across series.

:data:`METRICS` is the one registry: name -> :class:`Metric` (label, unit,
formula text, function). Backtest scoring iterates it and ``metrics.json``
records its formulas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from forecaster.exceptions import ConfigError, DataError

__all__ = [
    "MAPE_ZERO_TOLERANCE",
    "METRICS",
    "Metric",
    "evaluate",
    "formulas",
    "mae",
    "mape",
    "mase",
    "mean_scaled_error",
    "rmse",
    "seasonal_naive_scale",
    "smape",
]

#: Relative tolerance of the MAPE zero guard: a point is left out of MAPE when
#: ``|y| <= MAPE_ZERO_TOLERANCE * max(|y|)`` (so exact zeros always are).
MAPE_ZERO_TOLERANCE: float = 1e-8

Axis = Literal[0] | None
MetricResult = float | NDArray[np.float64]


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------


def _as_finite_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert ``value`` to a float64 array and reject NaN / inf."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"`{name}` must be an array of numbers. Received: {type(value).__name__} ({exc})") from None
    if arr.size == 0:
        raise DataError(f"`{name}` must not be empty. Received: {name}.shape={arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(bad.sum()) - n_nan
        raise DataError(
            f"`{name}` must not contain NaN or infinite values. "
            f"Received: {n_nan} NaN and {n_inf} infinite value(s) in {name}"
        )
    return arr


def _check_pair(y: ArrayLike, yhat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate ``y`` / ``yhat`` and return them as 2-D float arrays."""
    y_arr = _as_finite_array(y, "y")
    yhat_arr = _as_finite_array(yhat, "yhat")
    if y_arr.shape != yhat_arr.shape:
        raise DataError(
            "`y` and `yhat` must have the same shape. "
            f"Received: y.shape={y_arr.shape} and yhat.shape={yhat_arr.shape}"
        )
    if y_arr.ndim not in (1, 2):
        raise DataError(
            "`y` and `yhat` must be 1-D or 2-D arrays of shape (n_origins, horizon). "
            f"Received: y.shape={y_arr.shape}"
        )
    if y_arr.ndim == 1:
        y_arr = y_arr[:, None]
        yhat_arr = yhat_arr[:, None]
    return y_arr, yhat_arr


def _check_axis(axis: object) -> None:
    if axis is not None and not (isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) and axis == 0):
        raise ConfigError(f"`axis` must be None or 0. Received: axis={axis!r}")


def _check_season(season: object) -> int:
    if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 1:
        raise ConfigError(f"`season` must be a positive integer. Received: season={season!r}")
    return int(season)


def _reduce_mean(values: NDArray[np.float64], axis: Axis) -> MetricResult:
    """Mean over everything (-> float) or over origins (-> per-step array)."""
    if axis is None:
        return float(np.mean(values))
    return np.mean(values, axis=0)


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------


def mae(y: ArrayLike, yhat: ArrayLike, *, axis: Axis = None) -> MetricResult:
    """Mean absolute error.

    ``MAE = mean(|y - yhat|)``, in the units of the series.

    Args:
        y: Actual values, shape ``(n_origins, horizon)`` or ``(n,)``.
        yhat: Forecasts, same shape as ``y``.
        axis: ``None`` for one number, ``0`` for one value per horizon step.

    Returns:
        A float (``axis=None``) or an array of shape ``(horizon,)`` (``axis=0``).

    Raises:
        DataError: If the shapes differ, or an input is empty or not finite.
        ConfigError: If ``axis`` is not ``None`` or ``0``.

    >>> mae([[1.0, 2.0], [3.0, 4.0]], [[2.0, 2.0], [3.0, 6.0]])
    0.75
    """
    _check_axis(axis)
    y_arr, yhat_arr = _check_pair(y, yhat)
    return _reduce_mean(np.abs(y_arr - yhat_arr), axis)


def rmse(y: ArrayLike, yhat: ArrayLike, *, axis: Axis = None) -> MetricResult:
    """Root mean squared error.

    ``RMSE = sqrt(mean((y - yhat) ** 2))``, in the units of the series. With
    ``axis=0`` the square root is taken per horizon step.

    Args:
        y: Actual values, shape ``(n_origins, horizon)`` or ``(n,)``.
        yhat: Forecasts, same shape as ``y``.
        axis: ``None`` for one number, ``0`` for one value per horizon step.

    Returns:
        A float (``axis=None``) or an array of shape ``(horizon,)`` (``axis=0``).

    Raises:
        DataError: If the shapes differ, or an input is empty or not finite.
        ConfigError: If ``axis`` is not ``None`` or ``0``.

    >>> rmse([0.0, 0.0], [3.0, -3.0])
    3.0
    """
    _check_axis(axis)
    y_arr, yhat_arr = _check_pair(y, yhat)
    mse = _reduce_mean(np.square(y_arr - yhat_arr), axis)
    if axis is None:
        return float(np.sqrt(mse))
    return np.sqrt(mse)


def mape(y: ArrayLike, yhat: ArrayLike, *, axis: Axis = None) -> MetricResult:
    """Mean absolute percentage error, guarded against zero actuals.

    ``MAPE = 100 * mean(|y - yhat| / |y|)``, in percent (0 is perfect; there is
    no upper bound).

    Zero guard: MAPE divides by ``|y|``, so points with ``y`` at or near zero
    are *left out* of the mean. A point is excluded when
    ``|y| <= MAPE_ZERO_TOLERANCE * max(|y|)`` (``MAPE_ZERO_TOLERANCE = 1e-8``,
    ``max`` over the whole ``y`` array), which always excludes exact zeros. The
    mean is taken over the remaining points only; if no point remains (for
    ``axis=0``: none in that horizon step) the result is ``nan``. Prefer sMAPE
    or MASE for series that cross or touch zero.

    Args:
        y: Actual values, shape ``(n_origins, horizon)`` or ``(n,)``.
        yhat: Forecasts, same shape as ``y``.
        axis: ``None`` for one number, ``0`` for one value per horizon step.

    Returns:
        A float (``axis=None``) or an array of shape ``(horizon,)`` (``axis=0``),
        ``nan`` where every point was excluded by the zero guard.

    Raises:
        DataError: If the shapes differ, or an input is empty or not finite.
        ConfigError: If ``axis`` is not ``None`` or ``0``.

    >>> mape([0.0, 2.0, 4.0], [5.0, 1.0, 5.0])  # y=0 is left out
    37.5
    """
    _check_axis(axis)
    y_arr, yhat_arr = _check_pair(y, yhat)
    abs_y = np.abs(y_arr)
    keep = abs_y > MAPE_ZERO_TOLERANCE * abs_y.max()
    ratio = np.divide(np.abs(y_arr - yhat_arr), abs_y, out=np.zeros_like(abs_y), where=keep)
    if axis is None:
        count = int(keep.sum())
        return float(100.0 * ratio.sum() / count) if count else float("nan")
    counts = keep.sum(axis=0)
    totals = ratio.sum(axis=0)
    return np.divide(100.0 * totals, counts, out=np.full(totals.shape, np.nan), where=counts > 0)


def smape(y: ArrayLike, yhat: ArrayLike, *, axis: Axis = None) -> MetricResult:
    """Symmetric mean absolute percentage error.

    ``sMAPE = 100 * mean(2 * |y - yhat| / (|y| + |yhat|))``, in percent on a
    0-200 scale: 0 for a perfect forecast, 200 when every forecast has the
    opposite sign of the actual value (or one of them is zero and the other
    not). A term where ``y == yhat == 0`` counts as 0 (a perfect forecast),
    so sMAPE is always defined.

    Args:
        y: Actual values, shape ``(n_origins, horizon)`` or ``(n,)``.
        yhat: Forecasts, same shape as ``y``.
        axis: ``None`` for one number, ``0`` for one value per horizon step.

    Returns:
        A float in ``[0, 200]`` (``axis=None``) or an array of shape
        ``(horizon,)`` (``axis=0``).

    Raises:
        DataError: If the shapes differ, or an input is empty or not finite.
        ConfigError: If ``axis`` is not ``None`` or ``0``.

    >>> smape([1.0, 0.0, 2.0], [3.0, 0.0, -2.0])
    100.0
    """
    _check_axis(axis)
    y_arr, yhat_arr = _check_pair(y, yhat)
    denom = np.abs(y_arr) + np.abs(yhat_arr)
    terms = np.divide(2.0 * np.abs(y_arr - yhat_arr), denom, out=np.zeros_like(denom), where=denom > 0)
    return _reduce_mean(100.0 * terms, axis)


def seasonal_naive_scale(y_train: ArrayLike, season: int = 1) -> float:
    """In-sample MAE of the seasonal naive forecast on a training series.

    ``scale = mean_{t = season .. n-1}(|y_train[t] - y_train[t - season]|)``,
    the denominator of MASE. ``season=1`` gives the plain (one-step) naive
    forecast's MAE.

    Args:
        y_train: The 1-D training part of the series, in original units.
        season: Season length in steps (a positive integer).

    Returns:
        The scale as a float; it is strictly positive.

    Raises:
        ConfigError: If ``season`` is not a positive integer.
        DataError: If ``y_train`` is not 1-D, contains NaN/inf, has fewer than
            ``season + 1`` points, or gives a scale of 0 (the series repeats
            itself exactly every ``season`` steps, e.g. it is constant).

    >>> seasonal_naive_scale([1.0, 2.0, 4.0, 7.0], season=1)
    2.0
    """
    season = _check_season(season)
    arr = _as_finite_array(y_train, "y_train")
    if arr.ndim != 1:
        raise DataError(f"`y_train` must be a 1-D series. Received: y_train.shape={arr.shape}")
    if arr.shape[0] < season + 1:
        raise DataError(
            f"`y_train` must have at least season + 1 = {season + 1} points to compute the seasonal "
            f"naive scale. Received: len(y_train)={arr.shape[0]}, season={season}"
        )
    scale = float(np.mean(np.abs(arr[season:] - arr[:-season])))
    if scale == 0.0:
        raise DataError(
            f"The seasonal naive scale of `y_train` is 0 (the training series repeats itself exactly "
            f"every {season} step(s), e.g. it is constant), so MASE is undefined. "
            f"Received: season={season}, len(y_train)={arr.shape[0]}"
        )
    return scale


def mase(
    y: ArrayLike,
    yhat: ArrayLike,
    y_train: ArrayLike,
    season: int = 1,
    *,
    axis: Axis = None,
) -> MetricResult:
    """Mean absolute scaled error (Hyndman & Koehler, 2006).

    ``MASE = MAE(y, yhat) / mean_t(|y_train[t] - y_train[t - season]|)``: the
    forecast's MAE divided by the in-sample MAE of the seasonal naive forecast
    on the training part (see :func:`seasonal_naive_scale`). Below 1 beats the
    in-sample seasonal naive forecast; ``season=1`` scales by the plain naive
    forecast.

    Args:
        y: Actual values, shape ``(n_origins, horizon)`` or ``(n,)``.
        yhat: Forecasts, same shape as ``y``.
        y_train: The 1-D training series (original units) used for the scale.
        season: Season length in steps (a positive integer).
        axis: ``None`` for one number, ``0`` for one value per horizon step.

    Returns:
        A float (``axis=None``) or an array of shape ``(horizon,)`` (``axis=0``).

    Raises:
        DataError: If the shapes differ, an input is empty or not finite, or
            the scale is undefined (see :func:`seasonal_naive_scale`).
        ConfigError: If ``season`` is not a positive integer or ``axis`` is
            not ``None`` or ``0``.

    >>> mase([5.0, 7.0], [6.0, 9.0], y_train=[1.0, 2.0, 4.0, 7.0], season=1)
    0.75
    """
    _check_axis(axis)
    y_arr, yhat_arr = _check_pair(y, yhat)
    scale = seasonal_naive_scale(y_train, season)
    err = _reduce_mean(np.abs(y_arr - yhat_arr), axis)
    if axis is None:
        return float(err) / scale
    return err / scale


def mean_scaled_error(
    y: ArrayLike, yhat: ArrayLike, scales: ArrayLike, *, axis: Axis = None
) -> MetricResult:
    """MASE with one scale per origin: ``mean_i,k(|y_ik - yhat_ik| / scales_i)``.

    A backtest scales each origin by the seasonal naive scale of the training
    rows of the model that forecast it (:func:`seasonal_naive_scale` of that
    fold), then averages the scaled errors; with a single scale this is
    :func:`mase`.

    Args:
        y: Actual values, shape ``(n_origins, horizon)`` or ``(n,)``.
        yhat: Forecasts, same shape as ``y``.
        scales: ``(n_origins,)`` strictly positive scales.
        axis: ``None`` for one number, ``0`` for one value per horizon step.

    Raises:
        DataError: If the shapes differ, an input is not finite, or a scale
            is not positive.

    >>> mean_scaled_error([[1.0, 2.0], [3.0, 4.0]], [[2.0, 3.0], [4.0, 5.0]], [1.0, 2.0])
    0.75
    """
    _check_axis(axis)
    y_arr, yhat_arr = _check_pair(y, yhat)
    s = np.asarray(scales, dtype=np.float64)
    if s.shape != (len(y_arr),) or not (np.isfinite(s).all() and (s > 0).all()):
        raise DataError(f"`scales` must hold one positive scale per origin. Received shape {s.shape}")
    return _reduce_mean(np.abs(y_arr - yhat_arr) / s[:, None], axis)


@dataclass(frozen=True)
class Metric:
    """One entry of :data:`METRICS`: what a metric is called, how it is computed, and the function.

    Calling the entry calls the function, so ``METRICS["mae"](y, yhat)`` works.

    Attributes:
        name: registry key (``"mae"``), also the key in ``metrics.json``.
        label: column title (``"MAE"``).
        unit: ``"%"`` for the percentage metrics, ``""`` otherwise.
        formula: the formula in words, written into ``metrics.json``.
        fn: the function, ``(y, yhat, *, axis=None)``; ``mase`` also takes
            ``y_train`` and ``season``.
        scaled: the metric is scaled by the in-sample seasonal naive error
            (MASE): a backtest computes it with :func:`mean_scaled_error`.
    """

    name: str
    label: str
    unit: str
    formula: str
    fn: Callable[..., MetricResult]
    scaled: bool = False

    def __call__(self, *args: Any, **kwargs: Any) -> MetricResult:
        return self.fn(*args, **kwargs)


#: Metric name -> :class:`Metric`, in the order tables show them.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("mae", "MAE", "", "mean(|y - yhat|), units of the series", mae),
        Metric("rmse", "RMSE", "", "sqrt(mean((y - yhat)^2)), units of the series", rmse),
        Metric(
            "mape", "MAPE", "%",
            "100 * mean(|y - yhat| / |y|) in percent, points with |y| <= 1e-8 * max|y| left out", mape,
        ),
        Metric("smape", "sMAPE", "%", "100 * mean(2 |y - yhat| / (|y| + |yhat|)) in percent, 0-200 scale", smape),
        Metric(
            "mase", "MASE", "",
            "mean over origins i and steps k of |y - yhat| / s_f(i), s_f = mean_t |y_t - y_(t-season)| "
            "on the training rows of the model that forecast fold f",
            mase,
            scaled=True,
        ),
    )
}


def formulas() -> dict[str, str]:
    """Metric name -> formula text (what ``metrics.json`` records).

    >>> formulas()["mae"]
    'mean(|y - yhat|), units of the series'
    """
    return {name: m.formula for name, m in METRICS.items()}


def evaluate(y: ArrayLike, yhat: ArrayLike, *, y_train: ArrayLike, season: int) -> dict[str, float]:
    """Compute every metric in :data:`METRICS` over all origins and steps.

    Args:
        y: Actual values, shape ``(n_origins, horizon)`` or ``(n,)``.
        yhat: Forecasts, same shape as ``y``.
        y_train: The 1-D training series used for the MASE scale.
        season: Season length in steps used for the MASE scale.

    Returns:
        ``{"mae", "rmse", "mape", "smape", "mase"}`` mapped to floats (MAPE
        may be ``nan``, see :func:`mape`).

    Raises:
        DataError: On invalid inputs (see the individual metrics).
        ConfigError: If ``season`` is not a positive integer.

    >>> scores = evaluate([5.0, 7.0], [6.0, 9.0], y_train=[1.0, 2.0, 4.0, 7.0], season=1)
    >>> scores["mae"], scores["mase"]
    (1.5, 0.75)
    """
    results: dict[str, float] = {}
    for name, metric in METRICS.items():
        if metric.scaled:
            results[name] = float(metric(y, yhat, y_train, season))
        else:
            results[name] = float(metric(y, yhat))
    return results
