"""Effects the data cannot identify (MODEL.md 6, Honesty): found, held at zero, said, and
scenarios that would move them refused or run on the priors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import escalate
from escalate import CollapseRule, EscalateInputError, Scenario
from escalate.model.identification import Identification, identify
from escalate.model.parameters import posterior_parameters, state_rates


def data(verification=(0.3, 0.3), tiers=((0, 0), (1, 1)), extra=None):
    """Two truces of 60 days, each with two covariate segments."""
    events = pd.DataFrame({"truce_id": ["a", "a", "b", "b", "a", "b"], "time": [1.0, 5.0, 2.0, 40.0, 50.0, 55.0],
                           "stream": ["x", "y", "x", "y", "x", "x"]})
    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 0.0], "end": [60.0, 60.0]})
    covs = pd.DataFrame({"truce_id": ["a", "a", "b", "b"], "start": [0.0, 30.0, 0.0, 30.0],
                         "verification": [verification[0], verification[0], verification[1], verification[1]],
                         "penalty_tier": [tiers[0][0], tiers[0][1], tiers[1][0], tiers[1][1]]})
    if extra is not None:
        covs["intensity"] = extra
    return escalate.TruceData.from_frames(events, truces, covs)


def spec(**kw):
    return escalate.ModelSpec.from_dict({"penalty_tiers": 3, "truce_effects": "none", **kw})


def test_a_constant_verification_holds_its_three_effects():
    ident = identify(data(verification=(0.3, 0.3)), spec())
    assert set(ident.fixed) >= {"mu_verification", "excite_verification_self", "excite_verification_cross"}
    assert ident.verification == 0.3 and "verification is 0.3 throughout" in ident.notes[0]
    assert "mu_verification" not in identify(data(verification=(0.3, 0.7)), spec()).fixed


def test_an_unseen_tier_is_held_and_a_seen_one_is_not():
    ident = identify(data(verification=(0.3, 0.7), tiers=((0, 0), (1, 1))), spec())
    assert ident.fixed == {"mu_tier": (1,), "excite_tier": (1,)}  # tier 2 (position 1) never occurs
    assert ident.tiers == (0, 1)
    assert any("penalty tier 2" in n for n in ident.notes)


def test_a_single_tier_without_the_reference_is_the_baselines():
    ident = identify(data(verification=(0.3, 0.7), tiers=((2, 2), (2, 2))), spec())
    assert ident.fixed["mu_tier"] == (0, 1)  # tier 1 unseen, tier 2 confounded with mu_log
    assert any("tier 2 is the only tier" in n for n in ident.notes)


def test_a_constant_baseline_covariate_is_held_and_pooled_truces_are_flagged():
    ident = identify(data(verification=(0.3, 0.7), extra=[1.0, 1.0, 1.0, 1.0]), spec(baseline_covariates=["intensity"]))
    assert ident.fixed["mu_covariate"] == (0,) and ident.covariates == {"intensity": 1.0}
    pooled = identify(data(verification=(0.3, 0.7)), spec(truce_effects="non_centred"))
    assert "mu_verification" not in pooled.fixed and "confounded with the truce effects" in pooled.confounded[0]
    assert Identification.from_json(ident.to_json()) == ident


def test_the_spec_switch_parses_and_keeps_old_spec_ids():
    assert spec().fix_unidentified is True
    off = spec(fix_unidentified=False)
    assert off.fix_unidentified is False and off.to_dict()["fix_unidentified"] is False
    assert "fix_unidentified" not in spec().to_dict()  # the default leaves ids of older specs alone
    with pytest.raises(escalate.SpecError, match="fix_unidentified"):
        spec(fix_unidentified="yes")


@pytest.mark.filterwarnings("default::escalate.inference.diagnostics.DiagnosticsWarning")
def test_a_fit_holds_them_at_zero_and_its_diagnostics_and_summary_say_so():
    d = data(verification=(0.3, 0.3))
    fit = escalate.fit(d, spec(), draws=200, tune=200, chains=2, seed=2)
    post = fit.tree["posterior"]
    assert float(np.abs(post["mu_verification"]).max()) == 0.0
    assert float(np.abs(post["excite_tier"].sel(tier=2)).max()) == 0.0
    assert float(post["excite_tier"].sel(tier=1).std()) > 0.1  # tier 1 occurs: sampled
    assert np.isfinite(fit.diagnostics.max_rhat)  # the constants are not counted as stuck chains
    table = fit.summary()
    assert table.loc["mu_verification", "basis"].startswith("held at 0")
    # tier 1 is sampled: not held. Whether its six events contract it past the prior-driven
    # threshold (posterior variance 20% below the prior's) is chance at 2 x 200 draws; the
    # baseline's is not (its posterior sd is about a third of the prior's)
    assert not table.loc["excite_tier[1]", "basis"].startswith("held")
    assert table.loc["mu_log[x]", "basis"] == "data"
    free = escalate.fit(d, spec(fix_unidentified=False), draws=200, tune=200, chains=2, seed=2)
    assert float(free.tree["posterior"]["mu_verification"].std()) > 0.5  # on its prior, Normal(0, 1)
    assert not free.identification.fixed


BURST = CollapseRule.count(threshold=5, window_days=3)


def fixed_fit(n=400):
    """Draws with every effect present, and the identification of constant verification 0.3."""
    d = data(verification=(0.3, 0.3), tiers=((0, 0), (1, 1)))
    rng = np.random.default_rng(1)
    draws = {"mu_log": np.log(rng.uniform(0.05, 0.1, (n, 2))), "branching": rng.uniform(0.1, 0.3, (n, 2, 2)),
             "decay": rng.uniform(0.2, 0.5, n), "mu_verification": np.zeros(n),
             "excite_verification_self": np.zeros(n), "excite_verification_cross": np.zeros(n),
             "mu_tier": np.c_[rng.normal(0, 0.3, n), np.zeros(n)], "excite_tier": np.c_[rng.normal(0, 0.3, n), np.zeros(n)]}
    fit = escalate.fit_from_draws(d, spec(), draws)
    fit.tree.attrs["identification"] = identify(d, spec()).to_json()
    return fit


def test_a_scenario_that_moves_a_held_effect_is_refused_naming_the_fix():
    fit = fixed_fit(20)
    with pytest.raises(EscalateInputError, match=r"'cell'.*verification 0\.9.*prior_driven = true"):
        fit.forecast(10, scenarios=[Scenario("cell", verification=0.9)], paths=5, collapse=BURST)
    with pytest.raises(EscalateInputError, match="penalty tier 2"):
        fit.forecast(10, scenarios=[Scenario("up", penalty_tier=2)], paths=5, collapse=BURST)
    fit.forecast(10, scenarios=[Scenario("seen", penalty_tier=1)], paths=5, collapse=BURST)  # tier 1 is in the data


def test_on_the_priors_the_data_states_keep_their_rates_and_the_change_follows_the_prior():
    """The fit absorbed verification 0.3 into mu_log and branching: drawn effects e must move
    the rates by e (v - 0.3), not e v. Without that re-expression the observed state's rates
    change (the first check fails); the spread of the log-rate change at v = 0.9 is the
    Normal(0, 1) prior's times 0.6."""
    fit = fixed_fit()
    ident = fit.identification
    p = posterior_parameters(fit, np.arange(400))
    q = ident.on_priors(p, fit.spec, seed=3)
    tiers = np.array([1, 1])
    mu0, alpha0 = state_rates(p, 1, 0.3, tiers, np.zeros(0))
    mu1, alpha1 = state_rates(q, 1, 0.3, tiers, np.zeros(0))
    np.testing.assert_allclose(mu1, mu0, rtol=1e-12)
    np.testing.assert_allclose(alpha1, alpha0, rtol=1e-12)
    mu_new, alpha_new = state_rates(q, 1, 0.9, tiers, np.zeros(0))
    shift = np.log(mu_new[:, 0] / mu0[:, 0])
    assert abs(shift.std() / 0.6 - 1) < 0.12 and abs(shift.mean()) < 0.12
    cross = np.log(alpha_new[:, 0, 1] / alpha0[:, 0, 1])
    assert abs(cross.std() / 0.6 - 1) < 0.12


def test_a_prior_driven_scenario_runs_and_its_headline_says_so():
    fit = fixed_fit(40)
    fc = fit.forecast(10, scenarios=[Scenario("cell", verification=0.9, prior_driven=True)], paths=5, seed=1,
                      collapse=BURST)
    head = fc.headline(days=[7]).set_index("scenario")
    assert head.loc["status quo", "basis"] == "data"
    assert head.loc["cell", "basis"].startswith("prior-driven: verification 0.9")
    assert Scenario.from_dict({"name": "c", "verification": 0.9, "prior_driven": True}).prior_driven


def test_prior_sd_matches_scipy_for_every_distribution():
    from scipy import stats

    from escalate.model.spec import Prior

    cases = {"Normal": ({"mu": 0.3, "sigma": 1.7}, stats.norm(0.3, 1.7)),
             "HalfNormal": ({"sigma": 2.0}, stats.halfnorm(scale=2.0)),
             "LogNormal": ({"mu": -0.7, "sigma": 0.5}, stats.lognorm(0.5, scale=np.exp(-0.7))),
             "Gamma": ({"alpha": 2.0, "beta": 4.0}, stats.gamma(2.0, scale=0.25)),
             "Exponential": ({"lam": 3.0}, stats.expon(scale=1 / 3.0)),
             "StudentT": ({"nu": 5.0, "mu": 0.0, "sigma": 1.5}, stats.t(5.0, scale=1.5))}
    for dist, (params, ref) in cases.items():
        prior = Prior.from_dict("decay" if dist not in ("Normal", "StudentT") else "mu_verification",
                                {"dist": dist, **params}, "test")
        assert prior.sd() == pytest.approx(ref.std(), rel=1e-12), dist
    assert Prior.from_dict("mu_verification", {"dist": "StudentT", "nu": 2.0, "mu": 0.0, "sigma": 1.0}, "t").sd() is None


def test_a_parameter_the_data_did_not_narrow_is_labelled_prior_driven_in_the_summary():
    """Draws of decay from its own prior: the summary calls it prior-driven (posterior sd about
    100% of the prior's); draws ten times narrower: data. A basis that compared variances the
    wrong way round, or ignored the spec's prior, would label both alike."""
    rng = np.random.default_rng(0)
    d = data(verification=(0.3, 0.3), tiers=((0, 0), (0, 0)))
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 1, "truce_effects": "none"})
    prior = dict(spec.priors)["decay"]
    mu, sigma = dict(prior.params)["mu"], dict(prior.params)["sigma"]
    n = 4000
    base = {"mu_log": np.tile(np.log([0.5, 0.4]), (n, 1)), "branching": np.tile(0.2 * np.eye(2), (n, 1, 1))}
    wide = escalate.fit_from_draws(d, spec, {**base, "decay": rng.lognormal(mu, sigma, n)})
    narrow = escalate.fit_from_draws(d, spec, {**base, "decay": rng.lognormal(mu, sigma / 10, n)})
    assert wide.summary().loc["decay", "basis"].startswith("prior-driven: posterior sd")
    assert narrow.summary().loc["decay", "basis"] == "data"
    assert narrow.summary().loc["branching[x, x]", "basis"] == "data"  # sd 0: the data pinned it
