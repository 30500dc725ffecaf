"""The bundled specs are package data, found through importlib.resources; models/ at the top of
the repository is the user-facing copy, and the two agree byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalate import ModelSpec, SpecError
from escalate.model.spec import bundled_spec_names

MODELS = Path(__file__).resolve().parents[2] / "models"
PACKAGED = Path(__file__).resolve().parents[2] / "src" / "escalate" / "model" / "specs"


def test_packaged_and_user_facing_specs_agree():
    assert sorted(p.name for p in MODELS.glob("*.toml")) == sorted(p.name for p in PACKAGED.glob("*.toml"))
    for path in MODELS.glob("*.toml"):
        assert (PACKAGED / path.name).read_bytes() == path.read_bytes(), f"{path.name}: copy models/ into the package"


@pytest.mark.parametrize("name", bundled_spec_names())
def test_bundled_specs_load_through_the_package(name):
    spec = ModelSpec.bundled(name)
    assert spec == ModelSpec.from_toml(MODELS / f"{name}.toml")
    assert spec.source == f"escalate:{name}"


def test_unknown_bundled_spec_names_the_known_ones():
    with pytest.raises(SpecError, match="bundled specs are"):
        ModelSpec.bundled("no-such-spec")
