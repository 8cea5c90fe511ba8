"""Commands on a saved run: ``forecast predict``, ``forecast plot`` and ``forecast info``."""

from __future__ import annotations

from pathlib import Path

import click

from forecaster.artifacts import read_manifest
from forecaster.cli.common import (ForecastCommand, check_output, describe_calendar, describe_trading,
                                   format_time, load_for_run, store)
from forecaster.cli.options import split_commas

#: Output formats (forecaster.output.FORMATS; pandas is imported by the commands, not by --help).
FORMATS = ("csv", "json")
STDOUT = "-"

_MODEL_HELP = "Run directory (default: runs/latest)."
_DATA_HELP = "A newer CSV with the same columns (default: the training data)."
_SERIES_HELP = "A model of many series: the series ids to forecast, comma-separated (default: all)."


def _series_option(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str] | None:
    ids = split_commas(value)
    return list(ids) if ids else None


_FORMAT_HELP = "Output format: csv or json (default: from the --output name, else csv)."


@click.command(cls=ForecastCommand)
@click.option("--model", "model", type=click.Path(), help=_MODEL_HELP)
@click.option("--data", type=click.Path(), help=_DATA_HELP)
@click.option("--output", type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write (default: <run>/forecast.csv); - writes to stdout (messages go to stderr).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help=_FORMAT_HELP)
@click.option("--series", "series_ids", multiple=True, callback=_series_option, metavar="ID[,ID...]", help=_SERIES_HELP)
@click.pass_context
def predict(ctx: click.Context, model: str | None, data: str | None, output: str | None,
            series_ids: list[str] | None = None, fmt: str | None = None) -> None:
    """Forecast the next horizon after the end of the data (every series' of a panel model, in one batched pass).

    \b
    forecast predict                         table on screen, runs/<run>/forecast.csv
    forecast predict --output - > f.csv      CSV on stdout only
    forecast predict --format json --output -   JSON records on stdout
    Values are rounded to 6 significant digits of the largest forecast.
    """
    run = store(ctx).resolve(model)
    check_output(output)
    read_manifest(run)  # a damaged or tampered manifest fails before any model loads
    # Forecaster.load imports no Keras when the saved model runs on forecaster's NumPy graph, else Keras
    # on its NumPy backend, else the configured backend (forecaster.forecaster._load_for_prediction).
    from forecaster.forecaster import Forecaster

    from forecaster.output import format_of, render, rounded, write_text

    fc = Forecaster.load(run)
    fmt = format_of(output, fmt)
    to_stdout = output == STDOUT
    if fc.is_panel:
        _predict_panel(fc, run, data, output, series_ids, fmt)
        return
    if series_ids:
        raise click.UsageError("--series selects series of a model of many series; this model forecasts one.")
    series = load_for_run(fc, data)
    forecast = rounded(fc.predict(series)).rename_axis("time")
    out = output or run / f"forecast.{fmt}"
    where = write_text(render(forecast, fmt), out)
    click.echo(f"Forecast of {fc.target_!r} from {run.name} ({fc.config.window.horizon} steps after "
               f"{format_time(series.index[-1])}, {describe_calendar(fc)}):", err=to_stdout)
    if not to_stdout:
        click.echo(forecast.to_string())
    m = fc.metrics_
    if "best_baseline" in m and not m["beats_best_baseline"]:
        best = m["best_baseline"].replace("_", " ")
        served = f"; these are the {best} forecasts (--fallback baseline)" if fc.fallback_ else ""
        click.echo(
            f"Note: this model did not beat the {best} baseline on its validation windows "
            f"(MAE {m['val_mae']:.4g} vs {m[m['best_baseline'] + '_val_mae']:.4g}){served}.", err=True,
        )
    click.echo(f"Wrote {where}", err=to_stdout)


def _predict_panel(fc, run: Path, data: str | None, output: str | None, series_ids: list[str] | None,
                   fmt: str = "csv") -> None:
    """``forecast predict`` of a panel model: a long table ``id, timestamp, value``."""
    from forecaster.output import render, rounded, write_text

    fc.select_series(series_ids)  # an unknown id fails before any data is read
    # Without --data the stored last windows serve; the training CSV is not read again.
    forecast = rounded(fc.predict(load_for_run(fc, data) if data else None, series=series_ids))
    to_stdout = output == STDOUT
    out = output or run / f"forecast.{fmt}"
    where = write_text(render(forecast.set_index("id"), fmt), out)
    n = forecast["id"].nunique()
    click.echo(f"Forecast of {n} series from {run.name} ({fc.config.window.horizon} steps each):", err=to_stdout)
    if not to_stdout:
        click.echo(forecast.head(3 * fc.config.window.horizon).to_string(index=False))
        if len(forecast) > 3 * fc.config.window.horizon:
            click.echo(f"... {len(forecast)} rows in all")
    click.echo(f"Wrote {where}", err=to_stdout)


@click.command(cls=ForecastCommand)
@click.option("--model", "model", type=click.Path(), help=_MODEL_HELP)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Machine-readable output: json (the manifest) or csv (one key,value row per manifest entry, "
              "nested keys dotted). Default: the text for people.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_context
def info(ctx: click.Context, model: str | None, as_json: bool, fmt: str | None = None) -> None:
    """Describe a saved model: config, data range, metrics, versions."""
    import json

    from forecaster.artifacts import read_manifest

    run = store(ctx).resolve(model)
    man = read_manifest(run)
    if as_json or fmt == "json":
        click.echo(json.dumps(man, indent=2))
        return
    if fmt == "csv":
        import pandas as pd

        from forecaster.output import flatten

        rows = flatten(man)
        frame = pd.DataFrame({"key": list(rows), "value": [json.dumps(v) if isinstance(v, (list, dict)) else v
                                                           for v in rows.values()]})
        click.echo(frame.to_csv(index=False), nl=False)
        return
    from forecaster.config import ForecastConfig
    from forecaster.evaluation.report import choice_lines, validation_lines

    cfg = ForecastConfig.from_dict(man["config"], stored=True).to_flat()
    d, m, v = man["data"], man["metrics"], man["versions"]
    lines = [
        f"Run:        {run}",
        f"Created:    {man['created']}",
        f"Model:      {cfg['layers']} x {'bidirectional ' if cfg['bidirectional'] else ''}{cfg['cell']}, "
        f"{cfg['units']} units, dropout {cfg['dropout']}, lookback {cfg['lookback']} -> horizon {cfg['horizon']}",
        f"Target:     {man['target']}" + (f" (features: {', '.join(man['features'])})" if man["features"] else ""),
        f"Data:       {d['source']} ({d['rows']} rows, {format_time(d['start'])} .. {format_time(d['end'])}, "
        f"{describe_trading(man['frequency'], cfg.get('trading_calendar'))})"
        + (f"; holidays of {', '.join(cfg['holidays'])} as inputs" if cfg.get("holidays") else ""),
        f"Training:   {format_time(d['train_start'])} .. {format_time(d['train_end'])}; validation "
        f"{format_time(d['val_start'])} .. {format_time(d['val_end'])}",
        f"Scaling:    transform {cfg['transform']} (log: {', '.join(c for c, l in zip(man['scaler']['columns'], man['scaler']['log']) if l) or 'none'}), "
        f"normalization {cfg['normalization']}",
        f"Training:   {cfg['epochs']} max epochs, batch {cfg['batch_size']}, lr {cfg['learning_rate']}, "
        f"clipnorm {cfg['clipnorm']}, seed {man['seed']}",
        *[f"Metrics:    {line}" for line in validation_lines(m, man["target"], man.get("fallback"))],
        (f"            {m.get('epochs_run')} epochs (best {m.get('best_epoch')}"
         f"{': the untrained network, its base forecast, was kept' if m.get('kept_base') else ''}), {m.get('fit_seconds')}s"),
        *(["Choices:", *choice_lines(man["choices"])] if man.get("choices") else []),
        *_interval_lines(cfg, man, run),
        "Versions:   " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"Fingerprint: sha256 {d['fingerprint'][:16]}...",
    ]
    click.echo("\n".join(lines))


def _interval_lines(cfg: dict, man: dict, run: Path) -> list[str]:
    """``info`` lines on the quantile head and the conformal intervals of a run."""
    lines = []
    if cfg.get("output") == "quantiles":
        lines.append(f"Quantiles:  {', '.join(f'{q:g}' for q in man['io'].get('quantiles', []))} (pinball loss, monotone head)")
    if "intervals" in man:
        from forecaster.exceptions import ArtifactError
        from forecaster.intervals import Calibration

        try:
            cal = Calibration.from_dict(man["intervals"], int(cfg["horizon"]))
        except ArtifactError as exc:
            raise ArtifactError(f"{run}: {exc}") from None
        lines.append(f"Intervals:  {', '.join(f'{lv} %' for lv in cal.levels)}: {cal.describe()}")
    return lines


@click.command(cls=ForecastCommand)
@click.option("--model", "model", type=click.Path(), help=_MODEL_HELP)
@click.option("--data", type=click.Path(), help=_DATA_HELP)
@click.option("--output", type=click.Path(dir_okay=False), help="PNG to write (default: <run>/forecast.png).")
@click.option("--history", "n_history", type=click.IntRange(min=2), default=None,
              help="History points shown (default: 4 x lookback, at least 120).")
@click.option("--backtest", "backtest_dir", type=click.Path(), default=None,
              help="Redraw a backtest's overlay and error-by-step PNGs into its directory (made by 'forecast backtest').")
@click.option("--series", "series_ids", multiple=True, callback=_series_option, metavar="ID[,ID...]",
              help="A model of many series: the series to draw, one panel each (default: the first 4).")
@click.option("--title", default=None, help="Figure title (default: data, target, model and horizon in time units).")
@click.option("--ylabel", default=None, help="Y-axis label, e.g. with units: 'Close (USD)' (default: the target).")
@click.option("--attention", "attention", is_flag=True, default=False,
              help="A model fitted with --model attention: draw the attention weights of the last forecast "
              "as a heat map (default output: <run>/attention.png).")
@click.pass_context
def plot(ctx: click.Context, model: str | None, data: str | None, output: str | None, n_history: int | None,
         backtest_dir: str | None = None, series_ids: list[str] | None = None, title: str | None = None,
         ylabel: str | None = None, attention: bool = False) -> None:
    """Plot recent history and the forecast after it as a PNG (or a backtest's figures with --backtest)."""
    if backtest_dir is not None:
        if any(v is not None for v in (model, data, output, n_history, title, ylabel)) or attention:
            raise click.UsageError(
                "--backtest cannot be combined with --model, --data, --output, --history, --title, --ylabel "
                "or --attention."
            )
        from forecaster.cli.backtest import plot_backtest_dir

        plot_backtest_dir(Path(backtest_dir))
        return
    run = store(ctx).resolve(model)
    check_output(output)
    read_manifest(run)  # a damaged or tampered manifest fails before any model loads
    from forecaster.forecaster import Forecaster
    from forecaster.plot import describe_horizon, plot_forecast, save_figure

    fc = Forecaster.load(run)
    if attention:
        _plot_attention(fc, run, data, output)
        return
    if fc.is_panel:
        _plot_panel(fc, run, data, output, n_history, series_ids, title)
        return
    if series_ids:
        raise click.UsageError("--series selects series of a model of many series; this model forecasts one.")
    series = load_for_run(fc, data)
    forecast = fc.predict(series)
    n = n_history or max(4 * fc.config.window.lookback, 120)
    hist = series.frame[fc.target_].iloc[-n:]
    cfg = fc.config
    if title is None:
        title = (
            f"{Path(series.source or 'data').name}: {fc.target_} - {cfg.model.layers}x"
            f"{'bi-' if cfg.model.bidirectional else ''}{cfg.model.cell}, forecast of the next "
            f"{describe_horizon(cfg.window.horizon, fc.freq_, getattr(cfg.data, 'trading_calendar', None))} "
            f"after {format_time(series.index[-1])}"
        )
    fig = plot_forecast(hist, forecast, title=title, ylabel=ylabel or fc.target_)
    out = save_figure(fig, Path(output) if output else run / "forecast.png")
    click.echo(f"Wrote {out}")


def _plot_attention(fc, run: Path, data: str | None, output: str | None) -> None:
    """``forecast plot --attention``: the attention weights behind the next forecast, as a heat map."""
    from forecaster.config import model_label
    from forecaster.plot import plot_attention, save_figure

    series = None if data is None else load_for_run(fc, data)
    weights = fc.attention(series)
    cfg = fc.config
    title = f"{run.name}: {model_label(cfg.model)}, horizon {cfg.window.horizon} ({fc.freq_}) - attention weights"
    out = save_figure(plot_attention(weights, title=title), Path(output) if output else run / "attention.png")
    peak = weights.to_numpy().argmax(axis=1)
    click.echo(f"Wrote {out} (most-attended lookback step per forecast step: {', '.join(str(weights.columns[i]) for i in peak[:12])}"
               f"{' ...' if len(peak) > 12 else ''})")


def _plot_panel(fc, run: Path, data: str | None, output: str | None, n_history: int | None,
                series_ids: list[str] | None, title: str | None = None) -> None:
    """``forecast plot`` of a panel model: history and forecast of each chosen series, one axis each."""
    from forecaster.plot import plot_panel_forecasts, save_figure

    ids = fc.select_series(series_ids) if series_ids else fc.ids_[:4]
    ts = load_for_run(fc, data)
    members = {m.id: m for m in ts}
    missing = [i for i in ids if i not in members]
    if missing:
        raise click.ClickException(f"The data holds no series {', '.join(map(repr, missing))}.")
    forecast = fc.predict(ts, series=ids)
    n = n_history or max(4 * fc.config.window.lookback, 120)
    history = {i: members[i].frame[members[i].target].iloc[-n:] for i in ids}
    from forecaster.plot import describe_horizon

    fig = plot_panel_forecasts(history, forecast, title=title or f"{run.name}: forecast of the next "
                               f"{describe_horizon(fc.config.window.horizon, fc.freq_)}")
    out = save_figure(fig, Path(output) if output else run / "forecast.png")
    click.echo(f"Wrote {out}")
