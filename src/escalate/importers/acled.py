"""Reader for ACLED export CSV files (acleddata.com exports and their HDX copies)."""

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

ACLED_COLUMNS = (
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3",
    "location", "latitude", "longitude", "geo_precision", "source", "source_scale", "notes",
    "fatalities", "tags", "timestamp",
)

#: event_date formats in order of preference, with an example of each.
DATE_FORMATS = {
    "%Y-%m-%d": "2023-10-08",
    "%d %B %Y": "08 October 2023",
    "%d-%b-%y": "8-Oct-23",
    "%d/%m/%Y": "08/10/2023 (day/month/year only)",
}

ACLED = SourceSpec(
    kind="acled",
    title="an ACLED export",
    columns=ACLED_COLUMNS,
    actor_columns=("actor1", "actor2", "assoc_actor_1", "assoc_actor_2"),
    default_actor_columns=("actor1",),
    list_columns=("assoc_actor_1", "assoc_actor_2"),
)


def read_acled(path: str | os.PathLike, mapping: PartyMapping | str | os.PathLike) -> ImportResult:
    """Read an ACLED export CSV and assign its events to streams.

    Parameters
    ----------
    path : str or path-like
        ACLED export CSV (UTF-8), with ACLED's column names in the first line. A second
        line of HXL hashtags, as in the HDX copies, is detected and skipped.
    mapping : PartyMapping, str or path-like
        The party mapping, or the path of its TOML file.

    Returns
    -------
    ImportResult
        Events, daily counts per stream, unmapped actors and provenance (including the
        detected ``date_format`` and ``hxl_row_skipped``).

    Raises
    ------
    DataValidationError
        If a file is missing, a required column is missing, an ``event_date`` cannot be
        read with the file's date format, ``fatalities`` is not a whole number, or an actor
        matches more than one stream.
    SpecError
        If the mapping is invalid.

    Notes
    -----
    ``event_date`` may be written as ``2023-10-08``, ``08 October 2023``, ``8-Oct-23`` or
    ``08/10/2023`` (day/month/year); one format is detected per file. Blank
    ``fatalities`` are read as 0.
    """
    mapping = load_mapping(mapping)
    actor_columns = check_mapping(mapping, ACLED)
    needed = ["event_date", "event_type", "sub_event_type", "country", "fatalities", *actor_columns]
    table, hxl = read_export(path, ACLED, needed)
    dates, date_format = _parse_event_dates(path, table["event_date"])
    frame = table[["event_type", "sub_event_type", "country", *actor_columns]].assign(
        date=dates, fatalities=parse_count(path, "fatalities", table["fatalities"]))
    return assemble(path, ACLED, mapping, actor_columns, frame,
                    extra_provenance={"date_format": date_format, "hxl_row_skipped": hxl})


def _parse_event_dates(path: str | os.PathLike, values: pd.Series) -> tuple[pd.Series, str]:
    """Parse ``event_date`` with the first format that reads every row."""
    parsed = {fmt: pd.to_datetime(values, format=fmt, errors="coerce") for fmt in DATE_FORMATS}
    for fmt, dates in parsed.items():
        if dates.notna().all():
            return to_day(dates), fmt
    best = max(parsed, key=lambda fmt: parsed[fmt].notna().sum())
    formats = "; ".join(f"{fmt} (e.g. {example})" for fmt, example in DATE_FORMATS.items())
    raise rows_error(path, "event_date", values, parsed[best].isna(),
                     f"one date format for the whole file (most rows use {best}); supported formats: "
                     f"{formats}. Month/day/year dates are not supported")
