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


@pytest.mark.parametrize("K,J", [(1, 1), (2, 3), (3, 1)])
@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
def test_daily_matches_reference(K, J, observation):
    rng = np.random.default_rng(50 * K + J)
    counts, truces, covs = random_daily(rng, K, J, extra=True)
    data = TruceData.from_daily_counts(counts, truces, covs)
    assert data.resolution == "day"
    for _ in range(2):
        for dispersion in (float(rng.uniform(0.5, 5)), rng.uniform(0.5, 5, K)):  # shared, per stream
            params = {**random_params(rng, K, J, C=1), "dispersion": dispersion}
            got = escalate.log_likelihood(data, params, observation=observation)
            assert got == pytest.approx(daily_loglik(data, params, observation), rel=1e-9)


@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
def test_daily_gradient_matches_finite_differences(observation):
    rng = np.random.default_rng(5)
    counts, truces, covs = random_daily(rng, 2, 2, extra=True)
    data = TruceData.from_daily_counts(counts, truces, covs)
    for dispersion in (1.7, np.array([0.8, 3.1])):  # one shared, one per stream
        params = {**random_params(rng, 2, 2, C=1), "dispersion": dispersion}
        _, grads = escalate.log_likelihood(data, params, gradient=True, observation=observation)
        assert ("dispersion" in grads) == (observation == "negative_binomial")
        if observation == "negative_binomial":
            assert np.shape(grads["dispersion"]) == np.shape(dispersion)
        assert_gradient_matches_finite_differences(data, params, grads, observation=observation)


def random_history(rng, data, days=(5, 9)):
    """A history window of a random length before each truce, every day and stream."""
    rows = []
    for j, truce_id in enumerate(data.truce_ids):
        for d in range(-int(rng.integers(*days)), 0):
            rows += [{"truce_id": truce_id, "day": d, "stream": s, "count": int(rng.poisson(3.0))}
                     for s in data.streams]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
def test_history_window_excites_without_being_modelled(observation):
    rng = np.random.default_rng(71)
    counts, truces, covs = random_daily(rng, 2, 3)
    data = TruceData.from_daily_counts(counts, truces, covs)
    history = data.with_history(random_history(rng, data))
    params = {**random_params(rng, 2, 3), "dispersion": 2.3}
    got = escalate.log_likelihood(history, params, observation=observation)
    assert got == pytest.approx(daily_loglik(history, params, observation), rel=1e-9)
    # the history changes the truce's days (it excites them) ...
    assert got != pytest.approx(escalate.log_likelihood(data, params, observation=observation), rel=1e-6)
    # ... but its own days are not terms: without excitation it changes nothing
    quiet = {**params, "branching": np.zeros((2, 2))}
    assert escalate.log_likelihood(history, quiet, observation=observation) == pytest.approx(
        escalate.log_likelihood(data, quiet, observation=observation), rel=1e-12)
    _, grads = escalate.log_likelihood(history, params, gradient=True, observation=observation)
    assert_gradient_matches_finite_differences(history, params, grads, observation=observation)


def test_history_window_refuses_holes_and_days_after_the_start():
    rng = np.random.default_rng(3)
    counts, truces, covs = random_daily(rng, 2, 1)
    data = TruceData.from_daily_counts(counts, truces, covs)
    rows = random_history(rng, data)
    with pytest.raises(escalate.DataValidationError, match="every day and stream"):
        data.with_history(rows.iloc[1:])
    with pytest.raises(escalate.DataValidationError, match="whole number < 0"):
        data.with_history(rows.assign(day=rows["day"] + 5))
