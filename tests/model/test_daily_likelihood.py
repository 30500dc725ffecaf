"""Day-resolution data and the daily likelihood (MODEL.md 3b)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import assert_gradient_matches_finite_differences, random_params
from reference import daily_loglik

import escalate
from escalate import TruceData


def random_daily(rng, K, J, P=3, extra=False):
    streams = [f"s{k}" for k in range(K)]
    truces, covs, rows = [], [], []
    for j in range(J):
        start, D = 100 * j, int(rng.integers(15, 30))
        truces.append({"truce_id": f"t{j}", "start": float(start), "end": float(start + D)})
        base = {"truce_id": f"t{j}", "start": float(start), "stream": None,
                "verification": float(rng.uniform()), "penalty_tier": int(rng.integers(0, P))}
        if extra:
            base["index"] = float(rng.normal())
        covs.append(base)
        for cut in sorted(rng.choice(np.arange(1, D), 2, replace=False)):
            v = float(rng.uniform())
            for s in streams:
                row = {"truce_id": f"t{j}", "start": float(start + cut), "stream": s, "verification": v,
                       "penalty_tier": int(rng.integers(0, P))}
                if extra:
                    row["index"] = base["index"] - 0.3
                covs.append(row)
        for d in range(D):
            for s in streams:
                rows.append({"date": float(start + d), "stream": s, "count": int(rng.poisson(2.0))})
    return pd.DataFrame(rows), pd.DataFrame(truces), pd.DataFrame(covs)


@pytest.mark.parametrize("K,J", [(1, 1), (2, 3), (3, 1)])
@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
def test_daily_matches_reference(K, J, observation):
    rng = np.random.default_rng(50 * K + J)
    counts, truces, covs = random_daily(rng, K, J, extra=True)
    data = TruceData.from_daily_counts(counts, truces, covs)
    assert data.resolution == "day"
    for _ in range(2):
        params = {**random_params(rng, K, J, C=1), "dispersion": float(rng.uniform(0.5, 5))}
        got = escalate.log_likelihood(data, params, observation=observation)
        assert got == pytest.approx(daily_loglik(data, params, observation), rel=1e-9)


@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
def test_daily_gradient_matches_finite_differences(observation):
    rng = np.random.default_rng(5)
    counts, truces, covs = random_daily(rng, 2, 2, extra=True)
    data = TruceData.from_daily_counts(counts, truces, covs)
    params = {**random_params(rng, 2, 2, C=1), "dispersion": 1.7}
    _, grads = escalate.log_likelihood(data, params, gradient=True, observation=observation)
    assert ("dispersion" in grads) == (observation == "negative_binomial")
    assert_gradient_matches_finite_differences(data, params, grads, observation=observation)
