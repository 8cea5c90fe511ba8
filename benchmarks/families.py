"""Training throughput of each model family: windows/s after warm-up, the same data path and budget for all.

    python benchmarks/families.py                       # rnn, rnn recursive, seq2seq, attention, transformer
    python benchmarks/families.py --quick               # tiny sizes: checks that everything runs
    python benchmarks/families.py --backend torch --steps 24   # the same on Keras' PyTorch backend (or jax)
    KERAS_BACKEND=jax python benchmarks/families.py --batch 256,4096
    python benchmarks/families.py --json runs/families.json

Every family trains as ``Forecaster.fit`` trains it: the model from
:func:`forecaster.training.new_model` (the training graph, with the
``teacher`` input, for seq2seq and attention; on TensorFlow the same
``steps_per_execution`` as a fit) fed by
:func:`forecaster.training.pipeline.training_data` over a random walk with
one known-future column, horizon 24 and lookback 96 by default. Each family
is fitted for one warm-up epoch (tracing, compilation), then for
``--steps`` batches; windows/s = timed batches x batch size / seconds,
from the first batch's end to the last's. On TensorFlow a batch callback
comes once per ``steps_per_execution`` batches (the largest divisor of
``--steps`` up to 16), so ``--steps`` must be more than one such group
(24, not 12) or windows/s is nan; JAX and PyTorch run one batch per call.
Nothing here asserts a timing; read the table (and say what else ran on the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FAMILIES = {
    "rnn": {"model": "rnn"},
    "rnn_recursive": {"model": "rnn", "multistep": "recursive"},
    "seq2seq": {"model": "seq2seq"},
    "attention": {"model": "attention"},
    "attention_dot": {"model": "attention", "attention": "dot"},
    "transformer": {"model": "transformer"},
}


def run(family: str, settings: dict, *, batch: int, steps: int, lookback: int, horizon: int) -> dict:
    import keras
    import numpy as np

    from forecaster.config import ForecastConfig
    from forecaster.models import IOSpec, uses_teacher
    from forecaster.scaling import SeriesScaler
    from forecaster.training import STEPS_PER_EXECUTION, new_model
    from forecaster.training.pipeline import scale_in_chunks, steps_per_execution_for, training_data, use_tf_data
    from forecaster.windowing import WindowView, valid_origins

    # base naive, as a fit resolves `auto` to per-step bases: the recursive rnn maps its predictions back through it.
    cfg = ForecastConfig(lookback=lookback, horizon=horizon, batch_size=batch, base="naive", **settings)
    n = steps * batch + lookback + horizon - 1
    rng = np.random.default_rng(0)
    values = np.stack([np.cumsum(rng.normal(size=n)) + 100.0, np.sin(np.arange(n) * 2 * np.pi / 24)], axis=1)
    scaler = SeriesScaler("none", "window").fit(values, columns=["y", "hour_sin"], linear=["hour_sin"])
    z = scale_in_chunks(scaler, values)
    view = WindowView(z, lookback, horizon, relative=True, n_future=1, base_steps=np.full(horizon, lookback - 1))
    origins = valid_origins(len(z), lookback, horizon)
    io = IOSpec(lookback=lookback, horizon=horizon, n_past=2, n_future=1)
    train, _, n_steps = training_data(view, origins, origins[:batch], batch, seed=0, teacher=uses_teacher(cfg))
    per_call = steps_per_execution_for(n_steps, STEPS_PER_EXECUTION) if use_tf_data() else 1
    t0 = time.perf_counter()
    model = new_model(cfg, io, steps_per_execution=per_call, graph="train" if uses_teacher(cfg) else "predict")
    build_s = time.perf_counter() - t0

    class Timer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch_i, logs=None):
            now = time.perf_counter()
            if not hasattr(self, "t0"):
                self.t0, self.b0 = now, batch_i
            self.t1, self.b1 = now, batch_i

    t0 = time.perf_counter()
    model.fit(train, epochs=1, steps_per_epoch=n_steps, verbose=0, shuffle=False)  # warm-up: tracing and compilation
    warm_s = time.perf_counter() - t0
    timer = Timer()
    model.fit(train, epochs=1, steps_per_epoch=n_steps, verbose=0, shuffle=False, callbacks=[timer])
    rate = (timer.b1 - timer.b0) * batch / (timer.t1 - timer.t0) if timer.b1 > timer.b0 else float("nan")
    # n_steps None: an epoch is the whole PyDataset (JAX, PyTorch).
    return {"family": family, **settings, "backend": keras.backend.backend(), "batch": batch,
            "steps": n_steps if n_steps is not None else len(train),
            "params": int(model.count_params()), "build_s": round(build_s, 2), "warmup_s": round(warm_s, 2),
            "windows_per_s": round(rate, 1)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated keys of FAMILIES")
    p.add_argument("--batch", default="256", help="batch sizes, comma-separated")
    p.add_argument("--steps", type=int, default=48, help="batches per timed epoch")
    p.add_argument("--lookback", type=int, default=96)
    p.add_argument("--horizon", type=int, default=24)
    p.add_argument("--quick", action="store_true", help="tiny sizes (lookback 16, horizon 4, 32 steps of batch 32)")
    p.add_argument("--json", help="also write the rows to this JSON file")
    p.add_argument("--backend", choices=("tensorflow", "jax", "torch"),
                   help="Keras backend (sets KERAS_BACKEND before Keras is imported; default: KERAS_BACKEND, else "
                        "tensorflow)")
    args = p.parse_args(argv)
    if args.backend:
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != args.backend:
            p.error(f"Keras is already imported with the {sys.modules['keras'].backend.backend()} backend")
        os.environ["KERAS_BACKEND"] = args.backend
    if args.quick:
        args.lookback, args.horizon, args.steps, args.batch = 16, 4, 32, "32"
    rows = []
    for batch in [int(b) for b in args.batch.split(",")]:
        for family in args.families.split(","):
            row = run(family, FAMILIES[family], batch=batch, steps=args.steps, lookback=args.lookback,
                      horizon=args.horizon)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}, {rows[0]['backend'] if rows else '?'} backend, "
          f"lookback {args.lookback}, horizon {args.horizon}")
    print(f"{'family':<15}{'batch':>7}{'params':>9}{'windows/s':>12}{'warm-up s':>11}")
    for r in rows:
        print(f"{r['family']:<15}{r['batch']:>7}{r['params']:>9}{r['windows_per_s']:>12.0f}{r['warmup_s']:>11.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
