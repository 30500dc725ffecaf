"""Quiet sampling: PyMC announces each NUTS run on its logger (``NUTS[nutpie]: [...]``).

``--quiet``, ``--json`` and scripts without a terminal ask for silence. The command line sets
:data:`QUIET_ENV` for the length of the command (:func:`quiet_sampling`). Worker processes of a
local Dask cluster inherit it. :func:`escalate.inference.sampling.sample_model` then raises the
``pymc`` logger to WARNING around ``pm.sample`` only and restores it after. Warnings still show;
nothing else is silenced. Workers of a remote scheduler keep their own environment.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

#: Set to "1" to keep PyMC's sampler announcements out of the output.
QUIET_ENV = "ESCALATE_QUIET"


@contextmanager
def quiet_sampling(enabled: bool = True):
    """Within the block (and in processes started from it) sampling is quiet."""
    previous = os.environ.get(QUIET_ENV)
    if enabled:
        os.environ[QUIET_ENV] = "1"
    try:
        yield
    finally:
        if enabled:
            if previous is None:
                os.environ.pop(QUIET_ENV, None)
            else:
                os.environ[QUIET_ENV] = previous


@contextmanager
def sampler_logs_quiet(enabled: bool | None = None):
    """The ``pymc`` logger at WARNING within the block when quiet sampling is asked for
    (``enabled``, else :data:`QUIET_ENV`), restored after."""
    enabled = os.environ.get(QUIET_ENV) == "1" if enabled is None else enabled
    logger = logging.getLogger("pymc")
    previous = logger.level
    if enabled:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)
