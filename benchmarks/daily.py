"""Benchmark: daily logp + gradient per call (D = 1,000 days, K = 2), and the real example's fit.

Run: .venv/bin/python benchmarks/daily.py [--no-fit]

Prints the kernel time per logp+gradient call for Poisson and negative binomial observations
under both daily likelihoods (the cascade's as a ratio to MODEL.md 3b's), an O(D^2 K^2) numpy
reference and the ratio;
then the Israel-Hezbollah example fitted with its spec (4 chains x 1000 draws) with the wall
time, the diagnostics verdict and ESS per second of the slowest parameter.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import escalate
from escalate.model.kernels import NEGATIVE_BINOMIAL, POISSON, daily_loglik_grad
from escalate.model.likelihood import daily_kernel_data
from escalate.model.parameters import kernel_order, normalize_params

sys.path.insert(0, str(Path(__file__).resolve().parent))
from likelihood import per_call  # noqa: E402  (same timing helper as the exact benchmark)

PARAMS = {"mu_log": np.log([3.0, 1.0]), "branching": np.array([[0.3, 0.2], [0.25, 0.2]]), "decay": 0.8,
          "excite_verification_cross": -0.5, "excite_tier": [0.2], "mu_tier": [-0.1], "mu_verification": -0.3}


def make_data(days: int = 1000, seed: int = 0) -> escalate.TruceData:
    rng = np.random.default_rng(seed)
    counts = pd.DataFrame({"date": np.arange(days, dtype=float), "a": rng.poisson(6, days), "b": rng.poisson(2, days)})
    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [float(days)]})
    covs = pd.DataFrame({"truce_id": ["t"] * 3, "start": [0.0, 300.0, 700.0], "verification": [0.2, 0.6, 0.9],
                         "penalty_tier": [0, 1, 1]})
    return escalate.TruceData.from_daily_counts(counts, truces, covs)


def reference_logp(data, p) -> float:
    """O(D^2 K^2) numpy: every day's rate summed over all earlier days (Poisson, logp only)."""
    from scipy.special import gammaln

    arrays = data.daily_arrays()
    y, s = arrays["counts"], arrays["segment"]
    seg = data.segments
    w = float(p["decay"])
    mt, et = np.concatenate([[0], p["mu_tier"]]), np.concatenate([[0], p["excite_tier"]])
    mu = np.exp(p["mu_log"][None, :] + p["mu_verification"] * seg.verification[s][:, None] + mt[seg.tier[s]])
    total = 0.0
    for d in range(len(y)):
        lag = d - np.arange(d)
        kappa = (1 - np.exp(-w)) ** 2 * np.exp(-w * (lag - 1)) / w
        for k in range(2):
            lam = mu[d, k]
            for i in range(2):
                e = p["excite_verification_self"] if i == k else p["excite_verification_cross"]
                alpha = p["branching"][i, k] * np.exp(e * seg.verification[s[:d]] + et[seg.tier[s[:d], k]])
                lam += np.sum(alpha * y[:d, i] * kappa)
            total += y[d, k] * np.log(lam) - lam - gammaln(y[d, k] + 1)
    return total


def bench_kernel() -> None:
    data = make_data()
    p = normalize_params(PARAMS, 2, 1, 2, 0)
    args = (*daily_kernel_data(data), *(p[k] if p[k].ndim else float(p[k]) for k in kernel_order()))
    dispersion = np.array([2.0, 2.0])
    times = {}
    for likelihood, cascade in (("no_same_day", 0), ("cascade", 1)):
        for name, code in (("poisson", POISSON), ("negative_binomial", NEGATIVE_BINOMIAL)):
            t = times[likelihood, name] = per_call(lambda: daily_loglik_grad(*args, code, dispersion, cascade))
            ratio = "" if cascade == 0 else f" ({t / times['no_same_day', name]:.2f}x no_same_day)"
            print(f"D=1,000 days, K=2, {likelihood:>11}, {name:>17}: kernel logp+grad {t * 1e6:7.1f} us{ratio}")
    assert np.isclose(reference_logp(data, p), daily_loglik_grad(*args, POISSON, dispersion, 0)[0], rtol=1e-9)
    ref = per_call(lambda: reference_logp(data, p), min_time=2.0)
    print(f"O(D^2 K^2) numpy reference, no_same_day Poisson logp only: {ref * 1e6:,.0f} us "
          f"(ratio reference / kernel = {ref / times['no_same_day', 'poisson']:,.0f}x)")


def bench_fit() -> None:
    from escalate.datasets import israel_hezbollah

    data = israel_hezbollah()
    spec = escalate.ModelSpec.from_toml(Path(__file__).resolve().parents[1] / "models" / "israel-hezbollah.toml")
    import arviz as az

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = escalate.fit(data, spec, seed=20261126)
    elapsed = time.perf_counter() - start
    ess = az.ess(result.tree, var_names=result.parameter_names, method="bulk").to_dataset()
    worst = min((float(ess[v].min()), v) for v in ess.data_vars)
    d = result.diagnostics
    print(f"Israel-Hezbollah example: {int(data.stream_totals().sum())} events over "
          f"{int(data.durations.sum())} truce days, {spec.observation}, 4 chains x (1000 tune + 1000 draws): "
          f"{elapsed:.1f} s wall (compile included; target < 60 s); slowest parameter {worst[1]} "
          f"bulk ESS {worst[0]:.0f} ({worst[0] / elapsed:.0f} ESS/s); max r_hat {d.max_rhat:.3f}, "
          f"{d.divergences} divergences: {d.verdict}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-fit", action="store_true")
    args = parser.parse_args(argv)
    bench_kernel()
    if not args.no_fit:
        bench_fit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
