"""The cascade daily likelihood (issue: daily data without the same-day bias): each day's counts
jointly, roots Poisson(Lam) or NB(Lam, phi) and every event's same-day children Poisson(alpha s)."""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from helpers import assert_gradient_matches_finite_differences, random_params
from numba import njit
from reference import daily_loglik

import escalate
from escalate import TruceData
from escalate.forecasting.kernels import _same_day_cascade
from escalate.model.kernels import cascade_nb_term, cascade_term, digamma


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


def progeny_law(roots, y, M) -> float:
    """P(a day ends with y events | roots) for Poisson(M[i, k]) same-day children, from first
    principles: expand one pending event at a time over every brood that fits in y."""
    K = len(y)

    @functools.lru_cache(None)
    def ways(pending, room):
        if not any(pending):
            return 1.0 if not any(room) else 0.0
        i = next(k for k in range(K) if pending[k])
        total = 0.0
        for brood in itertools.product(*[range(b + 1) for b in room]):
            p = math.prod(stats.poisson.pmf(brood[k], M[i, k]) for k in range(K))
            total += p * ways(tuple(pending[k] - (k == i) + brood[k] for k in range(K)),
                              tuple(room[k] - brood[k] for k in range(K)))
        return total

    if any(r > v for r, v in zip(roots, y)):
        return 0.0
    return ways(tuple(roots), tuple(v - r for v, r in zip(y, roots)))


def nb_term(y, lam, M, phi):
    K = len(y)
    args = (np.asarray(y, float), lam, M, phi, np.array([digamma(v) for v in phi]))
    d_lam, d_M, d_phi = np.zeros(K), np.zeros((K, K)), np.zeros(K)
    value = cascade_nb_term(*args, d_lam, d_M, d_phi, np.zeros(64), np.zeros(64), np.zeros((5, K)))
    return value, d_lam, d_M, d_phi


@pytest.mark.parametrize("K", [1, 2, 3])
def test_the_negative_binomial_day_term_is_the_law_of_its_cascade(K):
    """NB(lam, phi) roots and Poisson same-day broods: the kernel's O(sum y) form (the
    determinant at the roots' weighted means) against the sum over every root vector of
    NB(r) times the brood law built event by event. Dropping the determinant, or taking it
    at y instead of at the weighted roots, misses by far more than 1e-10."""
    rng = np.random.default_rng(40 + K)
    for _ in range(4):
        y = rng.integers(0, 4, K)
        lam, M, phi = rng.uniform(0.2, 2, K), rng.uniform(0.02, 0.4, (K, K)), rng.uniform(0.5, 5, K)
        want = sum(math.prod(stats.nbinom.pmf(r[l], phi[l], phi[l] / (phi[l] + lam[l])) for l in range(K))
                   * progeny_law(r, tuple(int(v) for v in y), M)
                   for r in itertools.product(*[range(v + 1) for v in y]))
        assert nb_term(y, lam, M, phi)[0] == pytest.approx(math.log(want), abs=1e-10)


def test_the_negative_binomial_day_term_tends_to_the_poisson_one():
    y, lam, M = np.array([5.0, 3.0]), np.array([1.2, 0.7]), np.array([[0.2, 0.1], [0.3, 0.25]])
    value = nb_term(y, lam, M, np.array([1e8, 1e8]))[0]
    assert value == pytest.approx(cascade_term(y, lam, M, np.zeros(2), np.zeros((2, 2))), abs=1e-6)
    # and with no same-day children it is the product of the NB terms
    phi = np.array([0.7, 2.5])
    plain = sum(stats.nbinom.logpmf(y[k], phi[k], phi[k] / (phi[k] + lam[k])) for k in range(2))
    assert nb_term(y, lam, np.zeros((2, 2)), phi)[0] == pytest.approx(plain, rel=1e-12)


@pytest.mark.parametrize("K", [1, 2, 3])
def test_the_negative_binomial_day_term_gradient_matches_finite_differences(K):
    rng = np.random.default_rng(50 + K)
    h = 1e-6
    for _ in range(6):
        y = rng.integers(0, 12, K).astype(float)
        lam, M, phi = rng.uniform(0.2, 4, K), rng.uniform(0.0, 0.4, (K, K)), rng.uniform(0.3, 8, K)
        _, d_lam, d_M, d_phi = nb_term(y, lam, M, phi)
        for l in range(K):
            e = np.zeros(K)
            e[l] = h
            assert d_lam[l] == pytest.approx((nb_term(y, lam + e, M, phi)[0] - nb_term(y, lam - e, M, phi)[0]) / (2 * h),
                                             rel=1e-5, abs=1e-7)
            assert d_phi[l] == pytest.approx((nb_term(y, lam, M, phi + e)[0] - nb_term(y, lam, M, phi - e)[0]) / (2 * h),
                                             rel=1e-5, abs=1e-7)
            for k in range(K):
                E = np.zeros((K, K))
                E[k, l] = h
                assert d_M[k, l] == pytest.approx(
                    (nb_term(y, lam, M + E, phi)[0] - nb_term(y, lam, M - E, phi)[0]) / (2 * h), rel=1e-5, abs=1e-7)


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


def test_the_cascade_is_the_default_of_day_specs_and_the_old_likelihood_stays_by_name():
    day = escalate.ModelSpec.from_dict({"time_resolution": "day"})
    assert day.daily_likelihood == "cascade" and day.same_day_cascade
    assert day.to_dict()["daily_likelihood"] == "cascade"  # a day spec's id names its likelihood
    old = escalate.ModelSpec.from_dict({"time_resolution": "day", "daily_likelihood": "no_same_day"})
    assert not old.same_day_cascade and old.spec_id != day.spec_id
    nb = escalate.ModelSpec.from_dict({"time_resolution": "day", "observation": "negative_binomial"})
    assert nb.same_day_cascade
    exact = escalate.ModelSpec.from_dict({})
    assert not exact.same_day_cascade and "daily_likelihood" not in exact.to_dict()
    with pytest.raises(escalate.SpecError, match="daily_likelihood"):
        escalate.ModelSpec.from_dict({"daily_likelihood": "cascade"})  # exact times


@pytest.mark.filterwarnings("default::escalate.inference.diagnostics.DiagnosticsWarning")
def test_a_cascade_fit_forecasts_and_checks_with_its_own_day_law():
    """A short cascade fit of simulated daily data: its fitted daily mean is the roots' mean
    times (I - M)^-1 (above the roots' own), its posterior predictive check runs on the cascade
    simulator, and its PIT residuals come from its own day law."""
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
    pit = randomized_pit(fit, draws=40)
    assert len(pit) == 2 * 120 and pit["pit"].between(0, 1).all()
    fc = fit.forecast(14, collapse=escalate.CollapseRule.count(threshold=30, window_days=7), draws=40, paths=20)
    assert 0 <= fc.headline(days=[7])["p_collapse_mean"].iloc[0] <= 1


def cascade_series(mu, branching, decay, n_days, rng, phi=None):
    """Daily counts drawn from the cascade day law itself (roots, then same-day broods, then the
    geometric carry-over to later days): the law the PIT must find calibrated."""
    K = len(mu)
    r = math.exp(-decay)
    c, share = (1 - r) ** 2 / decay, 1 - (1 - r) / decay
    H, rows = np.zeros(K), []
    for _ in range(n_days):
        lam = mu + c * H
        if phi is not None:
            lam = rng.gamma(phi, lam / phi)
        day = rng.poisson(lam).astype(float)
        generation = day.copy()
        while generation.any():
            generation = rng.poisson(generation @ (branching * share)).astype(float)
            day += generation
        rows.append(day)
        H = r * H + day @ branching
    return np.array(rows)


@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
def test_pit_of_a_cascade_fit_is_uniform_at_the_truth_and_the_old_likelihood_is_not(observation):
    """1,500 days from the cascade law, PIT at the true parameters: uniform (KS) for the
    cascade; the old likelihood's one-day predictive at the same parameters leaves out the
    same-day offspring and is rejected. A simulated day law with M transposed, or without its
    same-day broods, fails the first check."""
    from escalate.checking.goodness import pit_test, randomized_pit

    rng = np.random.default_rng(77)
    mu, branching, decay = np.array([0.6, 0.4]), np.array([[0.45, 0.1], [0.35, 0.2]]), 0.7
    phi = np.array([3.0, 3.0]) if observation == "negative_binomial" else None
    y = cascade_series(mu, branching, decay, 1500, rng, phi)
    counts = pd.DataFrame([{"date": float(d), "stream": s, "count": y[d, k]}
                           for d in range(len(y)) for k, s in enumerate(["a", "b"])])
    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [float(len(y))]})
    covs = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    data = TruceData.from_daily_counts(counts, truces, covs)
    n = 8
    truth = {"mu_log": np.tile(np.log(mu), (n, 1)), "branching": np.tile(branching, (n, 1, 1)),
             "decay": np.full(n, decay)}
    if phi is not None:
        truth["dispersion"] = np.tile(phi, (n, 1))
    base = {"streams": ["a", "b"], "penalty_tiers": 1, "truce_effects": "none", "time_resolution": "day",
            "observation": observation}
    p_values = {}
    for likelihood in ("cascade", "no_same_day"):
        spec = escalate.ModelSpec.from_dict({**base, "daily_likelihood": likelihood})
        fit = escalate.fit_from_draws(data, spec, truth)
        p_values[likelihood] = pit_test(randomized_pit(fit, draws=n, samples_per_draw=50, seed=1))["p_value"]
    assert (p_values["cascade"] > 0.01).all(), p_values
    assert (p_values["no_same_day"] < 1e-3).any(), p_values
