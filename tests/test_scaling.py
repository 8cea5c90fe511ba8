"""SeriesScaler: fitted on training rows only, exact inverse, strict JSON round trip."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from forecaster.exceptions import ArtifactError, ConfigError, DataError, NotFittedError
from forecaster.scaling import SeriesScaler


def _prices(n: int = 200, seed: int = 0) -> np.ndarray:
    """Geometric random walk (price-like, strictly positive) plus a positive volume column."""
    rng = np.random.default_rng(seed)
    price = 50.0 * np.exp(np.cumsum(rng.normal(0.001, 0.02, n)))
    volume = rng.uniform(1e6, 5e6, n)
    return np.column_stack([price, volume])


def _params(sc: SeriesScaler) -> tuple[Any, ...]:
    return (tuple(sc.columns_), sc.log_.tolist(), sc.center_.tolist(), sc.scale_.tolist())


# ----------------------------------------------------------------------------
# Leakage: parameters depend on the training rows only
# ----------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(3, 60),
    tail=hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.just(2)),
                    elements=st.floats(-1e6, 1e6, allow_nan=False)),
    transform=st.sampled_from(["auto", "none"]),
    normalization=st.sampled_from(["window", "global"]),
)
def test_fit_ignores_rows_after_the_cutoff(
    k: int, tail: np.ndarray, transform: str, normalization: str
) -> None:
    base = _prices(100)
    perturbed = base.copy()
    n = min(len(tail), len(base) - k)
    perturbed[k : k + n] = tail[:n]
    a = SeriesScaler(transform, normalization).fit(base[:k], columns=["Close", "Volume"], prices=True)
    b = SeriesScaler(transform, normalization).fit(perturbed[:k], columns=["Close", "Volume"], prices=True)
    assert _params(a) == _params(b)


def test_fit_uses_exactly_the_rows_given() -> None:
    x = _prices(120)
    sc = SeriesScaler("none", "global").fit(x[:80], columns=["p", "v"])
    np.testing.assert_allclose(sc.center_, x[:80].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sc.scale_, x[:80].std(axis=0), rtol=1e-12)
    # Fitting on more rows changes them: the test above is not vacuous.
    assert not np.allclose(SeriesScaler("none", "global").fit(x, columns=["p", "v"]).center_, sc.center_)


def test_fit_returns_self_and_init_only_stores() -> None:
    sc = SeriesScaler(transform="log", normalization="global")
    assert not hasattr(sc, "scale_") and not hasattr(sc, "center_")
    assert sc.fit(_prices(10), columns=["p", "v"]) is sc


# ----------------------------------------------------------------------------
# Parameters and transforms
# ----------------------------------------------------------------------------
def test_window_normalisation_scale_is_std_of_steps() -> None:
    x = _prices(150)
    sc = SeriesScaler("log", "window").fit(x, columns=["p", "v"])
    g = np.log(x)
    np.testing.assert_allclose(sc.center_, g.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sc.scale_, np.diff(g, axis=0).std(axis=0), rtol=1e-12)


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 18])
@pytest.mark.parametrize("transform,normalization", [("log", "window"), ("none", "window"), ("log", "global"),
                                                     ("none", "global")])
def test_chunked_fit_equals_the_one_shot_formulas(chunk: int, transform: str, normalization: str) -> None:
    # The statistics are accumulated block by block (bounded memory); block
    # boundaries must neither drop nor double-count a row or a step.
    x = _prices(211, seed=5)
    sc = SeriesScaler(transform, normalization).fit(x, columns=["p", "v"], chunk=chunk)
    g = np.log(x) if transform == "log" else x
    np.testing.assert_allclose(sc.center_, g.mean(axis=0), rtol=1e-12)
    expected = np.diff(g, axis=0).std(axis=0) if normalization == "window" else g.std(axis=0)
    np.testing.assert_allclose(sc.scale_, expected, rtol=1e-9)


def test_steady_trend_uses_step_size_and_constant_feature_scale_one() -> None:
    x = np.column_stack([np.arange(10.0) * 2.0 + 1.0, np.full(10, 7.0)])
    sc = SeriesScaler("none", "window").fit(x, columns=["trend", "flat"])
    assert sc.scale_.tolist() == [2.0, 1.0]
    z = sc.transform_values(x)
    assert np.isfinite(z).all()


def test_constant_target_cannot_be_fitted() -> None:
    x = np.column_stack([np.full(10, 3.0), np.arange(10.0)])
    with pytest.raises(DataError, match=re.escape("Target 'y' does not vary over the training rows; there is nothing to learn.")):
        SeriesScaler("none", "global").fit(x, columns=["y", "x"])


@pytest.mark.parametrize("normalization", ["window", "global"])
def test_log_transform_has_exact_inverse(normalization: str) -> None:
    x = _prices(300, seed=3)
    sc = SeriesScaler("log", normalization).fit(x[:200], columns=["Adj Close", "Volume"])
    assert sc.log_.tolist() == [True, True]
    # The inverse of the float64 formula is exact to rounding ...
    z64 = (np.log(x[:, 0]) - sc.center_[0]) / sc.scale_[0]
    np.testing.assert_allclose(sc.inverse_target(z64), x[:, 0], rtol=1e-12)
    # ... and through the float32 model units to float32 precision, also beyond the training range.
    z32 = sc.transform_values(x)
    assert z32.dtype == np.float32
    np.testing.assert_allclose(sc.inverse_target(z32[:, 0]), x[:, 0], rtol=1e-5)


def test_identity_transform_inverse() -> None:
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(0, 5, 100), rng.normal(size=100)])
    sc = SeriesScaler("none", "global").fit(x[:70], columns=["t", "f"])
    assert sc.log_.tolist() == [False, False]
    np.testing.assert_allclose(sc.inverse_target(sc.transform_values(x)[:, 0]), x[:, 0], rtol=1e-5, atol=1e-5)
    # Relative changes (window mode) invert through the same affine map.
    z = (x[:, 0] - sc.center_[0]) / sc.scale_[0]
    np.testing.assert_allclose(sc.inverse_target(z), x[:, 0], rtol=1e-12, atol=1e-12)


def test_auto_logs_only_positive_columns_of_price_files() -> None:
    x = _prices(50)
    assert SeriesScaler("auto").fit(x, columns=["p", "v"], prices=True).log_.tolist() == [True, True]
    assert SeriesScaler("auto").fit(x, columns=["p", "v"], prices=False).log_.tolist() == [False, False]
    assert SeriesScaler("auto").fit(x, columns=["p", "v"]).log_.tolist() == [False, False]
    # A price file with a column that crosses zero (e.g. a spread): that column stays linear.
    mixed = x.copy()
    mixed[:, 1] = np.sin(np.arange(50))
    assert SeriesScaler("auto").fit(mixed, columns=["p", "spread"], prices=True).log_.tolist() == [True, False]
    # WTI went negative in April 2020: a non-positive target is not logged either.
    neg = x.copy()
    neg[20, 0] = -36.98
    assert SeriesScaler("auto").fit(neg, columns=["WTI", "v"], prices=True).log_.tolist() == [False, True]


def test_none_never_logs() -> None:
    assert SeriesScaler("none").fit(_prices(20), columns=["p", "v"], prices=True).log_.tolist() == [False, False]


@pytest.mark.parametrize("bad", [0.0, -1.5])
def test_log_with_non_positive_training_value(bad: float) -> None:
    x = _prices(40)
    x[7, 1] = bad
    msg = "Column 'Volume' has zero or negative values, so it cannot be log-transformed. Use --transform none."
    with pytest.raises(DataError, match=re.escape(msg)):
        SeriesScaler("log").fit(x, columns=["Close", "Volume"])


@pytest.mark.parametrize("bad", [0.0, -36.98])
def test_later_non_positive_value_of_logged_column(bad: float) -> None:
    x = _prices(60)
    sc = SeriesScaler("auto").fit(x[:40], columns=["Price", "Volume"], prices=True)
    later = x.copy()
    later[50, 0] = bad
    msg = (
        "Column 'Price' has zero or negative values, but the model log-transforms it (it was positive "
        "on the training rows). Refit with --transform none."
    )
    with pytest.raises(DataError, match=re.escape(msg)):
        sc.transform_values(later)
    # The caller's array is never modified in place.
    assert later[50, 0] == bad


def test_transform_values_does_not_modify_input() -> None:
    x = _prices(30)
    before = x.copy()
    SeriesScaler("log").fit(x, columns=["p", "v"]).transform_values(x)
    np.testing.assert_array_equal(x, before)


def test_transform_values_checks_columns() -> None:
    sc = SeriesScaler("none").fit(_prices(20), columns=["p", "v"])
    with pytest.raises(DataError, match=re.escape("Expected 2 columns (p, v). Received shape (20, 1)")):
        sc.transform_values(_prices(20)[:, :1])


def test_fit_argument_errors() -> None:
    x = _prices(20)
    with pytest.raises(ConfigError, match=re.escape("`train` must have shape (rows, 3). Received shape (20, 2)")):
        SeriesScaler().fit(x, columns=["a", "b", "c"])
    with pytest.raises(DataError, match=re.escape("The training part has 2 rows; at least 3 are needed to fit a scaler.")):
        SeriesScaler().fit(x[:2], columns=["a", "b"])
    with pytest.raises(ConfigError, match=re.escape("`transform` must be one of auto, none, log. Received: transform='sqrt'")):
        SeriesScaler(transform="sqrt").fit(x, columns=["a", "b"])
    msg = "`normalization` must be one of window, global. Received: normalization='minmax'"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        SeriesScaler(normalization="minmax").fit(x, columns=["a", "b"])


# ----------------------------------------------------------------------------
# Not fitted
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda sc: sc.transform_values(np.ones((3, 1))),
        lambda sc: sc.inverse_target(np.zeros(3)),
        lambda sc: sc.to_dict(),
    ],
    ids=["transform_values", "inverse_target", "to_dict"],
)
def test_not_fitted(call) -> None:
    msg = "This SeriesScaler instance is not fitted yet. Call 'fit' with training rows first."
    with pytest.raises(NotFittedError, match=re.escape(msg)):
        call(SeriesScaler())


# ----------------------------------------------------------------------------
# to_dict / from_dict
# ----------------------------------------------------------------------------
def _fitted_dict() -> dict[str, Any]:
    x = _prices(80)
    return SeriesScaler("auto", "window").fit(x[:60], columns=["Adj Close", "Volume"], prices=True).to_dict()


def test_round_trip_through_json_is_identical() -> None:
    x = _prices(80)
    sc = SeriesScaler("auto", "window").fit(x[:60], columns=["Adj Close", "Volume"], prices=True)
    data = sc.to_dict()
    assert set(data) == {"transform", "normalization", "columns", "log", "center", "scale"}
    again = SeriesScaler.from_dict(json.loads(json.dumps(data)))
    assert _params(again) == _params(sc)
    assert (again.transform, again.normalization) == ("auto", "window")
    np.testing.assert_array_equal(again.transform_values(x), sc.transform_values(x))
    z = np.linspace(-3, 3, 7)
    np.testing.assert_array_equal(again.inverse_target(z), sc.inverse_target(z))
    assert again.to_dict() == data


def _tamper(change) -> dict[str, Any]:
    data = _fitted_dict()
    change(data)
    return data


TAMPERED = {
    "missing key": (lambda d: d.pop("scale"), "Scaler parameters must have exactly the keys"),
    "extra key": (lambda d: d.update(mean=[0.0, 0.0]), "Scaler parameters must have exactly the keys"),
    "wrong length": (lambda d: d.update(center=[1.0]), "Scaler `center` must be a list of 2 values."),
    "scale not a list": (lambda d: d.update(scale=1.0), "Scaler `scale` must be a list of 2 values."),
    "negative scale": (lambda d: d["scale"].__setitem__(0, -0.5), "Scaler `scale` must hold finite numbers > 0."),
    "zero scale": (lambda d: d["scale"].__setitem__(1, 0.0), "Scaler `scale` must hold finite numbers > 0."),
    "string in center": (lambda d: d["center"].__setitem__(0, "3.9"), "Scaler `center` must hold finite numbers."),
    "bool in center": (lambda d: d["center"].__setitem__(0, True), "Scaler `center` must hold finite numbers."),
    "nan in center": (lambda d: d["center"].__setitem__(1, float("nan")), "Scaler `center` must hold finite numbers."),
    "inf in scale": (lambda d: d["scale"].__setitem__(1, float("inf")), "Scaler `scale` must hold finite numbers > 0."),
    "log not bool": (lambda d: d["log"].__setitem__(0, 1), "Scaler `log` must hold booleans."),
    "empty columns": (lambda d: d.update(columns=[], log=[], center=[], scale=[]), "Scaler `columns` must be a non-empty list"),
    "column not a name": (lambda d: d["columns"].__setitem__(0, 5), "Scaler `columns` must be a non-empty list"),
    "columns not a list": (lambda d: d.update(columns=7), "Scaler `columns` must be a non-empty list"),
    "columns a string": (lambda d: d.update(columns="ab"), "Scaler `columns` must be a non-empty list"),
    "unknown transform": (lambda d: d.update(transform="sqrt"), "Scaler `transform`/`normalization` has an unknown value."),
    "unknown normalization": (lambda d: d.update(normalization=None), "Scaler `transform`/`normalization` has an unknown value."),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_parameters_are_rejected(case: str) -> None:
    change, message = TAMPERED[case]
    with pytest.raises(ArtifactError, match=re.escape(message)):
        SeriesScaler.from_dict(_tamper(change))


@pytest.mark.parametrize("bad", [None, [], "scaler", 3])
def test_from_dict_of_non_dict(bad: object) -> None:
    with pytest.raises(ArtifactError, match=re.escape("Scaler parameters must have exactly the keys")):
        SeriesScaler.from_dict(bad)  # type: ignore[arg-type]
