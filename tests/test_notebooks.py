"""Every notebook runs top to bottom (nbclient) in fast mode, failing on any cell error."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_five_notebooks_with_outputs_stripped():
    assert [p.name for p in NOTEBOOKS] == ["01-quickstart.ipynb", "02-policy-scenarios.ipynb",
                                           "03-model-checking.ipynb", "04-your-own-data.ipynb",
                                           "05-learning-from-ceasefires.ipynb"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path, monkeypatch):
    monkeypatch.setenv("ESCALATE_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    # run in a copy of the notebooks folder so relative paths resolve and outputs land in tmp
    work = tmp_path / "notebooks"
    work.mkdir()
    os.symlink(path.parents[1] / "models", tmp_path / "models")
    os.symlink(path.parents[1] / "tests", tmp_path / "tests")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
