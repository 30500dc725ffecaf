"""The pure model builder: ``build_model(data, spec) -> pm.Model`` (MODEL.md 2 and 3)."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from escalate.data.truce_data import TruceData
from escalate.errors import SpecError
from escalate.model.likelihood import daily_kernel_data, kernel_data
from escalate.model.ops import hawkes_loglike
from escalate.model.parameters import (
    LOG_OBSERVED_RATE,
    dims_for,
    kernel_order,
    registry,
)
from escalate.model.spec import ModelSpec, Prior


def model_coords(data: TruceData, spec: ModelSpec) -> dict[str, list]:
    """Named coordinates of the posterior: streams, truces, tiers 1..P-1, covariates."""
    return {
        "stream": list(data.streams),
        "source": list(data.streams),
        "target": list(data.streams),
        "truce": list(data.truce_ids),
        "tier": list(range(1, spec.penalty_tiers)),
        "covariate": list(spec.baseline_covariates),
    }


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


def _random_variable(name: str, prior: Prior, dims=None, observed_rate=None):
    params = dict(prior.params)
    if params.get("mu") == LOG_OBSERVED_RATE:
        params["mu"] = np.log(observed_rate)
    return getattr(pm, prior.dist)(name, **params, dims=dims or None)


def build_model(data: TruceData, spec: ModelSpec) -> pm.Model:
    """Build the PyMC model of ``data`` under ``spec``; pure (no sampling, no mutation).

    Free variables carry MODEL.md names and named dims, one per registry entry the spec has
    (:func:`escalate.model.parameters.present`); the others enter at their registry value.
    With J > 1 truces, ``truce_effect`` is non-centred (``truce_effect_raw`` times
    ``truce_sd``) unless the spec's ``truce_effects`` says "centred" or "none"; daily counts
    with the negative binomial add ``dispersion``. The likelihood (exact or daily, per
    ``spec.time_resolution``) enters as a Potential, ``hawkes_loglik``, computed by the
    compiled kernel Op.
    """
    check_compatible(data, spec)
    dims = dims_for(spec, len(data.streams), len(data.truce_ids))
    observation = spec.observation if spec.time_resolution == "day" else "poisson"
    with pm.Model(coords=model_coords(data, spec)) as model:
        values = {}
        for entry in registry():
            if not entry.exists(spec, dims):
                values[entry.name] = pt.as_tensor_variable(np.full(dims.shape(entry.dims), entry.fixed))
            elif entry.scale is not None and spec.truce_effects == "non_centred":
                raw = pm.Normal(f"{entry.name}_raw", 0.0, 1.0, dims=entry.dims)
                values[entry.name] = pm.Deterministic(entry.name, values[entry.scale] * raw, dims=entry.dims)
            elif entry.scale is not None:
                values[entry.name] = pm.Normal(entry.name, 0.0, values[entry.scale], dims=entry.dims)
            else:
                values[entry.name] = _random_variable(entry.name, spec.prior(entry.name), entry.dims,
                                                      data.observed_rates())
        order = kernel_order(observation)
        theta = pt.concatenate([pt.reshape(values[name], (-1,)) for name in order])
        arrays = list(kernel_data(data) if spec.time_resolution == "exact" else daily_kernel_data(data))
        columns = [data.extra_names.index(c) for c in spec.baseline_covariates]
        arrays[-1] = np.ascontiguousarray(data.segments.extra[:, columns])
        pm.Potential("hawkes_loglik", hawkes_loglike(spec.time_resolution, arrays, theta, dims, observation))
    return model
