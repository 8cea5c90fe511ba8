"""Automatic choices, made from the training rows only.

``Forecaster.fit`` resolves every ``auto`` / unset setting here, before any
model is built, from the rows before the validation split (so in a backtest,
from the rows before each fold's cutoff): nothing after a forecast origin can
influence a choice. The resolved values are written into the fitted config
(so the manifest holds concrete numbers) and reported in ``choices_``:

``season``
    from the frequency (24 hourly, 7 daily, 5 trading days, 12 monthly, ...).
``lookback``
    three seasons, at least twice the horizon, capped at
    :data:`MAX_AUTO_LOOKBACK` steps (longer cycles such as the week of hourly
    data come in through the calendar features instead) and at half of the
    training rows left after one horizon, so short series keep enough windows;
    never shorter than one season when a season fits.
``base``
    per horizon step, the naive, the seasonal naive, the Naive2 forecast
    (the last value, seasonally adjusted by the window's own seasonal profile,
    see :func:`naive2_weights`) or, when listed in ``base_candidates``, the
    window's drift (:func:`drift_weights`; not by default: on M3 it chose drift
    on the training windows and lost on the hidden future), or the window's
    Theta forecast (:func:`theta_weights`; not by default either: on the M3
    samples it helped M3 other and lost on yearly), whichever had the
    lower MAE over the training windows (the seasonal ones
    only when one, respectively two, whole seasons fit in the lookback; a
    recursive model only the one-row bases naive and seasonal naive).
``normalization`` / ``transform``
    each candidate (``window`` / ``global``; ``log`` / ``none`` for a
    positive target) is scored on *inner* validation windows: the last part
    of the training rows, predicted by a ridge regression on the same
    windows (a cheap, deterministic stand-in for the network). Window-relative
    scaling without log stays unless another candidate's inner MAE (original
    units) is at least :data:`PROXY_MARGIN` lower. Price files keep their log
    transform.
``ensemble``
    3 members below 2,000 training windows, else 1: small data gains most
    from averaging the members' noise (measured on 24 short M3/Tourism series
    over 3 seeds: one member was 0.8 % worse on average and twice as variable
    from seed to seed). Training time grows with the members, not with the
    windows (the step budget is fixed), so the members cost a short series
    about twice its fit time.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from forecaster.config import DEFAULT_BASE_CANDIDATES, ForecastConfig
from forecaster.exceptions import ConfigError, DataError
from forecaster.windowing import WindowView, chronological_split

log = logging.getLogger(__name__)

#: Longest automatic lookback (steps): recurrent training time grows with it.
MAX_AUTO_LOOKBACK = 168
#: Windows the ridge proxy is fitted and scored on (a seeded sample beyond that).
PROXY_WINDOWS = 4000
#: How much lower (relative) a candidate's proxy MAE must be to replace window-relative scaling without log.
PROXY_MARGIN = 0.05


def season_of(config: ForecastConfig, freq: str) -> int:
    """``window.season``, else from the frequency (1 when it has no natural cycle)."""
    if config.window.season is not None:
        return config.window.season
    from forecaster.baselines import infer_season

    try:
        return infer_season(freq)
    except ConfigError:
        return 1


def auto_lookback(n_rows: int, season: int, horizon: int, val_fraction: float) -> int:
    """The automatic lookback for a series of ``n_rows`` (see the module docstring).

    >>> auto_lookback(5000, 24, 24, 0.15), auto_lookback(144, 12, 18, 0.15), auto_lookback(20, 1, 6, 0.15)
    (72, 36, 4)
    """
    n_train = n_rows - max(int(round(n_rows * val_fraction)), horizon)
    want = min(max(3 * season if season > 1 else 0, 2 * horizon, 8), max(MAX_AUTO_LOOKBACK, season))
    cap = max((n_train - horizon) // 2, 1)
    lookback = min(want, cap)
    if 1 < season <= n_train - horizon - 2 and lookback < season:
        lookback = season  # one whole season, so the seasonal baseline is in the window
    return max(1, min(lookback, n_train - horizon))


#: Bases whose forecast of every step is one input row (a gather); the others are weighted sums of rows.
ROW_BASES = ("naive", "seasonal_naive")


def naive2_weights(lookback: int, horizon: int, season: int) -> np.ndarray:
    """``(horizon, lookback)`` weights of the Naive2 base: the naive forecast of the seasonally adjusted window, reseasonalised.

    The window's last ``K = lookback // season`` whole seasons (aligned to its end) give the seasonal profile
    ``s_p`` = mean over those seasons of (value at phase ``p`` - that season's mean). Step ``k`` forecasts
    ``x[-1] - s_(m-1) + s_(k mod m)``: the last value with its own seasonal effect taken off and step ``k``'s put
    on (M4's Naive2, with the indices of each window, additive in model units: multiplicative after a log
    transform). Each row sums to 1, so it commutes with the affine scaling and the window-relative shift.

    >>> w = naive2_weights(8, 3, 4)  # two seasons of 4
    >>> x = np.array([10, 20, 30, 40, 12, 22, 32, 42.0])  # level 25 then 27, profile -15 -5 5 15
    >>> (w @ x).round(6).tolist()
    [12.0, 22.0, 32.0]
    """
    k = lookback // season
    if season < 2 or k < 2:
        raise ConfigError(
            f"`base` naive2 needs two whole seasons in the window: lookback={lookback}, season={season}. "
            "Raise --lookback or use --base naive."
        )
    start = lookback - k * season
    profile = np.zeros((season, lookback))
    centre = np.eye(season) - 1.0 / season  # value at phase p less the season's mean
    for c in range(k):
        profile[:, start + c * season : start + (c + 1) * season] += centre / k
    weights = np.zeros((horizon, lookback))
    weights[:, lookback - 1] = 1.0
    weights += profile[np.arange(horizon) % season] - profile[season - 1]
    return weights


def drift_weights(lookback: int, horizon: int) -> np.ndarray:
    """``(horizon, lookback)`` weights of the drift base: the last value plus step ``k`` times the window's average
    change per row, ``x[-1] + k (x[-1] - x[0]) / (lookback - 1)`` (the random walk with drift fitted on the window).
    Each row sums to 1, so it commutes with the affine scaling and the window-relative shift.

    >>> (drift_weights(4, 2) @ np.array([10, 11, 12, 13.0])).round(6).tolist()
    [14.0, 15.0]
    """
    if lookback < 2:
        raise ConfigError(f"`base` drift needs two rows in the window: lookback={lookback}. Raise --lookback or use --base naive.")
    weights = np.zeros((horizon, lookback))
    slope = np.arange(1, horizon + 1) / (lookback - 1)
    weights[:, lookback - 1] = 1.0 + slope
    weights[:, 0] -= slope
    return weights


#: The smoothing weight of the ``theta`` base (:func:`theta_weights`). Chosen on the M3 samples: offered 0.2, 0.5
#: and 0.9 as separate candidates, the per-step choice took 0.9 at every step of M3 monthly, quarterly and other.
THETA_BASE_ALPHA = 0.9


def theta_weights(lookback: int, horizon: int, alpha: float = THETA_BASE_ALPHA) -> np.ndarray:
    """``(horizon, lookback)`` weights of the theta base: the Theta method (:mod:`forecaster.theta`) on the window
    alone, ``level + slope / 2 * (k - 1 + 1 / alpha - (1 - alpha) ** lookback / alpha)`` at step ``k``, with the
    window's exponentially smoothed level (started at its first row) and its least-squares slope. Both are linear
    in the window's rows; each row of weights sums to 1 (the level's weights sum to 1, the slope's to 0), so it
    commutes with the affine scaling and the window-relative shift.

    >>> (theta_weights(4, 2, alpha=1.0) @ np.array([10, 12, 14, 16.0])).round(6).tolist()  # the last value plus half the slope
    [17.0, 18.0]
    """
    if lookback < 3:
        raise ConfigError(f"`base` theta needs three rows in the window: lookback={lookback}. Raise --lookback or use --base naive.")
    from forecaster.theta import forecast

    level = alpha * (1.0 - alpha) ** (lookback - 1 - np.arange(lookback))
    level[0] = (1.0 - alpha) ** (lookback - 1)
    t = np.arange(lookback, dtype=np.float64)
    slope = (t - t.mean()) / np.sum((t - t.mean()) ** 2)
    # The forecast is linear in (level, slope): Theta's own step formula applied to each row's two weights.
    return forecast(level, slope, np.full(lookback, float(lookback)), np.full(lookback, alpha), horizon).T


def base_candidates(lookback: int, horizon: int, season: int, names: tuple[str, ...] = DEFAULT_BASE_CANDIDATES,
                    rows_only: bool = False) -> dict[str, np.ndarray]:
    """The baselines ``base auto`` chooses from (``names``, in that order), as ``(horizon, lookback)`` weights: those
    that fit the window, naive always. ``rows_only``: only the bases that copy one input row (a recursive model
    feeds its prediction back through such a base)."""
    out = {"naive": _one_hot(np.full(horizon, lookback - 1), lookback)}
    for name in names:
        if name == "seasonal_naive" and 1 < season <= lookback:
            out[name] = _one_hot(lookback - season + np.arange(horizon) % season, lookback)
        elif rows_only or name in out:
            continue
        elif name == "naive2" and season > 1 and lookback // season >= 2:
            out[name] = naive2_weights(lookback, horizon, season)
        elif name == "drift" and lookback >= 2:
            out[name] = drift_weights(lookback, horizon)
        elif name == "theta" and lookback >= 3:
            out[name] = theta_weights(lookback, horizon)
    return out


def _one_hot(rows: np.ndarray, lookback: int) -> np.ndarray:
    w = np.zeros((len(rows), lookback))
    w[np.arange(len(rows)), rows] = 1.0
    return w


def base_steps(base: str, lookback: int, horizon: int, season: int, step_bases: tuple[str, ...] = ()) -> np.ndarray | None:
    """Each horizon step's baseline forecast: input rows ``(horizon,)`` when every step's base is one row, else
    ``(horizon, lookback)`` weights (see :class:`~forecaster.windowing.WindowView`); None for ``base none``.

    >>> base_steps("seasonal_naive", 6, 5, 4).tolist(), base_steps("naive", 6, 2, 4).tolist()
    ([2, 3, 4, 5, 2], [5, 5])
    >>> base_steps("auto", 6, 3, 4, ("naive", "seasonal_naive", "seasonal_naive")).tolist()
    [5, 3, 4]
    >>> base_steps("naive2", 8, 2, 4).shape
    (2, 8)
    """
    if base == "none":
        return None
    if base == "auto":
        if not step_bases:
            raise ConfigError("`base` auto is resolved by fit; pass base naive or seasonal_naive to build windows directly.")
        if any(b not in ROW_BASES for b in step_bases):
            if "naive2" in step_bases:
                naive2_weights(lookback, horizon, season)  # the clear error when two seasons do not fit
            rows = base_candidates(lookback, horizon, season, tuple(dict.fromkeys(step_bases)))
            return np.stack([rows.get(b, rows["naive"])[k] for k, b in enumerate(step_bases)])
        naive = np.full(horizon, lookback - 1)
        seasonal = lookback - season + np.arange(horizon) % season if 1 < season <= lookback else naive
        return np.where(np.array(step_bases) == "seasonal_naive", seasonal, naive)
    if base == "naive2":
        return naive2_weights(lookback, horizon, season)
    if base == "drift":
        return drift_weights(lookback, horizon)
    if base == "theta":
        return theta_weights(lookback, horizon)
    if base == "naive" or season <= 1:
        return np.full(horizon, lookback - 1)
    if season > lookback:
        raise ConfigError(
            f"`base` seasonal_naive needs a whole season in the window: season={season} > lookback={lookback}. "
            "Raise --lookback or use --base naive."
        )
    return lookback - season + np.arange(horizon) % season


def resolve(config: ForecastConfig, values: np.ndarray, freq: str, *, prices: bool, linear: tuple[str, ...],
            columns: list[str]) -> tuple[ForecastConfig, dict[str, Any]]:
    """Resolve every automatic setting of ``config`` for this series (training rows only).

    Args:
        config: the config as given (``auto`` / unset fields are resolved).
        values: the whole series, target in column 0 (only the rows before
            the validation split are read).
        freq: its frequency.
        prices: whether it is a price file.
        linear: columns never log-transformed (calendar features).
        columns: column names.

    Returns:
        The concrete config and ``{setting: {"value": ..., "why": ...}}`` for the report.
    """
    w = config.window
    choices: dict[str, Any] = {}
    season = season_of(config, freq)
    choices["season"] = {"value": season, "why": "given" if w.season is not None else f"from frequency {freq!r}"}
    lookback = w.lookback
    if lookback is None:
        lookback = auto_lookback(len(values), season, w.horizon, w.val_fraction)
        choices["lookback"] = {"value": lookback, "why": f"3 seasons (>= 2 x horizon), capped by length and at {MAX_AUTO_LOOKBACK}"}
    config = config.replace(lookback=lookback, season=season)
    if config.model.skip == "auto":
        config = config.replace(skip="linear")
        choices["skip"] = {"value": "linear", "why": "one series: the window's linear map beside the recurrent layers"}
    split = chronological_split(len(values), lookback, w.horizon, w.val_fraction, stride=w.window_stride)
    if config.output.base == "auto":
        cands = base_candidates(lookback, w.horizon, season, config.output.base_candidates,
                                rows_only=config.model.multistep == "recursive")
        step_bases, why = _step_bases(values[:, 0], split.train_origins, cands, w.horizon, lookback)
        config = config.replace(step_bases=step_bases)
        choices["base"] = {"value": _describe_steps(step_bases), "why": why}
    train = values[: split.train_end]
    transform, normalization = config.data.transform, config.data.normalization
    if normalization == "auto":
        transforms = [transform] if transform != "auto" or prices else (["none", "log"] if (train[:, 0] > 0).all() else ["none"])
        norms = ["window", "global"]
        scores = _proxy_scores(config, train, transforms, norms, prices=prices, linear=linear, columns=columns)
        if scores:
            # The safe default (window-relative, no log) stays unless another candidate is clearly better:
            # the proxy is a linear model, and differences within a few percent are noise for the network.
            default = (transforms[0], norms[0])
            (transform, normalization), best = min(scores.items(), key=lambda kv: kv[1])
            if default in scores and best > (1 - PROXY_MARGIN) * scores[default]:
                (transform, normalization), best = default, scores[default]
            table = ", ".join(f"{t}/{n} {v:.4g}" for (t, n), v in scores.items())
            why = f"ridge proxy on inner validation windows, MAE {table}; the first wins unless beaten by {PROXY_MARGIN:.0%}"
            choices["normalization"] = {"value": normalization, "why": why}
            if config.data.transform == "auto" and not prices:
                choices["transform"] = {"value": transform, "why": why}
        else:  # too short for inner windows: the safe defaults
            transform = "none" if transform == "auto" and not prices else transform
            normalization = "window"
            choices["normalization"] = {"value": normalization, "why": "too few rows for inner validation"}
    # A transform left at "auto" here (a fixed normalization, or a price file) is SeriesScaler's rule:
    # log for the positive columns of a price file, none otherwise.
    config = config.replace(transform=transform, normalization=normalization)
    if config.train.ensemble is None:
        n = len(split.train_origins)
        size = 3 if n < 2000 else 1
        config = config.replace(ensemble=size)
        choices["ensemble"] = {"value": size, "why": f"{n} training windows"}
    return config, choices


def _proxy_scores(config, train, transforms, norms, *, prices, linear, columns) -> dict[tuple[str, str], float]:
    """Inner-validation MAE (original units) of a ridge regression for each (transform, normalization)."""
    from sklearn.linear_model import Ridge

    from forecaster.scaling import SeriesScaler

    w = config.window
    try:
        inner = chronological_split(len(train), w.lookback, w.horizon, w.val_fraction)
    except DataError:
        return {}
    if len(inner.train_origins) < 4:
        return {}
    rng = np.random.default_rng(config.train.seed)
    fit_origins = np.asarray(inner.train_origins)
    if len(fit_origins) > PROXY_WINDOWS:
        fit_origins = np.sort(rng.choice(fit_origins, PROXY_WINDOWS, replace=False))
    val_origins = np.asarray(inner.val_origins)
    if len(val_origins) > PROXY_WINDOWS:
        val_origins = np.sort(rng.choice(val_origins, PROXY_WINDOWS, replace=False))
    season = config.window.season or 1
    steps = base_steps(config.output.base, w.lookback, w.horizon, season, config.output.step_bases)
    actual = train[val_origins[:, None] + np.arange(w.horizon), 0]
    scores = {}
    for transform in transforms:
        for norm in norms:
            try:
                scaler = SeriesScaler(transform, norm).fit(
                    train[: inner.train_end], columns=columns, prices=prices, linear=linear
                )
            except DataError:
                continue
            z = scaler.transform_values(train)
            view = WindowView(z, w.lookback, w.horizon, relative=norm == "window", base_steps=steps)
            x = view.inputs(fit_origins).reshape(len(fit_origins), -1)
            model = Ridge(alpha=1.0).fit(x, view.targets(fit_origins))
            pred = model.predict(view.inputs(val_origins).reshape(len(val_origins), -1)) + view.reference(val_origins)
            forecast = scaler.inverse_target(pred)
            err = np.abs(forecast - actual)
            if np.isfinite(err).all():
                scores[(transform, norm)] = float(err.mean())
    return scores


def _step_bases(target: np.ndarray, origins: range, cands: dict[str, np.ndarray], horizon: int,
                lookback: int) -> tuple[tuple[str, ...], str]:
    """Per step, the baseline of ``cands`` (see :func:`base_candidates`) with the lower MAE over the training
    windows."""
    if len(cands) == 1:
        return ("naive",) * horizon, "no other candidate fits the lookback: naive at every step"
    o = np.asarray(origins)
    if len(o) > PROXY_WINDOWS:
        o = o[np.linspace(0, len(o) - 1, PROXY_WINDOWS).astype(int)]
    k = np.arange(horizon)
    actual = target[o[:, None] + k]
    window = target[o[:, None] - lookback + np.arange(lookback)]
    errors = {name: np.abs(actual - window @ w.T).mean(axis=0) for name, w in cands.items()}
    return _pick_steps(errors, "lower training-window MAE per step")


def _pick_steps(errors: dict[str, np.ndarray], what: str) -> tuple[tuple[str, ...], str]:
    """Per step the base of lowest error (ties: the simpler, first listed); the reason names the averages."""
    names = list(errors)
    table = np.stack([errors[n] for n in names])
    bases = tuple(names[i] for i in np.argmin(table, axis=0))
    averages = ", ".join(f"{n.replace('_', ' ')} {errors[n].mean():.4g}" for n in names)
    return bases, f"{what} ({averages} on average)"


def _describe_steps(bases: tuple[str, ...]) -> str:
    """``naive for steps 1-3, seasonal_naive for steps 4-24``."""
    runs, start = [], 0
    for i in range(1, len(bases) + 1):
        if i == len(bases) or bases[i] != bases[start]:
            runs.append(f"{bases[start]} for step{'s' if i - start > 1 else ''} {start + 1}" + (f"-{i}" if i - start > 1 else ""))
            start = i
    return ", ".join(runs)
