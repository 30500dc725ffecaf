"""Parameter sets with MODEL.md names: validation, effective branching, spectral radius."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from escalate.errors import ParameterError

#: Parameter order of the likelihood kernels (after the data arrays).
KERNEL_ORDER = (
    "mu_log", "truce_effect", "mu_verification", "mu_tier", "mu_covariate",
    "branching", "excite_verification_self", "excite_verification_cross", "excite_tier", "decay",
)


def parameter_shapes(K: int, J: int, P: int, C: int) -> dict[str, tuple[int, ...]]:
    """Shape of every parameter for K streams, J truces, P tiers and C extra covariates."""
    return {
        "mu_log": (K,), "truce_effect": (J, K), "mu_verification": (), "mu_tier": (P - 1,),
        "mu_covariate": (C,), "branching": (K, K), "excite_verification_self": (),
        "excite_verification_cross": (), "excite_tier": (P - 1,), "decay": (),
    }


#: Parameters that may be omitted (zero) in a user's dict.
_OPTIONAL_ZERO = {"truce_effect", "mu_covariate", "mu_verification", "mu_tier",
                  "excite_verification_self", "excite_verification_cross", "excite_tier"}


def normalize_params(params: Mapping, K: int, J: int, P: int, C: int) -> dict[str, np.ndarray]:
    """Check a dict of MODEL.md-named parameters and return float64 arrays of exact shapes.

    Optional effects (truce_effect, covariate and tier effects) default to zero when absent;
    ``mu_log``, ``branching`` and ``decay`` are required. Scalars become 0-d arrays.
    """
    shapes = parameter_shapes(K, J, P, C)
    known = set(shapes) | {"truce_sd", "dispersion"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}; MODEL.md names are {sorted(known)}")
    out = {}
    for name, shape in shapes.items():
        if name not in params:
            if name in _OPTIONAL_ZERO:
                out[name] = np.zeros(shape)
                continue
            raise ParameterError(f"parameter '{name}' is required (shape {shape})")
        value = np.asarray(params[name], dtype=float)
        if value.shape != shape:
            raise ParameterError(f"parameter '{name}' has shape {value.shape}, expected {shape} "
                                 f"(K={K} streams, J={J} truces, P={P} tiers, C={C} covariates)")
        if not np.all(np.isfinite(value)):
            raise ParameterError(f"parameter '{name}' has non-finite values")
        out[name] = value
    if np.any(out["branching"] < 0):
        raise ParameterError("'branching' must be >= 0 (expected direct offspring per event)")
    if not out["decay"] > 0:
        raise ParameterError("'decay' must be > 0 (per day)")
    return out


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
