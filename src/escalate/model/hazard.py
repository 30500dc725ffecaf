"""The collapse hazard (MODEL.md 6): its data rows, its log-likelihood and the daily hazard.

For truce j on day d since its start, ``h_j(d) = 1 - exp(-exp(eta_j(d)))`` with

    eta_j(d) = hazard_baseline[b(d)] + hazard_verification v_j + hazard_tier[p_j]
               + hazard_covariate . z_j + hazard_feedback log(1 + c_j(d)) + hazard_group[g(j)]

so that ``log(1 - h) = -exp(eta)`` exactly. A truce contributes ``log(1 - h)`` for every day it
survived and ``log h`` on its collapse day. The days of one truce that share a bin and a
trailing count ``c`` share ``eta``: :func:`hazard_rows` merges them into one row with an
exposure (a number of days), which makes the likelihood of thousands of truces (and millions of
truce-days) a sum over a few thousand rows, exactly.

The penalty tier of a truce is the highest tier of its parties (one number per truce in a
corpus; the maximum over streams in a forecast). Verification, the tier and the covariates are
the truce's own, constant over its days.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt

from escalate.errors import SpecError

#: Prior means below this many collapses are floored (a corpus without early collapses).
_FLOOR = 0.5


@dataclass(frozen=True)
class HazardRows:
    """The hazard's likelihood data: one row per (truce, bin, trailing count, collapse) class.

    Attributes
    ----------
    truce_ids : tuple of str
        The truces in the hazard (rows' ``truce`` indexes them).
    truce, bin : int arrays (rows)
    feedback : float array (rows)
        ``log(1 + c)``, 0 where the feedback term is left out.
    exposure : float array (rows)
        Days the row stands for (1 for a collapse row).
    event : float array (rows)
        1 for the collapse day, 0 for survived days.
    verification, tier, group : arrays (truces)
    covariates : float array (truces, Z)
    early_rate : float
        Collapses per truce-day at risk in the first week (the symbolic prior mean).
    """

    truce_ids: tuple[str, ...]
    truce: np.ndarray
    bin: np.ndarray
    feedback: np.ndarray
    exposure: np.ndarray
    event: np.ndarray
    verification: np.ndarray
    tier: np.ndarray
    group: np.ndarray
    covariates: np.ndarray
    early_rate: float


_ROWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def day_bins(days, bins) -> np.ndarray:
    """Index of the bin of each day since the start (``bins`` are lower edges from 0)."""
    return np.searchsorted(np.asarray(bins), np.asarray(days), side="right") - 1


def trailing_counts(totals: np.ndarray, history_days: int, n_days: int, window: int) -> np.ndarray:
    """Events in the ``window`` days before each day 0..n_days-1; ``totals`` starts at day
    ``-history_days``."""
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    day = np.arange(n_days) + history_days  # index of day d in totals
    return cumulative[day] - cumulative[np.maximum(day - window, 0)]


def feedback_truces(corpus, settings) -> np.ndarray:
    """Whether each at-risk truce's hazard has the feedback term; refuses (or leaves out, or
    fits without it, as the spec says) truces without event data."""
    at_risk = corpus.at_risk
    has = at_risk["has_events"].to_numpy(dtype=bool)
    if not settings.feedback:
        return np.zeros(len(at_risk), dtype=bool)
    if not has.all() and settings.unobserved_violence == "error":
        raise SpecError(
            f"{(~has).sum()} of the {len(has)} truces in the hazard have no event data, so the violence "
            f"feedback term cannot see their violence. Say in the spec's [hazard] table how they enter: "
            f"unobserved_violence = \"omit_feedback\" (fitted without the feedback term) or \"exclude\" "
            f"(left out of the hazard); escalate never treats missing events as zero")
    if corpus.history_days < settings.feedback_window_days and has.any():
        raise SpecError(f"the corpus' history window ({corpus.history_days} days) is shorter than "
                        f"hazard.feedback_window_days ({settings.feedback_window_days}): the feedback on a "
                        f"truce's first days would miss events; build the corpus with a longer history_days")
    return has


def hazard_rows(corpus, settings) -> HazardRows:
    """The merged likelihood rows of a corpus under a spec's ``[hazard]`` settings (cached)."""
    per_corpus = _ROWS.setdefault(corpus, {})
    key = (settings.bins, settings.covariates, settings.feedback, settings.feedback_window_days,
           settings.unobserved_violence)
    if key not in per_corpus:
        per_corpus[key] = _build_rows(corpus, settings)
    return per_corpus[key]


def _build_rows(corpus, settings) -> HazardRows:
    missing = [c for c in settings.covariates if c not in corpus.covariate_names]
    if missing:
        raise SpecError(f"hazard.covariates {missing} are not static covariates of the corpus "
                        f"(it has {list(corpus.covariate_names)})")
    at_risk = corpus.at_risk
    with_feedback = feedback_truces(corpus, settings)
    if settings.feedback and settings.unobserved_violence == "exclude":
        at_risk, with_feedback = at_risk[with_feedback], with_feedback[with_feedback]
    if not len(at_risk):
        raise SpecError("no truce of the corpus is at risk (every one is excluded or ended on its first day)")
    groups = {g: i for i, g in enumerate(corpus.groups)}
    parts = {name: [] for name in ("truce", "bin", "feedback", "exposure", "event")}
    early = [0.0, 0.0]
    for j, (truce_id, n, collapsed, fb) in enumerate(zip(at_risk["truce_id"], at_risk["days_at_risk"],
                                                         at_risk["collapsed"], with_feedback)):
        n = int(n)
        days = np.arange(n)
        b = day_bins(days, settings.bins)
        c = (trailing_counts(corpus.daily_totals(truce_id), corpus.history_days, n,
                             settings.feedback_window_days) if fb else np.zeros(n))
        event = np.zeros(n)
        event[-1] = float(collapsed)
        early[0] += float(collapsed and n <= 7)
        early[1] += min(n, 7)
        keys = np.stack([b, c, event], axis=1)
        unique, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        parts["truce"].append(np.full(len(unique), j))
        parts["bin"].append(unique[:, 0].astype(np.int64))
        parts["feedback"].append(np.log1p(unique[:, 1]))
        parts["exposure"].append(counts.astype(float))
        parts["event"].append(unique[:, 2])
    covariates = at_risk[list(settings.covariates)].to_numpy(dtype=float).reshape(len(at_risk), -1)
    return HazardRows(
        truce_ids=tuple(at_risk["truce_id"]),
        truce=np.concatenate(parts["truce"]).astype(np.int64), bin=np.concatenate(parts["bin"]),
        feedback=np.concatenate(parts["feedback"]), exposure=np.concatenate(parts["exposure"]),
        event=np.concatenate(parts["event"]),
        verification=at_risk["verification"].to_numpy(dtype=float),
        tier=at_risk["penalty_tier"].to_numpy(dtype=np.int64),
        group=at_risk["group"].map(groups).to_numpy(dtype=np.int64),
        covariates=np.ascontiguousarray(covariates),
        early_rate=max(early[0], _FLOOR) / max(early[1], 1.0),
    )


def _linear(lib, rows: HazardRows, p) -> object:
    """eta of every row, with numpy or pytensor (``lib``): one formula for both."""
    tier = lib.concatenate([lib.zeros(1), p["hazard_tier"]])
    truce_eta = (p["hazard_verification"] * rows.verification + tier[rows.tier]
                 + lib.dot(rows.covariates, p["hazard_covariate"]) + p["hazard_group"][rows.group])
    return p["hazard_baseline"][rows.bin] + truce_eta[rows.truce] + p["hazard_feedback"] * rows.feedback


def _loglik(lib, rows: HazardRows, eta) -> object:
    lam = lib.exp(eta)
    # log h = log(1 - exp(-lam)) on a collapse day; log(1 - h) = -lam per survived day
    return lib.sum(rows.event * lib.log(-lib.expm1(-lam)) - (1.0 - rows.event) * rows.exposure * lam)


def hazard_log_likelihood(rows: HazardRows, params) -> float:
    """The hazard's log-likelihood at a dict of parameters (numpy; absent effects are zero)."""
    p = complete(params, rows)
    return float(_loglik(np, rows, _linear(np, rows, p)))


def hazard_loglike_graph(rows: HazardRows, values) -> pt.TensorVariable:
    """The same log-likelihood as a PyTensor expression of the model's variables."""
    return _loglik(pt, rows, _linear(pt, rows, values))


def complete(params, rows: HazardRows, n_tiers: int | None = None) -> dict[str, np.ndarray]:
    """Hazard parameters as arrays, absent effects zero (sized from ``rows``)."""
    P = n_tiers or int(rows.tier.max(initial=0)) + 1
    sizes = {"hazard_tier": (P - 1,), "hazard_covariate": (rows.covariates.shape[1],),
             "hazard_group": (int(rows.group.max(initial=0)) + 1,)}
    out = {"hazard_baseline": np.asarray(params["hazard_baseline"], dtype=float),
           "hazard_verification": float(params.get("hazard_verification", 0.0)),
           "hazard_feedback": float(params.get("hazard_feedback", 0.0))}
    for name, shape in sizes.items():
        value = np.asarray(params.get(name, np.zeros(shape)), dtype=float)
        if name == "hazard_group" and value.shape[0] < shape[0]:
            raise SpecError(f"hazard_group has {value.shape[0]} entries for {shape[0]} groups")
        out[name] = value
    return out


def daily_log_hazard_rate(p, verification, tier, covariates, days, bins, feedback=None, group=None):
    """``log(-log(1 - h))`` = eta per posterior draw and day: ``p`` holds hazard parameters with
    a leading draw dim; ``verification``/``tier`` per day (arrays of len(days)) or scalars;
    ``feedback`` (draws, days) of log(1 + c) or None; ``group`` an index, or None for a new group
    (its effect is drawn from the population by the caller and added to ``p``)."""
    n = len(p["hazard_baseline"])
    b = day_bins(days, bins)
    v = np.broadcast_to(np.asarray(verification, dtype=float), b.shape)
    t = np.broadcast_to(np.asarray(tier, dtype=np.int64), b.shape)
    tiers = np.concatenate([np.zeros((n, 1)), p["hazard_tier"].reshape(n, -1)], axis=1)
    eta = (p["hazard_baseline"][:, b] + p["hazard_verification"][:, None] * v[None, :] + tiers[:, t]
           + (p["hazard_covariate"].reshape(n, -1) @ np.asarray(covariates, dtype=float))[:, None])
    if group is not None:
        eta = eta + p["hazard_group"][:, group][:, None]
    if feedback is not None:
        eta = eta + p["hazard_feedback"][:, None] * feedback
    return eta
