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

from escalate.checking.posterior import (
    daily_roots,
    draw_indices,
    observed_daily_counts,
    segment_rates,
)
from escalate.data.truce_data import TruceData
from escalate.forecasting.kernels import (
    no_hazard,
    same_day_share,
    simulate_daily_paths,
    simulate_exact_paths,
)
from escalate.model.kernels import compensator_at_events
from escalate.model.likelihood import kernel_data, n_tiers_for
from escalate.model.parameters import (
    kernel_order,
    normalize_params,
    per_stream_dispersion,
    posterior_parameters,
)


def rescaled_gaps(data: TruceData, params: Mapping) -> dict[str, np.ndarray]:
    """Compensator increments between consecutive events of each stream, pooled over truces."""
    K, J, C = len(data.streams), len(data.truce_ids), len(data.extra_names)
    p = normalize_params(params, K, J, n_tiers_for(params, data.n_tiers_observed), C)
    comp = compensator_at_events(*kernel_data(data), *(p[n] if p[n].ndim else float(p[n]) for n in kernel_order()))
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


def qq_data(gaps: np.ndarray) -> pd.DataFrame:
    """Sorted rescaled gaps against Exp(1) quantiles at plotting positions (i - 0.5) / n."""
    gaps = np.sort(np.asarray(gaps, dtype=float))
    n = len(gaps)
    theoretical = -np.log(1 - (np.arange(1, n + 1) - 0.5) / n)
    return pd.DataFrame({"theoretical": theoretical, "observed": gaps})


def randomized_pit(fit, draws: int = 200, seed: int = 0, samples_per_draw: int = 5) -> pd.DataFrame:
    """Randomised PIT residuals of daily counts (day-resolution fits).

    For each truce, day and stream, the one-day-ahead predictive distribution given the
    observed history is the posterior mixture over ``draws`` draws. Without same-day
    excitation its CDF is closed (Poisson(Lam) or NB(Lam, dispersion)) and u = F(y - 1) + V
    (F(y) - F(y - 1)), V ~ U(0, 1) (Czado, Gneiting and Held 2009). With the cascade daily
    likelihood a stream's one-day marginal has no closed form, so ``samples_per_draw`` days
    are drawn from each draw's day law (roots, then their same-day descendants) and u = (L +
    V (E + 1)) / (n + 1), L and E the counts of the n samples below and equal to y: the
    randomised rank, exactly U(0, 1) under the model because y and the samples are then
    exchangeable. Returns ``truce_id``, ``day``, ``stream``, ``count``, ``pit`` for the
    ordinary days (missing days and multi-day reports are left out).
    """
    data = fit.data
    if data.resolution != "day":
        raise ValueError("randomised PIT residuals are for daily counts; use time_rescaling_test for exact times")
    rng = np.random.default_rng(seed)
    idx = draw_indices(fit, draws)
    p = posterior_parameters(fit, idx)
    nb = fit.spec.observation == "negative_binomial"
    phi = per_stream_dispersion(p["dispersion"], len(data.streams)) if nb else None
    rows = []
    for j, truce in enumerate(data.truce_ids):
        y = observed_daily_counts(data, truce).to_numpy()
        keep = ordinary_days(data, j)
        obs = np.where(keep, y, 0.0)
        roots, same_day = daily_roots(fit, j, p)  # (n, D, K), (n, D, K, K) or None
        if same_day is not None:
            sims = cascade_days(roots, same_day, phi, samples_per_draw, rng)  # (n * samples, D, K)
            below = (sims < obs[None]).sum(axis=0)
            equal = (sims == obs[None]).sum(axis=0)
            pit = (below + rng.uniform(size=obs.shape) * (equal + 1)) / (len(sims) + 1)
        else:
            if nb:
                dist = stats.nbinom(phi[:, None, :], phi[:, None, :] / (phi[:, None, :] + roots))
            else:
                dist = stats.poisson(roots)
            upper = dist.cdf(obs[None]).mean(axis=0)
            lower = np.where(obs > 0, dist.cdf(obs[None] - 1).mean(axis=0), 0.0)
            pit = lower + rng.uniform(size=obs.shape) * (upper - lower)
        for k, stream in enumerate(data.streams):
            day = np.flatnonzero(keep[:, k])  # missing days and multi-day reports have no one-day PIT
            rows.append(pd.DataFrame({"truce_id": truce, "day": day, "stream": stream,
                                      "count": y[day, k], "pit": pit[day, k]}))
    return pd.concat(rows, ignore_index=True)


def cascade_days(roots, same_day, dispersion, samples: int, rng, max_daily: float = 1e6) -> np.ndarray:
    """Draws of single days under the within-day cascade, ``samples`` per parameter draw:
    roots Poisson(``roots[n, day, k]``) (negative binomial with ``dispersion[n, k]`` when
    given), then generation by generation each event of stream i begets Poisson(``same_day[n,
    day, i, k]``) same-day children of stream k. A day that passes ``max_daily`` events
    (a supercritical day law) is returned as +inf. Returns ``[n * samples, day, k]``."""
    mean = np.repeat(roots, samples, axis=0)
    M = np.repeat(same_day, samples, axis=0)
    if dispersion is not None:
        phi = np.repeat(dispersion, samples, axis=0)[:, None, :]
        mean = rng.gamma(phi, mean / phi)
    day = rng.poisson(mean).astype(float)
    generation = day.copy()
    while generation.any():
        generation = rng.poisson(np.minimum(np.einsum("ndi,ndik->ndk", generation, M), max_daily)).astype(float)
        day += generation
        blown = day.sum(axis=-1) > max_daily
        if blown.any():
            day[blown] = np.inf
            generation[blown] = 0.0
    return day


def pit_test(pit: pd.DataFrame) -> pd.DataFrame:
    """KS test of the PIT values against U(0, 1), one row per stream."""
    rows = []
    for stream, group in pit.groupby("stream", sort=False):
        res = stats.kstest(group["pit"], "uniform")
        rows.append({"stream": stream, "n": len(group), "ks_statistic": float(res.statistic), "p_value": float(res.pvalue)})
    return pd.DataFrame(rows)


def posterior_predictive_check(fit, draws: int = 100, window_days: int = 7, seed: int = 0) -> pd.DataFrame:
    """Posterior predictive checks of counts per window and of gaps between events.

    Replicates every truce from its start under ``draws`` posterior draws (the fitted model's
    own likelihood: event times, or daily counts) and compares, per stream: the mean, variance
    and maximum of the counts in consecutive ``window_days`` windows, the share of event-free
    days, and the longest run of event-free days (the gap between events). Returns one row per
    statistic and stream with the observed value, the replicated median and 90% interval, and the
    posterior predictive p-value P(replicated >= observed). For exact times only the whole days
    before the end of each truce's window are compared (:func:`replicated_days`). Missing days
    and the days of multi-day reports are left out of both sides (:func:`ordinary_days`): a
    window holding one is not counted, and an event-free run ends there.
    """
    data = fit.data
    idx = draw_indices(fit, draws)
    p = posterior_parameters(fit, idx)
    replicated, observed, ordinary = [], [], []
    for j, truce in enumerate(data.truce_ids):
        n_days = replicated_days(data, j)
        replicated.append(replicate_days(fit, p, j, n_days, seed + 7919 * j)[0])
        observed.append(observed_daily_counts(data, truce).to_numpy(dtype=float)[None, :n_days])
        ordinary.append(ordinary_days(data, j)[:n_days])
    rows = []
    for k, stream in enumerate(data.streams):
        masks = [m[:, k] for m in ordinary]
        obs_stats = _window_stats([o[:, :, k] for o in observed], window_days, masks)
        rep_stats = _window_stats([r[:, :, k] for r in replicated], window_days, masks)
        for name in obs_stats:
            rep = rep_stats[name]
            rows.append({"statistic": name, "stream": stream, "observed": float(obs_stats[name][0]),
                         "replicated_q05": float(np.quantile(rep, 0.05)), "replicated_q50": float(np.median(rep)),
                         "replicated_q95": float(np.quantile(rep, 0.95)),
                         "p_value": float((rep >= obs_stats[name][0]).mean())})
    return pd.DataFrame(rows)


def replicated_days(data, j: int) -> int:
    """Whole days of truce ``j`` a replicate covers: every day of daily data; for exact times the
    whole days before T (a partial last day would be compared with a full simulated one)."""
    duration = float(data.durations[j])
    return int(np.ceil(duration)) if data.resolution == "day" else max(int(np.floor(duration)), 1)


def replicate_days(fit, p: dict, j: int, n_days: int, seed: int, max_daily: float = 1e6,
                   max_events: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """Daily counts ``[draw, day, stream]`` of truce ``j`` replicated from its start (no history)
    under the parameter draws ``p`` with the fit's own observation model (event times, or daily
    Poisson / negative binomial counts), and whether each draw's path exploded (a day above
    ``max_daily`` events, or ``max_events`` events for exact times)."""
    data = fit.data
    n, K = len(p["decay"]), len(data.streams)
    none = (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((0, K), dtype=np.bool_))
    mu, alpha = segment_rates(fit, p, j)
    seg = data.segments
    seg_start = seg.start[seg.offsets[j]:seg.offsets[j + 1]].copy()
    checkpoints = np.arange(1, n_days + 1, dtype=np.int64)
    common = (np.ascontiguousarray(mu), np.ascontiguousarray(alpha), seg_start, p["decay"], np.zeros((n, K)))
    tail = np.zeros((1, K))
    never = np.full(n, n_days + 1, dtype=np.int64)
    if data.resolution == "day":
        phi = (per_stream_dispersion(p["dispersion"], K) if fit.spec.observation == "negative_binomial"
               else np.zeros((n, K)))
        out = simulate_daily_paths(*common, phi, n_days, 1, seed, tail, *none, never, max_daily, checkpoints,
                                   *no_hazard(n, n_days), same_day_share(fit.spec, p["decay"]))
    else:
        out = simulate_exact_paths(*common, n_days, 1, seed, tail, *none, never, max_events, checkpoints)
    cumulative = out[2][:, 0]  # (n, D, K)
    counts = np.diff(np.concatenate([np.zeros((n, 1, K)), cumulative], axis=1), axis=1)
    return counts, np.asarray(out[3]) > 0


def ordinary_days(data, j: int) -> np.ndarray:
    """``[day, stream]`` True where truce ``j``'s daily count is an ordinary one-day observation
    (not missing, not part of a multi-day report); all True for exact times."""
    if data.resolution != "day":
        return np.ones((replicated_days(data, j), len(data.streams)), dtype=bool)
    days = data.daily_arrays()
    mine = slice(days["day_offsets"][j], days["day_offsets"][j + 1])
    return ~np.isnan(days["counts"][mine]) & (days["span"][mine] == 1)


def _window_stats(series: list[np.ndarray], window: int, masks=None) -> dict[str, np.ndarray]:
    """Statistics of daily series (each (n, D)), pooled over truces, per replicate, over the
    days each ``masks[i]`` (D,) keeps (default all)."""
    windows, zeros, runs = [], [], []
    for i, s in enumerate(series):
        keep = np.ones(s.shape[1], dtype=bool) if masks is None else masks[i]
        full = (s.shape[1] // window) * window
        if full:
            whole = keep[:full].reshape(-1, window).all(axis=1)
            windows.append(s[:, :full].reshape(len(s), -1, window)[:, whole].sum(axis=2))
        zeros.append(s[:, keep] == 0)
        runs.append(_longest_zero_run(np.where(keep, s, 1.0)))  # a left-out day ends a run
    w = np.concatenate(windows, axis=1) if windows else np.zeros((len(series[0]), 1))
    return {f"mean of {window}-day counts": w.mean(axis=1), f"variance of {window}-day counts": w.var(axis=1),
            f"max of {window}-day counts": w.max(axis=1),
            "share of event-free days": np.concatenate(zeros, axis=1).mean(axis=1),
            "longest event-free run (days)": np.max(np.stack(runs), axis=0)}


def _longest_zero_run(s: np.ndarray) -> np.ndarray:
    out = np.zeros(len(s))
    for i, row in enumerate(s):
        best = run = 0
        for value in row:
            run = run + 1 if value == 0 else 0
            best = max(best, run)
        out[i] = best
    return out
