"""Compiled path simulators for forecasts, with collapse detection inside the loop.

Each posterior draw gets ``paths`` simulated futures of ``H`` days from the cutoff, parallel
over draws (``prange``), seeded per draw (``seed + draw``) so results do not depend on the
thread schedule and scenarios share random numbers draw by draw. Per path only the collapse
day and the stream totals are kept; daily counts are averaged over paths on the fly, so
memory is O(draws x (paths + H) x K).

Future covariates are G piecewise-constant segments starting at ``seg_start`` (days after the
cutoff, ``seg_start[0] = 0``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

JIT = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(**JIT)
def _segment_of(t, seg_start):
    g = 0
    while g + 1 < seg_start.shape[0] and t >= seg_start[g + 1]:
        g += 1
    return g


@njit(**JIT)
def collapse_day(counts, hist_tail, thresholds, windows, masks, structural_day):
    """First horizon day (1-based) on which a rule fires; ``H + 1`` when none does.

    Count rule r fires on day h when the events of its streams (``masks[r]``) over the
    trailing ``windows[r]`` days, reaching back into ``hist_tail`` (the last observed days,
    oldest first), reach ``thresholds[r]``. ``structural_day`` is precomputed per draw.
    """
    H, K = counts.shape
    tail_len = hist_tail.shape[0]
    best = structural_day
    for r in range(thresholds.shape[0]):
        W = windows[r]
        total = 0.0
        # seed the window with the history days it reaches back to before day 1
        for back in range(min(W - 1, tail_len)):
            for k in range(K):
                if masks[r, k]:
                    total += hist_tail[tail_len - 1 - back, k]
        for h in range(H):
            if h + 1 >= best:
                break
            for k in range(K):
                if masks[r, k]:
                    total += counts[h, k]
            if total >= thresholds[r]:
                best = h + 1
                break
            # drop the day leaving the window: future day h - W + 1, or a history day
            out = h - W + 1
            for k in range(K):
                if masks[r, k]:
                    if out >= 0:
                        total -= counts[out, k]
                    elif tail_len + out >= 0:
                        total -= hist_tail[tail_len + out, k]
    return best


@njit(inline="always", **JIT)  # on the hot path: inlined, so no call per event
def _spawn(t0, mean, k, scale, H, times, kinds, n, max_events):
    """Append Poisson(mean) children in stream k of a parent at t0, delays Exponential(1/scale),
    kept inside the horizon. Returns the new event count and whether the cap was hit."""
    for _ in range(np.random.poisson(mean)):
        t = t0 + np.random.exponential(scale)
        if t < H:
            if n == max_events:
                return n, True
            times[n] = t
            kinds[n] = k
            n += 1
    return n, False


@njit(**JIT)
def _outputs(D, H, K, paths, n_checkpoints):
    """Result arrays of a path simulator: collapse days, mean daily counts, cumulative counts at
    the checkpoints, exploded-path counts."""
    return (np.empty((D, paths), dtype=np.int32), np.zeros((D, H, K)),
            np.zeros((D, paths, n_checkpoints, K), dtype=np.int64), np.zeros(D, dtype=np.int64))


@njit(**JIT)
def _finish_path(counts, blown, p, collapse, mean_counts, cumulative, hist_tail, thresholds, windows, masks,
                 structural_day, checkpoints, paths):
    """Record one simulated path: its collapse day (an exploded path collapses by day H at the
    latest), its share of the draw's mean daily counts and its cumulative counts at the
    checkpoints. Returns 1 for an exploded path, else 0."""
    H, K = counts.shape
    day = collapse_day(counts, hist_tail, thresholds, windows, masks, structural_day)
    collapse[p] = min(day, H) if blown else day
    running = np.zeros(K)
    weight = 1.0 / paths
    c = 0
    for h in range(H):
        for k in range(K):
            mean_counts[h, k] += counts[h, k] * weight
            running[k] += counts[h, k]
        while c < checkpoints.shape[0] and checkpoints[c] == h + 1:
            for k in range(K):
                cumulative[p, c, k] = int(running[k])
            c += 1
    return 1 if blown else 0


@njit(parallel=True, **JIT)
def simulate_exact_paths(mu, alpha, seg_start, decay, residual, H, paths, seed, hist_tail,
                         thresholds, windows, masks, structural_day, max_events, checkpoints):
    """Exact-time futures by the branching structure, conditioned on the history.

    ``mu[d, g, k]`` baseline rates (events/day) and ``alpha[d, g, i, k]`` branching ratios per
    draw and future segment; ``residual[d, k]`` is the excitation the history leaves at the
    cutoff, sum_m alpha_{k_m,k}(t_m) exp(-decay (T - t_m)): by memorylessness the history's
    future children in stream k are Poisson(residual[k]) at cutoff + Exponential(decay).

    Returns ``collapse_day[d, path]``, ``mean_counts[d, day, k]``, ``cumulative[d, path, c, k]``
    (events by each checkpoint day) and ``exploded[d]`` (paths stopped at ``max_events``; their
    counts are a lower bound and they count as collapsed by day H at the latest).
    """
    D, G, K = mu.shape
    collapse, mean_counts, cumulative, exploded = _outputs(D, H, K, paths, checkpoints.shape[0])
    for d in prange(D):
        np.random.seed(seed + d)
        times = np.empty(max_events)
        kinds = np.empty(max_events, dtype=np.int64)
        counts = np.zeros((H, K))
        scale = 1.0 / decay[d]
        for p in range(paths):
            n = 0
            blown = False
            for g in range(G):  # immigrants
                lo = seg_start[g]
                hi = seg_start[g + 1] if g + 1 < G else float(H)
                if hi <= lo:
                    continue
                for k in range(K):
                    m = np.random.poisson(mu[d, g, k] * (hi - lo))
                    for _ in range(m):
                        if n == max_events:
                            blown = True
                            break
                        times[n] = lo + (hi - lo) * np.random.random()
                        kinds[n] = k
                        n += 1
            for k in range(K):  # the history's children: as from a parent at the cutoff
                if not blown:
                    n, blown = _spawn(0.0, residual[d, k], k, scale, H, times, kinds, n, max_events)
            q = 0
            while q < n and not blown:  # every event's children, generation after generation
                t0 = times[q]
                i = kinds[q]
                g = _segment_of(t0, seg_start)
                for k in range(K):
                    if not blown:
                        n, blown = _spawn(t0, alpha[d, g, i, k], k, scale, H, times, kinds, n, max_events)
                q += 1
            counts[:, :] = 0.0
            for e in range(n):
                counts[int(times[e]), kinds[e]] += 1.0
            exploded[d] += _finish_path(counts, blown, p, collapse[d], mean_counts[d], cumulative[d], hist_tail,
                                        thresholds, windows, masks, structural_day[d], checkpoints, paths)
    return collapse, mean_counts, cumulative, exploded


def same_day_share(spec, decay) -> np.ndarray:
    """Per draw, the share ``1 - (1 - exp(-omega)) / omega`` of an event's offspring that fall on
    its own day, for a spec with the cascade daily likelihood (zeros otherwise): the
    simulators then add each day's same-day descendants, as that likelihood does."""
    decay = np.asarray(decay, dtype=float)
    if not spec.same_day_cascade:
        return np.zeros(len(decay))
    return 1.0 - (-np.expm1(-decay)) / decay


def no_hazard(n_draws: int, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hazard arguments of :func:`simulate_daily_paths` for a model without a hazard."""
    return np.full((n_draws, horizon), -np.inf), np.zeros(n_draws), np.zeros(0)


@njit(parallel=True, **JIT)
def simulate_daily_paths(mu, alpha, seg_start, decay, state, dispersion, H, paths, seed, hist_tail,
                         thresholds, windows, masks, structural_day, max_daily, checkpoints,
                         hazard_eta, hazard_feedback, feedback_tail, same_day):
    """Daily-count futures of the daily model (MODEL.md 3b), conditioned on the history.

    ``state[d, k]`` is the excitation state H_k at the first forecast day (the recursion of
    :mod:`escalate.model.kernels` run over the observed days). ``dispersion[d, k] > 0`` draws
    stream k's counts negative binomial (gamma-Poisson), otherwise Poisson. ``same_day[d] > 0``
    is the share s of an event's offspring on its own day in the cascade daily likelihood: the
    day's counts are then its roots plus their same-day descendants, generation by generation,
    each event begetting Poisson(alpha_{i,k} s) same-day children of stream k. A day above
    ``max_daily`` events stops the path as exploded (counted as collapsed by day H at the latest).

    The declared-collapse hazard (MODEL.md 6) along each path: ``hazard_eta[d, h]`` is its
    log-log rate on future day h without the feedback term (``-inf``: no hazard),
    ``hazard_feedback[d]`` its feedback effect, ``feedback_tail`` the observed events (all
    streams) of the last W days before the cutoff, W = its length. Returns also
    ``declared[d, h]`` = mean over paths of P(declared collapse by day h + 1 | path) and
    ``either[d, h]`` = mean over paths of P(declared collapse or the violence rules by day h + 1),
    and their means of squares over paths (``declared_sq``, ``either_sq``), from which the
    Monte Carlo variance of each draw's average follows (:mod:`escalate.forecasting.uncertainty`).
    """
    D, G, K = mu.shape
    collapse, mean_counts, cumulative, exploded = _outputs(D, H, K, paths, checkpoints.shape[0])
    declared = np.zeros((D, H))
    either = np.zeros((D, H))
    declared_sq = np.zeros((D, H))
    either_sq = np.zeros((D, H))
    W = feedback_tail.shape[0]
    for d in prange(D):
        np.random.seed(seed + d)
        omega = decay[d]
        r = math.exp(-omega)
        c = (1.0 - r) * (1.0 - r) / omega
        counts = np.zeros((H, K))
        Hs = np.empty(K)
        day_segment = np.empty(H, dtype=np.int64)
        for h in range(H):
            day_segment[h] = _segment_of(float(h), seg_start)
        for p in range(paths):
            for k in range(K):
                Hs[k] = state[d, k]
            counts[:, :] = 0.0
            blown = False
            for h in range(H):
                g = day_segment[h]
                for k in range(K):
                    lam = mu[d, g, k] + c * Hs[k]
                    phi = dispersion[d, k]
                    if phi > 0:
                        lam = np.random.gamma(phi, lam / phi)
                    if lam > max_daily:
                        blown = True
                        break
                    counts[h, k] = np.random.poisson(lam)
                if not blown and same_day[d] > 0:
                    blown = _same_day_cascade(counts[h], alpha[d, g], same_day[d], max_daily)
                if blown:
                    break
                for k in range(K):
                    A = 0.0
                    for i in range(K):
                        A += alpha[d, g, i, k] * counts[h, i]
                    Hs[k] = r * Hs[k] + A
            exploded[d] += _finish_path(counts, blown, p, collapse[d], mean_counts[d], cumulative[d], hist_tail,
                                        thresholds, windows, masks, structural_day[d], checkpoints, paths)
            _declared_along_path(counts, hazard_eta[d], hazard_feedback[d], feedback_tail, W, collapse[d, p],
                                 declared[d], either[d], declared_sq[d], either_sq[d], paths)
    return collapse, mean_counts, cumulative, exploded, declared, either, declared_sq, either_sq


@njit(**JIT)
def _same_day_cascade(day_counts, alpha, share, max_daily):
    """Add to one day's root counts their same-day descendants (in place); True when the day
    passes ``max_daily`` events (an explosive draw)."""
    K = day_counts.shape[0]
    generation = day_counts.copy()
    while generation.sum() > 0:
        children = np.zeros(K)
        for k in range(K):
            mean = 0.0
            for i in range(K):
                mean += generation[i] * alpha[i, k] * share
            if mean > max_daily:
                return True
            children[k] = np.random.poisson(mean)
        for k in range(K):
            day_counts[k] += children[k]
        if day_counts.sum() > max_daily:
            return True
        generation = children
    return False


@njit(**JIT)
def _declared_along_path(counts, eta, feedback, tail, W, violence_day, declared, either, declared_sq, either_sq,
                         paths):
    """Add one path's P(declared collapse by day h) and P(declared or violence by day h), and
    their squares, each divided by the number of paths: the
    survival prod (1 - h(d)) = exp(-sum exp(eta_d)), eta_d with the feedback of the path's
    trailing W days (observed tail, then simulated counts)."""
    H, K = counts.shape
    log_survival = 0.0
    for h in range(H):
        trailing = 0.0
        for back in range(1, W + 1):
            day = h - back
            if day >= 0:
                for k in range(K):
                    trailing += counts[day, k]
            else:
                trailing += tail[W + day]
        if eta[h] > -1e300:
            log_survival -= math.exp(eta[h] + feedback * math.log1p(trailing))
        survival = math.exp(log_survival)
        value = 1.0 - survival
        both = 1.0 if violence_day <= h + 1 else value
        declared[h] += value / paths
        either[h] += both / paths
        declared_sq[h] += value * value / paths
        either_sq[h] += both * both / paths


@njit(parallel=True, **JIT)
def exact_residual(times, streams, segment, T, alpha_hist, decay):
    """residual[d, k] = sum_m alpha_hist[d, segment_m, k_m, k] exp(-decay[d] (T - t_m))."""
    D = decay.shape[0]
    K = alpha_hist.shape[2]
    out = np.zeros((D, K))
    for d in prange(D):
        for m in range(times.shape[0]):
            w = math.exp(-decay[d] * (T - times[m]))
            for k in range(K):
                out[d, k] += alpha_hist[d, segment[m], streams[m], k] * w
    return out


@njit(parallel=True, **JIT)
def daily_history(counts, segment, mu_hist, alpha_hist, decay):
    """The daily model (MODEL.md 3b) run over observed days, per draw: the expected counts
    ``rate[d, day, k] = mu_hist[d, s, k] + c H_k(day)`` (``c = (1 - r)^2 / decay``,
    ``r = exp(-decay)``) and the excitation state ``H[d, k]`` after the last day, with
    ``H(day + 1) = r H(day) + sum_i alpha_{i,k}(day) y_i(day)``, where a missing day (NaN)
    excites with its expected count, as in the likelihood. The one place, outside the
    likelihood kernel, where this recursion is written."""
    D = decay.shape[0]
    days, K = counts.shape
    rate = np.zeros((D, days, K))
    state = np.zeros((D, K))
    for d in prange(D):
        r = math.exp(-decay[d])
        c = (1.0 - r) ** 2 / decay[d]
        for day in range(days):
            s = segment[day]
            for k in range(K):
                rate[d, day, k] = mu_hist[d, s, k] + c * state[d, k]
            for k in range(K):
                A = 0.0
                for i in range(K):
                    y = counts[day, i]
                    A += alpha_hist[d, s, i, k] * (rate[d, day, i] if math.isnan(y) else y)
                state[d, k] = r * state[d, k] + A
    return rate, state
