"""``forecast backtest``: rolling-origin evaluation of a model beside the baselines, and its figures."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from forecaster.cli.common import ForecastCommand, import_backend, is_panel, load_series, run_name_part, store
from forecaster.cli.options import build_config, config_options, typed
from forecaster.cli.runs import FORMATS

#: Backtest option parameter -> BacktestConfig field (the [backtest] table and --set backtest.KEY use the field).
_BACKTEST_PARAMS = {"folds": "folds", "start": "start", "origin_stride": "origin_stride", "refit": "refit",
                    "window": "window", "train_size": "train_size", "gap": "gap", "calibration": "calibration",
                    "refit_warm": "refit_warm"}


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


def _parse_start(ctx, param, text: str | None):
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


_BACKTEST_OPTIONS = [
    click.option("--folds", type=click.IntRange(min=1), default=None,
              help="Split the origins into K consecutive folds (default 5 when --start is not given)."),
    click.option("--start", callback=_parse_start,
              help="First cutoff: a row number, a fraction of the rows (0.8) or a date (default: the last 20%)."),
    click.option("--stride", "origin_stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Rows between forecast origins."),
    click.option("--refit", type=_RefitType(), default="always", show_default=True,
              help="Refit at every fold, never (one fit, one batched predict), or every N folds."),
    click.option("--refit-warm", "refit_warm", is_flag=True, default=False,
              help="Start each refit from the previous fit's weights (fresh optimizer, own scaler) instead of "
                   "a random initialisation: fewer epochs to early stopping. Default: cold refits."),
    click.option("--window", type=click.Choice(["expanding", "fixed"]), default="expanding", show_default=True,
              help="Training window: every row before the cutoff, or the last --train-size rows."),
    click.option("--train-size", type=click.IntRange(min=1), default=None,
              help="Rows per training window with --window fixed (default: the first fold's)."),
    click.option("--gap", type=click.IntRange(min=0), default=0, show_default=True,
              help="Rows left out between the end of training and the cutoff."),
    click.option("--calibration", type=click.Choice(["auto", "validation", "rolling", "adaptive"]), default="auto",
              show_default=True,
              help="With --interval: calibrate on each fold model's validation windows, or on those plus the errors "
              "of every earlier origin already observed at each cutoff (rolling); adaptive: rolling at a level "
              "that follows the misses observed so far (adaptive conformal inference); a panel's pool is the fit's "
              "pooled windows plus each series' own earlier origins; auto: adaptive."),
]


def backtest_options(func):
    """The rolling-origin options shared by ``backtest`` and ``compare`` (folds, start, stride, refit, window...)."""
    for option in reversed(_BACKTEST_OPTIONS):
        func = option(func)
    return func


@click.command(cls=ForecastCommand, error_names={"stride": "origin_stride"})
@click.argument("data", type=click.Path(dir_okay=True))
@config_options(renames={"window_stride": "--train-stride"})
@backtest_options
@click.option("--name", help="Directory name under runs/ (default: backtest-<csv>-<cell>-<timestamp>).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Print the results for programs on stdout: json (overall and per-step metrics, verdict, the "
              "saved directory) or csv (the metric table); the report for people then goes to stderr.")
@click.pass_context
def backtest(ctx: click.Context, data: str, name: str | None, fmt: str | None = None, **params) -> None:
    """Rolling-origin backtest of a model on DATA, beside naive, seasonal naive, drift and window-mean forecasts.

    \b
    Every refit trains a brand-new model (fresh optimizer, scaler fitted on
    the rows before the fold's cutoff only). Metrics, overall and per step:
      MAE, RMSE                 units of the series
      MAPE  = 100 mean(|e|/|y|)  percent; points with y ~ 0 left out
      sMAPE = 100 mean(2|e|/(|y|+|yhat|))  percent, 0..200
      MASE  = mean(|e| / s), s = in-sample seasonal-naive MAE of the
              training rows of each fold's model (< 1: better than it)
    Settings: defaults < --config FILE (its [backtest] table too) < --set < flags typed.
    Writes runs/backtest-.../ with metrics.json, forecasts.csv, folds.csv and PNGs.
    """
    from forecaster.evaluation.splits import BacktestConfig, fold_table, format_fold_table, plan_backtest

    echo = functools.partial(click.echo, err=fmt is not None)  # stdout is for the machine output then

    config, bt_settings = build_config(ctx, params, backtest_keys=tuple(_BACKTEST_PARAMS.values()))
    bt_settings.update({field: params[param] for param, field in _BACKTEST_PARAMS.items() if typed(ctx, param)})
    if config.window.season is not None:
        # One season for the model's seasonal baseline and the backtest's seasonal naive, window mean and MASE.
        bt_settings["season"] = config.window.season
    bt_config = BacktestConfig(**bt_settings)
    runs = store(ctx, write=True)
    if name is not None:
        runs.path(name)  # a bad --name fails before the data is read
    config, series = load_series(data, config)
    if is_panel(series):
        runs.preflight()  # a runs location that cannot take the results fails before any fold is fitted
        _backtest_panel(ctx, data, name, config, series, bt_config, fmt)
        return
    plan = plan_backtest(series, config, bt_config)
    runs.preflight()  # after the plan's checks (which create nothing), before any fold is fitted
    echo(
        f"Backtest plan: {len(plan.folds)} folds, {plan.n_origins} origins (stride {bt_config.origin_stride}), "
        f"{plan.n_fits} fit(s) (refit {bt_config.describe_refit()}, {bt_config.window} window, gap {bt_config.gap}); "
        f"season {plan.season}" + (f" (from frequency {series.freq!r}; --season overrides)" if plan.season_inferred else "")
        + (f"; lookback {plan.fc_config.window.lookback} (automatic, from the rows before the first cutoff)"
           if config.window.lookback is None else "")
    )
    echo(format_fold_table(fold_table(plan.folds, series.index, config.window.horizon)))

    import_backend(ctx, config)
    from forecaster.evaluation import run_backtest
    from forecaster.runtime import device_summary
    from forecaster.training.distribute import get_strategy

    # A multi-worker strategy must exist before TensorFlow runs its first operation.
    get_strategy(config.runtime.strategy)
    echo(f"Device: {device_summary()}", err=True)
    result = run_backtest(config, series, bt_config, verbose=2 if ctx.obj["verbose"] else 0)
    echo("")
    echo(result.describe())
    echo(result.format_table())
    note = result.mape_note()
    if note:
        echo(note, err=True)
    echo("")
    echo("MASE per horizon step, model vs baselines on the same origins (lower is better):")
    for line in result.format_verdict():
        echo(line)
    from forecaster.evaluation.report import interval_lines

    for line in interval_lines(result.scores):
        echo(line)
    figures = result.plot()
    out = result.save(runs.path(name or runs.new_name(data, run_name_part(config), prefix="backtest-")), figures=figures)
    t = result.timings
    echo(
        f"Time: {t['total_seconds']:.1f}s in all; {len(result.fits)} fit(s) {t['fit_seconds']:.1f}s, "
        f"batched predict {t['predict_seconds']:.2f}s, baselines {t['baseline_seconds']:.3f}s, scoring {t['score_seconds']:.2f}s"
    )
    echo(f"Saved {out}")
    if fmt is not None:
        click.echo(machine_output(result, fmt, out), nl=False)


@click.command(cls=ForecastCommand, error_names={"stride": "origin_stride", "families": "models"})
@click.argument("data", type=click.Path(dir_okay=True))
@click.option("--models", "families", required=True, metavar="A,B",
              help="Model families to compare, comma-separated (rnn, seq2seq, attention, transformer; "
                   "rnn_recursive or rnn-recursive: the rnn with --multistep recursive, beside which rnn is direct).")
@config_options(renames={"window_stride": "--train-stride"})
@backtest_options
@click.option("--name", help="Directory name under runs/ (default: compare-<csv>-<families>-<timestamp>).")
@click.pass_context
def compare(ctx: click.Context, data: str, families: str, name: str | None, **params) -> None:
    """Backtest several model families on DATA on the same folds and origins, beside the baselines.

    \b
    One table: MASE, sMAPE, RMSE of each family and each baseline, the
    Diebold-Mariano p-value (whole-horizon absolute error) of each family
    against the best baseline, parameters, fit and predict seconds. Every
    other option applies to every family, as in 'forecast backtest'.
    Writes runs/compare-.../ with compare.json, compare.csv, per_step.csv,
    forecasts.csv and error_by_step.png.
    """
    from forecaster.evaluation.compare import COMPARE_MODELS, family_configs, parse_families
    from forecaster.evaluation.splits import BacktestConfig, fold_table, format_fold_table, plan_backtest

    from forecaster.config import ForecastConfig

    names = parse_families(families)
    config, bt_settings = build_config(ctx, params, backtest_keys=tuple(_BACKTEST_PARAMS.values()),
                                       base=ForecastConfig(**COMPARE_MODELS[names[0]]))
    bt_settings.update({field: params[param] for param, field in _BACKTEST_PARAMS.items() if typed(ctx, param)})
    if config.window.season is not None:
        bt_settings["season"] = config.window.season
    bt_config = BacktestConfig(**bt_settings)
    family_configs(config, names)  # a family that refuses a setting fails before the data is read
    runs = store(ctx)
    if name is not None:
        runs.path(name)
    config, series = load_series(data, config)
    if is_panel(series):
        raise click.UsageError("forecast compare takes one series; backtest a panel with 'forecast backtest'.")
    plan = plan_backtest(series, config, bt_config)
    click.echo(
        f"Compare {', '.join(names)}: {len(plan.folds)} folds, {plan.n_origins} origins (stride "
        f"{bt_config.origin_stride}), {plan.n_fits} fit(s) per family (refit {bt_config.describe_refit()}); "
        f"season {plan.season}"
    )
    click.echo(format_fold_table(fold_table(plan.folds, series.index, config.window.horizon)))

    import_backend(ctx, config)
    from forecaster.evaluation.compare import compare_families
    from forecaster.evaluation.storage import runtime_versions
    from forecaster.runtime import device_summary

    click.echo(f"Device: {device_summary()}", err=True)

    def progress(family, result):
        t = result.timings
        click.echo(f"  {family}: MASE {result.metrics.loc['model', 'MASE']:.4f}, fit {t['fit_seconds']:.1f}s, "
                   f"predict {t['predict_seconds']:.2f}s", err=True)

    result = compare_families(config, series, names, bt_config, verbose=2 if ctx.obj["verbose"] else 0,
                              progress=progress)
    click.echo("")
    click.echo(result.describe())
    click.echo(result.format_table())
    versions = runtime_versions()
    backend = versions.get("backend", "")
    click.echo(f"Device: {result.device} (keras {versions.get('keras', '?')}, {backend} {versions.get(backend, '?')})")
    for family, status in result.cudnn.items():
        click.echo(f"  {family}: {status}")
    out = result.save(runs.path(name or runs.new_name(data, "-".join(names), prefix="compare-")))
    click.echo(f"Time: {result.seconds:.1f}s in all")
    click.echo(f"Saved {out}")


def _backtest_panel(ctx: click.Context, data: str, name: str | None, config, ts, bt_config, fmt: str | None = None) -> None:
    """A panel: one global model fitted before each series' first origin, every origin forecast in one pass."""
    echo = functools.partial(click.echo, err=fmt is not None)
    import_backend(ctx, config)
    from forecaster.evaluation import run_backtest
    from forecaster.runtime import device_summary

    echo(f"Device: {device_summary()}", err=True)
    result = run_backtest(config, ts, bt_config, verbose=2 if ctx.obj["verbose"] else 0)
    echo(result.describe())
    if result.skipped:
        shown = "; ".join(f"{k} ({v})" for k, v in list(result.skipped.items())[:5])
        echo(f"Skipped {len(result.skipped)} series: {shown}{' ...' if len(result.skipped) > 5 else ''}", err=True)
    echo("Mean over series (OWA relative to the seasonal naive forecast; lower is better):")
    echo(result.format_table())
    echo(result.verdict())
    for line in result.interval_lines():
        echo(line)
    out = result.save(store(ctx).path(name or store(ctx).new_name(data, run_name_part(config), prefix="backtest-")),
                      figures=result.plot())
    t = result.timings
    echo(f"Time: {t['total_seconds']:.1f}s in all; one fit {t['fit_seconds']:.1f}s, batched predict {t['predict_seconds']:.2f}s")
    echo(f"Saved {out} (per_series.csv: every series' scores)")
    if fmt is not None:
        click.echo(machine_output(result, fmt, out), nl=False)


def machine_output(result, fmt: str, saved: Path) -> str:
    """What ``backtest --format`` prints on stdout: the metric table as CSV, or the results as JSON."""
    import json

    from forecaster.output import records

    table = result.metrics.rename_axis("forecaster")
    if fmt == "csv":
        return table.to_csv()
    scores = getattr(result, "scores", {}) or {}
    doc = {
        "saved": str(saved),
        "describe": result.describe(),
        "metrics": records(table),
        "per_step": records(result.per_step) if hasattr(result, "per_step") and not callable(result.per_step) else None,
        "verdict": scores.get("verdict") if scores else result.verdict(),
        "mape_note": result.mape_note() if hasattr(result, "mape_note") else None,
        "intervals": _interval_summary(result),
    }
    return json.dumps(doc, indent=2, allow_nan=False, default=str) + "\n"


def _interval_summary(result) -> dict | None:
    """Per level: coverage, width, Winkler score and calibrated verdict of the model and the baseline interval.

    A panel's widths and Winkler scores are scale-free (over each series' MASE scale, see
    :mod:`forecaster.evaluation.panel`); one series' are in its units. None without ``--interval``.
    """
    import math

    if hasattr(result, "interval_summary"):
        return result.interval_summary() or None
    iv = (getattr(result, "scores", {}) or {}).get("intervals")
    if not iv:
        return None

    def clean(v):
        return None if isinstance(v, float) and not math.isfinite(v) else v

    out = {}
    for level, row in iv["levels"].items():
        entry = {}
        for name in ("model", "seasonal_naive"):
            if name in row:
                r = row[name]
                entry[name] = {k: clean(r[k]) for k in ("coverage", "width", "winkler", "verdict", "tolerance")}
                entry[name]["calibrated"] = r["verdict"] == "calibrated"
        if "winkler_ratio" in row:
            entry["winkler_ratio"] = clean(row["winkler_ratio"])
        out[level] = entry
    out["points"] = iv["points"]
    out["crps"] = {k: clean(v) for k, v in iv.get("crps", {}).items()}
    return out


def plot_backtest_dir(run: Path) -> None:
    """Redraw a saved backtest's figures into its directory (``forecast plot --backtest RUN``)."""
    from forecaster.evaluation import BacktestResult
    from forecaster.evaluation.panel import PanelBacktestResult
    from forecaster.plot import save_figure

    panel = (run / "per_series.csv").is_file() and not (run / "folds.csv").is_file()
    result = PanelBacktestResult.load(run) if panel else BacktestResult.load(run)
    figures = result.plot()
    if not figures:
        from forecaster.exceptions import ArtifactError

        raise ArtifactError(f"{run} holds no history to draw (saved by an earlier version); run 'forecast backtest' again.")
    for name, fig in figures.items():
        click.echo(f"Wrote {save_figure(fig, run / name)}")
