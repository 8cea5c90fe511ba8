"""Fold planning: config validation, the worked example, hypothesis properties, refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import seasonal_frame
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster import data
from forecaster.config import ForecastConfig
from forecaster.evaluation.splits import (
    BacktestConfig,
    fold_table,
    format_fold_table,
    min_train_rows,
    plan_backtest,
    plan_folds,
)
from forecaster.exceptions import ConfigError, DataError, ForecasterError
from forecaster.windowing import chronological_split

TINY = ForecastConfig(units=4, epochs=1, lookback=16, horizon=4, batch_size=32, ensemble=1, min_steps_per_epoch=1)


def _series(n: int = 300) -> data.Series:
    return data.from_frame(seasonal_frame(n)[["time", "temp"]], time_col="time")


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"folds": 0}, "`folds` must be a positive integer or None. Received: folds=0"),
        ({"origin_stride": 0}, "`origin_stride` must be a positive integer. Received: origin_stride=0"),
        ({"refit": "sometimes"}, "`refit` must be 'always', 'never' or a positive integer N (refit every N folds). "
                                 "Received: refit='sometimes'"),
        ({"refit": True}, "Received: refit=True"),
        ({"window": "sliding"}, "`window` must be one of expanding, fixed. Received: window='sliding'"),
        ({"train_size": 100}, "`train_size` only applies to a fixed training window. Pass --window fixed, or drop "
                              "--train-size. Received: train_size=100, window='expanding'"),
        ({"gap": -1}, "`gap` must be a non-negative integer. Received: gap=-1"),
        ({"season": 0}, "`season` must be a positive integer or None. Received: season=0"),
        ({"start": 1.5}, "`start` must be a row number, a fraction of the rows in (0, 1) or a date"),
        ({"start": "not a date"}, "Received: start='not a date'"),
    ],
)
def test_config_validation_messages(kwargs, message):
    with pytest.raises(ConfigError) as err:
        BacktestConfig(**kwargs)
    assert message in str(err.value)


def test_config_round_trip():
    cfg = BacktestConfig(folds=3, start="2024-01-05", origin_stride=2, refit=2, window="fixed", train_size=50, gap=1, season=7)
    assert BacktestConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="Unknown backtest config key"):
        BacktestConfig.from_dict({"fold": 3})


# --------------------------------------------------------------------------- fold planning


def test_plan_worked_example():
    cfg = ForecastConfig(lookback=10, horizon=5, val_fraction=0.2)
    folds = plan_folds(100, BacktestConfig(folds=2, origin_stride=5), cfg)
    assert [(f.train_start, f.train_end, f.cutoff, f.origins.tolist()) for f in folds] == [
        (0, 80, 80, [80, 85]),
        (0, 90, 90, [90, 95]),
    ]


def test_min_train_rows_is_the_split_boundary():
    for lookback, horizon, vf in [(10, 5, 0.2), (16, 4, 0.15), (1, 1, 0.5), (60, 5, 0.15), (3, 30, 0.9)]:
        cfg = ForecastConfig(lookback=lookback, horizon=horizon, val_fraction=vf)
        m = min_train_rows(cfg)
        assert chronological_split(m, lookback, horizon, vf).train_end >= 3
        try:
            split = chronological_split(m - 1, lookback, horizon, vf)
        except DataError:
            pass
        else:
            assert split.train_end < 3


@st.composite
def _plans(draw):
    lookback = draw(st.integers(1, 40))
    horizon = draw(st.integers(1, 24))
    fc = ForecastConfig(lookback=lookback, horizon=horizon, val_fraction=draw(st.sampled_from([0.1, 0.15, 0.3])))
    window = draw(st.sampled_from(["expanding", "fixed"]))
    cfg = BacktestConfig(
        folds=draw(st.none() | st.integers(1, 12)),
        start=draw(st.none() | st.integers(0, 2500) | st.floats(0.05, 0.95)),
        origin_stride=draw(st.integers(1, 40)),
        refit=draw(st.sampled_from(["always", "never", 1, 2, 3])),
        window=window,
        train_size=draw(st.none() | st.integers(1, 1500)) if window == "fixed" else None,
        gap=draw(st.integers(0, 20)),
    )
    return draw(st.integers(5, 3000)), cfg, fc, draw(st.integers(1, 30))


@settings(max_examples=300, deadline=None)
@given(_plans())
def test_plan_folds_properties(case):
    n_rows, cfg, fc, season = case
    try:
        folds = plan_folds(n_rows, cfg, fc, season=season)
    except ForecasterError as exc:  # a clear refusal is fine; anything else is a bug
        assert isinstance(exc, (ConfigError, DataError)) and str(exc)
        return
    lookback, horizon, vf, gap = fc.window.lookback, fc.window.horizon, fc.window.val_fraction, cfg.gap
    origins = np.concatenate([f.origins for f in folds])
    # Origins: increasing, spaced by origin_stride, all targets inside the series, up to the end.
    assert (np.diff(origins) == cfg.origin_stride).all()
    assert origins[0] == folds[0].cutoff
    assert origins[-1] + horizon <= n_rows < origins[-1] + cfg.origin_stride + horizon
    assert origins.min() >= max(lookback, season)
    if cfg.folds is not None:
        assert len(folds) == cfg.folds
    if isinstance(cfg.start, int):
        assert folds[0].cutoff == cfg.start
    elif cfg.start is None:
        assert folds[0].cutoff >= n_rows - round(0.2 * n_rows)
    assert [f.fold for f in folds] == list(range(1, len(folds) + 1))
    m = min_train_rows(fc, season)
    by_number = {f.fold: f for f in folds}
    for i, f in enumerate(folds):
        assert f.cutoff == f.origins[0]
        if i + 1 < len(folds):
            assert f.origins[-1] < folds[i + 1].cutoff
        # The model that forecasts this fold never trained on a row at or after cutoff - gap.
        assert 0 <= f.train_start < f.train_end <= f.cutoff - gap
        assert f.n_train >= m
        assert chronological_split(f.n_train, lookback, horizon, vf).train_end >= 3
        if cfg.window == "expanding":
            assert f.train_start == 0
        owner = by_number[f.model_fold]
        assert owner.refit and owner.fold <= f.fold
        assert (owner.train_start, owner.train_end) == (f.train_start, f.train_end)
        if f.refit:
            assert f.model_fold == f.fold and f.train_end == f.cutoff - gap
    assert folds[0].refit
    if cfg.refit == "never":
        assert sum(f.refit for f in folds) == 1
    elif cfg.refit in ("always", 1):
        assert all(f.refit for f in folds)
    elif cfg.folds is not None:
        assert [f.refit for f in folds] == [(f.fold - 1) % cfg.refit == 0 for f in folds]
    if cfg.window == "fixed":
        sizes = {f.n_train for f in folds}
        assert sizes == {cfg.train_size if cfg.train_size is not None else folds[0].cutoff - gap}


def test_plan_defaults_and_refusals():
    fc = ForecastConfig(lookback=16, horizon=4)
    folds = plan_folds(300, BacktestConfig(), fc, season=24)
    assert len(folds) == 5 and folds[0].cutoff == 240 and all(f.refit for f in folds)
    # --start without --folds: one fold per origin with refit always, one fold with refit never.
    assert len(plan_folds(300, BacktestConfig(start=280), fc)) == 17
    assert len(plan_folds(300, BacktestConfig(start=280, refit="never"), fc)) == 1
    assert len(plan_folds(300, BacktestConfig(start=280, refit=4), fc)) == 5
    with pytest.raises(ConfigError, match=r"The first cutoff must leave at least \d+ rows before it"):
        plan_folds(300, BacktestConfig(start=10), fc)
    with pytest.raises(DataError, match="folds=100 needs at least 100 origins"):
        plan_folds(300, BacktestConfig(folds=100, origin_stride=4), fc)
    with pytest.raises(DataError, match="Series has 28 rows: no origin is left"):
        plan_folds(28, BacktestConfig(), fc)
    with pytest.raises(ConfigError, match="`train_size` must be at least"):
        plan_folds(300, BacktestConfig(window="fixed", train_size=5), fc)


def test_plan_backtest_resolves_dates_and_season():
    series = _series(300)
    plan = plan_backtest(series, TINY, BacktestConfig(start="2024-01-11 12:00", folds=2))
    assert plan.season == 24 and plan.season_inferred
    assert series.index[plan.folds[0].cutoff] == pd.Timestamp("2024-01-11 12:00")
    assert plan_backtest(series, TINY, BacktestConfig(season=12)).season == 12
    with pytest.raises(ConfigError, match="is after the end of the series"):
        plan_backtest(series, TINY, BacktestConfig(start="2030-01-01"))


def test_config_reads_the_key_saved_before_the_rename():
    assert BacktestConfig.from_dict({"stride": 3}).origin_stride == 3


def test_fold_table_rows_and_text():
    series = _series(300)
    plan = plan_backtest(series, TINY, BacktestConfig(folds=2, refit="never"))
    table = fold_table(plan.folds, series.index, 4)
    assert table["fit"].tolist() == ["fit", "fold 1"]
    assert table["cutoff"].iloc[0] == series.index[plan.folds[0].cutoff - 1]
    assert table["test_end"].iloc[-1] == series.index[-1]
    text = format_fold_table(table)
    assert text.splitlines()[0].split()[:4] == ["fold", "fit", "train", "from"]
    assert "2024-01-11 00:00" in text
