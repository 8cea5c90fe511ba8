"""Execute every notebook in notebooks/ top to bottom.

Each notebook runs in a fresh kernel started with *this* interpreter (the
project's environment, whatever kernels happen to be registered elsewhere),
with the working directory set to notebooks/ and ``MPLBACKEND=Agg``. A cell
error fails the test. The committed files must carry no outputs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed: pip install -e '.[dev]'")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed: pip install -e '.[dev]'")
pytest.importorskip("ipykernel", reason="ipykernel is not installed: pip install -e '.[dev]'")

from jupyter_client.manager import KernelManager  # noqa: E402  (installed with nbclient)

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300


#: Folders a notebook could litter by accident (relative run paths, data next to the CSVs).
WATCHED = [NOTEBOOK_DIR, NOTEBOOK_DIR.parent / "data", NOTEBOOK_DIR.parent / "runs"]


def _kernel_manager() -> KernelManager:
    """A kernel manager whose kernel is the interpreter running the tests."""
    km = KernelManager(kernel_name="python3")
    # Pin the command to this interpreter: a registered "python3" spec may name a
    # bare "python" (whatever is first on PATH) or a different environment.
    km.kernel_spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return km


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"  # headless; the notebooks display figures inline themselves
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _files() -> set[Path]:
    return {p for folder in WATCHED if folder.exists() for p in folder.rglob("*")}


def _outputs(nb) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_stored_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have stored outputs or execution counts. "
        f"Clear them before committing: jupyter nbconvert --clear-output --inplace {path.name}"
    )


@pytest.mark.slow  # a fresh kernel imports TensorFlow and trains; the stored-without-outputs check stays fast
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path: Path, tmp_path: Path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        km=_kernel_manager(),
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},  # the kernel's working directory
    )
    before = _files()
    try:
        # We own the kernel manager, so ask nbclient to shut the kernel down afterwards.
        client.execute(cleanup_kc=True, env=_kernel_env())
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell raised an error:\n{exc}", pytrace=False)
    finally:
        # Keep the executed copy for inspection; never overwrite the committed file.
        nbformat.write(nb, tmp_path / path.name)

    images = [out for out in _outputs(nb) if "image/png" in out.get("data", {})]
    assert images, f"{path.name}: executed without producing any image output"

    created = sorted(str(p) for p in _files() - before if "__pycache__" not in p.parts)
    assert not created, f"{path.name}: executing it left files in the repository: {created}"
