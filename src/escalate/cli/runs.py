"""Run directories: what ``escalate fit``, ``forecast`` and ``update`` write.

A run directory holds::

    fit.zarr/         the fit (posterior, diagnostics inputs, fit data, provenance)
    model.toml        the spec used
    inputs/           copies of the input tables (so ``update`` and reruns need nothing else)
    manifest.json     inputs and hashes, versions, seed, command line, timings, diagnostics, history
    forecast.zarr/    the latest forecast (after ``forecast`` or ``update``)
    forecast.csv      its table, one row per scenario and horizon day
    forecasts.csv     the archive of every issued forecast, append-only

Every write builds the complete new directory in a staging sibling and swaps it into place
(:mod:`escalate.folders`), under the run's lock, so an interrupted command leaves the previous
run intact and no partial run behind; ``manifest.json`` records the sha256 of every other file,
which ``escalate validate RUN`` checks.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from escalate.errors import EscalateInputError, FileFormatError
from escalate.folders import (
    check_output_folder,
    folder_kind,
    folder_lock,
    recover,
    staged_directory,
)
from escalate.inference.result import library_versions
from escalate.storage import sha256_file
from escalate.version import __version__

RUN_FORMAT_VERSION = 1
ARCHIVE_COLUMNS = ["issued_at", "data_end", "truce", "scenario", "horizon_day", "p_collapse_mean",
                   "p_collapse_q05", "p_collapse_q50", "p_collapse_q95", "p_collapse_mcse",
                   "draws", "paths", "seed", "spec_id", "data_hash"]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def run_session(path: Path, command: str, *, new: bool, force: bool = False):
    """Hold the run's lock for a whole command (read, compute, write), after checking it.

    ``new=True`` (``fit``): ``path`` must not exist, or with ``force`` be an escalate run.
    ``new=False`` (``forecast``, ``update``, ``report``): ``path`` must be a run. Another live
    command on the run, or a stale lock, is an error naming it. Under the lock, a run lost by a
    killed replacement is recovered and dead processes' staging folders are removed; what was
    done is printed on stderr.
    """
    path = Path(path)
    lost = not path.exists() and any(path.parent.glob(f".{path.name}.old.*.tmp"))  # recovered below
    if new:
        check_output_folder(path, "run", force)
    elif not lost and not (path / "manifest.json").is_file():
        raise EscalateInputError(f"{path} is not an escalate run directory (no manifest.json); "
                                 f"create one with `escalate fit ... --out {path}`")
    with folder_lock(path, command):
        for line in recover(path):
            print(f"escalate: {line}", file=sys.stderr)
        if not new and not (path / "manifest.json").is_file():
            raise EscalateInputError(f"{path} is not an escalate run directory (no manifest.json)")
        yield path


@contextmanager
def staged_run(path: Path, *, new: bool):
    """Yield a staging copy of the run (empty for a new run); on success it replaces ``path``
    whole (see :mod:`escalate.folders`); on any exception ``path`` is untouched. Call inside
    :func:`run_session`."""
    with staged_directory(path, copy_existing=not new) as tmp:
        if new:
            tmp.mkdir()
        yield tmp


def seal(staging: Path, manifest: dict) -> None:
    """Write the manifest with the sha256 of every other file of the run (for ``validate``)."""
    manifest["files"] = {str(f.relative_to(staging)): sha256_file(f) for f in sorted(staging.rglob("*"))
                         if f.is_file() and f.name != "manifest.json" and not _in_report(staging, f)}
    write_json(staging / "manifest.json", manifest)


def _in_report(run: Path, path: Path) -> bool:
    """Whether a file lies in a report folder inside the run (``escalate report``'s default
    RUN/report, which has its own manifest and is rewritten apart from the run)."""
    parent = path.parent
    while parent != run:
        if folder_kind(parent) == "report":
            return True
        parent = parent.parent
    return False


def verify_run(run: Path) -> list[str]:
    """Every way the run differs from what its manifest recorded: missing, changed or unlisted
    files, and a fit or forecast that does not load. Empty when the run is whole."""
    run = Path(run)
    try:
        manifest = read_manifest(run)
    except (EscalateInputError, FileFormatError) as exc:
        return [str(exc)]
    recorded = manifest.get("files")
    if not isinstance(recorded, dict):
        return [f"{run / 'manifest.json'}: no 'files' table (written by an older escalate); refit to seal it"]
    problems = []
    present = {str(f.relative_to(run)) for f in run.rglob("*") if f.is_file() and f.name != "manifest.json"
               and not _in_report(run, f)}
    for name in sorted(set(recorded) - present):
        problems.append(f"{run}: {name} is missing")
    for name in sorted(present - set(recorded)):
        problems.append(f"{run}: {name} is not part of the run (not in its manifest)")
    for name in sorted(set(recorded) & present):
        if sha256_file(run / name) != recorded[name]:
            problems.append(f"{run}: {name} has changed since the run was written (sha256 differs)")
    return problems


def read_manifest(run: Path) -> dict:
    """The run's manifest; a clear error for a missing, foreign or malformed one."""
    path = Path(run) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise EscalateInputError(f"{run} is not an escalate run directory (no manifest.json)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise FileFormatError(f"{path}: a run manifest is a JSON object, got a {type(manifest).__name__}")
    if manifest.get("run_format_version") != RUN_FORMAT_VERSION:
        raise FileFormatError(f"{path}: run format version {manifest.get('run_format_version')!r}; this "
                              f"escalate reads version {RUN_FORMAT_VERSION}")
    for key, kind in (("inputs", dict), ("history", list), ("seed", int)):
        if not isinstance(manifest.get(key), kind):
            raise FileFormatError(f"{path}: '{key}' is missing or not a {kind.__name__}; the manifest is "
                                  f"damaged (check the run with `escalate validate {run}`)")
    return manifest


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def copy_inputs(staging: Path, inputs: dict[str, str | None]) -> dict:
    """Copy the input tables into ``inputs/`` and describe them (path, sha256, copy)."""
    folder = staging / "inputs"
    folder.mkdir(exist_ok=True)
    described = {}
    for name, source in inputs.items():
        if source is None:
            continue
        source = Path(source)
        copy = folder / f"{name}{source.suffix or '.csv'}"
        shutil.copyfile(source, copy)
        described[name] = {"path": str(source.resolve()), "sha256": sha256_file(source),
                           "copy": str(copy.relative_to(staging))}
        sidecar = source.with_name(source.name + ".provenance.json")
        if sidecar.exists():  # written by `escalate import`
            shutil.copyfile(sidecar, folder / f"{name}.provenance.json")
    return described


def check_archive(run: Path) -> None:
    """The forecast archive, if there is one, still has escalate's header (an edited header would
    make appended rows mean something else)."""
    archive = Path(run) / "forecasts.csv"
    if not archive.exists():
        return
    with open(archive, newline="") as f:
        header = next(csv.reader(f), [])
    if header != ARCHIVE_COLUMNS:
        raise EscalateInputError(
            f"{archive}: its header is {header[:4]}... ({len(header)} fields), not escalate's {len(ARCHIVE_COLUMNS)} "
            f"archive columns; it was edited, so new rows cannot be appended safely. Restore the header "
            f"({','.join(ARCHIVE_COLUMNS)}) or move the file away to start a new archive")


def check_no_shrink(old, new, run: Path) -> None:
    """New data for a run must extend its data: every truce still there, none ending earlier
    (rows appended out of order, or an older file, would silently rewrite the history)."""
    old_ends = dict(zip(old.truces["truce_id"], old.truces["end"]))
    new_ends = dict(zip(new.truces["truce_id"], new.truces["end"]))
    gone = sorted(set(old_ends) - set(new_ends))
    if gone:
        raise EscalateInputError(f"the new data for {run} has no truce {gone}, which the run's data had; "
                                 f"give the full, current tables (an update replaces the data)")
    shorter = [t for t in old_ends if new_ends[t] < old_ends[t]]
    if shorter:
        t = shorter[0]
        raise EscalateInputError(f"the new data for {run} end earlier than the run's: truce {t!r} is observed to "
                                 f"{new_ends[t]} instead of {old_ends[t]}; an update must extend the data (is "
                                 f"this an older file, or were rows appended out of order?)")


def append_archive(staging: Path, forecast, frame, issued_at: str, spec_id: str, data_hash: str) -> int:
    """Append the issued forecast to ``forecasts.csv``; earlier rows are never rewritten."""
    archive = staging / "forecasts.csv"
    new_file = not archive.exists()
    attrs = forecast.ds.attrs
    with open(archive, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=ARCHIVE_COLUMNS)
        if new_file:
            writer.writeheader()
        for row in frame.itertuples(index=False):
            writer.writerow({
                "issued_at": issued_at, "data_end": attrs["cutoff"], "truce": attrs["truce"],
                "scenario": row.scenario, "horizon_day": row.horizon_day,
                "p_collapse_mean": f"{row.p_collapse_mean:.6g}", "p_collapse_q05": f"{row.p_collapse_q05:.6g}",
                "p_collapse_q50": f"{row.p_collapse_q50:.6g}", "p_collapse_q95": f"{row.p_collapse_q95:.6g}",
                "p_collapse_mcse": f"{row.p_collapse_mcse:.6g}", "draws": forecast.ds.sizes["sample"],
                "paths": attrs["paths"], "seed": attrs["seed"], "spec_id": spec_id, "data_hash": data_hash,
            })
    return len(frame)


def versions() -> dict[str, str]:
    return {"escalate": __version__, "python": sys.version.split()[0], **library_versions()}
