"""The band of P(collapse) is the posterior's: Monte Carlo noise out, ESS in the standard error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import escalate
from escalate import CollapseRule, Scenario
from escalate.forecasting.uncertainty import effective_draws, mean_noise, posterior_band, share_noise

ANY_EVENT = CollapseRule.count(threshold=1, window_days=1)
DAILY = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "time_resolution": "day"})


def quiet_data(verification=0.2):
    events = pd.DataFrame({"truce_id": "t", "time": [1.0, 2.5, 4.0, 10.2], "stream": ["x", "y", "x", "x"]})
    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [40.0]})
    covs = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "verification": [verification], "penalty_tier": [0]})
    return escalate.TruceData.from_frames(events, truces, covs).to_daily()


def draws_with_rates(rates, tier_effect=0.0):
    """Draws of a process without excitation worth the name (branching 1e-9): the risk of any
    event within h days is 1 - exp(-2 rate h) per draw, in closed form (the rate times
    exp(tier_effect) under penalty tier 1)."""
    n = len(rates)
    return {"mu_log": np.log(np.repeat(np.asarray(rates, dtype=float)[:, None], 2, axis=1)),
            "branching": np.full((n, 2, 2), 1e-9), "decay": np.full(n, 0.5),
            "excite_verification_cross": np.zeros(n), "excite_tier": np.zeros((n, 1)), "mu_tier": np.full((n, 1), tier_effect)}


def test_noise_variances_are_the_unbiased_ones():
    rng = np.random.default_rng(0)
    p, n, reps = 0.3, 25, 20000
    shares = rng.binomial(n, p, reps) / n
    assert abs(share_noise(shares, n).mean() / (p * (1 - p) / n) - 1) < 0.02
    values = rng.beta(2, 5, (reps, n))
    want = 2 * 5 / (7 ** 2 * 8) / n  # the variance of a Beta(2, 5) over n
    got = mean_noise(values.mean(axis=1), (values ** 2).mean(axis=1), n)
    assert abs(got.mean() / want - 1) < 0.02
    assert np.isnan(share_noise(shares[:3], 1)).all()


def test_the_band_removes_known_noise_and_keeps_the_posterior_spread():
    rng = np.random.default_rng(1)
    truth = rng.normal(0.5, 0.05, 4000)
    noisy = truth + rng.normal(0, 0.1, truth.size)
    band = posterior_band(noisy, np.full(truth.size, 0.01), 0.9)
    want = np.quantile(truth, [0.05, 0.95])
    assert abs(band["lo"] - want[0]) < 0.01 and abs(band["hi"] - want[1]) < 0.01, (band, want)
    assert abs(band["noise_share"] - 0.8) < 0.05  # 0.1^2 of 0.1^2 + 0.05^2
    raw = np.quantile(noisy, [0.05, 0.95])
    assert raw[1] - raw[0] > 2 * (want[1] - want[0])


def test_the_standard_error_counts_effective_draws_not_draws():
    rng = np.random.default_rng(2)
    values = np.repeat(rng.normal(size=(4, 50)), 10, axis=1)  # 4 chains, each value held 10 draws
    chain = np.repeat(np.arange(4), 500)
    ess = effective_draws(values.ravel(), chain)
    assert 100 < ess < 400  # about 2000 / 10, far below the 2000 draws
    band = posterior_band(values.ravel(), 0.0, 0.9, chain)
    naive = values.std(ddof=1) / np.sqrt(values.size)
    assert 2.2 < band["mcse"] / naive < 4.5  # about sqrt(10)


def test_a_point_mass_posterior_has_a_band_of_width_zero_within_monte_carlo_error():
    """All 400 draws equal (true risk at 30 days 0.70): the raw spread of the draws' path
    shares is binomial noise alone; the band and the contrast's band are zero within the Monte
    Carlo error of a variance estimated from S draws, about sqrt(3 W sqrt(2 / S)) at 3 sd."""
    rate = -np.log(0.3) / 60  # P(any event within 30 days) = 1 - exp(-2 rate 30) = 0.7
    fit = escalate.fit_from_draws(quiet_data(), DAILY, draws_with_rates(np.full(400, rate), np.log(0.5)))
    paths = 100
    fc = fit.forecast(30, collapse=ANY_EVENT, paths=paths, seed=5,
                      scenarios=[Scenario("tier 1", penalty_tier=1, from_day=0)])
    row = fc.to_frame().query("scenario == 'status quo' and horizon_day == 30").iloc[0]
    assert abs(row["p_collapse_mean"] - 0.7) < 0.01
    w = 0.7 * 0.3 / paths
    mc_width = 2 * 1.645 * np.sqrt(3 * w * np.sqrt(2 / 400))
    assert row["p_collapse_q95"] - row["p_collapse_q05"] <= mc_width, row.to_dict()
    raw = fc.ds["p_collapse"].sel(scenario="status quo", horizon_day=30).quantile([0.05, 0.95]).values
    assert raw[1] - raw[0] > 0.12  # the noise the band used to report
    assert row["p_collapse_noise_share"] > 0.8
    head = fc.headline(days=(30,)).query("scenario == 'status quo'").iloc[0]
    assert head["p_collapse_q95"] - head["p_collapse_q05"] <= mc_width
    # tier 1 halves the rate: risk 1 - 0.3^0.5 = 0.45, a difference of -0.25 in every draw
    contrast = fc.contrasts().query("horizon_day == 30").iloc[0]
    assert abs(contrast["risk_difference_mean"] - (1 - np.sqrt(0.3) - 0.7)) < 0.015
    diff = (fc.ds["p_collapse"].sel(scenario="tier 1") - fc.ds["p_collapse"].sel(scenario="status quo"))
    raw = diff.sel(horizon_day=30).quantile([0.05, 0.95]).values
    w_diff = 0.25 / paths  # at most: the indicators differ on about a quarter of the paths
    assert contrast["risk_difference_q95"] - contrast["risk_difference_q05"] <= 2 * 1.645 * np.sqrt(
        3 * w_diff * np.sqrt(2 / 400)), contrast.to_dict()
    assert raw[1] - raw[0] > 0.1


def test_the_band_is_the_posteriors_where_the_draws_differ():
    """Draws whose true risks spread over about 0.35..0.8, 20 paths each: the band matches the
    quantiles of the closed-form risks, which the raw quantiles of the path shares miss."""
    rng = np.random.default_rng(3)
    rates = rng.uniform(0.007, 0.027, 600)
    fit = escalate.fit_from_draws(quiet_data(), DAILY, draws_with_rates(rates))
    fc = fit.forecast(30, collapse=ANY_EVENT, paths=20, seed=11)
    row = fc.to_frame().query("horizon_day == 30").iloc[0]
    truth = np.quantile(1 - np.exp(-2 * rates * 30), [0.05, 0.95])
    raw = fc.ds["p_collapse"].sel(scenario="status quo", horizon_day=30).quantile([0.05, 0.95]).values
    assert abs(row["p_collapse_q05"] - truth[0]) < 0.035 and abs(row["p_collapse_q95"] - truth[1]) < 0.035, \
        (row.to_dict(), truth)
    assert (raw[1] - raw[0]) - (truth[1] - truth[0]) > 0.08  # the noise the band used to add


def test_explosive_draws_are_visible_with_the_prior_beside_the_posterior():
    """Half the draws supercritical (diagonal branching 2), half subcritical (0.7): both can
    reach 3 events in 7 days, the explosive ones nearly surely; the share of the risk from the
    explosive draws is checked against the draws known to be explosive. P(rho >= 1) under the
    default prior at the truce's last state (v = 0.9, tier 0) is checked against an independent
    Monte Carlo of the prior, and the note says when the data barely moved it."""
    n = 200
    draws = draws_with_rates(np.full(n, 0.05))
    explosive = np.arange(n) % 2 == 0
    draws["branching"] = np.where(explosive[:, None, None], np.diag([2.0, 2.0])[None], np.diag([0.7, 0.7])[None])
    fit = escalate.fit_from_draws(quiet_data(verification=0.9), DAILY, draws)
    fc = fit.forecast(40, collapse=CollapseRule.count(threshold=3, window_days=7), paths=20, seed=2)
    head = fc.headline(days=(40,)).iloc[0]
    p = fc.ds["p_collapse"].sel(scenario="status quo", horizon_day=40).values
    assert 0.05 < p[~explosive].mean() < 0.9 * p[explosive].mean()
    assert abs(head["risk_share_supercritical"] - p[explosive].sum() / p.sum()) < 1e-12
    esc = fc.escalation().iloc[0]
    assert esc["p_supercritical"] == 0.5
    rng = np.random.default_rng(0)
    m = 200_000
    given = dict(DAILY.prior("branching").params)  # the default, Gamma(1, 3)
    branching = rng.gamma(given["alpha"], 1 / given["beta"], (m, 2, 2))
    self_, cross = rng.normal(0, 1, m), rng.normal(0, 1, m)
    factor = np.exp(np.where(np.eye(2, dtype=bool), self_[:, None, None], cross[:, None, None]) * 0.9)
    prior = (np.abs(np.linalg.eigvals(branching * factor)).max(axis=1) >= 1).mean()
    assert abs(esc["p_supercritical_prior"] - prior) < 4 * np.sqrt(prior * (1 - prior) / 4000), (esc, prior)
    note = fc.escalation_note()["status quo"]
    assert "under the prior" in note and "spectral radius >= 1" in note
    assert ("barely" in note) == (abs(0.5 - prior) < 0.1)
    assert fc.escalation_note(barely=1.0)["status quo"].endswith("explosive tail")
    # a forecast without explosive draws has no note
    calm = escalate.fit_from_draws(quiet_data(), DAILY, draws_with_rates(np.full(n, 0.05)))
    assert calm.forecast(40, collapse=ANY_EVENT, paths=5, seed=1).escalation_note() == {}


def test_headline_days_beyond_the_horizon_are_refused_and_the_default_fits_the_horizon():
    fit = escalate.fit_from_draws(quiet_data(), DAILY, draws_with_rates(np.full(10, 0.01)))
    fc = fit.forecast(20, collapse=ANY_EVENT, paths=5, seed=1)
    assert fc.headline()["horizon_day"].tolist() == [7]
    with pytest.raises(escalate.EscalateInputError, match=r"\[30\].*horizon of 20 days"):
        fc.headline(days=(7, 30))
    assert fit.forecast(5, collapse=ANY_EVENT, paths=5, seed=1).headline()["horizon_day"].tolist() == [5]


def test_a_mean_carried_above_its_band_by_explosive_draws_is_explained_in_the_summary():
    from escalate.cli.text import headline_text

    n = 200
    draws = draws_with_rates(np.full(n, 0.01))
    explosive = np.arange(n) % 25 == 0  # 8 of 200 draws, 4%: above the band's 95% point
    draws["branching"] = np.where(explosive[:, None, None], np.diag([2.0, 2.0])[None], np.diag([0.05, 0.05])[None])
    fit = escalate.fit_from_draws(quiet_data(), DAILY, draws)
    fc = fit.forecast(40, collapse=CollapseRule.count(threshold=5, window_days=7), paths=20, seed=4)
    row = fc.headline(days=(30,)).iloc[0]
    assert row["p_collapse_mean"] > row["p_collapse_q95"] and row["p_collapse_q50"] < 0.01
    text = headline_text(fc, fit.diagnostics)
    assert "lies above the band" in text and f"median {row['p_collapse_q50']:.1%}" in text
    assert f"{row['risk_share_supercritical']:.0%} of the risk from draws with spectral radius >= 1" in text
