"""Reading and checking the user's tables: columns, missing values, clocks.

Shared by every constructor of :class:`escalate.TruceData` and by the importers' callers.
Errors are :class:`~escalate.errors.DataValidationError` naming the table, the rows and the fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from escalate.errors import DataValidationError, describe_rows

DAY = pd.Timedelta(days=1)


def read_table(source, name: str) -> tuple[pd.DataFrame, str]:
    """Return ``(frame, label)`` for a DataFrame or a CSV/Parquet path.

    ``label`` names the table in error messages: the file path, or ``"<name> table"``.
    """
    if isinstance(source, pd.DataFrame):
        return source.copy(), f"{name} table"
    path = Path(source)
    label = f"{name} file {path}"
    if not path.exists():
        raise DataValidationError(f"{label}: file not found")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path), label
        return pd.read_csv(path, skipinitialspace=True), label
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataValidationError(f"{label}: cannot be read as "
                                  f"{'Parquet' if path.suffix.lower() in ('.parquet', '.pq') else 'CSV'}: {exc}") from None


def require_columns(frame: pd.DataFrame, columns, label: str, hint: str = "") -> None:
    """Raise if any of ``columns`` is missing from ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{label}: missing column(s) {missing}; it has {list(frame.columns)}. {hint}".strip())


def require_finite(frame: pd.DataFrame, column: str, label: str) -> np.ndarray:
    """Numeric values of ``column`` as float64; NaN, infinite, non-numeric or true/false cells are errors."""
    raw = frame[column]
    booleans = raw.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool) if raw.dtype == object \
        else np.full(len(raw), pd.api.types.is_bool_dtype(raw))
    if booleans.any():
        raise DataValidationError(
            f"{label}: column '{column}' holds true/false values at {describe_rows(np.flatnonzero(booleans))}, "
            f"not numbers; give numbers (a true/false column read as 1/0 would be fitted silently)")
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        seen = frame[column].to_numpy()[bad][:3].tolist()
        raise DataValidationError(
            f"{label}: column '{column}' has missing, infinite or non-numeric values at "
            f"{describe_rows(np.flatnonzero(bad))} (seen: {seen}); fill or remove those rows")
    return values


def clock_kind(series: pd.Series) -> str:
    """``"float"`` for numeric time columns, ``"datetime"`` for timestamps or date strings."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        return "float"
    return "datetime"


def to_clock(series: pd.Series, kind: str, column: str, label: str) -> pd.Series:
    """Convert a time column to the given clock: float days, or tz-naive timestamps."""
    if kind == "float":
        values = require_finite(series.to_frame(column), column, label)
        return pd.Series(values, index=series.index)
    zones = series.map(_zone_kind)
    if zones.nunique() > 1:
        aware = np.flatnonzero((zones == "aware").to_numpy())
        naive = np.flatnonzero((zones == "naive").to_numpy())
        raise DataValidationError(
            f"{label}: column '{column}' mixes timestamps with a time zone ({describe_rows(aware, 3)}) and "
            f"without one ({describe_rows(naive, 3)}); give every timestamp in one form (escalate reads zoned "
            f"times as UTC, and times without a zone as UTC too)")
    try:
        stamps = pd.to_datetime(series, format="ISO8601", utc=bool((zones == "aware").any()))
    except (ValueError, TypeError, OverflowError) as exc:
        parsed = pd.to_datetime(series, errors="coerce", format="ISO8601", utc=True)
        bad = np.flatnonzero(parsed.isna().to_numpy())
        if "Out of bounds" in str(exc) or not len(bad):
            raise DataValidationError(
                f"{label}: column '{column}' has a date outside the years 1678-2261 that timestamps cover "
                f"({exc}); for an ongoing truce leave its end empty (daily counts) or give the end of the data"
            ) from None
        raise DataValidationError(
            f"{label}: column '{column}' has values that are neither numbers (days) nor ISO "
            f"dates/timestamps at {describe_rows(bad)} (seen: {series.iloc[bad[:3]].tolist()})"
        ) from None
    if stamps.isna().any():
        bad = np.flatnonzero(stamps.isna().to_numpy())
        raise DataValidationError(f"{label}: column '{column}' is empty at {describe_rows(bad)}")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        return stamps.astype("datetime64[ns]")
    except (ValueError, OverflowError):  # pandas' OutOfBoundsDatetime is a ValueError
        far = stamps[(stamps > pd.Timestamp("2262-04-11")) | (stamps < pd.Timestamp("1677-09-22"))]
        raise DataValidationError(
            f"{label}: column '{column}' has a date outside the years 1678-2261 that escalate's timestamps "
            f"cover ({far.iloc[0] if len(far) else 'out of range'}); for an ongoing truce leave its end empty "
            f"(daily counts) or give the end of the data") from None


def _zone_kind(value) -> str:
    """"aware" for a timestamp (or ISO string) with a time zone, "naive" without, "other" else."""
    if isinstance(value, pd.Timestamp):
        return "aware" if value.tzinfo is not None else "naive"
    if isinstance(value, str):
        text = value.strip()
        time_part = text[10:] if len(text) > 10 else ""
        return "aware" if time_part.endswith("Z") or "+" in time_part or "-" in time_part else "naive"
    return "other"


def days_between(later: pd.Series | np.ndarray, earlier: pd.Series | np.ndarray, kind: str) -> np.ndarray:
    """``later - earlier`` in days (float64) on either clock."""
    if kind == "float":
        return np.asarray(later, dtype=float) - np.asarray(earlier, dtype=float)
    delta = pd.to_datetime(pd.Series(np.asarray(later))) - pd.to_datetime(pd.Series(np.asarray(earlier)))
    return (delta / DAY).to_numpy(dtype=float)


def common_clock(frames: dict[str, tuple[pd.DataFrame, str, str]]) -> str:
    """The one clock kind of several time columns, given as ``{name: (frame, column, label)}``."""
    kinds = {name: clock_kind(frame[column]) for name, (frame, column, _) in frames.items() if len(frame)}
    if len(set(kinds.values())) > 1:
        described = ", ".join(f"{frames[n][2]} '{frames[n][1]}' is {k}" for n, k in kinds.items())
        raise DataValidationError(
            f"time columns must all be on one clock (all timestamps, or all floats in days): "
            f"{described}")
    return next(iter(kinds.values()), "float")


def stream_labels(series: pd.Series) -> pd.Series:
    """Stream ids as strings; empty or missing cells become ``""`` (all streams)."""
    out = series.astype("string").fillna("").str.strip()
    return out.astype(object)
