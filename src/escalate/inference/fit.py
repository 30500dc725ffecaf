"""Fitting: ``fit(data, spec, ...) -> Fit`` with NUTS, and ``fit_from_draws`` for given draws."""

from __future__ import annotations

import numpy as np
import xarray as xr

from escalate.data.corpus import Corpus
from escalate.data.truce_data import TruceData
from escalate.errors import ParameterError, SpecError
from escalate.inference.corpus import fit_corpus
from escalate.inference.diagnostics import warn_if_failed
from escalate.inference.result import Fit, finalize_tree
from escalate.inference.sampling import sample_model
from escalate.model.build import build_model, check_compatible, model_coords
from escalate.model.parameters import normalize_params, parameter, per_stream_dispersion
from escalate.model.spec import ModelSpec


def fit(data: TruceData, spec: ModelSpec, *, draws: int | None = None, tune: int | None = None,
        chains: int | None = None, seed: int = 0, sampler: str | None = None,
        target_accept: float | None = None, progressbar: bool = False, cores: int | None = None) -> Fit:
    """Fit the Bayesian Hawkes model of ``spec`` to ``data`` with NUTS.

    Parameters
    ----------
    data : TruceData
    spec : ModelSpec
    draws, tune, chains : int, optional
        Per chain; defaults from ``spec.sampler``.
    seed : int
        Random seed; the same seed gives the same draws.
    sampler : {"nutpie", "pymc", "numpyro"}, optional
        Default from the spec (nutpie).
    target_accept : float, optional
    progressbar : bool
    cores : int, optional
        Chains run in parallel on this many cores (default: as many as chains and CPUs allow).

    Returns
    -------
    Fit, or CorpusFit for a :class:`~escalate.Corpus`
        A failed diagnostics verdict is also announced with a :class:`DiagnosticsWarning`.
        A corpus is fitted with its collapse hazard (the spec's ``[hazard]`` table, MODEL.md
        6) jointly with the violence model of its event data.
    """
    if isinstance(data, Corpus):
        return fit_corpus(data, spec, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler,
                          target_accept=target_accept, progressbar=progressbar, cores=cores)
    data = prepare_data(data, spec)
    model = build_model(data, spec)
    tree, run = sample_model(model, spec, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler,
                             target_accept=target_accept, progressbar=progressbar, cores=cores)
    tree = finalize_tree(tree, data, spec, {"seed": seed, **run})
    result = Fit(tree=tree, spec=spec, data=data)
    warn_if_failed(result.diagnostics)
    return result


def fit_from_draws(data: TruceData, spec: ModelSpec, draws: dict) -> Fit:
    """A :class:`Fit` from given parameter draws (expert elicitation, checks, scenarios).

    Parameters
    ----------
    data : TruceData
    spec : ModelSpec
    draws : dict of str to array
        MODEL.md names to arrays with a leading draw dimension, e.g. ``branching`` of shape
        (n, K, K), ``decay`` of shape (n,). ``mu_log``, ``branching`` and ``decay`` are
        required; absent effects are zero (and absent from the posterior).

    Returns
    -------
    Fit
        One chain of n draws; no sampler statistics (diagnostics report a single chain).
    """
    data = prepare_data(data, spec)
    check_compatible(data, spec)
    K, J, P, C = len(data.streams), len(data.truce_ids), spec.penalty_tiers, len(spec.baseline_covariates)
    arrays = {name: np.asarray(value, dtype=float) for name, value in draws.items()}
    sizes = {v.shape[0] if v.ndim else -1 for v in arrays.values()}
    if len(sizes) != 1 or -1 in sizes:
        raise ParameterError(f"every draw array needs the same leading draw dimension; got shapes "
                             f"{ {k: v.shape for k, v in arrays.items()} }")
    n = sizes.pop()
    if "dispersion" in arrays:  # one shared value per draw is one per stream, all equal
        arrays["dispersion"] = per_stream_dispersion(arrays["dispersion"], K)
    for i in range(n):  # shape and value checks, draw by draw
        normalize_params({k: v[i] for k, v in arrays.items() if k != "dispersion"}, K, J, P, C)
    dims = {name: parameter(name).dims for name in arrays}
    coords = model_coords(data, spec)
    post = xr.Dataset({name: (("chain", "draw", *dims[name]), value[None]) for name, value in arrays.items()},
                      coords={"chain": [0], "draw": np.arange(n),
                              **{d: coords[d] for name in arrays for d in dims[name]}})
    tree = finalize_tree(xr.DataTree.from_dict({"posterior": post}), data, spec,
                         {"seed": None, "sampler": "fit_from_draws"})
    return Fit(tree=tree, spec=spec, data=data)


def prepare_data(data: TruceData, spec: ModelSpec) -> TruceData:
    """The data as the model sees it: the spec's stream order; exact times aggregated to days
    for ``time_resolution = "day"``. Day-dated data asked to fit "exact" is refused."""
    data = data.with_streams(spec.streams) if spec.streams else data
    if spec.time_resolution == "day":
        return data.to_daily()
    if data.resolution == "day":
        raise SpecError(f"{spec.source}: time_resolution = \"exact\" needs exact event times, but these "
                        f"data are daily counts: several events share a day, so their order and "
                        f"spacing are unknown and the point-process likelihood does not apply. Use "
                        f"time_resolution = \"day\" (the daily likelihood, MODEL.md 3b)")
    return data
