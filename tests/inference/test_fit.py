"""Model graph, logp at a point, the Fit object on mocked draws, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pymc.testing import mock_sample_setup_and_teardown

import escalate
from escalate.errors import FileFormatError, SpecError
from escalate.inference.diagnostics import DiagnosticsWarning
from escalate.inference.sampling import mass_matrix
from escalate.model.build import build_model

mock_pymc_sample = pytest.fixture(scope="function")(mock_sample_setup_and_teardown)

# Mocked sampling draws from the prior and skips the likelihood Potential on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:The effect of Potentials:UserWarning")


@pytest.fixture
def spec():
    return escalate.ModelSpec.from_dict({"penalty_tiers": 3})


def test_model_logp_equals_prior_plus_likelihood(small_data, spec):
    model = escalate.build_model(small_data, spec)
    assert set(model.named_vars_to_dims["branching"]) == {"source", "target"}
    point = model.initial_point()
    point = {k: v + 0.1 for k, v in point.items()}  # away from the symmetric start
    outs = model.unobserved_value_vars
    values = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")(point)
    names = ("mu_log", "branching", "decay", "truce_effect", "mu_verification", "mu_tier", "excite_tier",
             "excite_verification_self", "excite_verification_cross")
    params = {v.name: x for v, x in zip(outs, values) if v.name in names}
    assert set(params) == set(names)
    [loglik] = model.replace_rvs_by_values([model["hawkes_loglik"]])
    potential = model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore")(point)
    assert potential == pytest.approx(escalate.log_likelihood(small_data, params), rel=1e-12)
    # the gradient through the Op equals finite differences of the compiled logp
    dlogp = model.compile_dlogp()
    logp = model.compile_logp()
    g = dlogp(point)
    name = "decay_log__"
    h = 1e-6
    up = {**point, name: point[name] + h}
    down = {**point, name: point[name] - h}
    names_order = [v.name for v in model.value_vars]
    sizes = [np.size(point[n]) for n in names_order]
    pos = sum(sizes[: names_order.index(name)])
    assert g[pos] == pytest.approx((logp(up) - logp(down)) / (2 * h), rel=1e-5)


def test_spec_and_data_must_agree(small_data):
    with pytest.raises(SpecError, match="penalty_tiers = 1"):
        escalate.build_model(small_data, escalate.ModelSpec.from_dict({"penalty_tiers": 1}))
    with pytest.raises(SpecError, match="not columns of the covariates table"):
        escalate.build_model(small_data, escalate.ModelSpec.from_dict({"penalty_tiers": 3, "baseline_covariates": ["gdp"]}))


@pytest.mark.filterwarnings("ignore::escalate.inference.diagnostics.DiagnosticsWarning")  # prior draws do not converge
def test_fit_on_mocked_draws_round_trips(small_data, spec, mock_pymc_sample, tmp_path):
    result = escalate.fit(small_data, spec, draws=20, chains=1, seed=3)
    post = result.tree["posterior"]
    for name in ("mu_log", "branching", "decay", "truce_effect", "spectral_radius", "mean_lag_days"):
        assert name in post.data_vars
    assert list(post["branching"].dims[2:]) == ["source", "target"]
    assert post["spectral_radius"].sizes["state"] == len(small_data.segments.states()[2])
    attrs = result.tree.attrs
    assert attrs["format_version"] == 1 and json.loads(attrs["run"])["seed"] == 3
    assert json.loads(attrs["run"])["mass_matrix"] == "diag"  # its truce effects are pooled
    assert attrs["data_hash"] == small_data.data_hash and attrs["spec_id"] == spec.spec_id
    summary = result.summary(ci_prob=0.9)
    assert {"eti90_lb", "eti90_ub", "r_hat", "ess_bulk"} <= set(summary.columns)
    assert not result.diagnostics.passed
    assert "FAILED" in result.diagnostics.verdict

    path = tmp_path / "fit.zarr"
    result.save(path)
    loaded = escalate.load_fit(path)
    np.testing.assert_allclose(loaded.tree["posterior"]["branching"].values, post["branching"].values)
    assert loaded.spec == result.spec
    assert loaded.data.data_hash == small_data.data_hash
    assert loaded.data.streams == small_data.streams
    np.testing.assert_array_equal(loaded.data.segments.tier, small_data.segments.tier)
    result.save(path)  # overwriting an existing save is atomic
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_mass_matrix_is_diagonal_for_non_centred_pooling_and_low_rank_otherwise(small_data):
    pooled_spec = escalate.ModelSpec.from_dict({"penalty_tiers": 3})
    pooled = build_model(small_data, pooled_spec)
    assert "truce_sd" in pooled.named_vars
    assert mass_matrix(pooled_spec, pooled, "nutpie") == "diag"
    assert mass_matrix(pooled_spec, pooled, "pymc") == "diag"
    unpooled_spec = escalate.ModelSpec.from_dict({"penalty_tiers": 3, "truce_effects": "none"})
    assert mass_matrix(unpooled_spec, build_model(small_data, unpooled_spec), "nutpie") == "low_rank"
    asked = escalate.ModelSpec.from_dict({"penalty_tiers": 3, "sampler": {"adaptation": "low_rank"}})
    assert mass_matrix(asked, pooled, "nutpie") == "low_rank"
    assert mass_matrix(asked, pooled, "numpyro") == "diag"
    centred_spec = escalate.ModelSpec.from_dict({"penalty_tiers": 3, "truce_effects": "centred"})
    assert mass_matrix(centred_spec, build_model(small_data, centred_spec), "nutpie") == "low_rank"


def test_failed_diagnostics_warn_visibly(small_data, spec, mock_pymc_sample):
    with pytest.warns(DiagnosticsWarning, match="not to be trusted"):
        escalate.fit(small_data, spec, draws=10, chains=2, seed=1)


def test_loading_unknown_format_version(tmp_path, small_data, spec, mock_pymc_sample):
    with pytest.warns(DiagnosticsWarning):
        result = escalate.fit(small_data, spec, draws=10, chains=1, seed=1)
    result.tree.attrs["format_version"] = 99
    result.save(tmp_path / "f.zarr")
    with pytest.raises(FileFormatError, match="format version 99"):
        escalate.load_fit(tmp_path / "f.zarr")
    with pytest.raises(FileFormatError, match="not found"):
        escalate.load_fit(tmp_path / "missing.zarr")


@pytest.mark.filterwarnings("ignore::escalate.inference.diagnostics.DiagnosticsWarning")  # prior draws do not converge
@pytest.mark.parametrize("observation", ["poisson", "negative_binomial"])
def test_daily_fit_on_mocked_draws_round_trips(small_data, mock_pymc_sample, tmp_path, observation):
    import pandas as pd

    events = pd.DataFrame({"truce_id": ["a"] * 5, "time": [0.5, 0.7, 1.2, 3.3, 3.4], "stream": list("xyxxy")})
    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 10.0], "end": [6.0, 14.0]})
    covs = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 10.0], "verification": [0.2, 0.7], "penalty_tier": [0, 1]})
    data = escalate.TruceData.from_frames(events, truces, covs)
    spec = escalate.ModelSpec.from_dict({"penalty_tiers": 2, "time_resolution": "day", "observation": observation})
    result = escalate.fit(data, spec, draws=10, chains=1, seed=2)  # exact times aggregated on the fly
    assert result.data.resolution == "day"
    assert ("dispersion" in result.tree["posterior"]) == (observation == "negative_binomial")
    result.save(tmp_path / "d.zarr")
    loaded = escalate.load_fit(tmp_path / "d.zarr")
    assert loaded.data.resolution == "day"
    np.testing.assert_array_equal(loaded.data.daily_arrays()["counts"], result.data.daily_arrays()["counts"])


def test_day_dated_data_refuses_the_exact_likelihood():
    import pandas as pd

    counts = pd.DataFrame({"date": [0.0, 1.0], "x": [3, 0]})
    truces = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "end": [2.0]})
    covs = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "verification": [0.2], "penalty_tier": [0]})
    data = escalate.TruceData.from_daily_counts(counts, truces, covs)
    with pytest.raises(SpecError, match="daily counts: several events share a day"):
        escalate.fit(data, escalate.ModelSpec.from_dict({"penalty_tiers": 1}), draws=5, chains=1)


def test_a_nan_r_hat_is_reported_and_fails_the_verdict_never_dropped():
    """One parameter frozen in every chain (a stuck sampler) has NaN r_hat: the worst r_hat
    is NaN and the verdict says so, even though the other parameters mixed well."""
    import xarray as xr

    from escalate.inference.diagnostics import compute_diagnostics

    rng = np.random.default_rng(0)
    post = xr.Dataset({"decay": (("chain", "draw"), rng.normal(size=(4, 500))),
                       "branching": (("chain", "draw"), np.full((4, 500), 0.3))})
    diag = compute_diagnostics(xr.DataTree.from_dict({"posterior": post}), ["decay", "branching"])
    assert np.isnan(diag.max_rhat) and not diag.passed
    assert "r_hat is NaN" in diag.verdict
    mixed = compute_diagnostics(xr.DataTree.from_dict({"posterior": post[["decay"]]}), ["decay"])
    assert mixed.passed, mixed.verdict


def test_quiet_sampling_keeps_the_sampler_announcement_out_and_restores_the_logger(caplog):
    """--quiet, --json and scripts set ESCALATE_QUIET for the command (escalate.inference.quiet):
    the NUTS line is gone, a warning from PyMC still shows, and the logger's level is restored."""
    import logging

    import pymc as pm

    from escalate.inference.quiet import QUIET_ENV, quiet_sampling, sampler_logs_quiet

    with pm.Model() as model:
        pm.Normal("x")
    logger = logging.getLogger("pymc")
    level = logger.level
    seen = {}
    for quiet in (False, True):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="pymc"), quiet_sampling(quiet), sampler_logs_quiet(), model:
            pm.sample(draws=10, tune=10, chains=1, progressbar=False, compute_convergence_checks=False,
                      random_seed=1)
        seen[quiet] = [r for r in caplog.records if r.name.startswith("pymc")]
    assert any("NUTS" in r.getMessage() for r in seen[False])
    assert not any("NUTS" in r.getMessage() for r in seen[True])
    assert any(r.levelno >= logging.WARNING for r in seen[True])  # warnings are not silenced
    assert logger.level == level and QUIET_ENV not in __import__("os").environ
