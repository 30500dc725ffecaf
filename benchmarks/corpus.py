"""Corpus fit cost: the hazard alone on 25%, 50% and 100% of the real ETH/PRIO corpus, and the
joint model on the ceasefires with GED series; wall time (compile included) and ESS/s of the
slowest parameter. Needs ../shared/data/ceasefires (or $ESCALATE_DATA).

Run: .venv/bin/python benchmarks/corpus.py   (prints figures; no pass/fail on time)
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

import escalate
from escalate.datasets import ceasefire_corpus


def timed_fit(corpus, spec, seed=1):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a failed verdict is printed below, not hidden
        fit = escalate.fit(corpus, spec, seed=seed)
    wall = time.perf_counter() - start
    d = fit.diagnostics
    return wall, d.min_ess_bulk / wall, d.verdict


def main() -> None:
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    corpus = ceasefire_corpus()
    hazard = escalate.ModelSpec.bundled("ceasefire-corpus")
    ids = np.array(corpus.truce_ids)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ids))
    base = None
    for share in (0.25, 0.5, 1.0):
        part = corpus.subset(ids[order[:int(share * len(ids))]])
        wall, ess_rate, verdict = timed_fit(part, hazard)
        base = base or wall
        print(f"hazard alone, {share:4.0%} of the corpus ({len(part.at_risk)} truces at risk, "
              f"{int(part.at_risk['days_at_risk'].sum())} truce-days): {wall:6.1f} s wall "
              f"({wall / base:4.2f}x the 25% fit), slowest bulk ESS/s {ess_rate:6.1f}, {verdict}")
    wall, ess_rate, verdict = timed_fit(corpus, escalate.ModelSpec.bundled("ceasefire-violence"))
    print(f"joint model (hazard with feedback + violence of {int(corpus.truces['has_events'].sum())} truces): "
          f"{wall:6.1f} s wall ({wall / base:4.2f}x the 25% hazard fit), slowest bulk ESS/s {ess_rate:6.1f}, {verdict}")


if __name__ == "__main__":
    main()
