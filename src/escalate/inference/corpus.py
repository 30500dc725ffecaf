"""Fitting a corpus: the collapse hazard, jointly with the violence model (MODEL.md 6).

``fit(corpus, spec)`` returns a :class:`CorpusFit`: the posterior DataTree (one PyMC model:
the hazard over every truce at risk, the violence model over the truces with event data), the
spec and the corpus. It answers the corpus' questions: the policy effects on the hazard (each
labelled "data" or "prior-driven"), the population survival curve, the risk that a new
ceasefire collapses, and forecasts for a truce in progress with three probabilities
(declared collapse, the violence rules, either).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from functools import cached_property

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from escalate.data.corpus import Corpus
from escalate.data.tree import dataset_to_frame, frame_to_dataset
from escalate.errors import EscalateInputError, FileFormatError
from escalate.forecasting.collapse import (
    PathHazard,
    closed_form_risk,
    hazard_draws,
    hazard_note,
    new_truce_eta,
    scenario_profile,
    static_eta,
)
from escalate.forecasting.result import CI_PROB, Forecast
from escalate.forecasting.run import resolve_scenarios, run_forecast
from escalate.inference.diagnostics import (
    Diagnostics,
    compute_diagnostics,
    warn_if_failed,
)
from escalate.inference.result import Fit, add_derived, library_versions
from escalate.inference.sampling import sample_model
from escalate.model.build import build_model, model_coords
from escalate.model.identification import Identification, identification_for
from escalate.model.hazard import hazard_rows, trailing_counts
from escalate.model.parameters import (
    HAZARD_PARAMETERS,
    parameter,
    parameter_names,
    per_stream_dispersion,
    thinned_indices,
)
from escalate.model.spec import ModelSpec
from escalate.storage import check_format_version, load_tree, save_tree
from escalate.version import __version__

#: Version of the saved corpus-fit layout.
CORPUS_FORMAT_VERSION = 1
KIND = "escalate.corpus_fit"


def fit_corpus(corpus: Corpus, spec: ModelSpec, *, draws: int | None = None, tune: int | None = None,
               chains: int | None = None, seed: int = 0, sampler: str | None = None,
               target_accept: float | None = None, progressbar: bool = False,
               cores: int | None = None) -> "CorpusFit":
    """Fit the collapse hazard of ``spec`` (its ``[hazard]`` table) to ``corpus``, jointly with
    the violence model where the corpus has event data; arguments as :func:`escalate.fit`."""
    corpus = corpus if spec.violence else corpus.without_events()  # the hazard alone
    model = build_model(corpus, spec)
    tree, run = sample_model(model, spec, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler,
                             target_accept=target_accept, progressbar=progressbar, cores=cores)
    events = corpus.event_data()
    if events is not None:
        tree = add_derived(tree, events)
    tree["corpus"] = corpus_to_tree(corpus)
    tree.attrs.update({
        "escalate_version": __version__, "format_version": CORPUS_FORMAT_VERSION, "kind": KIND,
        "spec": spec.to_json(), "spec_id": spec.spec_id, "spec_source": spec.source,
        "data_hash": corpus.data_hash,
        "identification": (identification_for(events, spec) if events is not None else Identification()).to_json(),
        "run": json.dumps({"seed": seed, **run, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                           "versions": library_versions()}, sort_keys=True),
    })
    result = CorpusFit(tree=tree, spec=spec, corpus=corpus)
    warn_if_failed(result.diagnostics)
    return result


def hazard_only_spec(spec: ModelSpec, label: str = "hazard, static covariates") -> ModelSpec:
    """The spec's hazard with its static covariates, no violence feedback, fitted alone."""
    if spec.hazard is None:
        raise EscalateInputError(f"{spec.source}: this needs a spec with a [hazard] table")
    return replace(spec, violence=False, hazard=replace(spec.hazard, feedback=False), name=f"{spec.name} ({label})")


def fit_other_ends(corpus: Corpus, spec: ModelSpec, **sampling) -> "CorpusFit":
    """Fit the hazard of the **competing ends** (a truce expiring or being replaced,
    :meth:`Corpus.other_ends`) with the structure of ``spec``'s hazard: the same day bins,
    verification, tier, static covariates and group pooling, no violence feedback (what
    the docs call the competing-ends model; arguments as :func:`fit_corpus`).

    Collapse and the other ends are competing risks with separate parameters, so the joint
    likelihood is the product of the two cause-specific ones and the two posteriors are
    independent: this fit, paired draw by draw with a collapse fit
    (:meth:`CorpusFit.forecast` with ``other_ends=``), gives P(collapse before the truce ends
    otherwise), the probability an analyst can observe."""
    return fit_corpus(corpus.other_ends(), hazard_only_spec(spec, "competing ends: expired, replaced"), **sampling)


def corpus_fit_from_draws(corpus: Corpus, spec: ModelSpec, draws: dict) -> "CorpusFit":
    """A :class:`CorpusFit` from given parameter draws (MODEL.md names, leading draw dim): for
    checks, elicited priors and scenarios; one chain, no sampler statistics."""
    corpus = corpus if spec.violence else corpus.without_events()
    build_model(corpus, spec)  # the same checks as a fit: spec and corpus agree
    arrays = {name: np.asarray(value, dtype=float) for name, value in draws.items()}
    if "dispersion" in arrays:  # one shared value per draw is one per stream, all equal
        arrays["dispersion"] = per_stream_dispersion(arrays["dispersion"], len(corpus.streams))
    sizes = {v.shape[0] for v in arrays.values() if v.ndim}
    if len(sizes) != 1 or any(v.ndim == 0 for v in arrays.values()):
        raise EscalateInputError("every draw array needs the same leading draw dimension")
    coords = model_coords(corpus.event_data(), spec, corpus)
    dims = {name: parameter(name).dims for name in arrays}
    post = xr.Dataset({name: (("chain", "draw", *dims[name]), value[None]) for name, value in arrays.items()},
                      coords={"chain": [0], "draw": np.arange(sizes.pop()),
                              **{d: coords[d] for name in arrays for d in dims[name]}})
    tree = xr.DataTree.from_dict({"posterior": post})
    tree["corpus"] = corpus_to_tree(corpus)
    tree.attrs.update({"escalate_version": __version__, "format_version": CORPUS_FORMAT_VERSION, "kind": KIND,
                       "spec": spec.to_json(), "spec_id": spec.spec_id, "spec_source": spec.source,
                       "data_hash": corpus.data_hash, "run": json.dumps({"sampler": "fit_from_draws"})})
    return CorpusFit(tree=tree, spec=spec, corpus=corpus)


@dataclass(eq=False)
class CorpusFit:
    """A fitted corpus model: the DataTree, the spec and the corpus.

    Attributes
    ----------
    tree : xarray.DataTree
        ``posterior`` (MODEL.md names; hazard parameters ``hazard_*``), ``sample_stats`` and
        ``corpus`` (the corpus' tables).
    spec : ModelSpec
    corpus : Corpus
    """

    tree: xr.DataTree
    spec: ModelSpec
    corpus: Corpus

    # ---- the posterior -----------------------------------------------------------------------
    @property
    def parameter_names(self) -> list[str]:
        post = self.tree["posterior"]
        return [n for n in parameter_names() if n in post.data_vars]

    @cached_property
    def diagnostics(self) -> Diagnostics:
        """Worst r_hat, ESS and divergences over every parameter, with the verdict (of the
        source fit for a :meth:`transfer`); computed once (about a second on the real corpus)."""
        if "source_diagnostics" in self.tree.attrs:
            given = json.loads(self.tree.attrs["source_diagnostics"])
            return Diagnostics(**{f.name: given[f.name] for f in fields(Diagnostics)})
        return compute_diagnostics(self.tree, self.parameter_names, fixed=self.identification.fixed)

    @property
    def identification(self) -> Identification:
        """The violence model's effects held at zero (its event data cannot identify them)."""
        return Identification.from_json(self.tree.attrs.get("identification"))

    @property
    def n_draws(self) -> int:
        post = self.tree["posterior"]
        return post.sizes["chain"] * post.sizes["draw"]

    def summary(self, ci_prob: float = 0.94, var_names=None) -> pd.DataFrame:
        """Posterior summary (94% equal-tailed intervals by default)."""
        names = [n for n in (var_names or self.parameter_names) if n in self.tree["posterior"].data_vars]
        return az.summary(self.tree, var_names=names, ci_prob=ci_prob, ci_kind="eti")

    @property
    def violence(self) -> Fit | None:
        """The violence model as a :class:`~escalate.Fit` of the corpus' event data (None
        without event data): its checks and plots apply as they do to any fit."""
        events = self.corpus.event_data()
        if events is None:
            return None
        return Fit(tree=self.tree, spec=self.spec, data=events)

    # ---- what the corpus teaches ---------------------------------------------------------------
    def policy_effects(self, ci_prob: float = 0.94) -> pd.DataFrame:
        """The hazard's effects: log-hazard effect, hazard ratio exp(effect) and P(effect < 0)
        (a lower collapse hazard), each with ``basis`` "data" where the corpus varies the
        covariate (truces at risk on both sides, with collapses) or "prior-driven" where it
        does not. A fit whose diagnostics fail says so in ``diagnostics``."""
        post = self.tree["posterior"]
        at_risk = self.corpus.at_risk
        lo_q, hi_q = (1 - ci_prob) / 2, (1 + ci_prob) / 2
        label = f"{ci_prob:.0%}"
        verdict = self.diagnostics.verdict
        rows = []

        def add(name, values, varies):
            values = np.asarray(values).ravel()
            rows.append({"effect": name, "mean": float(values.mean()),
                         f"eti{label[:-1]}_lb": float(np.quantile(values, lo_q)),
                         f"eti{label[:-1]}_ub": float(np.quantile(values, hi_q)),
                         "hazard_ratio": float(np.exp(values).mean()), "p_lower_hazard": float((values < 0).mean()),
                         "basis": "data" if varies else "prior-driven", "diagnostics": verdict})

        collapsed = at_risk["collapsed"].to_numpy(dtype=bool)

        def informative(mask):
            mask = np.asarray(mask, dtype=bool)
            return bool(mask.any() and (~mask).any() and collapsed[mask].any() and collapsed[~mask].any())

        if "hazard_verification" in post:
            v = at_risk["verification"].to_numpy()
            add("verification", post["hazard_verification"].values, informative(v > v.min()))
        if "hazard_tier" in post:
            for tier in post["hazard_tier"].coords["tier"].values:
                add(f"penalty_tier[{tier}]", post["hazard_tier"].sel(tier=tier).values,
                    informative(at_risk["penalty_tier"].to_numpy() == tier))
        if "hazard_covariate" in post:
            for name in post["hazard_covariate"].coords["static_covariate"].values:
                z = at_risk[str(name)].to_numpy(dtype=float)
                add(str(name), post["hazard_covariate"].sel(static_covariate=name).values, informative(z > z.min()))
        if "hazard_feedback" in post:
            add("feedback log(1 + events in the trailing window)", post["hazard_feedback"].values,
                bool(at_risk["has_events"].any()))
        frame = pd.DataFrame(rows)
        frame.attrs["interval"] = f"{label} equal-tailed over posterior draws"
        return frame

    def survival(self, days=(7, 30, 90, 365), draws: int | None = 400, ci_prob: float = CI_PROB) -> pd.DataFrame:
        """The model's survival curve on the corpus' own risk sets: P(no declared collapse on days
        0..t-1) = prod over days d < t of (1 - E_d / n_d), with n_d the truces at risk on day d
        and E_d the sum of their daily hazards (their covariates, groups and, where the feedback
        term has them, their observed trailing events), per posterior draw; mean and band. The
        posterior predictive counterpart of :func:`escalate.checking.survival.kaplan_meier` under
        the same censoring."""
        rows_ = hazard_rows(self.corpus, self.spec.hazard)
        indices = thinned_indices(self.n_draws, draws or self.n_draws)
        p = hazard_draws(self.tree, self.spec, self.corpus, indices)
        horizon = int(max(days))
        truces = self.corpus.truces.set_index("truce_id").loc[list(rows_.truce_ids)]
        expected = np.zeros((len(indices), horizon))
        at_risk = np.zeros(horizon)
        window = self.spec.hazard.feedback_window_days
        for j, truce_id in enumerate(rows_.truce_ids):
            row = truces.loc[truce_id]
            n = min(int(row["days_at_risk"]), horizon)
            z = row[list(self.spec.hazard.covariates)].to_numpy(dtype=float).reshape(1, -1).repeat(n, 0)
            eta = static_eta(p, self.spec, 0, np.full(n, row["verification"]), np.full(n, row["penalty_tier"]),
                             z, rows_.group[j])
            if rows_.feedback[rows_.truce == j].any():
                seen = trailing_counts(self.corpus.daily_totals(truce_id), self.corpus.history_days, n, window)
                eta = eta + p["hazard_feedback"][:, None] * np.log1p(seen)[None, :]
            expected[:, :n] += -np.expm1(-np.exp(eta))
            at_risk[:n] += 1
        curve = np.cumprod(1.0 - expected / np.maximum(at_risk, 1.0), axis=1)
        at = curve[:, np.asarray(days, dtype=np.int64) - 1]
        frame = pd.DataFrame({"day": list(days), "survival_mean": at.mean(axis=0),
                              "survival_lo": np.quantile(at, (1 - ci_prob) / 2, axis=0),
                              "survival_hi": np.quantile(at, (1 + ci_prob) / 2, axis=0)})
        frame.attrs["interval"] = f"{ci_prob:.0%} equal-tailed over posterior draws"
        return frame

    def new_truce_risk(self, horizons=(7, 30, 90), *, verification: float = 0.0, penalty_tier: int = 0,
                       covariates=None, group=None, trailing_events: float = 0.0, draws: int | None = None,
                       seed: int = 0, ci_prob: float = CI_PROB) -> pd.DataFrame:
        """P(declared collapse within each horizon) of a new ceasefire with the given profile, in
        closed form per posterior draw. ``group`` None is a conflict not in the corpus (its
        effect drawn from the population); ``trailing_events`` the events per trailing window
        assumed (the feedback term; 0 = a quiet start). ``basis`` says "prior-driven" when the
        profile asks for values the corpus never shows."""
        covariates = dict(covariates or {})
        horizons = sorted({int(h) for h in horizons})
        if not horizons or horizons[0] < 1:
            raise EscalateInputError(f"horizons must be whole numbers of days >= 1, got {horizons}")
        indices = thinned_indices(self.n_draws, draws or self.n_draws)
        p = hazard_draws(self.tree, self.spec, self.corpus, indices)
        rng = np.random.default_rng(seed)
        eta = new_truce_eta(p, self.spec, self.corpus, horizons[-1], float(verification), int(penalty_tier),
                            covariates, group, rng, trailing_events)
        risk = closed_form_risk(eta)
        note = hazard_note(self.corpus, verification, [penalty_tier], covariates)
        rows = []
        for h in horizons:
            r = risk[:, h - 1]
            rows.append({"horizon_day": h, "p_collapse_mean": float(r.mean()),
                         "p_collapse_lo": float(np.quantile(r, (1 - ci_prob) / 2)),
                         "p_collapse_hi": float(np.quantile(r, (1 + ci_prob) / 2)),
                         "basis": f"prior-driven: {note}" if note else "data",
                         "diagnostics": self.diagnostics.verdict})
        frame = pd.DataFrame(rows)
        frame.attrs["interval"] = f"{ci_prob:.0%} equal-tailed over posterior draws"
        return frame

    def forecast(self, truce: str, horizon: int, scenarios=None, collapse=None, draws: int | None = None,
                 paths: int = 100, seed: int | None = None, other_ends: "CorpusFit | None" = None) -> Forecast:
        """Collapse risk of a truce of the corpus from the end of its data (its end, or the
        cutoff) under the status quo and the scenarios: P(declared collapse), P(violence rules)
        and P(either), each with its band (:meth:`Forecast.headline`). A truce with event data
        is forecast along simulated paths of its violence (the hazard's feedback sees them); one
        without has the closed form, and no violence probability.

        ``other_ends``, a fit of :func:`fit_other_ends`, adds P(declared collapse before the
        truce ends otherwise) and P(ending otherwise) (:meth:`Forecast.with_other_ends`); it is
        applied to this fit's corpus (:meth:`transfer`), so it may come from the same training
        data as this fit, before a transfer."""
        if truce not in self.corpus.truce_ids:
            raise EscalateInputError(f"unknown truce {truce!r}; the corpus has {len(self.corpus.truce_ids)} truces")
        row = self.corpus.truces.set_index("truce_id").loc[truce]
        if row["excluded"]:
            raise EscalateInputError(f"truce {truce!r} is not in the hazard ({row['excluded']}); it cannot be forecast")
        hazard = PathHazard(self, truce)
        events = self.corpus.event_data()
        if events is not None and truce in events.truce_ids:
            forecast = run_forecast(self.violence, horizon, scenarios, collapse, draws, paths, seed, truce,
                                    hazard=hazard)
        else:
            forecast = self._closed_form_forecast(truce, hazard, horizon, scenarios, draws)
        forecast = self._with_hazard_notes(forecast, row)
        if other_ends is not None:
            other = other_ends.transfer(self.corpus.other_ends(), seed=0 if seed is None else int(seed))
            forecast = forecast.with_other_ends(other.forecast(truce, horizon, scenarios, draws=forecast.ds.sizes["sample"]))
        return forecast

    def _closed_form_forecast(self, truce, hazard, horizon, scenarios, draws) -> Forecast:
        if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
            raise EscalateInputError(f"horizon must be a whole number of days >= 1, got {horizon!r}")
        indices = thinned_indices(self.n_draws, draws or self.n_draws)
        chosen = resolve_scenarios(self.spec, scenarios)
        declared = []
        for scenario in chosen:
            eta, _, _ = hazard.arguments(scenario, None, None, indices, int(horizon))
            declared.append(closed_form_risk(eta))
        return Forecast.from_declared(chosen, np.stack(declared), truce=truce, cutoff=str(self.corpus.cutoff.date()),
                                      draw_indices=indices, draws_per_chain=self.tree["posterior"].sizes["draw"])

    def _with_hazard_notes(self, forecast: Forecast, row) -> Forecast:
        """Add to each scenario's note the hazard's own prior-driven values (from the corpus)."""
        notes = forecast.notes
        for scenario in forecast.scenario_objects():
            v, t, z = scenario_profile(scenario, 1 + int(scenario.from_day), row["verification"],
                                       row["penalty_tier"], row, self.spec.hazard.covariates)
            note = hazard_note(self.corpus, v[-1:], t[-1:], dict(zip(self.spec.hazard.covariates, z[-1])))
            if note:
                notes[scenario.name] = "; ".join(filter(None, [notes.get(scenario.name, ""), f"collapse hazard: {note}"]))
        forecast.ds.attrs["notes"] = json.dumps(notes)
        return forecast

    def transfer(self, corpus: Corpus, seed: int = 0) -> "CorpusFit":
        """This posterior applied to the truces of another corpus: the same truces with later
        data, or truces that started after the fit (a backtest's forecast cases, a new
        ceasefire with its first days of data). Every parameter keeps its posterior draws; a
        group the fit has seen keeps its effects, a group it has not takes per draw an effect
        drawn from the population (Normal(0, scale), the scale's own draw), and so does a truce
        effect of a truce the fit has not seen. Forecasts of the result are forecasts of the
        original fit (its diagnostics are in ``tree.attrs["source_diagnostics"]``).

        The corpus needs the spec's covariates, streams and history window."""
        missing = [c for c in (self.spec.hazard.covariates if self.spec.hazard else ()) if c not in corpus.covariate_names]
        if missing:
            raise EscalateInputError(f"the corpus lacks the hazard's covariates {missing}")
        if self.spec.violence and corpus.counts is not None and tuple(corpus.streams) != tuple(self.corpus.streams):
            raise EscalateInputError(f"the corpus' streams {list(corpus.streams)} differ from the fit's "
                                     f"{list(self.corpus.streams)}")
        corpus = corpus if self.spec.violence else corpus.without_events()
        post = self.tree["posterior"]
        rng = np.random.default_rng(seed)
        shape = (post.sizes["chain"], post.sizes["draw"])
        events_new = corpus.event_data()
        events_old = self.corpus.event_data()
        new_truces = list(events_new.truce_ids) if events_new is not None else []
        old_truces = list(events_old.truce_ids) if events_old is not None else []
        truce_groups = corpus.truces.set_index("truce_id")["group"]
        variables = {}
        for name in self.parameter_names:
            values = post[name]
            entry = parameter(name)
            if "group" in values.dims:
                variables[name] = _remap(values, "group", list(self.corpus.groups), list(corpus.groups),
                                         lambda size, scale=post[entry.scale].values: scale.reshape(
                                             scale.shape + (1,) * (len(size) - 2)) * rng.standard_normal(size))
            elif "truce" in values.dims:
                continue  # rebuilt below from the (remapped) group effects
            else:
                variables[name] = values
        if "truce_effect" in post.data_vars and new_truces:
            groups = variables.get("group_effect")
            within = "truce_sd" in post.data_vars
            columns = []
            for truce in new_truces:
                if truce in old_truces and truce_groups[truce] in self.corpus.groups:
                    columns.append(post["truce_effect"].sel(truce=truce).values)
                    continue
                value = np.zeros((*shape, len(self.corpus.streams)))
                if groups is not None:
                    value = value + groups.sel(group=truce_groups[truce]).values
                if within:
                    value = value + post["truce_sd"].values[..., None] * rng.standard_normal(value.shape)
                columns.append(value)
            variables["truce_effect"] = xr.DataArray(
                np.stack(columns, axis=2), dims=("chain", "draw", "truce", "stream"),
                coords={"chain": post["chain"], "draw": post["draw"], "truce": new_truces,
                        "stream": list(self.corpus.streams)})
        tree = xr.DataTree.from_dict({"posterior": xr.Dataset(variables)})
        tree["corpus"] = corpus_to_tree(corpus)
        tree.attrs.update({**self.tree.attrs, "data_hash": corpus.data_hash,
                           "source_data_hash": self.corpus.data_hash,
                           "source_diagnostics": json.dumps(self.diagnostics.to_dict(), default=float)})
        return CorpusFit(tree=tree, spec=self.spec, corpus=corpus)

    # ---- files ---------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the corpus fit to a zarr (format 2) directory, atomically."""
        save_tree(self.tree, path)

    def __repr__(self) -> str:
        post = self.tree["posterior"]
        return (f"CorpusFit({self.spec.name!r}, {self.corpus!r}, {post.sizes['chain']} chains x "
                f"{post.sizes['draw']} draws, diagnostics {self.diagnostics.verdict})")


def _remap(values: xr.DataArray, dim: str, old: list, new: list, draw_new) -> xr.DataArray:
    """``values`` along ``dim`` re-indexed from labels ``old`` to ``new``; a label not in ``old``
    takes ``draw_new(shape)`` (shape: chain, draw and the remaining dims, in order)."""
    axis = values.dims.index(dim)
    rest = tuple(n for d, n in values.sizes.items() if d != dim)
    parts = [values.values.take(old.index(label), axis=axis) if label in old else draw_new(rest)
             for label in new]
    array = np.stack(parts, axis=axis)
    coords = {d: values.coords[d].values for d in values.dims if d != dim and d in values.coords}
    return xr.DataArray(array, dims=values.dims, coords={**coords, dim: new})


def hazard_parameter_names() -> tuple[str, ...]:
    return HAZARD_PARAMETERS


def corpus_to_tree(corpus: Corpus) -> xr.DataTree:
    """The ``corpus`` group of a saved corpus fit: its tables and attributes."""
    tables = {"truces": corpus.truces}
    if corpus.counts is not None:
        tables["counts"] = corpus.counts
    node = xr.DataTree.from_dict({name: frame_to_dataset(frame) for name, frame in tables.items()})
    node.attrs.update({"covariate_names": json.dumps(list(corpus.covariate_names)),
                       "cutoff": str(corpus.cutoff.date()), "streams": json.dumps(list(corpus.streams)),
                       "history_days": corpus.history_days,
                       "event_window_days": json.dumps(corpus.event_window_days),
                       "provenance": json.dumps(corpus.provenance, default=str, sort_keys=True)})
    return node


def tree_to_corpus(node: xr.DataTree) -> Corpus:
    attrs = node.attrs
    truces = dataset_to_frame(node["truces"].to_dataset())
    for column in ("collapsed", "has_events"):
        truces[column] = truces[column].astype(str) == "True"
    truces["excluded"] = truces["excluded"].astype(str).replace("nan", "")
    return Corpus(truces=truces, covariate_names=tuple(json.loads(attrs["covariate_names"])),
                  cutoff=pd.Timestamp(attrs["cutoff"]), streams=tuple(json.loads(attrs["streams"])),
                  counts=dataset_to_frame(node["counts"].to_dataset()) if "counts" in node.children else None,
                  history_days=int(attrs["history_days"]), event_window_days=json.loads(attrs["event_window_days"]),
                  provenance=json.loads(attrs["provenance"]))


def load_corpus_fit(path) -> CorpusFit:
    """Load a corpus fit saved with :meth:`CorpusFit.save` (its format version checked)."""
    tree = load_tree(path)
    if tree.attrs.get("kind") != KIND:
        raise FileFormatError(f"{path}: not an escalate corpus fit (kind {tree.attrs.get('kind')!r})")
    check_format_version(tree.attrs.get("format_version"), CORPUS_FORMAT_VERSION, path, "corpus fit", "refit")
    spec = ModelSpec.from_dict(json.loads(tree.attrs["spec"]), source=tree.attrs.get("spec_source", str(path)))
    return CorpusFit(tree=tree, spec=spec, corpus=tree_to_corpus(tree["corpus"]))
