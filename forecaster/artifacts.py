"""The files of a run directory: manifest schema and strict reading, strict JSON, atomic directory writes.

Which directory a run goes to (naming, ``latest``, checkpoints) is decided by
:class:`forecaster.store.RunStore`. Kept free of Keras imports so ``forecast info`` is fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from forecaster.exceptions import ArtifactError

SCHEMA_VERSION = 2
#: Older manifests still read (version 1 stored the config as one flat dict).
READABLE_SCHEMA_VERSIONS = (1, 2)
MANIFEST_FILE = "forecaster.json"
MODEL_FILE = "model.keras"

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
    "calendar": (list,),
    "choices": (dict,),
    "fallback": (dict, type(None)),
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
    if version != 1 and "panel" in manifest:
        types = {**types, "panel": (dict,)}  # a panel model: per-series state in its panel file
    if version != 1 and "intervals" in manifest:
        types = {**types, "intervals": (dict,)}  # conformal radii (forecaster.intervals.Calibration)
    missing = sorted(set(types) - set(manifest))
    unknown = sorted(set(manifest) - set(types))
    if missing or unknown:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(unknown)}"] if unknown else [])
        raise ArtifactError(f"{path} has invalid keys ({'; '.join(parts)}).")
    for key, allowed in types.items():
        value = manifest[key]
        if not isinstance(value, allowed) or (int in allowed and isinstance(value, bool)):
            raise ArtifactError(f"{path}: `{key}` must be {allowed[0].__name__}. Received: {value!r}")
    future = [*manifest.get("future_features", []), *manifest.get("calendar", [])]
    if not all(isinstance(f, str) for f in [*manifest["features"], *future]):
        raise ArtifactError(f"{path}: `features` and `future_features` must be lists of column names.")
    if set(manifest["data"]) != _DATA_KEYS:
        raise ArtifactError(f"{path}: `data` must have exactly the keys {sorted(_DATA_KEYS)}.")
    if manifest["scaler"].get("columns") != [manifest["target"], *manifest["features"], *future]:
        raise ArtifactError(f"{path}: scaler columns do not match target and features.")
    from forecaster.config import ForecastConfig
    from forecaster.exceptions import ConfigError

    try:
        ForecastConfig.from_dict(manifest["config"], stored=True)
    except ConfigError as exc:
        raise ArtifactError(f"{path}: invalid config: {exc}") from None
    return manifest
