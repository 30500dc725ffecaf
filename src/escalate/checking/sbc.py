"""Simulation-based calibration (Talts et al. 2018): does the fit recover what the prior made?

Each replicate draws every parameter of the spec's model from its prior, simulates data with
them from the spec's own generative model (event times for an exact spec; for a day-resolution
spec the daily recursion with its Poisson or negative binomial counts, :func:`simulate_days`),
fits, and records the rank of each true value among thinned posterior draws. Under a correct likelihood,
prior and sampler the ranks are uniform. Replicates whose simulation explodes (spectral radius
>= 1 drives the event count past the cap) are skipped and counted. Skipping keeps the ranks
uniform: the rule is a function of the simulated data alone, and given the data the truth and
the posterior draws have the same distribution. (A rule on the truth, e.g. "skip rho >= 1",
would not.) Skipped replicates only shrink the sample.

:func:`sbc_corpus` does the same for a corpus spec (MODEL.md 6): each replicate simulates a
corpus from the prior draw (:func:`escalate.simulate_corpus`) and fits it with
:func:`escalate.fit_corpus`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from escalate.checking.goodness import replicate_days, replicated_days
from escalate.data.truce_data import TruceData
from escalate.errors import SimulationExplosionError, SpecError
from escalate.inference.diagnostics import DiagnosticsWarning
from escalate.inference.corpus import fit_corpus
from escalate.inference.fit import fit, fit_from_draws
from escalate.model.parameters import SYMBOLIC_MEANS, dims_for, posterior_parameters, present
from escalate.model.priors import draw_prior
from escalate.model.simulate import simulate
from escalate.model.simulate_corpus import DEFAULT_TRUTH, simulate_corpus
from escalate.model.spec import ModelSpec
from escalate.parallel import run_tasks

#: Scalars checked by default: decay, one branching entry and the verification effect on retaliation.
DEFAULT_PARAMETERS = ("decay", "branching[0, 1]", "excite_verification_cross", "mu_verification")

#: Scalars of a corpus spec's collapse hazard checked by default.
CORPUS_PARAMETERS = ("hazard_baseline[0]", "hazard_baseline[3]", "hazard_verification", "hazard_tier[1]",
                     "hazard_covariate[0]", "hazard_group_sd")


@dataclass
class SBCResult:
    """Ranks per replicate and parameter, and a uniformity test per parameter."""

    ranks: pd.DataFrame
    n_posterior: int
    skipped: int

    def uniformity(self, bins: int = 5) -> pd.DataFrame:
        """Chi-square test of the ranks in ``bins`` equal bins, one row per parameter."""
        rows = []
        for name, group in self.ranks.groupby("parameter", sort=False):
            counts = np.bincount(np.minimum(group["rank"].to_numpy() * bins // (self.n_posterior + 1), bins - 1),
                                 minlength=bins)
            res = stats.chisquare(counts)
            rows.append({"parameter": name, "replicates": int(len(group)), "counts": counts.tolist(),
                         "chi2": float(res.statistic), "p_value": float(res.pvalue)})
        return pd.DataFrame(rows)


def _draw_prior(spec: ModelSpec, dims, rng: np.random.Generator) -> dict:
    present_names = {entry.name for entry in present(spec, dims)}
    for name, symbol in SYMBOLIC_MEANS.items():
        if name in present_names and dict(spec.prior(name).params).get("mu") == symbol:
            raise SpecError(f"{spec.source}: SBC needs a numeric prior mean for {name} ({symbol} depends "
                            f"on the data); set priors.{name} = {{ dist = \"Normal\", mu = ..., sigma = ... }}")
    return draw_prior(spec, dims, rng)


def simulate_days(spec: ModelSpec, params: dict, truces, covariates, seed: int) -> TruceData:
    """Daily counts of the truce windows simulated from the day-resolution model itself
    (MODEL.md 3b: the daily recursion, Poisson or negative binomial with the spec's
    ``dispersion``), as SBC of a day-resolution spec needs; raises
    :class:`SimulationExplosionError` when a day passes 10^6 events."""
    frame = TruceData.windows(truces, covariates, spec.streams).to_daily()
    truth = fit_from_draws(frame, spec, {name: np.asarray(value, dtype=float)[None] for name, value in params.items()})
    p = posterior_parameters(truth, np.arange(1))
    counts = []
    for j, truce in enumerate(frame.truce_ids):
        days, exploded = replicate_days(truth, p, j, replicated_days(frame, j), seed + 7919 * j)
        if exploded.any():
            raise SimulationExplosionError(f"truce {truce!r}: a simulated day passed 10^6 events (explosive draw)")
        counts.append(days[0])
    return frame.with_counts(counts, {"simulated": {"resolution": "day", "seed": int(seed)}})


def _scalar(params: dict, name: str) -> float:
    if "[" in name:
        base, index = name[:-1].split("[")
        return float(np.asarray(params[base])[tuple(int(i) for i in index.split(","))])
    return float(params[name])


def sbc(spec: ModelSpec, truces, covariates, n: int, *, parameters=DEFAULT_PARAMETERS, draws: int = 400,
        tune: int = 400, chains: int = 2, thin: int = 4, seed: int = 0, max_events: int = 20_000,
        scheduler: str | None = "synchronous", workers: int | None = None, progress=None) -> SBCResult:
    """Simulation-based calibration of ``spec`` on the given truce windows and covariates.

    Parameters
    ----------
    spec : ModelSpec
        Needs ``streams`` and a numeric ``mu_log`` prior mean.
    truces, covariates : DataFrame or path
        The windows and covariate timelines every replicate is simulated on.
    n : int
        Replicates (fits).
    parameters : sequence of str
        Scalars to rank, e.g. ``"decay"``, ``"branching[0, 1]"`` (source, target indices).
    draws, tune, chains, thin : int
        Sampler settings; ranks use every ``thin``-th draw (to reduce autocorrelation).
    seed : int
        Every replicate's truth and seeds are drawn from it up front, so the ranks do not depend
        on where the replicates run.
    max_events : int
        Per-truce simulation cap; a replicate past it is skipped (and counted).
    scheduler, workers :
        Where the replicates run (:func:`escalate.parallel.run_tasks`; default here: this process,
        one after the other; ``"local"`` for a Dask cluster of this machine's cores).

    Returns
    -------
    SBCResult
    """
    if not spec.streams:
        raise SpecError(f"{spec.source}: SBC needs the spec's 'streams' list")
    rng = np.random.default_rng(seed)
    truces = truces if isinstance(truces, pd.DataFrame) else pd.read_csv(truces)
    covariates = covariates if isinstance(covariates, pd.DataFrame) else pd.read_csv(covariates)
    tasks = {}
    for replicate in range(n):
        truth = _draw_prior(spec, dims_for(spec, len(spec.streams), len(truces)), rng)
        tasks[str(replicate)] = (replicate, truth, int(rng.integers(2**31)), int(rng.integers(2**31)))
    shared = {"spec": spec, "truces": truces, "covariates": covariates, "parameters": tuple(parameters),
              "draws": draws, "tune": tune, "chains": chains, "thin": thin, "max_events": max_events}
    results, failures = run_tasks(_replicate, tasks, shared=shared, scheduler=scheduler, workers=workers,
                                  progress=progress)
    return _collect(tasks, results, failures, draws, chains, thin)


def _replicate(shared: dict, task) -> list[dict] | None:
    """Simulate, fit and rank one replicate (None when its simulation explodes)."""
    replicate, truth, simulation_seed, fit_seed = task
    spec = shared["spec"]
    try:
        if spec.time_resolution == "day":
            data = simulate_days(spec, truth, shared["truces"], shared["covariates"], seed=simulation_seed)
        else:
            data = simulate(truth, shared["truces"], shared["covariates"], spec.streams, seed=simulation_seed,
                            max_events=shared["max_events"])
    except SimulationExplosionError:
        return None
    with warnings.catch_warnings():
        # short SBC fits: their diagnostics are not the point here (ranks are; only that warning)
        warnings.simplefilter("ignore", DiagnosticsWarning)
        result = fit(data, spec, draws=shared["draws"], tune=shared["tune"], chains=shared["chains"], seed=fit_seed)
    return _ranks(result.tree["posterior"], truth, shared, replicate, events=int(data.stream_totals().sum()))


def _ranks(posterior, truth: dict, shared: dict, replicate: int, **extra) -> list[dict]:
    """The rank of each checked scalar's truth among the thinned posterior draws."""
    rows = []
    for name in shared["parameters"]:
        base = name.split("[")[0]
        values = posterior[base].values
        values = values.reshape(-1, *values.shape[2:])[::shared["thin"]]
        samples = values if values.ndim == 1 else values[(slice(None), *(int(i) for i in name[:-1].split("[")[1].split(",")))]
        rows.append({"replicate": replicate, "parameter": name, "truth": _scalar(truth, name),
                     "rank": int((samples < _scalar(truth, name)).sum()), **extra})
    return rows


def _collect(tasks: dict, results: dict, failures: dict, draws: int, chains: int, thin: int) -> SBCResult:
    if failures:
        raise RuntimeError("; ".join(f"SBC replicate {k}: {f.error}" for k, f in failures.items()))
    rows = [row for k in tasks if results[k] is not None for row in results[k]]
    skipped = sum(results[k] is None for k in tasks)
    return SBCResult(ranks=pd.DataFrame(rows), n_posterior=len(range(0, draws * chains, thin)), skipped=skipped)


def sbc_corpus(spec: ModelSpec, n: int, *, n_truces: int = 300, n_groups: int = 24,
               parameters=CORPUS_PARAMETERS, draws: int = 400, tune: int = 400, chains: int = 2, thin: int = 4,
               seed: int = 0, scheduler: str | None = "synchronous", workers: int | None = None,
               progress=None) -> SBCResult:
    """Simulation-based calibration of a corpus spec's collapse hazard (MODEL.md 6).

    Each replicate draws the hazard's parameters (group effects included) from the spec's
    priors, simulates a corpus of ``n_truces`` truces in ``n_groups`` groups with them
    (:func:`escalate.simulate_corpus`: its censoring by fixed terms, replacement and the cutoff;
    verification, tiers and the spec's static covariates drawn per truce), fits it with
    :func:`escalate.fit_corpus` and ranks the truth. A spec with violence also draws the violence
    parameters; one without (``violence = false``) simulates the violence at
    :data:`escalate.model.simulate_corpus.DEFAULT_TRUTH`, which its hazard does not see.
    Other arguments as :func:`sbc`.
    """
    if spec.hazard is None:
        raise SpecError(f"{spec.source}: sbc_corpus needs a spec with a [hazard] table")
    if spec.violence and len(spec.streams) != 1:
        raise SpecError(f"{spec.source}: sbc_corpus simulates one event stream; set streams = [\"events\"]")
    rng = np.random.default_rng(seed)
    dims = dims_for(spec, 1 if spec.violence else 0, 0, n_groups)
    tasks = {}
    for replicate in range(n):
        truth = _draw_prior(spec, dims, rng)
        tasks[str(replicate)] = (replicate, truth, int(rng.integers(2**31)), int(rng.integers(2**31)))
    shared = {"spec": spec, "n_truces": n_truces, "n_groups": n_groups, "parameters": tuple(parameters),
              "draws": draws, "tune": tune, "chains": chains, "thin": thin}
    results, failures = run_tasks(_corpus_replicate, tasks, shared=shared, scheduler=scheduler, workers=workers,
                                  progress=progress)
    return _collect(tasks, results, failures, draws, chains, thin)


def _corpus_replicate(shared: dict, task) -> list[dict]:
    """Simulate a corpus from one prior draw, fit it and rank the truth."""
    replicate, truth, simulation_seed, fit_seed = task
    spec = shared["spec"]
    full = {**{k: v for k, v in DEFAULT_TRUTH.items() if not k.startswith("hazard_")}, **truth}
    full.setdefault("hazard_feedback", 0.0)
    full.setdefault("hazard_tier", np.zeros(spec.penalty_tiers - 1))
    full.setdefault("hazard_covariate", np.zeros(len(spec.hazard.covariates)))
    full.setdefault("hazard_verification", 0.0)
    corpus, _ = simulate_corpus(shared["n_truces"], shared["n_groups"], truth=full, seed=simulation_seed,
                                event_share=1.0 if spec.violence else 0.0, bins=spec.hazard.bins,
                                covariates=spec.hazard.covariates, max_days=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticsWarning)
        result = fit_corpus(corpus, spec, draws=shared["draws"], tune=shared["tune"], chains=shared["chains"],
                            seed=fit_seed)
    return _ranks(result.tree["posterior"], truth, shared, replicate,
                  collapses=int((corpus.truces["end_type"] == "collapsed").sum()))
