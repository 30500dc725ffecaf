"""Compiled likelihood kernels: exact event times (MODEL.md 3a) and daily counts (3b).

Both kernels, and the helpers they share, live in this one module on purpose: numba's on-disk
cache is invalidated by edits to a function's own file only, so a kernel calling a helper
from another file could keep running a stale compiled copy of it.

Exact event times
-----------------
MODEL.md 3a. For truce j and stream k,

    lambda_k(t) = mu_k(t) + sum_{m: t_m < t} a_m[k] * omega * exp(-omega (t - t_m)),
    a_m[k] = branching[k_m, k] * exp(excite_verification_{self|cross} v(t_m) + excite_tier[p_k(t_m)]),

and log L = sum_l log lambda_{k_l}(t_l) - sum_k int_0^T lambda_k.

The gradient uses an adjoint on the per-event parent weights ``a_m[k]``: a forward pass gives
each event's intensity, a backward pass gives d log L / d a_m[k] = omega * G_k(m) -
(1 - exp(-omega (T - t_m))) with G_k(m) = sum_{l: t_l > t_m, k_l = k} exp(-omega (t_l - t_m)) /
lambda_l. Both passes are O(N K); the backward pass accumulates those adjoints per covariate
segment and the chain rule to the parameters runs over segments, so logp and its full gradient
cost O(N K) (below the O(N K^2) of the textbook recursion) with one transcendental function
per event (an exp): excitation factors are tabulated per segment, the backward pass reuses the
forward pass's decay factors, the tails exp(-omega (T - t)) are their running product, and
sum log lambda_l is the log of running products of the intensities (one log per hundred or so
events; benchmarks/tick_compare.py measures it against tick). Events at the same time do not
excite each other (strict t_m < t_l): groups of tied times are handled together.

Daily counts
------------
For truce j, stream k and day d (0-based, whole days since the truce start),

    y[k, d] ~ Poisson(Lam[k, d])  or  NegativeBinomial(mean Lam[k, d], dispersion phi)
    Lam[k, d] = mubar[k, d] + sum_i sum_{d' < d} alpha_{i,k}(d') y[i, d'] kappa_{d - d'}
    kappa_l = (1 - r)^2 r^(l - 1) / omega,  r = exp(-omega),  l >= 1.

kappa is geometric in the lag, so with H_k(d) = sum_{d' < d} A_k(d') r^(d - 1 - d') and
A_k(d') = sum_i alpha_{i,k}(d') y[i, d'] the recursion H_k(d + 1) = r H_k(d) + A_k(d) gives
Lam[k, d] = mubar[k, d] + c H_k(d), c = (1 - r)^2 / omega, in O(D K^2). The gradient runs the
adjoint backwards: Q_k(d') = sum_{d > d'} w[k, d] r^(d - 1 - d') with w = d logp / d Lam.
Covariates are those in force on each day (change points fall on day boundaries); the baseline
mubar is the rate integrated over the day (one day times the daily rate).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

JIT = {"cache": True, "error_model": "numpy", "nogil": True}

#: Observation models of the daily kernel.
POISSON = 0
NEGATIVE_BINOMIAL = 1


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
def excitation_log_factors(seg_verification, seg_tier, ev_self, ev_cross, excite_tier):
    """log of alpha_{i,k}(s) / branching[i, k] for each segment s, source i, target k: float64[S, K, K].

    The excitation covariates are piecewise constant, so one table per segment replaces a
    transcendental function per event.
    """
    S, K = seg_tier.shape
    out = np.empty((S, K, K))
    for s in range(S):
        v = seg_verification[s]
        for k in range(K):
            p = seg_tier[s, k]
            tier = excite_tier[p - 1] if p > 0 else 0.0
            for i in range(K):
                out[s, i, k] = (ev_self if i == k else ev_cross) * v + tier
    return out


@njit(**JIT)
def baseline_gradients(g_eta_mu, seg_truce, seg_verification, seg_tier, seg_extra, J, n_tier):
    """Chain rule from d logp / d log mu[s, k] to mu_log, truce_effect, mu_verification,
    mu_tier and mu_covariate (shared by the exact and daily kernels)."""
    S, K = seg_tier.shape
    C = seg_extra.shape[1]
    g_mu_log = np.zeros(K)
    g_truce_effect = np.zeros((J, K))
    g_mu_verification = 0.0
    g_mu_tier = np.zeros(n_tier)
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
    return g_mu_log, g_truce_effect, g_mu_verification, g_mu_tier, g_mu_covariate


@njit(**JIT)
def excitation_gradients(g_alpha, fac, branching, seg_verification, seg_tier, n_tier):
    """Chain rule from d logp / d alpha[s, i, k] to branching, the verification effects and
    excite_tier (shared by the exact and daily kernels)."""
    S, K = seg_tier.shape
    g_branching = np.zeros((K, K))
    g_ev_self = 0.0
    g_ev_cross = 0.0
    g_excite_tier = np.zeros(n_tier)
    for s in range(S):
        v = seg_verification[s]
        for i in range(K):
            for k in range(K):
                ga = g_alpha[s, i, k]
                g_branching[i, k] += ga * fac[s, i, k]
                ge = ga * branching[i, k] * fac[s, i, k]
                if k == i:
                    g_ev_self += ge * v
                else:
                    g_ev_cross += ge * v
                p = seg_tier[s, k]
                if p > 0:
                    g_excite_tier[p - 1] += ge
    return g_branching, g_ev_self, g_ev_cross, g_excite_tier


#: Products of intensities stay within (PRODUCT_RANGE^-1, PRODUCT_RANGE): two such factors
#: multiply without overflow or underflow.
PRODUCT_RANGE = 1e150


@njit(**JIT, fastmath={"contract"})
def exact_loglik_grad(times, streams, event_segment, truce_offsets, durations,
                      seg_truce, seg_start, seg_end, seg_verification, seg_tier, seg_extra,
                      mu_log, truce_effect, mu_verification, mu_tier, mu_covariate,
                      branching, ev_self, ev_cross, excite_tier, decay):
    """Log-likelihood and its gradient for every parameter.

    Returns ``(logp, g_mu_log[K], g_truce_effect[J, K], g_mu_verification, g_mu_tier[P-1],
    g_mu_covariate[C], g_branching[K, K], g_ev_self, g_ev_cross, g_excite_tier[P-1], g_decay)``.

    sum_l log lambda_l is taken as the log of running products of the intensities, one log per
    (typically) hundred events instead of one per event; a product leaving
    (1 / PRODUCT_RANGE, PRODUCT_RANGE) is logged and restarted, and an intensity outside that
    range is logged on its own, so nothing overflows or underflows.
    """
    N = times.shape[0]
    J = durations.shape[0]
    S, K = seg_tier.shape
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

    # ---- excitation per segment: alpha[s, i, k] = branching[i, k] * fac[s, i, k] ----
    fac = np.exp(excitation_log_factors(seg_verification, seg_tier, ev_self, ev_cross, excite_tier))
    alpha = np.empty((S, K, K))
    for s in range(S):
        for i in range(K):
            for k in range(K):
                alpha[s, i, k] = branching[i, k] * fac[s, i, k]
    mu_seg = np.exp(seg_eta)
    inv_lam = np.empty(N)
    edecay = np.empty(N)  # exp(-w (t_l - t_prev)) at the first event of each tie group
    state = np.empty(K)
    dstate = np.empty(K)
    product = 1.0  # of intensities not yet logged
    # per (segment, source): sums over its events of (1 - tail) and (T - t) tail, and per
    # (segment, source, target) the sum of G_k over its events; chained to parameters at the end
    one_minus_tail = np.zeros((S, K))
    lag_tail = np.zeros((S, K))
    g_sum = np.zeros((S, K, K))
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
            edecay[l] = e
            for k in range(K):
                dstate[k] = e * (dstate[k] + dt * state[k])
                state[k] = e * state[k]
            g = l
            while g < hi and times[g] == t:
                k = streams[g]
                s = event_segment[g]
                mu = mu_seg[s, k]
                lam = mu + omega * state[k]
                inv = 1.0 / lam
                inv_lam[g] = inv
                if 1.0 / PRODUCT_RANGE < lam < PRODUCT_RANGE:
                    product *= lam
                    if not 1.0 / PRODUCT_RANGE < product < PRODUCT_RANGE:
                        logp += np.log(product)
                        product = 1.0
                else:  # also a zero or NaN intensity, whose log is then the result's
                    logp += np.log(lam)
                g_eta_mu[s, k] += mu * inv
                g_decay += (state[k] - omega * dstate[k]) * inv
                g += 1
            for m in range(l, g):
                i = streams[m]
                s = event_segment[m]
                for k in range(K):
                    state[k] += alpha[s, i, k]
            t_prev = t
            l = g
        # backward: G_k = sum over later events of stream k of e^{-w (t_l - t)} / lambda_l;
        # d logp / d a_m[k] = w G_k - (1 - tail) with tail = e^{-w (T - t_m)}
        for k in range(K):
            state[k] = 0.0
        tail = 1.0
        t_next = T
        g = hi
        while g > lo:
            t = times[g - 1]
            l = g
            while l > lo and times[l - 1] == t:
                l -= 1
            # decay from t_next back to t: the forward pass's factor, fresh for the last group
            e = np.exp(-omega * (t_next - t)) if g == hi else edecay[g]
            tail *= e
            for k in range(K):
                state[k] *= e
            for m in range(l, g):
                i = streams[m]
                s = event_segment[m]
                one_minus_tail[s, i] += 1.0 - tail
                lag_tail[s, i] += (T - t) * tail
                for k in range(K):
                    g_sum[s, i, k] += state[k]
            for m in range(l, g):
                state[streams[m]] += inv_lam[m]
            t_next = t
            g = l
    logp += np.log(product)

    g_alpha = np.empty((S, K, K))
    for s in range(S):  # the excitation compensator, per segment and source
        for i in range(K):
            for k in range(K):
                logp -= alpha[s, i, k] * one_minus_tail[s, i]
                g_decay -= alpha[s, i, k] * lag_tail[s, i]
                g_alpha[s, i, k] = omega * g_sum[s, i, k] - one_minus_tail[s, i]
    g_branching, g_ev_self, g_ev_cross, g_excite_tier = excitation_gradients(
        g_alpha, fac, branching, seg_verification, seg_tier, excite_tier.shape[0])
    g_mu_log, g_truce_effect, g_mu_verification, g_mu_tier, g_mu_covariate = baseline_gradients(
        g_eta_mu, seg_truce, seg_verification, seg_tier, seg_extra, J, mu_tier.shape[0])
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
    log_fac = excitation_log_factors(seg_verification, seg_tier, ev_self, ev_cross, excite_tier)
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
                    a = branching[streams[m], k] * np.exp(log_fac[event_segment[m], streams[m], k])
                    state[k] += a
                    total[k] += a
            t_prev = t
            l = g
    return out


@njit(**JIT)
def digamma(x):
    """psi(x) for x > 0: recurrence up to x >= 6, then the asymptotic series (error < 1e-13)."""
    result = 0.0
    while x < 6.0:
        result -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132))))
    return result + math.log(x) - 0.5 * inv - series


@njit(**JIT)
def count_term(y, lam, observation, phi, lgamma_phi, digamma_phi):
    """log p(y | mean lam) and its derivatives in lam and in phi (Poisson or negative binomial
    with dispersion phi: variance lam + lam^2 / phi; ``lgamma_phi``, ``digamma_phi`` of phi
    precomputed)."""
    if y == 0.0:  # most days of a sparse series: no log-gamma, no digamma
        if observation == POISSON:
            return -lam, -1.0, 0.0
        log_ratio = -math.log1p(lam / phi)  # log(phi / (phi + lam))
        return phi * log_ratio, -phi / (phi + lam), log_ratio + lam / (phi + lam)
    if observation == POISSON:
        return y * math.log(lam) - lam - math.lgamma(y + 1.0), y / lam - 1.0, 0.0
    log_den = math.log(phi + lam)
    logp = (math.lgamma(y + phi) - lgamma_phi - math.lgamma(y + 1.0)
            + phi * (math.log(phi) - log_den) + y * (math.log(lam) - log_den))
    d_lam = y / lam - (y + phi) / (phi + lam)
    d_phi = digamma(y + phi) - digamma_phi + math.log(phi) - log_den + 1.0 - (y + phi) / (phi + lam)
    return logp, d_lam, d_phi


@njit(**JIT)
def cascade_term(y, lam, M, d_lam, d_M):
    """log P(y) of one day's counts of K streams under the within-day cascade (module
    docstring): roots Poisson(lam), each event's same-day children of stream k Poisson(M[i, k]).
    Writes d logP / d lam into ``d_lam`` and d logP / d M into ``d_M``; returns log P."""
    K = y.shape[0]
    # c_l = lam_l + sum_k y_k M[k, l]; e_l = d/dc_l of the product part (kept in d_lam first)
    logp = 0.0
    for l in range(K):
        c_l = lam[l]
        for k in range(K):
            c_l += y[k] * M[k, l]
        logp += (y[l] - 1.0) * math.log(c_l) - c_l - math.lgamma(y[l] + 1.0)
        d_lam[l] = (y[l] - 1.0) / c_l - 1.0
    # log det B, B = diag(c) - M diag(y) (a sum over spanning forests: positive)
    if K == 1:
        e0 = d_lam[0]
        logp += math.log(lam[0])  # det B = c - M y = lam
        d_lam[0] = e0 + 1.0 / lam[0]
        d_M[0, 0] = y[0] * e0
        return logp
    if K == 2:
        e0, e1 = d_lam[0], d_lam[1]
        P = lam[0] * lam[1] + lam[0] * M[0, 1] * y[0] + lam[1] * M[1, 0] * y[1]
        logp += math.log(P)
        d_lam[0] = e0 + (lam[1] + M[0, 1] * y[0]) / P
        d_lam[1] = e1 + (lam[0] + M[1, 0] * y[1]) / P
        d_M[0, 0] = y[0] * e0
        d_M[0, 1] = y[0] * e1 + lam[0] * y[0] / P
        d_M[1, 0] = y[1] * e0 + lam[1] * y[1] / P
        d_M[1, 1] = y[1] * e1
        return logp
    e = d_lam.copy()
    c = np.empty(K)
    for l in range(K):
        c[l] = lam[l]
        for k in range(K):
            c[l] += y[k] * M[k, l]
    B = np.empty((K, K))
    for k in range(K):
        for l in range(K):
            B[k, l] = (c[l] if k == l else 0.0) - M[k, l] * y[l]
    logdet, inv = _logdet_inverse(B)
    logp += logdet
    for l in range(K):
        d_lam[l] = e[l] + inv[l, l]
    for k in range(K):
        for l in range(K):
            d_M[k, l] = y[k] * (e[l] + inv[l, l]) - inv[l, k] * y[l]
    return logp


@njit(**JIT)
def cascade_nb_term(y, lam, M, phi, digamma_phi, d_lam, d_M, d_phi, weights, psis, work):
    """log P(y) of one day's counts under the within-day cascade with negative-binomial roots:
    stream l's roots NB(mean lam[l], dispersion phi[l]), each event's same-day children of
    stream k Poisson(M[i, k]).

    Given roots r the day's law is prod_l Pois(y_l - r_l; m_l) det(I - M diag((y - r) / m)),
    m_l = sum_k y_k M[k, l] (Good's formula; its determinant is affine in each r_l alone). The
    roots are independent across streams, so the expectation of the determinant is the
    determinant at the weighted means rbar_l: log P = sum_l log Z_l + log det(I - M diag(u)),
    Z_l = sum_r NB(r; lam_l, phi_l) Pois(y_l - r; m_l), u_l = (y_l - rbar_l) / m_l; O(sum y)
    work. Writes the derivatives in lam, M and phi into ``d_lam``, ``d_M``, ``d_phi``;
    ``digamma_phi`` is psi(phi) per stream; ``weights`` and ``psis`` are scratch of length >= max
    y + 1, ``work`` scratch of shape (5, K)."""
    K = y.shape[0]
    u, du_lam, du_phi, du_m, dz_m = work[0], work[1], work[2], work[3], work[4]
    for l in range(K):
        u[l] = 0.0
        du_lam[l] = 0.0
        du_phi[l] = 0.0
        du_m[l] = 0.0
    logp = 0.0
    for l in range(K):
        n = int(y[l])
        m = 0.0
        for k in range(K):
            m += y[k] * M[k, l]
        a, b = phi[l], lam[l]
        log_q = math.log(a / (a + b))  # log P(root count 0) / phi
        if n == 0:
            logp += a * log_q - m
            d_lam[l] = -a / (a + b)
            d_phi[l] = log_q + b / (a + b)
            dz_m[l] = -1.0
            continue
        if m <= 0.0:  # no same-day parents possible: every event is a root
            lnb = (math.lgamma(n + a) - math.lgamma(a) - math.lgamma(n + 1.0)
                   + a * log_q + n * math.log(b / (a + b)))
            logp += lnb
            d_lam[l] = n / b - (n + a) / (a + b)
            psi_n = digamma_phi[l]
            for r in range(n):
                psi_n += 1.0 / (r + a)
            d_phi[l] = psi_n - digamma_phi[l] + log_q + 1.0 - (n + a) / (a + b)
            u[l] = n * (a + b) / ((n - 1.0 + a) * b)  # the limit m -> 0 of (y - rbar) / m
            dz_m[l] = u[l] - 1.0
            continue
        log_p = math.log(b / (a + b))
        log_m = math.log(m)
        # log weights NB(r) Pois(n - r; m), r = 0..n, by the ratio of successive terms
        lw = a * log_q + n * log_m - m - math.lgamma(n + 1.0)
        top = lw
        psi = digamma_phi[l]
        for r in range(n + 1):
            weights[r] = lw
            psis[r] = psi
            if lw > top:
                top = lw
            if r < n:
                lw += math.log((r + a) * (n - r)) - math.log(r + 1.0) + log_p - log_m
                psi += 1.0 / (r + a)
        total = 0.0
        first = 0.0
        for r in range(n + 1):
            weights[r] = math.exp(weights[r] - top)
            total += weights[r]
            first += r * weights[r]
        rbar = first / total
        var = 0.0
        e_psi = 0.0
        cov_psi = 0.0
        for r in range(n + 1):
            w = weights[r] / total
            var += w * (r - rbar) * (r - rbar)
            e_psi += w * psis[r]
            cov_psi += w * (r - rbar) * psis[r]
        logp += top + math.log(total)
        d_lam[l] = rbar * (1.0 / b - 1.0 / (a + b)) - a / (a + b)
        d_phi[l] = e_psi - digamma_phi[l] + log_q + 1.0 - (rbar + a) / (a + b)
        dz_m[l] = (n - rbar) / m - 1.0
        u[l] = (n - rbar) / m
        du_lam[l] = -var * a / (b * (a + b)) / m
        du_phi[l] = -(cov_psi - var / (a + b)) / m
        du_m[l] = var / (m * m) - u[l] / m
    # log det G, G = I - M diag(u); t_l = d log det / d u_l = -(G^-1 M)_ll, and the direct
    # d log det / d M[k, l] = -(G^-1)_lk u_l
    if K == 1:
        det = 1.0 - M[0, 0] * u[0]
        logp += math.log(det) if det > 0.0 else -np.inf
        t = -M[0, 0] / det
        d_lam[0] += t * du_lam[0]
        d_phi[0] += t * du_phi[0]
        d_M[0, 0] = y[0] * (dz_m[0] + t * du_m[0]) - u[0] / det
        return logp
    if K == 2:
        g00, g01 = 1.0 - M[0, 0] * u[0], -M[0, 1] * u[1]
        g10, g11 = -M[1, 0] * u[0], 1.0 - M[1, 1] * u[1]
        det = g00 * g11 - g01 * g10
        logp += math.log(det) if det > 0.0 else -np.inf
        i00, i01, i10, i11 = g11 / det, -g01 / det, -g10 / det, g00 / det
        t0 = -(i00 * M[0, 0] + i01 * M[1, 0])
        t1 = -(i10 * M[0, 1] + i11 * M[1, 1])
        d_lam[0] += t0 * du_lam[0]
        d_lam[1] += t1 * du_lam[1]
        d_phi[0] += t0 * du_phi[0]
        d_phi[1] += t1 * du_phi[1]
        a0, a1 = dz_m[0] + t0 * du_m[0], dz_m[1] + t1 * du_m[1]
        d_M[0, 0] = y[0] * a0 - i00 * u[0]
        d_M[1, 0] = y[1] * a0 - i01 * u[0]
        d_M[0, 1] = y[0] * a1 - i10 * u[1]
        d_M[1, 1] = y[1] * a1 - i11 * u[1]
        return logp
    G = np.empty((K, K))
    for k in range(K):
        for l in range(K):
            G[k, l] = (1.0 if k == l else 0.0) - M[k, l] * u[l]
    logdet, inv = _logdet_inverse(G)
    logp += logdet
    for l in range(K):
        t = 0.0
        for k in range(K):
            t -= inv[l, k] * M[k, l]
        d_lam[l] += t * du_lam[l]
        d_phi[l] += t * du_phi[l]
        for k in range(K):
            d_M[k, l] = y[k] * (dz_m[l] + t * du_m[l]) - inv[l, k] * u[l]
    return logp


@njit(**JIT)
def _logdet_inverse(B):
    """log |det B| and B^-1 by Gauss-Jordan with partial pivoting (K is a handful)."""
    K = B.shape[0]
    a = B.copy()
    inv = np.eye(K)
    logdet = 0.0
    for col in range(K):
        pivot = col
        for row in range(col + 1, K):
            if abs(a[row, col]) > abs(a[pivot, col]):
                pivot = row
        if pivot != col:
            for j in range(K):
                a[col, j], a[pivot, j] = a[pivot, j], a[col, j]
                inv[col, j], inv[pivot, j] = inv[pivot, j], inv[col, j]
        p = a[col, col]
        logdet += math.log(abs(p))
        for j in range(K):
            a[col, j] /= p
            inv[col, j] /= p
        for row in range(K):
            if row != col:
                f = a[row, col]
                for j in range(K):
                    a[row, j] -= f * a[col, j]
                    inv[row, j] -= f * inv[col, j]
    return logdet, inv


@njit(**JIT)
def daily_loglik_grad(counts, day_segment, day_offsets, span, seg_truce, seg_verification, seg_tier,
                      seg_extra, mu_log, truce_effect, mu_verification, mu_tier, mu_covariate,
                      branching, ev_self, ev_cross, excite_tier, decay, observation, dispersion, cascade):
    """Log-likelihood and gradient for daily counts ``counts[day, K]`` (all truces stacked).

    ``day_offsets[j]:day_offsets[j + 1]`` are truce j's days; ``day_segment`` the covariate
    segment of each day. ``span[day, k]`` says what each cell is:

    - 1: an ordinary day, a term of the likelihood;
    - 0: a day of the history window before the truce's start: its count excites the days
      after it (with the covariates of its segment, the truce's first) but is not modelled (a
      conditional likelihood);
    - n >= 2: the last day of an n-day report: one term, the report's total (the sum of the
      window's cells) given the sum of the window's expected counts, with dispersion n phi_k
      (exact for equal daily means: a sum of n NB(m, phi) is NB(n m, n phi));
    - -1: a day covered by the report ending later; its cell holds the report's share (total /
      n), which excites the days after it.

    A NaN count is a missing day: no term, and its expected count Lam (given the past, under
    the parameters) excites the days after it, so the gradient follows Lam through the days
    after it too. ``observation`` is POISSON or NEGATIVE_BINOMIAL (then ``dispersion[k]``
    phi_k > 0 per stream). With ``cascade = 1`` a day whose cells are all ordinary is one
    joint term of its K counts under the within-day cascade (:func:`cascade_term`, or
    :func:`cascade_nb_term` for negative-binomial roots: roots Poisson(Lam) or NB(Lam, phi_k),
    each event's same-day children Poisson with means ``alpha_{i,k}(d) s``, ``s = 1 - (1 - r)
    / omega`` the share of a uniformly placed parent's offspring that fall on its own day);
    other days keep the cells' own terms. Returns ``(logp, g_mu_log, g_truce_effect, g_mu_verification,
    g_mu_tier, g_mu_covariate, g_branching, g_ev_self, g_ev_cross, g_excite_tier, g_decay,
    g_dispersion)``.
    """
    D, K = counts.shape
    J = day_offsets.shape[0] - 1
    S = seg_tier.shape[0]
    omega = decay
    r = math.exp(-omega)
    one_r = -math.expm1(-omega)
    c = one_r * one_r / omega
    # d c / d omega, d r / d omega = -r
    dc = (2.0 * one_r * r * omega - one_r * one_r) / (omega * omega)
    seg_eta = baseline_log_rates(seg_truce, seg_verification, seg_tier, seg_extra,
                                 mu_log, truce_effect, mu_verification, mu_tier, mu_covariate)
    mu_seg = np.exp(seg_eta)
    fac = np.exp(excitation_log_factors(seg_verification, seg_tier, ev_self, ev_cross, excite_tier))
    logp = 0.0
    g_decay = 0.0
    g_disp = np.zeros(K)
    g_eta_mu = np.zeros((S, K))
    g_alpha = np.zeros((S, K, K))
    w = np.empty((D, K))
    y_used = np.empty((D, K))  # the count that excites: observed, a report's share, or Lam
    H = np.empty(K)
    dH = np.empty(K)
    dy = np.empty(K)  # d y_used / d omega on the current day (nonzero for missing days only)
    Q = np.empty(K)
    M = np.zeros(K)  # an open report: sum of its days' Lam, and d/d omega of it
    dM = np.zeros(K)
    # the within-day cascade: share s of a parent's offspring on its own day, and ds / d omega
    share = 1.0 - one_r / omega
    dshare = (one_r - r * omega) / (omega * omega)
    y_day = np.empty(K)
    lam_day = np.empty(K)
    dlam_day = np.empty(K)
    same_day = np.empty((K, K))
    d_lam = np.empty(K)
    d_same = np.empty((K, K))
    d_phi = np.empty(K)
    most = 0.0  # scratch of the negative-binomial cascade: one slot per root count of a day
    if cascade == 1 and observation == NEGATIVE_BINOMIAL:
        for d in range(D):
            for k in range(K):
                if counts[d, k] > most:  # NaN compares false
                    most = counts[d, k]
    weights = np.empty(int(most) + 1)
    psis = np.empty(int(most) + 1)
    work = np.empty((5, K))
    lg_phi = np.zeros(K)
    dg_phi = np.zeros(K)
    if observation == NEGATIVE_BINOMIAL:
        for k in range(K):
            lg_phi[k] = math.lgamma(dispersion[k])
            dg_phi[k] = digamma(dispersion[k])
    for j in range(J):
        lo = day_offsets[j]
        hi = day_offsets[j + 1]
        for k in range(K):
            H[k] = 0.0
            dH[k] = 0.0
            M[k] = 0.0
            dM[k] = 0.0
        for d in range(lo, hi):
            s = day_segment[d]
            joint = cascade == 1
            if joint:
                for k in range(K):
                    if math.isnan(counts[d, k]) or span[d, k] != 1.0:
                        joint = False
            if joint:  # one term for the day's K counts, same-day excitation included
                for k in range(K):
                    y_day[k] = counts[d, k]
                    y_used[d, k] = counts[d, k]
                    lam_day[k] = mu_seg[s, k] + c * H[k]
                    dlam_day[k] = dc * H[k] + c * dH[k]
                    dy[k] = 0.0
                    for i in range(K):
                        same_day[i, k] = branching[i, k] * fac[s, i, k] * share
                empty = True
                for k in range(K):
                    if y_day[k] != 0.0:
                        empty = False
                if empty:  # no roots and no children: each stream's zero-count term
                    for k in range(K):
                        term, d_lam[k], d_phi[k] = count_term(0.0, lam_day[k], observation, dispersion[k],
                                                              lg_phi[k], dg_phi[k])
                        logp += term
                        g_disp[k] += d_phi[k]
                        for i in range(K):
                            d_same[i, k] = 0.0
                elif observation == NEGATIVE_BINOMIAL:
                    logp += cascade_nb_term(y_day, lam_day, same_day, dispersion, dg_phi, d_lam, d_same, d_phi,
                                            weights, psis, work)
                    for k in range(K):
                        g_disp[k] += d_phi[k]
                else:
                    logp += cascade_term(y_day, lam_day, same_day, d_lam, d_same)
                for k in range(K):
                    w[d, k] = d_lam[k]
                    g_eta_mu[s, k] += d_lam[k] * mu_seg[s, k]
                    g_decay += d_lam[k] * dlam_day[k]
                    for i in range(K):
                        g_alpha[s, i, k] += d_same[i, k] * share
                        g_decay += d_same[i, k] * branching[i, k] * fac[s, i, k] * dshare
            for k in range(K):
                if joint:
                    break
                mu = mu_seg[s, k]
                lam = mu + c * H[k]
                dlam = dc * H[k] + c * dH[k]
                y = counts[d, k]
                code = span[d, k]
                w[d, k] = 0.0
                dy[k] = 0.0
                if math.isnan(y):  # missing: excites with its expected count
                    y_used[d, k] = lam
                    dy[k] = dlam
                    continue
                y_used[d, k] = y
                if code == 0.0:  # history: excites later days, not modelled itself
                    continue
                if code == -1.0:  # inside a report: its Lam joins the report's total
                    M[k] += lam
                    dM[k] += dlam
                    continue
                n = int(code)
                total, mean, dmean = y, lam, dlam
                if n > 1:
                    for back in range(1, n):
                        total += counts[d - back, k]
                    mean = M[k] + lam
                    dmean = dM[k] + dlam
                    M[k] = 0.0
                    dM[k] = 0.0
                if n == 1:
                    term, w_lam, w_phi = count_term(total, mean, observation, dispersion[k], lg_phi[k], dg_phi[k])
                else:
                    phi_n = dispersion[k] * n
                    lg_n = math.lgamma(phi_n) if observation == NEGATIVE_BINOMIAL else 0.0
                    dg_n = digamma(phi_n) if observation == NEGATIVE_BINOMIAL else 0.0
                    term, w_lam, w_phi = count_term(total, mean, observation, phi_n, lg_n, dg_n)
                logp += term
                g_disp[k] += w_phi * n
                g_decay += w_lam * dmean
                # d logp / d Lam of each day of the term (the same for every day of a report)
                for back in range(n):
                    w[d - back, k] = w_lam
                    g_eta_mu[day_segment[d - back], k] += w_lam * mu_seg[day_segment[d - back], k]
            # advance the excitation state past day d: H(d+1) = r H(d) + A(d)
            for k in range(K):
                A = 0.0
                dA = 0.0
                for i in range(K):
                    A += branching[i, k] * fac[s, i, k] * y_used[d, i]
                    dA += branching[i, k] * fac[s, i, k] * dy[i]
                dH[k] = -r * H[k] + r * dH[k] + dA
                H[k] = r * H[k] + A
        # backward: Q_k(d) = sum_{d2 > d} w[k, d2] r^(d2 - 1 - d); d logp / d alpha_{i,k}(d) = y_i c Q_k
        for k in range(K):
            Q[k] = 0.0
        for d in range(hi - 1, lo - 1, -1):
            s = day_segment[d]
            for i in range(K):
                if math.isnan(counts[d, i]):
                    # a missing day's Lam excites the later days: d logp / d Lam = sum_k alpha_ik c Q_k
                    g = 0.0
                    for k in range(K):
                        g += branching[i, k] * fac[s, i, k] * c * Q[k]
                    w[d, i] = g
                    g_eta_mu[s, i] += g * mu_seg[s, i]
            for k in range(K):
                for i in range(K):
                    if y_used[d, i] != 0.0:
                        g_alpha[s, i, k] += y_used[d, i] * c * Q[k]
            for k in range(K):
                Q[k] = w[d, k] + r * Q[k]

    g_branching, g_ev_self, g_ev_cross, g_excite_tier = excitation_gradients(
        g_alpha, fac, branching, seg_verification, seg_tier, excite_tier.shape[0])
    g_mu_log, g_truce_effect, g_mu_verification, g_mu_tier, g_mu_covariate = baseline_gradients(
        g_eta_mu, seg_truce, seg_verification, seg_tier, seg_extra, J, mu_tier.shape[0])
    return (logp, g_mu_log, g_truce_effect, g_mu_verification, g_mu_tier, g_mu_covariate,
            g_branching, g_ev_self, g_ev_cross, g_excite_tier, g_decay, g_disp)
