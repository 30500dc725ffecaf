"""Shared fixtures (the helpers they use are in helpers.py, importable from every test folder)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_tables

import escalate


@pytest.fixture
def rng():
    return np.random.default_rng(20261126)


@pytest.fixture
def small_data(rng):
    events, truces, covs = random_tables(rng, K=2, J=3)
    return escalate.TruceData.from_frames(events, truces, covs)
