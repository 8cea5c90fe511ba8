"""``forecast fit``: train a model and save it as a run."""

from __future__ import annotations

import logging
import sys

import click

from forecaster.cli.common import (ForecastCommand, describe_calendar, fingerprint_of, import_backend, is_panel,
                                   load_series, preflight, run_name_part, store)
from forecaster.preflight import check_disk
from forecaster.cli.options import build_config, config_options

log = logging.getLogger("forecaster")


@click.command(cls=ForecastCommand)
@click.argument("data", type=click.Path(dir_okay=True))
@config_options()
@click.option("--name", help="Run directory name (default: <csv>-<cell>-<timestamp>).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted fit of the same data and config from its last completed epoch.")
@click.option("--tensorboard", "tensorboard", type=click.Path(file_okay=False), default=None,
              help="Write Keras TensorBoard logs (losses, learning rate, weight histograms per epoch) into DIR; "
              "view them with 'tensorboard --logdir DIR'.")
@click.pass_context
def fit(ctx: click.Context, data: str, name: str | None, resume: bool, tensorboard: str | None = None,
        **params) -> None:
    """Train a model on DATA (a CSV with a time column) and save it under runs/.

    \b
    DATA holds one series, or many: a long CSV with a series id column
    (unique_id / series_id / id / series, or --id-col), or several target
    columns of a wide CSV (--targets a,b,c). Many series train one global
    model, each series scaled on its own training rows.
    Settings come from the defaults, then --config FILE, then --set, then the flags typed.
    """
    config, _ = build_config(ctx, params)
    runs = store(ctx, write=True)
    if name is not None:
        runs.path(name)  # a bad --name fails before the data is read
    config, series = load_series(data, config)
    preflight(config, series)
    runs.preflight()  # a runs location that cannot take the run fails now, not after training
    check_disk(config, len(series.members[0].columns) if is_panel(series) else len(series.columns), runs.root)

    import_backend(ctx, config, tensorboard=tensorboard is not None)
    from forecaster.training.distribute import get_strategy
    from forecaster.forecaster import Forecaster
    from forecaster.models import cudnn_status
    from forecaster.runtime import backend_name, device_summary, on_gpu

    # A multi-worker strategy must exist before TensorFlow runs its first operation.
    get_strategy(config.runtime.strategy)
    click.echo(f"Device: {device_summary()}", err=True)
    if on_gpu():  # the fused-kernel note matters only where there is a GPU to run it
        click.echo(cudnn_status(config, on_gpu=True, backend=backend_name()), err=True)
    click.echo(
        f"Model: {_network(config)}, lookback {config.window.lookback or 'auto'} -> horizon {config.window.horizon}",
        err=True,
    )
    verbose = 1 if sys.stdout.isatty() else 2
    with runs.checkpoint(config, fingerprint_of(series), name=name, resume=resume) as ckpt:
        try:
            fc = Forecaster(config).fit(series, verbose=verbose, checkpoint_dir=ckpt, tensorboard=tensorboard)
        except KeyboardInterrupt:
            log.warning("Interrupted; run the same command with --resume to continue from the last completed epoch.")
            raise
        run = fc.save(runs.path(name or runs.new_name(data, run_name_part(config))))
    runs.set_latest(run)
    from forecaster.evaluation.report import choice_lines, validation_lines

    c = fc.config
    click.echo(f"Saved {run}")
    click.echo(
        f"Model: {_network(c)}"
        + (f" x {c.train.ensemble} members" if (c.train.ensemble or 1) > 1 else "")
        + f", lookback {c.window.lookback} -> horizon {c.window.horizon}, base {c.output.base}, "
        f"normalization {c.data.normalization}"
        + (f", calendar features {', '.join(fc.calendar_)}" if fc.calendar_ else "")
    )
    click.echo(f"Calendar: {describe_calendar(fc)}"
               + (f"; holidays of {', '.join(c.data.holidays)} as inputs" if c.data.holidays else ""))
    if fc.choices_:
        click.echo("Automatic choices (from the training rows):")
        for line in choice_lines(fc.choices_):
            click.echo(line)
    for line in validation_lines(fc.metrics_, series.target, fc.fallback_):
        click.echo(line)
    if fc.config.output.type == "quantiles":
        click.echo(f"Quantiles: {', '.join(f'{q:g}' for q in fc.io_.quantiles)} (monotone head, pinball loss)")
    if getattr(fc, "calibration_", None) is not None:
        click.echo(f"Intervals: {fc.calibration_.describe()}")
    m = fc.metrics_
    click.echo(f"{m['epochs_run']} epochs (best {m['best_epoch']}) in {m['fit_seconds']:.1f}s")
    if m.get("kept_base"):
        click.echo("No epoch beat the untrained network on the validation windows: it is kept, so the model serves "
                   "its base forecast (--no-keep-base serves the best trained epoch).")
    if tensorboard:
        click.echo(f"TensorBoard logs in {tensorboard} (tensorboard --logdir {tensorboard})")


def _network(config) -> str:
    """The network in the fit lines: ``1 x gru (32 units)`` for the direct rnn, else the family's label."""
    from forecaster.config import model_label

    m = config.model
    if m.type == "rnn" and m.multistep == "direct":
        return f"{m.layers} x {'bidirectional ' if m.bidirectional else ''}{m.cell} ({m.units} units)"
    return model_label(m)
