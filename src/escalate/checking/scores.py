"""Forecast scores (negatively oriented: lower is better).

Brier and binary log scores and the CRPS come from the maintained ``scoringrules`` package.
The log score of a count from forecast samples is written here: scoringrules' ensemble log
score is a kernel density for continuous outcomes, wrong for counts. We use the smoothed
empirical predictive pmf, p(y) = (#{samples = y} + 1/2) / (N + (M + 1) / 2) over the support
0..M (M = the largest sample or y, plus one), so an outcome no sample reached costs a large but
finite penalty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scoringrules as sr


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


def count_log_score(observed, samples) -> np.ndarray:
    """-log of the smoothed empirical predictive pmf at the observed count (see module doc)."""
    observed = np.atleast_1d(np.asarray(observed, dtype=np.int64))
    samples = np.asarray(samples, dtype=np.int64).reshape(len(observed), -1)
    out = np.empty(len(observed))
    for i, (y, s) in enumerate(zip(observed, samples)):
        support = max(int(s.max(initial=0)), int(y)) + 2
        out[i] = -np.log(((s == y).sum() + 0.5) / (len(s) + 0.5 * support))
    return out


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


def skill(model_scores, rival_scores, *, n_boot: int = 2000, seed: int = 0, ci_prob: float = 0.9) -> dict:
    """Skill score 1 - mean(model) / mean(rival) with a bootstrap interval over the paired cases."""
    model_scores = np.asarray(model_scores, dtype=float)
    rival_scores = np.asarray(rival_scores, dtype=float)
    keep = np.isfinite(model_scores) & np.isfinite(rival_scores)
    model_scores, rival_scores = model_scores[keep], rival_scores[keep]
    if not len(model_scores) or rival_scores.mean() == 0:
        return {"skill": np.nan, "lower": np.nan, "upper": np.nan, "n": int(len(model_scores))}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(model_scores), (n_boot, len(model_scores)))
    boot = 1 - model_scores[idx].mean(axis=1) / np.maximum(rival_scores[idx].mean(axis=1), 1e-300)
    return {"skill": float(1 - model_scores.mean() / rival_scores.mean()),
            "lower": float(np.quantile(boot, (1 - ci_prob) / 2)),
            "upper": float(np.quantile(boot, (1 + ci_prob) / 2)), "n": int(len(model_scores))}
