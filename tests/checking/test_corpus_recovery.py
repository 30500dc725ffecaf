"""Recovery of the joint corpus model (MODEL.md 6) on a simulated corpus with known truth."""

from __future__ import annotations

import pytest

from escalate.checking.corpus_recovery import recovery_replicate


@pytest.mark.slow
@pytest.mark.filterwarnings("default::escalate.inference.diagnostics.DiagnosticsWarning")
def test_a_simulated_corpus_recovers_hazard_and_violence_parameters():
    rows, fit = recovery_replicate(seed=1)
    # The strict verdict (max r_hat <= 1.01, ESS >= 400) is not asked of this one fit: on this
    # model it fails narrowly in about 1 replicate in 7 (3 of 20 in docs/validation.md, r_hat
    # 1.010-1.019), and which replicate fails depends on the machine's floating point (seed 1
    # passes here with r_hat 1.007 and failed on CI with 1.025). A failed verdict is still
    # printed (the DiagnosticsWarning is shown, not raised). What a recovery needs, and what a
    # broken model or sampler (a wrong gradient, a multimodal or improper posterior, stuck
    # chains) fails, is chains that agree and sample the posterior: no divergence, r_hat
    # below 1.05 and at least 200 effective draws of every parameter.
    diag = fit.diagnostics
    assert diag.divergences == 0 and diag.max_rhat < 1.05, diag.verdict
    assert min(diag.min_ess_bulk, diag.min_ess_tail) >= 200, diag.verdict
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
