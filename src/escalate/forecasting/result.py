"""The forecast result: collapse risk by horizon day per scenario, with honest uncertainty.

P(collapse by day h) is computed per posterior draw over that draw's simulated paths, then
summarised across draws: the mean is the posterior predictive probability, the quantiles are
the credible band of the risk itself. Held as an ``xarray.DataTree`` and stored one way: a zarr
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
    - ``spectral_radius[scenario, sample]``: escalation indicator under the scenario's final state;
    - ``exploded[scenario]``: paths stopped at the explosion cap (counted as collapsed);
    - with a collapse hazard (a corpus fit, MODEL.md 6): ``p_declared[scenario, sample,
      horizon_day]``, P(declared collapse by day h) averaged over the draw's paths (the hazard
      integrated along each path), and ``p_either``, P(declared collapse or a violence rule);
    - with the competing ends (:meth:`with_other_ends`): ``p_other_end[scenario, sample,
      horizon_day]``, P(the truce expires or is replaced by day h) had it not collapsed, and
      ``p_declared_competing``, P(declared collapse by day h before it ends otherwise).

    Attrs (JSON strings where structured): horizon, paths, seed, truce, cutoff, rules,
    scenarios, resolution.
    """

    tree: xr.DataTree

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def from_simulation(cls, results, *, streams, horizon, paths, seed, truce, cutoff, rules,
                        draw_indices, resolution, notes=None, checkpoints=None, declared=None) -> "Forecast":
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
            ds["p_declared"] = (dims, np.stack([d[0] for d in declared]))
            ds["p_either"] = (dims, np.stack([d[1] for d in declared]))
        ds.attrs.update({
            "horizon": int(horizon), "paths": int(paths), "seed": int(seed), "truce": truce,
            "cutoff": cutoff, "resolution": resolution,
            "rules": json.dumps([r.to_dict() for r in rules]),
            "scenarios": json.dumps([r[0].to_dict() for r in results]),
            "notes": json.dumps(notes or {}),
            "format_version": FORECAST_FORMAT_VERSION, "kind": "escalate.forecast",
        })
        return cls(xr.DataTree(ds))

    @classmethod
    def from_declared(cls, scenarios, declared, *, truce, cutoff, draw_indices) -> "Forecast":
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
        ds["p_declared_competing"] = (dims, before_other_ends(ds["p_declared"].values, p_other))
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
        """Per scenario, a warning when it leaves the covariate values seen in the data."""
        return json.loads(self.ds.attrs.get("notes", "{}"))

    def collapse_definition(self) -> str:
        """What "collapse" means for this forecast, in words."""
        streams = [str(s) for s in self.ds["stream"].values]
        return " or ".join(r.describe(streams) for r in self.rules)

    def to_frame(self, ci_prob: float = CI_PROB) -> pd.DataFrame:
        """One row per scenario and horizon day.

        Columns: ``scenario``, ``horizon_day``, ``p_collapse_mean`` (posterior predictive
        probability), ``p_collapse_q05``/``q50``/``q95`` (credible band of the risk over
        draws; other quantiles with ``ci_prob``), ``p_collapse_mcse`` (Monte Carlo standard
        error of the mean), and per stream ``expected_<stream>_mean``/``_q05``/``_q95``:
        expected cumulative events by that day.
        """
        lo, hi = _quantile_names(ci_prob)
        ds = self.ds
        p = ds["p_collapse"]
        n = p.sizes["sample"]
        frame = pd.DataFrame({
            "scenario": np.repeat(self.scenarios, self.horizon),
            "horizon_day": np.tile(ds["horizon_day"].values, len(self.scenarios)),
            "p_collapse_mean": p.mean("sample").values.ravel(),
            f"p_collapse_{lo}": p.quantile((1 - ci_prob) / 2, "sample").values.ravel(),
            "p_collapse_q50": p.quantile(0.5, "sample").values.ravel(),
            f"p_collapse_{hi}": p.quantile((1 + ci_prob) / 2, "sample").values.ravel(),
            "p_collapse_mcse": (p.std("sample", ddof=1) / np.sqrt(n)).values.ravel() if n > 1 else np.nan,
        })
        events = ds["expected_events"]
        for stream in ds["stream"].values:
            e = events.sel(stream=stream)
            frame[f"expected_{stream}_mean"] = e.mean("sample").values.ravel()
            frame[f"expected_{stream}_{lo}"] = e.quantile((1 - ci_prob) / 2, "sample").values.ravel()
            frame[f"expected_{stream}_{hi}"] = e.quantile((1 + ci_prob) / 2, "sample").values.ravel()
        frame.attrs["interval"] = f"{ci_prob:.0%} equal-tailed over posterior draws"
        return frame

    def contrasts(self, reference: str = "status quo", ci_prob: float = CI_PROB) -> pd.DataFrame:
        """Risk difference of each scenario against ``reference``, per horizon day.

        Differences are taken draw by draw (the scenarios share posterior draws and random
        numbers), then summarised: ``risk_difference_mean`` and its ``ci_prob`` equal-tailed
        interval, and ``p_lower`` = P(scenario's risk < reference's risk) over draws.
        """
        if reference not in self.scenarios:
            raise KeyError(f"no scenario {reference!r}; scenarios are {self.scenarios}")
        lo, hi = _quantile_names(ci_prob)
        p = self.ds["p_collapse"]
        base = p.sel(scenario=reference)
        rows = []
        for name in self.scenarios:
            if name == reference:
                continue
            diff = p.sel(scenario=name) - base
            for h, day in enumerate(self.ds["horizon_day"].values):
                d = diff.values[:, h]
                rows.append({"scenario": name, "reference": reference, "horizon_day": int(day),
                             "risk_difference_mean": float(d.mean()),
                             f"risk_difference_{lo}": float(np.quantile(d, (1 - ci_prob) / 2)),
                             f"risk_difference_{hi}": float(np.quantile(d, (1 + ci_prob) / 2)),
                             "p_lower": float((d < 0).mean())})
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
        """Per scenario: P(spectral radius >= 1) and the radius's median and interval."""
        lo, hi = _quantile_names(ci_prob)
        rho = self.ds["spectral_radius"]
        return pd.DataFrame({
            "scenario": self.scenarios,
            "p_supercritical": (rho >= 1).mean("sample").values,
            "spectral_radius_q50": rho.quantile(0.5, "sample").values,
            f"spectral_radius_{lo}": rho.quantile((1 - ci_prob) / 2, "sample").values,
            f"spectral_radius_{hi}": rho.quantile((1 + ci_prob) / 2, "sample").values,
            "exploded_paths": self.ds["exploded"].values,
        })

    @property
    def has_hazard(self) -> bool:
        """Whether the forecast holds declared-collapse probabilities (a corpus fit)."""
        return "p_declared" in self.ds

    def headline(self, days=(7, 30, 90), ci_prob: float = CI_PROB) -> pd.DataFrame:
        """P(collapse within each of ``days``) per scenario with its interval (days beyond the
        horizon are left out), and ``basis``: "data", or "prior-driven: ..." when the scenario
        asks for covariate values the data never show (its effect is then the prior's).

        With a collapse hazard the rows give the three probabilities (``kind`` = "declared",
        "violence", "either"), each with its band; otherwise ``kind`` is "violence"."""
        lo, hi = _quantile_names(ci_prob)
        wanted = [d for d in days if d <= self.horizon]
        kinds = [(kind, variable) for kind, variable in
                 (("declared", "p_declared"), ("violence", "p_collapse"), ("either", "p_either"),
                  ("declared before other ends", "p_declared_competing"))
                 if variable in self.ds and (variable != "p_collapse" or self.rules)]  # no rule: no violence risk
        notes = self.notes
        rows = []
        for name in self.scenarios:
            basis = f"prior-driven: {notes[name]}" if notes.get(name) else "data"
            for day in wanted:
                for kind, variable in kinds:
                    p = self.ds[variable].sel(scenario=name, horizon_day=day).values
                    n = p.size
                    rows.append({"scenario": name, "horizon_day": day, "kind": kind,
                                 "p_collapse_mean": float(p.mean()),
                                 f"p_collapse_{lo}": float(np.quantile(p, (1 - ci_prob) / 2)),
                                 f"p_collapse_{hi}": float(np.quantile(p, (1 + ci_prob) / 2)),
                                 "p_collapse_mcse": float(p.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
                                 "basis": basis})
        frame = pd.DataFrame(rows)
        frame.attrs["interval"] = f"{ci_prob:.0%} equal-tailed over posterior draws"
        return frame

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
