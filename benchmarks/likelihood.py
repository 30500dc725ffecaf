"""Benchmark: exact-time logp + gradient per call, and the full fit of the recovery data.

Run: .venv/bin/python benchmarks/likelihood.py [--no-fit] [--fit-sizes 10000,100000]

Prints, for K = 2 streams with the decay free, the time per logp+gradient call of
(a) the numba kernel called directly, (b) the compiled PyTensor function the samplers call
(numba backend), at N = 1k, 10k, 100k events; an O(N^2) numpy reference at 1k; and ratios
(reference / kernel, and 100k / 10k for linearity). Then ``escalate.fit`` (4 chains x 1000
draws, compile included) of the embedded synthetic example and of ``make_data`` at each
``--fit-sizes`` (default 10,000 events; the issue-17 targets: 10k under 20 s at >= 60 ESS/s,
100k under 3 minutes), with ESS per second of the slowest parameter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import escalate
from escalate.model.kernels import exact_loglik_grad
from escalate.model.likelihood import kernel_data
from escalate.model.parameters import Dims, kernel_order, normalize_params

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import per_call  # noqa: E402  (re-exported: the other benchmarks import it from here)

PARAMS = {"mu_log": np.log([0.6, 0.4]), "branching": np.array([[0.3, 0.2], [0.25, 0.2]]),
          "decay": 0.8, "excite_verification_cross": -0.5, "excite_tier": [0.2], "mu_tier": [-0.1],
          "mu_verification": -0.3}


def make_data(n_events: int, seed: int = 0) -> escalate.TruceData:
    """About ``n_events`` events in one truce: a pilot run sizes the window."""

    def run(T):
        truces = pd.DataFrame({"truce_id": ["t"], "start": [0.0], "end": [T]})
        covs = pd.DataFrame({"truce_id": ["t"] * 3, "start": [0.0, T / 3, 2 * T / 3], "stream": [""] * 3,
                             "verification": [0.2, 0.6, 0.9], "penalty_tier": [0, 1, 1]})
        return escalate.simulate(PARAMS, truces, covs, ["a", "b"], seed=seed)

    T = n_events / 2.0
    return run(T * n_events / len(run(T).events))


def reference_logp(data, p) -> float:
    """O(N^2) numpy: each event's intensity summed over all earlier events (logp only)."""
    ev, seg = data.event_arrays(), data.segments
    t, k, s = ev["times"], ev["streams"], ev["segment"]
    T = data.durations[0]
    mt, et = np.concatenate([[0], p["mu_tier"]]), np.concatenate([[0], p["excite_tier"]])
    w = float(p["decay"])
    mu = np.exp(p["mu_log"][None, :] + p["mu_verification"] * seg.verification[:, None] + mt[seg.tier])
    logp = -np.sum(mu * (seg.end - seg.start)[:, None])
    for l in range(len(t)):
        prev = t < t[l]
        kk = k[l]
        ev_ = np.where(k[prev] == kk, p["excite_verification_self"], p["excite_verification_cross"])
        alpha = p["branching"][k[prev], kk] * np.exp(ev_ * seg.verification[s[prev]] + et[seg.tier[s[prev], kk]])
        logp += np.log(mu[s[l], kk] + np.sum(alpha * w * np.exp(-w * (t[l] - t[prev]))))
    for kk in range(2):
        ev_ = np.where(k == kk, p["excite_verification_self"], p["excite_verification_cross"])
        alpha = p["branching"][k, kk] * np.exp(ev_ * seg.verification[s] + et[seg.tier[s, kk]])
        logp -= np.sum(alpha * (1 - np.exp(-w * (T - t))))
    return logp


def compiled_logp_dlogp(data):
    """The PyTensor function (numba backend) of logp and its gradient, as the samplers use it."""
    import pytensor
    import pytensor.tensor as pt

    from escalate.model.ops import hawkes_loglike

    theta = pt.dvector("theta")
    logp = hawkes_loglike("exact", kernel_data(data), theta, Dims(2, 1, 2, 0))
    fn = pytensor.function([theta], [logp, pt.grad(logp, theta)], mode="NUMBA")
    p = normalize_params(PARAMS, 2, 1, 2, 0)
    x = np.concatenate([np.ravel(p[n]) for n in kernel_order()])
    return lambda: fn(x)


def bench_likelihood() -> dict:
    rows = {}
    for n in (1_000, 10_000, 100_000):
        data = make_data(n)
        p = normalize_params(PARAMS, 2, 1, 2, 0)
        args = (*kernel_data(data), *(p[k] if p[k].ndim else float(p[k]) for k in kernel_order()))
        kernel = per_call(lambda: exact_loglik_grad(*args))
        compiled = per_call(compiled_logp_dlogp(data))
        public = per_call(lambda: escalate.log_likelihood(data, PARAMS, gradient=True))
        rows[n] = (len(data.events), kernel, compiled, public)
        print(f"N={len(data.events):>7,d} events  kernel logp+grad {kernel * 1e6:9.1f} us   "
              f"PyTensor(numba) logp+grad {compiled * 1e6:9.1f} us   "
              f"escalate.log_likelihood(gradient=True) {public * 1e6:9.1f} us ({public / kernel:.2f}x the kernel)")
        if n == 1_000:
            ref_value = reference_logp(data, p)
            assert np.isclose(ref_value, exact_loglik_grad(*args)[0], rtol=1e-9)
            ref = per_call(lambda: reference_logp(data, p), min_time=2.0)
            print(f"           O(N^2) numpy reference, logp only {ref * 1e6:9.1f} us  "
                  f"(ratio reference / kernel logp+grad = {ref / kernel:,.0f}x)")
    ratio = rows[100_000][1] / rows[10_000][1]
    print(f"linearity: time(100k) / time(10k) = {ratio:.1f}  (10x the events; target <= 12)")
    print(f"target: N=10k logp+grad < 400 us -> {rows[10_000][2] * 1e6:.0f} us via PyTensor, "
          f"{rows[10_000][1] * 1e6:.0f} us kernel")
    print(f"target: the public escalate.log_likelihood within 1.5x of the kernel at N=10k -> "
          f"{rows[10_000][3] / rows[10_000][1]:.2f}x")
    return rows


def exact_spec(data) -> escalate.ModelSpec:
    """The bundled default spec for :func:`make_data`'s events (two tiers, one truce)."""
    return escalate.ModelSpec.from_dict({**escalate.ModelSpec.bundled("truce-hawkes").to_dict(),
                                         "streams": list(data.streams), "penalty_tiers": 2, "truce_effects": "none"})


def bench_fit(sizes=(10_000,)) -> None:
    """``escalate.fit`` as a user calls it, 4 chains x (1000 tune + 1000 draws), compile
    included: the embedded synthetic example, then ``make_data(n)`` for each size."""
    import arviz as az

    from escalate.datasets import synthetic

    cases = [("embedded synthetic example", synthetic(), None)]
    cases += [(f"make_data({n:,d})", data, exact_spec(data)) for n in sizes for data in [make_data(n)]]
    for label, data, spec in cases:
        spec = spec or escalate.ModelSpec.bundled("truce-hawkes")
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = escalate.fit(data, spec, draws=1000, tune=1000, chains=4, seed=11)
        elapsed = time.perf_counter() - start
        ess = az.ess(result.tree, var_names=result.parameter_names, method="bulk").to_dataset()
        worst = min((float(np.nanmin(ess[v].values)), v) for v in ess.data_vars)
        print(f"fit, {label}: {len(data.events):,d} events, 4 chains x (1000 tune + 1000 draws), nutpie "
              f"({json.loads(result.tree.attrs['run'])['mass_matrix']} mass matrix): {elapsed:.1f} s wall (compile included); slowest "
              f"parameter {worst[1]}: bulk ESS {worst[0]:.0f}, {worst[0] / elapsed:.1f} ESS/s; diagnostics "
              f"{result.diagnostics.verdict}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-fit", action="store_true", help="skip the full fits")
    parser.add_argument("--fit-sizes", default="10000",
                        help="event counts of the make_data fits (comma-separated; e.g. 10000,100000)")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    bench_likelihood()
    if not args.no_fit:
        bench_fit(tuple(int(n) for n in args.fit_sizes.split(",")))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
