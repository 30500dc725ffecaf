"""Recovery of a corpus model's parameters on simulated corpora with known truth (MODEL.md 6).

One replicate: simulate a corpus (:func:`escalate.simulate_corpus`), fit the joint model, and
check every scalar of the truth against its posterior interval. ``recovery_table`` runs several
replicates and reports the interval coverage per parameter (docs/validation.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from escalate.data.corpus import Corpus
from escalate.inference.corpus import fit_corpus
from escalate.model.simulate_corpus import DEFAULT_BINS, DEFAULT_TRUTH, simulate_corpus
from escalate.model.spec import ModelSpec
from escalate.parallel import print_progress, run_tasks

#: The parameters a recovery checks (group effects are summarised by their scales).
CHECKED = ("hazard_baseline", "hazard_verification", "hazard_tier", "hazard_covariate", "hazard_feedback",
           "hazard_group_sd", "mu_log", "mu_verification", "branching", "decay", "group_sd")


def recovery_spec() -> ModelSpec:
    """The model the simulated corpora are drawn from (one stream, Poisson daily counts)."""
    return ModelSpec.from_dict({
        "name": "corpus-recovery", "streams": ["events"], "time_resolution": "day", "penalty_tiers": 3,
        "truce_effects": "none", "group_effects": "centred",
        "hazard": {"bins": list(DEFAULT_BINS), "covariates": ["written", "mediated"], "feedback": True},
        "priors": {"excite_tier": {"dist": "Normal", "mu": 0.0, "sigma": 0.5},
                   "mu_tier": {"dist": "Normal", "mu": 0.0, "sigma": 0.5}},
        "sampler": {"target_accept": 0.95, "adaptation": "low_rank"}})


def simulated_corpus(seed: int, n_truces: int = 300, n_groups: int = 24) -> tuple[Corpus, dict]:
    """A corpus like the real one in its censoring (fixed terms expire, long truces are replaced,
    some hold at the cutoff), every truce with its event series."""
    return simulate_corpus(n_truces, n_groups, seed=seed, event_share=1.0, max_days=200)


def recovery_rows(fit, truth: dict, ci_prob: float = 0.94) -> pd.DataFrame:
    """One row per checked scalar: truth, posterior mean, interval and whether it covers."""
    post = fit.tree["posterior"]
    lo, hi = (1 - ci_prob) / 2, (1 + ci_prob) / 2
    rows = []
    for name in CHECKED:
        if name not in post:
            continue
        draws = post[name].values.reshape(-1, *post[name].shape[2:])
        value = np.asarray(truth.get(name, 0.0), dtype=float)
        for index in np.ndindex(value.shape):
            d = draws[(slice(None), *index)]
            low, high = np.quantile(d, [lo, hi])
            label = name + (f"[{','.join(map(str, index))}]" if index else "")
            rows.append({"parameter": label, "truth": float(value[index]), "mean": float(d.mean()),
                         "low": float(low), "high": float(high), "covered": bool(low <= value[index] <= high)})
    return pd.DataFrame(rows)


def recovery_replicate(seed: int, draws: int = 500, tune: int = 1000, chains: int = 4) -> tuple[pd.DataFrame, object]:
    """Simulate, fit and check one replicate; returns the rows and the fit."""
    corpus, truth = simulated_corpus(seed)
    fit = fit_corpus(corpus, recovery_spec(), draws=draws, tune=tune, chains=chains, seed=seed)
    rows = recovery_rows(fit, truth)
    rows["seed"] = seed
    rows["diagnostics"] = fit.diagnostics.verdict
    return rows, fit


def _replicate_task(settings: dict, seed: int) -> pd.DataFrame:
    """One replicate as a task of :func:`escalate.parallel.run_tasks` (its rows only)."""
    return recovery_replicate(seed, **settings)[0]


def recovery_table(seeds, *, scheduler: str | None = None, workers: int | None = None, progress=None,
                   **settings) -> pd.DataFrame:
    """Interval coverage per parameter over replicates, with how many of the fits passed their
    diagnostics (``passed``). The replicates run as Dask tasks (:func:`escalate.parallel.run_tasks`;
    ``scheduler="synchronous"`` runs them here); a failed replicate raises, naming its seed."""
    results, failures = run_tasks(_replicate_task, {str(s): int(s) for s in seeds}, shared=settings,
                                  scheduler=scheduler, workers=workers, progress=progress or print_progress)
    if failures:
        raise RuntimeError("; ".join(f"replicate seed {k}: {f.error}" for k, f in failures.items()))
    rows = pd.concat([results[str(s)] for s in seeds], ignore_index=True)
    rows["passed"] = rows["diagnostics"].str.startswith("PASSED")
    table = rows.groupby("parameter", sort=False).agg(
        truth=("truth", "first"), replicates=("covered", "size"), coverage=("covered", "mean"),
        mean_estimate=("mean", "mean"), mean_width=("high", "mean"))
    table["mean_width"] -= rows.groupby("parameter", sort=False)["low"].mean()
    table.attrs["passed"] = int(rows.groupby("seed")["passed"].first().sum())
    table.attrs["rows"] = rows
    return table


__all__ = ["CHECKED", "DEFAULT_TRUTH", "recovery_replicate", "recovery_rows", "recovery_spec", "recovery_table"]
