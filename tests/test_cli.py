"""The command line, run as a user runs it (subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "escalate.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.nuts
def test_demo_fits_forecasts_and_prints_the_headline(tmp_path):
    out = tmp_path / "demo.zarr"
    result = run("demo", "--quiet", "--out", str(out), env={"ESCALATE_FAST": "1"})
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "94% equal-tailed" in text and "diagnostics:" in text
    assert "P(collapse within h days)" in text and "penalties escalate" in text
    assert "acleddata.com" in text  # the attribution travels with the data
    import escalate

    loaded = escalate.load_fit(out)
    assert loaded.saved_forecast.scenarios == ["status quo", "verification cell", "penalties escalate"]


def test_user_mistake_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("penalty_teirs = 3\n")
    result = run("demo", "--model", str(bad))
    assert result.returncode == 2
    assert "penalty_teirs" in result.stderr and "Traceback" not in result.stderr
