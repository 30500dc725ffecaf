"""A corpus of truces with their outcomes (MODEL.md 6), and the event series of some of them.

:class:`Corpus` holds one row per truce: its start, how and when it ended (``end_type``), the
group it is pooled in (a conflict or dyad), its verification level and penalty tier, and static
covariates (written agreement, mediation, ...). Truces with event data also have daily counts,
from a history window before their start to the end of their days at risk.

Censoring (the rule the hazard's likelihood follows; see docs/model.md, section "The collapse
hazard"):

- ``collapsed`` with an end date D days after the start: at risk on days 0..D, collapsed on D;
- ``expired``, ``replaced`` and ``unknown`` with an end date: survived days 0..D-1, censored
  (they ended for another reason, or for a reason not known, on day D);
- ``holding``: survived every day before the cutoff, censored there;
- ``never_effective``, and ``collapsed`` or ``unknown`` truces without an end date, are left out
  of the hazard, each with its reason in ``truces["excluded"]`` (never silently).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from escalate.data.rules import (
    check_penalty_tiers,
    check_unique_truce_ids,
    check_verification,
)
from escalate.data.tables import (
    read_table,
    require_columns,
    require_finite,
    stream_labels,
    to_clock,
)
from escalate.data.truce_data import TruceData
from escalate.errors import DataValidationError, describe_rows

END_TYPES = ("collapsed", "expired", "replaced", "holding", "unknown", "never_effective")
#: End types whose end date censors the collapse hazard.
CENSORING = ("expired", "replaced", "unknown")
#: End types that end a truce for a reason other than collapse: the competing ends of
#: :meth:`Corpus.other_ends`.
OTHER_ENDS = ("expired", "replaced")
DAY = pd.Timedelta(days=1)


@dataclass(frozen=True, eq=False)
class Corpus:
    """Truces with outcomes, static covariates and groups; daily counts for some.

    Attributes
    ----------
    truces : DataFrame
        One row per truce: ``truce_id``, ``group``, ``start``, ``end`` (NaT when open),
        ``end_type``, ``verification``, ``penalty_tier``, the covariates, any further columns
        given, and the derived ``days_at_risk`` (days in the hazard's likelihood),
        ``collapsed`` (collapse on the last of them), ``excluded`` (why a truce is not in the
        hazard, "" if it is) and ``has_events``.
    covariate_names : tuple of str
        The static covariates (numeric columns) a spec may name.
    cutoff : Timestamp
        End of the data: holding truces are censored here.
    streams : tuple of str
        Streams of the event counts (empty without event data).
    counts : DataFrame or None
        ``truce_id``, ``day`` (days since the start; negative in the history window),
        ``stream``, ``count``, for every day from ``-history_days`` to ``days_at_risk - 1``
        of every truce with events.
    history_days : int
        Days before each start whose events excite the truce (not modelled by its likelihood).
    event_window_days : int or None
        The violence model sees at most this many days of each truce (the hazard's feedback
        term sees all of them); None for all.
    provenance : dict
    """

    truces: pd.DataFrame
    covariate_names: tuple[str, ...]
    cutoff: pd.Timestamp
    streams: tuple[str, ...] = ()
    counts: pd.DataFrame | None = None
    history_days: int = 60
    event_window_days: int | None = 365
    provenance: dict = field(default_factory=dict)

    @classmethod
    def from_frames(cls, truces, counts=None, *, cutoff, covariates=(), history_days: int = 60,
                    event_window_days: int | None = 365, streams=None, provenance=None) -> "Corpus":
        """Build and validate a corpus.

        Parameters
        ----------
        truces : DataFrame or path
            One row per truce: ``truce_id``, ``group``, ``start`` (a date), ``end`` (a date, or
            empty), ``end_type`` (one of :data:`END_TYPES`), ``verification`` (0..1),
            ``penalty_tier`` (whole number >= 0) and the ``covariates``; optional ``excluded``: a
            reason to leave the truce out of the hazard (empty: keep it).
        counts : DataFrame or path, optional
            Daily counts ``truce_id``, ``date``, ``stream``, ``count`` of the truces with event
            data: every day from ``history_days`` before the start to the last day at risk,
            every stream (a day without events is a 0 row). Rows outside those days are
            ignored (their number is in ``provenance["count_rows_outside"]``).
        cutoff : date
            End of the data (holding truces are censored here).
        covariates : sequence of str
            Numeric truce-level columns (static covariates of the hazard).
        history_days : int
            Length of the history window (default 60).
        event_window_days : int or None
            Days of each truce the violence model sees (default 365; the feedback term of the
            hazard sees all days at risk).
        streams : sequence of str, optional
            Stream order (default: sorted stream names of the counts).
        provenance : dict, optional

        Raises :class:`~escalate.errors.DataValidationError` naming the table, the rows and the
        fix for any invalid input.
        """
        table, label = read_table(truces, "truces")
        cutoff = pd.Timestamp(cutoff).normalize()
        if isinstance(history_days, bool) or not isinstance(history_days, int) or history_days < 0:
            raise DataValidationError(f"history_days must be a whole number >= 0, got {history_days!r}")
        if event_window_days is not None and (isinstance(event_window_days, bool) or not isinstance(
                event_window_days, int) or event_window_days < 1):
            raise DataValidationError(f"event_window_days must be a whole number >= 1 or None, got {event_window_days!r}")
        frame = _truce_table(table, label, tuple(covariates), cutoff)
        prov = dict(provenance or {})
        long = None
        stream_order: tuple[str, ...] = ()
        if counts is not None:
            raw, count_label = read_table(counts, "counts")
            long, stream_order, outside = _count_table(raw, count_label, frame, history_days, streams)
            prov["count_rows_outside"] = outside
        frame["has_events"] = frame["truce_id"].isin(set(long["truce_id"]) if long is not None else set())
        return cls(truces=frame, covariate_names=tuple(covariates), cutoff=cutoff, streams=stream_order,
                   counts=long, history_days=history_days, event_window_days=event_window_days, provenance=prov)

    # ---- views ----------------------------------------------------------------------------
    @property
    def truce_ids(self) -> tuple[str, ...]:
        return tuple(self.truces["truce_id"])

    @property
    def at_risk(self) -> pd.DataFrame:
        """The truces in the hazard's likelihood (``days_at_risk > 0``, not excluded)."""
        return self.truces[(self.truces["excluded"] == "") & (self.truces["days_at_risk"] > 0)]

    @property
    def groups(self) -> tuple[str, ...]:
        """Group ids in order of first appearance."""
        return tuple(dict.fromkeys(self.truces["group"]))

    def excluded_counts(self) -> pd.Series:
        """Number of truces left out of the hazard, by reason."""
        reasons = self.truces.loc[self.truces["excluded"] != "", "excluded"]
        return reasons.value_counts()

    def daily_totals(self, truce_id: str) -> np.ndarray:
        """Events per day over all streams of one truce, from day ``-history_days``."""
        return self._daily_totals[truce_id]

    @cached_property
    def _daily_totals(self) -> dict[str, np.ndarray]:
        if self.counts is None:
            return {}
        K = len(self.streams)
        out = {}
        for truce_id, rows in self.counts.groupby("truce_id", sort=False):
            out[truce_id] = rows["count"].to_numpy(dtype=float).reshape(-1, K).sum(axis=1)
        return out

    def event_data(self) -> TruceData | None:
        """The violence model's data: daily counts of the truces with events over their last
        ``event_window_days`` days at risk (all of them for shorter truces), the
        ``history_days`` before that window as its history (a conditional likelihood: they
        excite the window's first days, they are not modelled); verification and tier from
        the truce table. The window ends at each truce's end (or the cutoff), so a forecast
        continues from there. None without event data."""
        return self._event_data

    def event_offsets(self) -> dict[str, int]:
        """Day since the start at which each truce's event window (:meth:`event_data`) begins."""
        rows = self.truces[self.truces["has_events"] & (self.truces["days_at_risk"] > 0)]
        days = rows["days_at_risk"].to_numpy(dtype=np.int64)
        window = days if self.event_window_days is None else np.minimum(days, self.event_window_days)
        return dict(zip(rows["truce_id"], (days - window).tolist()))

    @cached_property
    def _event_data(self) -> TruceData | None:
        if self.counts is None:
            return None
        offsets = self.event_offsets()
        if not offsets:
            return None
        rows = self.truces.set_index("truce_id").loc[list(offsets)]
        days = rows["days_at_risk"].to_numpy(dtype=np.int64) - np.array(list(offsets.values()))
        ids = list(offsets)
        truces = pd.DataFrame({"truce_id": ids, "start": 0.0, "end": days.astype(float),
                               "group": rows["group"].to_numpy()})
        covariates = pd.DataFrame({"truce_id": ids, "start": 0.0, "stream": "",
                                   "verification": rows["verification"].to_numpy(dtype=float),
                                   "penalty_tier": rows["penalty_tier"].to_numpy(dtype=np.int64)})
        counts = self.counts[self.counts["truce_id"].isin(offsets)]
        shifted = counts.assign(day=counts["day"] - counts["truce_id"].map(offsets))
        keep = shifted["day"] >= -self.history_days
        window, history = shifted[keep & (shifted["day"] >= 0)], shifted[keep & (shifted["day"] < 0)]
        data = TruceData.from_daily_counts(window.rename(columns={"day": "date"}), truces, covariates,
                                           streams=self.streams, provenance={"corpus": self.provenance})
        return data.with_history(history) if len(history) else data

    def without_events(self) -> "Corpus":
        """The same corpus without event series (a hazard-only fit)."""
        return replace(self, counts=None, streams=(), truces=self.truces.assign(has_events=False))

    def other_ends(self) -> "Corpus":
        """The corpus with the **competing end** as its outcome: ``collapsed`` marks a truce that
        ended otherwise (:data:`OTHER_ENDS`, expired or replaced) on the last of its
        ``days_at_risk``, and collapse censors. A hazard fitted to it is the hazard of ending
        otherwise, which turns P(declared collapse) into P(collapse before the truce ends
        otherwise) (:meth:`escalate.CorpusFit.forecast`, ``other_ends=``).

        Within a day the other end comes first, as in the collapse hazard's censoring rule
        (module docstring): a truce that expired on day D was not at risk of collapse on D, so
        it is at risk of ending otherwise on days 0..D; one that collapsed on day D had not
        ended otherwise by then (at risk on days 0..D, censored). Holding and unknown ends
        censor as before. Event series are dropped (this hazard has no violence feedback).
        Apply after :meth:`as_of`, which rebuilds the outcome from the end types."""
        t = self.truces
        kept = t["excluded"] == ""
        ended = kept & t["end_type"].isin(OTHER_ENDS)
        days = t["days_at_risk"].to_numpy(dtype=np.int64).copy()
        days[ended.to_numpy()] += 1  # at risk on their end day too
        truces = t.assign(days_at_risk=days, collapsed=ended.to_numpy(), has_events=False)
        provenance = {**self.provenance, "outcome": "ended otherwise (" + ", ".join(OTHER_ENDS) + "); collapse censors"}
        return replace(self, truces=truces, counts=None, streams=(), provenance=provenance)

    def subset(self, truce_ids) -> "Corpus":
        """The corpus restricted to some truces (in their table order)."""
        keep = set(map(str, truce_ids))
        truces = self.truces[self.truces["truce_id"].isin(keep)].reset_index(drop=True)
        counts = None if self.counts is None else self.counts[self.counts["truce_id"].isin(keep)].reset_index(drop=True)
        return replace(self, truces=truces, counts=counts if counts is not None and len(counts) else None,
                       streams=self.streams if counts is not None and len(counts) else ())

    def as_of(self, origin) -> "Corpus":
        """The corpus as known at the start of day ``origin`` (everything dated before it; "data
        through day D" is ``as_of(D + 1 day)``).

        Truces starting on or after the origin are dropped. A truce whose end lies before the
        origin keeps its end and end type; every other one is ``holding`` at the origin (its
        later end, and how it ended, are not known yet) and its counts stop on the day before.
        Static covariates, groups and exclusions are kept; the history window and
        event window are the corpus'. Nothing after the origin reaches the result (the
        backtest's leakage check compares their ``data_hash``)."""
        origin = pd.Timestamp(origin).normalize()
        if origin > self.cutoff:
            raise DataValidationError(f"origin {origin.date()} is after the corpus' cutoff {self.cutoff.date()}")
        t = self.truces[self.truces["start"] < origin]
        if not len(t):
            raise DataValidationError(f"no truce starts before the origin {origin.date()}")
        known = t["end"].notna() & (t["end"] < origin)
        table = t.drop(columns=["days_at_risk", "collapsed", "has_events"]).copy()
        table["end"] = table["end"].where(known, pd.NaT)
        table["end_type"] = table["end_type"].where(known | (table["end_type"] == "never_effective"), "holding")
        counts = None
        if self.counts is not None:
            keep = self.counts[self.counts["truce_id"].isin(set(table["truce_id"]))]
            start = keep["truce_id"].map(t.set_index("truce_id")["start"])
            dates = start + pd.to_timedelta(keep["day"], unit="D")
            keep = keep.assign(date=dates)[dates < origin]
            counts = keep[["truce_id", "date", "stream", "count"]] if len(keep) else None
        provenance = {**self.provenance, "as_of": str(origin.date())}
        return Corpus.from_frames(table, counts, cutoff=origin, covariates=self.covariate_names,
                                  history_days=self.history_days, event_window_days=self.event_window_days,
                                  streams=self.streams or None, provenance=provenance)

    @property
    def data_hash(self) -> str:
        """sha256 of the canonical content."""
        h = hashlib.sha256()
        h.update(json.dumps({"streams": self.streams, "cutoff": str(self.cutoff), "history": self.history_days,
                             "window": self.event_window_days, "covariates": self.covariate_names}).encode())
        for frame in (self.truces.astype(str), self.counts if self.counts is not None else pd.DataFrame()):
            h.update(frame.to_csv(index=False, float_format="%.17g").encode())
        return h.hexdigest()

    def summary(self) -> str:
        """A few lines: truces, groups, end types, what the hazard uses and what it leaves out."""
        t = self.truces
        ends = ", ".join(f"{k} {v}" for k, v in t["end_type"].value_counts().items())
        lines = [f"{len(t)} truces in {len(self.groups)} groups; end types: {ends}",
                 f"in the hazard: {len(self.at_risk)} truces, {int(self.at_risk['days_at_risk'].sum())} "
                 f"truce-days at risk, {int(self.at_risk['collapsed'].sum())} collapses"]
        excluded = self.excluded_counts()
        if len(excluded):
            lines.append("left out: " + "; ".join(f"{n} {reason}" for reason, n in excluded.items()))
        if self.counts is not None:
            lines.append(f"event series: {int(t['has_events'].sum())} truces, streams {list(self.streams)}, "
                         f"history window {self.history_days} days")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Corpus({len(self.truces)} truces, {len(self.groups)} groups, "
                f"{int(self.truces['has_events'].sum())} with events, cutoff {self.cutoff.date()})")


# ---- validation ------------------------------------------------------------------------------
def _truce_table(table: pd.DataFrame, label: str, covariates: tuple[str, ...], cutoff) -> pd.DataFrame:
    require_columns(table, ["truce_id", "group", "start", "end", "end_type", "verification", "penalty_tier",
                            *covariates], label, "A corpus truce table has one row per truce (see escalate.Corpus).")
    table = table.reset_index(drop=True)
    out = table.copy()
    out["truce_id"] = table["truce_id"].astype(str)
    check_unique_truce_ids(out["truce_id"], label)
    group = stream_labels(table["group"])
    if (empty := group == "").any():
        raise DataValidationError(f"{label}: 'group' is empty at {describe_rows(np.flatnonzero(empty))}; give "
                                  f"every truce the conflict or dyad it belongs to (a group of its own is fine)")
    out["group"] = group
    end_type = table["end_type"].astype(str).str.strip()
    if (bad := ~end_type.isin(END_TYPES)).any():
        raise DataValidationError(f"{label}: 'end_type' {sorted(set(end_type[bad]))[:5]} at "
                                  f"{describe_rows(np.flatnonzero(bad))}; use one of {list(END_TYPES)}")
    out["end_type"] = end_type
    out["start"] = to_clock(table["start"], "datetime", "start", label).dt.normalize()
    given = table["end"].notna() & (table["end"].astype(str).str.strip() != "")
    end = pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns]")
    if given.any():
        end[given] = to_clock(table.loc[given, "end"], "datetime", "end", label).dt.normalize()
    out["end"] = end
    if (bad := (out["end"] < out["start"])).any():
        raise DataValidationError(f"{label}: 'end' is before 'start' at {describe_rows(np.flatnonzero(bad))}")
    if (bad := (out["start"] >= cutoff)).any():
        raise DataValidationError(f"{label}: truces start on or after the cutoff {cutoff.date()} at "
                                  f"{describe_rows(np.flatnonzero(bad))}; drop them or move the cutoff")
    if (bad := (out["end"] > cutoff)).any():
        raise DataValidationError(f"{label}: 'end' is after the cutoff {cutoff.date()} at "
                                  f"{describe_rows(np.flatnonzero(bad))}; an end after the data's cutoff "
                                  f"cannot be known: make them holding with an empty end, or move the cutoff")
    verification = require_finite(table, "verification", label)
    check_verification(verification, label)
    tier = require_finite(table, "penalty_tier", label)
    check_penalty_tiers(tier, label)
    out["verification"] = verification
    out["penalty_tier"] = tier.astype(np.int64)
    for name in covariates:
        out[name] = require_finite(table, name, label)
    days, collapsed, excluded = _at_risk(out, cutoff)
    if "excluded" in table:  # the caller's reasons (e.g. a start known only to the month) come first
        given = stream_labels(table["excluded"]).to_numpy(dtype=object)
        excluded = np.where(given != "", given, excluded)
        days = np.where(given != "", 0, days)
        collapsed = collapsed & (given == "")
    out["days_at_risk"], out["collapsed"], out["excluded"] = days, collapsed, excluded
    return out


def _at_risk(frame: pd.DataFrame, cutoff) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days at risk, collapse flag and exclusion reason per truce (the censoring rule above)."""
    n = len(frame)
    days = np.zeros(n, dtype=np.int64)
    collapsed = np.zeros(n, dtype=bool)
    excluded = np.full(n, "", dtype=object)
    span = ((frame["end"] - frame["start"]) / DAY).to_numpy()
    open_span = ((cutoff - frame["start"]) / DAY).to_numpy()
    for i, (kind, has_end) in enumerate(zip(frame["end_type"], frame["end"].notna())):
        if kind == "never_effective":
            excluded[i] = "never effective"
        elif kind == "holding":
            days[i] = int(open_span[i])
        elif kind == "collapsed":
            if has_end:
                days[i], collapsed[i] = int(span[i]) + 1, True
            else:
                excluded[i] = "collapsed without an exact end date"
        elif has_end:  # expired, replaced, unknown with a date: censored on their end day
            days[i] = int(span[i])
        else:
            excluded[i] = f"{kind} without an exact end date"
    return days, collapsed, excluded


def _count_table(raw, label, truces, history_days, streams) -> tuple[pd.DataFrame, tuple[str, ...], int]:
    require_columns(raw, ["truce_id", "date", "stream", "count"], label)
    raw = raw.reset_index(drop=True)
    raw["truce_id"] = raw["truce_id"].astype(str)
    raw["stream"] = stream_labels(raw["stream"])
    known = set(truces["truce_id"])
    if (unknown := ~raw["truce_id"].isin(known)).any():
        raise DataValidationError(f"{label}: unknown truce_id {sorted(set(raw.loc[unknown, 'truce_id']))[:5]} at "
                                  f"{describe_rows(np.flatnonzero(unknown))}; add them to the truce table")
    count = require_finite(raw, "count", label)
    if (bad := (count < 0) | (count != np.round(count))).any():
        raise DataValidationError(f"{label}: 'count' must be a whole number >= 0 at {describe_rows(np.flatnonzero(bad))}")
    date = to_clock(raw["date"], "datetime", "date", label).dt.normalize()
    start = raw["truce_id"].map(truces.set_index("truce_id")["start"])
    day = ((date - start) / DAY).to_numpy().astype(np.int64)
    stream_order = tuple(sorted(set(raw["stream"]))) if streams is None else tuple(streams)
    if (unknown := ~raw["stream"].isin(stream_order)).any():
        raise DataValidationError(f"{label}: unknown stream {sorted(set(raw.loc[unknown, 'stream']))[:5]} at "
                                  f"{describe_rows(np.flatnonzero(unknown))}; streams are {list(stream_order)}")
    at_risk = raw["truce_id"].map(truces.set_index("truce_id")["days_at_risk"]).to_numpy()
    inside = (day >= -history_days) & (day < at_risk)
    long = pd.DataFrame({"truce_id": raw["truce_id"], "day": day, "stream": raw["stream"], "count": count})[inside]
    if long.duplicated(["truce_id", "day", "stream"]).any():
        raise DataValidationError(f"{label}: a (truce_id, date, stream) appears twice; give one row each")
    order_t = {t: j for j, t in enumerate(truces["truce_id"])}
    order_s = {s: k for k, s in enumerate(stream_order)}
    for truce_id, rows in long.groupby("truce_id", sort=False):
        n_days = int(truces.loc[truces["truce_id"] == truce_id, "days_at_risk"].iloc[0]) + history_days
        if len(rows) != n_days * len(stream_order):
            have = set(rows["day"])
            missing = [d for d in range(-history_days, n_days - history_days) if d not in have][:5]
            raise DataValidationError(
                f"{label}: truce {truce_id!r} lacks days (e.g. days {missing} since its start) or streams: "
                f"a truce with event data needs every day from {history_days} days before its start to its "
                f"last day at risk, for every stream {list(stream_order)} (0 for a day without events)")
    key = pd.DataFrame({"j": long["truce_id"].map(order_t), "d": long["day"], "k": long["stream"].map(order_s)})
    long = long.loc[key.sort_values(["j", "d", "k"], kind="stable").index].reset_index(drop=True)
    return long.astype({"day": np.int64, "count": float}), stream_order, int((~inside).sum())
