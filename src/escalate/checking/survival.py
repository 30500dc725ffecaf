"""Kaplan-Meier survival of a corpus' truces (the model-free curve the hazard must reproduce) and
the Aalen-Johansen cumulative incidence of collapse with competing ends."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from escalate.forecasting.collapse import before_other_ends


def risk_sets(at_risk, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Truces at risk on each day 0..horizon (``days_at_risk > d``) and collapses on that day."""
    n_days = at_risk["days_at_risk"].to_numpy(dtype=np.int64)
    collapsed = at_risk["collapsed"].to_numpy(dtype=bool)
    exits = np.bincount(np.minimum(n_days, horizon + 1), minlength=horizon + 2)
    events = np.bincount(n_days[collapsed] - 1, minlength=horizon + 2)[:horizon + 2]
    risk = len(n_days) - np.cumsum(exits)  # at risk on day d: days_at_risk > d
    return risk, events


def survival_curve(corpus, horizon: int) -> np.ndarray:
    """The Kaplan-Meier curve S[t] = P(no declared collapse on days 0..t-1), t = 0..horizon (flat
    after the last day anyone is at risk): the corpus base rate of the backtest."""
    risk, events = risk_sets(corpus.at_risk, int(horizon))
    n, e = risk[:horizon].astype(float), events[:horizon].astype(float)
    factor = np.where(n > 0, 1 - e / np.maximum(n, 1.0), 1.0)
    return np.concatenate([[1.0], np.cumprod(factor)])


def conditional_risk(survival: np.ndarray, day: int, horizon: int) -> np.ndarray:
    """P(collapse on days day..day+h-1 | in force on day ``day``) = 1 - S(day + h) / S(day) for
    h = 1..horizon from a curve of :func:`survival_curve` (NaN where S(day) = 0)."""
    if survival[day] <= 0:
        return np.full(horizon, np.nan)
    return 1.0 - survival[day + 1:day + horizon + 1] / survival[day]


def aalen_johansen(collapse: np.ndarray, other: np.ndarray, day: int, horizon: int) -> np.ndarray:
    """P(collapse on days day..day+h-1 before the truce ends otherwise | in force on day
    ``day``), h = 1..horizon: the Aalen-Johansen estimate of the cumulative incidence with
    competing ends, from the Kaplan-Meier curves of collapse (``survival_curve(corpus)``) and of
    the other ends (``survival_curve(corpus.other_ends())``)."""
    return before_other_ends(conditional_risk(collapse, day, horizon), conditional_risk(other, day, horizon))


def kaplan_meier(corpus, days=(7, 30, 90, 365), ci_prob: float = 0.90, mask=None) -> pd.DataFrame:
    """P(no declared collapse on days 0..t-1) for each t in ``days``, over the truces at risk
    (censored ones leave the risk set after their last day), with Greenwood's variance on the
    log-log scale for the ``ci_prob`` band. ``mask`` (bool per truce at risk) picks a subset."""
    at_risk = corpus.at_risk if mask is None else corpus.at_risk[np.asarray(mask, dtype=bool)]
    risk, events = risk_sets(at_risk, int(max(days)))
    z = stats.norm.ppf((1 + ci_prob) / 2)
    rows = []
    for t in days:
        n, e = risk[:t].astype(float), events[:t].astype(float)
        keep = n > 0
        surv = float(np.prod(1 - e[keep] / n[keep]))
        with np.errstate(divide="ignore", invalid="ignore"):
            greenwood = float(np.sum(e[keep] / (n[keep] * (n[keep] - e[keep]))))
        if 0 < surv < 1:
            se = np.sqrt(greenwood) / abs(np.log(surv))
            lo, hi = sorted(surv ** np.exp(np.array([z, -z]) * se))
        else:
            lo = hi = surv
        rows.append({"day": int(t), "km": surv, "km_lo": float(lo), "km_hi": float(hi), "at_risk": int(n[-1])})
    frame = pd.DataFrame(rows)
    frame.attrs["interval"] = f"{ci_prob:.0%} Greenwood (log-log) band"
    return frame
