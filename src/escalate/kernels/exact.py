"""Exact-time log-likelihood of the covariate-driven Hawkes model and its gradient.

MODEL.md 3a. For truce j and stream k,

    lambda_k(t) = mu_k(t) + sum_{m: t_m < t} a_m[k] * omega * exp(-omega (t - t_m)),
    a_m[k] = branching[k_m, k] * exp(excite_verification_{self|cross} v(t_m) + excite_tier[p_k(t_m)]),

and log L = sum_l log lambda_{k_l}(t_l) - sum_k int_0^T lambda_k.

The gradient uses an adjoint on the per-event parent weights ``a_m[k]``: a forward pass gives
each event's intensity, a backward pass gives d log L / d a_m[k] = omega * G_k(m) -
(1 - exp(-omega (T - t_m))) with G_k(m) = sum_{l: t_l > t_m, k_l = k} exp(-omega (t_l - t_m)) /
lambda_l. Both passes are O(N K); the chain rule to the parameters is O(N K) too, so logp and
its full gradient cost O(N K) (below the O(N K^2) of the textbook recursion). Events at the same
time do not excite each other (strict t_m < t_l): groups of tied times are handled together.
"""

from __future__ import annotations

import numpy as np
from numba import njit

JIT = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(**JIT)
def baseline_log_rates(seg_truce, seg_verification, seg_tier, seg_extra,
                       mu_log, truce_effect, mu_verification, mu_tier, mu_covariate):
    """Log baseline rate of each (segment, stream): float64[S, K]."""
    S, K = seg_tier.shape
    C = seg_extra.shape[1]
    out = np.empty((S, K))
    for s in range(S):
        j = seg_truce[s]
        common = mu_verification * seg_verification[s]
        for c in range(C):
            common += mu_covariate[c] * seg_extra[s, c]
        for k in range(K):
            p = seg_tier[s, k]
            eta = mu_log[k] + truce_effect[j, k] + common
            if p > 0:
                eta += mu_tier[p - 1]
            out[s, k] = eta
    return out


@njit(**JIT)
def excitation_log_factors(streams, event_segment, seg_verification, seg_tier,
                           ev_self, ev_cross, excite_tier):
    """log of a_m[k] / branching[k_m, k] for every event m and target k: float64[N, K]."""
    N = streams.shape[0]
    K = seg_tier.shape[1]
    out = np.empty((N, K))
    for m in range(N):
        s = event_segment[m]
        v = seg_verification[s]
        for k in range(K):
            eta = ev_self * v if k == streams[m] else ev_cross * v
            p = seg_tier[s, k]
            if p > 0:
                eta += excite_tier[p - 1]
            out[m, k] = eta
    return out


@njit(**JIT)
def exact_loglik_grad(times, streams, event_segment, truce_offsets, durations,
                      seg_truce, seg_start, seg_end, seg_verification, seg_tier, seg_extra,
                      mu_log, truce_effect, mu_verification, mu_tier, mu_covariate,
                      branching, ev_self, ev_cross, excite_tier, decay):
    """Log-likelihood and its gradient for every parameter.

    Returns ``(logp, g_mu_log[K], g_truce_effect[J, K], g_mu_verification, g_mu_tier[P-1],
    g_mu_covariate[C], g_branching[K, K], g_ev_self, g_ev_cross, g_excite_tier[P-1], g_decay)``.
    """
    N = times.shape[0]
    J = durations.shape[0]
    S, K = seg_tier.shape
    C = seg_extra.shape[1]
    omega = decay
    logp = 0.0
    g_decay = 0.0

    # ---- baseline: compensator per segment, d/d eta accumulated in g_eta_mu ----
    seg_eta = baseline_log_rates(seg_truce, seg_verification, seg_tier, seg_extra,
                                 mu_log, truce_effect, mu_verification, mu_tier, mu_covariate)
    g_eta_mu = np.empty((S, K))
    for s in range(S):
        length = seg_end[s] - seg_start[s]
        for k in range(K):
            mass = np.exp(seg_eta[s, k]) * length
            logp -= mass
            g_eta_mu[s, k] = -mass

    # ---- parent weights a[m, k] ----
    log_fac = excitation_log_factors(streams, event_segment, seg_verification, seg_tier,
                                     ev_self, ev_cross, excite_tier)
    a = np.empty((N, K))
    for m in range(N):
        for k in range(K):
            a[m, k] = branching[streams[m], k] * np.exp(log_fac[m, k])

    lam = np.empty(N)
    g_a = np.empty((N, K))
    state = np.empty(K)
    dstate = np.empty(K)
    for j in range(J):
        lo = truce_offsets[j]
        hi = truce_offsets[j + 1]
        T = durations[j]
        # forward: intensities at events; state[k] = sum a_m[k] e^{-w (t - t_m)} over t_m < t,
        # dstate[k] = sum a_m[k] (t - t_m) e^{-w (t - t_m)} for the decay gradient
        for k in range(K):
            state[k] = 0.0
            dstate[k] = 0.0
        t_prev = 0.0
        l = lo
        while l < hi:
            t = times[l]
            dt = t - t_prev
            e = np.exp(-omega * dt)
            for k in range(K):
                dstate[k] = e * (dstate[k] + dt * state[k])
                state[k] = e * state[k]
            g = l
            while g < hi and times[g] == t:
                k = streams[g]
                s = event_segment[g]
                mu = np.exp(seg_eta[s, k])
                lam[g] = mu + omega * state[k]
                logp += np.log(lam[g])
                g_eta_mu[s, k] += mu / lam[g]
                g_decay += (state[k] - omega * dstate[k]) / lam[g]
                g += 1
            for m in range(l, g):
                for k in range(K):
                    state[k] += a[m, k]
            t_prev = t
            l = g
        # compensator of the excitation, and the backward pass for d logp / d a
        for k in range(K):
            state[k] = 0.0  # now G_k: sum over later events of stream k of e^{-w dt} / lambda
        t_next = T
        g = hi
        while g > lo:
            t = times[g - 1]
            e = np.exp(-omega * (t_next - t))
            for k in range(K):
                state[k] *= e
            l = g
            while l > lo and times[l - 1] == t:
                l -= 1
            tail = np.exp(-omega * (T - t))
            for m in range(l, g):
                for k in range(K):
                    logp -= a[m, k] * (1.0 - tail)
                    g_decay -= a[m, k] * (T - t) * tail
                    g_a[m, k] = omega * state[k] - (1.0 - tail)
            for m in range(l, g):
                state[streams[m]] += 1.0 / lam[m]
            t_next = t
            g = l

    # ---- chain rule to the parameters ----
    g_mu_log = np.zeros(K)
    g_truce_effect = np.zeros((J, K))
    g_mu_verification = 0.0
    g_mu_tier = np.zeros(mu_tier.shape[0])
    g_mu_covariate = np.zeros(C)
    for s in range(S):
        j = seg_truce[s]
        for k in range(K):
            ge = g_eta_mu[s, k]
            g_mu_log[k] += ge
            g_truce_effect[j, k] += ge
            g_mu_verification += ge * seg_verification[s]
            p = seg_tier[s, k]
            if p > 0:
                g_mu_tier[p - 1] += ge
            for c in range(C):
                g_mu_covariate[c] += ge * seg_extra[s, c]
    g_branching = np.zeros((K, K))
    g_ev_self = 0.0
    g_ev_cross = 0.0
    g_excite_tier = np.zeros(excite_tier.shape[0])
    for m in range(N):
        i = streams[m]
        s = event_segment[m]
        v = seg_verification[s]
        for k in range(K):
            ga = g_a[m, k]
            g_branching[i, k] += ga * np.exp(log_fac[m, k])
            ge = ga * a[m, k]
            if k == i:
                g_ev_self += ge * v
            else:
                g_ev_cross += ge * v
            p = seg_tier[s, k]
            if p > 0:
                g_excite_tier[p - 1] += ge
    return (logp, g_mu_log, g_truce_effect, g_mu_verification, g_mu_tier, g_mu_covariate,
            g_branching, g_ev_self, g_ev_cross, g_excite_tier, g_decay)


@njit(**JIT)
def compensator_at_events(times, streams, event_segment, truce_offsets, durations,
                          seg_truce, seg_start, seg_end, seg_verification, seg_tier, seg_extra,
                          mu_log, truce_effect, mu_verification, mu_tier, mu_covariate,
                          branching, ev_self, ev_cross, excite_tier, decay):
    """Compensator Lambda_k(t_l) = int_0^{t_l} lambda_k of every stream at every event: float64[N, K].

    Used for time-rescaling goodness of fit: for the events of stream k, the increments of
    Lambda_k between consecutive events are iid Exp(1) under the model.
    """
    N = times.shape[0]
    J = durations.shape[0]
    K = seg_tier.shape[1]
    seg_eta = baseline_log_rates(seg_truce, seg_verification, seg_tier, seg_extra,
                                 mu_log, truce_effect, mu_verification, mu_tier, mu_covariate)
    log_fac = excitation_log_factors(streams, event_segment, seg_verification, seg_tier,
                                     ev_self, ev_cross, excite_tier)
    out = np.empty((N, K))
    state = np.empty(K)
    total = np.empty(K)
    for j in range(J):
        lo = truce_offsets[j]
        hi = truce_offsets[j + 1]
        for k in range(K):
            state[k] = 0.0
            total[k] = 0.0
        t_prev = 0.0
        l = lo
        while l < hi:
            t = times[l]
            e = np.exp(-decay * (t - t_prev))
            for k in range(K):
                state[k] *= e
            g = l
            while g < hi and times[g] == t:
                s = event_segment[g]
                for k in range(K):
                    base = 0.0
                    s0 = s
                    while s0 >= 0 and seg_truce[s0] == j:  # baseline integral up to t
                        upper = t if s0 == s else seg_end[s0]
                        base += np.exp(seg_eta[s0, k]) * (upper - seg_start[s0])
                        s0 -= 1
                    out[g, k] = base + total[k] - state[k]
                g += 1
            for m in range(l, g):
                for k in range(K):
                    a = branching[streams[m], k] * np.exp(log_fac[m, k])
                    state[k] += a
                    total[k] += a
            t_prev = t
            l = g
    return out
