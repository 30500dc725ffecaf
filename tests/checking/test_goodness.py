"""Model checking: PIT residuals, posterior predictive checks, SBC, and backtests."""

from __future__ import annotations

import numpy as np
from helpers import CHECK_TRUTH, two_truce_tables

import escalate
from escalate.checking.goodness import (
    pit_test,
    posterior_predictive_check,
    qq_data,
    randomized_pit,
    rescaled_gaps,
)


def truth_fit(data, spec, **change):
    draws = {k: np.asarray(v, dtype=float)[None] for k, v in {**CHECK_TRUTH, **change}.items()}
    return escalate.fit_from_draws(data, spec, draws)


def test_randomized_pit_is_uniform_at_the_truth_and_not_when_wrong():
    data = escalate.simulate(CHECK_TRUTH, *two_truce_tables(), ["x", "y"], seed=4).to_daily()
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "time_resolution": "day", "truce_effects": "none"})
    good = pit_test(randomized_pit(truth_fit(data, spec), seed=1))
    assert (good["p_value"] > 0.01).all(), good
    bad = pit_test(randomized_pit(truth_fit(data, spec, mu_log=np.log([2.0, 0.1]), branching=np.zeros((2, 2))), seed=1))
    assert (bad["p_value"] < 0.01).all(), bad


def test_posterior_predictive_checks_and_qq_data():
    data = escalate.simulate(CHECK_TRUTH, *two_truce_tables(), ["x", "y"], seed=5)
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "truce_effects": "none"})
    draws = {k: np.repeat(np.asarray(v, dtype=float)[None], 60, axis=0) for k, v in CHECK_TRUTH.items()}
    ppc = posterior_predictive_check(escalate.fit_from_draws(data, spec, draws), draws=60, seed=2)
    assert set(ppc["stream"]) == {"x", "y"} and len(ppc) == 10
    assert ((ppc["p_value"] > 0.005) & (ppc["p_value"] < 0.995)).all(), ppc
    # without excitation the replicated counts are far less clustered than the observed ones
    calm = escalate.fit_from_draws(data, spec, {**draws, "branching": np.zeros((60, 2, 2)),
                                                "mu_log": np.repeat(np.log(data.observed_rates())[None], 60, 0)})
    variance = posterior_predictive_check(calm, draws=60, seed=2).set_index(["statistic", "stream"])["p_value"]
    assert variance[("variance of 7-day counts", "x")] < 0.01
    qq = qq_data(rescaled_gaps(data, CHECK_TRUTH)["x"])
    assert list(qq.columns) == ["theoretical", "observed"] and qq["observed"].is_monotonic_increasing
