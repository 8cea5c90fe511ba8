"""Quantile head, conformal intervals, their scores, storage and the leakage spy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecaster import intervals as I
from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError

#: A fit of a few optimiser steps: what these tests check does not depend on accuracy.
TINY = {"epochs": 1, "units": 4, "ensemble": 1, "steps_per_epoch": 2, "min_steps_per_epoch": 2, "lookback": 12,
        "calendar": False, "normalization": "global", "transform": "none"}


def _frame(n: int = 260, seed: int = 0, noise: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 50 + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(0, noise, n)
    return pd.DataFrame({"time": pd.date_range("2024-01-01", periods=n, freq="h"), "y": y})


# ---------------------------------------------------------------------------- conformal arithmetic
def test_conformal_radius_takes_the_finite_sample_rank():
    scores = np.arange(1.0, 20.0)[:, None]  # n = 19
    r80, ok80 = I.conformal_radius(scores, 0.8)  # ceil(20 * 0.8) = 16
    r95, ok95 = I.conformal_radius(scores, 0.95)  # ceil(20 * 0.95) = 19 = n
    r99, ok99 = I.conformal_radius(scores, 0.99)  # ceil(20 * 0.99) = 20 > n: no finite rank
    assert (r80.tolist(), ok80, r95.tolist(), ok95, r99.tolist(), ok99) == ([16.0], True, [19.0], True, [19.0], False)


@pytest.mark.parametrize("method", ["absolute", "scaled", "damped"])
def test_coverage_is_exact_on_known_noise(method):
    """Exchangeable windows: coverage of fresh windows is the nominal level up to sampling error (and not below)."""
    rng = np.random.default_rng(1)
    h, n_cal, n_test = 4, 2000, 40_000  # coverage given the calibration windows: sd about 0.009
    # Noise grows with the horizon step and, for `scaled`, with a per-window scale known at the origin.
    step_sd = np.array([1.0, 1.5, 2.0, 3.0])

    def draw(n):
        scale = rng.uniform(0.5, 3.0, n) if method != "absolute" else np.ones(n)
        point = rng.normal(100, 10, (n, h))
        return point, point + rng.laplace(0, 1, (n, h)) * step_sd * scale[:, None], scale

    p_cal, y_cal, s_cal = draw(n_cal)
    cal = I.calibrate(method, (80, 95), y_cal, p_cal, log=False, source="synthetic", scale=s_cal)
    p, y, s = draw(n_test)
    for level, (lo, hi) in cal.bounds(p, scale=s).items():
        cover = ((y >= lo) & (y <= hi)).mean(axis=0)
        # Expected coverage of split conformal: rank / (n + 1), i.e. in [level, level + 1 / (n + 1)].
        assert np.all(np.abs(cover - level / 100) < 0.03), (level, cover)
    assert cal.radius[80][-1] > cal.radius[80][0]  # per horizon step: wider where the noise is


def test_pooled_steps_reach_nominal_coverage_with_few_windows():
    """30 calibration windows: one quantile per step sits on its largest errors (over-covers at 95 %); the steps
    pooled over a fitted profile reach the nominal level. Averaged over many calibration draws."""
    rng = np.random.default_rng(3)
    h, n_cal, reps = 8, 30, 300
    step_sd = np.sqrt(np.arange(1, h + 1))  # a random walk's error growth: the profile family holds it

    def draw(n):
        point = rng.normal(100, 10, (n, h))
        return point, point + rng.normal(0, 1, (n, h)) * step_sd

    cover = {"on": [], "off": []}
    for _ in range(reps):
        p_cal, y_cal = draw(n_cal)
        p, y = draw(500)
        for pool, hits in cover.items():
            cal = I.calibrate("absolute", (95,), y_cal, p_cal, log=False, source="s", pool=pool)
            assert cal.pooled == (pool == "on") and not cal.short
            lo, hi = cal.bounds(p)[95]
            hits.append(((y >= lo) & (y <= hi)).mean())
    on, off = np.mean(cover["on"]), np.mean(cover["off"])
    # Per step: rank 30 of 30, expected coverage 30 / 31 = 96.8 %; pooled: rank 229 of 240, 229 / 241 = 95.0 %.
    assert off > 0.962 and abs(on - 0.95) < 0.006, (on, off)
    # The pooled radii follow the noise's growth over the steps.
    cal = I.calibrate("absolute", (95,), *draw(2000)[::-1], log=False, source="s", pool="on")
    assert np.allclose(cal.radius[95] / cal.radius[95][0], step_sd, rtol=0.1)
    # auto pools below POOL_WINDOWS windows only, and never a one-step horizon.
    assert I.calibrate("absolute", (95,), y_cal, p_cal, log=False, source="s").pooled
    assert not I.calibrate("absolute", (95,), *draw(I.POOL_WINDOWS)[::-1], log=False, source="s").pooled
    assert not I.calibrate("absolute", (95,), y_cal[:, :1], p_cal[:, :1], log=False, source="s", pool="on").pooled


def test_partial_windows_join_a_pooled_calibration_and_are_dropped_from_an_unpooled_one():
    """One whole window and the h - 1 partial ones before it (NaN: steps not scored): pooled, their scores join
    (36 instead of 8 at h = 8), which brings a 95 % radius within reach and the 80 % coverage near nominal;
    unpooled, the partial rows are dropped."""
    rng = np.random.default_rng(5)
    h, reps = 8, 400
    step_sd = np.sqrt(np.arange(1, h + 1))
    partial = np.arange(h)[None, :] >= (h - 1 - np.arange(h - 1))[:, None]  # row j scores its last j + 1 steps
    mask = np.vstack([partial, np.ones((1, h), dtype=bool)])

    def draw(n):
        point = rng.normal(100, 10, (n, h))
        return point + rng.normal(0, 1, (n, h)) * step_sd, point

    hits = {"partial": [], "whole only": []}
    for _ in range(reps):
        y_cal, p_cal = draw(h)
        y_cal = np.where(mask, y_cal, np.nan)
        y, p = draw(300)
        for name, rows in (("partial", slice(None)), ("whole only", slice(h - 1, None))):
            cal = I.calibrate("absolute", (80, 95), y_cal[rows], p_cal[rows], log=False, source="s")
            lo, hi = cal.bounds(p)[80]
            hits[name].append(((y >= lo) & (y <= hi)).mean())
    cal = I.calibrate("absolute", (80, 95), y_cal, p_cal, log=False, source="s")
    assert cal.pooled and cal.windows == 1 and (cal.partial, cal.partial_scores) == (h - 1, h * (h - 1) // 2)
    assert cal.score_count() == 36 and not cal.short and "+ 28 from 7 partial windows" in cal.describe()
    whole = I.calibrate("absolute", (80, 95), y_cal[-1:], p_cal[-1:], log=False, source="s")
    assert whole.short == (95,)  # 8 scores: rank 9 of 8 does not exist
    # Rank 30 of 36: 30 / 37 = 81 % expected (8 scores: 8 / 9 = 89 %); the fitted profile costs a little
    # (measured: 77.7 % with the partial windows, 85.4 % without).
    assert abs(np.mean(hits["partial"]) - 0.8) < 0.03 and np.mean(hits["whole only"]) > 0.84, hits
    back = I.Calibration.from_dict(json.loads(json.dumps(cal.to_dict())), h)
    assert (back.partial, back.partial_scores) == (cal.partial, cal.partial_scores)
    off = I.calibrate("absolute", (80,), y_cal, p_cal, log=False, source="s", pool="off")
    ref = I.calibrate("absolute", (80,), y_cal[-1:], p_cal[-1:], log=False, source="s", pool="off")
    assert off.partial == 0 and off.windows == 1 and np.array_equal(off.radius[80], ref.radius[80])


def test_pooled_calibration_is_stored_and_old_runs_load_unpooled():
    rng = np.random.default_rng(4)
    point = rng.normal(0, 1, (20, 4))
    cal = I.calibrate("absolute", (80, 95), point + rng.normal(0, 1, (20, 4)), point, log=False, source="s")
    back = I.Calibration.from_dict(json.loads(json.dumps(cal.to_dict())), 4)
    assert back.pooled and all(np.array_equal(back.radius[lv], cal.radius[lv]) for lv in (80, 95))
    assert "horizon steps pooled (20 x 4 scores" in back.describe()
    # One window of 4 steps: 4 pooled scores are too few for 95 % (rank 5), and fit's warning counts them.
    one = I.calibrate("absolute", (80, 95), point[:1] + 1.0, point[:1], log=False, source="s")
    assert one.pooled and one.short == (95,)
    assert one.short_warning().startswith("Only 1 calibration windows (4 scores with the steps pooled): the 95 %")
    old = cal.to_dict()
    del old["pooled"]  # a run saved before pooling existed
    assert not I.Calibration.from_dict(old, 4).pooled
    with pytest.raises(ConfigError, match="pool_steps"):
        ForecastConfig(pool_steps="sometimes")


def test_auto_method_picks_scaled_when_the_noise_follows_the_local_scale_and_absolute_when_not():
    rng = np.random.default_rng(7)
    n, h = 200, 3
    d = rng.uniform(0.05, 20.0, n)  # each window's local scale, known at its origin
    point = rng.normal(100, 10, (n, h))
    # The noise's scale: d itself, its square root (half of it, in log terms), or none of it.
    for power, expected in ((1.0, "scaled"), (0.5, "damped"), (0.0, "absolute")):
        noise = rng.normal(0, 1, (n, h)) * d[:, None] ** power
        cal = I.calibrate("auto", (80, 95), point + noise, point, log=False, source="s", scale=d)
        assert cal.method == expected, cal.chosen
        w = cal.chosen["winkler"]
        assert set(w) == set(I.AUTO_METHODS) and all(w[expected] < v for k, v in w.items() if k != expected)
        assert cal.chosen["calibrated"] == cal.chosen["held_out"] == 100
        # The choice reads the calibration windows only, and is the method then calibrated on all of them.
        same = I.calibrate(expected, (80, 95), point + noise, point, log=False, source="s", scale=d)
        assert all(np.array_equal(cal.radius[lv], same.radius[lv]) for lv in (80, 95))
        back = I.Calibration.from_dict(json.loads(json.dumps(cal.to_dict())), h)
        assert back.method == expected and back.chosen == cal.chosen and f"auto: {expected}" in back.describe()
    few = I.calibrate("auto", (80,), point[: I.AUTO_WINDOWS - 1] + 1, point[: I.AUTO_WINDOWS - 1], log=False,
                      source="s", scale=d[: I.AUTO_WINDOWS - 1])
    assert few.method == "absolute" and "fewer than" in few.chosen["reason"]


def test_cqr_widens_a_too_narrow_band_and_never_inverts():
    rng = np.random.default_rng(2)
    n, h = 2000, 2
    y = rng.normal(0, 1, (n, h))
    taus = (0.1, 0.5, 0.9)
    narrow = np.stack([np.full((n, h), -0.2), np.zeros((n, h)), np.full((n, h), 0.2)], axis=-1)
    cal = I.calibrate("cqr", (80,), y[:1000], narrow[:1000, ..., 1], log=False, source="s", quantiles=narrow[:1000],
                      taus=taus)
    lo, hi = cal.bounds(narrow[1000:, ..., 1], quantiles=narrow[1000:])[80]
    assert abs(((y[1000:] >= lo) & (y[1000:] <= hi)).mean() - 0.8) < 0.03
    wide = narrow * 50  # far too wide: a negative radius narrows it, the band stays ordered
    cal = I.calibrate("cqr", (80,), y[:1000], wide[:1000, ..., 1], log=False, source="s", quantiles=wide[:1000], taus=taus)
    lo, hi = cal.bounds(wide[1000:, ..., 1], quantiles=wide[1000:])[80]
    assert (cal.radius[80] < 0).all() and (lo <= hi).all()


def test_local_scale_reads_only_rows_before_the_origin():
    g = np.array([0.0, 1.0, 3.0, 6.0, 1000.0])
    assert I.local_scale(g, np.array([4]), 4).tolist() == [2.0]  # rows 0..3: mean of 1, 2, 3; row 4 never read


def test_rolling_radius_pools_only_errors_observed_before_each_origin():
    """Each score is tagged with its target row; the radius (the pool's maximum at 99 %) must be an observed row."""
    origins = np.arange(100, 160, 2)
    h = 5
    rows = (origins[:, None] + np.arange(h)).astype(np.float64)  # score of (origin j, step k) = its target row
    calibration = [np.zeros((3, h))]  # the model's calibration windows: rows long before
    radius = I.rolling_radius(origins, rows, calibration, np.zeros(len(origins), dtype=int), 99)
    assert (radius < origins[:, None]).all()  # never a row at or after the origin
    # ... and the latest observed one: origin o's step k sees rows up to o - 1 that are some origin's step k.
    expected = np.array([[max([r for r in rows[:, k] if r < o], default=0.0) for k in range(h)] for o in origins])
    assert np.array_equal(radius, expected)


def test_adaptive_radius_follows_a_shift_and_reads_only_observed_errors():
    """Errors three times as large as the calibration's: the rolling pool under-covers for long, the adaptive
    level brings the miss rate back to nominal; no radius depends on an error not yet observed at its origin."""
    rng = np.random.default_rng(8)
    h, n = 3, 1500
    origins = np.arange(1000, 1000 + n)
    calibration = [np.abs(rng.normal(0, 1, (500, h)))]
    scores = np.abs(rng.normal(0, 3, (n, h)))
    model_of = np.zeros(n, dtype=int)
    rolling = I.rolling_radius(origins, scores, calibration, model_of, 80)
    adaptive = I.adaptive_radius(origins, scores, calibration, model_of, 80)
    cover_rolling, cover_adaptive = (scores <= rolling).mean(), (scores <= adaptive).mean()
    assert cover_rolling < 0.7 and abs(cover_adaptive - 0.8) < 0.02, (cover_rolling, cover_adaptive)
    # Rewrite every error not observed before origin i (row o_j + k >= o_i): origin i's radii stay the same.
    for i in (0, 7, 400, n - 1):
        changed = scores.copy()
        unseen = (origins[:, None] + np.arange(h)) >= origins[i]
        changed[unseen] = rng.uniform(0, 100, unseen.sum())
        assert np.array_equal(I.adaptive_radius(origins, changed, calibration, model_of, 80)[i], adaptive[i])


def test_adaptive_experts_score_close_to_the_best_step_size_in_hindsight():
    """Calm, a burst of errors three times as large, calm again: each origin takes the step size whose
    interval score was the lowest so far among those whose miss rate is within two standard errors of nominal;
    it scores within 3 % of the best single step size (unknown in advance), below rolling calibration and
    Gibbs and Candes' 0.005, at nominal coverage."""
    rng = np.random.default_rng(9)
    n, h = 1200, 2
    origins = np.arange(1000, 1000 + n)
    calibration = [np.abs(rng.normal(0, 1, (300, h)))]
    burst = ((np.arange(n) >= 400) & (np.arange(n) < 700))[:, None]
    scores = np.abs(rng.normal(0, 1, (n, h))) * np.where(burst, 3.0, 1.0)
    model_of = np.zeros(n, dtype=int)

    def interval_score(r, level):
        return (2 * r + 2 / (1 - level / 100) * np.maximum(scores - r, 0)).mean()

    for level in (80, 95):
        single = {g: interval_score(I.adaptive_radius(origins, scores, calibration, model_of, level, gammas=(g,)), level)
                  for g in I.ACI_GAMMAS}
        mixed = I.adaptive_radius(origins, scores, calibration, model_of, level)
        # measured: 5.74 against the best 5.68 (0.01) at 80 %, 8.21 against 8.06 (0.02) at 95 %
        assert interval_score(mixed, level) < 1.03 * min(single.values()), (level, single)
        assert interval_score(mixed, level) < 0.98 * min(single[0.0], single[0.005]), (level, single)
        assert abs((scores <= mixed).mean() - level / 100) < 0.015


def test_scores_and_verdict():
    actual = np.array([[0.0, 2.0], [5.0, 2.0]])
    lo, hi = np.full((2, 2), 1.0), np.full((2, 2), 3.0)
    out = I.score_intervals(actual, {"model": actual}, {"model": {80: (lo, hi)}})
    r = out["levels"]["80"]["model"]
    assert r["coverage"] == 0.5 and r["coverage_per_step"] == [0.0, 1.0] and r["width"] == 2.0
    assert r["winkler"] == pytest.approx((12.0 + 2.0 + 22.0 + 2.0) / 4)
    assert I.coverage_verdict(0.70, 0.8, 400, 1)["verdict"] == "under-covers"
    assert I.coverage_verdict(0.70, 0.8, 400, 40)["verdict"] == "calibrated"  # 10 independent points: wide tolerance


def test_config_reads_levels_and_quantiles():
    c = ForecastConfig(quantiles=["0.9", "0.1"], intervals=["95", "80%"])
    assert (c.output.type, c.output.quantiles, c.output.intervals) == ("quantiles", (0.1, 0.9), (80, 95))
    assert ForecastConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    with pytest.raises(ConfigError, match=r"`intervals` are coverages in percent.*Received: intervals=\[80, 100\]"):
        ForecastConfig(intervals=(80, 100))
    with pytest.raises(ConfigError, match="`quantiles` must lie strictly between 0 and 1"):
        ForecastConfig(quantiles=(0.1, 1.5))
    with pytest.raises(ConfigError, match="cqr calibrates the quantile head's band"):
        ForecastConfig(intervals=(80,), conformal="cqr")


# ---------------------------------------------------------------------------- the quantile head
def test_quantile_head_never_crosses_whatever_the_weights():
    import keras

    from forecaster.models import IOSpec, build_model

    cfg = ForecastConfig(units=3, quantiles=(0.05, 0.25, 0.75, 0.95))
    io = IOSpec(lookback=6, horizon=3, n_past=1, output="quantiles", quantiles=cfg.output.head_quantiles, members=2)
    model = build_model(cfg, io)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 5, w.shape).astype("float32") for w in model.get_weights()])
    out = np.asarray(model.predict(rng.normal(0, 10, (64, 6, 1)).astype("float32"), verbose=0))
    assert out.shape == (64, 2, 3, 5)
    assert (np.diff(out, axis=-1) >= 0).all()  # ordered (softplus steps may underflow to 0 in float32, never below)
    loss = io.loss()(rng.normal(0, 1, (64, 3)).astype("float32"), out)
    assert np.isfinite(float(keras.ops.convert_to_numpy(loss)))


@pytest.mark.parametrize("family", ["seq2seq", "attention"])
def test_decoder_quantile_head_never_crosses_and_feeds_back_its_median(family):
    """The predict graph of a decoder with a quantile head: ordered quantiles; the median is the value fed back.

    Step t + 1 reads step t's fed-back value only, so changing the head's weights of the non-median quantiles
    must leave every step's median alone (it would move steps 2.. if another quantile were fed back), and
    changing the median's weights must move the later steps of every quantile.
    """
    from forecaster.models import IOSpec, build_model

    cfg = ForecastConfig(model=family, units=3, quantiles=(0.1, 0.9), skip="none")
    taus = cfg.output.head_quantiles
    io = IOSpec(lookback=6, horizon=4, n_past=1, output="quantiles", quantiles=taus)
    model = build_model(cfg, io)
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 1.0, w.shape).astype("float32") for w in model.get_weights()])
    x = rng.normal(0, 2, (32, 6, 1)).astype("float32")
    out = np.asarray(model.predict_on_batch(x))
    assert out.shape == (32, 4, 3) and (np.diff(out, axis=-1) >= 0).all()
    assert model.get_layer("fed_back_median").index == taus.index(0.5)
    kernel, bias = model.get_layer("forecast").dense.get_weights()  # one step: columns are the quantiles
    m = taus.index(0.5)
    others = [j for j in range(len(taus)) if j != m]
    k2, b2 = kernel.copy(), bias.copy()
    k2[:, others] += rng.normal(0, 3, (kernel.shape[0], len(others))).astype("float32")
    b2[others] += 2.0
    model.get_layer("forecast").dense.set_weights([k2, b2])
    moved = np.asarray(model.predict_on_batch(x))
    np.testing.assert_allclose(moved[..., m], out[..., m], rtol=1e-6, atol=1e-6)  # the median path is unchanged
    assert np.abs(moved[..., others] - out[..., others]).max() > 0.1  # ... while the other quantiles moved
    k3, b3 = kernel.copy(), bias.copy()
    b3[m] += 2.0
    model.get_layer("forecast").dense.set_weights([k3, b3])
    shifted = np.asarray(model.predict_on_batch(x))
    # Step 1 moves by exactly the bias change; the later steps differ otherwise (the fed-back median changed).
    np.testing.assert_allclose(shifted[:, 0, :] - out[:, 0, :], 2.0, rtol=1e-5, atol=1e-4)
    assert np.abs(shifted[:, 1:, :] - out[:, 1:, :] - 2.0).max() > 1e-3


# ---------------------------------------------------------------------------- fit, predict, save, load
def test_intervals_and_quantiles_survive_save_and_load(tmp_path):
    import forecaster as fc

    m = fc.Forecaster(**TINY, horizon=3, quantiles=(0.1, 0.9), intervals=(80, 95)).fit(_frame(), target="y")
    pred = m.predict()
    assert list(pred.columns) == ["y", "q0.1", "q0.5", "q0.9", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert (pred["q0.1"] < pred["q0.5"]).all() and (pred["q0.5"] < pred["q0.9"]).all()
    assert (pred["lower_95"] <= pred["lower_80"]).all() and (pred["upper_80"] <= pred["upper_95"]).all()
    assert np.allclose(pred["y"], pred["q0.5"])
    # Absolute conformal: the 80 % band is the point forecast +/- that step's radius.
    assert np.allclose(pred["upper_80"] - pred["y"], m.calibration_.radius[80])
    run = m.save(tmp_path / "run")
    manifest = json.loads((run / "forecaster.json").read_text())
    assert manifest["intervals"]["levels"] == [80, 95] and manifest["io"]["quantiles"] == [0.1, 0.5, 0.9]
    assert "validation windows" in manifest["intervals"]["source"]
    # 37 validation windows: the steps are pooled, and the 2 windows just before the validation rows join with
    # their steps in those rows (1 + 2 scores), which the manifest records.
    first = m.calibration_first_row_
    assert manifest["intervals"]["partial"] == [2, 3] and m.calibration_.windows == 37
    assert m.calibration_origins_.tolist()[:3] == [first - 2, first - 1, first]
    back = fc.load(run)
    pd.testing.assert_frame_equal(back.predict(), pred)
    assert (back.calibration_.partial, back.calibration_.partial_scores) == (2, 3)


def test_damped_width_is_the_radius_times_the_geometric_mean_of_the_local_and_the_median_scale():
    from forecaster.exceptions import ArtifactError

    rng = np.random.default_rng(11)
    n, h = 120, 2
    d = rng.uniform(0.5, 8.0, n)
    point = rng.normal(50, 5, (n, h))
    actual = point + rng.normal(0, 1, (n, h)) * np.sqrt(d)[:, None]
    cal = I.calibrate("damped", (80,), actual, point, log=False, source="s", scale=d)
    assert cal.ref == pytest.approx(np.median(d))
    # The scores are the errors over sqrt(d * D): the radius is their finite-sample quantile, step by step.
    scores = np.abs(actual - point) / np.sqrt(d * np.median(d))[:, None]
    assert np.allclose(cal.radius[80], I.conformal_radius(scores, 0.8)[0])
    p, new_d = point[:3], np.array([1.0, 2.0, 32.0])
    lo, hi = cal.bounds(p, scale=new_d)[80]
    assert np.allclose((hi - lo) / 2, cal.radius[80][None, :] * np.sqrt(new_d * cal.ref)[:, None])
    # Below the floor (a tenth of the median), a window's scale counts as the floor.
    lo0, hi0 = cal.bounds(p[:1], scale=np.array([0.0]))[80]
    assert np.allclose((hi0 - lo0) / 2, cal.radius[80] * np.sqrt(I.SCALE_FLOOR * cal.ref * cal.ref))
    # A window 16 times wilder than another gets a band 4 times as wide (scaled: 16 times).
    assert np.allclose((hi - lo)[2] / (hi - lo)[1], 4.0)
    back = I.Calibration.from_dict(json.loads(json.dumps(cal.to_dict())), h)
    assert back.ref == cal.ref and all(np.allclose(a, b) for a, b in zip(back.bounds(p, scale=new_d)[80], (lo, hi)))
    assert "median local scale" in back.describe()
    broken = cal.to_dict()
    del broken["ref"]
    with pytest.raises(ArtifactError, match="median scale"):
        I.Calibration.from_dict(broken, h)
    assert "damped" in ForecastConfig(conformal="damped").output.conformal


@pytest.mark.parametrize("method", ["scaled", "damped"])
def test_a_flat_input_window_neither_collapses_nor_explodes_the_scaled_intervals(method):
    """A gap carried forward gives a window d = 0: its scale counts as SCALE_FLOOR x the median d, so its
    score stays bounded and a later rolling radius does not blow up (it did, to overflow, on a log series)."""
    rng = np.random.default_rng(5)
    n, h = 200, 3
    d = rng.uniform(0.5, 2.0, n)
    d[:20] = 0.0  # 10 % of the windows read a flat stretch
    point = rng.normal(10, 1, (n, h))
    actual = point + rng.normal(0, 1, (n, h))
    cal = I.calibrate(method, (95,), actual, point, log=True, source="s", scale=d)
    assert cal.floor == pytest.approx(I.SCALE_FLOOR * np.median(d[d > 0]))
    worst = np.abs(np.log(actual) - np.log(point)).max()
    assert cal.radius[95].max() <= worst / cal.window_scale(np.zeros(1))[0] + 1e-12
    lo, hi = cal.bounds(point[:2], scale=np.array([0.0, 2.0]))[95]
    assert np.all(hi > lo) and np.all(np.isfinite(hi)) and np.all(hi / point[:2] < 1e3)
    # A rolling pool fed the flat windows' errors: every later radius stays finite and modest.
    origins = np.arange(n)
    scores = cal.score(actual, point, scale=d)[95]
    r = I.rolling_radius(origins, scores, [cal.scores[95]], np.zeros(n, dtype=np.int64), 95)
    assert np.isfinite(r).all() and r.max() <= scores.max() + 1e-12


def test_default_conformal_auto_fit_records_its_choice_and_predicts_with_it(tmp_path):
    import forecaster as fc

    m = fc.Forecaster(**TINY, horizon=3, intervals=(80,)).fit(_frame(400), target="y")  # conformal: auto, the default
    cal = m.calibration_
    assert cal.windows >= I.AUTO_WINDOWS and cal.method in I.AUTO_METHODS
    assert set(cal.chosen["winkler"]) == {"absolute", "damped", "scaled"}
    assert cal.method == min(cal.chosen["winkler"], key=cal.chosen["winkler"].get)
    back = fc.load(m.save(tmp_path / "run"))
    assert back.calibration_.method == cal.method and back.calibration_.chosen == cal.chosen
    pd.testing.assert_frame_equal(back.predict(), m.predict())


@pytest.mark.slow
def test_log_intervals_come_back_exactly(tmp_path):
    """A log-transformed series: the interval is multiplicative, exp(log(point) +/- radius), in original units."""
    import forecaster as fc

    frame = _frame(seed=3)
    params = {**TINY, "transform": "log", "normalization": "window"}
    m = fc.Forecaster(**params, horizon=2, intervals=(80,), conformal="scaled").fit(frame, target="y")
    pred = m.predict()
    cal = m.calibration_
    assert cal.log and cal.method == "scaled"
    tail = np.log(frame["y"].to_numpy()[-params["lookback"]:])
    d = max(np.abs(np.diff(tail)).mean(), cal.floor)
    assert np.allclose(pred["upper_80"] / pred["y"], np.exp(cal.radius[80] * d))
    assert np.allclose(pred["y"] / pred["lower_80"], np.exp(cal.radius[80] * d))


# ---------------------------------------------------------------------------- panels (many series, one model)
PANEL_TINY = {"units": 4, "epochs": 1, "lookback": 12, "horizon": 4, "batch_size": 32, "ensemble": 1,
              "min_steps_per_epoch": 1}
PANEL_FLAGS = ["--units", "4", "--epochs", "1", "--lookback", "12", "--horizon", "4", "--batch-size", "32",
               "--ensemble", "1", "--min-steps-per-epoch", "1"]


def _panel(scale_of: dict[str, float] | None = None) -> pd.DataFrame:
    """Three monthly series of different lengths and levels (``tests/test_panel.py``'s), one of them optionally rescaled."""
    from test_panel import panel_frame

    df = panel_frame({"north": (90, "2001-01-01"), "south": (60, "2003-04-01"), "east": (48, "2004-07-01")})
    for sid, factor in (scale_of or {}).items():
        df.loc[df["unique_id"] == sid, "value"] *= factor
    return df


def test_panel_calibration_arithmetic_is_scale_free():
    """Pure arithmetic: rescaling one series' actuals and forecasts leaves the radii alone and rescales its bounds."""
    rng = np.random.default_rng(5)
    n, h = 300, 3
    series = rng.integers(0, 3, n)
    unit = np.array([1.0, 2.0, 0.5])
    point = rng.normal(10, 1, (n, h)) * unit[series, None]
    actual = point + rng.normal(0, 1, (n, h)) * unit[series, None]
    kw = {"series": series, "log": np.zeros(n, dtype=bool), "source": "synthetic"}
    cal = I.calibrate_panel("absolute", (80,), actual, point, unit=unit, **kw)
    f = np.where(series == 1, 1000.0, 1.0)[:, None]
    cal_big = I.calibrate_panel("absolute", (80,), actual * f, point * f, unit=unit * [1, 1000, 1], **kw)
    assert np.allclose(cal.radius[80], cal_big.radius[80])
    lo, hi = cal.panel_bounds(point, series=series, log=kw["log"])[80]
    lo_b, hi_b = cal_big.panel_bounds(point * f, series=series, log=kw["log"])[80]
    assert np.allclose((hi_b - lo_b), (hi - lo) * f)
    # Scores per series are the errors over the series' scale: a common radius per step, times each unit.
    assert np.allclose((hi - lo) / 2, cal.radius[80][None, :] * unit[series, None])
    # scaled (a local scale d per window, in the series' units) and cqr (a band per window) likewise.
    d = rng.uniform(0.5, 2.0, n) * unit[series]
    q = np.stack([point - unit[series, None], point, point + unit[series, None]], axis=-1)
    for method in ("scaled", "damped", "cqr"):
        extra = {"scale": d, "quantiles": q, "taus": (0.1, 0.5, 0.9)}
        c = I.calibrate_panel(method, (80,), actual, point, unit=unit, **kw, **extra)
        c_big = I.calibrate_panel(method, (80,), actual * f, point * f, unit=unit * [1, 1000, 1], **kw,
                                  scale=d * f[:, 0], quantiles=q * f[..., None], taus=(0.1, 0.5, 0.9))
        assert np.allclose(c.radius[80], c_big.radius[80]), method
        lo, hi = c.panel_bounds(point, series=series, log=kw["log"], scale=d, quantiles=q)[80]
        lo_b, hi_b = c_big.panel_bounds(point * f, series=series, log=kw["log"], scale=d * f[:, 0],
                                        quantiles=q * f[..., None])[80]
        assert np.allclose(hi_b - lo_b, (hi - lo) * f), method
        inside = ((actual >= lo) & (actual <= hi)).mean()  # in-sample: at least the nominal level, up to ties
        assert inside >= 0.79, (method, inside)


def test_panel_cli_fit_predict_info_plot_with_intervals():
    from pathlib import Path

    from click.testing import CliRunner

    from forecaster.cli import cli

    runner = CliRunner()
    with runner.isolated_filesystem():
        _panel().to_csv("panel.csv", index=False)
        res = runner.invoke(cli, ["fit", "panel.csv", "--interval", "80", *PANEL_FLAGS])
        assert res.exit_code == 0, res.output
        assert "Intervals: absolute conformal on" in res.output and "pooled scale-free scores" in res.output
        res = runner.invoke(cli, ["predict"])
        assert res.exit_code == 0, res.output
        out = pd.read_csv(Path("runs/latest/forecast.csv"))
        assert list(out.columns) == ["id", "timestamp", "value", "lower_80", "upper_80"]
        assert sorted(out["id"].unique()) == ["east", "north", "south"]
        assert (out["lower_80"] <= out["value"]).all() and (out["value"] <= out["upper_80"]).all()
        assert (out["upper_80"] > out["lower_80"]).all()
        res = runner.invoke(cli, ["info"])
        assert "Intervals:  80 %: absolute conformal on" in res.output
        res = runner.invoke(cli, ["plot", "--series", "north,east", "--output", "fan.png"])
        assert res.exit_code == 0 and Path("fan.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_panel_cli_backtest_reports_interval_coverage_per_series_and_overall():
    from pathlib import Path

    from click.testing import CliRunner

    from forecaster.cli import cli

    runner = CliRunner()
    with runner.isolated_filesystem():
        _panel().to_csv("panel.csv", index=False)
        res = runner.invoke(cli, ["backtest", "panel.csv", "--interval", "80", "--stride", "4", *PANEL_FLAGS])
        assert res.exit_code == 0, res.output
        assert "80 %: coverage" in res.output and "per series" in res.output
        saved = max(Path("runs").glob("backtest-*"))
        per = pd.read_csv(saved / "per_series.csv")
        model = per[per["method"] == "model"]
        assert len(model) == 3 and model["coverage_80"].between(0, 1).all()
        assert json.loads((saved / "metrics.json").read_text())["intervals"]["80"]["points"] > 0
        assert {"lower_80", "upper_80"} <= set(pd.read_csv(saved / "forecasts.csv").columns)


def test_panel_intervals_are_scale_free_per_series():
    """One series x 1000: its interval widths x 1000, the others' unchanged (same seed; scalers per series)."""
    import forecaster as fc

    base = fc.Forecaster(**PANEL_TINY, intervals=(80,)).fit(_panel()).predict()
    big = fc.Forecaster(**PANEL_TINY, intervals=(80,)).fit(_panel({"south": 1000.0})).predict()
    width = (base["upper_80"] - base["lower_80"]).to_numpy()
    width_big = (big["upper_80"] - big["lower_80"]).to_numpy()
    south = (base["id"] == "south").to_numpy()
    assert np.allclose(width_big[south], 1000 * width[south], rtol=1e-3)
    assert np.allclose(width_big[~south], width[~south], rtol=1e-3)
    assert np.allclose(big["value"].to_numpy()[south], 1000 * base["value"].to_numpy()[south], rtol=1e-3)


def test_panel_calibration_reads_validation_windows_and_training_scales_only(monkeypatch):
    """Spy: every actual value calibrated lies in its series' validation rows; each scale is of its training rows."""
    import forecaster as fc
    from forecaster.panel import split_rows

    frames, values = [], {}
    for k, (sid, n) in enumerate({"a": 70, "b": 50, "c": 44}.items()):
        t = np.arange(n)
        # Strictly increasing values identify their row.
        y = 100.0 * (k + 1) + t + 0.3 * np.sin(t)
        values[sid] = y
        frames.append(pd.DataFrame({"id": sid, "time": pd.date_range("2020-01-01", periods=n, freq="D"), "y": y}))
    seen = []
    real = I.calibrate_panel

    def spy(method, levels, actual, point, **kw):
        seen.append((actual, kw["series"], kw["unit"]))
        return real(method, levels, actual, point, **kw)

    monkeypatch.setattr(I, "calibrate_panel", spy)
    m = fc.Forecaster(**PANEL_TINY, intervals=(80,)).fit(pd.concat(frames), target="y")
    (actual, series, unit), = seen
    for i, sid in enumerate(m.ids_):
        y = values[sid]
        end = split_rows(len(y), PANEL_TINY["horizon"], m.config.window.val_fraction)
        rows = np.searchsorted(y, actual[series == i].ravel())
        assert np.allclose(y[rows], actual[series == i].ravel()) and rows.min() >= end, sid
        assert unit[i] == pytest.approx(np.abs(np.diff(y[:end])).mean())
    assert set(np.unique(series)) == {0, 1, 2}


def test_panel_backtest_baseline_interval_reads_only_rows_before_each_first_origin(monkeypatch):
    """Spy on both panel calibrations of a panel backtest (the model's, then the seasonal-naive baseline's): every
    actual value lies before its series' first origin, the scales are the training rows'; the JSON summary, the
    scale-free baseline bands and the figure with the bands come out of `forecast backtest --format json`."""
    from pathlib import Path

    from click.testing import CliRunner

    from forecaster.cli import cli
    from forecaster.panel import split_rows

    values, frames = {}, []
    for k, (sid, n) in enumerate({"a": 70, "b": 50, "c": 44}.items()):
        t = np.arange(n)
        values[sid] = 100.0 * (k + 1) + t + 0.3 * np.sin(2 * np.pi * t / 12)  # strictly increasing: a value is a row
        frames.append(pd.DataFrame({"unique_id": sid, "date": pd.date_range("2001-01-01", periods=n, freq="MS"),
                                    "value": values[sid]}))
    seen = []
    real = I.calibrate_panel

    def spy(method, levels, actual, point, **kw):
        seen.append((actual, kw["unit"]))
        return real(method, levels, actual, point, **kw)

    monkeypatch.setattr(I, "calibrate_panel", spy)
    runner = CliRunner()
    with runner.isolated_filesystem():
        pd.concat(frames).to_csv("panel.csv", index=False)
        res = runner.invoke(cli, ["backtest", "panel.csv", "--interval", "80", "--stride", "2", "--name", "bt",
                                  "--format", "json", *PANEL_FLAGS])
        assert res.exit_code == 0, res.output
        doc = json.loads(res.stdout)
        saved = Path("runs/bt")
        table = pd.read_csv(saved / "forecasts.csv")
        per = pd.read_csv(saved / "per_series.csv")
        assert (saved / "forecast.png").read_bytes()[:4] == b"\x89PNG"
    assert len(seen) == 2  # the model's calibration at the fit, then the baseline's
    # Each series' first origin: the row of the earliest actual value it was scored on.
    first = {sid: int(np.searchsorted(values[sid], table.loc[table["id"] == sid, "actual"].min())) for sid in values}
    for actual, unit in seen:
        for i, sid in enumerate(values):  # ids in the panel's order: a, b, c
            mine = actual[(actual >= 100 * (i + 1)) & (actual < 100 * (i + 2))].ravel()
            assert len(mine), sid
            rows = np.searchsorted(values[sid], mine)
            assert np.allclose(values[sid][rows], mine) and rows.max() < first[sid], (sid, rows.max(), first[sid])
            end = split_rows(first[sid], 4, 0.15)  # the training rows of the series' slice before its first origin
            assert unit[i] == pytest.approx(np.abs(np.diff(values[sid][:end])).mean())
    # The baseline interval: around the seasonal naive forecast, one pooled radius per step times each series' scale.
    half = (table["seasonal_naive_upper_80"] - table["seasonal_naive_lower_80"]) / 2
    assert np.allclose((table["seasonal_naive_upper_80"] + table["seasonal_naive_lower_80"]) / 2, table["seasonal_naive"])
    radius = {sid: (half[table["id"] == sid] / seen[1][1][i]).groupby(table["step"]).mean().to_numpy()
              for i, sid in enumerate(values)}
    assert np.allclose(radius["a"], radius["b"]) and np.allclose(radius["a"], radius["c"])
    iv = doc["intervals"]["80"]
    assert set(iv) == {"model", "seasonal_naive", "winkler_ratio", "series_better"}
    for name in ("model", "seasonal_naive"):
        assert 0 <= iv[name]["coverage"] <= 1 and iv[name]["calibrated"] == (iv[name]["verdict"] == "calibrated")
        assert iv[name]["scaled_winkler"] > 0 and iv[name]["scaled_width"] > 0
        rows = per[per["method"] == name]
        assert len(rows) == 3 and rows["coverage_80"].between(0, 1).all()
        assert (rows["scaled_winkler_80"] >= rows["scaled_width_80"] - 1e-12).all()  # width plus the misses' penalty
    assert iv["winkler_ratio"] == pytest.approx(iv["model"]["scaled_winkler"] / iv["seasonal_naive"]["scaled_winkler"])


def test_panel_rolled_bounds_read_only_observed_errors_and_start_at_the_validation_radius():
    """A panel backtest's rolling/adaptive bounds of one series: at its first origin they are the pooled
    validation bounds; at every origin they ignore the actual values not yet observed by its cutoff."""
    rng = np.random.default_rng(11)
    h, n_cal, n = 4, 60, 40
    series = np.repeat(np.arange(3), n_cal // 3)
    unit = np.array([1.0, 10.0, 100.0])
    point = rng.normal(0, 1, (n_cal, h)) * unit[series][:, None]
    actual = point + rng.normal(0, 1, (n_cal, h)) * unit[series][:, None]
    log = np.zeros(n_cal, dtype=bool)
    for method in ("absolute", "scaled", "damped"):
        scale_cal = rng.uniform(0.5, 2, n_cal) * unit[series]
        cal = I.calibrate_panel(method, (80, 95), actual, point, series=series, log=log, unit=unit, source="s",
                                scale=scale_cal)
        origins = np.arange(200, 200 + n)
        p = rng.normal(0, 10, (n, h))
        y = p + rng.normal(0, 30, (n, h))  # errors three times the calibration's: the rolled radii widen
        scale = rng.uniform(5, 20, n)
        plain = cal.panel_bounds(p, series=np.ones(n, dtype=int), log=np.zeros(n, dtype=bool), scale=scale)
        for adaptive in (False, True):
            rolled = cal.series_rolled_bounds(1, False, origins, y, p, scale=scale, adaptive=adaptive)
            for lv in (80, 95):
                assert np.allclose(rolled[lv][0][0], plain[lv][0][0]) and np.allclose(rolled[lv][1][0], plain[lv][1][0])
                assert (rolled[lv][1][-1] - rolled[lv][0][-1]).mean() > (plain[lv][1][-1] - plain[lv][0][-1]).mean()
            for i in (0, 5, n - 1):
                changed = y.copy()
                unseen = (origins[:, None] + np.arange(h)) >= origins[i]
                changed[unseen] = rng.uniform(-1e3, 1e3, unseen.sum())
                again = cal.series_rolled_bounds(1, False, origins, changed, p, scale=scale, adaptive=adaptive)
                for lv in (80, 95):
                    assert np.array_equal(again[lv][0][i], rolled[lv][0][i]), (method, adaptive, i)


def test_panel_backtest_with_adaptive_calibration_reports_it():
    import forecaster as fc
    from forecaster.evaluation import backtest

    frames = []
    for k, sid in enumerate(("a", "b", "c")):
        t = np.arange(90)
        y = 10 * (k + 1) + 3 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(k).normal(0, 0.5, 90)
        frames.append(pd.DataFrame({"unique_id": sid, "date": pd.date_range("2001-01-01", periods=90, freq="MS"),
                                    "value": y}))
    panel = pd.concat(frames, ignore_index=True)
    cfg = fc.ForecastConfig(**{**TINY, "horizon": 3, "intervals": (80,), "lookback": 12})
    val = backtest(cfg, panel, calibration="validation")
    res = backtest(cfg, panel)  # auto: adaptive for a panel too
    assert val.config["calibration"] == "validation" and res.config["calibration"] == "adaptive"
    assert any("adaptive" in line for line in res.interval_lines())
    t, tv = res.forecasts, val.forecasts
    for col in ("lower_80", "upper_80", "seasonal_naive_lower_80", "seasonal_naive_upper_80"):
        assert t[col].notna().all()
    # The first origin of each series keeps the validation bands; the later ones follow the series' own errors.
    first = t.groupby("id")["cutoff"].transform("min") == t["cutoff"]
    assert np.allclose(t.loc[first, "upper_80"], tv.loc[first, "upper_80"])
    assert not np.allclose(t.loc[~first, "upper_80"], tv.loc[~first, "upper_80"])
    assert 0 <= res.intervals["80"]["coverage"] <= 1


def test_panel_quantile_head_and_intervals_survive_save_and_load(tmp_path):
    import forecaster as fc
    from forecaster.exceptions import ArtifactError

    m = fc.Forecaster(**PANEL_TINY, quantiles=(0.1, 0.9), intervals=(80, 95)).fit(_panel())
    pred = m.predict()
    assert list(pred.columns) == ["id", "timestamp", "value", "q0.1", "q0.5", "q0.9",
                                  "lower_80", "upper_80", "lower_95", "upper_95"]
    assert (pred["q0.1"] <= pred["q0.5"]).all() and (pred["q0.5"] <= pred["q0.9"]).all()
    assert np.allclose(pred["value"], pred["q0.5"])
    assert (pred["lower_95"] <= pred["lower_80"]).all() and (pred["upper_80"] <= pred["upper_95"]).all()
    run = m.save(tmp_path / "run")
    manifest = json.loads((run / "forecaster.json").read_text())
    assert len(manifest["intervals"]["series_scale"]) == 3 and manifest["io"]["quantiles"] == [0.1, 0.5, 0.9]
    back = fc.load(run)
    pd.testing.assert_frame_equal(back.predict(), pred)
    pd.testing.assert_frame_equal(back.predict(series="east"), pred[pred["id"] == "east"].reset_index(drop=True))
    # A panel calibration without its series scales is refused on load.
    del manifest["intervals"]["series_scale"]
    (run / "forecaster.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="one series scale per series"):
        fc.load(run)


# ---------------------------------------------------------------------------- backtest and the leakage spy
@pytest.mark.slow
def test_backtest_calibration_never_reads_rows_at_or_after_the_cutoff(monkeypatch):
    """Spy on every calibration (the model's and the baseline's): its actual values lie before the fold's cutoff."""
    from forecaster.evaluation import backtest
    from forecaster.evaluation.report import interval_lines

    frame = _frame(n=300, seed=4)
    # Strictly increasing values identify their row: a calibration's actuals say which rows it read.
    frame["y"] = frame["y"] - frame["y"].min() + 1 + np.arange(len(frame)) * 100.0
    values = frame["y"].to_numpy()
    seen: list[int] = []
    scored: list[np.ndarray] = []
    real = I.calibrate

    def spy(method, levels, actual, point, **kw):
        read = actual[np.isfinite(actual)]  # NaN: a step of a partial window that is not scored
        rows = np.searchsorted(values, read)
        assert np.allclose(values[rows], read)
        seen.append(int(rows.max()))
        scored.append(np.isfinite(actual))
        return real(method, levels, actual, point, **kw)

    monkeypatch.setattr(I, "calibrate", spy)
    res = backtest(ForecastConfig(**TINY, target="y", horizon=3, intervals=(80,), season=24), frame, folds=2, start=240)
    cutoffs = [f.cutoff for f in res.folds]
    assert len(seen) == 4  # per fold: the model's calibration, then the baseline's on the same windows
    for i, last_row in enumerate(seen):
        assert last_row < cutoffs[i // 2], (i, last_row, cutoffs)
    assert seen[2] > seen[0]  # the second fold calibrates on its own, later windows
    # Few windows: the steps are pooled and partial windows join; the baseline scores the very same steps.
    assert not scored[0].all() and scored[0].any(axis=1).all()
    assert np.array_equal(scored[0], scored[1]) and np.array_equal(scored[2], scored[3])
    table = res.forecasts
    for col in ("lower_80", "upper_80", "seasonal_naive_lower_80", "seasonal_naive_upper_80"):
        assert table[col].notna().all()
    # The default calibration of one series (auto) is adaptive, and the report says so.
    assert res.scores["intervals"]["calibration"].startswith("adaptive")
    assert any("calibrated on adaptive" in line for line in interval_lines(res.scores))
    iv = res.scores["intervals"]["levels"]["80"]
    assert set(iv) == {"model", "seasonal_naive", "winkler_ratio"}
    assert len(iv["model"]["coverage_per_step"]) == 3
    # The figures that show forecasts draw the model's interval bands.
    figures = res.plot()
    for name in ("backtest.png", "forecast.png"):
        labels = [c.get_label() for ax in figures[name].axes for c in ax.collections]
        assert "80 % interval" in labels, (name, labels)


def test_backtest_figures_draw_the_interval_bands():
    """The overlay of a backtest table and a panel's last forecasts: one shaded band per level around the model."""
    from matplotlib.collections import PolyCollection

    from forecaster.plot import plot_backtest, plot_panel_forecasts

    ts = pd.date_range("2024-01-01", periods=8, freq="h")
    table = pd.DataFrame({"fold": 1, "cutoff": ts[[0, 0, 2, 2]], "step": [1, 2, 1, 2], "timestamp": ts[[1, 2, 3, 4]],
                          "actual": [1.0, 2.0, 3.0, 4.0], "model": [1.1, 2.1, 2.9, 4.2], "seasonal_naive": 1.0})
    for lv, r in ((80, 0.5), (95, 1.0)):
        table[f"lower_{lv}"], table[f"upper_{lv}"] = table["model"] - r, table["model"] + r
    table["seasonal_naive_lower_80"], table["seasonal_naive_upper_80"] = 0.0, 2.0  # the baseline's: not drawn
    ax = plot_backtest(table).axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert sorted({c.get_label() for c in bands if not c.get_label().startswith("_")}) == ["80 % interval", "95 % interval"]
    assert len(bands) == 4  # two paths, two levels each
    assert np.allclose(bands[0].get_paths()[0].vertices[:, 1].max(), table["upper_95"].iloc[:2].max())
    hist = {"a": pd.Series(np.arange(5.0), index=pd.date_range("2023-12-31 19:00", periods=5, freq="h"))}
    fc = table.iloc[:2].rename(columns={"model": "value"}).assign(id="a")[["id", "timestamp", "value", "lower_80",
                                                                           "upper_80"]]
    fig = plot_panel_forecasts(hist, fc, actual={"a": table.iloc[:2].set_index("timestamp")["actual"]})
    labels = [c.get_label() for c in fig.axes[0].collections] + [line.get_label() for line in fig.axes[0].lines]
    assert "80 % interval" in labels and "actual" in labels


# ---------------------------------------------------------------------------- the command line
CLI_TINY = ["--units", "4", "--epochs", "1", "--lookback", "16", "--horizon", "4", "--ensemble", "1",
            "--min-steps-per-epoch", "1", "--steps-per-epoch", "2"]


def test_cli_refuses_bad_levels_in_one_line():
    from click.testing import CliRunner
    from helpers import assert_one_line_error, write_sensor_csv

    from forecaster.cli import cli

    runner = CliRunner()
    with runner.isolated_filesystem():
        from pathlib import Path

        write_sensor_csv(Path("s.csv"), n=120)
        res = runner.invoke(cli, ["fit", "s.csv", "--target", "temp", "--interval", "80,100", *CLI_TINY])
        assert "(--interval) are coverages in percent" in assert_one_line_error(res)
        res = runner.invoke(cli, ["fit", "s.csv", "--target", "temp", "--interval", "80", "--conformal", "cqr", *CLI_TINY])
        assert "cqr calibrates the quantile head's band" in assert_one_line_error(res)
        assert not Path("runs").exists() or not any(Path("runs").iterdir())


@pytest.mark.slow
def test_cli_fit_predict_info_plot_backtest_with_intervals():
    from pathlib import Path

    from click.testing import CliRunner
    from helpers import write_sensor_csv

    from forecaster.cli import cli

    runner = CliRunner()
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=300)
        args = ["--target", "temp", "--interval", "80,95", "--quantiles", "0.1,0.9", *CLI_TINY]
        res = runner.invoke(cli, ["fit", "s.csv", *args])
        assert res.exit_code == 0, res.output
        # The default --conformal auto: 42 calibration windows, so it compares absolute and scaled and says which won.
        method = next(m for m in I.AUTO_METHODS if f"auto: {m}," in res.output)
        assert f"Intervals: {method} conformal on" in res.output and f"auto: {method}, mean Winkler" in res.output
        assert "Quantiles: 0.1, 0.5, 0.9" in res.output
        res = runner.invoke(cli, ["predict"])
        assert res.exit_code == 0, res.output
        out = pd.read_csv(Path("runs/latest/forecast.csv"), index_col=0)
        assert list(out.columns) == ["temp", "q0.1", "q0.5", "q0.9", "lower_80", "upper_80", "lower_95", "upper_95"]
        res = runner.invoke(cli, ["info"])
        assert f"Intervals:  80 %, 95 %: {method} conformal on" in res.output and "Quantiles:  0.1, 0.5, 0.9" in res.output
        res = runner.invoke(cli, ["plot", "--output", "fan.png"])
        assert res.exit_code == 0 and Path("fan.png").read_bytes()[:4] == b"\x89PNG"
        res = runner.invoke(cli, ["backtest", "s.csv", *args, "--folds", "2", "--refit", "never",
                                  "--calibration", "rolling", "--name", "bt", "--format", "json"])
        assert res.exit_code == 0, res.output
        assert "Prediction intervals" in res.stderr and "seasonal naive conformal" in res.stderr
        summary = json.loads(res.stdout)["intervals"]
        assert set(summary["95"]) == {"model", "seasonal_naive", "winkler_ratio"}
        assert summary["80"]["model"]["calibrated"] == (summary["80"]["model"]["verdict"] == "calibrated")
        assert summary["80"]["model"]["winkler"] >= summary["80"]["model"]["width"] > 0
        table = pd.read_csv(Path("runs/bt/forecasts.csv"))
        assert {"q0.1", "lower_80", "upper_95", "seasonal_naive_lower_80"} <= set(table.columns)
        metrics = json.loads(Path("runs/bt/metrics.json").read_text())
        assert set(metrics["intervals"]["levels"]) == {"80", "95"}
        res = runner.invoke(cli, ["plot", "--backtest", "runs/bt"])
        assert res.exit_code == 0, res.output


@pytest.mark.slow  # a decoder graph traced for fit and predict: ~30 s; the API test above covers the head in the default tier
def test_cli_seq2seq_quantiles_fit_predict_and_load():
    """`--model seq2seq --quantiles`: ordered quantiles, the same forecasts after loading (ensembles: the slow test)."""
    from pathlib import Path

    from click.testing import CliRunner
    from helpers import write_sensor_csv

    import forecaster as fc
    from forecaster.cli import cli

    runner = CliRunner()
    with runner.isolated_filesystem():
        write_sensor_csv(Path("s.csv"), n=200)
        res = runner.invoke(cli, ["fit", "s.csv", "--target", "temp", "--model", "seq2seq", "--quantiles", "0.1,0.9",
                                  "--interval", "80", *CLI_TINY, "--units", "3", "--horizon", "3"])
        assert res.exit_code == 0, res.output
        assert "Quantiles: 0.1, 0.5, 0.9" in res.output
        res = runner.invoke(cli, ["predict"])
        assert res.exit_code == 0, res.output
        out = pd.read_csv(Path("runs/latest/forecast.csv"), index_col=0)
        assert list(out.columns) == ["temp", "q0.1", "q0.5", "q0.9", "lower_80", "upper_80"]
        assert (out["q0.1"] <= out["q0.5"]).all() and (out["q0.5"] <= out["q0.9"]).all()
        assert (out["q0.1"] < out["q0.9"]).all() and np.allclose(out["temp"], out["q0.5"])
        back = fc.load(Path("runs/latest")).predict()  # Keras, safe_mode=True
        np.testing.assert_allclose(back.to_numpy(), out.to_numpy(), rtol=1e-5)


@pytest.mark.slow
def test_attention_quantiles_predict_in_a_fresh_process_without_tensorflow(tmp_path):
    """The NumPy graph refuses the decoder's layers when read; Keras' NumPy backend gives the same forecasts."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import forecaster as fc

    pytest.importorskip("jax", reason="Keras' NumPy backend needs jax importable")
    m = fc.Forecaster(**{**TINY, "ensemble": 2}, model="attention", horizon=3, quantiles=(0.1, 0.9), intervals=(80,))
    pred = m.fit(_frame(), target="y").predict()
    assert (np.diff(pred[["q0.1", "q0.5", "q0.9"]].to_numpy(), axis=1) >= 0).all()
    run = m.save(tmp_path / "run")
    script = ("import json, sys; import forecaster as fc; m = fc.load(sys.argv[1]); f = m.predict(); "
              "print(json.dumps({'on': m.model_backend_, 'tf': 'tensorflow' in sys.modules, "
              "'values': f.to_numpy().tolist()}))")
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "FORECASTER_INFERENCE")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", script, str(run)], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["on"] == "numpy" and got["tf"] is False, got["on"]
    np.testing.assert_allclose(np.asarray(got["values"]), pred.to_numpy(), rtol=1e-5)


@pytest.mark.slow
def test_competition_benchmark_scores_panel_intervals_beside_the_baseline():
    """benchmarks/competitions.py --interval on a tiny synthetic group: model and baseline bands, scored."""
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import competitions
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(6)
    t = np.arange(72)
    ys = 100 + 10 * np.arange(3)[:, None] + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, (3, 72)).cumsum(axis=1)
    items = [SimpleNamespace(sn=f"s{i}", x=y[:60], xx=y[60:]) for i, y in enumerate(ys)]
    _, _, info = competitions.run_forecaster(items, 6, 12, "MS", {**TINY, "lookback": 24, "val_fraction": 0.3}, (80,))
    assert set(info["bands"]) == {"s0", "s1", "s2"}
    assert all(set(b) == {"model", "baseline"} and 80 in b["baseline"] for b in info["bands"].values())
    row = competitions.score_intervals(items, 6, 12, info["bands"], (80,))["80"]
    assert row["series"] == 3 and row["model"]["points"] == row["baseline"]["points"] == 18
    assert np.isfinite(row["winkler_ratio"]) and "pooled" in info["calibration"]
