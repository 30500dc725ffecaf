"""Benchmark: forecast simulation speed, Monte Carlo error, and the ratio to plain Python.

Run: .venv/bin/python benchmarks/forecast.py [--draws 1000] [--paths 100]

Two cases, each 90 days x 3 scenarios (status quo and the spec's two):
(a) the real daily example (Israel-Hezbollah, negative binomial daily model);
(b) exact times with a 2,000-event history (the synthetic truces, fitted).
Prints the wall time (compiled kernels, warm; the first-call compile time separately), the
largest Monte Carlo standard error of a collapse probability, and the per-path ratio against a
plain-Python simulator of the same model run on a subset of draws and paths.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import escalate

ROOT = Path(__file__).resolve().parents[1]


def _status_quo(fit, n_draws: int, seed: int):
    """The last truce's status-quo rates for the first draws, as the plain simulators use them."""
    from escalate.model.parameters import posterior_parameters, state_rates

    data = fit.data
    j = len(data.truce_ids) - 1
    seg = data.segments
    last = seg.offsets[j + 1] - 1
    p = posterior_parameters(fit, np.arange(n_draws))
    mu, alpha = state_rates(p, j, seg.verification[last], seg.tier[last], np.zeros(0))
    return np.random.default_rng(seed), data, j, p, mu, alpha


def python_daily_paths(fit, n_draws: int, paths: int, horizon: int, seed: int = 0) -> float:
    """Plain Python: the status-quo daily model, every day's rate summed over all earlier days."""
    rng, data, j, p, mu, alpha = _status_quo(fit, n_draws, seed)
    arrays = data.daily_arrays()
    history = arrays["counts"][arrays["day_offsets"][j]:arrays["day_offsets"][j + 1]].tolist()
    start = time.perf_counter()
    for d in range(n_draws):
        w = float(p["decay"][d])
        phi = float(p["dispersion"][d])
        for _ in range(paths):
            days = [list(row) for row in history]
            for _h in range(horizon):
                today = []
                for k in range(2):
                    lam = mu[d, k]
                    for lag, past in enumerate(reversed(days), start=1):
                        kappa = (1 - math.exp(-w)) ** 2 * math.exp(-w * (lag - 1)) / w
                        lam += sum(alpha[d, i, k] * past[i] for i in range(2)) * kappa
                    if phi > 0:
                        lam = rng.gamma(phi, lam / phi)
                    today.append(float(rng.poisson(lam)))
                days.append(today)
    return (time.perf_counter() - start) / (n_draws * paths)


def python_exact_paths(fit, n_draws: int, paths: int, horizon: int, seed: int = 0) -> float:
    """Plain Python: status-quo branching simulation from the cutoff with the history's residual."""
    rng, data, j, p, mu, alpha = _status_quo(fit, n_draws, seed)
    from escalate.model.parameters import state_rates

    seg = data.segments
    ev = data.event_arrays()
    mine = slice(ev["truce_offsets"][j], ev["truce_offsets"][j + 1])
    T = data.durations[j]
    start = time.perf_counter()
    for d in range(n_draws):
        w = float(p["decay"][d])
        for _ in range(paths):
            residual = [0.0, 0.0]
            for t, i, s in zip(ev["times"][mine], ev["streams"][mine], ev["segment"][mine]):
                a = state_rates({k: v[d:d + 1] for k, v in p.items()}, j, seg.verification[s], seg.tier[s], np.zeros(0))[1][0]
                for k in range(2):
                    residual[k] += a[i, k] * math.exp(-w * (T - t))
            queue = [(rng.uniform(0, horizon), k) for k in range(2) for _ in range(rng.poisson(mu[d, k] * horizon))]
            queue += [(rng.exponential(1 / w), k) for k in range(2) for _ in range(rng.poisson(residual[k]))]
            queue = [e for e in queue if e[0] < horizon]
            q = 0
            while q < len(queue):
                t0, i = queue[q]
                for k in range(2):
                    for _ in range(rng.poisson(alpha[d, i, k])):
                        t = t0 + rng.exponential(1 / w)
                        if t < horizon:
                            queue.append((t, k))
                q += 1
    return (time.perf_counter() - start) / (n_draws * paths)


def bench(name: str, fit, draws: int, paths: int, python_per_path) -> None:
    first = time.perf_counter()
    fit.forecast(90, draws=10, paths=2, seed=1)  # compile (or load the cache)
    compile_s = time.perf_counter() - first
    start = time.perf_counter()
    fc = fit.forecast(90, draws=draws, paths=paths, seed=1)
    elapsed = time.perf_counter() - start
    frame = fc.to_frame()
    per_path = elapsed / (draws * paths * 3)
    print(f"{name}: {draws} draws x {paths} paths x 90 days x 3 scenarios in {elapsed:.2f} s "
          f"(first call with compilation/cache load {compile_s:.1f} s); largest MC s.e. of a "
          f"P(collapse) {frame['p_collapse_mcse'].max():.4f}; exploded paths "
          f"{int(fc.ds['exploded'].sum())}")
    py = python_per_path(fit, 5, 4, 90)
    print(f"    plain Python {py * 1e3:.1f} ms per path vs {per_path * 1e6:.1f} us compiled: "
          f"{py / per_path:,.0f}x")
    head = fc.headline().round(3)
    print(head.to_string(index=False))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--paths", type=int, default=100)
    args = parser.parse_args(argv)
    from escalate.datasets import israel_hezbollah, synthetic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        daily_fit = escalate.fit(israel_hezbollah(), escalate.ModelSpec.from_toml(ROOT / "models" / "israel-hezbollah.toml"), seed=1)
        exact_fit = escalate.fit(synthetic(), escalate.ModelSpec.from_toml(ROOT / "models" / "truce-hawkes.toml"), seed=1)
    print("target (a) < 3 s, (b) < 10 s on this 2-core machine")
    bench("(a) daily, Israel-Hezbollah", daily_fit, args.draws, args.paths, python_daily_paths)
    bench(f"(b) exact, {len(exact_fit.data.events)}-event history", exact_fit, args.draws, args.paths, python_exact_paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
