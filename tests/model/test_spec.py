"""Model specs: parsing, validation errors naming key and file, ids, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalate import ModelSpec, SpecError

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.toml")), ids=lambda p: p.name)
def test_bundled_specs_parse_and_round_trip(path):
    spec = ModelSpec.from_toml(path)
    again = ModelSpec.from_dict(spec.to_dict())
    assert again == spec and again.spec_id == spec.spec_id


def test_defaults_follow_model_md():
    spec = ModelSpec.from_dict({})
    assert spec.prior("branching").to_dict() == {"dist": "Gamma", "alpha": 1.0, "beta": 3.0}
    assert spec.prior("mu_log").to_dict()["mu"] == "log_observed_rate"
    assert spec.sampler.chains == 4


def test_the_mass_matrix_is_chosen_per_model_unless_the_spec_says():
    assert ModelSpec.from_dict({}).sampler.adaptation == "auto"
    assert ModelSpec.from_dict({"sampler": {"sampler": "pymc"}}).sampler.adaptation == "auto"
    with pytest.raises(SpecError, match="needs sampler = 'nutpie'"):
        ModelSpec.from_dict({"sampler": {"sampler": "numpyro", "adaptation": "low_rank"}})
    with pytest.raises(SpecError, match="'auto' \\(the default\\), 'diag' or 'low_rank'"):
        ModelSpec.from_dict({"sampler": {"adaptation": "dense"}})


def _write(tmp_path, text):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,needle", [
    ("penalty_teirs = 3\n", "'penalty_teirs' (did you mean 'penalty_tiers'?)"),
    ("[priors]\nbranchng = { dist = \"Gamma\", alpha = 2, beta = 4 }\n", "'priors.branchng'"),
    ("[priors]\ndecay = { dist = \"Normal\", mu = 0, sigma = 1 }\n", "decay is positive"),
    ("[priors]\ndecay = { dist = \"Gamma\", alpha = 2 }\n", "Gamma needs ['beta']"),
    ("[priors]\ndecay = { dist = \"Gamma\", alpha = 2, beta = -1 }\n", "beta must be > 0"),
    ("[priors]\nmu_verification = { dist = \"Cauchy\", alpha = 0, beta = 1 }\n", "unknown dist 'Cauchy'"),
    ("[sampler]\ndraws = \"many\"\n", "'sampler.draws' must be int"),
    ("[sampler]\nchanis = 2\n", "'sampler.chanis'"),
    ("time_resolution = \"hourly\"\n", "'time_resolution' must be one of"),
    ("schema_version = 9\n", "schema_version 9 is not supported"),
    ("streams = [\"a\", \"a\"]\n", "lists a stream twice"),
    ("penalty_tiers = 0\n", "'penalty_tiers' must be >= 1"),
    ("baseline_covariates = [\"verification\"]\n", "may not name ['verification']"),
    ("name = \n", "not valid TOML"),
])
def test_errors_name_the_key_and_the_file(tmp_path, text, needle):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        ModelSpec.from_toml(path)
    assert needle in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        ModelSpec.from_toml(tmp_path / "nope.toml")


def test_with_priors_changes_the_id():
    spec = ModelSpec.from_dict({})
    other = spec.with_priors(decay={"dist": "LogNormal", "mu": 0.0, "sigma": 0.5})
    assert other.prior("decay").to_dict() == {"dist": "LogNormal", "mu": 0.0, "sigma": 0.5}
    assert other.spec_id != spec.spec_id
