"""The ``forecast`` command line.

A thin layer over the library: options generated from the config build a
:class:`ForecastConfig` (:mod:`forecaster.cli.options`), commands call
:mod:`forecaster.data`, :class:`Forecaster`, :mod:`forecaster.evaluation` and
:class:`forecaster.store.RunStore`. Keras and TensorFlow are imported inside
command bodies only, so ``forecast --help`` is instant.

Modules: ``options`` (generated options, config layering), ``common`` (shared
command plumbing), ``fit``, ``runs`` (predict, plot, info), ``backtest``,
``config`` (``forecast config show``).

Every error a user can cause ends here as one line on stderr and a non-zero
exit (1 for bad data, models or config files; 2 for bad usage); ``-v/--verbose``
adds the traceback. Library messages name arguments in backticks
(```time_col```); the line names the command's flag beside it
(```time_col`` (--time-col)`).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import traceback
from pathlib import Path

import click

from forecaster.cli.common import CONTEXT_SETTINGS, ForecastCommand
from forecaster.exceptions import ForecasterError

_ARGUMENT = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def with_flags(message: str, flags: dict[str, str]) -> str:
    """Name the flag beside each backticked argument the command has a flag for.

    A flag the message already mentions is not repeated.

    >>> with_flags("`time_col` is not a column.", {"time_col": "--time-col"})
    '`time_col` (--time-col) is not a column.'
    >>> with_flags("`train_size` needs --window fixed; drop --train-size.", {"train_size": "--train-size"})
    '`train_size` needs --window fixed; drop --train-size.'
    """

    def name_flag(match: re.Match) -> str:
        flag = flags.get(match.group(1))
        if flag is None or re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", message):
            return match.group(0)
        return f"{match.group(0)} ({flag})"

    return _ARGUMENT.sub(name_flag, message)


class _ForecastGroup(click.Group):
    """Click group with the project's error policy applied in one place."""

    command_class = ForecastCommand

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ForecasterError as exc:
            obj = ctx.obj or {}
            if obj.get("verbose"):
                traceback.print_exc()
            message = " ".join(str(exc).split("\n"))  # one line, whatever the library wrote
            click.echo(f"Error: {with_flags(message, obj.get('flags', {}))}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was saved.", err=True)
            ctx.exit(130)
        except PermissionError as exc:
            # A folder of another user (e.g. a root-owned Docker mount) met after the early check.
            from forecaster.cli.common import permission_message

            if (ctx.obj or {}).get("verbose"):
                traceback.print_exc()
            click.echo(f"Error: {permission_message(exc.filename or ctx.obj.get('runs_dir', 'runs'))}", err=True)
            ctx.exit(1)

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


@click.group(cls=_ForecastGroup, context_settings=CONTEXT_SETTINGS)
@click.option("-v", "--verbose", is_flag=True, help="Show debug logs and tracebacks.")
@click.option(
    "--runs-dir", default="runs", show_default=True, envvar="FORECAST_RUNS_DIR",
    type=click.Path(), help="Where runs are saved (env FORECAST_RUNS_DIR).",
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
    forecast config show --config cfg.toml      the effective config as TOML
    forecast tune data/prices.csv --trials 20   hyperparameter search (Optuna)
    """
    ctx.obj = {"verbose": verbose, "runs_dir": Path(runs_dir)}
    _setup_logging(verbose)


def _register() -> None:
    from forecaster.cli import backtest, config, fit, runs, tune

    for command in (fit.fit, runs.predict, backtest.backtest, backtest.compare, runs.plot, runs.info, config.config,
                    tune.tune):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="forecast")
