"""The ``escalate`` command line.

User mistakes (:class:`~escalate.errors.EscalateInputError`) exit with status 2 and one clear
message; ``--debug`` shows the traceback. Internal errors exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from escalate.errors import EscalateInputError

#: Bundled model specs live in the repository's ``models/`` folder.
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def fast_mode() -> bool:
    """``ESCALATE_FAST=1`` lowers draws for smoke runs (CI, notebooks); never for real results."""
    return os.environ.get("ESCALATE_FAST", "") not in ("", "0")


def bundled_spec_path(name: str) -> Path:
    """Path of a spec in ``models/``; a clear error if the checkout does not have it."""
    path = MODELS_DIR / f"{name}.toml"
    if not path.exists():
        raise EscalateInputError(f"bundled model spec {path} not found; pass --model SPEC.toml")
    return path


def cmd_demo(args) -> int:
    """Fit the bundled real example (daily model) and print the posterior with diagnostics."""
    import warnings

    import pandas as pd

    import escalate
    from escalate.datasets import israel_hezbollah
    from escalate.diagnostics import DiagnosticsWarning

    spec = escalate.ModelSpec.from_toml(args.model or bundled_spec_path("israel-hezbollah"))
    data = israel_hezbollah()
    draws, tune = (200, 200) if fast_mode() else (None, None)
    print(f"escalate demo: Israel-Hezbollah, {data}")
    print(f"model {spec.name} ({spec.source}): {spec.time_resolution} resolution, "
          f"{spec.observation}, sampler {spec.sampler.sampler}, seed {args.seed}"
          + ("  [ESCALATE_FAST: reduced draws, not for results]" if fast_mode() else ""))
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticsWarning)  # reported below, in the output
        result = escalate.fit(data, spec, draws=draws, tune=tune, seed=args.seed,
                              progressbar=sys.stderr.isatty() and not args.quiet)
    elapsed = time.perf_counter() - started
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(result.summary(ci_prob=0.94, ci_kind="eti").to_string())
    print("\nintervals: 94% equal-tailed posterior intervals")
    diag = result.diagnostics
    banner = "" if diag.passed else "!!! DIAGNOSTICS FAILED: THESE NUMBERS ARE NOT TO BE TRUSTED !!!\n"
    print(f"\n{banner}diagnostics: {diag.verdict} (max r_hat {diag.max_rhat:.3f}, min bulk ESS "
          f"{diag.min_ess_bulk:.0f}, min tail ESS {diag.min_ess_tail:.0f}, {diag.divergences} divergences)")
    print(f"fit time {elapsed:.1f} s ({diag.chains} chains x {diag.draws} draws)")

    started = time.perf_counter()
    draws = 200 if fast_mode() else 1000
    forecast = result.forecast(90, draws=draws, paths=100, seed=args.seed)
    print(f"\nforecast of {forecast.ds.attrs['truce']} from {forecast.ds.attrs['cutoff'][:10]}: "
          f"{draws} posterior draws x 100 paths, {time.perf_counter() - started:.1f} s")
    print(f"collapse means: {forecast.collapse_definition()}")
    for scenario in forecast.scenario_objects():
        print(f"  scenario {scenario.describe()}")
    print(headline_text(forecast, diag))
    if args.out:
        result.with_forecast(forecast).save(args.out)
        print(f"wrote {args.out}")
    print(f"\ndata: {data.provenance['attribution']}")
    return 0


def headline_text(forecast, diagnostics) -> str:
    """P(collapse within 7, 30 and 90 days) per scenario with 90% intervals, and the verdict."""
    head = forecast.headline()
    lines = ["\nP(collapse within h days): posterior mean [90% equal-tailed interval over draws] (MC s.e.)"]
    for name, rows in head.groupby("scenario", sort=False):
        cells = [f"{int(r.horizon_day):>2} d: {r.p_collapse_mean:6.1%} [{r.p_collapse_q05:.0%}, "
                 f"{r.p_collapse_q95:.0%}] ({r.p_collapse_mcse:.1%})" for r in rows.itertuples()]
        lines.append(f"  {name:<20} " + "   ".join(cells))
    for name, note in forecast.notes.items():
        lines.append(f"  note on {name}: {note}")
    esc = forecast.escalation()
    lines.append("P(spectral radius >= 1): " + ", ".join(
        f"{r.scenario} {r.p_supercritical:.1%}" for r in esc.itertuples()))
    if not diagnostics.passed:
        lines.insert(0, "!!! DIAGNOSTICS FAILED: THESE NUMBERS ARE NOT TO BE TRUSTED !!!")
    lines.append(f"diagnostics: {diagnostics.verdict}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="escalate", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit the bundled example and print the posterior")
    demo.add_argument("--model", help="model spec TOML (default models/israel-hezbollah.toml)")
    demo.add_argument("--seed", type=int, default=20261126)
    demo.add_argument("--out", help="also save the fit (zarr directory)")
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except EscalateInputError as exc:
        if args.debug:
            raise
        print(f"escalate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("escalate: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
