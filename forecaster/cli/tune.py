"""``forecast tune``: hyperparameter search scored on rolling-origin folds, then once on a held-back test region."""

from __future__ import annotations

import click

from forecaster.cli.common import ForecastCommand, import_backend, is_panel, load_series, store
from forecaster.cli.options import build_config, config_options


@click.command(cls=ForecastCommand)
@click.argument("data", type=click.Path(dir_okay=True))
@config_options()
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Trials to run now (a resumed search adds this many).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None,
              help="Seconds after which no new trial starts (the running one finishes).")
@click.option("--folds", "tune_folds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Rolling-origin folds of each trial's backtest (one fit per trial, before the test region).")
@click.option("--test-fraction", type=click.FloatRange(0.05, 0.5, max_open=True), default=0.2, show_default=True,
              help="Last share of the rows held back and scored once, at the end, with the best configuration.")
@click.option("--name", help="Directory name under runs/ (default: tune-<csv>-search-<timestamp>); "
              "the same name continues its search.")
@click.pass_context
def tune(ctx: click.Context, data: str, trials: int, timeout: float | None, tune_folds: int, test_fraction: float,
         name: str | None, **params) -> None:
    """Search cell, units, layers, lookback, dropout, learning rate and normalisation for DATA (Optuna, TPE).

    \b
    Each trial is scored by a rolling-origin backtest (MASE) on folds before a
    held-back test region; the best configuration is then fitted on every row
    before that region and scored on it once, beside the baselines.
    Writes runs/tune-.../: best.toml (for 'forecast fit --config'), trials.csv,
    tune.json and study.db (run again with the same --name to continue).
    The other settings (horizon, epochs, ...) come from the defaults,
    --config, --set and the flags typed, as for 'forecast fit'.
    """
    from forecaster.tune import BEST_FILE, _optuna

    _optuna()  # a missing package fails before any data is read
    config, _ = build_config(ctx, params)
    runs = store(ctx, write=True)
    config, series = load_series(data, config)
    if is_panel(series):
        raise click.UsageError("forecast tune searches settings for one series; pass a CSV of one series.")
    directory = runs.path(name or runs.new_name(data, "search", prefix="tune-"))
    resumed = (directory / "study.db").exists()
    import_backend(ctx, config)
    from forecaster.tune import tune as run_tune
    from forecaster.training import format_seconds

    click.echo(
        f"{'Continuing' if resumed else 'Starting'} a search of {trials} trial(s)"
        + (f" (at most {format_seconds(timeout)})" if timeout else "")
        + f" in {directory}: each trial a {tune_folds}-fold rolling-origin backtest before the last "
        f"{test_fraction:.0%} of the rows, which are scored once at the end.", err=True,
    )
    started = [None]

    def progress(info: dict) -> None:
        import time

        now = time.perf_counter()
        if started[0] is None:
            started[0] = now - (info.get("seconds") or 0)
        done, total = info["done"], info["total"]
        eta = ""
        if done and done < total:
            eta = f", ETA {format_seconds((now - started[0]) / done * (total - done))}"
            if timeout:
                eta += " (or the timeout)"
        value = "failed" if info["value"] is None else f"MASE {info['value']:.4f}"
        best = "" if info["best"] is None else f"; best {info['best']:.4f} (trial {info['best_number']})"
        shown = ", ".join(f"{k}={_short(v)}" for k, v in info["params"].items())
        click.echo(f"trial {info['number']} ({done}/{total}{eta}): {value}{best} - {shown}", err=True)

    result = run_tune(series, config, trials=trials, timeout=timeout, folds=tune_folds,
                      test_fraction=test_fraction, directory=directory, progress=progress)
    same = ", ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in result.best_baselines.items())
    click.echo(f"Best of {sum(t['state'] == 'COMPLETE' for t in result.trials)} trials: MASE {result.best_value:.4f} "
               f"on the folds before {result.test_start}" + (f" ({same} on the same origins)" if same else ""))
    click.echo("  " + ", ".join(f"{k}={_short(v)}" for k, v in result.best_params.items()))
    click.echo(f"Test region ({result.test['origins']} origins from {result.test_start}, never seen by a trial), "
               "the best configuration beside the baselines:")
    click.echo(result.test_table())
    click.echo(result.test["summary"])
    click.echo(f"Wrote {directory / BEST_FILE}; train it with: forecast fit {data} --config {directory / BEST_FILE}")


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
