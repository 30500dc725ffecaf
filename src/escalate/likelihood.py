"""Log-likelihood of a parameter set, without building a PyMC model."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from escalate.data import TruceData
from escalate.errors import ParameterError
from escalate.kernels.exact import exact_loglik_grad
from escalate.params import KERNEL_ORDER, normalize_params


def kernel_data(data: TruceData) -> tuple[np.ndarray, ...]:
    """The data arrays of the exact-time kernel, in its argument order."""
    ev = data.event_arrays()
    seg = data.segments
    return (ev["times"], ev["streams"], ev["segment"], ev["truce_offsets"],
            data.durations.astype(float), seg.truce, seg.start, seg.end, seg.verification,
            seg.tier, seg.extra)


def n_tiers_for(data: TruceData, params: Mapping) -> int:
    """P implied by a parameter dict (length of mu_tier/excite_tier + 1), else by the data."""
    for name in ("mu_tier", "excite_tier"):
        if name in params:
            return int(np.asarray(params[name]).shape[0]) + 1
    return data.n_tiers_observed


def log_likelihood(data: TruceData, params: Mapping, *, gradient: bool = False):
    """Exact log-likelihood (MODEL.md 3a) at a dict of MODEL.md-named parameters.

    Parameters
    ----------
    data : TruceData
    params : mapping of str to array_like
        ``mu_log[K]``, ``branching[source, target]``, ``decay`` (per day) required; optional
        ``truce_effect[J, K]``, ``mu_verification``, ``mu_tier[P-1]``, ``mu_covariate[C]``,
        ``excite_verification_self``, ``excite_verification_cross``, ``excite_tier[P-1]``.
        Streams in ``data.streams`` order.
    gradient : bool
        Also return a dict of gradients with the same names and shapes.

    Returns
    -------
    float, or (float, dict)
    """
    if data.resolution != "exact":
        raise ParameterError("this data set is day-resolution; the daily likelihood is not available yet")
    K, J, C = len(data.streams), len(data.truce_ids), len(data.extra_names)
    P = n_tiers_for(data, params)
    if P < data.n_tiers_observed:
        raise ParameterError(f"the data has penalty tiers up to {data.n_tiers_observed - 1} but the "
                             f"parameters cover tiers 0..{P - 1}; give mu_tier/excite_tier of "
                             f"length {data.n_tiers_observed - 1}")
    p = normalize_params(params, K, J, P, C)
    out = exact_loglik_grad(*kernel_data(data), *(p[n] if p[n].ndim else float(p[n]) for n in KERNEL_ORDER))
    logp = float(out[0])
    if not gradient:
        return logp
    grads = {name: np.asarray(g, dtype=float).reshape(p[name].shape) for name, g in zip(KERNEL_ORDER, out[1:])}
    return logp, grads
