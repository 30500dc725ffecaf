"""Posterior forecasts of truce collapse under policy scenarios (MODEL.md 4).

For each posterior draw, ``paths`` futures of ``horizon`` days are simulated from the end of the
data, conditioned on the whole history (the residual excitation of every past event, the quiet
time since the last one included: the process is never restarted at the last event), under
each scenario's covariates. Exact-time fits simulate event times by the branching structure;
day-resolution fits simulate day counts with the daily model. The result is a
:class:`~escalate.forecasting.result.Forecast`; the fit is never modified.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from escalate.errors import EscalateInputError
from escalate.forecasting.kernels import (
    daily_history,
    exact_residual,
    no_hazard,
    same_day_share,
    simulate_daily_paths,
    simulate_exact_paths,
)
from escalate.forecasting.result import Forecast
from escalate.model.parameters import (
    dims_for,
    effective_branching,
    per_stream_dispersion,
    posterior_parameters,
    spectral_radius,
    state_rates,
    thinned_indices,
)
from escalate.model.scenarios import (
    STATUS_QUO,
    CollapseRule,
    Scenario,
    collapse_from_spec,
    compile_count_rules,
    scenarios_from_spec,
)
from escalate.model.priors import prior_excitation

#: Prior draws behind P(spectral radius >= 1) under the prior, per scenario (Monte Carlo error
#: at most 0.008).
PRIOR_DRAWS = 4000

#: Events per simulated path (exact) or per day (daily) beyond which a path is explosive.
MAX_EVENTS_PER_PATH = 200_000
MAX_DAILY = 1e6


def resolve_scenarios(spec, scenarios) -> list[Scenario]:
    """Status quo first, then the requested scenarios (objects, or names of spec scenarios)."""
    known = {s.name: s for s in scenarios_from_spec(spec)}
    if scenarios is None:
        chosen = list(known.values())
    else:
        chosen = []
        for item in ([scenarios] if isinstance(scenarios, str | Scenario) else scenarios):
            if isinstance(item, Scenario):
                chosen.append(item)
            elif item in known:
                chosen.append(known[item])
            elif item == STATUS_QUO:
                continue
            else:
                raise EscalateInputError(f"unknown scenario {item!r}; the spec {spec.source} defines "
                                         f"{sorted(known) or 'none'} (or pass escalate.Scenario objects)")
    names = [s.name for s in chosen]
    changed_quo = [s for s in chosen if s.name == STATUS_QUO and s.changes_something()]
    if changed_quo:
        raise EscalateInputError(f"a scenario named {STATUS_QUO!r} changes covariates; that name is the status "
                                 f"quo that every forecast includes (the last observed values): rename it")
    if len(set(names)) != len(names):
        raise EscalateInputError(f"scenario names must be unique, got {names}")
    if STATUS_QUO not in names:
        chosen.insert(0, Scenario(STATUS_QUO))
    return chosen


def resolve_rules(spec, collapse, declared: bool = False) -> list[CollapseRule]:
    """Collapse rules: the argument (one rule or a list), else the spec's. With a declared-collapse
    hazard (``declared``), no violence rule is needed."""
    if collapse is None:
        rules = collapse_from_spec(spec)
        if not rules and not declared:
            raise EscalateInputError(f"no collapse rule: pass collapse=escalate.CollapseRule.count(...) "
                                     f"or add a [[collapse]] table to the spec {spec.source}")
        return rules
    rules = [collapse] if isinstance(collapse, CollapseRule) else list(collapse)
    if not rules or not all(isinstance(r, CollapseRule) for r in rules):
        raise EscalateInputError("collapse= takes a CollapseRule or a list of them")
    return rules


def _scenario_states(fit, scenario: Scenario, j: int, horizon: int):
    """Future covariate segments: ``seg_start`` and per segment (verification, tiers, extras)."""
    data, spec = fit.data, fit.spec
    seg = data.segments
    last = seg.offsets[j + 1] - 1
    columns = [data.extra_names.index(c) for c in spec.baseline_covariates]
    quo = (float(seg.verification[last]), seg.tier[last].copy(), seg.extra[last, columns].copy())
    if scenario.verification is None and scenario.penalty_tier is None and not scenario.covariates:
        return np.array([0.0]), [quo]
    tiers = quo[1].copy()
    if isinstance(scenario.penalty_tier, int):
        tiers[:] = scenario.penalty_tier
    elif scenario.penalty_tier is not None:
        for stream, tier in scenario.penalty_tier.items():
            if stream not in data.streams:
                raise EscalateInputError(f"scenario {scenario.name!r}: unknown stream {stream!r}; "
                                         f"streams are {list(data.streams)}")
            tiers[data.streams.index(stream)] = tier
    if tiers.max() >= spec.penalty_tiers:
        raise EscalateInputError(f"scenario {scenario.name!r}: penalty tier {tiers.max()} is beyond the "
                                 f"model's tiers 0..{spec.penalty_tiers - 1}")
    extras = quo[2].copy()
    for name, value in scenario.covariates.items():
        if name not in spec.baseline_covariates and spec.hazard is not None and name in spec.hazard.covariates:
            continue  # a static covariate of the collapse hazard (forecasting.collapse applies it)
        if name not in spec.baseline_covariates:
            raise EscalateInputError(f"scenario {scenario.name!r}: {name!r} is not a baseline covariate "
                                     f"of the model ({list(spec.baseline_covariates)})")
        extras[list(spec.baseline_covariates).index(name)] = float(value)
    new = (quo[0] if scenario.verification is None else float(scenario.verification), tiers, extras)
    if scenario.from_day <= 0:
        return np.array([0.0]), [new]
    if scenario.from_day >= horizon:
        return np.array([0.0]), [quo]
    return np.array([0.0, float(scenario.from_day)]), [quo, new]


def segment_rates(fit, p, j):
    """mu[n, s, k] and alpha[n, s, i, k] for the segments of truce j (parameter arrays ``p``
    with a leading draw dim, from :func:`escalate.model.parameters.posterior_parameters`)."""
    data = fit.data
    seg = data.segments
    columns = [data.extra_names.index(c) for c in fit.spec.baseline_covariates]
    rates = [state_rates(p, j, seg.verification[s], seg.tier[s], seg.extra[s, columns])
             for s in range(seg.offsets[j], seg.offsets[j + 1])]
    return np.stack([r[0] for r in rates], axis=1), np.stack([r[1] for r in rates], axis=1)


def _history(fit, j: int, p, tail_days: int):
    """Residual excitation (exact) or excitation state (daily) per draw, and the last days' counts."""
    data = fit.data
    seg = data.segments
    lo = seg.offsets[j]
    K = len(data.streams)
    mu_hist, alpha_hist = segment_rates(fit, p, j)
    T = float(data.durations[j])
    if data.resolution == "exact":
        ev = data.event_arrays()
        mine = slice(ev["truce_offsets"][j], ev["truce_offsets"][j + 1])
        times, streams = ev["times"][mine], ev["streams"][mine]
        state = exact_residual(times, streams, ev["segment"][mine] - lo, T, alpha_hist, p["decay"])
        back = np.floor(T - times).astype(np.int64)  # 0 = the last day before the cutoff
        tail = np.zeros((tail_days, K))
        keep = back < tail_days
        np.add.at(tail, (tail_days - 1 - back[keep], streams[keep]), 1.0)
    else:
        days = data.history_and_days()  # the history window before the start excites too
        mine = slice(days["day_offsets"][j], days["day_offsets"][j + 1])
        counts = days["counts"][mine]
        rate, state = daily_history(counts, days["segment"][mine] - lo, mu_hist, alpha_hist, p["decay"])
        # a missing day in the count rules' look-back counts its expected events (over draws)
        counts = np.where(np.isnan(counts), rate.mean(axis=0), counts)
        tail = np.zeros((tail_days, K))
        n = min(tail_days, len(counts))
        if n:
            tail[tail_days - n:] = counts[len(counts) - n:]
    return state, tail


def run_forecast(fit, horizon: int, scenarios=None, collapse=None, draws: int | None = None,
                 paths: int = 100, seed: int | None = None, truce: str | None = None,
                 max_events: int = MAX_EVENTS_PER_PATH, checkpoints=None, progress=None, hazard=None) -> Forecast:
    """Simulate collapse risk; see :meth:`escalate.Fit.forecast` for the arguments.

    ``hazard``, if given (a :class:`escalate.forecasting.collapse.PathHazard`), adds the
    declared-collapse hazard of MODEL.md 6 along every simulated path: the forecast then holds
    P(declared collapse) and P(declared collapse or a violence rule) as well.

    ``checkpoints`` (days, default 7, 30, 90 and the horizon) are the days at which every
    path's cumulative event counts are kept (``path_events``), for count scores. ``progress``,
    if given, is called as ``progress(done, total, scenario_name)`` after each scenario.
    """
    data, spec = fit.data, fit.spec
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise EscalateInputError(f"horizon must be a whole number of days >= 1, got {horizon!r}")
    if isinstance(paths, bool) or not isinstance(paths, int | np.integer) or paths < 1:
        raise EscalateInputError(f"paths must be a whole number >= 1, got {paths!r}")
    horizon, paths, seed = int(horizon), int(paths), 0 if seed is None else int(seed)
    wanted = (7, 30, 90) if checkpoints is None else checkpoints
    checkpoints = np.array(sorted({int(c) for c in wanted if 1 <= int(c) <= horizon} | {horizon}), dtype=np.int64)
    scenario_list = resolve_scenarios(spec, scenarios)
    rules = resolve_rules(spec, collapse, declared=hazard is not None)
    j = _truce_index(data, truce)
    n_total = fit.tree["posterior"].sizes["chain"] * fit.tree["posterior"].sizes["draw"]
    n = n_total if draws is None else int(draws)
    if not 1 <= n <= n_total:
        raise EscalateInputError(f"draws must be between 1 and the {n_total} posterior draws, got {draws!r}")
    indices = thinned_indices(n_total, n)
    p = posterior_parameters(fit, indices)
    thresholds, windows, masks = compile_count_rules(rules, data.streams)
    tail_days = max(int(windows.max()) - 1 if len(windows) else 0, 1)
    state, tail = _history(fit, j, p, tail_days)
    structural = any(r.kind == "structural" for r in rules)
    daily = data.resolution == "day"
    dispersion = (per_stream_dispersion(p["dispersion"], len(data.streams))
                  if (daily and spec.observation == "negative_binomial") else np.zeros((len(indices), len(data.streams))))
    if hazard is not None and not daily:
        raise EscalateInputError("the declared-collapse hazard is forecast with day-resolution models only")
    results, notes, declared, prior_supercritical = [], {}, [], []
    prior = prior_excitation(spec, dims_for(spec, len(data.streams), len(data.truce_ids)), n=PRIOR_DRAWS, seed=seed)
    identification = fit.identification
    for scenario in scenario_list:
        seg_start, states = _scenario_states(fit, scenario, j, horizon)
        note = extrapolation_note(data, states)
        needs = identification.scenario_problem(states, spec.baseline_covariates)
        scenario_p = p
        if needs and not scenario.prior_driven:
            raise EscalateInputError(
                f"scenario {scenario.name!r} moves effects this fit holds at zero because its data cannot "
                f"identify them: {needs} ({'; '.join(identification.notes)}). Drop the scenario, or set "
                f"prior_driven = true in it to run it on those effects' priors (its headline then says "
                f"prior-driven); fix_unidentified = false in the spec estimates them on their priors in the fit")
        if needs:
            scenario_p = identification.on_priors(p, spec, seed)
            note = "; ".join(filter(None, [f"{needs}: effects the data cannot identify, drawn from their priors "
                                           f"(prior_driven = true)", note]))
        if note:
            notes[scenario.name] = note
        rates = [state_rates(scenario_p, j, *s) for s in states]
        mu = np.ascontiguousarray(np.stack([r[0] for r in rates], axis=1))
        alpha = np.ascontiguousarray(np.stack([r[1] for r in rates], axis=1))
        rho = np.stack([spectral_radius(a) for a in alpha.transpose(1, 0, 2, 3)], axis=1)  # (draw, G)
        verification, tiers, _ = states[-1]
        prior_rho = spectral_radius(effective_branching(*(prior[name] for name in (
            "branching", "excite_verification_self", "excite_verification_cross", "excite_tier")),
            verification, np.asarray(tiers)))
        prior_supercritical.append(float((prior_rho >= 1).mean()))
        # the first day whose counts the state rules: a daily day takes the state at its start
        # (a change at 2.5 rules day 4), exact times switch inside the day (day 3)
        first_day = (np.ceil(seg_start) if daily else np.floor(seg_start)).astype(np.int64) + 1
        structural_day = np.full(len(indices), horizon + 1, dtype=np.int64)
        if structural:
            for g in range(len(seg_start) - 1, -1, -1):
                structural_day = np.where(rho[:, g] >= 1, first_day[g], structural_day)
        args = (mu, alpha, seg_start, p["decay"], state)
        if daily:
            path_hazard = (hazard.arguments(scenario, seg_start, states, indices, horizon) if hazard is not None
                           else no_hazard(len(indices), horizon))
            out = simulate_daily_paths(*args, dispersion, horizon, paths, seed, tail, thresholds, windows,
                                       masks, structural_day, MAX_DAILY, checkpoints, *path_hazard,
                                       same_day_share(spec, p["decay"]))
            declared.append(out[4:])
            out = out[:4]
        else:
            out = simulate_exact_paths(*args, horizon, paths, seed, tail, thresholds, windows, masks,
                                       structural_day, max_events, checkpoints)
        results.append((scenario, rho[:, -1], *out))
        if progress is not None:
            progress(len(results), len(scenario_list), scenario.name)
    if identification.notes:  # every output that shows notes says what the fit held at zero
        notes[HELD_NOTE] = "; ".join(identification.notes)
    cutoff = data.truces["end"].iloc[j]
    return Forecast.from_simulation(
        results, streams=data.streams, horizon=horizon, paths=paths, seed=seed,
        truce=data.truce_ids[j], cutoff=str(cutoff), rules=rules, draw_indices=indices,
        resolution=data.resolution, notes=notes, checkpoints=checkpoints,
        declared=declared if hazard is not None else None, draws_per_chain=fit.tree["posterior"].sizes["draw"],
        prior_supercritical=prior_supercritical)


#: The forecast note (beside the scenarios' own) listing the effects the fit held at zero.
HELD_NOTE = "effects held at zero"


def extrapolation_note(data, states) -> str:
    """Say when a scenario leaves the covariate values seen in the data: its effect then rests
    on the prior alone (the data cannot tell), which the reader must know."""
    seg = data.segments
    seen_tiers = set(np.unique(seg.tier).tolist())
    lo, hi = float(seg.verification.min()), float(seg.verification.max())
    parts = []
    for verification, tiers, _ in states:
        new_tiers = sorted(set(np.asarray(tiers).tolist()) - seen_tiers)
        if new_tiers:
            parts.append(f"penalty tier {', '.join(map(str, new_tiers))} never occurs in the data: its effects "
                         f"are the prior's")
        if not lo <= verification <= hi:
            parts.append(f"verification {verification:g} lies outside the observed {lo:g}..{hi:g}: an "
                         f"extrapolation of the fitted verification effects")
    return "; ".join(dict.fromkeys(parts))


def _truce_index(data, truce: str | None) -> int:
    if truce is None:  # the current truce: the one whose window ends last
        ends = data.truces["end"]
        return int(np.argmax(pd.to_numeric(ends) if data.clock == "float" else ends.to_numpy()))
    if truce not in data.truce_ids:
        raise EscalateInputError(f"unknown truce {truce!r}; truces are {list(data.truce_ids)}")
    return data.truce_ids.index(truce)
