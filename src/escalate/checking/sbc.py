"""Simulation-based calibration (Talts et al. 2018): does the fit recover what the prior made?

Each replicate draws every parameter of the spec's model from its prior, simulates data with
them from the spec's own generative model (event times for an exact spec; for a day-resolution
spec the daily recursion with its Poisson or negative binomial counts, :func:`simulate_days`),
fits, and records the rank of each true value among thinned posterior draws. Under a correct likelihood,
prior and sampler the ranks are uniform. Replicates whose simulation explodes (spectral radius
>= 1 drives the event count past the cap) are skipped and counted: the check is then of the
prior conditioned on a finite simulation, which the report says.
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
from escalate.inference.fit import fit, fit_from_draws
from escalate.model.parameters import LOG_OBSERVED_RATE, dims_for, posterior_parameters
from escalate.model.priors import draw_prior
from escalate.model.simulate import simulate
from escalate.model.spec import ModelSpec
from escalate.parallel import run_tasks

#: Scalars checked by default: decay, one branching entry and the verification effect on retaliation.
DEFAULT_PARAMETERS = ("decay", "branching[0, 1]", "excite_verification_cross", "mu_verification")


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


def _draw_prior(spec: ModelSpec, K: int, J: int, rng: np.random.Generator) -> dict:
    if dict(spec.prior("mu_log").params).get("mu") == LOG_OBSERVED_RATE:
        raise SpecError(f"{spec.source}: SBC needs a numeric prior mean for mu_log (log_observed_rate depends "
                        f"on the data); set priors.mu_log = {{ dist = \"Normal\", mu = ..., sigma = ... }}")
    return draw_prior(spec, dims_for(spec, K, J), rng)


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
        truth = _draw_prior(spec, len(spec.streams), len(truces), rng)
        tasks[str(replicate)] = (replicate, truth, int(rng.integers(2**31)), int(rng.integers(2**31)))
    shared = {"spec": spec, "truces": truces, "covariates": covariates, "parameters": tuple(parameters),
              "draws": draws, "tune": tune, "chains": chains, "thin": thin, "max_events": max_events}
    results, failures = run_tasks(_replicate, tasks, shared=shared, scheduler=scheduler, workers=workers,
                                  progress=progress)
    if failures:
        raise RuntimeError("; ".join(f"SBC replicate {k}: {f.error}" for k, f in failures.items()))
    rows = [row for k in tasks if results[k] is not None for row in results[k]]
    skipped = sum(results[k] is None for k in tasks)
    n_post = len(range(0, draws * chains, thin))
    return SBCResult(ranks=pd.DataFrame(rows), n_posterior=n_post, skipped=skipped)


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
    post = result.posterior_draws()
    rows = []
    for name in shared["parameters"]:
        base = name.split("[")[0]
        values = post[base][::shared["thin"]]
        samples = values if values.ndim == 1 else values[(slice(None), *(int(i) for i in name[:-1].split("[")[1].split(",")))]
        rows.append({"replicate": replicate, "parameter": name, "truth": _scalar(truth, name),
                     "rank": int((samples < _scalar(truth, name)).sum()), "events": int(data.stream_totals().sum())})
    return rows
