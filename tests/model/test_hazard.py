"""The collapse hazard (MODEL.md 6): its likelihood against a loop over truces and days."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytest

import escalate
from escalate import Corpus, ModelSpec
from escalate.errors import SpecError
from escalate.model.build import build_model
from escalate.model.hazard import (
    day_bins,
    hazard_log_likelihood,
    hazard_loglike_graph,
    hazard_rows,
)

BINS = (0, 3, 7, 14, 30)


def reference_loglik(corpus, spec, params) -> float:
    """MODEL.md 6 written the obvious way: every truce, every day it was at risk."""
    s = spec.hazard
    groups = list(corpus.groups)
    tiers = [0.0, *np.atleast_1d(params.get("hazard_tier", []))]
    total = 0.0
    for _, row in corpus.truces.iterrows():
        if row["excluded"] or row["days_at_risk"] == 0:
            continue
        if s.feedback and not row["has_events"] and s.unobserved_violence == "exclude":
            continue
        totals = corpus.daily_totals(row["truce_id"]) if row["has_events"] else None
        for d in range(int(row["days_at_risk"])):
            b = max(i for i, lo in enumerate(s.bins) if lo <= d)
            eta = (params["hazard_baseline"][b] + params.get("hazard_verification", 0.0) * row["verification"]
                   + tiers[int(row["penalty_tier"])]
                   + sum(params["hazard_covariate"][i] * row[c] for i, c in enumerate(s.covariates))
                   + params["hazard_group"][groups.index(row["group"])])
            if s.feedback and totals is not None:
                c = sum(totals[corpus.history_days + d - w] for w in range(1, s.feedback_window_days + 1))
                eta += params["hazard_feedback"] * math.log(1 + c)
            h = 1 - math.exp(-math.exp(eta))
            last = d == int(row["days_at_risk"]) - 1
            total += math.log(h) if (last and row["collapsed"]) else math.log(1 - h)
    return total


def random_params(rng, corpus, spec):
    return {"hazard_baseline": rng.normal(-5, 0.5, len(spec.hazard.bins)),
            "hazard_verification": rng.normal(), "hazard_tier": rng.normal(size=spec.penalty_tiers - 1),
            "hazard_covariate": rng.normal(size=len(spec.hazard.covariates)),
            "hazard_feedback": rng.normal(0.3, 0.2), "hazard_group": rng.normal(0, 0.4, len(corpus.groups))}


def corpus_spec(unobserved="omit_feedback", feedback=True):
    return ModelSpec.from_dict({"time_resolution": "day", "penalty_tiers": 3, "truce_effects": "none",
                                "hazard": {"bins": list(BINS), "covariates": ["written", "mediated"],
                                           "feedback": feedback, "unobserved_violence": unobserved}})


@pytest.fixture(scope="module")
def small_corpus():
    corpus, _ = escalate.simulate_corpus(40, 6, seed=3, event_share=0.5, max_days=120, bins=BINS,
                                         truth={**escalate.model.simulate_corpus.DEFAULT_TRUTH,
                                                "hazard_baseline": np.log([0.02, 0.015, 0.01, 0.008, 0.005])})
    return corpus


@pytest.mark.parametrize("unobserved,feedback", [("omit_feedback", True), ("exclude", True), ("error", False)])
def test_hazard_likelihood_matches_the_loop_over_truces_and_days(small_corpus, unobserved, feedback):
    spec = corpus_spec(unobserved, feedback)
    rows = hazard_rows(small_corpus, spec.hazard)
    assert rows.exposure.sum() < small_corpus.at_risk["days_at_risk"].sum() + 1  # merged, never more days
    rng = np.random.default_rng(11)
    for _ in range(3):
        params = random_params(rng, small_corpus, spec)
        assert hazard_log_likelihood(rows, params) == pytest.approx(reference_loglik(small_corpus, spec, params),
                                                                    rel=1e-9)


def test_the_model_graph_is_that_likelihood_and_its_gradient_matches_finite_differences(small_corpus):
    spec = corpus_spec()
    model = build_model(small_corpus.without_events().subset(small_corpus.truce_ids),
                        corpus_spec(feedback=False))
    assert "hawkes_loglik" not in model.named_vars  # no event data: the hazard alone
    model = build_model(small_corpus, spec)
    rows = hazard_rows(small_corpus, spec.hazard)
    names = ["hazard_baseline", "hazard_verification", "hazard_tier", "hazard_covariate", "hazard_feedback",
             "hazard_group"]
    rng = np.random.default_rng(5)
    params = random_params(rng, small_corpus, spec)
    # the graph the model's Potential is built from, at the parameters as inputs
    inputs = {n: pytensor.tensor.vector(n) if np.ndim(params[n]) else pytensor.tensor.scalar(n) for n in names}
    graph = hazard_loglike_graph(rows, inputs)
    assert "collapse_loglik" in model.named_vars
    order = [inputs[n] for n in names]
    value = pytensor.function(order, graph)
    grads = pytensor.function(order, pytensor.grad(graph, order))
    args = [np.asarray(params[n], dtype=float) for n in names]
    assert float(value(*args)) == pytest.approx(hazard_log_likelihood(rows, params), rel=1e-12)
    analytic = grads(*args)
    h = 1e-6
    for i, name in enumerate(names):
        flat = args[i].reshape(-1)
        for k in range(flat.size):
            up = [a.copy() for a in args]
            down = [a.copy() for a in args]
            up[i].reshape(-1)[k] += h
            down[i].reshape(-1)[k] -= h
            numeric = (float(value(*up)) - float(value(*down))) / (2 * h)
            assert np.asarray(analytic[i]).reshape(-1)[k] == pytest.approx(numeric, rel=1e-5, abs=1e-6), name


def test_truces_without_events_need_a_stated_rule_when_the_feedback_is_on(small_corpus):
    with pytest.raises(SpecError, match="unobserved_violence"):
        hazard_rows(small_corpus, corpus_spec("error").hazard)
    with pytest.raises(SpecError, match="not static covariates"):
        hazard_rows(small_corpus, ModelSpec.from_dict({"hazard": {"covariates": ["rainfall"],
                                                                  "feedback": False}}).hazard)
    with pytest.raises(SpecError, match="\\[hazard\\] table"):
        build_model(small_corpus, ModelSpec.from_dict({"time_resolution": "day"}))


def test_bins_and_the_random_walk_baseline():
    assert day_bins([0, 2, 3, 6, 7, 29, 30, 1000], BINS).tolist() == [0, 0, 1, 1, 2, 3, 4, 4]
    with pytest.raises(SpecError, match="hazard.bins"):
        ModelSpec.from_dict({"hazard": {"bins": [1, 5]}})
    with pytest.raises(SpecError, match="hazard.bins"):
        ModelSpec.from_dict({"hazard": {"bins": [0, 5, 5]}})
    truces = pd.DataFrame({"truce_id": ["a", "b"], "group": ["g", "g"], "start": ["2000-01-01", "2000-02-01"],
                           "end": ["2000-01-05", ""], "end_type": ["collapsed", "holding"],
                           "verification": [0.0, 1.0], "penalty_tier": [0, 1]})
    corpus = Corpus.from_frames(truces, cutoff="2000-03-01")
    spec = ModelSpec.from_dict({"penalty_tiers": 2, "hazard": {"bins": [0, 7], "feedback": False}})
    with build_model(corpus, spec) as model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The effect of Potentials", UserWarning)  # the prior alone, on purpose
        prior = pm.sample_prior_predictive(draws=4000, random_seed=2, var_names=["hazard_baseline"])
    levels = prior.prior["hazard_baseline"].values.reshape(-1, 2)
    early = np.log(1 / 12)  # one collapse in the first-week days at risk: 5 (days 0..4) + 7
    assert levels[:, 0].mean() == pytest.approx(early, abs=0.1)
    assert levels[:, 0].std() == pytest.approx(1.5, rel=0.06)
    # the second level is the first plus a HalfNormal(0.5)-scaled step
    assert np.std(levels[:, 1] - levels[:, 0]) == pytest.approx(0.5 * np.sqrt(1.0), rel=0.1)
    assert "collapse_loglik" in model.named_vars
