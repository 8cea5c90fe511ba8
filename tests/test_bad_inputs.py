"""A corpus of malformed inputs, each run through the real CLI.

Every case must exit non-zero with exactly one readable ``Error:`` line on
stderr, show no traceback, and leave no run directory behind. The corpus is
generated here (bytes written to files), so it is reviewable in one place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from helpers import assert_one_line_error

from forecaster import data
from forecaster.cli import cli
from forecaster.exceptions import ForecasterError


def _daily(values, start="2024-01-01", col="value") -> str:
    idx = pd.date_range(start, periods=len(values), freq="D").strftime("%Y-%m-%d")
    return "date," + col + "\n" + "".join(f"{d},{v}\n" for d, v in zip(idx, values))


GOOD = [round(10 + np.sin(i / 3), 3) for i in range(120)]

# name -> (file bytes, extra CLI args, expected fragment of the error line)
CORPUS: dict[str, tuple[bytes, list[str], str]] = {
    "empty": (b"", [], "is empty"),
    "whitespace_only": (b"\n\n   \n", [], "is empty"),
    "header_only": (b"date,value\n", [], "header but no data rows"),
    "binary": (bytes(range(256)) * 4, [], "binary file"),
    "png_bytes": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64, [], "binary file"),
    "latin1": ("date,température\n2024-01-01,1\n".encode("latin-1"), [], "not UTF-8"),
    "space_delimited": (b"date value\n2024-01-01 1\n2024-01-02 2\n2024-01-03 3\n", [], "single column"),
    "decimal_comma_with_comma_delimiter": (
        b"date,value\n2024-01-01,1,5\n2024-01-02,2,5\n2024-01-03,3,5\n2024-01-04,4,5\n", [], "A decimal comma in a comma-separated file?"),
    "no_time_column": (b"a,b\n1,2\n3,4\n5,6\n", [], "No time column found"),
    "unparsable_dates": (b"date,value\n2024-01-01,1\nyesterday,2\n2024-01-03,3\n", [], "Cannot parse 'yesterday'"),
    "mixed_date_formats": (b"date,value\n2024-01-01,1\n01/02/2024,2\n2024-01-03,3\n", [], "mixes date formats: '01/02/2024' (data row 2)"),
    "mixed_time_zones": (
        b"time,value\n2024-01-01T00:00:00+00:00,1\n2024-01-01T01:00:00+05:00,2\n2024-01-01T02:00:00+00:00,3\n",
        [], "time zones"),
    "empty_timestamp": (b"date,value\n2024-01-01,1\n,2\n2024-01-03,3\n", [], "empty at data row 2"),
    "duplicate_timestamps": (_daily(GOOD).replace("2024-01-03", "2024-01-02").encode(), [], "Duplicate timestamp"),
    "unsorted_rows": (
        ("date,value\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in [1, 2, 4, 3, 5])).encode(), [], "not in time order"),
    "irregular_spacing": (
        b"time,value\n2024-01-01 00:00,1\n2024-01-01 00:07,2\n2024-01-01 00:10,3\n2024-01-01 00:25,4\n", [],
        "irregular time steps"),
    "target_missing": (_daily(GOOD).encode(), ["--target", "price"], "Target column 'price' not found"),
    "target_non_numeric": (_daily(["abc"] * 120).encode(), [], "is not numeric"),
    "target_non_numeric_cell": (_daily(GOOD[:5] + ["1.2.3"] + GOOD[6:]).encode(), ["--target", "value"], "not numeric"),
    "target_all_nan": (_daily([""] * 120).encode(), ["--target", "value"], "all missing"),
    "target_constant": (_daily([5.0] * 120).encode(), [], "is constant"),
    "target_inf": (_daily(GOOD[:10] + ["inf"] + GOOD[11:]).encode(), [], "contains inf"),
    "near_float_overflow": (_daily([1e308] * 60 + [-1e308] * 60).encode(), [], "too large to train in float32"),
    "too_few_rows": (_daily(GOOD[:20]).encode(), ["--lookback", "60"], "Series has 20 rows; lookback=60 + horizon=5 needs at least 71"),
    "feature_missing": (_daily(GOOD).encode(), ["--features", "volume"], "Feature column 'volume' not found"),
    "log_of_negative": (_daily([-1.0 - v for v in GOOD]).encode(), ["--transform", "log"], "cannot be log-transformed"),
    "log_of_zero": (_daily([0.0] + GOOD[1:]).encode(), ["--transform", "log"], "cannot be log-transformed"),
    "missing_with_error_policy": (_daily(GOOD[:50] + [""] + GOOD[51:]).encode(), ["--missing", "error"],
                                  "Choose a policy with --missing"),
    "categorical_feature": (
        ("date,value,wind\n" + "".join(f"2024-01-{d:02d},{d % 7 + 1.5},{'NW' if d % 2 else 'SE'}\n" for d in range(1, 29))).encode(),
        ["--features", "wind"], "Column 'wind'"),
    "several_numeric_columns": (b"date,a,b\n2024-01-01,1,2\n2024-01-02,2,3\n2024-01-03,3,4\n", [], "choose the one to forecast"),
    "lookback_larger_than_data": (_daily(GOOD).encode(), ["--lookback", "500"], "lookback=500"),
    "unclosed_quote": (b'date,value\n2024-01-01,"1\n2024-01-02,2\n', [], ""),
}


@pytest.fixture
def runner():
    return CliRunner()


def _assert_clean_failure(result, needle: str, code: int = 1) -> str:
    error = assert_one_line_error(result, code)
    assert needle in error, error
    runs = Path("runs")
    assert not runs.exists() or not [p for p in runs.iterdir() if not p.name.endswith(".lock")]
    return error


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_file_fails_cleanly(runner, name):
    payload, args, needle = CORPUS[name]
    with runner.isolated_filesystem():
        Path("bad.csv").write_bytes(payload)
        _assert_clean_failure(runner.invoke(cli, ["fit", "bad.csv", "--epochs", "1", "--ensemble", "1", "--min-steps-per-epoch", "1", *args]), needle)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["fit", "does-not-exist.csv"], "File not found"),
        (["fit", "a_directory"], "is a directory"),
    ],
)
def test_bad_paths(runner, args, needle):
    with runner.isolated_filesystem():
        Path("a_directory").mkdir()
        _assert_clean_failure(runner.invoke(cli, args), needle)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--horizon", "0"], "Invalid value for '--horizon'"),
        (["--lookback", "-3"], "Invalid value for '--lookback'"),
        (["--val-fraction", "1.5"], "Invalid value for '--val-fraction'"),
        (["--dropout", "1"], "Invalid value for '--dropout'"),
        (["--missing", "guess"], "Invalid value for '--missing'"),
    ],
)
def test_contradictory_or_invalid_options(runner, args, needle):
    with runner.isolated_filesystem():
        Path("ok.csv").write_text(_daily(GOOD))
        _assert_clean_failure(runner.invoke(cli, ["fit", "ok.csv", *args]), needle, code=2)


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _daily(GOOD).encode())
    series = data.load(path)
    assert series.time_col == "date" and series.target == "value"


def test_predict_with_mismatched_csv(runner):
    with runner.isolated_filesystem():
        Path("ok.csv").write_text(_daily(GOOD))
        tiny = ["--units", "2", "--epochs", "1", "--lookback", "10", "--horizon", "2", "--ensemble", "1", "--min-steps-per-epoch", "1"]
        assert runner.invoke(cli, ["fit", "ok.csv", *tiny]).exit_code == 0
        Path("other_cols.csv").write_text(_daily(GOOD, col="reading"))
        _assert_predict = lambda args, needle: _check_predict(runner, args, needle)  # noqa: E731
        _assert_predict(["--data", "other_cols.csv"], "Target column 'value' not found")
        hourly = "date,value\n" + "".join(
            f"{t},{v}\n" for t, v in zip(pd.date_range("2024-01-01", periods=120, freq="h"), GOOD))
        Path("hourly.csv").write_text(hourly)
        _assert_predict(["--data", "hourly.csv"], "frequency is 'h' but the model was fitted on 'D' data")
        Path("short.csv").write_text(_daily(GOOD[:5]))
        _assert_predict(["--data", "short.csv"], "needs the last lookback=10 rows")


def _check_predict(runner, args, needle):
    error = assert_one_line_error(runner.invoke(cli, ["predict", *args]))
    assert needle in error, error


# ---------------------------------------------------------------------------------- fuzzing
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=400))
def test_fuzz_bytes_only_raise_our_errors(tmp_path, payload):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(payload)
    try:
        data.load(path)
    except ForecasterError:
        pass


_cells = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
    st.text(max_size=12), st.sampled_from(["2024-01-01", "2024-13-45", "NA", "1e400", "", "01/02/2024", "inf"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frame=data_frames(
        columns=[column("date", elements=_cells), column("value", elements=_cells), column("x", elements=_cells)],
        index=range_indexes(max_size=30),
    )
)
def test_fuzz_frames_only_raise_our_errors(tmp_path, frame):
    path = tmp_path / "frame.csv"
    frame.to_csv(path, index=False)
    try:
        data.load(path)
    except ForecasterError:
        pass


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(3, 60),
    step=st.sampled_from(["h", "D", "B", "W-SUN", "MS", "5min"]),
    holes=st.sets(st.integers(1, 58), max_size=10),
    values=st.lists(st.floats(-1e6, 1e6), min_size=60, max_size=60),
)
def test_fuzz_regular_series_load_or_fail_cleanly(n, step, holes, values):
    idx = pd.date_range("2021-03-01", periods=n, freq=step)
    keep = [i for i in range(n) if i not in holes]
    frame = pd.DataFrame({"value": np.asarray(values[:n])[keep]}, index=idx[keep])
    try:
        series = data.from_frame(frame)
    except ForecasterError:
        return
    assert series.index.is_monotonic_increasing and series.index.is_unique
    assert np.isfinite(series.values).all()
