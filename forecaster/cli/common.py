"""What the commands share: the command class that names its flags for errors, data loading, the backend."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from pathlib import Path
from typing import Any

import click

from forecaster.cli.options import flag_names
from forecaster.exceptions import ArtifactError, ConfigError, ForecasterError

log = logging.getLogger("forecaster")

#: ``forecast`` context settings, shared by every group.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class ForecastCommand(click.Command):
    """A command that tells the error policy which flag spells which library argument.

    ``error_names`` adds argument names the library uses that are not parameter
    names, e.g. ``{"stride": "origin_stride"}`` for ``backtest``.
    """

    def __init__(self, *args: Any, error_names: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_names = error_names or {}

    def invoke(self, ctx: click.Context) -> Any:
        flags = flag_names(self)
        flags.update({alias: flags[name] for alias, name in self.error_names.items() if name in flags})
        if isinstance(ctx.obj, dict):
            ctx.obj["flags"] = flags
        return super().invoke(ctx)


class ForecastSubgroup(click.Group):
    """A nested command group (``forecast config ...``) whose commands name their flags too."""

    command_class = ForecastCommand


def store(ctx: click.Context, *, write: bool = False):
    """The :class:`RunStore` of ``--runs-dir``; ``write=True`` first checks that it can be written."""
    from forecaster.store import RunStore

    runs = RunStore(ctx.obj["runs_dir"])
    if write:
        check_writable(runs.root)
    return runs


#: What to do about a runs directory this process cannot write (the usual cause: a Docker bind mount).
PERMISSION_REMEDY = (
    "Choose a writable --runs-dir, or fix the folder's owner. In Docker on Linux, create the folder on the host "
    "first and run the container as yourself: mkdir -p runs && docker run --user \"$(id -u):$(id -g)\" "
    "-v \"$PWD/runs:/work/runs\" ..."
)


def check_writable(root: Path) -> None:
    """Fail early, with one clear error, when the runs directory cannot be created or written.

    A fit can run for an hour; finding out at the save that the folder belongs to another
    user (a ``docker run -v`` mount owned by root, the image running as uid 1000) is too late.
    """
    import tempfile

    try:
        if root.is_dir():
            with tempfile.NamedTemporaryFile(dir=root, prefix=".write-check-"):
                pass
            return
        # Not there yet: nothing is created before the data is read; its nearest existing parent must be writable.
        parent = root.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied", str(root))
    except PermissionError:
        raise ArtifactError(permission_message(root)) from None
    except OSError as exc:
        raise ArtifactError(f"Cannot use {root} as the runs directory: {exc.strerror or exc}. "
                            "Choose another --runs-dir.") from None


def permission_message(path) -> str:
    """The one-line error for a path this process may not write."""
    path = Path(path)
    owner = ""
    try:
        probe = path if path.exists() else path.parent
        st = probe.stat()
        owner = f" ({probe} belongs to uid {st.st_uid}, gid {st.st_gid}; this process runs as uid {os.getuid()})"
    except (OSError, AttributeError):
        pass
    return f"Permission denied: cannot write to {path}{owner}. {PERMISSION_REMEDY}"


def import_backend(ctx: click.Context, config=None, *, tensorboard: bool = False) -> None:
    """Keras on the backend this command trains on: TensorFlow where ``config`` asks for a ``--strategy``
    or the command writes TensorBoard logs, else :func:`forecaster.runtime.training_backend`'s choice."""
    from forecaster.runtime import import_backend as _import
    from forecaster.runtime import tensorflow_required

    _import(quiet=not ctx.obj["verbose"], needs_tensorflow=tensorflow_required(config, tensorboard=tensorboard))


def format_time(t) -> str:
    """A timestamp as people write it: ``2018-12-31`` for midnight, ``2018-12-31 13:00`` otherwise."""
    import pandas as pd

    t = pd.Timestamp(t)
    if t == t.normalize():
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M" if t.second == 0 and t.microsecond == 0 else "%Y-%m-%d %H:%M:%S")


def describe_calendar(fc) -> str:
    """How a fitted model continues its series: ``frequency B``, plus its trading calendar when it has one."""
    return describe_trading(fc.freq_, getattr(fc.config.data, "trading_calendar", None))


def describe_trading(freq: str, trading: str | None) -> str:
    """``frequency B, XNYS sessions`` / ``frequency B, weekdays`` / ``frequency h``."""
    text = f"frequency {freq}"
    fc_freq = freq
    if trading not in (None, "auto", "weekdays") and fc_freq in ("B", "C"):
        text += f", {trading} sessions"
    elif fc_freq in ("B", "C"):
        text += ", weekdays"
    return text


def describe_series(series) -> None:
    feats = f" + features {', '.join(series.features)}" if series.features else ""
    click.echo(
        f"Data: {series.source} - target {series.target!r}{feats}, {len(series)} rows, "
        f"{format_time(series.index[0])} .. {format_time(series.index[-1])}, frequency {series.freq}", err=True,
    )


#: Data-section fields handed to ``forecaster.data.read_csv`` when it takes them (by the same name).
_LOADER_FIELDS = ("target", "features", "future_features", "static_features", "time_col", "id_col", "missing",
                  "na_values", "targets")


def loader_kwargs(config, **overrides: Any) -> dict[str, Any]:
    """The keyword arguments of ``data.load`` from ``config.data``.

    Column roles the loader does not take yet are refused when set, never silently dropped.
    """
    from forecaster import data as data_mod
    from forecaster.config import DataConfig

    accepted = inspect.signature(data_mod.read_csv).parameters
    defaults = DataConfig()
    out: dict[str, Any] = {}
    for name in _LOADER_FIELDS:
        value = overrides.get(name, getattr(config.data, name))
        if name in accepted:
            out[name] = value
        elif value != getattr(defaults, name):
            raise ConfigError(f"`{name}` is not supported by this version's CSV loader yet. Remove it.")
    return out


def describe_panel(ts, path: str) -> None:
    lengths = [len(m) for m in ts]
    how = f"columns {', '.join(ts.ids[:5])}{' ...' if len(ts) > 5 else ''}" if ts.id_col is None else f"id column {ts.id_col!r}"
    click.echo(
        f"Data: {path} - {len(ts)} series ({how}), target {ts.target!r}, {sum(lengths)} rows "
        f"({min(lengths)} .. {max(lengths)} per series), frequency {ts.freq}", err=True,
    )


def is_panel(data) -> bool:
    """Whether ``data`` (what :func:`load_series` returns) holds many series."""
    return hasattr(data, "members")


def fingerprint_of(data) -> str:
    """The data fingerprint of one series, or of a panel (its members' fingerprints together)."""
    if not is_panel(data):
        return data.fingerprint
    import hashlib

    return hashlib.sha256("|".join(m.fingerprint for m in data).encode()).hexdigest()


def load_series(data: str, config):
    """Load DATA with the config's data options; return the config with the resolved target, and the data.

    The data is one :class:`~forecaster.data.Series` (a CSV of one series, as always), or a
    :class:`~forecaster.data.TimeSeries` panel: a long CSV with an id column, or ``--targets``.
    """
    from forecaster import data as data_mod

    ts = data_mod.read_csv(data, **loader_kwargs(config))
    if len(ts) == 1 and not config.data.targets:
        series = ts.only()
        if ts.id_col is None:  # a plain CSV of one series: exactly what the single-series loader returns
            import dataclasses

            series = dataclasses.replace(series, id=None)
        describe_series(series)
        return config.replace(target=series.target), series
    describe_panel(ts, data)
    return (config if config.data.targets else config.replace(target=ts.target)), ts


def preflight(config, data) -> None:
    """The checks of a fit that need no model (:func:`forecaster.preflight.check_fit`), before TensorFlow loads."""
    from forecaster.preflight import check_fit

    if is_panel(data):
        m = data.members[0]
        check_fit(config, None, len(m.columns))
    else:
        check_fit(config, len(data), len(data.columns))


def data_source_hint(fc) -> str:
    """The training CSV a run records, checked as a hint: a regular CSV file the user can read.

    A run directory may come from elsewhere; its manifest must not make ``predict``
    open (and report on) an arbitrary file. Anything but an existing regular file
    named ``*.csv``/``*.tsv``/``*.txt`` is refused with the remedy (--data).
    """
    import stat

    path = fc.data_["source"]
    if path is None:
        raise ForecasterError("The run records no training data file. Pass --data with a CSV of the same columns.")
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise ForecasterError(
            f"The training data {path} is no longer there. Pass --data with a CSV of the same columns."
        ) from None
    if not stat.S_ISREG(st.st_mode) or p.suffix.lower() not in (".csv", ".tsv", ".txt") or not os.access(p, os.R_OK):
        raise ForecasterError(
            f"The run's manifest names {path} as its training data, which is not a readable CSV file; "
            "it is not opened. Pass --data with a CSV of the same columns."
        )
    return path


def check_output(path: str | None) -> None:
    """Check, before any work, that ``--output`` can be written (its folder exists or can be made, and is writable)."""
    if path is None or path == "-":  # "-": standard output
        return
    from forecaster.safeio import check_writable_dir

    out = Path(path)
    if out.is_dir():
        raise ForecasterError(f"--output {out} is a directory. Pass a file path.")
    check_writable_dir(out.parent, "output folder",
                       remedy="Pass --output with a path in a writable folder.")


def load_for_run(fc, data: str | None):
    """Load the CSV a run was fitted on (or a newer one) with the run's own options."""
    from forecaster import data as data_mod

    path = data or data_source_hint(fc)
    if data is None:
        log.info("Data: %s (the training data recorded in the run)", path)
    # The loader's report (rows read, gaps filled) was printed when the model was fitted; say it again with -v.
    with _quiet_loader() if data is None else contextlib.nullcontext():
        return _load_for_run(fc, data, path, data_mod)


@contextlib.contextmanager
def _quiet_loader():
    loggers = [logging.getLogger(n) for n in ("forecaster.data.core", "forecaster.data.io", "forecaster.data")]
    levels = [lg.level for lg in loggers]
    quiet = not log.isEnabledFor(logging.DEBUG)
    try:
        if quiet:
            for lg in loggers:
                lg.setLevel(logging.WARNING)
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _load_for_run(fc, data, path, data_mod):
    if getattr(fc, "is_panel", False):
        return data_mod.read_csv(path, **loader_kwargs(
            fc.config, target=None if fc.config.data.targets else fc.target_, features=fc.features_))
    series = data_mod.load(path, **{k: v for k, v in loader_kwargs(fc.config, target=fc.target_, features=fc.features_).items()
                                    if k not in ("static_features", "id_col", "targets")})
    if data is None and series.fingerprint != fc.data_["fingerprint"]:
        log.info("note: %s changed since the model was fitted; forecasting from its current end", path)
    return series


def run_name_part(config) -> str:
    """The model part of a default run name: the cell of the recurrent family, else the family."""
    return config.model.cell if config.model.type == "rnn" else config.model.type
