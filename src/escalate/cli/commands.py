"""The commands behind ``escalate fit | forecast | update | report | backtest | validate | import | simulate``."""

from __future__ import annotations

import json
import shutil
import sys
import time
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from escalate.checking.backtest import backtest
from escalate.cli.corpus import cmd_backtest_corpus
from escalate.cli.demo import cmd_demo
from escalate.cli.runs import (
    RUN_FORMAT_VERSION,
    append_archive,
    check_archive,
    check_no_shrink,
    copy_inputs,
    now,
    read_manifest,
    run_session,
    seal,
    staged_run,
    verify_run,
    versions,
    write_json,
)
from escalate.cli.signals import interrupt_guard
from escalate.cli.text import diagnostics_lines, emit, headline_text, interactive
from escalate.data.daily import aggregate_to_days
from escalate.data.truce_data import TruceData
from escalate.data.validation import validate_files
from escalate.errors import EscalateInputError, SimulationExplosionError
from escalate.folders import (
    MANIFEST,
    atomic_directory,
    atomic_write_text,
    check_output_folder,
    check_writable_parent,
    folder_lock,
    recover,
)
from escalate.forecasting.result import load_forecast
from escalate.forecasting.run import run_forecast
from escalate.importers import read_acled, read_ucdp_ged
from escalate.inference.diagnostics import DiagnosticsWarning
from escalate.inference.fit import fit
from escalate.inference.result import load_fit
from escalate.model.simulate import simulate
from escalate.model.spec import ModelSpec
from escalate.reporting.report import report


def _need(path, flag: str) -> Path:
    if path is None:
        raise EscalateInputError(f"{flag} is required")
    path = Path(path)
    if not path.exists():
        raise EscalateInputError(f"{flag} {path}: file not found")
    return path


def load_data(args, spec, defaults: dict | None = None):
    """TruceData from --events/--counts, --truces, --covariates (``defaults`` fill the last two)."""
    defaults = defaults or {}
    truces = _need(args.truces or defaults.get("truces"), "--truces")
    covariates = _need(args.covariates or defaults.get("covariates"), "--covariates")
    streams = list(spec.streams) or None
    if args.events:
        source = _need(args.events, "--events")
        data = TruceData.from_frames(source, truces, covariates, streams=streams)
        return data, {"events": source, "truces": truces, "covariates": covariates}
    source = _need(args.counts, "--counts")
    provenance = {}
    sidecar = source.with_name(source.name + ".provenance.json")
    if sidecar.exists():
        provenance["import"] = json.loads(sidecar.read_text())
    data = TruceData.from_daily_counts(source, truces, covariates, streams=streams,
                                       fill_missing=0 if args.fill_missing else None, provenance=provenance)
    return data, {"counts": source, "truces": truces, "covariates": covariates}


def run_fit(data, spec, args, seed: int, sampling: dict | None = None):
    """Sample with progress on a terminal; interrupts abort cleanly. ``sampling`` gives draws,
    tune and chains where the command line does not."""
    started = time.perf_counter()
    sampling = {"draws": spec.sampler.draws, "tune": spec.sampler.tune, "chains": spec.sampler.chains,
                **(sampling or {}), **{k: getattr(args, k) for k in ("draws", "tune", "chains")
                                       if getattr(args, k, None) is not None}}
    with interrupt_guard(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticsWarning)  # reported in the output instead
        if not getattr(args, "quiet", False):  # a line for logs (and for tests that wait for it)
            print(f"escalate: sampling {sampling['chains']} chains x ({sampling['tune']} tune + "
                  f"{sampling['draws']} draws) with {spec.sampler.sampler}", file=sys.stderr, flush=True)
        result = fit(data, spec, seed=seed, progressbar=interactive(args), **sampling)
    return result, time.perf_counter() - started, sampling


def _manifest(spec, data, inputs, result, seed, fit_seconds, history, sampling) -> dict:
    return {
        "run_format_version": RUN_FORMAT_VERSION, "created": now(), "command": sys.argv,
        "inputs": inputs, "spec": {"name": spec.name, "spec_id": spec.spec_id, "source": spec.source},
        "data": {"hash": data.data_hash, "resolution": data.resolution, "streams": list(data.streams),
                 "truces": list(data.truce_ids)},
        "seed": seed, "sampler": spec.sampler.sampler, "versions": versions(),
        "sampling": sampling,
        "timings": {"fit_seconds": round(fit_seconds, 2)},
        "diagnostics": result.diagnostics.to_dict(), "history": history,
    }


def _stage_fit(tmp: Path, result, spec_path: Path, inputs: dict) -> dict:
    if (tmp / "fit.zarr").exists():
        shutil.rmtree(tmp / "fit.zarr")
    shutil.rmtree(tmp / "inputs", ignore_errors=True)
    result.save(tmp / "fit.zarr")
    if Path(spec_path).resolve() != (tmp / "model.toml").resolve():
        shutil.copyfile(spec_path, tmp / "model.toml")
    return copy_inputs(tmp, {k: str(v) for k, v in inputs.items()})


def command_line() -> str:
    """This process's command, for locks and manifests."""
    return " ".join(["escalate", *sys.argv[1:]])


def cmd_fit(args) -> int:
    spec = ModelSpec.from_toml(args.model)
    data, inputs = load_data(args, spec)
    out = Path(args.out)
    with run_session(out, command_line(), new=True, force=args.force):  # checked before sampling
        result, seconds, sampling = run_fit(data, spec, args, args.seed)
        with interrupt_guard(), staged_run(out, new=True) as tmp:
            described = _stage_fit(tmp, result, Path(args.model), inputs)
            manifest = _manifest(spec, result.data, described, result, args.seed, seconds,
                                 [{"event": "fit", "at": now(), "data_hash": result.data.data_hash}], sampling)
            seal(tmp, manifest)
    diag = result.diagnostics
    held = list(result.identification.notes)
    emit(args, [f"fitted {result.data!r} with {spec.name} in {seconds:.1f} s", *diagnostics_lines(diag),
                *(f"held at zero: {note}" for note in held), f"wrote run {out}"],
         {"run": str(out), "fit_seconds": seconds, "diagnostics": diag.to_dict(), "held_at_zero": held})
    return 0


def forecast_run(result, args, settings: dict):
    """Forecast with progress lines on a terminal; interrupts abort cleanly."""
    started = time.perf_counter()

    def bar(done: int, total: int, name: str) -> None:  # a one-line progress bar on a terminal
        filled = int(30 * done / total)
        print(f"\rforecasting [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {name[:30]:<30}",
              end="\n" if done == total else "", file=sys.stderr, flush=True)

    with interrupt_guard():
        forecast = run_forecast(result, settings["horizon"], scenarios=settings.get("scenarios"),
                                draws=settings.get("draws"), paths=settings["paths"], seed=settings["seed"],
                                truce=settings.get("truce"), progress=bar if interactive(args) else None)
    return forecast, time.perf_counter() - started


def _stage_forecast(tmp: Path, result, forecast, manifest: dict, settings: dict, seconds: float) -> None:
    frame = forecast.to_frame()
    shutil.rmtree(tmp / "forecast.zarr", ignore_errors=True)
    forecast.save(tmp / "forecast.zarr")
    frame.to_csv(tmp / "forecast.csv", index=False, float_format="%.6g")
    issued = now()
    rows = append_archive(tmp, forecast, frame, issued, result.spec.spec_id, result.data.data_hash)
    manifest["forecast"] = {**settings, "issued_at": issued, "seconds": round(seconds, 2),
                            "collapse": forecast.collapse_definition(), "notes": forecast.notes}
    manifest["history"].append({"event": "forecast", "at": issued, "archive_rows": rows})
    seal(tmp, manifest)


def _headline_payload(forecast) -> list[dict]:
    return forecast.headline().to_dict("records")


def cmd_forecast(args) -> int:
    run = Path(args.run)
    with run_session(run, command_line(), new=False):  # read, forecast and write under the lock
        manifest = read_manifest(run)
        check_archive(run)
        result = load_fit(run / "fit.zarr")
        settings = {"horizon": args.horizon, "scenarios": args.scenario, "draws": args.draws,
                    "paths": args.paths, "seed": args.seed, "truce": args.truce}
        forecast, seconds = forecast_run(result, args, settings)
        with interrupt_guard(), staged_run(run, new=False) as tmp:
            _stage_forecast(tmp, result, forecast, manifest, settings, seconds)
    emit(args, [f"forecast {forecast!r} in {seconds:.1f} s", f"collapse means: {forecast.collapse_definition()}",
                headline_text(forecast, result.diagnostics), f"wrote {run / 'forecast.zarr'}, "
                f"{run / 'forecast.csv'}; appended to {run / 'forecasts.csv'}"],
         {"run": str(run), "headline": _headline_payload(forecast), "notes": forecast.notes,
          "diagnostics": result.diagnostics.to_dict()})
    return 0


def cmd_update(args) -> int:
    run = Path(args.run)
    with run_session(run, command_line(), new=False):  # the whole refit holds the run's lock
        manifest = read_manifest(run)
        check_archive(run)
        spec = ModelSpec.from_toml(run / "model.toml")
        recorded = manifest.get("spec", {}).get("spec_id")
        if spec.spec_id != recorded:
            raise EscalateInputError(
                f"{run / 'model.toml'} was edited since the run was made (spec id {spec.spec_id[:12]} is not "
                f"the run's {str(recorded)[:12]}); an update must not mix two models in one archive: start a "
                f"new run with `escalate fit --model ... --out NEW_RUN`, or restore the file")
        stored = {name: run / info["copy"] for name, info in manifest["inputs"].items()}
        data, inputs = load_data(args, spec, defaults=stored)
        check_no_shrink(load_fit(run / "fit.zarr").data, data, run)
        seed = manifest["seed"] if args.seed is None else args.seed
        sampling = {k: v for k, v in manifest.get("sampling", {}).items() if v is not None}
        result, fit_seconds, sampling = run_fit(data, spec, args, seed, sampling)
        settings = {k: v for k, v in manifest.get("forecast", {}).items()
                    if k in ("horizon", "scenarios", "draws", "paths", "seed", "truce")}
        settings = {"horizon": 90, "paths": 100, "seed": 0, **settings}
        forecast, seconds = forecast_run(result, args, settings)
        with interrupt_guard(), staged_run(run, new=False) as tmp:
            # stored inputs are read from the untouched run directory and copied into the staging one
            described = _stage_fit(tmp, result, run / "model.toml", inputs)
            history = manifest["history"] + [{"event": "update", "at": now(), "data_hash": result.data.data_hash}]
            new_manifest = _manifest(spec, result.data, described, result, seed, fit_seconds, history, sampling)
            new_manifest["created"] = manifest["created"]
            _stage_forecast(tmp, result, forecast, new_manifest, settings, seconds)
    emit(args, [f"refitted {result.data!r} in {fit_seconds:.1f} s", *diagnostics_lines(result.diagnostics),
                headline_text(forecast, result.diagnostics), f"updated run {run}; appended to {run / 'forecasts.csv'}"],
         {"run": str(run), "headline": _headline_payload(forecast), "diagnostics": result.diagnostics.to_dict()})
    return 0


def cmd_validate(args) -> int:
    runs = [Path(f) for f in args.files if Path(f).is_dir()]
    if runs:
        if len(runs) != len(args.files):
            raise EscalateInputError("give either run directories or data files to `escalate validate`, not both")
        lines, payload, bad = [], {}, False
        for run in runs:
            problems = verify_run(run)
            bad |= bool(problems)
            payload[str(run)] = problems
            lines += ([f"{run}: whole: every file matches its manifest"] if not problems
                      else [f"{run}: {len(problems)} problem(s)"] + [f"  {p}" for p in problems])
        emit(args, lines, {"runs": payload, "ok": not bad})
        return 2 if bad else 0
    problems, kinds = validate_files(args.files)
    lines = [f"{path}: {kind}" for path, kind in kinds.items()]
    lines += [f"problem {i}: {p}" for i, p in enumerate(problems, 1)] or ["no problems found"]
    emit(args, lines, {"files": kinds, "problems": problems, "ok": not problems})
    return 2 if problems else 0


def _write_csv_atomically(frame, out: Path, force: bool) -> None:
    if out.is_dir():
        raise EscalateInputError(f"{out} is a folder; -o names the CSV file to write (e.g. {out / 'counts.csv'})")
    if out.exists() and not force:
        raise EscalateInputError(f"{out} already exists; pass --force to replace it")
    check_writable_parent(out)
    atomic_write_text(out, frame.to_csv(index=False))


def cmd_import(args) -> int:
    reader = read_acled if args.source == "acled" else read_ucdp_ged
    result = reader(args.file, args.mapping)
    counts = result.counts.assign(date=result.counts["date"].dt.strftime("%Y-%m-%d"))
    out = Path(args.out)
    _write_csv_atomically(counts, out, args.force)
    sidecar = out.with_name(out.name + ".provenance.json")
    atomic_write_text(sidecar, json.dumps(result.provenance, indent=2, sort_keys=True, default=str) + "\n")
    emit(args, [result.report(), f"wrote {out} ({len(counts)} rows: date, stream, count) and {sidecar}"],
         {"out": str(out), "provenance": result.provenance, "unmapped": result.unmapped.to_dict("records")})
    return 0


def cmd_simulate(args) -> int:
    spec = ModelSpec.from_toml(args.model)
    try:
        params = tomllib.loads(Path(args.params).read_text())
    except FileNotFoundError:
        raise EscalateInputError(f"--params {args.params}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise EscalateInputError(f"--params {args.params}: not valid TOML: {exc}") from None
    if set(params) != {"params"}:
        raise EscalateInputError(f"--params {args.params}: expected one [params] table with MODEL.md names, "
                                 f"got {sorted(params)}")
    if not spec.streams:
        raise EscalateInputError(f"{spec.source}: simulation needs the spec's 'streams' list")
    try:
        data = simulate(params["params"], args.truces, args.covariates, spec.streams, seed=args.seed)
    except SimulationExplosionError as exc:  # the documented cap: the parameters are the user's
        raise EscalateInputError(f"--params {args.params}: {exc}") from None
    if spec.time_resolution == "day":
        counts = aggregate_to_days(data.events, data.truces, data.streams)
        dates = data.to_user_clock(counts["truce_id"], counts["day"])
        counts["date"] = (dates.dt.strftime("%Y-%m-%d") if data.clock == "datetime" else dates).to_numpy()
        frame = counts[["truce_id", "date", "stream", "count"]].astype({"count": int})
    else:
        frame = data.events.copy()
        times = data.to_user_clock(frame["truce_id"], frame["time"])
        frame["time"] = (times.dt.strftime("%Y-%m-%dT%H:%M:%S.%f") if data.clock == "datetime" else times).to_numpy()
    _write_csv_atomically(frame, Path(args.out), args.force)
    emit(args, [f"simulated {data!r}; wrote {args.out}"], {"out": args.out, "events": int(data.stream_totals().sum())})
    return 0


def cmd_report(args) -> int:
    run = Path(args.run)
    # the default folder, RUN/report, is the run's own report: replaced by a new one; any other
    # existing folder only with --force, and only when it is an escalate report
    out = Path(args.out) if args.out else run / "report"
    check_output_folder(out, "report", args.force or args.out is None)
    with run_session(run, command_line(), new=False):
        manifest = read_manifest(run)
        if not (run / "forecast.zarr").exists():
            raise EscalateInputError(f"{run} has no forecast yet; run `escalate forecast {run}` first")
        result = load_fit(run / "fit.zarr")
        forecast = load_forecast(run / "forecast.zarr")
        command = " ".join(manifest["command"]) if isinstance(manifest.get("command"), list) else None
        with interrupt_guard():
            files = report(result, forecast, out, format=args.format, command=command)
    emit(args, [f"wrote {len(files)} files to {out}"] + [f"  {p}" for p in files],
         {"out": str(out), "files": [str(p) for p in files], "diagnostics_passed": result.diagnostics.passed})
    return 0


def parse_origins(text: str, clock: str) -> list:
    """``a,b,c`` or ``first:last:step_days`` on the data's clock."""
    if text.count(":") == 2 and clock == "datetime" and "T" not in text:
        first, last, step = text.split(":")
        return list(pd.date_range(first, last, freq=f"{int(step)}D"))
    if text.count(":") == 2 and clock == "float":
        first, last, step = (float(x) for x in text.split(":"))
        return list(np.arange(first, last + 1e-9, step))
    return [x.strip() for x in text.split(",") if x.strip()]


def cmd_backtest(args) -> int:
    if args.corpus:
        args.horizons = args.horizons or "7,30,90"
        return cmd_backtest_corpus(args)
    spec = ModelSpec.from_toml(args.model)
    data, _ = load_data(args, spec)
    try:
        horizons = [int(h) for h in (args.horizons or "7,30").split(",")]
        origins = parse_origins(args.origins, data.clock)
    except ValueError as exc:
        raise EscalateInputError(f"--origins/--horizons: {exc}") from None
    if any(h < 1 for h in horizons):
        raise EscalateInputError(f"--horizons: every horizon is a whole number of days >= 1, got {horizons}")
    out = Path(args.out)
    check_output_folder(out, "backtest", args.force)  # before the fits, not after
    started = time.perf_counter()
    with folder_lock(out, command_line()):
        for line in recover(out):
            print(f"escalate: {line}", file=sys.stderr)
        with interrupt_guard():
            result = backtest(data, spec, origins, horizons, draws=args.draws, tune=args.tune,
                              chains=args.chains, forecast_draws=args.forecast_draws, paths=args.paths,
                              seed=args.seed, through=args.through, workers=args.workers, scheduler=args.scheduler)
        tables = {"scores": result.scores, "summary": result.summary(), "skill": result.skill(),
                  "reliability": result.reliability("collapse"), "fits": result.fits, "unscored": result.unscored}

        def write(folder: Path) -> None:
            folder.mkdir(parents=True)
            write_json(folder / MANIFEST, {"kind": "backtest", "command": command_line(), "created": now(),
                                           "settings": result.settings, "notes": result.notes(),
                                           "failed_origins": result.failures})
            for name, frame in tables.items():
                frame.to_csv(folder / f"{name}.csv", index=False)

        with interrupt_guard():
            atomic_directory(out, write)
    seconds = time.perf_counter() - started
    emit(args, [f"backtest: {len(origins)} origins x horizons {horizons} in {seconds:.0f} s", *result.notes(),
                tables["summary"].to_string(), f"wrote {out}/scores.csv, summary.csv, skill.csv, reliability.csv, "
                f"fits.csv, unscored.csv"],
         {"out": str(out), "seconds": seconds, "summary": tables["summary"].to_dict("records"),
          "skill": tables["skill"].to_dict("records"), "notes": result.notes(), "failures": result.failures})
    return 1 if result.failures else 0


def run_command(args) -> int:
    """Run the parsed command ``args.command``; returns its exit status."""
    return COMMANDS[args.command](args)


COMMANDS = {"demo": cmd_demo, "validate": cmd_validate, "import": cmd_import, "fit": cmd_fit,
            "forecast": cmd_forecast, "update": cmd_update, "report": cmd_report,
            "backtest": cmd_backtest, "simulate": cmd_simulate}
