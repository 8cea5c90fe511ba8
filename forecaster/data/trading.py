"""Exchange trading calendars and public holidays.

**Trading calendars** decide which days follow the end of a business-day
series: ``weekdays`` (Monday to Friday, pandas' ``B``) or the sessions of an
exchange from the ``exchange_calendars`` package (``XNYS`` New York, ``XLON``
London, ``XTKS`` Tokyo, ...), so a forecast of S&P 500 closes made on
2018-12-31 skips the 2019-01-01 market holiday. ``auto`` (the default) picks
an exchange for price files whose rows match its sessions (:func:`choose`).

**Holidays** (``holidays`` package) become known-future model inputs: a
``hol_<CC>`` column that is 1 on the public holidays of country ``CC`` (an
ISO 3166 code, optionally with a subdivision: ``US``, ``GB``, ``DE-BY``),
0 otherwise; its future values are known, so the model sees the holidays in
its horizon.

Both packages are imported when used only, with a clear error when missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecaster.exceptions import ConfigError, DataError

#: Exchanges ``auto`` tries for a business-day price file, in order.
AUTO_EXCHANGES = ("XNYS", "XLON", "XTSE", "XFRA", "XTKS", "XHKG", "XASX")
#: Share of the data's rows (and of the exchange's sessions over them) that must agree for ``auto`` to pick it.
AUTO_AGREEMENT = 0.99
#: ``auto`` looks at the last rows only (recent calendars matter; older ones may have differed).
AUTO_ROWS = 750
#: Non-exchange calendar names.
WEEKDAYS = "weekdays"
AUTO = "auto"


def _xcals():
    try:
        import exchange_calendars
    except ImportError:
        raise ConfigError(
            "Exchange calendars need the `exchange_calendars` package, which is not installed. "
            "Install it (pip install exchange_calendars) or use --calendar weekdays."
        ) from None
    return exchange_calendars


def _holidays_pkg():
    try:
        import holidays
    except ImportError:
        raise ConfigError(
            "Holiday features need the `holidays` package, which is not installed. "
            "Install it (pip install holidays) or leave out --holidays."
        ) from None
    return holidays


def check_calendar_name(name: str) -> str:
    """``auto``, ``weekdays`` or a known exchange code (upper-cased); anything else is a ConfigError."""
    key = str(name).strip()
    if key.lower() in (AUTO, WEEKDAYS):
        return key.lower()
    code = key.upper()
    names = _xcals().get_calendar_names(include_aliases=True)
    if code not in names:
        close = [n for n in names if n.startswith(code[:2])][:6]
        raise ConfigError(
            f"`trading_calendar` must be auto, weekdays or an exchange code of exchange_calendars (XNYS, XLON, XTKS, ...). "
            f"Received: {name!r}" + (f". Close: {', '.join(close)}" if close else "")
        )
    return code


def _sessions(code: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    xcals = _xcals()
    try:
        cal = xcals.get_calendar(code, start=start.normalize(), end=end.normalize())
    except Exception as exc:  # the package's own errors (dates outside its bounds) have many classes
        raise DataError(
            f"The {code} calendar does not cover {start.date()} .. {end.date()} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}). Use --calendar weekdays."
        ) from None
    return pd.DatetimeIndex(cal.sessions).tz_localize(None) if cal.sessions.tz is not None else pd.DatetimeIndex(cal.sessions)


def choose(index: pd.DatetimeIndex, freq: str, requested: str, *, prices: bool) -> tuple[str, str]:
    """The trading calendar of a series and why: ``(name, reason)``.

    ``requested`` ``weekdays`` or an exchange code is taken as given (an exchange needs
    a business-day series). ``auto``: an exchange for a business-day *price* file when
    at least 99% of its last 750 rows are sessions of that exchange and at least 99% of
    the exchange's sessions over those dates are rows (tried in :data:`AUTO_EXCHANGES`
    order); otherwise ``weekdays``. Series of other frequencies keep their own calendar
    (``weekdays`` is recorded, and means nothing for them).
    """
    requested = check_calendar_name(requested) if requested.lower() != AUTO else AUTO
    business = freq in ("B", "C")
    if requested == WEEKDAYS:
        return WEEKDAYS, "given"
    if requested != AUTO:
        if not business:
            raise ConfigError(
                f"`trading_calendar` {requested} applies to business-day series; this one has frequency {freq!r}. "
                "Use --calendar auto or weekdays."
            )
        return requested, "given"
    if not business:
        return WEEKDAYS, f"frequency {freq!r} is not business days"
    if not prices:
        return WEEKDAYS, "not a price file"
    try:
        _xcals()
    except ConfigError:
        return WEEKDAYS, "exchange_calendars is not installed"
    recent = pd.DatetimeIndex(index[-AUTO_ROWS:]).normalize()
    absent = len(pd.bdate_range(recent[0], recent[-1])) - len(recent)
    if absent < 3 * len(recent) / 260:  # every exchange closes on several weekdays a year
        return WEEKDAYS, f"the price file has a row on nearly every weekday ({absent} missing in its last {len(recent)} rows)"
    for code in AUTO_EXCHANGES:
        try:
            sessions = _sessions(code, recent[0], recent[-1])
        except DataError:
            continue
        rows_in = float(np.mean(recent.isin(sessions)))
        sessions_in = float(np.mean(sessions.isin(recent))) if len(sessions) else 0.0
        if rows_in >= AUTO_AGREEMENT and sessions_in >= AUTO_AGREEMENT:
            return code, (f"the price file's last {len(recent)} rows match {code} sessions "
                          f"({rows_in:.1%} of rows are sessions, {sessions_in:.1%} of sessions are rows)")
    return WEEKDAYS, "no exchange calendar matches the rows of this price file"


def next_sessions(last: pd.Timestamp, horizon: int, code: str) -> pd.DatetimeIndex:
    """The ``horizon`` sessions of exchange ``code`` after ``last`` (at ``last``'s time of day)."""
    last = pd.Timestamp(last)
    end = last + pd.Timedelta(days=2 * horizon + 20)
    sessions = _sessions(code, last - pd.Timedelta(days=7), end)
    after = sessions[sessions > last.normalize()][:horizon]
    if len(after) < horizon:
        raise DataError(
            f"The {code} calendar has only {len(after)} sessions after {last.date()} (it ends {sessions[-1].date()}); "
            f"{horizon} are needed. Update exchange_calendars or use --calendar weekdays."
        )
    offset = last - last.normalize()
    return pd.DatetimeIndex(after + offset, name=None)


def check_holidays(codes) -> tuple[str, ...]:
    """Validate holiday country codes (``US``, ``GB``, ``DE-BY``); returns them upper-cased."""
    if not codes:
        return ()
    pkg = _holidays_pkg()
    out = []
    for code in codes:
        country, _, subdiv = str(code).strip().partition("-")
        try:
            pkg.country_holidays(country.upper(), subdiv=subdiv.upper() or None, years=2020)
        except NotImplementedError:
            raise ConfigError(
                f"`holidays` lists {code!r}, which the holidays package does not know. Use ISO 3166 country codes "
                "such as US, GB, DE (a subdivision after a dash: US-CA)."
            ) from None
        out.append(country.upper() + (f"-{subdiv.upper()}" if subdiv else ""))
    return tuple(out)


def holiday_column(code: str) -> str:
    """The feature name of country ``code``'s holidays: ``hol_US``, ``hol_DE_BY``."""
    return "hol_" + code.replace("-", "_")


def holiday_features(index: pd.DatetimeIndex, codes) -> pd.DataFrame:
    """One 0/1 column per country code: 1 where the timestamp's date is a public holiday there.

    >>> holiday_features(pd.DatetimeIndex(["2024-12-24", "2024-12-25"]), ["GB"])["hol_GB"].tolist()
    [0.0, 1.0]
    """
    codes = tuple(codes or ())
    out = {}
    if codes:
        pkg = _holidays_pkg()
        dates = pd.DatetimeIndex(index).normalize()
        years = list(range(int(dates.year.min()), int(dates.year.max()) + 1)) if len(dates) else []
        for code in codes:
            country, _, subdiv = code.partition("-")
            days = pkg.country_holidays(country, subdiv=subdiv or None, years=years)
            marked = pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in days))
            out[holiday_column(code)] = dates.isin(marked).astype(float)
    return pd.DataFrame(out, index=index)
