"""The forecast result: collapse risk by horizon day per scenario, with honest uncertainty.

P(collapse by day h) is computed per posterior draw over that draw's simulated paths, then
summarised across draws: the mean is the posterior predictive probability, the quantiles are
the credible band of the risk itself, with the paths' Monte Carlo noise taken out
(:mod:`escalate.forecasting.uncertainty`). Held as an ``xarray.DataTree`` and stored one way: a zarr
store of its own (``forecast.zarr`` in a run) with ``format_version`` in its attrs, written by
:meth:`Forecast.save` and read by :func:`load_forecast`, which checks the version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from escalate.errors import EscalateInputError, FileFormatError
from escalate.forecasting.collapse import before_other_ends
from escalate.forecasting.uncertainty import mean_noise, posterior_band, share_noise
from escalate.model.scenarios import CollapseRule, Scenario
from escalate.storage import check_format_version, load_tree, save_tree

#: Version of the saved-forecast layout (variables, dims, attrs); bump on incompatible change.
FORECAST_FORMAT_VERSION = 1

#: Default interval for summaries: 90% equal-tailed (q05..q95), stated in every output.
CI_PROB = 0.90


@dataclass(eq=False)
class Forecast:
    """Simulated futures summarised per scenario, posterior draw and horizon day.

    ``tree`` holds variables (``sample`` = posterior draw used):

    - ``p_collapse[scenario, sample, horizon_day]``: share of the draw's paths collapsed by day h;
    - ``collapse_day[scenario, sample, path]``: first collapse day, ``horizon + 1`` for none;
    - ``expected_events[scenario, sample, horizon_day, stream]``: mean cumulative events by day h;
    - ``path_events[scenario, sample, path, checkpoint, stream]``: events by each checkpoint day
      (default 7, 30, 90 and the horizon) per path: the predictive samples for count scores;
    - ``spectral_radius[scenario, sample]``: escalation indicator under the scenario's final state,
      and ``p_supercritical_prior[scenario]``, P(spectral radius >= 1) there under the prior;
    - ``exploded[scenario]``: paths stopped at the explosion cap (counted as collapsed);
    - with a collapse hazard (a corpus fit, MODEL.md 6): ``p_declared[scenario, sample,
      horizon_day]``, P(declared collapse by day h) averaged over the draw's paths (the hazard
      integrated along each path), and ``p_either``, P(declared collapse or a violence rule),
      each with ``<name>_noise``, the Monte Carlo variance of the draw's average over paths;
    - with the competing ends (:meth:`with_other_ends`): ``p_other_end[scenario, sample,
      horizon_day]``, P(the truce expires or is replaced by day h) had it not collapsed, and
      ``p_declared_competing``, P(declared collapse by day h before it ends otherwise).

    Attrs (JSON strings where structured): horizon, paths, seed, truce, cutoff, rules,
    scenarios, resolution, draws_per_chain (of the posterior the samples were taken from, for
    the effective sample size; absent in forecasts saved before it, read as one chain).
    """

    tree: xr.DataTree

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def from_simulation(cls, results, *, streams, horizon, paths, seed, truce, cutoff, rules,
                        draw_indices, resolution, notes=None, checkpoints=None, declared=None,
                        draws_per_chain=None, prior_supercritical=None) -> "Forecast":
        names = [r[0].name for r in results]
        days = np.arange(1, horizon + 1)
        collapse = np.stack([r[2] for r in results])  # (S, D, paths)
        p_collapse = (collapse[:, :, None, :] <= days[None, None, :, None]).mean(axis=-1)
        ds = xr.Dataset(
            {
                "p_collapse": (("scenario", "sample", "horizon_day"), p_collapse),
                "collapse_day": (("scenario", "sample", "path"), collapse.astype(np.int32)),
                "expected_events": (("scenario", "sample", "horizon_day", "stream"),
                                    np.cumsum(np.stack([r[3] for r in results]), axis=2)),
                "path_events": (("scenario", "sample", "path", "checkpoint", "stream"),
                                np.stack([r[4] for r in results])),
                "spectral_radius": (("scenario", "sample"), np.stack([r[1] for r in results])),
                "exploded": (("scenario",), np.array([int(r[5].sum()) for r in results])),
            },
            coords={"scenario": names, "sample": np.asarray(draw_indices), "horizon_day": days,
                    "stream": list(streams), "path": np.arange(paths),
                    "checkpoint": np.asarray(checkpoints if checkpoints is not None else [horizon])},
        )
        if declared is not None:
            dims = ("scenario", "sample", "horizon_day")
            for name, mean, square in (("p_declared", 0, 2), ("p_either", 1, 3)):
                values = np.stack([d[mean] for d in declared])
                ds[name] = (dims, values)
                ds[f"{name}_noise"] = (dims, mean_noise(values, np.stack([d[square] for d in declared]), paths))
        ds.attrs.update({
            "horizon": int(horizon), "paths": int(paths), "seed": int(seed), "truce": truce,
            "cutoff": cutoff, "resolution": resolution,
            "rules": json.dumps([r.to_dict() for r in rules]),
            "scenarios": json.dumps([r[0].to_dict() for r in results]),
            "notes": json.dumps(notes or {}),
            "format_version": FORECAST_FORMAT_VERSION, "kind": "escalate.forecast",
        })
        if draws_per_chain is not None:
            ds.attrs["draws_per_chain"] = int(draws_per_chain)
        if prior_supercritical is not None:
            ds["p_supercritical_prior"] = (("scenario",), np.asarray(prior_supercritical, dtype=float))
        return cls(xr.DataTree(ds))

    @classmethod
    def from_declared(cls, scenarios, declared, *, truce, cutoff, draw_indices, draws_per_chain=None) -> "Forecast":
        """A forecast of declared collapse alone (a corpus truce without event data):
        ``declared[scenario, sample, horizon_day]`` in closed form; no violence is simulated, so
        ``p_either`` equals ``p_declared`` and there is no ``p_collapse``."""
        horizon = declared.shape[-1]
        dims = ("scenario", "sample", "horizon_day")
        ds = xr.Dataset({"p_declared": (dims, declared), "p_either": (dims, declared.copy())},
                        coords={"scenario": [s.name for s in scenarios], "sample": np.asarray(draw_indices),
                                "horizon_day": np.arange(1, horizon + 1), "stream": []})
        ds.attrs.update({"horizon": int(horizon), "paths": 0, "seed": 0, "truce": truce, "cutoff": cutoff,
                         "resolution": "day", "rules": "[]", "scenarios": json.dumps([s.to_dict() for s in scenarios]),
                         "notes": "{}", "format_version": FORECAST_FORMAT_VERSION, "kind": "escalate.forecast"})
        if draws_per_chain is not None:
            ds.attrs["draws_per_chain"] = int(draws_per_chain)
        return cls(xr.DataTree(ds))

    def with_other_ends(self, other: "Forecast") -> "Forecast":
        """This forecast with the competing ends of ``other`` (a forecast of the same truce from
        a fit of :func:`escalate.inference.corpus.fit_other_ends`): adds ``p_other_end`` and
        ``p_declared_competing`` (:func:`escalate.forecasting.collapse.before_other_ends`; the
        two posteriors are independent, so draws are paired by position, the other's reused
        cyclically when it has fewer)."""
        if not self.has_hazard:
            raise EscalateInputError("competing ends apply to a forecast with a collapse hazard (a corpus fit)")
        if list(other.scenarios) != list(self.scenarios) or other.horizon < self.horizon:
            raise EscalateInputError(f"the other-ends forecast has scenarios {other.scenarios} and horizon "
                                     f"{other.horizon}; it needs {self.scenarios} and at least {self.horizon}")
        n, m = self.ds.sizes["sample"], other.ds.sizes["sample"]
        p_other = other.ds["p_declared"].values[:, np.arange(n) % m, :self.horizon]
        ds = self.ds.copy()
        dims = ("scenario", "sample", "horizon_day")
        ds["p_other_end"] = (dims, p_other)
        competing = before_other_ends(ds["p_declared"].values, p_other)
        ds["p_declared_competing"] = (dims, competing)
        if "p_declared_noise" in ds:  # scaled with the probability (the other end's is closed form)
            declared = ds["p_declared"].values
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(declared > 0, competing / declared, 0.0)
            ds["p_declared_competing_noise"] = (dims, ds["p_declared_noise"].values * ratio ** 2)
        return Forecast(xr.DataTree(ds))

    @classmethod
    def from_tree(cls, tree: xr.DataTree, source: str = "<tree>") -> "Forecast":
        """Rebuild from a stored forecast tree, checking its ``format_version``."""
        version = tree.attrs.get("format_version")
        if tree.attrs.get("kind") != "escalate.forecast" or version is None:
            raise FileFormatError(f"{source}: not an escalate forecast (no kind/format_version attributes)")
        check_format_version(version, FORECAST_FORMAT_VERSION, source, "forecast", "forecast again")
        return cls(tree.copy())

    def save(self, path) -> None:
        """Write the forecast to a zarr (format 2) store, atomically (``forecast.zarr`` in a run)."""
        save_tree(self.tree, path)

    # ---- views ------------------------------------------------------------------------------
    @property
    def ds(self) -> xr.Dataset:
        return self.tree.to_dataset()

    @property
    def scenarios(self) -> list[str]:
        return [str(s) for s in self.ds["scenario"].values]

    @property
    def horizon(self) -> int:
        return int(self.ds.attrs["horizon"])

    @property
    def rules(self):
        return [CollapseRule.from_dict(r) for r in json.loads(self.ds.attrs["rules"])]

    def scenario_objects(self):
        return [Scenario.from_dict(s) for s in json.loads(self.ds.attrs["scenarios"])]

    @property
    def notes(self) -> dict[str, str]:
        """Per scenario, a warning when it leaves the covariate values seen in the data; under
        ``"effects held at zero"`` the effects the fit held at zero (``fix_unidentified``)."""
        return json.loads(self.ds.attrs.get("notes", "{}"))

    def collapse_definition(self) -> str:
        """What "collapse" means for this forecast, in words."""
        streams = [str(s) for s in self.ds["stream"].values]
        return " or ".join(r.describe(streams) for r in self.rules)

    def to_frame(self, ci_prob: float = CI_PROB) -> pd.DataFrame:
        """One row per scenario and horizon day.

        Columns: ``scenario``, ``horizon_day``, ``p_collapse_mean`` (posterior predictive
        probability), ``p_collapse_q05``/``q50``/``q95`` (credible band of the risk over
        draws, the paths' Monte Carlo noise taken out; other quantiles with ``ci_prob``),
        ``p_collapse_mcse`` (Monte Carlo standard error of the mean, from the effective sample
        size), ``p_collapse_noise_share`` (the share of the raw spread over draws that was
        path noise; :mod:`escalate.forecasting.uncertainty`), and per stream
        ``expected_<stream>_mean``/``_q05``/``_q95``: expected cumulative events by that day
        (quantiles over draws of each draw's path average, noise included).
        """
        lo, hi = _quantile_names(ci_prob)
        ds = self.ds
        bands = [self.band("p_collapse", name, ci_prob) for name in self.scenarios]
        column = lambda key: np.concatenate([b[key] for b in bands])  # noqa: E731
        frame = pd.DataFrame({
            "scenario": np.repeat(self.scenarios, self.horizon),
            "horizon_day": np.tile(ds["horizon_day"].values, len(self.scenarios)),
            "p_collapse_mean": column("mean"), f"p_collapse_{lo}": column("lo"), "p_collapse_q50": column("q50"),
            f"p_collapse_{hi}": column("hi"), "p_collapse_mcse": column("mcse"),
            "p_collapse_noise_share": column("noise_share"),
        })
        events = ds["expected_events"]
        for stream in ds["stream"].values:
            e = events.sel(stream=stream)
            frame[f"expected_{stream}_mean"] = e.mean("sample").values.ravel()
            frame[f"expected_{stream}_{lo}"] = e.quantile((1 - ci_prob) / 2, "sample").values.ravel()
            frame[f"expected_{stream}_{hi}"] = e.quantile((1 + ci_prob) / 2, "sample").values.ravel()
        frame.attrs["interval"] = f"{ci_prob:.0%} equal-tailed over posterior draws"
        return frame

    @property
    def chain(self) -> np.ndarray:
        """The posterior chain each sample was drawn from (for effective sample sizes)."""
        per = self.ds.attrs.get("draws_per_chain")
        samples = self.ds["sample"].values
        return samples // int(per) if per else np.zeros(len(samples), dtype=np.int64)

    def noise(self, variable: str) -> np.ndarray:
        """Monte Carlo variance of ``variable[scenario, sample, horizon_day]`` per draw: the
        share of paths' binomial variance for ``p_collapse``, the stored ``<variable>_noise``
        for path averages, zero for closed forms."""
        ds = self.ds
        if variable == "p_collapse":
            return share_noise(ds["p_collapse"].values, int(ds.attrs["paths"]))
        name = f"{variable}_noise"
        return ds[name].values if name in ds else np.zeros(ds[variable].shape)

    def band(self, variable: str, scenario: str, ci_prob: float = CI_PROB) -> dict[str, np.ndarray]:
        """Per horizon day: mean, noise-free band (``lo``, ``q50``, ``hi``), ``mcse`` and
        ``noise_share`` of ``variable`` under ``scenario``
        (:func:`escalate.forecasting.uncertainty.posterior_band`)."""
        i = self.scenarios.index(scenario)
        return posterior_band(self.ds[variable].values[i], self.noise(variable)[i], ci_prob, self.chain)

    def contrasts(self, reference: str = "status quo", ci_prob: float = CI_PROB) -> pd.DataFrame:
        """Risk difference of each scenario against ``reference``, per horizon day.

        Differences are taken draw by draw (the scenarios share posterior draws and random
        numbers), then summarised: ``risk_difference_mean`` and its ``ci_prob`` equal-tailed
        interval (the paths' Monte Carlo noise of the difference taken out, as in
        :meth:`to_frame`), its ``risk_difference_mcse``, and ``p_lower`` = P(scenario's risk <
        reference's risk) over draws (of the per-draw path averages, noise included).
        """
        if reference not in self.scenarios:
            raise KeyError(f"no scenario {reference!r}; scenarios are {self.scenarios}")
        lo, hi = _quantile_names(ci_prob)
        p = self.ds["p_collapse"]
        days = self.ds["horizon_day"].values
        collapse = self.ds["collapse_day"]
        paths = int(self.ds.attrs["paths"])
        base = p.sel(scenario=reference)
        rows = []
        for name in self.scenarios:
            if name == reference:
                continue
            diff = (p.sel(scenario=name) - base).values
            # per path, the difference of the two collapse indicators by day h (-1, 0 or 1)
            step = ((collapse.sel(scenario=name).values[:, :, None] <= days)
                    .astype(np.int8) - (collapse.sel(scenario=reference).values[:, :, None] <= days))
            noise = (mean_noise(diff, np.abs(step).mean(axis=1), paths) if paths >= 2
                     else np.full(diff.shape, np.nan))
            band = posterior_band(diff, noise, ci_prob, self.chain)
            for h, day in enumerate(days):
                rows.append({"scenario": name, "reference": reference, "horizon_day": int(day),
                             "risk_difference_mean": float(band["mean"][h]),
                             f"risk_difference_{lo}": float(band["lo"][h]),
                             f"risk_difference_{hi}": float(band["hi"][h]),
                             "risk_difference_mcse": float(band["mcse"][h]),
                             "p_lower": float((diff[:, h] < 0).mean())})
        frame = pd.DataFrame(rows)
        frame.attrs["interval"] = f"{ci_prob:.0%} equal-tailed over posterior draws"
        return frame

    def days_to_collapse(self) -> pd.DataFrame:
        """Distribution of the first collapse day: P(first collapse on day h) per scenario,
        pooled over draws and paths, with ``p_none`` (no collapse within the horizon)."""
        days = self.ds["collapse_day"]
        rows = []
        for name in self.scenarios:
            values = days.sel(scenario=name).values.ravel()
            pmf = np.bincount(values, minlength=self.horizon + 2)[1:] / values.size
            for h in range(self.horizon):
                rows.append({"scenario": name, "horizon_day": h + 1, "p_first_collapse": pmf[h]})
            rows.append({"scenario": name, "horizon_day": None, "p_first_collapse": pmf[self.horizon],
                         "note": "no collapse within the horizon"})
        return pd.DataFrame(rows)

    def escalation(self, ci_prob: float = CI_PROB) -> pd.DataFrame:
        """Per scenario: P(spectral radius >= 1) under the posterior and under the prior
        (``p_supercritical_prior``, NaN in forecasts saved before it), the radius's median and
        interval, and the explosive paths."""
        lo, hi = _quantile_names(ci_prob)
        rho = self.ds["spectral_radius"]
        prior = (self.ds["p_supercritical_prior"].values if "p_supercritical_prior" in self.ds
                 else np.full(len(self.scenarios), np.nan))
        return pd.DataFrame({
            "scenario": self.scenarios,
            "p_supercritical": (rho >= 1).mean("sample").values,
            "p_supercritical_prior": prior,
            "spectral_radius_q50": rho.quantile(0.5, "sample").values,
            f"spectral_radius_{lo}": rho.quantile((1 - ci_prob) / 2, "sample").values,
            f"spectral_radius_{hi}": rho.quantile((1 + ci_prob) / 2, "sample").values,
            "exploded_paths": self.ds["exploded"].values,
        })

    @property
    def has_hazard(self) -> bool:
        """Whether the forecast holds declared-collapse probabilities (a corpus fit)."""
        return "p_declared" in self.ds

    def headline(self, days=None, ci_prob: float = CI_PROB) -> pd.DataFrame:
        """P(collapse within each of ``days``) per scenario with its interval, and ``basis``:
        "data", or "prior-driven: ..." when the scenario asks for covariate values the data
        never show (its effect is then the prior's). ``days`` defaults to those of 7, 30 and 90
        within the horizon (the horizon itself if it is shorter than 7); a day beyond the
        horizon is refused, naming it.

        With a collapse hazard the rows give the three probabilities (``kind`` = "declared",
        "violence", "either"), each with its band; otherwise ``kind`` is "violence".
        ``risk_share_supercritical`` is the share of the probability that comes from draws whose
        spectral radius (under the scenario's final state) is at least 1: near 1, the forecast
        rests on explosive draws (:meth:`escalation` says whether the data moved their share
        from the prior's; :meth:`escalation_note` says it in words)."""
        lo, hi = _quantile_names(ci_prob)
        if days is None:
            wanted = [d for d in (7, 30, 90) if d <= self.horizon] or [self.horizon]
        else:
            wanted = [int(d) for d in np.atleast_1d(days)]
            beyond = [d for d in wanted if not 1 <= d <= self.horizon]
            if beyond:
                raise EscalateInputError(f"headline days {beyond} lie outside this forecast's horizon of "
                                         f"{self.horizon} days; forecast further or ask for days 1..{self.horizon}")
        kinds = [(kind, variable) for kind, variable in
                 (("declared", "p_declared"), ("violence", "p_collapse"), ("either", "p_either"),
                  ("declared before other ends", "p_declared_competing"))
                 if variable in self.ds and (variable != "p_collapse" or self.rules)]  # no rule: no violence risk
        notes = self.notes
        rows = []
        for name in self.scenarios:
            basis = f"prior-driven: {notes[name]}" if notes.get(name) else "data"
            bands = {variable: self.band(variable, name, ci_prob) for _, variable in kinds}
            explosive = self.supercritical_share(name)
            for day in wanted:
                for kind, variable in kinds:
                    b = {key: float(value[day - 1]) for key, value in bands[variable].items()}
                    rows.append({"scenario": name, "horizon_day": day, "kind": kind,
                                 "p_collapse_mean": b["mean"], f"p_collapse_{lo}": b["lo"],
                                 "p_collapse_q50": b["q50"], f"p_collapse_{hi}": b["hi"], "p_collapse_mcse": b["mcse"],
                                 "p_collapse_noise_share": b["noise_share"],
                                 "risk_share_supercritical": float(explosive[variable][day - 1]), "basis": basis})
        frame = pd.DataFrame(rows)
        frame.attrs["interval"] = f"{ci_prob:.0%} equal-tailed over posterior draws"
        return frame

    def supercritical_share(self, scenario: str) -> dict[str, np.ndarray]:
        """Per probability variable, by horizon day: the share of the scenario's mean risk that
        comes from draws with spectral radius >= 1 (NaN without simulated violence, or where the
        risk is zero)."""
        ds = self.ds.sel(scenario=scenario)
        names = [v for v in ("p_collapse", "p_declared", "p_either", "p_declared_competing") if v in ds]
        if "spectral_radius" not in ds:
            return {v: np.full(self.horizon, np.nan) for v in names}
        explosive = (ds["spectral_radius"].values >= 1)[:, None]
        out = {}
        for v in names:
            values = ds[v].values
            total = values.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[v] = np.where(total > 0, (values * explosive).sum(axis=0) / total, np.nan)
        return out

    def escalation_note(self, day: int | None = None, barely: float = 0.1) -> dict[str, str]:
        """Per scenario whose risk rests on explosive draws, in words: the share of its risk by
        ``day`` (default the horizon) from draws with spectral radius >= 1 and P(rho >= 1) under
        posterior and prior, saying when the data barely update it (the two within ``barely``).
        Scenarios where under 10% of the risk comes from such draws get no note."""
        day = self.horizon if day is None else int(day)
        table = self.escalation().set_index("scenario")
        kind = "p_collapse" if "p_collapse" in self.ds and self.rules else "p_either"
        notes = {}
        for name in self.scenarios:
            share = self.supercritical_share(name).get(kind)
            if share is None or not np.isfinite(share[day - 1]) or share[day - 1] < 0.1:
                continue
            post, prior = table.loc[name, "p_supercritical"], table.loc[name, "p_supercritical_prior"]
            words = (f"{share[day - 1]:.0%} of the collapse risk by day {day} comes from posterior draws with "
                     f"spectral radius >= 1 (explosive); P(rho >= 1) is {post:.0%} under the posterior")
            if np.isfinite(prior):
                words += f" and {prior:.0%} under the prior"
                if abs(post - prior) < barely:
                    words += (": the data barely update it, so this part of the risk rests on the prior's "
                              "explosive tail")
            notes[name] = words
        return notes

    def __repr__(self) -> str:
        ds = self.ds
        return (f"Forecast(truce {ds.attrs['truce']!r} from {ds.attrs['cutoff']}, {self.horizon} days, "
                f"scenarios {self.scenarios}, {ds.sizes['sample']} draws x {ds.attrs['paths']} paths)")


def _quantile_names(ci_prob: float) -> tuple[str, str]:
    if not 0 < ci_prob < 1:
        raise ValueError(f"ci_prob must be in (0, 1), got {ci_prob}")
    lo = round(100 * (1 - ci_prob) / 2, 1)
    hi = round(100 * (1 + ci_prob) / 2, 1)
    fmt = lambda q: f"q{q:02.0f}" if float(q).is_integer() else f"q{q:g}".replace(".", "_")  # noqa: E731
    return fmt(lo), fmt(hi)


def load_forecast(path) -> Forecast:
    """Load a forecast saved with :meth:`Forecast.save`; its format version is checked."""
    return Forecast.from_tree(load_tree(path), source=str(path))
