"""``escalate demo``: fit, forecast and report an example end to end.

The default example is embedded: the synthetic truces simulated from a known truth, so the
demo also shows the truth against the posterior. ``--example israel-hezbollah`` runs the real
example, read from the data folder (``../shared/data`` or ``$ESCALATE_DATA``).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from escalate.checking.posterior import truth_table
from escalate.cli.signals import interrupt_guard
from escalate.cli.text import FAILED_BANNER, diagnostics_lines, headline_text
from escalate.datasets import SYNTHETIC_TRUTH, israel_hezbollah, synthetic
from escalate.folders import (
    MANIFEST,
    atomic_directory,
    check_output_folder,
    folder_lock,
    recover,
)
from escalate.inference.diagnostics import DiagnosticsWarning
from escalate.inference.fit import fit
from escalate.model.spec import ModelSpec
from escalate.reporting.report import report

#: Example -> (bundled spec, loader, title, truce to forecast). The synthetic demo continues
#: truce "alpha" (verification 0.1, tier 0), where the spec's scenarios change something; the
#: last truce already has verification 0.9 and tier 2.
EXAMPLES = {
    "synthetic": ("truce-hawkes", synthetic, "synthetic truces simulated from a known truth", "alpha"),
    "israel-hezbollah": ("israel-hezbollah", israel_hezbollah, "Israel-Hezbollah (real, day-dated)", None),
}
#: Draws per chain of a ``--fast`` smoke run (its diagnostics are expected to fail).
FAST_DRAWS = 200


def cmd_demo(args) -> int:
    """Fit the example, print the posterior with diagnostics, forecast, write fit/forecast/report."""
    spec_name, load, title, truce = EXAMPLES[args.example]
    spec = ModelSpec.from_toml(args.model) if args.model else ModelSpec.bundled(spec_name)
    out = Path(args.out) if args.out else Path("runs") / "demo"
    check_output_folder(out, "demo", force=True, flag="a new demo")  # a demo replaces only a demo
    with folder_lock(out, f"escalate demo --example {args.example}"):
        for line in recover(out):
            print(f"escalate: {line}", file=sys.stderr)
        return _demo(args, spec, load, title, truce, out)


def _demo(args, spec, load, title, truce, out: Path) -> int:
    data = load()
    print(f"escalate demo: {title}, {data}")
    fast = " [--fast: reduced draws, not for results]" if args.fast else ""
    print(f"model {spec.name} ({spec.source}): {spec.time_resolution} resolution, {spec.observation}, "
          f"sampler {spec.sampler.sampler}, seed {args.seed}{fast}")
    sampling = {"draws": FAST_DRAWS, "tune": FAST_DRAWS} if args.fast else {}
    started = time.perf_counter()
    with interrupt_guard(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticsWarning)  # reported below, in the output
        result = fit(data, spec, seed=args.seed, progressbar=sys.stderr.isatty() and not args.quiet, **sampling)
    elapsed = time.perf_counter() - started
    diag = result.diagnostics
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(result.summary(ci_prob=0.94, ci_kind="eti").to_string())
    print("\nintervals: 94% equal-tailed posterior intervals")
    if args.example == "synthetic" and not args.model:
        truth = truth_table(result, SYNTHETIC_TRUTH, ci_prob=0.94)
        inside = int(truth["inside"].sum())
        print(f"\ntruth against the posterior ({inside} of {len(truth)} true values inside their 94% "
              f"equal-tailed interval):")
        print(("" if diag.passed else FAILED_BANNER + "\n") + truth.to_string(index=False, float_format="%.3f"))
    print("\n" + "\n".join(diagnostics_lines(diag)))
    print(f"fit time {elapsed:.1f} s ({diag.chains} chains x {diag.draws} draws)")

    started = time.perf_counter()
    draws = min(FAST_DRAWS if args.fast else 1000, diag.chains * diag.draws)
    with interrupt_guard():
        forecast = result.forecast(90, draws=draws, paths=100, seed=args.seed, truce=truce)
    print(f"\nforecast of {forecast.ds.attrs['truce']} from {forecast.ds.attrs['cutoff'][:10]}: "
          f"{draws} posterior draws x 100 paths, {time.perf_counter() - started:.1f} s")
    print(f"collapse means: {forecast.collapse_definition()}")
    for scenario in forecast.scenario_objects():
        print(f"  scenario {scenario.describe()}")
    print(headline_text(forecast, diag))
    command = f"escalate demo --example {args.example} --seed {args.seed}" + (f" --model {args.model}" if args.model else "")

    def write(folder: Path) -> None:
        folder.mkdir(parents=True)
        result.save(folder / "fit.zarr")
        forecast.save(folder / "forecast.zarr")
        report(result, forecast, folder / "report", format="all", command=command)
        (folder / MANIFEST).write_text(json.dumps({"kind": "demo", "command": command, "example": args.example,
                                                   "fast": bool(args.fast)}, indent=2) + "\n")

    with interrupt_guard():
        atomic_directory(out, write)
    print(f"\nwrote {out / 'fit.zarr'}, {out / 'forecast.zarr'} and the report {out / 'report' / 'report.html'} "
          f"(also report.md, report.json, tables/*.csv)")
    if "attribution" in data.provenance:
        print(f"\ndata: {data.provenance['attribution']}")
    return 0
