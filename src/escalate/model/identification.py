"""Which covariate effects the data can identify (MODEL.md 6, "Honesty"), and fixing those they
cannot.

A policy effect is learned only where the data vary its covariate. When verification, a
penalty tier or a baseline covariate takes one value in every truce of the data, its effects
cannot be told from the baseline (or are absent from the likelihood altogether):

- verification constant everywhere: ``mu_verification``, ``excite_verification_self`` and
  ``excite_verification_cross``;
- a tier t >= 1 that no stream faces anywhere: ``mu_tier[t]`` and ``excite_tier[t]``; and when
  the data show a single tier s >= 1 and never the reference tier 0, tier s's effects (they are
  the baseline's);
- a baseline covariate constant everywhere: its ``mu_covariate``.

With ``fix_unidentified = true`` in the spec (the default) the fit holds these effects at zero
(:func:`escalate.model.build.build_model`), every output that lists effects says so, and a
scenario that would move them is refused with the reason, unless it asks to run on the
prior (``prior_driven = true``): then they are drawn from their priors, and the headline
says "prior-driven". A covariate that varies only across truces while the model has per-truce
baseline effects is reported as confounded with them (identified only through the pooling),
not fixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from escalate.model.parameters import dims_for, parameter
from escalate.model.priors import prior_draws

#: The effects each covariate carries.
VERIFICATION_EFFECTS = ("mu_verification", "excite_verification_self", "excite_verification_cross")
TIER_EFFECTS = ("mu_tier", "excite_tier")


def held_mask(positions, shape: tuple) -> np.ndarray:
    """True at the held positions (along the first dim; a scalar is held whole)."""
    mask = np.zeros(shape, dtype=bool)
    if not shape:
        return np.ones((), dtype=bool)
    mask[list(positions)] = True
    return mask


@dataclass(frozen=True)
class Identification:
    """The effects a data set cannot identify.

    Attributes
    ----------
    fixed : dict of str to tuple of int
        Parameter name to the positions held at zero (``()`` for a scalar; tier effects are
        indexed 0..P-2 for tiers 1..P-1).
    notes : tuple of str
        One sentence per covariate, naming it, the value it keeps and the effects fixed.
    confounded : tuple of str
        Covariates that vary only across truces while per-truce effects are in the model.
    verification : float or None
        The one verification level of the data (None when it varies).
    tiers : tuple of int
        The tiers the data show (any stream).
    covariates : dict of str to float
        Baseline covariates that are constant, with their value.
    """

    fixed: dict = field(default_factory=dict)
    notes: tuple = ()
    confounded: tuple = ()
    verification: float | None = None
    tiers: tuple = ()
    covariates: dict = field(default_factory=dict)

    def mask(self, name: str, shape: tuple) -> np.ndarray | None:
        """Boolean mask of ``name``'s fixed positions at ``shape`` (None when none is fixed)."""
        return held_mask(self.fixed[name], shape) if name in self.fixed else None

    def scenario_problem(self, states, covariate_names=()) -> str:
        """Why a scenario's covariate states need a fixed effect ("" when none does): a state
        ``(verification, tiers, extras)`` (``extras`` in the order of ``covariate_names``, the
        spec's baseline covariates) with another verification level, a tier the data never
        show or another value of a constant covariate."""
        parts = []
        for verification, tiers, extras in states:
            if self.verification is not None and not np.isclose(verification, self.verification):
                parts.append(f"verification {verification:g} (the data only show {self.verification:g})")
            for t in sorted(set(np.asarray(tiers).tolist()) - set(self.tiers)):
                if (t >= 1 and "mu_tier" in self.fixed and t - 1 in self.fixed["mu_tier"]) or \
                        (t == 0 and len(self.tiers) == 1 and self.tiers[0] >= 1):
                    parts.append(f"penalty tier {t} (the data only show tier(s) "
                                 f"{', '.join(map(str, self.tiers))})")
            for name, value in self.covariates.items():
                given = float(np.asarray(extras)[list(covariate_names).index(name)])
                if not np.isclose(given, value):
                    parts.append(f"{name} = {given:g} (the data only show {value:g})")
        return "; ".join(dict.fromkeys(parts))

    def on_priors(self, p: dict, spec, seed: int) -> dict:
        """Parameter draws ``p`` (leading draw dim, as :func:`posterior_parameters` gives them)
        with every held effect drawn from its prior, and the baseline and branching
        re-expressed so that the data's own covariate states keep exactly their fitted rates:
        the fit absorbed a constant verification level v0 (or covariate value, or single tier)
        into them, so a drawn effect e moves the rates by e (v - v0) only."""
        out = {name: np.array(value, dtype=float, copy=True) for name, value in p.items()}
        n = len(out["decay"])
        for i, (name, positions) in enumerate(sorted(self.fixed.items())):
            size = max(len(positions), 1)
            draws = np.asarray(prior_draws(spec, name, n=n * size, seed=seed + 101 + i), dtype=float).reshape(n, size)
            if positions:
                out[name][:, list(positions)] = draws
            else:
                out[name] = draws[:, 0]
        eye = np.eye(out["branching"].shape[-1], dtype=bool)
        if self.verification is not None:
            v0 = self.verification
            if "mu_verification" in self.fixed:
                out["mu_log"] = out["mu_log"] - out["mu_verification"][:, None] * v0
            if "excite_verification_self" in self.fixed:
                factor = np.where(eye, out["excite_verification_self"][:, None, None],
                                  out["excite_verification_cross"][:, None, None]) * v0
                out["branching"] = out["branching"] * np.exp(-factor)
        for name, value in self.covariates.items():
            column = list(spec.baseline_covariates).index(name)
            out["mu_log"] = out["mu_log"] - out["mu_covariate"][:, [column]] * value
        if len(self.tiers) == 1 and self.tiers[0] >= 1:  # the only tier's effects: the baseline's
            s = self.tiers[0] - 1
            if "mu_tier" in self.fixed:
                out["mu_log"] = out["mu_log"] - out["mu_tier"][:, [s]]
            if "excite_tier" in self.fixed:
                out["branching"] = out["branching"] * np.exp(-out["excite_tier"][:, s])[:, None, None]
        return out

    def to_json(self) -> str:
        return json.dumps({"fixed": {k: list(v) for k, v in self.fixed.items()}, "notes": list(self.notes),
                           "confounded": list(self.confounded), "verification": self.verification,
                           "tiers": list(self.tiers), "covariates": self.covariates}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> "Identification":
        """The identification stored with a fit (empty for fits saved before it existed)."""
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(fixed={k: tuple(v) for k, v in raw["fixed"].items()}, notes=tuple(raw["notes"]),
                   confounded=tuple(raw["confounded"]), verification=raw["verification"],
                   tiers=tuple(raw["tiers"]), covariates=dict(raw["covariates"]))


def fixed_labels(posterior, ident: Identification) -> set[str]:
    """The ``name[coord]`` labels (as in ArviZ summaries) of the effects ``ident`` holds at zero."""
    out = set()
    for name, positions in ident.fixed.items():
        if name not in posterior:
            continue
        dims = [d for d in posterior[name].dims if d not in ("chain", "draw")]
        if not dims:
            out.add(name)
        else:
            coords = posterior[name].coords[dims[0]].values
            out.update(f"{name}[{coords[i]}]" for i in positions)
    return out


def identification_for(data, spec) -> Identification:
    """What a fit of ``spec`` to ``data`` holds at zero: :func:`identify` when the spec says
    ``fix_unidentified``, else nothing."""
    return identify(data, spec) if spec.fix_unidentified else Identification()


def identify(data, spec) -> Identification:
    """The effects of ``spec``'s model that ``data`` (a :class:`TruceData`) cannot identify, from
    its covariate segments (every stream, every truce)."""
    seg = data.segments
    dims = dims_for(spec, len(data.streams), len(data.truce_ids))
    has = {name: parameter(name).exists(spec, dims) for name in (*VERIFICATION_EFFECTS, *TIER_EFFECTS, "mu_covariate",
                                                                 "truce_effect")}
    fixed, notes, confounded = {}, [], []
    per_truce = has["truce_effect"]

    def varies_within_a_truce(values) -> bool:
        return any(np.ptp(values[seg.offsets[j]:seg.offsets[j + 1]], axis=0).max(initial=0) > 0
                   for j in range(len(seg.offsets) - 1))

    verification = None
    levels = np.unique(seg.verification)
    effects = [n for n in VERIFICATION_EFFECTS if has[n]]
    if len(levels) == 1 and effects:
        verification = float(levels[0])
        fixed.update({n: () for n in effects})
        notes.append(f"verification is {verification:g} throughout the data: "
                     f"{', '.join(effects)} held at 0 (unidentified)")
    elif len(levels) > 1 and per_truce and has["mu_verification"] and not varies_within_a_truce(seg.verification):
        confounded.append("verification varies only across truces: mu_verification is confounded with the "
                          "truce effects (identified only through their pooling)")

    tiers = tuple(int(t) for t in np.unique(seg.tier))
    tier_effects = [n for n in TIER_EFFECTS if has[n]]
    unseen = [t for t in range(1, spec.penalty_tiers) if t not in tiers]
    if len(tiers) == 1 and tiers[0] >= 1:
        unseen.append(tiers[0])  # its effects are the baseline's
    if unseen and tier_effects:
        for name in tier_effects:
            fixed[name] = tuple(sorted(t - 1 for t in unseen))
        for t in sorted(unseen):
            why = (f"tier {t} is the only tier in the data (its effects cannot be told from the baseline)"
                   if t in tiers else f"no stream faces penalty tier {t} in the data")
            notes.append(f"{why}: {', '.join(f'{n}[{t}]' for n in tier_effects)} held at 0 (unidentified)")

    covariates = {}
    if has["mu_covariate"]:
        columns = [data.extra_names.index(c) for c in spec.baseline_covariates]
        flat = []
        for position, (name, column) in enumerate(zip(spec.baseline_covariates, columns)):
            values = seg.extra[:, column]
            if np.ptp(values) == 0:
                covariates[name] = float(values[0])
                flat.append(position)
                notes.append(f"{name} is {values[0]:g} throughout the data: mu_covariate[{name}] held at 0 "
                             "(unidentified)")
        if flat:
            fixed["mu_covariate"] = tuple(flat)
    return Identification(fixed=fixed, notes=tuple(notes), confounded=tuple(confounded), verification=verification,
                          tiers=tiers, covariates=covariates)


__all__ = ["Identification", "fixed_labels", "held_mask", "identification_for", "identify"]


#: A posterior contraction 1 - (posterior sd / prior sd)^2 below this labels a parameter
#: prior-driven in summaries: the data narrowed its prior by less than a tenth in sd.
PRIOR_DRIVEN_CONTRACTION = 0.2


def parameter_basis(table, spec, fixed) -> list[str]:
    """What each row of a posterior summary (index ``name[coords]``, an ``sd`` column) rests on:
    "held at 0: the data cannot identify it" for the ``fixed`` labels; "prior-driven:
    posterior sd NN% of the prior's" for a parameter with a plain prior (one distribution per
    entry, a closed-form sd) whose posterior contraction 1 - (sd_post / sd_prior)^2 is below
    :data:`PRIOR_DRIVEN_CONTRACTION` (Schad, Betancourt and Vasishth 2021); "data" otherwise."""
    names = {p[0] for p in spec.priors}
    out = []
    for label, sd in zip(table.index, table["sd"]):
        name = label.split("[")[0]
        if label in fixed:
            out.append("held at 0: the data cannot identify it")
            continue
        prior_sd = spec.prior(name).sd() if name in names and parameter(name).structure == "plain" else None
        if prior_sd and np.isfinite(sd) and 1.0 - (sd / prior_sd) ** 2 < PRIOR_DRIVEN_CONTRACTION:
            out.append(f"prior-driven: posterior sd {sd / prior_sd:.0%} of the prior's")
        else:
            out.append("data")
    return out
