"""Rolling-origin backtests: fit on the data before each origin, forecast, score what followed.

Forecasters scored on the same origins and outcomes:

- ``escalate``: the Bayesian Hawkes model of the spec (posterior predictive);
- ``no excitation``: the same covariates in the baseline and no excitation (``excitation =
  false``), with the spec's observation model;
- ``climatology``: each stream's historical rate, constant (a Poisson process);
- ``point``: the Hawkes model at its posterior mean, which is how maximum-likelihood libraries
  forecast (no parameter uncertainty).

Targets per origin and horizon h: collapse by h under each rule set (the spec's count rules, or
``collapse=``: a rule, a list, or several named sets scored from the same fits), any event of
each stream by h (Brier and log scores), and each stream's event count by h (CRPS, log score,
50% and 90% interval coverage). Only rules an outcome can show are forecast and scored (count
rules; a structural rule is left out, and said). A collapse after the last observed day is an
outcome when the truce table says so (``end_type = "collapsed"``); other horizons past the data
are not scored and are counted in ``BacktestResult.unscored``. Origins are independent and run
as Dask tasks (:func:`escalate.parallel.run_tasks`); every origin's fits keep their
diagnostics (``BacktestResult.fits``) and a failed fit is flagged in every table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from escalate.checking import scores
from escalate.checking.posterior import observed_daily_counts
from escalate.data.daily import report_rows
from escalate.data.truce_data import TruceData
from escalate.errors import EscalateInputError
from escalate.forecasting.kernels import collapse_day
from escalate.forecasting.run import resolve_rules
from escalate.inference.fit import fit, fit_from_draws
from escalate.inference.sampling import sampler_settings
from escalate.model.parameters import kernel_order
from escalate.model.scenarios import CollapseRule, compile_count_rules
from escalate.parallel import print_progress, run_tasks

FORECASTERS = ("escalate", "no excitation", "climatology", "point")
DAY = pd.Timedelta(days=1)


def truncate(data: TruceData, origin) -> tuple[TruceData, str]:
    """The data as known at ``origin`` (on the user's clock) and the truce it falls in.

    Truces starting at or after the origin are dropped; the one containing it ends at the
    origin; every later event, count and covariate change is removed.
    """
    starts, ends = data.truces["start"], data.truces["end"]
    origin = as_moment(data, origin)
    inside = (starts < origin) & (ends > origin)
    if not inside.any():
        raise EscalateInputError(f"origin {origin} lies in no truce window")
    truce = str(data.truces.loc[inside.idxmax(), "truce_id"])
    truces = data.truces[starts < origin][["truce_id", "start", "end"]].copy()
    truces["end"] = truces["end"].where(truces["end"] <= origin, origin)
    keep = set(truces["truce_id"])
    cut = {t: _days(data, t, origin) for t in keep}
    covariates = data.covariate_rows()
    covariates = covariates[covariates["truce_id"].isin(keep)]
    covariates = covariates[[row.start < truces.set_index("truce_id").loc[row.truce_id, "end"]
                             for row in covariates.itertuples()]]
    if data.resolution == "day":
        # as the user gave them: a multi-day report is one row; one still open at the origin
        # leaves its days missing (its total includes days after the origin)
        counts = report_rows(data.counts[data.counts["truce_id"].isin(keep)], cut)
        dates = data.to_user_clock(counts["truce_id"], counts["day"]).to_numpy()
        long = pd.DataFrame({"truce_id": counts["truce_id"], "date": dates, "stream": counts["stream"],
                             "count": counts["count"], "days": counts["days"]})
        out = TruceData.from_daily_counts(long, truces, covariates, streams=data.streams, provenance=data.provenance)
    else:
        events = data.events[data.events["truce_id"].isin(keep)]
        events = events[events["time"] < events["truce_id"].map(cut)]
        times = data.to_user_clock(events["truce_id"], events["time"]).to_numpy()
        out = TruceData.from_frames(events.assign(time=times), truces, covariates, streams=data.streams,
                                    provenance=data.provenance)
    return out, truce


def as_moment(data: TruceData, origin):
    """An origin on the data's clock: a Timestamp, or float days."""
    try:
        return pd.Timestamp(origin) if data.clock == "datetime" else float(origin)
    except (TypeError, ValueError):
        raise EscalateInputError(f"origin {origin!r} is not a {'date' if data.clock == 'datetime' else 'number of days'}") from None


def origin_moments(data: TruceData, origins, through: bool = False) -> list:
    """Origins as moments on the data's clock; with ``through``, each origin is the last day of
    data known (daily users' "data through day D"), so the moment is the start of the next day."""
    moments = [as_moment(data, origin) for origin in origins]
    if through:
        moments = [m + (DAY if data.clock == "datetime" else 1.0) for m in moments]
    return moments


def _days(data: TruceData, truce: str, moment) -> float:
    start = data.truces.set_index("truce_id").loc[truce, "start"]
    return (moment - start) / pd.Timedelta(days=1) if data.clock == "datetime" else float(moment - start)


def observed_after(data: TruceData, truce: str, origin, horizon: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Daily counts (horizon, K) after ``origin`` in the full data, the last days before it
    (oldest first, for windows reaching back) and how many days after the origin were observed
    (up to the first missing day)."""
    j = data.truce_ids.index(truce)
    offset = _days(data, truce, origin)
    observed_days = int(np.floor(data.durations[j] - offset))

    daily = observed_daily_counts(data, truce).to_numpy(dtype=float)
    first = int(round(offset)) if data.resolution == "day" else None
    if data.resolution == "day":
        after = daily[first:first + horizon]
        before = daily[max(first - 60, 0):first]
    else:
        ev = data.events[data.events["truce_id"] == truce]
        after = np.zeros((horizon, len(data.streams)))
        before = np.zeros((60, len(data.streams)))
        for t, stream in zip(ev["time"], ev["stream"]):
            k = data.streams.index(stream)
            day = int(np.floor(t - offset))  # 0 = the origin's day, -1 the day before, ...
            if 0 <= day < horizon:
                after[day, k] += 1
            elif -60 <= day < 0:
                before[60 + day, k] += 1
    # a missing day after the origin ends what the data can score (later horizons are
    # unscored); one in the look-back counts no events
    gaps = np.flatnonzero(np.isnan(after).any(axis=1))
    if len(gaps):
        observed_days = min(observed_days, int(gaps[0]))
    padded = np.zeros((horizon, len(data.streams)))
    padded[: len(after)] = np.nan_to_num(after, nan=0.0)
    return padded, np.nan_to_num(before, nan=0.0), min(observed_days, horizon)


def _rival_specs(spec):
    no_excitation = replace(spec, excitation=False, name=f"{spec.name} (no excitation)")
    return no_excitation, replace(spec, observation="poisson")


def _forecasters(train: TruceData, spec, settings: dict, seed: int):
    """Fitted forecasters at one origin (as Fit objects)."""
    kw = {"draws": settings["draws"], "tune": settings["tune"], "chains": settings["chains"], "cores": 1}
    model = fit(train, spec, seed=seed, **kw)
    no_exc_spec, poisson_spec = _rival_specs(spec)
    rival = fit(train, no_exc_spec, seed=seed, **kw)
    post = model.posterior_draws()
    point = fit_from_draws(train, spec, {k: post[k].mean(axis=0)[None] for k in kernel_order("negative_binomial")
                                         if k in post})
    rates = train.observed_rates()
    K = len(train.streams)
    climatology = fit_from_draws(train, replace(poisson_spec, truce_effects="none"),
                                 {"mu_log": np.log(rates)[None], "branching": np.zeros((1, K, K)), "decay": np.ones(1)})
    return {"escalate": model, "no excitation": rival, "climatology": climatology, "point": point}


def rule_sets(spec, collapse) -> dict[str, list[CollapseRule]]:
    """The rule sets a backtest forecasts and scores: ``{"collapse": rules}`` for one set (the
    spec's, or ``collapse=`` a rule or list), or ``{"collapse: NAME": rules}`` for a dict of named
    sets. Structural rules are left out (no outcome can show them); a set of nothing else is
    refused."""
    given = collapse if isinstance(collapse, dict) else {"": collapse}
    out = {}
    for name, rules in given.items():
        chosen = [r for r in resolve_rules(spec, rules) if r.kind == "count"]
        if not chosen:
            raise EscalateInputError(f"collapse rule set {name or 'of the spec'!r} has no count rule: a "
                                     f"backtest scores what the data can show, and a structural rule "
                                     f"(spectral radius >= 1) never appears in outcomes")
        out[f"collapse: {name}" if name else "collapse"] = chosen
    return out


def collapse_outcome(day: int, h: int, n_observed: int, collapsed_at_end: bool) -> float:
    """1 if the rules fired on observed day ``day`` <= h (1-based; > n_observed if never), 0 if
    they did not and the h days were observed, else 1 when the truce is known to have
    collapsed at the end of its data within the h days, NaN when the data cannot tell."""
    if day <= min(h, n_observed):
        return 1.0
    if h <= n_observed:
        return 0.0
    return 1.0 if collapsed_at_end else np.nan


def _score_origin(data: TruceData, task) -> dict:
    """Fit, forecast and score one origin (a task of :func:`escalate.parallel.run_tasks`)."""
    spec, origin, horizons, settings, sets, seed = task
    train, truce = truncate(data, origin)
    H = max(horizons)
    observed, before, n_observed = observed_after(data, truce, origin, H)
    row = data.truces.set_index("truce_id").loc[truce]
    collapsed_at_end = str(row.get("end_type", "")).strip() == "collapsed"
    days = {}
    for target, rules in sets.items():
        thresholds, windows, masks = compile_count_rules(rules, data.streams)
        days[target] = collapse_day(observed, before, thresholds, windows, masks, H + 1)
    rows, unscored = [], []
    fitted = _forecasters(train, spec, settings, seed)
    fits = [{"origin": str(origin), "model": name, **f.diagnostics.to_dict()}
            for name, f in fitted.items() if name in ("escalate", "no excitation")]
    verdicts = {name: (f.diagnostics.verdict if name in ("escalate", "no excitation")
                       else f"from the escalate fit: {fitted['escalate'].diagnostics.verdict}"
                       if name == "point" else "no fit (observed rates)") for name, f in fitted.items()}
    for name, model in fitted.items():
        single = name in ("point", "climatology")  # one parameter set: as many paths as the others in all
        n_paths_each = settings["paths"] * (settings["forecast_draws"] if single else 1)
        p_by_set = {}
        for target, rules in sets.items():
            fc = model.forecast(H, scenarios=[], collapse=rules, draws=None if single else settings["forecast_draws"],
                                paths=n_paths_each, seed=seed, truce=truce, checkpoints=horizons)
            p_by_set[target] = fc.ds["p_collapse"].sel(scenario="status quo")
        events = fc.ds["path_events"].sel(scenario="status quo")  # (sample, path, checkpoint, stream)
        n_paths = events.sizes["sample"] * events.sizes["path"]
        for h in horizons:
            base = {"origin": str(origin), "truce": truce, "horizon": h, "forecaster": name,
                    "train_hash": train.data_hash, "diagnostics": verdicts[name]}
            for target, p_collapse in p_by_set.items():
                y = collapse_outcome(int(days[target]), h, n_observed, collapsed_at_end)
                if np.isnan(y):
                    unscored.append({"origin": str(origin), "target": target, "horizon": h, "forecaster": name,
                                     "reason": f"the data end {n_observed} days after the origin and the truce "
                                               f"table does not say it collapsed"})
                    continue
                p = float(p_collapse.sel(horizon_day=h).mean())
                pc = scores.clip_probability(p, n_paths)
                rows.append({**base, "target": target, "observed": y, "forecast": p,
                             "brier": float(scores.brier([y], [p])[0]),
                             "log": float(scores.binary_log_score([y], [pc])[0])})
            if h > n_observed:
                unscored.append({"origin": str(origin), "target": "event counts", "horizon": h, "forecaster": name,
                                 "reason": f"the data end {n_observed} days after the origin"})
                continue
            for k, stream in enumerate(data.streams):
                samples = events.sel(checkpoint=h, stream=stream).values.ravel()
                count = float(observed[:h, k].sum())
                p_any = float((samples > 0).mean())
                rows.append({**base, "target": f"any {stream}", "observed": float(count > 0), "forecast": p_any,
                             "brier": float(scores.brier([count > 0], [p_any])[0]),
                             "log": float(scores.binary_log_score([count > 0], [scores.clip_probability(p_any, n_paths)])[0])})
                rows.append({**base, "target": f"count {stream}", "observed": count, "forecast": float(samples.mean()),
                             "crps": float(scores.crps(count, samples)), "log": float(scores.count_log_score(count, samples)[0]),
                             "covered50": bool(scores.covered(count, samples, 0.5)),
                             "covered90": bool(scores.covered(count, samples, 0.9))})
    return {"rows": rows, "fits": fits, "unscored": unscored}


@dataclass
class BacktestResult:
    """Scores per origin, horizon, target and forecaster, the fits' diagnostics, and what could
    not be scored.

    Attributes
    ----------
    scores : DataFrame
        One row per origin, horizon, target and forecaster (``diagnostics``: the verdict of the
        fit the forecast came from).
    fits : DataFrame
        One row per origin and fitted model: r_hat, ESS, divergences and the verdict.
    unscored : DataFrame
        Horizons and targets the data cannot score, with the reason.
    settings : dict
        Sampler settings, and ``sampler_note`` when they are fewer than the spec asks for.
    """

    scores: pd.DataFrame
    fits: pd.DataFrame = field(default_factory=pd.DataFrame)
    unscored: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Mean scores (and coverage rates) per target, horizon and forecaster, with the number
        of origins scored and how many of them came from fits whose diagnostics failed."""
        columns = [c for c in ("brier", "log", "crps", "covered50", "covered90") if c in self.scores]
        frame = self.scores.copy()
        for c in ("covered50", "covered90"):
            if c in frame:
                frame[c] = frame[c].astype(float)
        frame["failed_fit"] = frame["diagnostics"].str.contains("FAILED")
        keys = ["target", "horizon", "forecaster"]
        out = frame.groupby(keys, sort=False)[columns].mean().reset_index()
        grouped = frame.groupby(keys, sort=False)
        return out.assign(origins=grouped.size().to_numpy(), origins_from_failed_fits=grouped["failed_fit"].sum().to_numpy())

    def skill(self, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
        """``escalate`` against each rival per target, horizon and score: the mean score
        difference rival - escalate (positive: escalate is better) with a bootstrap 90% interval
        over origins, and the skill 1 - escalate / rival only where the rival's mean score is
        not near zero (see :func:`escalate.checking.scores.skill`)."""
        rows = []
        for (target, h), group in self.scores.groupby(["target", "horizon"], sort=False):
            mine = group[group["forecaster"] == "escalate"].set_index("origin")
            for rival in FORECASTERS[1:]:
                theirs = group[group["forecaster"] == rival].set_index("origin")
                for score in ("brier", "log", "crps"):
                    if score not in group or mine[score].isna().all():
                        continue
                    common = mine.index.intersection(theirs.index)
                    result = scores.skill(mine.loc[common, score], theirs.loc[common, score], n_boot=n_boot, seed=seed)
                    rows.append({"target": target, "horizon": h, "rival": rival, "score": score, **result})
        return pd.DataFrame(rows)

    def reliability(self, target: str = "collapse", bins: int = 10) -> pd.DataFrame:
        """Reliability table of a binary target, per forecaster."""
        parts = []
        for name, group in self.scores[self.scores["target"] == target].groupby("forecaster", sort=False):
            parts.append(scores.reliability_table(group["observed"], group["forecast"], bins).assign(forecaster=name))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def notes(self) -> list[str]:
        """What a reader of the tables must know: fewer draws than the spec, failed fits,
        failed origins, horizons left unscored."""
        lines = [self.settings["sampler_note"]] if self.settings.get("sampler_note") else []
        if len(self.fits):
            bad = self.fits[~self.fits["passed"].astype(bool)]
            if len(bad):
                lines.append(f"DIAGNOSTICS FAILED for {len(bad)} of {len(self.fits)} fits (origins "
                             f"{', '.join(sorted(set(bad['origin'])))}); 'origins_from_failed_fits' counts them")
        for key, error in self.failures.items():
            lines.append(f"origin {key} FAILED and is missing: {error}")
        if len(self.unscored):
            n = self.unscored.drop_duplicates(["origin", "target", "horizon"])
            lines.append(f"{len(n)} origin x target x horizon combinations could not be scored (the data end "
                         f"first); see 'unscored'")
        return lines


def backtest(data: TruceData, spec, origins, horizons=(7, 30), *, draws: int | None = None,
             tune: int | None = None, chains: int | None = None, forecast_draws: int = 200, paths: int = 100,
             collapse=None, seed: int = 0, through: bool = False, scheduler: str | None = None,
             workers: int | None = None, progress=None) -> BacktestResult:
    """Rolling-origin backtest of ``spec`` on ``data``.

    Parameters
    ----------
    data : TruceData
        The full data; each origin sees only what lies before it (:func:`truncate`).
    spec : ModelSpec
    origins : sequence
        Moments on the data's clock (dates or float days), each inside a truce window; with
        ``through``, days whose data are known (origin D means "data through day D", the
        forecast starting the day after).
    horizons : sequence of int
        Days after each origin to score.
    draws, tune, chains : int, optional
        Sampler settings of each fit (default: the spec's; fewer is printed and recorded).
    forecast_draws, paths : int
        Posterior draws and simulated paths per forecast.
    collapse : CollapseRule, list or dict, optional
        Default: the spec's rules; a dict of named rule sets scores each from the same fits.
    seed : int
    through : bool
        Read each origin as the last day of data (daily users' "data through day D").
    scheduler, workers :
        Where the origins run (:func:`escalate.parallel.run_tasks`).

    Returns
    -------
    BacktestResult
    """
    horizons = sorted({int(h) for h in horizons})
    if not origins or not horizons or horizons[0] < 1:
        raise EscalateInputError("a backtest needs origins and horizons >= 1 day")
    sampler, note = sampler_settings(spec, draws, tune, chains)
    if note:
        print(f"escalate: {note}", flush=True)
    sets = rule_sets(spec, collapse)
    settings = {**sampler, "forecast_draws": forecast_draws, "paths": paths}
    moments = origin_moments(data, origins, through)
    tasks = {str(m): (spec, m, horizons, settings, sets, seed + i) for i, m in enumerate(moments)}
    results, failures = run_tasks(_score_origin, tasks, shared=data, scheduler=scheduler, workers=workers,
                                  progress=progress or print_progress)
    ordered = [results[k] for k in tasks if k in results]
    return BacktestResult(scores=pd.DataFrame([r for res in ordered for r in res["rows"]]),
                          fits=pd.DataFrame([r for res in ordered for r in res["fits"]]),
                          unscored=pd.DataFrame([r for res in ordered for r in res["unscored"]]),
                          settings={**settings, "sampler_note": note},
                          failures={k: f.error for k, f in failures.items()})
