"""``escalate backtest --corpus``: a corpus backtest from the command line, its folder promises."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from escalate.model.simulate_corpus import DEFAULT_BINS, simulate_corpus

HAZARD_SPEC = f"""schema_version = 1
name = "hazard-only"
penalty_tiers = 3
violence = false
[hazard]
bins = {list(DEFAULT_BINS)}
covariates = ["written", "mediated"]
[sampler]
draws = 100
tune = 100
chains = 2
"""


def run(*args):
    return subprocess.run([sys.executable, "-m", "escalate.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=900, env=dict(os.environ))


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    corpus, _ = simulate_corpus(80, 6, seed=8, event_share=0.0, max_days=150)
    truces = corpus.truces[["truce_id", "group", "start", "end", "end_type", "verification", "penalty_tier",
                            "written", "mediated"]]
    truces.to_csv(folder / "truces.csv", index=False)
    (folder / "spec.toml").write_text(HAZARD_SPEC)
    return folder


def test_corpus_input_mistakes_exit_2_with_the_fix(corpus_files, tmp_path):
    base = ["backtest", "--model", corpus_files / "spec.toml", "--origins", "2006-01-01", "-o", tmp_path / "bt"]
    result = run(*base, "--corpus", corpus_files / "truces.csv")
    assert result.returncode == 2 and "--cutoff" in result.stderr
    result = run(*base, "--corpus", tmp_path / "nothing.csv")
    assert result.returncode == 2 and "no such file" in result.stderr
    result = run(*base[:4], "2006-01-01:2009-01-01:1q", *base[5:], "--corpus", corpus_files / "truces.csv",
                 "--cutoff", "2012-01-01")
    assert result.returncode == 2 and "STEP" in result.stderr
    assert not (tmp_path / "bt").exists()


@pytest.mark.slow
def test_a_corpus_backtest_writes_its_tables_and_refuses_to_overwrite(corpus_files, tmp_path):
    out = tmp_path / "bt"
    args = ["backtest", "--corpus", corpus_files / "truces.csv", "--cutoff", "2012-01-01", "--static-covariates",
            "written,mediated", "--model", corpus_files / "spec.toml", "--origins", "2005-01-01:2009-01-01:2y",
            "--horizons", "30,90", "--days-after-start", "1", "--scheduler", "synchronous", "-o", out, "--quiet"]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    for name in ("scores.csv", "skill.csv", "reliability.csv", "fits.csv", "forecasts.csv", "summary.txt",
                 "manifest.json", "reliability-30d.png", "reliability-90d.png"):
        assert (out / name).exists(), name
    fits = pd.read_csv(out / "fits.csv")
    assert sorted(set(fits["origin"])) == ["2005-01-01", "2007-01-01", "2009-01-01"]
    scores = pd.read_csv(out / "scores.csv")
    assert {"base rate", "hazard"} <= set(scores["forecaster"]) and {"brier_lo", "calibration_slope"} <= set(scores)
    assert not (tmp_path / ".bt.origins").exists()  # the work folder goes once the output is whole
    again = run(*args)
    assert again.returncode == 2 and "already exists" in again.stderr
    resumed = run(*args, "--resume")  # a finished backtest has nothing to resume
    assert resumed.returncode == 2 and "nothing to resume" in resumed.stderr
