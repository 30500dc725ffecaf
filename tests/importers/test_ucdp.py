"""UCDP GED reader, on invented fixtures in UCDP's published 49-column layout."""

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from escalate.errors import DataValidationError
from escalate.importers import PartyMapping, read_ucdp_ged

FIXTURES = Path(__file__).parents[1] / "fixtures" / "importers"
MAPPING = FIXTURES / "ucdp_mapping.toml"
GED = FIXTURES / "ucdp_ged.csv"

# Hand-checked against ucdp_ged.csv and ucdp_mapping.toml; rows 2, 7 and 12 span several days.
EXPECTED = {
    "start": [("2023-10-08", "israel", 2), ("2023-10-08", "hamas", 1), ("2023-10-09", "israel", 1),
              ("2023-10-10", "hamas", 1), ("2023-10-11", "israel", 2), ("2023-10-12", "israel", 1),
              ("2023-10-14", "israel", 1)],
    "end": [("2023-10-08", "israel", 1), ("2023-10-08", "hamas", 1), ("2023-10-09", "israel", 1),
            ("2023-10-10", "israel", 1), ("2023-10-11", "israel", 2), ("2023-10-11", "hamas", 1),
            ("2023-10-12", "israel", 1)],
    "drop": [("2023-10-08", "israel", 1), ("2023-10-08", "hamas", 1), ("2023-10-09", "israel", 1),
             ("2023-10-11", "israel", 2), ("2023-10-12", "israel", 1)],
}


def with_policy(policy):
    return dataclasses.replace(PartyMapping.from_toml(MAPPING), multi_day=policy)


def counts_as_tuples(result):
    return [(d.strftime("%Y-%m-%d"), s, c) for d, s, c in result.counts.itertuples(index=False)]


def rewrite(dst, change):
    with open(GED, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    for row in rows:
        change(row)
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)
    return dst


@pytest.mark.parametrize("policy", ["start", "end", "drop"])
def test_multi_day_policies(policy):
    result = read_ucdp_ged(GED, with_policy(policy))
    assert counts_as_tuples(result) == EXPECTED[policy]
    p = result.provenance
    assert p["multi_day"] == {"policy": policy, "events": 3}
    assert p["rows_read"] == p["rows_kept"] + sum(p["filtered_out"].values()) + p["rows_unmapped"]
    assert "multi-day events: 3" in result.report()


def test_default_policy_is_start(tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING.read_text().replace('multi_day = "start"', ""), encoding="utf-8")
    result = read_ucdp_ged(GED, mapping)
    assert counts_as_tuples(result) == EXPECTED["start"]
    assert result.provenance["multi_day"]["policy"] == "start"
    assert "dated by their first day" in result.report()


def test_filtered_out_per_filter():
    assert read_ucdp_ged(GED, with_policy("start")).provenance["filtered_out"] == {
        "event_types": 1, "countries": 1, "start": 1, "end": 0}
    assert read_ucdp_ged(GED, with_policy("end")).provenance["filtered_out"]["end"] == 1
    assert read_ucdp_ged(GED, with_policy("drop")).provenance["filtered_out"]["multi_day"] == 3


def test_marks():
    events = read_ucdp_ged(GED, MAPPING).events.set_index("source_row")
    assert events.loc[3, "event_type"] == "one-sided" and events.loc[1, "event_type"] == "state-based"
    assert (events["sub_event_type"] == "").all()
    assert events.loc[2, "fatalities"] == 5 and events["fatalities"].dtype == "int64"  # UCDP best
    assert events.loc[2, "actor"] == "Government of Israel" and events.loc[2, "country"] == "Israel"
    assert str(events["date"].dtype) == "datetime64[ns]"
    assert events.loc[14, "date"].strftime("%Y-%m-%d") == "2023-10-12"  # date without a time part


def test_non_state_events_are_named_for_filters(tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text('schema_version = 1\n[streams.hamas]\nactors = ["Hamas"]\n'
                       '[filters]\nevent_types = ["non-state"]\n', encoding="utf-8")
    result = read_ucdp_ged(GED, mapping)
    assert result.events["source_row"].tolist() == [5] and result.events["event_type"].tolist() == ["non-state"]


def test_unmapped_and_provenance():
    result = read_ucdp_ged(GED, MAPPING)
    assert result.unmapped.to_dict("records") == [{"actor": "Palestinian Islamic Jihad", "events": 2}]
    assert "Palestinian Islamic Jihad" in result.report()
    p = result.provenance
    json.dumps(p)
    assert p["source"] == "ucdp_ged" and p["sha256"] == hashlib.sha256(GED.read_bytes()).hexdigest()
    assert p["rows_read"] == 14 and p["rows_kept"] == 9 and p["actor_columns"] == ["side_a"]


def test_side_b_as_actor_column():
    result = read_ucdp_ged(GED, dataclasses.replace(with_policy("start"), actor_columns=("side_a", "side_b")))
    # row 4: Government of Israel vs Hamas counts for both
    assert result.events.query("source_row == 4")["stream"].tolist() == ["israel", "hamas"]


def test_missing_header_row():
    with pytest.raises(DataValidationError) as info:
        read_ucdp_ged(FIXTURES / "ucdp_noheader.csv", MAPPING)
    message = str(info.value)
    assert "header row is missing" in message and "'900001'" in message
    assert "must start with the column names" in message and "type_of_violence" in message


def test_missing_columns(tmp_path):
    path = tmp_path / "cut.csv"
    lines = GED.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line.rsplit(",", 14)[0] for line in lines) + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"lacks the columns date_start, date_end, best; expected a UCDP GED"):
        read_ucdp_ged(path, MAPPING)


def test_bad_dates_and_codes(tmp_path):
    def bad_date(row):
        if row["id"] == "900004":
            row["date_start"] = "9 Oct 2023"

    with pytest.raises(DataValidationError, match=r"date_start in row 4 .*'9 Oct 2023'.*ISO date"):
        read_ucdp_ged(rewrite(tmp_path / "a.csv", bad_date), MAPPING)

    def reversed_(row):
        if row["id"] == "900005":
            row["date_end"] = "2023-10-01"

    with pytest.raises(DataValidationError, match=r"date_end in row 5 .*on or after date_start"):
        read_ucdp_ged(rewrite(tmp_path / "b.csv", reversed_), MAPPING)

    def bad_type(row):
        if row["id"] == "900006":
            row["type_of_violence"] = "4"

    with pytest.raises(DataValidationError, match=r"type_of_violence in row 6 .*'4'"):
        read_ucdp_ged(rewrite(tmp_path / "c.csv", bad_type), MAPPING)


def test_missing_file(tmp_path):
    with pytest.raises(DataValidationError, match="ged_missing.csv"):
        read_ucdp_ged(tmp_path / "ged_missing.csv", MAPPING)
