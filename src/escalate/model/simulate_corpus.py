"""Simulated corpora with known truth: many truces in groups, their violence and how they end.

Each truce's daily counts follow the daily model (MODEL.md 3b) from a history window of
pre-truce fighting on; each day it may collapse with the hazard of MODEL.md 6, whose feedback
term sees the trailing counts. Truces that do not collapse expire at a fixed term, are replaced
or still hold at the cutoff, so the censoring looks like the real corpus'. Used for recovery
tests, the corpus benchmark and the notebooks; no real data involved.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from escalate.data.corpus import Corpus
from escalate.model.hazard import day_bins

DEFAULT_BINS = (0, 3, 7, 14, 30, 90, 365)

#: The truth the simulated corpora are drawn from by default (one stream, like GED dyad counts).
DEFAULT_TRUTH = {
    "hazard_baseline": np.log([0.008, 0.006, 0.004, 0.003, 0.002, 0.0012, 0.0006]),
    "hazard_verification": -0.7,
    "hazard_tier": np.array([-0.3, -0.6]),
    "hazard_covariate": np.array([-0.5, 0.3]),
    "hazard_feedback": 0.4,
    "hazard_group_sd": 0.4,
    "mu_log": np.array([np.log(0.4)]),
    "mu_verification": -0.5,
    "branching": np.array([[0.4]]),
    "decay": 0.5,
    "group_sd": 0.5,
}


def simulate_corpus(n_truces: int = 300, n_groups: int = 24, *, truth=None, event_share: float = 0.5,
                    history_days: int = 60, max_days: int = 400, seed: int = 0,
                    bins=DEFAULT_BINS, covariates=("written", "mediated"),
                    cutoff="2012-01-01", fixed_share: float = 0.4,
                    daily_likelihood: str = "cascade") -> tuple[Corpus, dict]:
    """A corpus simulated from ``truth`` (default :data:`DEFAULT_TRUTH`).

    Parameters
    ----------
    n_truces, n_groups : int
        Truces, spread over groups round-robin.
    truth : dict, optional
        Hazard and violence parameters (MODEL.md names); ``hazard_group`` and ``group_effect``
        are drawn from ``hazard_group_sd`` / ``group_sd`` unless given.
    event_share : float
        Share of truces whose daily counts are in the corpus (the rest: outcome only).
    history_days : int
        Pre-truce days whose counts excite the truce (and are in the corpus).
    max_days : int
        A truce still running after this many days is replaced (ends the simulation).
    seed : int
    bins : sequence of int
        Lower edges of the baseline hazard's bins (the length of ``hazard_baseline``).
    covariates : sequence of str
        Names of the static binary covariates (the length of ``hazard_covariate``).
    fixed_share : float
        Share of truces with a fixed term (3 to 119 days), after which they expire.
    daily_likelihood : {"cascade", "no_same_day"}
        The day law the counts follow, as the spec's key of that name: "cascade" (the default)
        adds each day's same-day descendants (every event begets Poisson(branching s) more that
        day, s = 1 - (1 - e^-decay) / decay); "no_same_day" is MODEL.md 3b as written.

    Returns
    -------
    (Corpus, dict)
        The corpus and the full truth (group effects included).
    """
    rng = np.random.default_rng(seed)
    truth = {k: np.array(v, dtype=float) if np.ndim(v) else float(v) for k, v in (truth or DEFAULT_TRUTH).items()}
    truth.setdefault("hazard_group", truth["hazard_group_sd"] * rng.standard_normal(n_groups))
    truth.setdefault("group_effect", truth.get("group_sd", 0.0) * rng.standard_normal((n_groups, 1)))
    cutoff = pd.Timestamp(cutoff)
    first = cutoff - pd.Timedelta(days=4000)
    r = math.exp(-truth["decay"])
    c_kernel = (1 - r) ** 2 / truth["decay"]
    alpha = float(truth["branching"][0, 0])
    same_day = alpha * (1 - (1 - r) / truth["decay"]) if daily_likelihood == "cascade" else 0.0
    n_tiers = len(truth["hazard_tier"]) + 1
    truces, counts = [], []
    for j in range(n_truces):
        g = j % n_groups
        start = first + pd.Timedelta(days=int(rng.integers(0, 3900)))
        v = float(rng.random() < 0.4)
        tier = int(rng.integers(0, n_tiers))
        z = (rng.random(len(covariates)) < 0.5).astype(float)
        horizon = min(max_days, int((cutoff - start).days))
        fixed = int(rng.integers(3, 120)) if rng.random() < fixed_share else None
        has_events = rng.random() < event_share
        eta_static = (truth["hazard_verification"] * v + np.concatenate([[0.0], truth["hazard_tier"]])[tier]
                      + float(truth["hazard_covariate"] @ z) + truth["hazard_group"][g])
        mu = math.exp(float(truth["mu_log"][0]) + truth["mu_verification"] * v + float(truth["group_effect"][g, 0]))
        hist = rng.poisson(rng.gamma(2.0, 1.0), history_days).astype(float)  # pre-truce fighting
        state = 0.0
        for y in hist:
            state = r * state + alpha * y
        days, end_day, end_type = [], None, "holding"
        trailing = list(hist[-7:])
        for d in range(horizon):
            lam = mu + c_kernel * state
            y = generation = float(rng.poisson(lam))
            while generation and same_day:  # the day's same-day descendants, brood by brood
                generation = float(rng.poisson(same_day * generation))
                y += generation
            c = sum(trailing[-7:])
            eta = truth["hazard_baseline"][day_bins(d, bins)] + eta_static + truth["hazard_feedback"] * math.log1p(c)
            days.append(y)
            trailing.append(y)
            state = r * state + alpha * y
            if rng.random() < -math.expm1(-math.exp(eta)):
                end_day, end_type = d, "collapsed"
                break
            if fixed is not None and d + 1 == fixed:
                end_day, end_type = d + 1, "expired"
                break
            if d + 1 == max_days:
                end_day, end_type = d + 1, "replaced"
                break
        end = start + pd.Timedelta(days=end_day) if end_day is not None else pd.NaT
        row = {"truce_id": f"T{j:04d}", "group": f"G{g:02d}", "start": start, "end": end, "end_type": end_type,
               "verification": v, "penalty_tier": tier, **dict(zip(covariates, z))}
        truces.append(row)
        if has_events:
            n_obs = len(days) if end_type == "collapsed" else (end_day if end_day is not None else horizon)
            series = np.concatenate([hist, np.asarray(days[:n_obs])])
            dates = start + pd.to_timedelta(np.arange(-history_days, n_obs), unit="D")
            counts.append(pd.DataFrame({"truce_id": row["truce_id"], "date": dates, "stream": "events",
                                        "count": series}))
    corpus = Corpus.from_frames(pd.DataFrame(truces), pd.concat(counts, ignore_index=True) if counts else None,
                                cutoff=cutoff, covariates=tuple(covariates), history_days=history_days,
                                provenance={"simulated": {"seed": seed, "n_truces": n_truces, "n_groups": n_groups}})
    return corpus, truth
