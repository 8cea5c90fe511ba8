"""Regenerate the bundled sample data sets in this directory.

    pip install -e ".[data]"
    python data/make_data.py

Writes, next to this script:

* ``prices.csv`` -- daily S&P 500 OHLC / Adj Close / Volume, 1999-2018, from
  ``arch.data.sp500.load()``. Values are written exactly as in the CSV shipped
  inside ``arch`` (full precision, integral floats without a trailing ``.0``);
  only the date format (M/D/YYYY -> YYYY-MM-DD) and line endings (CRLF -> LF)
  differ from the packaged file.
* ``co2.csv`` -- weekly (Saturday) Mauna Loa CO2, 1958-2001, from
  ``statsmodels.datasets.co2.load_pandas().data``. Missing weeks are kept as
  empty cells; nothing is dropped or filled.

``arch`` and ``statsmodels`` are only needed here (the ``data`` extra), never
by the ``forecaster`` package itself.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

PRICES_FILE = "prices.csv"
CO2_FILE = "co2.csv"


def _float_like_arch(value: float) -> str:
    """Shortest round-trip repr, integral values without ``.0`` (as in arch's CSV)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def write_prices(out_dir: Path) -> Path:
    import arch.data.sp500

    frame = arch.data.sp500.load()
    frame.index.name = "Date"
    path = Path(out_dir) / PRICES_FILE
    frame.to_csv(
        path,
        date_format="%Y-%m-%d",
        float_format=_float_like_arch,
        lineterminator="\n",
        encoding="utf-8",
    )
    return path


def write_co2(out_dir: Path) -> Path:
    import statsmodels.datasets.co2

    frame = statsmodels.datasets.co2.load_pandas().data[["co2"]]
    frame.index.name = "date"
    path = Path(out_dir) / CO2_FILE
    frame.to_csv(
        path,
        date_format="%Y-%m-%d",
        na_rep="",
        lineterminator="\n",
        encoding="utf-8",
    )
    return path


def write_all(out_dir: Path = HERE) -> list[Path]:
    """Write every bundled data set into ``out_dir`` and return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_prices(out_dir), write_co2(out_dir)]


def main() -> None:
    for path in write_all(HERE):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
