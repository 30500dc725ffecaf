"""Forecasts of declared collapse from the corpus hazard (MODEL.md 6).

For a truce with event data the hazard is integrated along the simulated future paths of its
violence (the feedback term sees the simulated counts; :class:`PathHazard` gives the
simulator its inputs). For a truce without event data, and for a new ceasefire, the risk has a
closed form per posterior draw, ``P(collapse by day h) = 1 - prod_{d < h} (1 - h(d))``.
"""

from __future__ import annotations

import numpy as np

from escalate.errors import EscalateInputError
from escalate.model.hazard import daily_log_hazard_rate
from escalate.model.parameters import HAZARD_PARAMETERS, dims_for, parameter


def hazard_draws(tree, spec, corpus, indices) -> dict[str, np.ndarray]:
    """Every hazard parameter at the chosen flattened posterior draws (leading draw dim); one the
    spec's model does not have takes its registry value (zero effects)."""
    post = tree["posterior"]
    events = corpus.event_data()
    dims = dims_for(spec, len(events.streams) if events is not None else 0,
                    len(events.truce_ids) if events is not None else 0, len(corpus.groups))
    out = {}
    for name in HAZARD_PARAMETERS:
        entry = parameter(name)
        if name in post.data_vars:
            values = post[name].values
            out[name] = values.reshape((-1,) + values.shape[2:])[indices]
        elif entry.exists(spec, dims):
            raise EscalateInputError(f"the posterior has no '{name}', which the spec {spec.source} has; refit")
        else:
            out[name] = np.full((len(indices), *dims.shape(entry.dims)), entry.fixed)
    return out


def scenario_profile(scenario, horizon: int, verification: float, tier: int, covariates: dict,
                     hazard_covariates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Verification, tier (the highest of the parties') and static covariates on each of the
    ``horizon`` future days under ``scenario`` (changes from its ``from_day``)."""
    days = np.arange(horizon)
    changed = days >= float(scenario.from_day) if scenario.from_day > 0 else np.ones(horizon, dtype=bool)
    v = np.full(horizon, float(verification))
    if scenario.verification is not None:
        v[changed] = float(scenario.verification)
    t = np.full(horizon, int(tier), dtype=np.int64)
    if scenario.penalty_tier is not None:
        new = scenario.penalty_tier if isinstance(scenario.penalty_tier, int) else max(scenario.penalty_tier.values())
        t[changed] = int(new)
    z = np.tile(np.array([float(covariates[c]) for c in hazard_covariates]), (horizon, 1)).reshape(horizon, -1)
    for name, value in scenario.covariates.items():
        if name in hazard_covariates:
            z[changed, list(hazard_covariates).index(name)] = float(value)
    return v, t, z


def static_eta(p, spec, first_day: int, v, t, z, group) -> np.ndarray:
    """eta[draw, day] without the feedback term for days ``first_day ..`` since the start, with
    per-day verification ``v``, tier ``t`` and covariates ``z`` (days, Z)."""
    days = first_day + np.arange(len(v))
    n = len(p["hazard_baseline"])
    eta = daily_log_hazard_rate(p, v, t, np.zeros(z.shape[1]), days, spec.hazard.bins, group=group)
    return eta + np.einsum("nz,hz->nh", p["hazard_covariate"].reshape(n, -1), z)


class PathHazard:
    """The declared-collapse hazard of one corpus truce, for the daily path simulator."""

    def __init__(self, fit, truce_id: str):
        self.fit, self.truce_id = fit, truce_id
        corpus = fit.corpus
        row = corpus.truces.set_index("truce_id").loc[truce_id]
        self.row = row
        self.group = corpus.groups.index(row["group"])
        self.first_day = int(row["days_at_risk"])
        window = fit.spec.hazard.feedback_window_days
        totals = corpus.daily_totals(truce_id) if row["has_events"] else np.zeros(window)
        self.tail = np.ascontiguousarray(totals[-window:], dtype=float)

    def arguments(self, scenario, seg_start, states, indices, horizon):
        """(eta[draw, day] without feedback, feedback effect per draw, observed tail)."""
        fit, spec = self.fit, self.fit.spec
        p = hazard_draws(fit.tree, spec, fit.corpus, indices)
        v, t, z = scenario_profile(scenario, horizon, self.row["verification"], self.row["penalty_tier"],
                                   self.row, spec.hazard.covariates)
        eta = static_eta(p, spec, self.first_day, v, t, z, self.group)
        feedback = p["hazard_feedback"] if spec.hazard.feedback else np.zeros(len(indices))
        return np.ascontiguousarray(eta), np.ascontiguousarray(feedback, dtype=float), self.tail


def closed_form_risk(eta: np.ndarray) -> np.ndarray:
    """P(declared collapse by the end of each day) per draw: 1 - exp(-cumsum exp(eta))."""
    return -np.expm1(-np.cumsum(np.exp(eta), axis=-1))


def before_other_ends(p_declared: np.ndarray, p_other: np.ndarray) -> np.ndarray:
    """P(declared collapse by day h before the truce ends otherwise), the cumulative incidence
    of collapse with expiry and replacement as competing risks, from the two cause-specific
    probabilities by day h = 1, 2, ... (last axis), per draw: P(collapse on day k) times the
    chance that the truce had not ended otherwise through day k (the other end comes first
    within a day, as in :meth:`escalate.Corpus.other_ends`),
    ``sum_{k <= h} (p_declared[k] - p_declared[k-1]) * (1 - p_other[k])``.

    Exact when the other-end hazard does not depend on the simulated violence (it has no
    feedback), so that it factors out of the average over paths."""
    on_day = np.diff(p_declared, axis=-1, prepend=0.0)
    return np.cumsum(on_day * (1.0 - p_other), axis=-1)


def new_truce_eta(p, spec, corpus, horizon: int, verification: float, penalty_tier: int, covariates: dict,
                  group, rng, trailing_events: float = 0.0) -> np.ndarray:
    """eta[draw, day] of a new ceasefire from its first day; ``group`` None draws a new group's
    effect from the population (Normal(0, hazard_group_sd)) per draw."""
    missing = [c for c in spec.hazard.covariates if c not in covariates]
    if missing:
        raise EscalateInputError(f"the new truce needs values for the hazard's covariates {missing} "
                                 f"(the model has {list(spec.hazard.covariates)})")
    if penalty_tier >= spec.penalty_tiers or penalty_tier < 0:
        raise EscalateInputError(f"penalty_tier must be in 0..{spec.penalty_tiers - 1}, got {penalty_tier}")
    if not 0 <= verification <= 1:
        raise EscalateInputError(f"verification must lie in [0, 1], got {verification}")
    n = len(p["hazard_baseline"])
    days = np.arange(horizon)
    z = np.array([float(covariates[c]) for c in spec.hazard.covariates])
    eta = daily_log_hazard_rate(p, verification, penalty_tier, z, days, spec.hazard.bins)
    if group is None:
        eta = eta + (p["hazard_group_sd"].reshape(n) * rng.standard_normal(n))[:, None]
    else:
        if group not in corpus.groups:
            raise EscalateInputError(f"unknown group {group!r}; give one of the corpus' groups or None (a new one)")
        eta = eta + p["hazard_group"][:, corpus.groups.index(group)][:, None]
    if spec.hazard.feedback:
        eta = eta + p["hazard_feedback"][:, None] * np.log1p(trailing_events)
    return eta


def seen_values(corpus) -> dict:
    """The verification levels, tiers and covariate values that the hazard's truces show."""
    at_risk = corpus.at_risk
    return {"verification": (float(at_risk["verification"].min()), float(at_risk["verification"].max())),
            "penalty_tier": set(at_risk["penalty_tier"].astype(int)),
            **{c: set(at_risk[c].astype(float)) for c in corpus.covariate_names}}


def hazard_note(corpus, verification, tiers, covariates: dict) -> str:
    """Why a profile's collapse risk rests on the prior (values outside the corpus), or ""."""
    seen = seen_values(corpus)
    parts = []
    lo, hi = seen["verification"]
    for v in np.atleast_1d(verification):
        if not lo <= float(v) <= hi:
            parts.append(f"verification {float(v):g} lies outside the corpus' {lo:g}..{hi:g}")
    for t in np.atleast_1d(tiers):
        if int(t) not in seen["penalty_tier"]:
            parts.append(f"penalty tier {int(t)} never occurs in the corpus")
    for name, value in covariates.items():
        if name in seen and float(value) not in seen[name]:
            parts.append(f"{name} = {value:g} never occurs in the corpus")
    return "; ".join(dict.fromkeys(parts))
