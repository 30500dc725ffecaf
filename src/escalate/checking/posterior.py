"""Posterior quantities for reports and notebooks: fitted intensities, observed daily counts,
effective branching at a covariate state."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from escalate.forecasting.kernels import daily_history, same_day_share
from escalate.forecasting.run import segment_rates
from escalate.model.parameters import (
    posterior_parameters,
    spectral_radius,
    state_rates,
    thinned_indices,
)


def draw_indices(fit, draws: int) -> np.ndarray:
    """At most ``draws`` evenly spaced indices into the fit's flattened posterior draws."""
    post = fit.tree["posterior"]
    return thinned_indices(post.sizes["chain"] * post.sizes["draw"], draws)


def fitted_daily_rate(fit, truce: str, draws: int = 200) -> xr.DataArray:
    """Expected events per day of each stream on each day of ``truce``, per posterior draw.

    Day resolution: the daily model's Lam[k, d] given the observed days before (with the
    cascade daily likelihood, the roots' Lam times (I - M)^-1: same-day offspring included).
    Exact times: the intensity averaged over the day (four points per day), events/day. Dims
    ``(sample, day, stream)``.
    """
    data = fit.data
    j = data.truce_ids.index(truce)
    p = posterior_parameters(fit, draw_indices(fit, draws))
    if data.resolution == "day":
        out, M = daily_roots(fit, j, p)
        if M is not None:  # the cascade: a day's mean is its roots' mean times (I - M)^-1
            eye = np.eye(M.shape[-1])
            out = np.linalg.solve(np.swapaxes(eye - M, -1, -2), out[..., None])[..., 0]
    else:
        mu, alpha = segment_rates(fit, p, j)
        seg = data.segments
        lo = seg.offsets[j]
        w = p["decay"]
        n_days = int(np.ceil(data.durations[j]))
        ev = data.event_arrays()
        mine = slice(ev["truce_offsets"][j], ev["truce_offsets"][j + 1])
        times, kinds, segs = ev["times"][mine], ev["streams"][mine], ev["segment"][mine] - lo
        grid = (np.arange(n_days * 4) + 0.5) / 4.0
        grid = grid[grid < data.durations[j]]
        g_seg = np.searchsorted(seg.start[lo:seg.offsets[j + 1]], grid, side="right") - 1
        state = np.zeros((len(w), len(data.streams)))
        t_prev, m = 0.0, 0
        values = np.empty((len(w), len(grid), len(data.streams)))
        for g, t in enumerate(grid):
            while m < len(times) and times[m] < t:
                state = state * np.exp(-w * (times[m] - t_prev))[:, None] + alpha[:, segs[m], kinds[m]]
                t_prev = times[m]
                m += 1
            values[:, g] = mu[:, g_seg[g]] + w[:, None] * state * np.exp(-w * (t - t_prev))[:, None]
        day_of = np.floor(grid).astype(int)
        out = np.stack([values[:, day_of == d].mean(axis=1) for d in range(n_days)], axis=1)
    return xr.DataArray(out, dims=("sample", "day", "stream"),
                        coords={"day": np.arange(out.shape[1]), "stream": list(data.streams)},
                        attrs={"units": "events/day", "truce": truce})


def daily_roots(fit, j: int, p: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """Day resolution, per parameter draw of ``p``: each day's expected roots ``Lam[draw, day,
    k]`` of truce ``j`` given its observed days before (the likelihood's recursion, missing days
    plugged in), and with the cascade daily likelihood the means ``M[draw, day, i, k] =
    alpha_{i,k}(day) s`` of an event's same-day children (None without it)."""
    data = fit.data
    mu, alpha = segment_rates(fit, p, j)
    lo = data.segments.offsets[j]
    days = data.daily_arrays()
    mine = slice(days["day_offsets"][j], days["day_offsets"][j + 1])
    seg_of_day = days["segment"][mine] - lo
    roots, _ = daily_history(days["counts"][mine], seg_of_day, mu, alpha, p["decay"])
    share = same_day_share(fit.spec, p["decay"])
    if not share.any():
        return roots, None
    return roots, alpha[:, seg_of_day] * share[:, None, None, None]


def observed_daily_counts(data, truce: str) -> pd.DataFrame:
    """Observed events per day and stream of one truce (rows: day, columns: streams)."""
    j = data.truce_ids.index(truce)
    if data.resolution == "day":
        days = data.daily_arrays()
        y = days["counts"][days["day_offsets"][j]:days["day_offsets"][j + 1]]
        return pd.DataFrame(y, columns=list(data.streams))
    ev = data.events[data.events["truce_id"] == truce]
    n_days = int(np.ceil(data.durations[j]))
    table = pd.crosstab(np.floor(ev["time"]).astype(int), ev["stream"])
    return table.reindex(index=range(n_days), columns=list(data.streams), fill_value=0)


def effective_branching_at_last_state(fit, truce: str | None = None, draws: int = 1000) -> xr.DataArray:
    """B(v, p)[sample, source, target] at the last observed covariate state of a truce."""
    data = fit.data
    j = data.truce_ids.index(truce) if truce else len(data.truce_ids) - 1
    p = posterior_parameters(fit, draw_indices(fit, draws))
    seg = data.segments
    last = seg.offsets[j + 1] - 1
    columns = [data.extra_names.index(c) for c in fit.spec.baseline_covariates]
    _, alpha = state_rates(p, j, seg.verification[last], seg.tier[last], seg.extra[last, columns])
    return xr.DataArray(alpha, dims=("sample", "source", "target"),
                        coords={"source": list(data.streams), "target": list(data.streams)},
                        attrs={"state": f"v={seg.verification[last]:g}, tiers={seg.tier[last].tolist()}",
                               "spectral_radius_p_ge_1": float((spectral_radius(alpha) >= 1).mean())})


def truth_table(fit, truth: dict, ci_prob: float = 0.94) -> pd.DataFrame:
    """Each known true value against its posterior: mean, equal-tailed ``ci_prob`` interval and
    whether the interval covers it (for simulated data, e.g. :data:`escalate.datasets.SYNTHETIC_TRUTH`).

    Rows ``parameter`` (``name[i, k]`` for arrays, positions in the posterior's dims order);
    parameters the posterior does not have are left out.
    """
    draws = fit.posterior_draws()
    lo_q, hi_q = (1 - ci_prob) / 2, (1 + ci_prob) / 2
    rows = []
    for name, value in truth.items():
        if name not in draws:
            continue
        value = np.asarray(value, dtype=float)
        samples = draws[name].reshape(len(draws[name]), -1)
        for i, idx in enumerate(np.ndindex(value.shape) if value.shape else [()]):
            label = name + (f"[{', '.join(map(str, idx))}]" if idx else "")
            lo, hi = np.quantile(samples[:, i], [lo_q, hi_q])
            rows.append({"parameter": label, "truth": float(value[idx]), "mean": float(samples[:, i].mean()),
                         "lower": float(lo), "upper": float(hi), "inside": bool(lo <= value[idx] <= hi)})
    frame = pd.DataFrame(rows)
    frame.attrs["interval"] = f"{ci_prob:.0%} equal-tailed"
    return frame
