"""Parameter recovery with real NUTS on the bundled synthetic truces (seeded, about 30 s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
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
    """Simulate exact times, aggregate to days, fit the default daily likelihood (the cascade).

    Truth: SYNTHETIC_TRUTH with decay 0.35 (mean lag ~3 days) and a verification change inside
    every truce. Replicate 3 is fixed here as a regression test: every effect's 94% interval
    holds the truth (docs/model.md has the bias and coverage over replicates).
    """
    from escalate.datasets import SYNTHETIC_STREAMS, synthetic_tables

    truth = {**SYNTHETIC_TRUTH, "decay": 0.35}
    truces, covariates = synthetic_tables(verification_change_day=100)
    data = escalate.simulate(truth, truces, covariates, SYNTHETIC_STREAMS, seed=3).to_daily()
    spec = escalate.ModelSpec.from_dict({**escalate.ModelSpec.from_toml(SPEC).to_dict(), "time_resolution": "day"})
    assert spec.daily_likelihood == "cascade"
    result = escalate.fit(data, spec, seed=3, target_accept=TARGET_ACCEPT)
    assert result.diagnostics.passed, result.diagnostics.verdict
    post = result.tree["posterior"]
    for name in ("branching", "decay", "mu_verification", "mu_tier", "excite_verification_self",
                 "excite_verification_cross", "excite_tier"):
        draws = post[name].values.reshape((-1,) + post[name].shape[2:])
        lo, hi = np.quantile(draws, [0.03, 0.97], axis=0)
        assert np.all((lo <= truth[name]) & (truth[name] <= hi)), (name, lo, hi, truth[name])


@pytest.mark.slow
@pytest.mark.filterwarnings("default::escalate.inference.diagnostics.DiagnosticsWarning")
def test_at_decay_0_7_the_cascade_covers_the_branching_that_the_old_daily_likelihood_misses():
    """3,000 days of exact times at decay 0.7 (28% of offspring on their parent's day),
    aggregated to days, fitted both ways (2 chains x 500 draws, seed 1). MODEL.md 3b as written
    (no_same_day) puts b[0,0] and the spectral radius above the truth, outside their 94%
    intervals; the cascade's intervals hold every entry and the spectral radius. A cascade with
    the same-day share wrong (or zero) gives the old likelihood's answer and fails."""
    truth = {"mu_log": np.log([0.5, 0.4]), "branching": np.array([[0.35, 0.2], [0.15, 0.3]]), "decay": 0.7}
    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [3000.0]})
    covs = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    data = escalate.simulate(truth, truces, covs, ["x", "y"], seed=1).to_daily()
    rho = float(np.abs(np.linalg.eigvals(truth["branching"])).max())
    base = {"streams": ["x", "y"], "penalty_tiers": 1, "truce_effects": "none", "time_resolution": "day"}
    inside = {}
    for likelihood in ("no_same_day", "cascade"):
        spec = escalate.ModelSpec.from_dict({**base, "daily_likelihood": likelihood})
        fit = escalate.fit(data, spec, draws=500, tune=500, chains=2, seed=1)
        b = fit.tree["posterior"]["branching"].values.reshape(-1, 2, 2)
        lo, hi = np.quantile(b, [0.03, 0.97], axis=0)
        r_lo, r_hi = np.quantile(np.abs(np.linalg.eigvals(b)).max(axis=1), [0.03, 0.97])
        inside[likelihood] = {"branching": (lo <= truth["branching"]) & (truth["branching"] <= hi),
                              "rho": r_lo <= rho <= r_hi, "b00 low": lo[0, 0]}
    assert not inside["no_same_day"]["rho"] and not inside["no_same_day"]["branching"][0, 0], inside
    assert inside["no_same_day"]["b00 low"] > truth["branching"][0, 0]  # missed from above: the bias
    assert inside["cascade"]["rho"] and inside["cascade"]["branching"].all(), inside
