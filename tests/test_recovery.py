"""Parameter recovery with real NUTS on the bundled synthetic truces (seeded, about 30 s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import escalate
from escalate.datasets import SYNTHETIC_TRUTH, synthetic

SPEC = Path(__file__).resolve().parents[1] / "models" / "truce-hawkes.toml"


@pytest.fixture(scope="session")
def recovery_fit():
    data = synthetic()
    assert 1700 <= len(data.events) <= 2300  # "about 2,000 events", 2 streams x 4 truces
    return escalate.fit(data, escalate.ModelSpec.from_toml(SPEC), draws=1000, tune=1000, chains=4, seed=11)


@pytest.mark.nuts
def test_every_true_value_inside_its_94_percent_interval(recovery_fit):
    # 25 scalar parameters at 94% each: under a calibrated posterior some miss by chance across
    # seeds (SBC is the calibrated check); this fixed seed is a regression test that a biased
    # likelihood or a broken parameter mapping fails.
    post = recovery_fit.tree["posterior"]
    for name, truth in SYNTHETIC_TRUTH.items():
        draws = post[name].values.reshape((-1,) + post[name].shape[2:])
        lo, hi = np.quantile(draws, [0.03, 0.97], axis=0)
        assert np.all((lo <= truth) & (truth <= hi)), (name, lo, hi, truth)


@pytest.mark.nuts
def test_diagnostics_pass(recovery_fit):
    diag = recovery_fit.diagnostics
    assert diag.max_rhat <= 1.01
    assert diag.divergences == 0
    assert diag.passed, diag.verdict
