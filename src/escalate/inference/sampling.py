"""The one NUTS call: a built model sampled with a spec's sampler settings and the caller's overrides."""

from __future__ import annotations

import os

import pymc as pm

from escalate.inference.quiet import sampler_logs_quiet


def sample_model(model, spec, *, draws=None, tune=None, chains=None, seed=0, sampler=None, target_accept=None,
                 progressbar=False, cores=None):
    """``(tree, sampler)``: ``model`` sampled by ``pm.sample`` with ``spec.sampler`` defaults
    (nutpie's low-rank mass matrix where the spec asks for it)."""
    settings = spec.sampler
    sampler = sampler or settings.sampler
    chains = chains or settings.chains
    extra = {"nuts": {"adaptation": settings.adaptation}} if settings.adaptation != "diag" and sampler == "nutpie" else {}
    with model, sampler_logs_quiet():
        tree = pm.sample(draws=draws or settings.draws, tune=tune or settings.tune, chains=chains,
                         cores=cores or min(chains, os.cpu_count() or 1), random_seed=seed, nuts_sampler=sampler,
                         target_accept=target_accept or settings.target_accept, progressbar=progressbar,
                         compute_convergence_checks=False, **extra)
    return tree, sampler


def sampler_settings(spec, draws=None, tune=None, chains=None) -> tuple[dict, str]:
    """The sampler settings of a loop of fits (default: the spec's), and a line saying so when
    they are fewer than the spec asks for (a backtest must not use fewer silently)."""
    chosen = {"draws": draws or spec.sampler.draws, "tune": tune or spec.sampler.tune,
              "chains": chains or spec.sampler.chains}
    asked = {"draws": spec.sampler.draws, "tune": spec.sampler.tune, "chains": spec.sampler.chains}
    fewer = [k for k in chosen if chosen[k] < asked[k]]
    note = ""
    if fewer:
        note = (f"the backtest's fits use {chosen['chains']} chains x {chosen['draws']} draws after "
                f"{chosen['tune']} tuning steps; the spec {spec.source} asks for {asked['chains']} x "
                f"{asked['draws']} after {asked['tune']}")
    return chosen, note
