"""Files on disk, written so that a crash never leaves half of one: zarr stores, JSON, CSV.

One atomic writer (:func:`atomic_directory` for folders, :func:`atomic_write_text` for files),
one file hash (:func:`sha256_file`), one zarr reader/writer (:func:`save_tree`,
:func:`load_tree`; zarr format 2, never pickle). Used by every wing that writes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

from escalate.errors import FileFormatError


def sha256_file(path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to a temporary sibling of ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def staged_directory(path, *, copy_existing: bool = False):
    """Yield a temporary sibling of the folder ``path``; when the block succeeds, it replaces
    ``path`` (two renames); on any exception (Ctrl-C included) it is removed and ``path`` is
    untouched. ``copy_existing`` starts the staging folder as a copy of ``path``.

    The one mechanism behind every folder escalate writes (fits, forecasts, reports, runs).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        shutil.rmtree(tmp)
        if copy_existing:
            shutil.copytree(path, tmp)
        yield tmp
        old = path.with_name(f".{path.name}.old.tmp")
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def atomic_directory(path, write) -> None:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then move it into place."""
    with staged_directory(path) as tmp:
        write(tmp)


def save_tree(tree: xr.DataTree, path) -> None:
    """Write ``tree`` as a zarr format-2 store at ``path`` (atomically)."""
    atomic_directory(Path(path), lambda tmp: tree.to_zarr(tmp, zarr_format=2, consolidated=True))


def load_tree(path) -> xr.DataTree:
    """Read a zarr store written by :func:`save_tree` into memory."""
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{path}: not found")
    try:
        return xr.open_datatree(path, engine="zarr", zarr_format=2, consolidated=True).load()
    except (OSError, ValueError, KeyError) as exc:
        raise FileFormatError(f"{path}: not a readable escalate zarr store ({exc})") from None
