"""Covariate timelines: piecewise-constant verification, penalty tiers and extra covariates.

A timeline is given as rows ``(truce_id, start, stream?, verification, penalty_tier, ...)``;
each row sets its values from ``start`` on (right-continuous: the value at a change point is
the new one). A row without a stream sets every stream's tier. Verification and extra
covariates belong to the truce, not to a party: rows at the same time must agree on them.

:class:`SegmentTable` is the compiled form used by the likelihood kernels and the simulator:
one row per (truce, interval between consecutive change points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from escalate.errors import DataValidationError, describe_rows


@dataclass(frozen=True, eq=False)
class SegmentTable:
    """Covariates as contiguous segments, truce by truce.

    Attributes (S segments, K streams, C extra covariates, J truces)
    ----------
    truce : int64[S]       index of the segment's truce
    start, end : float64[S] segment bounds, days since the truce start
    verification : float64[S]
    tier : int64[S, K]     penalty tier faced by each stream
    extra : float64[S, C]  extra baseline covariates (columns ``extra_names``)
    offsets : int64[J + 1] segments of truce j are ``offsets[j]:offsets[j + 1]``
    """

    truce: np.ndarray
    start: np.ndarray
    end: np.ndarray
    verification: np.ndarray
    tier: np.ndarray
    extra: np.ndarray
    offsets: np.ndarray
    extra_names: tuple[str, ...]

    def locate(self, truce_index: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Global segment index in force at each (truce, time) (right-continuous)."""
        out = np.empty(len(times), dtype=np.int64)
        for j in np.unique(truce_index):
            mask = truce_index == j
            lo, hi = self.offsets[j], self.offsets[j + 1]
            pos = np.searchsorted(self.start[lo:hi], times[mask], side="right") - 1
            out[mask] = lo + np.clip(pos, 0, hi - lo - 1)
        return out

    def states(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Distinct observed covariate states ``(verification[Q], tier[Q, K], labels)``."""
        keys = np.column_stack([self.verification, self.tier.astype(float)])
        unique = np.unique(keys, axis=0)
        labels = [f"v={row[0]:.2f}|tiers=" + ",".join(str(int(t)) for t in row[1:]) for row in unique]
        return unique[:, 0].copy(), unique[:, 1:].astype(np.int64), labels


def build_segments(
    covariates: pd.DataFrame,
    truce_ids: tuple[str, ...],
    durations: np.ndarray,
    streams: tuple[str, ...],
    extra_names: tuple[str, ...],
    label: str = "covariates table",
) -> SegmentTable:
    """Compile validated covariate rows (times in days since truce start) into segments.

    ``covariates`` has columns ``truce_id``, ``time``, ``stream`` ("" = all streams),
    ``verification``, ``penalty_tier`` and the ``extra_names``; its index holds the user's row
    numbers (0-based) for error messages.
    """
    K, C = len(streams), len(extra_names)
    stream_pos = {s: i for i, s in enumerate(streams)}
    parts: dict[str, list] = {k: [] for k in ("truce", "start", "end", "verification", "tier", "extra")}
    offsets = [0]
    for j, truce_id in enumerate(truce_ids):
        rows = covariates[covariates["truce_id"] == truce_id].sort_values("time", kind="stable")
        if rows.empty or rows["time"].iloc[0] != 0.0:
            first = "has no rows" if rows.empty else f"starts {rows['time'].iloc[0]:g} days after it"
            raise DataValidationError(
                f"{label}: the covariate timeline of truce '{truce_id}' must begin at the truce "
                f"start, but it {first}; add a row at the truce start with its verification "
                f"and penalty_tier")
        v, x, tiers = np.nan, np.full(C, np.nan), np.full(K, -1, dtype=np.int64)
        times = rows["time"].unique()
        for c_index, t in enumerate(times):
            at = rows[rows["time"] == t]
            _check_agreement(at, ["verification", *extra_names], truce_id, t, label)
            v = float(at["verification"].iloc[0])
            x = at[list(extra_names)].iloc[0].to_numpy(dtype=float) if C else x
            # rows for all streams first, then stream rows override their stream
            for _, row in at[at["stream"] == ""].iterrows():
                tiers[:] = int(row["penalty_tier"])
            for _, row in at[at["stream"] != ""].iterrows():
                tiers[stream_pos[row["stream"]]] = int(row["penalty_tier"])
            if (tiers < 0).any():
                missing = [streams[k] for k in np.flatnonzero(tiers < 0)]
                raise DataValidationError(
                    f"{label}: truce '{truce_id}' has no penalty_tier for stream(s) {missing} "
                    f"at its start; add a row at the truce start for each, or one without a "
                    f"stream that applies to all")
            end = times[c_index + 1] if c_index + 1 < len(times) else durations[j]
            parts["truce"].append(j)
            parts["start"].append(t)
            parts["end"].append(end)
            parts["verification"].append(v)
            parts["tier"].append(tiers.copy())
            parts["extra"].append(np.array(x, dtype=float))
        offsets.append(len(parts["truce"]))
    return SegmentTable(
        truce=np.asarray(parts["truce"], dtype=np.int64),
        start=np.asarray(parts["start"], dtype=float),
        end=np.asarray(parts["end"], dtype=float),
        verification=np.asarray(parts["verification"], dtype=float),
        tier=np.asarray(parts["tier"], dtype=np.int64).reshape(len(parts["truce"]), K),
        extra=np.asarray(parts["extra"], dtype=float).reshape(len(parts["truce"]), C),
        offsets=np.asarray(offsets, dtype=np.int64),
        extra_names=tuple(extra_names),
    )


def _check_agreement(at: pd.DataFrame, columns: list[str], truce_id: str, t: float, label: str) -> None:
    """Truce-level values set by several rows at one time must agree."""
    for column in columns:
        if at[column].nunique() > 1:
            raise DataValidationError(
                f"{label}: {describe_rows(at.index)} set different '{column}' values "
                f"{sorted(at[column].unique().tolist())} for truce '{truce_id}' at day {t:g}; "
                f"{column} belongs to the truce, not to a party: give one value")
    dup = at.duplicated(subset=["stream"], keep=False)
    if dup.any():
        raise DataValidationError(
            f"{label}: {describe_rows(at.index[dup])} are duplicate rows for truce "
            f"'{truce_id}' at day {t:g} and the same stream; keep one")
