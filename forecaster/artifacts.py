"""Run directories: naming, the ``latest`` pointer, strict manifest reading.

Kept free of Keras imports so ``forecast info`` is fast.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from forecaster.exceptions import ArtifactError

SCHEMA_VERSION = 2
#: Older manifests still read (version 1 stored the config as one flat dict).
READABLE_SCHEMA_VERSIONS = (1, 2)
MANIFEST_FILE = "forecaster.json"
MODEL_FILE = "model.keras"
LATEST = "latest"

#: Manifest keys and the JSON types each must have.
_MANIFEST_TYPES: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "created": (str,),
    "config": (dict,),
    "scaler": (dict,),
    "target": (str,),
    "features": (list,),
    "frequency": (str,),
    "kind": (str,),
    "time_col": (str,),
    "data": (dict,),
    "metrics": (dict,),
    "versions": (dict,),
    "seed": (int,),
}
#: Keys added by schema version 2: the known-future columns, the model's shapes, the last
#: observed window (so ``predict()`` needs no data) and the series id.
_MANIFEST_V2_TYPES: dict[str, tuple[type, ...]] = {
    **_MANIFEST_TYPES,
    "future_features": (list,),
    "io": (dict,),
    "last_window": (dict,),
    "series_id": (str,),
}
_DATA_KEYS = {"source", "fingerprint", "rows", "start", "end", "train_start", "train_end", "val_start", "val_end"}


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write strict JSON (no NaN/inf) and flush it to disk before the run directory is renamed into place."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_json_object(path: Path) -> dict[str, Any]:
    """Read a JSON object, turning unreadable, damaged or non-object files into ArtifactError."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path} is missing; {Path(path).parent} is not a complete run.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"Cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); the file is damaged.") from None
    if not isinstance(payload, dict):
        raise ArtifactError(f"{path} must hold a JSON object.")
    return payload


def rename_unique(tmp: Path, final: Path) -> Path:
    """Rename a finished temporary directory to ``final``, or ``final-2``, ``final-3``, ... if taken.

    ``os.rename`` is atomic and fails when the target exists and is not empty,
    so a finished run is never overwritten and two writers never share a name.
    """
    candidate, n = final, 1
    while True:
        try:
            os.rename(tmp, candidate)
            return candidate
        except OSError:
            if not candidate.exists():
                raise
            n += 1
            candidate = final.with_name(f"{final.name}-{n}")


def write_run_dir(final: Path, write: Callable[[Path], None]) -> Path:
    """Build a run directory atomically: ``write`` fills a temporary sibling, which is then renamed.

    Any failure or interrupt (``BaseException``: Ctrl-C, SIGTERM via the CLI)
    removes the temporary directory, so nothing half-written is left behind.
    Returns the final path (see :func:`rename_unique`).
    """
    import shutil
    import tempfile

    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        write(tmp)
        return rename_unique(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def run_name(data_path: str | os.PathLike[str], cell: str, now: datetime | None = None) -> str:
    """Default run name: ``<csv stem>-<cell>-<YYYYmmdd-HHMMSS>``.

    >>> run_name("data/prices.csv", "gru", datetime(2024, 5, 1, 12, 30, 0))
    'prices-gru-20240501-123000'
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(data_path).stem) or "series"
    return f"{stem}-{cell}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}"


def checkpoint_dir(runs_dir: Path, config, fingerprint: str, name: str | None = None) -> Path:
    """Where an in-progress fit keeps its per-epoch backup, keyed by data and config.

    The same data, config (epochs and patience aside, so a resumed run may
    train longer) and run name map to the same directory, which is what lets
    ``forecast fit --resume`` find the interrupted run.
    """
    import hashlib

    key = {k: v for k, v in config.to_flat().items() if k not in ("epochs", "patience")}
    payload = json.dumps({"config": key, "data": fingerprint, "name": name}, sort_keys=True)
    return Path(runs_dir) / f".checkpoint-{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def claim_checkpoint(base: Path) -> tuple[Path, Any]:
    """Lock a checkpoint directory for this process; return it and the open lock.

    Two identical fits started at once would otherwise share one backup. The
    lock (``flock`` on a sibling ``.lock`` file) is released by the operating
    system when the process ends, even on ``kill -9``, so an interrupted
    run's checkpoint can be claimed again by ``--resume``. A fit that finds
    the lock held by a live process uses a private directory instead.
    """
    base.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no locking, shared name
        return base, None
    for cand in (base, base.with_name(f"{base.name}-{os.getpid()}")):
        fh = open(cand.with_name(cand.name + ".lock"), "a+")  # noqa: SIM115 - held until release_checkpoint
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return cand, fh
        except OSError:
            fh.close()
    raise ArtifactError(f"Cannot lock a checkpoint directory beside {base}.")  # pragma: no cover


def release_checkpoint(path: Path, lock: Any, *, remove: bool) -> None:
    """Optionally delete the checkpoint, then drop its lock."""
    import shutil

    if remove:
        shutil.rmtree(path, ignore_errors=True)
    if lock is not None:
        if remove:
            Path(lock.name).unlink(missing_ok=True)
        lock.close()


def is_complete_run(path: Path) -> bool:
    """True if ``path`` holds both a manifest and a model file."""
    return (path / MANIFEST_FILE).is_file() and (path / MODEL_FILE).is_file()


def update_latest(runs_dir: Path, run: Path) -> None:
    """Point ``runs_dir/latest`` at ``run`` atomically (a symlink; a text file where links are unavailable)."""
    link = runs_dir / LATEST
    if link.exists() and link.is_dir() and not link.is_symlink():
        raise ArtifactError(f"{link} is a real directory; rename it so 'latest' can point at the newest run.")
    tmp = runs_dir / f".{LATEST}-{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        try:
            os.symlink(run.name, tmp, target_is_directory=True)
        except (OSError, NotImplementedError):
            tmp.write_text(run.name + "\n", encoding="utf-8")
        os.replace(tmp, link)  # atomic: readers see the old or the new pointer, never none
    finally:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()


def resolve_run(model: str | os.PathLike[str] | None, runs_dir: str | os.PathLike[str] = "runs") -> Path:
    """Find the run directory for ``--model`` (default: ``runs/latest``)."""
    if model is None:
        link = Path(runs_dir) / LATEST
        if link.is_symlink() or link.is_dir():
            path = link.resolve()
        elif link.is_file():
            path = Path(runs_dir) / link.read_text(encoding="utf-8").strip()
        else:
            raise ArtifactError(
                f"No model given and {link} does not exist. Train one with 'forecast fit DATA.csv' or pass --model RUN_DIR."
            )
    else:
        path = Path(model)
        if path.is_file() and path.name in (MANIFEST_FILE, MODEL_FILE):
            path = path.parent
    if not path.exists():
        raise ArtifactError(f"Run directory {path} does not exist. Pass --model with a directory made by 'forecast fit'.")
    if not path.is_dir():
        raise ArtifactError(f"{path} is not a run directory. Pass --model with a directory made by 'forecast fit'.")
    if not is_complete_run(path):
        raise ArtifactError(
            f"{path} is not a complete run (it needs {MANIFEST_FILE} and {MODEL_FILE}). "
            "It may be from an interrupted fit; train again."
        )
    return path


def read_manifest(run: Path) -> dict[str, Any]:
    """Read and strictly validate ``run/forecaster.json``.

    Unknown or missing keys, wrong types, another schema version and invalid
    JSON are all errors: a tampered or truncated manifest is never half-used.
    """
    path = Path(run) / MANIFEST_FILE
    manifest = read_json_object(path)
    version = manifest.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS or isinstance(version, bool):
        raise ArtifactError(
            f"{path} has schema_version={version!r}; this forecaster reads versions 1 to {SCHEMA_VERSION}. "
            "Refit the model with this version."
        )
    types = _MANIFEST_TYPES if version == 1 else _MANIFEST_V2_TYPES
    missing = sorted(set(types) - set(manifest))
    unknown = sorted(set(manifest) - set(types))
    if missing or unknown:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(unknown)}"] if unknown else [])
        raise ArtifactError(f"{path} has invalid keys ({'; '.join(parts)}).")
    for key, allowed in types.items():
        value = manifest[key]
        if not isinstance(value, allowed) or (int in allowed and isinstance(value, bool)):
            raise ArtifactError(f"{path}: `{key}` must be {allowed[0].__name__}. Received: {value!r}")
    future = manifest.get("future_features", [])
    if not all(isinstance(f, str) for f in [*manifest["features"], *future]):
        raise ArtifactError(f"{path}: `features` and `future_features` must be lists of column names.")
    if set(manifest["data"]) != _DATA_KEYS:
        raise ArtifactError(f"{path}: `data` must have exactly the keys {sorted(_DATA_KEYS)}.")
    if manifest["scaler"].get("columns") != [manifest["target"], *manifest["features"], *future]:
        raise ArtifactError(f"{path}: scaler columns do not match target and features.")
    from forecaster.config import ForecastConfig
    from forecaster.exceptions import ConfigError

    try:
        ForecastConfig.from_dict(manifest["config"])
    except ConfigError as exc:
        raise ArtifactError(f"{path}: invalid config: {exc}") from None
    return manifest
