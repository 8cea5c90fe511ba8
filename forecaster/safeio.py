"""Safe file access for everything forecaster reads or writes: one place for each rule.

* :func:`safe_component` - a run name is one plain path component (nothing is ever written
  outside the runs directory);
* :func:`read_regular_file` - data, manifests and histories are read only from regular files
  (after resolving links; never a FIFO, device or directory), with a size limit;
* :func:`check_writable_dir` - the runs directory (or an output's folder) is checked to be a
  writable directory before any work starts;
* :func:`short_list` - error lines list a few choices, then "and N more";
* :data:`LIMITS` - the limits themselves, each with the environment variable that raises it.

No Keras or pandas imports here (NumPy only inside the line scan): the checks run before TensorFlow is imported.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from forecaster.exceptions import ArtifactError, DataError, ForecasterError


@dataclass(frozen=True)
class Limit:
    """A size limit with its default and the environment variable that overrides it."""

    env: str
    default: int
    unit: str  # how the value of ``env`` is counted: "MB", "KB" or "" (a plain count)

    @property
    def value(self) -> int:
        """The limit in bytes (or as a count), from ``env`` when set to a positive number."""
        scale = {"MB": 1 << 20, "KB": 1 << 10, "": 1}[self.unit]
        raw = os.environ.get(self.env, "").strip()
        try:
            n = float(raw) if raw else float(self.default)
        except ValueError:
            raise ForecasterError(f"{self.env} must be a positive number. Received: {self.env}={raw!r}") from None
        if not n > 0 or n == float("inf"):
            raise ForecasterError(f"{self.env} must be a positive number. Received: {self.env}={raw!r}")
        return int(n * scale)

    def describe(self) -> str:
        """``"1024 MB (raise it with FORECAST_MAX_CSV_MB)"``"""
        self.value  # noqa: B018 - a malformed setting is reported first
        raw = os.environ.get(self.env, "").strip()
        unit = f" {self.unit}" if self.unit else ""
        return f"{raw or self.default}{unit} (raise it with the environment variable {self.env})"


#: Every input limit, in one place. The defaults are far above what a forecasting CSV needs
#: and far below what exhausts a machine's memory.
LIMITS = {
    "csv_bytes": Limit("FORECAST_MAX_CSV_MB", 1024, "MB"),
    "line_bytes": Limit("FORECAST_MAX_LINE_KB", 1024, "KB"),
    "columns": Limit("FORECAST_MAX_COLUMNS", 10_000, ""),
    "manifest_bytes": Limit("FORECAST_MAX_MANIFEST_MB", 64, "MB"),
    "history_bytes": Limit("FORECAST_MAX_HISTORY_MB", 16, "MB"),
    "json_depth": Limit("FORECAST_MAX_JSON_DEPTH", 64, ""),
}


def short_list(items, limit: int = 5) -> str:
    """At most ``limit`` items, comma-separated, then "and N more".

    >>> short_list(["a", "b", "c"], 2)
    'a, b and 1 more'
    >>> short_list(["a", "b"])
    'a, b'
    """
    items = [str(i) for i in items]
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


def clip(text: str, width: int = 80) -> str:
    """``text`` cut to ``width`` characters with an ellipsis (for values echoed in errors)."""
    text = str(text)
    return text if len(text) <= width else text[: width - 3] + "..."


# ---------------------------------------------------------------------------- names
def safe_component(name: object, what: str = "name", *, reserved: tuple[str, ...] = ()) -> str:
    """``name`` if it is one plain path component, else :class:`ArtifactError`.

    Refused: empty names, ``.`` and ``..``, anything with a ``/`` or ``\\``, absolute
    paths, hidden names (a leading dot is the store's own temporary and checkpoint
    namespace), control characters, names longer than 200 characters, and ``reserved``.

    >>> safe_component("prices-gru")
    'prices-gru'
    >>> safe_component("../elsewhere")
    Traceback (most recent call last):
    ...
    forecaster.exceptions.ArtifactError: `name` must be a plain directory name (no '/', not hidden, not '.' or '..'). Received: name='../elsewhere'
    """
    text = name if isinstance(name, str) else ""
    bad = (
        not text or text in (".", "..") or text.startswith(".") or "/" in text or "\\" in text
        or os.path.isabs(text) or len(text) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in text)
        or text in reserved or "\x00" in text
    )
    if bad:
        extra = "".join(f", not {r!r}" for r in reserved)
        raise ArtifactError(
            f"`{what}` must be a plain directory name (no '/', not hidden, not '.' or '..'{extra}). "
            f"Received: {what}={clip(repr(name), 120)}"
        )
    return text


# ---------------------------------------------------------------------------- reading
def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular_file(path: str | os.PathLike[str], *, limit: str, what: str = "file",
                      error: type[ForecasterError] = DataError) -> bytes:
    """The bytes of ``path``, which must be a regular file (after links) no larger than ``LIMITS[limit]``.

    The file is opened non-blocking and checked on the open descriptor, so a FIFO
    never blocks and a device (``/dev/zero``) is never read, and a file swapped for
    a link between the check and the read cannot slip through.

    Raises:
        ``error`` (DataError by default): missing, unreadable, not a regular file, or too large.
    """
    p = Path(path)
    lim = LIMITS[limit]
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise error(f"File not found: {p}. Check the path.") from None
    except IsADirectoryError:
        raise error(f"{p} is a directory, not a {what}. Pass the path of a {what}.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"{p} is a symbolic link loop. Pass the path of a {what}.") from None
        raise error(f"Cannot read {p}: {exc.strerror or exc}.") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"{p} is a directory, not a {what}. Pass the path of a {what}.")
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{p} is {_kind(st.st_mode)}, not a regular file. Pass the path of a {what}.")
        size_limit = lim.value
        if st.st_size > size_limit:
            raise error(
                f"{p} is {st.st_size / (1 << 20):.1f} MB, above the limit of {lim.describe()}."
            )
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 24, size_limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > size_limit:  # the file grew while being read
                raise error(f"{p} is larger than the limit of {lim.describe()}.")
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"Cannot read {p}: {exc.strerror or exc}.") from None
    finally:
        os.close(fd)


def check_text_shape(raw: bytes, name: str) -> None:
    """Refuse CSV bytes with a line longer than the line limit, or a header with more fields than the column limit.

    Runs in linear time before any parsing, so a 200 MB single line or a 22-million-field
    header answers at once instead of keeping the parser busy for minutes.
    """
    line_limit = LIMITS["line_bytes"]
    max_line = line_limit.value
    if len(raw) > max_line:  # otherwise no line can be too long
        longest, where = _longest_line(raw)
        if longest > max_line:
            row = raw.count(b"\n", 0, where) + 1
            raise DataError(
                f"Line {row} of {name} is {longest / 1024:.0f} KB long, above the line limit of "
                f"{line_limit.describe()}. Is this a CSV file with one row per line?"
            )
    header = raw[: raw.find(b"\n")] if b"\n" in raw else raw
    cols = LIMITS["columns"]
    fields = max(header.count(sep) for sep in (b",", b";", b"\t", b"|")) + 1
    if fields > cols.value:
        raise DataError(f"The header of {name} has {fields} fields, above the column limit of {cols.describe()}.")


def _longest_line(raw: bytes, chunk: int = 1 << 26) -> tuple[int, int]:
    """Length and start offset of the longest line of ``raw``, scanned in 64 MB chunks (bounded extra memory)."""
    import numpy as np

    arr = np.frombuffer(raw, dtype=np.uint8)
    longest, where, line_start = 0, 0, 0
    for lo in range(0, len(arr), chunk):
        ends = np.flatnonzero(arr[lo : lo + chunk] == 10) + lo
        if len(ends):
            starts = np.concatenate(([line_start], ends[:-1] + 1))
            lengths = ends - starts
            i = int(np.argmax(lengths))
            if lengths[i] > longest:
                longest, where = int(lengths[i]), int(starts[i])
            line_start = int(ends[-1]) + 1
    if len(arr) - line_start > longest:  # the last line has no newline
        longest, where = len(arr) - line_start, line_start
    return longest, where


# ---------------------------------------------------------------------------- writing
def check_writable_dir(path: str | os.PathLike[str], what: str = "runs directory",
                       remedy: str = "Pass --runs-dir (or FORECAST_RUNS_DIR) with a writable directory.") -> Path:
    """Check that ``path`` is, or can be created as, a writable directory; create it. Return it.

    Raises :class:`ArtifactError` naming the path and ``remedy`` when ``path`` is a file or a
    device, lies under a file, or cannot be written (read-only, permissions, a full disk).
    """
    p = Path(path)
    try:
        if p.exists() and not p.is_dir():
            kind = _kind(p.stat().st_mode) if not p.is_file() else "a file"
            raise ArtifactError(f"The {what} {p} is {kind}, not a directory. {remedy}")
        for parent in [p, *p.parents]:
            if parent.exists():
                if not parent.is_dir():
                    raise ArtifactError(f"The {what} {p} cannot be created: {parent} is a file. {remedy}")
                break
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".write-test-{os.getpid()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, b"x")
            finally:
                os.close(fd)
        finally:
            try:
                os.unlink(probe)
            except OSError:
                pass
    except ArtifactError:
        raise
    except OSError as exc:
        raise ArtifactError(f"The {what} {p} is not writable ({exc.strerror or exc}). {remedy}") from None
    return p


def describe_write_error(exc: OSError, path: str | os.PathLike[str], what: str) -> str:
    """One line for a failed write: which path, why, and what to do."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = "Free disk space (or raise the file-size limit) and run again."
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "Choose a writable location."
    else:
        fix = "Check the location and run again."
    return f"Cannot write {what} {path}: {reason}. {fix}"


def atomic_write(path: str | os.PathLike[str], write, what: str, *, suffix: str = "",
                 error: type[ForecasterError] = ForecasterError) -> Path:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it into place.

    A reader never sees half a file; a failed write leaves nothing behind and
    raises ``error`` with one line naming the path and the fix
    (:func:`describe_write_error`). ``suffix`` ends the temporary name (a figure
    keeps its ``.png`` so that its format is known from the name).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem if suffix else path.name}.tmp-{os.getpid()}{suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise error(describe_write_error(exc, path, what)) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def apply_umask(path: str | os.PathLike[str], *, directory: bool = True) -> None:
    """Give ``path`` the permissions the user's umask grants (``mkdtemp`` makes 0700 directories)."""
    mask = os.umask(0)
    os.umask(mask)
    try:
        os.chmod(path, (0o777 if directory else 0o666) & ~mask)
    except OSError:
        pass
