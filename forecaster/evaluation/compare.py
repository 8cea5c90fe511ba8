"""``forecast compare``: several model families backtested on the same folds and origins, in one table.

Every family runs the same rolling-origin backtest (:func:`run_backtest`
with one :class:`BacktestConfig`), so each forecasts exactly the same
origins from models fitted on exactly the same rows; the baselines come
with every backtest and are identical across them. The table has, per
family and per baseline, MASE, sMAPE and RMSE; the Diebold-Mariano p-value
of the whole-horizon absolute error against the best baseline (lowest
MASE); parameters; fit and predict seconds.

A compared model is a family (``model.type``) or ``rnn_recursive``: the rnn
with ``multistep="recursive"`` (a one-step model fed its own predictions),
so the two multi-step strategies of the rnn meet on the same origins. Where
``rnn_recursive`` is listed, ``rnn`` is the direct rnn and every other
family is direct too (:func:`family_configs`).

::

    runs/compare-<data>-<time>/
      compare.json     families, configs, backtest settings, season, origins, the table, versions,
                       the device and backend, and each model's cuDNN status
      compare.csv      the table
      per_step.csv     MASE per horizon step of every family and baseline
      forecasts.csv    one row per (origin, step): actual, every family, every baseline
      error_by_step.png
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecaster.config import MODEL_TYPES, ForecastConfig
from forecaster.evaluation.report import BacktestResult
from forecaster.evaluation.splits import BacktestConfig
from forecaster.evaluation.stats import dm_pvalue
from forecaster.exceptions import ConfigError

__all__ = ["BASELINES", "COMPARE_MODELS", "CompareResult", "compare_families", "family_configs", "parse_families"]

BASELINES = ("naive", "seasonal_naive", "drift", "window_mean")
COLUMNS = ["kind", "MASE", "sMAPE%", "RMSE", "DM p vs best baseline", "params", "fit_s", "predict_s"]


#: What ``--models`` may list: each family, and the rnn's recursive strategy; name -> its config overrides.
COMPARE_MODELS: dict[str, dict[str, str]] = {
    **{t: {"model": t} for t in MODEL_TYPES},
    "rnn_recursive": {"model": "rnn", "multistep": "recursive"},
}


def parse_families(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"rnn,seq2seq"`` -> ``("rnn", "seq2seq")``; unknown or repeated names are a :class:`ConfigError`.

    ``rnn-recursive`` is read as ``rnn_recursive``.

    >>> parse_families("rnn, rnn-recursive, transformer")
    ('rnn', 'rnn_recursive', 'transformer')
    """
    items = text.split(",") if isinstance(text, str) else [p for t in text for p in str(t).split(",")]
    names = tuple(p.strip().lower().replace("-", "_") for p in items if p.strip())
    known = ", ".join(COMPARE_MODELS)
    if not names:
        raise ConfigError(f"`models` must name at least one of {known}. Received: models={text!r}")
    bad = [n for n in names if n not in COMPARE_MODELS]
    if bad:
        raise ConfigError(f"`models` must be among {known}. Received: {', '.join(bad)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"`models` lists a family twice. Received: models={text!r}")
    return names


def family_configs(config: ForecastConfig, families: tuple[str, ...]) -> dict[str, ForecastConfig]:
    """Each compared model's config: ``config`` (the shared settings) with the model's overrides applied.

    Where ``rnn_recursive`` is listed, a recursive ``multistep`` in ``config`` is its own (the command line
    starts from the first model's config), so every other model is set to ``direct``: ``rnn`` is then the
    direct rnn, and the decoder families and the transformer, which refuse the setting, are not left with it.
    A refused combination (a family's own option shared with a family that refuses it) is a
    :class:`ConfigError` before any data is read.

    >>> cfgs = family_configs(ForecastConfig(multistep="recursive"), ("rnn_recursive", "rnn", "seq2seq"))
    >>> [(c.model.type, c.model.multistep) for c in cfgs.values()]
    [('rnn', 'recursive'), ('rnn', 'direct'), ('seq2seq', 'direct')]
    """
    direct = "rnn_recursive" in families
    out = {}
    for name in families:
        overrides = dict(COMPARE_MODELS[name])
        if direct and "multistep" not in overrides:
            overrides["multistep"] = "direct"
        out[name] = config.merged(overrides)
    return out


@dataclass
class CompareResult:
    """The families' backtests side by side (see the module docstring)."""

    families: tuple[str, ...]
    table: pd.DataFrame
    per_step: pd.DataFrame
    forecasts: pd.DataFrame
    best_baseline: str
    backtests: dict[str, BacktestResult] = field(repr=False)
    seconds: float = 0.0
    #: ``device_summary()`` where the models ran (backend and device), and each model's cuDNN status line.
    device: str = ""
    cudnn: dict[str, str] = field(default_factory=dict)

    def format_table(self) -> str:
        fmt = {"MASE": "{:.4f}", "sMAPE%": "{:.3f}", "RMSE": "{:.4g}", "DM p vs best baseline": "{:.3g}",
               "params": "{:.0f}", "fit_s": "{:.1f}", "predict_s": "{:.2f}"}
        shown = self.table.copy().astype(object)
        for col, f in fmt.items():
            shown[col] = [("" if (v is None or (isinstance(v, float) and math.isnan(v))) else f.format(v))
                          for v in self.table[col]]
        return shown.to_string()

    def describe(self) -> str:
        from forecaster.config import model_label

        bt = next(iter(self.backtests.values()))
        w, b = bt.fc_config.window, bt.config
        lines = [(
            f"{bt.data['name']} {bt.data['target']!r}: lookback {w.lookback} -> horizon {w.horizon}; "
            f"{len(bt.folds)} folds, refit {b.describe_refit()}, {b.window} window, gap {b.gap}, stride "
            f"{b.origin_stride}, {bt.scores['origins']} origins (the same for every family); season {bt.season}; "
            f"best baseline by MASE: {self.best_baseline}"
        )]
        lines += [f"  {model_label(r.fc_config.model)}" for r in self.backtests.values()]
        return "\n".join(lines)

    def figure(self):
        """MASE per horizon step of every family and baseline (one line each)."""
        from forecaster.plot import _new_figure

        fig, ax = _new_figure(8.0, 4.5)
        steps = self.per_step.index.to_numpy()
        for name in self.per_step.columns:
            baseline = name in BASELINES
            ax.plot(steps, self.per_step[name].to_numpy(), marker="" if baseline else "o", markersize=3,
                    linestyle="--" if baseline else "-", linewidth=1.0 if baseline else 1.6, label=name)
        ax.set_xlabel("horizon step")
        ax.set_ylabel("MASE")
        ax.set_title("Error by horizon step (same origins for every model)")
        ax.legend(fontsize=8, ncol=2)
        ax.grid(alpha=0.3)
        return fig

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the run directory atomically (an existing one is never overwritten); return its path."""
        from forecaster import __version__
        from forecaster.artifacts import write_json, write_run_dir
        from forecaster.evaluation.storage import _jsonable, runtime_versions

        bt = next(iter(self.backtests.values()))
        manifest = {
            "kind": "compare",
            "families": list(self.families),
            "best_baseline": self.best_baseline,
            "data": bt.data,
            "season": bt.season,
            "backtest": bt.config.to_dict() if hasattr(bt.config, "to_dict") else repr(bt.config),
            "configs": {f: r.fc_config.to_dict() for f, r in self.backtests.items()},
            "fits": {f: r.fits for f, r in self.backtests.items()},
            "timings": {f: r.timings for f, r in self.backtests.items()},
            "table": self.table.reset_index().to_dict(orient="records"),
            "total_seconds": round(self.seconds, 3),
            "device": self.device,
            "cudnn": dict(self.cudnn),
            "version": __version__,
            "versions": runtime_versions(),
        }
        fig = self.figure()

        def write(tmp: Path) -> None:
            write_json(tmp / "compare.json", _jsonable(manifest))
            self.table.to_csv(tmp / "compare.csv", float_format="%.6g")
            self.per_step.to_csv(tmp / "per_step.csv", float_format="%.6g")
            self.forecasts.to_csv(tmp / "forecasts.csv", index=False, float_format="%.10g")
            fig.savefig(tmp / "error_by_step.png", dpi=110)

        return write_run_dir(Path(path), write)


def _params(result: BacktestResult) -> int | None:
    fc = result.forecaster
    model = getattr(fc, "model_", None)
    return None if model is None else int(model.count_params())


def compare_families(
    config: ForecastConfig,
    series: Any,
    families: tuple[str, ...],
    bt_config: BacktestConfig | None = None,
    *,
    verbose: int | str = 0,
    progress=None,
) -> CompareResult:
    """Backtest each family of ``families`` (``config`` with ``model=family``) on the same origins.

    Args:
        config: settings shared by every family (a family's own options, e.g.
            ``attention``, apply to that family only).
        series: one validated series (panels are not compared here).
        families: names from :data:`COMPARE_MODELS` (the families, and ``rnn_recursive``).
        bt_config: folds, origins and refits (default ``BacktestConfig()``).
        progress: called with ``(family, BacktestResult)`` after each family.
    """
    from forecaster.evaluation.engine import run_backtest

    members = getattr(series, "members", None)
    if members is not None and len(members) > 1:
        raise ConfigError("`forecast compare` takes one series; backtest a panel with `forecast backtest`.")
    started = time.perf_counter()
    bt_config = bt_config or BacktestConfig()
    families = parse_families(families)  # "rnn-recursive" as "rnn_recursive"; unknown or repeated names refused
    configs = family_configs(config, families)  # every combination checked before any fit
    results: dict[str, BacktestResult] = {}
    for family in families:
        results[family] = run_backtest(configs[family], series, bt_config, verbose=verbose)
        if progress is not None:
            progress(family, results[family])
    first = results[families[0]].forecasts
    keys = ["origin", "step"] if "origin" in first.columns else ["cutoff", "step"]
    for family, r in results.items():
        if not r.forecasts[keys].reset_index(drop=True).equals(first[keys].reset_index(drop=True)):
            raise RuntimeError(f"{family} forecast other origins than {families[0]}; the comparison would be unfair.")
    horizon = int(results[families[0]].scores["horizon"])
    stride = results[families[0]].config.origin_stride
    actual = first["actual"].to_numpy(np.float64).reshape(-1, horizon)
    forecasts = first[[c for c in first.columns if c not in ("model", *BASELINES)]].copy()
    for family, r in results.items():
        forecasts[family] = r.forecasts["model"].to_numpy()
    for b in BASELINES:
        forecasts[b] = first[b].to_numpy()

    base_metrics = results[families[0]].metrics
    best = min(BASELINES, key=lambda b: base_metrics.loc[b, "MASE"])
    best_fc = first[best].to_numpy(np.float64).reshape(-1, horizon)
    rows = []
    for family, r in results.items():
        m = r.metrics.loc["model"]
        fc = r.forecasts["model"].to_numpy(np.float64).reshape(-1, horizon)
        rows.append([family, "model", m["MASE"], m["sMAPE"], m["RMSE"],
                     dm_pvalue(actual, fc, best_fc, origin_stride=stride), _params(r),
                     r.timings.get("fit_seconds"), r.timings.get("predict_seconds")])
    for b in BASELINES:
        m = base_metrics.loc[b]
        rows.append([b, "baseline", m["MASE"], m["sMAPE"], m["RMSE"], np.nan, 0,
                     np.nan, results[families[0]].timings.get("baseline_seconds")])
    table = pd.DataFrame(rows, columns=["forecaster", *COLUMNS]).set_index("forecaster")
    table.loc[best, "kind"] = "baseline (best)"
    per_step = pd.DataFrame(
        {**{f: r.per_step.loc["model", "MASE"].to_numpy() for f, r in results.items()},
         **{b: results[families[0]].per_step.loc[b, "MASE"].to_numpy() for b in BASELINES}},
        index=pd.RangeIndex(1, horizon + 1, name="step"),
    )
    from forecaster.models import cudnn_status
    from forecaster.runtime import backend_name, device_summary

    device = device_summary()
    cudnn = {f: cudnn_status(configs[f], on_gpu=" on GPU" in device, backend=backend_name()) for f in families}
    return CompareResult(families=families, table=table, per_step=per_step, forecasts=forecasts, best_baseline=best,
                         backtests=results, seconds=time.perf_counter() - started, device=device, cudnn=cudnn)
