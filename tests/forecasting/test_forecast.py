"""Forecasts: closed forms for the no-event probability, scenarios, contrasts, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import escalate
from escalate import CollapseRule, EscalateInputError, Scenario
from escalate.forecasting.kernels import collapse_day

SPEC = escalate.ModelSpec.from_dict({"penalty_tiers": 2})
ANY_EVENT = CollapseRule.count(threshold=1, window_days=1)


def quiet_gap_data():
    """Two streams; events in the first 30 days, then 25 quiet days before the cutoff."""
    events = pd.DataFrame({"truce_id": "t", "time": [1.0, 2.5, 4.0, 10.2, 17.0, 29.5],
                           "stream": ["x", "y", "x", "x", "y", "x"]})
    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [55.0]})
    covs = pd.DataFrame({"truce_id": ["t", "t"], "start": [0.0, 20.0], "verification": [0.2, 0.6],
                         "penalty_tier": [0, 1]})
    return escalate.TruceData.from_frames(events, truces, covs)


def some_draws(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return {"mu_log": np.log(rng.uniform(0.02, 0.08, (n, 2))), "branching": rng.uniform(0.2, 0.6, (n, 2, 2)),
            "decay": rng.uniform(0.05, 0.3, n), "excite_verification_cross": rng.normal(-0.5, 0.2, n),
            "excite_tier": rng.normal(0, 0.3, (n, 1)), "mu_tier": rng.normal(0, 0.3, (n, 1))}


def test_no_event_probability_matches_closed_form_exact():
    data = quiet_gap_data()
    draws = some_draws()
    fit = escalate.fit_from_draws(data, SPEC, draws)
    paths = 4000
    fc = fit.forecast(30, collapse=ANY_EVENT, paths=paths, seed=7)
    got = fc.to_frame()["p_collapse_mean"].to_numpy()
    # closed form: along the event-free future, int lambda = mu h + residual (1 - e^{-w h})
    ev, seg = data.event_arrays(), data.segments
    h = np.arange(1, 31)
    p_none = np.zeros((len(draws["decay"]), 30))
    for d in range(len(draws["decay"])):
        p = {k: v[d] for k, v in draws.items()}
        mu = np.exp(p["mu_log"] + np.concatenate([[0], p["mu_tier"]])[seg.tier[-1]])
        residual = np.zeros(2)
        et = np.concatenate([[0], p["excite_tier"]])
        for t, i, s in zip(ev["times"], ev["streams"], ev["segment"]):
            for k in range(2):
                e = 0.0 if i == k else p["excite_verification_cross"]
                a = p["branching"][i, k] * np.exp(e * seg.verification[s] + et[seg.tier[s, k]])
                residual[k] += a * np.exp(-p["decay"] * (55.0 - t))
        p_none[d] = np.exp(-(mu.sum() * h + residual.sum() * (1 - np.exp(-p["decay"] * h))))
    want = 1 - p_none.mean(0)
    se = np.sqrt((p_none * (1 - p_none)).sum(0) / paths) / len(draws["decay"])
    assert np.all(np.abs(got - want) <= 4 * se + 1e-12), np.c_[got, want, se]
    # restarting the process at the last event (ignoring the 25 quiet days) overstates the risk
    assert want[0] > 0.05


def test_no_event_probability_matches_closed_form_daily():
    data = quiet_gap_data().to_daily()
    draws = some_draws(seed=1)
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "time_resolution": "day"})
    fit = escalate.fit_from_draws(data, spec, draws)
    paths = 4000
    got = fit.forecast(30, collapse=ANY_EVENT, paths=paths, seed=3).to_frame()["p_collapse_mean"].to_numpy()
    y, s = data.daily_arrays()["counts"], data.daily_arrays()["segment"]
    seg = data.segments
    p_none = np.zeros((len(draws["decay"]), 30))
    for d in range(len(draws["decay"])):
        p = {k: v[d] for k, v in draws.items()}
        w, et = p["decay"], np.concatenate([[0], p["excite_tier"]])
        r, c = np.exp(-w), (1 - np.exp(-w)) ** 2 / w
        state = np.zeros(2)
        for day in range(len(y)):  # the history's excitation state, the obvious way
            for k in range(2):
                for i in range(2):
                    e = 0.0 if i == k else p["excite_verification_cross"]
                    a = p["branching"][i, k] * np.exp(e * seg.verification[s[day]] + et[seg.tier[s[day], k]])
                    state[k] += a * y[day, i] * r ** (len(y) - 1 - day)
        mu = np.exp(p["mu_log"] + np.concatenate([[0], p["mu_tier"]])[seg.tier[-1]])
        lam = [mu.sum() + c * state.sum() * r ** j for j in range(30)]  # zero counts keep decaying
        p_none[d] = np.exp(-np.cumsum(lam))
    want = 1 - p_none.mean(0)
    se = np.sqrt((p_none * (1 - p_none)).sum(0) / paths) / len(draws["decay"])
    assert np.all(np.abs(got - want) <= 4 * se + 1e-12), np.c_[got, want, se]


def test_verification_damps_retaliation_and_the_contrast_says_so():
    data = quiet_gap_data()
    n = 40
    rng = np.random.default_rng(2)
    draws = {"mu_log": np.log(np.full((n, 2), 0.3)), "branching": np.tile([[0.1, 0.7], [0.7, 0.1]], (n, 1, 1)),
             "decay": rng.uniform(0.4, 0.6, n), "excite_verification_cross": rng.normal(-2.0, 0.1, n)}
    fit = escalate.fit_from_draws(data, SPEC, draws)
    cell = Scenario("verification cell", verification=1.0)
    fc = fit.forecast(30, scenarios=[cell], collapse=CollapseRule.count(threshold=10, window_days=7), paths=200, seed=1)
    head = fc.to_frame().set_index(["scenario", "horizon_day"])["p_collapse_mean"]
    assert head[("verification cell", 30)] < head[("status quo", 30)]
    c = fc.contrasts().set_index("horizon_day").loc[30]
    assert c["risk_difference_q95"] < 0 and c["p_lower"] > 0.95
    # with no verification effect the same contrast's interval covers 0
    flat = escalate.fit_from_draws(data, SPEC, {**draws, "excite_verification_cross": np.zeros(n)})
    c0 = flat.forecast(30, scenarios=[cell], collapse=CollapseRule.count(threshold=10, window_days=7),
                       paths=200, seed=1).contrasts().set_index("horizon_day").loc[30]
    assert c0["risk_difference_q05"] <= 0 <= c0["risk_difference_q95"]


def test_same_seed_same_forecast_and_the_fit_is_not_mutated(tmp_path):
    fit = escalate.fit_from_draws(quiet_gap_data(), SPEC, some_draws())
    before = fit.tree.copy(deep=True)
    a = fit.forecast(20, scenarios=[Scenario("up", penalty_tier=1, from_day=5)], collapse=ANY_EVENT, paths=50, seed=4)
    b = fit.forecast(20, scenarios=[Scenario("up", penalty_tier=1, from_day=5)], collapse=ANY_EVENT, paths=50, seed=4)
    c = fit.forecast(20, scenarios=[Scenario("up", penalty_tier=1, from_day=5)], collapse=ANY_EVENT, paths=50, seed=5)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert not a.to_frame().equals(c.to_frame())
    assert fit.tree.identical(before) and "forecast" not in fit.tree.children
    # a saved forecast reloads whole, and its format version is checked
    a.save(tmp_path / "forecast.zarr")
    loaded = escalate.load_forecast(tmp_path / "forecast.zarr")
    pd.testing.assert_frame_equal(loaded.to_frame(), a.to_frame(), check_dtype=False)
    assert loaded.collapse_definition() == a.collapse_definition()
    a.tree.attrs["format_version"] = 99
    a.save(tmp_path / "future.zarr")
    with pytest.raises(escalate.FileFormatError, match="format version 99"):
        escalate.load_forecast(tmp_path / "future.zarr")


def test_explosive_draws_stop_at_the_cap_and_count_as_collapsed():
    draws = some_draws(n=3)
    draws["branching"] = np.full((3, 2, 2), 0.9)  # spectral radius 1.8
    fit = escalate.fit_from_draws(quiet_gap_data(), SPEC, draws)
    from escalate.forecasting.run import run_forecast

    fc = run_forecast(fit, 60, collapse=CollapseRule.count(threshold=10**9, window_days=1), paths=5,
                      seed=1, max_events=2_000)
    assert int(fc.ds["exploded"].sel(scenario="status quo")) > 0
    assert fc.to_frame()["p_collapse_mean"].iloc[-1] > 0
    esc = fc.escalation().set_index("scenario")
    assert esc.loc["status quo", "p_supercritical"] == 1.0


def test_structural_rule_fires_from_the_scenario_day():
    draws = some_draws(n=4)
    draws["branching"] = np.full((4, 2, 2), 0.6)  # radius 1.2 at tier 0
    draws["excite_tier"] = np.full((4, 1), np.log(0.5))  # tier 1 halves it: 0.6
    draws["excite_verification_cross"] = np.zeros(4)
    fit = escalate.fit_from_draws(quiet_gap_data(), SPEC, draws)  # the data end at tier 1
    fc = fit.forecast(10, scenarios=[Scenario("no tiers", penalty_tier=0),
                                     Scenario("no tiers from day 3", penalty_tier=0, from_day=3)],
                      collapse=CollapseRule.structural(), paths=3)
    p = fc.to_frame().set_index(["scenario", "horizon_day"])["p_collapse_mean"]
    assert p[("status quo", 10)] == 0.0
    assert p[("no tiers", 1)] == 1.0
    # day h covers (h - 1, h] after the cutoff: a change at day 3 first rules day 4
    assert p[("no tiers from day 3", 3)] == 0.0 and p[("no tiers from day 3", 4)] == 1.0
    assert fc.escalation().set_index("scenario").loc["no tiers", "p_supercritical"] == 1.0


def test_count_window_reaches_back_into_history():
    counts = np.zeros((5, 2))
    counts[0, 1] = 1.0
    tail = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # the last 3 observed days, oldest first
    rule = dict(thresholds=np.array([3.0]), windows=np.array([3]), masks=np.array([[False, True]]))
    assert collapse_day(counts, tail, rule["thresholds"], rule["windows"], rule["masks"], 6) == 1
    assert collapse_day(counts, tail[:2] * 0, rule["thresholds"], rule["windows"], rule["masks"], 6) == 6
    counts[2, 1] = 2.0  # days 1..3 hold 3 events
    assert collapse_day(counts, tail * 0, rule["thresholds"], rule["windows"], rule["masks"], 6) == 3


def test_scenarios_and_rules_from_the_spec_and_clear_errors():
    spec = escalate.ModelSpec.from_dict({
        "penalty_tiers": 2,
        "scenario": [{"name": "cell", "verification": 0.9, "from_day": 7}],
        "collapse": [{"kind": "count", "threshold": 3, "window_days": 7, "streams": ["y"]}, {"kind": "structural"}],
    })
    fit = escalate.fit_from_draws(quiet_gap_data(), spec, some_draws())
    fc = fit.forecast(10, paths=10)
    assert fc.scenarios == ["status quo", "cell"]
    assert "at least 3 y events within 7 consecutive days" in fc.collapse_definition()
    with pytest.raises(EscalateInputError, match="unknown scenario 'nope'"):
        fit.forecast(10, scenarios=["nope"])
    with pytest.raises(EscalateInputError, match="unknown stream"):
        fit.forecast(10, scenarios=[Scenario("z", penalty_tier={"zz": 1})])
    with pytest.raises(EscalateInputError, match="beyond the model's tiers"):
        fit.forecast(10, scenarios=[Scenario("z", penalty_tier=5)])
    with pytest.raises(escalate.SpecError, match="unknown key"):
        escalate.ModelSpec.from_dict({"scenario": [{"name": "a", "verificaton": 1}]})
    with pytest.raises(escalate.SpecError, match="threshold must be"):
        escalate.ModelSpec.from_dict({"collapse": [{"kind": "count", "threshold": 0, "window_days": 7}]})


def test_fit_from_draws_checks_shapes():
    with pytest.raises(escalate.ParameterError, match="branching"):
        escalate.fit_from_draws(quiet_gap_data(), SPEC, {**some_draws(), "branching": np.ones((6, 3, 3))})


def test_scenarios_beyond_the_data_are_flagged():
    fit = escalate.fit_from_draws(quiet_gap_data(), escalate.ModelSpec.from_dict({"penalty_tiers": 3}), {
        **some_draws(), "excite_tier": np.zeros((6, 2)), "mu_tier": np.zeros((6, 2))})
    fc = fit.forecast(5, scenarios=[Scenario("tier two", penalty_tier=2), Scenario("cell", verification=1.0),
                                    Scenario("mild", verification=0.4)], collapse=ANY_EVENT, paths=2)
    assert "penalty tier 2 never occurs in the data" in fc.notes["tier two"]
    assert "outside the observed 0.2..0.6" in fc.notes["cell"]
    assert "mild" not in fc.notes and "status quo" not in fc.notes


def test_daily_structural_rule_fires_on_the_day_the_counts_switch_state():
    """Daily forecasts simulate day h (1-based) with the state at its start, h - 1, so a change
    at day 2.5 first rules the counts of day 4; the structural rule must fire on that day too,
    not on day 3 (exact times switch inside day 3, and fire there)."""
    draws = some_draws(n=4)
    draws["branching"] = np.full((4, 2, 2), 0.6)
    draws["excite_tier"] = np.full((4, 1), np.log(0.5))
    draws["excite_verification_cross"] = np.zeros(4)
    daily = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "time_resolution": "day"})
    scenario = [Scenario("no tiers from day 2.5", penalty_tier=0, from_day=2.5)]
    p = {}
    for name, data, spec in (("day", quiet_gap_data().to_daily(), daily), ("exact", quiet_gap_data(), SPEC)):
        fc = escalate.fit_from_draws(data, spec, draws).forecast(6, scenarios=scenario,
                                                                 collapse=CollapseRule.structural(), paths=3)
        p[name] = fc.to_frame().set_index(["scenario", "horizon_day"])["p_collapse_mean"]
    assert p["day"][("no tiers from day 2.5", 3)] == 0.0 and p["day"][("no tiers from day 2.5", 4)] == 1.0
    assert p["exact"][("no tiers from day 2.5", 2)] == 0.0 and p["exact"][("no tiers from day 2.5", 3)] == 1.0


@pytest.mark.parametrize("daily_likelihood", ["cascade", "no_same_day"])
def test_expected_counts_under_a_scenario_follow_the_first_moment_equations(daily_likelihood):
    """Daily forecast from a history whose excitation has died out: E[roots_h] = mu + c E[H_h],
    E[y_h] = E[roots_h] (I - s B(h))^-1 with the cascade (s the same-day share; s = 0 without
    it) and E[H_{h+1}] = r E[H_h] + B(state of day h)' E[y_h], with the branching of the day the
    parent was born in (parent-time covariates). Tier 1 from day 5 cuts every offspring's rate
    to 0.3; a simulator whose scenario never reached the excitation of events born after the
    change, or used the tier of the wrong party, or left the same-day broods out, would miss
    these means."""
    events = pd.DataFrame({"truce_id": "t", "time": [1.0, 2.5, 4.0], "stream": ["x", "y", "x"]})
    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [60.0]})
    covs = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "verification": [0.2], "penalty_tier": [0]})
    data = escalate.TruceData.from_frames(events, truces, covs).to_daily()
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "time_resolution": "day",
                                         "daily_likelihood": daily_likelihood})
    branching = np.array([[0.6, 0.3], [0.1, 0.5]])
    draws = {"mu_log": np.log([[0.5, 0.2]]), "branching": branching[None], "decay": np.array([0.7]),
             "excite_verification_cross": np.zeros(1), "excite_verification_self": np.zeros(1),
             "excite_tier": np.array([[np.log(0.3)]]), "mu_tier": np.zeros((1, 1))}
    fit = escalate.fit_from_draws(data, spec, draws)
    horizon, paths = 20, 20000
    scenario = Scenario("tier 1 for y from day 5", penalty_tier={"y": 1}, from_day=5)
    fc = fit.forecast(horizon, scenarios=[scenario], collapse=ANY_EVENT, paths=paths, seed=9, checkpoints=(10,))
    omega = 0.7
    r, c = np.exp(-omega), (1 - np.exp(-omega)) ** 2 / omega
    share = 1 - (1 - r) / omega if daily_likelihood == "cascade" else 0.0
    mu = np.array([0.5, 0.2])
    for name, change_day, factor in (("status quo", None, np.ones(2)), (scenario.name, 5, np.array([1.0, 0.3]))):
        H, total, want = np.zeros(2), np.zeros(2), {}
        for h in range(horizon):  # day h + 1, 1-based; its state is the one at its start, h
            B = branching * (factor[None, :] if change_day is not None and h >= change_day else 1.0)
            y = (mu + c * H) @ np.linalg.inv(np.eye(2) - share * B)
            H = r * H + B.T @ y
            total = total + y
            want[h + 1] = total.copy()
        got = fc.ds["path_events"].sel(scenario=name).values[0]  # (path, checkpoint, stream)
        for i, day in enumerate(fc.ds["checkpoint"].values):
            se = got[:, i].std(axis=0, ddof=1) / np.sqrt(paths)
            assert np.all(np.abs(got[:, i].mean(axis=0) - want[int(day)]) < 4 * se), (name, day, got[:, i].mean(0),
                                                                                     want[int(day)], se)
    # the change matters: under the scenario y's offspring are far fewer
    assert want[horizon][1] < 0.8 * fc.ds["path_events"].sel(scenario="status quo").values[0, :, -1, 1].mean()


@pytest.mark.parametrize("window", [2, 3, 7])
def test_a_count_rule_counts_exactly_its_window_of_days(window):
    """Two events `window` days apart never share a `window`-day window (the rule does not
    fire); `window - 1` days apart they do, and it fires on the second one's day. A rule
    compiled or counted one day too long (or short) fails one of the two."""
    from escalate.model.scenarios import compile_count_rules

    thresholds, windows, masks = compile_count_rules([CollapseRule.count(threshold=2, window_days=window)],
                                                     ("x", "y"))
    assert windows.tolist() == [window]
    tail = np.zeros((window - 1, 2))
    counts = np.zeros((20, 2))
    counts[2, 0] = counts[2 + window, 1] = 1.0  # days 3 and 3 + window (1-based)
    assert collapse_day(counts, tail, thresholds, windows, masks, 21) == 21
    counts[2 + window, 1], counts[1 + window, 1] = 0.0, 1.0  # days 3 and 3 + window - 1
    assert collapse_day(counts, tail, thresholds, windows, masks, 21) == 2 + window
