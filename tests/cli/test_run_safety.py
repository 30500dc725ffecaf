"""Never lose a run: replacement, locks, interrupts at every write step, and user mistakes that
exit 2. Each case reproduces a data-loss or crash report against the command line.

Commands run in this process through ``escalate.cli.main`` (fault injection hooks the write
steps of :mod:`escalate.folders`), or as a second process where two processes are the point.
No test sleeps or depends on timing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from escalate import folders
from escalate.cli import main, signals

SPEC = """
name = "safety"
streams = ["x", "y"]
penalty_tiers = 2
time_resolution = "day"
[[collapse]]
kind = "count"
threshold = 30
window_days = 7
[[scenario]]
name = "cell"
verification = 0.9
"""
TINY = ["--draws", "30", "--tune", "30", "--chains", "1", "--quiet"]
FORECAST = ["--draws", "10", "--paths", "5", "--horizon", "10", "--quiet"]


@pytest.fixture(autouse=True)
def clean_signal_state():
    """``main`` installs process-wide handlers and records signals and writes: reset both."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signals.RECEIVED.clear()
    signals.WRITTEN.clear()
    yield
    signals.RECEIVED.clear()
    signals.WRITTEN.clear()
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("safety-inputs")
    rng = np.random.default_rng(5)
    dates = pd.date_range("2024-01-01", periods=60)
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "x": rng.poisson(2.0, 60),
                  "y": rng.poisson(1.0, 60)}).to_csv(folder / "counts.csv", index=False)
    pd.DataFrame({"truce_id": ["t"], "start": ["2024-01-01"], "end": ["2024-03-01"]}).to_csv(
        folder / "truces.csv", index=False)
    pd.DataFrame({"truce_id": ["t", "t"], "start": ["2024-01-01", "2024-02-01"], "verification": [0.2, 0.5],
                  "penalty_tier": [0, 1]}).to_csv(folder / "covariates.csv", index=False)
    (folder / "spec.toml").write_text(SPEC)
    return folder


def data_args(inputs):
    return ["--counts", inputs / "counts.csv", "--truces", inputs / "truces.csv",
            "--covariates", inputs / "covariates.csv"]


def cli(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def pristine_run(inputs, tmp_path_factory):
    run = tmp_path_factory.mktemp("safety-run") / "run"
    assert cli("fit", "--model", inputs / "spec.toml", *data_args(inputs), "--out", run, *TINY) == 0
    assert cli("forecast", run, *FORECAST) == 0
    signals.RECEIVED.clear()
    signals.WRITTEN.clear()
    return run


@pytest.fixture
def run(pristine_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(pristine_run, copy)
    return copy


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def whole(run: Path) -> bool:
    return cli("validate", run, "--quiet") == 0


# ---- replacement only of escalate's own folders ------------------------------------------------
def test_report_never_replaces_the_run_or_a_users_folder(run, tmp_path, capsys):
    before = snapshot(run)
    assert cli("report", run, "-o", run, "--format", "json") == 2  # was: the run replaced, exit 0
    assert cli("report", run, "-o", run, "--format", "json", "--force") == 2
    assert snapshot(run) == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert cli("report", run, "-o", mine, "--format", "json", "--force") == 2
    assert (mine / "notes.txt").read_text() == "keep me"
    err = capsys.readouterr().err
    assert "replaces only an escalate report" in err and "Traceback" not in err
    out = tmp_path / "report"
    assert cli("report", run, "-o", out, "--format", "json") == 0
    assert cli("report", run, "-o", out, "--format", "json") == 2  # exists: needs --force
    assert cli("report", run, "-o", out, "--format", "json", "--force") == 0  # an escalate report


def test_fit_force_replaces_only_a_run(inputs, tmp_path, capsys):
    folder = tmp_path / "not-a-run"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    assert cli("fit", "--model", inputs / "spec.toml", *data_args(inputs), "--out", folder, "--force", *TINY) == 2
    assert (folder / "thesis.tex").read_text() == "years of work"
    assert "replaces only an escalate run" in capsys.readouterr().err


def test_demo_never_replaces_a_run(run, capsys):
    before = snapshot(run)
    assert cli("demo", "--fast", "--out", run) == 2  # was: fit.zarr replaced, old manifest kept
    assert snapshot(run) == before
    assert "replaces only an escalate demo" in capsys.readouterr().err


# ---- one writer at a time --------------------------------------------------------------------------
def test_a_second_process_is_refused_while_the_lock_is_held(run):
    """A cron `update` overlapping a manual `forecast`: the second one exits 2 naming the holder."""
    before = snapshot(run)
    with folders.folder_lock(run, "test: holding the run"):
        proc = subprocess.run([sys.executable, "-m", "escalate.cli", "forecast", str(run), *FORECAST],
                              capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert f"pid {os.getpid()}" in proc.stderr and "test: holding the run" in proc.stderr
    assert snapshot(run) == before
    assert not folders.lock_path(run).exists()  # released by its holder


def test_a_stale_lock_is_reported_not_broken(run, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = folders.lock_path(run)
    lock.write_text(json.dumps({"pid": dead.pid, "command": "escalate update (killed)", "since": "then"}))
    assert cli("forecast", run, *FORECAST) == 2
    err = capsys.readouterr().err
    assert "stale lock" in err and str(dead.pid) in err and str(lock) in err
    assert lock.exists()  # reported, not silently broken
    lock.unlink()
    assert cli("forecast", run, *FORECAST) == 0


def test_staging_left_by_dead_processes_is_removed_and_live_ones_kept(run, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = os.getppid()
    stale = run.with_name(f".run.{dead.pid}.abcd.tmp")
    busy = run.with_name(f".run.{live}.abcd.tmp")
    foreign = run.with_name(".run.mine.tmp")
    for folder in (stale, busy, foreign):
        folder.mkdir()
    assert cli("forecast", run, *FORECAST) == 0
    assert not stale.exists() and busy.exists() and foreign.exists()
    assert f"left by process {dead.pid}" in capsys.readouterr().err


def test_a_run_lost_between_two_renames_is_recovered_and_said(run, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    old = run.with_name(f".run.old.{dead.pid}.abcd.tmp")
    os.replace(run, old)  # the state a kill between the renames left behind
    assert cli("forecast", run, *FORECAST) == 0  # was: the only copy deleted as stale
    assert "recovered" in capsys.readouterr().err
    assert not old.exists() and whole(run)


# ---- interrupts at every write step ------------------------------------------------------------------
def count_steps(monkeypatch, command) -> list[str]:
    steps = []
    monkeypatch.setattr(folders, "_WRITE_HOOKS", [*folders._WRITE_HOOKS, lambda step, path: steps.append(step)])
    assert command() == 0
    return steps


@pytest.mark.parametrize("exchange", [True, False], ids=["one-step swap", "two renames"])
def test_an_interrupt_at_any_write_step_leaves_the_old_or_the_new_run(run, monkeypatch, exchange, capsys):
    if not exchange:
        monkeypatch.setattr(folders, "_exchange", lambda a, b: False)
    pristine = snapshot(run)
    hooks = list(folders._WRITE_HOOKS)  # the command line's own hook, installed by main()
    steps = []
    monkeypatch.setattr(folders, "_WRITE_HOOKS", [*hooks, lambda step, path: steps.append((step, path))])
    assert cli("forecast", run, *FORECAST) == 0
    assert ("committed", run) in steps and len(steps) >= 4
    expected = {"commit", "committed", "remove-old"} | ({"rename-old", "rename-new"} if not exchange else set())
    assert {s for s, p in steps if p == run} == expected
    capsys.readouterr()
    signals.WRITTEN.clear()
    for k, (step, where) in enumerate(steps):
        shutil.rmtree(run)
        restore(pristine, run)
        calls = []

        def fault(step, path, k=k, calls=calls):  # after the CLI's hook, as a signal would arrive
            calls.append((step, path))
            if len(calls) == k + 1:
                raise KeyboardInterrupt

        monkeypatch.setattr(folders, "_WRITE_HOOKS", [*folders._WRITE_HOOKS[:1], fault])
        status = cli("forecast", run, *FORECAST)
        err = capsys.readouterr().err
        signals.RECEIVED.clear()
        written = ("committed", run) in calls
        assert status == 130, (step, where, err)
        assert run.exists() and whole(run), (step, where)
        assert (snapshot(run) != pristine) == written, (step, where)
        assert not [p for p in run.parent.iterdir() if p.name.startswith(".run.")], (step, where)
        # the exit message tells the truth about what was written
        if written:
            assert "interrupted after writing" in err and str(run) in err, (step, err)
        else:
            assert "nothing was written" in err, (step, err)
        signals.WRITTEN.clear()


def restore(files: dict, folder: Path) -> None:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


def test_an_interrupt_a_library_swallowed_still_stops_the_write(run, monkeypatch, capsys):
    """A SIGINT swallowed inside llvmlite let the forecast run on and append to the archive."""
    before = snapshot(run)
    from escalate.cli import commands

    real = commands.run_forecast

    def swallowing(*args, **kwargs):
        signals.RECEIVED.append(signal.SIGINT)  # the handler ran; the library ate the exception
        return real(*args, **kwargs)

    monkeypatch.setattr(commands, "run_forecast", swallowing)
    assert cli("forecast", run, *FORECAST) == 130
    assert snapshot(run) == before
    assert "nothing was written" in capsys.readouterr().err


# ---- escalate validate RUN ---------------------------------------------------------------------------------
def test_validate_checks_a_run_against_its_manifest(run, capsys):
    assert cli("validate", run) == 0
    assert "whole" in capsys.readouterr().out
    (run / "forecast.csv").write_text((run / "forecast.csv").read_text() + "tampered\n")
    (run / "inputs" / "counts.csv").unlink()
    (run / "extra.txt").write_text("?")
    assert cli("validate", run) == 2
    out = capsys.readouterr().out
    assert "forecast.csv has changed" in out and "counts.csv is missing" in out and "extra.txt is not part" in out


# ---- update refuses what would corrupt the archive ---------------------------------------------------
def test_update_refuses_an_edited_model_a_shrunk_dataset_and_an_edited_archive(run, inputs, tmp_path, capsys):
    before = snapshot(run)
    spec = run / "model.toml"
    original = spec.read_text()
    spec.write_text(original.replace("threshold = 30", "threshold = 31"))
    assert cli("update", run, *data_args(inputs), *TINY) == 2
    assert "was edited since the run was made" in capsys.readouterr().err
    spec.write_text(original)
    shorter = tmp_path / "shorter.csv"
    pd.read_csv(inputs / "counts.csv").iloc[:40].to_csv(shorter, index=False)
    truces = tmp_path / "truces.csv"
    pd.read_csv(inputs / "truces.csv").assign(end=["2024-02-10"]).to_csv(truces, index=False)
    assert cli("update", run, "--counts", shorter, "--truces", truces, "--covariates", inputs / "covariates.csv",
               *TINY) == 2
    assert "end earlier than the run's" in capsys.readouterr().err
    archive = run / "forecasts.csv"
    content = archive.read_bytes()
    archive.write_bytes(content.replace(b"issued_at,", b"issued_at,extra,", 1))
    assert cli("forecast", run, *FORECAST) == 2
    assert "header" in capsys.readouterr().err
    archive.write_bytes(content)
    assert snapshot(run) == before


# ---- user mistakes: exit 2 with one clear line --------------------------------------------------------
@pytest.mark.parametrize("args,needle", [
    (["forecast", "RUN", "--horizon", "100000000"], "between 1 and 3650"),
    (["forecast", "RUN", "--paths", "0"], ">= 1"),
    (["forecast", "RUN", "--draws", "-3"], ">= 1"),
    (["fit", "--model", "SPEC", "--counts", "C", "--out", "O", "--chains", "0"], ">= 1"),
    (["fit", "--model", "SPEC", "--counts", "C", "--out", "O", "--tune", "-1"], ">= 1"),
    (["fit", "--model", "SPEC", "--counts", "C", "--out", "O", "--seed", "-5"], "a seed"),
    (["backtest", "--model", "SPEC", "--counts", "C", "--origins", "1", "-o", "O", "--workers", "0"], ">= 1"),
])
def test_bad_numbers_are_refused_before_any_work(args, needle, capsys):
    assert cli(*args) == 2
    assert needle in capsys.readouterr().err


def test_outputs_that_cannot_be_written_are_refused_before_the_fit(inputs, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli("fit", "--model", inputs / "spec.toml", *data_args(inputs), "--out", blocker / "run", *TINY) == 2
    assert "is a file" in capsys.readouterr().err
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "importers"
    folder = tmp_path / "counts-dir"
    folder.mkdir()
    assert cli("import", "acled", fixtures / "acled_iso.csv", "--mapping", fixtures / "acled_mapping.toml",
               "-o", folder, "--force") == 2  # was: IsADirectoryError, exit 1
    assert "is a folder" in capsys.readouterr().err and folder.is_dir()


def test_required_options_are_listed_as_required(capsys):
    assert cli("fit", "--help") == 0
    text = capsys.readouterr().out
    required = text[text.index("required arguments:"):]
    assert "--model" in required and "--out" in required and "--counts" in required
    assert "--seed" not in required


def test_explosive_simulation_parameters_are_a_user_error(inputs, tmp_path, capsys):
    params = tmp_path / "params.toml"
    params.write_text("[params]\nmu_log = [0.0, 0.0]\nbranching = [[1.5, 0.5], [0.5, 1.5]]\ndecay = 1.0\n")
    assert cli("simulate", "--model", inputs / "spec.toml", "--params", params, "--truces", inputs / "truces.csv",
               "--covariates", inputs / "covariates.csv", "-o", tmp_path / "out.csv") == 2
    err = capsys.readouterr().err
    assert "spectral radius" in err or "explosive" in err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("spec,needle", [
    ("[priors]\ndecay = { dist = \"LogNormal\", mu = 0.0, sigma = inf }\n", "finite"),
    ("[priors]\nmu_verification = { dist = \"Normal\", mu = nan, sigma = 1.0 }\n", "finite"),
    ("[[scenario]]\nname = \"status quo\"\nverification = 0.9\n", "always includes"),
    ("[[scenario]]\nname = \"a\"\nverification = 0.9\n[[scenario]]\nname = \"a\"\nverification = 0.1\n", "unique"),
])
def test_bad_specs_are_user_errors(spec, needle, inputs, tmp_path, capsys):
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.split("[[collapse]]")[0] + spec)
    assert cli("fit", "--model", path, *data_args(inputs), "--out", tmp_path / "r", *TINY) == 2
    assert needle in capsys.readouterr().err


def test_binary_and_directory_specs_are_user_errors(inputs, tmp_path, capsys):
    binary = tmp_path / "spec.toml"
    binary.write_bytes(bytes(range(256)))
    assert cli("fit", "--model", binary, *data_args(inputs), "--out", tmp_path / "r", *TINY) == 2
    assert cli("fit", "--model", tmp_path, *data_args(inputs), "--out", tmp_path / "r", *TINY) == 2
    err = capsys.readouterr().err
    assert "not a text file" in err and "is a directory" in err


@pytest.mark.parametrize("mutate,needle", [
    (lambda c, t: (c.assign(x=c["x"].astype(bool)), t), "true/false"),
    (lambda c, t: (c.assign(x=c["x"].astype(float).where(c.index != 3, 1e12)), t), "far beyond any recorded"),
    (lambda c, t: (c.assign(date=pd.to_datetime(c["date"]) + pd.Timedelta(days=400)), t), "none of its dates"),
    (lambda c, t: (c, t.assign(end=["9999-12-31"])), "outside the years"),
    (lambda c, t: (c.iloc[:0], t), "has no rows"),
])
def test_garbage_data_is_refused(mutate, needle, inputs, tmp_path, capsys):
    counts, truces = mutate(pd.read_csv(inputs / "counts.csv"), pd.read_csv(inputs / "truces.csv"))
    counts.to_csv(tmp_path / "c.csv", index=False)
    truces.to_csv(tmp_path / "t.csv", index=False)
    assert cli("fit", "--model", inputs / "spec.toml", "--counts", tmp_path / "c.csv", "--truces", tmp_path / "t.csv",
               "--covariates", inputs / "covariates.csv", "--out", tmp_path / "r", *TINY) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_fill_missing_never_invents_days_that_have_not_happened(inputs, tmp_path, capsys):
    truces = pd.read_csv(inputs / "truces.csv").assign(end=["2024-06-01"])  # beyond the last count
    truces.to_csv(tmp_path / "t.csv", index=False)
    assert cli("fit", "--model", inputs / "spec.toml", "--counts", inputs / "counts.csv", "--truces", tmp_path / "t.csv",
               "--covariates", inputs / "covariates.csv", "--fill-missing", "--out", tmp_path / "r", *TINY) == 2
    assert "not yet observed" in capsys.readouterr().err


def test_damaged_stores_and_manifests_are_user_errors(run, capsys):
    chunk = run / "fit.zarr" / "posterior" / "branching" / "0.0.0.0"
    content = chunk.read_bytes()
    chunk.write_bytes(content[: len(content) // 2])
    assert cli("report", run, "--format", "json") == 2
    assert "damaged" in capsys.readouterr().err
    chunk.write_bytes(content)
    attrs = run / "fit.zarr" / ".zattrs"
    original = attrs.read_text()
    attrs.write_text(original.replace('"format_version": 1', '"format_version": "abc"'))
    assert cli("report", run, "--format", "json") == 2
    assert "is not a number" in capsys.readouterr().err
    attrs.write_text(original)
    forecast_attrs = run / "forecast.zarr" / ".zattrs"
    forecast_attrs.write_text("{}")
    assert cli("report", run, "--format", "json") == 2
    assert "not an escalate forecast" in capsys.readouterr().err
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({k: v for k, v in manifest.items() if k != "inputs"}))
    assert cli("update", run, "--counts", run / "inputs" / "counts.csv", *TINY) == 2
    assert "'inputs' is missing" in capsys.readouterr().err
    (run / "manifest.json").write_text("[1, 2]")
    assert cli("forecast", run, *FORECAST) == 2
    assert "JSON object" in capsys.readouterr().err


def test_scenario_names_are_plain_text_in_figures(pristine_run, tmp_path):
    """A scenario named with matplotlib mathtext crashed `report` (ValueError, exit 1)."""
    from escalate import Scenario, load_fit
    from escalate.reporting.report import report

    fit = load_fit(pristine_run / "fit.zarr")
    forecast = fit.forecast(10, scenarios=[Scenario("$\\frac{$", verification=0.9)], draws=10, paths=5, seed=1)
    files = report(fit, forecast, tmp_path / "rep", format="md")
    assert (tmp_path / "rep" / "report.md").exists() and any(f.suffix == ".png" for f in files)
