"""Declarative model specs: TOML files in ``models/`` parsed into frozen, validated objects.

A spec says which streams a model has, how many penalty tiers, the time resolution and
observation model, the priors of every MODEL.md parameter, sampler defaults, scenarios and
collapse rules. An unknown or mistyped key is an error naming the key and the file, never a
silent default. ``spec.spec_id`` is the sha256 of the spec's sorted JSON.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from escalate.errors import SpecError
from escalate.model.parameters import (
    SYMBOLIC_MEANS,
    parameter,
    parameter_names,
    registry,
)
from escalate.model.scenarios import (  # validate now: typos fail early
    STATUS_QUO,
    CollapseRule,
    Scenario,
)

SCHEMA_VERSION = 1

#: Distribution name -> (parameter names, which must be positive).
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Normal": (("mu", "sigma"), ("sigma",)),
    "HalfNormal": (("sigma",), ("sigma",)),
    "LogNormal": (("mu", "sigma"), ("sigma",)),
    "Gamma": (("alpha", "beta"), ("alpha", "beta")),
    "Exponential": (("lam",), ("lam",)),
    "StudentT": (("nu", "mu", "sigma"), ("nu", "sigma")),
}

_POSITIVE_DISTS = {"HalfNormal", "LogNormal", "Gamma", "Exponential"}

TIME_RESOLUTIONS = ("exact", "day")
#: How truce effects enter with J > 1 truces (MODEL.md 2: partial pooling, non-centred).
TRUCE_EFFECTS = ("non_centred", "centred", "none")
OBSERVATIONS = ("poisson", "negative_binomial")
#: Day-resolution likelihoods: the within-day cascade (the default, docs/model.md) and MODEL.md
#: 3b as written (offspring from the day after their parent's; kept for comparison).
DAILY_LIKELIHOODS = ("cascade", "no_same_day")
#: Group pooling of the violence model's baseline (MODEL.md 6): off, non-centred or centred
#: (centred mixes better when every group has many days of data).
GROUP_EFFECTS = ("none", "non_centred", "centred")


@dataclass(frozen=True)
class Prior:
    """One prior: a distribution name and its parameters (floats, or ``log_observed_rate``)."""

    dist: str
    params: tuple[tuple[str, Any], ...]

    @classmethod
    def from_dict(cls, name: str, raw: Any, source: str) -> "Prior":
        """Parse ``{"dist": "Normal", "mu": 0, "sigma": 1}`` for parameter ``name``."""
        where = f"[priors.{name}] in {source}"
        if not isinstance(raw, dict) or "dist" not in raw:
            raise SpecError(f"{where}: a prior is a table with 'dist' and its parameters, "
                            f"e.g. {{ dist = \"Normal\", mu = 0, sigma = 1 }}")
        dist = raw["dist"]
        if dist not in DISTRIBUTIONS:
            raise SpecError(f"{where}: unknown dist {dist!r}; use one of {sorted(DISTRIBUTIONS)}")
        support = parameter(name).support
        if support != "real" and dist not in _POSITIVE_DISTS:
            raise SpecError(f"{where}: {name} is positive, so its prior must be one of "
                            f"{sorted(_POSITIVE_DISTS)}, not {dist}")
        names, positive = DISTRIBUTIONS[dist]
        given = {k: v for k, v in raw.items() if k != "dist"}
        unknown = sorted(set(given) - set(names))
        missing = [k for k in names if k not in given]
        if unknown:
            raise SpecError(f"{where}: unknown key(s) {unknown} for {dist}; it takes {list(names)}")
        if missing:
            raise SpecError(f"{where}: {dist} needs {missing}")
        values = []
        for k in names:
            v = given[k]
            if k == "mu" and v == SYMBOLIC_MEANS.get(name):
                values.append((k, v))
                continue
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise SpecError(f"{where}: {k} must be a number, got {v!r}")
            if not math.isfinite(v):
                raise SpecError(f"{where}: {k} must be a finite number, got {v}")
            if k in positive and not v > 0:
                raise SpecError(f"{where}: {k} must be > 0, got {v}")
            values.append((k, float(v)))
        return cls(dist=dist, params=tuple(values))

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON form: ``{"dist": ..., **params}``."""
        return {"dist": self.dist, **dict(self.params)}

    def sd(self) -> float | None:
        """The prior's standard deviation; None where it is infinite (StudentT with nu <= 2) or
        depends on the data (a LogNormal with a symbolic mu)."""
        p = dict(self.params)
        if self.dist in ("Normal", "StudentT") or "mu" not in p or isinstance(p["mu"], float):
            if self.dist == "Normal":
                return p["sigma"]
            if self.dist == "HalfNormal":
                return p["sigma"] * math.sqrt(1.0 - 2.0 / math.pi)
            if self.dist == "LogNormal":
                return math.sqrt(math.expm1(p["sigma"] ** 2)) * math.exp(p["mu"] + p["sigma"] ** 2 / 2)
            if self.dist == "Gamma":
                return math.sqrt(p["alpha"]) / p["beta"]
            if self.dist == "Exponential":
                return 1.0 / p["lam"]
            if self.dist == "StudentT" and p["nu"] > 2:
                return p["sigma"] * math.sqrt(p["nu"] / (p["nu"] - 2.0))
        return None


@dataclass(frozen=True)
class SamplerSettings:
    """Sampler defaults: draws and tuning steps per chain, chains, target acceptance, sampler,
    and (nutpie) the mass-matrix adaptation: "low_rank" (nutpie's low-rank modified mass
    matrix, for the strongly correlated Hawkes posteriors), "diag", or "auto" (the default:
    "diag" when every partially pooled effect is non-centred, "low_rank" otherwise; other
    samplers "diag"). :func:`escalate.inference.sampling.mass_matrix` resolves it;
    docs/performance.md has the measurements behind the rule."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    sampler: str = "nutpie"
    adaptation: str = "auto"


#: The mass-matrix adaptations a spec may ask for (``"auto"`` chooses per model).
ADAPTATIONS = ("auto", "diag", "low_rank")

#: How truces without event data enter a hazard with a violence feedback term (MODEL.md 6).
UNOBSERVED_VIOLENCE = ("error", "omit_feedback", "exclude")
#: Default bins of days since the start for the baseline hazard (lower edges).
HAZARD_BINS = (0, 3, 7, 14, 30, 90, 365)


@dataclass(frozen=True)
class HazardSettings:
    """The ``[hazard]`` table: the collapse hazard of MODEL.md 6.

    Attributes
    ----------
    bins : tuple of int
        Lower edges (days since the start, the first 0) of the baseline's bins.
    covariates : tuple of str
        Static truce covariates (columns of the corpus' truce table) in the hazard.
    feedback : bool
        The violence feedback term ``hazard_feedback * log(1 + c)``, c = events of the truce's
        streams in the trailing ``feedback_window_days`` days.
    feedback_window_days : int
    unobserved_violence : {"error", "omit_feedback", "exclude"}
        Truces without event data, when ``feedback`` is on: an error (the default: never treat
        missing data as zero silently), fitted without the feedback term, or left out.
    groups : bool
        Partial pooling of the log-hazard by group (``hazard_group``).
    """

    bins: tuple[int, ...] = HAZARD_BINS
    covariates: tuple[str, ...] = ()
    feedback: bool = True
    feedback_window_days: int = 7
    unobserved_violence: str = "error"
    groups: bool = True

    @classmethod
    def from_dict(cls, raw: Any, source: str) -> "HazardSettings":
        if not isinstance(raw, dict):
            raise SpecError(f"{source}: [hazard] must be a table")
        _reject_unknown(raw, {f.name for f in fields(cls)}, "hazard.", source)
        bins = raw.get("bins", list(HAZARD_BINS))
        if (not isinstance(bins, list) or not bins or any(isinstance(b, bool) or not isinstance(b, int) for b in bins)
                or bins[0] != 0 or any(b >= c for b, c in zip(bins, bins[1:]))):
            raise SpecError(f"{source}: 'hazard.bins' must be increasing whole numbers of days starting at 0 "
                            f"(lower edges, e.g. {list(HAZARD_BINS)}), got {bins!r}")
        window = _typed(raw, "feedback_window_days", int, source, 7, prefix="hazard.")
        if window < 1:
            raise SpecError(f"{source}: 'hazard.feedback_window_days' must be >= 1, got {window}")
        return cls(bins=tuple(bins), covariates=tuple(_str_list(raw, "covariates", source)),
                   feedback=_typed(raw, "feedback", bool, source, True, prefix="hazard."),
                   feedback_window_days=window,
                   unobserved_violence=_choice(raw, "unobserved_violence", UNOBSERVED_VIOLENCE, source),
                   groups=_typed(raw, "groups", bool, source, True, prefix="hazard."))

    def to_dict(self) -> dict[str, Any]:
        return {"bins": list(self.bins), "covariates": list(self.covariates), "feedback": self.feedback,
                "feedback_window_days": self.feedback_window_days,
                "unobserved_violence": self.unobserved_violence, "groups": self.groups}


@dataclass(frozen=True)
class ModelSpec:
    """A validated model spec (see ``models/truce-hawkes.toml`` for the annotated format).

    Attributes
    ----------
    name : str
        Spec name, shown in reports.
    streams : tuple of str
        Stream order; empty means "sorted stream names of the data".
    penalty_tiers : int
        P, the number of penalty tiers (tiers are 0..P-1; tier 0 is the reference).
    time_resolution : {"exact", "day"}
        Which likelihood: exact event times (MODEL.md 3a) or daily counts (3b).
    observation : {"poisson", "negative_binomial"}
        Observation model of the daily likelihood.
    daily_likelihood : {"cascade", "no_same_day"}
        Day resolution: "cascade" (the default: each day's counts jointly, same-day
        excitation included, Poisson or negative-binomial roots; docs/model.md) or
        "no_same_day" (MODEL.md 3b as written: offspring count from the day after their
        parent's, which biases branching upwards; kept for comparison).
    baseline_covariates : tuple of str
        Further numeric covariate columns entering the log baseline (``mu_covariate``).
    excitation : bool
        False drops the self- and cross-excitation: a Poisson process (or daily Poisson/NB
        regression) with the same covariates in the baseline; the rival of the backtests.
    truce_effects : {"non_centred", "centred", "none"}
        Partial pooling of the per-truce baseline shift with J > 1 truces: non-centred
        (MODEL.md's default), centred (better geometry when every truce has many events), or
        none (for a handful of truces whose differences the covariates must carry).
    group_effects : {"none", "non_centred", "centred"}
        Partial pooling of the violence model's baseline by group (conflict or dyad): each
        truce effect is its group's effect plus a within-group effect (MODEL.md 6).
    violence : bool
        False: a corpus' event series are not modelled (the collapse hazard alone, with
        ``hazard.feedback = false``).
    hazard : HazardSettings or None
        The collapse hazard (a ``[hazard]`` table); None for a violence model alone.
    fix_unidentified : bool
        Hold at zero the effects of a covariate the data never vary (verification, a penalty
        tier, a baseline covariate; :mod:`escalate.model.identification`), say so in every
        output, and refuse scenarios that would move them unless they ask for
        ``prior_driven = true``. Default true; false estimates them on their priors.
    priors : tuple of (name, Prior)
        Priors of every parameter, defaults from MODEL.md filled in.
    sampler : SamplerSettings
    scenarios, collapse : tuple of dict
        Raw scenario and collapse-rule tables, interpreted by the forecast module.
    source : str
        Where the spec came from (a path, or "<dict>"); not part of the spec id.
    """

    name: str = "truce-hawkes"
    streams: tuple[str, ...] = ()
    penalty_tiers: int = 4
    time_resolution: str = "exact"
    observation: str = "poisson"
    daily_likelihood: str = "cascade"
    baseline_covariates: tuple[str, ...] = ()
    truce_effects: str = "non_centred"
    excitation: bool = True
    group_effects: str = "none"
    violence: bool = True
    hazard: HazardSettings | None = None
    fix_unidentified: bool = True
    priors: tuple[tuple[str, Prior], ...] = ()
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    scenarios: tuple[dict, ...] = ()
    collapse: tuple[dict, ...] = ()
    description: str = ""
    source: str = field(default="<dict>", compare=False)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> "ModelSpec":
        """Read and validate a spec file; errors name the key and the file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SpecError(f"{path}: model spec file not found") from None
        except IsADirectoryError:
            raise SpecError(f"{path}: is a directory, not a model spec file (TOML)") from None
        except UnicodeDecodeError:
            raise SpecError(f"{path}: not a text file; a model spec is TOML (see models/truce-hawkes.toml)") from None
        return cls.from_dict(_parse_toml(text, str(path)), source=str(path))

    @classmethod
    def bundled(cls, name: str) -> "ModelSpec":
        """A spec shipped with the package (``truce-hawkes``, ``israel-hezbollah``).

        Read through :mod:`importlib.resources`, so it works from a wheel as from a checkout;
        ``models/`` at the top of the repository holds the same files for users to copy.
        """
        names = bundled_spec_names()
        if name not in names:
            raise SpecError(f"no bundled model spec {name!r}; bundled specs are {names}")
        resource = resources.files("escalate.model").joinpath("specs", f"{name}.toml")
        raw = _parse_toml(resource.read_text(encoding="utf-8"), f"bundled spec {name}")
        return cls.from_dict(raw, source=f"escalate:{name}")

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "<dict>") -> "ModelSpec":
        """Validate a spec given as a dict (the parsed TOML)."""
        raw = dict(raw)
        allowed = {"schema_version", "name", "description", "streams", "penalty_tiers",
                   "time_resolution", "observation", "baseline_covariates", "truce_effects", "excitation", "priors",
                   "sampler", "scenario", "collapse", "group_effects", "hazard", "violence",
                   "fix_unidentified", "daily_likelihood"}
        _reject_unknown(raw, allowed, "", source)
        version = raw.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise SpecError(f"{source}: schema_version {version!r} is not supported; "
                            f"this escalate reads schema_version = {SCHEMA_VERSION}")
        kw: dict[str, Any] = {"source": source}
        kw["name"] = _typed(raw, "name", str, source, "truce-hawkes")
        kw["description"] = _typed(raw, "description", str, source, "")
        kw["streams"] = tuple(_str_list(raw, "streams", source))
        if len(set(kw["streams"])) != len(kw["streams"]):
            raise SpecError(f"{source}: 'streams' lists a stream twice: {list(kw['streams'])}")
        tiers = _typed(raw, "penalty_tiers", int, source, 4)
        if tiers < 1:
            raise SpecError(f"{source}: 'penalty_tiers' must be >= 1 (tiers 0..P-1), got {tiers}")
        kw["penalty_tiers"] = tiers
        kw["time_resolution"] = _choice(raw, "time_resolution", TIME_RESOLUTIONS, source)
        kw["observation"] = _choice(raw, "observation", OBSERVATIONS, source)
        kw["daily_likelihood"] = _choice(raw, "daily_likelihood", DAILY_LIKELIHOODS, source)
        if "daily_likelihood" in raw and kw["time_resolution"] != "day":
            raise SpecError(f"{source}: 'daily_likelihood' applies to time_resolution = \"day\" only; "
                            f"remove it, or set time_resolution = \"day\"")
        kw["baseline_covariates"] = tuple(_str_list(raw, "baseline_covariates", source))
        kw["truce_effects"] = _choice(raw, "truce_effects", TRUCE_EFFECTS, source)
        kw["excitation"] = _typed(raw, "excitation", bool, source, True)
        kw["group_effects"] = _choice(raw, "group_effects", GROUP_EFFECTS, source)
        kw["violence"] = _typed(raw, "violence", bool, source, True)
        kw["fix_unidentified"] = _typed(raw, "fix_unidentified", bool, source, True)
        if not kw["violence"] and "hazard" not in raw:
            raise SpecError(f"{source}: violence = false leaves only the collapse hazard; add a [hazard] table")
        kw["hazard"] = HazardSettings.from_dict(raw["hazard"], source) if "hazard" in raw else None
        reserved = {"verification", "penalty_tier", "truce_id", "start", "stream"}
        clash = sorted(set(kw["baseline_covariates"]) & reserved)
        if clash:
            raise SpecError(f"{source}: 'baseline_covariates' may not name {clash}: "
                            "verification and penalty_tier are always in the model")
        priors_raw = raw.get("priors", {})
        if not isinstance(priors_raw, dict):
            raise SpecError(f"{source}: [priors] must be a table")
        _reject_unknown(priors_raw, set(parameter_names()), "priors.", source)
        priors = []
        for entry in registry():
            priors.append((entry.name, Prior.from_dict(entry.name, priors_raw.get(entry.name, entry.prior), source)))
        kw["priors"] = tuple(priors)
        sampler_raw = raw.get("sampler", {})
        if not isinstance(sampler_raw, dict):
            raise SpecError(f"{source}: [sampler] must be a table")
        names = {f.name: f.type for f in fields(SamplerSettings)}
        _reject_unknown(sampler_raw, set(names), "sampler.", source)
        defaults = SamplerSettings()
        sampler_kw = {}
        for key in names:
            default = getattr(defaults, key)
            sampler_kw[key] = _typed(sampler_raw, key, type(default), source, default,
                                     prefix="sampler.")
        if not 0.5 <= sampler_kw["target_accept"] < 1:
            raise SpecError(f"{source}: sampler.target_accept must be in [0.5, 1)")
        for key in ("draws", "tune", "chains"):
            if sampler_kw[key] < 1:
                raise SpecError(f"{source}: sampler.{key} must be >= 1")
        if sampler_kw["sampler"] not in ("nutpie", "pymc", "numpyro"):
            raise SpecError(f"{source}: sampler.sampler must be 'nutpie', 'pymc' or 'numpyro'")
        if sampler_kw["adaptation"] not in ADAPTATIONS:
            raise SpecError(f"{source}: sampler.adaptation must be 'auto' (the default), 'diag' or 'low_rank' "
                            f"(nutpie's low-rank modified mass matrix, for correlated posteriors)")
        if sampler_kw["adaptation"] == "low_rank" and sampler_kw["sampler"] != "nutpie":
            raise SpecError(f"{source}: sampler.adaptation = {sampler_kw['adaptation']!r} needs sampler = 'nutpie'")
        kw["sampler"] = SamplerSettings(**sampler_kw)
        for key, target in (("scenario", "scenarios"), ("collapse", "collapse")):
            tables = raw.get(key, [])
            if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
                raise SpecError(f"{source}: '{key}' must be an array of tables ([[{key}]])")
            kw[target] = tuple(tables)

        names = []
        for table in kw["scenarios"]:
            names.append(Scenario.from_dict(table, source).name)
        if STATUS_QUO in names:
            raise SpecError(f"{source}: a [[scenario]] is named {STATUS_QUO!r}, the name of the scenario that "
                            f"escalate always includes (the last observed covariates continue); rename it")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SpecError(f"{source}: [[scenario]] names must be unique; {twice} appear more than once")
        for table in kw["collapse"]:
            CollapseRule.from_dict(table, source)
        return cls(**kw)

    # ---- views --------------------------------------------------------------------------
    def prior(self, name: str) -> Prior:
        """The prior of parameter ``name``."""
        return dict(self.priors)[name]

    def with_priors(self, **priors: dict[str, Any]) -> "ModelSpec":
        """A copy with some priors replaced, given as dicts (``dist`` plus parameters)."""
        unknown = sorted(set(priors) - set(parameter_names()))
        if unknown:
            raise SpecError(f"unknown prior name(s) {unknown}; known: {sorted(parameter_names())}")
        current = dict(self.priors)
        for name, raw in priors.items():
            current[name] = Prior.from_dict(name, raw, self.source)
        return replace(self, priors=tuple(current.items()))

    def to_dict(self) -> dict[str, Any]:
        """The TOML-shaped dict; ``ModelSpec.from_dict(spec.to_dict()) == spec``."""
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "streams": list(self.streams),
            "penalty_tiers": self.penalty_tiers,
            "time_resolution": self.time_resolution,
            "observation": self.observation,
            "baseline_covariates": list(self.baseline_covariates),
            "truce_effects": self.truce_effects,
            "excitation": self.excitation,
            "priors": {name: p.to_dict() for name, p in self.priors if self._may_have(name)},
            "sampler": {f.name: getattr(self.sampler, f.name) for f in fields(SamplerSettings)},
        }
        if self.group_effects != "none":
            out["group_effects"] = self.group_effects
        if not self.violence:
            out["violence"] = False
        if self.time_resolution == "day":  # always for day specs: a day spec's id names its likelihood
            out["daily_likelihood"] = self.daily_likelihood
        if not self.fix_unidentified:  # only when not the default: spec ids from before it stay
            out["fix_unidentified"] = False
        if self.hazard is not None:
            out["hazard"] = self.hazard.to_dict()
        if self.scenarios:
            out["scenario"] = [dict(s) for s in self.scenarios]
        if self.collapse:
            out["collapse"] = [dict(c) for c in self.collapse]
        return out

    def _may_have(self, name: str) -> bool:
        """Whether the spec's model can have parameter ``name`` at all: the TOML form of a spec
        without a hazard or group pooling leaves their priors out (so its id is the one it had
        before those parts existed)."""
        if name.startswith("hazard_"):
            return self.hazard is not None
        if name.startswith("group_"):
            return self.group_effects != "none"
        return True

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def same_day_cascade(self) -> bool:
        """True when the likelihood (and so every simulator) adds each day's same-day offspring:
        a day-resolution spec with the cascade daily likelihood."""
        return self.time_resolution == "day" and self.daily_likelihood == "cascade"

    @property
    def spec_id(self) -> str:
        """Stable id: sha256 of the canonical JSON."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def __hash__(self) -> int:  # dict-valued fields are not hashable; the id is
        return hash(self.spec_id)


def bundled_spec_names() -> list[str]:
    """Names of the specs shipped with the package."""
    folder = resources.files("escalate.model").joinpath("specs")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


# ---- parsing helpers ------------------------------------------------------------------------
def _parse_toml(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {exc}") from None


def _reject_unknown(table: dict, allowed: set[str], prefix: str, source: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hints.append(f"'{prefix}{key}'" + (f" (did you mean '{prefix}{close[0]}'?)" if close else ""))
        raise SpecError(f"{source}: unknown key {', '.join(hints)}; allowed here: {sorted(allowed)}")


def _typed(raw: dict, key: str, kind: type, source: str, default: Any, prefix: str = "") -> Any:
    if key not in raw:
        return default
    value = raw[key]
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise SpecError(f"{source}: '{prefix}{key}' must be {kind.__name__}, got {value!r}")
    return value


def _str_list(raw: dict, key: str, source: str) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecError(f"{source}: '{key}' must be a list of non-empty strings, got {value!r}")
    return value


def _choice(raw: dict, key: str, choices: tuple[str, ...], source: str) -> str:
    value = raw.get(key, choices[0])
    if value not in choices:
        raise SpecError(f"{source}: '{key}' must be one of {list(choices)}, got {value!r}")
    return value
