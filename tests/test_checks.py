"""Model checking: PIT residuals, posterior predictive checks, SBC, and backtests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import escalate
from escalate.backtest import truncate
from escalate.checks import sbc
from escalate.goodness import pit_test, posterior_predictive_check, qq_data, randomized_pit, rescaled_gaps

TRUTH = {"mu_log": np.log([0.8, 0.4]), "branching": np.array([[0.3, 0.2], [0.25, 0.2]]), "decay": 0.5,
         "mu_tier": np.array([-0.3]), "excite_verification_cross": -0.5}


def tables(T=200.0):
    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 300.0], "end": [T, 300.0 + T]})
    covs = pd.DataFrame({"truce_id": ["a", "a", "b"], "start": [0.0, 80.0, 300.0], "verification": [0.2, 0.6, 0.5],
                         "penalty_tier": [0, 1, 1]})
    return truces, covs


def truth_fit(data, spec, **change):
    draws = {k: np.asarray(v, dtype=float)[None] for k, v in {**TRUTH, **change}.items()}
    return escalate.fit_from_draws(data, spec, draws)


def test_randomized_pit_is_uniform_at_the_truth_and_not_when_wrong():
    data = escalate.simulate(TRUTH, *tables(), ["x", "y"], seed=4).to_daily()
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "time_resolution": "day", "truce_effects": "none"})
    good = pit_test(randomized_pit(truth_fit(data, spec), seed=1))
    assert (good["p_value"] > 0.01).all(), good
    bad = pit_test(randomized_pit(truth_fit(data, spec, mu_log=np.log([2.0, 0.1]), branching=np.zeros((2, 2))), seed=1))
    assert (bad["p_value"] < 0.01).all(), bad


def test_posterior_predictive_checks_and_qq_data():
    data = escalate.simulate(TRUTH, *tables(), ["x", "y"], seed=5)
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "truce_effects": "none"})
    draws = {k: np.repeat(np.asarray(v, dtype=float)[None], 60, axis=0) for k, v in TRUTH.items()}
    ppc = posterior_predictive_check(escalate.fit_from_draws(data, spec, draws), draws=60, seed=2)
    assert set(ppc["stream"]) == {"x", "y"} and len(ppc) == 10
    assert ((ppc["p_value"] > 0.005) & (ppc["p_value"] < 0.995)).all(), ppc
    # without excitation the replicated counts are far less clustered than the observed ones
    calm = escalate.fit_from_draws(data, spec, {**draws, "branching": np.zeros((60, 2, 2)),
                                                "mu_log": np.repeat(np.log(data.observed_rates())[None], 60, 0)})
    variance = posterior_predictive_check(calm, draws=60, seed=2).set_index(["statistic", "stream"])["p_value"]
    assert variance[("variance of 7-day counts", "x")] < 0.01
    qq = qq_data(rescaled_gaps(data, TRUTH)["x"])
    assert list(qq.columns) == ["theoretical", "observed"] and qq["observed"].is_monotonic_increasing


@pytest.mark.nuts
def test_sbc_ranks_are_uniform():
    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 0.0], "end": [90.0, 90.0]})
    covs = pd.DataFrame({"truce_id": ["a", "a", "b", "b"], "start": [0.0, 45.0, 0.0, 45.0],
                         "verification": [0.1, 0.6, 0.4, 0.9], "penalty_tier": [0, 1, 1, 0]})
    spec = escalate.ModelSpec.from_dict({
        "streams": ["x", "y"], "penalty_tiers": 2, "truce_effects": "none",
        "priors": {"mu_log": {"dist": "Normal", "mu": -0.5, "sigma": 0.4},
                   "branching": {"dist": "Gamma", "alpha": 2.0, "beta": 8.0},
                   "excite_verification_self": {"dist": "Normal", "mu": 0.0, "sigma": 0.5},
                   "excite_verification_cross": {"dist": "Normal", "mu": 0.0, "sigma": 0.5},
                   "excite_tier": {"dist": "Normal", "mu": 0.0, "sigma": 0.5},
                   "decay": {"dist": "LogNormal", "mu": -0.7, "sigma": 0.5}}})
    result = sbc(spec, truces, covs, 20, parameters=("decay", "branching[0, 1]", "excite_verification_cross"),
                 draws=200, tune=300, chains=2, thin=2, seed=11)
    assert result.skipped <= 2  # explosive prior draws are rare under these priors
    table = result.uniformity(bins=4)
    assert (table["replicates"] >= 18).all()
    # 3 parameters at the 1% level: a miscalibrated likelihood or prior mapping fails this
    assert (table["p_value"] > 0.01).all(), table


def test_truncation_never_sees_the_future():
    data = escalate.simulate(TRUTH, *tables(), ["x", "y"], seed=6)
    train, truce = truncate(data, 100.0)
    assert truce == "a" and train.truce_ids == ("a",) and train.durations.tolist() == [100.0]
    assert train.events["time"].max() < 100.0
    # a planted event after the origin changes nothing the forecaster sees
    planted = data.events.copy()
    planted.loc[len(planted)] = {"truce_id": "a", "time": 150.0, "stream": "y"}
    rows = planted.assign(time=planted["time"] + planted["truce_id"].map({"a": 0.0, "b": 300.0}))
    from escalate.simulate import _covariate_rows

    with_future = escalate.TruceData.from_frames(rows, data.truces[["truce_id", "start", "end"]], _covariate_rows(data))
    assert truncate(with_future, 100.0)[0].data_hash == train.data_hash


@pytest.mark.nuts
def test_backtest_scores_rivals_and_ignores_the_future():
    data = escalate.simulate(TRUTH, *tables(), ["x", "y"], seed=7).to_daily()
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "time_resolution": "day", "truce_effects": "none",
                                         "collapse": [{"kind": "count", "threshold": 8, "window_days": 3}]})
    kw = dict(horizons=[3, 7], draws=150, tune=150, chains=2, forecast_draws=50, paths=20, seed=1)
    result = escalate.backtest(data, spec, [120.0, 400.0], n_jobs=2, **kw)
    frame = result.scores
    assert set(frame["forecaster"]) == {"escalate", "poisson", "climatology", "point"}
    assert set(frame["target"]) == {"collapse", "any x", "any y", "count x", "count y"}
    assert frame["origin"].nunique() == 2 and (frame["brier"].dropna() >= 0).all()
    summary = result.summary()
    assert {"brier", "log", "crps", "covered50", "covered90", "origins"} <= set(summary.columns)
    skill = result.skill(n_boot=200)
    assert set(skill["rival"]) == {"poisson", "climatology", "point"}
    assert len(result.reliability("collapse")) == 40

    # plant a burst of events after the first origin: the forecasts (and fits) cannot change
    counts = data.counts.copy()
    burst = (counts["truce_id"] == "a") & (counts["day"].between(121, 125))
    counts.loc[burst, "count"] += 5
    planted = escalate.TruceData.from_daily_counts(
        counts.assign(date=counts["day"] + counts["truce_id"].map({"a": 0.0, "b": 300.0}))[["truce_id", "date", "stream", "count"]],
        data.truces[["truce_id", "start", "end"]], tables()[1])
    again = escalate.backtest(planted, spec, [120.0], n_jobs=1, **kw).scores
    first = frame[frame["origin"] == str(120.0)].reset_index(drop=True)
    assert (again["train_hash"] == first["train_hash"]).all()  # the fits saw the same data
    clim = (first["forecaster"] == "climatology").to_numpy()
    np.testing.assert_array_equal(again["forecast"][clim], first["forecast"][clim])
    # MCMC-based forecasts agree within Monte Carlo error, not bit for bit: PyTensor's first
    # compilation on a machine can differ in the last bits from later cache loads, which moves
    # the chains. The planted burst (50 events) would multiply the count forecasts if it leaked.
    counts = first["target"].str.startswith("count").to_numpy()
    np.testing.assert_allclose(again["forecast"][counts], first["forecast"][counts], rtol=0.25, atol=0.2)
    assert not again["observed"].equals(first["observed"])  # the outcome saw the burst; the forecast did not
