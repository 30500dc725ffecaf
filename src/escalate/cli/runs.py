"""Run directories: what ``escalate fit``, ``forecast`` and ``update`` write.

A run directory holds::

    fit.zarr/         the fit (posterior, diagnostics inputs, fit data, provenance)
    model.toml        the spec used
    inputs/           copies of the input tables (so ``update`` and reruns need nothing else)
    manifest.json     inputs and hashes, versions, seed, command line, timings, diagnostics, history
    forecast.zarr/    the latest forecast (after ``forecast`` or ``update``)
    forecast.csv      its table, one row per scenario and horizon day
    forecasts.csv     the archive of every issued forecast, append-only

Every write builds the complete new directory in a temporary sibling and renames it into place,
so an interrupted command leaves the previous run intact and no partial run behind.
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
from escalate.inference.result import library_versions
from escalate.storage import sha256_file, staged_directory
from escalate.version import __version__

RUN_FORMAT_VERSION = 1
ARCHIVE_COLUMNS = ["issued_at", "data_end", "truce", "scenario", "horizon_day", "p_collapse_mean",
                   "p_collapse_q05", "p_collapse_q50", "p_collapse_q95", "p_collapse_mcse",
                   "draws", "paths", "seed", "spec_id", "data_hash"]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def staged_run(path: Path, *, force: bool, new: bool):
    """Yield a temporary sibling directory; on success it replaces ``path`` atomically.

    ``new=True`` (``fit``): an existing run is an error unless ``force``. ``new=False``
    (``forecast``, ``update``): the run must exist and the staging copy starts as a copy of it.
    On any exception (Ctrl-C included) the staging directory is removed and ``path`` is untouched.
    """
    path = Path(path)
    if new and path.exists() and not force:
        raise EscalateInputError(f"{path} already exists; choose another --out or pass --force to replace it")
    if not new and not (path / "manifest.json").exists():
        raise EscalateInputError(f"{path} is not an escalate run directory (no manifest.json); "
                                 f"create one with `escalate fit ... --out {path}`")
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed process
        shutil.rmtree(stale, ignore_errors=True)
    with staged_directory(path, copy_existing=not new) as tmp:
        yield tmp


def read_manifest(run: Path) -> dict:
    """The run's manifest; a clear error for a missing or foreign one."""
    path = Path(run) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise EscalateInputError(f"{run} is not an escalate run directory (no manifest.json)") from None
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{path}: not valid JSON ({exc})") from None
    if manifest.get("run_format_version") != RUN_FORMAT_VERSION:
        raise FileFormatError(f"{path}: run format version {manifest.get('run_format_version')!r}; this "
                              f"escalate reads version {RUN_FORMAT_VERSION}")
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
