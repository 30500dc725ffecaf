"""``escalate backtest --corpus``: the time-split corpus backtest (escalate.backtest_corpus).

Each origin's results are written, as it finishes, to a work folder beside the output
(``.OUT.origins``); an interrupted backtest goes on from there with ``--resume``. The output
folder itself is written once, whole, at the end (scores, skill, reliability, fits, the
forecasts and a manifest), so it is never half-written.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from escalate.checking.corpus_backtest import backtest_corpus
from escalate.cli.runs import now, write_json
from escalate.cli.signals import interrupt_guard
from escalate.cli.text import emit
from escalate.data.corpus import Corpus
from escalate.datasets import ceasefire_corpus
from escalate.errors import EscalateInputError
from escalate.folders import (
    MANIFEST,
    atomic_directory,
    check_output_folder,
    folder_lock,
    recover,
)
from escalate.model.spec import ModelSpec
from escalate.reporting import plots

#: ``--corpus`` names of the bundled real corpora (read from ../shared/data or $ESCALATE_DATA).
NAMED = ("ceasefires",)


def load_corpus(args) -> Corpus:
    """The corpus of ``--corpus``: a bundled name, or a truce table with ``--corpus-counts``,
    ``--cutoff`` and ``--static-covariates``."""
    if args.corpus in NAMED:
        return ceasefire_corpus()
    path = Path(args.corpus)
    if not path.exists():
        raise EscalateInputError(f"--corpus {args.corpus}: no such file, and not one of the bundled corpora "
                                 f"{list(NAMED)}")
    if not args.cutoff:
        raise EscalateInputError("--corpus TRUCES.csv needs --cutoff DATE (the end of the data: holding truces "
                                 "are censored there)")
    covariates = [c.strip() for c in (args.static_covariates or "").split(",") if c.strip()]
    return Corpus.from_frames(path, args.corpus_counts, cutoff=args.cutoff, covariates=covariates,
                              history_days=args.history_days)


def parse_dates(text: str) -> list[pd.Timestamp]:
    """``a,b,c`` or ``FIRST:LAST:STEP`` with STEP ``Ny`` (years), ``Nm`` (months) or days."""
    try:
        if text.count(":") == 2:
            first, last, step = text.split(":")
            unit = {"y": "years", "m": "months"}.get(step[-1:].lower())
            freq = pd.DateOffset(**{unit: int(step[:-1])}) if unit else f"{int(step)}D"
            return list(pd.date_range(first, last, freq=freq))
        return [pd.Timestamp(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise EscalateInputError(f"--origins {text!r}: {exc}; give dates a,b,c or FIRST:LAST:STEP "
                                 f"(STEP 1y, 6m or a number of days)") from None


def _ints(text: str, flag: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise EscalateInputError(f"{flag} {text!r}: comma-separated whole numbers of days") from None
    if not values or min(values) < 1:
        raise EscalateInputError(f"{flag}: every value is a whole number of days >= 1, got {text!r}")
    return values


def cmd_backtest_corpus(args) -> int:
    spec = ModelSpec.from_toml(args.model)
    origins = parse_dates(args.origins)
    horizons = _ints(args.horizons, "--horizons")
    days = _ints(args.days_after_start, "--days-after-start")
    out = Path(args.out)
    work = out.with_name(f".{out.name}.origins")
    if args.resume and args.force:
        raise EscalateInputError("--resume goes on with an earlier backtest and --force starts again: pass one")
    if args.resume and not work.exists() and out.exists():
        raise EscalateInputError(f"nothing to resume: {out} holds a finished backtest (no {work}); pass --force "
                                 f"to compute it again, or choose a new folder")
    if args.resume:
        check_output_folder(out, "backtest", True)  # only an escalate backtest is ever replaced
    else:
        check_output_folder(out, "backtest", args.force)
        if work.exists():
            if not args.force:
                raise EscalateInputError(f"{work} holds the origins of an interrupted backtest; pass --resume to "
                                         f"go on with it, or --force to start again")
            shutil.rmtree(work)
    corpus = load_corpus(args)
    started = time.perf_counter()
    with folder_lock(out, " ".join(sys.argv)):
        for line in recover(out):
            print(f"escalate: {line}", file=sys.stderr)
        with interrupt_guard():
            result = backtest_corpus(corpus, spec, origins, horizons, days_after_start=days, draws=args.draws,
                                     tune=args.tune, chains=args.chains, forecast_draws=args.forecast_draws,
                                     paths=args.paths, seed=args.seed, scheduler=args.scheduler,
                                     workers=args.workers, out=work, resume=args.resume,
                                     progress=None if not args.quiet else (lambda *a: None))
        scores = pd.concat([result.scores(t) for t in ("declared", "violence rule", "either")
                            if len(result.scored(t))], ignore_index=True)
        tables = {"forecasts": result.forecasts, "fits": result.fits, "scores": scores,
                  "skill": result.skill(), "reliability": pd.concat(
                      [result.reliability("declared", h).assign(horizon=h) for h in horizons], ignore_index=True)}

        def write(folder: Path) -> None:
            folder.mkdir(parents=True)
            write_json(folder / MANIFEST, {"kind": "backtest", "command": " ".join(sys.argv), "created": now(),
                                           "corpus": True, "settings": result.settings,
                                           "failed_origins": result.failures,
                                           "origins_with_failed_fits": result.failed_origins()})
            for name, frame in tables.items():
                frame.to_csv(folder / f"{name}.csv", index=False)
            (folder / "summary.txt").write_text(result.summary() + "\n")
            for h in horizons:  # the reliability diagram of declared collapse at each horizon
                table = result.reliability("declared", h)
                if len(table):
                    figure = plots.reliability(table)
                    figure.axes[0].set_title(f"Reliability: declared collapse within {h} days")
                    figure.savefig(folder / f"reliability-{h}d.png", dpi=120, bbox_inches="tight")
                    plt.close(figure)

        with interrupt_guard():
            atomic_directory(out, write)
        if not result.failures:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    shown = scores[scores["target"] == "declared"][["horizon", "forecaster", "cases", "collapses", "brier", "brier_lo",
                                                    "brier_hi", "calibration_slope", "cases_from_failed_fits"]]
    lines = [f"corpus backtest: {len(origins)} origins x horizons {horizons} in {seconds:.0f} s", result.summary(),
             shown.to_string(index=False), f"wrote {out}/scores.csv, skill.csv, reliability.csv, fits.csv, forecasts.csv"]
    if result.failures:
        lines.append(f"the finished origins are kept in {work}: rerun with --resume to retry the failed ones")
    emit(args, lines, {"out": str(out), "seconds": seconds, "failures": result.failures,
                       "scores": scores.to_dict("records")})
    return 1 if result.failures else 0
