"""CSV text -> a raw DataFrame and its time column: delimiter and decimal-comma sniffing,
field-count checks, time-column detection and date parsing (day-first, mixed formats).

Validation of the values (order, frequency, gaps, roles) happens in :mod:`forecaster.data.core`.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.exceptions import DataError
from forecaster.safeio import short_list as _short_list_of

log = logging.getLogger(__name__)

#: Column names that are taken as the time column, in order of preference.
TIME_COLUMN_NAMES = (
    "date", "datetime", "timestamp", "time", "ds", "date_time", "dt",
    "month", "week", "period", "day",
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
    # The first 50 lines, and at most 256 KB of them: the sniffer's cost grows with its sample.
    sample = "\n".join(text[: 1 << 18].splitlines()[:50])
    sep = _sniff_delimiter(sample)
    _check_header(sample, sep, name)
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


def _looks_like_value(cell: str) -> bool:
    """True for a number or a date: what a data row holds and a header row does not."""
    cell = cell.strip().strip('"')
    if not cell:
        return False
    try:
        float(cell.replace(",", "."))
        return True
    except ValueError:
        pass
    return bool(re.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}[:.]\d{2}([:.]\d{2}(\.\d+)?)?)?([+-]\d{2}:?\d{2}|Z)?",
                             cell))


def _check_header(sample: str, sep: str, name: str) -> None:
    """Refuse a first row that is data (no header row) and a header that names a column twice.

    pandas would take a data row as the column names (losing that row) and rename a
    repeated name to ``name.1``; both silently change what is read.
    """
    try:
        header = next(csv.reader(io.StringIO(sample), delimiter=sep), [])
    except csv.Error:
        return
    cells = [c.strip() for c in header]
    if len(cells) >= 2 and all(_looks_like_value(c) for c in cells if c) and sum(bool(c) for c in cells) >= 2:
        raise DataError(
            f"The first row of {name} ({', '.join(repr(c) for c in cells[:3])}{' ...' if len(cells) > 3 else ''}) "
            "holds values, not column names: the file has no header row. Add one (e.g. 'date,value')."
        )
    seen: dict[str, int] = {}
    for c in cells:
        if c:
            seen[c] = seen.get(c, 0) + 1
    dups = [c for c, n in seen.items() if n > 1]
    if dups:
        from forecaster.safeio import short_list

        raise DataError(
            f"The header of {name} names {'columns' if len(dups) > 1 else 'column'} "
            f"{short_list([repr(d) for d in dups], 3)} more than once. Give every column its own name."
        )


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
                f"Time column {time_col!r} not found in {name}. Columns: {_short_list_of(cols, 8)}. Pass one of them to --time-col."
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
        f"No time column found in {name}. Columns: {_short_list_of(cols, 8)}. Name the time column with --time-col."
    )


#: Unix epoch units by magnitude: integers in [lo, hi) are read in that unit (years 1973 .. 2286).
_EPOCH_UNITS = (("s", 1e8, 1e10), ("ms", 1e11, 1e13), ("us", 1e14, 1e16), ("ns", 1e17, 1e19))
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _epoch_times(values: pd.Series, label: str, name: str) -> pd.DatetimeIndex | None:
    """Integer Unix timestamps (seconds, milliseconds, ...) as UTC times, or None when they are not that."""
    nums = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_numeric_dtype(values) else values
    if nums.isna().any() or not np.all(np.mod(nums.to_numpy(dtype=np.float64), 1) == 0):
        return None
    lo, hi = float(nums.min()), float(nums.max())
    for unit, a, b in _EPOCH_UNITS:
        if a <= lo and hi < b:
            log.info("%s: time column %r read as Unix epoch %s (UTC)", Path(name).name, label,
                     {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}[unit])
            return pd.DatetimeIndex(pd.to_datetime(nums.astype(np.int64), unit=unit))
    return None


def _changing_offsets(text: pd.Series, label: str, name: str) -> pd.DatetimeIndex | None:
    """ISO 8601 times of one zone whose UTC offset changes (daylight saving time), or None.

    Two readings are possible: UTC (regular for hourly data across a change) and the
    local wall clock (regular for daily data at local midnight). The one with fewer
    distinct steps is kept (UTC on a tie) and the choice is reported.
    """
    try:
        utc = pd.DatetimeIndex(pd.to_datetime(text, utc=True, format="ISO8601")).tz_convert(None)
    except (ValueError, TypeError, OverflowError):
        return None
    offsets = text.str.extract(_OFFSET)[0]
    if offsets.isna().any():
        return None  # some times have no offset at all: genuinely mixed

    def minutes(o: str) -> int:
        if o == "Z":
            return 0
        o = o.replace(":", "")
        sign = -1 if o[0] == "-" else 1
        return sign * (int(o[1:3]) * 60 + int(o[3:5]))

    mins = offsets.map(minutes)
    distinct = sorted(set(mins))
    if len(distinct) != 2 or distinct[1] - distinct[0] > 60:
        return None  # not one zone's standard and daylight-saving offsets
    shift = pd.to_timedelta(mins.to_numpy(), unit="min")
    wall = pd.DatetimeIndex(utc + shift)

    def distinct_steps(idx: pd.DatetimeIndex) -> int:
        return len(np.unique(np.diff(idx.asi8))) if len(idx) > 1 else 0

    use_wall = distinct_steps(wall) < distinct_steps(utc)
    log.info("%s: time column %r has UTC offsets that change (daylight saving time); read as %s",
             Path(name).name, label, "local wall-clock time" if use_wall else "UTC")
    return wall if use_wall else utc


def _parse_times(values: pd.Series, label: str, name: str) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(values):
        idx = pd.DatetimeIndex(values)
    elif pd.api.types.is_integer_dtype(values) and (epoch := _epoch_times(values, label, name)) is not None:
        idx = epoch
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
                    warnings.simplefilter("ignore", FutureWarning)  # mixed offsets: handled below
                    idx = pd.DatetimeIndex(pd.to_datetime(text, **kwargs))
                if kwargs == {}:
                    idx = _resolve_day_order(idx, text)
                break
            except (ValueError, TypeError, OverflowError) as exc:
                if "mixed time" in str(exc).lower() or "tz-aware" in str(exc).lower() or "utc=true" in str(exc).lower():
                    idx = _changing_offsets(text, label, name)
                    if idx is not None:
                        break
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


