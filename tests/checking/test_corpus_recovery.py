"""Recovery of the joint corpus model (MODEL.md 6) on a simulated corpus with known truth."""

from __future__ import annotations

import pytest

from escalate.checking.corpus_recovery import recovery_replicate


@pytest.mark.slow
def test_a_simulated_corpus_recovers_hazard_and_violence_parameters():
    rows, fit = recovery_replicate(seed=1)
    assert fit.diagnostics.passed, fit.diagnostics.verdict
    assert len(fit.corpus.truces) == 300 and len(fit.corpus.groups) == 24
    ends = set(fit.corpus.truces["end_type"])
    assert {"collapsed", "expired", "replaced"} <= ends  # censored like the real corpus
    # the policy effects and the feedback are each inside their 94% interval; of all the checked
    # scalars (19) at least 90% are (every one at once happens in only about 0.94^19 = 31% of
    # replicates; the coverage over replicates is in docs/validation.md)
    effects = rows[rows["parameter"].str.match(r"hazard_(verification|tier|covariate|feedback)")]
    assert effects["covered"].all(), effects.to_string()
    assert rows["covered"].mean() >= 0.9, rows[~rows["covered"]].to_string()
    # and the intervals are informative, not the prior's: the feedback and verification effects
    # of the hazard are pinned to within +-0.6 of their truth
    for name in ("hazard_feedback", "hazard_verification"):
        row = rows.set_index("parameter").loc[name]
        assert row["high"] - row["low"] < 1.2, name
