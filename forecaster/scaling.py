"""Leak-free scaling: fitted on training rows only, JSON-serialisable.

Each input column ``x`` goes through an optional log transform and then an
affine scaling fitted on the training rows::

    z = (g(x) - center) / scale        g = log or identity

Why window-relative normalisation (the default, ``normalization="window"``):
prices trend. A scaler fitted on the early training range maps later test
prices far outside anything the network saw (S&P 500 trebled between 1999 and
2018, AAPL rose 80-fold between 2004 and 2018). So each window is expressed relative to
its own last observation (``z - z[last]``, see
:class:`forecaster.windowing.WindowView`) and the network predicts the change
from there. With ``g = log`` that change is a log-return, and the inverse is
exact: ``x_hat = exp((z_last + delta) * scale + center)``. ``scale`` is then
the standard deviation of one-step changes on the training rows, so inputs
and targets are of order one whatever the price level.

``normalization="global"`` is classic z-scoring (``scale`` = standard
deviation of the training values), for stationary series where the absolute
level matters.

``transform="auto"`` takes logs of the positive columns of a price file and
leaves other series alone (sensor readings cross zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from forecaster.exceptions import ArtifactError, ConfigError, DataError, NotFittedError

#: Rows per accumulation step of :meth:`SeriesScaler.fit`: its float64
#: temporaries stay a few MB whatever the length of the series.
FIT_CHUNK = 1 << 18


@dataclass
class SeriesScaler:
    """Per-column log/affine scaler. ``__init__`` only stores; ``fit`` learns.

    >>> import numpy as np
    >>> x = np.array([[100.0], [110.0], [104.0], [133.1]])
    >>> sc = SeriesScaler(transform="log").fit(x[:3], columns=["price"])
    >>> bool(np.allclose(sc.inverse_target(sc.transform_values(x)[:, 0]), x[:, 0]))
    True
    """

    transform: str = "auto"
    normalization: str = "window"

    def fit(
        self,
        train: np.ndarray,
        *,
        columns: list[str],
        prices: bool = False,
        chunk: int = FIT_CHUNK,
        linear: tuple[str, ...] = (),
    ) -> "SeriesScaler":
        """Learn per-column parameters from training rows only.

        The statistics are accumulated ``chunk`` rows at a time (two passes:
        means, then squared deviations from them), so fitting on a
        10-million-row series makes no full-length temporary; the result
        equals the one-shot NumPy formulas to rounding.

        Args:
            train: ``(n_train_rows, n_columns)`` values in original units.
            columns: column names, for messages and the manifest.
            prices: whether the data is a price file (``transform="auto"``
                then takes logs of its positive columns).
            chunk: rows per accumulation step.
            linear: columns never log-transformed (generated calendar features).
        """
        train = np.asarray(train)
        if train.ndim != 2 or train.shape[1] != len(columns):
            raise ConfigError(f"`train` must have shape (rows, {len(columns)}). Received shape {train.shape}")
        if len(train) < 3:
            raise DataError(f"The training part has {len(train)} rows; at least 3 are needed to fit a scaler.")
        if self.transform not in ("auto", "none", "log"):
            raise ConfigError(f"`transform` must be one of auto, none, log. Received: transform={self.transform!r}")
        if self.normalization not in ("window", "global"):
            raise ConfigError(
                f"`normalization` must be one of window, global. Received: normalization={self.normalization!r}"
            )
        n, n_cols = train.shape
        blocks = range(0, n, chunk)
        positive = np.ones(n_cols, dtype=bool)
        for lo in blocks:
            positive &= (train[lo : lo + chunk] > 0).all(axis=0)
        linear_cols = np.array([c in linear for c in columns], dtype=bool)
        positive &= ~linear_cols
        if self.transform == "log":
            if not (positive | linear_cols).all():
                bad = columns[int(np.flatnonzero(~(positive | linear_cols))[0])]
                raise DataError(
                    f"Column {bad!r} has zero or negative values, so it cannot be log-transformed. "
                    "Use --transform none."
                )
            log_cols = positive
        elif self.transform == "auto":
            log_cols = positive & prices
        else:
            log_cols = np.zeros(n_cols, dtype=bool)

        def g(lo: int, hi: int) -> np.ndarray:
            """Rows ``lo:hi`` transformed (log where chosen), as float64."""
            block = np.asarray(train[max(lo, 0) : hi], dtype=np.float64)
            return np.where(log_cols, np.log(np.where(log_cols, block, 1.0)), block)

        window = self.normalization == "window"
        # Pass 1: means of g and (window) of its one-step changes. A block reads one row
        # before its start so the change across the block boundary is counted once.
        total, step_total = np.zeros(n_cols), np.zeros(n_cols)
        for lo in blocks:
            block = g(lo - 1, lo + chunk)
            total += block[1:].sum(axis=0) if lo else block.sum(axis=0)
            if window:
                step_total += np.diff(block, axis=0).sum(axis=0)
        center = total / n
        # Pass 2: population standard deviation of g (global) or of its steps (window).
        mean = step_total / (n - 1) if window else center
        squares = np.zeros(n_cols)
        for lo in blocks:
            block = g(lo - 1, lo + chunk)
            values = np.diff(block, axis=0) if window else (block[1:] if lo else block)
            squares += ((values - mean) ** 2).sum(axis=0)
        scale = np.sqrt(squares / ((n - 1) if window else n))
        if window:
            # A perfectly steady trend has constant steps (std 0): use the step size itself.
            scale = np.where(scale > 0, scale, np.abs(mean))
        if scale[0] == 0 or not np.isfinite(scale[0]):
            raise DataError(f"Target {columns[0]!r} does not vary over the training rows; there is nothing to learn.")
        # A constant feature carries no information but must not divide by zero.
        scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
        self.columns_ = list(columns)
        self.log_ = log_cols.astype(bool)
        self.center_ = center
        self.scale_ = scale
        return self

    # ------------------------------------------------------------------
    def _check(self) -> None:
        if not hasattr(self, "scale_"):
            raise NotFittedError("This SeriesScaler instance is not fitted yet. Call 'fit' with training rows first.")

    def transform_values(self, values: np.ndarray) -> np.ndarray:
        """Scale ``(n_rows, n_columns)`` original values to float32 model units."""
        self._check()
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.columns_):
            raise DataError(f"Expected {len(self.columns_)} columns ({', '.join(self.columns_)}). Received shape {values.shape}")
        if self.log_.any():
            logged = values[:, self.log_]
            if not (logged > 0).all():
                col = str(np.array(self.columns_)[self.log_][int(np.flatnonzero(~(logged > 0).all(axis=0))[0])])
                raise DataError(
                    f"Column {col!r} has zero or negative values, but the model log-transforms it (it was positive "
                    "on the training rows). Refit with --transform none."
                )
            values = values.copy()
            values[:, self.log_] = np.log(logged)
        z = (values - self.center_) / self.scale_
        return z.astype(np.float32)

    def inverse_target(self, z: np.ndarray) -> np.ndarray:
        """Map target values in model units back to original units (exact inverse)."""
        self._check()
        g = np.asarray(z, dtype=np.float64) * self.scale_[0] + self.center_[0]
        return np.exp(g) if self.log_[0] else g

    # ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (no pickle)."""
        self._check()
        return {
            "transform": self.transform,
            "normalization": self.normalization,
            "columns": list(self.columns_),
            "log": [bool(v) for v in self.log_],
            "center": [float(v) for v in self.center_],
            "scale": [float(v) for v in self.scale_],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SeriesScaler":
        """Rebuild a fitted scaler, validating every field."""
        expected = {"transform", "normalization", "columns", "log", "center", "scale"}
        if not isinstance(data, dict) or set(data) != expected:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ArtifactError(f"Scaler parameters must have exactly the keys {sorted(expected)}. Received: {got}")
        columns = data["columns"]
        if not isinstance(columns, list) or not columns or any(not isinstance(c, str) for c in columns):
            raise ArtifactError("Scaler `columns` must be a non-empty list of names.")
        n = len(columns)
        for key in ("log", "center", "scale"):
            vals = data[key]
            if not isinstance(vals, list) or len(vals) != n:
                raise ArtifactError(f"Scaler `{key}` must be a list of {n} values. Received: {vals!r}")
        if not all(isinstance(v, bool) for v in data["log"]):
            raise ArtifactError("Scaler `log` must hold booleans.")
        for key in ("center", "scale"):
            arr = np.asarray(data[key], dtype=np.float64) if all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in data[key]
            ) else None
            if arr is None or not np.isfinite(arr).all() or (key == "scale" and (arr <= 0).any()):
                raise ArtifactError(f"Scaler `{key}` must hold finite numbers{' > 0' if key == 'scale' else ''}.")
        try:
            sc = cls(transform=data["transform"], normalization=data["normalization"])
        except TypeError as exc:  # pragma: no cover - dataclass signature
            raise ArtifactError(str(exc)) from None
        if sc.transform not in ("auto", "none", "log") or sc.normalization not in ("window", "global"):
            raise ArtifactError("Scaler `transform`/`normalization` has an unknown value.")
        sc.columns_ = list(data["columns"])
        sc.log_ = np.asarray(data["log"], dtype=bool)
        sc.center_ = np.asarray(data["center"], dtype=np.float64)
        sc.scale_ = np.asarray(data["scale"], dtype=np.float64)
        return sc
