"""RunStore: run naming, atomic saves, a ``latest`` pointer that never dangles, fit checkpoints."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from forecaster.artifacts import MANIFEST_FILE, MODEL_FILE
from forecaster.config import ForecastConfig
from forecaster.exceptions import ArtifactError
from forecaster.store import LATEST, RunStore, is_complete_run, run_name


def _complete(tmp: Path) -> None:
    (tmp / MANIFEST_FILE).write_text("{}")
    (tmp / MODEL_FILE).write_bytes(b"model")


def test_names():
    now = datetime(2024, 5, 1, 12, 30, 0)
    assert run_name("data/prices.csv", "gru", now) == "prices-gru-20240501-123000"
    assert run_name("we ird/my data.csv", "lstm", now) == "my_data-lstm-20240501-123000"
    assert run_name(".hidden.csv", "gru", now) == "hidden-gru-20240501-123000"
    assert RunStore.new_name("s.csv", "gru", prefix="backtest-", now=now) == "backtest-s-gru-20240501-123000"
    store = RunStore("runs")
    assert store.path("mine") == Path("runs/mine")
    for bad in ("", "a/b", "../up", ".checkpoint-x", LATEST, "a\\b"):
        with pytest.raises(ArtifactError, match="`name` must be a plain directory name"):
            store.path(bad)


def test_save_is_atomic_and_never_overwrites(tmp_path):
    store = RunStore(tmp_path / "runs")
    first = store.save("r", _complete)
    second = store.save("r", _complete)
    assert (first.name, second.name) == ("r", "r-2") and is_complete_run(first) and is_complete_run(second)

    def broken(tmp: Path) -> None:
        (tmp / MANIFEST_FILE).write_text("{}")
        raise KeyboardInterrupt  # an interrupt half-way through writing

    with pytest.raises(KeyboardInterrupt):
        store.save("half", broken)
    assert sorted(p.name for p in store.root.iterdir()) == ["r", "r-2"], "no half-written or temporary directory"


def test_latest_never_dangles(tmp_path):
    store = RunStore(tmp_path / "runs")
    assert store.latest() is None
    with pytest.raises(ArtifactError, match="No model given"):
        store.resolve()
    run = store.save("a", _complete)
    assert store.set_latest(run) == run
    assert store.latest() == run.resolve() and store.resolve() == run.resolve()
    # Only complete runs inside the store: anything else would leave a pointer to nothing.
    (store.root / "incomplete").mkdir()
    with pytest.raises(ArtifactError, match="not a complete run"):
        store.set_latest(store.root / "incomplete")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _complete(outside)
    with pytest.raises(ArtifactError, match="is not a run of"):
        store.set_latest(outside)
    with pytest.raises(ArtifactError, match="is not a run of"):
        store.set_latest(store.root / LATEST)
    assert store.latest() == run.resolve(), "a refused update leaves the old pointer"
    newer = store.save("b", _complete)
    store.set_latest(newer)
    assert store.latest() == newer.resolve()
    assert not [p for p in store.root.iterdir() if p.name.startswith(f".{LATEST}")], "no temporary pointer left"
    # A run deleted by hand: latest() says so, resolve() explains.
    (newer / MODEL_FILE).unlink()
    assert store.latest() is None
    with pytest.raises(ArtifactError, match="not a complete run"):
        store.resolve()


def test_checkpoint_kept_on_interrupt_only(tmp_path):
    store = RunStore(tmp_path / "runs")
    cfg = ForecastConfig(units=4)
    ckpt = store.checkpoint_dir(cfg, "fp")
    # Epochs and patience may change on resume; anything else is another fit.
    assert store.checkpoint_dir(cfg.replace(epochs=99, patience=9), "fp") == ckpt
    assert store.checkpoint_dir(cfg.replace(units=5), "fp") != ckpt
    assert store.checkpoint_dir(cfg, "other data") != ckpt
    assert store.checkpoint_dir(cfg, "fp", name="mine") != ckpt

    with pytest.raises(KeyboardInterrupt), store.checkpoint(cfg, "fp") as path:
        assert path == ckpt
        (path / "epoch").mkdir(parents=True)
        raise KeyboardInterrupt
    assert (ckpt / "epoch").is_dir(), "an interrupted fit keeps its checkpoint for --resume"

    with store.checkpoint(cfg, "fp", resume=True) as path:
        assert (path / "epoch").is_dir(), "resume finds it"
        with store.checkpoint(cfg, "fp") as concurrent:
            if os.name == "posix":
                assert concurrent != path, "a second fit of the same config never shares the locked directory"
    assert not ckpt.exists() and not Path(f"{ckpt}.lock").exists(), "a finished fit removes it"

    with pytest.raises(KeyboardInterrupt), store.checkpoint(cfg, "fp") as path:
        (path / "epoch").mkdir(parents=True)
        raise KeyboardInterrupt
    with store.checkpoint(cfg, "fp") as path:
        assert not path.exists(), "without resume an old checkpoint is discarded"
    with pytest.raises(ValueError), store.checkpoint(cfg, "fp") as path:
        path.mkdir()
        raise ValueError("a failed fit")
    assert not ckpt.exists(), "a failed fit leaves nothing to resume"
