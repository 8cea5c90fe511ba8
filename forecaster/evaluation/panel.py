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
all before each series' first origin) are scored too, beside the **baseline
interval** of one series' backtest: the seasonal naive forecast with conformal
residuals, calibrated on the same validation windows of every series (those
starting a whole season in), pooled with the same scale-free scores (each
series' errors over its scale ``m`` of its training rows, the radius times
``m`` back), by the same method (``cqr`` falls back to ``absolute``). Per
series and level (``per_series.csv``, the ``model`` and ``seasonal_naive``
rows): coverage, mean width, width / MASE scale, mean Winkler score and
Winkler / MASE scale. Over every point of every series (``metrics.json``
``intervals``): the coverage of both with their verdicts, the scale-free
mean Winkler score of both (each point's score over its series' MASE scale,
so no series outweighs another by its units), their ratio model / baseline
and the share of series on which the model's Winkler score is the lower.
The quantile and interval columns (``seasonal_naive_lower_*`` too) go into
``forecasts.csv``.
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
#: Series drawn in a panel backtest's figure.
FIGURE_SERIES = 4


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


def baseline_interval_bounds(fc: Any, by_id: dict, origins: dict[str, np.ndarray], seasonal: dict[str, np.ndarray],
                             season: int, calibration: str = "validation") -> dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Each series' seasonal-naive conformal interval at its backtest ``origins`` (see the module docstring).

    Calibrated on the fitted model's validation windows of every series (rows before the series' first
    origin only), with the model's series scales and transforms; ``seasonal`` holds the seasonal naive
    forecasts at ``origins``. Empty when no calibration window starts a whole season in. ``calibration``
    ``rolling`` or ``adaptive``: each series' pool also takes its own earlier errors observed by each cutoff,
    as the model's does.
    """
    from forecaster.forecaster import g_of
    from forecaster.intervals import calibrate_panel, local_scale, seasonal_naive

    cfg, cal_model = fc.config, fc.calibration_
    horizon, lookback, levels = cfg.window.horizon, cfg.window.lookback, tuple(cfg.output.intervals)
    method = "absolute" if cal_model.method == "cqr" else cal_model.method
    log_of = np.asarray(fc.panel_scalers_.log[:, 0], dtype=bool)
    k = np.arange(horizon)
    actual, point, series, scale = [], [], [], []
    for i, sid in enumerate(fc.ids_):
        cal_o = np.asarray(fc.series_calibration_origins_.get(sid, []), dtype=np.int64)
        cal_o = cal_o[cal_o >= season]
        if not len(cal_o):
            continue
        y = by_id[sid].target_values.astype(np.float64)
        actual.append(y[cal_o[:, None] + k])
        point.append(seasonal_naive(y, cal_o, horizon, season))
        series.append(np.full(len(cal_o), i, dtype=np.int64))
        scale.append(local_scale(g_of(y, log_of[i]), cal_o, lookback))
    if not actual:
        return {}
    series_all = np.concatenate(series)
    cal = calibrate_panel(
        method, levels, np.concatenate(actual), np.concatenate(point), series=series_all, log=log_of[series_all],
        unit=cal_model.series_scale, source="seasonal naive", scale=np.concatenate(scale),
        pool=cal_model.pool_setting,  # pooled as the model's calibration is
    )
    out = {}
    for sid, o in origins.items():
        i = fc.ids_.index(sid)
        y = by_id[sid].target_values.astype(np.float64)
        scale = local_scale(g_of(y, log_of[i]), o, lookback)
        if calibration == "validation":
            out[sid] = cal.panel_bounds(seasonal[sid], series=np.full(len(o), i), log=np.full(len(o), log_of[i]),
                                        scale=scale)
        else:
            out[sid] = cal.series_rolled_bounds(i, bool(log_of[i]), o, y[o[:, None] + k], seasonal[sid], scale=scale,
                                                adaptive=calibration == "adaptive")
    return out


def _rolled_model_columns(fc: Any, by_id: dict, origins: dict[str, np.ndarray], forecasts: dict[str, np.ndarray],
                          columns: dict[str, dict[str, np.ndarray]], scales: dict[str, np.ndarray],
                          adaptive: bool) -> None:
    """Replace each series' ``lower_*``/``upper_*`` columns with those of a rolling (``adaptive``) calibration:
    the fit's pooled calibration plus the series' own errors observed by each cutoff."""
    from forecaster.intervals import interval_columns, quantile_column

    cal, taus = fc.calibration_, fc.io_.quantiles
    log_of = np.asarray(fc.panel_scalers_.log[:, 0], dtype=bool)
    k = np.arange(fc.config.window.horizon)
    for sid, o in origins.items():
        i = fc.ids_.index(sid)
        y = by_id[sid].target_values.astype(np.float64)
        q = np.stack([columns[sid][quantile_column(t)] for t in taus], axis=-1) if taus else None
        bounds = cal.series_rolled_bounds(i, bool(log_of[i]), o, y[o[:, None] + k], forecasts[sid], scale=scales[sid],
                                          quantiles=q, adaptive=adaptive)
        for lv, (lo, hi) in bounds.items():
            lo_name, hi_name = interval_columns(lv)
            columns[sid][lo_name], columns[sid][hi_name] = lo, hi


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
    #: The panel backtested (for the figures; not saved).
    series: Any = dataclasses.field(default=None, repr=False)
    #: Read back from ``history.csv``: the recent history the figure draws (``id``, ``timestamp``, ``value``).
    history: pd.DataFrame | None = dataclasses.field(default=None, repr=False)

    def interval_lines(self) -> list[str]:
        """What ``forecast backtest`` prints about a panel's intervals (nothing without them)."""
        if not self.intervals:
            return []
        cal = {"rolling": "; calibrated on the fit's validation windows plus each series' earlier origins observed "
                          "by each cutoff",
               "adaptive": "; calibrated on the fit's validation windows plus each series' earlier origins observed "
                           "by each cutoff, at a level that follows that series' misses (adaptive)",
               }.get(self.config.get("calibration", "validation"), "; calibrated on the fit's validation windows")
        lines = [("Prediction intervals of the model (pooled over every series; tolerance 1.96 sd with one "
                  f"independent point per horizon; per series in per_series.csv{cal}):")]
        for level, r in self.intervals.items():
            lines.append(
                f"  {level} %: coverage {100 * r['coverage']:5.1f} % over {r['points']} points ({r['verdict']}, +/- "
                f"{100 * r['tolerance']:.1f}); per series {100 * r['series_min']:.0f} .. {100 * r['series_max']:.0f} % "
                f"(mean {100 * r['series_mean']:.1f} %); mean width / MASE scale {r['scaled_width']:.3g}"
            )
            b = r.get("seasonal_naive")
            if b:
                lines.append(
                    f"        seasonal naive conformal: coverage {100 * b['coverage']:5.1f} % ({b['verdict']}), width / "
                    f"MASE scale {b['scaled_width']:.3g}; Winkler / MASE scale model {r['winkler']:.3g} vs "
                    f"{b['winkler']:.3g}, ratio {r['winkler_ratio']:.3f} (below 1: the model's intervals are better), "
                    f"the model's is the lower on {100 * r['series_better']:.0f} % of the series"
                )
        return lines

    def interval_summary(self) -> dict[str, Any]:
        """Per level, the model and the baseline interval: coverage, calibrated verdict, width and Winkler score.

        The shape of one series' ``backtest --format json`` ``intervals``; widths and Winkler scores are
        scale-free here (over each series' MASE scale). JSON-safe (no NaN).
        """
        out: dict[str, Any] = {}
        for level, r in self.intervals.items():
            model = {"coverage": r["coverage"], "points": r["points"], "verdict": r["verdict"],
                     "tolerance": r["tolerance"], "calibrated": r["verdict"] == "calibrated",
                     "scaled_width": r["scaled_width"], "scaled_winkler": r["winkler"],
                     "series_coverage": {"mean": r["series_mean"], "min": r["series_min"], "max": r["series_max"]}}
            entry: dict[str, Any] = {"model": model}
            b = r.get(REFERENCE)
            if b:
                entry[REFERENCE] = {"coverage": b["coverage"], "points": b["points"], "verdict": b["verdict"],
                                    "tolerance": b["tolerance"], "calibrated": b["verdict"] == "calibrated",
                                    "scaled_width": b["scaled_width"], "scaled_winkler": b["winkler"]}
                entry["winkler_ratio"], entry["series_better"] = r["winkler_ratio"], r["series_better"]
            out[level] = entry
        return json.loads(json.dumps(out), parse_constant=lambda _: None)  # NaN -> null

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

    def plot(self, max_series: int = FIGURE_SERIES) -> dict[str, Any]:
        """``forecast.png``: the last backtest forecast of the first ``max_series`` series, one axis each.

        Each with its recent history, what really happened and the model's interval (or quantile) bands
        (:func:`forecaster.plot.plot_panel_forecasts`). Empty without the panel (a result read back).
        """
        if (self.series is None and self.history is None) or self.forecasts.empty:
            return {}
        from forecaster.plot import plot_panel_forecasts

        recent = self.recent_history(max_series)
        if not recent:  # read back from a directory whose history.csv holds none of these series
            return {}
        history, actual, parts = {}, {}, []
        for sid in recent:
            rows = self.forecasts[self.forecasts["id"] == sid]
            last = rows[rows["cutoff"] == rows["cutoff"].max()]
            history[sid] = recent[sid]
            stamps = pd.DatetimeIndex(last["timestamp"])
            actual[sid] = pd.Series(last["actual"].to_numpy(), index=stamps)
            bands = [c for c in last.columns if c.startswith(("lower_", "upper_", "q"))]
            parts.append(last[["id", "timestamp", "model", *bands]].rename(columns={"model": "value"}))
        title = (f"Panel backtest: the last forecast of {len(history)} of {self.forecasts['id'].nunique()} series, "
                 "with the model's intervals and what happened")
        return {"forecast.png": plot_panel_forecasts(history, pd.concat(parts, ignore_index=True), title=title,
                                                     actual=actual)}

    def recent_history(self, max_series: int = FIGURE_SERIES) -> dict[str, pd.Series]:
        """The first ``max_series`` series' observed values before their last backtest cutoff (what the figure
        draws: the last ``max(4 x lookback, 60)`` rows), from the panel or, read back, from ``history.csv``."""
        ids = list(dict.fromkeys(self.forecasts["id"]))[:max_series]
        if self.series is None:
            h = self.history
            return {sid: pd.Series(part["value"].to_numpy(dtype=np.float64), index=pd.DatetimeIndex(part["timestamp"]))
                    for sid in ids if len(part := h[h["id"] == sid])}
        by_id = {m.id: m for m in self.series}
        lookback = getattr(getattr(self.forecaster, "config", None), "window", None)
        lookback = getattr(lookback, "lookback", None) or 24
        out = {}
        for sid in ids:
            cutoff = self.forecasts.loc[self.forecasts["id"] == sid, "cutoff"].max()
            full = pd.Series(by_id[sid].target_values, index=by_id[sid].index)
            out[sid] = full.loc[:cutoff].iloc[-max(4 * int(lookback), 60):]
        return out

    def save(self, path: str | Path, *, figures: dict[str, Any] | None = None) -> Path:
        """A directory with ``metrics.json``, ``per_series.csv``, ``forecasts.csv``, ``history.csv`` (the recent
        history the figure draws, so ``forecast plot --backtest`` can redraw it) and the ``figures`` given
        (file name -> matplotlib Figure, saved as PNG), written atomically."""
        from forecaster.artifacts import write_json, write_run_dir

        recent = self.recent_history() if (self.series is not None or self.history is not None) else {}
        history = pd.DataFrame(
            [(sid, t, v) for sid, s in recent.items() for t, v in s.items()], columns=["id", "timestamp", "value"]
        )

        def write(tmp: Path) -> None:
            for name, fig in (figures or {}).items():
                fig.savefig(tmp / name, dpi=110)
            self.per_series.to_csv(tmp / "per_series.csv", index=False)
            self.forecasts.to_csv(tmp / "forecasts.csv", index=False)
            history.to_csv(tmp / "history.csv", index=False)
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

    @classmethod
    def load(cls, path: str | Path) -> PanelBacktestResult:
        """Read a directory written by :meth:`save` (for ``forecast plot --backtest``)."""
        from forecaster.artifacts import read_json_object
        from forecaster.exceptions import ArtifactError

        run = Path(path)
        for name in ("metrics.json", "per_series.csv", "forecasts.csv"):
            if not (run / name).is_file():
                raise ArtifactError(f"{run} is not a complete panel backtest directory ({name} is missing). "
                                    "Run 'forecast backtest' again.")
        payload = read_json_object(run / "metrics.json")
        try:
            if payload.get("kind") != "panel_backtest":
                raise ValueError("its metrics.json is not a panel backtest's")
            ids = {"id": str}
            history = (pd.read_csv(run / "history.csv", dtype=ids, parse_dates=["timestamp"])
                       if (run / "history.csv").is_file() else None)
            return cls(
                metrics=pd.DataFrame.from_dict(payload["metrics"], orient="index"),
                per_series=pd.read_csv(run / "per_series.csv", dtype=ids),
                forecasts=pd.read_csv(run / "forecasts.csv", dtype=ids, parse_dates=["cutoff", "timestamp"]),
                skipped=dict(payload.get("skipped", {})), config=dict(payload["config"]),
                timings=dict(payload.get("timings", {})), intervals=dict(payload.get("intervals", {})),
                history=history,
            )
        except (KeyError, TypeError, ValueError, pd.errors.ParserError) as exc:
            raise ArtifactError(f"Cannot read the panel backtest {run}: {exc}") from None


def panel_backtest(
    model: Any, ts, *, start=None, origin_stride: int = 1, gap: int = 0, folds: int | None = None,
    window: str = "expanding", season: int | None = None, verbose: int | str = 0, calibration: str = "validation",
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
        calibration: the intervals' ``validation`` windows of the fit (pooled over every series), or
            ``rolling``/``adaptive``: those plus each series' own earlier errors observed by each cutoff
            (:meth:`forecaster.intervals.Calibration.series_rolled_bounds`), for the model and the baseline.
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
        rolled = bool(levels) and calibration in ("rolling", "adaptive")
        columns = fc.predict_panel_intervals(ts, origins, with_scale=rolled)
        forecasts = {sid: c.pop("point") for sid, c in columns.items()}
        if rolled:
            scales = {sid: c.pop("scale") for sid, c in columns.items()}
            _rolled_model_columns(fc, by_id, origins, forecasts, columns, scales, calibration == "adaptive")
    else:
        forecasts, columns = fc.predict_panel_origins(ts, origins), {sid: {} for sid in origins}
    predict_seconds = time.perf_counter() - t0
    season = season if season is not None else (fc.config.window.season or season_of(config, ts.freq))
    k = np.arange(horizon)
    baselines = {sid: _baselines(by_id[sid].target_values, o, horizon, season) for sid, o in origins.items()}
    base_bounds = {}
    if levels:
        base_bounds = baseline_interval_bounds(fc, by_id, origins, {s: b[REFERENCE] for s, b in baselines.items()}, season,
                                               calibration)
        for sid, by_level in base_bounds.items():
            for lv, (lo, hi) in by_level.items():
                columns[sid][f"{REFERENCE}_lower_{lv}"], columns[sid][f"{REFERENCE}_upper_{lv}"] = lo, hi
    from forecaster.intervals import winkler

    # method -> level -> per series: the hits and the scale-free Winkler scores of every point.
    inside: dict[str, dict[int, list[np.ndarray]]] = {"model": {lv: [] for lv in levels}, REFERENCE: {lv: [] for lv in levels}}
    scored: dict[str, dict[int, list[np.ndarray]]] = {"model": {lv: [] for lv in levels}, REFERENCE: {lv: [] for lv in levels}}
    per_series, frames = [], []
    for sid, o in origins.items():
        m = by_id[sid]
        y = m.target_values
        actual = y[o[:, None] + k]
        methods = {"model": forecasts[sid], **baselines[sid]}
        scale = _scale(y[: int(o[0])], season)
        bands = {"model": {lv: (columns[sid][f"lower_{lv}"], columns[sid][f"upper_{lv}"]) for lv in levels},
                 REFERENCE: base_bounds.get(sid, {})}
        for name, f in methods.items():
            err = np.abs(f - actual)
            per_series.append({"id": sid, "method": name, "origins": len(o), "MAE": float(err.mean()),
                               "sMAPE": float(smape(actual, f)), "MASE": float(err.mean() / scale)})
            for lv, (lo, hi) in bands.get(name, {}).items():
                hit = (actual >= lo) & (actual <= hi)
                w = winkler(actual, lo, hi, lv / 100)
                inside[name][lv].append(hit.reshape(-1))
                scored[name][lv].append((w / scale).reshape(-1))
                width = float((hi - lo).mean())
                per_series[-1].update({f"coverage_{lv}": float(hit.mean()), f"width_{lv}": width,
                                       f"scaled_width_{lv}": width / scale, f"winkler_{lv}": float(w.mean()),
                                       f"scaled_winkler_{lv}": float(w.mean() / scale)})
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
    from forecaster.intervals import coverage_verdict

    for lv in levels:
        hits = np.concatenate(inside["model"][lv])
        rows_of = {name: per[per["method"] == name].set_index("id") for name in ("model", REFERENCE)}
        by_series = rows_of["model"][f"coverage_{lv}"]
        model_w = float(np.mean(np.concatenate(scored["model"][lv])))
        intervals[str(lv)] = {
            "coverage": float(hits.mean()), "points": int(hits.size), "series_mean": float(by_series.mean()),
            "series_min": float(by_series.min()), "series_max": float(by_series.max()),
            "scaled_width": float(rows_of["model"][f"scaled_width_{lv}"].mean()),
            "winkler": model_w,
            **coverage_verdict(float(hits.mean()), lv / 100, int(hits.size), horizon),
        }
        if inside[REFERENCE][lv]:
            b_hits = np.concatenate(inside[REFERENCE][lv])
            base_w = float(np.mean(np.concatenate(scored[REFERENCE][lv])))
            ref = rows_of[REFERENCE].dropna(subset=[f"winkler_{lv}"])
            both = rows_of["model"].loc[ref.index]
            intervals[str(lv)].update({
                "winkler_ratio": model_w / base_w if base_w > 0 else float("nan"),
                "series_better": float((both[f"winkler_{lv}"] < ref[f"winkler_{lv}"]).mean()),
                REFERENCE: {
                    "coverage": float(b_hits.mean()), "points": int(b_hits.size),
                    "scaled_width": float(ref[f"scaled_width_{lv}"].mean()), "winkler": base_w,
                    **coverage_verdict(float(b_hits.mean()), lv / 100, int(b_hits.size), horizon),
                },
            })
    means = per.groupby("method")[["sMAPE", "MASE"]].mean().reindex(list(METHODS))
    ref = means.loc[REFERENCE]
    means["OWA"] = 0.5 * (means["sMAPE"] / ref["sMAPE"] + means["MASE"] / ref["MASE"])
    return PanelBacktestResult(
        metrics=means,
        per_series=per,
        forecasts=pd.concat(frames, ignore_index=True),
        skipped=skipped,
        config={"horizon": horizon, "origin_stride": origin_stride, "start": start, "gap": gap, "season": int(season),
                "calibration": calibration if levels else None,
                "model_config": fc.config.to_dict()},
        timings={"fit_seconds": round(fit_seconds, 3), "predict_seconds": round(predict_seconds, 3),
                 "total_seconds": round(time.perf_counter() - started, 3)},
        forecaster=fc,
        intervals=intervals,
        series=ts,
    )
