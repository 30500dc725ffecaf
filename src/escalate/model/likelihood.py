"""Log-likelihood of a parameter set, without building a PyMC model."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from escalate.data.truce_data import TruceData
from escalate.errors import ParameterError
from escalate.model.kernels import (
    NEGATIVE_BINOMIAL,
    POISSON,
    daily_loglik_grad,
    exact_loglik_grad,
)
from escalate.model.parameters import kernel_order, normalize_params
from escalate.model.spec import DAILY_LIKELIHOODS

OBSERVATIONS = {"poisson": POISSON, "negative_binomial": NEGATIVE_BINOMIAL}


#: The parameters the compiled kernels take, in their argument order: the kernels' contract,
#: which the registry's ``kernel_slot`` order must match.
KERNEL_PARAMETERS = ("mu_log", "truce_effect", "mu_verification", "mu_tier", "mu_covariate", "branching",
                     "excite_verification_self", "excite_verification_cross", "excite_tier", "decay")


def check_kernel_order(observation: str = "poisson") -> tuple[str, ...]:
    """The registry's kernel order, checked against what the kernels take (a clear error, never
    a parameter silently dropped or misplaced)."""
    order = kernel_order(observation)
    expected = KERNEL_PARAMETERS + (("dispersion",) if observation == "negative_binomial" else ())
    if order != expected:
        extra = sorted(set(order) - set(expected))
        raise ParameterError(
            f"the parameter registry puts {list(order)} into the likelihood kernels, which take "
            f"{list(expected)}" + (f"; the kernels have no place for {extra}: extend model/kernels.py and "
                                   f"model/ops.py before giving it a kernel_slot" if extra else ""))
    return order


def kernel_data(data: TruceData) -> tuple[np.ndarray, ...]:
    """The data arrays of the exact-time kernel, in its argument order (prepared once per data)."""
    ev = data.event_arrays()
    seg = data.segments
    return (ev["times"], ev["streams"], ev["segment"], ev["truce_offsets"],
            data.durations.astype(float), seg.truce, seg.start, seg.end, seg.verification,
            seg.tier, seg.extra)


def daily_kernel_data(data: TruceData) -> tuple[np.ndarray, ...]:
    """The data arrays of the daily kernel, in its argument order (prepared once per data).

    Each truce's history window (:attr:`TruceData.history`, days before its start) comes first
    among its days, marked ``span = 0``: those counts excite the truce's days but are not
    modelled. Missing days (NaN) and multi-day reports (``span``): see
    :func:`escalate.model.kernels.daily_loglik_grad`."""
    days = data.history_and_days()
    seg = data.segments
    return (days["counts"], days["segment"], days["day_offsets"], days["span"], seg.truce,
            seg.verification, seg.tier, seg.extra)


@dataclass(frozen=True)
class Prepared:
    """What a likelihood call needs from a data set, computed once per data set."""

    arrays: tuple[np.ndarray, ...]
    K: int
    J: int
    C: int
    n_tiers_observed: int


#: Prepared kernel inputs per data set (TruceData is immutable; entries go with their data).
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def prepared(data: TruceData) -> Prepared:
    """The kernel inputs of ``data`` for its resolution, prepared on first use and reused: users
    call :func:`log_likelihood` in loops (maximum likelihood, profiles)."""
    found = _PREPARED.get(data)
    if found is None:
        arrays = kernel_data(data) if data.resolution == "exact" else daily_kernel_data(data)
        found = Prepared(arrays, len(data.streams), len(data.truce_ids), len(data.extra_names),
                         data.n_tiers_observed)
        _PREPARED[data] = found
    return found


def n_tiers_for(params: Mapping, n_tiers_observed: int) -> int:
    """P implied by a parameter dict (length of mu_tier/excite_tier + 1), else the data's count."""
    for name in ("mu_tier", "excite_tier"):
        if name in params:
            return int(np.shape(params[name])[0]) + 1
    return n_tiers_observed


def log_likelihood(data: TruceData, params: Mapping, *, gradient: bool = False,
                   observation: str = "poisson", daily_likelihood: str = "cascade"):
    """Log-likelihood at a dict of MODEL.md-named parameters: exact (3a) or daily (3b).

    Parameters
    ----------
    data : TruceData
        ``data.resolution`` picks the likelihood: exact event times or daily counts.
    params : mapping of str to array_like
        ``mu_log[K]``, ``branching[source, target]``, ``decay`` (per day) required; optional
        ``truce_effect[J, K]``, ``mu_verification``, ``mu_tier[P-1]``, ``mu_covariate[C]``,
        ``excite_verification_self``, ``excite_verification_cross``, ``excite_tier[P-1]``;
        ``dispersion`` (phi > 0, one per stream or one shared) for the negative binomial.
        Streams in ``data.streams`` order.
    gradient : bool
        Also return a dict of gradients with the same names and shapes.
    observation : {"poisson", "negative_binomial"}
        Daily data only: the count distribution (variance Lam + Lam^2 / dispersion for the NB).
    daily_likelihood : {"cascade", "no_same_day"}
        Daily data only: "cascade" (the default: the day's counts jointly, same-day offspring
        included; docs/model.md) or "no_same_day" (MODEL.md 3b as written: offspring count
        from the day after their parent's; kept for comparison).

    Returns
    -------
    float, or (float, dict)
        The daily log-likelihood includes the -log(y!) constants.
    """
    if observation not in OBSERVATIONS:
        raise ParameterError(f"observation must be one of {sorted(OBSERVATIONS)}, got {observation!r}")
    if daily_likelihood not in DAILY_LIKELIHOODS:
        raise ParameterError(f"daily_likelihood must be one of {list(DAILY_LIKELIHOODS)}, got {daily_likelihood!r}")
    ready = prepared(data)
    K, J, C = ready.K, ready.J, ready.C
    P = n_tiers_for(params, ready.n_tiers_observed)
    if P < ready.n_tiers_observed:
        raise ParameterError(f"the data has penalty tiers up to {ready.n_tiers_observed - 1} but the "
                             f"parameters cover tiers 0..{P - 1}; give mu_tier/excite_tier of "
                             f"length {ready.n_tiers_observed - 1}")
    p = normalize_params(params, K, J, P, C)
    names = list(check_kernel_order())
    args = [p[n] if p[n].ndim else float(p[n]) for n in names]
    if data.resolution == "exact":
        if observation != "poisson":
            raise ParameterError("exact event times have a point-process likelihood; the negative "
                                 "binomial applies to daily counts (data.to_daily())")
        out = exact_loglik_grad(*ready.arrays, *args)
    else:
        dispersion = np.ones(K)
        if observation == "negative_binomial":
            given = np.asarray(params.get("dispersion", np.nan), dtype=float)
            if given.ndim > 1 or given.size not in (1, K) or not np.all(given > 0):
                raise ParameterError(f"the negative binomial needs 'dispersion' > 0: one value, or one per "
                                     f"stream ({K}); got {params.get('dispersion')!r}")
            dispersion = np.broadcast_to(given, (K,)).astype(float).copy()
            p["dispersion"] = dispersion if given.ndim else np.asarray(float(given))
            names.append("dispersion")
        out = daily_loglik_grad(*ready.arrays, *args, OBSERVATIONS[observation], dispersion,
                                1 if daily_likelihood == "cascade" else 0)
    logp = float(out[0])
    if not gradient:
        return logp
    grads = {name: np.asarray(g, dtype=float) for name, g in zip(names, out[1:])}
    if "dispersion" in grads and p["dispersion"].ndim == 0:  # one shared value: the sum over streams
        grads["dispersion"] = np.asarray(grads["dispersion"].sum())
    grads = {name: g.reshape(p[name].shape) for name, g in grads.items()}
    return logp, grads
