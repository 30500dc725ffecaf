"""Data sets: a synthetic set the project simulates itself, and real data read at run time.

:func:`synthetic` is embedded: four truces simulated from a known truth (:data:`SYNTHETIC_TRUTH`),
the default of ``make demo``. Real data sets are **not shipped** with the package: they are read
from a data folder (the ``israel-hezbollah/`` folder's README there gives the source, the
derivation and the attribution that must travel with any copy), found by :func:`data_folder`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from escalate.data.tables import read_table
from escalate.data.truce_data import TruceData
from escalate.datasets.ceasefires import ceasefire_corpus
from escalate.datasets.paths import DATA_ENV, data_folder
from escalate.model.simulate import simulate

#: Folder name of the real example in the data folder.
__all__ = ["ACLED_ATTRIBUTION", "DATA_ENV", "DailyFrames", "ceasefire_corpus", "data_folder", "israel_hezbollah",
           "israel_hezbollah_daily", "israel_hezbollah_readme", "synthetic", "synthetic_tables"]

ISRAEL_HEZBOLLAH = "israel-hezbollah"

#: Attribution that must accompany the Israel-Hezbollah data wherever it goes.
ACLED_ATTRIBUTION = (
    "Israel-Hezbollah daily strike counts derived from data of the Armed Conflict Location & "
    "Event Data Project (ACLED), https://acleddata.com; daily aggregation published in "
    "loTioPerez/Practica_1_MiV (output/dades_filtrades.csv, commit 63a2e357). Aggregated counts, "
    "not ACLED's raw rows. Truce calendar and covariate coding: one analyst's judgement calls."
)

#: The parameters :func:`synthetic` simulates from (streams ``state``, ``nonstate``; tiers 0..2).
SYNTHETIC_TRUTH: dict[str, np.ndarray | float] = {
    "mu_log": np.log([1.6, 0.8]),
    "truce_effect": np.array([[0.2, -0.1], [-0.15, 0.1], [0.05, 0.15], [-0.1, -0.15]]),
    "mu_verification": -0.5,
    "mu_tier": np.array([-0.2, -0.4]),
    "branching": np.array([[0.35, 0.15], [0.30, 0.25]]),
    "excite_verification_self": -0.2,
    "excite_verification_cross": -1.0,
    "excite_tier": np.array([-0.2, -0.5]),
    "decay": 0.7,
}
SYNTHETIC_STREAMS = ("state", "nonstate")
SYNTHETIC_SEED = 20261126


def synthetic_tables(verification_change_day: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Truces and covariates of the synthetic set: four 180-day truces on a date clock.

    Verification 0.1, 0.4, 0.7 and 0.9 (one level per truce); penalty tiers 0..2 that change
    inside the windows and differ between the parties. With ``verification_change_day``,
    verification also changes inside every truce on that day (0.1 -> 0.4, 0.4 -> 0.7,
    0.7 -> 1.0, 0.9 -> 0.3), which separates its baseline effect from the truce effects.
    """
    starts = pd.to_datetime(["2021-01-01", "2021-09-01", "2022-05-01", "2023-01-01"])
    truces = pd.DataFrame({"truce_id": ["alpha", "bravo", "charlie", "delta"], "start": starts,
                           "end": starts + pd.Timedelta(days=180)})
    rows = [  # (truce, day, stream, verification, tier)
        ("alpha", 0, "", 0.1, 0),
        ("bravo", 0, "state", 0.4, 0), ("bravo", 0, "nonstate", 0.4, 1),
        ("bravo", 60, "state", 0.4, 1),
        ("charlie", 0, "", 0.7, 1), ("charlie", 90, "nonstate", 0.7, 2),
        ("delta", 0, "state", 0.9, 2), ("delta", 0, "nonstate", 0.9, 0),
        ("delta", 45, "nonstate", 0.9, 2),
    ]
    if verification_change_day is not None:
        change = {0.1: 0.4, 0.4: 0.7, 0.7: 1.0, 0.9: 0.3}
        for truce_id, level in (("alpha", 0.1), ("bravo", 0.4), ("charlie", 0.7), ("delta", 0.9)):
            tiers = {}
            for r in rows:
                if r[0] == truce_id and r[1] <= verification_change_day:
                    for stream in (SYNTHETIC_STREAMS if r[2] == "" else (r[2],)):
                        tiers[stream] = r[4]
            rows += [(truce_id, verification_change_day, stream, change[level], tiers[stream])
                     for stream in SYNTHETIC_STREAMS]
    start_of = dict(zip(truces["truce_id"], truces["start"]))
    covariates = pd.DataFrame({
        "truce_id": [r[0] for r in rows],
        "start": [start_of[r[0]] + pd.Timedelta(days=r[1]) for r in rows],
        "stream": [r[2] for r in rows],
        "verification": [r[3] for r in rows],
        "penalty_tier": [r[4] for r in rows],
    })
    return truces, covariates


def synthetic(seed: int = SYNTHETIC_SEED) -> TruceData:
    """Exact-time synthetic data simulated from :data:`SYNTHETIC_TRUTH` (about 2,000 events).

    The true parameters are also in ``data.provenance["simulated"]["params"]``.
    """
    truces, covariates = synthetic_tables()
    return simulate(SYNTHETIC_TRUTH, truces, covariates, SYNTHETIC_STREAMS, seed=seed)


class DailyFrames(NamedTuple):
    """Raw frames of a day-dated data set, as read from its CSV files."""

    counts: pd.DataFrame
    truces: pd.DataFrame
    covariates: pd.DataFrame
    attribution: str


def israel_hezbollah_daily(path=None) -> DailyFrames:
    """Israel-Hezbollah daily strike counts 2023-10-08 .. 2025-09-14, with truces and covariates.

    ``counts`` is wide (``date`` plus one column per count definition, see the README);
    ``truces`` and ``covariates`` are the coded truce calendar. Read from the data folder (see
    :func:`data_folder` for ``path``). Keep ``attribution`` with any copy.
    """
    folder = data_folder(ISRAEL_HEZBOLLAH, path)
    counts, _ = read_table(folder / "daily_strikes.csv", "counts")
    counts["date"] = pd.to_datetime(counts["date"])
    truces, _ = read_table(folder / "truces.csv", "truces")
    covariates, _ = read_table(folder / "covariates.csv", "covariates")
    return DailyFrames(counts, truces, covariates, ACLED_ATTRIBUTION)


def israel_hezbollah_readme(path=None) -> str:
    """The data set's README: source, derivation, attribution, caveats."""
    return (data_folder(ISRAEL_HEZBOLLAH, path) / "README.md").read_text(encoding="utf-8")


#: Count columns of daily_strikes.csv used as the two streams: strikes located in Israel or
#: Lebanon (the front the truces cover); the "_sy" columns add Syria, a separate theatre.
ISRAEL_HEZBOLLAH_STREAMS = {"israel": "israel_il_lb", "hezbollah": "hezbollah_il_lb"}


def israel_hezbollah(path=None) -> TruceData:
    """The real example at day resolution: both truces, with the coded covariates.

    Streams ``israel`` and ``hezbollah`` (ACLED air/drone strikes and shelling/artillery/missile
    attacks located in Israel or Lebanon, by the striking side); truces ``gaza-pause-2023``
    (7 days) and ``lebanon-cessation-2024`` (292 days, to the end of the data on 2025-09-14).
    Days outside the truces (open hostilities) are not part of any truce window. The
    attribution travels in ``data.provenance["attribution"]``. Read from the data folder (see
    :func:`data_folder` for ``path``).
    """
    frames = israel_hezbollah_daily(path)
    wide = frames.counts[["date", *ISRAEL_HEZBOLLAH_STREAMS.values()]].rename(
        columns={v: k for k, v in ISRAEL_HEZBOLLAH_STREAMS.items()})
    provenance = {"dataset": "israel-hezbollah", "attribution": frames.attribution,
                  "streams": {k: f"daily_strikes.csv column {v}" for k, v in ISRAEL_HEZBOLLAH_STREAMS.items()}}
    return TruceData.from_daily_counts(wide, frames.truces, frames.covariates,
                                       streams=list(ISRAEL_HEZBOLLAH_STREAMS), provenance=provenance)
