"""Exceptions for user mistakes.

Every error a user can cause by their input is a subclass of :class:`EscalateInputError`
(itself a :class:`ValueError`), whose message names the file or table, the rows or keys at
fault, and what to do. The command line turns these into one clear line and exit status 2.
"""

from __future__ import annotations


class EscalateInputError(ValueError):
    """Bad user input: a data table, a spec file, a parameter set or an argument."""


class DataValidationError(EscalateInputError):
    """A data table (events, counts, truces, covariates) fails validation."""


class SpecError(EscalateInputError):
    """A model spec (TOML) is invalid: unknown key, wrong type, bad prior."""


class ParameterError(EscalateInputError):
    """A parameter set is missing a name, has the wrong shape or an invalid value."""


class FileFormatError(EscalateInputError):
    """A saved fit or run cannot be read: unknown format version or not an escalate file."""


class SimulationExplosionError(RuntimeError):
    """A simulation exceeded its event cap: the process is (close to) explosive."""


def describe_rows(index, limit: int = 8) -> str:
    """Render row labels for an error message: ``rows 3, 7, 12 (+4 more)``.

    Row numbers are 1-based data rows (the header is not counted) so that they match what a
    user sees in a spreadsheet below the header line.
    """
    rows = [int(i) + 1 for i in index]
    head = ", ".join(str(r) for r in rows[:limit])
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    word = "row" if len(rows) == 1 else "rows"
    return f"{word} {head}{more}"
