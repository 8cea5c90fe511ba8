"""Loading and validating series: CSV reading (:mod:`.io`), the core types (:mod:`.core`), calendars (:mod:`.calendar`).

The core type is :class:`TimeSeries`: one or many validated :class:`Series`
with named column roles (target, past covariates, known-future covariates,
static attributes, series id). :func:`read_csv` and :func:`from_dataframe`
build it; :func:`load` and :func:`from_frame` build a single :class:`Series`.
"""

from forecaster.data.calendar import future_index, infer_frequency
from forecaster.data.core import (
    ID_COLUMN_NAMES,
    MAX_ABS_VALUE,
    LoadReport,
    Series,
    TimeSeries,
    as_timeseries,
    from_dataframe,
    from_frame,
    load,
    read_csv,
)

__all__ = [
    "ID_COLUMN_NAMES",
    "MAX_ABS_VALUE",
    "LoadReport",
    "Series",
    "TimeSeries",
    "as_timeseries",
    "from_dataframe",
    "from_frame",
    "future_index",
    "infer_frequency",
    "load",
    "read_csv",
]
