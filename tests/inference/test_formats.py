"""Files written by earlier releases stay readable: one saved fit and forecast per format version,
committed under tests/fixtures/formats/ (scripts/make_format_fixtures.py writes them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import escalate
from escalate.forecasting.result import FORECAST_FORMAT_VERSION
from escalate.inference.result import FORMAT_VERSION

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def test_a_fixture_exists_for_the_current_format_versions():
    assert (FIXTURES / f"fit-v{FORMAT_VERSION}.zarr").is_dir()
    assert (FIXTURES / f"forecast-v{FORECAST_FORMAT_VERSION}.zarr").is_dir()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("fit-v*.zarr")), ids=lambda p: p.name)
def test_saved_fits_of_every_kept_version_load(path):
    fit = escalate.load_fit(path)
    assert fit.spec.name == "format-fixture" and fit.data.streams == ("x", "y")
    assert fit.parameter_names == ["mu_log", "branching", "decay"]
    assert fit.posterior_draws()["branching"].shape == (8, 2, 2)
    assert "spectral_radius" in fit.tree["posterior"].data_vars


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("forecast-v*.zarr")), ids=lambda p: p.name)
def test_saved_forecasts_of_every_kept_version_load_with_their_numbers(path):
    forecast = escalate.load_forecast(path)
    expected = pd.read_csv(path.with_suffix(".csv"))
    frame = forecast.to_frame().reset_index(drop=True)
    # the stored numbers: the posterior predictive probability and the expected events, exactly
    same = [c for c in expected.columns if not c.startswith(("p_collapse_q", "p_collapse_mcse"))]
    pd.testing.assert_frame_equal(frame[same], expected[same], check_dtype=False, rtol=1e-12)
    # the band is now the posterior's (the paths' noise taken out: escalate.forecasting.uncertainty),
    # the raw band of the CSV shrunk towards the mean, so inside it
    for q in ("q05", "q50", "q95"):
        new, old, mean = frame[f"p_collapse_{q}"], expected[f"p_collapse_{q}"], expected["p_collapse_mean"]
        assert ((new - mean).abs() <= (old - mean).abs() + 1e-12).all(), q
    assert forecast.collapse_definition() == "at least 5 x or y events within 7 consecutive days"
