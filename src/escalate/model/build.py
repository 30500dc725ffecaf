"""The pure model builder: ``build_model(data, spec) -> pm.Model`` (MODEL.md 2 and 3)."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from escalate.data.corpus import Corpus
from escalate.data.truce_data import TruceData
from escalate.errors import SpecError
from escalate.model.hazard import hazard_loglike_graph, hazard_rows
from escalate.model.identification import Identification, identification_for
from escalate.model.likelihood import daily_kernel_data, kernel_data
from escalate.model.ops import hawkes_loglike
from escalate.model.parameters import (
    LOG_EARLY_COLLAPSE_RATE,
    LOG_OBSERVED_RATE,
    dims_for,
    kernel_order,
    parameter,
    registry,
)
from escalate.model.spec import ModelSpec, Prior


def model_coords(data: TruceData | None, spec: ModelSpec, corpus: Corpus | None = None) -> dict[str, list]:
    """Named coordinates of the posterior: streams, truces, tiers 1..P-1, covariates; for a
    corpus also groups, hazard bins and the hazard's static covariates."""
    streams = list(data.streams) if data is not None else []
    coords = {
        "stream": streams,
        "source": streams,
        "target": streams,
        "truce": list(data.truce_ids) if data is not None else [],
        "tier": list(range(1, spec.penalty_tiers)),
        "covariate": list(spec.baseline_covariates),
    }
    if corpus is not None:
        coords["group"] = list(corpus.groups)
    if spec.hazard is not None:
        edges = list(spec.hazard.bins)
        coords["hazard_bin"] = [f"{lo}-{hi - 1}" for lo, hi in zip(edges, edges[1:])] + [f"{edges[-1]}+"]
        coords["static_covariate"] = list(spec.hazard.covariates)
    return coords


def check_compatible(data: TruceData, spec: ModelSpec) -> None:
    """Raise a SpecError when the data cannot be fitted with this spec."""
    if spec.streams and tuple(spec.streams) != tuple(data.streams):
        raise SpecError(f"{spec.source}: the spec lists streams {list(spec.streams)} but the data "
                        f"has {list(data.streams)}; align them (escalate.fit does this for you)")
    if data.n_tiers_observed > spec.penalty_tiers:
        raise SpecError(f"{spec.source}: the data uses penalty tier {data.n_tiers_observed - 1} but "
                        f"penalty_tiers = {spec.penalty_tiers} allows 0..{spec.penalty_tiers - 1}; "
                        f"raise penalty_tiers")
    missing = [c for c in spec.baseline_covariates if c not in data.extra_names]
    if missing:
        raise SpecError(f"{spec.source}: baseline_covariates {missing} are not columns of the "
                        f"covariates table (it has {list(data.extra_names)})")
    if spec.time_resolution == "exact" and data.resolution != "exact":
        raise SpecError(f"{spec.source}: time_resolution = \"exact\" needs exact event times, but "
                        f"this data is dated to the day; use time_resolution = \"day\"")
    if spec.time_resolution == "day" and data.resolution != "day":
        raise SpecError(f"{spec.source}: time_resolution = \"day\" needs daily counts; aggregate "
                        f"exact times with data.to_daily() (escalate.fit does this for you)")


def build_model(data: TruceData | Corpus, spec: ModelSpec) -> pm.Model:
    """Build the PyMC model of ``data`` under ``spec``; pure (no sampling, no mutation).

    Free variables carry MODEL.md names and named dims, one per registry entry the spec has
    (:func:`escalate.model.parameters.present`); the others enter at their registry value.
    With J > 1 truces, ``truce_effect`` is non-centred (``truce_effect_raw`` times
    ``truce_sd``) unless the spec's ``truce_effects`` says "centred" or "none"; daily counts
    with the negative binomial add ``dispersion``. The violence likelihood (exact or daily, per
    ``spec.time_resolution``) enters as a Potential, ``hawkes_loglik``, computed by the
    compiled kernel Op.

    For a :class:`~escalate.data.corpus.Corpus` and a spec with a ``[hazard]`` table, the
    collapse hazard (MODEL.md 6) enters as a second Potential, ``collapse_loglik``, over every
    truce at risk; the violence model covers the truces with event data (none: the hazard
    alone). Group effects (``group_effect``, ``hazard_group``) and the hazard's random-walk
    baseline are non-centred.
    """
    corpus = data if isinstance(data, Corpus) else None
    if corpus is not None and not spec.violence:
        if spec.hazard is not None and spec.hazard.feedback:
            raise SpecError(f"{spec.source}: violence = false leaves the hazard's feedback term without events; "
                            f"set hazard.feedback = false")
        corpus = corpus.without_events()
    events = corpus.event_data() if corpus is not None else data
    if corpus is not None and spec.hazard is None:
        raise SpecError(f"{spec.source}: a corpus is fitted with a collapse hazard; add a [hazard] table "
                        f"to the spec (see models/ceasefire-corpus.toml), or fit corpus.event_data() alone")
    if events is not None:
        check_compatible(events, spec)
    K = len(events.streams) if events is not None else 0
    J = len(events.truce_ids) if events is not None else 0
    dims = dims_for(spec, K, J, len(corpus.groups) if corpus is not None else 0)
    rows = hazard_rows(corpus, spec.hazard) if corpus is not None else None
    if rows is not None and int(rows.tier.max(initial=0)) >= spec.penalty_tiers:
        raise SpecError(f"{spec.source}: the corpus uses penalty tier {int(rows.tier.max())} but penalty_tiers = "
                        f"{spec.penalty_tiers}; raise penalty_tiers")
    symbolic = {LOG_OBSERVED_RATE: np.log(events.observed_rates()) if events is not None else None,
                LOG_EARLY_COLLAPSE_RATE: np.log(rows.early_rate) if rows is not None else None}
    observation = spec.observation if spec.time_resolution == "day" else "poisson"
    ident = identification_for(events, spec) if events is not None else Identification()
    with pm.Model(coords=model_coords(events, spec, corpus)) as model:
        values = {}
        for entry in registry():
            if not entry.exists(spec, dims):
                values[entry.name] = pt.as_tensor_variable(np.full(dims.shape(entry.dims), entry.fixed))
            elif (held := ident.mask(entry.name, dims.shape(entry.dims))) is not None:
                values[entry.name] = _partly_fixed(entry, spec.prior(entry.name), held, symbolic)
            elif entry.structure == "random_walk":
                values[entry.name] = _random_walk(entry, spec.prior(entry.name), values[entry.scale], symbolic)
            elif entry.structure == "pooled":
                centred = ((entry.name == "truce_effect" and spec.truce_effects == "centred")
                           or (entry.name == "group_effect" and spec.group_effects == "centred"))
                offset = _group_offset(entry, values, spec, dims, events, corpus)
                if centred:
                    within = pm.Normal(f"{entry.name}_within" if offset is not None else entry.name, 0.0,
                                       values[entry.scale], dims=entry.dims)
                else:
                    within = values[entry.scale] * pm.Normal(f"{entry.name}_raw", 0.0, 1.0, dims=entry.dims)
                if not (centred and offset is None):
                    within = pm.Deterministic(entry.name, within + (0.0 if offset is None else offset), dims=entry.dims)
                values[entry.name] = within
            else:
                values[entry.name] = _random_variable(entry.name, spec.prior(entry.name), entry.dims, symbolic)
        if "group_effect" in model.named_vars and "truce_effect" not in model.named_vars:
            # no within-group effects: each truce takes its group's
            values["truce_effect"] = pm.Deterministic("truce_effect", _group_offset(
                parameter("truce_effect"), values, spec, dims, events, corpus), dims=("truce", "stream"))
        if events is not None:
            order = kernel_order(observation)
            theta = pt.concatenate([pt.reshape(values[name], (-1,)) for name in order])
            arrays = list(kernel_data(events) if spec.time_resolution == "exact" else daily_kernel_data(events))
            columns = [events.extra_names.index(c) for c in spec.baseline_covariates]
            arrays[-1] = np.ascontiguousarray(events.segments.extra[:, columns])
            pm.Potential("hawkes_loglik", hawkes_loglike(spec.time_resolution, arrays, theta, dims, observation,
                                                         spec.daily_likelihood))
        if rows is not None:
            pm.Potential("collapse_loglik", hazard_loglike_graph(rows, values))
    return model


def _random_walk(entry, prior: Prior, step_sd, symbolic):
    """A Gaussian random walk over the entry's dim, non-centred: the first level from the prior
    (a Normal), each later level the previous plus ``step_sd`` times a standard normal."""
    if prior.dist != "Normal":
        raise SpecError(f"priors.{entry.name}: the first level of a random walk takes a Normal prior, not {prior.dist}")
    params = dict(prior.params)
    mu = symbolic[params["mu"]] if isinstance(params["mu"], str) else params["mu"]
    raw = pm.Normal(f"{entry.name}_raw", 0.0, 1.0, dims=entry.dims)
    steps = pt.concatenate([pt.reshape(mu + params["sigma"] * raw[0], (1,)), step_sd * raw[1:]])
    return pm.Deterministic(entry.name, pt.cumsum(steps), dims=entry.dims)


def _group_offset(entry, values, spec, dims, events, corpus):
    """A truce effect's share from its group: ``group_effect[g(j)]`` (None without groups)."""
    if entry.name != "truce_effect" or not parameter("group_effect").exists(spec, dims) or events is None:
        return None
    index = {g: i for i, g in enumerate(corpus.groups)}
    groups = events.truces["group"].map(index).to_numpy(dtype=np.int64)
    return values["group_effect"][groups]


def _random_variable(name: str, prior: Prior, dims=None, symbolic=None, shape=None):
    params = dict(prior.params)
    if isinstance(params.get("mu"), str):
        params["mu"] = symbolic[params["mu"]]
    if shape is not None:
        return getattr(pm, prior.dist)(name, **params, shape=shape)
    return getattr(pm, prior.dist)(name, **params, dims=dims or None)


def _partly_fixed(entry, prior: Prior, mask: np.ndarray, symbolic):
    """An effect some of whose entries the data cannot identify (``mask``): those are held at
    zero, the others are free (``<name>_free``) with the spec's prior; the posterior keeps the
    whole effect under its own name (:mod:`escalate.model.identification`)."""
    if mask.all():
        return pm.Deterministic(entry.name, pt.zeros(mask.shape), dims=entry.dims or None)
    free = np.flatnonzero(~mask)
    values = _random_variable(f"{entry.name}_free", prior, symbolic=symbolic, shape=(len(free),))
    return pm.Deterministic(entry.name, pt.set_subtensor(pt.zeros(mask.shape)[free], values), dims=entry.dims)
