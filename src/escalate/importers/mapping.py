"""Party mappings: which actor names in an event file belong to which event stream.

A mapping is a small TOML file (see ``docs/importers.md``)::

    schema_version = 1
    [streams.israel]
    prefixes = ["Military Forces of Israel"]
    [streams.hezbollah]
    actors = ["Hezbollah"]
    [filters]
    countries = ["Israel", "Lebanon"]
    start = "2023-10-08"
    [options]
    actor_columns = ["actor1"]

:meth:`PartyMapping.from_toml` checks every key and value and raises
:class:`~escalate.errors.SpecError` naming the key, the file and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from escalate.errors import DataValidationError, SpecError

SCHEMA_VERSION = 1
MULTI_DAY_POLICIES = ("start", "end", "drop")
_TOP_KEYS = ("schema_version", "streams", "filters", "options")
_RULE_KEYS = ("actors", "prefixes", "patterns")
_FILTER_LIST_KEYS = ("event_types", "sub_event_types", "countries")
_FILTER_KEYS = (*_FILTER_LIST_KEYS, "start", "end")
_OPTION_KEYS = ("actor_columns", "multi_day")


@dataclass(frozen=True)
class StreamRule:
    """How actor names are assigned to one stream.

    An actor belongs to the stream if it equals one of ``actors``, starts with one of
    ``prefixes`` or if one of ``patterns`` (Python regular expressions) is found in it
    (:func:`re.search`).
    """

    name: str
    actors: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    _compiled: tuple[re.Pattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(p) for p in self.patterns))

    def matches(self, actor: str) -> bool:
        """Return whether ``actor`` belongs to this stream."""
        return (
            actor in self.actors
            or actor.startswith(self.prefixes)
            or any(p.search(actor) for p in self._compiled)
        )


@dataclass(frozen=True)
class Filters:
    """Row filters; ``None`` keeps every row. Dates are inclusive."""

    event_types: tuple[str, ...] | None = None
    sub_event_types: tuple[str, ...] | None = None
    countries: tuple[str, ...] | None = None
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True)
class PartyMapping:
    """A parsed, validated mapping file.

    Attributes
    ----------
    streams : tuple of StreamRule
        One rule per stream, in the order of the TOML tables.
    filters : Filters
        Row filters applied before actors are matched.
    actor_columns : tuple of str or None
        Columns holding actor names; ``None`` means the reader's default
        (``actor1`` for ACLED, ``side_a`` for UCDP GED).
    multi_day : str or None
        UCDP GED only: ``"start"``, ``"end"`` or ``"drop"``; ``None`` means ``"start"``.
    source : str or None
        The file the mapping was read from (used in error messages and provenance).
    """

    streams: tuple[StreamRule, ...]
    filters: Filters = Filters()
    actor_columns: tuple[str, ...] | None = None
    multi_day: str | None = None
    source: str | None = field(default=None, compare=False)

    @property
    def stream_names(self) -> tuple[str, ...]:
        """Stream names in mapping order."""
        return tuple(s.name for s in self.streams)

    @property
    def label(self) -> str:
        """How error messages name this mapping."""
        return _label(self.source)

    def streams_for(self, actor: str) -> tuple[str, ...]:
        """Return the names of every stream that ``actor`` matches (normally zero or one)."""
        return tuple(s.name for s in self.streams if s.matches(actor))

    def stream_for(self, actor: str) -> str | None:
        """Return the stream ``actor`` belongs to, or ``None`` if it matches none.

        Raises
        ------
        DataValidationError
            If the actor matches more than one stream.
        """
        names = self.streams_for(actor)
        if len(names) > 1:
            raise DataValidationError(
                f"actor {actor!r} matches more than one stream ({', '.join(names)}) in "
                f"{self.label}; make the actors/prefixes/patterns of these streams disjoint"
            )
        return names[0] if names else None

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> PartyMapping:
        """Read and validate a mapping file.

        Parameters
        ----------
        path : str or path-like
            The TOML mapping file.

        Returns
        -------
        PartyMapping

        Raises
        ------
        DataValidationError
            If the file does not exist.
        SpecError
            If it is not valid TOML or any key or value is wrong.
        """
        path = Path(path)
        if not path.is_file():
            raise DataValidationError(f"mapping file {path} does not exist (or is not a file)")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"mapping file {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None) -> PartyMapping:
        """Build a mapping from the parsed TOML (or :meth:`to_dict`) structure.

        Parameters
        ----------
        data : dict
            Mapping with keys ``schema_version``, ``streams``, ``filters``, ``options``.
        source : str, optional
            Where ``data`` came from, for error messages.

        Returns
        -------
        PartyMapping
        """
        check = _Checker(source)
        check.table(data, "", _TOP_KEYS)
        version = data.get("schema_version")
        if version is None:
            check.fail("schema_version", f"is missing; start the file with schema_version = {SCHEMA_VERSION}")
        if type(version) is not int or version != SCHEMA_VERSION:
            check.fail("schema_version", f"is {version!r}; the only supported value is {SCHEMA_VERSION}")

        streams_table = check.table(data.get("streams"), "streams", None, required=True)
        if not streams_table:
            check.fail("streams", "has no streams; add at least one [streams.NAME] table")
        streams = []
        for name, spec in streams_table.items():
            key = f"streams.{name}"
            if not name.strip():
                check.fail(key, "is not a valid stream name; use a non-empty name")
            check.table(spec, key, _RULE_KEYS, required=True)
            rules = {k: check.strings(spec.get(k), f"{key}.{k}", allow_empty=True) or () for k in _RULE_KEYS}
            if not any(rules.values()):
                check.fail(key, "has no rule; give at least one non-empty list of actors, prefixes or patterns")
            for i, pattern in enumerate(rules["patterns"]):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    check.fail(f"{key}.patterns[{i}]", f"= {pattern!r} is not a valid regular expression ({exc})")
            streams.append(StreamRule(name, **rules))

        ftab = check.table(data.get("filters", {}), "filters", _FILTER_KEYS)
        filters = Filters(
            **{k: check.strings(ftab.get(k), f"filters.{k}") for k in _FILTER_LIST_KEYS},
            start=check.date(ftab.get("start"), "filters.start"),
            end=check.date(ftab.get("end"), "filters.end"),
        )
        if filters.start and filters.end and filters.start > filters.end:
            check.fail("filters.start", f"({filters.start}) is after filters.end ({filters.end}); "
                       "start must be on or before end")

        otab = check.table(data.get("options", {}), "options", _OPTION_KEYS)
        actor_columns = check.strings(otab.get("actor_columns"), "options.actor_columns")
        if actor_columns and len(set(actor_columns)) != len(actor_columns):
            check.fail("options.actor_columns", "lists a column twice; list each column once")
        multi_day = otab.get("multi_day")
        if multi_day is not None and multi_day not in MULTI_DAY_POLICIES:
            check.fail("options.multi_day", f"= {multi_day!r} is not allowed; use one of "
                       f"{', '.join(map(repr, MULTI_DAY_POLICIES))}")
        return cls(tuple(streams), filters, actor_columns, multi_day, source)

    def to_dict(self) -> dict[str, Any]:
        """Return the mapping as a JSON-serialisable dict in the TOML layout (unset keys left out)."""
        streams = {
            s.name: {k: list(getattr(s, k)) for k in _RULE_KEYS if getattr(s, k)} for s in self.streams
        }
        filters = {k: list(v) for k in _FILTER_LIST_KEYS if (v := getattr(self.filters, k)) is not None}
        filters |= {k: v.isoformat() for k in ("start", "end") if (v := getattr(self.filters, k)) is not None}
        options: dict[str, Any] = {}
        if self.actor_columns is not None:
            options["actor_columns"] = list(self.actor_columns)
        if self.multi_day is not None:
            options["multi_day"] = self.multi_day
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "streams": streams}
        if filters:
            out["filters"] = filters
        if options:
            out["options"] = options
        return out


def _label(source: str | None) -> str:
    return f"mapping file {source}" if source else "mapping (not read from a file)"


def spec_error(where: str, key: str, problem: str) -> SpecError:
    """Build the :class:`SpecError` for a bad key: ``<where>: key '<key>' <problem>``."""
    return SpecError(f"{where}: key '{key}' {problem}")


class _Checker:
    """Raise :class:`SpecError` messages that name the key, the file and what is allowed."""

    def __init__(self, source: str | None) -> None:
        self.where = _label(source)

    def fail(self, key: str, problem: str) -> NoReturn:
        raise spec_error(self.where, key, problem)

    def table(self, value: Any, key: str, allowed: tuple[str, ...] | None, required: bool = False) -> dict:
        if value is None and required:
            self.fail(key, "is missing; it must be a table")
        if not isinstance(value, dict):
            self.fail(key, f"must be a table ([{key}]), not {type(value).__name__}")
        for k in value if allowed is not None else ():
            if k not in allowed:
                full = f"{key}.{k}" if key else k
                close = difflib.get_close_matches(k, allowed, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                self.fail(full, f"is not allowed; {hint}allowed keys here: {', '.join(allowed)}")
        return value

    def strings(self, value: Any, key: str, allow_empty: bool = False) -> tuple[str, ...] | None:
        if value is None:
            return None
        example = f'{key.rsplit(".", 1)[-1]} = ["..."]'
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"must be a list of strings, e.g. {example}; got {value!r}")
        if not value and not allow_empty:
            self.fail(key, "is an empty list; list at least one value, or remove the key to keep everything")
        if any(not v for v in value):
            self.fail(key, "contains an empty string; every entry must be non-empty")
        return tuple(value)

    def date(self, value: Any, key: str) -> dt.date | None:
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(key, f"= {value!r} is not a date; write an ISO date such as \"2023-10-08\"")
