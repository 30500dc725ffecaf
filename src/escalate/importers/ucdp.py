"""Reader for UCDP Georeferenced Event Dataset (GED) CSV files."""

from __future__ import annotations

import os

import pandas as pd

from escalate.importers.common import (
    SourceSpec,
    assemble,
    check_mapping,
    load_mapping,
    parse_count,
    read_export,
    rows_error,
    to_day,
)
from escalate.importers.mapping import PartyMapping
from escalate.importers.result import ImportResult

UCDP_GED_COLUMNS = (
    "id", "relid", "year", "active_year", "code_status", "type_of_violence", "conflict_dset_id",
    "conflict_new_id", "conflict_name", "dyad_dset_id", "dyad_new_id", "dyad_name", "side_a_dset_id",
    "side_a_new_id", "side_a", "side_b_dset_id", "side_b_new_id", "side_b", "number_of_sources",
    "source_article", "source_office", "source_date", "source_headline", "source_original",
    "where_prec", "where_coordinates", "where_description", "adm_1", "adm_2", "latitude", "longitude",
    "geom_wkt", "priogrid_gid", "country", "country_id", "region", "event_clarity", "date_prec",
    "date_start", "date_end", "deaths_a", "deaths_b", "deaths_civilians", "deaths_unknown", "best",
    "high", "low", "gwnoa", "gwnob",
)

#: type_of_violence codes and the event_type names they become.
VIOLENCE_TYPES = {"1": "state-based", "2": "non-state", "3": "one-sided"}

UCDP_GED = SourceSpec(
    kind="ucdp_ged",
    title="a UCDP GED file",
    columns=UCDP_GED_COLUMNS,
    actor_columns=("side_a", "side_b"),
    default_actor_columns=("side_a",),
    event_types=tuple(VIOLENCE_TYPES.values()),
    has_sub_event_types=False,
    has_multi_day=True,
)


def read_ucdp_ged(path: str | os.PathLike, mapping: PartyMapping | str | os.PathLike) -> ImportResult:
    """Read a UCDP GED CSV file and assign its events to streams.

    Parameters
    ----------
    path : str or path-like
        UCDP GED CSV (UTF-8) with UCDP's column names in the first line.
    mapping : PartyMapping, str or path-like
        The party mapping, or the path of its TOML file.

    Returns
    -------
    ImportResult
        Events (``event_type`` is ``'state-based'``, ``'non-state'`` or ``'one-sided'``,
        ``sub_event_type`` is ``''``, ``fatalities`` is UCDP's ``best``), daily counts per
        stream, unmapped actors and provenance (including ``multi_day``: the policy and the
        number of multi-day events in the file).

    Raises
    ------
    DataValidationError
        If a file is missing, the header row is missing, a required column is missing, a
        date, ``type_of_violence`` or ``best`` cannot be read, ``date_end`` is before
        ``date_start``, or an actor matches more than one stream.
    SpecError
        If the mapping is invalid.

    Notes
    -----
    An event whose ``date_end`` falls on a later day than its ``date_start`` is dated by its
    first day (``options.multi_day = "start"``, the default), by its last day (``"end"``)
    or dropped (``"drop"``). Date filters apply to the date chosen.
    """
    mapping = load_mapping(mapping)
    actor_columns = check_mapping(mapping, UCDP_GED)
    needed = ["type_of_violence", "country", "date_start", "date_end", "best", *actor_columns]
    table = read_export(path, UCDP_GED, needed)[0]
    start, end = (_parse_iso(path, c, table[c]) for c in ("date_start", "date_end"))
    if (reversed_ := end < start).any():
        raise rows_error(path, "date_end", table["date_end"], reversed_, "a date on or after date_start")
    violence = table["type_of_violence"].map(VIOLENCE_TYPES)
    if (bad := violence.isna()).any():
        raise rows_error(path, "type_of_violence", table["type_of_violence"], bad,
                         "1 (state-based), 2 (non-state) or 3 (one-sided)")
    multi_day = end > start
    policy = mapping.multi_day or "start"
    frame = table[["country", *actor_columns]].assign(
        date=end if policy == "end" else start, event_type=violence.astype(str), sub_event_type="",
        fatalities=parse_count(path, "best", table["best"]))
    return assemble(path, UCDP_GED, mapping, actor_columns, frame,
                    extra_filters={"multi_day": ~multi_day} if policy == "drop" else None,
                    extra_provenance={"multi_day": {"policy": policy, "events": int(multi_day.sum())}})


def _parse_iso(path: str | os.PathLike, column: str, values: pd.Series) -> pd.Series:
    """Parse ISO dates, with or without a time part, to midnight of their day."""
    dates = pd.to_datetime(values, format="ISO8601", errors="coerce")
    if (bad := dates.isna()).any():
        raise rows_error(path, column, values, bad, "an ISO date such as 2023-10-08 or 2023-10-08 00:00:00.000")
    return to_day(dates)
