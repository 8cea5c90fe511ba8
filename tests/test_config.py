"""ForecastConfig: defaults, aliases, Keras-style validation messages, strict from_dict."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster.config import CELL_ALIASES, SECTIONS, ForecastConfig, canonical_cell, parse_assignment
from forecaster.exceptions import ConfigError, ForecasterError

SECTION_NAMES = [f.name for f in dataclasses.fields(ForecastConfig)]


def test_defaults_are_valid_and_documented_values() -> None:
    cfg = ForecastConfig()
    assert cfg.model.cell == "gru" and cfg.model.type == "rnn" and cfg.output.type == "point"
    # Lookback and ensemble size are automatic (None) by default, like base, normalization and transform.
    assert (cfg.window.lookback, cfg.window.horizon, cfg.window.window_stride) == (None, 5, 1)
    assert (cfg.output.base, cfg.data.normalization, cfg.data.calendar, cfg.train.ensemble) == ("auto", "auto", True, None)
    assert cfg.model.skip == "auto"  # linear, except in a panel without a season
    # The training budget does not depend on the series' length: 30 steps an epoch, at most 60 epochs.
    assert (cfg.train.steps_per_epoch, cfg.train.min_steps_per_epoch, cfg.train.epochs) == (30, 30, 60)
    assert (cfg.train.patience, cfg.train.lr_patience) == (10, 4)
    assert cfg.data.missing == "ffill"
    assert cfg.data.transform == "auto"
    assert cfg.data.features == ()
    assert cfg.data.target is None
    assert list(cfg.to_dict()) == SECTION_NAMES == ["data", "window", "model", "output", "train", "runtime"]


def test_config_is_frozen_and_hashable() -> None:
    cfg = ForecastConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.model = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.window.lookback = 10  # type: ignore[misc]
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
    assert ForecastConfig(cell=alias).model.cell == expected


def test_every_alias_maps_to_a_registry_key() -> None:
    assert set(CELL_ALIASES.values()) == {"simple_rnn", "lstm", "gru"}


def test_unknown_cell_is_rejected_with_choices() -> None:
    msg = "`cell` must be one of gru, lstm, simple_rnn (or the alias 'rnn'). Received: cell='transformer'"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig(cell="transformer")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("lookback", -3, "`lookback` must be a positive integer. Received: lookback=-3"),
        ("lookback", 1.5, "`lookback` must be a positive integer. Received: lookback=1.5"),
        ("lookback", True, "`lookback` must be a positive integer. Received: lookback=True"),
        ("lookback", "60", "`lookback` must be a positive integer. Received: lookback='60'"),
        ("horizon", 0, "`horizon` must be a positive integer. Received: horizon=0"),
        ("window_stride", 0, "`window_stride` must be a positive integer. Received: window_stride=0"),
        ("layers", 0, "`layers` must be a positive integer. Received: layers=0"),
        ("units", -1, "`units` must be a positive integer. Received: units=-1"),
        ("epochs", 0, "`epochs` must be a positive integer. Received: epochs=0"),
        ("batch_size", 0, "`batch_size` must be a positive integer. Received: batch_size=0"),
        ("patience", 0, "`patience` must be a positive integer. Received: patience=0"),
        ("steps_per_epoch", -1, "`steps_per_epoch` must be a positive integer. Received: steps_per_epoch=-1"),
        ("seed", -1, "`seed` must be an integer in [0, 2**32). Received: seed=-1"),
        ("seed", True, "`seed` must be an integer in [0, 2**32). Received: seed=True"),
        ("seed", 2**32, "`seed` must be an integer in [0, 2**32). Received: seed=4294967296"),
        ("bidirectional", "yes", "`bidirectional` must be true or false. Received: bidirectional='yes'"),
        ("model", "tcn", "`type` must be one of rnn, seq2seq, attention, transformer. Received: type='tcn'"),
        ("output", "samples", "`type` must be one of point, quantiles. Received: type='samples'"),
        ("missing", "drop", "`missing` must be one of ffill, interpolate, error. Received: missing='drop'"),
        ("transform", "sqrt", "`transform` must be one of auto, none, log. Received: transform='sqrt'"),
        ("normalization", "minmax", "`normalization` must be one of auto, window, global. Received: normalization='minmax'"),
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
        ("clipnorm", -1, "`clipnorm` must be a non-negative number (0 disables clipping). Received: clipnorm=-1"),
        ("clipnorm", float("nan"), "`clipnorm` must be a non-negative number (0 disables clipping). Received: clipnorm=nan"),
        ("clipnorm", True, "`clipnorm` must be a non-negative number (0 disables clipping). Received: clipnorm=True"),
        ("features", ("a", "b", "a"), "`features` lists a column twice. Received: features=['a', 'b', 'a']"),
    ],
)
def test_invalid_values_are_rejected_keras_style(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        ForecastConfig(**{field: value})


def test_config_error_is_a_forecaster_error_and_value_error() -> None:
    with pytest.raises(ForecasterError):
        ForecastConfig(lookback=-1)
    with pytest.raises(ValueError):
        ForecastConfig(lookback=-1)


def test_optional_fields_accept_none() -> None:
    cfg = ForecastConfig(clipnorm=None, steps_per_epoch=None, target=None)
    # None is how version-1 manifests said "no clipping"; 0 is the one spelling now.
    assert cfg.train.clipnorm == 0.0 and cfg.train.steps_per_epoch is None


def test_replace_validates_again() -> None:
    cfg = ForecastConfig()
    assert cfg.replace(lookback=10).window.lookback == 10
    assert cfg.replace(cell="rnn").model.cell == "simple_rnn"
    with pytest.raises(ConfigError, match=re.escape("`lookback` must be a positive integer. Received: lookback=-2")):
        cfg.replace(lookback=-2)


def test_target_listed_in_features_is_removed() -> None:
    cfg = ForecastConfig(target="OT", features=("HUFL", "OT", "MUFL"))
    assert cfg.data.features == ("HUFL", "MUFL")
    # The same happens on the way back from JSON.
    assert ForecastConfig.from_dict({"data": {"target": "OT", "features": ["OT"]}}).data.features == ()


def test_features_list_becomes_tuple() -> None:
    cfg = ForecastConfig(features=["a", "b"])  # type: ignore[arg-type]
    assert cfg.data.features == ("a", "b")
    hash(cfg)


def test_from_dict_round_trip_through_json() -> None:
    cfg = ForecastConfig(
        target="Adj Close", features=("Volume",), cell="lstm", layers=2, units=8, bidirectional=True,
        lookback=30, horizon=3, window_stride=2, dropout=0.1, clipnorm=None, steps_per_epoch=4, transform="log",
        normalization="global", missing="interpolate", val_fraction=0.2, learning_rate=3e-4, seed=7,
    )
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["data"]["features"] == ["Volume"]
    assert ForecastConfig.from_dict(data) == cfg


def test_from_dict_of_partial_dict_uses_defaults() -> None:
    assert ForecastConfig.from_dict({}) == ForecastConfig()
    assert ForecastConfig.from_dict({"model": {"cell": "RNN"}}).model.cell == "simple_rnn"


@settings(max_examples=60, deadline=None)
@given(
    cell=st.sampled_from(sorted(CELL_ALIASES)),
    lookback=st.integers(1, 500),
    horizon=st.integers(1, 100),
    window_stride=st.integers(1, 50),
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
    msg = "Unknown key(s) in config section [window]: lookbak, units_. Known keys: lookback, horizon, window_stride, val_fraction"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig.from_dict({"window": {"lookbak": 60, "units_": 3, "horizon": 5}})
    with pytest.raises(ConfigError, match=re.escape("Unknown config section(s): modle. Sections: data, window")):
        ForecastConfig.from_dict({"modle": {}})


def test_version_1_flat_dict_is_still_read() -> None:
    old = {"cell": "lstm", "lookback": 30, "stride": 3, "clipnorm": None, "target": "y"}
    cfg = ForecastConfig.from_dict(old)
    assert (cfg.model.cell, cfg.window.lookback, cfg.window.window_stride, cfg.train.clipnorm) == ("lstm", 30, 3, 0.0)
    with pytest.raises(ConfigError, match=re.escape("Unknown config key(s): lookbak.")):
        ForecastConfig.from_dict({"lookbak": 3})


@pytest.mark.parametrize(
    "section, field", [("window", "lookback"), ("window", "horizon"), ("model", "units"), ("train", "epochs"),
                       ("train", "seed"), ("train", "steps_per_epoch")]
)
def test_from_dict_float_for_int_field_is_an_error(section: str, field: str) -> None:
    msg = f"`{field}` must be an integer. Received: {field}=60.0"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig.from_dict({section: {field: 60.0}})
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig().merged({f"{section}.{field}": 60.0})


def test_from_dict_string_for_int_field_is_an_error() -> None:
    with pytest.raises(ConfigError, match=re.escape("`lookback` must be a positive integer. Received: lookback='60'")):
        ForecastConfig.from_dict({"window": {"lookback": "60"}})


def test_from_dict_accepts_int_for_float_field() -> None:
    assert ForecastConfig.from_dict({"train": {"learning_rate": 1, "clipnorm": 2}}).train.learning_rate == 1


@pytest.mark.parametrize("bad", [[1, 2], "lookback=3", None, 3])
def test_from_dict_rejects_non_objects(bad: object) -> None:
    msg = f"A config must be a JSON object. Received: {type(bad).__name__}"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig.from_dict(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["Volume", ["Volume", 3], {"a": 1}])
def test_from_dict_rejects_malformed_features(bad: object) -> None:
    msg = f"`features` must be a list of column names. Received: {bad!r}"
    with pytest.raises(ConfigError, match=re.escape(msg)):
        ForecastConfig.from_dict({"data": {"features": bad}})


def test_toml_round_trip_and_partial_file(tmp_path) -> None:
    cfg = ForecastConfig(cell="lstm", units=8, horizon=12, features=("a", "b"), clipnorm=0, jit_compile=True)
    full = tmp_path / "full.toml"
    full.write_text(cfg.to_toml())
    assert ForecastConfig.from_file(full) == cfg
    part = tmp_path / "part.toml"
    part.write_text("[model]\nunits = 64\n\n[window]\nhorizon = 24\n")
    got = ForecastConfig.from_file(part)
    assert (got.model.units, got.window.horizon, got.model.cell) == (64, 24, "gru")
    js = tmp_path / "c.json"
    js.write_text(json.dumps({"train": {"epochs": 3}}))
    assert ForecastConfig.from_file(js).train.epochs == 3


@pytest.mark.parametrize(
    "text, message",
    [
        ("[model]\nunitz = 3\n", "Unknown key(s) in config section [model]: unitz."),
        ("[modle]\nunits = 3\n", "Unknown config section(s): modle."),
        ("[model]\nunits = 3.0\n", "`units` must be an integer. Received: units=3.0"),
        ("[model\n", "is not valid TOML"),
    ],
)
def test_config_file_errors_are_clear(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        ForecastConfig.from_file(path)


def test_missing_config_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist or is not a regular file"):
        ForecastConfig.from_file(tmp_path / "nope.toml")


def test_merged_layers_only_the_given_keys() -> None:
    base = ForecastConfig(units=64, cell="lstm")
    out = base.merged({"horizon": 7, "train.seed": 3, "model": {"layers": 2}})
    assert (out.model.units, out.model.cell, out.model.layers, out.window.horizon, out.train.seed) == (64, "lstm", 2, 7, 3)


@pytest.mark.parametrize(
    "text, expected",
    [("model.units=64", ("model.units", 64)), ("lr=1", None), ("train.learning_rate=3e-4", ("train.learning_rate", 3e-4)),
     ("data.target=OT", ("data.target", "OT")), ("data.features=[\"a\", \"b\"]", ("data.features", ["a", "b"])),
     ("model.bidirectional=true", ("model.bidirectional", True))],
)
def test_parse_assignment(text: str, expected) -> None:
    if expected is None:
        with pytest.raises(ConfigError, match="Unknown config key 'lr'"):
            parse_assignment(text)
    else:
        assert parse_assignment(text) == expected


def test_flat_keywords_reach_every_field_once() -> None:
    flat = ForecastConfig().to_flat()
    assert ForecastConfig(**flat) == ForecastConfig()
    n_fields = sum(len(dataclasses.fields(c)) for c in SECTIONS.values())
    assert len(flat) == n_fields


def test_zero_spells_automatic_for_lookback_and_ensemble(tmp_path) -> None:
    cfg = ForecastConfig(lookback=0, ensemble=0)
    assert cfg.window.lookback is None and cfg.train.ensemble is None
    path = tmp_path / "auto.toml"
    path.write_text(cfg.to_toml())
    assert ForecastConfig.from_file(path) == cfg  # None written as 0, read back as None


def test_zero_unsets_the_epoch_cap_and_the_learning_rate_schedule(tmp_path) -> None:
    cfg = ForecastConfig(steps_per_epoch=0, lr_patience=0, lookback=24)
    assert cfg.train.steps_per_epoch is None and cfg.train.lr_patience is None
    path = tmp_path / "unset.toml"
    path.write_text(cfg.to_toml())
    assert ForecastConfig.from_file(path) == cfg  # None written as 0 where the default is set
    assert ForecastConfig.from_file(path).window.lookback == 24


def test_base_candidates_and_step_bases_are_validated():
    from forecaster.config import ForecastConfig

    assert ForecastConfig().output.base_candidates == ("naive", "seasonal_naive", "naive2")
    assert ForecastConfig(base_candidates=["naive", "drift"]).output.base_candidates == ("naive", "drift")
    assert ForecastConfig(base_candidates=["naive", "theta"]).output.base_candidates == ("naive", "theta")
    with pytest.raises(ConfigError, match="base_candidates"):
        ForecastConfig(base_candidates=["arima"])
    with pytest.raises(ConfigError, match="base_candidates"):
        ForecastConfig(base_candidates=[])
    with pytest.raises(ConfigError, match="step_bases"):
        ForecastConfig(step_bases=["seasonal"])
    with pytest.raises(ConfigError, match="goes with base='auto'"):
        ForecastConfig(base="naive", step_bases=["naive"])
