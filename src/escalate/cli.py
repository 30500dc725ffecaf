"""The ``escalate`` command line.

User mistakes (:class:`~escalate.errors.EscalateInputError`) exit with status 2 and one clear
message; ``--debug`` shows the traceback. Internal errors exit 1. Ctrl-C exits 130 (SIGTERM
143) and leaves no partial run directory. See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from escalate.errors import EscalateInputError
from escalate.fit import fast_mode

#: Bundled model specs live in the repository's ``models/`` folder.
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def bundled_spec_path(name: str) -> Path:
    """Path of a spec in ``models/``; a clear error if the checkout does not have it."""
    path = MODELS_DIR / f"{name}.toml"
    if not path.exists():
        raise EscalateInputError(f"bundled model spec {path} not found; pass --model SPEC.toml")
    return path


def cmd_demo(args) -> int:  # noqa: C901 - a linear script
    """Fit the bundled real example (daily model) and print the posterior with diagnostics."""
    import warnings

    import pandas as pd

    import escalate
    from escalate.datasets import israel_hezbollah
    from escalate.diagnostics import DiagnosticsWarning

    spec = escalate.ModelSpec.from_toml(args.model or bundled_spec_path("israel-hezbollah"))
    data = israel_hezbollah()
    print(f"escalate demo: Israel-Hezbollah, {data}")
    print(f"model {spec.name} ({spec.source}): {spec.time_resolution} resolution, "
          f"{spec.observation}, sampler {spec.sampler.sampler}, seed {args.seed}"
          + ("  [ESCALATE_FAST: reduced draws, not for results]" if fast_mode() else ""))
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticsWarning)  # reported below, in the output
        result = escalate.fit(data, spec, seed=args.seed,
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
    out = Path(args.out) if args.out else Path("runs") / "demo"
    result.with_forecast(forecast).save(out / "fit.zarr")
    escalate.report(result, forecast, out / "report", format="all",
                    command=f"escalate demo --seed {args.seed}" + (f" --model {args.model}" if args.model else ""))
    print(f"\nwrote {out / 'fit.zarr'} (fit and forecast) and the report {out / 'report' / 'report.html'} "
          f"(also report.md, report.json, tables/*.csv)")
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


from escalate.cli_commands import (  # noqa: E402
    cmd_backtest,
    cmd_fit,
    cmd_forecast,
    cmd_import,
    cmd_report,
    cmd_simulate,
    cmd_update,
    cmd_validate,
)


def _data_options(parser, required=True) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--events", help="events CSV/Parquet: truce_id, time, stream (exact times)")
    group.add_argument("--counts", help="daily counts CSV/Parquet: date, stream, count (or wide)")
    parser.add_argument("--truces", help="truce calendar CSV: truce_id, start, end")
    parser.add_argument("--covariates", help="covariate timelines CSV: truce_id, start, stream, verification, penalty_tier")
    parser.add_argument("--fill-missing", action="store_true",
                        help="daily counts: days without a row had no events (else missing days are an error)")


def _sampler_options(parser, default: str = "default: the spec's [sampler]") -> None:
    parser.add_argument("--draws", type=int, help=f"draws per chain ({default})")
    parser.add_argument("--tune", type=int, help=f"tuning steps per chain ({default})")
    parser.add_argument("--chains", type=int, help=f"chains ({default})")


def _output_options(parser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bars or chatter")
    parser.add_argument("--json", action="store_true", help="print one machine-readable JSON result")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="escalate", description="Bayesian Hawkes models of truce "
                                     "violations and forecasts of truce collapse.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the bundled real example end to end")
    demo.add_argument("--model", help="model spec TOML (default models/israel-hezbollah.toml)")
    demo.add_argument("--seed", type=int, default=20261126)
    demo.add_argument("--out", help="output folder for the fit, forecast and report (default runs/demo)")
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(func=cmd_demo)

    validate = sub.add_parser("validate", help="check data files and list every problem found")
    validate.add_argument("files", nargs="+", help="events, counts, truces and covariates files")
    _output_options(validate)
    validate.set_defaults(func=cmd_validate)

    imp = sub.add_parser("import", help="ACLED or UCDP GED export -> daily counts CSV")
    imp.add_argument("source", choices=["acled", "ucdp"])
    imp.add_argument("file")
    imp.add_argument("--mapping", required=True, help="party mapping TOML (docs/importers.md)")
    imp.add_argument("-o", "--out", required=True, help="daily counts CSV to write (date, stream, count)")
    imp.add_argument("--force", action="store_true", help="replace an existing output file")
    _output_options(imp)
    imp.set_defaults(func=cmd_import)

    fit = sub.add_parser("fit", help="fit a model and write a run directory")
    fit.add_argument("--model", required=True, help="model spec TOML")
    _data_options(fit)
    fit.add_argument("--out", required=True, help="run directory to create")
    fit.add_argument("--force", action="store_true", help="replace an existing run")
    fit.add_argument("--seed", type=int, default=0)
    _sampler_options(fit)
    _output_options(fit)
    fit.set_defaults(func=cmd_fit)

    fc = sub.add_parser("forecast", help="forecast collapse from a run; adds forecast.zarr/.csv")
    fc.add_argument("run")
    fc.add_argument("--horizon", type=int, default=90, help="days after the end of the data")
    fc.add_argument("--scenario", action="append", help="a scenario of the spec (repeatable; default all)")
    fc.add_argument("--draws", type=int, help="posterior draws used (default all)")
    fc.add_argument("--paths", type=int, default=100)
    fc.add_argument("--seed", type=int, default=0)
    fc.add_argument("--truce", help="truce to continue (default the latest)")
    _output_options(fc)
    fc.set_defaults(func=cmd_forecast)

    up = sub.add_parser("update", help="refit with new data, forecast, append to the archive")
    up.add_argument("run")
    _data_options(up)
    up.add_argument("--seed", type=int, help="default: the run's seed")
    _sampler_options(up, "default: the run's")
    _output_options(up)
    up.set_defaults(func=cmd_update)

    rep = sub.add_parser("report", help="export the posterior report of a run (after `forecast`)")
    rep.add_argument("run")
    rep.add_argument("--format", default="all", choices=["html", "md", "json", "csv", "all"])
    rep.add_argument("-o", "--out", help="output folder (default RUN/report)")
    _output_options(rep)
    rep.set_defaults(func=cmd_report)

    bt = sub.add_parser("backtest", help="rolling-origin backtest against rival forecasters")
    bt.add_argument("--model", required=True, help="model spec TOML")
    _data_options(bt)
    bt.add_argument("--origins", required=True,
                    help="comma-separated dates (or days), or FIRST:LAST:STEP_DAYS, e.g. 2025-01-01:2025-08-01:7")
    bt.add_argument("--horizons", default="7,30", help="comma-separated days (default 7,30)")
    bt.add_argument("-o", "--out", required=True, help="folder for scores.csv, summary.csv, skill.csv, reliability.csv")
    bt.add_argument("--force", action="store_true")
    bt.add_argument("--paths", type=int, default=100)
    bt.add_argument("--forecast-draws", type=int, default=200)
    bt.add_argument("--jobs", type=int, help="parallel origins (default: CPU count)")
    bt.add_argument("--seed", type=int, default=0)
    _sampler_options(bt, "default 500, 500, 2")
    _output_options(bt)
    bt.set_defaults(func=cmd_backtest)

    sim = sub.add_parser("simulate", help="simulate events from given parameters")
    sim.add_argument("--model", required=True, help="model spec TOML (streams, tiers, resolution)")
    sim.add_argument("--params", required=True, help="parameters TOML ([params] with MODEL.md names)")
    sim.add_argument("--truces", required=True)
    sim.add_argument("--covariates", required=True)
    sim.add_argument("-o", "--out", required=True, help="CSV to write: events, or daily counts for day models")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--force", action="store_true")
    _output_options(sim)
    sim.set_defaults(func=cmd_simulate)
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
        from escalate.cli_commands import LAST_SIGNAL

        print("escalate: interrupted; nothing was written", file=sys.stderr)
        return 143 if LAST_SIGNAL and LAST_SIGNAL[-1] == 15 else 130
    except Exception as exc:  # an internal error: say so, keep the traceback for --debug
        if args.debug:
            raise
        print(f"escalate: internal error ({type(exc).__name__}: {exc}); rerun with --debug for the "
              f"traceback and report it", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
