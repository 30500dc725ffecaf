"""``escalate validate``: check data files and list every problem found, not only the first.

Each file is recognised by its columns (events, daily counts, truces, covariates). Checks are
independent, so one bad column does not hide another; the cross-file checks (truce ids, windows,
timelines, ties, missing days) run when a truce calendar, covariates and one data table are given.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from escalate.data.daily import long_counts
from escalate.data.rules import (
    check_penalty_tiers,
    check_streams_named,
    check_unique_truce_ids,
    check_verification,
)
from escalate.data.tables import (
    clock_kind,
    read_table,
    require_columns,
    require_finite,
    to_clock,
)
from escalate.data.truce_data import TruceData
from escalate.errors import DataValidationError

KINDS = {
    "events": ["truce_id", "time", "stream"],
    "covariates": ["truce_id", "start", "verification", "penalty_tier"],
    "truces": ["truce_id", "start", "end"],
}


def classify(frame: pd.DataFrame) -> str | None:
    """The kind of a table from its columns, or None."""
    columns = set(frame.columns)
    for kind, needed in KINDS.items():
        if set(needed) <= columns:
            return kind
    if "date" in columns:
        return "counts"
    return None


def _checks(kind: str, frame: pd.DataFrame, label: str):
    """Independent checks of one table, as zero-argument callables."""
    def clock_column(column, optional=False):
        def check():
            values = frame[column]
            if optional:  # an empty truce end marks an ongoing truce (daily counts)
                values = values[values.notna() & (values.astype(str).str.strip() != "")]
            to_clock(values, clock_kind(values), column, label)
        return check

    def finite(column):
        return lambda: require_finite(frame, column, label)

    def verification_range():
        check_verification(frame["verification"], label)

    def tiers():
        check_penalty_tiers(frame["penalty_tier"], label)

    def unique_ids():
        check_unique_truce_ids(frame["truce_id"], label)

    def counts_values():
        long_counts(frame, label)

    def empty_streams():
        check_streams_named(frame["stream"], label)

    if kind == "events":
        return [clock_column("time"), empty_streams]
    if kind == "covariates":
        return [clock_column("start"), finite("verification"), verification_range, finite("penalty_tier"), tiers]
    if kind == "truces":
        return [clock_column("start"), clock_column("end", optional=True), unique_ids]
    return [lambda: require_columns(frame, ["date"], label), clock_column("date"), counts_values]


def validate_files(paths) -> tuple[list[str], dict[str, str]]:
    """Return ``(problems, kinds)``: every problem found, and the kind recognised per file."""
    problems, kinds, tables = [], {}, {}
    for path in paths:
        try:
            frame, label = read_table(Path(path), "data")
        except DataValidationError as exc:
            problems.append(str(exc))
            continue
        kind = classify(frame)
        if kind is None:
            problems.append(f"{path}: not recognised as events ({KINDS['events']}), daily counts (date, ...), "
                            f"truces ({KINDS['truces']}) or covariates ({KINDS['covariates']}); it has "
                            f"{list(frame.columns)}")
            continue
        kinds[str(path)] = kind
        if kind in tables:
            problems.append(f"{path}: a second {kind} file ({tables[kind][0]} is the first); give one of each")
            continue
        tables[kind] = (str(path), frame)
        for check in _checks(kind, frame, f"{kind} file {path}"):
            try:
                check()
            except DataValidationError as exc:
                problems.append(str(exc))
    if not problems and {"truces", "covariates"} <= set(tables) and ({"events", "counts"} & set(tables)):
        try:
            if "events" in tables:
                TruceData.from_frames(tables["events"][0], tables["truces"][0], tables["covariates"][0])
            else:
                TruceData.from_daily_counts(tables["counts"][0], tables["truces"][0], tables["covariates"][0])
        except DataValidationError as exc:
            problems.append(str(exc))
    return problems, kinds
