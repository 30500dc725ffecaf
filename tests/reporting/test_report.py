"""Report export: content, escaping, the JSON schema, the failure banner, and a real browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

import escalate
from escalate.reporting.report import report_schema

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def evil_report(tmp_path_factory):
    """A report whose stream, truce and note strings are hostile HTML."""
    events = pd.DataFrame({"truce_id": ["t&<b>"] * 6, "time": [1.0, 2.5, 4.0, 10.2, 17.0, 29.5],
                           "stream": ["x", EVIL, "x", "x", EVIL, "x"]})
    truces = pd.DataFrame({"truce_id": ["t&<b>"], "start": [0.0], "end": [40.0], "note": ["<img src=x onerror=alert(2)>"]})
    covs = pd.DataFrame({"truce_id": ["t&<b>"] * 2, "start": [0.0, 20.0], "verification": [0.2, 0.6], "penalty_tier": [0, 1]})
    data = escalate.TruceData.from_frames(events, truces, covs)
    rng = np.random.default_rng(0)
    n = 50
    draws = {"mu_log": np.log(rng.uniform(0.05, 0.1, (n, 2))), "branching": rng.uniform(0.2, 0.4, (n, 2, 2)),
             "decay": rng.uniform(0.3, 0.6, n), "excite_tier": rng.normal(0, 0.3, (n, 1)),
             "mu_verification": rng.normal(0, 0.3, n), "excite_verification_cross": rng.normal(-0.5, 0.2, n)}
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2})
    fit = escalate.fit_from_draws(data, spec, draws)  # one chain: diagnostics fail, by construction
    forecast = fit.forecast(20, scenarios=[escalate.Scenario(f"cell {EVIL}", verification=0.9, from_day=3)],
                            collapse=escalate.CollapseRule.count(3, 7, streams=[EVIL]), paths=20)
    out = tmp_path_factory.mktemp("report") / "evil"
    escalate.report(fit, forecast, out, format="all", command=f"escalate report {EVIL}")
    return out


def test_all_formats_are_written(evil_report):
    names = {p.relative_to(evil_report).as_posix() for p in evil_report.rglob("*") if p.is_file()}
    assert {"report.html", "report.md", "report.json", "tables/headline.csv", "tables/risk_by_day.csv",
            "figures/collapse_risk.png"} <= names
    headline = pd.read_csv(evil_report / "tables" / "headline.csv")
    assert set(headline["horizon_day"]) == {7}  # 30 and 90 lie beyond the 20-day horizon


def test_user_strings_are_escaped(evil_report):
    page = (evil_report / "report.html").read_text()
    assert "<script" not in page.lower() and "onerror=alert" not in page.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    md = (evil_report / "report.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md


def test_sections_in_order_and_failure_banner(evil_report):
    page = (evil_report / "report.html").read_text()
    order = ["class='banner'", "id='headline'", "id='risk'", "id='contrasts'", "id='history'", "id='branching'",
             "id='effects'", "id='diagnostics'", "id='fit'", "id='provenance'"]
    positions = [page.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert "not to be trusted" in page and "DIAGNOSTICS FAILED" in (evil_report / "report.md").read_text()
    assert "Collapse</b> means: at least 3" in page
    assert "Reproduce:" in page and "http://" not in page and "https://" not in page.replace("https://json", "")


def test_json_validates_against_its_schema(evil_report):
    payload = json.loads((evil_report / "report.json").read_text())
    jsonschema.validate(payload, report_schema())
    assert payload["report_schema_version"] == 1 and payload["diagnostics"]["trustworthy"] is False
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**payload, "headline": [{"scenario": "x"}]}, report_schema())


@pytest.mark.slow
def test_passing_fit_has_no_banner_and_a_real_browser_renders_it(tmp_path):
    from playwright.sync_api import sync_playwright

    from escalate.datasets import israel_hezbollah

    spec = escalate.ModelSpec.from_toml(Path(__file__).resolve().parents[2] / "models" / "israel-hezbollah.toml")
    fit = escalate.fit(israel_hezbollah(), spec, seed=20261126)
    assert fit.diagnostics.passed
    out = tmp_path / "report"
    escalate.report(fit, fit.forecast(90, draws=200, paths=20), out, format="html")
    page_file = out / "report.html"
    assert "class='banner'" not in page_file.read_text()
    assert "acleddata.com" in page_file.read_text()  # the attribution travels with the data

    console_errors, failed, external = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("requestfailed", lambda req: failed.append(req.url))
        page.route("**/*", lambda route: (external.append(route.request.url), route.abort())
                   if not route.request.url.startswith(("file:", "data:")) else route.continue_())
        page.goto(page_file.as_uri())
        sizes = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => [i.naturalWidth, i.getBoundingClientRect().width, i.getBoundingClientRect().height])")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert not console_errors and not failed and not external
    assert len(sizes) >= 5 and all(w > 0 and bw > 0 and bh > 0 for w, bw, bh in sizes), sizes
