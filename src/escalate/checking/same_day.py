"""The same-day bias of daily likelihoods, measured by maximum likelihood on long simulated series.

Exact event times are simulated from a two-stream Hawkes process over one long truce, aggregated
to days, and fitted three ways by maximum likelihood with the kernels' own gradients: the
exact-time likelihood (MODEL.md 3a), the daily likelihood without same-day excitation
("no_same_day", MODEL.md 3b as written) and the cascade daily likelihood ("cascade", the
default, docs/model.md). Long series make the estimates' noise small, so what is left is each
likelihood's bias. ``benchmarks/daily_bias.py`` prints the table and notebook 03 plots it.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from escalate.data.truce_data import TruceData
from escalate.model.likelihood import log_likelihood
from escalate.model.simulate import simulate

#: The truth of the measurement: branching[source, target] and the daily baselines.
BRANCHING = np.array([[0.35, 0.2], [0.15, 0.3]])
MU = np.array([0.3, 0.2])
#: The three ways of fitting the same series: (label, resolution, log_likelihood keywords).
LIKELIHOODS = (("exact times", "exact", {}),
               ("daily, no_same_day", "day", {"daily_likelihood": "no_same_day"}),
               ("daily, cascade", "day", {"daily_likelihood": "cascade"}))


def max_likelihood(data: TruceData, start: dict, **kwargs) -> dict:
    """Maximum-likelihood ``mu_log``, ``branching`` and ``decay`` (no covariate effects), by
    L-BFGS-B on log scales with the kernel's gradient, from the parameters ``start``;
    ``kwargs`` go to :func:`escalate.log_likelihood` (``daily_likelihood``, ``observation``)."""
    K = len(data.streams)

    def unpack(theta):
        return {"mu_log": theta[:K], "branching": np.exp(theta[K:K + K * K]).reshape(K, K),
                "decay": float(np.exp(theta[-1]))}

    def objective(theta):
        p = unpack(theta)
        logp, g = log_likelihood(data, p, gradient=True, **kwargs)
        grad = np.concatenate([g["mu_log"], (g["branching"] * p["branching"]).ravel(), [g["decay"] * p["decay"]]])
        return -logp, -grad

    theta = np.r_[np.asarray(start["mu_log"], dtype=float), np.log(np.asarray(start["branching"]).ravel()),
                  np.log(start["decay"])]
    return unpack(minimize(objective, theta, jac=True, method="L-BFGS-B").x)


def same_day_bias(decays=(0.35, 0.7), days: int = 40_000, seeds=(1, 2, 3)) -> pd.DataFrame:
    """One row per decay, seed and likelihood: every branching entry's estimate over its truth
    (``b00`` .. ``b11``), the decay's (``decay_ratio``), the series' events and the seconds
    the fit took. Seeded: the same arguments give the same table."""
    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [float(days)]})
    covariates = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    rows = []
    for decay in decays:
        truth = {"mu_log": np.log(MU), "branching": BRANCHING, "decay": decay}
        for seed in seeds:
            exact = simulate(truth, truces, covariates, ["x", "y"], seed=seed)
            series = {"exact": exact, "day": exact.to_daily()}
            for label, resolution, kwargs in LIKELIHOODS:
                t0 = time.perf_counter()
                p = max_likelihood(series[resolution], truth, **kwargs)
                rows.append({"decay": decay, "seed": seed, "likelihood": label, "events": len(exact.events),
                             **{f"b{i}{k}": p["branching"][i, k] / BRANCHING[i, k] for i in range(2) for k in range(2)},
                             "decay_ratio": p["decay"] / decay, "seconds": time.perf_counter() - t0})
    return pd.DataFrame(rows)
