"""Corpus: truce outcomes, the censoring rule, history windows and event windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from escalate import Corpus, DataValidationError


def truce_table(**changes):
    table = pd.DataFrame({
        "truce_id": ["c", "e", "r", "h", "u", "n", "x"],
        "group": ["g1", "g1", "g2", "g2", "g3", "g3", "g3"],
        "start": ["2000-01-01"] * 7,
        "end": ["2000-01-11", "2000-01-31", "2000-01-06", "", "2000-01-03", "", ""],
        "end_type": ["collapsed", "expired", "replaced", "holding", "unknown", "never_effective", "collapsed"],
        "verification": [0.0, 1.0, 0.5, 0.0, 0.0, 0.0, 1.0],
        "penalty_tier": [0, 1, 2, 0, 0, 0, 0],
        "written": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
    })
    for column, value in changes.items():
        table[column] = value
    return table


def test_the_censoring_rule():
    corpus = Corpus.from_frames(truce_table(), cutoff="2000-03-01", covariates=["written"])
    t = corpus.truces.set_index("truce_id")
    # collapsed on day 10: at risk on days 0..10; the others survive the days before their end
    assert t.loc["c", "days_at_risk"] == 11 and t.loc["c", "collapsed"]
    assert t.loc["e", "days_at_risk"] == 30 and not t.loc["e", "collapsed"]
    assert t.loc["r", "days_at_risk"] == 5
    assert t.loc["h", "days_at_risk"] == 60  # Jan + Feb 2000 until the cutoff
    assert t.loc["u", "days_at_risk"] == 2
    assert t.loc["n", "excluded"] == "never effective"
    assert t.loc["x", "excluded"] == "collapsed without an exact end date"
    assert set(corpus.at_risk["truce_id"]) == {"c", "e", "r", "h", "u"}
    assert corpus.groups == ("g1", "g2", "g3")
    assert "left out: " in corpus.summary()


@pytest.mark.parametrize("changes,message", [
    ({"end_type": ["collapse"] + ["expired"] * 6}, "end_type"),
    ({"group": ["", "g", "g", "g", "g", "g", "g"]}, "'group' is empty"),
    ({"end": ["1999-12-01", "", "", "", "", "", ""]}, "before 'start'"),
    ({"end": ["2000-05-01", "", "", "", "", "", ""]}, "after the cutoff"),
    ({"verification": [2.0] * 7}, "verification"),
    ({"penalty_tier": [-1] * 7}, "penalty_tier"),
    ({"written": ["yes"] * 7}, "written"),
])
def test_bad_truce_tables_name_the_column_and_rows(changes, message):
    with pytest.raises(DataValidationError, match=message):
        Corpus.from_frames(truce_table(**changes), cutoff="2000-03-01", covariates=["written"])


def daily_rows(truce_id, start, first, last, rng):
    dates = pd.Timestamp(start) + pd.to_timedelta(np.arange(first, last), unit="D")
    return pd.DataFrame({"truce_id": truce_id, "date": dates, "stream": "events",
                         "count": rng.poisson(1.0, len(dates))})


def test_event_series_with_history_and_the_last_window():
    rng = np.random.default_rng(0)
    counts = pd.concat([daily_rows("c", "2000-01-01", -5, 11, rng), daily_rows("h", "2000-01-01", -5, 60, rng),
                        daily_rows("h", "2000-01-01", 60, 70, rng)])  # days after the cutoff are ignored
    corpus = Corpus.from_frames(truce_table(), counts, cutoff="2000-03-01", covariates=["written"],
                                history_days=5, event_window_days=20)
    assert corpus.provenance["count_rows_outside"] == 10
    data = corpus.event_data()
    assert data.truce_ids == ("c", "h")
    assert data.durations.tolist() == [11.0, 20.0]
    assert corpus.event_offsets() == {"c": 0, "h": 40}
    totals = corpus.daily_totals("h")
    # the window of "h" is its last 20 days at risk; the 5 days before it are its history
    window = data.history_and_days()
    rows = slice(window["day_offsets"][1], window["day_offsets"][2])
    assert window["counts"][rows, 0].tolist() == totals[5 + 35:5 + 60].tolist()
    assert window["span"][rows, 0].tolist() == [0.0] * 5 + [1.0] * 20
    with pytest.raises(DataValidationError, match="lacks days"):
        Corpus.from_frames(truce_table(), counts.iloc[1:], cutoff="2000-03-01", history_days=5)
    with pytest.raises(DataValidationError, match="unknown truce_id"):
        Corpus.from_frames(truce_table(), counts.assign(truce_id="zz"), cutoff="2000-03-01", history_days=5)


def test_the_other_ends_corpus_makes_expiry_and_replacement_the_event_and_collapse_censor():
    corpus = Corpus.from_frames(truce_table(), cutoff="2000-03-01", covariates=["written"])
    other = corpus.other_ends().truces.set_index("truce_id")
    # expired on day 30 (not at risk of collapse on it): at risk of ending otherwise on days 0..30
    assert other.loc["e", "days_at_risk"] == 31 and other.loc["e", "collapsed"]
    assert other.loc["r", "days_at_risk"] == 6 and other.loc["r", "collapsed"]
    # collapsed on day 10: had not ended otherwise on days 0..10, censored
    assert other.loc["c", "days_at_risk"] == 11 and not other.loc["c", "collapsed"]
    # holding and unknown ends censor as before; exclusions stay
    assert other.loc["h", "days_at_risk"] == 60 and not other.loc["h", "collapsed"]
    assert other.loc["u", "days_at_risk"] == 2 and not other.loc["u", "collapsed"]
    assert other.loc["n", "excluded"] == "never effective" and not other.loc["n", "collapsed"]
    assert corpus.other_ends().counts is None and "ended otherwise" in corpus.other_ends().provenance["outcome"]
