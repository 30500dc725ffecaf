"""The prior predictive check (MODEL.md 2): simulated from the priors, classified by the rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import escalate
from escalate import CollapseRule
from escalate.checking.prior_predictive import prior_predictive


def window(days=60.0, verification=0.5):
    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 0.0], "end": [days, days]})
    covariates = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 0.0], "verification": [verification] * 2,
                               "penalty_tier": [0, 0]})
    return truces, covariates


def point_spec(rate, branching, resolution="exact"):
    """Priors concentrated on one value: no effects, the given rate and branching."""
    return escalate.ModelSpec.from_dict({
        "streams": ["x", "y"], "penalty_tiers": 1, "time_resolution": resolution, "truce_effects": "none",
        "priors": {"mu_log": {"dist": "Normal", "mu": float(np.log(rate)), "sigma": 1e-9},
                   "branching": {"dist": "Gamma", "alpha": 1e8, "beta": 1e8 / branching},
                   "decay": {"dist": "LogNormal", "mu": 0.0, "sigma": 1e-9},
                   "excite_verification_self": {"dist": "Normal", "mu": 0.0, "sigma": 1e-9},
                   "excite_verification_cross": {"dist": "Normal", "mu": 0.0, "sigma": 1e-9},
                   "mu_verification": {"dist": "Normal", "mu": 0.0, "sigma": 1e-9}}})


@pytest.mark.parametrize("resolution", ["exact", "day"])
def test_shares_match_the_closed_form_without_excitation(resolution):
    """Poisson streams of 0.01/day each (branching 1e-6), 60 days, rule: one event: it fires
    with probability 1 - exp(-0.02 x 60) = 0.70, and a truce is quiet exactly when it has no
    event (half of one), the same 0.30."""
    truces, covariates = window()
    pp = prior_predictive(point_spec(0.01, 1e-6, resolution), truces, covariates, n=600, seed=3,
                          collapse=CollapseRule.count(threshold=1, window_days=1))
    table = pp.replicates
    want = 1 - np.exp(-0.02 * 60)
    se = np.sqrt(want * (1 - want) / len(table))
    assert abs(table["collapsed"].mean() - want) < 4 * se
    assert (table["quiet"] == ~table["collapsed"]).all()
    assert not table["exploded"].any() and not table["supercritical"].any()
    assert abs(table["events"].mean() - 0.02 * 60) < 0.15


def test_a_supercritical_prior_explodes_and_the_summary_says_so():
    truces, covariates = window(days=200.0)
    pp = prior_predictive(point_spec(0.05, 0.9, "day"), truces, covariates, n=40, seed=1,
                          collapse=CollapseRule.count(threshold=50, window_days=7))
    summary = pp.summary().set_index("outcome")
    assert summary.loc["supercritical", "share"] == 1.0  # spectral radius 1.8
    assert summary.loc["exploded", "share"] > 0.5 and summary.loc["quiet", "share"] == 0.0
    assert summary.loc["collapsed", "share"] >= summary.loc["exploded", "share"]


def test_the_real_examples_priors_put_visible_mass_on_quiet_and_collapsing_truces():
    """The Israel-Hezbollah spec on its own truce windows, mu_log centred on their observed
    rates: at least 15% of the replicated truces stay quiet and at least 15% collapse under its
    rules (MODEL.md 2; 26% and 63% at this seed)."""
    from escalate.datasets import israel_hezbollah

    spec = escalate.ModelSpec.from_toml(Path(__file__).resolve().parents[2] / "models" / "israel-hezbollah.toml")
    summary = prior_predictive(spec, data=israel_hezbollah(), n=200, seed=1).summary()
    shares = summary.set_index("outcome")["share"]
    assert shares["quiet"] >= 0.15 and shares["collapsed"] >= 0.15, summary.to_string()
    assert shares["exploded"] <= shares["collapsed"]


def test_a_prior_centred_on_the_observed_rate_needs_a_rate():
    truces, covariates = window()
    spec = escalate.ModelSpec.from_dict({"streams": ["x", "y"], "penalty_tiers": 1})
    with pytest.raises(escalate.EscalateInputError, match="observed_rates"):
        prior_predictive(spec, truces, covariates, n=5)


def test_the_default_priors_put_visible_mass_on_quiet_and_collapsing_truces():
    """The bundled default (truce-hawkes: Gamma(1, 3) branching, densest at zero) on the
    synthetic truce windows, centred on a tenth of their observed rates: 18% stay quiet, 70%
    collapse and a third of the prior mass is supercritical (the test asks 15%, 15% and at most
    40%). The old Gamma(2, 4) gave 10% quiet and 53% supercritical and fails. At the full
    synthetic rates (about 2.7 events a day, where the spec's rule of 20 in 7 days already
    fires) no prior centred on the data can make quiet truces common: docs/validation.md."""
    from escalate.datasets import synthetic, synthetic_tables

    data = synthetic()
    spec = escalate.ModelSpec.from_dict({**escalate.ModelSpec.bundled("truce-hawkes").to_dict(),
                                         "streams": list(data.streams)})
    truces, covariates = synthetic_tables()
    summary = prior_predictive(spec, truces, covariates, observed_rates=data.observed_rates() / 10,
                               n=300, seed=1).summary()
    shares = summary.set_index("outcome")["share"]
    assert shares["quiet"] >= 0.15 and shares["collapsed"] >= 0.15, summary.to_string()
    assert shares["supercritical"] <= 0.4, summary.to_string()
