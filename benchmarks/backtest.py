"""Corpus backtest cost: wall time with 1 and 2 Dask workers (the speed-up), time per origin, and
Dask's overhead per task and for starting a local cluster.

The backtest is the hazard alone (``models/ceasefire-corpus.toml``) on the real ETH/PRIO corpus
(../shared/data/ceasefires or $ESCALATE_DATA) at four yearly origins, 2 chains x 500 draws per
fit; the ratios are against the same work measured in the same run.

Run: .venv/bin/python benchmarks/backtest.py   (prints figures; no pass/fail on time)
"""

from __future__ import annotations

import os
import time
import warnings

import escalate
from escalate.checking.corpus_backtest import backtest_corpus
from escalate.datasets import ceasefire_corpus
from escalate.parallel import run_tasks

ORIGINS = ["2006-01-01", "2008-01-01", "2010-01-01", "2012-01-01"]


def nothing(shared, task):
    return task


def timed(**kw) -> tuple[float, object]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # failed verdicts are counted below, not hidden
        # the hazard alone (other_ends=False): the README's figures; the default also fits the
        # competing ends at every origin, a second hazard fit of about the same cost
        result = backtest_corpus(corpus, spec, ORIGINS, (7, 30, 90), draws=500, tune=500, chains=2,
                                 progress=lambda *a: None, other_ends=False, **kw)
    return time.perf_counter() - start, result


if __name__ == "__main__":
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    corpus = ceasefire_corpus()
    spec = escalate.ModelSpec.bundled("ceasefire-corpus")
    one, first = timed(scheduler="synchronous")
    print(f"corpus backtest, {len(ORIGINS)} origins, one process: {one:6.1f} s ({one / len(ORIGINS):5.1f} s per "
          f"origin), {len(first.forecasts)} forecasts, {len(first.failed_origins())} origins with failed fits")
    two, second = timed(scheduler="local", workers=2)
    same = first.forecasts.equals(second.forecasts)
    print(f"corpus backtest, 2 Dask workers: {two:6.1f} s (speed-up {one / two:4.2f}x the one-process run; "
          f"identical forecasts: {same})")
    n = 40
    start = time.perf_counter()
    run_tasks(nothing, {str(i): i for i in range(n)}, scheduler="synchronous", progress=None)
    direct = time.perf_counter() - start
    start = time.perf_counter()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        started = time.perf_counter() - start
        address = cluster.scheduler_address
        with Client(address):
            pass
        begin = time.perf_counter()
        run_tasks(nothing, {str(i): i for i in range(n)}, scheduler=address, shared=corpus, progress=None)
        dask = time.perf_counter() - begin
    print(f"Dask: a 2-worker local cluster starts in {started:4.1f} s; {n} empty tasks with the corpus scattered "
          f"take {dask:5.2f} s ({(dask - direct) / n * 1000:5.1f} ms per task over calling them here)")
