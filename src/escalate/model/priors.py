"""Draws from a spec's priors (for posterior-vs-prior figures and simulation-based calibration)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from escalate.model.parameters import parameter


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


#: The parameters that set the effective branching matrix (MODEL.md 2), hence the spectral radius.
EXCITATION = ("branching", "excite_verification_self", "excite_verification_cross", "excite_tier")


def prior_excitation(spec, dims, n: int = 4000, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` prior draws (leading dim) of the excitation parameters of a spec's model at
    ``dims``; a parameter the model does not have takes its registry value (zero effects)."""
    out = {}
    for i, name in enumerate(EXCITATION):
        entry = parameter(name)
        shape = dims.shape(entry.dims)
        if entry.exists(spec, dims):
            size = n * int(np.prod(shape)) if shape else n
            out[name] = np.asarray(prior_draws(spec, name, n=size, seed=seed + i), dtype=float).reshape((n, *shape))
        else:
            out[name] = np.full((n, *shape), float(entry.fixed))
    return out
