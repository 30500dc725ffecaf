"""Test helpers: random data sets with covariate change points and per-stream tiers, gradient checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import escalate


def random_tables(rng: np.random.Generator, K: int, J: int, n_per_truce: int = 25, P: int = 3,
                  extra: bool = False):
    """Events, truces and covariates (float clock) with change points inside the windows."""
    streams = [f"s{k}" for k in range(K)]
    truces, events, covs = [], [], []
    for j in range(J):
        start = 100.0 * j
        T = float(rng.uniform(20, 40))
        truces.append({"truce_id": f"t{j}", "start": start, "end": start + T})
        times = np.sort(rng.uniform(0, T, n_per_truce))
        kinds = rng.integers(0, K, n_per_truce)
        for t, k in zip(times, kinds):
            events.append({"truce_id": f"t{j}", "time": start + t, "stream": streams[k]})
        if K > 1:  # one tie across streams: allowed, and must not self-excite
            t_tie = start + float(times[n_per_truce // 2])
            k_tie = (int(kinds[n_per_truce // 2]) + 1) % K
            events.append({"truce_id": f"t{j}", "time": t_tie, "stream": streams[k_tie]})
        row = {"truce_id": f"t{j}", "start": start, "stream": None,
               "verification": float(rng.uniform(0, 1)), "penalty_tier": int(rng.integers(0, P))}
        if extra:
            row["intensity_index"] = float(rng.normal())
        covs.append(row)
        for cut in np.sort(rng.uniform(0, T, 2)):
            v = float(rng.uniform(0, 1))
            for s in streams:  # per-stream tiers
                r = {"truce_id": f"t{j}", "start": start + float(cut), "stream": s,
                     "verification": v, "penalty_tier": int(rng.integers(0, P))}
                if extra:
                    r["intensity_index"] = row["intensity_index"] + 0.5
                covs.append(r)
    return pd.DataFrame(events), pd.DataFrame(truces), pd.DataFrame(covs)


def random_params(rng: np.random.Generator, K: int, J: int, P: int = 3, C: int = 0) -> dict:
    return {
        "mu_log": rng.normal(-1.0, 0.3, K),
        "truce_effect": rng.normal(0, 0.3, (J, K)),
        "mu_verification": float(rng.normal(0, 0.5)),
        "mu_tier": rng.normal(0, 0.5, P - 1),
        "mu_covariate": rng.normal(0, 0.5, C),
        "branching": rng.uniform(0.1, 0.5, (K, K)),
        "excite_verification_self": float(rng.normal(0, 0.5)),
        "excite_verification_cross": float(rng.normal(0, 0.5)),
        "excite_tier": rng.normal(0, 0.5, P - 1),
        "decay": float(rng.uniform(0.3, 2.0)),
    }


def assert_gradient_matches_finite_differences(data, params, grads, h=1e-6, **kwargs):
    """Every gradient entry against a central difference of escalate.log_likelihood.

    Central differences have O(h^2) truncation and O(eps / h) rounding error: 1e-5 relative.
    """
    for name, g in grads.items():
        base = np.atleast_1d(np.asarray(params[name], dtype=float))
        shape = np.shape(params[name])
        for idx in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[idx] += h
            down[idx] -= h
            f = [escalate.log_likelihood(data, {**params, name: x.reshape(shape)}, **kwargs) for x in (up, down)]
            assert np.atleast_1d(g)[idx] == pytest.approx((f[0] - f[1]) / (2 * h), rel=1e-5, abs=1e-6), (name, idx)


#: Parameters of the two-truce set of the checking tests (streams x, y; tiers 0..1).
CHECK_TRUTH = {"mu_log": np.log([0.8, 0.4]), "branching": np.array([[0.3, 0.2], [0.25, 0.2]]), "decay": 0.5,
               "mu_tier": np.array([-0.3]), "excite_verification_cross": -0.5}


def two_truce_tables(T=200.0):
    """Truces a and b (float clock, T days each) with a verification and tier change in a."""
    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 300.0], "end": [T, 300.0 + T]})
    covs = pd.DataFrame({"truce_id": ["a", "a", "b"], "start": [0.0, 80.0, 300.0], "verification": [0.2, 0.6, 0.5],
                         "penalty_tier": [0, 1, 1]})
    return truces, covs
