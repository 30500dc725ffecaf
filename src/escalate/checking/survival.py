"""Kaplan-Meier survival of a corpus' truces: the model-free curve the hazard must reproduce."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def kaplan_meier(corpus, days=(7, 30, 90, 365), ci_prob: float = 0.90, mask=None) -> pd.DataFrame:
    """P(no declared collapse on days 0..t-1) for each t in ``days``, over the truces at risk
    (censored ones leave the risk set after their last day), with Greenwood's variance on the
    log-log scale for the ``ci_prob`` band. ``mask`` (bool per truce at risk) picks a subset."""
    at_risk = corpus.at_risk if mask is None else corpus.at_risk[np.asarray(mask, dtype=bool)]
    n_days = at_risk["days_at_risk"].to_numpy(dtype=np.int64)
    collapsed = at_risk["collapsed"].to_numpy(dtype=bool)
    horizon = int(max(days))
    exits = np.bincount(np.minimum(n_days, horizon + 1), minlength=horizon + 2)
    events = np.bincount(n_days[collapsed] - 1, minlength=horizon + 2)[:horizon + 2]
    risk = len(n_days) - np.concatenate([[0], np.cumsum(exits)[:-1]])  # at risk on day d: days_at_risk > d
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
