"""The validation rules of the data tables, once: used when data are built (``TruceData``) and
when files are checked (``escalate validate``), so both say the same thing.

Each rule takes the values of one column and the table's label and raises
:class:`~escalate.errors.DataValidationError` naming the table, the rows and the fix. Missing
values are the job of :func:`escalate.data.tables.require_finite` and are not flagged here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from escalate.errors import DataValidationError, describe_rows


def check_verification(values, label: str) -> None:
    """Verification lies in [0, 1]."""
    values = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").to_numpy(dtype=float)
    bad = (values < 0) | (values > 1)
    if bad.any():
        raise DataValidationError(
            f"{label}: verification must lie in [0, 1] (0 = none, 1 = joint verification cell); "
            f"{describe_rows(np.flatnonzero(bad))} have {values[bad][:3].tolist()}")


def check_penalty_tiers(values, label: str) -> None:
    """Penalty tiers are whole numbers >= 0."""
    values = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").to_numpy(dtype=float)
    bad = (values < 0) | (values != np.round(values)) & np.isfinite(values)
    if bad.any():
        raise DataValidationError(
            f"{label}: penalty_tier must be a whole number >= 0 (0 = no consequence); "
            f"{describe_rows(np.flatnonzero(bad))} have {values[bad][:3].tolist()}")


def check_unique_truce_ids(truce_ids, label: str) -> None:
    """Each truce has one row in the truce calendar."""
    ids = pd.Series(np.asarray(truce_ids)).astype(str)
    dup = ids.duplicated(keep=False)
    if dup.any():
        raise DataValidationError(
            f"{label}: duplicate truce_id {sorted(set(ids[dup]))} at "
            f"{describe_rows(np.flatnonzero(dup))}; each truce needs a unique id")


def check_streams_named(streams, label: str) -> None:
    """Every event names its stream."""
    empty = pd.Series(np.asarray(streams, dtype=object)).astype("string").fillna("").str.strip() == ""
    if empty.any():
        raise DataValidationError(f"{label}: 'stream' is empty at {describe_rows(np.flatnonzero(empty))}")
