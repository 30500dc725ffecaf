"""Same-day bias of the daily likelihoods, by maximum likelihood on long simulated series.

Exact event times are simulated from a two-stream Hawkes process (branching [[0.35, 0.2],
[0.15, 0.3]], baselines 0.3 and 0.2 a day) over one long truce, aggregated to days, and fitted
three ways by maximum likelihood with the kernels' own gradients: the exact-time likelihood
(MODEL.md 3a), the daily likelihood without same-day excitation ("no_same_day", MODEL.md 3b) and
the cascade daily likelihood ("cascade", docs/model.md). Long series make the estimates' noise
small, so what is left is each likelihood's bias. Prints, per decay and likelihood, every
branching entry over its truth and the decay.

Run: .venv/bin/python benchmarks/daily_bias.py [--days 40000] [--seeds 1,2,3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from scipy.optimize import minimize

import escalate

BRANCHING = np.array([[0.35, 0.2], [0.15, 0.3]])
MU = np.array([0.3, 0.2])


def unpack(theta):
    return {"mu_log": theta[:2], "branching": np.exp(theta[2:6]).reshape(2, 2), "decay": float(np.exp(theta[6]))}


def fit_mle(data, start, **kw):
    """Maximum likelihood on log scales (baselines, branching, decay) with the kernel's gradient."""

    def objective(theta):
        p = unpack(theta)
        logp, g = escalate.log_likelihood(data, p, gradient=True, **kw)
        grad = np.concatenate([g["mu_log"], (g["branching"] * p["branching"]).ravel(), [g["decay"] * p["decay"]]])
        return -logp, -grad

    result = minimize(objective, start, jac=True, method="L-BFGS-B")
    return unpack(result.x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=40_000)
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; one truce of {args.days} days")
    truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [float(args.days)]})
    covariates = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    spec_rows = []
    for decay in (0.35, 0.7):
        for seed in (int(s) for s in args.seeds.split(",")):
            truth = {"mu_log": np.log(MU), "branching": BRANCHING, "decay": decay}
            exact = escalate.simulate(truth, truces, covariates, ["x", "y"], seed=seed)
            daily = exact.to_daily()
            start = np.r_[np.log(MU), np.log(BRANCHING.ravel()), np.log(decay)]
            for name, data, kw in (("exact times", exact, {}), ("daily, no_same_day", daily, {}),
                                   ("daily, cascade", daily, {"daily_likelihood": "cascade"})):
                t0 = time.perf_counter()
                p = fit_mle(data, start, **kw)
                spec_rows.append({"decay": decay, "seed": seed, "likelihood": name, "events": len(exact.events),
                                  **{f"b{i}{k}": p["branching"][i, k] / BRANCHING[i, k] for i in range(2) for k in range(2)},
                                  "decay_ratio": p["decay"] / decay, "seconds": time.perf_counter() - t0})
    table = pd.DataFrame(spec_rows)
    summary = table.groupby(["decay", "likelihood"], sort=False)[["b00", "b01", "b10", "b11", "decay_ratio"]].mean()
    print("estimate / truth, mean over seeds:")
    print(summary.to_string(float_format=lambda x: f"{x:.3f}"))
    print(f"events per series: {int(table['events'].mean())}; seconds per fit: {table['seconds'].mean():.2f}")


if __name__ == "__main__":
    main()
