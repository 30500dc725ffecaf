"""TruceData <-> DataTree: the ``fit_data`` group of a saved fit.

The tables (events, truces, covariates, and daily counts at day resolution) become datasets
with a ``row`` dimension; the attributes needed to rebuild :class:`TruceData` travel as JSON.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from escalate.data.truce_data import TruceData


def frame_to_dataset(frame: pd.DataFrame) -> xr.Dataset:
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


def dataset_to_frame(ds: xr.Dataset) -> pd.DataFrame:
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
    if data.history is not None:
        tables["history"] = data.history
    node = xr.DataTree.from_dict({name: frame_to_dataset(frame) for name, frame in tables.items()})
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
        events=dataset_to_frame(node["events"].to_dataset()),
        truces=dataset_to_frame(node["truces"].to_dataset()),
        covariates=dataset_to_frame(node["covariates"].to_dataset()),
        streams=tuple(json.loads(attrs["streams"])),
        resolution=attrs["resolution"],
        clock=attrs["clock"],
        extra_names=tuple(json.loads(attrs["extra_names"])),
        provenance=json.loads(attrs["provenance"]),
        counts=dataset_to_frame(node["counts"].to_dataset()) if "counts" in node.children else None,
        history=dataset_to_frame(node["history"].to_dataset()) if "history" in node.children else None,
    )
