"""``forecast config show``: the effective config, as TOML that ``--config`` reads back."""

from __future__ import annotations

import click

from forecaster.cli.common import CONTEXT_SETTINGS, ForecastSubgroup
from forecaster.cli.options import build_config, config_options


@click.group(cls=ForecastSubgroup, context_settings=CONTEXT_SETTINGS)
def config() -> None:
    """Inspect configs: the file format of --config and the effective settings."""


@config.command()
@config_options()
@click.pass_context
def show(ctx: click.Context, **params) -> None:
    """Print the effective config as TOML: the defaults, then --config FILE, then --set, then flags typed.

    \b
    The output is a valid --config file:
      forecast config show --units 64 > cfg.toml
      forecast fit data/prices.csv --config cfg.toml
    A [backtest] table from the file or --set backtest.KEY=VALUE is printed after it.
    """
    from dataclasses import fields

    from forecaster.evaluation.splits import BacktestConfig
    from forecaster.config import _toml_value

    cfg, backtest = build_config(ctx, params, backtest_keys=tuple(f.name for f in fields(BacktestConfig)))
    text = cfg.to_toml()
    if backtest:
        BacktestConfig(**backtest)  # checked here, not first by the backtest it is meant for
        text += "[backtest]\n" + "".join(f"{key} = {_toml_value(value)}\n" for key, value in backtest.items())
    click.echo(text, nl=False)
