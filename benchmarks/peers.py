"""Forecaster beside its peers, measured side by side in one run: training throughput, end to end, predict.

    python benchmarks/peers.py                       # 3 interleaved rounds of every section
    python benchmarks/peers.py --quick               # tiny sizes: checks that every side runs
    python benchmarks/peers.py --only predict,e2e --rounds 2 --json peers.json

Sections (``--only``):

* ``train``: windows/s of one training epoch's batches after the first call
  (LSTM-64 and GRU-64, lookback 64, horizon 24, batch 256, a 200,000-point
  random walk), every side in one process, interleaved round by round, all
  starting from the same data:

  - ``forecaster``: what ``Forecaster.fit`` runs (its data source over the
    scaled series, its compile with ``steps_per_execution``, TensorFlow op
    determinism on, its NaN check callback);
  - levers, each one change from ``forecaster``: ``xla`` (``jit_compile=True``,
    determinism off, as ``--jit-compile`` runs), ``no_nan_check`` (without the
    per-call loss read), ``spe1`` (one batch per compiled call);
  - ``plain_keras``: ``keras.Sequential`` fitted on pre-materialised NumPy
    windows (the tutorial way);
  - ``skforecast``: ``ForecasterRnn`` with ``create_and_compile_model`` (it
    materialises windows too), when skforecast is installed;
  - ``darts``: ``RNNModel`` (Darts' own default threading), when Darts is
    importable (with pytorch_lightning). Darts needs PyTorch: install its CPU wheel yourself (see the README).

* ``e2e``: the whole job on ETTh1 (OT, lookback 96, horizon 24, GRU-32, 10
  epochs, batch 64, one network): ``forecast fit`` then ``forecast predict``
  (two processes, as a user runs them), the same fit with ``--jit-compile``,
  and a plain-Keras, a skforecast and a Darts ``BlockRNNModel`` script doing
  the same job (the last two when importable); wall time and peak RSS of each
  process.
* ``predict``: a cold ``forecast predict`` of that run vs ``python -c "import
  tensorflow"``, alternating; wall time and peak RSS.

Every number is the median of the rounds, and each round's ratio
(forecaster / peer: above 1 is faster for throughput; below 1 is faster for
times) is printed. Peak RSS comes from ``wait4`` on each child process.
Nothing here asserts a timing; read the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve()
DATA = HERE.parents[2] / "shared" / "data" / "ETTh1.csv"

SIZES = {
    "full": {"points": 200_000, "units": 64, "lookback": 64, "horizon": 24, "batch": 256, "steps": 64,
             "e2e_epochs": 10, "e2e_units": 32, "e2e_rows": None},
    "quick": {"points": 5_000, "units": 4, "lookback": 16, "horizon": 4, "batch": 32, "steps": 32,
              "e2e_epochs": 1, "e2e_units": 4, "e2e_rows": 1500},
}
TRAIN_SIDES = ("forecaster", "xla", "no_nan_check", "spe1", "plain_keras", "skforecast", "darts")
CELLS = ("lstm", "gru")


# ----------------------------------------------------------------------------- helpers
def timed_child(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> dict:
    """Run ``cmd``: wall seconds, the child's own peak RSS (MB, from ``os.wait4``), exit status, last output line."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        text, etext = out.read(), err.read()
    last = text.strip().splitlines()[-1] if text.strip() else ""
    return {"wall_s": wall, "peak_mb": usage.ru_maxrss / 1024, "rc": proc.returncode, "last": last,
            "stderr": etext[-1500:]}


def env_with_repo() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parents[1]), env.get("PYTHONPATH", "")])
    return env


def random_walk(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return (100 + np.cumsum(rng.normal(0, 1, n))).astype(np.float64)


def importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# ----------------------------------------------------------------------------- train
def bench_train(size: dict, rounds: int, only_sides: set[str] | None = None) -> list[dict]:
    """Windows/s per side and cell, interleaved rounds (see the module docstring)."""
    import keras
    import numpy as np

    from forecaster.config import ForecastConfig
    from forecaster.runtime import set_seed
    from forecaster.scaling import SeriesScaler
    from forecaster.shapes import IOSpec
    from forecaster.training import STEPS_PER_EXECUTION, StopOnNonFinite, new_model
    from forecaster.training.pipeline import scale_in_chunks, steps_per_execution_for, training_data
    from forecaster.windowing import WindowView, valid_origins

    lookback, horizon, batch, steps = size["lookback"], size["horizon"], size["batch"], size["steps"]
    values = random_walk(size["points"])[:, None]
    scaler = SeriesScaler("none", "global").fit(values[: int(0.8 * len(values))], columns=["y"])
    z = scale_in_chunks(scaler, values)
    view = WindowView(z, lookback, horizon)
    origins = valid_origins(len(z), lookback, horizon)
    x_mat = view.inputs(origins).astype(np.float32)  # the tutorial way: every window copied
    y_mat = view.targets(origins).astype(np.float32)

    class Timer(keras.callbacks.Callback):
        """Windows/s from the end of the first call to the end of the last; stops after ``steps`` batches."""

        def __init__(self) -> None:
            super().__init__()
            self.t0 = self.t1 = None
            self.b0 = self.b1 = 0

        def on_train_batch_end(self, batch_i, logs=None):
            now = time.perf_counter()
            if self.t0 is None:
                self.t0, self.b0 = now, batch_i
            self.t1, self.b1 = now, batch_i
            if batch_i + 1 >= steps:
                self.model.stop_training = True

        def rate(self) -> float:
            if self.b1 <= self.b0:
                raise RuntimeError("too few calls to time: raise `steps`")
            return (self.b1 - self.b0) * batch / (self.t1 - self.t0)

    sides: dict[str, dict] = {}
    for cell in CELLS:
        cfg = ForecastConfig(cell=cell, units=size["units"], lookback=lookback, horizon=horizon, batch_size=batch)
        io = IOSpec(lookback=lookback, horizon=horizon, n_past=1)
        train, _, train_steps = training_data(view, origins, origins[:batch], batch, seed=0, steps_per_epoch=steps)
        per_call = steps_per_execution_for(train_steps, STEPS_PER_EXECUTION)
        set_seed(0, deterministic=True)
        ours = new_model(cfg, io, steps_per_execution=per_call)
        spe1 = new_model(cfg, io, steps_per_execution=1)
        set_seed(0, deterministic=False)
        xla = new_model(cfg.replace(jit_compile=True), io, steps_per_execution=per_call)
        rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
        plain = keras.Sequential([keras.Input((lookback, 1)), rnn(size["units"]), keras.layers.Dense(horizon)])
        plain.compile(optimizer="adam", loss="mse")

        def fit(model, *args, deterministic=False, callbacks=(), **kw) -> float:
            set_seed(0, deterministic=deterministic)
            t = Timer()
            model.fit(*args, epochs=1, verbose=0, callbacks=[*callbacks, t], **kw)
            return t.rate()

        sides[cell] = {
            "forecaster": lambda m=ours, d=train: fit(m, d, steps_per_epoch=train_steps, shuffle=False,
                                                      deterministic=True, callbacks=[StopOnNonFinite()]),
            "xla": lambda m=xla, d=train: fit(m, d, steps_per_epoch=train_steps, shuffle=False,
                                              callbacks=[StopOnNonFinite()]),
            "no_nan_check": lambda m=ours, d=train: fit(m, d, steps_per_epoch=train_steps, shuffle=False,
                                                        deterministic=True),
            "spe1": lambda m=spe1, d=train: fit(m, d, steps_per_epoch=train_steps, shuffle=False,
                                                deterministic=True, callbacks=[StopOnNonFinite()]),
            "plain_keras": lambda m=plain: fit(m, x_mat, y_mat, batch_size=batch, shuffle=True),
        }
        if importable("skforecast") and (only_sides is None or "skforecast" in only_sides):
            sides[cell]["skforecast"] = _skforecast_side(cell, size, values[:, 0], Timer)
        if importable("darts") and importable("pytorch_lightning") and (only_sides is None or "darts" in only_sides):
            sides[cell]["darts"] = _darts_side(cell, size, values[:, 0])
        if only_sides is not None:
            sides[cell] = {k: v for k, v in sides[cell].items() if k in only_sides or k == "forecaster"}

    for cell in CELLS:  # warm-up: tracing and compilation happen here
        for run in sides[cell].values():
            run()
    rows = []
    for r in range(rounds):
        for cell in CELLS:
            for side, run in sides[cell].items():
                rows.append({"round": r + 1, "cell": cell, "side": side, "wps": run()})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def _skforecast_side(cell: str, size: dict, y, Timer):
    import pandas as pd
    from skforecast.deep_learning import ForecasterRnn
    from skforecast.deep_learning.utils import create_and_compile_model

    series = pd.DataFrame({"y": y}, index=pd.RangeIndex(len(y)))
    model = create_and_compile_model(series=series, lags=size["lookback"], steps=size["horizon"],
                                     recurrent_layer=cell.upper(), recurrent_units=size["units"], dense_units=None)
    timer = Timer()
    forecaster = ForecasterRnn(model, levels="y", lags=size["lookback"],
                               fit_kwargs={"epochs": 1, "batch_size": size["batch"], "verbose": 0, "callbacks": [timer]})

    def run() -> float:
        timer.t0 = None
        forecaster.fit(series)
        return timer.rate()

    return run


def _darts_side(cell: str, size: dict, y):  # pragma: no cover - Darts is not installed where this was written
    """Darts ``RNNModel`` on the same series (its own default threading); windows/s of the epoch's batches."""
    import numpy as np
    from darts import TimeSeries
    from darts.models import RNNModel
    from pytorch_lightning.callbacks import Callback

    class Timer(Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            now = time.perf_counter()
            if batch_idx == 0:
                self.t0 = now
            self.t1, self.n = now, batch_idx

    series = TimeSeries.from_values(np.asarray(y, dtype=np.float32))
    timer = Timer()
    model = RNNModel(model=cell.upper(), hidden_dim=size["units"], input_chunk_length=size["lookback"],
                     training_length=size["lookback"] + size["horizon"], batch_size=size["batch"], n_epochs=1,
                     pl_trainer_kwargs={"limit_train_batches": size["steps"], "callbacks": [timer],
                                        "enable_progress_bar": False, "logger": False})

    def run() -> float:
        model.fit(series, verbose=False)
        return timer.n * size["batch"] / (timer.t1 - timer.t0)

    return run


# ----------------------------------------------------------------------------- e2e
E2E_PLAIN = r'''
import sys, numpy as np, pandas as pd, keras
csv, lookback, horizon, units, epochs, rows = sys.argv[1], *map(int, sys.argv[2:7])
y = pd.read_csv(csv)["OT"].to_numpy(np.float64)[: rows or None]
n_train = int(0.8 * len(y)); mu, sd = y[:n_train].mean(), y[:n_train].std()
z = ((y - mu) / sd).astype(np.float32)
idx = np.arange(lookback, len(z) - horizon + 1)
x = np.stack([z[i - lookback:i] for i in idx])[..., None]; t = np.stack([z[i:i + horizon] for i in idx])
cut = np.searchsorted(idx, n_train)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((lookback, 1)), keras.layers.GRU(units), keras.layers.Dense(horizon)])
model.compile(optimizer="adam", loss="mse")
model.fit(x[:cut], t[:cut], validation_data=(x[cut:], t[cut:]), epochs=epochs, batch_size=64, verbose=0)
print((model.predict(z[None, -lookback:, None], verbose=0)[0] * sd + mu).round(3).tolist())
'''

E2E_SKFORECAST = r'''
import sys, numpy as np, pandas as pd
from skforecast.deep_learning import ForecasterRnn
from skforecast.deep_learning.utils import create_and_compile_model
csv, lookback, horizon, units, epochs, rows = sys.argv[1], *map(int, sys.argv[2:7])
y = pd.read_csv(csv)["OT"].to_numpy(np.float64)[: rows or None]
series = pd.DataFrame({"OT": y})
model = create_and_compile_model(series=series, lags=lookback, steps=horizon, recurrent_layer="GRU",
                                 recurrent_units=units, dense_units=None)
f = ForecasterRnn(model, levels="OT", lags=lookback, fit_kwargs={"epochs": epochs, "batch_size": 64, "verbose": 0})
f.fit(series)
print(f.predict()["pred"].round(3).tolist() if "pred" in f.predict() else f.predict().iloc[:, -1].round(3).tolist())
'''


#: Darts' ``BlockRNNModel`` (a direct multi-step GRU, as forecaster's and the other peers' jobs), on its own default
#: threading: the same rows, the same scaling on the first 80 %, validation on the rest, then the next horizon.
E2E_DARTS = r'''
import sys, logging, numpy as np, pandas as pd
logging.getLogger("pytorch_lightning").setLevel(logging.ERROR); logging.getLogger("lightning").setLevel(logging.ERROR)
from darts import TimeSeries
from darts.models import BlockRNNModel
csv, lookback, horizon, units, epochs, rows = sys.argv[1], *map(int, sys.argv[2:7])
y = pd.read_csv(csv)["OT"].to_numpy(np.float64)[: rows or None]
n_train = int(0.8 * len(y)); mu, sd = y[:n_train].mean(), y[:n_train].std()
z = ((y - mu) / sd).astype(np.float32)
train, val = TimeSeries.from_values(z[:n_train]), TimeSeries.from_values(z[n_train - lookback:])
model = BlockRNNModel(model="GRU", hidden_dim=units, input_chunk_length=lookback, output_chunk_length=horizon,
                      batch_size=64, n_epochs=epochs, random_state=0,
                      pl_trainer_kwargs={"enable_progress_bar": False, "logger": False, "enable_model_summary": False})
model.fit(train, val_series=val, verbose=False)
pred = model.predict(horizon, series=TimeSeries.from_values(z), verbose=False).values()[:, 0]
print((pred * sd + mu).round(3).tolist())
'''


def bench_e2e(size: dict, rounds: int, workdir: Path, xla: bool = True) -> tuple[list[dict], Path | None]:
    """The ETTh1 job per side, interleaved rounds; returns the rows and the last forecaster run directory."""
    if not DATA.exists():
        print(f"e2e: {DATA} is missing; skipped", file=sys.stderr)
        return [], None
    csv = DATA
    if size["e2e_rows"]:
        import pandas as pd

        csv = workdir / "etth1-head.csv"
        pd.read_csv(DATA).head(size["e2e_rows"]).to_csv(csv, index=False)
    lookback, horizon = (24, 4) if size["e2e_rows"] else (96, 24)
    units, epochs = size["e2e_units"], size["e2e_epochs"]
    env = env_with_repo()
    args = [str(csv), str(lookback), str(horizon), str(units), str(epochs), "0"]
    rows, last_run = [], None

    def fit_cmd(runs: Path, name: str, *flags: str) -> list[str]:
        return [sys.executable, "-m", "forecaster.cli", "--runs-dir", str(runs), "fit", str(csv), "--target", "OT",
                "--lookback", str(lookback), "--horizon", str(horizon), "--cell", "gru", "--units", str(units),
                "--epochs", str(epochs), "--patience", str(epochs), "--batch-size", "64", "--ensemble", "1",
                "--name", name, *flags]

    for r in range(rounds):
        runs = workdir / f"runs-{r}"
        if xla:
            res = timed_child(fit_cmd(runs, "etth1-xla", "--jit-compile"), env)
            if res["rc"] != 0:
                raise RuntimeError(f"forecast fit --jit-compile failed: {res['stderr']}")
            rows.append({"round": r + 1, "side": "forecaster_xla", "wall_s": res["wall_s"], "fit_s": res["wall_s"],
                         "peak_mb": res["peak_mb"]})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        fit = timed_child(fit_cmd(runs, "etth1"), env)
        pred = timed_child([sys.executable, "-m", "forecaster.cli", "--runs-dir", str(runs), "predict"], env)
        for step in (fit, pred):
            if step["rc"] != 0:
                raise RuntimeError(f"forecast failed: {step['stderr']}")
        last_run = runs / "etth1"
        rows.append({"round": r + 1, "side": "forecaster", "wall_s": fit["wall_s"] + pred["wall_s"],
                     "fit_s": fit["wall_s"], "predict_s": pred["wall_s"],
                     "peak_mb": max(fit["peak_mb"], pred["peak_mb"]), "predict_peak_mb": pred["peak_mb"]})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        peers = {"plain_keras": E2E_PLAIN}
        if importable("skforecast"):
            peers["skforecast"] = E2E_SKFORECAST
        if importable("darts") and importable("pytorch_lightning"):
            peers["darts"] = E2E_DARTS
        for side, script in peers.items():
            res = timed_child([sys.executable, "-c", script, *args], env)
            if res["rc"] != 0:
                raise RuntimeError(f"{side} failed: {res['stderr']}")
            rows.append({"round": r + 1, "side": side, "wall_s": res["wall_s"], "peak_mb": res["peak_mb"]})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows, last_run


# ----------------------------------------------------------------------------- predict
def bench_predict(rounds: int, run: Path | None) -> list[dict]:
    """Cold ``forecast predict`` of ``run`` vs ``python -c "import tensorflow"``, alternating."""
    if run is None:
        return []
    env = env_with_repo()
    rows = []
    for r in range(rounds):
        tf = timed_child([sys.executable, "-c", "import tensorflow"], env)
        pred = timed_child([sys.executable, "-m", "forecaster.cli", "predict", "--model", str(run),
                            "--output", str(run.parent / f"predict-{r}.csv")], env)
        if pred["rc"] != 0:
            raise RuntimeError(f"forecast predict failed: {pred['stderr']}")
        rows.append({"round": r + 1, "import_tensorflow_s": tf["wall_s"], "import_tensorflow_mb": tf["peak_mb"],
                     "predict_s": pred["wall_s"], "predict_mb": pred["peak_mb"],
                     "ratio": pred["wall_s"] / tf["wall_s"]})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


# ----------------------------------------------------------------------------- report
def summarise(report: dict) -> str:
    lines = []
    train = report.get("train", [])
    if train:
        lines.append("Training throughput, windows/s (median of rounds; per-round ratio forecaster / side)")
        for cell in CELLS:
            by_side: dict[str, list[float]] = {}
            for row in train:
                if row["cell"] == cell:
                    by_side.setdefault(row["side"], []).append(row["wps"])
            ours = by_side.get("forecaster", [])
            for side, rates in by_side.items():
                ratios = [o / p for o, p in zip(ours, rates)]
                lines.append(f"  {cell.upper():4s} {side:13s} {statistics.median(rates):9.0f}   "
                             f"forecaster/side per round: {', '.join(f'{x:.2f}' for x in ratios)}")
        missing = [s for s in ("skforecast", "darts") if not any(r["side"] == s for r in train)]
        if missing:
            lines.append(f"  not measured in this run (not importable here, or left out with --sides): {', '.join(missing)}")
    e2e = report.get("e2e", [])
    if e2e:
        lines.append("End to end on ETTh1 (fit + predict), seconds and peak RSS (median of rounds)")
        sides = sorted({r["side"] for r in e2e}, key=lambda s: s != "forecaster")
        ours = [r["wall_s"] for r in e2e if r["side"] == "forecaster"]
        for side in sides:
            walls = [r["wall_s"] for r in e2e if r["side"] == side]
            peaks = [r["peak_mb"] for r in e2e if r["side"] == side]
            ratios = [o / w for o, w in zip(ours, walls)]
            lines.append(f"  {side:12s} {statistics.median(walls):7.1f} s  {statistics.median(peaks):6.0f} MB   "
                         f"forecaster/side per round: {', '.join(f'{x:.2f}' for x in ratios)}")
    pred = report.get("predict", [])
    if pred:
        med = {k: statistics.median(r[k] for r in pred) for k in pred[0] if k != "round"}
        lines.append(f"Cold forecast predict {med['predict_s']:.2f} s, {med['predict_mb']:.0f} MB; "
                     f"python -c 'import tensorflow' {med['import_tensorflow_s']:.2f} s, "
                     f"{med['import_tensorflow_mb']:.0f} MB; ratio per round: "
                     + ", ".join(f"{r['ratio']:.2f}" for r in pred))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that every side runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="train,e2e,predict", help="comma-separated sections: train, e2e, predict")
    parser.add_argument("--sides", default=None,
                        help=f"train section: comma-separated sides of {', '.join(TRAIN_SIDES)} (default: all)")
    parser.add_argument("--steps", type=int, default=None, help="train section: batches timed per fit")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    size = dict(SIZES["quick" if args.quick else "full"])
    if args.steps:
        size["steps"] = args.steps
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    report: dict = {"size": size, "rounds": args.rounds, "cpus": os.cpu_count(),
                    "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        work = Path(tmp)
        run = None
        if "e2e" in only or "predict" in only:
            report["e2e"], run = bench_e2e(size, args.rounds if "e2e" in only else 1, work)
        if "predict" in only:
            report["predict"] = bench_predict(args.rounds, run)
        if "train" in only:
            sides = {s.strip() for s in args.sides.split(",")} if args.sides else None
            report["train"] = bench_train(size, args.rounds, sides)
    report["load_average_at_end"] = os.getloadavg()
    print(summarise(report))
    print(f"load average at start {report['load_average_at_start']}, at end {report['load_average_at_end']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
