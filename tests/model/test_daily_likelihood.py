"""Day-resolution data and the daily likelihood (MODEL.md 3b)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import assert_gradient_matches_finite_differences, random_params
from reference import daily_loglik

import escalate
from escalate import TruceData


def random_daily(rng, K, J, P=3, extra=False):
    streams = [f"s{k}" for k in range(K)]
    truces, covs, rows = [], [], []
    for j in range(J):
        start, D = 100 * j, int(rng.integers(15, 30))
        truces.append({"truce_id": f"t{j}", "start": float(start), "end": float(start + D)})
        base = {"truce_id": f"t{j}", "start": float(start), "stream": None,
                "verification": float(rng.uniform()), "penalty_tier": int(rng.integers(0, P))}
        if extra:
            base["index"] = float(rng.normal())
        covs.append(base)
        for cut in sorted(rng.choice(np.arange(1, D), 2, replace=False)):
            v = float(rng.uniform())
            for s in streams:
                row = {"truce_id": f"t{j}", "start": float(start + cut), "stream": s, "verification": v,
                       "penalty_tier": int(rng.integers(0, P))}
                if extra:
                    row["index"] = base["index"] - 0.3
                covs.append(row)
        for d in range(D):
            for s in streams:
                rows.append({"date": float(start + d), "stream": s, "count": int(rng.poisson(2.0))})
    return pd.DataFrame(rows), pd.DataFrame(truces), pd.DataFrame(covs)


LIKELIHOODS = pytest.mark.parametrize("daily_likelihood", ["cascade", "no_same_day"])


@pytest.mark.parametrize("K,J", [(1, 1), (2, 3), (3, 1)])
@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
@LIKELIHOODS
def test_daily_matches_reference(K, J, observation, daily_likelihood):
    rng = np.random.default_rng(50 * K + J)
    counts, truces, covs = random_daily(rng, K, J, extra=True)
    data = TruceData.from_daily_counts(counts, truces, covs)
    assert data.resolution == "day"
    for _ in range(2):
        for dispersion in (float(rng.uniform(0.5, 5)), rng.uniform(0.5, 5, K)):  # shared, per stream
            params = {**random_params(rng, K, J, C=1), "dispersion": dispersion}
            got = escalate.log_likelihood(data, params, observation=observation, daily_likelihood=daily_likelihood)
            assert got == pytest.approx(daily_loglik(data, params, observation, daily_likelihood), rel=1e-9)


@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
@LIKELIHOODS
def test_daily_gradient_matches_finite_differences(observation, daily_likelihood):
    rng = np.random.default_rng(5)
    counts, truces, covs = random_daily(rng, 2, 2, extra=True)
    data = TruceData.from_daily_counts(counts, truces, covs)
    for dispersion in (1.7, np.array([0.8, 3.1])):  # one shared, one per stream
        params = {**random_params(rng, 2, 2, C=1), "dispersion": dispersion}
        kw = {"observation": observation, "daily_likelihood": daily_likelihood}
        _, grads = escalate.log_likelihood(data, params, gradient=True, **kw)
        assert ("dispersion" in grads) == (observation == "negative_binomial")
        if observation == "negative_binomial":
            assert np.shape(grads["dispersion"]) == np.shape(dispersion)
        assert_gradient_matches_finite_differences(data, params, grads, **kw)


def random_history(rng, data, days=(5, 9)):
    """A history window of a random length before each truce, every day and stream."""
    rows = []
    for j, truce_id in enumerate(data.truce_ids):
        for d in range(-int(rng.integers(*days)), 0):
            rows += [{"truce_id": truce_id, "day": d, "stream": s, "count": int(rng.poisson(3.0))}
                     for s in data.streams]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
@LIKELIHOODS
def test_history_window_excites_without_being_modelled(observation, daily_likelihood):
    rng = np.random.default_rng(71)
    counts, truces, covs = random_daily(rng, 2, 3)
    data = TruceData.from_daily_counts(counts, truces, covs)
    history = data.with_history(random_history(rng, data))
    params = {**random_params(rng, 2, 3), "dispersion": 2.3}
    kw = {"observation": observation, "daily_likelihood": daily_likelihood}
    got = escalate.log_likelihood(history, params, **kw)
    assert got == pytest.approx(daily_loglik(history, params, observation, daily_likelihood), rel=1e-9)
    # the history changes the truce's days (it excites them) ...
    assert got != pytest.approx(escalate.log_likelihood(data, params, **kw), rel=1e-6)
    # ... but its own days are not terms: without excitation it changes nothing
    quiet = {**params, "branching": np.zeros((2, 2))}
    assert escalate.log_likelihood(history, quiet, **kw) == pytest.approx(
        escalate.log_likelihood(data, quiet, **kw), rel=1e-12)
    _, grads = escalate.log_likelihood(history, params, gradient=True, **kw)
    assert_gradient_matches_finite_differences(history, params, grads, **kw)


def test_history_window_refuses_holes_and_days_after_the_start():
    rng = np.random.default_rng(3)
    counts, truces, covs = random_daily(rng, 2, 1)
    data = TruceData.from_daily_counts(counts, truces, covs)
    rows = random_history(rng, data)
    with pytest.raises(escalate.DataValidationError, match="every day and stream"):
        data.with_history(rows.iloc[1:])
    with pytest.raises(escalate.DataValidationError, match="whole number < 0"):
        data.with_history(rows.assign(day=rows["day"] + 5))


def with_gaps_and_reports(counts, rng, missing=0.12, reports=3, days=3):
    """The long counts with a share of cells emptied (missing days) and a few ``days``-day
    reports per stream replacing single days (their total in one row on its first day)."""
    counts = counts.copy()
    counts["count"] = counts["count"].astype(float)
    counts["days"] = 1
    counts.loc[rng.random(len(counts)) < missing, "count"] = np.nan
    drop = []
    for stream, rows in counts.groupby("stream"):
        dates = rows["date"].to_numpy()
        for first in rng.choice(len(rows) - days - 1, reports, replace=False):
            window = rows.iloc[first:first + days]
            if window["count"].isna().any() or np.ptp(window["date"]) != days - 1:
                continue  # keep reports clear of gaps and truce ends
            counts.loc[window.index[0], ["count", "days"]] = [window["count"].sum(), days]
            drop += list(window.index[1:])
    return counts.drop(index=sorted(set(drop)))


@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
@LIKELIHOODS
def test_missing_days_and_multi_day_reports_match_the_reference(observation, daily_likelihood):
    rng = np.random.default_rng(8)
    counts, truces, covs = random_daily(rng, 2, 2, extra=True)
    data = TruceData.from_daily_counts(with_gaps_and_reports(counts, rng), truces, covs)
    assert np.isnan(data.counts["count"]).sum() > 5 and (data.counts["span"] == 3).sum() >= 3
    for _ in range(3):
        params = {**random_params(rng, 2, 2, C=1), "dispersion": rng.uniform(0.5, 5, 2)}
        got = escalate.log_likelihood(data, params, observation=observation, daily_likelihood=daily_likelihood)
        assert got == pytest.approx(daily_loglik(data, params, observation, daily_likelihood), rel=1e-9)


@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
@LIKELIHOODS
def test_missing_days_and_reports_gradient_matches_finite_differences(observation, daily_likelihood):
    """The new reverse-mode terms: a missing day's expected count excites later days, so the
    gradient of every parameter (decay included) flows through it."""
    rng = np.random.default_rng(9)
    counts, truces, covs = random_daily(rng, 2, 2, extra=True)
    data = TruceData.from_daily_counts(with_gaps_and_reports(counts, rng, missing=0.2), truces, covs)
    params = {**random_params(rng, 2, 2, C=1), "dispersion": np.array([0.8, 3.1])}
    kw = {"observation": observation, "daily_likelihood": daily_likelihood}
    _, grads = escalate.log_likelihood(data, params, gradient=True, **kw)
    assert_gradient_matches_finite_differences(data, params, grads, **kw)


def test_without_excitation_a_report_is_poisson_in_its_total_and_a_missing_day_drops_out():
    """Branching 0: days are independent Poisson, so a 3-day report is exactly
    Poisson(sum of its means) and a missing day contributes nothing."""
    from scipy import stats

    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [10.0]})
    covs = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    y = [1.0, 0.0, np.nan, 2.0, 7.0, 3.0, 0.0, 1.0]  # day 4 is a 3-day report of 7 (days 4-6)
    counts = pd.DataFrame({"date": [0.0, 1, 2, 3, 4, 7, 8, 9], "stream": "x", "count": y,
                           "days": [1, 1, 1, 1, 3, 1, 1, 1]})
    data = TruceData.from_daily_counts(counts, truces, covs)
    params = {"mu_log": np.log([1.3]), "branching": np.zeros((1, 1)), "decay": 0.5}
    got = escalate.log_likelihood(data, params)
    singles = [1.0, 0.0, 2.0, 3.0, 0.0, 1.0]
    want = stats.poisson(1.3).logpmf(singles).sum() + stats.poisson(3 * 1.3).logpmf(7)
    assert got == pytest.approx(want, rel=1e-12)


def test_a_missing_day_excites_with_its_expected_count():
    """One stream, day 0 has 4 events, day 1 is missing, day 2 has 0: day 1's expected count
    is mu + c a 4, and it excites day 2 (Lam_2 = mu + a (4 k(2) + Lam_1 k(1)))."""
    import math

    from scipy import stats

    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [3.0]})
    covs = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    data = TruceData.from_daily_counts(pd.DataFrame({"date": [0.0, 1, 2], "stream": "x", "count": [4, None, 0]}),
                                       truces, covs)
    mu, a, w = 0.4, 0.5, 0.7
    got = escalate.log_likelihood(data, {"mu_log": np.log([mu]), "branching": np.full((1, 1), a), "decay": w},
                                  daily_likelihood="no_same_day")
    kappa = [(1 - math.exp(-w)) ** 2 * math.exp(-w * (lag - 1)) / w for lag in (1, 2)]
    lam1 = mu + a * 4 * kappa[0]
    lam2 = mu + a * (4 * kappa[1] + lam1 * kappa[0])
    assert got == pytest.approx(stats.poisson(mu).logpmf(4) + stats.poisson(lam2).logpmf(0), rel=1e-12)
