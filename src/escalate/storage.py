"""Files on disk, written so that a crash never leaves half of one: zarr stores, JSON, CSV.

One file hash (:func:`sha256_file`) and one zarr reader/writer (:func:`save_tree`,
:func:`load_tree`; zarr format 2, never pickle), written through the one atomic writer of
:mod:`escalate.folders`. Used by every wing that writes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import xarray as xr

from escalate.errors import FileFormatError
from escalate.folders import atomic_directory


def sha256_file(path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    except Exception as exc:  # noqa: BLE001 - any failure to read the store: a damaged or foreign file
        raise FileFormatError(f"{path}: not a readable escalate zarr store ({type(exc).__name__}: {exc}); "
                              f"it is damaged or was not written by escalate") from None


def check_format_version(version, expected: int, source, what: str, fix: str) -> None:
    """Refuse a stored ``format_version`` that is not a number or not the one this escalate reads."""
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise FileFormatError(f"{source}: {what} format_version {version!r} is not a number; not a file "
                              f"escalate wrote") from None
    if version != expected:
        raise FileFormatError(f"{source}: {what} saved with format version {version}, but this escalate reads "
                              f"version {expected}; use the escalate release that wrote it, or {fix}")
