"""What goes into a model and what comes out (:class:`IOSpec`), defined without importing Keras.

A saved run is loaded and predicted without Keras when it can be (see
:mod:`forecaster.inference`); the shapes are needed there too. Keras is
imported only by the methods that build tensors or name the loss.
:mod:`forecaster.models.heads` re-exports the class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import keras


@dataclass(frozen=True)
class IOSpec:
    """What goes into a model and what comes out.

    Args:
        lookback: input steps per window.
        horizon: forecast steps.
        n_past: columns per input step (target first, then the past and the
            known-future covariates, whose past values are observed too).
        n_future: known-future columns fed over the horizon (0: no second input).
        n_static: static columns per series (0: none): panels fed a standardised
            vector of each series' static attributes (a fourth input, ``static``).
        output: the output head (``"point"``).
    """

    lookback: int
    horizon: int
    n_past: int
    n_future: int = 0
    n_static: int = 0
    output: str = "point"
    #: Ensemble members in the one model (outputs ``(batch, members, horizon)`` when > 1).
    members: int = 1
    #: Panels with a series-id embedding: the number of series and the embedding width (0: no third input).
    n_series: int = 0
    embedding: int = 0
    #: The quantile head's quantiles, ascending, the median among them (empty for the point head).
    quantiles: tuple[float, ...] = ()

    @property
    def output_shape(self) -> tuple[int, ...]:
        """One model's output per window: ``(horizon,)`` or ``(horizon, quantiles)``."""
        return (self.horizon, len(self.quantiles)) if self.output == "quantiles" else (self.horizon,)

    def inputs(self, *, teacher: bool = False) -> list["keras.KerasTensor"]:
        """The ``keras.Input`` tensors, named ``window`` (and ``future``, ``series``: the series index, and
        ``static``: the series' standardised static attributes, in that order).

        ``teacher=True`` appends ``teacher`` ``(batch, horizon)``: the true
        targets over the horizon, an input of the *training* graph of the
        decoder families only (teacher forcing; see :mod:`forecaster.models.seq2seq`).
        """
        import keras

        out = [keras.Input(shape=(self.lookback, self.n_past), name="window")]
        if self.n_future:
            out.append(keras.Input(shape=(self.horizon, self.n_future), name="future"))
        if self.embedding:
            out.append(keras.Input(shape=(1,), dtype="int32", name="series"))
        if self.n_static:
            out.append(keras.Input(shape=(self.n_static,), name="static"))
        if teacher:
            out.append(keras.Input(shape=(self.horizon,), name="teacher"))
        return out

    def to_dict(self) -> dict[str, int | str]:
        out = {"lookback": self.lookback, "horizon": self.horizon, "n_past": self.n_past,
               "n_future": self.n_future, "n_static": self.n_static, "output": self.output, "members": self.members}
        if self.embedding:  # written only when used, so the manifests of earlier runs still match
            out.update(n_series=self.n_series, embedding=self.embedding)
        if self.quantiles:
            out["quantiles"] = list(self.quantiles)
        return out

    def loss(self, point: str = "mse"):
        """The training loss: pinball for a quantile head, else ``point`` (mse, mae, huber), per member for an ensemble."""
        from forecaster.models.heads import PinballLoss, point_loss

        if self.output == "quantiles":
            return PinballLoss(self.quantiles, name="pinball")  # handles the members' axis itself
        return point_loss(point, self.members)
