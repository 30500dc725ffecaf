"""The one NUTS call: a built model sampled with a spec's sampler settings and the caller's overrides."""

from __future__ import annotations

import os

import pymc as pm

from escalate.inference.quiet import sampler_logs_quiet
from escalate.model.parameters import registry


def mass_matrix(spec, model, sampler: str) -> str:
    """The mass-matrix adaptation of a fit: the spec's ``sampler.adaptation``, with "auto"
    resolved per model (docs/performance.md has the measurements). A model whose partially
    pooled effects are all non-centred (``<effect>_raw`` times its scale) takes the diagonal
    mass matrix: its raw offsets are close to independent, the low-rank one gave the pooled
    truce effects' funnel divergences, and on the corpus models (hundreds of group effects) its
    own work per leapfrog step cost more than the gradient. Every other model takes nutpie's
    low-rank modified mass matrix: without pooling its few parameters are strongly correlated
    (at 10k events it needs a sixth of the diagonal one's gradients per draw), and centred
    effects move with their common baseline (the simulated corpus of the recovery test mixed
    badly with the diagonal one: r_hat 1.07). Samplers other than nutpie: "diag"."""
    if sampler != "nutpie":
        return "diag"
    if spec.sampler.adaptation != "auto":
        return spec.sampler.adaptation
    free = {v.name for v in model.free_RVs}
    pooled = [entry.name for entry in registry() if entry.structure == "pooled"]
    non_centred = any(f"{name}_raw" in free for name in pooled)
    centred = any(name in free or f"{name}_within" in free for name in pooled)
    return "diag" if non_centred and not centred else "low_rank"


def sample_model(model, spec, *, draws=None, tune=None, chains=None, seed=0, sampler=None, target_accept=None,
                 progressbar=False, cores=None):
    """``(tree, run)``: ``model`` sampled by ``pm.sample`` with ``spec.sampler`` defaults;
    ``run`` names the sampler and the mass matrix (:func:`mass_matrix`) for the provenance."""
    settings = spec.sampler
    sampler = sampler or settings.sampler
    chains = chains or settings.chains
    adaptation = mass_matrix(spec, model, sampler)
    extra = {"nuts": {"adaptation": adaptation}} if adaptation != "diag" else {}  # only nutpie's is not
    with model, sampler_logs_quiet():
        tree = pm.sample(draws=draws or settings.draws, tune=tune or settings.tune, chains=chains,
                         cores=cores or min(chains, os.cpu_count() or 1), random_seed=seed, nuts_sampler=sampler,
                         target_accept=target_accept or settings.target_accept, progressbar=progressbar,
                         compute_convergence_checks=False, **extra)
    return tree, {"sampler": sampler, "mass_matrix": adaptation}


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
