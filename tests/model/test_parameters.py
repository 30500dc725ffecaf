"""The parameter registry: every code path derives from it, and a new entry is picked up or
refused with a clear error, never a silent zero."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import escalate
from escalate.errors import ParameterError
from escalate.model import parameters
from escalate.model.parameters import (
    Parameter,
    kernel_order,
    parameter_names,
    posterior_parameters,
    theta_layout,
)
from escalate.model.spec import ModelSpec

SPEC = ModelSpec.from_dict({"penalty_tiers": 3})


def test_every_parameter_is_declared_once_and_the_kernel_slots_are_contiguous():
    names = parameter_names()
    assert len(names) == len(set(names))
    slots = sorted(p.kernel_slot for p in parameters.registry() if p.kernel_slot is not None)
    assert slots == list(range(len(slots)))
    # the spec's priors, the flat layout and the kernel order all come from the registry
    assert [name for name, _ in SPEC.priors] == names
    layout = theta_layout(parameters.Dims(2, 3, 3, 1), "negative_binomial")
    assert [row[0] for row in layout] == list(kernel_order("negative_binomial"))
    assert layout[-1][2] == 2 + 6 + 1 + 2 + 1 + 4 + 1 + 1 + 2 + 1 + 2  # every entry sized by its dims (a dispersion per stream)


def test_which_parameters_a_spec_has():
    dims = parameters.Dims(K=2, J=1, P=1, C=0)
    present = {p.name for p in parameters.present(SPEC, dims)}
    assert present == {"mu_log", "mu_verification", "branching", "excite_verification_self",
                       "excite_verification_cross", "decay"}
    pooled = ModelSpec.from_dict({"time_resolution": "day", "observation": "negative_binomial"})
    present = {p.name for p in parameters.present(pooled, parameters.Dims(K=2, J=3, P=3, C=1))}
    assert {"truce_sd", "truce_effect", "dispersion", "mu_covariate", "mu_tier", "excite_tier"} <= present


@pytest.fixture
def registry_with_a_new_parameter(monkeypatch):
    """A copy of the registry with one more baseline effect, as a contributor would add it."""
    extra = Parameter("mu_rainfall", (), "real", {"dist": "Normal", "mu": 0.0, "sigma": 0.5},
                      kernel_slot=11, required=True, fixed=0.0, exists=lambda spec, dims: True,
                      meaning="effect of rainfall on the log baseline")
    monkeypatch.setattr(parameters, "REGISTRY", (*parameters.REGISTRY, extra))
    return extra


def test_a_new_parameter_is_picked_up_or_refused_clearly(registry_with_a_new_parameter, small_data):
    # picked up: the spec has its prior (and accepts an override), the layout sizes it
    spec = ModelSpec.from_dict({"priors": {"mu_rainfall": {"dist": "Normal", "mu": 0.1, "sigma": 1.0}}})
    assert spec.prior("mu_rainfall").to_dict() == {"dist": "Normal", "mu": 0.1, "sigma": 1.0}
    assert theta_layout(parameters.Dims(2, 1, 2, 0))[-1][0] == "mu_rainfall"
    # refused, with the reason: a parameter set without it, and the kernels that cannot take it
    params = {"mu_log": np.zeros(2), "branching": np.full((2, 2), 0.2), "decay": 1.0}
    with pytest.raises(ParameterError, match="'mu_rainfall' is required"):
        parameters.normalize_params(params, 2, 3, 3, 0)
    with pytest.raises(ParameterError, match=r"no place for \['mu_rainfall'\]"):
        escalate.log_likelihood(small_data, {**params, "mu_rainfall": 0.3})
    with pytest.raises(ParameterError, match=r"no place for \['mu_rainfall'\]"):
        escalate.build_model(small_data, ModelSpec.from_dict({"penalty_tiers": 3}))
    # forecasts and checks read every parameter the spec has from the posterior: a posterior
    # without it is refused by name (the old forecast code silently used zero)
    dims = parameters.dims_for(spec, 2, 3)
    draws = {p.name: np.full((2, *dims.shape(p.dims)), 0.3) for p in parameters.present(spec, dims)}
    fit = escalate.fit_from_draws(small_data, spec, draws)
    assert np.array_equal(posterior_parameters(fit, np.arange(2))["mu_rainfall"], [0.3, 0.3])
    sampled = replace(fit, tree=fit.tree.copy())
    sampled.tree.attrs["run"] = '{"sampler": "nutpie"}'
    del sampled.tree["posterior"]["mu_rainfall"]
    with pytest.raises(ParameterError, match="no 'mu_rainfall'"):
        posterior_parameters(sampled, np.arange(2))


def test_a_posterior_missing_a_parameter_of_its_spec_is_an_error_not_a_zero(small_data):
    """The bug the registry prevents: forecasts silently using zero for a parameter."""
    spec = ModelSpec.from_dict({"penalty_tiers": 3})
    n = 4
    draws = {"mu_log": np.full((n, 2), -1.0), "branching": np.full((n, 2, 2), 0.2), "decay": np.ones(n),
             "excite_tier": np.full((n, 2), 0.3)}
    fit = escalate.fit_from_draws(small_data, spec, draws)
    p = posterior_parameters(fit, np.arange(n))
    assert np.array_equal(p["excite_tier"], draws["excite_tier"])  # what the posterior holds is used
    assert np.array_equal(p["mu_tier"], np.zeros((n, 2)))  # left out of given draws: zero, as documented
    sampled = replace(fit, tree=fit.tree.copy())
    sampled.tree.attrs["run"] = '{"sampler": "nutpie"}'  # a sampled posterior must hold every parameter
    with pytest.raises(ParameterError, match="no 'truce_effect', which the spec"):
        posterior_parameters(sampled, np.arange(n))


def test_a_prior_draw_of_the_baseline_hazard_is_a_random_walk_from_its_first_level():
    """draw_prior's baseline log-hazard: the first level from its Normal prior, each later
    level the previous plus hazard_baseline_sd times a standard normal (as the model builds
    it). Drawn as a pooled effect (step sd times normals, no first level) it fails both checks."""
    from escalate.model.parameters import dims_for
    from escalate.model.priors import draw_prior

    spec = escalate.ModelSpec.from_dict({
        "penalty_tiers": 2, "violence": False, "time_resolution": "day",
        "hazard": {"bins": [0, 7, 30, 90], "covariates": []},
        "priors": {"hazard_baseline": {"dist": "Normal", "mu": -6.0, "sigma": 0.5},
                   "hazard_baseline_sd": {"dist": "HalfNormal", "sigma": 0.3}}})
    rng = np.random.default_rng(5)
    draws = [draw_prior(spec, dims_for(spec, 0, 0), rng) for _ in range(3000)]
    levels = np.array([d["hazard_baseline"] for d in draws])
    steps = np.diff(levels, axis=1) / np.array([d["hazard_baseline_sd"] for d in draws])[:, None]
    assert levels.shape == (3000, 4)
    assert abs(levels[:, 0].mean() + 6.0) < 4 * 0.5 / np.sqrt(3000)
    assert abs(levels[:, 0].std() / 0.5 - 1) < 0.05
    assert abs(steps.std() - 1) < 0.05 and abs(steps.mean()) < 0.05
