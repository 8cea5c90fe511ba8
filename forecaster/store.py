"""Run management: where runs live, how they are named, saved, found and resumed.

A :class:`RunStore` is one directory of runs::

    runs/
      prices-gru-20240501-123000/   a complete run (model.keras + forecaster.json)
      backtest-prices-gru-.../      a backtest directory
      latest -> prices-gru-...      the newest model run (a relative symlink; a text file where links fail)
      .checkpoint-<key>/            per-epoch backup of a fit in progress (``--resume`` continues it)
      .checkpoint-<key>.lock        its lock, held by the fitting process
      .tmp-<name>-xxxx/             a run being written (renamed into place when complete)

The file formats themselves (manifest schema, strict JSON, the atomic
directory write) live in :mod:`forecaster.artifacts`; this module decides
*which* directory. Kept free of Keras imports so ``forecast info`` is fast.

>>> store = RunStore("runs")  # doctest: +SKIP
>>> run = model.save(store.path(store.new_name("data/prices.csv", "gru")))  # doctest: +SKIP
>>> store.set_latest(run)  # doctest: +SKIP
>>> store.resolve() == run  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from forecaster.artifacts import MANIFEST_FILE, MODEL_FILE, pid_tag, write_run_dir
from forecaster.exceptions import ArtifactError
from forecaster.safeio import check_writable_dir, safe_component

log = logging.getLogger(__name__)

LATEST = "latest"
CHECKPOINT_PREFIX = ".checkpoint-"
#: Config keys left out of the checkpoint key: a resumed fit may train longer or wait longer.
_RESUMABLE_CHANGES = ("epochs", "patience")


def is_complete_run(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` holds both a manifest and a model file."""
    path = Path(path)
    return (path / MANIFEST_FILE).is_file() and (path / MODEL_FILE).is_file()


def run_name(data_path: str | os.PathLike[str], cell: str, now: datetime | None = None) -> str:
    """Default run name: ``<csv stem>-<cell>-<YYYYmmdd-HHMMSS>``.

    >>> run_name("data/prices.csv", "gru", datetime(2024, 5, 1, 12, 30, 0))
    'prices-gru-20240501-123000'
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(data_path).stem).lstrip(".") or "series"
    return f"{stem}-{cell}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}"


class RunStore:
    """The runs directory: naming, atomic saves, the ``latest`` pointer and fit checkpoints.

    Args:
        root: the runs directory (created on the first save).
    """

    def __init__(self, root: str | os.PathLike[str] = "runs") -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    # ------------------------------------------------------------------ naming
    @staticmethod
    def new_name(data_path: str | os.PathLike[str], cell: str, *, prefix: str = "", now: datetime | None = None) -> str:
        """A fresh default name, ``[prefix]<csv stem>-<cell>-<timestamp>`` (see :func:`run_name`)."""
        return prefix + run_name(data_path, cell, now)

    def path(self, name: str) -> Path:
        """The directory for run ``name``; a name is one plain path component (see :func:`safe_component`).

        >>> RunStore("runs").path("mine").as_posix()
        'runs/mine'
        >>> RunStore("runs").path("../elsewhere")
        Traceback (most recent call last):
        ...
        forecaster.exceptions.ArtifactError: `name` must be a plain directory name (no '/', not hidden, not '.' or '..', not 'latest'). Received: name='../elsewhere'
        """
        return self.root / safe_component(name, "name", reserved=(LATEST,))

    # --------------------------------------------------------------- preflight
    def preflight(self) -> Path:
        """Check, before any training, that a run can be saved here; clean up after dead processes.

        Refuses (:class:`ArtifactError`, naming the path and the fix) a runs location that
        is a file or a device, lies under a file, or cannot be written, and a ``latest``
        that is a real directory (it could never be pointed at the new run). Temporary
        directories and lock files left by processes that no longer run (``kill -9``
        during a save) are removed and reported; other leftovers are reported.
        """
        check_writable_dir(self.root)
        link = self.root / LATEST
        if link.is_dir() and not link.is_symlink():
            raise ArtifactError(
                f"{link} is a real directory, so 'latest' cannot point at a new run. Rename or move it, then run again."
            )
        self.clean_stale()
        return self.root

    def clean_stale(self) -> list[Path]:
        """Remove temporary run directories and lock files of processes that are no longer running.

        Returns what was removed. A temporary directory whose writer may still run (or
        whose name carries no process id) is left alone and reported.
        """
        removed: list[Path] = []
        try:
            entries = list(self.root.iterdir())
        except OSError:
            return removed
        for entry in entries:
            name = entry.name
            if not name.startswith("."):
                continue
            pid = _writer_pid(name)
            if name.startswith((".tmp-", f".{LATEST}.pid", ".write-test-")):
                if pid is not None and not _alive(pid):
                    _remove(entry)
                    removed.append(entry)
                    log.warning("removed %s, left by an interrupted save (process %d no longer runs)", entry, pid)
                elif pid is None and name.startswith(".tmp-"):
                    log.warning("note: %s looks like an interrupted save of an older version; delete it if no "
                                "fit is running", entry)
            elif name.startswith(CHECKPOINT_PREFIX) and name.endswith(".lock"):
                ckpt = entry.with_name(name[: -len(".lock")])
                if not ckpt.exists() and _unlocked(entry):
                    _remove(entry)
                    removed.append(entry)
        return removed

    # ------------------------------------------------------------------ saving
    def save(self, name: str, write: Callable[[Path], Any]) -> Path:
        """Build run ``name`` atomically: ``write`` fills a temporary directory that is then renamed.

        An existing run is never overwritten (``name-2``, ``name-3``, ... instead), and a
        failure or interrupt inside ``write`` leaves nothing behind. Returns the final path.
        """
        return write_run_dir(self.path(name), write)

    # ------------------------------------------------------------------ latest
    def set_latest(self, run: str | os.PathLike[str]) -> Path:
        """Point ``latest`` at ``run`` atomically; readers see the old or the new pointer, never none.

        Only a complete run directly inside this store is accepted, so ``latest`` never dangles
        (the pointer is relative: the runs directory can be moved as a whole).
        """
        run = Path(run)
        if run.parent.resolve() != self.root.resolve() or run.is_symlink():
            raise ArtifactError(f"{run} is not a run of {self.root}; 'latest' points at runs inside it only.")
        if not is_complete_run(run):
            raise ArtifactError(f"{run} is not a complete run (it needs {MANIFEST_FILE} and {MODEL_FILE}).")
        link = self.root / LATEST
        if link.is_dir() and not link.is_symlink():
            raise ArtifactError(f"{link} is a real directory; rename it so 'latest' can point at the newest run.")
        tmp = self.root / f".{LATEST}{pid_tag()}x"
        try:
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            try:
                os.symlink(run.name, tmp, target_is_directory=True)
            except (OSError, NotImplementedError):
                tmp.write_text(run.name + "\n", encoding="utf-8")
            os.replace(tmp, link)
        finally:
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
        return run

    def _pointee(self) -> Path | None:
        """Where ``latest`` points (complete or not), or None when there is no pointer.

        The pointer must name a run directly inside this store: a link out of it (or a
        text pointer with a path in it) or a link loop is an :class:`ArtifactError`.
        """
        link = self.root / LATEST
        if link.is_symlink():
            target = os.readlink(link)
            try:
                resolved = link.resolve(strict=False)
            except (RuntimeError, OSError):  # Python < 3.13 raises RuntimeError on a loop
                resolved = None
            if resolved is None or _is_loop(link):
                raise ArtifactError(f"{link} is a symbolic link loop ({target!r}). Delete it; the next fit recreates it.")
            root = self.root.resolve()
            if resolved.parent != root:
                raise ArtifactError(
                    f"{link} points outside {self.root} (to {target!r}); 'latest' may only name a run inside it. "
                    "Delete the link, or pass --model RUN_DIR."
                )
            return resolved
        if link.is_dir():
            return link
        if link.is_file():
            from forecaster.safeio import read_regular_file

            raw = read_regular_file(link, limit="manifest_bytes", what="pointer file", error=ArtifactError)
            name = raw.decode("utf-8", "replace").strip()
            try:
                return self.path(name)
            except ArtifactError:
                raise ArtifactError(
                    f"{link} must name one run inside {self.root}. Received: {name[:80]!r}. "
                    "Delete it, or pass --model RUN_DIR."
                ) from None
        return None

    def latest(self) -> Path | None:
        """The run ``latest`` points at, or None when there is none (or it is no longer complete)."""
        path = self._pointee()
        return path if path is not None and is_complete_run(path) else None

    def resolve(self, model: str | os.PathLike[str] | None = None) -> Path:
        """The run directory for ``--model`` (default: ``latest``), checked to be complete."""
        if model is None:
            path = self._pointee()
            if path is None:
                raise ArtifactError(
                    f"No model given and {self.root / LATEST} does not exist. Train one with 'forecast fit DATA.csv' "
                    "or pass --model RUN_DIR."
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

    # ------------------------------------------------------------- checkpoints
    def checkpoint_dir(self, config: Any, fingerprint: str, name: str | None = None) -> Path:
        """Where an in-progress fit keeps its per-epoch backup, keyed by data and config.

        The same data, config (epochs and patience aside, so a resumed run may
        train longer) and run name map to the same directory, which is what lets
        ``forecast fit --resume`` find the interrupted run.
        """
        key = {k: v for k, v in config.to_flat().items() if k not in _RESUMABLE_CHANGES}
        payload = json.dumps({"config": key, "data": fingerprint, "name": name}, sort_keys=True)
        return self.root / f"{CHECKPOINT_PREFIX}{hashlib.sha256(payload.encode()).hexdigest()[:16]}"

    @contextmanager
    def checkpoint(self, config: Any, fingerprint: str, *, name: str | None = None,
                   resume: bool = False) -> Iterator[Path]:
        """Claim the checkpoint directory of a fit for the duration of the ``with`` block.

        Without ``resume`` an earlier interrupted fit's backup is discarded. On
        leaving the block normally or with an error the checkpoint is deleted;
        on an interrupt (``KeyboardInterrupt``: Ctrl-C, or SIGTERM via the CLI)
        it is kept, so the same fit with ``resume=True`` continues from its last
        completed epoch.

        >>> with store.checkpoint(config, series.fingerprint) as ckpt:  # doctest: +SKIP
        ...     fc = Forecaster(config).fit(series, checkpoint_dir=ckpt)
        """
        ckpt, lock = _claim(self.checkpoint_dir(config, fingerprint, name))
        if ckpt.exists() and not resume:
            log.info("discarding the checkpoint of an earlier interrupted fit (pass --resume to continue it)")
            shutil.rmtree(ckpt)
        elif ckpt.exists():
            problem = checkpoint_problem(ckpt)
            if problem is not None:
                aside = ckpt.with_name(f"{ckpt.name}.damaged-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
                os.rename(ckpt, aside)
                log.warning("warning: the checkpoint of the interrupted fit is damaged (%s); it was set aside as %s "
                            "and this fit starts afresh", problem, aside)
            else:
                log.info("resuming from %s", ckpt)
        elif resume:
            log.info("no interrupted fit of this data and config to resume; starting afresh")
        try:
            yield ckpt
        except KeyboardInterrupt:
            _release(ckpt, lock, remove=False)
            raise
        except OSError:
            # A full disk or a failed save: keep what was trained so far; --resume continues once fixed.
            _release(ckpt, lock, remove=False)
            if ckpt.exists():
                log.warning("The per-epoch backup is kept in %s; fix the problem and run the same command with "
                            "--resume to continue.", ckpt)
            raise
        except BaseException:
            _release(ckpt, lock, remove=True)
            raise
        _release(ckpt, lock, remove=True)


def checkpoint_problem(ckpt: Path) -> str | None:
    """Why the checkpoint directory ``ckpt`` cannot be resumed from (torn or tampered files), or None.

    Checks the backup's epoch record, that every weights file opens as HDF5 and
    that its datasets read back, and that the per-epoch history is a table of numbers.
    """
    backup = ckpt / "backup"
    meta = backup / "training_metadata.json"
    weights = [p for p in (backup / "latest.weights.h5", ckpt / "trained.weights.h5") if p.exists()]
    try:
        if meta.exists():
            record = json.loads(meta.read_text(encoding="utf-8"))
            if not (isinstance(record, dict) and isinstance(record.get("epoch"), int) and record["epoch"] >= 0):
                return f"{meta.name} holds no epoch number"
            if not (backup / "latest.weights.h5").exists():
                return "the backup has an epoch record but no weights"
        for path in weights:
            problem = _h5_problem(path)
            if problem:
                return f"{path.name}: {problem}"
        history = ckpt / "history.csv"
        if history.exists():
            import csv

            rows = list(csv.reader(history.read_text(encoding="utf-8").splitlines()))
            if rows:
                width = len(rows[0])
                for row in rows[1:]:
                    if len(row) != width:
                        return "history.csv has a torn row"
                    [float(v) for v in row]
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return None


def _h5_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable HDF5 weights file, or None (reads every dataset)."""
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py comes with Keras
        return None
    try:
        with h5py.File(path, "r") as f:
            datasets: list = []
            f.visititems(lambda _, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
            for ds in datasets:
                ds[()]
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, RuntimeError... for damaged files
        return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    return None


def _claim(base: Path) -> tuple[Path, Any]:
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
        fh = open(cand.with_name(cand.name + ".lock"), "a+")  # noqa: SIM115 - held until _release
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return cand, fh
        except OSError:
            fh.close()
    raise ArtifactError(f"Cannot lock a checkpoint directory beside {base}.")  # pragma: no cover


def _release(path: Path, lock: Any, *, remove: bool) -> None:
    """Optionally delete the checkpoint, then drop its lock."""
    if remove:
        shutil.rmtree(path, ignore_errors=True)
    if lock is not None:
        if remove:
            Path(lock.name).unlink(missing_ok=True)
        lock.close()


def _writer_pid(name: str) -> int | None:
    """The process id in a temporary name (``.tmp-<run>.pid<pid>-<random>``, ``.latest.pid<pid>-x``), if any."""
    m = re.search(r"\.pid(\d+)-[A-Za-z0-9_]+$", name)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a process of another user counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _unlocked(lock_file: Path) -> bool:
    """True when no process holds the ``flock`` of ``lock_file``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return False
    try:
        with open(lock_file, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
    except OSError:
        return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _is_loop(link: Path) -> bool:
    """True when following ``link`` never reaches a real file (a link loop)."""
    try:
        os.stat(link)
    except OSError as exc:
        import errno

        return exc.errno == errno.ELOOP
    return False
