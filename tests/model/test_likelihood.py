"""The exact-time likelihood against an independent O(N^2) reference, and its gradient."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    assert_gradient_matches_finite_differences,
    random_params,
    random_tables,
)
from reference import exact_loglik

import escalate


@pytest.mark.parametrize("K", [1, 2, 3])
@pytest.mark.parametrize("J", [1, 3])
def test_matches_reference(K, J):
    rng = np.random.default_rng(1000 * K + J)
    events, truces, covs = random_tables(rng, K, J, extra=True)
    data = escalate.TruceData.from_frames(events, truces, covs)
    assert data.extra_names == ("intensity_index",)
    for _ in range(3):
        params = random_params(rng, K, J, C=1)
        got = escalate.log_likelihood(data, params)
        want = exact_loglik(data, params)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_intensities_far_from_one_neither_overflow_nor_underflow():
    """The kernel sums log lambda as the log of running products: intensities of 1e-300 (logged
    on their own) and 1e-109 (whose products leave the safe range every second event) must
    give the reference's sum exactly as intensities near 1 do."""
    rng = np.random.default_rng(11)
    events, truces, covs = random_tables(rng, K=3, J=2, n_per_truce=60, extra=True)
    data = escalate.TruceData.from_frames(events, truces, covs)
    params = random_params(rng, 3, 2, C=1)
    params["mu_log"] = np.array([-690.0, -250.0, 0.0])
    params["branching"] = np.array([[0.0, 0.0, 0.2], [0.0, 0.0, 0.3], [0.0, 0.0, 0.4]])
    got = escalate.log_likelihood(data, params)
    want = exact_loglik(data, params)
    assert np.isfinite(got) and got < -20_000  # some 40 events of each tiny stream
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("K,J", [(1, 1), (2, 3), (3, 1)])
def test_gradient_matches_finite_differences(K, J):
    rng = np.random.default_rng(7 * K + J)
    events, truces, covs = random_tables(rng, K, J, extra=True)
    data = escalate.TruceData.from_frames(events, truces, covs)
    params = random_params(rng, K, J, C=1)
    _, grads = escalate.log_likelihood(data, params, gradient=True)
    assert set(grads) == set(params) - {"truce_sd"}
    assert_gradient_matches_finite_differences(data, params, grads)


def test_ties_across_streams_do_not_excite_each_other():
    import pandas as pd

    truces = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "end": [10.0]})
    covs = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    events = pd.DataFrame({"truce_id": ["a", "a"], "time": [3.0, 3.0], "stream": ["x", "y"]})
    data = escalate.TruceData.from_frames(events, truces, covs)
    params = {"mu_log": np.log([0.2, 0.3]), "branching": np.full((2, 2), 0.4), "decay": 1.0}
    # both intensities at t=3 are the baselines only
    want = np.log(0.2) + np.log(0.3) - 0.5 * 10 - 2 * 0.4 * 2 * (1 - np.exp(-7.0))
    assert escalate.log_likelihood(data, params) == pytest.approx(want, rel=1e-12)


def test_matches_quadrature_of_the_intensity():
    """log L = sum log lambda(t_l) - integral of lambda, the integral by adaptive quadrature."""
    from scipy.integrate import quad

    rng = np.random.default_rng(3)
    events, truces, covs = random_tables(rng, K=2, J=1, n_per_truce=6)
    data = escalate.TruceData.from_frames(events, truces, covs)
    params = random_params(rng, 2, 1)
    seg, ev = data.segments, data.event_arrays()
    mt = np.concatenate([[0], params["mu_tier"]])
    et = np.concatenate([[0], params["excite_tier"]])
    w = params["decay"]

    def lam(t, k, strict=True):
        s = np.searchsorted(seg.start, t, side="right") - 1
        out = np.exp(params["mu_log"][k] + params["truce_effect"][0, k]
                     + params["mu_verification"] * seg.verification[s] + mt[seg.tier[s, k]])
        for tm, i, sm in zip(ev["times"], ev["streams"], ev["segment"]):
            if tm < t:
                e = params["excite_verification_self"] if i == k else params["excite_verification_cross"]
                a = params["branching"][i, k] * np.exp(e * seg.verification[sm] + et[seg.tier[sm, k]])
                out += a * w * np.exp(-w * (t - tm))
        return out

    T = data.durations[0]
    cuts = np.unique(np.concatenate([[0.0, T], seg.start, ev["times"]]))
    integral = sum(quad(lam, a, b, args=(k,), epsabs=1e-13, epsrel=1e-13)[0]
                   for a, b in zip(cuts[:-1], cuts[1:]) for k in range(2))
    sum_log = sum(np.log(lam(t, k)) for t, k in zip(ev["times"], ev["streams"]))
    assert escalate.log_likelihood(data, params) == pytest.approx(sum_log - integral, rel=1e-9)
