"""Where the real data sets are found at run time (they are never shipped with escalate)."""

from __future__ import annotations

import os
from pathlib import Path

from escalate.errors import DataValidationError

#: Environment variable naming the data folder (the one holding ``israel-hezbollah/``).
DATA_ENV = "ESCALATE_DATA"


def data_folder(name: str, path=None) -> Path:
    """The folder of real data set ``name`` (e.g. ``"israel-hezbollah"``).

    Looked up in order: ``path`` (that data set's folder, or a data folder holding it), the
    environment variable ``ESCALATE_DATA`` (a data folder), then ``../shared/data`` beside the
    project checkout (and beside the working directory). Raises
    :class:`~escalate.errors.DataValidationError` saying where to put the files when none has it.
    """
    tried = []
    candidates = []
    if path is not None:
        candidates += [Path(path), Path(path) / name]
    if os.environ.get(DATA_ENV):
        candidates.append(Path(os.environ[DATA_ENV]) / name)
    project = Path(__file__).resolve().parents[3]
    if (project / "pyproject.toml").exists():  # an editable install: the checkout's neighbour
        candidates.append(project.parent / "shared" / "data" / name)
    candidates.append(Path.cwd().parent / "shared" / "data" / name)
    for folder in candidates:
        tried.append(str(folder))
        if (folder / "README.md").is_file():
            return folder
    raise DataValidationError(
        f"data set {name!r} not found (looked in {', '.join(dict.fromkeys(tried))}); the real data "
        f"sets are not shipped with escalate: put the folder {name}/ (with its README.md) in a data "
        f"folder and pass path=, or set {DATA_ENV}=/path/to/data, or place it at ../shared/data/{name} "
        f"beside the project")
