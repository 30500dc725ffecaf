"""Importers for conflict-event data and ceasefire corpora.

Event readers (ACLED exports, UCDP GED files) take the data file and a party mapping (a TOML
file or a :class:`PartyMapping`) and return an :class:`ImportResult` with the events assigned
to streams, daily counts, the actors that matched no stream, and provenance.

Corpus readers: :func:`read_eth_prio_ceasefires` turns the ETH/PRIO Civil Conflict Ceasefire
file into one coded row per ceasefire (:class:`CeasefireImport`, coded by a
:class:`CeasefireCoding`), :func:`read_ged_dyad_days` counts a UCDP GED country file per dyad
and day (:class:`GedDays`), and :func:`link_ged_dyads` joins the two. See ``docs/importers.md``.
"""

from escalate.importers.acled import read_acled
from escalate.importers.coding import CeasefireCoding
from escalate.importers.eth_prio import CeasefireImport, read_eth_prio_ceasefires
from escalate.importers.ged_days import GedDays, link_ged_dyads, read_ged_dyad_days
from escalate.importers.mapping import Filters, PartyMapping, StreamRule
from escalate.importers.result import ImportResult
from escalate.importers.ucdp import read_ucdp_ged

__all__ = ["CeasefireCoding", "CeasefireImport", "Filters", "GedDays", "ImportResult", "PartyMapping", "StreamRule",
           "link_ged_dyads", "read_acled", "read_eth_prio_ceasefires", "read_ged_dyad_days", "read_ucdp_ged"]
