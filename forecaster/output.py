"""Tables for people and for programs: sensible rounding, CSV and JSON output, stdout or a file.

Every function here is generic over a DataFrame's columns, so an output that
gains columns (prediction intervals, quantiles) is written the same way.

>>> import pandas as pd
>>> f = pd.DataFrame({"y": [2495.837338, 2501.2]}, index=pd.to_datetime(["2019-01-02", "2019-01-03"]))
>>> rounded(f)["y"].tolist()
[2495.84, 2501.2]
>>> print(to_json(rounded(f).rename_axis("time")))
[{"time": "2019-01-02", "y": 2495.84}, {"time": "2019-01-03", "y": 2501.2}]
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Output formats of ``predict``, ``backtest`` and ``info``.
FORMATS = ("csv", "json")
#: Significant digits kept by :func:`rounded` (of the largest value of a column).
SIGNIFICANT = 6
#: The path that means standard output.
STDOUT = "-"


def decimals_for(values: Any, significant: int = SIGNIFICANT) -> int:
    """Decimals that keep ``significant`` digits of the largest absolute value (0..8).

    >>> decimals_for([2495.8373]), decimals_for([0.01234567]), decimals_for([1.5e7])
    (2, 7, 0)
    """
    arr = np.asarray(values, dtype=float)
    arr = np.abs(arr[np.isfinite(arr)])
    if arr.size == 0 or arr.max() == 0:
        return 2
    digits = math.floor(math.log10(arr.max())) + 1
    return int(min(8, max(0, significant - digits)))


def rounded(frame: pd.DataFrame, significant: int = SIGNIFICANT) -> pd.DataFrame:
    """A copy with every float column rounded to ``significant`` digits of its largest value.

    Forecasts in the units of the series: a price of 2495.837338 becomes 2495.84,
    a rate of 0.012345678 becomes 0.0123457. Integer and text columns are unchanged.
    """
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(decimals_for(out[col].to_numpy(), significant))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat() if (value.hour or value.minute or value.second or value.microsecond) else value.date().isoformat()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One dict per row, the index first (under its name, or ``index``); JSON-ready plain values."""
    flat = frame.reset_index() if frame.index.name is not None or not isinstance(frame.index, pd.RangeIndex) else frame
    return [{str(k): _plain(v) for k, v in row.items()} for row in flat.to_dict("records")]


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys (lists stay values).

    >>> flatten({"a": {"b": 1, "c": [2]}, "d": None})
    {'a.b': 1, 'a.c': [2], 'd': None}
    """
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def to_json(frame: pd.DataFrame) -> str:
    """The rows of ``frame`` as a JSON array of objects (NaN as null; dates ISO 8601)."""
    return json.dumps(records(frame), allow_nan=False)


def to_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text, index included (dates without a midnight time)."""
    return frame.to_csv(date_format=_date_format(frame.index))


def _date_format(index: pd.Index) -> str | None:
    if isinstance(index, pd.DatetimeIndex) and len(index) and (index == index.normalize()).all():
        return "%Y-%m-%d"
    return None


def render(frame: pd.DataFrame, fmt: str) -> str:
    """``frame`` as ``csv`` or ``json`` text."""
    if fmt not in FORMATS:
        raise ValueError(f"`fmt` must be one of {', '.join(FORMATS)}. Received: {fmt!r}")
    return to_json(frame) + "\n" if fmt == "json" else to_csv(frame)


def format_of(path: str | os.PathLike[str] | None, fmt: str | None) -> str:
    """The format asked for, else the one the file name ends with (``.json``), else CSV."""
    if fmt is not None:
        return fmt
    if path is not None and str(path) != STDOUT and Path(path).suffix.lower() == ".json":
        return "json"
    return "csv"


def write_text(text: str, path: str | os.PathLike[str]) -> str:
    """Write ``text`` to ``path`` atomically (a reader never sees half a file), or to stdout for ``-``.

    Returns what was written to, for the message (``"stdout"`` or the path).
    """
    if str(path) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return "stdout"
    from forecaster.safeio import atomic_write

    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "the output")
    return str(path)
