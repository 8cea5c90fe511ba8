"""A backtest run directory: written atomically, read back for ``forecast plot --backtest``.

::

    runs/backtest-<data>-<cell>-<time>/
      backtest.json    manifest: schema version, data, model and backtest configs, season, fits, timings, versions
      metrics.json     overall, per step and per fold scores, verdict, formulas (strict JSON: NaN is null)
      forecasts.csv    the long table of historical forecasts (one row per origin and step)
      folds.csv        one row per fold: training range, cutoff, test range
      history.csv      per-epoch losses of every fit
      *.png            the figures given to :func:`write_backtest`

The directory is written into a temporary sibling and renamed into place
(:func:`forecaster.artifacts.write_run_dir`), so an interrupted run never
leaves a half-written directory that looks whole; an existing directory is
never overwritten (``-2``, ``-3``... is appended).
"""

from __future__ import annotations

import math
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster import __version__
from forecaster.artifacts import read_json_object, write_json, write_run_dir
from forecaster.config import ForecastConfig
from forecaster.evaluation.historical import FORECAST_COLUMNS
from forecaster.evaluation.splits import BacktestConfig, Fold
from forecaster.exceptions import ArtifactError, ConfigError

__all__ = ["SCHEMA_VERSION", "read_backtest", "write_backtest"]

SCHEMA_VERSION = 1
MANIFEST_FILE = "backtest.json"
METRICS_FILE = "metrics.json"
FORECASTS_FILE = "forecasts.csv"
FOLDS_FILE = "folds.csv"
HISTORY_FILE = "history.csv"
#: Written by versions before the forecast table gained its ``origin`` column; rebuilt from the folds on load.
_OPTIONAL_COLUMNS = ("origin",)


def runtime_versions() -> dict[str, str]:
    """forecaster's, NumPy's, pandas', Keras' versions, the Keras backend, and that backend's package version."""
    versions = {"forecaster": __version__, "numpy": np.__version__, "pandas": pd.__version__}
    if "keras" in sys.modules:
        versions["keras"] = sys.modules["keras"].__version__
        versions["backend"] = sys.modules["keras"].backend.backend()
    for package in ("tensorflow", "jax", "torch"):
        if package in sys.modules and (package == "tensorflow" or versions.get("backend") == package):
            versions[package] = getattr(sys.modules[package], "__version__", "?")
    return versions


def manifest(result: Any) -> dict[str, Any]:
    """The content of ``backtest.json`` for a backtest result."""
    versions = runtime_versions()
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "backtest",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": dict(result.data),
        "config": result.fc_config.to_dict(),
        "backtest": result.config.to_dict(),
        "season": result.season,
        "season_inferred": result.season_inferred,
        "fits": list(result.fits),
        "timings": dict(result.timings),
        "versions": versions,
    }


def write_backtest(path: str | os.PathLike[str], result: Any, figures: dict[str, Any] | None = None) -> Path:
    """Write ``result`` (a :class:`~forecaster.evaluation.report.BacktestResult`) as a directory; return its path.

    ``figures`` maps file names to matplotlib figures, saved as PNG.
    """

    def write(tmp: Path) -> None:
        write_json(tmp / MANIFEST_FILE, _jsonable(manifest(result)))
        write_json(tmp / METRICS_FILE, _jsonable(result.scores))
        result.forecasts.to_csv(tmp / FORECASTS_FILE, index=False, float_format="%.10g")
        result.fold_table.to_csv(tmp / FOLDS_FILE, index=False)
        _history_frame(result.histories, result.fits).to_csv(tmp / HISTORY_FILE, index=False)
        for name, fig in (figures or {}).items():
            fig.savefig(tmp / name, dpi=110)

    return write_run_dir(Path(path), write)


def read_backtest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a directory written by :func:`write_backtest`: the keyword arguments of a ``BacktestResult``."""
    run = Path(path)
    if not run.is_dir():
        raise ArtifactError(f"Backtest directory {run} does not exist. Pass a directory made by 'forecast backtest'.")
    for name in (MANIFEST_FILE, METRICS_FILE, FORECASTS_FILE, FOLDS_FILE):
        if not (run / name).is_file():
            raise ArtifactError(
                f"{run} is not a complete backtest directory ({name} is missing). Run 'forecast backtest' again."
            )
    man = read_json_object(run / MANIFEST_FILE)
    if man.get("schema_version") != SCHEMA_VERSION or man.get("kind") != "backtest":
        raise ArtifactError(
            f"{run / MANIFEST_FILE} is not a backtest manifest of schema version {SCHEMA_VERSION}. "
            "Run 'forecast backtest' again with this version."
        )
    scores = read_json_object(run / METRICS_FILE)
    try:
        fc_config = ForecastConfig.from_dict(man["config"], stored=True)
        config = BacktestConfig.from_dict(man["backtest"])
        season = int(man["season"])
        data = dict(man["data"])
        for key in ("overall", "per_step", "verdict", "horizon"):
            scores[key]  # noqa: B018 - presence check
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise ArtifactError(f"{run} has an invalid backtest manifest or metrics file: {exc!r}") from None
    try:
        forecasts = pd.read_csv(run / FORECASTS_FILE, parse_dates=["cutoff", "timestamp"])
        table = pd.read_csv(run / FOLDS_FILE, parse_dates=["train_start", "train_end", "cutoff", "test_start", "test_end"])
    except (ValueError, pd.errors.ParserError) as exc:
        raise ArtifactError(f"Cannot read the tables of {run}: {exc}") from None
    missing = [c for c in FORECAST_COLUMNS if c not in forecasts.columns and c not in _OPTIONAL_COLUMNS]
    if missing:
        raise ArtifactError(f"{run / FORECASTS_FILE} lacks the column(s) {', '.join(missing)}.")
    folds = [
        Fold(
            int(r.fold), int(r.train_start_row), int(r.train_end_row), int(r.cutoff_row),
            np.arange(int(r.cutoff_row), int(r.last_origin_row) + 1, config.origin_stride, dtype=np.int64),
            r.fit == "fit", int(str(r.fit).split()[-1]) if r.fit != "fit" else int(r.fold),
        )
        for r in table.itertuples(index=False)
    ]
    if "origin" not in forecasts.columns:
        origins = np.concatenate([f.origins for f in folds])
        forecasts.insert(2, "origin", np.repeat(origins, int(scores["horizon"])))
    histories = []
    if (run / HISTORY_FILE).is_file():
        hist = pd.read_csv(run / HISTORY_FILE)
        for _, part in hist.groupby("fit", sort=True):
            histories.append({c: part[c].tolist() for c in part.columns if c not in ("fit", "fold", "epoch")})
    return {
        "data": data, "fc_config": fc_config, "config": config, "season": season,
        "season_inferred": bool(man.get("season_inferred", True)), "folds": folds, "fold_table": table,
        "forecasts": forecasts, "scores": scores, "fits": list(man.get("fits", [])), "histories": histories,
        "timings": dict(man.get("timings", {})),
    }


def _history_frame(histories: list[dict[str, list[float]]], fits: list[dict[str, Any]]) -> pd.DataFrame:
    parts = []
    for i, (hist, fit) in enumerate(zip(histories, fits)):
        n = max((len(v) for v in hist.values()), default=0)
        part = pd.DataFrame({k: list(v) + [np.nan] * (n - len(v)) for k, v in hist.items()})
        part.insert(0, "epoch", np.arange(1, n + 1))
        part.insert(0, "fold", fit["fold"])
        part.insert(0, "fit", i + 1)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["fit", "fold", "epoch"])


def _jsonable(value: Any) -> Any:
    """NaN/inf become null: metrics.json stays strict JSON (MAPE may be undefined)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
