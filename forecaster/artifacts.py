"""The files of a run directory: manifest schema and strict reading, strict JSON, atomic directory writes.

Which directory a run goes to (naming, ``latest``, checkpoints) is decided by
:class:`forecaster.store.RunStore`. Kept free of Keras imports so ``forecast info`` is fast.
"""

from __future__ import annotations

import json
import os
import re
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


def read_json_object(path: Path, *, limit: str = "manifest_bytes") -> dict[str, Any]:
    """Read a JSON object from a regular file of bounded size and nesting depth.

    Unreadable, oversized, damaged, too deeply nested or non-object files are ArtifactError.
    """
    from forecaster.safeio import LIMITS, read_regular_file

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ArtifactError(f"{path} is missing; {path.parent} is not a complete run.")
    raw = read_regular_file(path, limit=limit, what="JSON file", error=ArtifactError)
    try:
        payload = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"Cannot read {path}: not UTF-8 text (byte {exc.start}); the file is damaged.") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); the file is damaged.") from None
    except RecursionError:
        raise ArtifactError(f"{path} is nested too deeply to be a manifest; the file is damaged or hostile.") from None
    if not isinstance(payload, dict):
        raise ArtifactError(f"{path} must hold a JSON object.")
    depth_limit = LIMITS["json_depth"]
    if _depth(payload, depth_limit.value) > depth_limit.value:
        raise ArtifactError(f"{path} is nested deeper than the limit of {depth_limit.describe()}.")
    return payload


def _depth(value: Any, stop: int) -> int:
    """Nesting depth of a parsed JSON value (iterative; stops counting past ``stop``)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if d > stop:
            return d
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


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


_SCALAR = (int, float, str, bool, type(None))
_ISO_LIKE = re.compile(r"^[0-9T:+\-. ]{4,40}$")
_NUMBER_METRIC = re.compile(r"(^|_)(val|train)_(loss|mae|rmse|mase|smape|mape|coverage|width)|(^|_)seconds$")
_COUNT_METRICS = ("val_windows", "train_windows", "epochs_run", "replicas", "global_batch_size", "series")


def _fail(path: Path, key: str, want: str, value: Any) -> None:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise ArtifactError(f"{path}: `{key}` must be {want}. Received: {shown}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_values(path: Path, m: dict[str, Any]) -> None:
    """Types, ranges and sizes of the values a manifest's readers use (the keys are checked already)."""
    from forecaster.safeio import LIMITS

    for key in ("target", "frequency", "kind", "time_col", "created", "series_id"):
        if key in m and len(m[key]) > 1000:
            _fail(path, key, "at most 1000 characters", m[key])
    if len(m["features"]) + len(m.get("future_features", [])) > LIMITS["columns"].value:
        _fail(path, "features", f"at most {LIMITS['columns'].value} columns", len(m["features"]))
    if not 0 <= m["seed"] < 2**32:
        _fail(path, "seed", "an integer in [0, 2**32)", m["seed"])
    d = m["data"]
    if d["source"] is not None and (not isinstance(d["source"], str) or not d["source"] or len(d["source"]) > 4096
                                    or "\x00" in d["source"]):
        _fail(path, "data.source", "a file path or null", d["source"])
    if not (isinstance(d["fingerprint"], str) and re.fullmatch(r"[0-9a-f]{64}", d["fingerprint"])):
        _fail(path, "data.fingerprint", "a sha256 hex digest", d["fingerprint"])
    if not (isinstance(d["rows"], int) and not isinstance(d["rows"], bool) and d["rows"] >= 0):
        _fail(path, "data.rows", "a non-negative integer", d["rows"])
    for key in sorted(_DATA_KEYS - {"source", "fingerprint", "rows"}):
        if not (isinstance(d[key], str) and _ISO_LIKE.match(d[key])):
            _fail(path, f"data.{key}", "an ISO 8601 timestamp", d[key])
    for key, value in m["versions"].items():
        if not (isinstance(value, str) and len(value) <= 100 and len(key) <= 100):
            _fail(path, f"versions.{key}", "a version string", value)
    metrics = m["metrics"]
    for key, value in metrics.items():
        if key == "skipped_series":
            if not (isinstance(value, list) and all(isinstance(x, dict) and all(isinstance(v, _SCALAR) for v in x.values())
                                                    for x in value)):
                _fail(path, f"metrics.{key}", "a list of objects", value)
        elif not isinstance(value, _SCALAR) or (isinstance(value, str) and len(value) > 200):
            _fail(path, f"metrics.{key}", "a number, a short string, true/false or null", value)
        elif key in _COUNT_METRICS and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            _fail(path, f"metrics.{key}", "a non-negative integer", value)
        elif key == "best_epoch" and value is not None and not (isinstance(value, int) and not isinstance(value, bool)):
            _fail(path, f"metrics.{key}", "an integer or null", value)
        elif key == "beats_best_baseline" and not isinstance(value, bool):
            _fail(path, f"metrics.{key}", "true or false", value)
        elif key == "best_baseline" and not isinstance(value, str):
            _fail(path, f"metrics.{key}", "a baseline name", value)
        elif _NUMBER_METRIC.search(key) and not _is_number(value):
            _fail(path, f"metrics.{key}", "a number", value)
    best = metrics.get("best_baseline")
    if best is not None:  # what the fit report reads (runs of schema version 1 have no verdict)
        panel = "series" in metrics
        needed = (["val_smape", "val_mase", f"{best}_val_mase", "series", "train_windows"] if panel
                  else ["val_mae", "val_mase", f"{best}_val_mae"])
        for key in [*needed, "val_windows", "beats_best_baseline"]:
            if key not in metrics:
                _fail(path, f"metrics.{key}", "present (the run's validation report reads it)", None)


def pid_tag() -> str:
    """``.pid<pid>-``: marks a temporary name with its writer, so leftovers of dead processes can be cleaned."""
    return f".pid{os.getpid()}-"


def write_run_dir(final: Path, write: Callable[[Path], None]) -> Path:
    """Build a run directory atomically: ``write`` fills a temporary sibling, which is then renamed.

    Any failure or interrupt (``BaseException``: Ctrl-C, SIGTERM via the CLI)
    removes the temporary directory, so nothing half-written is left behind; a
    failed write (a full disk, a file-size limit, a read-only folder) is an
    :class:`ArtifactError` naming the path. The directory gets the permissions of
    the user's umask. Returns the final path (see :func:`rename_unique`).
    """
    import shutil
    import tempfile

    from forecaster.safeio import apply_umask, describe_write_error

    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}{pid_tag()}", dir=final.parent))
    except OSError as exc:
        raise ArtifactError(describe_write_error(exc, final.parent, "the run directory in")) from None
    apply_umask(tmp)
    try:
        write(tmp)
        return rename_unique(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, ArtifactError):
            raise
        raise ArtifactError(describe_write_error(exc, final, "the run")) from None
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
    if version != 1 and "theta" in manifest and "panel" not in manifest:
        types = {**types, "theta": (dict,)}  # one series' Theta combination (a panel keeps it in its panel file)
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
    _check_values(path, manifest)
    if manifest["scaler"].get("columns") != [manifest["target"], *manifest["features"], *future]:
        raise ArtifactError(f"{path}: scaler columns do not match target and features.")
    from forecaster.config import ForecastConfig
    from forecaster.exceptions import ConfigError

    try:
        ForecastConfig.from_dict(manifest["config"], stored=True)
    except ConfigError as exc:
        raise ArtifactError(f"{path}: invalid config: {exc}") from None
    return manifest
