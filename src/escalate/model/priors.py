"""Draws from a spec's priors (for posterior-vs-prior figures and simulation-based calibration)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from escalate.model.parameters import parameter, present


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


def draw_prior(spec, dims, rng: np.random.Generator, symbolic: dict | None = None) -> dict:
    """One draw of every parameter the spec's model has at ``dims``, from its prior, in
    registry (MODEL.md) order; a pooled effect is its scale's draw times standard normals
    (non-centred), a random walk (the baseline log-hazard) its first level from the prior and
    each later level the previous plus its step scale times a standard normal. A prior whose mean is symbolic (``log_observed_rate``) takes its value from
    ``symbolic`` (an array per element) and is drawn Normal(value, sigma)."""

    def draw(name, shape=()):
        size = int(np.prod(shape)) if shape else 1
        params = dict(spec.prior(name).params)
        if isinstance(params.get("mu"), str):
            centre = np.broadcast_to(np.asarray(symbolic[params["mu"]], dtype=float), shape or (1,))
            values = centre.ravel() + params["sigma"] * rng.standard_normal(size)
        else:
            values = prior_draws(spec, name, n=size, seed=int(rng.integers(2**31)))
        return values.reshape(shape) if shape else float(values[0])

    params = {}
    for entry in present(spec, dims):
        shape = dims.shape(entry.dims)
        if entry.structure == "random_walk":
            # the first level from the prior, each later one the previous plus step-sd noise
            steps = params[entry.scale] * rng.standard_normal(shape)
            steps[0] = np.ravel(draw(entry.name, (1,)))[0]
            params[entry.name] = np.cumsum(steps)
        elif entry.scale is not None:
            params[entry.name] = params[entry.scale] * rng.standard_normal(shape)
        else:
            params[entry.name] = draw(entry.name, shape)
    return params
