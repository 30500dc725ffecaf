"""What the command line prints: headlines, diagnostics lines, JSON payloads."""

from __future__ import annotations

import json
import sys

#: The banner on every table whose fit failed its diagnostics.
FAILED_BANNER = "!!! DIAGNOSTICS FAILED: THESE NUMBERS ARE NOT TO BE TRUSTED !!!"


def interactive(args) -> bool:
    """Progress and chatter only on a terminal, and not with --quiet or --json."""
    return not getattr(args, "quiet", False) and not getattr(args, "json", False) and sys.stderr.isatty()


def emit(args, lines: list[str], payload: dict) -> None:
    """Human lines, or one JSON document with ``--json``."""
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        print("\n".join(lines))


def diagnostics_lines(diag) -> list[str]:
    """The verdict line, with the failure banner above it when the fit failed."""
    lines = [f"diagnostics: {diag.verdict} (max r_hat {diag.max_rhat:.3f}, min bulk ESS {diag.min_ess_bulk:.0f}, "
             f"min tail ESS {diag.min_ess_tail:.0f}, {diag.divergences} divergences)"]
    if not diag.passed:
        lines.insert(0, FAILED_BANNER)
    return lines


def headline_text(forecast, diagnostics) -> str:
    """P(collapse within 7, 30 and 90 days) per scenario with 90% intervals, and the verdict."""
    head = forecast.headline()
    lines = ["\nP(collapse within h days): posterior mean [90% equal-tailed interval over draws] (MC s.e.)"]
    skewed = []
    for name, rows in head.groupby("scenario", sort=False):
        cells = [f"{int(r.horizon_day):>2} d: {r.p_collapse_mean:6.1%} [{r.p_collapse_q05:.0%}, "
                 f"{r.p_collapse_q95:.0%}] ({r.p_collapse_mcse:.1%})" for r in rows.itertuples()]
        lines.append(f"  {name:<20} " + "   ".join(cells))
        skewed += [r for r in rows.itertuples() if r.p_collapse_mean > r.p_collapse_q95]
    for r in skewed:  # a few explosive draws can carry the mean past the band
        lines.append(f"  {r.scenario}, {int(r.horizon_day)} d: the mean {r.p_collapse_mean:.1%} lies above the "
                     f"band; median {r.p_collapse_q50:.1%}, {r.risk_share_supercritical:.0%} of the risk from "
                     f"draws with spectral radius >= 1")
    for name, note in forecast.notes.items():
        lines.append(f"  note on {name}: {note}")
    esc = forecast.escalation()
    lines.append("P(spectral radius >= 1), posterior (prior): " + ", ".join(
        f"{r.scenario} {r.p_supercritical:.1%} ({r.p_supercritical_prior:.1%})" for r in esc.itertuples()))
    for name, note in forecast.escalation_note().items():
        lines.append(f"  explosive draws, {name}: {note}")
    if not diagnostics.passed:
        lines.insert(0, FAILED_BANNER)
    lines.append(f"diagnostics: {diagnostics.verdict}")
    return "\n".join(lines)
