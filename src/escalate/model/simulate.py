"""Exact simulation of the covariate-driven Hawkes process by its branching structure.

Immigrants arrive as an inhomogeneous Poisson process with the piecewise-constant baseline;
each event at time s in stream i has Poisson(alpha_{i,k}(s)) direct offspring in stream k at
s + Exponential(decay) (alpha uses the covariates at the parent's time, as in MODEL.md 2).
Generation by generation this is exact, with no thinning bound needed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from escalate.data.truce_data import TruceData
from escalate.errors import SimulationExplosionError
from escalate.model.likelihood import n_tiers_for
from escalate.model.parameters import normalize_params

#: Default cap on simulated events per truce; beyond it the parameters are deemed explosive.
MAX_EVENTS = 1_000_000


def simulate(params: Mapping, truces, covariates, streams, seed, *, max_events: int = MAX_EVENTS) -> TruceData:
    """Simulate event times from the model.

    Parameters
    ----------
    params : mapping
        MODEL.md-named parameters (see :func:`escalate.log_likelihood`), streams in ``streams`` order.
    truces, covariates : DataFrame or path
        As for :meth:`TruceData.from_frames`; the windows to simulate and their covariates.
    streams : sequence of str
    seed : int or numpy.random.Generator
    max_events : int
        Cap per truce. A parameter set whose spectral radius is at or above 1 produces
        ever more events; when a truce exceeds the cap a
        :class:`~escalate.errors.SimulationExplosionError` is raised saying so.

    Returns
    -------
    TruceData
        Exact-time data on the clock of ``truces``, with provenance recording params and seed.
    """
    rng = np.random.default_rng(seed)
    streams = tuple(streams)
    frame = TruceData.windows(truces, covariates, streams)
    K, J, C = len(streams), len(frame.truce_ids), len(frame.extra_names)
    p = normalize_params(params, K, J, n_tiers_for(params, frame.n_tiers_observed), C)
    seg = frame.segments
    rows = []
    for j, truce_id in enumerate(frame.truce_ids):
        times, kinds = simulate_truce(p, seg, j, float(frame.durations[j]), rng, max_events, truce_id)
        clock_times = frame.to_user_clock(np.full(len(times), truce_id, dtype=object), times).to_numpy()
        rows.append(pd.DataFrame({"truce_id": truce_id, "time": clock_times,
                                  "stream": np.asarray(streams, dtype=object)[kinds]}))
    events = pd.concat(rows, ignore_index=True)
    seed_info = seed if isinstance(seed, int | np.integer) else repr(seed)
    provenance = {"simulated": {"seed": seed_info,
                                "params": {k: np.asarray(v).tolist() for k, v in p.items()}}}
    return TruceData.from_frames(events, frame.truces[["truce_id", "start", "end"]],
                                 frame.covariate_rows(), streams=streams, provenance=provenance)


def simulate_truce(p: dict, seg, j: int, T: float, rng: np.random.Generator, max_events: int,
                   truce_id: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Event times (days) and stream indices for truce ``j`` of a segment table, sorted."""
    lo, hi = seg.offsets[j], seg.offsets[j + 1]
    K = seg.tier.shape[1]
    mt = np.concatenate([[0.0], p["mu_tier"]])
    et = np.concatenate([[0.0], p["excite_tier"]])
    times, kinds = [], []
    for s in range(lo, hi):  # immigrants, segment by segment
        length = seg.end[s] - seg.start[s]
        eta = (p["mu_log"] + p["truce_effect"][j] + p["mu_verification"] * seg.verification[s]
               + mt[seg.tier[s]] + seg.extra[s] @ p["mu_covariate"])
        n = rng.poisson(np.exp(eta) * length)
        for k in range(K):
            times.append(seg.start[s] + rng.uniform(0.0, length, n[k]))
            kinds.append(np.full(n[k], k, dtype=np.int64))
    parents_t, parents_k = np.concatenate(times), np.concatenate(kinds)
    eye = np.eye(K, dtype=bool)
    total = len(parents_t)
    while len(parents_t):
        s = seg.locate(np.full(len(parents_t), j), parents_t)
        v = seg.verification[s][:, None]
        log_factor = np.where(eye[parents_k], p["excite_verification_self"], p["excite_verification_cross"]) * v
        alpha = p["branching"][parents_k] * np.exp(log_factor + et[seg.tier[s]])  # (n, K)
        counts = rng.poisson(alpha).ravel()
        child_t = np.repeat(parents_t, K)[counts > 0]
        child_t = np.repeat(child_t, counts[counts > 0])
        child_t = child_t + rng.exponential(1.0 / p["decay"], len(child_t))
        child_k = np.repeat(np.tile(np.arange(K), len(parents_t)), counts)
        keep = child_t < T
        parents_t, parents_k = child_t[keep], child_k[keep]
        total += len(parents_t)
        if total > max_events:
            raise SimulationExplosionError(
                f"simulation of truce '{truce_id}' passed {max_events:,} events within {T:g} days: "
                f"these parameters are explosive or nearly so (spectral radius of the effective "
                f"branching matrix >= 1). Lower the branching ratios, shorten the window or "
                f"raise max_events")
        times.append(parents_t)
        kinds.append(parents_k)
    t_all, k_all = np.concatenate(times), np.concatenate(kinds)
    order = np.lexsort((k_all, t_all))
    return t_all[order], k_all[order]
