"""Peak memory of a panel fit: it grows with the total number of points, not with windows x lookback.

    python benchmarks/panel_memory.py --series 1000 --points 500
    python benchmarks/panel_memory.py --series 1000,10000,100000 --points 500 --direct

Each size runs in a fresh process (so its peak resident set size is its own)
and reports: the points, the training windows, what those windows would take
materialised as float32 ``(windows, lookback, columns)`` tensors, the resident
memory after the data is built and the peak resident memory of the whole fit
(``ru_maxrss``) and the fit's seconds.

The series are synthetic (a daily seasonal level of their own plus noise,
different start dates). By default they go through
:func:`forecaster.from_dataframe`, as a user's DataFrame would; ``--direct``
builds the validated series objects directly (the same arrays, without
pandas' per-group validation), which is what large panels measure best: the
loader's per-series cost is not the training path. The training budget is
fixed (``--steps`` optimiser steps of 64 windows, one epoch) because memory,
not accuracy, is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build(n_series: int, points: int, direct: bool):
    import numpy as np
    import pandas as pd

    import forecaster as fc
    from forecaster.data import Series, TimeSeries

    rng = np.random.default_rng(0)
    t = np.arange(points)
    starts = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 365, n_series), unit="D")
    if direct:
        members = []
        for i in range(n_series):
            y = 50 + 10 * np.sin(2 * np.pi * t / 7 + i) + rng.normal(0, 1, points) + i % 100
            index = pd.date_range(starts[i], periods=points, freq="D", name="date")
            members.append(Series(frame=pd.DataFrame({"value": y}, index=index), target="value", features=(),
                                  freq="D", time_col="date", fingerprint=f"synthetic-{i}", id=f"s{i}"))
        return TimeSeries(tuple(members), id_col="unique_id")
    parts = []
    for i in range(n_series):
        y = 50 + 10 * np.sin(2 * np.pi * t / 7 + i) + rng.normal(0, 1, points) + i % 100
        parts.append(pd.DataFrame({"unique_id": f"s{i}", "date": pd.date_range(starts[i], periods=points, freq="D"),
                                   "value": y}))
    frame = pd.concat(parts, ignore_index=True)
    del parts
    return fc.from_dataframe(frame)


def measure(n_series: int, points: int, direct: bool, steps: int, lookback: int, horizon: int, val_fraction: float,
            params: dict | None = None) -> dict:
    import forecaster as fc

    base = _rss_mb()
    t0 = time.perf_counter()
    ts = build(n_series, points, direct)
    build_seconds = time.perf_counter() - t0
    data_rss = _rss_mb()
    model = fc.Forecaster(lookback=lookback, horizon=horizon, units=16, epochs=1, steps_per_epoch=steps,
                          ensemble=1, base="naive", normalization="window", val_fraction=val_fraction, **(params or {}))
    t0 = time.perf_counter()
    model.fit(ts)
    fit_seconds = time.perf_counter() - t0
    windows = model.metrics_["train_windows"] + model.metrics_["val_windows"]
    return {
        "series": n_series, "points": n_series * points, "windows": windows,
        "materialised_windows_mb": round(windows * lookback * 1 * 4 / 2**20, 1),
        "rss_before_mb": round(base, 1), "rss_with_data_mb": round(data_rss, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "build_seconds": round(build_seconds, 1), "fit_seconds": round(fit_seconds, 1), "direct": direct,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", default="1000", help="comma-separated panel sizes (default 1000)")
    p.add_argument("--points", type=int, default=500, help="points per series (default 500)")
    p.add_argument("--direct", action="store_true", help="build the series objects directly (see the docstring)")
    p.add_argument("--steps", type=int, default=50, help="optimiser steps of the fit (default 50)")
    p.add_argument("--lookback", type=int, default=48)
    p.add_argument("--horizon", type=int, default=12)
    p.add_argument("--val-fraction", type=float, default=0.15,
                   help="validation share of each series (default 0.15; smaller keeps the validation passes of huge panels short)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a further Forecaster keyword (repeatable), e.g. --param combine=off --param deseason=off")
    p.add_argument("--json", default=None, help="write the rows to this JSON file")
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # internal: measure one size here
    args = p.parse_args(argv)
    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            p.error(f"--param needs KEY=VALUE. Received: {item!r}")
        params[key.strip()] = value.strip()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.points, args.direct, args.steps, args.lookback, args.horizon,
                                 args.val_fraction, params)))
        return 0
    rows = []
    print(f"{'series':>8} {'points':>11} {'windows':>11} {'windows as tensors MB':>21} {'RSS data MB':>12} "
          f"{'peak RSS MB':>12} {'build s':>8} {'fit s':>7}")
    for n in [int(x) for x in args.series.split(",")]:
        cmd = [sys.executable, __file__, "--one", str(n), "--points", str(args.points), "--steps", str(args.steps),
               "--lookback", str(args.lookback), "--horizon", str(args.horizon), "--val-fraction", str(args.val_fraction)]
        cmd += ["--direct"] if args.direct else []
        cmd += [f"--param={item}" for item in args.param]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-2000:], file=sys.stderr)
            return out.returncode
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{row['series']:>8} {row['points']:>11} {row['windows']:>11} {row['materialised_windows_mb']:>21} "
              f"{row['rss_with_data_mb']:>12} {row['peak_rss_mb']:>12} {row['build_seconds']:>8} {row['fit_seconds']:>7}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
