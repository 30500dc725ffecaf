"""Forecast scores (negatively oriented: lower is better).

Brier and binary log scores and the CRPS come from the maintained ``scoringrules`` package.
The log score of a count from forecast samples is written here: scoringrules' ensemble log
score is a kernel density for continuous outcomes, wrong for counts. We use a smoothed
empirical predictive pmf, p(y) = (#{samples = y} + q(y) / 2) / (N + 1/2), with q a geometric
pmf of mean (mean of the samples) + 1: an outcome no sample reached costs a large but finite
penalty, and since p depends on the samples only (not on y, as an earlier support 0..max(y, ...)
did) the score is proper.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scoringrules as sr
from scipy import special


def clip_probability(p, n_paths: int):
    """Probabilities from N simulated paths clipped to [1/(2N), 1 - 1/(2N)] for the log score."""
    eps = 0.5 / max(int(n_paths), 1)
    return np.clip(np.asarray(p, dtype=float), eps, 1 - eps)


def brier(outcome, probability) -> np.ndarray:
    """Brier score (p - y)^2 of binary outcomes."""
    return np.asarray(sr.brier_score(np.asarray(outcome, dtype=float), np.asarray(probability, dtype=float)))


def binary_log_score(outcome, probability) -> np.ndarray:
    """-log p(y) of binary outcomes (clip probabilities first, see :func:`clip_probability`)."""
    return np.asarray(sr.log_score(np.asarray(outcome, dtype=float), np.asarray(probability, dtype=float)))


def crps(observed, samples) -> np.ndarray:
    """CRPS of observed counts against forecast samples (last axis: samples)."""
    return np.asarray(sr.crps_ensemble(np.asarray(observed, dtype=float), np.asarray(samples, dtype=float)))


def count_predictive_pmf(samples, y) -> np.ndarray:
    """The predictive pmf of a count at ``y`` from forecast samples (module doc): the empirical
    pmf mixed with a geometric tail whose mean is the samples' mean + 1, weight 1/2 in N + 1/2.
    It depends on the samples only, so the log score it gives is proper."""
    s = np.asarray(samples, dtype=np.int64).ravel()
    y = np.asarray(y, dtype=np.int64)
    m = float(s.mean()) + 1.0 if len(s) else 1.0
    theta = m / (1.0 + m)
    tail = (1.0 - theta) * theta ** y.astype(float)
    counts = np.bincount(s, minlength=int(y.max(initial=0)) + 1)
    hits = counts[np.minimum(y, len(counts) - 1)] * (y < len(counts))
    return (hits + 0.5 * tail) / (len(s) + 0.5)


def count_log_score(observed, samples) -> np.ndarray:
    """-log of :func:`count_predictive_pmf` at each observed count (samples: one row each)."""
    observed = np.atleast_1d(np.asarray(observed, dtype=np.int64))
    samples = np.asarray(samples, dtype=np.int64).reshape(len(observed), -1)
    return np.array([-np.log(count_predictive_pmf(s, y)) for y, s in zip(observed, samples)], dtype=float)


def covered(observed, samples, prob: float) -> np.ndarray:
    """Whether each observation lies in the central ``prob`` interval of its samples."""
    samples = np.asarray(samples, dtype=float)
    lo = np.quantile(samples, (1 - prob) / 2, axis=-1)
    hi = np.quantile(samples, (1 + prob) / 2, axis=-1)
    observed = np.asarray(observed, dtype=float)
    return (observed >= lo) & (observed <= hi)


def reliability_table(outcome, probability, bins: int = 10) -> pd.DataFrame:
    """Forecast probability bins against observed frequencies (the reliability diagram's data)."""
    probability = np.asarray(probability, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        rows.append({"bin_lower": edges[b], "bin_upper": edges[b + 1], "n": int(mask.sum()),
                     "mean_forecast": float(probability[mask].mean()) if mask.any() else np.nan,
                     "observed_frequency": float(outcome[mask].mean()) if mask.any() else np.nan})
    return pd.DataFrame(rows)


def skill(model_scores, rival_scores, *, n_boot: int = 2000, seed: int = 0, ci_prob: float = 0.9,
          near_zero: float = 1e-3) -> dict:
    """The mean score difference rival - model (positive: the model is better) and the skill
    1 - mean(model) / mean(rival), each with a bootstrap interval over the paired cases. Where
    the rival's mean score is near zero (<= ``near_zero``, in the bootstrap replicate too) the
    ratio says nothing and is NaN: read the difference."""
    model_scores = np.asarray(model_scores, dtype=float)
    rival_scores = np.asarray(rival_scores, dtype=float)
    keep = np.isfinite(model_scores) & np.isfinite(rival_scores)
    model_scores, rival_scores = model_scores[keep], rival_scores[keep]
    n = int(len(model_scores))
    if not n:
        return {"difference": np.nan, "difference_lo": np.nan, "difference_hi": np.nan,
                "skill": np.nan, "lower": np.nan, "upper": np.nan, "n": 0}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, (n_boot, n))
    a, b = model_scores[idx].mean(axis=1), rival_scores[idx].mean(axis=1)
    lo_q, hi_q = (1 - ci_prob) / 2, (1 + ci_prob) / 2
    ratio_ok = b > near_zero
    ratio = np.where(ratio_ok, 1 - a / np.where(ratio_ok, b, 1.0), np.nan)
    usable = rival_scores.mean() > near_zero and ratio_ok.mean() > 0.99
    return {"difference": float(rival_scores.mean() - model_scores.mean()),
            "difference_lo": float(np.quantile(b - a, lo_q)), "difference_hi": float(np.quantile(b - a, hi_q)),
            "skill": float(1 - model_scores.mean() / rival_scores.mean()) if usable else np.nan,
            "lower": float(np.nanquantile(ratio, lo_q)) if usable else np.nan,
            "upper": float(np.nanquantile(ratio, hi_q)) if usable else np.nan, "n": n}


def logit(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def _logistic_fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Maximum-likelihood coefficients of logit P(y = 1) = offset + x @ beta (Newton-Raphson)."""
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        mu = special.expit(offset + x @ beta)
        w = np.maximum(mu * (1 - mu), 1e-12)
        step = np.linalg.solve(x.T @ (w[:, None] * x) + 1e-9 * np.eye(x.shape[1]), x.T @ (y - mu))
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 1e3:
            return np.full(x.shape[1], np.nan)  # separation (e.g. a bootstrap replicate): no estimate
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def calibration(outcome, probability, n_paths: int | None = None) -> dict:
    """Calibration of binary forecasts (Cox 1958): the **slope** b of logit P(y) = a + b logit(p)
    (1 when the forecasts spread as much as the outcomes do; < 1: too extreme) and the
    **intercept** a of logit P(y) = a + logit(p) with the slope fixed at 1 (0 when the forecasts
    are right on average; > 0: too low). Probabilities are clipped away from 0 and 1 first
    (:func:`clip_probability` with ``n_paths``, default 1e-6)."""
    y = np.asarray(outcome, dtype=float)
    p = np.asarray(probability, dtype=float)
    eps = 1e-6 if n_paths is None else 0.5 / n_paths
    x = logit(np.clip(p, eps, 1 - eps))
    if len(y) < 2 or y.min() == y.max() or np.ptp(x) == 0:
        return {"calibration_intercept": np.nan, "calibration_slope": np.nan}
    slope = _logistic_fit(np.column_stack([np.ones_like(x), x]), y, np.zeros_like(x))[1]
    intercept = _logistic_fit(np.ones((len(x), 1)), y, x)[0]
    return {"calibration_intercept": float(intercept), "calibration_slope": float(slope)}


def block_bootstrap(blocks, statistic, *, n_boot: int = 1000, seed: int = 0, ci_prob: float = 0.9) -> dict:
    """A statistic of the cases and its interval from a bootstrap that resamples whole **blocks**
    (e.g. conflicts: their truces, and the overlapping horizons of each truce, are not
    independent) with replacement.

    ``blocks`` labels each case; ``statistic(index)`` returns a float (or a dict of floats) for
    an integer index array of cases. Returns ``{name: value, name_lo: ..., name_hi: ...}``;
    non-finite replicates are dropped from the interval."""
    labels, inverse = np.unique(np.asarray(blocks), return_inverse=True)
    members = [np.flatnonzero(inverse == b) for b in range(len(labels))]
    point = statistic(np.arange(len(inverse)))
    as_dict = isinstance(point, dict)
    point = point if as_dict else {"value": point}
    rng = np.random.default_rng(seed)
    reps = {k: [] for k in point}
    for _ in range(n_boot):
        chosen = rng.integers(0, len(members), len(members))
        index = np.concatenate([members[b] for b in chosen])
        value = statistic(index)
        for k, v in (value if as_dict else {"value": value}).items():
            reps[k].append(v)
    out = {}
    for k, v in point.items():
        r = np.asarray(reps[k], dtype=float)
        r = r[np.isfinite(r)]
        out[k] = float(v)
        out[f"{k}_lo"] = float(np.quantile(r, (1 - ci_prob) / 2)) if len(r) else np.nan
        out[f"{k}_hi"] = float(np.quantile(r, (1 + ci_prob) / 2)) if len(r) else np.nan
    return out if as_dict else {"value": out["value"], "lo": out["value_lo"], "hi": out["value_hi"]}
