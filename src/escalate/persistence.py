"""Saving and loading fits: zarr (format 2) directories, never pickle.

A saved fit is the DataTree itself: posterior, sample_stats, ``fit_data`` (events, truces,
covariates as tables, enough to rebuild the :class:`~escalate.TruceData`) and optional
``forecast``; root attrs hold ``format_version``, the spec JSON and provenance. Writes go to a
temporary sibling and are renamed into place, so a crash never leaves a half-written fit.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from escalate.data import TruceData
from escalate.errors import FileFormatError


def _frame_to_dataset(frame: pd.DataFrame) -> xr.Dataset:
    ds = xr.Dataset(coords={"row": np.arange(len(frame))})
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            arr = values.to_numpy(dtype="datetime64[ns]")
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            arr = values.to_numpy()
        else:
            arr = values.astype(str).to_numpy(dtype=str)
        ds[str(column)] = ("row", arr)
    ds.attrs["columns"] = json.dumps([str(c) for c in frame.columns])
    return ds


def _dataset_to_frame(ds: xr.Dataset) -> pd.DataFrame:
    columns = json.loads(ds.attrs["columns"])
    out = pd.DataFrame({c: ds[c].values for c in columns})
    for c in columns:
        if out[c].dtype.kind == "U":
            out[c] = out[c].astype(object)
    return out


def data_to_tree(data: TruceData) -> xr.DataTree:
    """The ``fit_data`` group: the tables (events, truces, covariates, and daily counts at day
    resolution) plus the attributes to rebuild ``TruceData``."""
    tables = {"events": data.events, "truces": data.truces, "covariates": data.covariates}
    if data.counts is not None:
        tables["counts"] = data.counts
    node = xr.DataTree.from_dict({name: _frame_to_dataset(frame) for name, frame in tables.items()})
    node.attrs.update({
        "streams": json.dumps(list(data.streams)),
        "resolution": data.resolution,
        "clock": data.clock,
        "extra_names": json.dumps(list(data.extra_names)),
        "provenance": json.dumps(data.provenance, default=str, sort_keys=True),
    })
    return node


def tree_to_data(node: xr.DataTree) -> TruceData:
    """Rebuild the TruceData stored by :func:`data_to_tree`."""
    attrs = node.attrs
    return TruceData(
        events=_dataset_to_frame(node["events"].to_dataset()),
        truces=_dataset_to_frame(node["truces"].to_dataset()),
        covariates=_dataset_to_frame(node["covariates"].to_dataset()),
        streams=tuple(json.loads(attrs["streams"])),
        resolution=attrs["resolution"],
        clock=attrs["clock"],
        extra_names=tuple(json.loads(attrs["extra_names"])),
        provenance=json.loads(attrs["provenance"]),
        counts=_dataset_to_frame(node["counts"].to_dataset()) if "counts" in node.children else None,
    )


def atomic_directory(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        shutil.rmtree(tmp)
        write(tmp)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


def load_fit(path):
    """Load a fit saved with :meth:`Fit.save`.

    Raises :class:`~escalate.errors.FileFormatError` when ``path`` is not an escalate fit or
    was written by an unknown format version.
    """
    from escalate.fit import FORMAT_VERSION, Fit
    from escalate.spec import ModelSpec

    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{path}: no saved fit there (path not found)")
    tree = load_tree(path)
    version = tree.attrs.get("format_version")
    if version is None or "spec" not in tree.attrs:
        raise FileFormatError(f"{path}: not an escalate fit (no format_version/spec attributes)")
    if int(version) != FORMAT_VERSION:
        raise FileFormatError(
            f"{path}: saved with escalate file format version {version}, but this escalate reads "
            f"version {FORMAT_VERSION}; use the escalate release that wrote it, or refit")
    spec = ModelSpec.from_dict(json.loads(tree.attrs["spec"]), source=tree.attrs.get("spec_source", str(path)))
    return Fit(tree=tree, spec=spec, data=tree_to_data(tree["fit_data"]))
