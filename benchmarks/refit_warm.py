"""Cold vs warm refits (``--refit-warm``) in one rolling-origin backtest on a real series: time and accuracy.

    python benchmarks/refit_warm.py /work/shared/data/daily-min-temperatures.csv --folds 8 --horizon 7

Runs the same backtest twice in one process (cold first, then warm, or
``--rounds`` alternating pairs) and prints, per run, the total fit time,
epochs to early stopping per fold, and MAE / MASE of the model beside the
best baseline on the same origins.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv")
    p.add_argument("--target", default=None)
    p.add_argument("--folds", type=int, default=8)
    p.add_argument("--horizon", type=int, default=7)
    p.add_argument("--lookback", type=int, default=28)
    p.add_argument("--units", type=int, default=16)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--ensemble", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--json", default=None, help="Also write the rows as JSON here.")
    args = p.parse_args()

    import forecaster as fc

    ts = fc.read_csv(args.csv, target=args.target)
    model = fc.Forecaster(horizon=args.horizon, lookback=args.lookback, units=args.units, epochs=args.epochs,
                          ensemble=args.ensemble)
    rows = []
    for r in range(args.rounds):
        for warm in (False, True):
            t0 = time.perf_counter()
            res = fc.backtest(model, ts, folds=args.folds, refit="always", refit_warm=warm)
            wall = time.perf_counter() - t0
            m = res.metrics
            base = [b for b in m.index if b != "model"]
            best = min(base, key=lambda b: m.loc[b, "MAE"])
            fits = res.fits if hasattr(res, "fits") else res.historical.fits
            row = {
                "round": r + 1, "refit": "warm" if warm else "cold", "wall_s": round(wall, 1),
                "fit_s": round(sum(f["fit_seconds"] for f in fits), 1),
                "epochs": [f["epochs_run"] for f in fits],
                "MAE": round(float(m.loc["model", "MAE"]), 4), "MASE": round(float(m.loc["model", "MASE"]), 4),
                "best_baseline": best, "baseline_MAE": round(float(m.loc[best, "MAE"]), 4),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
