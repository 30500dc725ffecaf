"""Day-resolution data and the daily likelihood (MODEL.md 3b)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import escalate
from conftest import assert_gradient_matches_finite_differences, random_params
from escalate import DataValidationError, TruceData
from reference import daily_loglik


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
        params = {**random_params(rng, K, J, C=1), "dispersion": float(rng.uniform(0.5, 5))}
        got = escalate.log_likelihood(data, params, observation=observation)
        assert got == pytest.approx(daily_loglik(data, params, observation), rel=1e-9)


@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
def test_daily_gradient_matches_finite_differences(observation):
    rng = np.random.default_rng(5)
    counts, truces, covs = random_daily(rng, 2, 2, extra=True)
    data = TruceData.from_daily_counts(counts, truces, covs)
    params = {**random_params(rng, 2, 2, C=1), "dispersion": 1.7}
    _, grads = escalate.log_likelihood(data, params, gradient=True, observation=observation)
    assert ("dispersion" in grads) == (observation == "negative_binomial")
    assert_gradient_matches_finite_differences(data, params, grads, observation=observation)


def test_wide_form_dates_and_days_outside_truces():
    dates = pd.date_range("2024-01-01", "2024-01-20")
    wide = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "a": np.arange(20), "b": 1, "c": 7})
    truces = pd.DataFrame({"truce_id": ["x"], "start": ["2024-01-05"], "end": ["2024-01-15"]})
    covs = pd.DataFrame({"truce_id": ["x"], "start": ["2024-01-05"], "verification": [0.5], "penalty_tier": [0]})
    data = TruceData.from_daily_counts(wide, truces, covs, streams=["b", "a"])
    assert data.streams == ("b", "a") and data.clock == "datetime"
    assert data.provenance["days_outside_truces"] == 10
    arrays = data.daily_arrays()
    np.testing.assert_array_equal(arrays["counts"][:, 1], np.arange(4, 14))
    np.testing.assert_array_equal(arrays["counts"][:, 0], 1)


def test_missing_days_are_listed_unless_filled():
    counts = pd.DataFrame({"date": [0.0, 2.0], "stream": ["a", "a"], "count": [1, 2]})
    truces = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "end": [4.0]})
    covs = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    with pytest.raises(DataValidationError) as info:
        TruceData.from_daily_counts(counts, truces, covs)
    assert "x day 1 (a)" in str(info.value) and "fill_missing=0" in str(info.value)
    data = TruceData.from_daily_counts(counts, truces, covs, fill_missing=0)
    assert data.daily_arrays()["counts"][:, 0].tolist() == [1, 0, 2, 0]
    assert data.provenance["filled_cells"] == 2


@pytest.mark.parametrize("mutate,needle", [
    (lambda c, t, v: c.__setitem__("count", [1, -2, 0, 0]), "whole numbers >= 0"),
    (lambda c, t, v: c.__setitem__("count", [1, 2.5, 0, 0]), "whole numbers >= 0"),
    (lambda c, t, v: c.__setitem__("date", [0.0, 0.0, 2.0, 3.0]), "repeat a (truce, day, stream)"),
    (lambda c, t, v: c.__setitem__("date", [0.0, 1.5, 2.0, 3.0]), "not on a day boundary"),
    (lambda c, t, v: v.__setitem__("start", [0.0, 1.5]), "change covariates inside a day"),
    (lambda c, t, v: t.__setitem__("end", [4.5]), "do not span whole days"),
])
def test_daily_validation(mutate, needle):
    counts = pd.DataFrame({"date": [0.0, 1.0, 2.0, 3.0], "stream": ["a"] * 4, "count": [1, 2, 0, 0]})
    truces = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "end": [4.0]})
    covs = pd.DataFrame({"truce_id": ["x", "x"], "start": [0.0, 2.0], "verification": [0.0, 0.5], "penalty_tier": [0, 1]})
    mutate(counts, truces, covs)
    with pytest.raises(DataValidationError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        TruceData.from_daily_counts(counts, truces, covs, fill_missing=0)


def test_exact_data_aggregate_to_days(small_data):
    events = pd.DataFrame({"truce_id": ["a"] * 4, "time": [0.2, 0.9, 1.1, 3.99], "stream": ["x", "x", "y", "x"]})
    truces = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "end": [5.0]})
    covs = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    daily = TruceData.from_frames(events, truces, covs).to_daily()
    assert daily.resolution == "day"
    assert daily.daily_arrays()["counts"].tolist() == [[2, 0], [0, 1], [0, 0], [1, 0], [0, 0]]
    assert daily.stream_totals().tolist() == [3, 1]


def test_an_ongoing_truce_is_observed_through_the_last_counted_day():
    counts = pd.DataFrame({"date": ["2025-01-01", "2025-01-02", "2025-01-03"], "a": [1, 0, 2]})
    truces = pd.DataFrame({"truce_id": ["x"], "start": ["2025-01-01"], "end": [None]})
    covs = pd.DataFrame({"truce_id": ["x"], "start": ["2025-01-01"], "verification": [0.5], "penalty_tier": [0]})
    data = TruceData.from_daily_counts(counts, truces, covs)
    assert data.durations.tolist() == [3.0]
    assert data.provenance["open_truces_end"].startswith("2025-01-04")
