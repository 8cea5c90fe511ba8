"""One frozen dataclass for every hyperparameter of a forecaster run.

The config is the single source of truth: the CLI builds one from its options,
a saved run stores ``config.to_dict()`` in its manifest, and
``ForecastConfig.from_dict`` rebuilds it strictly (an unknown key or a value of
the wrong type is an error, never silently ignored).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

from forecaster.exceptions import ConfigError

#: Accepted spellings of each recurrent cell, mapped to the registry key.
CELL_ALIASES: dict[str, str] = {
    "simple_rnn": "simple_rnn",
    "simplernn": "simple_rnn",
    "simple-rnn": "simple_rnn",
    "rnn": "simple_rnn",
    "lstm": "lstm",
    "gru": "gru",
}

TRANSFORMS = ("auto", "none", "log")
NORMALIZATIONS = ("window", "global")
MISSING_POLICIES = ("ffill", "interpolate", "error")
#: ``--mixed-precision`` choices; :data:`forecaster.models.PRECISION_POLICIES` maps them to Keras policies.
MIXED_PRECISION = ("off", "float16", "bfloat16")
#: ``--strategy`` choices (see :mod:`forecaster.distribute`).
STRATEGIES = ("default", "mirrored", "multiworker")


def canonical_cell(name: str) -> str:
    """Return the registry key for a cell name or alias.

    >>> canonical_cell("RNN")
    'simple_rnn'
    """
    key = str(name).strip().lower()
    if key not in CELL_ALIASES:
        choices = ", ".join(sorted(set(CELL_ALIASES.values())))
        raise ConfigError(f"`cell` must be one of {choices} (or the alias 'rnn'). Received: cell={name!r}")
    return CELL_ALIASES[key]


@dataclass(frozen=True)
class ForecastConfig:
    """Every setting that determines how a model is built, trained and applied.

    Data settings decide which columns are used and how the series is
    prepared; model settings map 1:1 onto the Keras layers; training settings
    onto ``model.fit``.

    >>> cfg = ForecastConfig(cell="lstm", layers=2, horizon=5)
    >>> ForecastConfig.from_dict(cfg.to_dict()) == cfg
    True
    """

    # --- data ---------------------------------------------------------
    target: str | None = None
    features: tuple[str, ...] = ()
    time_col: str | None = None
    missing: str = "ffill"
    na_values: tuple[str, ...] = ()
    transform: str = "auto"
    normalization: str = "window"
    lookback: int = 60
    horizon: int = 5
    stride: int = 1
    val_fraction: float = 0.15
    # --- model --------------------------------------------------------
    cell: str = "gru"
    layers: int = 1
    units: int = 32
    bidirectional: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    # --- training -----------------------------------------------------
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    clipnorm: float | None = 1.0
    patience: int = 5
    seed: int = 42
    steps_per_epoch: int | None = None
    # --- accelerators -------------------------------------------------
    mixed_precision: str = "off"
    jit_compile: bool | str = "auto"
    strategy: str = "default"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cell", canonical_cell(self.cell))
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "na_values", tuple(str(v) for v in self.na_values))
        _positive_int("lookback", self.lookback)
        _positive_int("horizon", self.horizon)
        _positive_int("stride", self.stride)
        _positive_int("layers", self.layers)
        _positive_int("units", self.units)
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        _positive_int("patience", self.patience)
        if self.steps_per_epoch is not None:
            _positive_int("steps_per_epoch", self.steps_per_epoch)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"`seed` must be a non-negative integer. Received: seed={self.seed!r}")
        _choice("missing", self.missing, MISSING_POLICIES)
        _choice("transform", self.transform, TRANSFORMS)
        _choice("normalization", self.normalization, NORMALIZATIONS)
        _choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        _choice("strategy", self.strategy, STRATEGIES)
        if not isinstance(self.jit_compile, bool) and self.jit_compile != "auto":
            raise ConfigError(
                f"`jit_compile` must be True, False or 'auto'. Received: jit_compile={self.jit_compile!r}"
            )
        _fraction("dropout", self.dropout)
        _fraction("recurrent_dropout", self.recurrent_dropout)
        if not _real(self.val_fraction) or not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(
                f"`val_fraction` must be a number strictly between 0 and 1. Received: val_fraction={self.val_fraction!r}"
            )
        if not _real(self.learning_rate) or not self.learning_rate > 0:
            raise ConfigError(
                f"`learning_rate` must be a positive number. Received: learning_rate={self.learning_rate!r}"
            )
        if self.clipnorm is not None and (not _real(self.clipnorm) or not self.clipnorm > 0):
            raise ConfigError(
                f"`clipnorm` must be a positive number, or None to disable clipping. Received: clipnorm={self.clipnorm!r}"
            )
        if self.target is not None and self.target in self.features:
            # The target is always the first input; listing it again would feed it twice.
            object.__setattr__(self, "features", tuple(f for f in self.features if f != self.target))
        if len(set(self.features)) != len(self.features):
            raise ConfigError(f"`features` lists a column twice. Received: features={list(self.features)!r}")

    # ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON representation (tuples become lists)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["features"] = list(self.features)
        out["na_values"] = list(self.na_values)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ForecastConfig":
        """Rebuild a config; unknown keys are an error, not silently dropped."""
        if not isinstance(data, dict):
            raise ConfigError(f"A config must be a JSON object. Received: {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown config key(s): {', '.join(unknown)}. Known keys: {', '.join(sorted(known))}")
        data = dict(data)
        if "na_values" in data:
            if not isinstance(data["na_values"], (list, tuple)) or not all(isinstance(x, str) for x in data["na_values"]):
                raise ConfigError(f"`na_values` must be a list of strings. Received: {data['na_values']!r}")
            data["na_values"] = tuple(data["na_values"])
        if "features" in data:
            if not isinstance(data["features"], (list, tuple)) or not all(isinstance(x, str) for x in data["features"]):
                raise ConfigError(f"`features` must be a list of column names. Received: {data['features']!r}")
            data["features"] = tuple(data["features"])
        for f in fields(cls):
            if f.name in data and f.name in _INT_FIELDS and isinstance(data[f.name], float):
                raise ConfigError(f"`{f.name}` must be an integer. Received: {f.name}={data[f.name]!r}")
        return cls(**data)

    def replace(self, **changes: Any) -> "ForecastConfig":
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


_INT_FIELDS = {
    "lookback", "horizon", "stride", "layers", "units", "epochs",
    "batch_size", "patience", "seed", "steps_per_epoch",
}


def _real(value: Any) -> bool:
    """A finite int or float; ``bool`` is not a number here (``True`` is no learning rate)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"`{name}` must be one of {', '.join(choices)}. Received: {name}={value!r}")


def _fraction(name: str, value: Any) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value < 1.0
    if not ok:
        raise ConfigError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")
