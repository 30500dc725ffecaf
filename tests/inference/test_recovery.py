"""Parameter recovery with real NUTS on the bundled synthetic truces (seeded, about 30 s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import escalate
from escalate.datasets import SYNTHETIC_TRUTH, synthetic

SPEC = Path(__file__).resolve().parents[2] / "models" / "truce-hawkes.toml"
#: At the spec's 0.95 the seeded fits below passed on a warm compile cache but gave one divergent
#: transition in 4,000 draws after a cold compile (last-bit differences, docs/cli.md); 0.99 makes
#: the step size small enough that neither does (checked cold and warm).
TARGET_ACCEPT = 0.99


@pytest.fixture(scope="session")
def recovery_fit():
    data = synthetic()
    assert 1700 <= len(data.events) <= 2300  # "about 2,000 events", 2 streams x 4 truces
    return escalate.fit(data, escalate.ModelSpec.from_toml(SPEC), draws=1000, tune=1000, chains=4, seed=11,
                        target_accept=TARGET_ACCEPT)


@pytest.mark.slow
def test_every_true_value_inside_its_94_percent_interval(recovery_fit):
    # 25 scalar parameters at 94% each: under a calibrated posterior some miss by chance across
    # seeds (SBC is the calibrated check); this fixed seed is a regression test that a biased
    # likelihood or a broken parameter mapping fails.
    post = recovery_fit.tree["posterior"]
    for name, truth in SYNTHETIC_TRUTH.items():
        draws = post[name].values.reshape((-1,) + post[name].shape[2:])
        lo, hi = np.quantile(draws, [0.03, 0.97], axis=0)
        assert np.all((lo <= truth) & (truth <= hi)), (name, lo, hi, truth)


@pytest.mark.slow
def test_diagnostics_pass(recovery_fit):
    diag = recovery_fit.diagnostics
    assert diag.max_rhat <= 1.01
    assert diag.divergences == 0
    assert diag.passed, diag.verdict


@pytest.mark.slow
def test_recovery_from_daily_aggregates():
    """Simulate exact times, aggregate to days, fit the daily likelihood (MODEL.md 3b).

    Truth: SYNTHETIC_TRUTH with decay 0.35 (mean lag ~3 days) and a verification change inside
    every truce. Same-day excitation is not modelled, which biases branching upwards (measured
    over 9 replicates in docs/model.md: +20% to +40% on three of four entries); per-scalar 94%
    coverage over those replicates was 97%. Replicate 3 is fixed here as a regression test.
    """
    from escalate.datasets import SYNTHETIC_STREAMS, synthetic_tables

    truth = {**SYNTHETIC_TRUTH, "decay": 0.35}
    truces, covariates = synthetic_tables(verification_change_day=100)
    data = escalate.simulate(truth, truces, covariates, SYNTHETIC_STREAMS, seed=3).to_daily()
    spec = escalate.ModelSpec.from_dict({**escalate.ModelSpec.from_toml(SPEC).to_dict(), "time_resolution": "day"})
    result = escalate.fit(data, spec, seed=3, target_accept=TARGET_ACCEPT)
    assert result.diagnostics.passed, result.diagnostics.verdict
    post = result.tree["posterior"]
    for name in ("branching", "decay", "mu_verification", "mu_tier", "excite_verification_self",
                 "excite_verification_cross", "excite_tier"):
        draws = post[name].values.reshape((-1,) + post[name].shape[2:])
        lo, hi = np.quantile(draws, [0.03, 0.97], axis=0)
        assert np.all((lo <= truth[name]) & (truth[name] <= hi)), (name, lo, hi, truth[name])
