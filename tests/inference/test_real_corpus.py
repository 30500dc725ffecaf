"""The real ceasefire corpus (ETH/PRIO + UCDP GED, read from ../shared/data at run time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import escalate
from escalate.checking.survival import kaplan_meier
from escalate.datasets import ceasefire_corpus, data_folder

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def corpus():
    return ceasefire_corpus()


def test_the_corpus_joins_ceasefires_outcomes_and_events(corpus):
    raw = pd.read_csv(data_folder("ceasefires") / "eth_prio_ceasefires_pre2014.csv", low_memory=False)
    first = raw.drop_duplicates("uniq_id")
    assert len(corpus.truces) == len(first) == 1726
    # collapses in the hazard, counted independently: first rows coded ended = 2 with a full end
    # date and a start known to the day (effective date, else declared)
    effect = first["cf_effect_yr"] > 0
    start_day = np.where(effect, first["cf_effect_day"], first["cf_dec_day"])
    start_month = np.where(effect, first["cf_effect_month"], first["cf_dec_month"])
    exact_end = (first["end_yr"] > 0) & (first["end_month"] > 0) & (first["end_day"] > 0)
    collapses = (first["ended"] == 2) & exact_end & (start_day > 0) & (start_month > 0)
    # two source rows the coding corrects or refuses: 570002 (effective 1994-02-31, its day made
    # unknown) and 345017 (an end before its start)
    collapses &= ~first["uniq_id"].isin([570002, 345017])
    assert int(corpus.at_risk["collapsed"].sum()) == int(collapses.sum())
    # nothing dropped silently: every truce is at risk, or says why not
    t = corpus.truces
    assert ((t["excluded"] != "") | (t["days_at_risk"] >= 0)).all()
    assert len(corpus.at_risk) + int((t["excluded"] != "").sum()) + int(((t["excluded"] == "")
                                                                        & (t["days_at_risk"] == 0)).sum()) == 1726
    assert set(t["events"]) <= {"linked", "no_ged_file", "no_ucdp_dyad", "dyad_not_in_file", "not at risk",
                                "outside GED coverage"}
    assert (t["link"] == "linked").sum() == 386  # the README's figure
    assert int(t["has_events"].sum()) == int((t["events"] == "linked").sum())
    assert any("Clayton" in c for c in corpus.provenance["citations"])
    assert any("CC BY 4.0" in c for c in corpus.provenance["citations"])


def test_bundled_corpus_specs_are_the_models_folder_files():
    for name in ("ceasefire-corpus", "ceasefire-violence"):
        assert escalate.ModelSpec.bundled(name) == escalate.ModelSpec.from_toml(MODELS / f"{name}.toml")


@pytest.mark.slow
def test_the_hazard_reproduces_kaplan_meier_on_the_real_corpus(corpus):
    spec = escalate.ModelSpec.bundled("ceasefire-corpus")
    fit = escalate.fit(corpus, spec, seed=3)  # the spec's 4 x 1000 draws
    assert fit.diagnostics.passed, fit.diagnostics.verdict
    km = kaplan_meier(fit.corpus, days=(7, 30, 90, 365), ci_prob=0.90)
    model = fit.survival(days=(7, 30, 90, 365), draws=400)
    inside = (model["survival_mean"] >= km["km_lo"]) & (model["survival_mean"] <= km["km_hi"])
    assert inside.all(), pd.concat([km, model], axis=1).to_string()
    effects = fit.policy_effects().set_index("effect")
    assert (effects["basis"] == "data").all()  # every effect varies in the corpus
    # a monitored and internationally enforced ceasefire vs an unmonitored one, otherwise alike
    profile = {"written": 1, "mediated": 1, "bilateral": 1, "definitive": 0, "fixed_term": 0, "partial": 0}
    monitored = fit.new_truce_risk((30,), verification=1, penalty_tier=2, covariates=profile)
    unmonitored = fit.new_truce_risk((30,), verification=0, penalty_tier=0, covariates=profile)
    assert 0 < monitored["p_collapse_mean"].iloc[0] < unmonitored["p_collapse_mean"].iloc[0] < 1
