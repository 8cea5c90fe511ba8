"""Figures for forecasts. Functions return a matplotlib Figure; nothing is shown.

The library never calls ``plt.show()``: the CLI saves figures to PNG, a
notebook displays the returned figure.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure


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
            used if a DataFrame).
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
    if isinstance(forecast, pd.DataFrame):
        forecast = forecast.iloc[:, 0]
    fig, ax = _new_figure()
    ax.plot(history.index, history.to_numpy(), color="0.25", lw=1.2, label="history")
    # Join the forecast to the last observation so the line is continuous.
    joined = pd.concat([history.iloc[-1:], forecast])
    ax.plot(joined.index, joined.to_numpy(), color="tab:orange", lw=2.0, marker="o", ms=3,
            markevery=list(range(1, len(joined))), label="forecast")
    if actual is not None and len(actual):
        ax.plot(actual.index, actual.to_numpy(), color="tab:blue", lw=1.2, ls="--", label="actual")
    ax.axvline(history.index[-1], color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(history.index.name or "time")
    ax.set_ylabel(ylabel or str(history.name or "value"))
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.autofmt_xdate()
    return fig


def plot_history(history: dict[str, list[float]], *, title: str | None = None) -> Figure:
    """Training and validation loss per epoch."""
    fig, ax = _new_figure(7.0, 4.0)
    for key, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        if key in history and history[key]:
            ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (MSE, scaled units)")
    ax.set_title(title or "training curves")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return fig
