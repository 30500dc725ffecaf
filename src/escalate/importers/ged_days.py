"""UCDP GED country files as per-dyad daily event counts, and their link to ETH/PRIO ceasefires.

:func:`read_ged_dyad_days` counts one GED file's events per dyad and day;
:func:`link_ged_dyads` says, for each ceasefire, which GED dyads of its country's file hold
its fighting. See ``docs/importers.md`` ("Ceasefire corpora").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from escalate.errors import DataValidationError, EscalateInputError, describe_rows
from escalate.importers.coding import CeasefireCoding
from escalate.importers.common import SourceSpec, parse_count, read_export, rows_error
from escalate.storage import sha256_file

CITATION = ("Sundberg, R. & Melander, E. (2013). Introducing the UCDP Georeferenced Event Dataset. Journal of "
            "Peace Research 50(4), 523-532. UCDP data: CC BY 4.0; cite also the JPR article of the GED version.")
NEEDED = ("dyad_new_id", "conflict_new_id", "date_prec", "date_start", "date_end", "best", "country_id")
VALUES = ("events", "deaths")
LINKS = ("linked", "no_ged_file", "dyad_not_in_file", "no_ucdp_dyad")
GED_DAYS = SourceSpec(kind="ucdp_ged_days", title="a UCDP GED file", columns=NEEDED, actor_columns=(),
                      default_actor_columns=())


@dataclass(frozen=True, eq=False)
class GedDays:
    """One GED file's events counted per dyad and day.

    Attributes
    ----------
    counts : pandas.DataFrame
        ``dyad`` (int64), ``date`` (datetime64[ns], midnight), ``events`` (int64, events that
        day), ``deaths`` (int64, the sum of ``best``): kept events only, days with at least one
        event, sorted by dyad and date.
    first_date, last_date : pandas.Timestamp
        The file's coverage: the first and last ``date_start`` of all its rows (before filtering).
    country_id : int
        The file's one GW country code.
    dropped : dict
        Reason -> number of events left out (``{"date_prec > 2": n}``).
    dyad_names : dict
        Dyad id -> ``dyad_name`` (empty if the file has no such column).
    dyads : tuple of int
        Every ``dyad_new_id`` in the file, kept or not, sorted.
    provenance : dict
        Path, sha256, the filter, event counts and the citation.
    value : str
        The stream :meth:`daily` returns by default: ``"events"`` or ``"deaths"``.
    """

    counts: pd.DataFrame
    first_date: pd.Timestamp
    last_date: pd.Timestamp
    country_id: int
    dropped: dict[str, int]
    dyad_names: dict[int, str]
    dyads: tuple[int, ...]
    provenance: dict[str, Any]
    value: str = "events"

    def daily(self, dyads: int | Iterable[int], start, end, value: str | None = None) -> pd.Series:
        """Per-day counts of the union of ``dyads`` for every day in ``[start, end)``.

        Parameters
        ----------
        dyads : int or iterable of int
            GED dyad ids (``dyad_new_id``); ids absent from the file contribute zeros.
        start, end : date-like
            The first day and the day after the last (the time of day is ignored).
        value : {"events", "deaths"}, optional
            Events per day or the sum of their ``best`` deaths; default :attr:`value`.

        Returns
        -------
        pandas.Series
            int64, indexed by day (``date``), named ``value``. Days without an event row are
            0: within the file's coverage a GED day without a row had no fatal event. Days
            outside ``[first_date, last_date]`` are 0 too; check the coverage before reading
            them as quiet.
        """
        value = self.value if value is None else value
        if value not in VALUES:
            raise EscalateInputError(f"value must be 'events' or 'deaths', not {value!r}")
        start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        if end < start:
            raise EscalateInputError(f"end ({end:%Y-%m-%d}) is before start ({start:%Y-%m-%d}); the window is "
                                     "[start, end)")
        wanted = {int(dyads)} if isinstance(dyads, int) else {int(d) for d in dyads}
        days = pd.date_range(start, end, inclusive="left", name="date", unit="ns")
        rows = self.counts[self.counts["dyad"].isin(wanted)]
        per_day = rows.groupby("date")[value].sum()
        return per_day.reindex(days, fill_value=0).astype("int64").rename(value)


def read_ged_dyad_days(path: str | os.PathLike, *, max_date_precision: int = 2, deaths: bool = False) -> GedDays:
    """Read one UCDP GED country file into daily event counts per dyad.

    Parameters
    ----------
    path : str or path-like
        A GED CSV with its column names in the first line. It needs ``dyad_new_id``,
        ``conflict_new_id``, ``date_prec``, ``date_start``, ``date_end``, ``best`` and
        ``country_id``; other columns (``dyad_name`` is used when present) are ignored.
    max_date_precision : int
        Keep events whose ``date_prec`` is at most this (1 exact day ... 5 within a year).
    deaths : bool
        Make :meth:`GedDays.daily` return deaths rather than event counts by default.
        ``counts`` holds both streams either way.

    Returns
    -------
    GedDays

    Raises
    ------
    DataValidationError
        If the file is missing or has no rows, lacks a column, holds an unreadable date,
        number or ``date_prec``, a ``date_end`` before its ``date_start``, or several
        ``country_id`` values.

    Notes
    -----
    Dates are read from the first 10 characters of ``date_start`` and ``date_end``
    (``1998-12-27``, ``1989-01-01 00:00:00.000`` and ``2009-02-20T00:00:00`` all occur).
    Each kept event is dated by its ``date_start``.
    """
    if type(max_date_precision) is not int or not 1 <= max_date_precision <= 5:
        raise EscalateInputError(f"max_date_precision must be a GED date_prec from 1 to 5, not {max_date_precision!r}")
    names = ["dyad_name"] if "dyad_name" in _header(path) else []
    table = read_export(path, GED_DAYS, [*NEEDED, *names])[0]
    if table.empty:
        raise DataValidationError(f"{path} has a header line but no events; expected {GED_DAYS.title}")
    ids = {c: _whole(path, c, table[c]) for c in ("dyad_new_id", "conflict_new_id", "date_prec", "country_id")}
    if (bad := ~ids["date_prec"].between(1, 5)).any():
        raise rows_error(path, "date_prec", table["date_prec"], bad, "a GED date precision from 1 to 5")
    start, end = (_day(path, c, table[c]) for c in ("date_start", "date_end"))
    if (bad := end < start).any():
        raise rows_error(path, "date_end", table["date_end"], bad, "a date on or after date_start")
    country = _one_country(path, ids["country_id"])
    keep = ids["date_prec"] <= max_date_precision
    frame = pd.DataFrame({"dyad": ids["dyad_new_id"], "date": start, "deaths": parse_count(path, "best", table["best"])})
    counts = (frame[keep].groupby(["dyad", "date"]).agg(events=("deaths", "size"), deaths=("deaths", "sum"))
              .reset_index().astype({"dyad": "int64", "events": "int64", "deaths": "int64"}))
    dyad_names = {}
    if names:
        dyad_names = {int(d): n for d, n in zip(ids["dyad_new_id"], table["dyad_name"], strict=True)}
    dropped = {f"date_prec > {max_date_precision}": int((~keep).sum())}
    provenance = {
        "source": GED_DAYS.kind, "path": os.fspath(path), "sha256": sha256_file(path), "citation": CITATION,
        "filter": f"date_prec <= {max_date_precision}, dated by date_start", "rows_read": len(table),
        "events_kept": int(keep.sum()), "dropped": dropped, "multi_day_kept": int((keep & (end > start)).sum()),
        "conflicts": sorted({int(c) for c in ids["conflict_new_id"]}),
    }
    return GedDays(counts, start.min(), start.max(), country, dropped, dyad_names,
                   tuple(sorted({int(d) for d in ids["dyad_new_id"]})), provenance, "deaths" if deaths else "events")


def _header(path) -> list[str]:
    """The file's column names, or [] if it cannot be read (read_export then says why)."""
    try:
        return list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
    except (OSError, ValueError, UnicodeDecodeError):
        return []


def _whole(path, column: str, values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    if (bad := numbers.isna() | (numbers % 1 != 0)).any():
        raise rows_error(path, column, values, bad, "a whole number")
    return numbers.astype("int64")


def _day(path, column: str, values: pd.Series) -> pd.Series:
    """The day of each value from its first 10 characters (YYYY-MM-DD), at midnight."""
    days = pd.to_datetime(values.str[:10], format="%Y-%m-%d", errors="coerce")
    if (bad := days.isna()).any():
        raise rows_error(path, column, values, bad, "a date starting YYYY-MM-DD, such as 1998-12-27, "
                         "1989-01-01 00:00:00.000 or 2009-02-20T00:00:00")
    return days.astype("datetime64[ns]")


def _one_country(path, country: pd.Series) -> int:
    found = list(dict.fromkeys(country))
    if len(found) > 1:
        where = "; ".join(f"{c} in {describe_rows(country.index[(country == c).to_numpy()], limit=3)}"
                          for c in found[:4])
        raise DataValidationError(f"{path}: country_id holds several countries ({where}); a GED country file "
                                  "holds one country: split the file by country_id and read each part")
    return int(found[0])


def link_ged_dyads(truces: pd.DataFrame, ged_files: Mapping[int, GedDays],
                   crosswalk: Mapping[int, int] | None = None) -> pd.DataFrame:
    """Which GED dyads of its country's file each ceasefire links to.

    Parameters
    ----------
    truces : pandas.DataFrame
        :attr:`CeasefireImport.truces <escalate.importers.eth_prio.CeasefireImport.truces>`
        (needs ``truce_id``, ``cc``, ``dyads``).
    ged_files : mapping
        GW country code -> the :class:`GedDays` of that country's file.
    crosswalk : mapping, optional
        Ceasefire dyad -> GED dyad where the ids differ; default the bundled coding's
        ``[ged] crosswalk``.

    Returns
    -------
    pandas.DataFrame
        One row per truce, in order: ``truce_id``, ``ged_dyads`` (sorted tuple of the
        truce's dyads, after the crosswalk, that occur in its country's file) and ``link``:
        ``"linked"``, ``"no_ged_file"`` (no file for its ``cc``), ``"no_ucdp_dyad"`` (no
        dyad other than -1) or ``"dyad_not_in_file"`` (dyads, none of them in the file).
    """
    if missing := [c for c in ("truce_id", "cc", "dyads") if c not in truces.columns]:
        raise DataValidationError(f"truces lack the column{'s' * (len(missing) > 1)} {', '.join(missing)}; pass "
                                  "CeasefireImport.truces")
    crosswalk = CeasefireCoding.bundled().crosswalk if crosswalk is None else crosswalk
    crosswalk = {int(k): int(v) for k, v in crosswalk.items()}
    in_file = {}
    for cc, days in ged_files.items():
        if days.country_id != int(cc):
            raise DataValidationError(f"ged_files[{cc}] is {days.provenance['path']}, a file of country_id "
                                      f"{days.country_id}; key each GedDays by its country_id")
        in_file[int(cc)] = set(days.dyads)
    rows = []
    for truce, cc, dyads in zip(truces["truce_id"], truces["cc"], truces["dyads"], strict=True):
        mapped = {crosswalk.get(int(d), int(d)) for d in dyads}
        found = tuple(sorted(mapped & in_file.get(int(cc), set())))
        link = ("no_ged_file" if int(cc) not in in_file else "no_ucdp_dyad" if not mapped
                else "linked" if found else "dyad_not_in_file")
        rows.append((truce, found, link))
    return pd.DataFrame(rows, columns=["truce_id", "ged_dyads", "link"]).astype({"truce_id": str, "link": str})
