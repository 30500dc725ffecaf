"""The bundled real example: Israel-Hezbollah daily counts, fitted with the daily likelihood."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import escalate
from escalate.datasets import (
    israel_hezbollah,
    israel_hezbollah_daily,
    israel_hezbollah_readme,
)

SPEC = Path(__file__).resolve().parents[2] / "models" / "israel-hezbollah.toml"


def test_dataset_structure_and_attribution():
    data = israel_hezbollah()
    assert data.resolution == "day" and data.streams == ("israel", "hezbollah")
    assert data.truce_ids == ("gaza-pause-2023", "lebanon-cessation-2024")
    np.testing.assert_array_equal(data.durations, [7, 292])
    counts = data.counts.set_index(["truce_id", "stream"])["count"]
    assert counts.loc[("lebanon-cessation-2024", "hezbollah")].sum() <= 1  # all but silent for 292 days
    assert counts.loc[("lebanon-cessation-2024", "israel")].sum() == 1387
    # the coded tiers: Hezbollah faces coercive enforcement in the 2024 cessation
    assert data.segments.tier.tolist() == [[0, 0], [0, 3]]
    assert "ACLED" in data.provenance["attribution"] and "acleddata.com" in israel_hezbollah_readme()
    assert len(israel_hezbollah_daily().counts) == 708


@pytest.mark.slow
def test_real_example_fits_cleanly():
    result = escalate.fit(israel_hezbollah(), escalate.ModelSpec.from_toml(SPEC), seed=20261126)
    diag = result.diagnostics
    assert diag.max_rhat <= 1.01 and diag.divergences == 0, diag.verdict
    assert diag.chains == 4 and diag.draws == 1000
    post = result.tree["posterior"]
    # Israel's baseline under the cessation (v = 0.5, its tier 0): the observed 4.75/day is
    # mostly immigrants plus excitation; the posterior median baseline must lie below it and
    # above a tenth of it (a loose plausibility band, not a tuned value)
    base = np.exp(post["mu_log"].sel(stream="israel") + 0.5 * post["mu_verification"]).median()
    assert 0.475 < float(base) < 4.75
