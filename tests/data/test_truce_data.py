"""TruceData: construction, clocks, and one test per validation rule (what the message names)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import escalate
from escalate import DataValidationError, TruceData


def tables():
    events = pd.DataFrame({"truce_id": ["a", "a", "b"], "time": [1.5, 3.0, 101.0],
                           "stream": ["x", "y", "x"], "source": ["r1", "r2", "r3"]})
    truces = pd.DataFrame({"truce_id": ["a", "b"], "start": [0.0, 100.0], "end": [10.0, 120.0]})
    covs = pd.DataFrame({"truce_id": ["a", "a", "b"], "start": [0.0, 5.0, 100.0],
                         "stream": [None, "y", None], "verification": [0.2, 0.2, 0.8],
                         "penalty_tier": [0, 2, 1]})
    return events, truces, covs


def test_internal_clock_is_days_since_truce_start():
    data = TruceData.from_frames(*tables())
    assert data.streams == ("x", "y") and data.truce_ids == ("a", "b")
    assert data.resolution == "exact"
    assert data.events["time"].tolist() == [1.5, 3.0, 1.0]
    assert data.events["source"].tolist() == ["r1", "r2", "r3"]  # marks kept
    np.testing.assert_array_equal(data.durations, [10.0, 20.0])
    seg = data.segments
    assert seg.start.tolist() == [0.0, 5.0, 0.0] and seg.end.tolist() == [5.0, 10.0, 20.0]
    assert seg.tier.tolist() == [[0, 0], [0, 2], [1, 1]]


def test_timestamps_and_paths(tmp_path):
    events, truces, covs = tables()
    day0 = pd.Timestamp("2024-01-01")
    for frame, col in ((events, "time"), (truces, "start"), (truces, "end"), (covs, "start")):
        frame[col] = [(day0 + pd.Timedelta(days=float(v))).isoformat() for v in frame[col]]
    for name, frame in (("e", events), ("t", truces), ("c", covs)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    events.to_parquet(tmp_path / "e.parquet")
    for ev in (tmp_path / "e.csv", tmp_path / "e.parquet"):
        data = TruceData.from_frames(ev, tmp_path / "t.csv", tmp_path / "c.csv")
        assert data.clock == "datetime"
        assert data.events["time"].tolist() == [1.5, 3.0, 1.0]
    assert "sha256" in data.provenance["sources"]["truces"]


def test_spec_stream_order_and_empty_streams_are_valid():
    events, truces, covs = tables()
    data = TruceData.from_frames(events, truces, covs, streams=["y", "x", "z"])
    assert data.streams == ("y", "x", "z")
    assert escalate.log_likelihood(data, {"mu_log": [0, 0, 0], "branching": np.eye(3) * 0.1,
                                          "decay": 1.0, "mu_tier": [0, 0]}) < 0


def test_truce_without_events_is_valid():
    events, truces, covs = tables()
    data = TruceData.from_frames(events[events.truce_id == "a"], truces, covs)
    assert len(data.truce_ids) == 2


def _error(mutate, needle, **kw):
    events, truces, covs = tables()
    mutate(events, truces, covs)
    with pytest.raises(DataValidationError) as info:
        TruceData.from_frames(events, truces, covs, **kw)
    assert needle in str(info.value), str(info.value)
    return str(info.value)


def test_unknown_truce_id():
    msg = _error(lambda e, t, c: e.__setitem__("truce_id", ["a", "zz", "b"]), "unknown truce_id ['zz']")
    assert "events table" in msg and "row 2" in msg


def test_unknown_stream():
    msg = _error(lambda e, t, c: None, "unknown stream ['y']", streams=["x"])
    assert "row 2" in msg


def test_event_outside_window():
    msg = _error(lambda e, t, c: e.__setitem__("time", [1.5, 10.0, 101.0]), "outside their truce window")
    assert "row 2" in msg


def test_nan_and_infinite_values():
    _error(lambda e, t, c: e.__setitem__("time", [1.5, np.nan, 101.0]), "column 'time' has missing")
    _error(lambda e, t, c: c.__setitem__("verification", [0.2, np.inf, 0.8]), "'verification' has missing")


def test_verification_outside_unit_interval():
    msg = _error(lambda e, t, c: c.__setitem__("verification", [0.2, 1.5, 0.8]), "verification must lie in [0, 1]")
    assert "row 2" in msg


@pytest.mark.parametrize("tiers", [[0, 1.5, 1], [0, -1, 1]])
def test_non_integer_or_negative_tier(tiers):
    _error(lambda e, t, c: c.__setitem__("penalty_tier", tiers), "penalty_tier must be a whole number >= 0")


def test_timeline_must_begin_at_truce_start():
    msg = _error(lambda e, t, c: c.__setitem__("start", [1.0, 5.0, 100.0]), "must begin at the truce start")
    assert "'a'" in msg


def test_timeline_must_cover_every_stream_at_start():
    def mutate(e, t, c):
        c.loc[0, "stream"] = "x"
    _error(mutate, "no penalty_tier for stream(s) ['y']")


def test_tied_times_within_a_stream_point_to_daily_likelihood():
    msg = _error(lambda e, t, c: e.__setitem__("stream", ["x", "x", "x"]) or e.__setitem__("time", [3.0, 3.0, 101.0]),
                 "share an exact time")
    assert "from_daily_counts" in msg and "time_resolution = \"day\"" in msg


def test_duplicate_truce_ids():
    _error(lambda e, t, c: t.__setitem__("truce_id", ["a", "a"]), "duplicate truce_id ['a']")


def test_mixed_clocks():
    _error(lambda e, t, c: t.__setitem__("start", ["2024-01-01", "2024-02-01"]), "one clock")


def test_missing_columns_and_files(tmp_path):
    _error(lambda e, t, c: e.pop("stream"), "missing column(s) ['stream']")
    with pytest.raises(DataValidationError, match="file not found"):
        TruceData.from_frames(tmp_path / "nope.csv", *tables()[1:])


def test_conflicting_verification_at_one_time():
    def mutate(e, t, c):
        c.loc[len(c)] = {"truce_id": "a", "start": 5.0, "stream": "x", "verification": 0.9, "penalty_tier": 1}
    _error(mutate, "set different 'verification' values")


def test_end_before_start():
    _error(lambda e, t, c: t.__setitem__("end", [10.0, 90.0]), "end is not after start")
