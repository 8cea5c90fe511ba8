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

import csv
import hashlib
import io
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.exceptions import DataError

log = logging.getLogger(__name__)

#: Column names that are taken as the time column, in order of preference.
TIME_COLUMN_NAMES = (
    "date", "datetime", "timestamp", "time", "ds", "date_time", "dt",
    "month", "week", "period", "day",
)
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
    """A validated series: target first, then features, on a regular index."""

    frame: pd.DataFrame
    target: str
    features: tuple[str, ...]
    freq: str
    time_col: str
    fingerprint: str
    kind: str = "series"
    source: str | None = None
    report: LoadReport | None = field(default=None, compare=False)

    @property
    def columns(self) -> list[str]:
        """Model input columns, target first."""
        return [self.target, *self.features]

    @property
    def values(self) -> np.ndarray:
        """``(n_rows, n_columns)`` float64 array, target in column 0."""
        return self.frame[self.columns].to_numpy(dtype=np.float64)

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
    p = Path(path)
    if not p.exists():
        raise DataError(f"File not found: {p}. Check the path.")
    if p.is_dir():
        raise DataError(f"{p} is a directory, not a CSV file. Pass the path of a CSV file.")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {p}: {exc.strerror or exc}.") from None
    frame, sep, decimal = _parse_csv_bytes(raw, str(p), na_values=tuple(na_values))
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
    )


def from_frame(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    features: tuple[str, ...] | list[str] = (),
    time_col: str | None = None,
    missing: str = "ffill",
    name: str = "<DataFrame>",
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
    )


# ----------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------
def _parse_csv_bytes(raw: bytes, name: str, na_values: tuple[str, ...] = ()) -> tuple[pd.DataFrame, str, str]:
    if not raw.strip():
        raise DataError(f"{name} is empty. Supply a CSV with a header row and data rows.")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{name} looks like a binary file, not CSV text. Supply a UTF-8 CSV file.")
    try:
        text = raw.decode("utf-8-sig")  # -sig: a byte-order mark is dropped, not glued to the first header
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name} is not UTF-8 text (undecodable byte at offset {exc.start}). Re-save the file as UTF-8."
        ) from None
    sample = "\n".join(text.splitlines()[:50])
    sep = _sniff_delimiter(sample)
    decimal = "," if sep != "," and re.search(r"(?<![\d,])\d+,\d+(?![\d,])", sample) else "."
    _check_field_counts(sample, sep, name)
    try:
        df = pd.read_csv(
            io.StringIO(text), sep=sep, decimal=decimal, skipinitialspace=True, na_values=list(na_values) or None
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} has no columns. Supply a CSV with a header row.") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{name} is not valid CSV: {first}. Check the delimiter and quoting.") from None
    # Trailing separators (';;' at line ends) and all-empty lines are layout, not data.
    # A named column that is entirely empty is kept, so that choosing it as target or
    # feature says it has no values rather than that it does not exist.
    df = df.dropna(axis=0, how="all")
    df = df.loc[:, [not str(c).startswith("Unnamed:") or df[c].notna().any() for c in df.columns]]
    if df.shape[1] == 0 or df.empty:
        raise DataError(f"{name} has a header but no data rows. Supply at least a few rows of data.")
    if df.shape[1] == 1:
        raise DataError(
            f"{name} has a single column {df.columns[0]!r}: a time column and a value column are needed. "
            "Check the delimiter (comma, semicolon, tab)."
        )
    df.columns = [str(c).strip() for c in df.columns]
    return df, sep, decimal


def _check_field_counts(sample: str, sep: str, name: str) -> None:
    """Refuse rows with more (non-empty) fields than the header.

    pandas would otherwise silently turn the first column into the index, and
    the error would surface later as a baffling date. A decimal comma in a
    comma-separated file (``2024-01-01,1,5``) is the usual cause.
    """
    try:
        rows = list(csv.reader(io.StringIO(sample), delimiter=sep))
    except csv.Error:
        return  # quoting problems are reported by the parser with its own message
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        return
    width = len(rows[0])
    for i, row in enumerate(rows[1:], start=1):
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            raise DataError(
                f"Data row {i} of {name} has {len(row)} fields but the header has {width}. "
                f"A decimal comma in a {'comma' if sep == ',' else repr(sep)}-separated file? "
                "Use ';' as the delimiter or quote the values."
            )


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.get)  # type: ignore[arg-type]
        return best if counts[best] else ","


def _find_time_column(df: pd.DataFrame, time_col: str | None, name: str) -> tuple[pd.Series, str, list[str]]:
    """Return (raw time values, time column label, columns consumed)."""
    cols = list(df.columns)
    lower = {c.lower(): c for c in cols}
    if time_col is not None:
        if time_col not in df.columns:
            raise DataError(
                f"Time column {time_col!r} not found in {name}. Columns: {', '.join(cols)}. Pass one of them to --time-col."
            )
        return df[time_col], time_col, [time_col]
    # Separate date and clock columns (e.g. 'Date' = 10/03/2004, 'Time' = 18.00.00).
    if "date" in lower and "time" in lower:
        d, t = lower["date"], lower["time"]
        clock = df[t].astype("string").str.replace(".", ":", regex=False)
        return df[d].astype("string") + " " + clock, f"{d}+{t}", [d, t]
    # Split calendar fields (year, month, day[, hour[, minute]]).
    if {"year", "month", "day"} <= set(lower):
        parts = [p for p in ("year", "month", "day", "hour", "minute") if p in lower]
        try:
            stamp = pd.to_datetime({p: pd.to_numeric(df[lower[p]]) for p in parts})
        except (ValueError, TypeError) as exc:
            raise DataError(f"Cannot build timestamps from columns {', '.join(lower[p] for p in parts)}: {exc}") from None
        return stamp, "+".join(lower[p] for p in parts), [lower[p] for p in parts]
    for cand in TIME_COLUMN_NAMES:
        if cand in lower:
            return df[lower[cand]], lower[cand], [lower[cand]]
    for c in cols:
        if any(k in c.lower() for k in ("date", "time")):
            return df[c], c, [c]
    # Fall back to a first column that parses as dates.
    first = df[cols[0]]
    if not pd.api.types.is_numeric_dtype(first):
        parsed = pd.to_datetime(first.astype("string"), errors="coerce", format="mixed")
        if parsed.notna().mean() > 0.9:
            return first, cols[0], [cols[0]]
    raise DataError(
        f"No time column found in {name}. Columns: {', '.join(cols)}. Name the time column with --time-col."
    )


def _parse_times(values: pd.Series, label: str, name: str) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(values):
        idx = pd.DatetimeIndex(values)
    else:
        text = values.astype("string").str.strip()
        if text.isna().any():
            row = int(np.flatnonzero(text.isna().to_numpy())[0])
            raise DataError(f"Time column {label!r} of {name} is empty at data row {row + 1}. Every row needs a timestamp.")
        idx = None
        for kwargs in ({"format": "ISO8601"}, {}, {"dayfirst": True}):
            try:
                with warnings.catch_warnings():
                    # pandas warns when it infers day-first itself; the order is settled below.
                    warnings.simplefilter("ignore", UserWarning)
                    idx = pd.DatetimeIndex(pd.to_datetime(text, **kwargs))
                if kwargs == {}:
                    idx = _resolve_day_order(idx, text)
                break
            except (ValueError, TypeError, OverflowError) as exc:
                if "mixed time" in str(exc).lower() or "tz-aware" in str(exc).lower() or "utc=true" in str(exc).lower():
                    raise DataError(
                        f"Time column {label!r} of {name} mixes time zones or UTC offsets. "
                        "Convert all timestamps to one time zone (or UTC) first."
                    ) from None
        if idx is None:
            coerced = pd.to_datetime(text, errors="coerce", format="mixed")
            bad = np.flatnonzero(coerced.isna().to_numpy())
            if len(bad):
                row = int(bad[0])
                raise DataError(
                    f"Cannot parse {text.iloc[row]!r} in time column {label!r} of {name} (data row {row + 1}) as a date. "
                    "Fix the value or name the right column with --time-col."
                )
            # Every value parses on its own, but not with one format: show the first that breaks ranks.
            iso = pd.to_datetime(text, errors="coerce", format="ISO8601")
            odd = np.flatnonzero(iso.isna().to_numpy())
            row = int(odd[0]) if 0 < len(odd) < len(text) else 1
            raise DataError(
                f"Time column {label!r} of {name} mixes date formats: {text.iloc[row]!r} (data row {row + 1}) "
                f"is written differently from {text.iloc[0]!r} (data row 1). "
                "Use one format (ISO 8601, YYYY-MM-DD HH:MM:SS, is safest)."
            )
    if idx.hasnans:
        row = int(np.flatnonzero(idx.isna())[0])
        raise DataError(f"Time column {label!r} of {name} is empty at data row {row + 1}. Every row needs a timestamp.")
    return idx


def _resolve_day_order(default: pd.DatetimeIndex, text: pd.Series) -> pd.DatetimeIndex:
    """Choose between month-first and day-first readings of ambiguous dates.

    ``default`` is pandas' own reading, which guesses the format from the first
    value: ``10/03/2004`` (10 March, AirQuality style) is read month-first as
    3 October whenever the first day is 12 or less, and an excerpt whose days all
    stay at or below 12 parses without error into the wrong dates. When the
    day-first reading also succeeds, keep the one that is strictly increasing with
    the fewest distinct time steps (hourly rows crossing midnight: one step
    day-first, a month jump month-first); on a tie keep pandas' reading.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            day_first = pd.DatetimeIndex(pd.to_datetime(text, dayfirst=True))
    except (ValueError, TypeError, OverflowError):
        return default
    if day_first.equals(default):
        return default

    def badness(idx: pd.DatetimeIndex) -> tuple[bool, int, int]:
        steps = np.diff(idx.as_unit("ns").asi8)
        return (not (steps > 0).all(), len(np.unique(steps)), int(steps.max()) if len(steps) else 0)

    try:
        return day_first if badness(day_first) < badness(default) else default
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        return default  # out-of-range dates are reported by the caller


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

    target, features = _choose_columns(df, target, features, name)
    used = [target, *features]
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
            raise DataError(f"Feature column {f!r} not found in {name}. Columns: {', '.join(cols)}.")
    if target is not None:
        if target not in df.columns:
            raise DataError(f"Target column {target!r} not found in {name}. Columns: {', '.join(cols)}. Pass one to --target.")
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
        raise DataError(f"{name} has no numeric column to forecast. Columns: {', '.join(cols)}.")
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


def infer_frequency(index: pd.DatetimeIndex, name: str = "the series") -> str:
    """Infer a pandas frequency alias, tolerating gaps.

    ``pandas.infer_freq`` needs a perfect grid; real files have gaps. This
    tries it first, then recognises trading days (weekdays only, steps of one
    to a few days), month/quarter/year starts and ends, and fixed steps (the
    smallest step, when every step is a whole multiple of it).

    >>> infer_frequency(pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04"]))
    'D'
    """
    if len(index) < 3:
        raise DataError(f"{name} has {len(index)} rows; at least 3 are needed to infer its frequency.")
    index = pd.DatetimeIndex(index).as_unit("ns")
    freq = pd.infer_freq(index)
    if freq is not None:
        return _normalise_alias(freq)
    steps = np.diff(index.asi8)
    day = 86_400 * 10**9
    midnight = (index == index.normalize()).all()
    if midnight:
        weekdays = index.dayofweek
        step_days = steps // day
        if (weekdays < 5).all() and np.median(step_days) == 1 and step_days.max() <= 7:
            return "B"
        for anchor in ("MS", "ME", "QS", "QE", "YS", "YE"):
            grid = pd.date_range(index[0], index[-1], freq=anchor)
            if len(grid) and index.isin(grid).all() and len(index) >= 0.5 * len(grid):
                return anchor
    # The most common step is the frequency; a single stray timestamp must not
    # turn an hourly series into a half-hourly one (it is reported as off-grid).
    uniq, counts = np.unique(steps, return_counts=True)
    step = int(uniq[np.argmax(counts)])
    if step > 0 and (steps % step == 0).all():
        if step == 7 * day and midnight:
            alias = "W-" + index[0].day_name()[:3].upper()
        elif step % day == 0:
            alias = f"{step // day}D"
        else:
            alias = pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr
        return _normalise_alias(alias)
    raise DataError(
        f"{name} has irregular time steps (between {pd.Timedelta(int(steps.min()))} and "
        f"{pd.Timedelta(int(steps.max()))}) and no frequency can be inferred. Resample it to a regular grid first."
    )


def _normalise_alias(freq: str) -> str:
    # pandas spells a one-unit step without the '1' in some versions and with it in others.
    return freq[1:] if freq.startswith("1") and not freq[1:2].isdigit() else freq


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
