"""A time-split backtest of collapse forecasts across a corpus (MODEL.md 6): when escalate says
20%, do one in five of those truces collapse?

At each origin (a date: the data known at its start, everything dated before it; see
:meth:`escalate.Corpus.as_of`) every model is fitted on the corpus as known then (truces still
running are censored at the origin). Then it forecasts P(collapse within h days), for each
horizon h, for the **cases** of that origin:

- ``running``: every truce in force at the origin (from its day t = days since its start);
- ``day k``: every truce that starts between this origin and the next, at day k after its own
  start (its first k days of data known; the fit stays the origin's).

Forecasters, fitted on the same data at every origin:

- ``base rate``: the corpus' Kaplan-Meier curve in days since the start,
  1 - S(t + h) / S(t);
- ``hazard``: the collapse hazard with the static covariates only (no violence);
- ``violence rule``: the violence model's P(a count rule fires within h), as a forecast of
  declared collapse (the forecast escalate made before it had a corpus);
- ``joint``: the hazard with its violence feedback, jointly with the violence model
  (P(declared collapse), and P(declared or a violence rule)).

The last two need event data, so they forecast only the truces that have it (scores compare
forecasters on their common cases).

These four forecast the *net* probability of MODEL.md 6, in which expiry and replacement
censor collapse. The outcomes below count a truce that ended otherwise as "no collapse", so
the net probabilities overstate what can be observed wherever other ends are common. With
``other_ends`` (the default) each origin also fits the hazard of ending otherwise
(:func:`escalate.inference.corpus.fit_other_ends`), and three more forecasters give
P(collapse before the truce ends otherwise), the cumulative incidence with competing risks:

- ``base rate (competing ends)``: the Aalen-Johansen estimate (the two Kaplan-Meier
  curves combined by :func:`escalate.forecasting.collapse.before_other_ends`);
- ``hazard (competing ends)`` and ``joint (competing ends)``: the two fits' forecasts paired
  draw by draw (their verdict is PASSED only if both fits passed).

Outcomes (the rule, also in docs/validation.md): a declared collapse on days t..t+h-1 is 1; a
truce known to be in force through day t+h-1, or known to have ended otherwise (expired,
replaced) before it without collapsing, is 0 (``ended_otherwise`` marks the latter); a truce
whose data end (holding at the cutoff, or an end of unknown type) before t+h is not scored.
The violence rule target is scored on the observed counts the same way (known when the rule
fired, or when the counts cover the h days).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from escalate.checking.backtest import collapse_outcome
from escalate.checking.scores import block_bootstrap, calibration, reliability_table
from escalate.checking.survival import aalen_johansen, conditional_risk, survival_curve
from escalate.data.corpus import OTHER_ENDS, Corpus
from escalate.errors import EscalateInputError
from escalate.forecasting.kernels import collapse_day
from escalate.forecasting.run import resolve_rules
from escalate.inference import corpus as corpus_fits
from escalate.inference.sampling import sampler_settings
from escalate.model.scenarios import compile_count_rules
from escalate.parallel import print_progress, run_tasks

FORECASTERS = ("base rate", "hazard", "violence rule", "joint",
               "base rate (competing ends)", "hazard (competing ends)", "joint (competing ends)")
#: The fit each forecaster's verdict comes from (competing ends: also the other-ends fit's).
SOURCES = {"base rate": (), "hazard": ("hazard",), "violence rule": ("joint",), "joint": ("joint",),
           "base rate (competing ends)": (), "hazard (competing ends)": ("hazard", "other ends"),
           "joint (competing ends)": ("joint", "other ends")}
TARGETS = ("declared", "violence rule", "either")
DAY = pd.Timedelta(days=1)


# ---- cases and outcomes --------------------------------------------------------------------------
def forecast_cases(corpus: Corpus, origin, until, days_after_start=(1, 7)) -> pd.DataFrame:
    """The cases forecast at ``origin``: truces in force at the origin (``running``) and truces
    starting in [origin, until) at day k after their start (``day k``), each with the moment of
    its forecast (data before it are known) and its day t since the start."""
    origin, until = pd.Timestamp(origin), pd.Timestamp(until)
    t = corpus.truces[corpus.truces["excluded"] == ""]
    rows = []
    running = t[(t["start"] < origin) & (t["end"].isna() | (t["end"] >= origin))]
    for row in running.itertuples():
        rows.append({"truce_id": row.truce_id, "group": row.group, "case": "running", "moment": origin,
                     "day": int((origin - row.start) / DAY), "has_events": bool(row.has_events)})
    new = t[(t["start"] >= origin) & (t["start"] < until)]
    for k in sorted({int(k) for k in days_after_start}):
        moment = new["start"] + k * DAY
        alive = (moment <= corpus.cutoff) & (new["end"].isna() | (new["end"] >= moment))
        for row, m in zip(new[alive].itertuples(), moment[alive]):
            rows.append({"truce_id": row.truce_id, "group": row.group, "case": f"day {k}", "moment": m,
                         "day": k, "has_events": bool(row.has_events)})
    return pd.DataFrame(rows, columns=["truce_id", "group", "case", "moment", "day", "has_events"])


def declared_outcome(row, day: int, horizon: int) -> tuple[float, bool]:
    """(outcome, ended otherwise) of a declared collapse on days day..day+horizon-1 for a truce
    row of the full corpus (NaN when the data cannot tell; module docstring)."""
    last = day + horizon - 1
    n = int(row["days_at_risk"])
    if row["collapsed"]:
        return (1.0 if n - 1 <= last else 0.0), False
    if n > last:  # in force through the horizon's last day
        return 0.0, False
    if row["end_type"] in OTHER_ENDS:
        return 0.0, True
    return np.nan, False  # holding at the cutoff, or ended in an unknown way, before the horizon


def violence_firing(corpus: Corpus, truce_id: str, day: int, horizon: int, compiled) -> tuple[int, int]:
    """(first day 1..horizon on which the compiled count rules fire on the observed counts from
    ``day`` on, else more than the days observed; how many of the ``horizon`` days were
    observed); the rules' windows reach back before ``day``."""
    K = len(corpus.streams)
    counts = corpus.counts[corpus.counts["truce_id"] == truce_id]
    daily = counts["count"].to_numpy(dtype=float).reshape(-1, K)  # from day -history_days
    first = day + corpus.history_days
    after = daily[first:first + horizon]
    before = daily[max(first - 60, 0):first]
    fired = collapse_day(np.ascontiguousarray(after), np.ascontiguousarray(before), *compiled, len(after) + 1)
    return int(fired), len(after)


def violence_outcome(corpus: Corpus, truce_id: str, day: int, horizon: int, rules) -> float:
    """Whether the count rules fire on the observed counts of days day..day+horizon-1 (the
    window reaching back before ``day``); NaN when the counts end first without a firing."""
    compiled = compile_count_rules(rules, corpus.streams)
    if not corpus.truces.set_index("truce_id").loc[truce_id, "has_events"] or not len(compiled[0]):
        return np.nan
    fired, observed = violence_firing(corpus, truce_id, day, horizon, compiled)
    return collapse_outcome(fired, horizon, observed, False)


# ---- one origin ----------------------------------------------------------------------------------
def _fit_record(origin, name, fit, settings) -> dict:
    return {"origin": origin, "model": name, **fit.diagnostics.to_dict(), "truces_at_risk": len(fit.corpus.at_risk),
            "collapses": int(fit.corpus.at_risk["collapsed"].sum()), **{f"sampler_{k}": v for k, v in settings.items()}}


def _combined_verdict(diagnostics: dict) -> str:
    """The verdict of a forecast that uses several fits: PASSED only if all of them passed."""
    if not diagnostics:
        return "no fit (Kaplan-Meier)"
    if len(diagnostics) == 1:
        return next(iter(diagnostics.values())).verdict
    failed = [f"{name} {d.verdict}" for name, d in diagnostics.items() if not d.passed]
    return "FAILED: " + " | ".join(failed) if failed else f"PASSED ({', '.join(diagnostics)})"


def score_origin(corpus: Corpus, task: dict) -> dict:
    """Fit every forecaster at one origin, forecast its cases and return the forecasts with their
    outcomes and the fits' diagnostics (a task of :func:`escalate.parallel.run_tasks`)."""
    spec, origin, until = task["spec"], pd.Timestamp(task["origin"]), pd.Timestamp(task["until"])
    horizons, sampler, seed = task["horizons"], task["sampler"], task["seed"]
    train = corpus.as_of(origin)
    cases = forecast_cases(corpus, origin, until, task["days_after_start"])
    rules = resolve_rules(spec, None, declared=True)
    H = max(horizons)
    span = int(cases["day"].max()) + H + 1 if len(cases) else H + 1
    base = survival_curve(train, span)
    fits = {"hazard": corpus_fits.fit_corpus(train, corpus_fits.hazard_only_spec(spec), seed=seed, **sampler)}
    if spec.violence and train.counts is not None and train.event_data() is not None:
        fits["joint"] = corpus_fits.fit_corpus(train, spec, seed=seed, **sampler)
    competing = task["other_ends"]
    if competing:
        base_other = survival_curve(train.other_ends(), span)
        fits["other ends"] = corpus_fits.fit_other_ends(train, spec, seed=seed, **sampler)
    records = [_fit_record(str(origin.date()), name, fit, sampler) for name, fit in fits.items()]
    verdicts = {name: _combined_verdict({s: fits[s].diagnostics for s in sources})
                for name, sources in SOURCES.items() if all(s in fits for s in sources)}
    full = corpus.truces.set_index("truce_id")
    rows = []
    compiled = compile_count_rules(rules, corpus.streams)
    for i, case in enumerate(cases.itertuples()):
        truth = full.loc[case.truce_id]
        seen = (violence_firing(corpus, case.truce_id, case.day, H, compiled)
                if len(compiled[0]) and truth["has_events"] else None)
        outcomes = {}
        for h in horizons:
            declared, otherwise = declared_outcome(truth, case.day, h)
            violence = collapse_outcome(seen[0], h, seen[1], False) if seen else np.nan
            either = 1.0 if (declared == 1 or violence == 1) else (0.0 if declared == 0 and violence == 0 else np.nan)
            outcomes[h] = {"declared": declared, "violence rule": violence, "either": either, "otherwise": otherwise}
        base_p = conditional_risk(base, case.day, H)
        forecasts = {"base rate": {h: {"declared": base_p[h - 1]} for h in horizons}}
        if competing:
            base_c = aalen_johansen(base, base_other, case.day, H)
            forecasts["base rate (competing ends)"] = {h: {"declared": base_c[h - 1]} for h in horizons}
        view = corpus.subset([case.truce_id]).as_of(case.moment)
        case_seed = seed * 100_003 + i
        other_fc = (fits["other ends"].transfer(view.other_ends(), seed=case_seed).forecast(
            case.truce_id, H, scenarios=[], draws=task["forecast_draws"]) if competing else None)
        hazard_fc = fits["hazard"].transfer(view, seed=case_seed).forecast(
            case.truce_id, H, scenarios=[], draws=task["forecast_draws"])
        p = hazard_fc.ds["p_declared"].sel(scenario="status quo").mean("sample")
        forecasts["hazard"] = {h: {"declared": float(p.sel(horizon_day=h))} for h in horizons}
        if competing:
            pc = hazard_fc.with_other_ends(other_fc).ds["p_declared_competing"].sel(scenario="status quo").mean("sample")
            forecasts["hazard (competing ends)"] = {h: {"declared": float(pc.sel(horizon_day=h))} for h in horizons}
        if "joint" in fits and case.has_events:
            fc = fits["joint"].transfer(view, seed=case_seed).forecast(
                case.truce_id, H, scenarios=[], collapse=rules or None, draws=task["forecast_draws"],
                paths=task["paths"], seed=case_seed)
            if competing:
                fc = fc.with_other_ends(other_fc)
                forecasts["joint (competing ends)"] = {h: {"declared": float(fc.ds["p_declared_competing"].sel(
                    scenario="status quo", horizon_day=h).mean("sample"))} for h in horizons}
            ds = fc.ds.sel(scenario="status quo").mean("sample")
            forecasts["joint"] = {h: {"declared": float(ds["p_declared"].sel(horizon_day=h)),
                                      "either": float(ds["p_either"].sel(horizon_day=h)),
                                      "violence rule": float(ds["p_collapse"].sel(horizon_day=h))} for h in horizons}
            if rules:
                forecasts["violence rule"] = {h: {"declared": float(ds["p_collapse"].sel(horizon_day=h)),
                                                  "violence rule": float(ds["p_collapse"].sel(horizon_day=h))}
                                              for h in horizons}
        for name, by_h in forecasts.items():
            verdict = verdicts[name]
            for h, targets in by_h.items():
                for target, prob in targets.items():
                    rows.append({"origin": str(origin.date()), "truce_id": case.truce_id, "group": case.group,
                                 "case": case.case, "day": case.day, "horizon": h, "target": target,
                                 "forecaster": name, "forecast": float(prob), "observed": outcomes[h][target],
                                 "ended_otherwise": outcomes[h]["otherwise"] and target == "declared",
                                 "diagnostics": verdict})
    return {"forecasts": pd.DataFrame(rows), "fits": pd.DataFrame(records),
            "train_hash": train.data_hash, "cases": len(cases)}


# ---- the loop over origins -----------------------------------------------------------------------
def origin_periods(corpus: Corpus, origins) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Each origin with the end of its period (the next origin; the last one's period is as long
    as the one before it, or runs to the cutoff), checked against the corpus."""
    try:
        moments = sorted({pd.Timestamp(o).normalize() for o in origins})
    except (TypeError, ValueError) as exc:
        raise EscalateInputError(f"origins must be dates: {exc}") from None
    if not moments:
        raise EscalateInputError("a corpus backtest needs at least one origin")
    first = corpus.truces["start"].min()
    bad = [str(m.date()) for m in moments if not first < m <= corpus.cutoff]
    if bad:
        raise EscalateInputError(f"origins {bad} lie outside the corpus ({first.date()} .. cutoff "
                                 f"{corpus.cutoff.date()}); every origin needs truces before it")
    ends = moments[1:] + [min(corpus.cutoff, moments[-1] + (moments[-1] - moments[-2]) if len(moments) > 1
                              else corpus.cutoff)]
    return list(zip(moments, ends))


def _settings_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def backtest_corpus(corpus: Corpus, spec, origins, horizons=(7, 30, 90), *, days_after_start=(1, 7),
                    draws: int | None = None, tune: int | None = None, chains: int | None = None,
                    forecast_draws: int = 200, paths: int = 100, seed: int = 0, scheduler: str | None = None,
                    workers: int | None = None, out=None, resume: bool = False, progress=None,
                    other_ends: bool = True) -> "CorpusBacktest":
    """Time-split backtest of collapse forecasts on ``corpus`` (module docstring).

    Parameters
    ----------
    corpus : Corpus
        The whole corpus; each origin's fits see :meth:`Corpus.as_of` (nothing after it).
    spec : ModelSpec
        The model (its ``[hazard]`` table; with ``violence``, the joint model and the violence
        rule rival too). The ``hazard`` rival is its hazard with static covariates only.
    origins : sequence of dates
        E.g. yearly; truces starting between one origin and the next are forecast at ``day k``.
    horizons : sequence of int
        Days ahead (default 7, 30, 90).
    days_after_start : sequence of int
        The days k after a new truce's start at which it is forecast (default 1 and 7).
    draws, tune, chains : int, optional
        Sampler settings of every fit (default: the spec's; fewer is printed and recorded).
    forecast_draws, paths : int
        Posterior draws and simulated paths per forecast (paths: the joint model only; the
        hazard's forecasts are closed forms).
    seed : int
        Origin i is fitted and forecast with seed ``seed + i``.
    scheduler, workers :
        Where the origins run (:func:`escalate.parallel.run_tasks`: a local Dask cluster by
        default, ``"synchronous"``, or a scheduler address).
    out : path, optional
        A folder where each origin's results are written as they arrive; with ``resume`` the
        origins already there (same settings) are read back, not refitted.
    progress : callable, optional
        As in :func:`~escalate.parallel.run_tasks` (default: a line on stderr per origin).
    other_ends : bool
        Also fit the competing ends (expiry, replacement; :func:`escalate.inference.corpus.fit_other_ends`)
        at every origin and score the ``(competing ends)`` forecasters: P(collapse before the
        truce ends otherwise), the probability the outcomes measure (default True).

    Returns
    -------
    CorpusBacktest
    """
    horizons = sorted({int(h) for h in horizons})
    if not horizons or horizons[0] < 1:
        raise EscalateInputError(f"horizons must be whole numbers of days >= 1, got {horizons}")
    periods = origin_periods(corpus, origins)
    sampler, note = sampler_settings(spec, draws, tune, chains)
    if note:
        print(f"escalate: {note}", flush=True)
    settings = {"spec_id": spec.spec_id, "data_hash": corpus.data_hash, "horizons": horizons,
                "days_after_start": sorted({int(k) for k in days_after_start}), "sampler": sampler,
                "forecast_draws": int(forecast_draws), "paths": int(paths), "seed": int(seed),
                "other_ends": bool(other_ends)}
    tasks = {str(o.date()): {"spec": spec, "origin": o, "until": u, "horizons": horizons,
                             "days_after_start": settings["days_after_start"], "sampler": sampler,
                             "other_ends": bool(other_ends),
                             "forecast_draws": int(forecast_draws), "paths": int(paths), "seed": int(seed) + i}
             for i, (o, u) in enumerate(periods)}
    done = {}
    store = None if out is None else OriginStore(Path(out), settings, resume)
    if store is not None:
        done = store.load()
        for key in done:
            tasks.pop(key, None)
    results, failures = run_tasks(score_origin, tasks, shared=corpus, scheduler=scheduler, workers=workers,
                                  on_result=store.write if store is not None else None,
                                  progress=progress or print_progress)
    results = {**done, **results}
    ordered = [results[k] for k in sorted(results)]
    forecasts = pd.concat([r["forecasts"] for r in ordered], ignore_index=True) if ordered else pd.DataFrame()
    fits = pd.concat([r["fits"] for r in ordered], ignore_index=True) if ordered else pd.DataFrame()
    return CorpusBacktest(forecasts=forecasts, fits=fits, settings={**settings, "sampler_note": note},
                          failures={k: f.error for k, f in failures.items()},
                          train_hashes={k: results[k]["train_hash"] for k in sorted(results)})


class OriginStore:
    """Each origin's results in ``FOLDER/origins/DATE/`` (forecasts.csv, fits.csv, done.json),
    written whole or not at all; ``FOLDER/settings.json`` says what they were computed with."""

    def __init__(self, folder: Path, settings: dict, resume: bool):
        self.folder, self.settings = folder, settings
        self.hash = _settings_hash(settings)
        marker = folder / "settings.json"
        if marker.exists():
            given = json.loads(marker.read_text())
            if not resume:
                raise EscalateInputError(f"{folder} holds an earlier backtest; pass --resume (resume=True) "
                                         f"to go on with it, or choose a new folder")
            if given.get("hash") != self.hash:
                raise EscalateInputError(f"{folder} holds a backtest with other settings ({marker}); resume "
                                         f"needs the same corpus, spec, origins' settings and seed")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(marker, json.dumps({"hash": self.hash, "settings": settings}, indent=1, default=str))

    def load(self) -> dict:
        out = {}
        for item in sorted((self.folder / "origins").glob("*/done.json")):
            key = item.parent.name
            meta = json.loads(item.read_text())
            forecasts = pd.read_csv(item.parent / "forecasts.csv", dtype={"truce_id": str, "group": str})
            out[key] = {"forecasts": forecasts, "fits": pd.read_csv(item.parent / "fits.csv"),
                        "train_hash": meta["train_hash"], "cases": meta["cases"]}
        return out

    def write(self, key: str, result: dict) -> None:
        final = self.folder / "origins" / key
        staging = self.folder / "origins" / f".{key}.tmp"
        staging.mkdir(parents=True, exist_ok=True)
        result["forecasts"].to_csv(staging / "forecasts.csv", index=False)
        result["fits"].to_csv(staging / "fits.csv", index=False)
        (staging / "done.json").write_text(json.dumps({"train_hash": result["train_hash"],
                                                       "cases": result["cases"]}))
        staging.rename(final)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


# ---- the scores ----------------------------------------------------------------------------------
#: Probabilities are clipped to [EPS, 1 - EPS] for the log score and the calibration fit (a
#: forecast of exactly 0 that collapses would otherwise cost an infinite score).
EPS = 1e-4


@dataclass
class CorpusBacktest:
    """Forecasts and outcomes of a corpus backtest, the fits' diagnostics, and the scores.

    Attributes
    ----------
    forecasts : DataFrame
        One row per origin, case (truce, ``case``, ``day``), horizon, target and forecaster:
        ``forecast``, ``observed`` (1, 0 or NaN when the data cannot tell), ``ended_otherwise``
        and ``diagnostics`` (the verdict of the fit the forecast came from).
    fits : DataFrame
        One row per origin and fitted model: r_hat, ESS, divergences, verdict, sampler settings.
    settings : dict
    failures : dict
        Origins whose task raised, with the error (their forecasts are missing, the others kept).
    train_hashes : dict
        ``data_hash`` of each origin's training corpus.
    """

    forecasts: pd.DataFrame
    fits: pd.DataFrame
    settings: dict
    failures: dict = field(default_factory=dict)
    train_hashes: dict = field(default_factory=dict)

    def scored(self, target: str = "declared") -> pd.DataFrame:
        """The forecasts of ``target`` whose outcome is known."""
        f = self.forecasts
        return f[(f["target"] == target) & f["observed"].notna()]

    def failed_origins(self) -> list[str]:
        """Origins with at least one fit whose diagnostics failed."""
        if not len(self.fits):
            return []
        return sorted(set(self.fits.loc[~self.fits["passed"].astype(bool), "origin"].astype(str)))

    def scores(self, target: str = "declared", n_boot: int = 1000, seed: int = 0, ci_prob: float = 0.9,
               min_events: int = 10) -> pd.DataFrame:
        """Per horizon and forecaster: cases, collapses, mean forecast, observed rate, Brier and
        log scores, calibration intercept and slope, each with a block-bootstrap interval over
        conflicts (``group``), and how many cases came from fits whose diagnostics failed. The
        calibration fit needs at least ``min_events`` collapses and as many non-collapses: with
        fewer it is NaN (a logistic fit to two events says nothing)."""
        rows = []
        for (h, name), g in self.scored(target).groupby(["horizon", "forecaster"], sort=True):
            y, p = g["observed"].to_numpy(float), g["forecast"].to_numpy(float)
            pc = np.clip(p, EPS, 1 - EPS)

            enough = min(y.sum(), len(y) - y.sum()) >= min_events

            def stat(i, y=y, p=p, pc=pc, enough=enough):
                brier = np.mean((p[i] - y[i]) ** 2)
                log = -np.mean(y[i] * np.log(pc[i]) + (1 - y[i]) * np.log1p(-pc[i]))
                fitted = (calibration(y[i], pc[i], n_paths=int(0.5 / EPS)) if enough else
                          {"calibration_intercept": np.nan, "calibration_slope": np.nan})
                return {"brier": brier, "log": log, **fitted}

            boot = block_bootstrap(g["group"].to_numpy(), stat, n_boot=n_boot, seed=seed, ci_prob=ci_prob)
            failed = ~g["diagnostics"].astype(str).str.startswith(("PASSED", "no fit"))
            rows.append({"target": target, "horizon": int(h), "forecaster": name, "cases": len(g),
                         "conflicts": int(g["group"].nunique()), "collapses": int(y.sum()),
                         "mean_forecast": float(p.mean()), "observed_rate": float(y.mean()), **boot,
                         "cases_from_failed_fits": int(failed.sum())})
        frame = pd.DataFrame(rows)
        frame.attrs["interval"] = f"{ci_prob:.0%} block bootstrap over conflicts ({n_boot} replicates)"
        return frame

    def skill(self, model: str | None = None, target: str = "declared", n_boot: int = 1000, seed: int = 0,
              ci_prob: float = 0.9) -> pd.DataFrame:
        """``model`` (default: ``joint`` where it forecast, else ``hazard``) against each rival on
        their common cases: score differences rival - model (positive: the model is better) for
        Brier and log scores with block-bootstrap intervals, and the skill 1 - model / rival
        where the rival's mean score is not near zero (> 1e-3; NaN otherwise, since a ratio
        to a near-zero score says nothing)."""
        data = self.scored(target)
        model = model or ("joint" if (data["forecaster"] == "joint").any() else "hazard")
        key = ["origin", "truce_id", "case", "horizon"]
        mine = data[data["forecaster"] == model].set_index(key)
        rows = []
        for rival in [f for f in FORECASTERS if f != model and (data["forecaster"] == f).any()]:
            theirs = data[data["forecaster"] == rival].set_index(key)
            common = mine.index.intersection(theirs.index)
            for h in sorted({k[3] for k in common}):
                idx = [k for k in common if k[3] == h]
                a, b = mine.loc[idx], theirs.loc[idx]
                y = a["observed"].to_numpy(float)
                pa, pb = a["forecast"].to_numpy(float), b["forecast"].to_numpy(float)
                ca, cb = np.clip(pa, EPS, 1 - EPS), np.clip(pb, EPS, 1 - EPS)
                brier_a, brier_b = (pa - y) ** 2, (pb - y) ** 2
                log_a = -(y * np.log(ca) + (1 - y) * np.log1p(-ca))
                log_b = -(y * np.log(cb) + (1 - y) * np.log1p(-cb))

                def stat(i):
                    out = {"brier_difference": np.mean(brier_b[i] - brier_a[i]),
                           "log_difference": np.mean(log_b[i] - log_a[i])}
                    mb = np.mean(brier_b[i])
                    out["brier_skill"] = 1 - np.mean(brier_a[i]) / mb if mb > 1e-3 else np.nan
                    return out

                boot = block_bootstrap(a["group"].to_numpy(), stat, n_boot=n_boot, seed=seed, ci_prob=ci_prob)
                rows.append({"target": target, "horizon": int(h), "model": model, "rival": rival, "cases": len(idx),
                             "collapses": int(y.sum()), **boot})
        frame = pd.DataFrame(rows)
        frame.attrs["interval"] = f"{ci_prob:.0%} block bootstrap over conflicts ({n_boot} replicates)"
        return frame

    def reliability(self, target: str = "declared", horizon: int = 30, bins: int = 10) -> pd.DataFrame:
        """The reliability table (forecast bins against observed frequencies) per forecaster."""
        data = self.scored(target)
        data = data[data["horizon"] == horizon]
        parts = [reliability_table(g["observed"], g["forecast"], bins).assign(forecaster=name)
                 for name, g in data.groupby("forecaster", sort=False)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def summary(self) -> str:
        """A few lines: origins, cases, fits that failed their diagnostics, failed origins."""
        lines = [f"{len(self.train_hashes)} origins, {len(self.forecasts.drop_duplicates(['origin', 'truce_id', 'case']))} "
                 f"cases forecast"]
        if self.settings.get("sampler_note"):
            lines.append(self.settings["sampler_note"])
        failed = self.failed_origins()
        if failed:
            bad = self.fits[~self.fits["passed"].astype(bool)]
            lines.append(f"DIAGNOSTICS FAILED for {len(bad)} of {len(self.fits)} fits (origins {', '.join(failed)}); "
                         f"their forecasts are counted in 'cases_from_failed_fits'")
        for key, error in self.failures.items():
            lines.append(f"origin {key} FAILED and is missing: {error}")
        return "\n".join(lines)
