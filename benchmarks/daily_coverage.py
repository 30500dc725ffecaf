"""Posterior bias and 94% interval coverage of the branching entries from day-dated data.

Replicates of the synthetic truth (``escalate.datasets.SYNTHETIC_TRUTH``: four 180-day truces,
two streams, verification and tier effects), at decay 0.35 and 0.7, are simulated as exact event
times and fitted three ways: (a) the exact-time likelihood, (b) the daily likelihood without
same-day excitation (``daily_likelihood = "no_same_day"``) and (c) the cascade daily likelihood
(``"cascade"``), both on the daily aggregates. The replicates run as Dask tasks
(``escalate.parallel.run_tasks``). Prints per decay, likelihood and branching entry the mean
posterior mean over the truth, its Monte Carlo standard error and the share of 94%
equal-tailed intervals that cover the truth, and the same for the spectral radius at v = 0,
tier 0 (the raw branching matrix).

Run: .venv/bin/python benchmarks/daily_coverage.py [--replicates 20] [--workers 2] [--draws 500]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

import escalate
from escalate.datasets import SYNTHETIC_STREAMS, SYNTHETIC_TRUTH, synthetic_tables
from escalate.inference.quiet import QUIET_ENV
from escalate.parallel import print_progress, run_tasks

LIKELIHOODS = {"exact times": {"time_resolution": "exact"},
               "daily, no_same_day": {"time_resolution": "day", "daily_likelihood": "no_same_day"},
               "daily, cascade": {"time_resolution": "day", "daily_likelihood": "cascade"}}


def replicate(settings: dict, task) -> list[dict]:
    decay, seed = task
    truth = {**SYNTHETIC_TRUTH, "decay": decay}
    truces, covariates = synthetic_tables()
    data = escalate.simulate(truth, truces, covariates, SYNTHETIC_STREAMS, seed=seed)
    base = escalate.ModelSpec.bundled("truce-hawkes").to_dict()
    rows = []
    true_rho = float(np.abs(np.linalg.eigvals(truth["branching"])).max())
    for name, change in LIKELIHOODS.items():
        spec = escalate.ModelSpec.from_dict({**base, "streams": list(SYNTHETIC_STREAMS), **change})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the verdict is recorded below
            fit = escalate.fit(data, spec, draws=settings["draws"], tune=settings["draws"], chains=2, seed=seed)
        b = fit.tree["posterior"]["branching"].values.reshape(-1, 2, 2)
        rho = np.abs(np.linalg.eigvals(b)).max(axis=1)
        cells = {f"branching[{i},{k}]": (b[:, i, k], truth["branching"][i, k]) for i in range(2) for k in range(2)}
        cells["spectral radius"] = (rho, true_rho)
        for label, (draws, value) in cells.items():
            lo, hi = np.quantile(draws, [0.03, 0.97])
            rows.append({"decay": decay, "seed": seed, "likelihood": name, "parameter": label, "truth": value,
                         "ratio": float(draws.mean() / value), "covered": bool(lo <= value <= hi),
                         "passed": fit.diagnostics.passed})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    args = parser.parse_args()
    os.environ[QUIET_ENV] = "1"
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {args.replicates} replicates "
          f"per decay, 2 chains x {args.draws} draws, {args.workers} Dask workers", flush=True)
    tasks = {f"{d}-{s}": (d, s) for d in (0.35, 0.7) for s in range(1, args.replicates + 1)}
    start = time.perf_counter()
    results, failures = run_tasks(replicate, tasks, shared={"draws": args.draws}, scheduler="local",
                                  workers=args.workers, progress=print_progress)
    if failures:
        raise SystemExit("; ".join(f"{k}: {f.error}" for k, f in failures.items()))
    rows = pd.DataFrame([r for k in tasks for r in results[k]])
    table = rows.groupby(["decay", "likelihood", "parameter"], sort=False).agg(
        mean_ratio=("ratio", "mean"), se=("ratio", lambda x: x.std(ddof=1) / np.sqrt(len(x))),
        coverage=("covered", "mean"), fits_passed=("passed", "mean"))
    print(table.to_string(float_format=lambda x: f"{x:.3f}"))
    print(f"{time.perf_counter() - start:.0f} s wall")


if __name__ == "__main__":
    main()
