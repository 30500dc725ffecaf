"""Model checking: PIT residuals, posterior predictive checks, SBC, and backtests."""

from __future__ import annotations

import pandas as pd
import pytest

import escalate
from escalate.checking.sbc import sbc


@pytest.mark.slow
def test_sbc_ranks_are_uniform():
    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 0.0], "end": [90.0, 90.0]})
    covs = pd.DataFrame({"truce_id": ["a", "a", "b", "b"], "start": [0.0, 45.0, 0.0, 45.0],
                         "verification": [0.1, 0.6, 0.4, 0.9], "penalty_tier": [0, 1, 1, 0]})
    spec = escalate.ModelSpec.from_dict({
        "streams": ["x", "y"], "penalty_tiers": 2, "truce_effects": "none",
        "priors": {"mu_log": {"dist": "Normal", "mu": -0.5, "sigma": 0.4},
                   "branching": {"dist": "Gamma", "alpha": 2.0, "beta": 8.0},
                   "excite_verification_self": {"dist": "Normal", "mu": 0.0, "sigma": 0.5},
                   "excite_verification_cross": {"dist": "Normal", "mu": 0.0, "sigma": 0.5},
                   "excite_tier": {"dist": "Normal", "mu": 0.0, "sigma": 0.5},
                   "decay": {"dist": "LogNormal", "mu": -0.7, "sigma": 0.5}}})
    result = sbc(spec, truces, covs, 20, parameters=("decay", "branching[0, 1]", "excite_verification_cross"),
                 draws=200, tune=300, chains=2, thin=2, seed=11)
    assert result.skipped <= 2  # explosive prior draws are rare under these priors
    table = result.uniformity(bins=4)
    assert (table["replicates"] >= 18).all()
    # 3 parameters at the 1% level: a miscalibrated likelihood or prior mapping fails this
    assert (table["p_value"] > 0.01).all(), table


def test_a_day_resolution_replicate_is_simulated_from_the_daily_model_with_its_dispersion():
    """SBC of a day spec simulates from the day model itself: with dispersion 0.5 and no
    excitation a day's count is negative binomial, variance mean + mean^2 / 0.5; event times
    aggregated to days (what SBC used to do) are Poisson, variance = mean."""
    import numpy as np

    from escalate.checking.sbc import simulate_days

    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 0.0], "end": [400.0, 400.0]})
    covs = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 0.0], "verification": [0.3, 0.3],
                         "penalty_tier": [0, 0]})
    spec = escalate.ModelSpec.from_dict({"streams": ["x", "y"], "penalty_tiers": 1, "truce_effects": "none",
                                         "time_resolution": "day", "observation": "negative_binomial"})
    truth = {"mu_log": np.log([2.0, 0.5]), "branching": np.full((2, 2), 1e-9), "decay": 1.0,
             "excite_verification_self": 0.0, "excite_verification_cross": 0.0, "mu_verification": 0.0,
             "dispersion": 0.5}
    data = simulate_days(spec, truth, truces, covs, seed=4)
    assert data.resolution == "day" and len(data.counts) == 2 * 400 * 2
    for stream, mean in (("x", 2.0), ("y", 0.5)):
        y = data.counts.loc[data.counts["stream"] == stream, "count"].to_numpy()
        assert abs(y.mean() / mean - 1) < 0.15
        assert abs(y.var() / (mean + mean ** 2 / 0.5) - 1) < 0.3, (stream, y.var())
    again = simulate_days(spec, truth, truces, covs, seed=4)
    assert again.counts.equals(data.counts)


@pytest.mark.slow
def test_sbc_of_the_corpus_hazard_ranks_are_uniform():
    """SBC of the ETH/PRIO hazard spec (models/ceasefire-corpus.toml, its baseline prior made
    numeric) on simulated corpora of 300 truces: 20 replicates, ranks of the first bin's
    baseline, the verification effect and the group scale consistent with uniform. A baseline
    drawn as a pooled effect instead of a random walk (the bug draw_prior had) puts every true
    first level near 0, far above any posterior, and fails at once."""
    import numpy as np

    from escalate.checking.sbc import sbc_corpus

    raw = escalate.ModelSpec.bundled("ceasefire-corpus").to_dict()
    raw["priors"]["hazard_baseline"] = {"dist": "Normal", "mu": float(np.log(0.002)), "sigma": 1.0}
    spec = escalate.ModelSpec.from_dict(raw)
    result = sbc_corpus(spec, 20, parameters=("hazard_baseline[0]", "hazard_verification", "hazard_group_sd"),
                        draws=200, tune=300, chains=2, thin=2, seed=3)
    table = result.uniformity(bins=4)
    assert (table["replicates"] == 20).all() and result.skipped == 0
    assert (table["p_value"] > 0.01).all(), table
