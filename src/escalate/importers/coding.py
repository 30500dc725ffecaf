"""The coding table of the ETH/PRIO ceasefire reader: source codes -> end types, covariates, ...

A coding (TOML; the bundled default is ``codings/eth-prio.toml``, its choices argued there and
in ``docs/importers.md``) says what each code of the ceasefire file becomes: the end type, the
verification share, the penalty tier and the static covariates, plus the GED crosswalk and
cell corrections. :func:`load_coding` turns ``None``, a path or a :class:`CeasefireCoding` into
a validated coding for :func:`~escalate.importers.eth_prio.read_eth_prio_ceasefires`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from escalate.data.corpus import END_TYPES
from escalate.errors import DataValidationError
from escalate.importers.mapping import spec_error
from escalate.storage import sha256_file

SCHEMA_VERSION = 1
BUNDLED = "eth-prio.toml"

#: Columns of ``CeasefireImport.truces`` before and after the coding's covariates (covariate
#: names must not clash with them).
HEAD_COLUMNS = ("truce_id", "cc", "country", "conflict", "group", "start", "start_source", "start_precision",
                "end", "end_precision", "end_type", "verification", "penalty_tier")
TAIL_COLUMNS = ("fixed_time", "dyads", "actors", "n_actor_rows")

#: Columns the reader always needs (corrections may overwrite these and the coded columns).
DATE_PARTS = {"declared": ("cf_dec_yr", "cf_dec_month", "cf_dec_day"),
              "effective": ("cf_effect_yr", "cf_effect_month", "cf_effect_day"),
              "end": ("end_yr", "end_month", "end_day")}
REQUIRED_COLUMNS = ("cc", "uniq_id", "location", "actor_name", "ucdp_acd_id", "ucdp_dyad",
                    *(c for parts in DATE_PARTS.values() for c in parts), "ended", "fixed_time")

_TOP_KEYS = ("schema_version", "cutoff", "end_type", "verification", "penalty_tier", "covariates", "ged",
             "corrections")
_REQUIRED_KEYS = _TOP_KEYS[1:-1]
_TABLE_KEYS = ("column", "codes")
_GED_KEYS = ("crosswalk", "max_date_precision")


@dataclass(frozen=True)
class CodeTable:
    """Source codes of one column and the values they become.

    Attributes
    ----------
    column : str
        The column of the ceasefire file.
    codes : dict
        Code as written in the file (``"-1"``, ``"0"``, ...) -> value.
    key : str
        Where the codes sit in the TOML file (``verification.codes``), for messages.
    """

    column: str
    codes: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Correction:
    """Overwrite ``column`` with ``value`` in every actor row of ceasefire ``truce_id``, for ``reason``."""

    truce_id: str
    column: str
    value: str
    reason: str


@dataclass(frozen=True, eq=False)
class CeasefireCoding:
    """A parsed, validated coding table for :func:`read_eth_prio_ceasefires`.

    Attributes
    ----------
    cutoff : pandas.Timestamp
        The corpus cut: holding truces are observed until this day.
    end_type : CodeTable
        ``ended`` code -> one of :data:`END_TYPES`.
    verification : CodeTable
        Code -> verification share in [0, 1].
    penalty_tier : CodeTable
        Code -> penalty tier (int >= 0).
    covariates : dict
        Covariate name -> its :class:`CodeTable` (codes -> float), in file order.
    crosswalk : dict
        Ceasefire ``ucdp_dyad`` -> GED ``dyad_new_id`` where the two differ.
    max_date_precision : int
        The GED ``date_prec`` up to which events enter daily series.
    corrections : tuple of Correction
        Cells overwritten before the file is read, each with its reason.
    source : str
        ``"bundled"`` or the path of the TOML file.
    sha256 : str or None
        The file's hash, ``"bundled"``, or ``None`` for a coding built from a dict.
    """

    cutoff: pd.Timestamp
    end_type: CodeTable
    verification: CodeTable
    penalty_tier: CodeTable
    covariates: dict[str, CodeTable]
    crosswalk: dict[int, int]
    max_date_precision: int
    corrections: tuple[Correction, ...] = ()
    source: str = "<dict>"
    sha256: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """How messages name this coding (and where to fix it)."""
        if self.source == "bundled":
            return (f"the bundled coding {BUNDLED} (copy src/escalate/importers/codings/{BUNDLED}, edit it "
                    f"and pass coding=<your file>)")
        return f"coding file {self.source}"

    @property
    def tables(self) -> tuple[CodeTable, ...]:
        """Every code table: end type, verification, penalty tier, then the covariates."""
        return (self.end_type, self.verification, self.penalty_tier, *self.covariates.values())

    @classmethod
    def bundled(cls) -> CeasefireCoding:
        """The default coding shipped with the package (``codings/eth-prio.toml``)."""
        resource = resources.files("escalate.importers").joinpath("codings", BUNDLED)
        return cls.from_dict(_parse_toml(resource.read_text(encoding="utf-8"), f"bundled coding {BUNDLED}"),
                             source="bundled", sha256="bundled")

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> CeasefireCoding:
        """Read and validate a coding file.

        Raises
        ------
        DataValidationError
            If the file does not exist.
        SpecError
            If it is not TOML, has an unknown key or a wrong value.
        """
        path = Path(path)
        if not path.is_file():
            raise DataValidationError(f"coding file {path} does not exist (or is not a file)")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise spec_error(f"coding file {path}", "", "cannot be read: not UTF-8 text") from None
        return cls.from_dict(_parse_toml(text, f"coding file {path}"), source=str(path), sha256=sha256_file(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>", sha256: str | None = None) -> CeasefireCoding:
        """Build a coding from the parsed TOML structure (see ``codings/eth-prio.toml``)."""
        where = "the bundled coding" if source == "bundled" else f"coding file {source}"
        _keys(data, "", _TOP_KEYS, where, required=_REQUIRED_KEYS)
        if data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise spec_error(where, "schema_version", f"is {data['schema_version']!r}; the only supported "
                             f"value is {SCHEMA_VERSION}")
        end_codes = _codes(data["end_type"], "end_type", where, _end_type)
        covariates = _keys(data["covariates"], "covariates", None, where)
        for name in covariates:
            if not name.isidentifier() or name in HEAD_COLUMNS + TAIL_COLUMNS:
                raise spec_error(where, f"covariates.{name}", "is not a usable covariate name; use a Python "
                                 f"identifier other than {', '.join(HEAD_COLUMNS + TAIL_COLUMNS)}")
        ged = _keys(data["ged"], "ged", _GED_KEYS, where, required=_GED_KEYS)
        tables = [data["verification"], data["penalty_tier"], *covariates.values()]
        columns = (*REQUIRED_COLUMNS, *(t.get("column") for t in tables if isinstance(t, dict)))
        return cls(
            cutoff=_cutoff(data["cutoff"], where),
            end_type=CodeTable("ended", end_codes, "end_type"),
            verification=_table(data["verification"], "verification", where, _share),
            penalty_tier=_table(data["penalty_tier"], "penalty_tier", where, _tier),
            covariates={name: _table(spec, f"covariates.{name}", where, _number) for name, spec in covariates.items()},
            crosswalk=_crosswalk(ged["crosswalk"], where),
            max_date_precision=_precision(ged["max_date_precision"], where),
            corrections=_corrections(data.get("corrections", {}), columns, where),
            source=source, sha256=sha256)

    def to_dict(self) -> dict[str, Any]:
        """The coding in the TOML layout (JSON-serialisable; NaN codes stay float NaN)."""
        def table(t: CodeTable) -> dict:
            return {"column": t.column, "codes": dict(t.codes)}
        return {"schema_version": SCHEMA_VERSION, "cutoff": self.cutoff.date().isoformat(),
                "end_type": dict(self.end_type.codes), "verification": table(self.verification),
                "penalty_tier": table(self.penalty_tier),
                "covariates": {n: table(t) for n, t in self.covariates.items()},
                "ged": {"crosswalk": {str(k): v for k, v in self.crosswalk.items()},
                        "max_date_precision": self.max_date_precision},
                "corrections": _corrections_dict(self.corrections)}


def load_coding(coding: CeasefireCoding | str | os.PathLike | None) -> CeasefireCoding:
    """Return ``coding`` itself, the bundled coding (``None``) or the coding read from a TOML file."""
    if coding is None:
        return CeasefireCoding.bundled()
    if isinstance(coding, CeasefireCoding):
        return coding
    if isinstance(coding, (str, os.PathLike)):
        return CeasefireCoding.from_toml(coding)
    raise TypeError(f"coding must be None, a CeasefireCoding or a path to a TOML file, not {type(coding).__name__}")


def _parse_toml(text: str, where: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise spec_error(where, "", f"is not valid TOML: {exc}") from None


def _keys(value: Any, key: str, allowed: tuple[str, ...] | None, where: str,
          required: tuple[str, ...] = ()) -> dict:
    """Check that ``value`` is a table with only ``allowed`` keys and all ``required`` ones."""
    if not isinstance(value, dict):
        raise spec_error(where, key, f"must be a table, not {type(value).__name__}")
    for k in value if allowed is not None else ():
        if k not in allowed:
            close = difflib.get_close_matches(k, allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise spec_error(where, f"{key}.{k}" if key else k,
                             f"is not allowed; {hint}allowed keys here: {', '.join(allowed)}")
    for k in required:
        if k not in value:
            raise spec_error(where, f"{key}.{k}" if key else k, "is missing (see the bundled codings/eth-prio.toml)")
    return value


def _table(value: Any, key: str, where: str, check) -> CodeTable:
    spec = _keys(value, key, _TABLE_KEYS, where, required=_TABLE_KEYS)
    if not isinstance(spec["column"], str) or not spec["column"].strip():
        raise spec_error(where, f"{key}.column", f"must name a column of the ceasefire file, got {spec['column']!r}")
    return CodeTable(spec["column"].strip(), _codes(spec["codes"], f"{key}.codes", where, check), f"{key}.codes")


def _codes(value: Any, key: str, where: str, check) -> dict[str, Any]:
    codes = _keys(value, key, None, where)
    if not codes:
        raise spec_error(where, key, "is empty; map every code of the column")
    out = {}
    for code, v in codes.items():
        if (checked := check(v)) is None:
            raise spec_error(where, f'{key}."{code}"', f"= {v!r} is not allowed; {check.__doc__[0].lower()}{check.__doc__[1:]}")
        out[code.strip()] = checked
    return out


def _end_type(v: Any) -> str | None:
    """Use one of "collapsed", "expired", "replaced", "holding", "unknown", "never_effective"."""
    return v if v in END_TYPES else None


def _number(v: Any) -> float | None:
    """Use a number (nan for missing)."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _share(v: Any) -> float | None:
    """Use a number from 0 to 1."""
    x = _number(v)
    return x if x is not None and 0.0 <= x <= 1.0 else None


def _tier(v: Any) -> int | None:
    """Use a whole number of 0 or more (an integer, without a decimal point)."""
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def _cutoff(value: Any, where: str) -> pd.Timestamp:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pd.Timestamp(value)
    if isinstance(value, str):
        try:
            return pd.Timestamp(dt.date.fromisoformat(value))
        except ValueError:
            pass
    raise spec_error(where, "cutoff", f"= {value!r} is not a date; write an ISO date such as \"2014-01-01\"")


def _crosswalk(value: Any, where: str) -> dict[int, int]:
    out = {}
    for k, v in _keys(value, "ged.crosswalk", None, where).items():
        if not k.strip().lstrip("-").isdigit() or _tier(v) is None:
            raise spec_error(where, f"ged.crosswalk.{k}", f"= {v!r} is not allowed; map a ceasefire dyad id "
                             "(the key, e.g. \"12088\") to a GED dyad id (an integer, e.g. 875)")
        out[int(k)] = v
    return out


def _corrections(value: Any, columns: tuple[str, ...], where: str) -> tuple[Correction, ...]:
    out = []
    for truce, spec in _keys(value, "corrections", None, where).items():
        key = f'corrections."{truce}"'
        if not truce.strip().isdigit():
            raise spec_error(where, key, "is not a uniq_id; key each correction by the ceasefire's uniq_id")
        spec = _keys(spec, key, None, where, required=("reason",))
        if not isinstance(spec["reason"], str) or not spec["reason"].strip():
            raise spec_error(where, f"{key}.reason", "must say in words why the cells are corrected")
        for column, v in spec.items():
            if column == "reason":
                continue
            if column not in columns:
                raise spec_error(where, f"{key}.{column}", f"is not a column the reader uses; allowed: "
                                 f"{', '.join(dict.fromkeys(columns))}")
            if not isinstance(v, (int, str)) or isinstance(v, bool):
                raise spec_error(where, f"{key}.{column}", f"= {v!r} is not allowed; write the cell's new "
                                 "value as an integer or a string")
            out.append(Correction(str(int(truce)), column, str(v), spec["reason"].strip()))
    return tuple(out)


def _corrections_dict(corrections: tuple[Correction, ...]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for c in corrections:
        out.setdefault(c.truce_id, {"reason": c.reason})[c.column] = c.value
    return out


def _precision(value: Any, where: str) -> int:
    if _tier(value) is None or not 1 <= value <= 5:
        raise spec_error(where, "ged.max_date_precision", f"= {value!r} is not allowed; use a GED date_prec "
                         "from 1 (exact day) to 5")
    return value
