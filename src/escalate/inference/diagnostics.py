"""Convergence diagnostics with a pass/fail verdict (MODEL.md 5)."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import arviz as az
import numpy as np
import xarray as xr

from escalate.model.identification import held_mask

#: Thresholds: r_hat above, bulk or tail ESS below, or any divergence fails a fit.
MAX_RHAT = 1.01
MIN_ESS = 400


class DiagnosticsWarning(UserWarning):
    """A fit's convergence diagnostics failed: its numbers are not to be trusted."""


@dataclass(frozen=True)
class Diagnostics:
    """Worst-case diagnostics over the free parameters (and their verdict)."""

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    chains: int
    draws: int

    @property
    def passed(self) -> bool:
        """True when r_hat <= 1.01, bulk and tail ESS >= 400 and no divergences."""
        return bool(self.max_rhat <= MAX_RHAT and self.min_ess_bulk >= MIN_ESS
                    and self.min_ess_tail >= MIN_ESS and self.divergences == 0)

    @property
    def problems(self) -> list[str]:
        """Human-readable reasons for a failed verdict (empty when passed)."""
        out = []
        if np.isnan(self.max_rhat):
            out.append("r_hat is NaN (a single chain, or a parameter that does not move within its chains)")
        elif not self.max_rhat <= MAX_RHAT:
            out.append(f"max r_hat {self.max_rhat:.3f} > {MAX_RHAT}")
        for label, value in (("bulk", self.min_ess_bulk), ("tail", self.min_ess_tail)):
            if np.isnan(value):
                out.append(f"{label} ESS is NaN for some parameter")
            elif not value >= MIN_ESS:
                out.append(f"min {label} ESS {value:.0f} < {MIN_ESS}")
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions")
        return out

    @property
    def verdict(self) -> str:
        """``"PASSED"`` or ``"FAILED: <reasons>"``."""
        return "PASSED" if self.passed else "FAILED: " + "; ".join(self.problems)

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed, "verdict": self.verdict}


def _worst(tree: xr.DataTree, var_names: list[str], stat: str, fixed: dict) -> float:
    # a parameter frozen within its chains gives 0/0 in ArviZ: its NaN is reported below, so
    # numpy's division warning is silenced here only
    with np.errstate(invalid="ignore", divide="ignore"):
        if stat == "rhat":
            result = az.rhat(tree, var_names=var_names)
        else:
            result = az.ess(tree, var_names=var_names, method=stat)
    ds = result.to_dataset() if isinstance(result, xr.DataTree) else result
    parts = []
    for v in ds.data_vars:
        values = np.asarray(ds[v].values)
        if v in fixed:  # held at zero by design (escalate.model.identification): not sampled
            values = values[~held_mask(fixed[v], values.shape)]
        parts.append(np.ravel(values))
    values = np.concatenate(parts) if parts else np.array([])
    if not values.size:
        return float("nan")
    if not np.isfinite(values).all():
        return float("nan")  # reported, never dropped: a NaN fails the verdict (Diagnostics.problems)
    return float(values.max() if stat == "rhat" else values.min())


def compute_diagnostics(tree: xr.DataTree, var_names: list[str], fixed: dict | None = None) -> Diagnostics:
    """Worst r_hat and ESS over ``var_names``, and the divergence count; ``fixed`` maps a
    variable to the positions held at zero (left out: they are constants, not draws)."""
    fixed = fixed or {}
    post = tree["posterior"]
    chains, draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    divergences = 0
    if "sample_stats" in tree.children and "diverging" in tree["sample_stats"].data_vars:
        divergences = int(np.asarray(tree["sample_stats"]["diverging"].values).sum())
    if chains < 2:
        rhat = float("nan")  # r_hat needs several chains: a single chain never passes
    else:
        rhat = _worst(tree, var_names, "rhat", fixed)
    return Diagnostics(max_rhat=rhat, min_ess_bulk=_worst(tree, var_names, "bulk", fixed),
                       min_ess_tail=_worst(tree, var_names, "tail", fixed), divergences=divergences,
                       chains=chains, draws=draws)


def warn_if_failed(diagnostics: Diagnostics) -> None:
    """Emit a visible DiagnosticsWarning for a failed verdict."""
    if not diagnostics.passed:
        warnings.warn(f"diagnostics {diagnostics.verdict}: the posterior is not to be trusted; "
                      f"run more tuning/draws or revisit the model", DiagnosticsWarning, stacklevel=3)
