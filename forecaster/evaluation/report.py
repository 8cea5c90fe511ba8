"""Scoring a table of historical forecasts, the verdict, text tables, figures and the result object.

Metrics (:data:`forecaster.evaluation.metrics.METRICS`), with ``e = y - yhat``
over every origin ``i`` and step ``k`` (``k = 1..horizon``), reported overall
and per step (mean over origins):

* ``MAE   = mean |e|`` (units of the series)
* ``RMSE  = sqrt(mean e^2)`` (units of the series)
* ``MAPE  = 100 * mean(|e| / |y|)`` in percent, over points where ``y`` is
  not (close to) zero: points with ``|y| <= 1e-8 * max|y|`` are left out
  (``nan`` if none remains)
* ``sMAPE = 100 * mean(2 |e| / (|y| + |yhat|))`` in percent, on a 0-200 scale
  (0 perfect; 200 when forecast and actual have opposite signs); a term with
  ``y = yhat = 0`` counts 0
* ``MASE  = mean_i,k(|e_ik| / s_f(i))`` where ``s_f`` is the in-sample MAE of
  the seasonal naive forecast on the training rows of the model that
  forecast fold ``f``: ``s_f = mean_t |y_t - y_(t-m)|`` over those rows, ``m``
  the season. Each origin is scaled by its own fold's training part, then
  the scaled errors are averaged over origins. Below 1: smaller errors than
  the seasonal naive forecast had in-sample.

The **verdict** per horizon step compares the model's MASE with the seasonal
naive forecast's on the same origins (the same scale, so this is a
comparison of MAE): "beats" when the model's is lower. The naive
(random-walk) forecast is reported beside it; on prices it is the one to beat.
Each comparison carries a Diebold-Mariano p-value
(:func:`forecaster.evaluation.stats.dm_pvalues`), so a difference in the
third decimal is not sold as a win.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster import baselines as B
from forecaster.config import ForecastConfig, model_label
from forecaster.evaluation import _series
from forecaster.evaluation import metrics as M
from forecaster.evaluation.historical import MODEL, HistoricalForecasts
from forecaster.evaluation.splits import BacktestConfig, Fold
from forecaster.evaluation.stats import ALPHA, dm_pvalues
from forecaster.evaluation.storage import SCHEMA_VERSION, read_backtest, write_backtest
from forecaster.exceptions import DataError

__all__ = [
    "BACKTEST_FIGURES",
    "BacktestResult",
    "backtest_figures",
    "fold_scales",
    "score",
    "score_backtest",
    "score_forecasts",
    "verdict",
]

#: File name of each backtest figure.
BACKTEST_FIGURES = {"overlay": "backtest.png", "error": "error_by_step.png", "training": "training.png",
                    "forecast": "forecast.png"}
#: The forecasters of a backtest: the model, then every baseline.
FORECASTERS = (MODEL, *B.BASELINES)


# ----------------------------------------------------------------------------
# Scoring (pure numpy)
# ----------------------------------------------------------------------------
def score(actual: np.ndarray, forecasts: dict[str, np.ndarray], scales: np.ndarray) -> dict[str, dict[str, Any]]:
    """Every metric of the registry, overall and per horizon step, for each forecaster.

    Args:
        actual: ``(n_origins, horizon)`` true values.
        forecasts: name -> ``(n_origins, horizon)`` forecasts on the same origins.
        scales: ``(n_origins,)`` MASE scale of each origin's fold.

    Returns:
        ``{"overall": {name: {metric: float}}, "per_step": {name: {metric: [floats]}}}``.

    >>> y = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> out = score(y, {"a": y + 1.0}, np.array([1.0, 2.0]))
    >>> out["overall"]["a"]["mae"], out["overall"]["a"]["mase"], out["per_step"]["a"]["mase"]
    (1.0, 0.75, [0.75, 0.75])
    """
    scales = np.asarray(scales, dtype=np.float64)
    if scales.shape != (len(actual),) or not (np.isfinite(scales).all() and (scales > 0).all()):
        raise DataError(f"`scales` must hold one positive scale per origin. Received shape {scales.shape}")
    overall: dict[str, dict[str, float]] = {}
    per_step: dict[str, dict[str, list[float]]] = {}
    for name, yhat in forecasts.items():
        overall[name], per_step[name] = {}, {}
        for key, metric in M.METRICS.items():
            if metric.scaled:
                total, steps = M.mean_scaled_error(actual, yhat, scales), M.mean_scaled_error(actual, yhat, scales, axis=0)
            else:
                total, steps = metric(actual, yhat), metric(actual, yhat, axis=0)
            overall[name][key] = float(total)
            per_step[name][key] = [float(v) for v in steps]
    return {"overall": overall, "per_step": per_step}


def fold_scales(y: np.ndarray, folds: list[Fold], season: int) -> dict[int, float]:
    """MASE scale of each fold: the seasonal naive in-sample MAE of its model's training rows."""
    return {f.fold: M.seasonal_naive_scale(y[f.train_start : f.train_end], season) for f in folds}


def _matrix(table: pd.DataFrame, column: str, horizon: int) -> np.ndarray:
    return table[column].to_numpy(dtype=np.float64).reshape(-1, horizon)


def score_forecasts(
    forecasts: pd.DataFrame, scales: dict[int, float], horizon: int, *, origin_stride: int = 1
) -> dict[str, Any]:
    """Score a long table of historical forecasts (one row per origin and step, in time order).

    Args:
        forecasts: columns ``fold, step, actual`` and one per forecaster
            (:data:`FORECASTERS`), as :func:`historical_forecasts` makes it.
        scales: fold -> MASE scale (:func:`fold_scales`).
        horizon: steps per origin.
        origin_stride: rows between origins (sets the Diebold-Mariano lag).

    Returns:
        ``{"overall", "per_step", "per_fold", "verdict"}`` as in ``metrics.json``.
    """
    steps = forecasts["step"].to_numpy()
    if len(steps) % horizon or not (steps.reshape(-1, horizon) == np.arange(1, horizon + 1)).all():
        raise DataError(f"The forecast table must hold steps 1..{horizon} of each origin, in order.")
    actual = _matrix(forecasts, "actual", horizon)
    yhat = {name: _matrix(forecasts, name, horizon) for name in FORECASTERS}
    fold_of = forecasts["fold"].to_numpy()[::horizon]
    scored = score(actual, yhat, np.array([scales[k] for k in fold_of]))
    per_fold = []
    for fold, scale in scales.items():
        sel = fold_of == fold
        per_fold.append({
            "fold": fold,
            "origins": int(sel.sum()),
            "mase_scale": scale,
            "mae": {name: float(np.mean(np.abs(actual[sel] - fc[sel]))) for name, fc in yhat.items()},
            "mase": {name: float(np.mean(np.abs(actual[sel] - fc[sel])) / scale) for name, fc in yhat.items()},
        })
    p_values = {
        name: dm_pvalues(actual, yhat[MODEL], yhat[name], origin_stride=origin_stride)
        for name in ("seasonal_naive", "naive")
    }
    steps_verdict = verdict(scored["per_step"], p_values)
    out = {
        **scored,
        "per_fold": per_fold,
        "verdict": {"reference": "seasonal_naive", "per_step": steps_verdict, "summary": summary(scored, steps_verdict)},
    }
    intervals = score_interval_table(forecasts, horizon)
    if intervals is not None:
        out["intervals"] = intervals
    return out


def score_interval_table(forecasts: pd.DataFrame, horizon: int) -> dict[str, Any] | None:
    """Interval scores of a forecast table with ``lower_<level>`` columns (None without them).

    The model's intervals beside the seasonal-naive conformal baseline's
    (``seasonal_naive_lower_<level>``): coverage overall and per step with a
    calibrated / under-covers / over-covers verdict, mean width, Winkler score,
    and pinball loss / CRPS from the quantiles the intervals imply
    (:func:`forecaster.intervals.score_intervals`).
    """
    from forecaster.intervals import interval_columns, levels_in, quantile_column, score_intervals

    levels = levels_in(forecasts.columns)
    if not levels:
        return None
    actual = _matrix(forecasts, "actual", horizon)
    names = [MODEL] + (["seasonal_naive"] if f"seasonal_naive_{interval_columns(levels[0])[0]}" in forecasts else [])
    bounds = {}
    for name in names:
        prefix = "" if name == MODEL else f"{name}_"
        bounds[name] = {
            lv: tuple(_matrix(forecasts, prefix + col, horizon) for col in interval_columns(lv)) for lv in levels
        }
    taus = tuple(sorted(float(c[1:]) for c in forecasts.columns if c.startswith("q") and _is_number(c[1:])))
    quantiles = np.stack([_matrix(forecasts, quantile_column(t), horizon) for t in taus], axis=-1) if taus else None
    return score_intervals(actual, {n: _matrix(forecasts, n, horizon) for n in names}, bounds,
                           quantiles=quantiles, taus=taus)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def interval_lines(scores: dict[str, Any]) -> list[str]:
    """What ``forecast backtest`` prints about the intervals: per level, the model beside the baseline."""
    iv = scores.get("intervals")
    if not iv:
        return []
    cal = f"; calibrated on {iv['calibration']}" if "calibration" in iv else ""
    lines = [(f"Prediction intervals ({iv['points']} points{cal}; tolerance 1.96 sd with one independent point per "
              "horizon):")]
    for level, row in iv["levels"].items():
        for name in (MODEL, "seasonal_naive"):
            if name not in row:
                continue
            r = row[name]
            label = "model" if name == MODEL else "seasonal naive conformal"
            lines.append(
                f"  {level} %: {label:<25} coverage {100 * r['coverage']:5.1f} % ({r['verdict']}, +/- "
                f"{100 * r['tolerance']:.1f}), width {r['width']:.4g}, Winkler {r['winkler']:.4g}"
            )
        steps = " ".join(f"{100 * c:.0f}" for c in row[MODEL]["coverage_per_step"])
        lines.append(f"        model coverage per step (%): {steps}")
        if "winkler_ratio" in row:
            lines.append(f"        Winkler ratio model / baseline: {row['winkler_ratio']:.3f} (below 1: the model's intervals are better)")
    lines.append(
        "  Pinball / CRPS from the interval quantiles: "
        + "; ".join(f"{n} {iv['pinball'][n]:.4g} / {iv['crps'][n]:.4g}" for n in iv["pinball"])
    )
    if "head_quantiles" in iv:
        hq = iv["head_quantiles"]
        lines.append(
            "  Quantile head: " + ", ".join(f"q{t:g} covers {100 * c:.1f} %" for t, c in zip(hq["taus"], hq["coverage"]))
            + f"; CRPS {hq['crps']:.4g}"
        )
    return lines


def score_backtest(hf: HistoricalForecasts, y: np.ndarray, target: str) -> dict[str, Any]:
    """What ``metrics.json`` holds for these historical forecasts of the series ``y``."""
    plan = hf.plan
    horizon = plan.fc_config.window.horizon
    scored = score_forecasts(
        hf.forecasts, fold_scales(y, plan.folds, plan.season), horizon, origin_stride=plan.config.origin_stride
    )
    if "intervals" in scored:
        rolling = "each fold model's validation windows plus the earlier origins observed by each cutoff"
        scored["intervals"]["calibration"] = {
            "validation": "each fold model's validation windows", "rolling": f"rolling: {rolling}",
            "adaptive": f"adaptive: {rolling}, at a level that follows the misses observed so far "
                        "(its step size chosen online by the interval score)",
        }[plan.config.resolved_calibration]
    return {
        "schema_version": SCHEMA_VERSION,
        "target": target,
        "horizon": horizon,
        "season": plan.season,
        "origins": plan.n_origins,
        "forecasts": int(len(hf.forecasts)),
        "folds": len(plan.folds),
        "fits": plan.n_fits,
        "models": list(FORECASTERS),
        **scored,
        "formulas": M.formulas(),
        "baseline_formulas": B.formulas(),
    }


def verdict(
    per_step: dict[str, dict[str, list[float]]],
    p_values: dict[str, list[float]] | None = None,
    reference: str = "seasonal_naive",
) -> list[dict[str, Any]]:
    """Per horizon step: does the model's MASE beat ``reference``'s (and the naive one's)?

    ``p_values`` (name -> per-step Diebold-Mariano p-value of the model
    against that baseline, see :func:`dm_pvalues`) are added when given.
    """
    model = per_step[MODEL]["mase"]
    out = []
    for k in range(len(model)):
        row: dict[str, Any] = {"step": k + 1, "model_mase": model[k]}
        for name in dict.fromkeys((reference, "naive")):
            row[f"{name}_mase"] = per_step[name]["mase"][k]
            row[f"beats_{name}"] = bool(model[k] < per_step[name]["mase"][k])
            if p_values is not None and name in p_values:
                row[f"p_{name}"] = p_values[name][k]
        out.append(row)
    return out


def summary(scored: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    """The verdict in one paragraph: steps won against the seasonal naive and the naive, significance, best baseline."""
    o = scored["overall"]
    n = len(steps)
    parts = []
    labels = {"seasonal_naive": B.BASELINES["seasonal_naive"].label, "naive": f"{B.BASELINES['naive'].label} (random walk)"}
    for name, label in labels.items():
        wins = [s for s in steps if s[f"beats_{name}"]]
        sig_w = sum(s.get(f"p_{name}", 1.0) < ALPHA for s in wins)
        sig_l = sum(s.get(f"p_{name}", 1.0) < ALPHA for s in steps if not s[f"beats_{name}"])
        parts.append(
            f"{label} at {len(wins)} of {n} steps (overall MASE {o[MODEL]['mase']:.3f} vs {o[name]['mase']:.3f}; "
            f"significantly better at {sig_w}, significantly worse at {sig_l}, no significant difference at "
            f"{n - sig_w - sig_l})"
        )
    best = min(B.BASELINES, key=lambda b: o[b]["mase"])
    return (
        f"The model beats {parts[0]}, and {parts[1]}. Best baseline: {best} (MASE {o[best]['mase']:.3f}). "
        f"Significance: Diebold-Mariano test on absolute errors, {int(ALPHA * 100)}% level."
    )


# ----------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------
def backtest_figures(result: BacktestResult, series: Any = None) -> dict[str, Any]:
    """The backtest figures, file name -> matplotlib Figure (never shown).

    Overlay and error by step always; training curves when the result has
    fit histories; the last forecast with its history and actuals when the
    ``series`` is given.
    """
    from forecaster.plot import (
        plot_backtest,
        plot_error_by_step,
        plot_forecast,
        plot_history,
        step_unit,
        time_label,
    )

    target = result.data["target"]
    figures = {
        BACKTEST_FIGURES["overlay"]: plot_backtest(result.forecasts, title=result.title("backtest overlay"), ylabel=target),
        BACKTEST_FIGURES["error"]: plot_error_by_step(
            result.scores["per_step"], metric="mae", title=result.title("error by horizon step"),
            ylabel=f"MAE ({target})", step=_one_step(step_unit(result.data.get("frequency"))),
        ),
    }
    if result.histories:
        figures[BACKTEST_FIGURES["training"]] = plot_history(
            result.histories[-1], title=result.title(f"training curves, fold {result.fits[-1]['fold']}")
        )
    if series is not None:
        # The last backtest forecast, with the history it was made from and what really happened.
        fc = result.forecasts
        last = fc[fc["cutoff"] == fc["cutoff"].max()]
        n = max(4 * result.fc_config.window.lookback, 120)
        hist = _series.target_series(series).loc[: last["cutoff"].iloc[0]].iloc[-n:]
        # The model's interval (or quantile) columns go with it: plot_forecast draws them as bands.
        bands = [c for c in last.columns if c.startswith(("lower_", "upper_", "q"))]
        forecast = last.set_index("timestamp")[[MODEL, *bands]].rename(columns={MODEL: target})
        actual = last.set_index("timestamp")["actual"]
        figures[BACKTEST_FIGURES["forecast"]] = plot_forecast(
            hist, forecast, actual=actual, title=result.title(f"forecast from {time_label(last['cutoff'].iloc[0])}"), ylabel=target,
        )
    return figures


def _one_step(unit) -> str | None:
    """``(15, 'minute', 'minutes')`` -> ``'15 minutes'``; ``(1, 'hour', 'hours')`` -> ``'1 hour'``."""
    if unit is None:
        return None
    mult, one, many = unit
    return f"{mult} {one if mult == 1 else many}"


# ----------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------
@dataclass(eq=False)
class BacktestResult:
    """Everything a backtest produced; :meth:`save` writes it as a directory.

    Attributes:
        forecasts: one row per (origin, step): ``fold, cutoff, origin, step,
            timestamp, actual, model, naive, seasonal_naive, drift,
            window_mean``.
        scores: what ``metrics.json`` holds (overall, per step and per fold
            scores, verdict, formulas).
        folds, fold_table: the folds, and their table as printed and saved.
        fits, histories, timings: one record and one history per fit; seconds.
        forecaster: the last fitted model (not saved; ``None`` after load).
        series: the series backtested (not saved; ``None`` after load).

    The views :attr:`metrics`, :attr:`per_step` and :attr:`verdict` are
    computed from ``scores``.
    """

    data: dict[str, Any]
    fc_config: ForecastConfig
    config: BacktestConfig
    season: int
    season_inferred: bool
    folds: list[Fold]
    fold_table: pd.DataFrame
    forecasts: pd.DataFrame
    scores: dict[str, Any]
    fits: list[dict[str, Any]] = field(default_factory=list)
    histories: list[dict[str, list[float]]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    forecaster: Any = field(default=None, repr=False)
    series: Any = field(default=None, repr=False)

    # -------------------------------------------------------------- views
    @property
    def metrics(self) -> pd.DataFrame:
        """Overall metrics: rows model and every baseline, columns MAE RMSE MAPE sMAPE MASE (MAPE, sMAPE in %)."""
        overall = self.scores["overall"]
        return pd.DataFrame(
            [[overall[r][m] for m in M.METRICS] for r in FORECASTERS],
            index=pd.Index(FORECASTERS),
            columns=[m.label for m in M.METRICS.values()],
            dtype=float,
        )

    @property
    def per_step(self) -> pd.DataFrame:
        """Metrics per horizon step: rows (forecaster, step), columns as :attr:`metrics`."""
        per_step = self.scores["per_step"]
        horizon = int(self.scores["horizon"])
        rows = [[per_step[r][m][k] for m in M.METRICS] for r in FORECASTERS for k in range(horizon)]
        index = pd.MultiIndex.from_product([FORECASTERS, range(1, horizon + 1)], names=["forecaster", "step"])
        return pd.DataFrame(rows, index=index, columns=[m.label for m in M.METRICS.values()], dtype=float)

    @property
    def verdict(self) -> list[dict[str, Any]]:
        """Per horizon step: model vs seasonal naive (and naive) MASE, with Diebold-Mariano p-values."""
        return self.scores["verdict"]["per_step"]

    @property
    def summary(self) -> str:
        """The verdict in one paragraph."""
        return self.scores["verdict"]["summary"]

    # -------------------------------------------------------------- text
    def format_table(self) -> str:
        """The metric table as printed by ``forecast backtest``."""
        table = self.metrics.rename(columns={m.label: m.label + m.unit for m in M.METRICS.values()})
        return table.to_string(float_format=lambda v: f"{v:.4g}", na_rep="n/a")

    def format_verdict(self, *, max_lines: int = 12) -> list[str]:
        """The verdict per horizon step, then the summary.

        Up to ``max_lines`` steps get one line each; a longer horizon is summarised
        as runs of consecutive steps with the same verdict (``steps 1-12: model
        0.61..0.95 vs seasonal naive 0.70..1.02 -> beats; ...``). Two MASEs that
        print the same (3 decimals) are a tie, never "beats" or "loses to".
        """
        sn, nv = B.BASELINES["seasonal_naive"].label, B.BASELINES["naive"].label
        steps = self.verdict

        def word(s: dict[str, Any], name: str) -> str:
            if f"{s['model_mase']:.3f}" == f"{s[f'{name}_mase']:.3f}":
                return "ties with"
            return "beats" if s[f"beats_{name}"] else "loses to"

        def judged(s: dict[str, Any], name: str) -> str:
            w = word(s, name)
            p = s.get(f"p_{name}")
            if p is None or not math.isfinite(p) or w == "ties with":
                return w
            return f"{w} (p={p:.3f}{'' if p < ALPHA else ', not significant'})"

        lines = []
        if len(steps) <= max_lines:
            width = len(str(len(steps)))
            for s in steps:
                lines.append(
                    f"step {s['step']:>{width}}: model {s['model_mase']:.3f} vs {sn} {s['seasonal_naive_mase']:.3f} "
                    f"-> {judged(s, 'seasonal_naive')}; vs {nv} {s['naive_mase']:.3f} -> {judged(s, 'naive')}"
                )
        else:
            lines.extend(_verdict_runs(steps, word, sn, nv))
        lines.append(self.summary)
        return lines

    def mape_note(self) -> str | None:
        """A warning when MAPE means little: the actual values cross (or touch) zero."""
        actual = pd.to_numeric(self.forecasts["actual"], errors="coerce").to_numpy(dtype=float)
        actual = actual[np.isfinite(actual)]
        if actual.size and actual.min() <= 0 <= actual.max():
            return (
                f"Note: MAPE is not meaningful here: {self.data['target']!r} crosses zero (actual values from "
                f"{actual.min():.4g} to {actual.max():.4g}), so |e|/|y| explodes near 0. Read MAE, sMAPE and MASE instead."
            )
        return None

    def title(self, what: str) -> str:
        """Figure title naming the data, target, cell and horizon (in time units where the frequency has them)."""
        from forecaster.plot import describe_horizon

        m, w = self.fc_config.model, self.fc_config.window
        return (
            f"{self.data['name']}: {self.data['target']} - {model_label(m)}, "
            f"horizon {describe_horizon(w.horizon, self.data['frequency'])} - {what}"
        )

    def describe(self) -> str:
        """One line: what was backtested and how."""
        m, w, b = self.fc_config.model, self.fc_config.window, self.config
        return (
            f"{self.data['name']} {self.data['target']!r}: {model_label(m)}, lookback "
            f"{w.lookback} -> horizon {w.horizon}; {len(self.folds)} folds, refit {b.describe_refit()}, "
            f"{b.window} window, gap {b.gap}, stride {b.origin_stride}, {self.scores['origins']} origins; "
            f"season {self.season}"
            f" ({'inferred from frequency ' + repr(self.data['frequency']) if self.season_inferred else 'given'})"
        )

    # -------------------------------------------------------------- figures, files
    def plot(self) -> dict[str, Any]:
        """The backtest figures, file name -> matplotlib Figure (never shown).

        After a run (not after :meth:`load`) they include the last forecast with its history.
        """
        return backtest_figures(self, self.series)

    def save(self, path: str | os.PathLike[str], *, figures: dict[str, Any] | None = None) -> Path:
        """Write the backtest directory atomically and return its final path.

        Files: ``backtest.json`` (manifest), ``metrics.json``,
        ``forecasts.csv``, ``folds.csv``, ``history.csv`` (training curves of
        every fit) and the ``figures`` given (name -> matplotlib Figure, saved
        as PNG; pass ``result.plot()`` for all of them). Written into a
        temporary sibling and renamed into place; an existing directory is
        never overwritten (``-2``, ``-3``... is appended).
        """
        return write_backtest(path, self, figures)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BacktestResult:
        """Read a directory written by :meth:`save` (for ``forecast plot --backtest``)."""
        return cls(**read_backtest(path))


def _range(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.3f}" if f"{lo:.3f}" == f"{hi:.3f}" else f"{lo:.3f}..{hi:.3f}"


def _verdict_runs(steps: list[dict[str, Any]], word, sn: str, nv: str) -> list[str]:
    """Runs of consecutive steps with the same verdict, one line each (with the MASE ranges)."""
    lines = []
    start = 0

    def key(s: dict[str, Any]) -> tuple[str, str]:
        return word(s, "seasonal_naive"), word(s, "naive")

    for k in range(1, len(steps) + 1):
        if k < len(steps) and key(steps[k]) == key(steps[start]):
            continue
        run = steps[start:k]
        label = f"step {run[0]['step']}" if len(run) == 1 else f"steps {run[0]['step']}-{run[-1]['step']}"
        w_sn, w_nv = key(run[0])
        lines.append(
            f"{label}: model {_range([s['model_mase'] for s in run])} vs {sn} "
            f"{_range([s['seasonal_naive_mase'] for s in run])} -> {w_sn}; vs {nv} "
            f"{_range([s['naive_mase'] for s in run])} -> {w_nv}"
        )
        start = k
    return lines


# ----------------------------------------------------------------------------
# The fit report (validation windows of one fit)
# ----------------------------------------------------------------------------
_VALIDATION_LABELS = {"naive": "naive", "seasonal_naive": "seasonal naive", "drift": "drift"}


def validation_lines(metrics: dict[str, Any], target: str, fallback: str | None = None) -> list[str]:
    """What ``forecast fit``, ``predict`` and ``info`` say about a fit's validation windows.

    One line of MAE/MASE for the model beside naive, seasonal naive and
    drift, and one plain verdict against the best of them. Runs saved before
    these metrics existed get the old naive comparison.

    >>> m = {"val_mae": 1.0, "val_mase": 0.5, "val_windows": 3, "best_baseline": "naive", "beats_best_baseline": True,
    ...      "naive_val_mae": 2.0, "naive_val_mase": 1.0, "seasonal_naive_val_mae": 3.0, "seasonal_naive_val_mase": 1.5,
    ...      "drift_val_mae": 2.5, "drift_val_mase": 1.25}
    >>> validation_lines(m, "y")[1]
    'The model beats the best baseline (naive) on the validation windows: MAE 1 vs 2 (ratio 0.500).'
    """
    if "series" in metrics:
        return panel_validation_lines(metrics)
    if "best_baseline" not in metrics:  # runs of schema version 1
        return [f"Validation ({metrics.get('val_windows')} windows, {target}): MAE {metrics.get('val_mae', float('nan')):.4g} "
                f"vs naive {metrics.get('naive_val_mae', float('nan')):.4g}"]
    parts = [f"model {metrics['val_mae']:.4g} (MASE {metrics['val_mase']:.3f})"]
    for name, label in _VALIDATION_LABELS.items():
        if f"{name}_val_mae" not in metrics:  # seasonal naive on a series shorter than a season
            continue
        parts.append(f"{label} {metrics[f'{name}_val_mae']:.4g} ({metrics[f'{name}_val_mase']:.3f})")
    best = metrics["best_baseline"]
    best_mae = metrics[f"{best}_val_mae"]
    ratio = metrics["val_mae"] / best_mae if best_mae else float("nan")
    label = _VALIDATION_LABELS.get(best, best)
    if metrics["beats_best_baseline"]:
        verdict = (f"The model beats the best baseline ({label}) on the validation windows: "
                   f"MAE {metrics['val_mae']:.4g} vs {best_mae:.4g} (ratio {ratio:.3f}).")
    else:
        verdict = (f"The model does NOT beat the best baseline ({label}) on the validation windows: "
                   f"MAE {metrics['val_mae']:.4g} vs {best_mae:.4g} (ratio {ratio:.3f}).")
        verdict += (f" Forecasts are served by the {label} baseline (--fallback baseline)." if fallback
                    else " Consider its forecast, or --fallback baseline.")
    return [f"Validation ({metrics['val_windows']} windows, {target}), MAE (MASE): " + ", ".join(parts), verdict]


def panel_validation_lines(metrics: dict[str, Any]) -> list[str]:
    """The fit report of a panel model: mean sMAPE and MASE over its series, the model beside the baselines."""
    parts = [f"model {metrics['val_smape']:.3f} / {metrics['val_mase']:.3f}"]
    for name, label in _VALIDATION_LABELS.items():
        if f"{name}_val_smape" in metrics:
            parts.append(f"{label} {metrics[f'{name}_val_smape']:.3f} / {metrics[f'{name}_val_mase']:.3f}")
    best = metrics["best_baseline"]
    label = _VALIDATION_LABELS.get(best, best)
    verb = "beats" if metrics["beats_best_baseline"] else "does NOT beat"
    lines = [
        f"Panel: {metrics['series']} series, {metrics['train_windows']} training and {metrics['val_windows']} validation "
        f"windows (sample weights: {metrics.get('series_weights', 'windows')})",
        "Validation, mean over series of sMAPE / MASE: " + ", ".join(parts),
        f"The model {verb} the best baseline ({label}) on mean MASE: {metrics['val_mase']:.3f} vs "
        f"{metrics[f'{best}_val_mase']:.3f}.",
    ]
    skipped = metrics.get("skipped_series") or []
    if skipped:
        shown = "; ".join(f"{s['id']} ({s['why']})" for s in skipped[:5])
        lines.append(f"Skipped {len(skipped)} series too short to use: {shown}{' ...' if len(skipped) > 5 else ''}")
    return lines


def choice_lines(choices: dict[str, Any]) -> list[str]:
    """One line per automatic choice of a fit (see :mod:`forecaster.choices`)."""
    return [f"  {name}: {c['value']} ({c['why']})" for name, c in choices.items()]
