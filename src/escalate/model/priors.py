"""Draws from a spec's priors (for posterior-vs-prior figures and simulation-based calibration)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def prior_draws(spec, name: str, n: int = 4000, seed: int = 0) -> np.ndarray:
    """Draws of a scalar prior from the spec (for posterior-vs-prior figures)."""
    prior = spec.prior(name)
    params = dict(prior.params)
    rng = np.random.default_rng(seed)
    dists = {
        "Normal": lambda: stats.norm(params["mu"], params["sigma"]),
        "HalfNormal": lambda: stats.halfnorm(scale=params["sigma"]),
        "LogNormal": lambda: stats.lognorm(s=params["sigma"], scale=np.exp(params["mu"])),
        "Gamma": lambda: stats.gamma(params["alpha"], scale=1 / params["beta"]),
        "Exponential": lambda: stats.expon(scale=1 / params["lam"]),
        "StudentT": lambda: stats.t(params["nu"], params["mu"], params["sigma"]),
    }
    return dists[prior.dist]().rvs(size=n, random_state=rng)
