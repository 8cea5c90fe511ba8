"""Hyperparameter search: Optuna trials scored by rolling-origin backtests before a held-back test region.

The series is split once, by time::

    |<------------------ tuning rows ------------------>|<--- test region --->|
    |  training ...  | fold 1 | fold 2 | ... | fold K    |  scored once, at   |
                     ^ each trial: one rolling-origin       the end, beside the
                       backtest over these folds (MASE)     baselines

Every trial samples a configuration (:func:`search_space`), backtests it on
the folds of the tuning rows only (a fresh model per refit, scalers on the
rows before each cutoff) and reports its overall MASE; Optuna's TPE sampler
proposes the next. The test region is never seen by a trial: after the
search, the best configuration is fitted on the tuning rows and scored once
on the test region, next to the naive, seasonal naive, drift and window-mean
forecasts of the same origins.

The study lives in an SQLite file (``study.db``) in the tuning directory:
``forecast tune`` run again with the same ``--name`` continues it (finished
trials are kept; an interrupted trial is marked failed and not counted).
The best configuration is written as ``best.toml``, which
``forecast fit --config best.toml`` reads.

Optuna is an optional dependency (``pip install 'forecaster[tune]'``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecaster.config import CELLS, MODEL_TYPES, NORMALIZATIONS, ForecastConfig
from forecaster.exceptions import ConfigError, DataError

log = logging.getLogger(__name__)

#: Files of a tuning directory.
STUDY_FILE = "study.db"
BEST_FILE = "best.toml"
RESULT_FILE = "tune.json"
TRIALS_FILE = "trials.csv"


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "`forecast tune` needs the `optuna` package, which is not installed. "
            "Install it with: pip install 'forecaster[tune]' (or pip install optuna)."
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def lookback_choices(season: int, horizon: int, n_rows: int) -> list[int]:
    """Candidate lookbacks: 0 (automatic) and 1-4 seasons (at least the horizon), capped by the rows.

    >>> lookback_choices(7, 5, 1000)
    [0, 7, 14, 21, 28]
    >>> lookback_choices(24, 48, 300)
    [0, 48, 72]
    """
    cap = max(horizon, n_rows // 4)
    values = sorted({max(k * season, horizon) for k in (1, 2, 3, 4)})
    return [0, *[v for v in values if v <= cap]]


def search_space(trial, base: ForecastConfig, *, season: int, n_rows: int) -> dict[str, Any]:
    """The settings one trial tries (flat config keys), sampled from ``trial``.

    Searched: the model family (when there is more than one), cell, units, layers,
    lookback, dropout, learning rate and normalisation. Everything else comes from
    ``base`` (the defaults, ``--config`` and the flags typed).
    """
    params: dict[str, Any] = {}
    if len(MODEL_TYPES) > 1:
        params["model"] = trial.suggest_categorical("model", list(MODEL_TYPES))
    params["cell"] = trial.suggest_categorical("cell", list(CELLS))
    params["units"] = trial.suggest_categorical("units", [8, 16, 32, 64, 128])
    params["layers"] = trial.suggest_int("layers", 1, 3)
    params["lookback"] = trial.suggest_categorical(
        "lookback", lookback_choices(season, base.window.horizon, n_rows))
    params["dropout"] = trial.suggest_float("dropout", 0.0, 0.3, step=0.05)
    params["learning_rate"] = trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
    params["normalization"] = trial.suggest_categorical("normalization", list(NORMALIZATIONS))
    return params


@dataclass
class TuneResult:
    """What a search found: the best settings and config, every trial, and the held-back test scores."""

    best_params: dict[str, Any]
    best_value: float
    best_baselines: dict[str, float]
    best_config: ForecastConfig
    trials: list[dict[str, Any]]
    test: dict[str, Any] | None = None
    directory: Path | None = None
    test_start: str | None = None
    tuning_rows: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def test_table(self) -> str:
        """The test-region metrics, model beside the baselines (empty before the final scoring)."""
        if not self.test:
            return ""
        import pandas as pd

        from forecaster.evaluation import metrics as M

        table = pd.DataFrame(self.test["metrics"]).T
        table = table.rename(columns={k: m.label + m.unit for k, m in M.METRICS.items()})
        return table.to_string(float_format=lambda v: f"{v:.4g}")


def _when(t) -> str:
    from forecaster.plot import time_label

    return time_label(t)


def _series_rows(series, stop: int):
    """The first ``stop`` rows of ``series`` (a :class:`~forecaster.data.Series`)."""
    return dataclasses.replace(series, frame=series.frame.iloc[:stop])


def tune(
    series,
    base: ForecastConfig | None = None,
    *,
    trials: int = 20,
    timeout: float | None = None,
    folds: int = 3,
    test_fraction: float = 0.2,
    directory: str | Path | None = None,
    origin_stride: int | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    seed: int | None = None,
) -> TuneResult:
    """Search hyperparameters of ``base`` on ``series``; score the best once on a held-back test region.

    Args:
        series: one validated series (what :func:`forecaster.data.load` returns).
        base: the fixed settings (horizon, epochs, ...); searched keys are overridden per trial.
        trials: trials to run in this call (a resumed study adds this many more).
        timeout: stop starting new trials after this many seconds (the running one finishes).
        folds: rolling-origin folds of each trial's backtest, all before the test region.
        test_fraction: the last share of the rows held back for the final score.
        directory: where the study (SQLite), ``best.toml``, ``trials.csv`` and ``tune.json`` live;
            an existing study there is continued. None: in memory, nothing written.
        origin_stride: rows between forecast origins (default: about 200 origins per backtest).
        progress: called after every trial with a dict (``number``, ``value``, ``best``, ``params``,
            ``seconds``, ``done``, ``total``).
        seed: the sampler's seed (default: the base config's ``train.seed``).

    Raises:
        ConfigError: optuna is missing, or an existing study was made for other data or settings.
        DataError: the series is too short for the folds and the test region.
    """
    optuna = _optuna()
    from forecaster.baselines import infer_season
    from forecaster.evaluation import run_backtest
    from forecaster.evaluation.splits import BacktestConfig

    base = base or ForecastConfig()
    if not 0.0 < test_fraction < 0.5:
        raise ConfigError(f"`test_fraction` must be in (0, 0.5). Received: test_fraction={test_fraction!r}")
    n = len(series)
    test_start = int(round(n * (1 - test_fraction)))
    horizon = base.window.horizon
    if n - test_start < horizon or test_start < 4 * horizon:
        raise DataError(
            f"The series has {n} rows: too few for a test region of {test_fraction:.0%} and tuning folds before it "
            f"with horizon {horizon}. Use a longer series or a smaller --test-fraction."
        )
    tuning = _series_rows(series, test_start)
    season = base.window.season or infer_season(series.freq)
    stride = origin_stride or max(1, (test_start // 5) // 200)
    settings = {"folds": folds, "test_fraction": test_fraction, "origin_stride": stride,
                "fingerprint": series.fingerprint, "base": base.to_dict()}

    storage = None
    if directory is not None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(directory / STUDY_FILE).resolve()}"
    sampler = optuna.samplers.TPESampler(seed=base.train.seed if seed is None else seed)
    study = optuna.create_study(study_name="forecaster", storage=storage, direction="minimize",
                                sampler=sampler, load_if_exists=True)
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", json.loads(json.dumps(settings, default=str)))
    elif stored != json.loads(json.dumps(settings, default=str)):
        raise ConfigError(
            f"The study in {directory} was made for other data or settings (fingerprint, folds, test fraction, "
            "base config). Use another --name, or the same data and options to continue it."
        )
    bt = BacktestConfig(folds=folds, refit="never", origin_stride=stride, season=base.window.season)
    done_before = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])

    def objective(trial) -> float:
        params = search_space(trial, base, season=season, n_rows=test_start)
        config = base.merged(params)
        started = time.perf_counter()
        result = run_backtest(config, tuning, bt)
        value = float(result.scores["overall"]["model"]["mase"])
        trial.set_user_attr("seconds", round(time.perf_counter() - started, 2))
        for name in ("naive", "seasonal_naive"):
            trial.set_user_attr(f"{name}_mase", float(result.scores["overall"][name]["mase"]))
        if not math.isfinite(value):
            raise optuna.TrialPruned(f"non-finite MASE {value}")
        return value

    def report(study_, trial) -> None:
        if progress is None:
            return
        complete = [t for t in study_.trials if t.state == optuna.trial.TrialState.COMPLETE]
        progress({
            "number": trial.number, "value": trial.value, "state": trial.state.name, "params": trial.params,
            "best": study_.best_value if complete else None,
            "best_number": study_.best_trial.number if complete else None,
            "seconds": trial.user_attrs.get("seconds"), "done": len(complete) - done_before, "total": trials,
        })

    study.optimize(objective, n_trials=trials, timeout=timeout, callbacks=[report],
                   catch=(DataError,), gc_after_trial=True)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise DataError("No trial finished; see the messages above. Try fewer --folds or a longer series.")
    best = study.best_trial
    best_config = base.merged(best.params)
    rows = [{"number": t.number, "state": t.state.name, "mase": t.value, **t.params,
             "seconds": t.user_attrs.get("seconds")} for t in study.trials]
    result = TuneResult(best_params=dict(best.params), best_value=float(best.value), best_config=best_config,
                        best_baselines={k[: -len("_mase")]: v for k, v in best.user_attrs.items() if k.endswith("_mase")},
                        trials=rows, directory=directory, test_start=_when(series.index[test_start]),
                        tuning_rows=test_start, settings=settings)

    # The test region, once: the best configuration fitted on every tuning row, every test origin forecast.
    final = run_backtest(best_config, series,
                         BacktestConfig(start=test_start, folds=1, refit="never", season=base.window.season))
    overall = final.scores["overall"]
    result.test = {
        "origins": int(final.scores["origins"]),
        "metrics": {name: {k: float(v) for k, v in overall[name].items() if isinstance(v, (int, float))}
                    for name in overall},
        "summary": final.summary,
    }
    if directory is not None:
        _write(result, directory)
    return result


def _write(result: TuneResult, directory: Path) -> None:
    """``best.toml``, ``trials.csv`` and ``tune.json``, each written whole (temporary file, then rename)."""
    import pandas as pd

    from forecaster.output import to_csv, write_text

    header = (
        f"# Best of {len([t for t in result.trials if t['state'] == 'COMPLETE'])} trials (MASE {result.best_value:.4f} "
        f"on rolling-origin folds before {result.test_start}).\n# Use it with: forecast fit DATA --config "
        f"{directory / BEST_FILE}\n"
    )
    write_text(header + result.best_config.to_toml(), directory / BEST_FILE)
    write_text(to_csv(pd.DataFrame(result.trials).set_index("number")), directory / TRIALS_FILE)
    doc = {"best_params": result.best_params, "best_mase": result.best_value, "test_start": result.test_start,
           "tuning_rows": result.tuning_rows, "test": result.test, "settings": result.settings}
    write_text(json.dumps(doc, indent=2, default=str, allow_nan=True) + "\n", directory / RESULT_FILE)
