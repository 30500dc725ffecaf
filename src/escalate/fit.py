"""Fitting: ``fit(data, spec, ...) -> Fit``, a thin object around the posterior DataTree."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from escalate.data import TruceData
from escalate.diagnostics import Diagnostics, compute_diagnostics, warn_if_failed
from escalate.model import build_model
from escalate.params import effective_branching, spectral_radius
from escalate.spec import ModelSpec

#: Version of the saved-fit layout (groups and attrs); bump on incompatible change.
FORMAT_VERSION = 1

#: Free parameters reported in summaries and diagnostics, in MODEL.md order.
PARAMETER_NAMES = ("mu_log", "mu_verification", "mu_tier", "mu_covariate", "branching",
                   "excite_verification_self", "excite_verification_cross", "excite_tier",
                   "decay", "dispersion", "truce_sd", "truce_effect")


@dataclass(eq=False)
class Fit:
    """A fitted model: the DataTree (source of truth), the spec and the data.

    Attributes
    ----------
    tree : xarray.DataTree
        Groups ``posterior`` (MODEL.md names, named dims, plus ``spectral_radius`` per observed
        covariate state and ``mean_lag_days``), ``sample_stats``, ``fit_data`` and later
        ``forecast``; root attrs carry provenance as JSON strings.
    spec : ModelSpec
    data : TruceData
    """

    tree: xr.DataTree
    spec: ModelSpec
    data: TruceData

    @property
    def parameter_names(self) -> list[str]:
        """Free parameters present in this posterior."""
        post = self.tree["posterior"]
        return [n for n in PARAMETER_NAMES if n in post.data_vars]

    @property
    def diagnostics(self) -> Diagnostics:
        """Worst r_hat, bulk/tail ESS and divergences, with a pass/fail verdict."""
        return compute_diagnostics(self.tree, self.parameter_names)

    def summary(self, ci_prob: float = 0.94, ci_kind: str = "eti", var_names=None) -> pd.DataFrame:
        """Posterior summary with an explicit interval (default 94% equal-tailed).

        Columns: mean, sd, the interval bounds (``eti94_lb``/``eti94_ub`` style), ess_bulk,
        ess_tail, r_hat. Rows are named ``param[coord]``.
        """
        names = var_names or [*self.parameter_names, "spectral_radius", "mean_lag_days"]
        names = [n for n in names if n in self.tree["posterior"].data_vars]
        return az.summary(self.tree, var_names=names, ci_prob=ci_prob, ci_kind=ci_kind)

    def posterior_draws(self) -> dict[str, np.ndarray]:
        """Flattened draws ``{name: array[n_draws, ...]}`` of every parameter (chain x draw)."""
        post = self.tree["posterior"]
        out = {}
        for name in post.data_vars:
            values = post[name].values
            out[name] = values.reshape((-1,) + values.shape[2:])
        return out

    def forecast(self, horizon: int, scenarios=None, collapse=None, draws: int | None = None,
                 paths: int = 100, seed: int | None = None, truce: str | None = None, checkpoints=None):
        """Posterior forecast of truce collapse over ``horizon`` days (MODEL.md 4).

        Parameters
        ----------
        horizon : int
            Days after the end of the data.
        scenarios : list of Scenario or str, optional
            Policy scenarios (objects, or names of the spec's ``[[scenario]]`` tables); the
            status quo is always included first. Default: the spec's scenarios.
        collapse : CollapseRule or list of CollapseRule, optional
            Any of the rules counts as collapse. Default: the spec's ``[[collapse]]`` rules.
        draws : int, optional
            Posterior draws used (evenly spaced); default all.
        paths : int
            Simulated futures per draw.
        seed : int, optional
            Same seed, same forecast (default 0).
        truce : str, optional
            Which truce to continue; default the one whose window ends last.
        checkpoints : sequence of int, optional
            Days at which each path's cumulative counts are kept (default 7, 30, 90, horizon).

        Returns
        -------
        Forecast
            The fit is not modified; attach the forecast with :meth:`with_forecast`.
        """
        from escalate.forecast import run_forecast

        return run_forecast(self, horizon, scenarios, collapse, draws, paths, seed, truce, checkpoints=checkpoints)

    def with_forecast(self, forecast) -> "Fit":
        """A new Fit whose tree also holds ``forecast`` as its ``forecast`` group."""
        tree = self.tree.copy()
        tree["forecast"] = forecast.tree.to_dataset()
        return Fit(tree=tree, spec=self.spec, data=self.data)

    @property
    def saved_forecast(self):
        """The forecast stored in this fit's tree (see :meth:`with_forecast`), or None."""
        from escalate.outcomes import Forecast

        return Forecast.from_tree(self.tree["forecast"]) if "forecast" in self.tree.children else None

    def save(self, path) -> None:
        """Write the fit to a zarr (format 2) directory, atomically (temp sibling, then rename)."""
        from escalate.persistence import save_tree

        save_tree(self.tree, path)

    def __repr__(self) -> str:
        post = self.tree["posterior"]
        return (f"Fit({self.spec.name!r}, {self.data!r}, {post.sizes['chain']} chains x "
                f"{post.sizes['draw']} draws, diagnostics {self.diagnostics.verdict})")


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
    Fit
        A failed diagnostics verdict is also announced with a :class:`DiagnosticsWarning`.

    Notes
    -----
    With the environment variable ``ESCALATE_FAST=1`` (smoke runs: CI, notebooks in fast
    mode) draws and tuning steps default to at most 200 each; the diagnostics then say so.
    """
    data = prepare_data(data, spec)
    settings = spec.sampler
    if fast_mode():  # smoke runs (CI notebooks): fewer draws, unless the caller chose them
        draws, tune = draws or min(settings.draws, 200), tune or min(settings.tune, 200)
    model = build_model(data, spec)
    sampler = sampler or settings.sampler
    chains = chains or settings.chains
    extra = {"nuts": {"adaptation": settings.adaptation}} if settings.adaptation != "diag" and sampler == "nutpie" else {}
    with model:
        tree = pm.sample(
            draws=draws or settings.draws, tune=tune or settings.tune, chains=chains,
            cores=cores or min(chains, os.cpu_count() or 1), random_seed=seed, nuts_sampler=sampler,
            target_accept=target_accept or settings.target_accept, progressbar=progressbar,
            compute_convergence_checks=False, **extra,
        )
    tree = finalize_tree(tree, data, spec, {"seed": seed, "sampler": sampler})
    result = Fit(tree=tree, spec=spec, data=data)
    warn_if_failed(result.diagnostics)
    return result


def fast_mode() -> bool:
    """``ESCALATE_FAST=1``: lower default draws for smoke runs; never for real results."""
    return os.environ.get("ESCALATE_FAST", "") not in ("", "0")


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
    from escalate.errors import ParameterError
    from escalate.model import check_compatible, model_coords
    from escalate.params import normalize_params

    data = prepare_data(data, spec)
    check_compatible(data, spec)
    K, J, P, C = len(data.streams), len(data.truce_ids), spec.penalty_tiers, len(spec.baseline_covariates)
    arrays = {name: np.asarray(value, dtype=float) for name, value in draws.items()}
    sizes = {v.shape[0] if v.ndim else -1 for v in arrays.values()}
    if len(sizes) != 1 or -1 in sizes:
        raise ParameterError(f"every draw array needs the same leading draw dimension; got shapes "
                             f"{ {k: v.shape for k, v in arrays.items()} }")
    n = sizes.pop()
    for i in range(n):  # shape and value checks, draw by draw
        normalize_params({k: v[i] for k, v in arrays.items() if k != "dispersion"}, K, J, P, C)
    dims = {"mu_log": ("stream",), "truce_effect": ("truce", "stream"), "mu_tier": ("tier",),
            "mu_covariate": ("covariate",), "branching": ("source", "target"), "excite_tier": ("tier",)}
    coords = model_coords(data, spec)
    post = xr.Dataset({name: (("chain", "draw", *dims.get(name, ())), value[None]) for name, value in arrays.items()},
                      coords={"chain": [0], "draw": np.arange(n),
                              **{d: coords[d] for name in arrays for d in dims.get(name, ())}})
    tree = finalize_tree(xr.DataTree.from_dict({"posterior": post}), data, spec,
                         {"seed": None, "sampler": "fit_from_draws"})
    return Fit(tree=tree, spec=spec, data=data)


def prepare_data(data: TruceData, spec: ModelSpec) -> TruceData:
    """The data as the model sees it: the spec's stream order; exact times aggregated to days
    for ``time_resolution = "day"``. Day-dated data asked to fit "exact" is refused."""
    from escalate.errors import SpecError

    data = data.with_streams(spec.streams) if spec.streams else data
    if spec.time_resolution == "day":
        return data.to_daily()
    if data.resolution == "day":
        raise SpecError(f"{spec.source}: time_resolution = \"exact\" needs exact event times, but these "
                        f"data are daily counts: several events share a day, so their order and "
                        f"spacing are unknown and the point-process likelihood does not apply. Use "
                        f"time_resolution = \"day\" (the daily likelihood, MODEL.md 3b)")
    return data


def add_derived(tree: xr.DataTree, data: TruceData) -> xr.DataTree:
    """Add ``spectral_radius`` (per observed covariate state) and ``mean_lag_days`` to the posterior."""
    post = tree["posterior"].to_dataset()
    chain, draw = post.sizes["chain"], post.sizes["draw"]
    v, tiers, labels = data.segments.states()
    K = len(data.streams)
    if "branching" not in post:  # a model without excitation
        tree["posterior"] = post
        return tree
    zeros = xr.zeros_like(post["decay"])
    et = post["excite_tier"].values if "excite_tier" in post else np.zeros((chain, draw, data.n_tiers_observed - 1))
    ev_s = (post["excite_verification_self"] if "excite_verification_self" in post else zeros).values
    ev_c = (post["excite_verification_cross"] if "excite_verification_cross" in post else zeros).values
    rho = np.stack([spectral_radius(effective_branching(post["branching"].values, ev_s, ev_c, et, v[q], tiers[q]))
                    for q in range(len(labels))], axis=-1)
    post["spectral_radius"] = (("chain", "draw", "state"), rho)
    post = post.assign_coords(state=labels)
    post["mean_lag_days"] = 1.0 / post["decay"]
    post["mean_lag_days"].attrs["units"] = "days"
    if K and "state" in post.coords:
        post["spectral_radius"].attrs["meaning"] = "spectral radius of the effective branching matrix; >= 1 is explosive"
    tree["posterior"] = post
    return tree


def finalize_tree(tree: xr.DataTree, data: TruceData, spec: ModelSpec, run: dict) -> xr.DataTree:
    """Derived variables, the fit data group and provenance attrs."""
    from escalate import __version__
    from escalate.persistence import data_to_tree

    tree = add_derived(tree, data)
    tree["fit_data"] = data_to_tree(data)
    tree.attrs.update({
        "escalate_version": __version__,
        "format_version": FORMAT_VERSION,
        "spec": spec.to_json(),
        "spec_id": spec.spec_id,
        "spec_source": spec.source,
        "data_hash": data.data_hash,
        "run": json.dumps({**run, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                           "versions": _versions()}, sort_keys=True),
    })
    return tree


def _versions() -> dict[str, str]:
    import numba
    import pytensor

    out = {"pymc": pm.__version__, "pytensor": pytensor.__version__, "arviz": az.__version__,
           "numpy": np.__version__, "numba": numba.__version__}
    try:
        import nutpie

        out["nutpie"] = nutpie.__version__
    except ImportError:  # pragma: no cover - nutpie is a dependency, but optional at runtime
        pass
    return out
