"""Checks on the sample data sets committed under data/ (see data/README.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PRICES = DATA_DIR / "prices.csv"
CO2 = DATA_DIR / "co2.csv"

PRICE_COLUMNS = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
PRICE_ROWS = 5031
PRICE_FIRST, PRICE_LAST = "1999-01-04", "2018-12-31"

CO2_COLUMNS = ["date", "co2"]
CO2_ROWS = 2284
CO2_NAN_WEEKS = 59
CO2_FIRST, CO2_LAST = "1958-03-29", "2001-12-29"


def _read(path: Path, date_col: str) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame[date_col] = pd.to_datetime(frame[date_col], format="%Y-%m-%d")
    return frame


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return _read(PRICES, "Date")


@pytest.fixture(scope="module")
def co2() -> pd.DataFrame:
    return _read(CO2, "date")


def _check_dates(dates: pd.Series, first: str, last: str) -> None:
    assert dates.notna().all()
    assert dates.is_unique
    assert dates.is_monotonic_increasing
    assert (dates.diff().dropna() > pd.Timedelta(0)).all()
    assert dates.iloc[0] == pd.Timestamp(first)
    assert dates.iloc[-1] == pd.Timestamp(last)


def test_prices_header_and_shape(prices: pd.DataFrame) -> None:
    with PRICES.open(encoding="utf-8", newline="") as fh:
        assert fh.readline() == ",".join(PRICE_COLUMNS) + "\n"
    assert list(prices.columns) == PRICE_COLUMNS
    assert len(prices) == PRICE_ROWS


def test_prices_dates(prices: pd.DataFrame) -> None:
    _check_dates(prices["Date"], PRICE_FIRST, PRICE_LAST)
    assert (prices["Date"].dt.day_of_week < 5).all()  # trading days only


def test_prices_values(prices: pd.DataFrame) -> None:
    values = prices[PRICE_COLUMNS[1:]]
    assert not values.isna().any().any()
    assert all(np.issubdtype(dtype, np.number) for dtype in values.dtypes)
    assert (prices["Adj Close"] > 0).all()
    assert (prices["Volume"] > 0).all()
    assert (prices["High"] >= prices[["Open", "Close", "Low"]].max(axis=1)).all()
    assert (prices["Low"] <= prices[["Open", "Close", "High"]].min(axis=1)).all()


def test_co2_header_and_shape(co2: pd.DataFrame) -> None:
    with CO2.open(encoding="utf-8", newline="") as fh:
        assert fh.readline() == ",".join(CO2_COLUMNS) + "\n"
    assert list(co2.columns) == CO2_COLUMNS
    assert len(co2) == CO2_ROWS


def test_co2_dates_weekly_saturdays(co2: pd.DataFrame) -> None:
    _check_dates(co2["date"], CO2_FIRST, CO2_LAST)
    assert (co2["date"].dt.day_of_week == 5).all()
    assert (co2["date"].diff().dropna() == pd.Timedelta(days=7)).all()


def test_co2_keeps_nan_gaps(co2: pd.DataFrame) -> None:
    assert int(co2["co2"].isna().sum()) == CO2_NAN_WEEKS
    assert co2["co2"].notna().sum() == CO2_ROWS - CO2_NAN_WEEKS
    observed = co2["co2"].dropna()
    assert observed.between(300, 400).all()
    # NaN rows are written as empty cells, not as a sentinel string.
    text = CO2.read_text(encoding="utf-8")
    assert text.count(",\n") == CO2_NAN_WEEKS
    assert "nan" not in text.lower()


def _load_make_data():
    path = DATA_DIR / "make_data.py"
    spec = importlib.util.spec_from_file_location("forecaster_make_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_data_reproduces_committed_files(tmp_path: Path) -> None:
    pytest.importorskip("arch")
    pytest.importorskip("statsmodels")
    make_data = _load_make_data()
    written = make_data.write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted([PRICES.name, CO2.name])
    for path in written:
        committed = DATA_DIR / path.name
        assert path.read_bytes() == committed.read_bytes(), (
            f"{path.name} differs from the committed file; "
            "rerun `python data/make_data.py` and review the diff"
        )
