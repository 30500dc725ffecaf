"""Log-likelihood of a parameter set, without building a PyMC model."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from escalate.data.truce_data import TruceData
from escalate.errors import ParameterError
from escalate.model.kernels import (
    NEGATIVE_BINOMIAL,
    POISSON,
    daily_loglik_grad,
    exact_loglik_grad,
)
from escalate.model.parameters import KERNEL_ORDER, normalize_params

OBSERVATIONS = {"poisson": POISSON, "negative_binomial": NEGATIVE_BINOMIAL}


def kernel_data(data: TruceData) -> tuple[np.ndarray, ...]:
    """The data arrays of the exact-time kernel, in its argument order."""
    ev = data.event_arrays()
    seg = data.segments
    return (ev["times"], ev["streams"], ev["segment"], ev["truce_offsets"],
            data.durations.astype(float), seg.truce, seg.start, seg.end, seg.verification,
            seg.tier, seg.extra)


def daily_kernel_data(data: TruceData) -> tuple[np.ndarray, ...]:
    """The data arrays of the daily kernel, in its argument order."""
    days = data.daily_arrays()
    seg = data.segments
    return (days["counts"], days["segment"], days["day_offsets"], seg.truce, seg.verification,
            seg.tier, seg.extra)


def n_tiers_for(data: TruceData, params: Mapping) -> int:
    """P implied by a parameter dict (length of mu_tier/excite_tier + 1), else by the data."""
    for name in ("mu_tier", "excite_tier"):
        if name in params:
            return int(np.asarray(params[name]).shape[0]) + 1
    return data.n_tiers_observed


def log_likelihood(data: TruceData, params: Mapping, *, gradient: bool = False,
                   observation: str = "poisson"):
    """Log-likelihood at a dict of MODEL.md-named parameters: exact (3a) or daily (3b).

    Parameters
    ----------
    data : TruceData
        ``data.resolution`` picks the likelihood: exact event times or daily counts.
    params : mapping of str to array_like
        ``mu_log[K]``, ``branching[source, target]``, ``decay`` (per day) required; optional
        ``truce_effect[J, K]``, ``mu_verification``, ``mu_tier[P-1]``, ``mu_covariate[C]``,
        ``excite_verification_self``, ``excite_verification_cross``, ``excite_tier[P-1]``;
        ``dispersion`` (phi > 0) for the negative binomial. Streams in ``data.streams`` order.
    gradient : bool
        Also return a dict of gradients with the same names and shapes.
    observation : {"poisson", "negative_binomial"}
        Daily data only: the count distribution (variance Lam + Lam^2 / dispersion for the NB).

    Returns
    -------
    float, or (float, dict)
        The daily log-likelihood includes the -log(y!) constants.
    """
    if observation not in OBSERVATIONS:
        raise ParameterError(f"observation must be one of {sorted(OBSERVATIONS)}, got {observation!r}")
    K, J, C = len(data.streams), len(data.truce_ids), len(data.extra_names)
    P = n_tiers_for(data, params)
    if P < data.n_tiers_observed:
        raise ParameterError(f"the data has penalty tiers up to {data.n_tiers_observed - 1} but the "
                             f"parameters cover tiers 0..{P - 1}; give mu_tier/excite_tier of "
                             f"length {data.n_tiers_observed - 1}")
    p = normalize_params(params, K, J, P, C)
    args = [p[n] if p[n].ndim else float(p[n]) for n in KERNEL_ORDER]
    names = list(KERNEL_ORDER)
    if data.resolution == "exact":
        if observation != "poisson":
            raise ParameterError("exact event times have a point-process likelihood; the negative "
                                 "binomial applies to daily counts (data.to_daily())")
        out = exact_loglik_grad(*kernel_data(data), *args)
    else:
        dispersion = 1.0
        if observation == "negative_binomial":
            if "dispersion" not in params or not float(params["dispersion"]) > 0:
                raise ParameterError("the negative binomial needs 'dispersion' > 0")
            dispersion = float(params["dispersion"])
            p["dispersion"] = np.asarray(dispersion)
            names.append("dispersion")
        out = daily_loglik_grad(*daily_kernel_data(data), *args, OBSERVATIONS[observation], dispersion)
    logp = float(out[0])
    if not gradient:
        return logp
    grads = {name: np.asarray(g, dtype=float).reshape(p[name].shape) for name, g in zip(names, out[1:])}
    return logp, grads
