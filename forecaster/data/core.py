"""Read a CSV into a validated, regularly spaced time series.

Guarantees of a :class:`Series` (enforced when it is built, never later):

* the index is a ``DatetimeIndex``, strictly increasing, without duplicates;
* a frequency is known (``pandas`` offset alias: ``"h"``, ``"D"``, ``"B"``,
  ``"W-SAT"``, ``"MS"``, ``"5min"``, ...);
* for calendar frequencies the index is the complete grid: missing
  timestamps were inserted and filled by the missing-value policy (and
  reported). Business-day series (``"B"``: stock prices) are kept as the
  sequence of trading days: holidays are not invented;
* the target and feature columns are finite ``float64``, target first;
* the target is not constant.

Missing-value policy (``missing=``):

``ffill`` (default)
    carry the last observation forward. Causal: a filled value only uses the
    past, so filling can never leak a future value into a training window.
``interpolate``
    linear in time between the neighbours. Smoother, but it uses the value
    *after* a gap, so it is not causal; use it for exploration.
``error``
    refuse a series with gaps or NaN.

Leading rows where a used column is still missing (nothing to carry forward)
are dropped, and reported. Everything the loader changes is listed in
:attr:`Series.report`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.exceptions import DataError

from forecaster.data.calendar import infer_frequency
from forecaster.data.io import _find_time_column, _parse_csv_bytes, _parse_times

log = logging.getLogger(__name__)

#: Preferred targets for price files, in order. ``Adj Close`` first: raw
#: ``Close`` jumps at stock splits and dividends.
PRICE_TARGETS = ("adj close", "adj_close", "adjclose", "adjusted close", "close", "price")
#: Column names (lower case) that mark a file as prices.
PRICE_COLUMNS = frozenset({"open", "high", "low", "close", "adj close", "adj_close", "adjusted close", "price"})
#: Largest magnitude accepted: training runs in float32 (max ~3.4e38) and the
#: scaler squares differences, so values above this would overflow.
MAX_ABS_VALUE = 1e30


@dataclass(frozen=True)
class LoadReport:
    """What the loader saw and changed, for the user to read."""

    rows_read: int
    delimiter: str
    decimal: str
    time_col: str
    gap_rows_inserted: int = 0
    values_filled: int = 0
    leading_rows_dropped: int = 0
    absent_business_days: int = 0
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """Human-readable summary, one fact per line."""
        out = [f"read {self.rows_read} rows (delimiter {self.delimiter!r}, decimal {self.decimal!r}, time column {self.time_col!r})"]
        if self.gap_rows_inserted:
            out.append(f"inserted {self.gap_rows_inserted} missing timestamps to complete the grid")
        if self.values_filled:
            out.append(f"filled {self.values_filled} missing values")
        if self.leading_rows_dropped:
            out.append(f"dropped {self.leading_rows_dropped} leading rows with no value to carry forward")
        if self.absent_business_days:
            out.append(
                f"{self.absent_business_days} weekdays have no row (market holidays); rows are kept as consecutive trading days"
            )
        out.extend(self.notes)
        return out


@dataclass(frozen=True)
class Series:
    """One validated series: target first, then past covariates, then known-future covariates.

    ``id`` names the series inside a :class:`TimeSeries` of many; ``static``
    holds its static attributes (one value per series).
    """

    frame: pd.DataFrame
    target: str
    features: tuple[str, ...]
    freq: str
    time_col: str
    fingerprint: str
    kind: str = "series"
    source: str | None = None
    report: LoadReport | None = field(default=None, compare=False)
    future_features: tuple[str, ...] = ()
    id: str | None = None
    static: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def columns(self) -> list[str]:
        """Model input columns: target, past covariates, known-future covariates (always in this order)."""
        return [self.target, *self.features, *self.future_features]

    @property
    def values(self) -> np.ndarray:
        """``(n_rows, n_columns)`` float64 array, target in column 0."""
        return self.frame[self.columns].to_numpy(dtype=np.float64)

    @property
    def target_values(self) -> np.ndarray:
        """``(n_rows,)`` float64 target: ``values[:, 0]`` without building the other columns (read-only use: it may
        share the frame's memory)."""
        return self.frame[self.target].to_numpy(dtype=np.float64)

    @property
    def index(self) -> pd.DatetimeIndex:
        return self.frame.index  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.frame)


# ----------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------
def load(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    features: tuple[str, ...] | list[str] = (),
    time_col: str | None = None,
    missing: str = "ffill",
    na_values: tuple[str, ...] | list[str] = (),
    future_features: tuple[str, ...] | list[str] = (),
) -> Series:
    """Read and validate a CSV file.

    Args:
        path: CSV file. The delimiter (``,`` ``;`` tab ``|``) and a decimal
            comma are detected; a UTF-8 byte-order mark is accepted.
        target: column to forecast. Defaults to the only numeric column, or
            for price files to ``Adj Close`` / ``Close`` / ``Price``.
        features: extra input columns (multivariate input).
        time_col: name of the time column; found automatically when omitted.
        missing: ``"ffill"``, ``"interpolate"`` or ``"error"``.
        na_values: extra cell values that mean "missing" (sentinels such as
            ``-200`` in the UCI air-quality data); they then follow ``missing``.

    >>> s = load("data/prices.csv")  # doctest: +SKIP
    >>> s.target, s.freq  # doctest: +SKIP
    ('Adj Close', 'B')
    """
    p, raw, frame, sep, decimal = _read_file(path, na_values)
    return _finish(
        frame,
        name=str(p),
        source=str(p.resolve()),
        fingerprint=hashlib.sha256(raw).hexdigest(),
        target=target,
        features=tuple(features),
        time_col=time_col,
        missing=missing,
        sep=sep,
        decimal=decimal,
        future_features=tuple(future_features),
    )


def from_frame(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    features: tuple[str, ...] | list[str] = (),
    time_col: str | None = None,
    missing: str = "ffill",
    name: str = "<DataFrame>",
    future_features: tuple[str, ...] | list[str] = (),
) -> Series:
    """Validate an in-memory DataFrame exactly as :func:`load` validates a file.

    A ``DatetimeIndex`` is used as the time axis when no time column is given.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"Expected a pandas DataFrame. Received: {type(df).__name__}")
    df = df.copy()
    if time_col is None and isinstance(df.index, pd.DatetimeIndex):
        time_col = df.index.name or "time"
        df = df.reset_index(names=time_col)
    payload = pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
    return _finish(
        df, name=name, fingerprint=hashlib.sha256(payload).hexdigest(), target=target,
        features=tuple(features), time_col=time_col, missing=missing, sep=",", decimal=".",
        future_features=tuple(future_features),
    )


# ----------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------
def _finish(
    df: pd.DataFrame,
    *,
    name: str,
    source: str | None = None,
    fingerprint: str,
    target: str | None,
    features: tuple[str, ...],
    time_col: str | None,
    missing: str,
    sep: str,
    decimal: str,
    future_features: tuple[str, ...] = (),
) -> Series:
    from forecaster.config import MISSING_POLICIES

    if missing not in MISSING_POLICIES:
        raise DataError(f"`missing` must be one of {', '.join(MISSING_POLICIES)}. Received: missing={missing!r}")
    rows_read = len(df)
    times, label, consumed = _find_time_column(df, time_col, name)
    # pandas may pick second or millisecond resolution; all step arithmetic below is in nanoseconds.
    try:
        index = _parse_times(times, label, name).as_unit("ns")
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        raise DataError(
            f"Time column {label!r} of {name} has dates outside {pd.Timestamp.min.date()} .. {pd.Timestamp.max.date()}, "
            "the range pandas supports. Fix or drop those rows."
        ) from None
    df = df.drop(columns=consumed)
    df.index = index
    df.index.name = label
    _check_order(index, name)

    target, features = _choose_columns(df, target, (*features, *future_features), name)
    features = tuple(f for f in features if f not in future_features)
    future_features = tuple(f for f in future_features if f != target)
    used = [target, *features, *future_features]
    data = pd.DataFrame({c: _numeric(df[c], c, name) for c in used}, index=df.index)

    freq = infer_frequency(data.index, name)
    data, inserted, absent = _regularise(data, freq, name)
    data, filled, dropped = _fill_missing(data, missing, target, name, inserted)

    values = data.to_numpy()
    if not np.isfinite(values).all():
        col = data.columns[int(np.flatnonzero(~np.isfinite(values).all(axis=0))[0])]
        raise DataError(f"Column {col!r} of {name} contains inf. Replace infinite values or drop the column.")
    if (np.abs(values) > MAX_ABS_VALUE).any():
        col = data.columns[int(np.flatnonzero((np.abs(values) > MAX_ABS_VALUE).any(axis=0))[0])]
        raise DataError(
            f"Column {col!r} of {name} has values beyond ±{MAX_ABS_VALUE:g}, too large to train in float32. "
            "Rescale the column (e.g. divide by a power of ten)."
        )
    _warn_extreme(data, name)
    if np.ptp(values[:, 0]) == 0:
        raise DataError(f"Target {target!r} of {name} is constant ({values[0, 0]:g}); there is nothing to forecast.")

    report = LoadReport(
        rows_read=rows_read, delimiter=sep, decimal=decimal, time_col=label,
        gap_rows_inserted=inserted, values_filled=filled, leading_rows_dropped=dropped,
        absent_business_days=absent,
    )
    for line in report.lines():
        log.info("%s: %s", Path(name).name, line)
    # A price file (Open/High/Low/Close, Adj Close, Price columns) grows multiplicatively;
    # ``transform="auto"`` uses this to choose a log transform for it.
    kind = "prices" if PRICE_COLUMNS & {c.lower() for c in df.columns} else "series"
    return Series(
        frame=data, target=target, features=tuple(features), freq=freq, time_col=label,
        fingerprint=fingerprint, kind=kind, source=source or name, report=report,
        future_features=tuple(future_features),
    )


#: A value this many times the column's typical spread away from its median is reported as extreme.
EXTREME_RATIO = 1e6


def _warn_extreme(data: pd.DataFrame, name: str) -> None:
    """Warn about values so far from the rest of their column that they dominate scaling and training.

    The typical spread is the 99th percentile of the absolute deviations from the
    median, so intermittent series (mostly zeros) and trending ones are not flagged;
    one ``1e29`` among values near 20 is.
    """
    for col in data.columns:
        x = data[col].to_numpy(dtype=np.float64)
        dev = np.abs(x - np.median(x))
        typical = np.quantile(dev, 0.99)
        worst = int(np.argmax(dev))
        if typical > 0 and dev[worst] > EXTREME_RATIO * typical:
            log.warning(
                "warning: column %r of %s has an extreme value %g at %s, over a million times its typical "
                "deviation; it will dominate scaling and training. Fix or remove it (or list it in --na-values).",
                col, name, x[worst], data.index[worst],
            )


def _check_order(index: pd.DatetimeIndex, name: str) -> None:
    dup = index.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(index == index[row])[0])
        raise DataError(
            f"Duplicate timestamp {index[row]} in {name} (data rows {first + 1} and {row + 1}). "
            "Remove or aggregate duplicate rows."
        )
    if not index.is_monotonic_increasing:
        row = int(np.flatnonzero(np.diff(index.asi8) < 0)[0]) + 1
        raise DataError(
            f"Rows of {name} are not in time order: data row {row + 1} ({index[row]}) comes before "
            f"data row {row} ({index[row - 1]}). Sort the file by its time column."
        )


def _choose_columns(
    df: pd.DataFrame, target: str | None, features: tuple[str, ...], name: str
) -> tuple[str, tuple[str, ...]]:
    cols = list(df.columns)
    for f in features:
        if f not in df.columns:
            raise DataError(f"Feature column {f!r} not found in {name}. Columns: {_short_list(cols)}.")
    if target is not None:
        if target not in df.columns:
            raise DataError(f"Target column {target!r} not found in {name}. Columns: {_short_list(cols)}. Pass one to --target.")
        return target, tuple(f for f in features if f != target)
    numeric = [c for c in cols if pd.api.types.is_numeric_dtype(df[c]) and c not in features and df[c].notna().any()]
    lower = {c.lower(): c for c in cols}
    for cand in PRICE_TARGETS:
        if cand in lower and lower[cand] not in features:
            chosen = lower[cand]
            log.info("target: %r (price file; pass --target to choose another column)", chosen)
            return chosen, features
    if len(numeric) == 1:
        return numeric[0], features
    others = [c for c in cols if c not in features]
    if len(others) == 1:
        # The only candidate column: take it, so a bad cell is reported precisely below.
        return others[0], features
    if not numeric:
        raise DataError(f"{name} has no numeric column to forecast. Columns: {_short_list(cols)}.")
    raise DataError(
        f"{name} has several numeric columns ({', '.join(numeric)}); choose the one to forecast with --target."
    )


def _numeric(col: pd.Series, label: str, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        raise DataError(f"Column {label!r} of {name} is boolean, not numeric. Encode it as 0/1 or leave it out.")
    if pd.api.types.is_numeric_dtype(col):
        out = col.astype(np.float64)
    else:
        text = col.astype("string").str.strip()
        out = pd.to_numeric(text, errors="coerce")
        bad = out.isna() & text.notna() & (text != "")
        # Common spellings of a missing value are missing, not malformed.
        bad &= ~text.str.lower().isin(["na", "nan", "n/a", "null", "none", "-", "?"]).fillna(False)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"Column {label!r} of {name} is not numeric: {text.iloc[row]!r} at data row {row + 1}. "
                "Fix the value, or leave the column out (categorical columns must be encoded first)."
            )
        out = out.astype(np.float64)
    if out.isna().all():
        raise DataError(f"Column {label!r} of {name} has no values (all missing).")
    return out


def _regularise(data: pd.DataFrame, freq: str, name: str) -> tuple[pd.DataFrame, int, int]:
    """Complete a calendar grid; return (frame, rows inserted, absent business days)."""
    if freq in ("B", "C"):
        absent = len(pd.bdate_range(data.index[0], data.index[-1])) - len(data)
        return data, 0, max(int(absent), 0)
    grid = pd.date_range(data.index[0], data.index[-1], freq=freq, tz=data.index.tz)
    if len(grid) == len(data):
        return data, 0, 0
    if not data.index.isin(grid).all():
        row = int(np.flatnonzero(~data.index.isin(grid))[0])
        raise DataError(
            f"Timestamp {data.index[row]} of {name} (data row {row + 1}) is off the {freq!r} grid. "
            "Resample the series to a regular grid first."
        )
    if len(grid) > 2 * len(data) + 10:
        raise DataError(
            f"{name} would need {len(grid) - len(data)} missing {freq!r} timestamps inserted, more than it has rows. "
            "The series is too sparse for its frequency; resample it or trim the gaps."
        )
    return data.reindex(grid), int(len(grid) - len(data)), 0


def _fill_missing(
    data: pd.DataFrame, missing: str, target: str, name: str, inserted: int
) -> tuple[pd.DataFrame, int, int]:
    n_missing = int(data.isna().sum().sum())
    if n_missing == 0:
        return data, 0, 0
    if missing == "error":
        col = data.columns[int(np.flatnonzero(data.isna().any().to_numpy())[0])]
        where = data.index[data[col].isna().to_numpy()][0]
        raise DataError(
            f"{name} has {n_missing} missing values ({inserted} from missing timestamps), the first in {col!r} at {where}. "
            "Choose a policy with --missing ffill or --missing interpolate."
        )
    # Rows before every used column has its first value cannot be filled causally: drop them.
    first_valid = max(data[c].first_valid_index() for c in data.columns)
    dropped = int(data.index.get_loc(first_valid))
    data = data.loc[first_valid:]
    before = int(data.isna().sum().sum())
    if missing == "interpolate":
        data = data.interpolate(method="time", limit_area="inside")
    data = data.ffill()
    return data, before, dropped


# Re-exported for the CLI's `info` and the predict-time shape check.
__all__ = ["LoadReport", "Series", "from_frame", "infer_frequency", "load"]



# ----------------------------------------------------------------------------
# Many series: the core type
# ----------------------------------------------------------------------------
#: Column names taken as the series id of a long panel CSV, in order of preference.
ID_COLUMN_NAMES = ("unique_id", "series_id", "id", "series")


@dataclass(frozen=True)
class TimeSeries:
    """One or many validated series with named column roles.

    Guarantees, enforced when it is built (by :func:`read_csv`,
    :func:`from_dataframe` or the constructor):

    * every member is a :class:`Series`: sorted, unique, regular timestamps,
      finite float64 values, a non-constant target;
    * the members share their roles: the same target, past covariates
      (``features``), known-future covariates (``future_features``) and
      static attribute names, and the same frequency;
    * ids are unique strings; a single series is the one-id case.

    Roles: *target* (forecast), *past covariates* (observed up to the
    origin), *known-future covariates* (also known over the horizon:
    calendars, plans), *static* attributes (one value per series) and the
    series *id*.

    >>> ts = read_csv("data/prices.csv")      # doctest: +SKIP
    >>> ts.ids, ts.target, ts.freq             # doctest: +SKIP
    (['prices'], 'Adj Close', 'B')
    """

    members: tuple[Series, ...]
    id_col: str | None = None

    def __post_init__(self) -> None:
        members = tuple(self.members)
        if not members:
            raise DataError("A TimeSeries needs at least one series.")
        if not all(isinstance(m, Series) for m in members):
            raise DataError("Every member of a TimeSeries must be a validated Series (use read_csv or from_dataframe).")
        ids = [m.id for m in members]
        if any(i is None for i in ids) or len(set(ids)) != len(ids):
            raise DataError(f"Series ids must be present and unique. Received: {ids[:5]}{' ...' if len(ids) > 5 else ''}")
        first = members[0]
        for m in members[1:]:
            roles = (m.target, m.features, m.future_features, sorted(m.static), m.freq)
            if roles != (first.target, first.features, first.future_features, sorted(first.static), first.freq):
                raise DataError(
                    f"Series {m.id!r} differs from series {first.id!r} in its columns or frequency; "
                    "every series of one TimeSeries has the same roles and frequency."
                )
        object.__setattr__(self, "members", members)

    # Roles shared by every member.
    @property
    def target(self) -> str:
        return self.members[0].target

    @property
    def features(self) -> tuple[str, ...]:
        return self.members[0].features

    @property
    def future_features(self) -> tuple[str, ...]:
        return self.members[0].future_features

    @property
    def static_features(self) -> tuple[str, ...]:
        return tuple(sorted(self.members[0].static))

    @property
    def freq(self) -> str:
        return self.members[0].freq

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.members]  # type: ignore[misc]

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self):
        return iter(self.members)

    def __getitem__(self, series_id: str) -> Series:
        for m in self.members:
            if m.id == series_id:
                return m
        raise DataError(f"No series {series_id!r}. Series: {', '.join(self.ids[:10])}{' ...' if len(self) > 10 else ''}")

    def only(self) -> Series:
        """The single member; a clear error when there are several."""
        if len(self.members) != 1:
            raise DataError(
                f"This operation takes one series; the data holds {len(self.members)} "
                f"({', '.join(self.ids[:3])}{', ...' if len(self) > 3 else ''}). Select one with ts[id]."
            )
        return self.members[0]

    def to_frame(self) -> pd.DataFrame:
        """A long DataFrame: id, time, then the columns in role order."""
        parts = []
        for m in self.members:
            part = m.frame[m.columns].rename_axis("time").reset_index()
            part.insert(0, "id", m.id)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)


def _series_id(path_or_name: str | None, fallback: str = "series") -> str:
    stem = Path(path_or_name).stem if path_or_name and not path_or_name.startswith("<") else ""
    return stem or fallback


def _find_id_column(df: pd.DataFrame, id_col: str | None, name: str) -> str | None:
    if id_col is not None:
        if id_col not in df.columns:
            raise DataError(f"Id column {id_col!r} not found in {name}. Columns: {_short_list(list(df.columns))}.")
        return id_col
    lower = {str(c).lower(): c for c in df.columns}
    for cand in ID_COLUMN_NAMES:
        if cand in lower and not pd.api.types.is_float_dtype(df[lower[cand]]):
            return lower[cand]
    return None


def _short_list(items: list, limit: int = 8) -> str:
    """At most ``limit`` items, then "and N more": error lines stay short."""
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _split_panel(
    df: pd.DataFrame, *, name: str, fingerprint: str, id_col: str | None, static_features: tuple[str, ...],
    source: str | None, build,
) -> TimeSeries:
    """Validate each series of a (possibly long) frame with ``build(frame, name, fingerprint)``."""
    col = _find_id_column(df, id_col, name)
    for s in static_features:
        if s not in df.columns:
            raise DataError(f"Static column {s!r} not found in {name}. Columns: {_short_list(list(df.columns))}.")
    if col is None:
        if static_features:
            raise DataError(f"Static columns need a series id column in {name}; pass --id-col.")
        member = build(df, name, fingerprint)
        return TimeSeries((dataclasses.replace(member, id=_series_id(source or name)),))
    ids = df[col]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise DataError(f"Id column {col!r} of {name} is empty in data row {row + 1}. Every row needs a series id.")
    members = []
    for key, part in df.groupby(ids.astype(str), sort=False):
        label = f"{name} (series {key})"
        static = {}
        for s in static_features:
            values = pd.to_numeric(part[s], errors="coerce").dropna().unique()
            if len(values) != 1:
                raise DataError(
                    f"Static column {s!r} of {label} must hold one number per series. Received {len(values)} values."
                )
            static[s] = float(values[0])
        frame = part.drop(columns=[col, *static_features])
        part_fp = hashlib.sha256(f"{fingerprint}:{key}".encode()).hexdigest()
        member = build(frame, label, part_fp)
        members.append(dataclasses.replace(member, id=str(key), static=static))
    return TimeSeries(tuple(members), id_col=col)


#: The target column name of a panel built from several target columns of one wide frame.
WIDE_TARGET = "value"


def _wide_panel(df: pd.DataFrame, targets: tuple[str, ...], *, name: str, fingerprint: str, build) -> TimeSeries:
    """One series per column of ``targets`` (its id), each with the shared time and covariate columns.

    Each column is renamed to :data:`WIDE_TARGET` so the members share one target name,
    as a :class:`TimeSeries` requires; ``build(frame, label, fingerprint, target)`` validates each.
    """
    missing = [t for t in targets if t not in df.columns]
    if missing:
        raise DataError(
            f"Target column(s) {', '.join(map(repr, missing))} named in `targets` not found in {name}. "
            f"Columns: {_short_list(list(df.columns))}."
        )
    if len(set(targets)) != len(targets):
        raise DataError(f"`targets` names a column twice: {list(targets)}.")
    if WIDE_TARGET in df.columns and WIDE_TARGET not in targets:
        raise DataError(f"{name} has a column {WIDE_TARGET!r}; with `targets` that name is the series' value. Rename it.")
    members = []
    for t in targets:
        others = [c for c in targets if c != t]
        part = df.drop(columns=others).rename(columns={t: WIDE_TARGET})
        part_fp = hashlib.sha256(f"{fingerprint}:{t}".encode()).hexdigest()
        member = build(part, f"{name} (column {t})", part_fp, WIDE_TARGET)
        members.append(dataclasses.replace(member, id=str(t)))
    return TimeSeries(tuple(members))


def _read_file(path: str | os.PathLike[str], na_values) -> tuple[Path, bytes, pd.DataFrame, str, str]:
    """The file's path, bytes and raw parsed frame with its delimiter and decimal mark.

    Only a regular file (after links) within the size, line-length and column limits
    of :data:`forecaster.safeio.LIMITS` is read: a FIFO, a device or an endless
    single line is refused at once with the limit and how to raise it.
    """
    from forecaster.safeio import check_text_shape, read_regular_file

    p = Path(path)
    raw = read_regular_file(p, limit="csv_bytes", what="CSV file")
    check_text_shape(raw, str(p))
    frame, sep, decimal = _parse_csv_bytes(raw, str(p), na_values=tuple(na_values))
    return p, raw, frame, sep, decimal


def read_csv(
    path: str | os.PathLike[str],
    *,
    target: str | None = None,
    features: tuple[str, ...] | list[str] = (),
    future_features: tuple[str, ...] | list[str] = (),
    static_features: tuple[str, ...] | list[str] = (),
    time_col: str | None = None,
    id_col: str | None = None,
    missing: str = "ffill",
    na_values: tuple[str, ...] | list[str] = (),
    targets: tuple[str, ...] | list[str] = (),
) -> TimeSeries:
    """Read and validate a CSV of one series, or a long CSV of many (an id column), as a :class:`TimeSeries`.

    Takes every option of the loader (see :func:`load`), plus the column
    roles ``future_features`` (known over the horizon), ``static_features``
    (one value per series) and ``id_col`` (default: a column named
    ``unique_id``, ``series_id``, ``id`` or ``series``, if any). Each series
    is validated on its own (its gaps, missing values and frequency), so
    series may differ in length and start. ``targets`` reads a wide CSV
    instead: each named column is its own series (id: the column name,
    target renamed to ``value``), sharing the time and covariate columns.

    >>> ts = read_csv("data/co2.csv")   # doctest: +SKIP
    >>> len(ts), ts.target              # doctest: +SKIP
    (1, 'co2')
    """
    p, raw, frame, sep, decimal = _read_file(path, na_values)
    source = str(p.resolve())

    def build(df: pd.DataFrame, name: str, fingerprint: str, target: str | None = target) -> Series:
        return _finish(
            df, name=name, source=source, fingerprint=fingerprint, target=target, features=tuple(features),
            time_col=time_col, missing=missing, sep=sep, decimal=decimal, future_features=tuple(future_features),
        )

    if targets:
        _check_wide(target, id_col, static_features)
        return _wide_panel(frame, tuple(targets), name=str(p), fingerprint=hashlib.sha256(raw).hexdigest(), build=build)
    return _split_panel(
        frame, name=str(p), fingerprint=hashlib.sha256(raw).hexdigest(), id_col=id_col,
        static_features=tuple(static_features), source=source, build=build,
    )


def from_dataframe(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    features: tuple[str, ...] | list[str] = (),
    future_features: tuple[str, ...] | list[str] = (),
    static_features: tuple[str, ...] | list[str] = (),
    time_col: str | None = None,
    id_col: str | None = None,
    missing: str = "ffill",
    name: str = "<DataFrame>",
    targets: tuple[str, ...] | list[str] = (),
) -> TimeSeries:
    """Validate an in-memory DataFrame (time column or ``DatetimeIndex``; optional id column) as :func:`read_csv` does."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"Expected a pandas DataFrame. Received: {type(df).__name__}")
    if time_col is None and isinstance(df.index, pd.DatetimeIndex):
        time_col = df.index.name or "time"
        df = df.reset_index(names=time_col)
    payload = pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()

    def build(part: pd.DataFrame, label: str, fingerprint: str, target: str | None = target) -> Series:
        return from_frame(
            part, target=target, features=features, future_features=future_features, time_col=time_col,
            missing=missing, name=label,
        )

    if targets:
        _check_wide(target, id_col, static_features)
        return _wide_panel(df, tuple(targets), name=name, fingerprint=hashlib.sha256(payload).hexdigest(), build=build)
    return _split_panel(
        df, name=name, fingerprint=hashlib.sha256(payload).hexdigest(), id_col=id_col,
        static_features=tuple(static_features), source=None, build=build,
    )


def _check_wide(target, id_col, static_features) -> None:
    if target is not None or id_col is not None or static_features:
        raise DataError("`targets` (several target columns of a wide CSV) excludes `target`, `id_col` and `static_features`.")


def as_timeseries(data, **roles) -> TimeSeries:
    """A :class:`TimeSeries` from a TimeSeries, a Series or a DataFrame (``roles`` as in :func:`from_dataframe`)."""
    if isinstance(data, TimeSeries):
        return data
    if isinstance(data, Series):
        return TimeSeries((data if data.id else dataclasses.replace(data, id=_series_id(data.source)),))
    if isinstance(data, pd.DataFrame):
        return from_dataframe(data, **roles)
    raise DataError(
        f"Expected a pandas DataFrame or what forecaster.read_csv returns. Received: {type(data).__name__}"
    )
