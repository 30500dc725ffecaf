"""Posterior reports for decision makers: HTML, Markdown, JSON and CSV (``escalate.report``).

One content builder gathers every number, table and figure; the writers render it. The HTML is
one self-contained file (figures embedded as PNG data, no script, no request to any host).
Every user-supplied string is escaped. A fit whose diagnostics fail gets a red banner at the top.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from escalate.checking.goodness import (
    pit_test,
    posterior_predictive_check,
    randomized_pit,
    time_rescaling_test,
)
from escalate.checking.posterior import (
    effective_branching_at_last_state,
    fitted_daily_rate,
    observed_daily_counts,
)
from escalate.checking.prior_predictive import prior_predictive
from escalate.errors import EscalateInputError
from escalate.folders import MANIFEST, atomic_directory, check_output_folder
from escalate.model.parameters import kernel_order, spectral_radius
from escalate.model.priors import prior_draws
from escalate.reporting import plots
from escalate.version import __version__

REPORT_SCHEMA_VERSION = 1
FORMATS = ("html", "md", "json", "csv")
INTERVAL = "90% equal-tailed interval over posterior draws"


@dataclass
class Content:
    """Everything a report says, format-free."""

    title: str
    meta: dict
    failed: bool
    verdict: str
    collapse: str
    scenarios: list[str]
    notes: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _covariate_spans(data, truce: str) -> dict[str, list]:
    seg = data.segments
    j = data.truce_ids.index(truce)
    return {stream: [(float(seg.start[s]), float(seg.end[s]), float(seg.verification[s]), int(seg.tier[s, k]))
                     for s in range(seg.offsets[j], seg.offsets[j + 1])] for k, stream in enumerate(data.streams)}


def build_content(fit, forecast, command: str | None = None) -> Content:
    """Gather the report's numbers, tables and figures."""
    data, spec, diag = fit.data, fit.spec, fit.diagnostics
    attrs = forecast.ds.attrs
    truce = attrs["truce"]
    run = json.loads(fit.tree.attrs.get("run", "{}"))
    content = Content(
        title=f"Truce collapse risk: {truce}", failed=not diag.passed, verdict=diag.verdict,
        collapse=forecast.collapse_definition(), scenarios=[s.describe() for s in forecast.scenario_objects()],
        notes={**forecast.notes, **{f"{name} (explosive draws)": note
                                    for name, note in forecast.escalation_note().items()}},
        meta={"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "escalate_version": __version__,
              "truce": truce, "cutoff": attrs["cutoff"], "horizon_days": forecast.horizon,
              "draws": int(forecast.ds.sizes["sample"]), "paths": int(attrs["paths"]), "seed": int(attrs["seed"]),
              "fit_seed": run.get("seed"), "sampler": run.get("sampler"), "versions": run.get("versions", {}),
              "spec_name": spec.name, "spec_id": spec.spec_id, "spec": spec.to_dict(), "data_hash": data.data_hash,
              "resolution": data.resolution, "observation": spec.observation, "streams": list(data.streams),
              "truces": list(data.truce_ids), "provenance": data.provenance,
              "command": command or (f"escalate.fit(data, ModelSpec.from_toml({spec.source!r}), seed={run.get('seed')})"
                                     f".forecast({forecast.horizon}, paths={attrs['paths']}, seed={attrs['seed']})")},
    )
    t = content.tables
    t["headline"] = forecast.headline()
    t["risk_by_day"] = forecast.to_frame()
    t["contrasts"] = forecast.contrasts()
    t["escalation"] = forecast.escalation()
    branching = effective_branching_at_last_state(fit, truce)
    rows = []
    for source in branching["source"].values:
        for target in branching["target"].values:
            v = branching.sel(source=source, target=target).values
            rows.append({"source": source, "target": target, "mean": v.mean(), "q05": np.quantile(v, 0.05),
                         "q95": np.quantile(v, 0.95)})
    t["branching"] = pd.DataFrame(rows)
    summary = fit.summary(ci_prob=0.9)
    t["parameters"] = summary.reset_index(names="parameter")
    t["diagnostics"] = pd.DataFrame([diag.to_dict()])

    if data.resolution == "exact":
        point = {k: np.median(v, axis=0) for k, v in fit.posterior_draws().items()
                 if k in kernel_order()}
        t["goodness_of_fit"] = time_rescaling_test(data, point).assign(test="time rescaling, KS vs Exp(1)")
    else:
        t["goodness_of_fit"] = pit_test(randomized_pit(fit, draws=200)).assign(test="randomised PIT, KS vs U(0,1)")
    t["posterior_predictive"] = posterior_predictive_check(fit, draws=100)
    # what the priors alone imagine for these truces (MODEL.md 2), beside what the data taught
    t["prior_predictive"] = prior_predictive(spec, data=data, n=200, seed=0, collapse=forecast.rules).summary()

    f, c = content.figures, content.captions
    f["collapse_risk"] = _png(plots.collapse_risk(forecast))
    c["collapse_risk"] = "P(collapse by each day after the end of the data), per scenario: posterior mean and 90% interval."
    if len(t["contrasts"]):
        f["contrasts"] = _png(plots.contrasts(forecast))
        c["contrasts"] = "Risk difference of each scenario against the status quo, draw by draw, with 90% intervals."
    for name in data.truce_ids[-4:]:
        rate = fitted_daily_rate(fit, name, draws=200)
        key = f"history_{data.truce_ids.index(name)}"
        f[key] = _png(plots.history(observed_daily_counts(data, name), rate, _covariate_spans(data, name),
                                    f"{name}: events per day and fitted rate"))
        c[key] = (f"{name}: observed events per day (bars), fitted expected events per day (median line, 90% band), "
                  f"and the covariate timeline shaded behind (darker = more verification).")
    rho = effective_branching_at_last_state(fit, truce, draws=4000)

    values = spectral_radius(rho.values)
    f["spectral_radius"] = _png(plots.spectral_radius(values, float((values >= 1).mean()), rho.attrs["state"]))
    c["spectral_radius"] = "Posterior of the escalation indicator at the last observed covariate state."
    post = fit.posterior_draws()
    pairs = []
    for name in ("mu_verification", "excite_verification_self", "excite_verification_cross", "mu_tier", "excite_tier"):
        if name not in post:
            continue
        draws = post[name].reshape(len(post[name]), -1)
        labels = [name] if draws.shape[1] == 1 else [f"{name}[tier {i + 1}]" for i in range(draws.shape[1])]
        pairs += [(label, prior_draws(spec, name, seed=i), draws[:, i]) for i, label in enumerate(labels)]
    if pairs:
        f["covariate_effects"] = _png(plots.prior_posterior(pairs))
        c["covariate_effects"] = ("Covariate effects: prior (grey) against posterior (blue). Where they coincide the "
                                  "data say nothing about that effect.")
    return content


# ---- writers ----------------------------------------------------------------------------------
def _fmt(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"
    return str(value)


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _headline_words(content: Content) -> list[str]:
    out = []
    for name, rows in content.tables["headline"].groupby("scenario", sort=False):
        cells = [f"{int(r.horizon_day)} days: {r.p_collapse_mean:.1%} (90% interval {r.p_collapse_q05:.1%} to "
                 f"{r.p_collapse_q95:.1%})" for r in rows.itertuples()]
        out.append((name, "; ".join(cells)))
    return out


SECTIONS = [
    ("risk", "Collapse risk by horizon day", ["collapse_risk"], []),
    ("contrasts", "Scenario contrasts", ["contrasts"], ["contrasts_at_headline"]),
    ("history", "Event history and fitted intensity", ["history_*"], []),
    ("branching", "Who provokes whom", ["spectral_radius"], ["branching", "escalation"]),
    ("effects", "Covariate effects: posterior against prior", ["covariate_effects"], ["prior_predictive"]),
    ("diagnostics", "Diagnostics", [], ["diagnostics", "parameters"]),
    ("fit", "Goodness of fit", [], ["goodness_of_fit", "posterior_predictive"]),
]


def _section_figures(content: Content, patterns: list[str]) -> list[str]:
    keys = []
    for pattern in patterns:
        keys += [k for k in content.figures if (k.startswith(pattern[:-1]) if pattern.endswith("*") else k == pattern)]
    return keys


def _extra_tables(content: Content) -> None:
    contrasts = content.tables["contrasts"]
    days = content.tables["headline"]["horizon_day"].unique()
    content.tables["contrasts_at_headline"] = contrasts[contrasts["horizon_day"].isin(days)] if len(contrasts) else contrasts


def write_html(content: Content, path: Path) -> None:
    e = html.escape
    _extra_tables(content)
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>{e(content.title)}</title><style>{CSS}</style></head><body>"]
    if content.failed:
        parts.append(f"<div class='banner' role='alert'>Diagnostics FAILED: the numbers in this report are not to be "
                     f"trusted. {e(content.verdict)}</div>")
    parts.append(f"<h1>{e(content.title)}</h1><p class='meta'>Data to {e(content.meta['cutoff'])}; forecast horizon "
                 f"{content.meta['horizon_days']} days; {content.meta['draws']} posterior draws x "
                 f"{content.meta['paths']} simulated paths. Intervals: {INTERVAL}.</p>")
    parts.append("<section id='headline'><h2>Headline</h2><p><b>Collapse</b> means: "
                 f"{e(content.collapse)}.</p><ul>")
    parts += [f"<li><b>{e(name)}</b>: {e(words)}</li>" for name, words in _headline_words(content)]
    parts.append("</ul><p>Scenarios:</p><ul>" + "".join(f"<li>{e(s)}</li>" for s in content.scenarios) + "</ul>")
    if content.notes:
        parts.append("<p class='note'>" + "<br>".join(f"Note on {e(k)}: {e(v)}" for k, v in content.notes.items()) + "</p>")
    parts.append(_html_table(content.tables["headline"]) + "</section>")
    for key, title, figures, tables in SECTIONS:
        parts.append(f"<section id='{key}'><h2>{e(title)}</h2>")
        for name in _section_figures(content, figures):
            data = base64.b64encode(content.figures[name]).decode()
            parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{e(content.captions[name])}'>"
                         f"<figcaption>{e(content.captions[name])}</figcaption></figure>")
        for name in tables:
            if name in content.tables and len(content.tables[name]):
                parts.append(_html_table(content.tables[name]))
        if key == "fit":
            parts.append("<p>A small p-value flags misfit: of the time-rescaled gaps (exact times) or the "
                         "randomised PIT values (daily counts), and, in the posterior predictive table, an observed "
                         "statistic the replicated data rarely reach (p near 0) or always exceed (p near 1).</p>")
        parts.append("</section>")
    parts.append("<section id='provenance'><h2>Provenance</h2>" + _provenance_html(content) + "</section>")
    parts.append("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")


def _provenance_html(content: Content) -> str:
    e = html.escape
    m = content.meta
    items = [("escalate", m["escalate_version"]), ("spec", f"{m['spec_name']} (id {m['spec_id'][:12]})"),
             ("data hash", m["data_hash"]), ("resolution", f"{m['resolution']} ({m['observation']})"),
             ("fit seed / sampler", f"{m['fit_seed']} / {m['sampler']}"), ("forecast seed", m["seed"]),
             ("streams", ", ".join(m["streams"])), ("truces", ", ".join(m["truces"])),
             ("versions", ", ".join(f"{k} {v}" for k, v in m["versions"].items()))]
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in items)
    attribution = m["provenance"].get("attribution", "")
    return (f"<table>{rows}</table>"
            + (f"<p><b>Data source and attribution:</b> {e(attribution)}</p>" if attribution else "")
            + f"<p><b>Reproduce:</b> <code>{e(m['command'])}</code></p>"
            + f"<details><summary>Data provenance</summary><pre>{e(json.dumps(m['provenance'], indent=2, default=str))}</pre></details>"
            + f"<details><summary>Model spec</summary><pre>{e(json.dumps(m['spec'], indent=2))}</pre></details>")


def _md_escape(text: str) -> str:
    return (html.escape(str(text), quote=False).replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")
            .replace("`", "\\`").replace("[", "\\[").replace("]", "\\]"))


def _md_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(_md_escape(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(_md_escape(_fmt(v)) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def write_markdown(content: Content, folder: Path) -> None:
    _extra_tables(content)
    (folder / "figures").mkdir(exist_ok=True)
    lines = []
    if content.failed:
        lines += [f"> **DIAGNOSTICS FAILED: the numbers in this report are not to be trusted.** {_md_escape(content.verdict)}", ""]
    m = content.meta
    lines += [f"# {_md_escape(content.title)}", "",
              f"Data to {_md_escape(m['cutoff'])}; horizon {m['horizon_days']} days; {m['draws']} posterior draws x "
              f"{m['paths']} paths. Intervals: {INTERVAL}.", "", "## Headline", "",
              f"**Collapse** means: {_md_escape(content.collapse)}.", ""]
    lines += [f"- **{_md_escape(name)}**: {_md_escape(words)}" for name, words in _headline_words(content)]
    lines += ["", "Scenarios:", ""] + [f"- {_md_escape(s)}" for s in content.scenarios]
    lines += [""] + [f"> Note on {_md_escape(k)}: {_md_escape(v)}" for k, v in content.notes.items()]
    lines += ["", _md_table(content.tables["headline"]), ""]
    for _, title, figures, tables in SECTIONS:
        lines += [f"## {title}", ""]
        for name in _section_figures(content, figures):
            (folder / "figures" / f"{name}.png").write_bytes(content.figures[name])
            lines += [f"![{_md_escape(content.captions[name])}](figures/{name}.png)", "",
                      f"*{_md_escape(content.captions[name])}*", ""]
        for name in tables:
            if name in content.tables and len(content.tables[name]):
                lines += [_md_table(content.tables[name]), ""]
    lines += ["## Provenance", "", f"- escalate {m['escalate_version']}; spec {_md_escape(m['spec_name'])} "
              f"(id {m['spec_id'][:12]}); data hash {m['data_hash']}; fit seed {m['fit_seed']}; forecast seed {m['seed']}",
              f"- Reproduce: {_md_escape(m['command'])}"]
    if m["provenance"].get("attribution"):
        lines.append(f"- Data source and attribution: {_md_escape(m['provenance']['attribution'])}")
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


def json_payload(content: Content) -> dict:
    """The JSON report: every headline number under the versioned schema ``report_schema.json``."""
    t = content.tables
    return {
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "title": content.title, "interval": INTERVAL,
        "diagnostics": {**_records(t["diagnostics"])[0], "trustworthy": not content.failed},
        "collapse_definition": content.collapse, "scenarios": content.scenarios, "notes": content.notes,
        "headline": _records(t["headline"]), "risk_by_day": _records(t["risk_by_day"]),
        "contrasts": _records(t["contrasts"]), "escalation": _records(t["escalation"]),
        "prior_predictive": _records(t["prior_predictive"]),
        "branching": _records(t["branching"]),
        "meta": json.loads(json.dumps(content.meta, default=str)),
    }


def report_schema() -> dict:
    """The JSON Schema of :func:`json_payload` (versioned with REPORT_SCHEMA_VERSION)."""
    return json.loads(resources.files("escalate.reporting").joinpath("report_schema.json").read_text())


def report(fit, forecast, path, format: str = "html", command: str | None = None) -> list[Path]:
    """Export a posterior report to the folder ``path``.

    Parameters
    ----------
    fit : Fit
    forecast : Forecast
    path : str or Path
        Output folder, written whole or not at all (staged, then swapped into place). An
        existing folder is replaced only when it is an escalate report (its ``manifest.json``
        says so); any other existing folder is refused.
    format : {"html", "md", "json", "csv", "all"}
        ``report.html`` (self-contained), ``report.md`` with ``figures/*.png``, ``report.json``
        (schema ``report_schema.json``), ``tables/*.csv``.
    command : str, optional
        The exact command that reproduces the run, for the provenance section.

    Returns
    -------
    list of Path
        The files written.
    """
    formats = FORMATS if format == "all" else (format,)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise EscalateInputError(f"unknown report format {format!r}; use one of {list(FORMATS)} or 'all'")
    path = Path(path)
    check_output_folder(path, "report", force=True, flag="replacing")
    content = build_content(fit, forecast, command)

    def write(folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / MANIFEST).write_text(json.dumps({"kind": "report", "formats": list(formats),
                                                   "escalate_version": __version__}, indent=2) + "\n")
        if "html" in formats:
            write_html(content, folder / "report.html")
        if "md" in formats:
            write_markdown(content, folder)
        if "json" in formats:
            (folder / "report.json").write_text(json.dumps(json_payload(content), indent=2, sort_keys=True))
        if "csv" in formats:
            (folder / "tables").mkdir()
            for name, frame in content.tables.items():
                frame.to_csv(folder / "tables" / f"{name}.csv", index=False)

    atomic_directory(path, write)
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name != MANIFEST)


CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.45}
h1{font-size:1.7rem}h2{font-size:1.25rem;border-bottom:1px solid #999;margin-top:2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.85rem}th,td{border:1px solid #bbb;padding:.2rem .45rem;text-align:left}
th{background:#eee}figure{margin:1rem 0}img{max-width:100%;height:auto}figcaption{font-size:.85rem;color:#333}
.banner{background:#b00020;color:#fff;padding:1rem;font-weight:bold;font-size:1.1rem}
.meta{color:#333}.note{background:#fff4d6;padding:.5rem;border-left:4px solid #E69F00}
pre{white-space:pre-wrap;font-size:.75rem}code{font-size:.85rem}
@media print{.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact}section{break-inside:avoid-page}}
"""
