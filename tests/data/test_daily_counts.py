"""Day-resolution data and the daily likelihood (MODEL.md 3b)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from escalate import DataValidationError, TruceData


def test_wide_form_dates_and_days_outside_truces():
    dates = pd.date_range("2024-01-01", "2024-01-20")
    wide = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "a": np.arange(20), "b": 1, "c": 7})
    truces = pd.DataFrame({"truce_id": ["x"], "start": ["2024-01-05"], "end": ["2024-01-15"]})
    covs = pd.DataFrame({"truce_id": ["x"], "start": ["2024-01-05"], "verification": [0.5], "penalty_tier": [0]})
    data = TruceData.from_daily_counts(wide, truces, covs, streams=["b", "a"])
    assert data.streams == ("b", "a") and data.clock == "datetime"
    assert data.provenance["days_outside_truces"] == 10
    arrays = data.daily_arrays()
    np.testing.assert_array_equal(arrays["counts"][:, 1], np.arange(4, 14))
    np.testing.assert_array_equal(arrays["counts"][:, 0], 1)


def test_missing_days_are_listed_unless_filled():
    counts = pd.DataFrame({"date": [0.0, 2.0], "stream": ["a", "a"], "count": [1, 2]})
    truces = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "end": [4.0]})
    covs = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    with pytest.raises(DataValidationError) as info:
        TruceData.from_daily_counts(counts, truces, covs)
    assert "x day 1 (a)" in str(info.value) and "fill_missing=0" in str(info.value)
    # days without a row inside the observed period are zeros; day 3, after the last counted date,
    # has not been observed: filling it would invent a quiet day
    with pytest.raises(DataValidationError, match="run past the last date of the counts"):
        TruceData.from_daily_counts(counts, truces, covs, fill_missing=0)
    observed = truces.assign(end=[3.0])
    data = TruceData.from_daily_counts(counts, observed, covs, fill_missing=0)
    assert data.daily_arrays()["counts"][:, 0].tolist() == [1, 0, 2]
    assert data.provenance["filled_cells"] == 1


@pytest.mark.parametrize("mutate,needle", [
    (lambda c, t, v: c.__setitem__("count", [1, -2, 0, 0]), "whole numbers >= 0"),
    (lambda c, t, v: c.__setitem__("count", [1, 2.5, 0, 0]), "whole numbers >= 0"),
    (lambda c, t, v: c.__setitem__("date", [0.0, 0.0, 2.0, 3.0]), "repeat a (truce, day, stream)"),
    (lambda c, t, v: c.__setitem__("date", [0.0, 1.5, 2.0, 3.0]), "not on a day boundary"),
    (lambda c, t, v: v.__setitem__("start", [0.0, 1.5]), "change covariates inside a day"),
    (lambda c, t, v: t.__setitem__("end", [4.5]), "do not span whole days"),
])
def test_daily_validation(mutate, needle):
    counts = pd.DataFrame({"date": [0.0, 1.0, 2.0, 3.0], "stream": ["a"] * 4, "count": [1, 2, 0, 0]})
    truces = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "end": [4.0]})
    covs = pd.DataFrame({"truce_id": ["x", "x"], "start": [0.0, 2.0], "verification": [0.0, 0.5], "penalty_tier": [0, 1]})
    mutate(counts, truces, covs)
    with pytest.raises(DataValidationError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        TruceData.from_daily_counts(counts, truces, covs, fill_missing=0)


def test_exact_data_aggregate_to_days(small_data):
    events = pd.DataFrame({"truce_id": ["a"] * 4, "time": [0.2, 0.9, 1.1, 3.99], "stream": ["x", "x", "y", "x"]})
    truces = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "end": [5.0]})
    covs = pd.DataFrame({"truce_id": ["a"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    daily = TruceData.from_frames(events, truces, covs).to_daily()
    assert daily.resolution == "day"
    assert daily.daily_arrays()["counts"].tolist() == [[2, 0], [0, 1], [0, 0], [1, 0], [0, 0]]
    assert daily.stream_totals().tolist() == [3, 1]


def test_an_ongoing_truce_is_observed_through_the_last_counted_day():
    counts = pd.DataFrame({"date": ["2025-01-01", "2025-01-02", "2025-01-03"], "a": [1, 0, 2]})
    truces = pd.DataFrame({"truce_id": ["x"], "start": ["2025-01-01"], "end": [None]})
    covs = pd.DataFrame({"truce_id": ["x"], "start": ["2025-01-01"], "verification": [0.5], "penalty_tier": [0]})
    data = TruceData.from_daily_counts(counts, truces, covs)
    assert data.durations.tolist() == [3.0]
    assert data.provenance["open_truces_end"].startswith("2025-01-04")


def test_an_empty_count_is_a_missing_day_and_a_days_column_a_multi_day_report():
    """Wide form with an empty cell (missing) and a 72-hour report (days = 3): the report's
    three days hold its share and the span codes; totals and rates leave the missing day out."""
    wide = pd.DataFrame({"date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-06", "2024-01-07"],
                         "a": [2.0, None, 9.0, 0.0, 1.0], "days": [1, 1, 3, 1, 1]})
    truces = pd.DataFrame({"truce_id": ["x"], "start": ["2024-01-01"], "end": ["2024-01-08"]})
    covs = pd.DataFrame({"truce_id": ["x"], "start": ["2024-01-01"], "verification": [0.5], "penalty_tier": [0]})
    data = TruceData.from_daily_counts(wide, truces, covs)
    arrays = data.daily_arrays()
    np.testing.assert_array_equal(arrays["counts"][:, 0], [2, np.nan, 3, 3, 3, 0, 1])
    np.testing.assert_array_equal(arrays["span"][:, 0], [1, 1, -1, -1, 3, 1, 1])
    assert data.provenance["missing_cells"] == 1 and data.provenance["multi_day_reports"] == 1
    assert int(data.stream_totals()["a"]) == 12
    assert data.observed_rates()[0] == pytest.approx(12 / 6)  # six days observed, one missing


@pytest.mark.parametrize("rows,needle", [
    ({"count": [1, 5, 0], "days": [1, 0, 1]}, "'days'"),
    ({"count": [1, None, 0], "days": [1, 2, 1]}, "multi-day reports without a count"),
    ({"count": [1, 5, 0], "days": [1, 2, 1]}, "repeat a (truce, day, stream)"),  # covers day 2, given too
    ({"count": [1, 0, 5], "days": [1, 1, 3]}, "run past the end of their truce"),
    ({"count": [1, "many", 0], "days": [1, 1, 1]}, "non-numeric"),
])
def test_bad_reports_and_missing_days_are_named(rows, needle):
    counts = pd.DataFrame({"date": [0.0, 1.0, 2.0], "stream": ["a"] * 3, **rows})
    truces = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "end": [3.0]})
    covs = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    with pytest.raises(DataValidationError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        TruceData.from_daily_counts(counts, truces, covs)


def test_reports_go_back_to_rows_and_a_report_open_at_the_cut_is_missing_before_it():
    """report_rows (used by as-of data in backtests): a whole report is one row again; a report
    that ends on or after the cut would leak later days into the past, so its days before the
    cut are missing."""
    from escalate.data.daily import report_rows

    counts = pd.DataFrame({"date": [0.0, 1.0, 4.0], "stream": "a", "count": [1, 6, 9], "days": [1, 3, 3]})
    truces = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "end": [7.0]})
    covs = pd.DataFrame({"truce_id": ["x"], "start": [0.0], "verification": [0.0], "penalty_tier": [0]})
    data = TruceData.from_daily_counts(counts, truces, covs)
    whole = report_rows(data.counts)
    assert whole[["day", "count", "days"]].values.tolist() == [[0, 1, 1], [1, 6, 3], [4, 9, 3]]
    cut = report_rows(data.counts, {"x": 5})  # days 0-4: the second report (days 4-6) is open
    assert cut["day"].tolist() == [0, 1, 4] and cut["days"].tolist() == [1, 3, 1]
    assert cut["count"].iloc[:2].tolist() == [1, 6] and np.isnan(cut["count"].iloc[2])
