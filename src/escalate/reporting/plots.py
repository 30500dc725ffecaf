"""Figures shared by reports and notebooks (matplotlib), labelled with units.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies);
scenarios also differ by line style, so figures read in greyscale print.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np

OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
LINESTYLES = ["-", "--", "-.", ":"]


def plain_text(figure):
    """Render every string of the figure as plain text: names come from users (scenarios,
    streams, truces), and a ``$`` in one must not be read as mathtext (it crashed the report)."""
    @functools.wraps(figure)
    def draw(*args, **kwargs):
        with plt.rc_context({"text.parse_math": False}):
            return figure(*args, **kwargs)
    return draw


def _style(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


@plain_text
def collapse_risk(forecast, ax=None):
    """P(collapse by day h) per scenario: posterior mean line and 90% band."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    frame = forecast.to_frame()
    for i, (name, rows) in enumerate(frame.groupby("scenario", sort=False)):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot(rows["horizon_day"], rows["p_collapse_mean"], color=colour,
                linestyle=LINESTYLES[i % len(LINESTYLES)], label=name)
        ax.fill_between(rows["horizon_day"], rows["p_collapse_q05"], rows["p_collapse_q95"], color=colour, alpha=0.15)
    ax.set_ylim(0, 1)
    _style(ax, "Collapse risk (line: posterior mean; band: 90% interval over draws)",
           "days after the end of the data", "P(collapse by day)")
    ax.legend(fontsize=8)
    return ax.figure


@plain_text
def contrasts(forecast, ax=None):
    """Risk difference against the status quo per horizon day, with 90% intervals."""
    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    frame = forecast.contrasts()
    for i, (name, rows) in enumerate(frame.groupby("scenario", sort=False)):
        colour = OKABE_ITO[(i + 1) % len(OKABE_ITO)]
        ax.plot(rows["horizon_day"], rows["risk_difference_mean"], color=colour,
                linestyle=LINESTYLES[(i + 1) % len(LINESTYLES)], label=f"{name} - status quo")
        ax.fill_between(rows["horizon_day"], rows["risk_difference_q05"], rows["risk_difference_q95"],
                        color=colour, alpha=0.15)
    ax.axhline(0, color="black", linewidth=0.8)
    _style(ax, "Scenario contrasts (risk difference, 90% interval)", "days after the end of the data",
           "difference in P(collapse)")
    if len(frame):
        ax.legend(fontsize=8)
    return ax.figure


@plain_text
def history(observed, rate, covariates, title: str):
    """Observed daily events per stream with the fitted rate (median, 90% band) and the
    covariate timeline shaded behind (verification as grey level, tier changes as lines)."""
    streams = list(observed.columns)
    fig, axes = plt.subplots(len(streams), 1, figsize=(8, 2.4 * len(streams)), sharex=True, squeeze=False)
    days = np.arange(len(observed))
    lo, med, hi = np.quantile(rate.values, [0.05, 0.5, 0.95], axis=0)
    for k, (ax, stream) in enumerate(zip(axes[:, 0], streams)):
        for start, end, verification, tier in covariates[stream]:
            ax.axvspan(start, end, color="grey", alpha=0.08 + 0.3 * verification, linewidth=0)
            ax.text(start + 0.5, 1.0, f"v={verification:g}, tier {tier}", transform=ax.get_xaxis_transform(),
                    fontsize=7, va="top")
        ax.bar(days, observed[stream].to_numpy(), width=1.0, color=OKABE_ITO[5], alpha=0.7, label="observed")
        ax.plot(days, med[: len(days), k], color=OKABE_ITO[1], label="fitted rate (median)")
        ax.fill_between(days, lo[: len(days), k], hi[: len(days), k], color=OKABE_ITO[1], alpha=0.25,
                        label="90% interval")
        _style(ax, f"{stream}", "", "events/day")
    axes[-1, 0].set_xlabel("days since the truce start (shading: verification level)")
    axes[0, 0].legend(fontsize=8, loc="upper right")
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig


@plain_text
def spectral_radius(values, p_supercritical: float, state: str, ax=None):
    """Posterior of the spectral radius at a covariate state, with the critical value 1."""
    ax = ax or plt.subplots(figsize=(6, 3.2))[1]
    ax.hist(values, bins=50, color=OKABE_ITO[0], alpha=0.8, density=True)
    ax.axvline(1.0, color=OKABE_ITO[1], linestyle="--", label="explosive at >= 1")
    _style(ax, f"Escalation indicator at {state}: P(rho >= 1) = {p_supercritical:.1%}",
           "spectral radius of the effective branching matrix", "posterior density")
    ax.legend(fontsize=8)
    return ax.figure


@plain_text
def prior_posterior(pairs):
    """One panel per covariate effect: prior (grey) against posterior (colour) densities.

    ``pairs`` is a list of ``(label, prior_draws, posterior_draws)``.
    """
    cols = min(3, len(pairs))
    rows = int(np.ceil(len(pairs) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.6 * rows), squeeze=False)
    for ax, (label, prior, post) in zip(axes.ravel(), pairs):
        edges = np.linspace(*np.quantile(np.concatenate([prior, post]), [0.005, 0.995]), 50)
        ax.hist(prior, bins=edges, density=True, color="grey", alpha=0.5, label="prior")
        ax.hist(post, bins=edges, density=True, color=OKABE_ITO[0], alpha=0.6, label="posterior")
        _style(ax, label, "effect on the log scale", "density")
        ax.title.set_fontsize(9)
    for ax in axes.ravel()[len(pairs):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


@plain_text
def reliability(table, ax=None):
    """Reliability diagram: observed frequency against mean forecast probability per bin, one
    line per forecaster (``BacktestResult.reliability()``); marker area grows with the bin's count."""
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="perfectly reliable")
    for i, (name, rows) in enumerate(table.groupby("forecaster", sort=False)):
        rows = rows[rows["n"] > 0]
        ax.plot(rows["mean_forecast"], rows["observed_frequency"], color=OKABE_ITO[i % len(OKABE_ITO)],
                linestyle=LINESTYLES[i % len(LINESTYLES)], marker="o", label=name)
        ax.scatter(rows["mean_forecast"], rows["observed_frequency"], s=10 + 4 * rows["n"],
                   color=OKABE_ITO[i % len(OKABE_ITO)], alpha=0.4)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    _style(ax, "Reliability", "forecast probability", "observed frequency")
    ax.legend(fontsize=8)
    return ax.figure
