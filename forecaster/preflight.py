"""Checks of a fit that need no model, run before TensorFlow is imported.

A fit that cannot succeed should say so in about a second, not after the 5-13 s
it takes to import TensorFlow and build a network: the series is too short for
its lookback and horizon, or the network would not fit in memory.

>>> check_fit(ForecastConfig(lookback=60, horizon=5), n_rows=45, n_columns=1)  # doctest: +SKIP
Traceback (most recent call last):
...
forecaster.exceptions.DataError: Series has 45 rows; lookback=60 + horizon=5 needs at least 71 ...
"""

from __future__ import annotations

import logging
import os

from forecaster.config import ForecastConfig
from forecaster.exceptions import ConfigError

log = logging.getLogger(__name__)

#: Gates per recurrent cell (weights per unit and input), for the memory estimate.
_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
#: Share of the available memory a fit may plan to use.
MEMORY_SHARE = 0.8


def check_fit(config: ForecastConfig, n_rows: int | None, n_columns: int) -> None:
    """Refuse a fit that cannot work, before any model is built.

    Args:
        config: the fit's config (``lookback`` may still be automatic: then the size check waits).
        n_rows: rows of the (single) series; None for a panel (each series is checked when fitted).
        n_columns: input columns (target, features, known-future columns).

    Raises:
        DataError: the series is too short for ``lookback`` and ``horizon``.
        ConfigError: the network and its batches would not fit in the available memory.
    """
    w = config.window
    if n_rows is not None and w.lookback:
        from forecaster.windowing import chronological_split

        chronological_split(n_rows, w.lookback, w.horizon, w.val_fraction, stride=w.window_stride)
    need = estimate_fit_bytes(config, n_rows or 0, n_columns)
    avail = available_memory()
    if avail is not None and need > MEMORY_SHARE * avail:
        m = config.model
        raise ConfigError(
            f"This model needs about {need / 2**30:.1f} GB to train ({m.layers} x {m.units} units, batch "
            f"{config.train.batch_size}, lookback {w.lookback or 'auto'}), more than the "
            f"{avail / 2**30:.1f} GB of memory available. Reduce --units, --layers or --batch-size."
        )


def estimate_parameters(config: ForecastConfig, n_columns: int) -> int:
    """A rough upper estimate of the network's parameter count (recurrent layers and output head).

    >>> estimate_parameters(ForecastConfig(cell="gru", units=4, horizon=3, lookback=24), 1)
    267
    """
    m, w = config.model, config.window
    gates = _GATES.get(m.cell, 4)
    dirs = 2 if m.bidirectional else 1
    params, width = 0, max(n_columns, 1)
    for _ in range(m.layers):
        params += dirs * gates * m.units * (width + m.units + 1)
        width = dirs * m.units
    lookback = w.lookback or 512
    return (config.train.ensemble or 1) * (params + width * w.horizon + lookback * w.horizon)


def check_disk(config: ForecastConfig, n_columns: int, root) -> None:
    """Refuse a fit whose checkpoints and saved run cannot be written under ``root``.

    Free space (``statvfs``) and the process's file-size limit (``RLIMIT_FSIZE``) are
    compared with a generous estimate of the files: a write that fails half-way
    inside HDF5 can crash the process instead of raising, so this is checked first.
    """
    import shutil

    from forecaster.exceptions import ArtifactError

    per_file = estimate_parameters(config, n_columns) * 4 * 3 + (256 << 10)  # weights + optimizer slots + layout
    total = 4 * per_file  # per-epoch backup and its previous copy, trained weights, the saved model
    try:
        free = shutil.disk_usage(root).free
    except OSError:
        free = None
    if free is not None and free < total:
        raise ArtifactError(
            f"The runs directory {root} has {free / 2**20:.1f} MB free; this fit needs about {total / 2**20:.1f} MB "
            "for its checkpoints and the saved run. Free disk space or pass --runs-dir with another location."
        )
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError, AttributeError):  # pragma: no cover - not POSIX
        return
    if soft != resource.RLIM_INFINITY and soft < per_file:
        raise ArtifactError(
            f"The file-size limit of this process ({soft} bytes, ulimit -f) is below the about {per_file} bytes a "
            f"checkpoint of this model needs in {root}. Raise the limit (ulimit -f unlimited)."
        )


def estimate_fit_bytes(config: ForecastConfig, n_rows: int, n_columns: int) -> int:
    """A rough upper estimate of the memory a fit needs: parameters with their gradients and Adam
    moments, plus one batch of activations kept for back-propagation.

    >>> estimate_fit_bytes(ForecastConfig(units=32, lookback=24, horizon=4), 1000, 1) < 50 * 2**20
    True
    """
    m, w = config.model, config.window
    gates = _GATES.get(m.cell, 4)
    dirs = 2 if m.bidirectional else 1
    members = config.train.ensemble or 1
    lookback = w.lookback or 512  # automatic lookback: at most the chooser's largest candidate
    params, width = 0, max(n_columns, 1)
    for _ in range(m.layers):
        params += dirs * gates * m.units * (width + m.units + 1)
        width = dirs * m.units
    params = members * (params + width * w.horizon)
    windows = max(n_rows - lookback, 1) if n_rows else config.train.batch_size
    batch = min(config.train.batch_size, windows)
    activations = members * batch * lookback * dirs * m.units * m.layers * (gates + 1) * 4 * 2
    return params * 4 * 4 + activations + n_rows * n_columns * 8 * 4


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
