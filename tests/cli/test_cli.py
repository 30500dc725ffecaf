"""The command line, run as a user runs it: subprocesses, tiny draws, every command and error path."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import escalate
from escalate.datasets import israel_hezbollah_daily, synthetic

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "models" / "israel-hezbollah.toml"
FIXTURES = ROOT / "tests" / "fixtures" / "importers"
TINY = ["--draws", "100", "--tune", "100", "--chains", "2"]


def run(*args, env=None, timeout=600, cwd=None):
    return subprocess.run([sys.executable, "-m", "escalate.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **{k: str(v) for k, v in (env or {}).items()}}, cwd=cwd)


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "escalate.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    frames = israel_hezbollah_daily()
    counts = frames.counts[["date", "israel_il_lb", "hezbollah_il_lb"]].rename(
        columns={"israel_il_lb": "israel", "hezbollah_il_lb": "hezbollah"})
    counts.to_csv(folder / "counts.csv", index=False)
    counts[counts["date"] <= "2025-06-30"].to_csv(folder / "counts_early.csv", index=False)
    truces = frames.truces.copy()
    truces["end"] = truces["end"].astype(object)
    truces.loc[truces["truce_id"] == "lebanon-cessation-2024", "end"] = None  # ongoing: through the data
    truces.to_csv(folder / "truces.csv", index=False)
    frames.covariates.to_csv(folder / "covariates.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def fitted_run(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    result = run("fit", "--model", SPEC, "--counts", files / "counts_early.csv", "--truces", files / "truces.csv",
                 "--covariates", files / "covariates.csv", "--out", out, "--seed", 3, *TINY, "--quiet")
    assert result.returncode == 0, result.stderr
    return out, result


def _copy(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    return target


def test_fit_writes_a_complete_run(fitted_run, files):
    out, result = fitted_run
    assert "diagnostics:" in result.stdout and "wrote run" in result.stdout
    assert "Traceback" not in result.stderr and "NUTS" not in result.stderr  # --quiet
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["sampling"] == {"draws": 100, "tune": 100, "chains": 2}
    assert set(manifest["inputs"]) == {"counts", "truces", "covariates"}
    assert len(manifest["inputs"]["counts"]["sha256"]) == 64
    assert {"escalate", "pymc", "numpy", "python"} <= set(manifest["versions"])
    assert manifest["diagnostics"]["verdict"].startswith("FAILED")  # 2 x 100 draws cannot pass
    assert manifest["command"][0].endswith("cli.py") or "fit" in manifest["command"]
    assert manifest["timings"]["fit_seconds"] > 0
    assert escalate.load_fit(out / "fit.zarr").data.truce_ids == ("gaza-pause-2023", "lebanon-cessation-2024")
    assert (out / "model.toml").read_text() == SPEC.read_text()


def test_an_existing_run_is_not_overwritten_without_force(fitted_run, files, tmp_path):
    out = _copy(fitted_run[0], tmp_path)
    before = (out / "manifest.json").read_text()
    result = run("fit", "--model", SPEC, "--counts", files / "counts_early.csv", "--truces", files / "truces.csv",
                 "--covariates", files / "covariates.csv", "--out", out, *TINY)
    assert result.returncode == 2 and "--force" in result.stderr
    assert (out / "manifest.json").read_text() == before


def test_same_inputs_and_seed_give_the_same_numbers(fitted_run, files, tmp_path):
    args = ["fit", "--model", SPEC, "--counts", files / "counts_early.csv", "--truces", files / "truces.csv",
            "--covariates", files / "covariates.csv", "--seed", 3, *TINY, "--quiet"]
    for name in ("again", "third"):
        result = run(*args, "--out", tmp_path / name)
        assert result.returncode == 0, result.stderr
    draws = {name: escalate.load_fit(path / "fit.zarr").tree["posterior"]["branching"].values
             for name, path in (("first", fitted_run[0]), ("again", tmp_path / "again"), ("third", tmp_path / "third"))}
    # once compiled, runs reproduce bit for bit
    assert (draws["again"] == draws["third"]).all()
    # the first run may have compiled afresh, which can differ in the last bits from later cache
    # loads (docs/cli.md): it agrees within Monte Carlo error (2 x 100 draws: loose by design)
    assert abs(draws["first"].mean() - draws["again"].mean()) < 0.1


def test_forecast_then_update_appends_and_never_rewrites(fitted_run, files, tmp_path):
    out = _copy(fitted_run[0], tmp_path)
    result = run("forecast", out, "--horizon", 30, "--draws", 50, "--paths", 10, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "P(collapse within h days)" in result.stdout and "note on verification cell" in result.stdout
    table = pd.read_csv(out / "forecast.csv")
    assert len(table) == 3 * 30 and {"p_collapse_mean", "p_collapse_q05", "p_collapse_q95"} <= set(table.columns)
    assert escalate.load_fit(out / "fit.zarr").data.resolution == "day"
    archive_before = (out / "forecasts.csv").read_text()
    assert archive_before.count("\n") == 1 + 90

    result = run("update", out, "--counts", files / "counts.csv", "--fill-missing", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {row["scenario"] for row in payload["headline"]} == {"status quo", "verification cell", "penalties escalate"}
    archive = (out / "forecasts.csv").read_text()
    assert archive.startswith(archive_before) and archive.count("\n") == 1 + 180
    rows = pd.read_csv(out / "forecasts.csv")
    assert rows["data_end"].nunique() == 2  # the update forecast from the new end of the data
    manifest = json.loads((out / "manifest.json").read_text())
    assert [h["event"] for h in manifest["history"]] == ["fit", "forecast", "update", "forecast"]
    assert manifest["sampling"] == {"draws": 100, "tune": 100, "chains": 2}  # the run's settings reused


def test_report_command_exports_all_formats(fitted_run, tmp_path):
    out = _copy(fitted_run[0], tmp_path)
    assert run("report", out).returncode == 2  # no forecast yet: a clear user error
    assert run("forecast", out, "--horizon", 10, "--draws", 20, "--paths", 5, "--quiet").returncode == 0
    result = run("report", out, "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["diagnostics_passed"] is False
    page = (out / "report" / "report.html").read_text()
    assert "not to be trusted" in page and "escalate" in page and "fit --model" in page  # the reproducing command


def test_forecast_unknown_scenario_is_a_user_error(fitted_run, tmp_path):
    out = _copy(fitted_run[0], tmp_path)
    result = run("forecast", out, "--scenario", "nonsense")
    assert result.returncode == 2 and "unknown scenario 'nonsense'" in result.stderr
    assert "Traceback" not in result.stderr and not (out / "forecast.csv").exists()


def wait_for_line(proc, needle: str) -> list[str]:
    """Read the process's stderr until a line contains ``needle`` (no sleeping, no timing)."""
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"the process ended without printing {needle!r}: {''.join(seen)}")


def test_interrupted_fit_leaves_no_run_and_the_previous_run_intact(fitted_run, files, tmp_path):
    args = ["fit", "--model", SPEC, "--counts", files / "counts.csv", "--truces", files / "truces.csv",
            "--covariates", files / "covariates.csv", "--draws", "200000", "--chains", "2"]
    fresh = tmp_path / "fresh"
    proc = start(*args, "--out", fresh)
    wait_for_line(proc, "escalate: sampling")  # 200,000 draws take minutes: it is mid-fit now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130 and "nothing was written" in err
    assert not fresh.exists() and not list(tmp_path.glob(".fresh*"))

    existing = _copy(fitted_run[0], tmp_path)
    snapshot = {p: p.read_bytes() for p in existing.rglob("*") if p.is_file()}
    proc = start(*args, "--out", existing, "--force")
    wait_for_line(proc, "escalate: sampling")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=300)
    assert proc.returncode == 143
    assert {p: p.read_bytes() for p in existing.rglob("*") if p.is_file()} == snapshot


def test_an_interrupt_before_the_heavy_imports_is_handled(tmp_path):
    """The handlers are installed before PyMC loads: a SIGTERM that arrives while the heavy
    libraries are being imported (sent by an import hook the moment `pymc` is looked up, so
    no timing is involved) exits 143 with the message, not a traceback or a silent kill."""
    code = "\n".join([
        "import os, signal, sys",
        "class Trip:",
        "    def find_spec(self, name, path=None, target=None):",
        "        if name == 'pymc':",
        "            os.kill(os.getpid(), signal.SIGTERM)",
        "sys.meta_path.insert(0, Trip())",
        "from escalate.cli import main",
        "sys.exit(main(['demo', '--fast']))",
    ])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 143, proc.stderr
    assert "interrupted" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_validate_lists_every_problem(files, tmp_path):
    ok = run("validate", files / "counts.csv", files / "truces.csv", files / "covariates.csv")
    assert ok.returncode == 0 and "no problems found" in ok.stdout
    covs = pd.read_csv(files / "covariates.csv")
    covs.loc[0, "verification"] = 1.5
    covs.loc[1, "penalty_tier"] = -1
    covs.to_csv(tmp_path / "covs.csv", index=False)
    counts = pd.read_csv(files / "counts.csv")
    counts.loc[3, "israel"] = -2
    counts.to_csv(tmp_path / "counts.csv", index=False)
    (tmp_path / "junk.csv").write_text("a,b\n1,2\n")
    bad = run("validate", tmp_path / "counts.csv", files / "truces.csv", tmp_path / "covs.csv", tmp_path / "junk.csv",
              "--json")
    assert bad.returncode == 2
    problems = json.loads(bad.stdout)["problems"]
    assert len(problems) == 4, problems
    text = " ".join(problems)
    assert "verification must lie in [0, 1]" in text and "row 1" in text
    assert "penalty_tier must be a whole number" in text and "counts must be whole numbers" in text
    assert "junk.csv: not recognised" in text
    missing = run("validate", tmp_path / "missing.csv")  # the report is validate's output
    assert missing.returncode == 2 and "missing.csv: file not found" in missing.stdout


def test_import_writes_counts_with_provenance_and_reports_unmapped(tmp_path):
    out = tmp_path / "counts.csv"
    result = run("import", "acled", FIXTURES / "acled_iso.csv", "--mapping", FIXTURES / "acled_mapping.toml", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "unmapped actors" in result.stdout
    counts = pd.read_csv(out)
    assert list(counts.columns) == ["date", "stream", "count"] and counts["count"].sum() > 0
    assert json.loads((tmp_path / "counts.csv.provenance.json").read_text())["source"] == "acled"
    again = run("import", "acled", FIXTURES / "acled_iso.csv", "--mapping", FIXTURES / "acled_mapping.toml", "-o", out)
    assert again.returncode == 2 and "--force" in again.stderr


def test_simulate_writes_events(tmp_path, files):
    params = tmp_path / "params.toml"
    params.write_text("[params]\nmu_log = [-1.0, -2.0]\nbranching = [[0.3, 0.1], [0.2, 0.2]]\ndecay = 0.8\n"
                      "mu_tier = [0.0, 0.0, -1.0]\n")
    spec = tmp_path / "spec.toml"
    spec.write_text('streams = ["israel", "hezbollah"]\npenalty_tiers = 4\n')
    truces = pd.read_csv(files / "truces.csv").fillna({"end": "2025-09-15"})
    truces.to_csv(tmp_path / "truces.csv", index=False)
    out = tmp_path / "events.csv"
    result = run("simulate", "--model", spec, "--params", params, "--truces", tmp_path / "truces.csv",
                 "--covariates", files / "covariates.csv", "-o", out, "--seed", 2, "--json")
    assert result.returncode == 0, result.stderr
    events = pd.read_csv(out)
    assert json.loads(result.stdout)["events"] == len(events) > 0
    data = escalate.TruceData.from_frames(out, tmp_path / "truces.csv", files / "covariates.csv")
    assert set(data.streams) <= {"israel", "hezbollah"}


@pytest.mark.parametrize("args,needle", [
    (["fit", "--model", "nope.toml", "--counts", "x.csv", "--truces", "t.csv", "--covariates", "c.csv", "--out", "r"],
     "model spec file not found"),
    (["forecast", "no-such-run"], "not an escalate run directory"),
    (["import", "ucdp", "missing.csv", "--mapping", "m.toml", "-o", "o.csv"], "m.toml"),
])
def test_user_mistakes_exit_2_with_one_clear_line(tmp_path, args, needle):
    result = subprocess.run([sys.executable, "-m", "escalate.cli", *args], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_column_names_the_file(files, tmp_path):
    covs = pd.read_csv(files / "covariates.csv").rename(columns={"verification": "verif"})
    covs.to_csv(tmp_path / "c.csv", index=False)
    result = run("fit", "--model", SPEC, "--counts", files / "counts.csv", "--truces", files / "truces.csv",
                 "--covariates", tmp_path / "c.csv", "--out", tmp_path / "r", *TINY)
    assert result.returncode == 2 and "c.csv" in result.stderr and "'verification'" in result.stderr


@pytest.mark.slow
def test_demo_runs_the_embedded_synthetic_example_without_any_data_folder(tmp_path):
    out = tmp_path / "demo"
    nowhere = tmp_path / "no-data"
    result = run("demo", "--quiet", "--fast", "--out", out, env={"ESCALATE_DATA": nowhere}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "synthetic truces simulated from a known truth" in text
    assert "94% equal-tailed" in text and "diagnostics:" in text
    assert "truth against the posterior" in text and "branching[0, 1]" in text
    assert "FAILED" in text  # --fast: 200 draws, and the output says the diagnostics failed
    assert "P(collapse within h days)" in text and "penalties escalate" in text
    assert escalate.load_forecast(out / "forecast.zarr").scenarios == [
        "status quo", "verification cell", "penalties escalate"]
    assert escalate.load_fit(out / "fit.zarr").data.data_hash == synthetic().data_hash
    assert "report.html" in text and (out / "report" / "report.html").exists()
    assert (out / "report" / "report.json").exists() and (out / "report" / "report.md").exists()
    # a folder the demo did not write is never replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    refused = run("demo", "--quiet", "--fast", "--out", tmp_path / "mine")
    assert refused.returncode == 2 and "replaces only an escalate demo" in refused.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_demo_of_the_real_example_reads_the_shared_data_and_keeps_the_attribution(tmp_path):
    result = run("demo", "--example", "israel-hezbollah", "--quiet", "--fast", "--out", tmp_path / "real")
    assert result.returncode == 0, result.stderr
    assert "Israel-Hezbollah" in result.stdout and "acleddata.com" in result.stdout
    assert "P(collapse within h days)" in result.stdout
