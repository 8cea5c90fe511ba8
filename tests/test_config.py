"""ForecastConfig: defaults, aliases, Keras-style validation messages, strict from_dict."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster.config import CELL_ALIASES, ForecastConfig, canonical_cell
from forecaster.exceptions import ConfigError, ForecasterError

FIELD_NAMES = [f.name for f in dataclasses.fields(ForecastConfig)]


def test_defaults_are_valid_and_documented_values() -> None:
    cfg = ForecastConfig()
    assert cfg.cell == "gru"
    assert (cfg.lookback, cfg.horizon, cfg.stride) == (60, 5, 1)
    assert cfg.missing == "ffill"
    assert cfg.transform == "auto"
    assert cfg.normalization == "window"
    assert cfg.features == ()
    assert cfg.target is None
    assert sorted(cfg.to_dict()) == sorted(FIELD_NAMES)


def test_config_is_frozen_and_hashable() -> None:
    cfg = ForecastConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lookback = 10  # type: ignore[misc]
    assert hash(cfg) == hash(ForecastConfig())


@pytest.mark.parametrize(
    "alias, expected",
    [
        ("rnn", "simple_rnn"),
        ("RNN", "simple_rnn"),
        ("SimpleRNN", "simple_rnn"),
        ("simple-rnn", "simple_rnn"),
        (" simple_rnn ", "simple_rnn"),
        ("LSTM", "lstm"),
        ("Lstm", "lstm"),
        ("gru", "gru"),
        ("GRU", "gru"),
    ],
)
def test_cell_aliases_are_canonicalised(alias: str, expected: str) -> None:
    assert canonical_cell(alias) == expected
    assert ForecastConfig(cell=alias).cell == expected


def test_every_alias_maps_to_a_registry_key() -> None:
    assert set(CELL_ALIASES.values()) == {"simple_rnn", "lstm", "gru"}


def test_unknown_cell_is_rejected_with_choices() -> None:
    msg = "`cell` must be one of gru, lstm, simple_rnn (or the alias 'rnn'). Received: cell='transformer'"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig(cell="transformer")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("lookback", 0, "`lookback` must be a positive integer. Received: lookback=0"),
        ("lookback", -3, "`lookback` must be a positive integer. Received: lookback=-3"),
        ("lookback", 1.5, "`lookback` must be a positive integer. Received: lookback=1.5"),
        ("lookback", True, "`lookback` must be a positive integer. Received: lookback=True"),
        ("lookback", "60", "`lookback` must be a positive integer. Received: lookback='60'"),
        ("horizon", 0, "`horizon` must be a positive integer. Received: horizon=0"),
        ("stride", 0, "`stride` must be a positive integer. Received: stride=0"),
        ("layers", 0, "`layers` must be a positive integer. Received: layers=0"),
        ("units", -1, "`units` must be a positive integer. Received: units=-1"),
        ("epochs", 0, "`epochs` must be a positive integer. Received: epochs=0"),
        ("batch_size", 0, "`batch_size` must be a positive integer. Received: batch_size=0"),
        ("patience", 0, "`patience` must be a positive integer. Received: patience=0"),
        ("steps_per_epoch", 0, "`steps_per_epoch` must be a positive integer. Received: steps_per_epoch=0"),
        ("seed", -1, "`seed` must be a non-negative integer. Received: seed=-1"),
        ("seed", True, "`seed` must be a non-negative integer. Received: seed=True"),
        ("missing", "drop", "`missing` must be one of ffill, interpolate, error. Received: missing='drop'"),
        ("transform", "sqrt", "`transform` must be one of auto, none, log. Received: transform='sqrt'"),
        ("normalization", "minmax", "`normalization` must be one of window, global. Received: normalization='minmax'"),
        ("dropout", 1.0, "`dropout` must be a number in [0, 1). Received: dropout=1.0"),
        ("dropout", -0.1, "`dropout` must be a number in [0, 1). Received: dropout=-0.1"),
        ("dropout", True, "`dropout` must be a number in [0, 1). Received: dropout=True"),
        ("recurrent_dropout", 1.5, "`recurrent_dropout` must be a number in [0, 1). Received: recurrent_dropout=1.5"),
        ("val_fraction", 0.0, "`val_fraction` must be a number strictly between 0 and 1. Received: val_fraction=0.0"),
        ("val_fraction", 1, "`val_fraction` must be a number strictly between 0 and 1. Received: val_fraction=1"),
        ("val_fraction", "0.2", "`val_fraction` must be a number strictly between 0 and 1. Received: val_fraction='0.2'"),
        ("val_fraction", float("nan"), "`val_fraction` must be a number strictly between 0 and 1. Received: val_fraction=nan"),
        ("learning_rate", 0.0, "`learning_rate` must be a positive number. Received: learning_rate=0.0"),
        ("learning_rate", -1e-3, "`learning_rate` must be a positive number. Received: learning_rate=-0.001"),
        ("learning_rate", True, "`learning_rate` must be a positive number. Received: learning_rate=True"),
        ("learning_rate", float("inf"), "`learning_rate` must be a positive number. Received: learning_rate=inf"),
        (
            "clipnorm",
            0,
            "`clipnorm` must be a positive number, or None to disable clipping. Received: clipnorm=0",
        ),
        (
            "clipnorm",
            float("nan"),
            "`clipnorm` must be a positive number, or None to disable clipping. Received: clipnorm=nan",
        ),
        (
            "clipnorm",
            True,
            "`clipnorm` must be a positive number, or None to disable clipping. Received: clipnorm=True",
        ),
        ("features", ("a", "b", "a"), "`features` lists a column twice. Received: features=['a', 'b', 'a']"),
    ],
)
def test_invalid_values_are_rejected_keras_style(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        ForecastConfig(**{field: value})


def test_config_error_is_a_forecaster_error_and_value_error() -> None:
    with pytest.raises(ForecasterError):
        ForecastConfig(lookback=0)
    with pytest.raises(ValueError):
        ForecastConfig(lookback=0)


def test_optional_fields_accept_none() -> None:
    cfg = ForecastConfig(clipnorm=None, steps_per_epoch=None, target=None)
    assert cfg.clipnorm is None and cfg.steps_per_epoch is None


def test_replace_validates_again() -> None:
    cfg = ForecastConfig()
    assert cfg.replace(lookback=10).lookback == 10
    assert cfg.replace(cell="rnn").cell == "simple_rnn"
    with pytest.raises(ConfigError, match=re.escape("`lookback` must be a positive integer. Received: lookback=0")):
        cfg.replace(lookback=0)


def test_target_listed_in_features_is_removed() -> None:
    cfg = ForecastConfig(target="OT", features=("HUFL", "OT", "MUFL"))
    assert cfg.features == ("HUFL", "MUFL")
    # The same happens on the way back from JSON.
    assert ForecastConfig.from_dict({"target": "OT", "features": ["OT"]}).features == ()


def test_features_list_becomes_tuple() -> None:
    cfg = ForecastConfig(features=["a", "b"])  # type: ignore[arg-type]
    assert cfg.features == ("a", "b")
    hash(cfg)


def test_from_dict_round_trip_through_json() -> None:
    cfg = ForecastConfig(
        target="Adj Close", features=("Volume",), cell="lstm", layers=2, units=8, bidirectional=True,
        lookback=30, horizon=3, stride=2, dropout=0.1, clipnorm=None, steps_per_epoch=4, transform="log",
        normalization="global", missing="interpolate", val_fraction=0.2, learning_rate=3e-4, seed=7,
    )
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["features"] == ["Volume"]
    assert ForecastConfig.from_dict(data) == cfg


def test_from_dict_of_partial_dict_uses_defaults() -> None:
    assert ForecastConfig.from_dict({}) == ForecastConfig()
    assert ForecastConfig.from_dict({"cell": "RNN"}).cell == "simple_rnn"


@settings(max_examples=60, deadline=None)
@given(
    cell=st.sampled_from(sorted(CELL_ALIASES)),
    lookback=st.integers(1, 500),
    horizon=st.integers(1, 100),
    stride=st.integers(1, 50),
    layers=st.integers(1, 4),
    units=st.integers(1, 256),
    dropout=st.floats(0.0, 0.99),
    val_fraction=st.floats(0.01, 0.99),
    learning_rate=st.floats(1e-6, 1.0),
    clipnorm=st.none() | st.floats(0.01, 100.0),
    features=st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True).map(tuple),
    target=st.none() | st.sampled_from(["a", "y"]),
)
def test_from_dict_round_trip_property(**kwargs: object) -> None:
    cfg = ForecastConfig(**kwargs)  # type: ignore[arg-type]
    again = ForecastConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.to_dict() == cfg.to_dict()


def test_from_dict_unknown_key_is_an_error() -> None:
    known = ", ".join(sorted(FIELD_NAMES))
    msg = f"Unknown config key(s): lookbak, units_. Known keys: {known}"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig.from_dict({"lookbak": 60, "units_": 3, "horizon": 5})


@pytest.mark.parametrize("field", ["lookback", "horizon", "units", "epochs", "seed", "steps_per_epoch"])
def test_from_dict_float_for_int_field_is_an_error(field: str) -> None:
    msg = f"`{field}` must be an integer. Received: {field}=60.0"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig.from_dict({field: 60.0})


def test_from_dict_string_for_int_field_is_an_error() -> None:
    with pytest.raises(ConfigError, match=re.escape("`lookback` must be a positive integer. Received: lookback='60'")):
        ForecastConfig.from_dict({"lookback": "60"})


def test_from_dict_accepts_int_for_float_field() -> None:
    assert ForecastConfig.from_dict({"learning_rate": 1, "clipnorm": 2}).learning_rate == 1


@pytest.mark.parametrize("bad", [[1, 2], "lookback=3", None, 3])
def test_from_dict_rejects_non_objects(bad: object) -> None:
    msg = f"A config must be a JSON object. Received: {type(bad).__name__}"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig.from_dict(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["Volume", ["Volume", 3], {"a": 1}])
def test_from_dict_rejects_malformed_features(bad: object) -> None:
    msg = f"`features` must be a list of column names. Received: {bad!r}"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig.from_dict({"features": bad})
