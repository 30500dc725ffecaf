"""Forecasts of declared collapse from the corpus hazard (MODEL.md 6)."""

from __future__ import annotations

import numpy as np
import pytest

import escalate
from escalate import ModelSpec, Scenario
from escalate.forecasting.collapse import before_other_ends
from escalate.inference.corpus import corpus_fit_from_draws, hazard_only_spec
from escalate.model.hazard import day_bins
from escalate.model.simulate_corpus import DEFAULT_TRUTH

BINS = (0, 3, 7, 14, 30, 90, 365)


def spec(feedback=True):
    return ModelSpec.from_dict({
        "time_resolution": "day", "penalty_tiers": 3, "truce_effects": "none", "streams": ["events"],
        "hazard": {"bins": list(BINS), "covariates": ["written", "mediated"], "feedback": feedback,
                   "unobserved_violence": "exclude"},
        "collapse": [{"kind": "count", "threshold": 12, "window_days": 7}]})


@pytest.fixture(scope="module")
def corpus():
    corpus, _ = escalate.simulate_corpus(60, 6, seed=8, event_share=1.0, max_days=150)
    return corpus


def draws(n, rng, feedback):
    t = DEFAULT_TRUTH
    return {"hazard_baseline": t["hazard_baseline"] + 0.2 * rng.standard_normal((n, len(BINS))),
            "hazard_baseline_sd": np.full(n, 0.3), "hazard_verification": rng.normal(-0.7, 0.1, n),
            "hazard_tier": rng.normal(-0.4, 0.1, (n, 2)), "hazard_covariate": rng.normal(-0.3, 0.1, (n, 2)),
            "hazard_feedback": np.full(n, feedback), "hazard_group_sd": np.full(n, 0.3),
            "hazard_group": rng.normal(0, 0.3, (n, 6)),
            "mu_log": np.log(np.full((n, 1), 0.5)), "mu_verification": np.zeros(n), "mu_tier": np.zeros((n, 2)),
            "branching": np.full((n, 1, 1), 0.5), "excite_verification_self": np.zeros(n),
            "excite_tier": np.zeros((n, 2)), "decay": np.full(n, 0.6)}


def holding(corpus):
    """A censored truce with events, forecast as if it ran on from the end of its data."""
    t = corpus.truces
    return t[(t["end_type"] != "collapsed") & t["has_events"] & (t["days_at_risk"] > 20)].iloc[0]


def test_without_feedback_the_declared_risk_is_the_closed_form_on_every_path(corpus):
    rng = np.random.default_rng(1)
    fit = corpus_fit_from_draws(corpus, spec(feedback=False), draws(12, rng, 0.0))
    row = holding(corpus)
    cell = Scenario("cell", verification=1.0, penalty_tier=2, from_day=5)
    forecast = fit.forecast(row["truce_id"], 40, scenarios=[cell], paths=30, seed=3)
    p = {k: v[0] for k, v in fit.tree["posterior"].to_dataset().items()}
    g = corpus.groups.index(row["group"])
    z = np.array([row["written"], row["mediated"]])
    for name, v_after, t_after in (("status quo", row["verification"], row["penalty_tier"]), ("cell", 1.0, 2)):
        for i in range(12):
            survival, expected = 1.0, []
            for h in range(40):  # future day h is day days_at_risk + h of the truce
                v, t = (v_after, t_after) if (name == "status quo" or h >= 5) else (row["verification"],
                                                                                     row["penalty_tier"])
                tiers = [0.0, *p["hazard_tier"].values[i]]
                eta = (p["hazard_baseline"].values[i][day_bins(int(row["days_at_risk"]) + h, BINS)]
                       + p["hazard_verification"].values[i] * v + tiers[int(t)]
                       + p["hazard_covariate"].values[i] @ z + p["hazard_group"].values[i][g])
                survival *= 1 - (1 - np.exp(-np.exp(eta)))
                expected.append(1 - survival)
            got = forecast.ds["p_declared"].sel(scenario=name).values[i]
            np.testing.assert_allclose(got, expected, rtol=1e-10)
    head = forecast.headline(days=(7, 30))
    assert set(head["kind"]) == {"declared", "violence", "either"}
    either = head[head["kind"] == "either"]["p_collapse_mean"].to_numpy()
    declared = head[head["kind"] == "declared"]["p_collapse_mean"].to_numpy()
    violence = head[head["kind"] == "violence"]["p_collapse_mean"].to_numpy()
    assert (either >= np.maximum(declared, violence) - 1e-12).all()
    assert (either <= declared + violence + 1e-12).all()


def test_with_feedback_violent_paths_raise_the_declared_risk(corpus):
    rng = np.random.default_rng(2)
    row = holding(corpus)
    risks = {}
    for feedback in (0.0, 0.8):
        fit = corpus_fit_from_draws(corpus, spec(), draws(20, np.random.default_rng(2), feedback))
        forecast = fit.forecast(row["truce_id"], 60, paths=60, seed=4)
        risks[feedback] = float(forecast.ds["p_declared"].sel(scenario="status quo").values[:, -1].mean())
    # each path's hazard sees its own simulated counts: a positive feedback effect raises the risk
    # by about the factor E[(1 + c)^0.8] on the log-hazard scale, here more than 30%
    assert risks[0.8] > 1.3 * risks[0.0]
    del rng


def test_a_truce_without_events_and_a_new_truce_have_the_closed_form(corpus):
    rng = np.random.default_rng(3)
    no_events = corpus.without_events()
    fit = corpus_fit_from_draws(no_events, ModelSpec.from_dict({
        "penalty_tiers": 3, "hazard": {"bins": list(BINS), "covariates": ["written", "mediated"],
                                       "feedback": False}}), {k: v for k, v in draws(15, rng, 0.0).items()
                                                              if k.startswith("hazard") and k != "hazard_feedback"})
    row = holding(corpus)
    forecast = fit.forecast(row["truce_id"], 20)
    head = forecast.headline(days=(7, 20))
    assert set(head["kind"]) == {"declared", "either"}  # no violence simulated
    risk = fit.new_truce_risk((7, 30), verification=1, penalty_tier=2, covariates={"written": 1, "mediated": 0},
                              group=corpus.groups[0])
    p = {k: v[0] for k, v in fit.tree["posterior"].to_dataset().items()}
    eta = (p["hazard_baseline"].values[:, day_bins(np.arange(30), BINS)] + p["hazard_verification"].values[:, None]
           + p["hazard_tier"].values[:, 1:2] + p["hazard_covariate"].values[:, :1] + p["hazard_group"].values[:, :1])
    closed = 1 - np.exp(-np.exp(eta).cumsum(axis=1))
    assert risk["p_collapse_mean"].tolist() == pytest.approx([closed[:, 6].mean(), closed[:, 29].mean()], rel=1e-12)
    assert (risk["basis"] == "data").all()
    odd = fit.new_truce_risk((7,), verification=1, penalty_tier=2, covariates={"written": 2, "mediated": 0})
    assert odd["basis"].iloc[0].startswith("prior-driven: written = 2")
    with pytest.raises(escalate.EscalateInputError, match="mediated"):
        fit.new_truce_risk((7,), covariates={"written": 1})


def test_the_risk_before_other_ends_against_a_simulation_of_the_competing_risks():
    """Day by day, the other end first (a truce expiring on day d is not at risk of collapse on
    d), then collapse: the cumulative incidence of collapse against 400,000 simulated truces."""
    days = np.arange(40)
    h_collapse = 0.02 + 0.03 * np.exp(-days / 5)
    h_other = np.where(days % 10 == 9, 0.3, 0.01)
    p_declared = 1 - np.cumprod(1 - h_collapse)
    p_other = 1 - np.cumprod(1 - h_other)
    got = before_other_ends(p_declared, p_other)
    rng = np.random.default_rng(5)
    n = 400_000
    ended = np.zeros(n, dtype=bool)
    collapse_day = np.full(n, 10**6)
    for d in days:
        alive = ~ended
        other = alive & (rng.random(n) < h_other[d])
        ended |= other
        collapsed = ~ended & (rng.random(n) < h_collapse[d])
        collapse_day[collapsed] = d
        ended |= collapsed
    simulated = (collapse_day[None, :] <= days[:, None]).mean(axis=1)
    se = np.sqrt(simulated * (1 - simulated) / n)
    assert np.all(np.abs(got - simulated) < 4 * se + 1e-12), np.max(np.abs(got - simulated) / se)
    assert np.all(got < p_declared)  # the other ends take risk away from day 1 on
    # constant hazards: the geometric sum of (1-c)^(k-1) (1-o)^k c
    c, o = 0.05, 0.2
    k = np.arange(1, 31)
    closed = np.cumsum((1 - c) ** (k - 1) * (1 - o) ** k * c)
    assert before_other_ends(1 - (1 - c) ** k, 1 - (1 - o) ** k) == pytest.approx(closed, rel=1e-12)


def test_a_forecast_with_other_ends_pairs_the_other_ends_hazard_on_the_truce_s_future_days(corpus):
    rng = np.random.default_rng(6)
    fit = corpus_fit_from_draws(corpus, spec(), draws(10, rng, 0.5))
    hazard_spec = hazard_only_spec(spec(), "competing ends")
    other_draws = {k: v for k, v in draws(10, np.random.default_rng(7), 0.0).items()
                   if k.startswith("hazard") and k != "hazard_feedback"}
    other_draws["hazard_baseline"] = other_draws["hazard_baseline"] + 1.0  # ends otherwise more often
    other_fit = corpus_fit_from_draws(corpus.other_ends(), hazard_spec, other_draws)
    row = holding(corpus)
    forecast = fit.forecast(row["truce_id"], 30, paths=20, seed=3, other_ends=other_fit)
    ds = forecast.ds.sel(scenario="status quo")
    p = {k: v[0] for k, v in other_fit.tree["posterior"].to_dataset().items()}
    g = corpus.groups.index(row["group"])
    z = np.array([row["written"], row["mediated"]])
    for i in range(10):  # the other end's hazard from the truce's next day on, by a loop
        survival, expected = 1.0, []
        for h in range(30):
            tiers = [0.0, *p["hazard_tier"].values[i]]
            eta = (p["hazard_baseline"].values[i][day_bins(int(row["days_at_risk"]) + h, BINS)]
                   + p["hazard_verification"].values[i] * row["verification"] + tiers[int(row["penalty_tier"])]
                   + p["hazard_covariate"].values[i] @ z + p["hazard_group"].values[i][g])
            survival *= np.exp(-np.exp(eta))
            expected.append(1 - survival)
        np.testing.assert_allclose(ds["p_other_end"].values[i], expected, rtol=1e-10)
    np.testing.assert_allclose(ds["p_declared_competing"].values,
                               before_other_ends(ds["p_declared"].values, ds["p_other_end"].values), rtol=1e-12)
    assert (ds["p_declared_competing"].values[:, -1] < ds["p_declared"].values[:, -1]).all()
    head = forecast.headline(days=(7, 30))
    assert "declared before other ends" in set(head["kind"])
    with pytest.raises(escalate.EscalateInputError, match="scenarios"):
        forecast.with_other_ends(other_fit.forecast(row["truce_id"], 30, scenarios=[Scenario("x", verification=1.0)]))


def test_a_point_mass_posterior_gives_a_declared_band_of_width_zero_within_monte_carlo_error(corpus):
    """With the violence feedback each draw's P(declared collapse) is an average over its
    paths, so the raw spread over 300 equal draws is path noise alone; the band takes it out
    (escalate.forecasting.uncertainty), for P(either) too, and the stored noise variance is
    the one the spread over draws shows."""
    one = draws(1, np.random.default_rng(5), 1.5)
    fit = corpus_fit_from_draws(corpus, spec(), {k: np.repeat(v, 300, axis=0) for k, v in one.items()})
    forecast = fit.forecast(holding(corpus)["truce_id"], 60, paths=40, seed=6)
    ds = forecast.ds.sel(scenario="status quo", horizon_day=60)
    raw = ds["p_declared"].values
    assert raw.std() > 0.01  # the paths' noise
    # the per-draw noise variance, estimated from each draw's own paths, matches the spread
    assert abs(ds["p_declared_noise"].values.mean() / raw.var(ddof=1) - 1) < 0.3
    for kind, variable in (("declared", "p_declared"), ("either", "p_either")):
        row = forecast.headline(days=(60,)).query("kind == @kind").iloc[0]
        w = forecast.noise(variable)[0, :, -1].mean()
        mc_width = 2 * 1.645 * np.sqrt(3 * w * np.sqrt(2 / 300))
        raw_q = np.quantile(ds[variable].values, [0.05, 0.95])
        assert row["p_collapse_q95"] - row["p_collapse_q05"] <= mc_width < 0.6 * (raw_q[1] - raw_q[0]), (kind, row)
