"""Every cell x stacking x direction builds, wires return_sequences correctly and trains one epoch."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
from helpers import write_sensor_csv

from forecaster import data
from forecaster.config import ForecastConfig
from forecaster.forecaster import Forecaster
from forecaster.models import CELLS, IOSpec, build_model, cudnn_issues
from forecaster.training import new_model


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return data.load(write_sensor_csv(tmp_path_factory.mktemp("m") / "s.csv", n=160), target="temp", features=["load"])


#: Combinations trained in the default tier: none here. Each fit costs seconds of graph tracing, and the
#: default tier trains GRU, LSTM and a stacked bidirectional LSTM elsewhere (tests/test_cli.py), so all
#: twelve combinations run in the slow tier.
FAST: set = set()
COMBOS = [
    pytest.param(*combo, marks=() if combo in FAST else pytest.mark.slow)
    for combo in itertools.product(CELLS, [1, 2], [False, True])
]


@pytest.mark.parametrize("cell,layers,bidirectional", COMBOS)
def test_build_and_train_one_epoch(series, cell, layers, bidirectional):
    cfg = ForecastConfig(cell=cell, layers=layers, bidirectional=bidirectional, units=3, epochs=1, ensemble=1, min_steps_per_epoch=1,
                         lookback=12, horizon=3, batch_size=32)
    io = IOSpec(lookback=12, horizon=3, n_past=2)
    assert build_model(cfg, io).compiled is False  # builders return uncompiled models
    model = new_model(cfg, io)
    recurrent = [l for l in model.layers if isinstance(l, (keras.layers.RNN, keras.layers.Bidirectional))]
    assert len(recurrent) == layers
    # Every layer but the last returns the whole sequence, so stacking is wired correctly.
    for i, layer in enumerate(recurrent):
        inner = layer.forward_layer if bidirectional else layer
        assert isinstance(inner, CELLS[cell])
        assert inner.return_sequences == (i < layers - 1)
    assert model.output_shape == (None, 3)
    assert model.optimizer.clipnorm == 1.0

    fc = Forecaster(cfg).fit(series)
    assert len(fc.history_["loss"]) == 1 and np.isfinite(fc.history_["loss"][0])
    assert np.isfinite(fc.predict(series).to_numpy()).all()


def test_dropout_and_no_clipping():
    cfg = ForecastConfig(cell="lstm", units=3, lookback=8, horizon=2, dropout=0.2, clipnorm=None)
    model = new_model(cfg, IOSpec(lookback=8, horizon=2, n_past=1))
    assert model.get_layer("lstm_1").dropout == 0.2
    assert model.get_layer("dropout").rate == 0.2
    assert model.optimizer.clipnorm is None


def test_each_build_has_a_fresh_optimizer():
    cfg = ForecastConfig(units=3, lookback=8, horizon=2)
    io = IOSpec(lookback=8, horizon=2, n_past=1)
    a, b = new_model(cfg, io), new_model(cfg, io)
    assert a.optimizer is not b.optimizer


def test_cudnn_path_reporting():
    assert cudnn_issues(ForecastConfig(cell="lstm")) == []
    assert cudnn_issues(ForecastConfig(cell="gru", layers=3, bidirectional=True)) == []
    assert "no fused cuDNN kernel" in cudnn_issues(ForecastConfig(cell="rnn"))[0]
    assert "recurrent_dropout=0.3" in cudnn_issues(ForecastConfig(cell="gru", recurrent_dropout=0.3))[0]


@pytest.mark.parametrize("members", [1, 3])
@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_point_losses_match_their_formulas(name, members):
    """Every ``train.loss`` is compiled in, and (per member for an ensemble) computes its textbook value."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=(5, 4)).astype("float32")
    pred = (y[:, None, :] + rng.normal(scale=1.5, size=(5, members, 4))).astype("float32")
    err = pred - y[:, None, :]
    want = {"mse": np.square(err), "mae": np.abs(err),
            "huber": np.where(np.abs(err) <= 1, 0.5 * np.square(err), np.abs(err) - 0.5)}[name].mean()
    cfg = ForecastConfig(units=3, lookback=8, horizon=4, loss=name, ensemble=members)
    io = IOSpec(lookback=8, horizon=4, n_past=1, members=members)
    model = new_model(cfg, io)
    loss = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
    got = float(np.mean(keras.ops.convert_to_numpy(loss(y, pred if members > 1 else pred[:, 0]))))
    assert got == pytest.approx(float(want), rel=1e-5)


def test_an_unknown_loss_is_refused():
    from forecaster.exceptions import ConfigError

    with pytest.raises(ConfigError, match="`loss` must be one of mse, mae, huber"):
        ForecastConfig(loss="mape")
