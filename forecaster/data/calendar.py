"""Frequencies and calendars: infer a series' step, and continue it into the future."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.exceptions import DataError

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



def future_index(last: pd.Timestamp, horizon: int, freq: str, trading_calendar: str | None = None) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after ``last`` on the series' own calendar.

    A business-day series with an exchange ``trading_calendar`` (``"XNYS"``)
    continues on that exchange's sessions (:mod:`forecaster.data.trading`);
    ``None``, ``"auto"`` or ``"weekdays"`` keep the frequency's own grid.

    >>> future_index(pd.Timestamp("2024-01-05"), 2, "B").strftime("%a %d").tolist()  # a Friday
    ['Mon 08', 'Tue 09']
    """
    if freq in ("B", "C") and trading_calendar not in (None, "auto", "weekdays"):
        from forecaster.data.trading import next_sessions

        index = next_sessions(last, horizon, trading_calendar)
    else:
        index = pd.date_range(start=last, periods=horizon + 1, freq=freq)[1:]
    # One resolution whatever ``last`` carries (pandas 3 parses a stored time as microseconds): a forecast
    # made from a loaded run has the same index as the one made before saving.
    return index.as_unit("ns")


#: Calendar cycles: feature name -> (position in the cycle, cycle length) from a DatetimeIndex.
_CYCLES = {
    "hour": (lambda idx: idx.hour + idx.minute / 60 + idx.second / 3600, 24.0),
    "weekday": (lambda idx: idx.dayofweek.to_numpy(dtype=float), 7.0),
    "yearday": (lambda idx: idx.dayofyear.to_numpy(dtype=float) - 1, 365.25),
    "month": (lambda idx: idx.month.to_numpy(dtype=float) - 1, 12.0),
    "quarter": (lambda idx: idx.quarter.to_numpy(dtype=float) - 1, 4.0),
}


def calendar_cycles(freq: str) -> tuple[str, ...]:
    """The calendar cycles worth encoding for a frequency: those longer than one step.

    >>> calendar_cycles("h"), calendar_cycles("B"), calendar_cycles("MS"), calendar_cycles("YS")
    (('hour', 'weekday'), ('weekday', 'yearday'), ('month',), ())
    """
    from forecaster.baselines import _parse_freq  # the one place frequency strings are parsed

    offset = _parse_freq(freq)
    if offset is None:
        return ()
    try:
        step = pd.Timedelta(offset)
    except (ValueError, TypeError):
        step = None
    if step is not None:  # fixed-length steps: minutes, hours, days
        if step < pd.Timedelta(days=1):
            return ("hour", "weekday")
        if step == pd.Timedelta(days=1):
            return ("weekday", "yearday")
        if step <= pd.Timedelta(days=7):
            return ("yearday",)
        return ()
    name = type(offset).__name__
    if name in ("BusinessDay", "CustomBusinessDay"):
        return ("weekday", "yearday")
    if name == "Week":
        return ("yearday",)
    if "Month" in name:
        return ("month",)
    if "Quarter" in name:
        return ("quarter",)
    return ()


def calendar_features(index: pd.DatetimeIndex, freq: str, *, cycles: bool = True, holidays=()) -> pd.DataFrame:
    """Sin/cos encodings of the calendar position of each timestamp, as known-future inputs.

    Columns ``cal_<cycle>_sin`` and ``cal_<cycle>_cos`` for each cycle of
    :func:`calendar_cycles` (hour of day and weekday for sub-daily data;
    weekday and day of year for daily data; day of year for weekly; month
    of year for monthly; quarter for quarterly; none for yearly). They depend
    only on the timestamp, so their future values are known exactly.
    ``holidays`` (country codes) add one 0/1 column ``hol_<CC>`` each
    (:func:`forecaster.data.trading.holiday_features`); ``cycles=False``
    leaves the sin/cos columns out.

    >>> calendar_features(pd.date_range("2024-01-01", periods=2, freq="MS"), "MS").round(3).to_dict("list")
    {'cal_month_sin': [0.0, 0.5], 'cal_month_cos': [1.0, 0.866]}
    """
    out = {}
    for cycle in calendar_cycles(freq) if cycles else ():
        position, length = _CYCLES[cycle]
        angle = 2 * np.pi * np.asarray(position(index), dtype=float) / length
        out[f"cal_{cycle}_sin"] = np.sin(angle)
        out[f"cal_{cycle}_cos"] = np.cos(angle)
    frame = pd.DataFrame(out, index=index)
    if holidays:
        from forecaster.data.trading import holiday_features

        frame = frame.join(holiday_features(index, holidays))
    return frame
