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



def future_index(last: pd.Timestamp, horizon: int, freq: str) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after ``last`` on the series' own calendar.

    >>> future_index(pd.Timestamp("2024-01-05"), 2, "B").strftime("%a %d").tolist()  # a Friday
    ['Mon 08', 'Tue 09']
    """
    return pd.date_range(start=last, periods=horizon + 1, freq=freq)[1:]
