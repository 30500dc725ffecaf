"""The prior predictive check of MODEL.md 2: what truces do the priors imagine?

The likelihood enters the PyMC model as a Potential, so ``pm.sample_prior_predictive`` cannot
simulate data; this module draws every parameter from the spec's priors
(:func:`escalate.model.priors.draw_prior`), replicates each truce window from its start with
the spec's own observation model (event times, or daily Poisson / negative binomial counts;
:func:`escalate.checking.goodness.replicate_days`), and classifies each replicated truce:

- **collapsed**: one of the spec's collapse rules fires inside the window (a structural rule:
  the spectral radius at any of the truce's covariate states is >= 1);
- **exploded**: the simulation hit its cap (a day above 10^6 events; 200,000 events for exact
  times): the draw's process runs away;
- **quiet**: it stays well below the collapse thresholds: no count rule would fire even at
  half its threshold (same streams and window), and no structural rule fires;
- **supercritical**: the spectral radius at the truce's last covariate state is >= 1.

MODEL.md asks that the priors put visible mass on both quiet truces and collapsing ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from escalate.checking.goodness import replicate_days, replicated_days
from escalate.checking.posterior import segment_rates
from escalate.data.truce_data import TruceData
from escalate.errors import EscalateInputError
from escalate.forecasting.kernels import collapse_day
from escalate.forecasting.run import resolve_rules
from escalate.inference.fit import fit_from_draws
from escalate.model.parameters import LOG_OBSERVED_RATE, dims_for, posterior_parameters, spectral_radius
from escalate.model.priors import draw_prior
from escalate.model.scenarios import compile_count_rules


@dataclass
class PriorPredictive:
    """One row per prior draw and truce (``replicates``) and the shares over them."""

    replicates: pd.DataFrame
    collapse: str

    def summary(self) -> pd.DataFrame:
        """Share of replicated truces that stay quiet, collapse, explode and are supercritical,
        each with a 90% interval: share +- 1.645 standard errors of the mean over prior draws of
        each draw's share (the truces of one draw share its parameters), clipped to [0, 1]."""
        rows = []
        per_draw = self.replicates.groupby("draw")[["quiet", "collapsed", "exploded", "supercritical"]].mean()
        n = len(per_draw)
        for outcome in ("quiet", "collapsed", "exploded", "supercritical"):
            share = float(per_draw[outcome].mean())
            se = float(per_draw[outcome].std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
            rows.append({"outcome": outcome, "share": share, "share_q05": max(0.0, share - 1.645 * se),
                         "share_q95": min(1.0, share + 1.645 * se), "prior_draws": n})
        frame = pd.DataFrame(rows)
        frame.attrs["collapse"] = self.collapse
        return frame


def prior_predictive(spec, truces=None, covariates=None, *, data: TruceData | None = None, n: int = 200,
                     seed: int = 0, collapse=None, observed_rates=None) -> PriorPredictive:
    """Simulate the truce windows under ``n`` draws from the spec's priors (module docstring).

    Parameters
    ----------
    spec : ModelSpec
    truces, covariates : DataFrame or path
        The windows and covariate timelines, as for :meth:`TruceData.from_frames`; or
    data : TruceData
        whose windows and covariates are used (and its observed rates, for a prior centred on
        them).
    n : int
        Prior draws; every truce is replicated once per draw.
    collapse : CollapseRule or list, optional
        The rules (default the spec's).
    observed_rates : array of events/day per stream, optional
        The value of ``log_observed_rate`` in the priors (default: ``data``'s observed rates; a
        prior centred on them needs one or the other).
    """
    given = data is not None
    if data is None:
        if truces is None or covariates is None:
            raise EscalateInputError("prior_predictive needs truces and covariates, or data=")
        if not spec.streams:
            raise EscalateInputError(f"{spec.source}: the spec needs its 'streams' to simulate without data")
        data = TruceData.windows(truces, covariates, spec.streams)
        if spec.time_resolution == "day":
            data = data.to_daily()
    elif spec.time_resolution == "day" and data.resolution != "day":
        data = data.to_daily()
    K, J = len(data.streams), len(data.truce_ids)
    rates = observed_rates
    if rates is None and given:
        rates = data.observed_rates()
    needs_rate = dict(spec.prior("mu_log").params).get("mu") == LOG_OBSERVED_RATE
    if needs_rate and rates is None:
        raise EscalateInputError(f"{spec.source}: the prior of mu_log is centred on the observed rate "
                                 "(log_observed_rate); give observed_rates= (events/day per stream) or data=")
    symbolic = {LOG_OBSERVED_RATE: np.log(np.broadcast_to(np.asarray(rates, dtype=float), (K,)))} if needs_rate else {}
    rng = np.random.default_rng(seed)
    dims = dims_for(spec, K, J)
    prior = [draw_prior(spec, dims, rng, symbolic) for _ in range(int(n))]
    draws = {name: np.stack([np.asarray(d[name], dtype=float) for d in prior]) for name in prior[0]}
    fit = fit_from_draws(data, spec, draws)
    rules = resolve_rules(spec, collapse)
    thresholds, windows, masks = compile_count_rules(rules, data.streams)
    structural = any(r.kind == "structural" for r in rules)
    p = posterior_parameters(fit, np.arange(int(n)))
    rows = []
    for j, truce in enumerate(data.truce_ids):
        n_days = replicated_days(data, j)
        counts, exploded = replicate_days(fit, p, j, n_days, seed=int(rng.integers(2**31)))
        _, alpha = segment_rates(fit, p, j)  # (draw, segment, K, K)
        rho = spectral_radius(alpha)  # (draw, segment)
        for d in range(len(counts)):
            fired = collapse_day(counts[d], np.zeros((1, K)), thresholds, windows, masks, n_days + 1) <= n_days
            fired = fired or (structural and bool((rho[d] >= 1).any()))
            busy = collapse_day(counts[d], np.zeros((1, K)), thresholds / 2, windows, masks, n_days + 1) <= n_days
            events = float(counts[d].sum())
            rows.append({"draw": d, "truce_id": truce, "days": n_days, "events": events,
                         "collapsed": bool(fired or exploded[d]), "exploded": bool(exploded[d]),
                         "quiet": bool(not fired and not busy and not exploded[d]),
                         "supercritical": bool(rho[d, -1] >= 1)})
    return PriorPredictive(pd.DataFrame(rows), " or ".join(r.describe(list(data.streams)) for r in rules))


__all__ = ["PriorPredictive", "prior_predictive"]
