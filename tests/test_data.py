"""data.load / from_frame / infer_frequency: parsing, validation, gap filling, error messages."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecaster import data
from forecaster.data import Series, from_frame, infer_frequency, load
from forecaster.exceptions import DataError, ForecasterError

WriteFile = Callable[..., Path]


def _raises(message: str):
    """``pytest.raises`` for a DataError whose text contains ``message`` verbatim."""
    return pytest.raises(DataError, match=re.escape(message))


def _csv(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def _daily_rows(n: int = 10, start: str = "2024-01-01") -> list[str]:
    return [f"{d:%Y-%m-%d},{10 + (i * 7) % 5 + i / 10:.2f}" for i, d in enumerate(pd.date_range(start, periods=n))]


# ----------------------------------------------------------------------------
# Well-formed files
# ----------------------------------------------------------------------------
def test_daily_iso_dates(write_series_csv: Callable[..., Path]) -> None:
    path = write_series_csv("daily.csv", n=100, freq="D")
    s = load(path)
    assert isinstance(s, Series)
    assert s.freq == "D"
    assert s.target == "value" and s.features == ()
    assert s.kind == "series"
    assert len(s) == 100
    assert isinstance(s.index, pd.DatetimeIndex)
    assert s.index[0] == pd.Timestamp("2024-01-01") and s.index[-1] == pd.Timestamp("2024-04-09")
    assert s.index.is_monotonic_increasing and s.index.is_unique
    assert s.values.shape == (100, 1) and s.values.dtype == np.float64
    assert s.time_col == "date"
    assert s.report is not None
    assert (s.report.rows_read, s.report.delimiter, s.report.decimal) == (100, ",", ".")
    assert s.report.gap_rows_inserted == 0 and s.report.values_filled == 0
    assert s.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()
    assert s.source == str(path.resolve())
    expected = pd.read_csv(path)["value"].to_numpy()
    np.testing.assert_array_equal(s.values[:, 0], expected)


def test_target_first_then_features_in_given_order(write_series_csv: Callable[..., Path]) -> None:
    path = write_series_csv("multi.csv", n=60, freq="h", columns=("OT", "HUFL", "MUFL", "LUFL"))
    s = load(path, target="OT", features=["LUFL", "HUFL"])
    assert s.columns == ["OT", "LUFL", "HUFL"]
    assert list(s.frame.columns) == ["OT", "LUFL", "HUFL"]
    raw = pd.read_csv(path)
    np.testing.assert_array_equal(s.values, raw[["OT", "LUFL", "HUFL"]].to_numpy())
    # The target listed among the features is dropped from the features.
    assert load(path, target="OT", features=["OT", "HUFL"]).features == ("HUFL",)


def _price_file(write_file: WriteFile, holidays: list[str], *, adj: bool = True) -> tuple[Path, pd.DatetimeIndex]:
    days = pd.bdate_range("2023-12-01", "2024-03-29")
    days = days[~days.isin(pd.DatetimeIndex(holidays))]
    rows = []
    for i, d in enumerate(days):
        close = 180 + 3 * np.sin(i / 5) + i * 0.1
        adj_close = close * 0.99
        cells = [f"{d:%Y-%m-%d}", f"{close - 0.5:.6f}", f"{close + 1:.6f}", f"{close - 1:.6f}", f"{close:.6f}"]
        if adj:
            cells.append(f"{adj_close:.6f}")
        cells.append(str(50_000_000 + 1000 * i))
        rows.append(",".join(cells))
    header = "Date,Open,High,Low,Close,Adj Close,Volume" if adj else "Date,Open,High,Low,Close,Volume"
    return write_file("AAPL.csv", _csv(header, rows)), days


def test_business_day_prices_keep_trading_days(write_file: WriteFile) -> None:
    holidays = ["2023-12-25", "2024-01-01", "2024-01-15", "2024-02-19"]
    path, days = _price_file(write_file, holidays)
    s = load(path)
    assert s.target == "Adj Close"
    assert s.freq == "B"
    assert s.kind == "prices"
    assert s.features == ()
    # Holidays are not invented: rows stay the sequence of trading days.
    assert len(s) == len(days)
    assert s.index.equals(pd.DatetimeIndex(days, name=s.index.name))
    assert not s.index.isin(pd.DatetimeIndex(holidays)).any()
    assert s.report.gap_rows_inserted == 0
    assert s.report.values_filled == 0
    assert s.report.absent_business_days == len(holidays)
    assert any("market holidays" in line for line in s.report.lines())


def test_price_file_without_adj_close_uses_close(write_file: WriteFile) -> None:
    path, _ = _price_file(write_file, [], adj=False)
    s = load(path)
    assert (s.target, s.freq, s.kind) == ("Close", "B", "prices")
    assert s.report.absent_business_days == 0


def test_price_file_with_explicit_target_and_features(write_file: WriteFile) -> None:
    path, _ = _price_file(write_file, ["2024-01-01"])
    s = load(path, target="Close", features=["Volume"])
    assert s.columns == ["Close", "Volume"]
    assert s.kind == "prices"


def _hourly_with_gap(write_file: WriteFile) -> tuple[Path, pd.DataFrame]:
    idx = pd.date_range("2024-03-01", periods=48, freq="h")
    frame = pd.DataFrame({"value": np.round(np.linspace(10.0, 57.0, 48) ** 1.1, 4)}, index=idx)
    frame.index.name = "datetime"
    holed = frame.drop(index=idx[10])
    return write_file("hourly.csv", holed.to_csv(date_format="%Y-%m-%d %H:%M:%S")), frame


def test_hourly_gap_is_inserted_and_forward_filled(write_file: WriteFile) -> None:
    path, full = _hourly_with_gap(write_file)
    s = load(path)  # missing="ffill" is the default
    assert s.freq == "h"
    assert len(s) == 48
    assert s.index.equals(pd.DatetimeIndex(full.index, name=s.index.name))
    # Causal: the inserted hour repeats the hour before it.
    assert s.frame["value"].iloc[10] == full["value"].iloc[9]
    assert s.report.gap_rows_inserted == 1
    assert s.report.values_filled == 1
    other = np.delete(np.arange(48), 10)
    np.testing.assert_array_equal(s.values[other, 0], full["value"].to_numpy()[other])


def test_hourly_gap_interpolated_to_midpoint(write_file: WriteFile) -> None:
    path, full = _hourly_with_gap(write_file)
    s = load(path, missing="interpolate")
    midpoint = (full["value"].iloc[9] + full["value"].iloc[11]) / 2
    assert s.frame["value"].iloc[10] == pytest.approx(midpoint, rel=1e-12)
    assert s.report.gap_rows_inserted == 1 and s.report.values_filled == 1


def test_hourly_gap_with_error_policy_raises(write_file: WriteFile) -> None:
    path, _ = _hourly_with_gap(write_file)
    msg = (
        f"{path} has 1 missing values (1 from missing timestamps), the first in 'value' at 2024-03-01 10:00:00. "
        "Choose a policy with --missing ffill or --missing interpolate."
    )
    with _raises(msg):
        load(path, missing="error")


def test_unknown_missing_policy(write_series_csv: Callable[..., Path]) -> None:
    path = write_series_csv(n=20)
    with _raises("`missing` must be one of ffill, interpolate, error. Received: missing='drop'"):
        load(path, missing="drop")


def test_nan_inside_series_is_filled_causally(write_file: WriteFile) -> None:
    rows = _daily_rows(12)
    rows[5] = rows[5].split(",")[0] + ","
    rows[6] = rows[6].split(",")[0] + ",NA"
    path = write_file("nan.csv", _csv("date,value", rows))
    s = load(path)
    prev = float(rows[4].split(",")[1])
    assert s.frame["value"].iloc[5] == prev and s.frame["value"].iloc[6] == prev
    assert s.report.values_filled == 2 and s.report.gap_rows_inserted == 0


def test_leading_nan_rows_are_dropped_and_reported(write_file: WriteFile) -> None:
    idx = pd.date_range("2010-01-01", periods=40, freq="h")
    lines = []
    for i, t in enumerate(idx):
        pm = "NA" if i < 5 else str(100 + i)
        dewp = "" if i < 3 else str(-20 + i % 4)
        lines.append(f"{t:%Y-%m-%d %H:%M:%S},{pm},{dewp}")
    path = write_file("lead.csv", _csv("date,pm2.5,DEWP", lines))
    s = load(path, target="pm2.5", features=["DEWP"])
    assert s.report.leading_rows_dropped == 5
    assert len(s) == 35
    assert s.index[0] == idx[5]
    assert s.report.values_filled == 0
    assert any("dropped 5 leading rows" in line for line in s.report.lines())
    # Only the target is used: the feature's shorter lead does not matter.
    assert load(path, target="pm2.5").report.leading_rows_dropped == 5


AIRQUALITY_HEADER = "Date;Time;CO(GT);PT08.S1(CO);C6H6(GT);T;RH;AH;;"


def _airquality_text(start: str = "2004-03-10 18:00", periods: int = 30) -> tuple[str, pd.DatetimeIndex]:
    idx = pd.date_range(start, periods=periods, freq="h")
    lines = [AIRQUALITY_HEADER]
    for i, t in enumerate(idx):
        co = f"{2 + i % 3},{i % 10}"
        temp = f"{13 + i % 5},{i % 7}"
        lines.append(f"{t:%d/%m/%Y};{t:%H.%M.%S};{co};{1300 + i};{9 + i % 4},{i % 9};{temp};48,{i % 10};0,{7500 + i};;")
    # The original file ends with rows of separators only.
    lines += [";;;;;;;;;"] * 3
    return "\n".join(lines) + "\n", idx


def test_semicolon_decimal_comma_airquality_layout(write_file: WriteFile) -> None:
    text, idx = _airquality_text()
    path = write_file("AirQualityUCI.csv", text)
    s = load(path, target="T", features=["RH", "CO(GT)"])
    assert (s.report.delimiter, s.report.decimal) == (";", ",")
    assert s.time_col == "Date+Time"
    assert s.freq == "h"
    assert len(s) == 30 and s.report.rows_read == 30
    # Day first (10 March, not 3 October), also in an excerpt whose days all stay <= 12.
    assert s.index.equals(pd.DatetimeIndex(idx, name="Date+Time"))
    assert s.frame["T"].iloc[0] == 13.0 and s.frame["T"].iloc[1] == 14.1
    assert s.frame["CO(GT)"].iloc[2] == pytest.approx(4.2)
    assert s.frame["RH"].iloc[3] == pytest.approx(48.3)


def test_airquality_layout_with_unambiguous_days(write_file: WriteFile) -> None:
    text, idx = _airquality_text(start="2004-03-13 00:00", periods=50)
    s = load(write_file("aq.csv", text), target="AH")
    assert s.index[0] == pd.Timestamp("2004-03-13 00:00") and s.index[-1] == idx[-1]
    assert s.frame["AH"].iloc[0] == pytest.approx(0.75)


@pytest.mark.parametrize("periods", [20, 10])
def test_us_month_first_dates_stay_month_first(write_file: WriteFile, periods: int) -> None:
    # With 10 days every value is also a valid day-first date (2 Jan = 1 Feb, ...), read monthly.
    days = pd.date_range("2024-01-02", periods=periods)
    rows = [f"{d:%m/%d/%Y},{i * 1.5 + (i % 3)}" for i, d in enumerate(days)]
    s = load(write_file("us.csv", _csv("Date,value", rows)))
    assert s.freq == "D"
    assert s.index[0] == pd.Timestamp("2024-01-02") and s.index[-1] == days[-1]


def test_year_month_day_hour_columns(write_file: WriteFile) -> None:
    idx = pd.date_range("2010-01-01", periods=50, freq="h")
    wind = ["NW", "NE", "SE", "cv"]
    rows = [
        f"{i + 1},{t.year},{t.month},{t.day},{t.hour},{80 + (i * 13) % 40},{-20 + i % 5},{-10 + i % 3},"
        f"{1020 + i % 2},{wind[i % 4]},{1.79 * (i + 1):.2f},0,0"
        for i, t in enumerate(idx)
    ]
    header = "No,year,month,day,hour,pm2.5,DEWP,TEMP,PRES,cbwd,Iws,Is,Ir"
    path = write_file("pollution.csv", _csv(header, rows))
    s = load(path, target="pm2.5", features=["DEWP", "TEMP"])
    assert s.time_col == "year+month+day+hour"
    assert s.freq == "h"
    assert s.index.equals(pd.DatetimeIndex(idx, name=s.time_col))
    assert s.columns == ["pm2.5", "DEWP", "TEMP"]
    with _raises(f"Column 'cbwd' of {path} is not numeric: 'NW' at data row 1."):
        load(path, target="pm2.5", features=["cbwd"])
    with _raises(f"{path} has several numeric columns (No, pm2.5, DEWP, TEMP, PRES, Iws, Is, Ir)"):
        load(path)


def test_utf8_byte_order_mark(write_file: WriteFile) -> None:
    path = write_file("bom.csv", "\ufeff" + _csv("date,value", _daily_rows(10)))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    s = load(path)
    assert s.time_col == "date" and s.target == "value"
    assert s.freq == "D" and len(s) == 10


def test_weekly_saturday_with_gaps(write_series_csv: Callable[..., Path]) -> None:
    path = write_series_csv("weekly.csv", n=60, freq="W-SAT", start="1958-03-29", drop=(5, 20, 21))
    s = load(path)
    assert s.freq == "W-SAT"
    assert len(s) == 60
    assert s.report.gap_rows_inserted == 3 and s.report.values_filled == 3
    assert (s.index.dayofweek == 5).all()
    assert s.frame["value"].iloc[20] == s.frame["value"].iloc[19] == s.frame["value"].iloc[21]


def test_monthly_year_month_strings(write_file: WriteFile) -> None:
    months = pd.date_range("1949-01-01", periods=36, freq="MS")
    rows = [f'"{m:%Y-%m}",{112 + i * 3 + (i % 12) * 5}' for i, m in enumerate(months)]
    s = load(write_file("airline.csv", _csv('"Month","Passengers"', rows)))
    assert s.freq == "MS"
    assert s.time_col == "Month" and s.target == "Passengers"
    assert s.index.equals(pd.DatetimeIndex(months, name="Month"))


def test_monthly_start_with_gap(write_series_csv: Callable[..., Path]) -> None:
    path = write_series_csv("monthly.csv", n=48, freq="MS", start="2000-01-01", drop=(7,))
    s = load(path)
    assert s.freq == "MS"
    assert len(s) == 48 and s.report.gap_rows_inserted == 1
    assert s.index[7] == pd.Timestamp("2000-08-01")


def test_five_minute_with_gap(write_series_csv: Callable[..., Path]) -> None:
    path = write_series_csv("yosemite.csv", n=200, freq="5min", start="2017-05-01", time_col="ds", columns=("y",), drop=(50, 51))
    s = load(path)
    assert s.freq == "5min"
    assert len(s) == 200 and s.report.gap_rows_inserted == 2
    assert s.time_col == "ds" and s.target == "y"


def test_explicit_time_column(write_file: WriteFile) -> None:
    rows = [f"{i},{d:%Y-%m-%d},{i * 2.5 + (i % 3)}" for i, d in enumerate(pd.date_range("2024-01-01", periods=10))]
    s = load(write_file("x.csv", _csv("id,when,y", rows)), time_col="when", target="y")
    assert s.time_col == "when" and s.freq == "D"


def test_tab_delimited(write_file: WriteFile) -> None:
    rows = [r.replace(",", "\t") for r in _daily_rows(10)]
    s = load(write_file("tab.tsv", _csv("date\tvalue", rows)))
    assert s.report.delimiter == "\t" and len(s) == 10


# ----------------------------------------------------------------------------
# Errors: every one a DataError with a stable message
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"\n\n   \n"])
def test_empty_file(write_file: WriteFile, content: bytes) -> None:
    path = write_file("empty.csv", content)
    with _raises(f"{path} is empty. Supply a CSV with a header row and data rows."):
        load(path)


def test_header_only(write_file: WriteFile) -> None:
    path = write_file("header.csv", "date,value\n")
    with _raises(f"{path} has a header but no data rows."):
        load(path)


def test_single_column(write_file: WriteFile) -> None:
    path = write_file("one.csv", _csv("date", ["2024-01-01", "2024-01-02", "2024-01-03"]))
    with _raises(f"{path} has a single column 'date': a time column and a value column are needed."):
        load(path)


def test_binary_bytes(write_file: WriteFile) -> None:
    path = write_file("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    with _raises(f"{path} looks like a binary file, not CSV text. Supply a UTF-8 CSV file."):
        load(path)


def test_non_utf8_text(write_file: WriteFile) -> None:
    text = _csv("date;température", ["2024-01-01;1,5", "2024-01-02;2,5", "2024-01-03;1,0"])
    path = write_file("latin1.csv", text, encoding="cp1252")
    offset = text.encode("cp1252").index("é".encode("cp1252"))
    with _raises(f"{path} is not UTF-8 text (undecodable byte at offset {offset}). Re-save the file as UTF-8."):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with _raises(f"File not found: {path}. Check the path."):
        load(path)


def test_directory(tmp_path: Path) -> None:
    with _raises(f"{tmp_path} is a directory, not a CSV file. Pass the path of a CSV file."):
        load(tmp_path)


def test_no_time_column(write_file: WriteFile) -> None:
    path = write_file("plain.csv", _csv("a,b", ["1.0,2.0", "3.0,4.5", "5.0,6.0", "7.5,8.0"]))
    with _raises(f"No time column found in {path}. Columns: a, b. Name the time column with --time-col."):
        load(path)


def test_named_time_column_missing(write_file: WriteFile) -> None:
    path = write_file("d.csv", _csv("date,value", _daily_rows(5)))
    with _raises(f"Time column 'when' not found in {path}. Columns: date, value. Pass one of them to --time-col."):
        load(path, time_col="when")


def test_unparsable_date(write_file: WriteFile) -> None:
    rows = _daily_rows(6)
    rows[3] = "not a date,3.0"
    path = write_file("bad_date.csv", _csv("date,value", rows))
    with _raises(f"Cannot parse 'not a date' in time column 'date' of {path} (data row 4) as a date."):
        load(path)


def test_empty_timestamp(write_file: WriteFile) -> None:
    rows = _daily_rows(6)
    rows[2] = ",3.0"
    path = write_file("blank_date.csv", _csv("date,value", rows))
    with _raises(f"Time column 'date' of {path} is empty at data row 3. Every row needs a timestamp."):
        load(path)


def test_utc_offsets_changing_at_daylight_saving_time_are_read_as_utc(write_file: WriteFile) -> None:
    # Hourly, Europe/Berlin: +01:00 until 02:00 local on 31 March 2024, then +02:00.
    rows = ["2024-03-30T22:00:00+01:00,1.0", "2024-03-30T23:00:00+01:00,2.0", "2024-03-31T00:00:00+01:00,1.2",
            "2024-03-31T01:00:00+01:00,1.4", "2024-03-31T03:00:00+02:00,1.5", "2024-03-31T04:00:00+02:00,2.5"]
    path = write_file("tz.csv", _csv("time,value", rows))
    s = load(path)
    assert s.freq == "h" and len(s) == 6 and str(s.index[0]) == "2024-03-30 21:00:00"


def test_mixed_utc_offsets(write_file: WriteFile) -> None:
    # Offsets five hours apart are not one zone's daylight saving time.
    rows = ["2024-03-30T22:00:00+01:00,1.0", "2024-03-30T23:00:00+01:00,2.0", "2024-03-31T01:00:00+06:00,1.5",
            "2024-03-31T02:00:00+06:00,2.5"]
    path = write_file("tz.csv", _csv("time,value", rows))
    with _raises(f"Time column 'time' of {path} mixes time zones or UTC offsets."):
        load(path)


def test_duplicate_timestamp(write_file: WriteFile) -> None:
    rows = _daily_rows(6)
    rows.insert(3, "2024-01-03,9.0")
    path = write_file("dup.csv", _csv("date,value", rows))
    with _raises(f"Duplicate timestamp 2024-01-03 00:00:00 in {path} (data rows 3 and 4). Remove or aggregate duplicate rows."):
        load(path)


def test_unsorted_rows(write_file: WriteFile) -> None:
    rows = _daily_rows(6)
    rows[2], rows[3] = rows[3], rows[2]
    path = write_file("unsorted.csv", _csv("date,value", rows))
    msg = (
        f"Rows of {path} are not in time order: data row 4 (2024-01-03 00:00:00) comes before "
        "data row 3 (2024-01-04 00:00:00). Sort the file by its time column."
    )
    with _raises(msg):
        load(path)


def test_irregular_spacing(write_file: WriteFile) -> None:
    times = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 02:00", "2024-01-01 05:00", "2024-01-01 07:00",
                              "2024-01-01 10:00"])
    rows = [f"{t:%Y-%m-%d %H:%M:%S},{i + 0.5}" for i, t in enumerate(times)]
    path = write_file("irregular.csv", _csv("time,value", rows))
    with _raises(f"{path} has irregular time steps (between 0 days 02:00:00 and 0 days 03:00:00)"):
        load(path)


def test_too_sparse_for_its_frequency(write_file: WriteFile) -> None:
    days = list(pd.date_range("2024-01-01", periods=5)) + [pd.Timestamp("2024-12-31")]
    rows = [f"{d:%Y-%m-%d},{i * 1.1}" for i, d in enumerate(days)]
    path = write_file("sparse.csv", _csv("date,value", rows))
    with _raises(f"{path} would need 360 missing 'D' timestamps inserted, more than it has rows."):
        load(path)


def test_too_few_rows(write_file: WriteFile) -> None:
    path = write_file("two.csv", _csv("date,value", _daily_rows(2)))
    with _raises(f"{path} has 2 rows; at least 3 are needed to infer its frequency."):
        load(path)


def test_missing_target(write_file: WriteFile) -> None:
    path = write_file("d.csv", _csv("date,value", _daily_rows(5)))
    with _raises(f"Target column 'Close' not found in {path}. Columns: value. Pass one to --target."):
        load(path, target="Close")


def test_missing_feature(write_file: WriteFile) -> None:
    path = write_file("d.csv", _csv("date,value", _daily_rows(5)))
    with _raises(f"Feature column 'volume' not found in {path}. Columns: value."):
        load(path, features=["volume"])


def test_non_numeric_target(write_file: WriteFile) -> None:
    rows = _daily_rows(6)
    rows[4] = "2024-01-05,12.5kg"
    path = write_file("text.csv", _csv("date,value", rows))
    with _raises(f"Column 'value' of {path} is not numeric: '12.5kg' at data row 5."):
        load(path)


def test_boolean_column(write_file: WriteFile) -> None:
    rows = [f"{r},{'True' if i % 2 else 'False'}" for i, r in enumerate(_daily_rows(6))]
    path = write_file("bool.csv", _csv("date,value,flag", rows))
    with _raises(f"Column 'flag' of {path} is boolean, not numeric."):
        load(path, target="value", features=["flag"])


@pytest.mark.parametrize("cell", ["", "NA", "?"])
def test_all_nan_target(write_file: WriteFile, cell: str) -> None:
    rows = [f"{r},{cell}" for r in _daily_rows(6)]
    path = write_file("allnan.csv", _csv("date,other,value", rows))
    with _raises(f"Column 'value' of {path} has no values (all missing)."):
        load(path, target="value")


def test_all_empty_column_is_not_a_target_candidate(write_file: WriteFile) -> None:
    rows = [f"{r}," for r in _daily_rows(6)]
    s = load(write_file("notes.csv", _csv("date,value,notes", rows)))
    assert s.target == "value"


def test_no_numeric_column(write_file: WriteFile) -> None:
    rows = [f"{d:%Y-%m-%d},{c}" for d, c in zip(pd.date_range("2024-01-01", periods=5), "abcde")]
    path = write_file("cat.csv", _csv("date,label", rows))
    # The only candidate column is taken as the target, so the error names the first bad cell.
    with _raises(f"Column 'label' of {path} is not numeric: 'a' at data row 1."):
        load(path)


def test_constant_target(write_file: WriteFile) -> None:
    rows = [f"{d:%Y-%m-%d},5" for d in pd.date_range("2024-01-01", periods=8)]
    path = write_file("const.csv", _csv("date,value", rows))
    with _raises(f"Target 'value' of {path} is constant (5); there is nothing to forecast."):
        load(path)


@pytest.mark.parametrize("bad", ["inf", "-inf", "Infinity"])
def test_infinite_value(write_file: WriteFile, bad: str) -> None:
    rows = _daily_rows(8)
    rows[3] = f"2024-01-04,{bad}"
    path = write_file("inf.csv", _csv("date,value", rows))
    with _raises(f"Column 'value' of {path} contains inf. Replace infinite values or drop the column."):
        load(path)


def test_infinite_value_in_feature(write_file: WriteFile) -> None:
    rows = [f"{r},{'inf' if i == 2 else i}" for i, r in enumerate(_daily_rows(8))]
    path = write_file("inf2.csv", _csv("date,value,x", rows))
    with _raises(f"Column 'x' of {path} contains inf."):
        load(path, target="value", features=["x"])


def test_huge_values(write_file: WriteFile) -> None:
    rows = _daily_rows(8)
    rows[5] = "2024-01-06,2.5e31"
    path = write_file("huge.csv", _csv("date,value", rows))
    with _raises(f"Column 'value' of {path} has values beyond ±1e+30, too large to train in float32."):
        load(path)


def test_several_numeric_columns_need_a_target(write_series_csv: Callable[..., Path]) -> None:
    path = write_series_csv("multi.csv", n=20, columns=("HUFL", "HULL", "OT"))
    with _raises(f"{path} has several numeric columns (HUFL, HULL, OT); choose the one to forecast with --target."):
        load(path)
    # Columns passed as features are not target candidates.
    with _raises(f"{path} has several numeric columns (HULL, OT)"):
        load(path, features=["HUFL"])


def test_all_errors_are_forecaster_errors(tmp_path: Path) -> None:
    with pytest.raises(ForecasterError):
        load(tmp_path / "missing.csv")
    with pytest.raises(ValueError):
        load(tmp_path / "missing.csv")


# ----------------------------------------------------------------------------
# from_frame and infer_frequency
# ----------------------------------------------------------------------------
def test_from_frame_with_datetime_index() -> None:
    idx = pd.date_range("2024-01-01", periods=30, freq="h", name="when")
    df = pd.DataFrame({"y": np.arange(30.0) ** 1.5, "x": np.cos(np.arange(30))}, index=idx)
    before = df.copy()
    s = from_frame(df, target="y", features=["x"])
    assert s.freq == "h" and s.time_col == "when" and s.columns == ["y", "x"]
    np.testing.assert_array_equal(s.values, df[["y", "x"]].to_numpy())
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is not modified
    assert from_frame(df, target="y", features=["x"]).fingerprint == s.fingerprint
    changed = df.copy()
    changed.iloc[3, 0] += 1
    assert from_frame(changed, target="y", features=["x"]).fingerprint != s.fingerprint


def test_from_frame_with_time_column_validates_like_load() -> None:
    df = pd.DataFrame({"date": ["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03"], "v": [1.0, 2.0, 3.0, 4.0]})
    with _raises("Duplicate timestamp 2024-01-02 00:00:00 in <DataFrame> (data rows 2 and 3)."):
        from_frame(df)


def test_from_frame_rejects_non_frames() -> None:
    with _raises("Expected a pandas DataFrame. Received: list"):
        from_frame([1, 2, 3])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "index, expected",
    [
        (pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04"]), "D"),
        (pd.date_range("2024-01-01", periods=10, freq="h"), "h"),
        (pd.date_range("2024-01-01", periods=10, freq="5min"), "5min"),
        (pd.date_range("2024-01-01", periods=10, freq="15min").delete(4), "15min"),
        (pd.bdate_range("2024-01-01", periods=30).delete([5, 12]), "B"),
        (pd.date_range("2024-01-01", periods=24, freq="MS").delete(3), "MS"),
        (pd.date_range("2024-01-31", periods=24, freq="ME").delete(3), "ME"),
        (pd.date_range("2024-01-01", periods=12, freq="QS").delete(3), "QS"),
        (pd.date_range("2024-01-06", periods=20, freq="W-SAT").delete([2, 3]), "W-SAT"),
        (pd.date_range("2024-01-01", periods=20, freq="2D").delete(7), "2D"),
    ],
)
def test_infer_frequency_tolerates_gaps(index: pd.DatetimeIndex, expected: str) -> None:
    assert infer_frequency(index) == expected


def test_infer_frequency_errors() -> None:
    with _raises("the series has 2 rows; at least 3 are needed to infer its frequency."):
        infer_frequency(pd.date_range("2024-01-01", periods=2))
    with _raises("x has irregular time steps"):
        infer_frequency(pd.DatetimeIndex(["2024-01-01", "2024-01-03", "2024-01-06"]), "x")


def test_report_lines_list_every_change(write_file: WriteFile) -> None:
    path, _ = _hourly_with_gap(write_file)
    lines = load(path).report.lines()
    assert lines[0].startswith("read 47 rows (delimiter ',', decimal '.', time column 'datetime')")
    assert "inserted 1 missing timestamps to complete the grid" in lines
    assert "filled 1 missing values" in lines


def test_public_names() -> None:
    assert set(data.__all__) == {
        "ID_COLUMN_NAMES", "MAX_ABS_VALUE", "LoadReport", "Series", "TimeSeries", "as_timeseries", "from_dataframe",
        "from_frame", "future_index", "infer_frequency", "load", "read_csv",
    }


# ----------------------------------------------------------------------------
# The real data sets beside the project (skipped when absent)
# ----------------------------------------------------------------------------
REAL_FILES = [
    # file, load kwargs, freq, target, kind, rows after loading
    ("ETTh1.csv", {"target": "OT"}, "h", "OT", "series", 17420),
    ("pollution.csv", {"target": "pm2.5"}, "h", "pm2.5", "series", 43800),
    ("AirQualityUCI.csv", {"target": "T"}, "h", "T", "series", 9357),
    ("example_yosemite_temps.csv", {}, "5min", "y", "series", 18721),
    ("yahoofinance-AAPL-20040819-20180120.csv", {}, "B", "Adj Close", "prices", 3379),
    ("wti-daily.csv", {}, "B", "Price", "prices", 10226),
    ("daily-min-temperatures.csv", {}, "D", "Temp", "series", 3652),
    ("monthly-sunspots.csv", {}, "MS", "Sunspots", "series", 2820),
    ("airline-passengers.csv", {}, "MS", "Passengers", "series", 144),
]


@pytest.mark.parametrize("name, kwargs, freq, target, kind, rows", REAL_FILES, ids=[r[0] for r in REAL_FILES])
def test_real_files_load(
    shared_data: Path, name: str, kwargs: dict, freq: str, target: str, kind: str, rows: int
) -> None:
    s = load(shared_data / name, **kwargs)
    assert s.freq == freq
    assert s.target == target
    assert s.kind == kind
    assert len(s) == rows
    assert s.index.is_monotonic_increasing and s.index.is_unique
    assert np.isfinite(s.values).all()


def test_real_daily_min_temperatures_fills_two_days(shared_data: Path) -> None:
    s = load(shared_data / "daily-min-temperatures.csv")
    assert s.report.rows_read == 3650
    assert s.report.gap_rows_inserted == 2 and s.report.values_filled == 2
    for day in ("1984-12-31", "1988-12-31"):
        pos = s.index.get_loc(pd.Timestamp(day))
        assert s.frame["Temp"].iloc[pos] == s.frame["Temp"].iloc[pos - 1]


def test_real_pollution_drops_leading_na_day(shared_data: Path) -> None:
    s = load(shared_data / "pollution.csv", target="pm2.5", features=["DEWP", "TEMP", "PRES"])
    assert s.report.leading_rows_dropped == 24
    assert s.index[0] == pd.Timestamp("2010-01-02 00:00")
    assert s.report.values_filled == 2067 - 24


def test_real_airquality_parses_day_first(shared_data: Path) -> None:
    s = load(shared_data / "AirQualityUCI.csv", target="T")
    assert s.index[0] == pd.Timestamp("2004-03-10 18:00")
    assert s.index[-1] == pd.Timestamp("2005-04-04 14:00")
    assert (s.report.delimiter, s.report.decimal) == (";", ",")


def test_real_aapl_absent_business_days(shared_data: Path) -> None:
    s = load(shared_data / "yahoofinance-AAPL-20040819-20180120.csv")
    assert s.report.absent_business_days == 123
    assert s.frame["Adj Close"].iloc[0] == pytest.approx(1.966391)


def test_real_exchange_rate_has_no_header_row(shared_data: Path) -> None:
    # Its first line is data: read as column names it would be lost (and no time column found).
    with pytest.raises(DataError, match=re.escape("holds values, not column names: the file has no header row")):
        load(shared_data / "exchange_rate.txt")


def test_na_values_sentinel_follows_missing_policy(tmp_path) -> None:
    rows = [f"{d:%Y-%m-%d},{v}" for d, v in zip(pd.date_range("2024-01-01", periods=6), [1.0, 2.0, -200, 4.0, 5.0, 6.0])]
    path = tmp_path / "sentinel.csv"
    path.write_text(_csv("date,value", rows))
    assert load(path).frame["value"].iloc[2] == -200  # without the option it is a reading
    filled = load(path, na_values=["-200"])
    assert filled.frame["value"].iloc[2] == 2.0 and filled.report.values_filled == 1
    with pytest.raises(DataError, match="Choose a policy with --missing"):
        load(path, na_values=["-200"], missing="error")
