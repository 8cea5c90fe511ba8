"""The public Python API as a notebook user meets it: `import forecaster as fc`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from forecaster.exceptions import ConfigError, DataError

TINY = dict(units=4, epochs=1, lookback=24, horizon=6, batch_size=32, ensemble=1, min_steps_per_epoch=1)


def _frame(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    t = np.arange(n)
    return pd.DataFrame(
        {"time": pd.date_range("2024-01-01", periods=n, freq="h"),
         "temp": 20 + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, n),
         "load": rng.normal(0, 1, n)}
    )


def test_import_is_cheap_and_exports_the_api():
    code = (
        "import sys, forecaster as fc; "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules; "
        "names = ['Forecaster', 'ForecastConfig', 'read_csv', 'backtest', 'historical_forecasts', 'load', "
        "'TimeSeries', 'RunStore', '__version__']; "
        "missing = [n for n in names if n not in dir(fc)]; assert not missing, missing; "
        "fc.ForecastConfig; assert 'keras' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        fc.nope  # noqa: B018


def test_keyword_parameters_map_to_the_nested_config():
    m = fc.Forecaster(cell="lstm", units=8, lookback=30, horizon=12, epochs=3)
    assert (m.config.model.cell, m.config.model.units, m.config.window.lookback, m.config.train.epochs) == ("lstm", 8, 30, 3)
    assert m.get_params()["horizon"] == 12
    assert m.set_params(units=16) is m and m.config.model.units == 16
    base = fc.ForecastConfig(cell="gru", horizon=3)
    assert fc.Forecaster(base, units=5).config == base.replace(units=5)
    with pytest.raises(ConfigError, match="Unknown config key 'unitz'"):
        fc.Forecaster(unitz=3)
    assert "units=16" in repr(m)


def test_fit_a_dataframe_then_predict_without_data(tmp_path):
    df = _frame()
    m = fc.Forecaster(**TINY).fit(df, target="temp")
    assert m.config.data.target == "temp"  # the roles used are recorded in the config
    out = m.predict()
    assert list(out.columns) == ["temp"] and len(out) == 6
    assert out.index[0] == pd.Timestamp("2024-01-11 00:00:00")
    # From the end of newer (here: shorter) data of the same shape.
    older = m.predict(df.iloc[:-24])
    assert older.index[0] == pd.Timestamp("2024-01-10 00:00:00")
    # A DatetimeIndex works as the time axis too.
    same = m.predict(df.set_index("time"))
    np.testing.assert_array_equal(same.to_numpy(), out.to_numpy())
    # Save and load through the public names.
    run = m.save(tmp_path / "r")
    np.testing.assert_array_equal(fc.load(run).predict().to_numpy(), out.to_numpy())


def test_read_csv_returns_the_core_type(tmp_path):
    path = tmp_path / "s.csv"
    _frame().to_csv(path, index=False)
    ts = fc.read_csv(path, target="temp", features=["load"])
    assert isinstance(ts, fc.TimeSeries) and len(ts) == 1 and ts.ids == ["s"]
    assert ts.target == "temp" and ts.features == ("load",) and ts.freq == "h"
    m = fc.Forecaster(**TINY).fit(ts)
    assert m.features_ == ["load"] and len(m.predict()) == 6


def test_long_csv_holds_many_series_each_validated(tmp_path):
    a, b = _frame(120), _frame(90)
    b["time"] = b["time"] + pd.Timedelta(days=30)
    long = pd.concat([a.assign(unique_id="a"), b.assign(unique_id="b").drop(index=[5, 6])])
    path = tmp_path / "panel.csv"
    long.to_csv(path, index=False)
    ts = fc.read_csv(path, target="temp")
    assert ts.ids == ["a", "b"] and ts.id_col == "unique_id"
    assert [len(s) for s in ts] == [120, 90]  # the gap in b was completed by its own missing-value policy
    assert ts["b"].report.gap_rows_inserted == 2
    panel = fc.Forecaster(**TINY).fit(ts)  # many series: one global model (tests/test_panel.py)
    assert panel.is_panel and panel.ids_ == ["a", "b"] and len(panel.predict()) == 2 * 6
    one = fc.Forecaster(**TINY).fit(ts["a"])
    assert len(one.predict()) == 6
    frame = ts.to_frame()
    assert list(frame.columns[:3]) == ["id", "time", "temp"] and len(frame) == 210


def test_static_columns_must_be_constant_per_series():
    df = _frame(60).assign(unique_id="a", size=1.0)
    df.loc[3, "size"] = 2.0
    with pytest.raises(DataError, match="Static column 'size' .* one number per series"):
        fc.from_dataframe(df, target="temp", static_features=["size"])
    ok = fc.from_dataframe(df.assign(size=3.0), target="temp", static_features=["size"])
    assert ok["a"].static == {"size": 3.0} and ok.static_features == ("size",)


def test_known_future_inputs_need_their_future_values():
    df = _frame()
    df["hour_sin"] = np.sin(2 * np.pi * df["time"].dt.hour / 24)
    m = fc.Forecaster(**TINY, calendar=True).fit(df, target="temp", future_features=["hour_sin"])
    # The user's known-future column, then the calendar's (hour and weekday, sin and cos).
    assert m.io_.n_future == 5 and m.columns_[:2] == ["temp", "hour_sin"] and len(m.calendar_) == 4
    with pytest.raises(DataError, match="pass `future`"):
        m.predict()
    future = pd.DataFrame({"hour_sin": np.sin(2 * np.pi * np.arange(6) / 24)})
    out = m.predict(future=future)
    assert len(out) == 6 and np.isfinite(out.to_numpy()).all()
    with pytest.raises(DataError, match="must have the columns hour_sin and 6 rows"):
        m.predict(future=future.iloc[:3])


def test_bad_data_types_get_clear_errors():
    with pytest.raises(DataError, match="Expected a pandas DataFrame or what forecaster.read_csv returns"):
        fc.Forecaster(**TINY).fit([1, 2, 3])
    with pytest.raises(DataError, match="Target column 'nope' not found"):
        fc.Forecaster(**TINY).fit(_frame(), target="nope")
