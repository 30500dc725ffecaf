"""Importers for conflict-event data: ACLED exports and UCDP GED files.

Each reader takes the data file and a party mapping (a TOML file or a
:class:`PartyMapping`) and returns an :class:`ImportResult` with the events assigned to
streams, daily counts, the actors that matched no stream, and provenance. See
``docs/importers.md``.
"""

from escalate.importers.acled import read_acled
from escalate.importers.mapping import Filters, PartyMapping, StreamRule
from escalate.importers.result import ImportResult
from escalate.importers.ucdp import read_ucdp_ged

__all__ = ["Filters", "ImportResult", "PartyMapping", "StreamRule", "read_acled", "read_ucdp_ged"]
