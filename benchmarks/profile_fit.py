"""Where a fit's time goes: model build, compilation, tuning and sampling, gradients per draw.

For each case the model is built as ``escalate.fit`` builds it (``prepare_data`` then
``build_model``), compiled by nutpie and sampled with the spec's settings (4 chains x (1000
tune + 1000 draws) unless ``--draws``), each step timed on its own. From nutpie's sampler
statistics: leapfrog steps (gradient evaluations) per draw in tuning and in sampling, the tree
depth and the final step size. The time per gradient, all in, is the sampling wall time times
the chains running at once over the gradient evaluations; one call of the compiled model's logp
and gradient (fused, as nutpie calls it) is timed alone (the same helper as benchmarks/likelihood.py), and the rest is what
surrounds it in nutpie (tree building, mass matrix, the call boundary). Each row also gives
the wall time from build to the last draw, the slowest free parameter's bulk ESS and ESS per
second of that wall time, and the divergences. ``--compare-diag`` samples each case a second
time with the diagonal mass matrix (the reference, in the same run) and prints the ratios.

Cases: ``exact10k`` (about 10,000 exact event times, K = 2, three covariate segments, the
bundled default spec), ``daily`` (the real Israel-Hezbollah example; needs ../shared/data or
$ESCALATE_DATA), ``corpus`` (the ETH/PRIO hazard, ``ceasefire-corpus``; the same data), ``violence`` (the joint
model of the hazard and the GED violence of 240 ceasefires, ``ceasefire-violence``; the same
data). ``exact100k`` (about 100,000 events, as exact10k) runs when asked for.

Run: .venv/bin/python benchmarks/profile_fit.py [--only exact10k,exact100k,daily,corpus,violence]
     [--draws 1000] [--compare-diag]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np
from pymc.blocking import DictToArrayBijection

import escalate
from escalate.inference.fit import prepare_data
from escalate.inference.sampling import mass_matrix
from escalate.model.build import build_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from likelihood import exact_spec, make_data, per_call  # noqa: E402  (the same data, spec and timer)

ROOT = Path(__file__).resolve().parents[1]


def cases(only):
    from escalate.datasets import ceasefire_corpus, israel_hezbollah
    from escalate.errors import DataValidationError

    for name, n in (("exact10k", 10_000), ("exact100k", 100_000)):
        if name in only:
            data = make_data(n)
            yield name, data, exact_spec(data)
    for name, load, spec_name in (("daily", israel_hezbollah, "israel-hezbollah"),
                                  ("corpus", ceasefire_corpus, "ceasefire-corpus"),
                                  ("violence", ceasefire_corpus, "ceasefire-violence")):
        if name in only:
            try:
                yield name, load(), escalate.ModelSpec.from_toml(ROOT / "models" / f"{spec_name}.toml")
            except DataValidationError as err:  # the data folder is absent
                print(f"{name}: skipped, {err}")


def logp_grad_time(model) -> float:
    """One call of the model's fused logp-and-gradient function (PyMC's, one graph as nutpie's)
    at the initial point: the cost of a call hardly depends on where, the kernels' work is set
    by the data."""
    fn = model.logp_dlogp_function(ravel_inputs=True)
    fn.set_extra_values({})
    point = DictToArrayBijection.map(model.initial_point()).data
    return per_call(lambda: fn(point))


def slowest_ess(tree, names) -> float:
    """The smallest bulk ESS over the entries of the free parameters ``names`` (what the
    targets are stated in)."""
    ess = az.ess(tree["posterior"].to_dataset()[names])
    return float(min(np.nanmin(ess[v].values) for v in names))


def profile(name, data, spec, draws, tune, chains, seed, adaptation=None) -> dict:
    import nutpie


    t0 = time.perf_counter()
    if isinstance(data, escalate.Corpus):  # as fit_corpus: the hazard alone unless the spec models violence
        prepared = data if spec.violence else data.without_events()
    else:
        prepared = prepare_data(data, spec)
    model = build_model(prepared, spec)
    adaptation = adaptation or mass_matrix(spec, model, "nutpie")  # as escalate.fit chooses
    t1 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model)
    t2 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed, progress_bar=False,
                             cores=min(chains, os.cpu_count() or 1), target_accept=spec.sampler.target_accept,
                             adaptation=adaptation)
    t3 = time.perf_counter()
    warm, stats = tree["warmup_sample_stats"], tree["sample_stats"]
    steps_tune, steps_draw = float(warm["n_steps"].sum()), float(stats["n_steps"].sum())
    parallel = min(chains, os.cpu_count() or 1)
    per_gradient = (t3 - t2) * parallel / (steps_tune + steps_draw)
    kernel = logp_grad_time(model)
    ess = slowest_ess(tree, [v.name for v in model.free_RVs])
    return {"case": name, "adaptation": adaptation, "wall_s": t3 - t0, "min_ess": ess, "ess_per_s": ess / (t3 - t0),
            "divergences": int(stats["diverging"].sum()), "build_s": t1 - t0, "compile_s": t2 - t1, "sample_s": t3 - t2,
            "grads_per_draw_tune": steps_tune / (chains * tune), "grads_per_draw": steps_draw / (chains * draws),
            "depth": float(stats["depth"].mean()), "step_size": float(stats["step_size"].mean()),
            "us_per_gradient": per_gradient * 1e6, "us_logp_grad_call": kernel * 1e6,
            "share_outside_logp": 1 - kernel / per_gradient,
            "tune_share_of_sampling": steps_tune / (steps_tune + steps_draw)}


def show(row: dict) -> None:
    print(" ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="exact10k,daily,corpus,violence")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--compare-diag", action="store_true",
                        help="also sample each case with the diagonal mass matrix and print the speed-up")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    rows = []
    for name, data, spec in cases(args.only.split(",")):
        row = profile(name, data, spec, args.draws, args.draws, args.chains, seed=1)
        rows.append(row)
        show(row)
        if args.compare_diag and row["adaptation"] != "diag":
            diag = profile(name, data, spec, args.draws, args.draws, args.chains, seed=1, adaptation="diag")
            show(diag)
            print(f"{name}: {row['adaptation']} against diag: wall time {row['wall_s'] / diag['wall_s']:.2f}x, "
                  f"ESS per second {row['ess_per_s'] / diag['ess_per_s']:.2f}x, gradients per draw "
                  f"{row['grads_per_draw'] / diag['grads_per_draw']:.2f}x", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
