"""Click options generated from the config, and the layering that turns them into a config.

Every option of the model config comes from :func:`forecaster.config.cli_fields`:
the flag (``--<flat-key>`` unless the field names another), the type (from the
default and the annotation), ``Choice`` from ``choices`` (plus ``aliases``),
``IntRange``/``FloatRange`` from ``min``/``max``, ``--x/--no-x`` for booleans,
the help text and the shown default. A default or a choice therefore lives in
``config.py`` only.

Layering, lowest first: the config's defaults < ``--config FILE`` < ``--set
section.key=value`` < flags the user typed. A flag left out does not override
the file: its click default only documents the config default and is never
applied (:func:`typed`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

from forecaster.exceptions import ConfigError

#: Parameter names of the layering options themselves.
CONFIG_PARAM = "config_file"
SET_PARAM = "assignments"
#: The hidden ``--no-calendar`` (the older spelling of ``--no-calendar-features``).
NO_CALENDAR_PARAM = "no_calendar_compat"
#: ``--set`` keys under this prefix configure ``forecast backtest`` (the ``[backtest]`` table of a file).
BACKTEST_PREFIX = "backtest."


def split_commas(values: tuple[str, ...] | None) -> tuple[str, ...]:
    """``("a,b", "c")`` -> ``("a", "b", "c")``: list options may be comma-separated, repeated, or both."""
    out: list[str] = []
    for v in values or ():
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return tuple(out)


def _split_callback(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    return split_commas(value)


def _kind(f: dataclasses.Field) -> str:
    """``choice``, ``multiple``, ``bool``, ``int``, ``float`` or ``str`` from metadata, default and annotation."""
    meta = f.metadata
    if meta.get("multiple"):
        return "multiple"
    if meta.get("choices"):
        return "choice"
    annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    kinds = {part.strip() for part in annotation.split("|")}
    for kind in ("bool", "int", "float"):
        if kind in kinds or type(f.default).__name__ == kind:
            return kind
    return "str"


class FiniteFloat(click.FloatRange):
    """A float option that refuses ``nan`` and ``inf`` (a usage error) as well as values out of range."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        rv = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(rv, param, ctx)


def _range(kind: str, meta: Any) -> click.ParamType:
    bounds = {k: meta[k] for k in ("min", "max", "min_open", "max_open") if k in meta}
    if kind == "int":
        if not bounds:
            return click.INT
        if bounds.get("max_open") and "max" in bounds:  # IntRange(max_open) exists, but an inclusive bound reads better
            bounds["max"], bounds["max_open"] = bounds["max"] - 1, False
        return click.IntRange(**bounds)
    return FiniteFloat(**bounds)


def flag_of(key: str, f: dataclasses.Field, renames: dict[str, str] | None = None) -> str:
    """The CLI flag of config field ``f`` (flat key ``key``): a rename, the field's ``flag``, or ``--<key>``."""
    return (renames or {}).get(key) or f.metadata.get("flag") or "--" + key.replace("_", "-")


def field_option(key: str, f: dataclasses.Field, flag: str) -> click.Option:
    """One click option for config field ``f``; its parameter name is the flat key."""
    meta = f.metadata
    kind = _kind(f)
    default = f.default
    kwargs: dict[str, Any] = {"help": meta.get("help")}
    if kind == "bool":
        decls = [f"{flag}/--no-{flag[2:]}", key]
        # A tri-state field (jit_compile: True, False or "auto") has no bool default; not typed keeps the config's.
        kwargs["default"] = default if isinstance(default, bool) else None
        kwargs["show_default"] = True if isinstance(default, bool) else str(default)
    else:
        # A renamed flag keeps its earlier spelling working (``--model-type`` beside ``--model``).
        decls = [flag, *(a for a in meta.get("flag_aliases") or () if flag == meta.get("flag")), key]
        kwargs["default"] = default
        kwargs["show_default"] = default not in (None, (), "")
        if default is None and kind == "int" and meta.get("min") == 0:
            kwargs["show_default"] = "automatic"  # lookback, ensemble: 0 on the command line
        if kind == "choice":
            kwargs["type"] = click.Choice([*meta["choices"], *(meta.get("aliases") or ())], case_sensitive=False)
        elif kind == "multiple":
            kwargs.update(multiple=True, callback=_split_callback, metavar=meta.get("metavar") or "A,B")
        elif kind in ("int", "float"):
            kwargs["type"] = _range(kind, meta)
        elif meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
    return click.Option(decls, **kwargs)


def config_options(renames: dict[str, str] | None = None) -> Callable:
    """``--config``, ``--set`` and one option per config field, for ``fit``, ``backtest`` and ``config show``.

    Args:
        renames: flat key -> flag, where a command spells a field's flag differently
            (``backtest`` uses ``--stride`` for origins, so the window stride is ``--train-stride``).
    """
    from forecaster.config import cli_fields

    options = [
        click.Option(
            ["--config", CONFIG_PARAM], type=click.Path(exists=True, dir_okay=False),
            help="TOML or JSON config file (see 'forecast config show'); flags you type override it.",
        ),
        click.Option(
            ["--set", SET_PARAM], multiple=True, metavar="SECTION.KEY=VALUE",
            help="Override one config key, e.g. --set model.units=64 (repeatable; overrides --config, "
            "flags override it).",
        ),
    ]
    options += [field_option(key, f, flag_of(key, f, renames)) for _, key, f in cli_fields()]
    # The calendar-features switch was spelled --calendar/--no-calendar before --calendar named the trading calendar.
    options.append(click.Option(["--no-calendar", NO_CALENDAR_PARAM], is_flag=True, hidden=True,
                                help="Same as --no-calendar-features."))

    def decorate(func: Callable) -> Callable:
        # click.option prepends, so appending keeps the declared order in --help.
        params = getattr(func, "__click_params__", [])
        func.__click_params__ = params + options[::-1]  # type: ignore[attr-defined]
        return func

    return decorate


def typed(ctx: click.Context, name: str) -> bool:
    """True if the user gave option ``name`` (on the command line or via its environment variable)."""
    return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)


def build_config(ctx: click.Context, params: dict[str, Any], *, backtest_keys: tuple[str, ...] = (),
                 base: Any = None) -> tuple[Any, dict]:
    """The effective model config of a command, and its backtest settings (from the file and ``--set``).

    Layers, lowest first: the defaults, the ``--config`` file, ``--set`` assignments, the
    flags the user typed. A bad value in the file is the file's error (exit 1, naming the
    file); a bad ``--set`` is a usage error (exit 2); typed flags were checked by click.

    Args:
        params: the command's keyword arguments (the layering options and every config field).
        backtest_keys: the keys a ``[backtest]`` table or ``backtest.`` assignment may set;
            empty for commands without backtest settings (the table is then ignored, and
            ``--set backtest.*`` is an error).
        base: the config the layers apply to (default: ``ForecastConfig()``); ``compare``
            starts from its first family, so a family's own options are checked with it.
    """
    from forecaster.config import ForecastConfig, cli_fields, parse_assignment, parse_value, read_config_tables

    config = base if base is not None else ForecastConfig()
    backtest: dict[str, Any] = {}
    path = params.get(CONFIG_PARAM)
    if path is not None:
        tables = read_config_tables(path)
        table = tables.pop("backtest", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [backtest] must be a table of keys. Received: {type(table).__name__}")
        try:
            config = config.merged(tables)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if backtest_keys:
            _check_backtest_keys(table, backtest_keys, where=f"{path}: ")
            backtest.update(table)

    set_param = _param(ctx, SET_PARAM)
    assignments: dict[str, Any] = {}
    for text in params.get(SET_PARAM) or ():
        try:
            if text.strip().startswith(BACKTEST_PREFIX):
                if not backtest_keys:
                    raise ConfigError(f"{text.split('=')[0].strip()!r}: backtest keys apply to 'forecast backtest' only.")
                key, _, value = text.strip()[len(BACKTEST_PREFIX):].partition("=")
                _check_backtest_keys({key.strip(): None}, backtest_keys, where="")
                backtest[key.strip()] = parse_value(value)
            else:
                key, value = parse_assignment(text)
                assignments[key] = _as_field_type(key, value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=set_param) from None
    try:
        config = config.merged(assignments)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=set_param) from None

    flags = {key: params[key] for _, key, _f in cli_fields() if key in params and typed(ctx, key)}
    if params.get(NO_CALENDAR_PARAM):
        flags.setdefault("calendar", False)
    return config.merged(flags), {key: _plain(value) for key, value in backtest.items()}


def _as_field_type(key: str, value: Any) -> Any:
    """``--set train.clipnorm=0`` means 0.0, as ``--clipnorm 0`` does (TOML reads ``0`` as an integer)."""
    from forecaster.config import SECTIONS, resolve_key

    section, name = resolve_key(key)
    f = next(x for x in dataclasses.fields(SECTIONS[section]) if x.name == name)
    if _kind(f) == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _plain(value: Any) -> Any:
    """TOML dates (``start = 2017-01-01``) as the ISO strings the backtest config takes."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime, dt.time)) else value


def _check_backtest_keys(table: dict[str, Any], known: tuple[str, ...], *, where: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}Unknown key(s) in config section [backtest]: {', '.join(unknown)}. "
                          f"Known keys: {', '.join(known)}")


def _param(ctx: click.Context, name: str) -> click.Parameter | None:
    return next((p for p in ctx.command.params if p.name == name), None)


def flag_names(command: click.Command) -> dict[str, str]:
    """Parameter name -> its long flag, for every option of ``command`` (``{"time_col": "--time-col"}``)."""
    out = {}
    for param in command.params:
        if isinstance(param, click.Option) and param.name:
            longs = [o for o in param.opts if o.startswith("--")]
            if longs:
                out[param.name] = longs[0]
    return out
