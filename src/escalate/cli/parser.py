"""The argument parser of the ``escalate`` command line (light: no numerical imports)."""

from __future__ import annotations

import argparse

#: Longest forecast horizon accepted (days): ten years; checked before any work is done.
MAX_HORIZON_DAYS = 3650


def _whole(low: int, high: int | None = None, what: str = "a whole number"):
    """An argparse type: a whole number in [low, high], refused with the bound otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"{value} is not allowed: give {what} {bound}")
        return value
    return parse


POSITIVE = _whole(1)
SEED = _whole(0, 2**32 - 1, "a seed")


def _required(parser):
    """The group that --help lists as required (one per subcommand)."""
    if not hasattr(parser, "_escalate_required"):
        parser._escalate_required = parser.add_argument_group("required arguments")
    return parser._escalate_required


def _data_options(parser, required=True) -> None:
    group = (_required(parser) if required else parser).add_mutually_exclusive_group(required=required)
    group.add_argument("--events", help="events CSV/Parquet: truce_id, time, stream (exact times)")
    group.add_argument("--counts", help="daily counts CSV/Parquet: date, stream, count (or wide)")
    parser.add_argument("--truces", help="truce calendar CSV: truce_id, start, end")
    parser.add_argument("--covariates", help="covariate timelines CSV: truce_id, start, stream, verification, penalty_tier")
    parser.add_argument("--fill-missing", action="store_true",
                        help="daily counts: days without a row had no events (else missing days are an error)")


def _sampler_options(parser, default: str = "default: the spec's [sampler]") -> None:
    parser.add_argument("--draws", type=POSITIVE, help=f"draws per chain ({default})")
    parser.add_argument("--tune", type=POSITIVE, help=f"tuning steps per chain ({default})")
    parser.add_argument("--chains", type=POSITIVE, help=f"chains ({default})")


def _output_options(parser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bars or chatter")
    parser.add_argument("--json", action="store_true", help="print one machine-readable JSON result")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="escalate", description="Bayesian Hawkes models of truce "
                                     "violations and forecasts of truce collapse.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="fit, forecast and report an example end to end")
    demo.add_argument("--example", choices=["synthetic", "israel-hezbollah"], default="synthetic",
                      help="synthetic: truces simulated from a known truth (embedded, the default); "
                           "israel-hezbollah: the real example, read from ../shared/data or $ESCALATE_DATA")
    demo.add_argument("--model", help="model spec TOML (default: the example's bundled spec)")
    demo.add_argument("--fast", action="store_true",
                      help="smoke-sized run (200 draws per chain): its diagnostics are expected to fail")
    demo.add_argument("--seed", type=SEED, default=20261126)
    demo.add_argument("--out", help="output folder for the fit, forecast and report (default runs/demo)")
    demo.add_argument("--quiet", action="store_true")

    validate = sub.add_parser("validate", help="check data files and list every problem found")
    validate.add_argument("files", nargs="+", help="events, counts, truces and covariates files")
    _output_options(validate)

    imp = sub.add_parser("import", help="ACLED or UCDP GED export -> daily counts CSV")
    imp.add_argument("source", choices=["acled", "ucdp"])
    imp.add_argument("file")
    _required(imp).add_argument("--mapping", required=True, help="party mapping TOML (docs/importers.md)")
    _required(imp).add_argument("-o", "--out", required=True, help="daily counts CSV to write (date, stream, count)")
    imp.add_argument("--force", action="store_true", help="replace an existing output file")
    _output_options(imp)

    fit = sub.add_parser("fit", help="fit a model and write a run directory")
    _required(fit).add_argument("--model", required=True, help="model spec TOML")
    _data_options(fit)
    _required(fit).add_argument("--out", required=True, help="run directory to create")
    fit.add_argument("--force", action="store_true", help="replace an existing run")
    fit.add_argument("--seed", type=SEED, default=0)
    _sampler_options(fit)
    _output_options(fit)

    fc = sub.add_parser("forecast", help="forecast collapse from a run; adds forecast.zarr/.csv")
    fc.add_argument("run")
    fc.add_argument("--horizon", type=_whole(1, MAX_HORIZON_DAYS, "a number of days"), default=90,
                    help=f"days after the end of the data (1 to {MAX_HORIZON_DAYS})")
    fc.add_argument("--scenario", action="append", help="a scenario of the spec (repeatable; default all)")
    fc.add_argument("--draws", type=POSITIVE, help="posterior draws used (default all)")
    fc.add_argument("--paths", type=POSITIVE, default=100)
    fc.add_argument("--seed", type=SEED, default=0)
    fc.add_argument("--truce", help="truce to continue (default the latest)")
    _output_options(fc)

    up = sub.add_parser("update", help="refit with new data, forecast, append to the archive")
    up.add_argument("run")
    _data_options(up)
    up.add_argument("--seed", type=SEED, help="default: the run's seed")
    _sampler_options(up, "default: the run's")
    _output_options(up)

    rep = sub.add_parser("report", help="export the posterior report of a run (after `forecast`)")
    rep.add_argument("run")
    rep.add_argument("--format", default="all", choices=["html", "md", "json", "csv", "all"])
    rep.add_argument("-o", "--out", help="output folder (default RUN/report, which a new report replaces)")
    rep.add_argument("--force", action="store_true", help="replace an existing escalate report at --out")
    _output_options(rep)

    bt = sub.add_parser("backtest", help="rolling-origin backtest against rival forecasters (one truce's "
                        "data, or --corpus: a time-split backtest of collapse forecasts across a corpus)")
    _required(bt).add_argument("--model", required=True, help="model spec TOML")
    source = _required(bt).add_mutually_exclusive_group(required=True)
    source.add_argument("--events", help="events CSV/Parquet: truce_id, time, stream (exact times)")
    source.add_argument("--counts", help="daily counts CSV/Parquet: date, stream, count (or wide)")
    source.add_argument("--corpus", help="a corpus of truces with outcomes: 'ceasefires' (ETH/PRIO + UCDP GED "
                        "from ../shared/data or $ESCALATE_DATA) or a truce table CSV (see escalate.Corpus)")
    bt.add_argument("--truces", help="truce calendar CSV: truce_id, start, end")
    bt.add_argument("--covariates", help="covariate timelines CSV: truce_id, start, stream, verification, penalty_tier")
    bt.add_argument("--fill-missing", action="store_true",
                    help="daily counts: days without a row had no events (else missing days are an error)")
    corpus = bt.add_argument_group("corpus backtest (--corpus)")
    corpus.add_argument("--corpus-counts", help="daily counts of the corpus' truces: truce_id, date, stream, count")
    corpus.add_argument("--cutoff", help="end of the corpus' data (a date)")
    corpus.add_argument("--static-covariates", help="comma-separated truce-level columns of the truce table")
    corpus.add_argument("--history-days", type=POSITIVE, default=60, help="history window before each start (default 60)")
    corpus.add_argument("--days-after-start", default="1,7",
                        help="new truces are forecast at these days after their start (default 1,7)")
    corpus.add_argument("--resume", action="store_true",
                        help="go on with an interrupted corpus backtest (its finished origins are kept)")
    _required(bt).add_argument("--origins", required=True,
                    help="comma-separated dates (or days), or FIRST:LAST:STEP: STEP in days, or with --corpus "
                         "also 1y / 6m, e.g. 2000-01-01:2013-01-01:1y")
    bt.add_argument("--horizons", help="comma-separated days (default 7,30; with --corpus 7,30,90)")
    bt.add_argument("--through", action="store_true", help="each origin is the last day of data known (daily "
                    "data: 'data through day D'); default: an origin is a moment and sees the data before it")
    _required(bt).add_argument("-o", "--out", required=True, help="folder for the scores, skill and reliability tables")
    bt.add_argument("--force", action="store_true", help="replace an existing escalate backtest folder")
    bt.add_argument("--paths", type=POSITIVE, default=100)
    bt.add_argument("--forecast-draws", type=POSITIVE, default=200)
    bt.add_argument("--workers", type=POSITIVE, help="worker processes of the local Dask cluster (default: CPU count)")
    bt.add_argument("--scheduler", help="an existing Dask scheduler's address (default $ESCALATE_SCHEDULER, else a "
                    "local cluster; 'synchronous' runs the origins one by one in this process)")
    bt.add_argument("--seed", type=SEED, default=0)
    _sampler_options(bt, "default: the spec's [sampler]; fewer is printed and recorded")
    _output_options(bt)

    sim = sub.add_parser("simulate", help="simulate events from given parameters")
    _required(sim).add_argument("--model", required=True, help="model spec TOML (streams, tiers, resolution)")
    _required(sim).add_argument("--params", required=True, help="parameters TOML ([params] with MODEL.md names)")
    _required(sim).add_argument("--truces", required=True, help="truce calendar CSV: truce_id, start, end")
    _required(sim).add_argument("--covariates", required=True, help="covariate timelines CSV")
    _required(sim).add_argument("-o", "--out", required=True, help="CSV to write: events, or daily counts for day models")
    sim.add_argument("--seed", type=SEED, default=0)
    sim.add_argument("--force", action="store_true")
    _output_options(sim)
    return parser
