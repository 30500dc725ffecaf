"""ACLED reader, on invented fixtures in ACLED's published 31-column layout."""

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from escalate.errors import DataValidationError
from escalate.importers import ImportResult, PartyMapping, read_acled

FIXTURES = Path(__file__).parents[1] / "fixtures" / "importers"
MAPPING = FIXTURES / "acled_mapping.toml"
ISO = FIXTURES / "acled_iso.csv"

# Hand-checked against acled_iso.csv and acled_mapping.toml (israel listed first).
EXPECTED_COUNTS = [
    ("2023-10-08", "israel", 2),
    ("2023-10-08", "hezbollah", 1),
    ("2023-10-09", "israel", 1),
    ("2023-10-10", "hezbollah", 1),
    ("2023-10-11", "hezbollah", 2),
    ("2023-10-12", "israel", 1),
    ("2023-10-13", "hezbollah", 1),
]


def counts_as_tuples(result):
    return [(d.strftime("%Y-%m-%d"), s, c) for d, s, c in result.counts.itertuples(index=False)]


def rewrite(src, dst, change):
    """Copy an ACLED fixture, applying ``change(row_dict)`` to each data row."""
    with open(src, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    for row in rows:
        change(row)
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)
    return dst


def test_counts_events_and_dtypes():
    result = read_acled(ISO, MAPPING)
    assert isinstance(result, ImportResult)
    assert counts_as_tuples(result) == EXPECTED_COUNTS
    assert result.counts["count"].dtype == "int64"
    assert result.counts["date"].dtype == "datetime64[ns]"
    events = result.events
    assert list(events.columns) == ["date", "stream", "actor", "event_type", "sub_event_type", "country",
                                    "fatalities", "source_row"]
    assert events["date"].dtype == "datetime64[ns]" and (events["date"] == events["date"].dt.normalize()).all()
    assert events["fatalities"].dtype == "int64"
    assert events["source_row"].tolist() == [3, 4, 2, 7, 9, 13, 14, 15, 17]
    prefix_row = events.set_index("source_row").loc[4]
    assert prefix_row["actor"] == "Military Forces of Israel (2009-2022)" and prefix_row["stream"] == "israel"
    assert prefix_row["fatalities"] == 2 and prefix_row["country"] == "Lebanon"
    assert result.streams == ("israel", "hezbollah")


def test_blank_fatalities_read_as_zero():
    events = read_acled(ISO, MAPPING).events.set_index("source_row")
    assert events.loc[2, "fatalities"] == 0 and events.loc[13, "fatalities"] == 0


def test_unmapped_actor_report():
    result = read_acled(ISO, MAPPING)
    assert result.unmapped.to_dict("records") == [
        {"actor": "Amal Movement", "events": 2},
        {"actor": "Unidentified Armed Group (Lebanon)", "events": 1},
    ]
    report = result.report()
    assert "unmapped actors: 2 names" in report
    assert "Amal Movement" in report and "Unidentified Armed Group (Lebanon)" in report
    assert "israel 4, hezbollah 5" in report


def test_report_shows_ten_most_frequent_unmapped(tmp_path):
    names = iter(f"Invented Group {i:02d}" for i in range(100))
    path = rewrite(ISO, tmp_path / "many.csv", lambda row: row.update(actor1=next(names)))
    result = read_acled(path, MAPPING)
    assert len(result.unmapped) == 12 and result.events.empty and result.counts.empty
    report = result.report()
    assert "unmapped actors: 12 names (the 10 most frequent shown)" in report
    assert sum("Invented Group" in line for line in report.splitlines()) == 10


def test_provenance():
    result = read_acled(ISO, MAPPING)
    p = result.provenance
    json.dumps(p)
    assert p["source"] == "acled" and p["path"] == str(ISO)
    assert p["sha256"] == hashlib.sha256(ISO.read_bytes()).hexdigest()
    assert p["rows_read"] == 18 and p["rows_kept"] == 9 and p["events"] == 9
    assert p["filtered_out"] == {"event_types": 2, "sub_event_types": 1, "countries": 1, "start": 1, "end": 1}
    assert p["rows_unmapped"] == 3 and p["unmapped_actors"] == 2
    assert p["rows_read"] == p["rows_kept"] + sum(p["filtered_out"].values()) + p["rows_unmapped"]
    assert p["date_format"] == "%Y-%m-%d" and p["hxl_row_skipped"] is False
    assert p["mapping"] == PartyMapping.from_toml(MAPPING).to_dict()
    assert p["mapping_file"] == str(MAPPING)


def test_mapping_object_or_path_give_the_same_result():
    a = read_acled(ISO, MAPPING)
    b = read_acled(str(ISO), PartyMapping.from_toml(MAPPING))
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.counts, b.counts)


def test_dd_month_yyyy_dates():
    result = read_acled(FIXTURES / "acled_month.csv", MAPPING)
    assert counts_as_tuples(result) == EXPECTED_COUNTS
    assert result.provenance["date_format"] == "%d %B %Y"


@pytest.mark.parametrize(("fmt", "example"), [("%d-%b-%y", "8-Oct-23"), ("%d/%m/%Y", "08/10/2023")])
def test_other_date_formats(tmp_path, fmt, example):
    def change(row):
        row["event_date"] = pd.Timestamp(row["event_date"]).strftime(fmt).lstrip("0")

    result = read_acled(rewrite(ISO, tmp_path / "dates.csv", change), MAPPING)
    assert counts_as_tuples(result) == EXPECTED_COUNTS
    assert result.provenance["date_format"] == fmt


def test_hdx_hashtag_row_is_skipped():
    result = read_acled(FIXTURES / "acled_hdx.csv", MAPPING)
    assert counts_as_tuples(result) == EXPECTED_COUNTS
    assert result.provenance["hxl_row_skipped"] is True and result.provenance["rows_read"] == 18
    # source_row counts rows below the header line, so the hashtag row is row 1
    assert result.events["source_row"].tolist() == [4, 5, 3, 8, 10, 14, 15, 16, 18]


def test_unreadable_dates_name_file_rows_and_value(tmp_path):
    def change(row):
        if row["event_id_cnty"] in ("LBN90003", "ISR90009"):
            row["event_date"] = "2023-13-45" if row["event_id_cnty"] == "LBN90003" else "sometime"

    path = rewrite(ISO, tmp_path / "bad.csv", change)
    with pytest.raises(DataValidationError) as info:
        read_acled(path, MAPPING)
    message = str(info.value)
    assert str(path) in message and "event_date" in message and "rows 3, 9" in message
    assert "'2023-13-45'" in message and "%d %B %Y" in message


def test_mixed_formats_are_rejected(tmp_path):
    def change(row):
        if row["event_id_cnty"] == "LBN90002":
            row["event_date"] = "08 October 2023"

    with pytest.raises(DataValidationError, match=r"row 2 .*'08 October 2023'.*most rows use %Y-%m-%d"):
        read_acled(rewrite(ISO, tmp_path / "mixed.csv", change), MAPPING)


def test_month_first_dates_are_not_guessed(tmp_path):
    def change(row):
        row["event_date"] = pd.Timestamp(row["event_date"]).strftime("%m/%d/%Y")

    with pytest.raises(DataValidationError, match="Month/day/year dates are not supported"):
        read_acled(rewrite(ISO, tmp_path / "us.csv", change), MAPPING)


def test_missing_columns(tmp_path):
    table = pd.read_csv(ISO, dtype=str, keep_default_na=False)
    path = tmp_path / "short.csv"
    table.drop(columns=["event_date", "fatalities"]).to_csv(path, index=False)
    with pytest.raises(DataValidationError) as info:
        read_acled(path, MAPPING)
    message = str(info.value)
    assert str(path) in message and "event_date, fatalities" in message and "an ACLED export" in message


def test_missing_data_file(tmp_path):
    with pytest.raises(DataValidationError, match="absent.csv"):
        read_acled(tmp_path / "absent.csv", MAPPING)


def test_bad_fatalities(tmp_path):
    def change(row):
        if row["event_id_cnty"] == "LBN90004":
            row["fatalities"] = "many"

    with pytest.raises(DataValidationError, match=r"fatalities in row 4 .*'many'"):
        read_acled(rewrite(ISO, tmp_path / "fat.csv", change), MAPPING)


def test_ambiguous_actor_is_an_error(tmp_path):
    mapping = tmp_path / "overlap.toml"
    text = MAPPING.read_text().replace("[filters]", '[streams.lebanon_groups]\nprefixes = ["Hez"]\n\n[filters]')
    mapping.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        read_acled(ISO, mapping)
    message = str(info.value)
    assert "'Hezbollah'" in message and "hezbollah, lebanon_groups" in message
    assert "rows 2, 9, 13, 14, 17" in message and str(mapping) in message


def test_several_actor_columns(tmp_path):
    base = PartyMapping.from_toml(MAPPING)
    result = read_acled(ISO, dataclasses.replace(base, actor_columns=("actor1", "actor2")))
    # row 3: Israel (actor1) vs Hezbollah (actor2) now counts in both streams
    assert result.events.query("source_row == 3")["stream"].tolist() == ["israel", "hezbollah"]
    # row 8: Amal Movement (unmapped) vs Israel: kept through actor2
    assert result.events.query("source_row == 8")["actor"].tolist() == ["Military Forces of Israel (2022-)"]
    assert {"Civilians (Lebanon)": 1, "Amal Movement": 2} == {
        r.actor: r.events for r in result.unmapped.itertuples() if r.actor in ("Civilians (Lebanon)", "Amal Movement")}
    assert result.provenance["rows_unmapped"] == 2  # rows 10 and 11


def test_associated_actor_lists_are_split(tmp_path):
    def change(row):
        if row["event_id_cnty"] == "LBN90011":
            row["assoc_actor_1"] = "Amal Movement; Hezbollah"

    base = PartyMapping.from_toml(MAPPING)
    path = rewrite(ISO, tmp_path / "assoc.csv", change)
    result = read_acled(path, dataclasses.replace(base, actor_columns=("actor1", "assoc_actor_1")))
    assert result.events.query("source_row == 11")[["stream", "actor"]].values.tolist() == [["hezbollah", "Hezbollah"]]


def test_filter_values_not_found_are_reported(tmp_path):
    base = PartyMapping.from_toml(MAPPING)
    filters = dataclasses.replace(base.filters, countries=("Israel", "Lebanon", "Lebanonn"))
    result = read_acled(ISO, dataclasses.replace(base, filters=filters))
    assert result.provenance["filter_values_not_found"] == {"countries": ["Lebanonn"]}
    assert "filters.countries values not found in the file: 'Lebanonn'" in result.report()


def test_no_filters_keeps_everything_that_maps(tmp_path):
    mapping = tmp_path / "plain.toml"
    mapping.write_text('schema_version = 1\n[streams.hezbollah]\nactors = ["Hezbollah"]\n', encoding="utf-8")
    result = read_acled(ISO, mapping)
    assert result.provenance["filtered_out"] == {}
    assert result.events["source_row"].tolist() == [1, 2, 5, 6, 9, 13, 14, 17]
    assert result.provenance["rows_unmapped"] == 10


def test_import_to_truce_data_keeps_provenance_into_the_fit_data(tmp_path):
    import pandas as pd

    from escalate.data.tree import data_to_tree, tree_to_data
    from escalate.importers import read_acled

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "importers"
    result = read_acled(fixtures / "acled_iso.csv", fixtures / "acled_mapping.toml")
    first, last = result.counts["date"].min(), result.counts["date"].max()
    truces = pd.DataFrame({"truce_id": ["t"], "start": [first], "end": [last + pd.Timedelta(days=1)]})
    covs = pd.DataFrame({"truce_id": ["t"], "start": [first], "verification": [0.5], "penalty_tier": [1]})
    data = result.to_truce_data(truces, covs)
    assert data.resolution == "day" and data.streams == result.streams
    assert data.stream_totals().sum() == result.counts["count"].sum()
    again = tree_to_data(data_to_tree(data))  # what a saved fit stores
    assert again.provenance["import"]["sha256"] == result.provenance["sha256"]
