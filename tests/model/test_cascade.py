"""The cascade daily likelihood (issue: daily data without the same-day bias): each day's counts
jointly, roots Poisson(Lam) and every event's same-day children Poisson(alpha s)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import assert_gradient_matches_finite_differences, random_params
from numba import njit
from reference import daily_loglik

import escalate
from escalate import TruceData
from escalate.forecasting.kernels import _same_day_cascade
from escalate.model.kernels import cascade_term


def brute_term(y, lam, M):
    """log P(y) = sum_l (y_l log c_l - c_l - log y_l!) + log det(I - M diag(y / c)),
    c_l = lam_l + sum_k y_k M[k, l] (the multivariate Lagrangian Poisson, Good's formula)."""
    c = lam + y @ M
    A = np.eye(len(y)) - M * (y / c)[None, :]
    return float(np.sum(y * np.log(c) - c) - sum(math.lgamma(v + 1) for v in y) + np.log(np.linalg.det(A)))


def test_the_day_term_is_the_law_of_a_simulated_within_day_cascade():
    """Roots Poisson(lam), each event's same-day children Poisson(M[i, k]), generation by
    generation: the frequencies of 60,000 simulated days match the closed form (4 s.e.), and the
    closed form sums to one. A cascade without its determinant, or with M transposed, misses."""
    rng = np.random.default_rng(0)
    lam, M = np.array([0.8, 0.5]), np.array([[0.2, 0.15], [0.05, 0.3]])
    n = 60_000
    days = np.zeros((n, 2))
    for t in range(n):
        day = rng.poisson(lam).astype(float)
        generation = day.copy()
        while generation.sum():
            generation = rng.poisson(generation @ M).astype(float)
            day += generation
        days[t] = day
    d_lam, d_M = np.zeros(2), np.zeros((2, 2))
    total = 0.0
    for a in range(60):
        for b in range(60):
            total += math.exp(cascade_term(np.array([a, b], float), lam, M, d_lam, d_M))
    assert total == pytest.approx(1.0, abs=1e-10)
    for y in [(0, 0), (1, 0), (0, 1), (1, 1), (2, 1), (3, 2), (0, 3), (4, 0)]:
        p = math.exp(cascade_term(np.array(y, float), lam, M, d_lam, d_M))
        freq = np.mean((days[:, 0] == y[0]) & (days[:, 1] == y[1]))
        assert abs(freq - p) < 4 * math.sqrt(p * (1 - p) / n), (y, freq, p)


@pytest.mark.parametrize("K", [1, 2, 3])
def test_the_day_term_and_its_gradient_match_the_determinant_form(K):
    rng = np.random.default_rng(K)
    for _ in range(6):
        y = rng.integers(0, 7, K).astype(float)
        lam, M = rng.uniform(0.1, 3, K), rng.uniform(0, 0.4, (K, K))
        d_lam, d_M = np.zeros(K), np.zeros((K, K))
        got = cascade_term(y, lam, M, d_lam, d_M)
        assert got == pytest.approx(brute_term(y, lam, M), rel=1e-11)
        h = 1e-6
        for l in range(K):
            e = np.zeros(K)
            e[l] = h
            assert d_lam[l] == pytest.approx((brute_term(y, lam + e, M) - brute_term(y, lam - e, M)) / (2 * h),
                                             rel=1e-5, abs=1e-7)
        for k in range(K):
            for l in range(K):
                E = np.zeros((K, K))
                E[k, l] = h
                assert d_M[k, l] == pytest.approx((brute_term(y, lam, M + E) - brute_term(y, lam, M - E)) / (2 * h),
                                                  rel=1e-5, abs=1e-7)


def daily_data(rng, K=2, J=2):
    from test_daily_likelihood import random_daily

    counts, truces, covs = random_daily(rng, K, J, extra=True)
    return TruceData.from_daily_counts(counts, truces, covs)


@pytest.mark.parametrize("K,J", [(1, 1), (2, 2), (3, 1)])
def test_the_cascade_likelihood_matches_the_reference(K, J):
    rng = np.random.default_rng(10 * K + J)
    data = daily_data(rng, K, J)
    for _ in range(2):
        params = random_params(rng, K, J, C=1)
        got = escalate.log_likelihood(data, params, daily_likelihood="cascade")
        assert got == pytest.approx(daily_loglik(data, params, daily_likelihood="cascade"), rel=1e-9)
        zero = {**params, "branching": np.zeros((K, K))}  # nothing to cascade: the old likelihood
        assert escalate.log_likelihood(data, zero, daily_likelihood="cascade") == pytest.approx(
            escalate.log_likelihood(data, zero), rel=1e-12)


def test_the_cascade_gradient_matches_finite_differences():
    rng = np.random.default_rng(12)
    data = daily_data(rng)
    params = random_params(rng, 2, 2, C=1)
    _, grads = escalate.log_likelihood(data, params, gradient=True, daily_likelihood="cascade")
    assert_gradient_matches_finite_differences(data, params, grads, daily_likelihood="cascade")


@njit
def _mean_day(roots, alpha, share, n, seed):
    np.random.seed(seed)  # numba's generator is seeded inside compiled code
    totals = np.zeros(roots.shape[0])
    for _ in range(n):
        day = roots.copy()
        _same_day_cascade(day, alpha, share, 1e6)
        totals += day
    return totals / n


def test_the_simulated_day_cascade_has_the_mean_of_the_law():
    """A day of roots r ends with r (I - M)^-1 events on average (M[i, k] = alpha s): the
    forecast simulator's cascade is the likelihood's. With M transposed it would not be."""
    alpha, share = np.array([[0.5, 0.3], [0.05, 0.6]]), 0.4
    roots = np.array([3.0, 1.0])
    got = _mean_day(roots, alpha, share, 40_000, 3)
    np.testing.assert_allclose(got, roots @ np.linalg.inv(np.eye(2) - alpha * share), rtol=0.02)
    assert abs(got[1] - (roots @ np.linalg.inv(np.eye(2) - alpha.T * share))[1]) > 0.1


def test_the_cascade_is_a_spec_choice_for_daily_poisson_data():
    spec = escalate.ModelSpec.from_dict({"time_resolution": "day", "daily_likelihood": "cascade"})
    assert spec.daily_likelihood == "cascade" and spec.to_dict()["daily_likelihood"] == "cascade"
    assert "daily_likelihood" not in escalate.ModelSpec.from_dict({"time_resolution": "day"}).to_dict()
    with pytest.raises(escalate.SpecError, match="cascade"):
        escalate.ModelSpec.from_dict({"time_resolution": "day", "daily_likelihood": "cascade",
                                      "observation": "negative_binomial"})


@pytest.mark.filterwarnings("default::escalate.inference.diagnostics.DiagnosticsWarning")
def test_a_cascade_fit_forecasts_and_checks_with_its_own_day_law():
    """A short cascade fit of simulated daily data: its fitted daily mean is the roots' mean
    times (I - M)^-1 (above the roots' own), its posterior predictive check runs on the cascade
    simulator, and PIT residuals, not built for it yet, are refused with the reason."""
    from escalate.checking.goodness import posterior_predictive_check, randomized_pit
    from escalate.checking.posterior import fitted_daily_rate

    truces = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "end": [120.0]})
    covs = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "verification": [0.3], "penalty_tier": [0]})
    truth = {"mu_log": np.log([1.0, 0.6]), "branching": np.array([[0.4, 0.2], [0.2, 0.3]]), "decay": 1.0}
    data = escalate.simulate(truth, truces, covs, ["x", "y"], seed=4).to_daily()
    spec = escalate.ModelSpec.from_dict({"streams": ["x", "y"], "penalty_tiers": 1, "truce_effects": "none",
                                         "time_resolution": "day", "daily_likelihood": "cascade"})
    fit = escalate.fit(data, spec, draws=150, tune=150, chains=2, seed=1)
    rate = fitted_daily_rate(fit, "a", draws=50).values
    plain = fitted_daily_rate(escalate.fit_from_draws(data, escalate.ModelSpec.from_dict(
        {**spec.to_dict(), "daily_likelihood": "no_same_day"}), {k: v for k, v in fit.posterior_draws().items()
                                                                 if k in ("mu_log", "branching", "decay")}), "a",
        draws=50).values
    assert (rate > plain).all()
    table = posterior_predictive_check(fit, draws=30)
    assert table["p_value"].between(0, 1).all()
    with pytest.raises(escalate.EscalateInputError, match="cascade"):
        randomized_pit(fit)
    fc = fit.forecast(14, collapse=escalate.CollapseRule.count(threshold=30, window_days=7), draws=40, paths=20)
    assert 0 <= fc.headline(days=[7])["p_collapse_mean"].iloc[0] <= 1
