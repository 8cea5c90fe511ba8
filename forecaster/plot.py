"""Figures for forecasts. Functions return a matplotlib Figure; nothing is shown.

The library never calls ``plt.show()``: the CLI saves figures to PNG, a
notebook displays the returned figure.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

#: Characters of a title line per inch of figure width (default font size), before it wraps.
_TITLE_CHARS_PER_INCH = 9.5
#: A forecast narrower than this share of the plotted history gets a zoom panel beside it.
_ZOOM_BELOW = 0.12


def wrap_title(text: str, width_inches: float, scale: float = 1.0) -> str:
    """``text`` wrapped to lines that fit a figure ``width_inches`` wide (titles are never clipped).

    >>> wrap_title("a " * 60, 5.0).count("\\n") > 0
    True
    """
    width = max(20, int(width_inches * _TITLE_CHARS_PER_INCH / scale))
    return "\n".join(textwrap.wrap(str(text), width=width, break_on_hyphens=False)) or str(text)


def time_label(t) -> str:
    """A timestamp for a title: ``2018-12-31`` at midnight, ``2018-12-31 13:00`` otherwise.

    >>> time_label(pd.Timestamp("2018-12-31")), time_label(pd.Timestamp("2018-12-31 13:00"))
    ('2018-12-31', '2018-12-31 13:00')
    """
    t = pd.Timestamp(t)
    if t == t.normalize():
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M" if t.second == 0 and t.microsecond == 0 else "%Y-%m-%d %H:%M:%S")


_UNITS = {"B": ("business day", "business days"), "C": ("business day", "business days"),
          "D": ("day", "days"), "h": ("hour", "hours"), "H": ("hour", "hours"), "min": ("minute", "minutes"),
          "T": ("minute", "minutes"), "s": ("second", "seconds"), "S": ("second", "seconds"),
          "W": ("week", "weeks"), "MS": ("month", "months"), "ME": ("month", "months"), "M": ("month", "months"),
          "QS": ("quarter", "quarters"), "QE": ("quarter", "quarters"), "Q": ("quarter", "quarters"),
          "YS": ("year", "years"), "YE": ("year", "years"), "Y": ("year", "years"), "A": ("year", "years")}


def step_unit(freq: str | None) -> tuple[int, str, str] | None:
    """``(multiple, singular, plural)`` of one step of a pandas frequency, or None when unknown.

    >>> step_unit("15min"), step_unit("W-SUN"), step_unit("B")
    ((15, 'minute', 'minutes'), (1, 'week', 'weeks'), (1, 'business day', 'business days'))
    """
    if not freq:
        return None
    import re

    m = re.fullmatch(r"(\d*)([A-Za-z]+)(?:-[A-Z]+)?", str(freq))
    if not m or m.group(2) not in _UNITS:
        return None
    return int(m.group(1) or 1), *_UNITS[m.group(2)]


def describe_horizon(horizon: int, freq: str | None, trading_calendar: str | None = None) -> str:
    """The horizon in time units where the frequency has them: ``5 trading days (XNYS)``, ``48 hours``.

    >>> describe_horizon(48, "h"), describe_horizon(96, "15min"), describe_horizon(5, "B", "XNYS")
    ('48 hours', '96 steps of 15 minutes (24 hours)', '5 XNYS sessions')
    >>> describe_horizon(3, "weird")
    '3 steps (weird)'
    """
    unit = step_unit(freq)
    if unit is None:
        return f"{horizon} steps ({freq})"
    mult, one, many = unit
    if one == "business day" and trading_calendar not in (None, "auto", "weekdays"):
        return f"{horizon} {trading_calendar} session{'s' if horizon != 1 else ''}"
    if mult == 1:
        return f"{horizon} {one if horizon == 1 else many}"
    total = horizon * mult
    text = f"{horizon} steps of {mult} {many} ({total} {many})"
    if one == "minute" and total % 60 == 0:
        text = f"{horizon} steps of {mult} {many} ({total // 60} hour{'s' if total != 60 else ''})"
    return text


def date_axis(ax, label: str = "time", *, maxticks: int = 8) -> None:
    """Concise date ticks, and the x label naming the years shown (``time (Nov 2018 - Jan 2019)``).

    Tick labels stay short (``15 Nov``, ``Dec 2018``, ``2019``); the label carries the
    year wherever the ticks do not, so no axis leaves it out.
    """
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=maxticks)
    formatter = mdates.ConciseDateFormatter(locator, show_offset=False)
    formatter.formats = ["%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M", "%S.%f"]
    formatter.zero_formats = ["", "%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M"]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    lo, hi = (mdates.num2date(v).replace(tzinfo=None) for v in ax.get_xlim())
    span = f"{lo:%b %Y}" if (lo.year, lo.month) == (hi.year, hi.month) else f"{lo:%b %Y} - {hi:%b %Y}"
    if (hi - lo).days > 3 * 366:
        span = f"{lo.year} - {hi.year}"
    ax.set_xlabel(f"{label} ({span})")


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG atomically (temporary file, then rename): never a half-written image."""
    from forecaster.exceptions import ArtifactError
    from forecaster.safeio import atomic_write

    out = Path(path)
    atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=dpi), "the figure", suffix=".png", error=ArtifactError)
    return out


def _new_figure(width: float = 10.0, height: float = 4.5) -> tuple[Figure, object]:
    # Figure() without pyplot: no global figure manager, no GUI backend needed.
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def plot_forecast(
    history: pd.Series,
    forecast: pd.DataFrame | pd.Series,
    *,
    actual: pd.Series | None = None,
    title: str | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Recent history, the forecast after it and (optionally) what really happened.

    Args:
        history: observed values (DatetimeIndex), typically the last few
            hundred points.
        forecast: forecast values indexed by future timestamps (first column
            used if a DataFrame). A DataFrame's ``lower_<level>``/``upper_<level>``
            columns (``predict()`` with ``--interval``) are drawn as a fan chart:
            one shaded band per level, the widest the lightest; without them,
            the outermost quantile columns (``q0.1`` ... ``q0.9``) form the band.
        actual: observed values over the forecast period, when known.
        title: figure title; name the data, target, cell and horizon.
        ylabel: y-axis label (target name and unit).

    >>> import numpy as np
    >>> idx = pd.date_range("2024-01-01", periods=30, freq="D")
    >>> h = pd.Series(np.arange(30.0), index=idx)
    >>> f = pd.Series([30.0, 31.0], index=pd.date_range("2024-01-31", periods=2, freq="D"))
    >>> fig = plot_forecast(h, f, title="demo")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['history', 'forecast']
    """
    bands = _bands(forecast) if isinstance(forecast, pd.DataFrame) else []
    if isinstance(forecast, pd.DataFrame):
        forecast = forecast.iloc[:, 0]
    span = (history.index[-1] - history.index[0]) if len(history) > 1 else pd.Timedelta(0)
    fspan = (forecast.index[-1] - history.index[-1]) if len(forecast) else pd.Timedelta(0)
    # A short forecast after a long history is a speck: a zoom panel on its end sits beside the overview.
    zoom = len(forecast) > 0 and span > pd.Timedelta(0) and fspan < _ZOOM_BELOW * span
    fig = Figure(figsize=(12.0 if zoom else 10.0, 4.8), layout="constrained")
    if zoom:
        ax, zax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    else:
        ax, zax = fig.add_subplot(), None

    def draw(a, hist: pd.Series, legend: bool) -> None:
        _draw_forecast(a, hist, forecast, bands, actual)
        date_axis(a, history.index.name or "time", maxticks=4 if a is zax else 8)
        a.grid(alpha=0.3)
        if legend:
            a.legend(loc="best")

    draw(ax, history, legend=True)
    ax.set_ylabel(ylabel or str(history.name or "value"))
    if zax is not None:
        draw(zax, history.iloc[-max(3 * len(forecast), 10):], legend=False)
        zax.set_title(f"last {min(len(history), max(3 * len(forecast), 10))} points and the forecast",
                      fontsize="medium")
    if title:
        fig.suptitle(wrap_title(title, fig.get_figwidth(), 1.2))
    return fig


def _bands(forecast: pd.DataFrame) -> list[tuple[str, pd.Series, pd.Series]]:
    """``(label, lower, upper)`` of each interval of a forecast frame, widest first."""
    from forecaster.intervals import interval_columns, levels_in

    levels = levels_in(forecast.columns)
    if levels:
        out = []
        for level in sorted(levels, reverse=True):
            lo, hi = interval_columns(level)
            out.append((f"{level} % interval", forecast[lo], forecast[hi]))
        return out
    qs = sorted(float(c[1:]) for c in forecast.columns if c.startswith("q") and c[1:].replace(".", "", 1).isdigit())
    out = []
    for i in range(len(qs) // 2):  # symmetric pairs of quantiles, outermost first
        lo, hi = qs[i], qs[-1 - i]
        if lo < 0.5 < hi:
            out.append((f"q{lo:g} - q{hi:g}", forecast[f"q{lo:g}"], forecast[f"q{hi:g}"]))
    return out


def plot_panel_forecasts(history: dict[str, pd.Series], forecast: pd.DataFrame, *, title: str | None = None,
                         actual: dict[str, pd.Series] | None = None) -> Figure:
    """History and forecast of several series of a panel, one axis per series (stacked).

    Args:
        history: series id -> observed values (DatetimeIndex).
        forecast: the long table of a panel model's ``predict()`` (``id``, ``timestamp``, ``value``); its
            ``lower_<level>``/``upper_<level>`` (or quantile) columns are drawn as bands, as by :func:`plot_forecast`.
        title: figure title.
        actual: series id -> observed values over the forecast period, when known (a backtest).

    >>> import numpy as np
    >>> idx = pd.date_range("2024-01-01", periods=10, freq="D")
    >>> f = pd.DataFrame({"id": ["a", "a"], "timestamp": pd.date_range("2024-01-11", periods=2), "value": [1.0, 2.0]})
    >>> len(plot_panel_forecasts({"a": pd.Series(np.arange(10.0), index=idx)}, f).axes)
    1
    """
    fig = Figure(figsize=(10.0, 2.6 * len(history) + 0.6), layout="constrained")
    axes = fig.subplots(len(history), 1, squeeze=False)[:, 0]
    for ax, (sid, hist) in zip(axes, history.items()):
        part = forecast[forecast["id"] == sid]
        fc_values = pd.Series(part["value"].to_numpy(), index=pd.DatetimeIndex(part["timestamp"]))
        bands = _bands(part.drop(columns=["id", "timestamp", "value"]).set_axis(fc_values.index))
        _draw_forecast(ax, hist, fc_values, bands, None if actual is None else actual.get(sid))
        ax.set_ylabel(str(sid))
        date_axis(ax)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best")
    if title:
        axes[0].set_title(wrap_title(title, fig.get_figwidth()))
    return fig


def _draw_forecast(ax, hist: pd.Series, forecast: pd.Series, bands: list, actual: pd.Series | None = None) -> None:
    """History, the interval bands (widest first, so the narrower ones are drawn over it), the forecast joined to
    the last observation so the line is continuous, the actual values if given, and a line at the forecast origin."""
    ax.plot(hist.index, hist.to_numpy(), color="0.25", lw=1.2, label="history")
    for i, (label, lo, hi) in enumerate(bands):
        ax.fill_between(lo.index, lo.to_numpy(), hi.to_numpy(), color="tab:orange", lw=0,
                        alpha=0.18 + 0.17 * i / max(len(bands) - 1, 1), label=label)
    joined = pd.concat([hist.iloc[-1:], forecast])
    ax.plot(joined.index, joined.to_numpy(), color="tab:orange", lw=2.0, marker="o", ms=3,
            markevery=list(range(1, len(joined))), label="forecast")
    if actual is not None and len(actual):
        ax.plot(actual.index, actual.to_numpy(), color="tab:blue", lw=1.2, ls="--", label="actual")
    ax.axvline(hist.index[-1], color="0.6", lw=0.8, ls=":")


def plot_history(history: dict[str, list[float]], *, title: str | None = None) -> Figure:
    """Training and validation loss per epoch."""
    fig, ax = _new_figure(7.0, 4.0)
    for key, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        if key in history and history[key]:
            ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", ms=3, label=label)
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss (MSE, scaled units)")
    ax.set_title(wrap_title(title or "training curves", fig.get_figwidth()))
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return fig


#: One colour per forecaster, the same in every backtest figure.
_FORECASTER_COLORS = {"model": "tab:orange", "naive": "tab:blue", "seasonal_naive": "tab:green",
                      "drift": "tab:purple", "window_mean": "tab:red"}
_BASELINE_LINES = ["--", ":", "-.", (0, (5, 1, 1, 1))]


def _path_lines(forecasts: pd.DataFrame, column: str, cutoffs: pd.Index) -> tuple[list, list]:
    """x/y of the forecast paths issued at ``cutoffs``, joined into one line broken by NaN gaps."""
    import numpy as np

    part = forecasts[forecasts["cutoff"].isin(cutoffs)].sort_values(["cutoff", "step"])
    xs: list = []
    ys: list = []
    for _, path in part.groupby("cutoff", sort=True):
        xs.extend(path["timestamp"].tolist())
        ys.extend(path[column].tolist())
        xs.append(path["timestamp"].iloc[-1])
        ys.append(np.nan)  # breaks the line between two forecasts
    return xs, ys


def _path_bands(ax, forecasts: pd.DataFrame, cutoffs: pd.Index, color: str) -> None:
    """The model's interval bands (:func:`_bands`: ``lower_<level>``/``upper_<level>``, else quantiles) around each
    forecast path issued at ``cutoffs``, widest first and lightest; one legend entry per band."""
    columns = [c for c in forecasts.columns
               if c.startswith(("lower_", "upper_")) or (c.startswith("q") and c[1:].replace(".", "", 1).isdigit())]
    if not columns:
        return
    part = forecasts[forecasts["cutoff"].isin(cutoffs)].sort_values(["cutoff", "step"])
    for n, (_, path) in enumerate(part.groupby("cutoff", sort=True)):
        bands = _bands(path.set_index("timestamp")[columns])
        for i, (label, lo, hi) in enumerate(bands):
            ax.fill_between(lo.index, lo.to_numpy(), hi.to_numpy(), color=color, lw=0,
                            alpha=0.15 + 0.15 * i / max(len(bands) - 1, 1), label=label if n == 0 else None)


def _tiled_cutoffs(forecasts: pd.DataFrame, max_paths: int) -> pd.Index:
    """Forecast origins whose paths do not overlap (each starts after the previous one ends), latest ``max_paths``."""
    spans = forecasts.groupby("cutoff", sort=True)["timestamp"].agg(["min", "max"])
    chosen = []
    last_end = None
    for cutoff, row in spans.iterrows():
        if last_end is None or row["min"] > last_end:
            chosen.append(cutoff)
            last_end = row["max"]
    return pd.Index(chosen[-max_paths:])


def plot_backtest(
    forecasts: pd.DataFrame,
    *,
    models: tuple[str, ...] = ("model", "seasonal_naive", "naive"),
    max_paths: int = 400,
    zoom_paths: int = 8,
    title: str | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Backtest overlay: what happened, and forecast paths of the model and baselines.

    Forecast paths are chosen so that they tile the time axis without
    overlapping (each starts after the previous one ends). When there are
    more than ``2 * zoom_paths`` of them, the figure has two panels: the
    whole test period (actual and model, fold starts marked) and a zoom on
    the last ``zoom_paths`` forecasts with the baselines beside the model.

    Args:
        forecasts: the long table of a backtest (``forecasts.csv``): columns
            ``fold, cutoff, step, timestamp, actual`` and one per forecaster.
            The model's ``lower_<level>``/``upper_<level>`` (else quantile)
            columns are drawn as shaded bands around each of its paths.
        models: forecaster columns to draw (the first one prominently).
        max_paths: at most this many (most recent) paths in the overview.
        zoom_paths: paths shown in the zoomed panel.
        title: figure title; name the data, target, cell and horizon.
        ylabel: y-axis label (target name and unit).

    >>> import numpy as np
    >>> ts = pd.date_range("2024-01-01", periods=6, freq="h")
    >>> fc = pd.DataFrame({"fold": 1, "cutoff": ts[[0, 0, 1, 1]], "step": [1, 2, 1, 2],
    ...                    "timestamp": ts[[1, 2, 2, 3]], "actual": [1.0, 2.0, 2.0, 3.0],
    ...                    "model": [1.1, 2.2, 2.1, 2.9], "seasonal_naive": 1.0, "naive": 0.0})
    >>> fig = plot_backtest(fc, title="demo")
    >>> [t.get_text() for t in fig.axes[-1].get_legend().get_texts()][:2]
    ['actual', 'model']
    """
    cutoffs = _tiled_cutoffs(forecasts, max_paths)
    names = [m for m in models if m in forecasts.columns]
    two = len(cutoffs) > 2 * zoom_paths
    fig = Figure(figsize=(12.0, 8.0 if two else 5.0), layout="constrained")
    axes = fig.subplots(2, 1) if two else [fig.add_subplot()]

    def draw(ax, chosen: pd.Index, with_baselines: bool, lw: float) -> None:
        shown = forecasts[forecasts["cutoff"] >= chosen[0]] if len(chosen) else forecasts
        actual = shown.drop_duplicates("timestamp").sort_values("timestamp")
        ax.plot(actual["timestamp"], actual["actual"], color="0.2", lw=1.1, label="actual")
        for i, name in enumerate(names if with_baselines else names[:1]):
            xs, ys = _path_lines(forecasts, name, chosen)
            color = _FORECASTER_COLORS.get(name)
            if i == 0 and name == "model":
                _path_bands(ax, forecasts, chosen, color or "tab:orange")
            if i == 0:
                ax.plot(xs, ys, label=name, color=color or "tab:orange", lw=lw)
            else:
                ax.plot(xs, ys, label=name, color=color, lw=1.0, ls=_BASELINE_LINES[(i - 1) % len(_BASELINE_LINES)])
        # Fold boundaries: where a (possibly new) model starts forecasting.
        starts = shown.groupby("fold")["timestamp"].min().sort_values()
        for k, ts in enumerate(starts.iloc[1:]):
            ax.axvline(ts, color="0.6", lw=0.8, ls=":", label="fold start" if k == 0 else None)
        date_axis(ax)
        ax.set_ylabel(ylabel or "value")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")

    if two:
        draw(axes[0], cutoffs, with_baselines=False, lw=1.0)
        axes[0].set_title(f"all {len(cutoffs)} non-overlapping forecasts", fontsize="medium")
        draw(axes[1], cutoffs[-zoom_paths:], with_baselines=True, lw=1.8)
        axes[1].set_title(f"last {zoom_paths} forecasts, beside the baselines", fontsize="medium")
    else:
        draw(axes[0], cutoffs, with_baselines=True, lw=1.8)
    if title:
        fig.suptitle(wrap_title(title, fig.get_figwidth(), 1.2))
    return fig


def plot_error_by_step(
    per_step: dict[str, dict[str, list[float]]],
    *,
    metric: str = "mae",
    title: str | None = None,
    ylabel: str | None = None,
    step: str | None = None,
) -> Figure:
    """Error of the model and each baseline at each horizon step.

    Args:
        per_step: ``{forecaster: {metric: [value per step]}}`` (the
            ``per_step`` part of a backtest's ``metrics.json``).
        metric: which metric to draw (``mae``, ``rmse``, ``mape``, ``smape``, ``mase``).
        title: figure title; name the data, target, cell and horizon.
        ylabel: y-axis label (default: the metric name).
        step: what one step is in time units (``1 hour``), added to the x label.

    >>> fig = plot_error_by_step({"model": {"mae": [1.0, 2.0]}, "naive": {"mae": [1.5, 2.5]}})
    >>> fig.axes[0].get_xlabel()
    'horizon step'
    """
    from matplotlib.ticker import MaxNLocator

    fig, ax = _new_figure(8.0, 4.5)
    for i, (name, values) in enumerate(per_step.items()):
        if metric not in values:
            continue
        vals = values[metric]
        steps = range(1, len(vals) + 1)
        vals = [float("nan") if v is None else v for v in vals]
        color = _FORECASTER_COLORS.get(name)
        if i == 0:
            ax.plot(steps, vals, color=color or "tab:orange", lw=2.2, marker="o", ms=4, label=name)
        else:
            ax.plot(steps, vals, color=color, lw=1.2, marker=".", ms=4,
                    ls=_BASELINE_LINES[(i - 1) % len(_BASELINE_LINES)], label=name)
    ax.set_xlabel("horizon step" + (f" (1 step = {step})" if step else ""))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel or metric.upper())
    if title:
        ax.set_title(wrap_title(title, fig.get_figwidth()))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_attention(weights: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Heat map of attention weights: rows the forecast steps, columns the lookback steps (``Forecaster.attention``)."""
    fig, ax = _new_figure(10.0, max(3.0, min(8.0, 0.25 * len(weights) + 2.0)))
    lags = weights.columns.to_numpy()
    image = ax.imshow(weights.to_numpy(), aspect="auto", cmap="viridis", interpolation="nearest",
                      extent=(lags[0] - 0.5, lags[-1] + 0.5, len(weights) + 0.5, 0.5))
    ax.set_xlabel("lookback step (0 = last observed row)")
    ax.set_ylabel("forecast step")
    fig.colorbar(image, ax=ax, label="attention weight")
    ax.set_title(title or "Attention weights of the last forecast")
    return fig
