"""The data model: truces, streams, events and covariate timelines.

``TruceData`` holds tidy, validated tables on one internal clock, days since each truce's
start, plus the compiled covariate :class:`~escalate.data.covariates.SegmentTable`. It is built by
:meth:`TruceData.from_frames` (exact event times) and, for day-dated data,
:meth:`TruceData.from_daily_counts`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from escalate.data.covariates import SegmentTable, build_segments
from escalate.data.daily import aggregate_to_days, build_counts, check_whole_days
from escalate.data.rules import (
    check_penalty_tiers,
    check_streams_named,
    check_unique_truce_ids,
    check_verification,
)
from escalate.data.tables import (
    clock_kind,
    common_clock,
    days_between,
    read_table,
    require_columns,
    require_finite,
    stream_labels,
    to_clock,
)
from escalate.errors import DataValidationError, describe_rows
from escalate.storage import sha256_file

_COVARIATE_KNOWN = {"truce_id", "start", "stream", "verification", "penalty_tier"}


@dataclass(frozen=True, eq=False)
class TruceData:
    """Validated event data for one or many truces.

    Attributes
    ----------
    events : DataFrame
        ``truce_id``, ``time`` (days since the truce start, float), ``stream`` and any marks,
        sorted by truce (in ``truce_ids`` order), time and stream.
    truces : DataFrame
        ``truce_id``, ``start``, ``end`` (on the user's clock) and ``duration`` (days).
    covariates : DataFrame
        ``truce_id``, ``time`` (days since truce start), ``stream`` ("" = all streams),
        ``verification``, ``penalty_tier`` and extra numeric covariates.
    streams : tuple of str
        Stream order used everywhere (posterior dims, kernels).
    resolution : {"exact", "day"}
        ``"day"``: the data are daily counts (``counts``); ``events`` is then empty.
    counts : DataFrame or None
        Day resolution only: ``truce_id``, ``day`` (0-based), ``stream``, ``count`` for every day
        of every truce window and every stream.
    clock : {"datetime", "float"}
        The user's clock for ``truces.start``/``end``.
    provenance : dict
        Where the data came from (files, hashes, importer filters); stored with fits.
    history : DataFrame or None
        Day resolution only: ``truce_id``, ``day`` (negative: -H..-1 before the start),
        ``stream``, ``count`` of a history window before each truce (see :meth:`with_history`).
        Its counts excite the truce's first days but are not modelled by its likelihood.
    """

    events: pd.DataFrame
    truces: pd.DataFrame
    covariates: pd.DataFrame
    streams: tuple[str, ...]
    resolution: str = "exact"
    clock: str = "float"
    extra_names: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)
    counts: pd.DataFrame | None = None
    history: pd.DataFrame | None = None

    # ---- constructors -------------------------------------------------------------------
    @classmethod
    def from_frames(cls, events, truces, covariates, *, streams=None, provenance=None) -> "TruceData":
        """Build and validate exact-time data from DataFrames or CSV/Parquet paths.

        Parameters
        ----------
        events : DataFrame or path
            Columns ``truce_id``, ``time``, ``stream``; extra columns are kept as marks.
        truces : DataFrame or path
            Columns ``truce_id``, ``start``, ``end``: the observation window ``[start, end)``.
        covariates : DataFrame or path
            Columns ``truce_id``, ``start``, optional ``stream``, ``verification`` (0..1),
            ``penalty_tier`` (integer >= 0) and optional further numeric columns.
        streams : sequence of str, optional
            Stream order; default sorted stream names of the events and covariates.
        provenance : dict, optional
            Recorded with the data and any fit of it.

        Times are timestamps (or ISO date strings) or floats in days, the same kind in all
        three tables. Raises :class:`~escalate.errors.DataValidationError` naming the table,
        rows and fix for any invalid input.
        """
        ev, ev_label = read_table(events, "events")
        tr, tr_label = read_table(truces, "truces")
        cov, cov_label = read_table(covariates, "covariates")
        require_columns(ev, ["truce_id", "time", "stream"], ev_label)
        prov = dict(provenance or {})
        prov.setdefault("sources", _sources(events=events, truces=truces, covariates=covariates))
        truce_table, clock = _truce_table(tr, tr_label, {"events": (ev, "time", ev_label)}, cov, cov_label)
        ev = ev.reset_index(drop=True)
        ev["truce_id"] = ev["truce_id"].astype(str)
        ev["stream"] = stream_labels(ev["stream"])
        _known_truces(ev, truce_table, ev_label)
        check_streams_named(ev["stream"], ev_label)
        stamps = to_clock(ev["time"], clock, "time", ev_label)
        starts = ev["truce_id"].map(truce_table.set_index("truce_id")["start"])
        ev["time"] = days_between(stamps, starts, clock)
        durations = ev["truce_id"].map(truce_table.set_index("truce_id")["duration"]).to_numpy()
        outside = (ev["time"].to_numpy() < 0) | (ev["time"].to_numpy() >= durations)
        if outside.any():
            raise DataValidationError(
                f"{ev_label}: {describe_rows(np.flatnonzero(outside))} lie outside their truce "
                f"window [start, end); fix the time or the truce's start/end, or drop them")
        cov_table, extra_names = _covariate_table(cov, cov_label, truce_table, clock)
        streams = _stream_order(streams, ev, cov_table, ev_label, cov_label)
        ev = _sorted_events(ev, truce_table, streams)
        ties = ev.duplicated(subset=["truce_id", "stream", "time"], keep=False)
        if ties.any():
            sample = ev.loc[ties, ["truce_id", "stream", "time"]].head(3).to_dict("records")
            raise DataValidationError(
                f"{ev_label}: {int(ties.sum())} events share an exact time with another event "
                f"of the same stream and truce (e.g. {sample}). Tied times are invalid for the "
                f"exact-time likelihood: for day-dated data use TruceData.from_daily_counts and "
                f"time_resolution = \"day\"; never jitter times")
        data = cls(events=ev, truces=truce_table, covariates=cov_table, streams=streams,
                   resolution="exact", clock=clock, extra_names=extra_names, provenance=prov)
        data.segments  # compile and validate the covariate timelines now
        return data

    @classmethod
    def from_daily_counts(cls, counts, truces, covariates, *, fill_missing=None, streams=None,
                          provenance=None) -> "TruceData":
        """Build day-resolution data from daily counts (MODEL.md 3b).

        Parameters
        ----------
        counts : DataFrame or path
            Long form ``date``, ``stream``, ``count`` (optional ``truce_id``), or wide form
            ``date`` plus one column per stream (``streams`` picks and orders the columns).
            Dates outside every truce window are ignored (their number is recorded in
            ``provenance["days_outside_truces"]``).
        truces, covariates : DataFrame or path
            As for :meth:`from_frames`; windows and covariate changes fall on whole days. A
            truce with an empty ``end`` is ongoing: it is observed through the last date of
            the counts (its end is the day after).
        fill_missing : None or 0
            Days inside a truce window without a row are an error listing them, unless
            ``fill_missing=0`` says that no row means no events.
        streams : sequence of str, optional
        provenance : dict, optional
        """
        if fill_missing not in (None, 0):
            raise DataValidationError("fill_missing must be None (missing days are an error) or 0")
        raw, label = read_table(counts, "counts")
        tr, tr_label = read_table(truces, "truces")
        cov, cov_label = read_table(covariates, "covariates")
        require_columns(raw, ["date"], label)
        if len(raw) == 0:
            raise DataValidationError(f"{label}: has no rows (a header only?); give one row per day and stream "
                                      f"(long form) or per day (wide form)")
        require_columns(tr, ["truce_id", "start", "end"], tr_label)
        open_ended = tr["end"].isna() | (tr["end"].astype(str).str.strip() == "")
        if open_ended.any() and len(raw):  # an ongoing truce: observed through the last dated day

            kind = clock_kind(raw["date"])
            last = to_clock(raw["date"], kind, "date", label).max()
            end = last + (pd.Timedelta(days=1) if kind == "datetime" else 1.0)
            tr["end"] = tr["end"].astype(object)
            tr.loc[open_ended, "end"] = end.isoformat() if kind == "datetime" else float(end)
            provenance = {**dict(provenance or {}), "open_truces_end": str(end)}
        truce_table, clock = _truce_table(tr, tr_label, {"counts": (raw, "date", label)}, cov, cov_label)
        long, streams, info = build_counts(raw, label, truce_table, clock, streams, fill_missing)
        cov_table, extra_names = _covariate_table(cov, cov_label, truce_table, clock)
        unknown = ~cov_table["stream"].isin(streams + ("",))
        if unknown.any():
            raise DataValidationError(
                f"{cov_label}: unknown stream {sorted(set(cov_table.loc[unknown, 'stream']))[:5]} at "
                f"{describe_rows(np.flatnonzero(unknown))}; known streams are {list(streams)}")
        check_whole_days(truce_table, cov_table, cov_label)
        prov = {**dict(provenance or {}), **info}
        prov.setdefault("sources", _sources(counts=counts, truces=truces, covariates=covariates))
        empty = pd.DataFrame({"truce_id": pd.Series(dtype=object), "time": pd.Series(dtype=float),
                              "stream": pd.Series(dtype=object)})
        data = cls(events=empty, truces=truce_table, covariates=cov_table, streams=streams,
                   resolution="day", clock=clock, extra_names=extra_names, provenance=prov,
                   counts=_sorted_counts(long, truce_table, streams))
        data.segments
        return data

    def to_daily(self) -> "TruceData":
        """The same data at day resolution: exact event times aggregated to daily counts."""
        if self.resolution == "day":
            return self

        source = self.provenance.get("sources", {}).get("covariates", {})
        check_whole_days(self.truces, self.covariates,
                         f"covariates file {source['path']}" if "path" in source else "covariates table")
        counts = aggregate_to_days(self.events, self.truces, self.streams)
        empty = self.events.iloc[:0][["truce_id", "time", "stream"]]
        return replace(self, events=empty, resolution="day",
                       counts=_sorted_counts(counts, self.truces, self.streams),
                       provenance={**self.provenance, "aggregated_from": "exact event times"})

    @classmethod
    def windows(cls, truces, covariates, streams) -> "TruceData":
        """Truce windows and covariates without any event (exact times, on the clock of
        ``truces``): the frame simulations fill (``escalate.simulate``, SBC, prior predictive)."""
        empty = pd.DataFrame({"truce_id": pd.Series(dtype=str), "time": pd.Series(dtype=float),
                              "stream": pd.Series(dtype=str)})
        frame = cls.from_frames(empty, truces, covariates, streams=tuple(streams))
        if frame.clock == "datetime":
            empty["time"] = pd.Series(dtype="datetime64[ns]")
            frame = cls.from_frames(empty, truces, covariates, streams=tuple(streams))
        return frame

    def with_counts(self, counts: list, provenance: dict | None = None) -> "TruceData":
        """The same day-resolution windows and covariates with other daily counts: ``counts[j]``
        an array ``[day, stream]`` for truce ``j`` covering all its days (simulated data)."""
        if self.resolution != "day":
            raise DataValidationError("with_counts needs day-resolution data (data.to_daily() first)")
        rows = []
        for j, (truce, n) in enumerate(zip(self.truce_ids, self.truces["duration"].astype(int))):
            values = np.asarray(counts[j], dtype=float)
            if values.shape != (n, len(self.streams)):
                raise DataValidationError(f"counts for truce {truce!r} have shape {values.shape}; "
                                          f"its window needs ({n}, {len(self.streams)})")
            rows.append(pd.DataFrame({"truce_id": truce, "day": np.repeat(np.arange(n), len(self.streams)),
                                      "stream": np.tile(list(self.streams), n), "count": values.ravel()}))
        table = _sorted_counts(pd.concat(rows, ignore_index=True), self.truces, self.streams)
        return replace(self, counts=table, provenance={**self.provenance, **(provenance or {})})

    def with_history(self, history) -> "TruceData":
        """The same data with a history window before each truce (day resolution).

        Parameters
        ----------
        history : DataFrame
            ``truce_id``, ``day`` (whole days before the start: -1 is the day before it),
            ``stream``, ``count``; every truce with history gives every day from its earliest
            history day to -1 and every stream (no holes: a day without events is a 0 row).

        The history's events excite the truce's days (MODEL.md 6, a conditional likelihood:
        the process is not restarted at the start) with the covariates of the truce's first
        day; they enter no likelihood term themselves.
        """
        if self.resolution != "day":
            raise DataValidationError("a history window needs day-resolution data (data.to_daily() first)")
        label = "history table"
        frame = history.copy() if isinstance(history, pd.DataFrame) else read_table(history, "history")[0]
        require_columns(frame, ["truce_id", "day", "stream", "count"], label)
        frame = frame.reset_index(drop=True)
        frame["truce_id"] = frame["truce_id"].astype(str)
        frame["stream"] = stream_labels(frame["stream"])
        _known_truces(frame, self.truces, label)
        day = require_finite(frame, "day", label)
        count = require_finite(frame, "count", label)
        bad = (day >= 0) | (day != np.round(day))
        if bad.any():
            raise DataValidationError(f"{label}: 'day' must be a whole number < 0 (days before the truce's "
                                      f"start) at {describe_rows(np.flatnonzero(bad))}")
        bad = (count < 0) | (count != np.round(count))
        if bad.any():
            raise DataValidationError(f"{label}: 'count' must be a whole number >= 0 at "
                                      f"{describe_rows(np.flatnonzero(bad))}")
        unknown = ~frame["stream"].isin(self.streams)
        if unknown.any():
            raise DataValidationError(f"{label}: unknown stream {sorted(set(frame.loc[unknown, 'stream']))[:5]} at "
                                      f"{describe_rows(np.flatnonzero(unknown))}; streams are {list(self.streams)}")
        frame = frame.assign(day=day.astype(np.int64), count=count)
        if frame.duplicated(["truce_id", "day", "stream"]).any():
            raise DataValidationError(f"{label}: a (truce_id, day, stream) appears twice; give one row each")
        for truce_id, rows in frame.groupby("truce_id", sort=False):
            first = int(rows["day"].min())
            expected = -first * len(self.streams)
            if len(rows) != expected:
                raise DataValidationError(
                    f"{label}: truce {truce_id!r} has {len(rows)} rows for days {first}..-1 x "
                    f"{len(self.streams)} streams, expected {expected}; give every day and stream "
                    f"(0 for a day without events)")
        return replace(self, history=_sorted_counts(frame, self.truces, self.streams))

    # ---- views --------------------------------------------------------------------------
    @property
    def truce_ids(self) -> tuple[str, ...]:
        """Truce ids in table order."""
        return tuple(self.truces["truce_id"])

    @property
    def durations(self) -> np.ndarray:
        """Observation window lengths T_j in days."""
        return self.truces["duration"].to_numpy(dtype=float)

    @cached_property
    def segments(self) -> SegmentTable:
        """Compiled covariate timelines (see :class:`~escalate.data.covariates.SegmentTable`)."""
        return build_segments(self.covariates, self.truce_ids, self.durations, self.streams,
                              self.extra_names)

    @property
    def n_tiers_observed(self) -> int:
        """1 + the highest penalty tier in the data."""
        return int(self.segments.tier.max()) + 1 if self.segments.tier.size else 1

    def event_arrays(self) -> dict[str, np.ndarray]:
        """Kernel inputs: times, stream and truce indices, truce offsets, event segments.

        Prepared once per data set (the arrays are shared between calls: do not modify them).
        """
        return dict(self._event_arrays)

    @cached_property
    def _event_arrays(self) -> dict[str, np.ndarray]:
        truce_index = self.events["truce_id"].map({t: j for j, t in enumerate(self.truce_ids)})
        truce_index = truce_index.to_numpy(dtype=np.int64)
        stream_index = self.events["stream"].map({s: k for k, s in enumerate(self.streams)})
        times = self.events["time"].to_numpy(dtype=float)
        offsets = np.searchsorted(truce_index, np.arange(len(self.truce_ids) + 1)).astype(np.int64)
        return {
            "times": times,
            "streams": stream_index.to_numpy(dtype=np.int64),
            "truce": truce_index,
            "truce_offsets": offsets,
            "segment": self.segments.locate(truce_index, times),
        }

    def daily_arrays(self) -> dict[str, np.ndarray]:
        """Day-resolution kernel inputs: counts[day, K], day offsets per truce, day segments.

        Prepared once per data set (the arrays are shared between calls: do not modify them).
        """
        return dict(self._daily_arrays)

    @cached_property
    def _daily_arrays(self) -> dict[str, np.ndarray]:
        if self.counts is None:
            raise DataValidationError("these data have exact event times; use data.to_daily() first")
        K = len(self.streams)
        matrix = self.counts["count"].to_numpy(dtype=float).reshape(-1, K)
        span = (self.counts["span"].to_numpy(dtype=float).reshape(-1, K) if "span" in self.counts
                else np.ones_like(matrix))
        days_per_truce = np.round(self.durations).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(days_per_truce)]).astype(np.int64)
        truce_index = np.repeat(np.arange(len(self.truce_ids)), days_per_truce)
        day = np.concatenate([np.arange(n, dtype=float) for n in days_per_truce]) if len(days_per_truce) else np.empty(0)
        return {"counts": matrix, "span": span, "day_offsets": offsets, "truce": truce_index,
                "segment": self.segments.locate(truce_index, day)}

    def history_and_days(self) -> dict[str, np.ndarray]:
        """Each truce's history days (``span = 0``) followed by its days: ``counts[row, K]``
        (NaN: a missing day), ``span[row, K]`` (1 a day, n the last day of an n-day report, -1
        a day before it: :func:`escalate.model.kernels.daily_loglik_grad`), ``segment``
        (history rows take the truce's first segment) and ``day_offsets`` per truce. Without
        history, the days alone."""
        return dict(self._history_and_days)

    @cached_property
    def _history_and_days(self) -> dict[str, np.ndarray]:
        days = self._daily_arrays
        K, J = len(self.streams), len(self.truce_ids)
        if self.history is None or not len(self.history):
            return {"counts": days["counts"], "segment": days["segment"], "day_offsets": days["day_offsets"],
                    "span": days["span"]}
        hist = self.history["count"].to_numpy(dtype=float).reshape(-1, K)
        hist_truce = self.history["truce_id"].to_numpy()[::K]
        counts, segment, span, offsets = [], [], [], [0]
        first = self.segments.locate(np.arange(J), np.zeros(J))
        for j, truce_id in enumerate(self.truce_ids):
            h = hist[hist_truce == truce_id]
            lo, hi = days["day_offsets"][j], days["day_offsets"][j + 1]
            counts += [h, days["counts"][lo:hi]]
            segment += [np.full(len(h), first[j], dtype=np.int64), days["segment"][lo:hi]]
            span += [np.zeros((len(h), K)), days["span"][lo:hi]]
            offsets.append(offsets[-1] + len(h) + hi - lo)
        return {"counts": np.ascontiguousarray(np.concatenate(counts)), "segment": np.concatenate(segment),
                "day_offsets": np.asarray(offsets, dtype=np.int64), "span": np.ascontiguousarray(np.concatenate(span))}

    def stream_totals(self) -> pd.Series:
        """Number of events of each stream over all truces."""
        if self.counts is not None:
            return self.counts.groupby("stream")["count"].sum().reindex(list(self.streams), fill_value=0)
        return self.events["stream"].value_counts().reindex(list(self.streams), fill_value=0)

    def observed_rates(self) -> np.ndarray:
        """Events per day of each stream over all truces (for the ``log_observed_rate`` prior)."""
        counts = self.stream_totals()
        exposure = np.full(len(self.streams), max(float(self.durations.sum()), 1e-9))
        if self.counts is not None:  # missing days are not exposure
            seen = self.counts.groupby("stream")["count"].count().reindex(list(self.streams), fill_value=0)
            exposure = np.maximum(seen.to_numpy(dtype=float), 1e-9)
        # half an event keeps the log finite for a stream with no events
        return np.maximum(counts.to_numpy(dtype=float), 0.5) / exposure

    def to_user_clock(self, truce_ids, days) -> pd.Series:
        """Moments on the user's clock (timestamps, or float days) of ``days`` since the start of
        each row's truce: the one conversion back from the internal clock."""
        truce_ids = pd.Series(np.asarray(truce_ids, dtype=object))
        starts = truce_ids.map(self.truces.set_index("truce_id")["start"])
        days = pd.Series(np.asarray(days, dtype=float))
        if self.clock == "datetime":
            return (starts + pd.to_timedelta(days, unit="D")).rename(None)
        return (starts.astype(float) + days).rename(None)

    def covariate_rows(self) -> pd.DataFrame:
        """The covariate timelines as input rows on the user's clock (``start`` instead of
        ``time``): what :meth:`from_frames` takes to rebuild these data."""
        cov = self.covariates.drop(columns="time")
        cov.insert(1, "start", self.to_user_clock(self.covariates["truce_id"], self.covariates["time"]).to_numpy())
        return cov

    def with_streams(self, streams) -> "TruceData":
        """The same data with another stream order (a superset of the streams seen)."""
        streams = tuple(streams)
        if streams == self.streams:
            return self
        unknown = sorted(set(self.streams) - set(streams))
        if unknown:
            raise DataValidationError(
                f"the model lists streams {list(streams)} but the data also has {unknown}; "
                f"add them to the spec's 'streams' or remove them from the data")
        events = _sorted_events(self.events, self.truces, streams)
        counts = self.counts
        if counts is not None:
            extra = pd.DataFrame([(t, d, s, 0.0) for t, n in zip(self.truce_ids, np.round(self.durations).astype(int))
                                  for d in range(n) for s in streams if s not in self.streams],
                                 columns=["truce_id", "day", "stream", "count"])
            counts = _sorted_counts(pd.concat([counts, extra], ignore_index=True), self.truces, streams)
        history = self.history
        if history is not None:
            keys = history[["truce_id", "day"]].drop_duplicates()
            extra = pd.concat([keys.assign(stream=s, count=0.0) for s in streams if s not in self.streams])
            history = _sorted_counts(pd.concat([history, extra], ignore_index=True), self.truces, streams)
        return replace(self, events=events, streams=streams, counts=counts, history=history)

    @property
    def data_hash(self) -> str:
        """sha256 of the canonical content (events, truces, covariates, streams)."""
        h = hashlib.sha256()
        h.update(json.dumps({"streams": self.streams, "resolution": self.resolution}).encode())
        frames = [self.events, self.truces.astype(str), self.covariates,
                  self.counts if self.counts is not None else pd.DataFrame()]
        if self.history is not None:  # data without history keep their hash
            frames.append(self.history)
        for frame in frames:
            h.update(frame.to_csv(index=False, float_format="%.17g").encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        n = int(self.stream_totals().sum())
        return (f"TruceData({len(self.truce_ids)} truces, {len(self.streams)} streams "
                f"{list(self.streams)}, {n} events, resolution={self.resolution!r})")


# ---- helpers ------------------------------------------------------------------------------
def _sources(**tables) -> dict:
    """File provenance: path and sha256 of each table given as a path."""
    out = {}
    for name, source in tables.items():
        if isinstance(source, pd.DataFrame):
            out[name] = {"kind": "DataFrame"}
        else:
            path = Path(source)
            out[name] = {"path": str(path), "sha256": sha256_file(path)}
    return out


def _truce_table(tr, label, time_frames, cov, cov_label) -> tuple[pd.DataFrame, str]:
    require_columns(tr, ["truce_id", "start", "end"], label)
    require_columns(cov, ["truce_id", "start", "verification", "penalty_tier"], cov_label)
    tr = tr.reset_index(drop=True)
    tr["truce_id"] = tr["truce_id"].astype(str)
    check_unique_truce_ids(tr["truce_id"], label)
    frames = {"truces": (tr, "start", label), **time_frames, "covariates": (cov, "start", cov_label)}
    clock = common_clock(frames)
    start = to_clock(tr["start"], clock, "start", label)
    end = to_clock(tr["end"], clock, "end", label)
    duration = days_between(end, start, clock)
    bad = duration <= 0
    if bad.any():
        raise DataValidationError(f"{label}: end is not after start at {describe_rows(np.flatnonzero(bad))}")
    out = pd.DataFrame({"truce_id": tr["truce_id"], "start": start, "end": end, "duration": duration})
    for column in tr.columns:
        if column not in out:
            out[column] = tr[column]
    return out, clock


def _known_truces(frame: pd.DataFrame, truce_table: pd.DataFrame, label: str) -> None:
    unknown = ~frame["truce_id"].isin(truce_table["truce_id"])
    if unknown.any():
        raise DataValidationError(
            f"{label}: unknown truce_id {sorted(set(frame.loc[unknown, 'truce_id']))[:5]} at "
            f"{describe_rows(np.flatnonzero(unknown))}; add them to the truces table or fix the ids")


def _covariate_table(cov, label, truce_table, clock) -> tuple[pd.DataFrame, tuple[str, ...]]:
    cov = cov.reset_index(drop=True)
    cov["truce_id"] = cov["truce_id"].astype(str)
    _known_truces(cov, truce_table, label)
    cov["stream"] = stream_labels(cov["stream"]) if "stream" in cov else ""
    verification = require_finite(cov, "verification", label)
    check_verification(verification, label)
    tier = require_finite(cov, "penalty_tier", label)
    check_penalty_tiers(tier, label)
    extra_names = tuple(c for c in cov.columns if c not in _COVARIATE_KNOWN
                        and pd.api.types.is_numeric_dtype(cov[c]))
    for name in extra_names:
        require_finite(cov, name, label)
    stamps = to_clock(cov["start"], clock, "start", label)
    starts = cov["truce_id"].map(truce_table.set_index("truce_id")["start"])
    durations = cov["truce_id"].map(truce_table.set_index("truce_id")["duration"]).to_numpy()
    time = days_between(stamps, starts, clock)
    before, after = time < 0, time >= durations
    if before.any() or after.any():
        bad = np.flatnonzero(before | after)
        raise DataValidationError(
            f"{label}: {describe_rows(bad)} start before their truce's start or at/after its "
            f"end; a covariate timeline begins at the truce start and changes inside the window")
    table = pd.DataFrame({"truce_id": cov["truce_id"], "time": time, "stream": cov["stream"],
                          "verification": verification, "penalty_tier": tier.astype(np.int64)},
                         index=cov.index)
    for name in extra_names:
        table[name] = cov[name].astype(float)
    return table, extra_names


def _stream_order(streams, ev, cov_table, ev_label, cov_label) -> tuple[str, ...]:
    seen = set(ev["stream"]) | (set(cov_table["stream"]) - {""})
    if streams is None:
        if not seen:
            raise DataValidationError(
                f"{ev_label}: no events and no stream-specific covariates, so the streams are "
                f"unknown; pass streams=[...] (or list them in the spec)")
        return tuple(sorted(seen))
    streams = tuple(str(s) for s in streams)
    for frame, label in ((ev, ev_label), (cov_table, cov_label)):
        unknown = ~frame["stream"].isin(streams + ("",))
        if unknown.any():
            raise DataValidationError(
                f"{label}: unknown stream {sorted(set(frame.loc[unknown, 'stream']))[:5]} at "
                f"{describe_rows(np.flatnonzero(unknown))}; known streams are {list(streams)}")
    return streams


def _sorted_events(ev: pd.DataFrame, truce_table: pd.DataFrame, streams) -> pd.DataFrame:
    order_t = {t: j for j, t in enumerate(truce_table["truce_id"])}
    order_s = {s: k for k, s in enumerate(streams)}
    key = pd.DataFrame({"j": ev["truce_id"].map(order_t), "t": ev["time"], "k": ev["stream"].map(order_s)})
    idx = key.sort_values(["j", "t", "k"], kind="stable").index
    return ev.loc[idx].reset_index(drop=True)


def _sorted_counts(counts: pd.DataFrame, truce_table: pd.DataFrame, streams) -> pd.DataFrame:
    """Long counts ordered by truce (table order), day, then stream (given order)."""
    order_t = {t: j for j, t in enumerate(truce_table["truce_id"])}
    order_s = {s: k for k, s in enumerate(streams)}
    key = pd.DataFrame({"j": counts["truce_id"].map(order_t), "d": counts["day"], "k": counts["stream"].map(order_s)})
    idx = key.sort_values(["j", "d", "k"], kind="stable").index
    columns = ["truce_id", "day", "stream", "count"] + (["span"] if "span" in counts else [])
    out = counts.loc[idx, columns].reset_index(drop=True)
    return out.astype({"day": np.int64, "count": float})
