"""Logic shared by the ACLED and UCDP GED readers: reading, filtering, matching, counting."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from escalate.errors import DataValidationError, describe_rows
from escalate.importers.mapping import Filters, PartyMapping, spec_error
from escalate.importers.result import ImportResult

MARKS = ("event_type", "sub_event_type", "country", "fatalities")
EVENT_COLUMNS = ("date", "stream", "actor", *MARKS, "source_row")
LIST_FILTERS = (("event_types", "event_type"), ("sub_event_types", "sub_event_type"), ("countries", "country"))


@dataclass(frozen=True)
class SourceSpec:
    """What a reader needs to know about one file layout."""

    kind: str                          # provenance "source"
    title: str                         # "an ACLED export"
    columns: tuple[str, ...]           # the published column layout, for messages
    actor_columns: tuple[str, ...]     # allowed in options.actor_columns
    default_actor_columns: tuple[str, ...]
    list_columns: tuple[str, ...] = ()  # actor columns holding "a; b" lists
    event_types: tuple[str, ...] | None = None  # closed vocabulary, checked against filters
    has_sub_event_types: bool = True
    has_multi_day: bool = False


def load_mapping(mapping: PartyMapping | str | os.PathLike) -> PartyMapping:
    """Return ``mapping`` itself or the mapping read from that TOML file."""
    if isinstance(mapping, PartyMapping):
        return mapping
    if isinstance(mapping, (str, os.PathLike)):
        return PartyMapping.from_toml(mapping)
    raise TypeError(f"mapping must be a PartyMapping or a path to a TOML file, not {type(mapping).__name__}")


def check_mapping(mapping: PartyMapping, spec: SourceSpec) -> tuple[str, ...]:
    """Check the mapping keys that depend on the file layout; return the actor columns."""
    where = mapping.label
    actor_columns = mapping.actor_columns or spec.default_actor_columns
    if bad := [c for c in actor_columns if c not in spec.actor_columns]:
        raise spec_error(where, "options.actor_columns", f"names {', '.join(map(repr, bad))}; for {spec.title} "
                         f"the allowed columns are {', '.join(spec.actor_columns)}")
    if mapping.multi_day is not None and not spec.has_multi_day:
        raise spec_error(where, "options.multi_day", f"applies to UCDP GED files only, not to {spec.title}; remove it")
    if mapping.filters.sub_event_types is not None and not spec.has_sub_event_types:
        raise spec_error(where, "filters.sub_event_types", f"is not available for {spec.title}; remove it "
                         "(filter on event_types instead)")
    event_types = mapping.filters.event_types or ()
    if spec.event_types and (bad := [t for t in event_types if t not in spec.event_types]):
        raise spec_error(where, "filters.event_types", f"lists {', '.join(map(repr, bad))}; for {spec.title} "
                         f"the allowed values are {', '.join(map(repr, spec.event_types))}")
    return actor_columns


def read_export(path: str | os.PathLike, spec: SourceSpec, needed: list[str]) -> tuple[pd.DataFrame, bool]:
    """Read the ``needed`` columns of a CSV file as stripped strings.

    The index is the 0-based row position below the header line. A second header row of
    HXL hashtags (HDX copies) is detected and dropped. Returns the table and whether an
    HXL row was dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path} does not exist (or is not a file); expected {spec.title}")
    options = {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig"}
    try:
        header = pd.read_csv(path, nrows=0, **options).columns
        _check_header(path, spec, list(header), needed)
        table = pd.read_csv(path, usecols=needed, **options)
    except UnicodeDecodeError:
        raise DataValidationError(f"{path} is not UTF-8 text; expected {spec.title} saved as UTF-8 CSV") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataValidationError(f"{path} cannot be read as CSV ({exc}); expected {spec.title}") from None
    table = table.apply(lambda col: col.str.strip())
    first = table.iloc[0] if len(table) else pd.Series(dtype=str)
    is_hxl = bool(first.str.startswith("#").any() and (first.str.startswith("#") | (first == "")).all())
    return (table.iloc[1:] if is_hxl else table), is_hxl


def _check_header(path: Path, spec: SourceSpec, header: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in header]
    if not missing:
        return
    layout = ", ".join(spec.columns)
    if len(missing) == len(needed) and header and re.fullmatch(r"\d+(\.\d+)?", str(header[0]).strip()):
        raise DataValidationError(
            f"{path}: the header row is missing (the first line is data: its first cell is {header[0]!r}); "
            f"the file must start with the column names of {spec.title}: {layout}")
    raise DataValidationError(
        f"{path} lacks the column{'s' * (len(missing) > 1)} {', '.join(missing)}; expected {spec.title} "
        f"with the columns {layout}")


def rows_error(path: str | os.PathLike, column: str, values: pd.Series, bad: pd.Series,
               expected: str) -> DataValidationError:
    """Build the error for the rows of ``values`` flagged ``bad`` (at least one)."""
    rows = values.index[bad.to_numpy()]
    return DataValidationError(
        f"{path}: {column} in {describe_rows(rows)} cannot be read (value seen: {values[rows[0]]!r}); "
        f"expected {expected}")


def parse_count(path: str | os.PathLike, column: str, values: pd.Series) -> pd.Series:
    """Parse a column of non-negative whole numbers; blank cells become 0."""
    numbers = pd.to_numeric(values.mask(values == "", "0"), errors="coerce")
    bad = numbers.isna() | (numbers < 0) | (numbers % 1 != 0)
    if bad.any():
        raise rows_error(path, column, values, bad, "a whole number of 0 or more, or a blank cell")
    return numbers.astype("int64")


def to_day(dates: pd.Series) -> pd.Series:
    """Normalise parsed dates to midnight, as datetime64[ns]."""
    return dates.astype("datetime64[ns]").dt.normalize()


def assemble(path: str | os.PathLike, spec: SourceSpec, mapping: PartyMapping, actor_columns: tuple[str, ...],
             frame: pd.DataFrame, extra_filters: dict[str, pd.Series] | None = None,
             extra_provenance: dict | None = None) -> ImportResult:
    """Filter, match actors to streams, count per day and record provenance.

    ``frame`` is indexed by 0-based row position and holds ``date``, the :data:`MARKS` and
    the actor columns. ``extra_filters`` (name -> boolean keep-mask) run before the
    mapping's filters; every filtered row is attributed to the first filter that drops it.
    """
    filters = mapping.filters
    masks = dict(extra_filters or {})
    for key, column in LIST_FILTERS:
        if (values := getattr(filters, key)) is not None:
            masks[key] = frame[column].isin(values)
    if filters.start is not None:
        masks["start"] = frame["date"] >= pd.Timestamp(filters.start)
    if filters.end is not None:
        masks["end"] = frame["date"] <= pd.Timestamp(filters.end)
    keep = pd.Series(True, index=frame.index)
    filtered_out = {}
    for key, ok in masks.items():
        filtered_out[key] = int((keep & ~ok).sum())
        keep &= ok
    kept = frame[keep]

    names = pd.concat([_actor_names(kept[c], c in spec.list_columns) for c in actor_columns])
    lookup = {name: mapping.streams_for(name) for name in names.unique()}
    _check_ambiguous(path, mapping, names, lookup)
    names = names.to_frame("actor").assign(stream=names.map({n: s[0] for n, s in lookup.items() if s}))
    matched = names[names["stream"].notna()].reset_index(names=["pos"]).drop_duplicates(["pos", "stream"])
    unmatched = names[names["stream"].isna()].reset_index(names=["pos"]).drop_duplicates(["pos", "actor"])
    unmapped = unmatched["actor"].value_counts().rename("events").reset_index()
    unmapped = unmapped.sort_values(["events", "actor"], ascending=[False, True], ignore_index=True)

    events = kept[["date", *MARKS]].join(matched.set_index("pos"), how="inner")
    events = events.assign(source_row=events.index + 1, stream=events["stream"].astype(str))
    order = {s: i for i, s in enumerate(mapping.stream_names)}
    events = events.sort_values(["date", "stream", "source_row"],
                                key=lambda c: c.map(order) if c.name == "stream" else c)
    events = events[list(EVENT_COLUMNS)].reset_index(drop=True)
    counts = events.groupby(["date", "stream"], sort=False).size().rename("count").reset_index()
    counts["count"] = counts["count"].astype("int64")

    rows_kept = int(matched["pos"].nunique())
    provenance = {
        "source": spec.kind,
        "path": os.fspath(path),
        "sha256": file_sha256(path),
        "rows_read": len(frame),
        "rows_kept": rows_kept,
        "events": len(events),
        "filtered_out": filtered_out,
        "rows_unmapped": len(kept) - rows_kept,
        "unmapped_actors": len(unmapped),
        "actor_columns": list(actor_columns),
        "filter_values_not_found": _values_not_found(frame, filters),
        **(extra_provenance or {}),
        "mapping_file": mapping.source,
        "mapping": mapping.to_dict(),
    }
    return ImportResult(events, counts, unmapped, provenance, mapping.stream_names)


def _actor_names(column: pd.Series, is_list: bool) -> pd.Series:
    """Non-blank actor names of one column (lists like ``"a; b"`` split), indexed by row."""
    if is_list:
        column = column.str.split(";").explode().str.strip()
    return column[column.fillna("") != ""].astype(str)


def _check_ambiguous(path: str | os.PathLike, mapping: PartyMapping, names: pd.Series,
                     lookup: dict[str, tuple[str, ...]]) -> None:
    """Raise if any actor name matches more than one stream, naming it, its rows and the streams."""
    ambiguous = {n: s for n, s in lookup.items() if len(s) > 1}
    if ambiguous:
        parts = [f"{n!r} ({describe_rows(sorted(set(names.index[names == n])))}) matches the streams "
                 f"{', '.join(s)}" for n, s in list(ambiguous.items())[:5]]
        more = f" (+{len(ambiguous) - 5} more actors)" if len(ambiguous) > 5 else ""
        raise DataValidationError(
            f"{path}: actor {'; actor '.join(parts)}{more}: an actor may match only one stream; make the "
            f"actors/prefixes/patterns of these streams disjoint in {mapping.label}")


def _values_not_found(frame: pd.DataFrame, filters: Filters) -> dict[str, list[str]]:
    """Values of the list filters that occur nowhere in the file (likely typos)."""
    out = {}
    for key, column in LIST_FILTERS:
        values = getattr(filters, key) or ()
        present = set(frame[column].unique())
        if missing := [v for v in values if v not in present]:
            out[key] = missing
    return out


def file_sha256(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
