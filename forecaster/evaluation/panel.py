"""Backtest of one global model over a panel: every series at once, per-series scores and their aggregates.

Plan, per series of ``n`` rows:

* its first forecast origin (cutoff + 1 row) is ``start``: a row number, a
  fraction of its rows or a date; by default ``n - max(round(0.2 n), horizon)``
  (the last 20 %, at least one horizon);
* origins every ``origin_stride`` rows from there while a whole horizon fits;
* the model is fitted **once** on each series' rows before its first origin
  (less ``gap`` rows): the per-series scalers and every automatic choice see
  nothing after any cutoff; the later origins only condition on the history
  before them (one batched pass over every origin of every series);
* naive, seasonal naive and drift forecast the same origins.

Scores per series (over its origins and steps): MAE, sMAPE (0-200) and MASE
(scaled by the series' in-sample seasonal-naive MAE of the rows before its
first origin). Aggregates over the series: mean sMAPE, mean MASE and OWA,
``(sMAPE / sMAPE_ref + MASE / MASE_ref) / 2`` with the seasonal naive forecast as
reference (the M4 competition used Naive2, a seasonally adjusted naive; for
non-seasonal data both are the naive forecast).

With ``--interval`` in the model's config, the model's conformal intervals
(calibrated once, at the fit, on the pooled validation windows of every series,
all before each series' first origin) are scored too: per series and level its
coverage, mean width and the width divided by the series' MASE scale
(``per_series.csv``, the ``model`` rows), and over every point of every series
the overall coverage with its verdict (``metrics.json`` ``intervals``). The
quantile and interval columns go into ``forecasts.csv``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError, DataError
from forecaster.evaluation.metrics import smape

#: Baselines scored beside the model; ``REFERENCE`` is OWA's reference.
BASELINES = ("naive", "seasonal_naive", "drift")
REFERENCE = "seasonal_naive"
METHODS = ("model", *BASELINES)


def _first_origin(series, start, horizon: int) -> int:
    n = len(series)
    if start is None:
        return n - max(int(round(0.2 * n)), horizon)
    if isinstance(start, float):
        return min(int(n * start), n - horizon)
    if isinstance(start, int):
        return start
    return int(series.index.searchsorted(pd.Timestamp(start)))


def plan_origins(ts, horizon: int, *, start=None, origin_stride: int = 1) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Each series' forecast origins (rows), and the series without any, with the reason."""
    origins, skipped = {}, {}
    for m in ts:
        first = _first_origin(m, start, horizon)
        last = len(m) - horizon
        if first < 1 or first > last:
            skipped[m.id] = f"{len(m)} rows: no origin with a whole horizon after the start"
            continue
        origins[m.id] = np.arange(first, last + 1, origin_stride, dtype=np.int64)
    return origins, skipped


def _baselines(y: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    """Naive, seasonal naive and drift at ``origins`` of ``y`` (the formulas of :mod:`forecaster.baselines`).

    The seasonal naive forecast of an origin less than a season from the start is the naive one.
    """
    k = np.arange(horizon)
    last = y[origins - 1][:, None]
    naive = np.repeat(last, horizon, axis=1)
    early = origins < season
    rows = np.where(early[:, None], origins[:, None] - 1, origins[:, None] - season + k % season)
    seasonal = y[rows] if season > 1 else naive
    slope = np.where(origins > 1, (y[origins - 1] - y[0]) / np.maximum(origins - 1, 1), 0.0)[:, None]
    return {"naive": naive, "seasonal_naive": seasonal, "drift": last + slope * (k + 1)}


def _scale(y: np.ndarray, season: int) -> float:
    for m in (season, 1):
        if len(y) > m:
            s = float(np.mean(np.abs(y[m:] - y[:-m])))
            if s > 0:
                return s
    return float("nan")


@dataclasses.dataclass
class PanelBacktestResult:
    """What a panel backtest returns: ``.metrics`` (aggregates), ``.per_series``, ``.forecasts``."""

    metrics: pd.DataFrame
    per_series: pd.DataFrame
    forecasts: pd.DataFrame
    skipped: dict[str, str]
    config: dict[str, Any]
    timings: dict[str, float]
    forecaster: Any = None
    #: level -> overall and mean per-series coverage of the model's intervals (empty without ``--interval``).
    intervals: dict[str, Any] = dataclasses.field(default_factory=dict)

    def interval_lines(self) -> list[str]:
        """What ``forecast backtest`` prints about a panel's intervals (nothing without them)."""
        if not self.intervals:
            return []
        lines = [("Prediction intervals of the model (pooled over every series; tolerance 1.96 sd with one "
                  "independent point per horizon; per series in per_series.csv):")]
        for level, r in self.intervals.items():
            lines.append(
                f"  {level} %: coverage {100 * r['coverage']:5.1f} % over {r['points']} points ({r['verdict']}, +/- "
                f"{100 * r['tolerance']:.1f}); per series {100 * r['series_min']:.0f} .. {100 * r['series_max']:.0f} % "
                f"(mean {100 * r['series_mean']:.1f} %); mean width / MASE scale {r['scaled_width']:.3g}"
            )
        return lines

    def describe(self) -> str:
        n = self.per_series["id"].nunique()
        origins = int(self.per_series.loc[self.per_series["method"] == "model", "origins"].sum())
        return (
            f"Panel backtest: {n} series, {origins} origins (stride {self.config['origin_stride']}), horizon "
            f"{self.config['horizon']}, season {self.config['season']}; one fit on the rows before each series' first origin"
            + (f"; {len(self.skipped)} series skipped" if self.skipped else "")
        )

    def format_table(self) -> str:
        """Mean sMAPE, mean MASE and OWA per method (lower is better)."""
        lines = [f"{'method':<16}{'sMAPE':>9}{'MASE':>9}{'OWA':>8}"]
        for method, row in self.metrics.iterrows():
            lines.append(f"{method:<16}{row['sMAPE']:>9.3f}{row['MASE']:>9.3f}{row['OWA']:>8.3f}")
        return "\n".join(lines)

    def verdict(self) -> str:
        best = min(BASELINES, key=lambda b: self.metrics.loc[b, "MASE"])
        model, ref = self.metrics.loc["model", "MASE"], self.metrics.loc[best, "MASE"]
        wins = self.per_series.pivot(index="id", columns="method", values="MASE")
        share = float((wins["model"] < wins[list(BASELINES)].min(axis=1)).mean())
        verb = "beats" if model < ref else "does NOT beat"
        return (f"The model {verb} the best baseline ({best.replace('_', ' ')}) on mean MASE: {model:.3f} vs {ref:.3f}; "
                f"it beats every baseline on {share:.0%} of the series.")

    def save(self, path: str | Path) -> Path:
        """A directory with ``metrics.json``, ``per_series.csv`` and ``forecasts.csv``, written atomically."""
        from forecaster.artifacts import write_json, write_run_dir

        def write(tmp: Path) -> None:
            self.per_series.to_csv(tmp / "per_series.csv", index=False)
            self.forecasts.to_csv(tmp / "forecasts.csv", index=False)
            payload = {
                "kind": "panel_backtest",
                "config": self.config,
                "metrics": json.loads(self.metrics.to_json(orient="index")),
                "skipped": self.skipped,
                "timings": self.timings,
                **({"intervals": self.intervals} if self.intervals else {}),
            }
            write_json(tmp / "metrics.json", payload)

        return write_run_dir(Path(path), write)


def panel_backtest(
    model: Any, ts, *, start=None, origin_stride: int = 1, gap: int = 0, folds: int | None = None,
    window: str = "expanding", season: int | None = None, verbose: int | str = 0,
) -> PanelBacktestResult:
    """One global model fitted before each series' first origin, every origin forecast in one batched pass.

    Args:
        model: a ``Forecaster`` (only its config is used) or a ``ForecastConfig``.
        ts: the panel (a :class:`~forecaster.data.TimeSeries` of several series).
        start: each series' first origin: a row, a fraction of its rows or a date (default: its last 20 %).
        origin_stride: rows between origins.
        gap: rows left out between each series' training rows and its first origin.
        folds: None or 1 (one fit: a panel refits never).
        window: ``"expanding"`` only.
        season: season of the seasonal naive forecast and MASE (default: the model's, from the frequency).
    """
    from forecaster.choices import season_of
    from forecaster.evaluation._series import model_config, rows
    from forecaster.forecaster import Forecaster

    config: ForecastConfig = model_config(model)
    if folds not in (None, 1):
        raise ConfigError(f"A panel backtest fits one model before each series' first origin; `folds` must be 1. Received: folds={folds}")
    if window != "expanding":
        raise ConfigError("A panel backtest trains on every row before each series' first origin; use window expanding.")
    horizon = config.window.horizon
    started = time.perf_counter()
    origins, skipped = plan_origins(ts, horizon, start=start, origin_stride=origin_stride)
    if not origins:
        raise DataError(f"No series has a forecast origin: {next(iter(skipped.values()))}. Move --start earlier.")
    by_id = {m.id: m for m in ts}
    train = [rows(by_id[i], 0, int(o[0]) - gap) for i, o in origins.items() if int(o[0]) - gap > 0]
    from forecaster.data import TimeSeries

    t0 = time.perf_counter()
    fc = Forecaster(config).fit(TimeSeries(tuple(train), id_col=ts.id_col), verbose=verbose)
    fit_seconds = time.perf_counter() - t0
    for sid in list(origins):
        if sid not in fc.ids_:
            skipped[sid] = f"skipped by the fit: {fc.skipped_.get(sid, 'too short')}"
            del origins[sid]
    t0 = time.perf_counter()
    levels = tuple(fc.config.output.intervals)
    if levels or fc.io_.quantiles:
        columns = fc.predict_panel_intervals(ts, origins)
        forecasts = {sid: c.pop("point") for sid, c in columns.items()}
    else:
        forecasts, columns = fc.predict_panel_origins(ts, origins), {sid: {} for sid in origins}
    predict_seconds = time.perf_counter() - t0
    inside: dict[int, list[np.ndarray]] = {lv: [] for lv in levels}
    season = season if season is not None else (fc.config.window.season or season_of(config, ts.freq))
    k = np.arange(horizon)
    per_series, frames = [], []
    for sid, o in origins.items():
        m = by_id[sid]
        y = m.values[:, 0]
        actual = y[o[:, None] + k]
        methods = {"model": forecasts[sid], **_baselines(y, o, horizon, season)}
        scale = _scale(y[: int(o[0])], season)
        for name, f in methods.items():
            err = np.abs(f - actual)
            per_series.append({"id": sid, "method": name, "origins": len(o), "MAE": float(err.mean()),
                               "sMAPE": float(smape(actual, f)), "MASE": float(err.mean() / scale)})
            if name == "model":
                for lv in levels:
                    lo, hi = columns[sid][f"lower_{lv}"], columns[sid][f"upper_{lv}"]
                    hit = (actual >= lo) & (actual <= hi)
                    inside[lv].append(hit.reshape(-1))
                    width = float((hi - lo).mean())
                    per_series[-1].update({f"coverage_{lv}": float(hit.mean()), f"width_{lv}": width,
                                           f"scaled_width_{lv}": width / scale})
        stamps = m.index.to_numpy()[o[:, None] + k]
        frame = pd.DataFrame({
            "id": sid, "cutoff": np.repeat(m.index.to_numpy()[o - 1], horizon), "step": np.tile(k + 1, len(o)),
            "timestamp": stamps.reshape(-1), "actual": actual.reshape(-1),
        })
        for name, f in methods.items():
            frame[name] = f.reshape(-1)
        for name, v in columns[sid].items():
            frame[name] = v.reshape(-1)
        frames.append(frame)
    per = pd.DataFrame(per_series)
    intervals = {}
    for lv in levels:
        from forecaster.intervals import coverage_verdict

        hits = np.concatenate(inside[lv])
        by_series = per.loc[per["method"] == "model", f"coverage_{lv}"]
        intervals[str(lv)] = {
            "coverage": float(hits.mean()), "points": int(hits.size), "series_mean": float(by_series.mean()),
            "series_min": float(by_series.min()), "series_max": float(by_series.max()),
            "scaled_width": float(per.loc[per["method"] == "model", f"scaled_width_{lv}"].mean()),
            **coverage_verdict(float(hits.mean()), lv / 100, int(hits.size), horizon),
        }
    means = per.groupby("method")[["sMAPE", "MASE"]].mean().reindex(list(METHODS))
    ref = means.loc[REFERENCE]
    means["OWA"] = 0.5 * (means["sMAPE"] / ref["sMAPE"] + means["MASE"] / ref["MASE"])
    return PanelBacktestResult(
        metrics=means,
        per_series=per,
        forecasts=pd.concat(frames, ignore_index=True),
        skipped=skipped,
        config={"horizon": horizon, "origin_stride": origin_stride, "start": start, "gap": gap, "season": int(season),
                "model_config": fc.config.to_dict()},
        timings={"fit_seconds": round(fit_seconds, 3), "predict_seconds": round(predict_seconds, 3),
                 "total_seconds": round(time.perf_counter() - started, 3)},
        forecaster=fc,
        intervals=intervals,
    )
