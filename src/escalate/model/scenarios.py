"""Policy scenarios and collapse rules (MODEL.md 4), in Python and in spec TOML.

A :class:`Scenario` changes the future covariates from a given day after the cutoff; the status
quo keeps the last observed values. A :class:`CollapseRule` says when a simulated future counts
as a collapse of the truce: a count rule (at least ``threshold`` events of some streams within
``window_days`` consecutive days, the window reaching back into the observed history) or the
structural rule (the effective branching matrix's spectral radius >= 1 under the scenario).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from escalate.errors import EscalateInputError, SpecError

STATUS_QUO = "status quo"


@dataclass(frozen=True)
class Scenario:
    """Named covariate changes from ``from_day`` days after the cutoff (0 = at once).

    Parameters
    ----------
    name : str
    verification : float, optional
        New verification level in [0, 1].
    penalty_tier : int or mapping of stream to int, optional
        New tier for every stream, or for the named streams.
    from_day : float
        Days after the end of the data when the change takes effect.
    covariates : mapping of str to float, optional
        New values of extra baseline covariates.
    prior_driven : bool
        Run even where the change moves an effect the fit holds at zero because its data
        cannot identify it (``fix_unidentified``): that effect is then drawn from its prior and
        the headline says "prior-driven". Without it such a scenario is refused.

    Examples
    --------
    ``Scenario("verification cell", verification=0.9, from_day=7)``,
    ``Scenario("penalties up", penalty_tier={"hezbollah": 3})``.
    """

    name: str
    verification: float | None = None
    penalty_tier: int | Mapping[str, int] | None = None
    from_day: float = 0.0
    covariates: Mapping[str, float] = field(default_factory=dict)
    prior_driven: bool = False

    def __post_init__(self):
        where = f"scenario {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise SpecError("a scenario needs a non-empty name")
        if self.verification is not None and not 0.0 <= float(self.verification) <= 1.0:
            raise SpecError(f"{where}: verification must lie in [0, 1], got {self.verification}")
        tiers = self.penalty_tier.values() if isinstance(self.penalty_tier, Mapping) else (
            [] if self.penalty_tier is None else [self.penalty_tier])
        for tier in tiers:
            if isinstance(tier, bool) or not isinstance(tier, int) or tier < 0:
                raise SpecError(f"{where}: penalty_tier must be a whole number >= 0, got {tier!r}")
        if not float(self.from_day) >= 0:
            raise SpecError(f"{where}: from_day must be >= 0 days after the cutoff, got {self.from_day}")
        if not isinstance(self.prior_driven, bool):
            raise SpecError(f"{where}: prior_driven must be true or false, got {self.prior_driven!r}")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "<dict>") -> "Scenario":
        """Parse a ``[[scenario]]`` table; unknown keys are errors naming the key and file."""
        allowed = {"name", "verification", "penalty_tier", "from_day", "covariates", "prior_driven"}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise SpecError(f"{source}: [[scenario]] has unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        if "name" not in raw:
            raise SpecError(f"{source}: every [[scenario]] needs a name")
        try:
            return cls(name=raw["name"], verification=raw.get("verification"),
                       penalty_tier=raw.get("penalty_tier"), from_day=float(raw.get("from_day", 0.0)),
                       covariates=dict(raw.get("covariates", {})), prior_driven=raw.get("prior_driven", False))
        except SpecError as exc:
            raise SpecError(f"{source}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{source}: [[scenario]] {raw.get('name')!r}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "from_day": float(self.from_day)}
        if self.verification is not None:
            out["verification"] = float(self.verification)
        if self.penalty_tier is not None:
            out["penalty_tier"] = dict(self.penalty_tier) if isinstance(self.penalty_tier, Mapping) else self.penalty_tier
        if self.covariates:
            out["covariates"] = dict(self.covariates)
        if self.prior_driven:
            out["prior_driven"] = True
        return out

    def changes_something(self) -> bool:
        """Whether the scenario sets any covariate (the status quo sets none)."""
        return not (self.verification is None and self.penalty_tier is None and not self.covariates)

    def describe(self) -> str:
        """Plain words: what changes and when."""
        if self.name == STATUS_QUO and self.verification is None and self.penalty_tier is None:
            return "status quo: the last observed verification and penalty tiers continue"
        parts = []
        if self.verification is not None:
            parts.append(f"verification {self.verification:g}")
        if isinstance(self.penalty_tier, Mapping):
            parts += [f"{s} penalty tier {t}" for s, t in self.penalty_tier.items()]
        elif self.penalty_tier is not None:
            parts.append(f"penalty tier {self.penalty_tier} for all parties")
        parts += [f"{k} {v:g}" for k, v in self.covariates.items()]
        when = "from the cutoff" if not self.from_day else f"from day {self.from_day:g} after the cutoff"
        prior = " (run on the priors of effects the data cannot identify)" if self.prior_driven else ""
        return f"{self.name}: {', '.join(parts) or 'no change'} {when}{prior}"


@dataclass(frozen=True)
class CollapseRule:
    """When a simulated future counts as a collapse. Build with :meth:`count` or :meth:`structural`."""

    kind: str
    threshold: int = 0
    window_days: int = 0
    streams: tuple[str, ...] = ()

    @classmethod
    def count(cls, threshold: int, window_days: int, streams=None) -> "CollapseRule":
        """At least ``threshold`` events of ``streams`` (default all) within ``window_days`` days.

        Windows are whole days (day h of the horizon is the h-th day after the cutoff) and reach
        back into the observed history: events in the last days of the data count.
        """
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise SpecError(f"collapse rule: threshold must be a whole number >= 1, got {threshold!r}")
        if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
            raise SpecError(f"collapse rule: window_days must be a whole number >= 1, got {window_days!r}")
        streams = tuple(streams) if streams is not None else ()
        return cls(kind="count", threshold=threshold, window_days=window_days, streams=streams)

    @classmethod
    def structural(cls) -> "CollapseRule":
        """Collapse when the spectral radius of the effective branching matrix is >= 1."""
        return cls(kind="structural")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "<dict>") -> "CollapseRule":
        """Parse a ``[[collapse]]`` table (``kind = "count"`` or ``"structural"``)."""
        kind = raw.get("kind")
        allowed = {"count": {"kind", "threshold", "window_days", "streams", "note"},
                   "structural": {"kind", "note"}}
        if kind not in allowed:
            raise SpecError(f"{source}: [[collapse]] needs kind = \"count\" or \"structural\", got {kind!r}")
        unknown = sorted(set(raw) - allowed[kind])
        if unknown:
            raise SpecError(f"{source}: [[collapse]] ({kind}) has unknown key(s) {unknown}; allowed: {sorted(allowed[kind])}")
        if kind == "structural":
            return cls.structural()
        try:
            return cls.count(raw.get("threshold"), raw.get("window_days"), raw.get("streams"))
        except SpecError as exc:
            raise SpecError(f"{source}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "structural":
            return {"kind": "structural"}
        out = {"kind": "count", "threshold": self.threshold, "window_days": self.window_days}
        if self.streams:
            out["streams"] = list(self.streams)
        return out

    def describe(self, all_streams=()) -> str:
        """Plain words, e.g. "at least 5 hezbollah events within 7 days"."""
        if self.kind == "structural":
            return "the escalation indicator (spectral radius of the effective branching matrix) reaches 1"
        who = " or ".join(self.streams or all_streams) or "any"
        return f"at least {self.threshold} {who} events within {self.window_days} consecutive days"


def scenarios_from_spec(spec) -> list[Scenario]:
    """The spec's ``[[scenario]]`` tables."""
    return [Scenario.from_dict(raw, spec.source) for raw in spec.scenarios]


def collapse_from_spec(spec) -> list[CollapseRule]:
    """The spec's ``[[collapse]]`` tables."""
    return [CollapseRule.from_dict(raw, spec.source) for raw in spec.collapse]


def compile_count_rules(rules, streams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The count rules among ``rules`` as the simulators and the outcome scorer take them:
    ``thresholds[R]`` (events), ``windows[R]`` (days) and ``masks[R, K]`` (streams counted).

    Rules naming a stream that is not in ``streams`` are refused with the known streams.
    """
    count_rules = [r for r in rules if r.kind == "count"]
    for rule in count_rules:
        unknown = sorted(set(rule.streams) - set(streams))
        if unknown:
            raise EscalateInputError(f"collapse rule names unknown stream(s) {unknown}; streams are {list(streams)}")
    thresholds = np.array([r.threshold for r in count_rules], dtype=float)
    windows = np.array([r.window_days for r in count_rules], dtype=np.int64)
    masks = np.array([[not r.streams or s in r.streams for s in streams] for r in count_rules],
                     dtype=np.bool_).reshape(len(count_rules), len(streams))
    return thresholds, windows, masks
