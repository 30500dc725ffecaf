"""Model checking: PIT residuals, posterior predictive checks, SBC, and backtests."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import CHECK_TRUTH, two_truce_tables

import escalate
from escalate.checking.backtest import truncate


def test_truncation_never_sees_the_future():
    data = escalate.simulate(CHECK_TRUTH, *two_truce_tables(), ["x", "y"], seed=6)
    train, truce = truncate(data, 100.0)
    assert truce == "a" and train.truce_ids == ("a",) and train.durations.tolist() == [100.0]
    assert train.events["time"].max() < 100.0
    # a planted event after the origin changes nothing the forecaster sees
    planted = data.events.copy()
    planted.loc[len(planted)] = {"truce_id": "a", "time": 150.0, "stream": "y"}
    rows = planted.assign(time=planted["time"] + planted["truce_id"].map({"a": 0.0, "b": 300.0}))

    with_future = escalate.TruceData.from_frames(rows, data.truces[["truce_id", "start", "end"]], data.covariate_rows())
    assert truncate(with_future, 100.0)[0].data_hash == train.data_hash


@pytest.mark.slow
@pytest.mark.filterwarnings("default::escalate.inference.diagnostics.DiagnosticsWarning")  # short fits: shown, flagged
def test_backtest_scores_rivals_and_ignores_the_future():
    data = escalate.simulate(CHECK_TRUTH, *two_truce_tables(), ["x", "y"], seed=7).to_daily()
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "time_resolution": "day", "truce_effects": "none",
                                         "collapse": [{"kind": "count", "threshold": 8, "window_days": 3}]})
    kw = dict(horizons=[3, 7], draws=150, tune=150, chains=2, forecast_draws=50, paths=20, seed=1)
    result = escalate.backtest(data, spec, [120.0, 400.0], workers=2, **kw)  # a 2-worker Dask LocalCluster
    frame = result.scores
    assert set(frame["forecaster"]) == {"escalate", "no excitation", "climatology", "point"}
    assert set(frame["target"]) == {"collapse", "any x", "any y", "count x", "count y"}
    assert frame["origin"].nunique() == 2 and (frame["brier"].dropna() >= 0).all()
    summary = result.summary()
    assert {"brier", "log", "crps", "covered50", "covered90", "origins", "origins_from_failed_fits"} <= set(summary.columns)
    # every origin's fits keep their diagnostics, and the fewer draws than the spec's are said
    assert len(result.fits) == 4 and {"verdict", "max_rhat", "min_ess_bulk", "divergences"} <= set(result.fits.columns)
    assert "150 draws" in result.settings["sampler_note"] and result.notes()[0] == result.settings["sampler_note"]
    skill = result.skill(n_boot=200)
    assert set(skill["rival"]) == {"no excitation", "climatology", "point"}
    assert {"difference", "difference_lo", "difference_hi"} <= set(skill.columns)
    assert len(result.reliability("collapse")) == 40

    # plant a burst of events after the first origin: the forecasts (and fits) cannot change
    counts = data.counts.copy()
    burst = (counts["truce_id"] == "a") & (counts["day"].between(121, 125))
    counts.loc[burst, "count"] += 5
    planted = escalate.TruceData.from_daily_counts(
        counts.assign(date=counts["day"] + counts["truce_id"].map({"a": 0.0, "b": 300.0}))[["truce_id", "date", "stream", "count"]],
        data.truces[["truce_id", "start", "end"]], two_truce_tables()[1])
    again = escalate.backtest(planted, spec, [120.0], scheduler="synchronous", **kw).scores
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


def test_an_event_exactly_60_days_before_the_origin_is_the_first_day_of_the_tail():
    data = escalate.simulate(CHECK_TRUTH, *two_truce_tables(), ["x", "y"], seed=6)
    events = data.events[data.events["truce_id"] == "a"]
    from escalate.checking.backtest import observed_after
    t = float(events["time"].iloc[len(events) // 2])
    k = data.streams.index(events["stream"].iloc[len(events) // 2])
    _, before, _ = observed_after(data, "a", t + 60.0, 7)  # 60 days before: day -60, index 0 (not -1)
    manual = np.zeros(60)
    for time, stream in zip(events["time"], events["stream"]):
        day = int(np.floor(time - (t + 60.0)))
        if -60 <= day < 0 and stream == data.streams[k]:
            manual[60 + day] += 1
    np.testing.assert_array_equal(before[:, k], manual)
    assert before[0, k] >= 1


def test_collapse_outcomes_past_the_data_and_rule_sets():
    from escalate.checking.backtest import collapse_outcome, rule_sets
    assert collapse_outcome(3, 7, 10, False) == 1.0  # fired on day 3
    assert collapse_outcome(11, 7, 10, False) == 0.0  # seven quiet observed days
    assert np.isnan(collapse_outcome(11, 30, 10, False))  # the data end after 10 days: unknown
    assert collapse_outcome(11, 30, 10, True) == 1.0  # ... unless the truce is known to have collapsed
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "collapse": [
        {"kind": "count", "threshold": 8, "window_days": 3}, {"kind": "structural"}]})
    sets = rule_sets(spec, None)
    assert list(sets) == ["collapse"] and [r.kind for r in sets["collapse"]] == ["count"]
    named = rule_sets(spec, {"strict": escalate.CollapseRule.count(3, 2), "loose": [escalate.CollapseRule.count(20, 7)]})
    assert list(named) == ["collapse: strict", "collapse: loose"]
    with pytest.raises(escalate.EscalateInputError, match="no count rule"):
        rule_sets(spec, {"only structural": escalate.CollapseRule.structural()})


def test_through_reads_an_origin_as_the_last_day_of_data():
    from escalate.checking.backtest import origin_moments
    data = escalate.simulate(CHECK_TRUTH, *two_truce_tables(), ["x", "y"], seed=6).to_daily()
    assert origin_moments(data, [120.0]) == [120.0]
    assert origin_moments(data, [120.0], through=True) == [121.0]
    train, _ = truncate(data, origin_moments(data, [120.0], through=True)[0])
    assert train.counts.query("truce_id == 'a'")["day"].max() == 120  # day 120 itself is known
