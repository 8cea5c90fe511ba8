"""The ``forecast`` command line.

A thin layer over the library: options build a :class:`ForecastConfig`,
commands call :mod:`forecaster.data` and :class:`Forecaster`. Keras and
TensorFlow are imported inside command bodies only, so ``forecast --help``
is instant.

Every error a user can cause ends as one line on stderr and a non-zero exit
(1 for bad data or models, 2 for bad usage); ``-v/--verbose`` adds the
traceback.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import traceback
from pathlib import Path

import click

from forecaster.exceptions import ForecasterError

log = logging.getLogger("forecaster")

CELL_CHOICES = ["gru", "lstm", "simple_rnn", "rnn", "simplernn"]


class _ForecastGroup(click.Group):
    """Click group with the project's error policy applied in one place."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ForecasterError as exc:
            if (ctx.obj or {}).get("verbose"):
                traceback.print_exc()
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was saved.", err=True)
            ctx.exit(130)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        # SIGTERM (docker stop, kill) unwinds like Ctrl-C, so temporary run directories are removed.
        if hasattr(signal, "SIGTERM") and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("Interrupted; nothing was saved.", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _setup_logging(verbose: bool) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("forecaster")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


@click.group(cls=_ForecastGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", is_flag=True, help="Show debug logs and tracebacks.")
@click.option(
    "--runs-dir", default="runs", show_default=True, envvar="FORECAST_RUNS_DIR",
    type=click.Path(file_okay=False), help="Where runs are saved (env FORECAST_RUNS_DIR).",
)
@click.version_option(package_name="forecaster")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, runs_dir: str) -> None:
    """Forecast time series with recurrent networks (SimpleRNN, LSTM, GRU).

    \b
    forecast fit data/prices.csv --cell gru     train and save runs/<name>/
    forecast predict                            forecast the next horizon
    forecast backtest data/prices.csv --folds 5 rolling-origin test vs baselines
    forecast plot                               history + forecast as PNG
    forecast info                               what a saved model is
    """
    ctx.obj = {"verbose": verbose, "runs_dir": Path(runs_dir)}
    _setup_logging(verbose)


def _split_features(values: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return tuple(out)


def data_options(f):
    """Options shared by every command that reads a CSV."""
    for opt in reversed([
        click.option("--target", help="Column to forecast (default: the only numeric column; Adj Close/Close/Price for prices)."),
        click.option("--features", multiple=True, help="Extra input columns, comma-separated or repeated."),
        click.option("--time-col", help="Time column (default: detected from names such as Date, time, ds)."),
        click.option(
            "--missing", type=click.Choice(["ffill", "interpolate", "error"]), default="ffill", show_default=True,
            help="Missing values and gaps: carry forward (causal), interpolate, or refuse.",
        ),
        click.option(
            "--na-values", multiple=True, callback=lambda ctx, param, v: _split_features(v),
            help="Extra cell values meaning 'missing' (e.g. the sentinel -200), comma-separated or repeated.",
        ),
    ]):
        f = opt(f)
    return f


def model_options(stride_flag: str = "--stride"):
    """Model and training options shared by ``fit`` and ``backtest`` (they build a ForecastConfig).

    ``stride_flag`` names the option for the step between training windows
    (``backtest`` uses ``--stride`` for the step between forecast origins).
    """
    options = [
        click.option("--cell", type=click.Choice(CELL_CHOICES, case_sensitive=False), default="gru", show_default=True),
        click.option("--layers", type=click.IntRange(min=1), default=1, show_default=True, help="Stacked recurrent layers."),
        click.option("--units", type=click.IntRange(min=1), default=32, show_default=True),
        click.option("--bidirectional/--no-bidirectional", default=False, show_default=True),
        click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True),
        click.option(
            "--recurrent-dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
            help="Leaves the fused cuDNN path on GPUs (a warning says so).",
        ),
        click.option("--lookback", type=click.IntRange(min=1), default=60, show_default=True, help="Input steps per window."),
        click.option("--horizon", type=click.IntRange(min=1), default=5, show_default=True, help="Steps forecast at once."),
        click.option(stride_flag, "window_stride", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Step between training windows."),
        click.option("--val-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.15, show_default=True),
        click.option("--transform", type=click.Choice(["auto", "none", "log"]), default="auto", show_default=True,
                     help="auto: log for positive price columns, none otherwise."),
        click.option("--normalization", type=click.Choice(["window", "global"]), default="window", show_default=True,
                     help="window: relative to each window's last value (trending series); global: z-score."),
        click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True),
        click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True),
        click.option("--learning-rate", type=click.FloatRange(0, min_open=True), default=1e-3, show_default=True),
        click.option("--clipnorm", type=click.FloatRange(0), default=1.0, show_default=True, help="Gradient clipping norm; 0 disables."),
        click.option("--patience", type=click.IntRange(min=1), default=5, show_default=True, help="Early-stopping patience (epochs)."),
        click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True),
        click.option("--steps-per-epoch", type=click.IntRange(min=1), default=None, help="Cap batches per epoch (huge series)."),
        click.option(
            "--mixed-precision", type=click.Choice(["off", "float16", "bfloat16"]), default="off", show_default=True,
            help="Compute in float16 (NVIDIA GPUs, loss scaling automatic) or bfloat16; weights and output stay float32.",
        ),
        click.option(
            "--jit-compile/--no-jit-compile", default=None, callback=lambda ctx, param, v: "auto" if v is None else v,
            help="XLA-compile the training step (default: Keras' 'auto'). --jit-compile turns TensorFlow's op determinism off.",
        ),
    ]

    def decorate(f):
        for opt in reversed(options):
            f = opt(f)
        return f

    return decorate


@cli.command()
@click.argument("data", type=click.Path(dir_okay=True))
@data_options
@model_options()
@click.option("--name", help="Run directory name (default: <csv>-<cell>-<timestamp>).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted fit of the same data and config from its last completed epoch.")
@click.option(
    "--strategy", type=click.Choice(["default", "mirrored", "multiworker"]), default="default", show_default=True,
    help="tf.distribute: mirrored = all local GPUs, multiworker = the cluster in TF_CONFIG. "
    "--batch-size is per replica (global batch = batch size x replicas).",
)
@click.pass_context
def fit(ctx: click.Context, data: str, target, features, time_col, missing, name, resume, **model_opts) -> None:
    """Train a model on DATA (a CSV with a time column) and save it under runs/."""
    from forecaster.artifacts import checkpoint_dir, claim_checkpoint, release_checkpoint, run_name, update_latest

    config = _model_config(target, features, time_col, missing, model_opts)
    config, series = _load_series(data, config)

    _import_backend(ctx)
    from forecaster.distribute import get_strategy
    from forecaster.forecaster import Forecaster
    from forecaster.models import cudnn_status
    from forecaster.runtime import backend_name, device_summary, on_gpu

    # A multi-worker strategy must exist before TensorFlow runs its first operation.
    get_strategy(config.runtime.strategy)
    click.echo(f"Device: {device_summary()}", err=True)
    click.echo(cudnn_status(config, on_gpu=on_gpu(), backend=backend_name()), err=True)
    click.echo(
        f"Model: {config.model.layers} x {'bidirectional ' if config.model.bidirectional else ''}{config.model.cell} "
        f"({config.model.units} units), lookback {config.window.lookback} -> horizon {config.window.horizon}", err=True,
    )
    verbose = 1 if sys.stdout.isatty() else 2
    runs_dir: Path = ctx.obj["runs_dir"]
    ckpt, lock = claim_checkpoint(checkpoint_dir(runs_dir, config, series.fingerprint, name))
    if ckpt.exists() and not resume:
        log.info("discarding the checkpoint of an earlier interrupted fit (pass --resume to continue it)")
        shutil.rmtree(ckpt)
    elif ckpt.exists():
        log.info("resuming from %s", ckpt)
    elif resume:
        log.info("no interrupted fit of this data and config to resume; starting afresh")
    try:
        fc = Forecaster(config).fit(series, verbose=verbose, checkpoint_dir=ckpt)
    except KeyboardInterrupt:
        release_checkpoint(ckpt, lock, remove=False)
        log.warning("Interrupted; run the same command with --resume to continue from the last completed epoch.")
        raise
    except BaseException:
        release_checkpoint(ckpt, lock, remove=True)
        raise
    try:
        run = fc.save(runs_dir / (name or run_name(data, config.model.cell)))
    finally:
        release_checkpoint(ckpt, lock, remove=True)
    update_latest(runs_dir, run)
    m = fc.metrics_
    ratio = m["val_mae"] / m["naive_val_mae"] if m["naive_val_mae"] else float("nan")
    click.echo(f"Saved {run}")
    click.echo(
        f"Validation ({m['val_windows']} windows, {series.target}): MAE {m['val_mae']:.4g} vs naive {m['naive_val_mae']:.4g} "
        f"(ratio {ratio:.3f}; < 1 beats naive), RMSE {m['val_rmse']:.4g} vs {m['naive_val_rmse']:.4g}; "
        f"{m['epochs_run']} epochs (best {m['best_epoch']}) in {m['fit_seconds']:.1f}s"
    )


def _model_config(target, features, time_col, missing, model_opts: dict):
    """The ForecastConfig that `fit` and `backtest` build from their shared options."""
    from forecaster.config import ForecastConfig

    return ForecastConfig(
        target=target, features=_split_features(features), time_col=time_col, missing=missing, **model_opts,
    )


def _load_series(data: str, config):
    """Load DATA with the config's data options; return the config with the resolved target, and the series."""
    from forecaster import data as data_mod

    series = data_mod.load(
        data, target=config.data.target, features=config.data.features, time_col=config.data.time_col,
        missing=config.data.missing, na_values=config.data.na_values,
    )
    _describe_series(series)
    return config.replace(target=series.target), series


def _import_backend(ctx: click.Context) -> None:
    from forecaster.runtime import import_backend

    import_backend(quiet=not ctx.obj["verbose"])


def _describe_series(series) -> None:
    feats = f" + features {', '.join(series.features)}" if series.features else ""
    click.echo(
        f"Data: {series.source} - target {series.target!r}{feats}, {len(series)} rows, "
        f"{series.index[0]} .. {series.index[-1]}, frequency {series.freq}", err=True,
    )


def _load_for_run(fc, data: str | None):
    """Load the CSV a run was fitted on (or a newer one) with the run's own options."""
    from forecaster import data as data_mod

    path = data or fc.data_["source"]
    if path is None or (data is None and not Path(path).exists()):
        raise ForecasterError(
            f"The training data {path} is no longer there. Pass --data with a CSV of the same columns."
        )
    cfg = fc.config
    series = data_mod.load(
        path, target=fc.target_, features=fc.features_, time_col=cfg.data.time_col, missing=cfg.data.missing,
        na_values=cfg.data.na_values,
    )
    if data is None and series.fingerprint != fc.data_["fingerprint"]:
        log.info("note: %s changed since the model was fitted; forecasting from its current end", path)
    return series


@cli.command()
@click.option("--model", "model", type=click.Path(), help="Run directory (default: runs/latest).")
@click.option("--data", type=click.Path(), help="A newer CSV with the same columns (default: the training data).")
@click.option("--output", type=click.Path(dir_okay=False), help="CSV to write (default: <run>/forecast.csv).")
@click.pass_context
def predict(ctx: click.Context, model: str | None, data: str | None, output: str | None) -> None:
    """Forecast the next horizon after the end of the data."""
    from forecaster.artifacts import resolve_run

    run = resolve_run(model, ctx.obj["runs_dir"])
    _import_backend(ctx)
    from forecaster.forecaster import Forecaster

    fc = Forecaster.load(run)
    series = _load_for_run(fc, data)
    forecast = fc.predict(series)
    out = Path(output) if output else run / "forecast.csv"
    _atomic_csv(forecast.rename_axis("time"), out)
    click.echo(f"Forecast of {fc.target_!r} from {run.name} ({fc.config.window.horizon} steps after {series.index[-1]}):")
    click.echo(forecast.to_string())
    click.echo(f"Wrote {out}")


def _atomic_csv(frame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        frame.to_csv(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@cli.command()
@click.option("--model", "model", type=click.Path(), help="Run directory (default: runs/latest).")
@click.option("--json", "as_json", is_flag=True, help="Print the raw manifest.")
@click.pass_context
def info(ctx: click.Context, model: str | None, as_json: bool) -> None:
    """Describe a saved model: config, data range, metrics, versions."""
    import json

    from forecaster.artifacts import read_manifest, resolve_run

    run = resolve_run(model, ctx.obj["runs_dir"])
    man = read_manifest(run)
    if as_json:
        click.echo(json.dumps(man, indent=2))
        return
    from forecaster.config import ForecastConfig

    cfg = ForecastConfig.from_dict(man["config"]).to_flat()
    d, m, v = man["data"], man["metrics"], man["versions"]
    lines = [
        f"Run:        {run}",
        f"Created:    {man['created']}",
        f"Model:      {cfg['layers']} x {'bidirectional ' if cfg['bidirectional'] else ''}{cfg['cell']}, "
        f"{cfg['units']} units, dropout {cfg['dropout']}, lookback {cfg['lookback']} -> horizon {cfg['horizon']}",
        f"Target:     {man['target']}" + (f" (features: {', '.join(man['features'])})" if man["features"] else ""),
        f"Data:       {d['source']} ({d['rows']} rows, {d['start']} .. {d['end']}, frequency {man['frequency']})",
        f"Training:   {d['train_start']} .. {d['train_end']}; validation {d['val_start']} .. {d['val_end']}",
        f"Scaling:    transform {cfg['transform']} (log: {', '.join(c for c, l in zip(man['scaler']['columns'], man['scaler']['log']) if l) or 'none'}), "
        f"normalization {cfg['normalization']}",
        f"Training:   {cfg['epochs']} max epochs, batch {cfg['batch_size']}, lr {cfg['learning_rate']}, "
        f"clipnorm {cfg['clipnorm']}, seed {man['seed']}",
        f"Metrics:    val MAE {m.get('val_mae', float('nan')):.4g} vs naive {m.get('naive_val_mae', float('nan')):.4g}; "
        f"{m.get('epochs_run')} epochs (best {m.get('best_epoch')}), {m.get('fit_seconds')}s",
        "Versions:   " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"Fingerprint: sha256 {d['fingerprint'][:16]}...",
    ]
    click.echo("\n".join(lines))


@cli.command()
@click.option("--model", "model", type=click.Path(), help="Run directory (default: runs/latest).")
@click.option("--data", type=click.Path(), help="A newer CSV with the same columns (default: the training data).")
@click.option("--output", type=click.Path(dir_okay=False), help="PNG to write (default: <run>/forecast.png).")
@click.option("--history", "n_history", type=click.IntRange(min=2), default=None,
              help="History points shown (default: 4 x lookback, at least 120).")
@click.option("--backtest", "backtest_dir", type=click.Path(), default=None,
              help="Redraw a backtest's overlay and error-by-step PNGs into its directory (made by 'forecast backtest').")
@click.pass_context
def plot(ctx: click.Context, model: str | None, data: str | None, output: str | None, n_history: int | None,
         backtest_dir: str | None = None) -> None:
    """Plot recent history and the forecast after it as a PNG (or a backtest's figures with --backtest)."""
    from forecaster.artifacts import resolve_run

    if backtest_dir is not None:
        if model is not None or data is not None or output is not None or n_history is not None:
            raise click.UsageError("--backtest cannot be combined with --model, --data, --output or --history.")
        _plot_backtest_dir(Path(backtest_dir))
        return
    run = resolve_run(model, ctx.obj["runs_dir"])
    _import_backend(ctx)
    from forecaster.forecaster import Forecaster
    from forecaster.plot import plot_forecast, save_figure

    fc = Forecaster.load(run)
    series = _load_for_run(fc, data)
    forecast = fc.predict(series)
    n = n_history or max(4 * fc.config.window.lookback, 120)
    hist = series.frame[fc.target_].iloc[-n:]
    cfg = fc.config
    title = (
        f"{Path(series.source or 'data').name}: {fc.target_} - {cfg.model.layers}x{'bi-' if cfg.model.bidirectional else ''}"
        f"{cfg.model.cell}, horizon {cfg.window.horizon} ({fc.freq_})"
    )
    fig = plot_forecast(hist, forecast, title=title, ylabel=fc.target_)
    out = save_figure(fig, Path(output) if output else run / "forecast.png")
    click.echo(f"Wrote {out}")


class _RefitType(click.ParamType):
    """``always``, ``never`` or a positive integer N (refit every N folds)."""

    name = "always|never|N"

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        text = str(value).strip().lower()
        if text in ("always", "never"):
            return text
        if text.isdigit() and int(text) >= 1:
            return int(text)
        self.fail(f"must be 'always', 'never' or a positive integer N (refit every N folds). Received: {value!r}", param, ctx)


def _parse_start(text: str | None):
    """``--start``: a row number (``4000``), a fraction of the rows (``0.8``) or a date (``2017-01-01``)."""
    if text is None:
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    if 0.0 < value < 1.0:
        return value
    raise click.BadParameter(
        f"a row number, a fraction of the rows in (0, 1) or a date is expected. Received: {text!r}", param_hint="'--start'"
    )


@cli.command()
@click.argument("data", type=click.Path(dir_okay=True))
@data_options
@model_options(stride_flag="--train-stride")
@click.option("--folds", type=click.IntRange(min=1), default=None,
              help="Split the origins into K consecutive folds (default 5 when --start is not given).")
@click.option("--start", help="First cutoff: a row number, a fraction of the rows (0.8) or a date (default: the last 20%).")
@click.option("--stride", "origin_stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Rows between forecast origins.")
@click.option("--refit", type=_RefitType(), default="always", show_default=True,
              help="Refit at every fold, never (one fit, one batched predict), or every N folds.")
@click.option("--window", type=click.Choice(["expanding", "fixed"]), default="expanding", show_default=True,
              help="Training window: every row before the cutoff, or the last --train-size rows.")
@click.option("--train-size", type=click.IntRange(min=1), default=None,
              help="Rows per training window with --window fixed (default: the first fold's).")
@click.option("--gap", type=click.IntRange(min=0), default=0, show_default=True,
              help="Rows left out between the end of training and the cutoff.")
@click.option("--season", type=click.IntRange(min=1), default=None,
              help="Season length for seasonal naive, window mean and MASE (default: from the frequency, e.g. 24 for hourly).")
@click.option("--name", help="Directory name under runs/ (default: backtest-<csv>-<cell>-<timestamp>).")
@click.pass_context
def backtest(ctx: click.Context, data: str, target, features, time_col, missing, folds, start, origin_stride, refit,
             window, train_size, gap, season, name, **model_opts) -> None:
    """Rolling-origin backtest of a model on DATA, beside naive, seasonal naive, drift and window-mean forecasts.

    \b
    Every refit trains a brand-new model (fresh optimizer, scaler fitted on
    the rows before the fold's cutoff only). Metrics, overall and per step:
      MAE, RMSE                 units of the series
      MAPE  = 100 mean(|e|/|y|)  percent; points with y ~ 0 left out
      sMAPE = 100 mean(2|e|/(|y|+|yhat|))  percent, 0..200
      MASE  = mean(|e| / s), s = in-sample seasonal-naive MAE of the
              training rows of each fold's model (< 1: better than it)
    Writes runs/backtest-.../ with metrics.json, forecasts.csv, folds.csv and PNGs.
    """
    from forecaster.artifacts import run_name
    from forecaster.evaluation.splits import BacktestConfig, fold_table, format_fold_table, plan_backtest

    config = _model_config(target, features, time_col, missing, model_opts)
    bt_config = BacktestConfig(
        folds=folds, start=_parse_start(start), origin_stride=origin_stride, refit=refit, window=window,
        train_size=train_size, gap=gap, season=season,
    )
    config, series = _load_series(data, config)
    plan = plan_backtest(series, config, bt_config)
    click.echo(
        f"Backtest plan: {len(plan.folds)} folds, {plan.n_origins} origins (stride {bt_config.origin_stride}), "
        f"{plan.n_fits} fit(s) (refit {bt_config.describe_refit()}, {bt_config.window} window, gap {bt_config.gap}); "
        f"season {plan.season}" + (f" (from frequency {series.freq!r}; --season overrides)" if plan.season_inferred else "")
    )
    click.echo(format_fold_table(fold_table(plan.folds, series.index, config.window.horizon)))

    _import_backend(ctx)
    from forecaster.evaluation import run_backtest
    from forecaster.runtime import device_summary

    click.echo(f"Device: {device_summary()}", err=True)
    result = run_backtest(config, series, bt_config, verbose=2 if ctx.obj["verbose"] else 0)
    click.echo("")
    click.echo(result.describe())
    click.echo(result.format_table())
    click.echo("")
    click.echo("MASE per horizon step, model vs baselines on the same origins (lower is better):")
    for line in result.format_verdict():
        click.echo(line)
    figures = result.plot()
    runs_dir: Path = ctx.obj["runs_dir"]
    out = result.save(runs_dir / (name or f"backtest-{run_name(data, config.model.cell)}"), figures=figures)
    t = result.timings
    click.echo(
        f"Time: {t['total_seconds']:.1f}s in all; {len(result.fits)} fit(s) {t['fit_seconds']:.1f}s, "
        f"batched predict {t['predict_seconds']:.2f}s, baselines {t['baseline_seconds']:.3f}s, scoring {t['score_seconds']:.2f}s"
    )
    click.echo(f"Saved {out}")


def _plot_backtest_dir(run: Path) -> None:
    from forecaster.evaluation.report import BacktestResult
    from forecaster.plot import save_figure

    for name, fig in BacktestResult.load(run).plot().items():
        click.echo(f"Wrote {save_figure(fig, run / name)}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="forecast")


if __name__ == "__main__":  # pragma: no cover
    main()
