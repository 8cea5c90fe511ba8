"""The model config: nested frozen dataclasses, one place for every default and choice.

A :class:`ForecastConfig` has six sections::

    data     which columns play which role, missing values, transform, normalisation
    window   lookback, horizon, window_stride, val_fraction
    model    the family (``type``: "rnn") and its layers
    output   what the network emits (``type``: "point")
    train    optimiser, budget, early stopping, seed
    runtime  mixed precision, XLA, tf.distribute strategy

Every field name is unique across sections (``model.type`` and ``output.type``
are spelled ``model`` and ``output`` in the flat form), so a config can be
built from flat keywords, as a notebook user would::

    >>> cfg = ForecastConfig(cell="lstm", layers=2, horizon=5)
    >>> cfg.model.cell, cfg.window.horizon
    ('lstm', 5)
    >>> ForecastConfig.from_dict(cfg.to_dict()) == cfg
    True

The same config round-trips through JSON (the run manifest) and TOML
(``forecast fit --config cfg.toml``); reading is strict: an unknown section or
key, or a value of the wrong type, is an error, never silently ignored.
Layering is ``defaults < config file < flags``: :meth:`ForecastConfig.merged`
applies only the keys it is given.

Each field carries its help text (and, for choice fields, its choices) in the
dataclass metadata; the CLI generates its options from them
(:func:`cli_fields`), so a default or a choice lives here only.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from forecaster.exceptions import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Accepted spellings of each recurrent cell, mapped to the registry key.
CELL_ALIASES: dict[str, str] = {
    "simple_rnn": "simple_rnn",
    "simplernn": "simple_rnn",
    "simple-rnn": "simple_rnn",
    "rnn": "simple_rnn",
    "lstm": "lstm",
    "gru": "gru",
}
CELLS = ("gru", "lstm", "simple_rnn")
TRANSFORMS = ("auto", "none", "log")
NORMALIZATIONS = ("auto", "window", "global")
DESEASON = ("auto", "on", "off")
#: What the network's output is added to (``output.base``).
BASES = ("auto", "seasonal_naive", "naive", "naive2", "drift", "theta", "none")
#: The baselines ``base auto`` may pick per horizon step (``output.base_candidates``).
STEP_BASES = ("naive", "seasonal_naive", "naive2", "drift", "theta")
#: Their default: drift measured worse on M3 (yearly sMAPE 17.65 against 13.94 without it; quarterly 14.91 against 13.57).
#: So did theta as a panel default (M3 yearly 16.38 against 15.34, Tourism monthly 18.63 against 18.42; it helped
#: M3 other, 4.55 against 4.69): see the README's "Many series" measurements.
DEFAULT_BASE_CANDIDATES = ("naive", "seasonal_naive", "naive2")
FALLBACKS = ("none", "baseline")
#: ``output.combine``: what the network's forecast is averaged with.
COMBINES = ("auto", "theta", "off")
COMBINE_ETS = ("auto", "on", "off")
MISSING_POLICIES = ("ffill", "interpolate", "error")
#: Model families (keys of :data:`forecaster.models.MODEL_BUILDERS`).
MODEL_TYPES = ("rnn", "seq2seq", "attention", "transformer")
#: ``model.multistep``: one output per horizon step at once, or a one-step model fed its own predictions.
MULTISTEPS = ("direct", "recursive")
#: ``model.attention``: the score of the attention family's decoder (Bahdanau additive or Luong dot product).
ATTENTION_SCORES = ("additive", "dot")
#: Families with a decoder fed the previous value of each horizon step (teacher forcing in training).
DECODER_TYPES = ("seq2seq", "attention")
#: ``model.skip``: none, or a linear map of the input window added to the network's output.
SKIPS = ("auto", "none", "linear")
#: ``train.loss``: the point head's training loss.
LOSSES = ("mse", "mae", "huber")
#: ``train.final_fit``: serve the early-stopped model, or one refitted on every window for its epoch count.
FINAL_FITS = ("holdout", "all")
#: Output heads (keys of :data:`forecaster.models.OUTPUT_HEADS`).
OUTPUT_TYPES = ("point", "quantiles")
#: Quantiles of ``--output-type quantiles`` when ``--quantiles`` is not given.
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
#: ``output.conformal``: how ``--interval`` levels are calibrated (see :mod:`forecaster.intervals`).
CONFORMAL_METHODS = ("absolute", "scaled", "damped", "cqr", "auto")
#: ``--mixed-precision`` choices; :data:`forecaster.models.PRECISION_POLICIES` maps them to Keras policies.
MIXED_PRECISION = ("off", "float16", "bfloat16")
#: ``--strategy`` choices (see :mod:`forecaster.training.distribute`).
STRATEGIES = ("default", "mirrored", "multiworker")

#: Bounded reading of config files (a config is a few hundred bytes).
MAX_CONFIG_BYTES = 1 << 20


def canonical_cell(name: str) -> str:
    """Return the registry key for a cell name or alias.

    >>> canonical_cell("RNN")
    'simple_rnn'
    """
    key = str(name).strip().lower()
    if key not in CELL_ALIASES:
        raise ConfigError(f"`cell` must be one of {', '.join(CELLS)} (or the alias 'rnn'). Received: cell={name!r}")
    return CELL_ALIASES[key]


#: The largest --batch-size accepted: far above any series' window count, far below what exhausts memory.
MAX_BATCH_SIZE = 1 << 20


def _opt(default: Any, help: str, *, choices: tuple[str, ...] | None = None, flag: str | None = None,
         cli: bool = True, **extra: Any) -> Any:
    """A dataclass field whose metadata documents it for the CLI and ``config show``.

    Metadata keys: ``help``; ``choices``; ``flag`` (the CLI flag when it is not
    ``--<flat-key>``); ``cli`` (False: no CLI option); ``multiple`` (a list of
    names, comma-separated on the command line); ``aliases`` (more accepted
    spellings of a choice); ``min``/``max`` with ``min_open``/``max_open`` (the
    range the section's validation enforces, so the CLI can refuse a value as a
    usage error before any data is read).
    """
    meta = {"help": help, "choices": choices, "flag": flag, "cli": cli, **extra}
    if isinstance(default, (list, tuple)):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


class _Section:
    """Shared strict (de)serialisation of one config section."""

    SECTION: ClassVar[str] = ""
    #: Fields holding tuples of strings (lists in JSON/TOML).
    _TUPLES: ClassVar[tuple[str, ...]] = ()
    #: Fields holding integers (a float there is an error, not a truncation).
    _INTS: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        for name in self._TUPLES:
            out[name] = list(out[name])
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ConfigError(
                f"Config section [{cls.SECTION}] must be a table of keys. Received: {type(data).__name__}"
            )
        known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(
                f"Unknown key(s) in config section [{cls.SECTION}]: {', '.join(map(str, unknown))}. "
                f"Known keys: {', '.join(known)}"
            )
        data = dict(data)
        for name in cls._TUPLES:
            if name in data:
                value = data[name]
                if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
                    raise ConfigError(f"`{name}` must be a list of column names. Received: {value!r}")
                data[name] = tuple(value)
        for name in cls._INTS:
            if name in data and isinstance(data[name], float):
                raise ConfigError(f"`{name}` must be an integer. Received: {name}={data[name]!r}")
        return cls(**data)


@dataclass(frozen=True)
class DataConfig(_Section):
    """Which columns play which role, and how the values are prepared."""

    SECTION: ClassVar[str] = "data"
    _TUPLES: ClassVar[tuple[str, ...]] = ("features", "future_features", "static_features", "na_values", "targets",
                                          "holidays")

    target: str | None = _opt(
        None, "Column to forecast (default: the only numeric column; Adj Close/Close/Price for prices)."
    )
    features: tuple[str, ...] = _opt(
        (), "Past covariates: extra input columns observed up to the forecast origin, comma-separated.",
        multiple=True,
    )
    future_features: tuple[str, ...] = _opt(
        (), "Known-future covariates: columns whose values are known over the horizon too (calendar, plans).",
        multiple=True,
    )
    static_features: tuple[str, ...] = _opt(
        (), "Static columns: one constant number per series of a panel, fed to the model (standardised over the "
        "training series).", multiple=True,
    )
    time_col: str | None = _opt(None, "Time column (default: detected from names such as Date, time, ds).")
    id_col: str | None = _opt(
        None, "Series id column of a long panel CSV (default: detected from unique_id/id/series, if present)."
    )
    missing: str = _opt(
        "ffill", "Missing values and gaps: carry forward (causal), interpolate, or refuse.", choices=MISSING_POLICIES
    )
    na_values: tuple[str, ...] = _opt(
        (), "Extra cell values meaning 'missing' (e.g. the sentinel -200), comma-separated.", multiple=True
    )
    transform: str = _opt(
        "auto", "auto: log for positive price columns, none otherwise (with --normalization auto: chosen on inner "
        "validation windows). none, log: forced.", choices=TRANSFORMS,
    )
    normalization: str = _opt(
        "auto", "window: relative to each window's last value (trending series); global: z-score; "
        "auto: chosen per series on inner validation windows of the training rows.",
        choices=NORMALIZATIONS,
    )
    deseason: str = _opt(
        "auto", "Panels: divide each series by its multiplicative seasonal indices (M4's Naive2 decomposition of its "
        "training rows, where the 90 % seasonality test passes) before the network, and multiply the forecasts back. "
        "auto: on for a panel with a season; off for one series.", choices=DESEASON,
    )
    calendar: bool = _opt(
        True, "Add calendar features (sin/cos of hour, weekday, day of year / month, as fit the frequency) "
        "as known-future inputs (--no-calendar is accepted too).", flag="--calendar-features",
    )
    trading_calendar: str = _opt(
        "auto", "Days that follow a business-day series: weekdays, or an exchange's sessions (XNYS, XLON, XTKS, ... "
        "from exchange_calendars; skips market holidays). auto: the exchange whose sessions match a price file's "
        "rows, else weekdays.", flag="--calendar", metavar="NAME",
    )
    holidays: tuple[str, ...] = _opt(
        (), "Public holidays of these countries (US, GB, DE-BY, ...; holidays package) as known-future 0/1 inputs, "
        "comma-separated.", multiple=True, metavar="CC[,CC...]",
    )
    targets: tuple[str, ...] = _opt(
        (), "Several target columns of one wide CSV, each forecast as its own series of a panel "
        "(comma-separated; the series ids are the column names).", multiple=True,
    )

    def __post_init__(self) -> None:
        for name in self._TUPLES:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise ConfigError(f"`{name}` must be a list of column names. Received: {name}={value!r}")
            object.__setattr__(self, name, tuple(str(v) for v in value))
        _choice("missing", self.missing, MISSING_POLICIES)
        _choice("transform", self.transform, TRANSFORMS)
        _choice("normalization", self.normalization, NORMALIZATIONS)
        _choice("deseason", self.deseason, DESEASON)
        if not isinstance(self.trading_calendar, str) or not self.trading_calendar.strip():
            raise ConfigError(
                "`trading_calendar` must be auto, weekdays or an exchange code such as XNYS. "
                f"Received: trading_calendar={self.trading_calendar!r}"
            )
        object.__setattr__(self, "holidays", tuple(h.strip().upper() for h in self.holidays))
        if self.target is not None:
            # The target is always input 0; listing it again as a covariate would feed it twice.
            object.__setattr__(self, "features", tuple(f for f in self.features if f != self.target))
        if self.targets and self.target is not None:
            raise ConfigError(
                f"`target` and `targets` exclude each other. Received: target={self.target!r}, targets={list(self.targets)!r}"
            )
        for name in ("features", "future_features", "static_features", "targets"):
            cols = getattr(self, name)
            if len(set(cols)) != len(cols):
                raise ConfigError(f"`{name}` lists a column twice. Received: {name}={list(cols)!r}")
        roles = [set(self.features), set(self.future_features), set(self.static_features)]
        both = (roles[0] & roles[1]) | (roles[0] & roles[2]) | (roles[1] & roles[2])
        if both:
            raise ConfigError(
                f"A column can play one role only; {', '.join(sorted(both))} is listed in more than one of "
                "`features`, `future_features` and `static_features`."
            )


@dataclass(frozen=True)
class WindowConfig(_Section):
    """How the series is cut into (lookback -> horizon) training windows."""

    SECTION: ClassVar[str] = "window"
    _INTS: ClassVar[tuple[str, ...]] = ("lookback", "horizon", "window_stride", "season")

    lookback: int | None = _opt(
        None, "Input steps per window; 0: automatic (three seasons, capped by the series length).", min=0,
    )
    horizon: int = _opt(5, "Steps forecast at once.", min=1)
    window_stride: int = _opt(1, "Step between training windows.", flag="--stride", min=1)
    val_fraction: float = _opt(0.15, "Last part of the series used for validation and early stopping.",
                               min=0.0, max=1.0, min_open=True, max_open=True)
    season: int | None = _opt(
        None, "Season length in steps for the seasonal baseline and the automatic lookback (default: from the "
        "frequency: 24 hourly, 7 daily, 12 monthly, ...).", min=1,
    )
    lookback_search: bool = _opt(
        True, "Panels with an automatic lookback: fit at half, one and one and a half times it and keep the lowest "
        "validation sMAPE (three fits).",
    )

    def __post_init__(self) -> None:
        _bool("lookback_search", self.lookback_search)
        if self.lookback == 0 and not isinstance(self.lookback, bool):
            object.__setattr__(self, "lookback", None)  # 0 spells "automatic" where None cannot (CLI, TOML)
        if self.lookback is not None:
            _positive_int("lookback", self.lookback)
        if self.season is not None:
            _positive_int("season", self.season)
        _positive_int("horizon", self.horizon)
        _positive_int("window_stride", self.window_stride)
        if not _real(self.val_fraction) or not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(
                f"`val_fraction` must be a number strictly between 0 and 1. Received: val_fraction={self.val_fraction!r}"
            )


@dataclass(frozen=True)
class ModelConfig(_Section):
    """The network family and its layers (``type`` selects the builder)."""

    SECTION: ClassVar[str] = "model"
    _INTS: ClassVar[tuple[str, ...]] = ("layers", "units", "series_embedding", "model_dim", "attention_heads",
                                        "transformer_blocks")

    type: str = _opt(
        "rnn", "Model family: rnn (recurrent encoder, direct head), seq2seq (encoder-decoder, teacher forcing), "
        "attention (seq2seq whose decoder attends over the encoder states), transformer (self-attention encoder).",
        choices=MODEL_TYPES, flag="--model", flag_aliases=("--model-type",),
    )
    cell: str = _opt("gru", "Recurrent cell (alias: rnn = simple_rnn).", choices=CELLS,
                     aliases=tuple(a for a in CELL_ALIASES if a not in CELLS))
    layers: int = _opt(1, "Stacked recurrent layers.", min=1)
    units: int = _opt(32, "Units per recurrent layer (per direction).", min=1)
    bidirectional: bool = _opt(False, "Wrap each recurrent layer in Bidirectional.")
    dropout: float = _opt(0.0, "Input dropout in each recurrent layer and before the output layer.",
                           min=0.0, max=1.0, max_open=True)
    recurrent_dropout: float = _opt(0.0, "Dropout on the recurrent state; leaves the fused cuDNN path on GPUs.",
                                     min=0.0, max=1.0, max_open=True)
    skip: str = _opt(
        "auto", "linear: add a linear map of the whole input window to the network's output (an autoregressive "
        "highway beside the recurrent layers); none: the recurrent layers alone; auto: linear, except in a panel "
        "of series without a season (yearly, or --season 1), where it measured worse.", choices=SKIPS,
    )
    series_embedding: int = _opt(
        0, "Panels: learn a vector of this many numbers per series id, joined to the last recurrent state "
        "(0: off; the model then treats every series alike).", min=0,
    )
    multistep: str = _opt(
        "direct", "rnn: direct (one output per horizon step at once) or recursive (one-step recurrent model that "
        "continues over the horizon on its own predictions).", choices=MULTISTEPS,
    )
    scheduled_sampling: float = _opt(
        0.0, "seq2seq, attention, rnn --multistep recursive: probability that a step in training gets the model's "
        "own previous prediction instead of the true value (0: pure teacher forcing).", min=0.0, max=1.0,
    )
    attention: str = _opt("additive", "attention: the score, additive (Bahdanau) or dot (Luong).",
                          choices=ATTENTION_SCORES)
    model_dim: int = _opt(32, "transformer: width of the token vectors (d_model).", min=1)
    attention_heads: int = _opt(2, "transformer: attention heads per block.", min=1)
    transformer_blocks: int = _opt(2, "transformer: encoder blocks.", min=1)

    def __post_init__(self) -> None:
        _choice("type", self.type, MODEL_TYPES)
        object.__setattr__(self, "cell", canonical_cell(self.cell))
        _positive_int("layers", self.layers)
        _positive_int("units", self.units)
        _bool("bidirectional", self.bidirectional)
        _fraction("dropout", self.dropout)
        _fraction("recurrent_dropout", self.recurrent_dropout)
        _choice("skip", self.skip, SKIPS)
        _choice("multistep", self.multistep, MULTISTEPS)
        _fraction("scheduled_sampling", self.scheduled_sampling, closed=True)
        _choice("attention", self.attention, ATTENTION_SCORES)
        for name in ("model_dim", "attention_heads", "transformer_blocks"):
            _positive_int(name, getattr(self, name))
        if self.multistep == "recursive" and self.type != "rnn":
            raise ConfigError(
                f"`multistep='recursive'` is for the rnn family (seq2seq and attention decoders are recursive "
                f"already; the transformer is direct). Received: model={self.type!r}"
            )
        if self.scheduled_sampling and self.type not in DECODER_TYPES and self.multistep != "recursive":
            raise ConfigError(
                f"`scheduled_sampling` mixes the inputs of a decoder: use model seq2seq or attention, or "
                f"multistep recursive. Received: model={self.type!r}, multistep={self.multistep!r}"
            )
        if self.bidirectional and self.type not in ("rnn",):
            raise ConfigError(
                f"`bidirectional` is for the rnn family (a decoder continues the encoder's forward state). "
                f"Received: model={self.type!r}"
            )
        if self.type == "rnn" and self.multistep == "recursive" and self.bidirectional:
            raise ConfigError("`bidirectional` does not go with multistep='recursive' (the model continues its "
                              "forward state over the horizon). Drop --bidirectional or use --multistep direct.")
        if self.type == "transformer":
            if self.recurrent_dropout:
                raise ConfigError("`recurrent_dropout` is for recurrent layers; the transformer has none. "
                                  "Use --dropout instead.")
            if self.model_dim % self.attention_heads:
                raise ConfigError(
                    f"`model_dim` must be a multiple of `attention_heads`. Received: model_dim={self.model_dim}, "
                    f"attention_heads={self.attention_heads}"
                )
        if isinstance(self.series_embedding, bool) or not isinstance(self.series_embedding, int) or self.series_embedding < 0:
            raise ConfigError(
                f"`series_embedding` must be a non-negative integer. Received: series_embedding={self.series_embedding!r}"
            )


def model_label(model: ModelConfig) -> str:
    """A short description of the network, e.g. ``1xgru (32 units)`` or ``transformer (d_model 32, 2 heads, 2 blocks)``.

    >>> model_label(ModelConfig()), model_label(ModelConfig(type="attention", attention="dot"))
    ('1xgru (32 units)', 'attention dot: 1xgru encoder-decoder (32 units)')
    """
    if model.type == "transformer":
        return (f"transformer (d_model {model.model_dim}, {model.attention_heads} heads, "
                f"{model.transformer_blocks} blocks)")
    cells = f"{model.layers}x{'bi-' if model.bidirectional else ''}{model.cell}"
    if model.type == "seq2seq":
        return f"seq2seq: {cells} encoder-decoder ({model.units} units)"
    if model.type == "attention":
        return f"attention {model.attention}: {cells} encoder-decoder ({model.units} units)"
    return f"{cells} ({model.units} units)" + (", recursive" if model.multistep == "recursive" else "")


@dataclass(frozen=True)
class OutputConfig(_Section):
    """What the network emits per horizon step, and the loss it is trained with."""

    SECTION: ClassVar[str] = "output"
    _TUPLES: ClassVar[tuple[str, ...]] = ("step_bases", "base_candidates")

    type: str = _opt("point", "Output head: point (one value per step, mean squared error); quantiles (several "
                     "quantiles per step, pinball loss, never crossing; set by --quantiles).",
                     choices=OUTPUT_TYPES, flag="--output-type")
    quantiles: tuple[float, ...] = _opt(
        (), "Quantiles the network forecasts, e.g. 0.1,0.5,0.9 (each in (0, 1); 0.5 is always added and is the "
        "point forecast). Selects --output-type quantiles.", multiple=True,
    )
    intervals: tuple[int, ...] = _opt(
        (), "Conformal prediction intervals, nominal coverage in percent, e.g. 80,95: calibrated per horizon step "
        "on the validation windows (the last --val-fraction of the rows, never trained on).",
        multiple=True, flag="--interval",
    )
    conformal: str = _opt(
        "auto", "How --interval is calibrated: auto (the default: absolute, damped or scaled, whichever has the "
        "lowest interval score on the later half of the calibration windows when calibrated on the earlier half; "
        "absolute below 40 windows), absolute (quantile of the absolute errors per step), scaled (errors divided "
        "by each window's mean absolute one-step change, so widths follow the current volatility), damped (errors "
        "divided by the geometric mean of that change and its median over the calibration windows: widths follow "
        "the volatility half as much, in log terms), cqr "
        "(conformalised quantile regression: widens or narrows the quantile head's own band).",
        choices=CONFORMAL_METHODS,
    )
    pool_steps: str = _opt(
        "auto", "How --interval pools the horizon steps: on (every step's calibration errors over a fitted step "
        "profile give one quantile, a rank horizon times finer), off (one quantile per step), auto (on below 100 "
        "calibration windows, where the per-step rank is coarse).", choices=("auto", "on", "off"),
    )
    base: str = _opt(
        "auto", "The forecast the network corrects: seasonal_naive (the value one season earlier), naive (the "
        "last value), naive2 (the last value seasonally adjusted by the window's own seasonal profile, as M4's "
        "Naive2; needs two seasons in the window), drift (the last value plus the window's average change per "
        "step), theta (the Theta method on the window: smoothed level plus half the window's least-squares slope per "
        "step), none (the level itself); auto: per horizon step, whichever of --base-candidates was most accurate "
        "on the training rows. The network learns a correction to it.", choices=BASES,
    )
    base_candidates: tuple[str, ...] = _opt(
        DEFAULT_BASE_CANDIDATES, "With base auto: the baselines it chooses from per horizon step, from naive, "
        "seasonal_naive, naive2, drift, theta (those that fit the window; a recursive rnn takes naive and "
        "seasonal_naive only).", multiple=True,
    )
    step_bases: tuple[str, ...] = _opt(
        (), "With base auto: the baseline chosen for each horizon step (set by fit).", cli=False,
    )
    series_base: bool = _opt(
        False, "Panels with base auto: each series takes its own base, the panel's per-step choice or one of "
        "--base-candidates, whichever was most accurate on that series' training windows (off: the panel's "
        "per-step choice for every series; a recursive rnn always takes the panel's). Off by default: it helped "
        "M3 quarterly and hurt M3 monthly and Tourism.",
    )
    zero_init: bool = _opt(
        True, "Start the output layer (and the linear skip) at zero, so the untrained network forecasts exactly "
        "its base (e.g. the seasonal naive forecast) and training moves away from it only as far as the data support "
        "(a quantile head keeps its own initialisation; --no-zero-init: random).",
    )
    combine: str = _opt(
        "auto", "theta serves the mean of the network's forecast and each series' Theta forecast (simple "
        "exponential smoothing with half the series' linear trend over its whole history, on the seasonally adjusted "
        "series), weighted by --theta-weight; auto: the network alone or its combination with Theta's weight "
        "0.25, 0.5 or 0.75 (a panel: or 0.9), whichever has the lowest validation sMAPE (one series: MAE, and weight 0.5 below 100 "
        "validation windows); off: the network alone.",
        choices=COMBINES,
    )
    combine_ets: str = _opt(
        "auto", "With --combine: on makes the statistical forecast the mean of Theta's and an exponential-smoothing "
        "forecast (simple, Holt's linear or damped trend, chosen per series by AICc) of the same seasonally adjusted "
        "series; off: Theta's alone; auto: on for a panel, off for one series (measured better that way).",
        choices=COMBINE_ETS,
    )
    theta_weight: float | None = _opt(
        None, "Theta's weight in the combination (the network has 1 - it); unset: auto scores 0.25, 0.5 and 0.75 "
        "(a panel: and 0.9) on the validation windows beside the network alone, theta takes 0.5 (set by fit).",
        min=0.0, max=1.0, min_open=True, max_open=True,
    )
    fallback: str = _opt(
        "none", "baseline: when the model loses to the best baseline on the validation windows, serve that "
        "baseline's forecasts instead (recorded in the run).", choices=FALLBACKS,
    )

    def __post_init__(self) -> None:
        _choice("type", self.type, OUTPUT_TYPES)
        _choice("base", self.base, BASES)
        object.__setattr__(self, "step_bases", tuple(self.step_bases))
        for b in self.step_bases:
            _choice("step_bases", b, STEP_BASES)
        if self.step_bases and self.base != "auto":
            raise ConfigError(f"`step_bases` goes with base='auto'. Received: base={self.base!r}")
        object.__setattr__(self, "base_candidates", tuple(self.base_candidates))
        if not self.base_candidates:
            raise ConfigError(f"`base_candidates` needs at least one of {', '.join(STEP_BASES)}.")
        for b in self.base_candidates:
            _choice("base_candidates", b, STEP_BASES)
        _choice("fallback", self.fallback, FALLBACKS)
        _choice("combine", self.combine, COMBINES)
        if self.theta_weight is not None:
            wt = self.theta_weight
            if isinstance(wt, bool) or not isinstance(wt, (int, float)) or not 0.0 < wt < 1.0:
                raise ConfigError(f"`theta_weight` must be a number strictly between 0 and 1. Received: theta_weight={wt!r}")
            object.__setattr__(self, "theta_weight", float(wt))
        _bool("zero_init", self.zero_init)
        _bool("series_base", self.series_base)
        _choice("combine_ets", self.combine_ets, COMBINE_ETS)
        object.__setattr__(self, "quantiles", _numbers("quantiles", self.quantiles, float))
        object.__setattr__(self, "intervals", _numbers("intervals", self.intervals, int))
        for q in self.quantiles:
            if not 0.0 < q < 1.0:
                raise ConfigError(f"`quantiles` must lie strictly between 0 and 1. Received: quantiles={list(self.quantiles)!r}")
        for level in self.intervals:
            if not 0 < level < 100:
                raise ConfigError(
                    f"`intervals` are coverages in percent, strictly between 0 and 100 (e.g. 80,95). "
                    f"Received: intervals={list(self.intervals)!r}"
                )
        _choice("conformal", self.conformal, CONFORMAL_METHODS)
        _choice("pool_steps", self.pool_steps, ("auto", "on", "off"))
        if self.quantiles and self.type == "point":
            object.__setattr__(self, "type", "quantiles")  # --quantiles selects the quantile head
        if self.type == "quantiles" and not self.quantiles:
            object.__setattr__(self, "quantiles", DEFAULT_QUANTILES)
        if self.conformal == "cqr" and self.type != "quantiles":
            raise ConfigError(
                "`conformal` cqr calibrates the quantile head's band; add --quantiles (or use --conformal absolute)."
            )
        if self.intervals and self.fallback != "none":
            raise ConfigError("`intervals` are calibrated for the model's own forecasts; use --fallback none with --interval.")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["quantiles"], out["intervals"] = list(self.quantiles), list(self.intervals)
        return out

    @property
    def head_quantiles(self) -> tuple[float, ...]:
        """The quantiles the quantile head emits: ``quantiles``, the median, and with ``conformal="cqr"`` the
        band edges ``(1 -/+ level) / 2`` of every interval level (empty for the point head).

        >>> OutputConfig(quantiles=(0.1, 0.9), intervals=(80, 95), conformal="cqr").head_quantiles
        (0.025, 0.1, 0.5, 0.9, 0.975)
        """
        if self.type != "quantiles":
            return ()
        qs = set(self.quantiles) | {0.5}
        if self.conformal == "cqr":
            for level in self.intervals:
                qs |= {round((1 - level / 100) / 2, 6), round((1 + level / 100) / 2, 6)}
        return tuple(sorted(round(q, 6) for q in qs))


@dataclass(frozen=True)
class TrainConfig(_Section):
    """The optimiser, the budget, early stopping and the seed."""

    SECTION: ClassVar[str] = "train"
    _INTS: ClassVar[tuple[str, ...]] = (
        "epochs", "batch_size", "patience", "seed", "steps_per_epoch", "min_steps_per_epoch", "ensemble",
        "lr_patience",
    )

    epochs: int = _opt(60, "Most passes over the training windows (early stopping may end sooner).", min=1)
    batch_size: int = _opt(64, "Windows per optimiser step (per replica under --strategy); above the number of "
                           "training windows it is lowered to that number.", min=1, max=MAX_BATCH_SIZE)
    learning_rate: float = _opt(1e-3, "Adam learning rate.", min=0.0, min_open=True)
    clipnorm: float = _opt(1.0, "Gradient clipping norm (Adam clipnorm); 0 disables.", min=0.0)
    patience: int = _opt(10, "Early-stopping patience in epochs (best weights are restored).", min=1)
    seed: int = _opt(42, "Seeds Python, NumPy and the backend; CPU runs repeat exactly.", min=0, max=2**32, max_open=True)
    steps_per_epoch: int | None = _opt(
        30, "Most batches per epoch (a long series continues with fresh random batches in the next epoch; "
        "0: one whole pass).", min=0,
    )
    min_steps_per_epoch: int = _opt(
        30, "At least this many optimiser steps per epoch: short series draw further shuffled passes, so the "
        "budget does not shrink with the series.", min=1,
    )
    lr_patience: int | None = _opt(
        4, "Halve the learning rate after this many epochs without a better validation loss (0: constant).",
        min=0,
    )
    val_smoothing: float = _opt(
        0.0, "Early stopping and the learning-rate schedule watch an exponential moving average of the validation "
        "loss with this weight on the past (0: the raw loss): damps the noise of a few validation windows.",
        min=0.0, max=1.0, max_open=True,
    )
    ensemble: int | None = _opt(
        None, "Members (different initialisations) trained together and combined by their median; 0: from the data "
        "size (3 below 2,000 training windows, else 1).", min=0,
    )

    loss: str = _opt(
        "mae", "Point forecasts: the training loss in model units. mse: mean squared error (the mean); mae: mean "
        "absolute error (the median; robust to outliers, and with per-series scaling it is the MASE a panel is "
        "scored by); huber: squared below 1, absolute above. Quantile heads always use the pinball loss.",
        choices=LOSSES,
    )
    final_fit: str = _opt(
        "holdout", "The model served. holdout: the early-stopped model, never trained on the validation rows. all: "
        "after early stopping has picked the number of epochs, a fresh model is trained on every window, the "
        "validation rows (the most recent) included, for that many epochs with the same learning-rate schedule; "
        "the reported validation scores and the interval calibration stay those of the held-out model.",
        choices=FINAL_FITS,
    )
    keep_base: bool = _opt(
        True, "Early stopping also weighs the untrained network, which with --zero-init forecasts exactly its "
        "base: when no epoch beats it on the validation windows, it is kept (the fit then serves the base "
        "forecast, recorded as best epoch 0). Point output only.",
    )
    series_weights: str = _opt(
        "windows", "Panels: how the series' windows weigh in the loss. windows: every window alike (long series "
        "dominate); series: each series alike (its windows share a weight of 1 / its window count, rescaled to "
        "a mean of 1), so short series are not drowned.", choices=("windows", "series"),
    )

    def __post_init__(self) -> None:
        if self.ensemble == 0 and not isinstance(self.ensemble, bool):
            object.__setattr__(self, "ensemble", None)  # 0 spells "from the data size" (CLI, TOML)
        for name in ("steps_per_epoch", "lr_patience"):
            if getattr(self, name) == 0 and not isinstance(getattr(self, name), bool):
                object.__setattr__(self, name, None)  # 0 spells "unset" (a whole pass; a constant rate)
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        if self.batch_size > MAX_BATCH_SIZE:
            raise ConfigError(
                f"`batch_size` must be at most {MAX_BATCH_SIZE} (a batch larger than the training windows gains "
                f"nothing). Received: batch_size={self.batch_size}"
            )
        _positive_int("patience", self.patience)
        for name in ("steps_per_epoch", "lr_patience", "ensemble"):
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name))
        _positive_int("min_steps_per_epoch", self.min_steps_per_epoch)
        _fraction("val_smoothing", self.val_smoothing)
        _choice("series_weights", self.series_weights, ("windows", "series"))
        _choice("loss", self.loss, LOSSES)
        _choice("final_fit", self.final_fit, FINAL_FITS)
        _bool("keep_base", self.keep_base)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ConfigError(f"`seed` must be an integer in [0, 2**32). Received: seed={self.seed!r}")
        if not _real(self.learning_rate) or not self.learning_rate > 0:
            raise ConfigError(
                f"`learning_rate` must be a positive number. Received: learning_rate={self.learning_rate!r}"
            )
        if self.clipnorm is None:  # the run manifests of version 1 wrote None for "no clipping"
            object.__setattr__(self, "clipnorm", 0.0)
        if not _real(self.clipnorm) or self.clipnorm < 0:
            raise ConfigError(
                f"`clipnorm` must be a non-negative number (0 disables clipping). Received: clipnorm={self.clipnorm!r}"
            )


@dataclass(frozen=True)
class RuntimeConfig(_Section):
    """Where and how the arithmetic runs; none of it changes what is learned on a CPU."""

    SECTION: ClassVar[str] = "runtime"

    mixed_precision: str = _opt(
        "off", "Compute in float16 (NVIDIA GPUs, loss scaling automatic) or bfloat16; weights and output stay float32.",
        choices=MIXED_PRECISION,
    )
    jit_compile: bool | str = _opt(
        "auto", "XLA-compile the training step: true, false or auto (Keras decides). True turns op determinism off.",
    )
    strategy: str = _opt(
        "default", "tf.distribute: mirrored = all local GPUs, multiworker = the cluster in TF_CONFIG; "
        "--batch-size is per replica.", choices=STRATEGIES,
    )

    def __post_init__(self) -> None:
        _choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        _choice("strategy", self.strategy, STRATEGIES)
        if not isinstance(self.jit_compile, bool) and self.jit_compile != "auto":
            raise ConfigError(
                f"`jit_compile` must be True, False or 'auto'. Received: jit_compile={self.jit_compile!r}"
            )


#: Section name -> section class, in the order they are printed.
SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "window": WindowConfig,
    "model": ModelConfig,
    "output": OutputConfig,
    "train": TrainConfig,
    "runtime": RuntimeConfig,
}

#: Flat spellings whose field name is not unique across sections.
_FLAT_ALIASES = {"model": ("model", "type"), "output": ("output", "type")}


def _flat_names() -> dict[str, tuple[str, str]]:
    """Flat keyword -> (section, field)."""
    out: dict[str, tuple[str, str]] = {}
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            if f.name == "type":
                continue
            out[f.name] = (section, f.name)
    out.update(_FLAT_ALIASES)
    return out


FLAT_NAMES: dict[str, tuple[str, str]] = _flat_names()
#: Fields that runs saved before they existed do not store, and the value those runs were built with
#: (today's defaults differ: a run loaded with them would rebuild another network or other inputs).
ABSENT_IN_OLDER_RUNS: dict[tuple[str, str], Any] = {
    ("data", "calendar"): False,
    ("data", "trading_calendar"): "weekdays",
    ("output", "base"): "naive",
    ("train", "ensemble"): 1,
    ("model", "skip"): "none",
    ("train", "min_steps_per_epoch"): 1,
    ("train", "lr_patience"): None,
}
#: Keys of version-1 manifests (one flat config) that were renamed.
_LEGACY_NAMES = {"stride": "window_stride"}


def resolve_key(key: str) -> tuple[str, str]:
    """``"units"``, ``"model.units"`` or ``"model"`` (the family) -> ``(section, field)``.

    >>> resolve_key("units"), resolve_key("train.seed"), resolve_key("model")
    (('model', 'units'), ('train', 'seed'), ('model', 'type'))
    """
    if "." in key:
        section, _, name = key.partition(".")
        cls = SECTIONS.get(section)
        if cls is None:
            raise ConfigError(f"Unknown config section {section!r} in {key!r}. Sections: {', '.join(SECTIONS)}")
        if name not in {f.name for f in fields(cls)}:
            raise ConfigError(
                f"Unknown config key {key!r}. Keys of [{section}]: {', '.join(f.name for f in fields(cls))}"
            )
        return section, name
    if key in FLAT_NAMES:
        return FLAT_NAMES[key]
    raise ConfigError(
        f"Unknown config key {key!r}. Use a field name such as 'units' or 'section.key' (sections: {', '.join(SECTIONS)})."
    )


@dataclass(frozen=True, init=False)
class ForecastConfig:
    """Every setting that determines how a model is built, trained and applied.

    Build it from sections, from flat keywords, or both (a keyword wins over
    the same field of a section given alongside it)::

        ForecastConfig(model=ModelConfig(cell="lstm"), horizon=12)
        ForecastConfig(cell="lstm", horizon=12)

    >>> ForecastConfig(units=8).model.units
    8
    """

    data: DataConfig
    window: WindowConfig
    model: ModelConfig
    output: OutputConfig
    train: TrainConfig
    runtime: RuntimeConfig

    def __init__(self, **kwargs: Any) -> None:
        sections: dict[str, Any] = {}
        flat: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        for key, value in kwargs.items():
            cls = SECTIONS.get(key)
            if cls is not None and isinstance(value, cls):
                sections[key] = value
                continue
            if cls is not None and isinstance(value, dict):
                sections[key] = cls.from_dict(value)
                continue
            if key not in FLAT_NAMES:
                raise ConfigError(
                    f"Unknown config key {key!r}. Known keys: {', '.join(sorted(FLAT_NAMES))}"
                )
            section, name = FLAT_NAMES[key]
            flat[section][name] = value
        for name, cls in SECTIONS.items():
            base = sections.get(name) or cls()
            value = dataclasses.replace(base, **flat[name]) if flat[name] else base
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ dicts
    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Nested plain-JSON representation (tuples become lists)."""
        return {name: getattr(self, name).to_dict() for name in SECTIONS}

    def to_flat(self) -> dict[str, Any]:
        """``{flat keyword: value}``: what ``ForecastConfig(**flat)`` rebuilds."""
        out = {}
        for key, (section, name) in FLAT_NAMES.items():
            out[key] = getattr(getattr(self, section), name)
        return out

    @classmethod
    def from_dict(cls, data: Any, *, stored: bool = False) -> "ForecastConfig":
        """Rebuild a config from its nested dict; unknown sections or keys are an error.

        A flat dict (the manifests of version 1) is read too. ``stored=True``
        reads a saved run's config: a field the run's manifest does not have
        (it was written before the field existed) takes the value that run
        was built with (:data:`ABSENT_IN_OLDER_RUNS`), not today's default.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"A config must be a JSON object. Received: {type(data).__name__}")
        if data and all(key not in SECTIONS and not isinstance(v, dict) for key, v in data.items()):
            return cls._from_legacy(data, stored=stored)
        if stored:
            data = {name: dict(value) if isinstance(value, dict) else value for name, value in data.items()}
            for (section, name), value in ABSENT_IN_OLDER_RUNS.items():
                if isinstance(data.get(section, {}), dict) and name not in data.get(section, {}):
                    data.setdefault(section, {})[name] = value
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise ConfigError(
                f"Unknown config section(s): {', '.join(map(str, unknown))}. Sections: {', '.join(SECTIONS)}"
            )
        return cls(**{name: SECTIONS[name].from_dict(data.get(name, {})) for name in SECTIONS})

    @classmethod
    def _from_legacy(cls, data: dict[str, Any], *, stored: bool = False) -> "ForecastConfig":
        nested: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        unknown = []
        for key, value in data.items():
            key = _LEGACY_NAMES.get(key, key)
            if key not in FLAT_NAMES:
                unknown.append(key)
                continue
            section, name = FLAT_NAMES[key]
            nested[section][name] = value
        if unknown:
            raise ConfigError(
                f"Unknown config key(s): {', '.join(sorted(unknown))}. Known keys: {', '.join(sorted(FLAT_NAMES))}"
            )
        return cls.from_dict(nested, stored=stored)

    # ------------------------------------------------------------------ files
    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "ForecastConfig":
        """Read a TOML (``.toml``) or JSON config file; strict like :meth:`from_dict`.

        A file may set any subset of the fields; the rest keep their defaults.
        """
        return cls().merged(read_config_file(path))

    def to_toml(self) -> str:
        """The config as TOML, every field written (unset optional ones as comments)."""
        lines: list[str] = []
        for name, cls in SECTIONS.items():
            lines.append(f"[{name}]")
            section = getattr(self, name)
            for f in fields(cls):
                value = getattr(section, f.name)
                help_text = f.metadata.get("help", "")
                if value is None and f.default is not None:
                    lines.append(f"{f.name} = 0   # {help_text}")  # unset where the default is set: 0 spells it
                elif value is None:
                    lines.append(f"# {f.name} =   # {help_text}")
                else:
                    lines.append(f"{f.name} = {_toml_value(value)}")
            lines.append("")
        return "\n".join(lines)

    # -------------------------------------------------------------- changes
    def merged(self, overrides: dict[str, Any]) -> "ForecastConfig":
        """A copy with ``overrides`` applied; keys are flat (``units``), dotted (``model.units``) or
        nested section tables (``{"model": {"units": 8}}``). Only the given keys change.

        >>> ForecastConfig().merged({"model.units": 8, "horizon": 3}).window.horizon
        3
        """
        if not isinstance(overrides, dict):
            raise ConfigError(f"Config overrides must be a table of keys. Received: {type(overrides).__name__}")
        changes: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        for key, value in overrides.items():
            if key in SECTIONS and isinstance(value, dict):
                cls = SECTIONS[key]
                # Validates the keys (strictly) and the types of this partial section.
                cls.from_dict({**getattr(self, key).to_dict(), **value})
                changes[key].update(
                    {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
                )
                continue
            if isinstance(value, dict):
                raise ConfigError(f"Unknown config section(s): {key}. Sections: {', '.join(SECTIONS)}")
            section, name = resolve_key(key)
            changes[section][name] = tuple(value) if isinstance(value, list) else value
        return self.replace_sections(changes)

    def replace(self, **changes: Any) -> "ForecastConfig":
        """A copy with some fields changed, by flat keyword (validated again).

        >>> ForecastConfig().replace(lookback=10).window.lookback
        10
        """
        return self.merged(changes)

    def replace_sections(self, changes: dict[str, dict[str, Any]]) -> "ForecastConfig":
        out = {}
        for name in SECTIONS:
            section = getattr(self, name)
            for key, value in changes.get(name, {}).items():
                if key in section._INTS and isinstance(value, float):
                    raise ConfigError(f"`{key}` must be an integer. Received: {key}={value!r}")
            out[name] = dataclasses.replace(section, **changes[name]) if changes.get(name) else section
        return ForecastConfig(**out)


# ----------------------------------------------------------------------------
def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model-config tables of a TOML or JSON config file (a dict), with clear errors.

    A ``[backtest]`` table may sit beside the model's in one file; it is left out here
    (:func:`read_config_tables` returns it too).
    """
    return {k: v for k, v in read_config_tables(path).items() if k != "backtest"}


def read_config_tables(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Every table of a TOML or JSON config file, ``[backtest]`` included."""
    p = Path(path)
    try:
        if not p.is_file():
            raise ConfigError(f"Config file {p} does not exist or is not a regular file.")
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"Config file {p} is larger than {MAX_CONFIG_BYTES} bytes; a config is a few lines.")
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {p}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"Config file {p} is not UTF-8 text.") from None
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ConfigError(f"Config file {p} is not valid JSON: {exc}") from None
    else:
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError) as exc:
            raise ConfigError(f"Config file {p} is not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {p} must hold a table of keys. Received: {type(data).__name__}")
    return data


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"model.units=64"`` -> ``("model.units", 64)``: the value is read as a TOML value, else a string.

    >>> parse_assignment("train.learning_rate=3e-4"), parse_assignment("data.target=OT")
    (('train.learning_rate', 0.0003), ('data.target', 'OT'))
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects section.key=value. Received: {text!r}")
    resolve_key(key)
    return key, parse_value(value)


def parse_value(text: str) -> Any:
    """A command-line value read as a TOML value (number, bool, list, quoted string), else the plain string.

    >>> parse_value("64"), parse_value("['a', 'b']"), parse_value("OT")
    (64, ['a', 'b'], 'OT')
    """
    value = text.strip()
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def cli_fields() -> list[tuple[str, str, dataclasses.Field]]:
    """``(section, flat keyword, field)`` for every field that the CLI exposes as an option."""
    out = []
    for key, (section, name) in FLAT_NAMES.items():
        f = next(x for x in fields(SECTIONS[section]) if x.name == name)
        if f.metadata.get("cli", True):
            out.append((section, key, f))
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _real(value: Any) -> bool:
    """A finite int or float; ``bool`` is not a number here (``True`` is no learning rate)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def _bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"`{name}` must be true or false. Received: {name}={value!r}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"`{name}` must be one of {', '.join(choices)}. Received: {name}={value!r}")


def _numbers(name: str, value: Any, kind: type) -> tuple:
    """A sorted tuple of distinct numbers from a list or tuple of numbers or their spellings ("0.1", "80")."""
    if isinstance(value, (str, int, float)) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"`{name}` must be a list of numbers (comma-separated on the command line). Received: {name}={value!r}")
    out = []
    for v in value:
        try:
            if isinstance(v, bool):
                raise ValueError
            x = kind(v) if not isinstance(v, str) else kind(float(v)) if kind is float else int(v.strip().rstrip("%"))
            if kind is int and isinstance(v, float) and v != int(v):
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigError(f"`{name}` must be a list of numbers. Received: {name}={list(value)!r}") from None
        if not math.isfinite(x):
            raise ConfigError(f"`{name}` must be finite numbers. Received: {name}={list(value)!r}")
        out.append(x)
    if len(set(out)) != len(out):
        raise ConfigError(f"`{name}` lists a value twice. Received: {name}={list(value)!r}")
    return tuple(sorted(out))


def _fraction(name: str, value: Any, *, closed: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value and (
        value <= 1.0 if closed else value < 1.0)
    if not ok:
        raise ConfigError(f"`{name}` must be a number in [0, 1{']' if closed else ')'}. Received: {name}={value!r}")
