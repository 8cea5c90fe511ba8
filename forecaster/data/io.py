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

import numpy as np
import pandas as pd

from forecaster.exceptions import DataError

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


