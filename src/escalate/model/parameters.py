"""The one parameter registry (MODEL.md section 2) and the arithmetic on parameter sets.

Every parameter is declared once, in :data:`REGISTRY`: its name, dims, support, default prior,
its slot in the likelihood kernels' flat vector, whether a user's parameter dict must give it,
the value it takes where a spec does not have it, and the rule that says whether a spec has it
(e.g. truce effects only with J > 1 truces, dispersion only for the negative binomial). The
spec's priors, the PyMC model, the Op's flat layout (:func:`theta_layout`),
:func:`normalize_params`, the posterior draws that forecasts and checks use
(:func:`posterior_parameters`), SBC's prior draws and the report's tables all derive from it.

Code reads the registry through :func:`registry` at call time, so a parameter added here is
seen everywhere (or refused with a clear error where a kernel cannot take it), never a silent
zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from escalate.errors import ParameterError

#: A symbolic prior value: the log of each stream's observed rate (events/day).
LOG_OBSERVED_RATE = "log_observed_rate"
#: A symbolic prior value: the log of the corpus' daily collapse rate in the first week.
LOG_EARLY_COLLAPSE_RATE = "log_early_collapse_rate"
#: The symbolic prior mean each parameter may take (computed from the data at build time).
SYMBOLIC_MEANS = {"mu_log": LOG_OBSERVED_RATE, "hazard_baseline": LOG_EARLY_COLLAPSE_RATE}


@dataclass(frozen=True)
class Dims:
    """Sizes of a model: K streams, J truces (with events), P penalty tiers, C extra baseline
    covariates; for a corpus, G groups, B hazard bins and Z static hazard covariates."""

    K: int
    J: int
    P: int
    C: int
    G: int = 0
    B: int = 0
    Z: int = 0

    def size(self, dim: str) -> int:
        """Length of a named dim (``stream``/``source``/``target``, ``truce``, ``tier``,
        ``covariate``, ``group``, ``hazard_bin``, ``static_covariate``)."""
        sizes = {"stream": self.K, "source": self.K, "target": self.K, "truce": self.J,
                 "tier": self.P - 1, "covariate": self.C, "group": self.G, "hazard_bin": self.B,
                 "static_covariate": self.Z}
        if dim not in sizes:
            raise ParameterError(f"unknown dim {dim!r}; dims are {sorted(sizes)}")
        return sizes[dim]

    def shape(self, dims: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(self.size(d) for d in dims)


def _with_streams(spec, dims: Dims) -> bool:
    return dims.K > 0  # a hazard-only corpus fit has no event streams and no violence model


def _with_tiers(spec, dims: Dims) -> bool:
    return dims.K > 0 and dims.P > 1


def _with_covariates(spec, dims: Dims) -> bool:
    return dims.K > 0 and dims.C > 0


def _with_excitation(spec, dims: Dims) -> bool:
    return dims.K > 0 and bool(spec.excitation)


def _with_cross_excitation(spec, dims: Dims) -> bool:
    return _with_excitation(spec, dims) and dims.K > 1  # one stream: no retaliation to modify


def _with_excitation_and_tiers(spec, dims: Dims) -> bool:
    return _with_excitation(spec, dims) and dims.P > 1


def _with_truce_pooling(spec, dims: Dims) -> bool:
    return dims.K > 0 and dims.J > 1 and spec.truce_effects != "none"


def _with_group_pooling(spec, dims: Dims) -> bool:
    return dims.K > 0 and dims.G > 1 and spec.group_effects != "none"


def _with_negative_binomial(spec, dims: Dims) -> bool:
    return dims.K > 0 and spec.time_resolution == "day" and spec.observation == "negative_binomial"


def _with_hazard(spec, dims: Dims) -> bool:
    return spec.hazard is not None and dims.B > 0


def _with_hazard_tiers(spec, dims: Dims) -> bool:
    return _with_hazard(spec, dims) and dims.P > 1


def _with_hazard_covariates(spec, dims: Dims) -> bool:
    return _with_hazard(spec, dims) and dims.Z > 0


def _with_hazard_feedback(spec, dims: Dims) -> bool:
    return _with_hazard(spec, dims) and spec.hazard.feedback and dims.K > 0


def _with_hazard_groups(spec, dims: Dims) -> bool:
    return _with_hazard(spec, dims) and spec.hazard.groups and dims.G > 1


@dataclass(frozen=True)
class Parameter:
    """One model parameter.

    Attributes
    ----------
    name : str
        The MODEL.md name (a posterior variable).
    dims : tuple of str
        Named dims (sizes from :class:`Dims`).
    support : {"real", "nonnegative", "positive"}
        Decides which prior distributions a spec may give it (positive ones unless real) and
        which values a parameter set may hold.
    prior : dict
        Default prior (MODEL.md), in the spec's TOML form.
    kernel_slot : int or None
        Position in the likelihood kernels' parameter list; None for a hyperparameter.
    required : bool
        Whether a user's parameter dict (``log_likelihood``, ``simulate``) must give it;
        optional effects default to ``fixed``.
    fixed : float
        The value where a spec does not have the parameter (0 for effects; the decay of a
        model without excitation plays no part but must be positive).
    exists : callable (spec, Dims) -> bool
        Whether a spec's model has the parameter.
    scale : str or None
        For a partially pooled effect: the hyperparameter that is its prior's scale.
    structure : {"plain", "pooled", "random_walk"}
        "pooled": Normal(0, scale) entries (non-centred unless the spec says otherwise for
        truce effects); "random_walk": a Gaussian random walk over the dim whose first level
        has ``prior`` and whose steps have sd ``scale``.
    meaning : str
    """

    name: str
    dims: tuple[str, ...]
    support: str
    prior: dict[str, Any]
    kernel_slot: int | None
    required: bool
    fixed: float
    exists: Callable
    scale: str | None = None
    meaning: str = ""
    structure: str = "plain"


#: Every parameter, in MODEL.md order (the order of summaries, model variables and SBC draws).
REGISTRY: tuple[Parameter, ...] = (
    Parameter("mu_log", ("stream",), "real", {"dist": "Normal", "mu": LOG_OBSERVED_RATE, "sigma": 2.0},
              0, True, 0.0, _with_streams, meaning="log baseline rate, events/day, at v = 0, tier 0"),
    Parameter("mu_verification", (), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              2, False, 0.0, _with_streams, meaning="effect of verification on the log baseline"),
    Parameter("mu_tier", ("tier",), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              3, False, 0.0, _with_tiers, meaning="effect of penalty tiers 1..P-1 on the log baseline"),
    Parameter("mu_covariate", ("covariate",), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              4, False, 0.0, _with_covariates, meaning="effects of the extra baseline covariates"),
    Parameter("branching", ("source", "target"), "nonnegative", {"dist": "Gamma", "alpha": 1.0, "beta": 3.0},
              5, True, 0.0, _with_excitation, meaning="expected direct offspring per event, at v = 0, tier 0"),
    Parameter("excite_verification_self", (), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              6, False, 0.0, _with_excitation, meaning="verification effect on self-excitation"),
    Parameter("excite_verification_cross", (), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              7, False, 0.0, _with_cross_excitation, meaning="verification effect on retaliation"),
    Parameter("excite_tier", ("tier",), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              8, False, 0.0, _with_excitation_and_tiers, meaning="tier effects on excitation"),
    Parameter("decay", (), "positive", {"dist": "LogNormal", "mu": -0.6931471805599453, "sigma": 1.0},
              9, True, 1.0, _with_excitation, meaning="omega, per day (mean lag 1/omega days)"),
    Parameter("group_sd", (), "positive", {"dist": "HalfNormal", "sigma": 1.0},
              None, False, 0.0, _with_group_pooling, meaning="scale of the group (conflict) effects"),
    Parameter("group_effect", ("group", "stream"), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              None, False, 0.0, _with_group_pooling, scale="group_sd", structure="pooled",
              meaning="per-group shift of the log baseline, shared by the group's truces (MODEL.md 6)"),
    Parameter("truce_sd", (), "positive", {"dist": "HalfNormal", "sigma": 1.0},
              None, False, 0.0, _with_truce_pooling, meaning="scale of the truce effects"),
    Parameter("truce_effect", ("truce", "stream"), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              1, False, 0.0, _with_truce_pooling, scale="truce_sd", structure="pooled",
              meaning="per-truce shift of the log baseline (partial pooling; plus its group's effect)"),
    # phi of the negative binomial (variance Lam + Lam^2 / phi): median 5, 90% in (0.4, 60)
    Parameter("dispersion", ("stream",), "positive", {"dist": "LogNormal", "mu": 1.6094379124341003, "sigma": 1.5},
              10, True, 0.0, _with_negative_binomial, meaning="negative binomial dispersion phi, per stream"),
    # ---- the collapse hazard (MODEL.md 6) ------------------------------------------------------
    Parameter("hazard_baseline_sd", (), "positive", {"dist": "HalfNormal", "sigma": 0.5},
              None, False, 0.0, _with_hazard, meaning="random-walk step sd of the baseline log-hazard"),
    Parameter("hazard_baseline", ("hazard_bin",), "real",
              {"dist": "Normal", "mu": LOG_EARLY_COLLAPSE_RATE, "sigma": 1.5},
              None, True, 0.0, _with_hazard, scale="hazard_baseline_sd", structure="random_walk",
              meaning="baseline log-hazard of declared collapse per bin of days since the start "
                      "(the prior is the first bin's)"),
    Parameter("hazard_verification", (), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              None, False, 0.0, _with_hazard, meaning="effect of verification on the log-hazard"),
    Parameter("hazard_tier", ("tier",), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              None, False, 0.0, _with_hazard_tiers, meaning="effects of penalty tiers 1..P-1 on the log-hazard"),
    Parameter("hazard_covariate", ("static_covariate",), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              None, False, 0.0, _with_hazard_covariates, meaning="effects of the static truce covariates"),
    Parameter("hazard_feedback", (), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              None, False, 0.0, _with_hazard_feedback,
              meaning="effect of log(1 + events in the trailing window) on the log-hazard"),
    Parameter("hazard_group_sd", (), "positive", {"dist": "HalfNormal", "sigma": 0.5},
              None, False, 0.0, _with_hazard_groups, meaning="scale of the group effects on the log-hazard"),
    Parameter("hazard_group", ("group",), "real", {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
              None, False, 0.0, _with_hazard_groups, scale="hazard_group_sd", structure="pooled",
              meaning="per-group shift of the log-hazard (partial pooling)"),
)

#: The collapse hazard's parameters (MODEL.md 6), in registry order.
HAZARD_PARAMETERS = tuple(p.name for p in REGISTRY if p.name.startswith("hazard_"))

#: The observation parameter: in the kernels' flat vector only for the negative binomial.
DISPERSION = "dispersion"


def registry() -> tuple[Parameter, ...]:
    """The registry as it is now (read at call time, so a changed registry is seen everywhere)."""
    return REGISTRY


def parameter(name: str) -> Parameter:
    """The registry entry of ``name``; a clear error for an unknown name."""
    for p in registry():
        if p.name == name:
            return p
    raise ParameterError(f"unknown parameter {name!r}; MODEL.md names are {parameter_names()}")


def parameter_names() -> list[str]:
    """Every parameter name, in MODEL.md order."""
    return [p.name for p in registry()]


def kernel_order(observation: str = "poisson") -> tuple[str, ...]:
    """Parameter order of the likelihood kernels; the negative binomial appends ``dispersion``."""
    slotted = sorted((p for p in registry() if p.kernel_slot is not None), key=lambda p: p.kernel_slot)
    return tuple(p.name for p in slotted if p.name != DISPERSION or observation == "negative_binomial")


def dims_for(spec, n_streams: int, n_truces: int, n_groups: int = 0) -> Dims:
    """The :class:`Dims` of a spec fitted to data with ``n_streams`` streams, ``n_truces`` truces
    with events and ``n_groups`` groups (a corpus)."""
    hazard = spec.hazard
    return Dims(K=n_streams, J=n_truces, P=spec.penalty_tiers, C=len(spec.baseline_covariates), G=n_groups,
                B=len(hazard.bins) if hazard else 0, Z=len(hazard.covariates) if hazard else 0)


def present(spec, dims: Dims) -> list[Parameter]:
    """The parameters a spec's model has, in MODEL.md order."""
    return [p for p in registry() if p.exists(spec, dims)]


def parameter_shapes(K: int, J: int, P: int, C: int) -> dict[str, tuple[int, ...]]:
    """Shape of every parameter for K streams, J truces, P tiers and C extra covariates."""
    dims = Dims(K, J, P, C)
    return {p.name: dims.shape(p.dims) for p in registry()}


def theta_layout(dims: Dims, observation: str = "poisson") -> list[tuple[str, int, int, tuple[int, ...]]]:
    """``(name, start, stop, shape)`` of every parameter in the kernels' flat vector ``theta``."""
    out, pos = [], 0
    for name in kernel_order(observation):
        shape = dims.shape(parameter(name).dims)
        size = int(np.prod(shape)) if shape else 1
        out.append((name, pos, pos + size, shape))
        pos += size
    return out


def normalize_params(params: Mapping, K: int, J: int, P: int, C: int) -> dict[str, np.ndarray]:
    """Check a dict of MODEL.md-named parameters and return float64 arrays of exact shapes.

    The kernel parameters (without ``dispersion``, which belongs to the observation model) are
    returned; optional effects (truce_effect, covariate and tier effects) default to zero when
    absent; ``mu_log``, ``branching`` and ``decay`` are required. Scalars become 0-d arrays.
    """
    known, entries = _normalize_plan(Dims(K, J, P, C))
    unknown = [name for name in params if name not in known]
    if unknown:
        raise ParameterError(f"unknown parameter(s) {sorted(unknown)}; MODEL.md names are {sorted(known)}")
    out = {}
    for name, shape, entry in entries:
        if name not in params:
            if not entry.required:
                out[name] = np.full(shape, entry.fixed)
                continue
            raise ParameterError(f"parameter '{name}' is required (shape {shape})")
        value = np.asarray(params[name], dtype=float)
        if value.shape != shape:
            raise ParameterError(f"parameter '{name}' has shape {value.shape}, expected {shape} "
                                 f"(K={K} streams, J={J} truces, P={P} tiers, C={C} covariates)")
        if not np.isfinite(value).all():
            raise ParameterError(f"parameter '{name}' has non-finite values")
        if entry.support == "nonnegative" and (value < 0).any():
            raise ParameterError(f"'{name}' must be >= 0 ({entry.meaning})")
        if entry.support == "positive" and (value <= 0).any():
            raise ParameterError(f"'{name}' must be > 0 ({entry.meaning})")
        out[name] = value
    return out


_PLANS: dict = {}


def _normalize_plan(dims: Dims) -> tuple[frozenset, list]:
    """Known names and (name, shape, entry) of the kernel parameters, cached per registry and dims."""
    key = (id(registry()), dims)
    if key not in _PLANS:
        _PLANS[key] = (frozenset(parameter_names()),
                       [(name, dims.shape(parameter(name).dims), parameter(name)) for name in kernel_order()])
    return _PLANS[key]


def thinned_indices(total: int, n: int) -> np.ndarray:
    """``n`` evenly spaced indices into ``total`` flattened posterior draws (all of them if n >= total)."""
    return np.unique(np.linspace(0, total - 1, min(int(n), int(total))).round().astype(np.int64))


def posterior_parameters(fit, indices: np.ndarray) -> dict[str, np.ndarray]:
    """Every kernel parameter (and ``dispersion``) at the chosen posterior draws, leading draw dim.

    A parameter the fit's spec has must be in the posterior (else a clear error, never a silent
    zero); one it does not have takes its registry value ``fixed`` (zero effects; a decay of 1
    where there is no excitation).
    """
    post = fit.posterior_draws()
    dims = dims_for(fit.spec, len(fit.data.streams), len(fit.data.truce_ids))
    n = len(indices)
    out = {}
    for name in kernel_order("negative_binomial"):
        entry = parameter(name)
        shape = dims.shape(entry.dims)
        if name in post:
            out[name] = np.asarray(post[name][indices], dtype=float)
        elif entry.exists(fit.spec, dims) and not _given_draws(fit):
            raise ParameterError(f"the posterior has no '{name}', which the spec {fit.spec.source} has; "
                                 f"the fit is incomplete (refit, or give it to fit_from_draws)")
        else:  # not in this spec's model, or an effect left out of given draws (documented: zero)
            out[name] = np.full((n, *shape), entry.fixed)
    return out


def per_stream_dispersion(dispersion, K: int) -> np.ndarray:
    """``dispersion[draw, stream]`` from draws of one per stream, or of one shared value (fits
    saved before the dispersion was per stream)."""
    values = np.asarray(dispersion, dtype=float)
    return np.ascontiguousarray(np.broadcast_to(values[:, None] if values.ndim == 1 else values,
                                                (values.shape[0], K)))


def _given_draws(fit) -> bool:
    """Whether the fit holds given parameter draws (``fit_from_draws``), not a sampled posterior."""
    return json.loads(fit.tree.attrs.get("run", "{}")).get("sampler") == "fit_from_draws"


def state_rates(p: Mapping, j: int, verification: float, tiers, extras) -> tuple[np.ndarray, np.ndarray]:
    """Baseline rates ``mu[n, k]`` (events/day) and effective branching ``alpha[n, i, k]`` at one
    covariate state of truce ``j``, for parameter arrays with a leading draw dim (MODEL.md 2)."""
    pad = np.concatenate([np.zeros((len(p["decay"]), 1)), p["mu_tier"]], axis=1)
    eta = (p["mu_log"] + p["truce_effect"][:, j] + p["mu_verification"][:, None] * verification
           + pad[:, tiers] + (p["mu_covariate"] @ extras)[:, None])
    alpha = effective_branching(p["branching"], p["excite_verification_self"],
                                p["excite_verification_cross"], p["excite_tier"], verification, tiers)
    return np.exp(eta), alpha


def effective_branching(branching, excite_verification_self, excite_verification_cross,
                        excite_tier, verification, tiers) -> np.ndarray:
    """B(v, p)[..., i, k] = branching[i, k] exp(excite_verification_{self|cross} v + excite_tier[p_k]).

    Broadcasts over leading draw dimensions: ``branching`` (..., K, K), scalars (...),
    ``excite_tier`` (..., P-1); ``verification`` a float and ``tiers`` int[K] for one state.
    """
    branching = np.asarray(branching, dtype=float)
    K = branching.shape[-1]
    ev_self = np.asarray(excite_verification_self, dtype=float)[..., None, None]
    ev_cross = np.asarray(excite_verification_cross, dtype=float)[..., None, None]
    eye = np.eye(K, dtype=bool)
    log_factor = np.where(eye, ev_self, ev_cross) * verification
    excite_tier = np.asarray(excite_tier, dtype=float)
    padded = np.concatenate([np.zeros(excite_tier.shape[:-1] + (1,)), excite_tier], axis=-1)
    tier_effect = padded[..., np.asarray(tiers, dtype=np.int64)]  # (..., K) indexed by target
    return branching * np.exp(log_factor + tier_effect[..., None, :])


def spectral_radius(matrix) -> np.ndarray:
    """Largest absolute eigenvalue of each (..., K, K) matrix."""
    return np.max(np.abs(np.linalg.eigvals(np.asarray(matrix, dtype=float))), axis=-1)
