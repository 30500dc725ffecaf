"""Benchmark: escalate's exact-time logp+gradient against tick's, measured in the same run.

tick (X-DataInitiative/tick) fits exponential-kernel Hawkes processes; its
``ModelHawkesExpKernLogLik`` holds the decay fixed: ``fit()`` precomputes every event's
decayed sums once, so each ``loss_and_grad`` is a pass of dot products over them. escalate's
kernel cannot precompute, because the decay is a parameter (it also gives the decay's gradient
and the covariate effects' gradients). The issue's target: escalate's logp+grad at 10k events at
most 1.0x tick's fixed-decay ``loss_and_grad``, on the same events and on one core.

tick has no wheels for Python 3.12, so it runs in its own Python 3.11 venv, in a subprocess:
``make tick-venv`` makes ``.venv-tick`` (or point ``$ESCALATE_TICK_PYTHON`` at a Python that
imports tick). Without it the script says so and prints escalate's figures alone.

Each N: the events of ``benchmarks/likelihood.py`` (K = 2, three covariate segments). The
script first checks that both libraries compute the same log-likelihood: with every covariate
effect at 0, escalate's model is tick's plain Hawkes process, so tick's loss (minus the
log-likelihood, shifted by the constant K T, over the number of events: tick's loss is
-(log L + K T) / N, as a direct sum on a few events shows) must match escalate's logp. Then it times
both (best of five batches, alternating the two libraries twice) and prints the ratio.

Run: .venv/bin/python benchmarks/tick_compare.py [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from likelihood import PARAMS, make_data, per_call  # noqa: E402  (the same events and timer)

from escalate.model.kernels import exact_loglik_grad  # noqa: E402
from escalate.model.likelihood import kernel_data  # noqa: E402
from escalate.model.parameters import kernel_order, normalize_params  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: Run in tick's Python: reads the events, checks the loss at the plain parameters, times
#: loss_and_grad at the benchmark's parameters; prints one JSON line.
TICK_SCRIPT = r"""
import json, sys
import numpy as np
from tick.hawkes import ModelHawkesExpKernLogLik

job = json.loads(sys.argv[1])
sys.path.insert(0, job["benchmarks"])
from timing import per_call

data = np.load(job["file"])
events = [np.ascontiguousarray(data[f"stream{k}"], dtype=np.float64) for k in range(job["K"])]
model = ModelHawkesExpKernLogLik(job["decay"], n_threads=1)
model.fit(events, end_times=job["end_time"])
coeffs = np.array(job["coeffs"], dtype=np.float64)
loss = model.loss(coeffs)
grad = np.empty_like(coeffs)
seconds = per_call(lambda: model.loss_and_grad(coeffs, out=grad))
print(json.dumps({"loss": float(loss), "n_jumps": int(model.n_jumps), "seconds": seconds}))
"""


def tick_python() -> str | None:
    """The Python that imports tick: $ESCALATE_TICK_PYTHON, else .venv-tick; None if neither."""
    candidate = os.environ.get("ESCALATE_TICK_PYTHON") or str(ROOT / ".venv-tick" / "bin" / "python")
    if not Path(candidate).exists():
        return None
    probe = subprocess.run([candidate, "-c", "import tick.hawkes"], capture_output=True, text=True)
    return candidate if probe.returncode == 0 else None


def kernel_args(data, params):
    p = normalize_params(params, 2, 1, 2, 0)
    return p, (*kernel_data(data), *(p[k] if p[k].ndim else float(p[k]) for k in kernel_order()))


def plain(params: dict) -> dict:
    """The benchmark's parameters with every covariate effect at 0: tick's model."""
    return {"mu_log": params["mu_log"], "branching": params["branching"], "decay": params["decay"]}


def run_tick(python, data, params, workdir) -> dict:
    events = data.event_arrays()
    times, streams = events["times"], events["streams"]
    path = Path(workdir) / f"events{len(times)}.npz"
    np.savez(path, **{f"stream{k}": times[streams == k] for k in range(2)})
    p = normalize_params(plain(params), 2, 1, 2, 0)
    # tick's adjacency[i, j] is the effect of stream j on stream i: escalate's branching[j, i]
    coeffs = np.concatenate([np.exp(p["mu_log"]), np.asarray(p["branching"]).T.ravel()])
    job = {"benchmarks": str(Path(__file__).resolve().parent), "file": str(path), "K": 2, "decay": float(p["decay"]), "end_time": float(data.durations[0]),
           "coeffs": coeffs.tolist()}
    out = subprocess.run([python, "-c", TICK_SCRIPT, json.dumps(job)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"tick's run failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    python = tick_python()
    if python is None:
        print("tick is not importable: no .venv-tick and no $ESCALATE_TICK_PYTHON (tick has no Python 3.12 "
              "wheels; `make tick-venv` makes a Python 3.11 venv with it). escalate's figures alone:")
    with tempfile.TemporaryDirectory() as workdir:
        for n in (int(s) for s in args.sizes.split(",")):
            data = make_data(n)
            _, args_full = kernel_args(data, PARAMS)
            ours = [per_call(lambda: exact_loglik_grad(*args_full))]
            line = f"N={len(data.events):>7,d} events  escalate logp+grad (decay free, covariates) {{}} us"
            if python is None:
                print(line.format(f"{ours[0] * 1e6:8.1f}"))
                continue
            _, args_plain = kernel_args(data, plain(PARAMS))
            logp_plain = exact_loglik_grad(*args_plain)[0]
            ticks = []
            for _ in range(2):  # alternate, so that a change in the machine's load hits both
                result = run_tick(python, data, PARAMS, workdir)
                ticks.append(result["seconds"])
                ours.append(per_call(lambda: exact_loglik_grad(*args_full)))
            tick_logp = -result["loss"] * result["n_jumps"] - 2 * float(data.durations[0])
            if not np.isclose(tick_logp, logp_plain, rtol=1e-8):
                raise SystemExit(f"the log-likelihoods differ at N={len(data.events)}: escalate {logp_plain!r}, "
                                 f"tick {tick_logp!r}")
            mine, theirs = min(ours), min(ticks)
            print(f"{line.format(f'{mine * 1e6:8.1f}')}   tick loss_and_grad (decay fixed) {theirs * 1e6:8.1f} us   "
                  f"ratio escalate / tick {mine / theirs:.2f}   (same logp: {logp_plain:.6g})", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
