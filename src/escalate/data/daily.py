"""Day-dated data: daily counts per truce, stream and day (MODEL.md 3b).

:func:`daily_data` builds a day-resolution :class:`~escalate.TruceData` from counts in long form
(``truce_id`` optional, ``date``, ``stream``, ``count``) or wide form (``date`` plus one column
per stream); :func:`aggregate_to_days` turns exact event times into daily counts. Day d of a
truce is ``[start + d, start + d + 1)``: truce windows and covariate change points must fall on
day boundaries.

An empty (NaN) count is a **missing day**: the likelihood leaves it out and lets its expected
count excite the days after it. An optional ``days`` column makes a row a **multi-day report**
(a 48- or 72-hour report): its count is the total of ``days`` days from its date, one
observation of their sum; each covered day holds the report's share (total / days) for the
excitation, and the counts table marks the report in a ``span`` column (n on its last day, -1
on the days before; absent when every row covers one day).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from escalate.data.tables import (
    days_between,
    require_columns,
    require_finite,
    stream_labels,
    to_clock,
)
from escalate.errors import DataValidationError, describe_rows


def _long_form(counts: pd.DataFrame, label: str, streams) -> pd.DataFrame:
    """Counts as long rows (truce_id?, date, stream, count); wide columns become streams."""
    require_columns(counts, ["date"], label, "Counts need a 'date' column (long or wide form).")
    if {"stream", "count"} <= set(counts.columns):
        out = counts.copy()
        out["stream"] = stream_labels(out["stream"])
        return out
    value_columns = [c for c in counts.columns if c not in ("date", "truce_id", "days")]
    if streams is not None:
        missing = [s for s in streams if s not in value_columns]
        if missing:
            raise DataValidationError(f"{label}: wide-form counts have no column(s) {missing} for the "
                                      f"requested streams; columns are {value_columns}")
        value_columns = list(streams)
    if not value_columns:
        raise DataValidationError(f"{label}: no count columns; give long form (date, stream, count) "
                                  f"or wide form (date plus one column per stream)")
    ids = ["date"] + [c for c in ("truce_id", "days") if c in counts]
    out = counts.reset_index(names="_row").melt(id_vars=["_row", *ids], value_vars=value_columns,
                                               var_name="stream", value_name="count")
    return out.set_index("_row").rename_axis(None)


def assign_days(counts: pd.DataFrame, truce_table: pd.DataFrame, clock: str, label: str) -> tuple[pd.DataFrame, int]:
    """Attach truce ids and day indices; rows outside every truce window are dropped (counted)."""
    dates = to_clock(counts["date"], clock, "date", label)
    if "truce_id" in counts:
        counts = counts.assign(truce_id=counts["truce_id"].astype(str))
        unknown = ~counts["truce_id"].isin(truce_table["truce_id"])
        if unknown.any():
            raise DataValidationError(
                f"{label}: unknown truce_id {sorted(set(counts.loc[unknown, 'truce_id']))[:5]} at "
                f"{describe_rows(np.flatnonzero(unknown))}; add them to the truces table")
        table = truce_table.set_index("truce_id")
        day = days_between(dates, counts["truce_id"].map(table["start"]), clock)
        outside = (day < 0) | (day >= counts["truce_id"].map(table["duration"]).to_numpy())
        if outside.any():
            raise DataValidationError(f"{label}: {describe_rows(np.flatnonzero(outside))} fall outside "
                                      f"their truce window [start, end)")
        return counts.assign(day=day), 0
    ends = days_between(truce_table["end"], truce_table["start"].iloc[[0] * len(truce_table)], clock)
    begins = days_between(truce_table["start"], truce_table["start"].iloc[[0] * len(truce_table)], clock)
    order = np.argsort(begins)
    if np.any(begins[order][1:] < ends[order][:-1]):
        raise DataValidationError(f"{label}: truce windows overlap, so some dates belong to two truces; "
                                  f"add a truce_id column to the counts")
    parts = []
    inside_any = np.zeros(len(counts), dtype=bool)
    for truce_id, start, duration in truce_table[["truce_id", "start", "duration"]].itertuples(index=False):
        day = days_between(dates, pd.Series([start] * len(dates), index=dates.index), clock)
        inside = (day >= 0) & (day < duration)
        inside_any |= inside
        parts.append(counts[inside].assign(truce_id=truce_id, day=day[inside]))
    dropped = int(pd.Series(dates[~inside_any]).nunique())
    return pd.concat(parts), dropped


#: Largest count accepted for one stream on one day: far above any recorded conflict (the
#: busiest ACLED country-days are in the hundreds); a larger value is a unit or parsing mistake.
MAX_DAILY_COUNT = 100_000


def _counts_or_missing(long: pd.DataFrame, label: str) -> np.ndarray:
    """The ``count`` column as float64 with NaN for an empty cell (a missing day); text,
    infinite or true/false cells are errors naming the rows."""
    raw = long["count"]
    empty = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    values = np.array(require_finite(long.assign(count=raw.where(~empty, 0.0)), "count", label))  # same rows
    values[empty] = np.nan
    return values


def long_counts(frame: pd.DataFrame, label: str, streams=None) -> pd.DataFrame:
    """Counts in long form with checked values (whole numbers from 0 to MAX_DAILY_COUNT, or
    empty for a missing day) and report spans (``days``, whole numbers >= 1)."""
    long = _long_form(frame, label, streams)
    values = _counts_or_missing(long, label)
    if "days" in long:
        days = require_finite(long, "days", label)
        bad = (days < 1) | (days != np.round(days))
        if bad.any():
            raise DataValidationError(f"{label}: 'days' (how many days a report covers) must be a whole number "
                                      f">= 1; {describe_rows(np.unique(long.index[bad]))} have {days[bad][:3].tolist()}")
        unknown = np.isnan(values) & (days > 1)
        if unknown.any():
            raise DataValidationError(f"{label}: {describe_rows(np.unique(long.index[unknown]))} are multi-day "
                                      f"reports without a count; give the report's total, or one empty row per "
                                      f"missing day")
        long = long.assign(days=days.astype(np.int64))
    bad = ~np.isnan(values) & ((values < 0) | (values != np.round(values)))
    if bad.any():
        raise DataValidationError(f"{label}: counts must be whole numbers >= 0; "
                                  f"{describe_rows(np.unique(long.index[bad]))} have {values[bad][:3].tolist()}")
    huge = ~np.isnan(values) & (values > MAX_DAILY_COUNT * (long["days"].to_numpy() if "days" in long else 1))
    if huge.any():
        raise DataValidationError(
            f"{label}: {describe_rows(np.unique(long.index[huge]))} count more than {MAX_DAILY_COUNT:,} events "
            f"in one day for one stream ({values[huge][:3].tolist()}), far beyond any recorded conflict: "
            f"check the units (events per day) and the column")
    return long.assign(count=values)


def build_counts(frame: pd.DataFrame, label: str, truce_table: pd.DataFrame, clock: str, streams,
                 fill_missing) -> tuple[pd.DataFrame, tuple[str, ...], dict]:
    """Validated long counts ``(truce_id, day, stream, count)`` covering every truce day."""
    long = long_counts(frame, label, streams)
    empty = long["stream"] == ""
    if empty.any():
        raise DataValidationError(f"{label}: 'stream' is empty at {describe_rows(np.unique(long.index[empty]))}")
    streams = tuple(streams) if streams is not None else tuple(sorted(set(long["stream"])))
    unknown = ~long["stream"].isin(streams)
    if unknown.any():
        raise DataValidationError(f"{label}: unknown stream {sorted(set(long.loc[unknown, 'stream']))[:5]}; "
                                  f"known streams are {list(streams)}")
    long, dropped = assign_days(long, truce_table, clock, label)
    if len(long) == 0 and len(truce_table):
        raise DataValidationError(
            f"{label}: none of its dates falls inside a truce window ({len(truce_table)} truces, first "
            f"{truce_table['start'].min()}); check the truces' start and end, or the counts' dates")
    fractional = long["day"].to_numpy() != np.floor(long["day"].to_numpy())
    if fractional.any():
        raise DataValidationError(f"{label}: {describe_rows(np.unique(long.index[fractional]))} are not on a day "
                                  f"boundary of their truce (day = start + whole days); give dates")
    long["day"] = long["day"].astype(np.int64)
    long = _expand_reports(long, truce_table, label)
    dup = long.duplicated(subset=["truce_id", "day", "stream"], keep=False)
    if dup.any():
        raise DataValidationError(f"{label}: {describe_rows(np.unique(long.index[dup]))} repeat a (truce, day, "
                                  f"stream); give one count per day and stream")
    full = pd.MultiIndex.from_tuples(
        [(t, d, s) for t, n in zip(truce_table["truce_id"], truce_table["duration"].astype(int))
         for d in range(n) for s in streams], names=["truce_id", "day", "stream"])
    indexed = long.set_index(["truce_id", "day", "stream"])["count"]
    missing = full.difference(indexed.index)
    if len(missing) and fill_missing is None:
        sample = [f"{t} day {d} ({s})" for t, d, s in missing[:5]]
        raise DataValidationError(
            f"{label}: {len(missing)} (truce, day, stream) cells inside truce windows have no count, "
            f"e.g. {sample}. If days without a row had no events, say so (fill_missing=0; on the "
            f"command line --fill-missing); otherwise supply those days")
    if len(missing) and fill_missing is not None and len(long):
        # filling is for days without events, never for days not yet observed
        last = _last_counted_day(long, truce_table, clock)
        beyond = sorted({t for t, d, _ in missing if d > last[t]})
        if beyond:
            raise DataValidationError(
                f"{label}: truce(s) {beyond} run past the last date of the counts; days not yet observed are "
                f"not days without events, so they cannot be filled with zeros: end the truce on the day after "
                f"the last counted date, or leave its end empty for an ongoing truce")
    filled = indexed.reindex(full, fill_value=float(fill_missing or 0)).reset_index()
    if "span" in long:
        filled["span"] = long.set_index(["truce_id", "day", "stream"])["span"].reindex(full, fill_value=1.0).to_numpy()
    info = {"days_outside_truces": dropped, "filled_cells": int(len(missing)),
            "missing_cells": int(np.isnan(filled["count"].to_numpy()).sum()),
            "multi_day_reports": int((filled["span"] > 1).sum()) if "span" in filled else 0}
    return filled, streams, info


def _expand_reports(long: pd.DataFrame, truce_table: pd.DataFrame, label: str) -> pd.DataFrame:
    """Rows covering several days (``days`` > 1) become one row per covered day holding the
    report's share, with ``span`` n on the last day and -1 before it (module docstring)."""
    if "days" not in long or not (long["days"] > 1).any():
        return long.drop(columns=["days"], errors="ignore")
    duration = long["truce_id"].map(truce_table.set_index("truce_id")["duration"]).to_numpy()
    n = long["days"].to_numpy()
    beyond = long["day"].to_numpy() + n > duration
    if beyond.any():
        raise DataValidationError(f"{label}: the multi-day report(s) at {describe_rows(np.unique(long.index[beyond]))} "
                                  f"run past the end of their truce; shorten 'days' or split the report at the end")
    rows = long.loc[long.index.repeat(n)].copy()
    offset = np.concatenate([np.arange(k) for k in n])
    length = np.repeat(n, n)  # each row's report length
    rows["day"] = rows["day"].to_numpy() + offset
    rows["count"] = rows["count"].to_numpy() / length
    rows["span"] = np.where(offset == length - 1, length, -1.0).astype(float)  # a 1-day report: span 1
    return rows.drop(columns=["days"])


def _last_counted_day(long: pd.DataFrame, truce_table: pd.DataFrame, clock: str) -> dict:
    """Per truce, the day index of the last date that any count row covers (all truces' rows)."""
    table = truce_table.set_index("truce_id")
    starts = long["truce_id"].map(table["start"])
    if clock == "datetime":
        last = (starts + pd.to_timedelta(long["day"], unit="D")).max()
        return {t: (last - start) / pd.Timedelta(days=1) for t, start in table["start"].items()}
    last = float((starts.astype(float) + long["day"]).max())
    return {t: last - float(start) for t, start in table["start"].items()}


def check_whole_days(truce_table: pd.DataFrame, covariates: pd.DataFrame, label: str) -> None:
    """Day resolution needs whole-day windows and covariate change points on day boundaries."""
    dur = truce_table["duration"].to_numpy()
    bad = dur != np.round(dur)
    if bad.any():
        raise DataValidationError(f"truces: {describe_rows(np.flatnonzero(bad))} do not span whole days, "
                                  f"which day-resolution data needs; give start and end as dates")
    t = covariates["time"].to_numpy()
    bad = t != np.round(t)
    if bad.any():
        raise DataValidationError(f"{label}: {describe_rows(covariates.index[bad])} change covariates inside "
                                  f"a day; at day resolution changes fall on day boundaries")


def aggregate_to_days(events: pd.DataFrame, truce_table: pd.DataFrame, streams) -> pd.DataFrame:
    """Daily counts ``(truce_id, day, stream, count)`` of exact event times, zeros included."""
    day = np.floor(events["time"].to_numpy()).astype(np.int64)
    observed = events.assign(day=day).groupby(["truce_id", "day", "stream"]).size()
    full = pd.MultiIndex.from_tuples(
        [(t, d, s) for t, n in zip(truce_table["truce_id"], truce_table["duration"].astype(int))
         for d in range(n) for s in streams], names=["truce_id", "day", "stream"])
    return observed.reindex(full, fill_value=0).astype(float).rename("count").reset_index()


def report_rows(counts: pd.DataFrame, cut=None) -> pd.DataFrame:
    """Internal long counts (``span`` codes, module docstring) back as rows a user would give:
    ``truce_id, day, stream, count, days``, one row per report on its first day with its total.
    ``cut`` (day per truce_id, optional) keeps days before it only; a report that reaches the
    cut is not yet complete there, so its earlier days become missing (NaN), never a total that
    includes later days."""
    out = counts.copy()
    span = out["span"].to_numpy(dtype=float) if "span" in out else np.ones(len(out))
    out["days"] = 1
    if cut is not None:
        limit = out["truce_id"].map(cut).to_numpy()
        keep = out["day"].to_numpy() < limit
        if (span != 1).any():
            # each report's last day: an n code, or a -1 run whose closing n lies at or past the cut
            last = pd.Series(np.where(span >= 2, out["day"].to_numpy(), np.nan), index=out.index)
            last = last.groupby([out["truce_id"], out["stream"]]).bfill().to_numpy()
            open_report = (span != 1) & (np.isnan(last) | (last >= limit))
            out.loc[open_report, "count"] = np.nan
            span = np.where(open_report, 1.0, span)
        out, span = out[keep], span[keep]
    if (span != 1).any():
        out = out.assign(_span=span)
        parts = []
        for _, g in out.groupby(["truce_id", "stream"], sort=False):
            g = g.sort_values("day")
            n = g["_span"].to_numpy().astype(np.int64)
            ends = np.flatnonzero(n >= 2)
            values = g["count"].to_numpy()
            first = ends - n[ends] + 1
            g = g.copy()
            g.iloc[first, g.columns.get_loc("count")] = [values[a:e + 1].sum() for a, e in zip(first, ends)]
            g.iloc[first, g.columns.get_loc("days")] = n[ends]
            parts.append(g[(n == 1) | np.isin(np.arange(len(g)), first)])
        out = pd.concat(parts).sort_index().drop(columns=["_span"])
    return out.drop(columns=["span"], errors="ignore").reset_index(drop=True)
