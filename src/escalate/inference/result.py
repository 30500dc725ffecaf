"""The fit result: :class:`Fit`, a thin object around the posterior DataTree, and its file.

A saved fit is the DataTree itself (zarr format 2): ``posterior``, ``sample_stats``,
and ``fit_data`` (the data, enough to rebuild :class:`~escalate.data.TruceData`);
forecasts are stored apart (:meth:`escalate.Forecast.save`); root attrs hold ``format_version``, the spec JSON and provenance.
"""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from escalate.data.tree import data_to_tree, tree_to_data
from escalate.data.truce_data import TruceData
from escalate.errors import FileFormatError
from escalate.forecasting.run import run_forecast
from escalate.inference.diagnostics import Diagnostics, compute_diagnostics
from escalate.model.identification import Identification, fixed_labels, identification_for, parameter_basis
from escalate.model.parameters import (
    effective_branching,
    parameter_names,
    spectral_radius,
)
from escalate.model.spec import ModelSpec
from escalate.storage import check_format_version, load_tree, save_tree
from escalate.version import __version__

#: Version of the saved-fit layout (groups and attrs); bump on incompatible change.
FORMAT_VERSION = 1


@dataclass(eq=False)
class Fit:
    """A fitted model: the DataTree (source of truth), the spec and the data.

    Attributes
    ----------
    tree : xarray.DataTree
        Groups ``posterior`` (MODEL.md names, named dims, plus ``spectral_radius`` per observed
        covariate state and ``mean_lag_days``), ``sample_stats``, and ``fit_data``; root attrs carry provenance as JSON strings.
    spec : ModelSpec
    data : TruceData
    """

    tree: xr.DataTree
    spec: ModelSpec
    data: TruceData

    @property
    def parameter_names(self) -> list[str]:
        """Parameters present in this posterior, in MODEL.md (registry) order."""
        post = self.tree["posterior"]
        return [n for n in parameter_names() if n in post.data_vars]

    @property
    def identification(self) -> Identification:
        """The effects this fit holds at zero because its data cannot identify them
        (:mod:`escalate.model.identification`; empty for fits saved before it existed)."""
        return Identification.from_json(self.tree.attrs.get("identification"))

    @property
    def diagnostics(self) -> Diagnostics:
        """Worst r_hat, bulk/tail ESS and divergences, with a pass/fail verdict (effects held at
        zero are not sampled and are left out)."""
        return compute_diagnostics(self.tree, self.parameter_names, fixed=self.identification.fixed)

    def summary(self, ci_prob: float = 0.94, ci_kind: str = "eti", var_names=None) -> pd.DataFrame:
        """Posterior summary with an explicit interval (default 94% equal-tailed).

        Columns: mean, sd, the interval bounds (``eti94_lb``/``eti94_ub`` style), ess_bulk,
        ess_tail, r_hat, and ``basis``: "data", "held at 0: the data cannot identify it", or
        "prior-driven: posterior sd NN% of the prior's" where the data barely narrowed a
        parameter's prior (:func:`escalate.model.identification.parameter_basis`). Rows are
        named ``param[coord]``.
        """
        names = var_names or [*self.parameter_names, "spectral_radius", "mean_lag_days"]
        names = [n for n in names if n in self.tree["posterior"].data_vars]
        with np.errstate(invalid="ignore", divide="ignore"):  # effects held at zero: NaN r_hat, by design
            table = az.summary(self.tree, var_names=names, ci_prob=ci_prob, ci_kind=ci_kind)
        table["basis"] = parameter_basis(table, self.spec, fixed_labels(self.tree["posterior"], self.identification))
        return table

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
            The fit is not modified; save the forecast with :meth:`Forecast.save`.
        """
        return run_forecast(self, horizon, scenarios, collapse, draws, paths, seed, truce, checkpoints=checkpoints)

    def save(self, path) -> None:
        """Write the fit to a zarr (format 2) directory, atomically (temp sibling, then rename)."""
        save_tree(self.tree, path)

    def __repr__(self) -> str:
        post = self.tree["posterior"]
        return (f"Fit({self.spec.name!r}, {self.data!r}, {post.sizes['chain']} chains x "
                f"{post.sizes['draw']} draws, diagnostics {self.diagnostics.verdict})")


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
    tree = add_derived(tree, data)
    tree["fit_data"] = data_to_tree(data)
    tree.attrs.update({
        "escalate_version": __version__,
        "format_version": FORMAT_VERSION,
        "spec": spec.to_json(),
        "spec_id": spec.spec_id,
        "spec_source": spec.source,
        "data_hash": data.data_hash,
        # what the model held at zero; given draws (fit_from_draws) hold whatever they hold
        "identification": (Identification() if run.get("sampler") == "fit_from_draws"
                           else identification_for(data, spec)).to_json(),
        "run": json.dumps({**run, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                           "versions": library_versions()}, sort_keys=True),
    })
    return tree


def library_versions() -> dict[str, str]:
    """Versions of the numerical stack, recorded with every fit (from the installed metadata)."""
    out = {}
    for name in ("pymc", "pytensor", "arviz", "numpy", "numba", "nutpie"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - optional at run time
            pass
    return out


def load_fit(path):
    """Load a fit saved with :meth:`Fit.save`.

    Raises :class:`~escalate.errors.FileFormatError` when ``path`` is not an escalate fit or
    was written by an unknown format version.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{path}: no saved fit there (path not found)")
    tree = load_tree(path)
    version = tree.attrs.get("format_version")
    if version is None or "spec" not in tree.attrs:
        raise FileFormatError(f"{path}: not an escalate fit (no format_version/spec attributes)")
    check_format_version(version, FORMAT_VERSION, path, "fit", "refit")
    try:
        spec = ModelSpec.from_dict(json.loads(tree.attrs["spec"]), source=tree.attrs.get("spec_source", str(path)))
        return Fit(tree=tree, spec=spec, data=tree_to_data(tree["fit_data"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(f"{path}: a damaged escalate fit ({type(exc).__name__}: {exc})") from None
