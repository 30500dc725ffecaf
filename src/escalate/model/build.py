"""The pure model builder: ``build_model(data, spec) -> pm.Model`` (MODEL.md 2 and 3)."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from escalate.data.truce_data import TruceData
from escalate.errors import SpecError
from escalate.model.likelihood import daily_kernel_data, kernel_data
from escalate.model.ops import hawkes_loglike
from escalate.model.spec import LOG_OBSERVED_RATE, ModelSpec, Prior


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
    return getattr(pm, prior.dist)(name, **params, dims=dims)


def build_model(data: TruceData, spec: ModelSpec) -> pm.Model:
    """Build the PyMC model of ``data`` under ``spec``; pure (no sampling, no mutation).

    Free variables carry MODEL.md names and named dims; with J > 1 truces, ``truce_effect``
    is non-centred (``truce_effect_raw`` times ``truce_sd``) unless the spec's
    ``truce_effects`` says "centred" or "none"; daily counts with the negative
    binomial add ``dispersion``. The likelihood (exact or daily, per ``spec.time_resolution``)
    enters as a Potential, ``hawkes_loglik``, computed by the compiled kernel Op.
    """
    check_compatible(data, spec)
    K, J, P = len(data.streams), len(data.truce_ids), spec.penalty_tiers
    C = len(spec.baseline_covariates)
    with pm.Model(coords=model_coords(data, spec)) as model:
        prior = spec.prior
        mu_log = _random_variable("mu_log", prior("mu_log"), "stream", data.observed_rates())
        mu_verification = _random_variable("mu_verification", prior("mu_verification"))
        mu_tier = _random_variable("mu_tier", prior("mu_tier"), "tier") if P > 1 else pt.zeros(0)
        mu_covariate = (_random_variable("mu_covariate", prior("mu_covariate"), "covariate")
                        if C else pt.zeros(0))
        if spec.excitation:
            branching = _random_variable("branching", prior("branching"), ("source", "target"))
            ev_self = _random_variable("excite_verification_self", prior("excite_verification_self"))
            ev_cross = _random_variable("excite_verification_cross", prior("excite_verification_cross"))
            excite_tier = _random_variable("excite_tier", prior("excite_tier"), "tier") if P > 1 else pt.zeros(0)
            decay = _random_variable("decay", prior("decay"))
        else:  # the no-excitation rival: branching fixed at zero (decay then plays no part)
            branching, ev_self, ev_cross = pt.zeros((K, K)), pt.constant(0.0), pt.constant(0.0)
            excite_tier, decay = pt.zeros(P - 1), pt.constant(1.0)
        if J > 1 and spec.truce_effects == "non_centred":
            truce_sd = _random_variable("truce_sd", prior("truce_sd"))
            raw = pm.Normal("truce_effect_raw", 0.0, 1.0, dims=("truce", "stream"))
            truce_effect = pm.Deterministic("truce_effect", truce_sd * raw, dims=("truce", "stream"))
        elif J > 1 and spec.truce_effects == "centred":
            truce_sd = _random_variable("truce_sd", prior("truce_sd"))
            truce_effect = pm.Normal("truce_effect", 0.0, truce_sd, dims=("truce", "stream"))
        else:
            truce_effect = pt.zeros((J, K))
        theta = pt.concatenate([
            pt.flatten(mu_log), pt.flatten(truce_effect), pt.reshape(mu_verification, (1,)),
            pt.flatten(mu_tier), pt.flatten(mu_covariate), pt.flatten(branching),
            pt.reshape(ev_self, (1,)), pt.reshape(ev_cross, (1,)), pt.flatten(excite_tier),
            pt.reshape(decay, (1,)),
        ])
        if spec.observation == "negative_binomial" and spec.time_resolution == "day":
            dispersion = _random_variable("dispersion", prior("dispersion"))
            theta = pt.concatenate([theta, pt.reshape(dispersion, (1,))])
        arrays = list(kernel_data(data) if spec.time_resolution == "exact" else daily_kernel_data(data))
        columns = [data.extra_names.index(c) for c in spec.baseline_covariates]
        arrays[-1] = np.ascontiguousarray(data.segments.extra[:, columns])
        pm.Potential("hawkes_loglik", hawkes_loglike(spec.time_resolution, arrays, theta, K, J, P, C,
                                                     spec.observation))
    return model
