"""The band of a forecast probability: the posterior's spread, with the Monte Carlo noise taken out.

A forecast's probability for one posterior draw s is an average over its ``n`` simulated paths,
``v_s = p_s + e_s``: the draw's true risk ``p_s`` plus Monte Carlo noise ``e_s`` of mean zero
and variance ``w_s`` (known per draw: ``p(1 - p) / (n - 1)`` for a share of paths, the variance
of the per-path values over ``n - 1`` for an average of probabilities, zero for a closed form).
The spread of the ``v_s`` over draws is the posterior's plus the noise's, so their quantiles
make a band too wide: with a point-mass posterior of risk 0.7 and 100 paths, about
[0.63, 0.77] for a true band of width zero.

:func:`posterior_band` removes the noise by moments: the posterior variance of the risk is
estimated as ``B = max(V - W, 0)`` (``V`` the variance of the ``v_s`` over draws, ``W`` the
mean noise variance), and the band is the quantiles of the draws shrunk towards their mean by
``sqrt(B / V)``, ``m + sqrt(B / V) (v_s - m)``: the same mean, the posterior's variance, the
shape of the observed spread. It is exact in the variance and approximate in the shape (the
shrunk draws keep some of the noise's smoothing when the noise dominates), and it cannot
resolve a posterior spread much below the noise's own sampling error,
``sqrt(W) (2 / S)^(1/4)`` for ``S`` draws. ``noise_share`` = ``W / V`` says how much of the raw
spread was noise. The Monte Carlo standard error of the mean, ``sqrt(V / ESS)``, uses the
effective sample size of the ``v_s`` over the posterior's chains (autocorrelated draws count
for less; the path noise is independent between draws, which the ESS of the ``v_s`` accounts
for).
"""

from __future__ import annotations

import arviz as az
import numpy as np


def share_noise(share: np.ndarray, paths: int) -> np.ndarray:
    """Monte Carlo variance of a share of ``paths`` independent paths, per draw: unbiased
    ``p (1 - p) / (n - 1)`` (NaN with one path: the variance cannot be told from one)."""
    share = np.asarray(share, dtype=float)
    if paths < 2:
        return np.full(share.shape, np.nan)
    return share * (1.0 - share) / (paths - 1)


def mean_noise(mean: np.ndarray, mean_sq: np.ndarray, paths: int) -> np.ndarray:
    """Monte Carlo variance of an average of ``paths`` per-path values, per draw, from their
    mean and mean square: the unbiased ``(mean_sq - mean^2) / (n - 1)``."""
    mean = np.asarray(mean, dtype=float)
    if paths < 2:
        return np.full(mean.shape, np.nan)
    return np.clip(np.asarray(mean_sq, dtype=float) - mean * mean, 0.0, None) / (paths - 1)


def effective_draws(values: np.ndarray, chain: np.ndarray) -> np.ndarray:
    """ESS for the mean of ``values[sample, ...]`` whose samples come from the chains in
    ``chain[sample]`` (in draw order within each chain): each chain's run cut to the shortest,
    ArviZ's ESS of the mean; the number of samples where a chain has fewer than 4."""
    values = np.asarray(values, dtype=float)
    runs = [values[chain == c] for c in np.unique(chain)]
    length = min(len(r) for r in runs)
    if length < 4:
        return np.full(values.shape[1:], float(len(values)))
    stacked = np.stack([r[:length] for r in runs])
    ess = np.asarray(az.ess(stacked, method="mean"), dtype=float)
    constant = np.ptp(values, axis=0) == 0
    scale = len(values) / (len(runs) * length)  # the cut draws count at the same rate
    return np.where(constant, float(len(values)), ess * scale)


def posterior_band(values: np.ndarray, noise: np.ndarray | float, ci_prob: float,
                   chain: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Summary over draws (axis 0) of a per-draw probability with Monte Carlo noise of per-draw
    variance ``noise`` (module docstring): ``mean``, the noise-free band ``lo``/``q50``/``hi``
    (``ci_prob`` equal-tailed), ``mcse`` of the mean and ``noise_share``. NaN noise (one path
    per draw) gives a NaN band: the posterior spread cannot be told from the noise."""
    values = np.asarray(values, dtype=float)
    noise = np.broadcast_to(np.asarray(noise, dtype=float), values.shape)
    n = values.shape[0]
    mean = values.mean(axis=0)
    if n < 2:
        nan = np.full(mean.shape, np.nan)
        return {"mean": mean, "lo": nan, "q50": nan, "hi": nan, "mcse": nan, "noise_share": nan}
    total = values.var(axis=0, ddof=1)
    noise_mean = noise.mean(axis=0)
    posterior = np.clip(total - noise_mean, 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(total > 0, np.sqrt(posterior / total), 0.0)
        noise_share = np.where(total > 0, np.clip(noise_mean / total, 0.0, 1.0), 0.0)
    shrunk = mean + factor * (values - mean)
    lo, q50, hi = np.quantile(shrunk, [(1 - ci_prob) / 2, 0.5, (1 + ci_prob) / 2], axis=0)
    unknown = np.isnan(noise_mean)
    ess = effective_draws(values, np.zeros(n, dtype=int) if chain is None else np.asarray(chain))
    mcse = np.sqrt(total / ess)
    return {"mean": mean, "lo": np.where(unknown, np.nan, lo), "q50": np.where(unknown, np.nan, q50),
            "hi": np.where(unknown, np.nan, hi), "mcse": mcse, "noise_share": np.where(unknown, np.nan, noise_share)}


__all__ = ["effective_draws", "mean_noise", "posterior_band", "share_noise"]
