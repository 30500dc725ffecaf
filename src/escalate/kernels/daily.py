"""Daily-count log-likelihood of the Hawkes model (MODEL.md 3b) and its gradient.

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

from escalate.kernels.exact import JIT, baseline_log_rates, excitation_log_factors

POISSON = 0
NEGATIVE_BINOMIAL = 1


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
def daily_loglik_grad(counts, day_segment, day_offsets, seg_truce, seg_verification, seg_tier,
                      seg_extra, mu_log, truce_effect, mu_verification, mu_tier, mu_covariate,
                      branching, ev_self, ev_cross, excite_tier, decay, observation, dispersion):
    """Log-likelihood and gradient for daily counts ``counts[day, K]`` (all truces stacked).

    ``day_offsets[j]:day_offsets[j + 1]`` are truce j's days; ``day_segment`` the covariate
    segment of each day. ``observation`` is POISSON or NEGATIVE_BINOMIAL (then ``dispersion``
    phi > 0: variance Lam + Lam^2 / phi). Returns ``(logp, g_mu_log, g_truce_effect,
    g_mu_verification, g_mu_tier, g_mu_covariate, g_branching, g_ev_self, g_ev_cross,
    g_excite_tier, g_decay, g_dispersion)``.
    """
    D, K = counts.shape
    J = day_offsets.shape[0] - 1
    S = seg_tier.shape[0]
    C = seg_extra.shape[1]
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
    g_disp = 0.0
    g_eta_mu = np.zeros((S, K))
    g_alpha = np.zeros((S, K, K))
    w = np.empty((D, K))
    H = np.empty(K)
    dH = np.empty(K)
    Q = np.empty(K)
    phi = dispersion
    lg_phi = math.lgamma(phi) if observation == NEGATIVE_BINOMIAL else 0.0
    dg_phi = digamma(phi) if observation == NEGATIVE_BINOMIAL else 0.0
    for j in range(J):
        lo = day_offsets[j]
        hi = day_offsets[j + 1]
        for k in range(K):
            H[k] = 0.0
            dH[k] = 0.0
        for d in range(lo, hi):
            s = day_segment[d]
            for k in range(K):
                mu = mu_seg[s, k]
                lam = mu + c * H[k]
                y = counts[d, k]
                if observation == POISSON:
                    logp += y * math.log(lam) - lam - math.lgamma(y + 1.0)
                    wk = y / lam - 1.0
                else:
                    log_den = math.log(phi + lam)
                    logp += (math.lgamma(y + phi) - lg_phi - math.lgamma(y + 1.0)
                             + phi * (math.log(phi) - log_den) + y * (math.log(lam) - log_den))
                    wk = y / lam - (y + phi) / (phi + lam)
                    g_disp += (digamma(y + phi) - dg_phi + math.log(phi) - log_den + 1.0
                               - (y + phi) / (phi + lam))
                w[d, k] = wk
                g_eta_mu[s, k] += wk * mu
                g_decay += wk * (dc * H[k] + c * dH[k])
            # advance the excitation state past day d: H(d+1) = r H(d) + A(d)
            for k in range(K):
                A = 0.0
                for i in range(K):
                    A += branching[i, k] * fac[s, i, k] * counts[d, i]
                dH[k] = -r * H[k] + r * dH[k]
                H[k] = r * H[k] + A
        # backward: Q_k(d) = sum_{d2 > d} w[k, d2] r^(d2 - 1 - d); d logp / d alpha_{i,k}(d) = y_i c Q_k
        for k in range(K):
            Q[k] = 0.0
        for d in range(hi - 1, lo - 1, -1):
            s = day_segment[d]
            for k in range(K):
                for i in range(K):
                    if counts[d, i] != 0.0:
                        g_alpha[s, i, k] += counts[d, i] * c * Q[k]
            for k in range(K):
                Q[k] = w[d, k] + r * Q[k]

    g_mu_log = np.zeros(K)
    g_truce_effect = np.zeros((J, K))
    g_mu_verification = 0.0
    g_mu_tier = np.zeros(mu_tier.shape[0])
    g_mu_covariate = np.zeros(C)
    g_branching = np.zeros((K, K))
    g_ev_self = 0.0
    g_ev_cross = 0.0
    g_excite_tier = np.zeros(excite_tier.shape[0])
    for s in range(S):
        j = seg_truce[s]
        v = seg_verification[s]
        for k in range(K):
            ge = g_eta_mu[s, k]
            g_mu_log[k] += ge
            g_truce_effect[j, k] += ge
            g_mu_verification += ge * v
            p = seg_tier[s, k]
            if p > 0:
                g_mu_tier[p - 1] += ge
            for cc in range(C):
                g_mu_covariate[cc] += ge * seg_extra[s, cc]
            for i in range(K):
                ga = g_alpha[s, i, k]
                g_branching[i, k] += ga * fac[s, i, k]
                gx = ga * branching[i, k] * fac[s, i, k]
                if i == k:
                    g_ev_self += gx * v
                else:
                    g_ev_cross += gx * v
                if p > 0:
                    g_excite_tier[p - 1] += gx
    return (logp, g_mu_log, g_truce_effect, g_mu_verification, g_mu_tier, g_mu_covariate,
            g_branching, g_ev_self, g_ev_cross, g_excite_tier, g_decay, g_disp)
