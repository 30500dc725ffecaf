"""Reader for the ETH/PRIO Civil Conflict Ceasefire dataset: one coded row per ceasefire.

The source file has one row per actor of a ceasefire (``uniq_id``). The reader merges them
(every field from the first actor row, except the dyads and actor names, which are pooled),
lists where the rows disagree, and turns the source codes into end types, a verification
share, a penalty tier and static covariates through a **coding table** (TOML; the bundled
default is ``codings/eth-prio.toml``, its choices argued there and in ``docs/importers.md``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from escalate.data.corpus import END_TYPES
from escalate.errors import DataValidationError, describe_rows
from escalate.importers.coding import (
    DATE_PARTS,
    HEAD_COLUMNS,
    REQUIRED_COLUMNS,
    TAIL_COLUMNS,
    CeasefireCoding,
    CodeTable,
    Correction,
    load_coding,
)
from escalate.importers.common import SourceSpec, read_export, rows_error
from escalate.storage import sha256_file

CITATION = ("Clayton, G., Nygård, H. M., Strand, H., Rustad, S. A., Wiehler, C., Sagård, T., Landsverk, P., "
            "Ryland, R., Sticher, V., Wink, E. & Bara, C. (2022). Introducing the ETH/PRIO Civil Conflict "
            "Ceasefire Dataset. Journal of Conflict Resolution. doi:10.1177/00220027221129195")
FIRST_ROW_RULE = "first actor row"

DISAGREEMENT_COLUMNS = ("truce_id", "column", "values", "rule")
INTEGER_COLUMNS = ("cc", "uniq_id", *(c for parts in DATE_PARTS.values() for c in parts))
ETH_PRIO = SourceSpec(kind="eth_prio", title="an ETH/PRIO ceasefire file", columns=REQUIRED_COLUMNS,
                      actor_columns=(), default_actor_columns=())


@dataclass(frozen=True, eq=False)
class CeasefireImport:
    """Ceasefires read from an ETH/PRIO file, one coded row each.

    Attributes
    ----------
    truces : pandas.DataFrame
        One row per ceasefire in file order; the columns are listed in ``docs/importers.md``.
    disagreements : pandas.DataFrame
        ``truce_id``, ``column``, ``values`` (tuple of the distinct values in file order),
        ``rule`` (``"first actor row"``): where actor rows of one ceasefire differ.
    cutoff : pandas.Timestamp
        Holding truces are observed until this day.
    coding : CeasefireCoding
        The coding used.
    provenance : dict
        JSON-serialisable record of the file, the coding and the counts.
    """

    truces: pd.DataFrame
    disagreements: pd.DataFrame
    cutoff: pd.Timestamp
    coding: CeasefireCoding
    provenance: dict[str, Any]

    def summary(self) -> str:
        """A few lines for people: truces, countries, end types, disagreements."""
        p, t = self.provenance, self.truces
        ends = ", ".join(f"{k} {v:,}" for k, v in sorted(p["end_types"].items(), key=lambda kv: -kv[1]))
        by_column = ", ".join(f"{k} {v}" for k, v in p["disagreements"].items()) or "none"
        first, last = t["start"].min(), t["start"].max()
        return "\n".join([
            f"ETH/PRIO ceasefires from {p['path']} (sha256 {p['sha256'][:12]}…), coding {p['coding']}",
            (f"  {p['truces']:,} truces ({p['actor_rows']:,} actor rows) in {p['countries']} countries, "
             f"starts {first:%Y-%m-%d} .. {last:%Y-%m-%d}; holding truces observed to {self.cutoff:%Y-%m-%d}"),
            f"  end types: {ends}",
            f"  start precision: {_counts(t['start_precision'])}; end precision: {_counts(t['end_precision'])}",
            (f"  disagreements between actor rows ({FIRST_ROW_RULE} kept): {len(self.disagreements)} in "
             f"{self.disagreements['truce_id'].nunique()} truces ({by_column})"),
        ])


def _counts(values: pd.Series) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in values.value_counts().items())


def read_eth_prio_ceasefires(path: str | os.PathLike,
                             coding: CeasefireCoding | str | os.PathLike | None = None) -> CeasefireImport:
    """Read the ETH/PRIO Civil Conflict Ceasefire file into one coded row per ceasefire.

    Parameters
    ----------
    path : str or path-like
        The ceasefire CSV (UTF-8, the dataset's column names in the first line, one row per
        actor of a ceasefire).
    coding : CeasefireCoding, str, path-like or None
        The coding table; ``None`` uses the bundled ``codings/eth-prio.toml``.

    Returns
    -------
    CeasefireImport

    Raises
    ------
    DataValidationError
        If the file is missing or empty, lacks a column, holds a date that does not exist,
        a number that is not one, or a code the coding does not map.
    SpecError
        If the coding file is invalid.

    Notes
    -----
    Actor rows are merged per ``uniq_id``: every field comes from the first actor row in
    file order, except ``dyads`` (the sorted union of the rows' ``ucdp_dyad`` other than -1)
    and ``actors`` (every row's ``actor_name``, ``"; "``-joined). Rows that disagree in
    start, end, ``ended``, ``ucdp_acd_id``, ``fixed_time`` or a coded column are listed in
    ``disagreements``.
    """
    coding = load_coding(coding)
    needed = list(dict.fromkeys([*REQUIRED_COLUMNS, *(t.column for t in coding.tables)]))
    table = read_export(path, ETH_PRIO, needed)[0]
    if table.empty:
        raise DataValidationError(f"{path} has a header line but no rows; expected {ETH_PRIO.title} with one "
                                  "row per actor of each ceasefire")
    table, corrected = _correct(table, coding.corrections)
    number = {c: _integers(path, c, table[c]) for c in INTEGER_COLUMNS}
    number |= {c: _integers(path, c, table[c], blank=-1) for c in ("ucdp_acd_id", "ucdp_dyad")}
    coded = {t.key: _decode(path, table[t.column], t, coding) for t in coding.tables}
    effective = number["cf_effect_yr"] > 0
    parts = [number[e].where(effective, number[d]) for e, d in zip(DATE_PARTS["effective"], DATE_PARTS["declared"])]
    start, start_precision = _dates(path, "the start (cf_effect_*, or cf_dec_* where cf_effect_yr is not a year)",
                                    *parts)
    if (bad := start_precision == "none").any():
        raise rows_error(path, "cf_dec_yr", table["cf_dec_yr"], bad, "a year: neither cf_effect_yr nor cf_dec_yr "
                         "is a year, so the ceasefire cannot be placed in time; add its year or remove the row")
    end, end_precision = _dates(path, "end_yr/end_month/end_day", *(number[c] for c in DATE_PARTS["end"]))
    conflict = number["ucdp_acd_id"].astype(str).where(number["ucdp_acd_id"] != -1, "")
    rows = pd.DataFrame({
        "truce_id": number["uniq_id"].astype(str), "cc": number["cc"], "country": table["location"],
        "conflict": conflict,
        "group": ("conflict:" + conflict).where(conflict != "", "country:" + number["cc"].astype(str)),
        "start": start, "start_source": np.where(effective, "effective", "declared"),
        "start_precision": start_precision,
        "end": end.where(end_precision == "day"), "end_precision": end_precision,
        "end_type": coded["end_type"], "verification": coded["verification.codes"].astype(float),
        "penalty_tier": coded["penalty_tier.codes"].astype("int64"),
        **{name: coded[t.key].astype(float) for name, t in coding.covariates.items()},
        "fixed_time": _fixed_time(table["fixed_time"]),
    })
    compare = {"start": _date_text(start, start_precision) + " (" + rows["start_source"] + ")",
               "end": _date_text(end, end_precision), "ended": table["ended"],
               "ucdp_acd_id": table["ucdp_acd_id"], "fixed_time": table["fixed_time"],
               **{t.column: table[t.column] for t in coding.tables}}
    truces = _merge(rows, number["ucdp_dyad"], table["actor_name"], list(coding.covariates))
    disagreements = _disagreements(rows["truce_id"], compare)
    provenance = _provenance(path, coding, table, rows, truces, disagreements) | {"corrections": corrected}
    return CeasefireImport(truces, disagreements, coding.cutoff, coding, provenance)


def _correct(table: pd.DataFrame, corrections: tuple[Correction, ...]) -> tuple[pd.DataFrame, list[dict]]:
    """Apply the coding's corrections; return the table and what was changed (for the provenance)."""
    table, applied = table.copy(), []
    for c in corrections:
        rows = table.index[(table["uniq_id"] == c.truce_id).to_numpy()]
        applied.append({"truce_id": c.truce_id, "column": c.column, "to": c.value, "reason": c.reason,
                        "from": list(dict.fromkeys(table.loc[rows, c.column])), "rows": len(rows)})
        table.loc[rows, c.column] = c.value
    return table, applied


def _integers(path, column: str, values: pd.Series, blank: int | None = None) -> pd.Series:
    """Whole numbers (``blank`` for empty cells where given); anything else names the rows."""
    if blank is not None:
        values = values.mask(values == "", str(blank))
    numbers = pd.to_numeric(values, errors="coerce")
    if (bad := numbers.isna() | (numbers % 1 != 0)).any():
        raise rows_error(path, column, values, bad, "a whole number (-1 for unknown)")
    return numbers.astype("int64")


def _decode(path, values: pd.Series, table: CodeTable, coding: CeasefireCoding) -> pd.Series:
    """Map a column's codes through ``table``; a code the table lacks names the column, code and rows."""
    if (bad := ~values.isin(list(table.codes))).any():
        unknown = list(dict.fromkeys(values[bad]))
        raise DataValidationError(
            f"{path}: column {table.column} holds the code{'s' * (len(unknown) > 1)} "
            f"{', '.join(map(repr, unknown))} in {describe_rows(values.index[bad.to_numpy()])}, which "
            f"{coding.label} does not map (it maps {', '.join(map(repr, table.codes))}); add "
            f"{'them' if len(unknown) > 1 else 'it'} to [{table.key}] in {coding.label}, or correct the file")
    return values.map(table.codes)


def _dates(path, label: str, year: pd.Series, month: pd.Series, day: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Timestamps (day 1 / January 1 where unknown) and their precision: day, month, year or none."""
    precision = pd.Series(np.select([(year > 0) & (month > 0) & (day > 0), (year > 0) & (month > 0), year > 0],
                                    ["day", "month", "year"], "none"), index=year.index)
    known = precision != "none"
    frame = pd.DataFrame({"year": year.where(known, 2000), "month": month.where(month > 0, 1),
                          "day": day.where((month > 0) & (day > 0), 1)})
    stamps = pd.to_datetime(frame, errors="coerce").astype("datetime64[ns]")
    if (bad := (known & stamps.isna()) | (year < -1) | (month < -1) | (day < -1)).any():
        text = year.astype(str) + "-" + month.astype(str) + "-" + day.astype(str)
        raise rows_error(path, label, text, bad, "a date that exists (year-month-day; -1 unknown, 0 none), "
                         "not e.g. a 31 February or a 13th month; correct the date parts")
    return stamps.where(known), precision


def _date_text(stamps: pd.Series, precision: pd.Series) -> pd.Series:
    """``1994-01-12``, ``1994-01``, ``1994`` or ``none``, by precision (for disagreements)."""
    text = {p: stamps.dt.strftime(f) for p, f in (("day", "%Y-%m-%d"), ("month", "%Y-%m"), ("year", "%Y"))}
    return pd.Series(np.select([precision == p for p in text], list(text.values()), "none"), index=stamps.index)


def _fixed_time(values: pd.Series) -> pd.Series:
    """Days as floats; text and the unclear code -1 (any negative number) become NaN."""
    days = pd.to_numeric(values, errors="coerce").astype(float)
    return days.where(days >= 0)


def _merge(rows: pd.DataFrame, dyad: pd.Series, actor: pd.Series, covariates: list[str]) -> pd.DataFrame:
    """One row per truce: the first actor row, with the dyads and actors of all its rows."""
    key = rows["truce_id"]
    first = rows[~key.duplicated()].set_index("truce_id")
    known = dyad != -1
    dyads = dyad[known].groupby(key[known]).agg(lambda s: tuple(sorted({int(d) for d in s})))
    first["dyads"] = dyads.reindex(first.index).map(lambda d: d if isinstance(d, tuple) else ())
    first["actors"] = actor.groupby(key, sort=False).agg("; ".join)
    first["n_actor_rows"] = key.value_counts().reindex(first.index).astype("int64")
    columns = [*HEAD_COLUMNS, *covariates, *TAIL_COLUMNS]
    return first.reset_index()[columns]


def _disagreements(key: pd.Series, compare: dict[str, pd.Series]) -> pd.DataFrame:
    """Truces whose actor rows hold more than one value of a compared column."""
    found = []
    for column, values in compare.items():
        grouped = values.groupby(key, sort=False)
        for truce in grouped.nunique().loc[lambda n: n > 1].index:
            found.append((truce, column, tuple(pd.unique(values[key == truce])), FIRST_ROW_RULE))
    order = {t: i for i, t in enumerate(pd.unique(key))}
    found.sort(key=lambda r: order[r[0]])
    return pd.DataFrame(found, columns=list(DISAGREEMENT_COLUMNS)).astype({"truce_id": str, "column": str})


def _provenance(path, coding: CeasefireCoding, table: pd.DataFrame, rows: pd.DataFrame, truces: pd.DataFrame,
                disagreements: pd.DataFrame) -> dict[str, Any]:
    first = ~rows["truce_id"].duplicated()
    ends = truces["end_type"].value_counts()
    late = truces[(truces["end_precision"] == "day") & (truces["end"] < truces["start"])]["truce_id"]
    return {
        "source": ETH_PRIO.kind,
        "path": os.fspath(path),
        "sha256": sha256_file(path),
        "citation": CITATION,
        "coding": coding.source,
        "coding_sha256": coding.sha256,
        "coding_table": _json_safe(coding.to_dict()),
        "actor_rows": len(table),
        "truces": len(truces),
        "countries": int(truces["cc"].nunique()),
        "end_types": {e: int(ends.get(e, 0)) for e in END_TYPES},
        "unclear_codes": {t.column: int((table[t.column][first] == "-1").sum()) for t in coding.tables},
        "disagreements": {str(k): int(v) for k, v in disagreements["column"].value_counts(sort=False).items()},
        "fixed_time_not_a_number": int(pd.to_numeric(table["fixed_time"][first], errors="coerce").isna().sum()),
        "fixed_time_negative": int((pd.to_numeric(table["fixed_time"][first], errors="coerce") < 0).sum()),
        "end_before_start": late.tolist(),
    }


def _json_safe(value: Any) -> Any:
    """NaN codes as None, so the provenance is strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return None if isinstance(value, float) and math.isnan(value) else value
