"""Scores against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from escalate.checking import scores


def test_brier_and_binary_log_score_by_hand():
    assert scores.brier([1, 0], [0.8, 0.3]).tolist() == pytest.approx([0.04, 0.09])
    assert scores.binary_log_score([1, 0], [0.8, 0.3]).tolist() == pytest.approx([-np.log(0.8), -np.log(0.7)])
    assert scores.brier([1, 0, 1], [1.0, 0.0, 1.0]).tolist() == [0.0, 0.0, 0.0]  # a perfect forecast scores 0
    assert scores.clip_probability([0.0, 1.0], 100).tolist() == [0.005, 0.995]


def test_crps_by_hand():
    # samples {0, 2}, y = 1: E|X - y| = 1, E|X - X'| over all pairs = (0 + 2 + 2 + 0) / 4 = 1 -> 1 - 1/2
    assert float(scores.crps(1.0, np.array([0.0, 2.0]))) == pytest.approx(0.5)
    assert float(scores.crps(3.0, np.array([3.0, 3.0, 3.0]))) == pytest.approx(0.0)


def test_count_log_score_by_hand_and_proper():
    # 4 samples {0, 0, 1, 3}, y = 1: geometric tail of mean 1 + 1 = 2 (theta 2/3), q(1) = 1/3 * 2/3
    q1 = (1 / 3) * (2 / 3)
    assert float(scores.count_log_score(1, [0, 0, 1, 3])[0]) == pytest.approx(-np.log((1 + 0.5 * q1) / 4.5))
    unseen = float(scores.count_log_score(9, [0, 0, 1, 3])[0])
    assert np.isfinite(unseen) and unseen > float(scores.count_log_score(0, [0, 0, 1, 3])[0])
    # the pmf sums to one over the counts, whatever they are: a distribution, not a function of y
    pmf = scores.count_predictive_pmf([0, 0, 1, 3], np.arange(400))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    # proper: the expected score under the samples' own distribution is lowest for honest samples
    rng = np.random.default_rng(0)
    truth = rng.poisson(3.0, 4000)
    honest = rng.poisson(3.0, 2000)
    for other in (rng.poisson(4.5, 2000), rng.poisson(2.0, 2000)):
        assert scores.count_log_score(truth, np.tile(honest, (4000, 1))).mean() < \
            scores.count_log_score(truth, np.tile(other, (4000, 1))).mean()


def test_coverage_reliability_and_skill():
    samples = np.arange(101.0)[None, :].repeat(2, axis=0)
    assert scores.covered([50, 99], samples, 0.9).tolist() == [True, False]
    table = scores.reliability_table([1, 0, 1, 1], [0.05, 0.05, 0.95, 0.9], bins=10)
    assert table.loc[0, "n"] == 2 and table.loc[0, "observed_frequency"] == 0.5
    assert table.loc[9, "observed_frequency"] == 1.0
    s = scores.skill([0.1, 0.1, 0.1], [0.2, 0.2, 0.2])
    assert s["skill"] == pytest.approx(0.5) and s["lower"] == pytest.approx(0.5) and s["n"] == 3
