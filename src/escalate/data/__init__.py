"""The data wing: events and daily counts in, validated :class:`TruceData` out.

Modules: ``tables`` (reading and clocks), ``covariates`` (timelines -> segments), ``daily``
(counts), ``validation`` (the one set of table rules), ``truce_data`` (the container),
``tree`` (TruceData <-> DataTree).
"""

from escalate.data.truce_data import TruceData

__all__ = ["TruceData"]
