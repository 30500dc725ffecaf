"""Simulation-based calibration at scale: 200 replicates (default) for each of three specs, as
tasks on a local Dask cluster (``escalate.parallel.run_tasks``):

- ``exact``: the bundled default (``truce-hawkes``, exact event times) on two 90-day truces;
- ``day``: the real example's spec (``israel-hezbollah``: daily negative binomial, four tiers)
  on the windows and covariates of its two truces (needs ../shared/data or $ESCALATE_DATA;
  skipped with a line saying so when they are absent);
- ``corpus``: the ETH/PRIO hazard spec (``ceasefire-corpus``) on simulated corpora of 300
  truces in 24 groups.

A prior centred on the data (``log_observed_rate``, ``log_early_collapse_rate``) cannot
generate data, so each spec's is replaced by a numeric one, printed. Every other prior is the
spec's. Prints, per spec and parameter, the rank histogram (10 bins) and the chi-square test of
uniformity, the skipped (explosive) replicates and the wall time; ``--markdown FILE`` also
writes the tables for docs/validation.md.

Run: .venv/bin/python benchmarks/sbc.py [--replicates 200] [--workers 2] [--only exact,day,corpus]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

import escalate
from escalate.checking.sbc import sbc, sbc_corpus
from escalate.datasets import israel_hezbollah
from escalate.errors import DataValidationError
from escalate.inference.quiet import QUIET_ENV

BINS = 10
SAMPLER = {"draws": 400, "tune": 400, "chains": 2, "thin": 4}


def with_priors(name: str, **priors) -> escalate.ModelSpec:
    """A bundled spec with some priors replaced."""
    spec = escalate.ModelSpec.bundled(name)
    raw = spec.to_dict()
    raw["priors"] = {**raw["priors"], **priors}
    return escalate.ModelSpec.from_dict(raw, source=f"{name} (benchmarks/sbc.py priors)")


def exact_case():
    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 0.0], "end": [90.0, 90.0]})
    covariates = pd.DataFrame({"truce_id": ["a", "a", "b", "b"], "start": [0.0, 45.0, 0.0, 45.0],
                               "verification": [0.1, 0.6, 0.4, 0.9], "penalty_tier": [0, 1, 2, 0]})
    mu_log = {"dist": "Normal", "mu": float(np.log(0.3)), "sigma": 0.5}
    spec = with_priors("truce-hawkes", mu_log=mu_log)
    spec = escalate.ModelSpec.from_dict({**spec.to_dict(), "streams": ["state", "nonstate"]}, source=spec.source)
    parameters = ("mu_log[0]", "mu_verification", "branching[0, 1]", "branching[1, 1]",
                  "excite_verification_cross", "excite_tier[1]", "decay")
    return spec, mu_log, lambda **kw: sbc(spec, truces, covariates, parameters=parameters, max_events=5000, **kw)


def day_case():
    data = israel_hezbollah()
    truces = pd.DataFrame({"truce_id": data.truce_ids, "start": 0.0, "end": data.truces["duration"].to_numpy()})
    covariates = data.covariates.rename(columns={"time": "start"})
    mu_log = {"dist": "Normal", "mu": float(np.log(0.5)), "sigma": 1.0}
    spec = with_priors("israel-hezbollah", mu_log=mu_log)
    parameters = ("mu_log[0]", "mu_log[1]", "branching[0, 0]", "branching[0, 1]", "decay", "dispersion[0]")
    return spec, mu_log, lambda **kw: sbc(spec, truces, covariates, parameters=parameters, max_events=5000, **kw)


def corpus_case():
    baseline = {"dist": "Normal", "mu": float(np.log(0.002)), "sigma": 1.0}
    spec = with_priors("ceasefire-corpus", hazard_baseline=baseline)
    return spec, baseline, lambda **kw: sbc_corpus(spec, n_truces=300, n_groups=24, **kw)


CASES = {"exact": exact_case, "day": day_case, "corpus": corpus_case}


def histogram_table(result) -> pd.DataFrame:
    table = result.uniformity(bins=BINS)
    table["histogram"] = table["counts"].map(lambda c: " ".join(f"{int(x):2d}" for x in c))
    return table[["parameter", "replicates", "histogram", "chi2", "p_value"]]


def markdown(table: pd.DataFrame) -> str:
    rows = ["| parameter | replicates | ranks in 10 bins | chi-square | p |", "|---|---:|---|---:|---:|"]
    rows += [f"| {r.parameter} | {r.replicates} | {r.histogram} | {r.chi2:.1f} | {r.p_value:.3f} |"
             for r in table.itertuples()]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()
    os.environ[QUIET_ENV] = "1"  # no sampler lines from the workers
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {args.replicates} replicates "
          f"per spec, {args.workers} Dask workers, {SAMPLER['chains']} chains x {SAMPLER['draws']} draws "
          f"({SAMPLER['tune']} tuning), ranks among every {SAMPLER['thin']}th draw", flush=True)
    sections = []
    for key in args.only.split(","):
        try:
            spec, replaced, run = CASES[key]()
        except DataValidationError as error:  # ../shared/data absent
            print(f"{key}: skipped, {error}")
            continue
        start = time.perf_counter()
        result = run(n=args.replicates, seed=args.seed, scheduler="local", workers=args.workers, **SAMPLER)
        wall = time.perf_counter() - start
        table = histogram_table(result)
        head = (f"{key} ({spec.name}; data-centred prior replaced by {replaced}): {args.replicates} replicates, "
                f"{result.skipped} skipped (explosive), {wall:.0f} s wall, {result.n_posterior} ranked draws")
        print(head)
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"), flush=True)
        sections.append(f"{head}\n\n{markdown(table)}\n")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(sections))


if __name__ == "__main__":
    main()
