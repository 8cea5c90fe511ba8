"""Performance benchmark: forecaster's data path beside the plain-Keras way, in one run.

    python benchmarks/bench.py            # full sizes (about 10 minutes on 2 CPU cores)
    python benchmarks/bench.py --quick    # tiny sizes, seconds: checks that everything runs

Sections (``--only a,b,...`` picks some):

* ``train``   training throughput (windows/s after warm-up) of forecaster's data
  path (:func:`forecaster.training.pipeline.training_data`, what ``Forecaster.fit``
  uses) vs ``model.fit`` on pre-materialised NumPy windows, on the *same*
  model from :func:`forecaster.training.new_model`, alternating the two sides.
* ``memory``  peak RSS (measured in a fresh subprocess, ``VmHWM`` after the
  imports) of preparing a long series for training (split, scaler, scaled
  buffer, batches drawn, then two short Keras epochs), vs materialised windows
  (their size is computed, and measured on a slice then extrapolated: a
  10-million-point series with lookback 256 would need ~10 GB).
* ``predict`` predict throughput, and a ``refit="never"`` backtest over K
  origins (:func:`forecaster.evaluation.run_backtest`, excluding its one fit)
  vs one batched :meth:`Forecaster.predict_origins` over the same windows.
* ``cli``     ``forecast --help`` wall time (median of several subprocesses).
* ``cli_fit`` peak RSS of ``forecast fit`` on a generated CSV (2M rows, lookback 256).
* ``fit``     wall time of a default ``forecast fit`` (a fresh process, imports
  included) of a 200-point monthly series: the last 200 monthly means of the
  bundled ``data/co2.csv``, with the defaults and with ``--ensemble 1``
  (median of 2 runs each; the manifest's training seconds beside it).

Ratios are "forecaster / reference": above 1 is better for throughput, below
1 is better for time and memory. Nothing here asserts a timing; read the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SECTIONS = ("train", "memory", "predict", "cli", "cli_fit", "fit")

SIZES = {
    "full": {
        "units": 64, "lookback": 64, "batch": 256, "steps": 96, "reps": 3,
        "mem_points": 10_000_000, "mem_lookback": 256, "mem_slice": 1_000_000,
        "pred_rows": 25_000, "pred_origins": 20_000,
        "help_runs": 7,
        "cli_rows": 2_000_000, "cli_lookback": 256, "cli_steps": 50, "cli_units": 16,
        "fit_runs": 2, "fit_args": [],
    },
    "quick": {
        "units": 4, "lookback": 8, "batch": 16, "steps": 40, "reps": 1,
        "mem_points": 20_000, "mem_lookback": 16, "mem_slice": 5_000,
        "pred_rows": 400, "pred_origins": 100,
        "help_runs": 2,
        "cli_rows": 2_000, "cli_lookback": 16, "cli_steps": 2, "cli_units": 2,
        "fit_runs": 1, "fit_args": ["--epochs", "1", "--units", "4"],
    },
}

#: name -> ForecastConfig settings of the recurrent stack.
MODELS = {
    "SimpleRNN": {"cell": "simple_rnn"},
    "LSTM": {"cell": "lstm"},
    "GRU": {"cell": "gru"},
    "BiLSTM x2": {"cell": "lstm", "layers": 2, "bidirectional": True},
}

MB = 1024 * 1024


# ----------------------------------------------------------------------------
def rss_status() -> dict[str, int]:
    """Current and peak resident set size of this process in bytes (Linux ``/proc``)."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def reset_peak_rss() -> bool:
    """Restart the peak-RSS counter (``VmHWM``) from the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def machine() -> dict[str, str]:
    import keras
    import numpy as np

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    if info["backend"] == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        info["gpus"] = str(len(tf.config.list_physical_devices("GPU")))
    return info


def random_walk(n: int, columns: int = 1, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.empty((n, columns), dtype=np.float64)
    chunk = 1 << 20
    level = np.full(columns, 100.0)
    for lo in range(0, n, chunk):  # chunked so the generator's temporaries stay small
        steps = rng.standard_normal((min(chunk, n - lo), columns))
        np.cumsum(steps, axis=0, out=out[lo : lo + chunk])
        out[lo : lo + chunk] += level
        level = out[min(lo + chunk, n) - 1].copy()
    return out


# ----------------------------------------------------------------------------
def bench_train(size: dict) -> list[dict]:
    """Windows/s after warm-up: forecaster's training vs fit on materialised arrays.

    Four sides on one model architecture, all starting from the same weights:

    * forecaster: :func:`forecaster.training.pipeline.training_data` into a model as
      ``Forecaster.fit`` compiles it (on TensorFlow ``steps_per_execution`` =
      the largest divisor of the epoch's batches up to 16: 16 here);
    * data path only: the same data source into a model compiled the tutorial
      way (one batch per call), which isolates the data path;
    * plain Keras: ``fit`` on pre-materialised NumPy windows, compiled the tutorial way;
    * PyDataset: :class:`forecaster.training.pipeline.WindowBatches` (the JAX/PyTorch path), tutorial compile;
    * --jit-compile: forecaster's training with XLA (``ForecastConfig(jit_compile=True)``).
    """
    import keras
    import numpy as np

    from forecaster.config import ForecastConfig
    from forecaster.models import IOSpec, build_model
    from forecaster.training import STEPS_PER_EXECUTION, new_model
    from forecaster.training.pipeline import (
        WindowBatches,
        scale_in_chunks,
        steps_per_execution_for,
        training_data,
        use_tf_data,
    )
    from forecaster.scaling import SeriesScaler
    from forecaster.windowing import WindowView, valid_origins

    lookback, batch, steps = size["lookback"], size["batch"], size["steps"]
    n_windows = steps * batch  # whole batches only, so every side runs the same steps
    horizon = 1
    values = random_walk(n_windows + lookback + horizon - 1)
    scaler = SeriesScaler("none", "window").fit(values, columns=["y"])
    z = scale_in_chunks(scaler, values)
    view = WindowView(z, lookback, horizon, relative=True)
    origins = valid_origins(len(z), lookback, horizon)
    assert len(origins) == n_windows
    # The tutorial way: every window copied into one array.
    x_mat, y_mat = view.inputs(origins).astype(np.float32), view.targets(origins).astype(np.float32)

    class Timer(keras.callbacks.Callback):
        """Windows/s from the end of the first call to the end of the last one (skips per-fit start-up).

        With ``steps_per_execution`` > 1 Keras reports one batch-end per group, so the
        batch indices reported, not the number of calls, give the windows done.
        """

        def on_train_batch_end(self, batch_i, logs=None):
            now = time.perf_counter()
            if not hasattr(self, "t0"):
                self.t0, self.b0 = now, batch_i
            self.t1, self.b1 = now, batch_i

        def rate(self) -> float:
            if self.b1 == self.b0:
                raise RuntimeError("one call per epoch cannot be timed: raise `steps` above steps_per_execution")
            return (self.b1 - self.b0) * batch / (self.t1 - self.t0)

    def tutorial_compile(model, cfg):
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.train.learning_rate, clipnorm=cfg.train.clipnorm or None),
                      loss="mse")
        return model

    rows = []
    for name, settings in MODELS.items():
        cfg = ForecastConfig(units=size["units"], lookback=lookback, horizon=horizon, batch_size=batch, **settings)
        # A fixed number of batches per epoch: `steps` whole batches.
        train, _, train_steps = training_data(view, origins, origins[:batch], batch, seed=0, steps_per_epoch=steps)
        # As Forecaster.fit compiles: several batches per call where the backend's data path allows it.
        per_call = steps_per_execution_for(train_steps, STEPS_PER_EXECUTION) if use_tf_data() else 1
        keras.utils.set_random_seed(0)
        io = IOSpec(lookback=lookback, horizon=horizon, n_past=1)
        ours_model = new_model(cfg, io, steps_per_execution=per_call)
        plain_model = tutorial_compile(build_model(cfg, io), cfg)
        plain_model.set_weights(ours_model.get_weights())
        jit_model = new_model(cfg.replace(jit_compile=True), io, steps_per_execution=per_call)
        jit_model.set_weights(ours_model.get_weights())
        pydataset = WindowBatches(view, origins, batch, shuffle=True, seed=0)

        def timed(model, *args, **kwargs) -> float:
            t = Timer()
            model.fit(*args, epochs=1, verbose=0, callbacks=[t], **kwargs)
            return t.rate()

        sides = {
            "forecaster": lambda: timed(ours_model, train, steps_per_epoch=train_steps, shuffle=False),
            "data_path": lambda: timed(plain_model, train, steps_per_epoch=train_steps, shuffle=False),
            "plain": lambda: timed(plain_model, x_mat, y_mat, batch_size=batch, shuffle=True),
            "pydataset": lambda: timed(plain_model, pydataset, shuffle=False),
            "jit": lambda: timed(jit_model, train, steps_per_epoch=train_steps, shuffle=False),
        }
        for run in sides.values():
            run()  # warm-up: tracing and compilation happen here
        rates: dict[str, list[float]] = {k: [] for k in sides}
        for _ in range(size["reps"]):  # alternate, so drifting machine load hits every side
            for key, run in sides.items():
                rates[key].append(run())
        med = {k: statistics.median(v) for k, v in rates.items()}
        rows.append({"model": name, "forecaster_wps": med["forecaster"], "plain_keras_wps": med["plain"],
                     "ratio": med["forecaster"] / med["plain"], "data_path_wps": med["data_path"],
                     "data_path_ratio": med["data_path"] / med["plain"], "pydataset_wps": med["pydataset"],
                     "pydataset_ratio": med["pydataset"] / med["plain"],
                     "jit_wps": med["jit"], "jit_ratio": med["jit"] / med["plain"],
                     "steps_per_execution": int(ours_model.steps_per_execution)})
        keras.backend.clear_session()
    return rows


# ----------------------------------------------------------------------------
def _child_memory(kind: str, n: int, lookback: int) -> dict:
    """Runs in a fresh process: peak RSS above the post-import baseline."""
    import numpy as np
    import tensorflow as tf  # noqa: F401  (imported before the baseline on purpose)

    from forecaster.training.pipeline import scale_in_chunks, training_data
    from forecaster.scaling import SeriesScaler
    from forecaster.windowing import WindowView, chronological_split

    horizon = 1
    peak_reset = reset_peak_rss()
    base = rss_status()["VmRSS"]
    values = random_walk(n)  # the series itself: n float64 values
    series_bytes = values.nbytes
    if kind == "forecaster":
        split = chronological_split(n, lookback, horizon, 0.15)
        scaler = SeriesScaler("none", "window").fit(values[: split.train_end], columns=["y"])
        z = scale_in_chunks(scaler, values)
        view = WindowView(z, lookback, horizon, relative=True)
        train, val, steps = training_data(view, split.train_origins, split.val_origins, 256, seed=0)
        for i, _ in enumerate(train):  # draw batches from a shuffled epoch
            if i == 20:
                break
        for i, _ in enumerate(val):
            if i == 5:
                break
        # And real Keras training on the same buffer: 2 short epochs (20 batches, 1,024 validation
        # windows) of a tiny model, to show fit adds only a fixed cost (no copy of the series).
        import keras

        from forecaster.config import ForecastConfig
        from forecaster.models import IOSpec
        from forecaster.training import new_model

        model = new_model(ForecastConfig(cell="gru", units=4), IOSpec(lookback=lookback, horizon=horizon, n_past=1))
        fit_train, fit_val, fit_steps = training_data(
            view, split.train_origins, split.val_origins[:1024], 256, seed=0, steps_per_epoch=20
        )
        model.fit(fit_train, validation_data=fit_val, epochs=2, steps_per_epoch=fit_steps, shuffle=False, verbose=0)
        keras.backend.clear_session()
        windows = len(split.train_origins) + len(split.val_origins)
    else:  # the tutorial way: one array holding every window
        scaler = SeriesScaler("none", "window").fit(values, columns=["y"])
        z = scaler.transform_values(values)
        view = WindowView(z, lookback, horizon, relative=True)
        origins = np.arange(lookback, n - horizon + 1)
        x = np.ascontiguousarray(view.inputs(origins), dtype=np.float32)
        y = np.ascontiguousarray(view.targets(origins), dtype=np.float32)
        windows = len(x)
        del x, y
    st = rss_status()
    peak = st["VmHWM"] if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"base": base, "peak": peak, "series_bytes": series_bytes, "windows": windows, "peak_reset": peak_reset}


def _run_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--_child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_memory(size: dict) -> list[dict]:
    n, lookback, n_slice = size["mem_points"], size["mem_lookback"], size["mem_slice"]
    ours = _run_child("memory", "forecaster", str(n), str(lookback))
    small = _run_child("memory", "forecaster", str(n // 10), str(lookback))
    mat = _run_child("memory", "materialise", str(n_slice), str(lookback))
    series_bytes = ours["series_bytes"]
    ours_extra = ours["peak"] - ours["base"]
    windows_full = n - lookback  # horizon 1
    analytic = windows_full * lookback * 4 + windows_full * 4  # float32 inputs + targets
    per_window = (mat["peak"] - mat["base"]) / mat["windows"]
    # Two lengths separate what grows with the series from the fixed cost (TensorFlow's runtime, buffers).
    slope = (ours_extra - (small["peak"] - small["base"])) / (series_bytes - small["series_bytes"])
    constant = ours_extra - slope * series_bytes
    return [
        {"what": f"series itself ({n:,} float64)", "bytes": series_bytes, "note": "reference"},
        {"what": f"forecaster path + short Keras fit, lookback {lookback}", "bytes": ours_extra,
         "note": f"peak RSS above imports; {ours_extra / series_bytes:.2f}x series"},
        {"what": f"  of which grows with the series (from {n // 10:,} vs {n:,})", "bytes": slope * series_bytes,
         "note": f"{slope:.2f}x series + {constant / MB:,.0f} MB fixed; goal <= 1.5x + a constant"},
        {"what": "materialised windows (computed)", "bytes": analytic,
         "note": f"{analytic / series_bytes:.0f}x series; float32 windows alone"},
        {"what": f"materialised, measured on {n_slice:,} points, x{windows_full / mat['windows']:.1f}", "bytes":
         per_window * windows_full, "note": "extrapolated from a slice (not allocated in full)"},
    ]


# ----------------------------------------------------------------------------
def _write_csv(path: Path, n: int, seed: int = 0) -> None:
    import pandas as pd

    values = random_walk(n, seed=seed)[:, 0]
    frame = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=n, freq="min"), "value": values})
    frame.to_csv(path, index=False, float_format="%.6f", date_format="%Y-%m-%d %H:%M:%S")


def bench_predict(size: dict, workdir: Path) -> list[dict]:
    import numpy as np

    from forecaster import data
    from forecaster.evaluation import BacktestConfig, plan_backtest, run_backtest
    from forecaster.config import ForecastConfig

    csv = workdir / "predict.csv"
    _write_csv(csv, size["pred_rows"])
    series = data.load(csv)
    k = size["pred_origins"]
    cfg = ForecastConfig(cell="lstm", units=size["units"], lookback=size["lookback"], horizon=5,
                         epochs=1, steps_per_epoch=5, batch_size=size["batch"])
    bcfg = BacktestConfig(refit="never", start=len(series) - k - cfg.window.horizon + 1, origin_stride=1, season=1)
    result = run_backtest(cfg, series, bcfg)
    origins = np.concatenate([f.origins for f in plan_backtest(series, cfg, bcfg).folds])
    fc = result.forecaster
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        pred = fc.predict_origins(series, origins)
        times.append(time.perf_counter() - t0)
    t_pred = statistics.median(times)
    same = np.allclose(pred, result.forecasts.pivot(index="cutoff", columns="step", values="model").to_numpy())
    tm = result.timings
    cost = tm["total_seconds"] - tm["fit_seconds"]
    return [
        {"what": f"batched predict_origins, {len(origins):,} windows", "seconds": t_pred,
         "note": f"{len(origins) / t_pred:,.0f} windows/s (warm)"},
        {"what": "backtest refit=never, same origins, minus its fit", "seconds": cost,
         "note": f"predict {tm['predict_seconds']:.2f}s (cold) + baselines {tm['baseline_seconds']:.2f}s "
                 f"+ scoring {tm['score_seconds']:.2f}s; forecasts identical: {same}"},
        {"what": "ratio backtest / batched predict", "seconds": cost / t_pred, "note": "goal <= 1.5"},
    ]


# ----------------------------------------------------------------------------
def _forecast_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("forecast")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from forecaster.cli import main; main()"]


def bench_cli(size: dict) -> list[dict]:
    def wall(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - t0

    help_cmd = [*_forecast_cmd(), "--help"]
    bare = [sys.executable, "-c", "pass"]
    tf_import = [sys.executable, "-c", "import tensorflow"]
    wall(help_cmd)  # warm the file cache
    runs = size["help_runs"]
    t_help = statistics.median(wall(help_cmd) for _ in range(runs))
    t_bare = statistics.median(wall(bare) for _ in range(runs))
    t_tf = statistics.median(wall(tf_import) for _ in range(max(2, runs // 2)))
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys; sys.argv=['forecast','--help']\nfrom forecaster.cli import main\n"
         "try: main()\nexcept SystemExit: pass\nprint('TF_LOADED' if 'tensorflow' in sys.modules else 'TF_ABSENT')"],
        capture_output=True, text=True, check=False,
    )
    loaded = "TF_LOADED" in probe.stdout
    return [
        {"what": "forecast --help", "seconds": t_help, "note": f"median of {runs}; tensorflow imported: {loaded}"},
        {"what": "python -c pass", "seconds": t_bare, "note": "interpreter start-up"},
        {"what": "python -c 'import tensorflow'", "seconds": t_tf, "note": "what --help avoids"},
    ]


def _child_cli_fit(csv: str, lookback: str, steps: str, units: str, runs_dir: str) -> dict:
    cmd = [*_forecast_cmd(), "--runs-dir", runs_dir, "fit", csv, "--lookback", lookback, "--epochs", "1",
           "--steps-per-epoch", steps, "--units", units, "--batch-size", "256"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    # ru_maxrss of the children: the forecast process is this process's only child.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"peak": peak, "wall": wall, "cmd": " ".join(cmd[len(_forecast_cmd()) - 1 :])}


def bench_cli_fit(size: dict, workdir: Path) -> list[dict]:
    n, lookback = size["cli_rows"], size["cli_lookback"]
    csv = workdir / "big.csv"
    _write_csv(csv, n, seed=1)
    res = _run_child("cli_fit", str(csv), str(lookback), str(size["cli_steps"]), str(size["cli_units"]),
                     str(workdir / "runs"))
    windows = n - lookback
    mat = windows * lookback * 4
    return [
        {"what": f"forecast fit, {n:,} rows, lookback {lookback} (peak RSS)", "bytes": res["peak"],
         "note": f"{res['wall']:.0f}s wall; CSV {csv.stat().st_size / MB:,.0f} MB"},
        {"what": "materialised float32 windows alone (computed)", "bytes": mat, "note": "not allocated"},
    ]


# ----------------------------------------------------------------------------
FIT_POINTS = 200


def monthly_co2(points: int = FIT_POINTS):
    """The last ``points`` monthly means of the bundled weekly CO2 series (a real seasonal monthly series)."""
    import pandas as pd

    weekly = pd.read_csv(ROOT / "data" / "co2.csv", parse_dates=[0], index_col=0).iloc[:, 0]
    monthly = weekly.resample("MS").mean().dropna()
    return monthly.iloc[-points:].rename("co2").rename_axis("date")


def bench_fit(size: dict, workdir: Path) -> list[dict]:
    from forecaster.artifacts import MANIFEST_FILE

    csv = workdir / "co2_monthly.csv"
    monthly_co2().to_csv(csv)
    rows = []
    # The backend a CPU-only fit picks by itself (JAX when installed, see forecaster.runtime.training_backend),
    # then TensorFlow forced, the backend of GPUs; KERAS_BACKEND from the calling shell is not passed on.
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    variants = [("defaults", [], {}), ("--ensemble 1", ["--ensemble", "1"], {}),
                ("defaults, KERAS_BACKEND=tensorflow", [], {"KERAS_BACKEND": "tensorflow"})]
    for label, extra, env_extra in variants:
        walls, trains = [], []
        for i in range(size["fit_runs"]):
            runs_dir = workdir / f"fit-runs-{len(rows)}-{i}"
            cmd = [*_forecast_cmd(), "--runs-dir", str(runs_dir), "fit", str(csv), *extra, *size["fit_args"]]
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**env, **env_extra})
            walls.append(time.perf_counter() - t0)
            if out.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
            manifest = next(runs_dir.rglob(MANIFEST_FILE))
            trains.append(float(json.loads(manifest.read_text())["metrics"]["fit_seconds"]))
            device = next((line.split(":", 1)[1].strip() for line in out.stderr.splitlines()
                           if line.startswith("Device:")), "device not printed")
        rows.append({"what": f"forecast fit, {FIT_POINTS}-point monthly CO2, {label}", "seconds": statistics.median(walls),
                     "note": f"median of {len(walls)} fresh processes ({', '.join(f'{w:.1f}' for w in walls)} s); "
                             f"training {statistics.median(trains):.1f} s; {device}"})
    return rows


# ----------------------------------------------------------------------------
def _fmt_bytes(b: float) -> str:
    return f"{b / MB:,.0f} MB" if b < 10 * 1024 * MB else f"{b / (1024 * MB):,.1f} GB"


def print_report(report: dict) -> None:
    m = report["machine"]
    print(f"# forecaster benchmark ({report['mode']} mode)")
    print(f"machine: {m['cpus']} CPUs, {m['cpu_model']}; python {m['python']}, numpy {m['numpy']}, "
          f"keras {m['keras']} ({m['backend']} backend" + (f" {m['tensorflow']}" if "tensorflow" in m else "")
          + f"), GPUs: {m.get('gpus', '?')}")
    if "train" in report:
        s = report["sizes"]
        print(f"\n## Training throughput (windows/s after warm-up; units {s['units']}, lookback {s['lookback']}, "
              f"batch {s['batch']}, {s['steps']} steps x {s['reps']} alternating reps, median)")
        print(f"{'model':<12} {'forecaster':>11} {'plain keras':>12} {'ratio':>6}   {'data path':>10} {'ratio':>6}"
              f"   {'PyDataset':>10} {'ratio':>6}   {'--jit-compile':>13} {'ratio':>6}")
        for r in report["train"]:
            print(f"{r['model']:<12} {r['forecaster_wps']:>11,.0f} {r['plain_keras_wps']:>12,.0f} {r['ratio']:>6.2f}"
                  f"   {r['data_path_wps']:>10,.0f} {r['data_path_ratio']:>6.2f}"
                  f"   {r['pydataset_wps']:>10,.0f} {r['pydataset_ratio']:>6.2f}"
                  f"   {r['jit_wps']:>13,.0f} {r['jit_ratio']:>6.2f}")
        spe = report["train"][0]["steps_per_execution"] if report["train"] else "?"
        print(f"forecaster = what Forecaster.fit runs: forecaster.training.pipeline.training_data (tf.data on TensorFlow) "
              f"into the model compiled as Forecaster.fit does (steps_per_execution={spe}); plain keras = model.fit on "
              "materialised NumPy windows, compiled the tutorial way (one batch per call); data path = "
              "training_data into the tutorial-compiled model; PyDataset = forecaster.training.pipeline.WindowBatches "
              "into the tutorial-compiled model; --jit-compile = forecaster with XLA compilation")
    tables = (  # section, heading, the column each row carries
        ("memory", "Memory: preparing a series for training", "bytes"),
        ("predict", "Predict and backtest (seconds)", "seconds"),
        ("cli", "CLI start-up (seconds)", "seconds"),
        ("cli_fit", "CLI fit memory", "bytes"),
        ("fit", "A default fit (seconds, wall clock)", "seconds"),
    )
    for section, heading, column in tables:
        if section not in report:
            continue
        print(f"\n## {heading}")
        for r in report[section]:
            value = f"{_fmt_bytes(r['bytes']):>10}" if column == "bytes" else f"{r['seconds']:>8.2f}"
            print(f"{r['what']:<52} {value}  {r['note']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that every section runs")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--_child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        kind, *rest = args._child
        if kind == "memory":
            res = _child_memory(rest[0], int(rest[1]), int(rest[2]))
        else:
            res = _child_cli_fit(*rest)
        print(json.dumps(res))
        return 0
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    report: dict = {"mode": mode, "sizes": size, "machine": machine()}
    workdir = Path(tempfile.mkdtemp(prefix="forecaster-bench-"))
    try:
        if "train" in only:
            report["train"] = bench_train(size)
        if "memory" in only:
            report["memory"] = bench_memory(size)
        if "predict" in only:
            report["predict"] = bench_predict(size, workdir)
        if "cli" in only:
            report["cli"] = bench_cli(size)
        if "cli_fit" in only:
            report["cli_fit"] = bench_cli_fit(size, workdir)
        if "fit" in only:
            report["fit"] = bench_fit(size, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
