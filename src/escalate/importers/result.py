"""The result of an import: events, daily counts, unmapped actors and provenance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from escalate.data.truce_data import TruceData

_SOURCE_TITLES = {"acled": "ACLED", "ucdp_ged": "UCDP GED"}
_REPORT_TOP = 10


@dataclass(frozen=True, eq=False)
class ImportResult:
    """Events read from a conflict-event file and assigned to streams.

    Attributes
    ----------
    events : pandas.DataFrame
        One row per kept event and stream: ``date`` (datetime64[ns], midnight), ``stream``,
        ``actor`` (the name that matched), ``event_type``, ``sub_event_type``, ``country``,
        ``fatalities`` (int64) and ``source_row`` (1-based row below the file's header line).
        Sorted by date, stream (mapping order) and source row.
    counts : pandas.DataFrame
        Daily counts in long form: ``date``, ``stream``, ``count`` (int64), one row per
        (day, stream) with at least one event, sorted by date then stream (mapping order).
    unmapped : pandas.DataFrame
        ``actor``, ``events``: names in the actor columns of rows that passed the filters
        but match no stream, with the number of such rows; most frequent first.
    provenance : dict
        JSON-serialisable record of the source file (path, sha256), row accounting, the
        mapping and source-specific choices (date format, multi-day handling).
    streams : tuple of str
        Every stream of the mapping in mapping order, including streams without events.
    """

    events: pd.DataFrame
    counts: pd.DataFrame
    unmapped: pd.DataFrame
    provenance: dict[str, Any]
    streams: tuple[str, ...]

    def to_truce_data(self, truces, covariates, *, fill_missing=0):
        """Day-resolution :class:`~escalate.TruceData` of these counts, with this import's provenance.

        Parameters
        ----------
        truces, covariates : DataFrame or path
            The truce calendar and covariate timelines (dates on the same clock as the events).
        fill_missing : None or 0
            Default 0: a day without an imported event had no event (the importer lists only
            days with events). Pass None to require every day explicitly.
        """
        return TruceData.from_daily_counts(self.counts, truces, covariates, fill_missing=fill_missing,
                                           streams=list(self.streams), provenance={"import": self.provenance})

    def report(self) -> str:
        """Return a short human-readable summary of the import.

        Returns
        -------
        str
            Source file and hash, row accounting, events per stream, the date range,
            multi-day handling (UCDP GED) and the unmapped-actor report (number of names and
            the 10 most frequent).
        """
        p = self.provenance
        title = _SOURCE_TITLES.get(p["source"], p["source"])
        filtered = sum(p["filtered_out"].values())
        by_filter = ", ".join(f"{k} {v}" for k, v in p["filtered_out"].items() if v)
        lines = [
            f"{title} import of {p['path']} (sha256 {p['sha256'][:12]}…)",
            (f"  rows read {p['rows_read']}, kept {p['rows_kept']}, "
             f"filtered out {filtered}{f' ({by_filter})' if by_filter else ''}, "
             f"matching no stream {p['rows_unmapped']}"),
        ]
        per_stream = self.events["stream"].value_counts()
        lines.append("  events per stream: " + ", ".join(f"{s} {int(per_stream.get(s, 0))}" for s in self.streams))
        if len(self.counts):
            first, last = self.counts["date"].iloc[[0, -1]].dt.strftime("%Y-%m-%d")
            lines.append(f"  {self.counts['date'].nunique()} days with events, {first} to {last}")
        if "multi_day" in p:
            how = {"start": "dated by their first day", "end": "dated by their last day", "drop": "dropped"}
            md = p["multi_day"]
            lines.append(f"  multi-day events: {md['events']} ({how[md['policy']]})")
        for key, values in p.get("filter_values_not_found", {}).items():
            lines.append(f"  filters.{key} values not found in the file: {', '.join(map(repr, values))}")
        if self.unmapped.empty:
            lines.append("  unmapped actors: none")
        else:
            n = len(self.unmapped)
            lines.append(f"  unmapped actors: {n} name{'s' * (n != 1)}"
                         f"{f' (the {_REPORT_TOP} most frequent shown)' if n > _REPORT_TOP else ''}:")
            lines += [f"    {row.events:>6}  {row.actor}" for row in self.unmapped.head(_REPORT_TOP).itertuples()]
        return "\n".join(lines)
