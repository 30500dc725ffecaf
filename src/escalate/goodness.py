"""Goodness of fit by time rescaling (exact-time data).

Under the model, the compensator increments Lambda_k(t_{l+1}) - Lambda_k(t_l) between
consecutive events of stream k (and from the truce start to the first event) are iid Exp(1)
(the time-rescaling theorem; Brown et al. 2002). A KS test of these gaps is a goodness-of-fit test.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from escalate.data import TruceData
from escalate.kernels.exact import compensator_at_events
from escalate.likelihood import kernel_data, n_tiers_for
from escalate.params import KERNEL_ORDER, normalize_params


def rescaled_gaps(data: TruceData, params: Mapping) -> dict[str, np.ndarray]:
    """Compensator increments between consecutive events of each stream, pooled over truces."""
    K, J, C = len(data.streams), len(data.truce_ids), len(data.extra_names)
    p = normalize_params(params, K, J, n_tiers_for(data, params), C)
    comp = compensator_at_events(*kernel_data(data), *(p[n] if p[n].ndim else float(p[n]) for n in KERNEL_ORDER))
    ev = data.event_arrays()
    gaps: dict[str, list] = {s: [] for s in data.streams}
    for j in range(J):
        lo, hi = ev["truce_offsets"][j], ev["truce_offsets"][j + 1]
        for k, stream in enumerate(data.streams):
            mine = np.flatnonzero(ev["streams"][lo:hi] == k) + lo
            gaps[stream].append(np.diff(np.concatenate([[0.0], comp[mine, k]])))
    return {s: np.concatenate(g) if g else np.empty(0) for s, g in gaps.items()}


def time_rescaling_test(data: TruceData, params: Mapping) -> pd.DataFrame:
    """KS test of the rescaled gaps against Exp(1), one row per stream.

    Returns a DataFrame with columns ``stream``, ``n``, ``ks_statistic``, ``p_value``.
    """
    rows = []
    for stream, g in rescaled_gaps(data, params).items():
        if len(g) == 0:
            rows.append({"stream": stream, "n": 0, "ks_statistic": np.nan, "p_value": np.nan})
            continue
        res = stats.kstest(g, "expon")
        rows.append({"stream": stream, "n": len(g), "ks_statistic": float(res.statistic),
                     "p_value": float(res.pvalue)})
    return pd.DataFrame(rows)
