"""Party mapping files: parsing, round trip and SpecError messages."""

import datetime as dt
from pathlib import Path

import pytest

from escalate.errors import DataValidationError, SpecError
from escalate.importers import PartyMapping, read_acled, read_ucdp_ged

FIXTURES = Path(__file__).parents[1] / "fixtures" / "importers"
GOOD = """\
schema_version = 1
[streams.israel]
actors = ["Military Forces of Israel (2022-)"]
prefixes = ["Military Forces of Israel"]
patterns = ["^IDF"]
[streams.hezbollah]
actors = ["Hezbollah"]
"""


def write(tmp_path, text, name="mapping.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_fixture_mapping_parses_in_table_order():
    m = PartyMapping.from_toml(FIXTURES / "acled_mapping.toml")
    assert m.stream_names == ("israel", "hezbollah")
    assert m.filters.start == dt.date(2023, 10, 8) and m.filters.end == dt.date(2023, 10, 15)
    assert m.filters.countries == ("Israel", "Lebanon")
    assert m.actor_columns == ("actor1",) and m.multi_day is None
    assert m.source == str(FIXTURES / "acled_mapping.toml")


def test_stream_order_follows_toml_not_alphabet(tmp_path):
    m = PartyMapping.from_toml(write(tmp_path, GOOD.replace("israel", "zulu")))
    assert m.stream_names == ("zulu", "hezbollah")


def test_matching_rules(tmp_path):
    m = PartyMapping.from_toml(write(tmp_path, GOOD))
    assert m.stream_for("Military Forces of Israel (2022-)") == "israel"       # exact
    assert m.stream_for("Military Forces of Israel (2009-2022)") == "israel"   # prefix
    assert m.stream_for("IDF Northern Command") == "israel"                    # pattern
    assert m.stream_for("Hezbollah") == "hezbollah"
    assert m.stream_for("Hezbollah Youth") is None                              # exact only
    assert m.stream_for("Amal Movement") is None


def test_ambiguous_actor_names_actor_and_streams(tmp_path):
    m = PartyMapping.from_toml(write(tmp_path, GOOD + 'prefixes = ["Hez"]\n[streams.other]\npatterns = ["bollah"]\n'))
    with pytest.raises(DataValidationError, match=r"'Hezbollah'.*hezbollah, other"):
        m.stream_for("Hezbollah")


def test_to_dict_round_trips_and_is_plain(tmp_path):
    import json

    m = PartyMapping.from_toml(FIXTURES / "ucdp_mapping.toml")
    d = m.to_dict()
    json.dumps(d)
    assert d["filters"]["start"] == "2023-10-08" and d["options"] == {"multi_day": "start"}
    assert PartyMapping.from_dict(d) == m
    assert PartyMapping.from_dict(PartyMapping.from_toml(write(tmp_path, GOOD)).to_dict()).stream_names == (
        "israel", "hezbollah")


@pytest.mark.parametrize(
    ("extra", "key", "allowed"),
    [
        ("colour = 1\n", "colour", "schema_version, streams, filters, options"),
        ('[streams.hezbollah.x]\n', "streams.hezbollah.x", "actors, prefixes, patterns"),
        ('[filters]\nevent_type = ["Battles"]\n', "filters.event_type", "did you mean 'event_types'"),
        ('[filters]\ncountry = ["Israel"]\n', "filters.country", "did you mean 'countries'"),
        ('[options]\nmultiday = "drop"\n', "options.multiday", "did you mean 'multi_day'"),
        ('[options]\nmulti_day = "middle"\n', "options.multi_day", "'start', 'end', 'drop'"),
        ('[options]\nactor_columns = "actor1"\n', "options.actor_columns", "list of strings"),
        ('[options]\nactor_columns = ["actor1", "actor1"]\n', "options.actor_columns", "once"),
        ('[filters]\nevent_types = []\n', "filters.event_types", "remove the key"),
        ('[filters]\ncountries = [1, 2]\n', "filters.countries", "list of strings"),
        ('[filters]\nstart = "08/10/2023"\n', "filters.start", "ISO date"),
        ('[filters]\nstart = 2023-10-08T12:00:00\n', "filters.start", "ISO date"),
        ('[filters]\nstart = "2023-10-09"\nend = "2023-10-08"\n', "filters.start", "on or before end"),
        ("filters = 3\n", "filters", "must be a table"),
    ],
)
def test_bad_key_names_key_file_and_what_is_allowed(tmp_path, extra, key, allowed):
    if extra.startswith("["):
        text = GOOD + extra
    else:
        text = extra + GOOD
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        PartyMapping.from_toml(path)
    message = str(info.value)
    assert f"key '{key}'" in message and str(path) in message and allowed in message


@pytest.mark.parametrize(
    ("text", "key", "allowed"),
    [
        (GOOD.replace("schema_version = 1\n", ""), "schema_version", "schema_version = 1"),
        (GOOD.replace("schema_version = 1", "schema_version = 2"), "schema_version", "only supported value is 1"),
        (GOOD.replace("schema_version = 1", 'schema_version = "1"'), "schema_version", "only supported value is 1"),
        ("schema_version = 1\n", "streams", "must be a table"),
        ("schema_version = 1\n[streams]\n", "streams", "at least one"),
        ("schema_version = 1\n[streams.a]\nactors = []\n", "streams.a", "at least one non-empty list"),
        ('schema_version = 1\n[streams.a]\nprefixes = [""]\n', "streams.a.prefixes", "non-empty"),
        ('schema_version = 1\n[streams.a]\npatterns = ["ok", "(unclosed"]\n', "streams.a.patterns[1]",
         "not a valid regular expression"),
        ('schema_version = 1\n[streams.a]\nactor = ["A"]\n', "streams.a.actor", "did you mean 'actors'"),
        ('schema_version = 1\n[streams.a]\nactors = "A"\n', "streams.a.actors", 'actors = ["..."]'),
        ('schema_version = 1\nstreams = ["a"]\n', "streams", "must be a table"),
    ],
)
def test_bad_structure_names_key_and_file(tmp_path, text, key, allowed):
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        PartyMapping.from_toml(path)
    message = str(info.value)
    assert f"key '{key}'" in message and str(path) in message and allowed in message


def test_invalid_toml_is_spec_error_naming_file(tmp_path):
    path = write(tmp_path, "schema_version = 1\n[streams.a\n")
    with pytest.raises(SpecError, match="not valid TOML") as info:
        PartyMapping.from_toml(path)
    assert str(path) in str(info.value)


def test_missing_mapping_file_is_data_validation_error(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(DataValidationError, match="nope.toml"):
        PartyMapping.from_toml(path)
    with pytest.raises(DataValidationError, match="nope.toml"):
        read_acled(FIXTURES / "acled_iso.csv", path)


def test_mapping_must_be_path_or_mapping():
    with pytest.raises(TypeError, match="PartyMapping"):
        read_acled(FIXTURES / "acled_iso.csv", {"schema_version": 1})


@pytest.mark.parametrize(
    ("reader", "data", "extra", "key", "allowed"),
    [
        (read_acled, "acled_iso.csv", '[options]\nmulti_day = "end"\n', "options.multi_day", "UCDP GED files only"),
        (read_acled, "acled_iso.csv", '[options]\nactor_columns = ["side_a"]\n', "options.actor_columns",
         "actor1, actor2, assoc_actor_1, assoc_actor_2"),
        (read_ucdp_ged, "ucdp_ged.csv", '[options]\nactor_columns = ["actor1"]\n', "options.actor_columns",
         "side_a, side_b"),
        (read_ucdp_ged, "ucdp_ged.csv", '[filters]\nsub_event_types = ["Air/drone strike"]\n',
         "filters.sub_event_types", "event_types instead"),
        (read_ucdp_ged, "ucdp_ged.csv", '[filters]\nevent_types = ["Battles"]\n', "filters.event_types",
         "'state-based', 'non-state', 'one-sided'"),
    ],
)
def test_source_specific_keys(tmp_path, reader, data, extra, key, allowed):
    path = write(tmp_path, GOOD + extra)
    with pytest.raises(SpecError) as info:
        reader(FIXTURES / data, path)
    message = str(info.value)
    assert f"key '{key}'" in message and str(path) in message and allowed in message
