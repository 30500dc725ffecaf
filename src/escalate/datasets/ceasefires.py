"""The real ceasefire corpus: ETH/PRIO ceasefires joined to UCDP GED dyad-day counts.

``ceasefire_corpus()`` reads ``ceasefires/`` from the data folder (never shipped with
escalate; see :func:`escalate.datasets.data_folder`) and returns a :class:`~escalate.Corpus`:
one truce per ceasefire, coded by the ETH/PRIO coding table, grouped by UCDP conflict, with the
daily fatal-event counts of its GED dyads where its country has a GED file. Every truce left
out of the hazard or without an event series says why (``truces["excluded"]``,
``truces["events"]``); nothing is dropped silently.
"""

from __future__ import annotations

import pandas as pd

from escalate.data.corpus import Corpus
from escalate.datasets.paths import data_folder
from escalate.importers.eth_prio import CITATION, read_eth_prio_ceasefires
from escalate.importers.ged_days import link_ged_dyads, read_ged_dyad_days

CEASEFIRES = "ceasefires"
UCDP_ATTRIBUTION = ("UCDP Georeferenced Event Dataset (GED), CC BY 4.0: Sundberg, R. & Melander, E. (2013), "
                    "Introducing the UCDP Georeferenced Event Dataset, Journal of Peace Research 50(4), 523-532")


def ceasefire_corpus(path=None, *, coding=None, history_days: int = 60, event_window_days: int | None = 365,
                     events: bool = True, value: str = "events") -> Corpus:
    """The ETH/PRIO ceasefires before 2014 as a corpus, with GED event series where linked.

    Parameters
    ----------
    path : path-like, optional
        The ``ceasefires`` folder or a data folder holding it (see :func:`data_folder`).
    coding : CeasefireCoding or path, optional
        The coding table (default the bundled ``eth-prio.toml``).
    history_days : int
        Days before each start whose events excite the truce (default 60).
    event_window_days : int or None
        Days of each truce the violence model sees (its last ones; default 365).
    events : bool
        Join the GED event series (False: outcomes and covariates only).
    value : {"events", "deaths"}
        The stream: fatal events per day, or their deaths (``best``).

    Returns
    -------
    Corpus
        Truce table columns beyond the corpus' own: ``cc``, ``country``, ``conflict``,
        ``start_precision``, ``end_precision``, ``ged_dyads``, ``link`` and ``events`` (why a
        truce has, or lacks, an event series). Static covariates: those of the coding table.
        ``provenance`` carries both citations and the importers' provenance.

    Rules (docs/importers.md): a start known only to the month or year leaves the truce out
    of the hazard (its days at risk are unknown); so does an end before its start. A linked
    truce gets an event series only when its history window and days at risk lie inside its
    GED file's coverage (the days a file covers; outside them no row does not mean no event).
    """
    folder = data_folder(CEASEFIRES, path)
    imported = read_eth_prio_ceasefires(folder / "eth_prio_ceasefires_pre2014.csv", coding)
    coding = imported.coding
    covariates = list(coding.covariates)
    raw = imported.truces
    table = raw[["truce_id", "group", "start", "end", "end_type", "verification", "penalty_tier", *covariates,
                 "cc", "country", "conflict", "start_precision", "end_precision"]].copy()
    table["dyads"] = raw["dyads"].map(lambda d: " ".join(map(str, d)))
    reason = pd.Series("", index=table.index, dtype=object)
    reason[raw["start_precision"] != "day"] = "start known only to the " + raw["start_precision"]
    backwards = raw["end"].notna() & (raw["end"] < raw["start"])
    reason[backwards] = "end before start in the source"
    table.loc[backwards, "end"] = pd.NaT
    table["excluded"] = reason
    provenance = {"dataset": CEASEFIRES, "citations": [CITATION, UCDP_ATTRIBUTION],
                  "ceasefires": imported.provenance}
    corpus = Corpus.from_frames(table, cutoff=imported.cutoff, covariates=covariates, history_days=history_days,
                                event_window_days=event_window_days, provenance=provenance)
    if not events:
        return corpus
    files = {}
    for csv in sorted((folder / "ged").glob("ged_*.csv")):
        days = read_ged_dyad_days(csv, max_date_precision=coding.max_date_precision)
        files[days.country_id] = days
    links = link_ged_dyads(raw, files, coding.crosswalk).set_index("truce_id")
    truces = corpus.truces.set_index("truce_id")
    status, frames = {}, []
    for truce_id, link in links.iterrows():
        row = truces.loc[truce_id]
        if link["link"] != "linked":
            status[truce_id] = link["link"]
            continue
        if row["excluded"] or row["days_at_risk"] == 0:
            status[truce_id] = "not at risk"
            continue
        ged = files[int(raw.set_index("truce_id").loc[truce_id, "cc"])]
        first = row["start"] - pd.Timedelta(days=history_days)
        end = row["start"] + pd.Timedelta(days=int(row["days_at_risk"]))
        if first < ged.first_date or end - pd.Timedelta(days=1) > ged.last_date:
            status[truce_id] = "outside GED coverage"
            continue
        series = ged.daily(link["ged_dyads"], first, end, value=value)
        frames.append(pd.DataFrame({"truce_id": truce_id, "date": series.index, "stream": value,
                                    "count": series.to_numpy()}))
        status[truce_id] = "linked"
    table["ged_dyads"] = table["truce_id"].map(links["ged_dyads"].map(lambda d: " ".join(map(str, d))))
    table["link"] = table["truce_id"].map(links["link"])
    table["events"] = table["truce_id"].map(status)
    provenance["ged"] = {int(cc): days.provenance for cc, days in files.items()}
    provenance["events"] = table["events"].value_counts().to_dict()
    counts = pd.concat(frames, ignore_index=True) if frames else None
    return Corpus.from_frames(table, counts, cutoff=imported.cutoff, covariates=covariates,
                              history_days=history_days, event_window_days=event_window_days, streams=[value],
                              provenance=provenance)
