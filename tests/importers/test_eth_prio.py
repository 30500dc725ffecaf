"""ETH/PRIO ceasefire reader: invented fixture rows in the dataset's layout, then the real corpus.

The real corpus is read at run time from ``<checkout>/../shared/data/ceasefires`` (never copied
here); the expected figures are computed from the raw CSV with plain pandas and compared with
the data README's.
"""

import csv
import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from escalate.data.corpus import END_TYPES
from escalate.errors import DataValidationError, SpecError
from escalate.importers import (
    CeasefireCoding,
    CeasefireImport,
    read_eth_prio_ceasefires,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "importers"
CEASEFIRES = FIXTURES / "eth_prio_ceasefires.csv"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ceasefires"
BUNDLED_TOML = Path(__file__).resolve().parents[2] / "src" / "escalate" / "importers" / "codings" / "eth-prio.toml"

COLUMNS = ["truce_id", "cc", "country", "conflict", "group", "start", "start_source", "start_precision", "end",
           "end_precision", "end_type", "verification", "penalty_tier", "written", "mediated", "bilateral",
           "definitive", "fixed_term", "partial", "fixed_time", "dyads", "actors", "n_actor_rows"]
NaT, NaN = pd.NaT, math.nan
# Hand-checked against eth_prio_ceasefires.csv and the bundled coding (one tuple per ceasefire).
EXPECTED = [
    ("990001", 990, "Arcadia", "9100", "conflict:9100", "2001-03-01", "effective", "day", "2001-03-05", "day",
     "collapsed", 1.0, 2, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, (876, 9999),
     "Government of Arcadia; Arcadian Liberation Front; Arcadian People's Army", 3),
    ("990002", 990, "Arcadia", "", "country:990", "2001-04-10", "declared", "day", NaT, "none",
     "never_effective", 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, NaN, (7001,), "Arcadian Liberation Front", 1),
    ("990003", 990, "Arcadia", "9100", "conflict:9100", "2001-05-01", "effective", "month", NaT, "none",
     "holding", 0.0, 0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, NaN, (), "Government of Arcadia; Arcadian Liberation Front", 2),
    ("991001", 991, "Borduria", "9200", "conflict:9200", "2002-01-01", "effective", "year", NaT, "year",
     "expired", 1.0, 1, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 30.0, (8001,), "Government of Borduria", 1),
    ("991002", 991, "Borduria", "9200", "conflict:9200", "2002-08-15", "effective", "day", NaT, "month",
     "replaced", 0.0, 0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, (8002,), "Bordurian Guard", 1),
    ("993001", 993, "Carpania", "9300", "conflict:9300", "2003-01-20", "effective", "day", "2003-02-03", "day",
     "unknown", 0.0, 0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, (8101, 8102), "Government of Carpania; Carpanian Front", 2),
]
DISAGREEMENTS = [
    ("990001", "end", ("2001-03-05", "2001-03")),
    ("990001", "ended", ("2", "-1")),
    ("990001", "written", ("2", "0")),
    ("990003", "enforcement", ("3", "-1")),
    ("993001", "start", ("2003-01-20 (effective)", "2003-01-21 (effective)")),
]


@pytest.fixture(scope="module")
def result():
    return read_eth_prio_ceasefires(CEASEFIRES)


def rewrite(dst, change, src=CEASEFIRES):
    """Copy the fixture to ``dst`` with ``change(row_number, row)`` applied to each row (1-based)."""
    with open(src, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields, rows = list(reader.fieldnames), list(reader)
    for i, row in enumerate(rows, start=1):
        change(i, row)
    fields = [f for f in fields if f in rows[0]] if rows else fields
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)
    return dst


def set_cell(row_number, column, value):
    def change(i, row):
        if i == row_number:
            row[column] = value
    return change


def coding_file(tmp_path, old, new, name="coding.toml"):
    """The bundled coding with one text replacement, written to tmp_path / name."""
    text = BUNDLED_TOML.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


# ---- the coded rows ---------------------------------------------------------------------------
def test_truces_match_the_hand_checked_table(result):
    truces = result.truces
    assert list(truces.columns) == COLUMNS
    expected = pd.DataFrame(EXPECTED, columns=COLUMNS)
    for column in ("start", "end"):
        expected[column] = pd.to_datetime(expected[column]).astype("datetime64[ns]")
    pd.testing.assert_frame_equal(truces, expected, check_dtype=False)
    assert truces["start"].dtype == "datetime64[ns]" and truces["end"].dtype == "datetime64[ns]"
    assert truces["cc"].dtype == "int64" and truces["penalty_tier"].dtype == "int64"
    assert truces["n_actor_rows"].dtype == "int64"
    assert all(truces[c].dtype == "float64" for c in ("verification", "written", "partial", "fixed_time"))
    assert all(type(d) is int for dyads in truces["dyads"] for d in dyads)


def test_every_field_comes_from_the_first_actor_row(result):
    first = result.truces.set_index("truce_id").loc["990001"]
    # rows 1-2 say collapsed on 2001-03-05 with a written text (2); row 3 says unknown, 2001-03, none (0)
    assert (first["end_type"], first["end_precision"], first["end"]) == ("collapsed", "day", pd.Timestamp("2001-03-05"))
    assert first["written"] == 1.0
    assert result.truces.set_index("truce_id").loc["993001", "start"] == pd.Timestamp("2003-01-20")


def test_dyads_are_the_sorted_union_without_minus_one(result):
    dyads = result.truces.set_index("truce_id")["dyads"]
    assert dyads["990001"] == (876, 9999)     # rows: -1, 876, 9999
    assert dyads["990003"] == ()              # both rows -1
    assert dyads["993001"] == (8101, 8102)


def test_disagreements_are_listed_with_the_rule(result):
    d = result.disagreements
    assert list(d.columns) == ["truce_id", "column", "values", "rule"]
    assert list(zip(d["truce_id"], d["column"], d["values"], strict=True)) == DISAGREEMENTS
    assert set(d["rule"]) == {"first actor row"}
    assert result.provenance["disagreements"] == {"end": 1, "ended": 1, "written": 1, "enforcement": 1, "start": 1}


def test_start_is_effective_else_declared_with_its_precision(result):
    t = result.truces.set_index("truce_id")
    assert t.loc["990002", ["start_source", "start"]].tolist() == ["declared", pd.Timestamp("2001-04-10")]
    assert t.loc["990003", ["start_precision", "start"]].tolist() == ["month", pd.Timestamp("2001-05-01")]
    assert t.loc["991001", ["start_precision", "start"]].tolist() == ["year", pd.Timestamp("2002-01-01")]


def test_end_timestamp_only_at_day_precision(result):
    t = result.truces
    assert t["end_precision"].tolist() == ["day", "none", "none", "year", "month", "day"]
    assert t["end"].notna().tolist() == [p == "day" for p in t["end_precision"]]


def test_every_end_type_and_the_cutoff(result):
    assert sorted(result.truces["end_type"]) == sorted(END_TYPES)
    assert result.cutoff == pd.Timestamp("2014-01-01")
    assert result.provenance["end_types"] == dict.fromkeys(END_TYPES, 1)


def test_conflict_and_group(result):
    t = result.truces.set_index("truce_id")
    assert t.loc["990002", ["conflict", "group"]].tolist() == ["", "country:990"]
    assert t.loc["990001", ["conflict", "group"]].tolist() == ["9100", "conflict:9100"]


def test_provenance_and_summary(result):
    p = result.provenance
    json.dumps(p, allow_nan=False)
    assert p["sha256"] == hashlib.sha256(CEASEFIRES.read_bytes()).hexdigest()
    assert p["coding"] == "bundled" and p["coding_sha256"] == "bundled"
    assert "doi:10.1177/00220027221129195" in p["citation"] and "Clayton" in p["citation"]
    assert p["unclear_codes"] == {"ended": 1, "implement": 1, "enforcement": 0, "written": 1, "mediator_nego": 1,
                                  "side": 0, "ceasefire_class": 0, "fixed": 1, "partial": 0}
    assert (p["actor_rows"], p["truces"], p["countries"]) == (10, 6, 3)
    assert (p["fixed_time_not_a_number"], p["fixed_time_negative"]) == (1, 1)
    text = result.summary()
    assert "6 truces (10 actor rows) in 3 countries" in text
    assert "collapsed 1" in text and "never_effective 1" in text
    assert "5 in 3 truces" in text


# ---- errors in the data -----------------------------------------------------------------------
@pytest.mark.parametrize(("column", "code", "key"), [
    ("implement", "7", "[verification.codes]"),
    ("enforcement", "9", "[penalty_tier.codes]"),
    ("ended", "5", "[end_type]"),
    ("side", "4", "[covariates.bilateral.codes]"),
    ("partial", "", "[covariates.partial.codes]"),
])
def test_a_code_the_coding_lacks_is_an_error(tmp_path, column, code, key):
    path = rewrite(tmp_path / "cf.csv", set_cell(4, column, code))
    with pytest.raises(DataValidationError) as err:
        read_eth_prio_ceasefires(path)
    message = str(err.value)
    assert str(path) in message and f"column {column}" in message and repr(code) in message
    assert "row 4" in message and key in message and "bundled coding eth-prio.toml" in message


def test_unknown_codes_in_later_actor_rows_are_caught_too(tmp_path):
    path = rewrite(tmp_path / "cf.csv", set_cell(3, "written", "8"))
    with pytest.raises(DataValidationError, match=r"column written holds the code '8' in row 3"):
        read_eth_prio_ceasefires(path)


def test_only_the_date_used_as_start_is_checked(tmp_path):
    # 990001 took effect, so its declared date (made 30 February here) is not used
    def feb_30(i, row):
        if i == 1:
            row.update(cf_dec_month="2", cf_dec_day="30")
    assert len(read_eth_prio_ceasefires(rewrite(tmp_path / "a.csv", feb_30)).truces) == 6
    # 990002 never took effect (cf_effect_yr 0): its declared date is the start
    with pytest.raises(DataValidationError, match=r"the start .* in row 4 .*value seen: '2001-4-31'"):
        read_eth_prio_ceasefires(rewrite(tmp_path / "b.csv", set_cell(4, "cf_dec_day", "31")))


def test_a_day_that_does_not_exist_is_an_error(tmp_path):
    def feb_31(i, row):
        if i == 8:
            row.update(cf_effect_month="2", cf_effect_day="31")
    path = rewrite(tmp_path / "cf.csv", feb_31)
    with pytest.raises(DataValidationError) as err:
        read_eth_prio_ceasefires(path)
    assert "row 8" in str(err.value) and "'2002-2-31'" in str(err.value) and "31 February" in str(err.value)

    def end_feb_30(i, row):
        if i == 9:
            row.update(end_month="2", end_day="30")
    with pytest.raises(DataValidationError, match=r"end_yr/end_month/end_day in row 9 .*'2003-2-30'"):
        read_eth_prio_ceasefires(rewrite(tmp_path / "cf2.csv", end_feb_30))


def test_no_start_year_is_an_error(tmp_path):
    path = rewrite(tmp_path / "cf.csv", set_cell(4, "cf_dec_yr", "-1"))
    with pytest.raises(DataValidationError, match=r"cf_dec_yr in row 4 .*cannot be placed in time"):
        read_eth_prio_ceasefires(path)


def test_missing_column_empty_file_and_bad_numbers(tmp_path):
    def drop_ended(i, row):
        del row["ended"]
    with pytest.raises(DataValidationError, match=r"lacks the column ended; expected an ETH/PRIO ceasefire file"):
        read_eth_prio_ceasefires(rewrite(tmp_path / "a.csv", drop_ended))
    header_only = tmp_path / "b.csv"
    header_only.write_text(CEASEFIRES.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"b.csv has a header line but no rows"):
        read_eth_prio_ceasefires(header_only)
    with pytest.raises(DataValidationError, match=r"cc in row 2 cannot be read \(value seen: 'x'\)"):
        read_eth_prio_ceasefires(rewrite(tmp_path / "c.csv", set_cell(2, "cc", "x")))
    with pytest.raises(DataValidationError, match=r"does not exist"):
        read_eth_prio_ceasefires(tmp_path / "missing.csv")


def test_blank_dyad_and_conflict_are_missing(tmp_path):
    def blank(i, row):
        if i == 2:
            row["ucdp_dyad"] = ""
        if i == 1:
            row["ucdp_acd_id"] = ""
    t = read_eth_prio_ceasefires(rewrite(tmp_path / "cf.csv", blank)).truces.set_index("truce_id")
    assert t.loc["990001", "dyads"] == (9999,)
    assert t.loc["990001", ["conflict", "group"]].tolist() == ["", "country:990"]


# ---- the coding -------------------------------------------------------------------------------
def test_bundled_coding():
    coding = CeasefireCoding.bundled()
    assert coding.cutoff == pd.Timestamp("2014-01-01")
    assert coding.end_type.codes == {"-1": "unknown", "0": "holding", "1": "expired", "2": "collapsed",
                                     "3": "never_effective", "4": "replaced"}
    assert coding.verification.column == "implement" and coding.verification.codes["-1"] == 0.0
    assert coding.penalty_tier.column == "enforcement"
    assert coding.penalty_tier.codes == {"0": 0, "1": 1, "2": 2, "3": 0, "-1": 0}
    assert list(coding.covariates) == ["written", "mediated", "bilateral", "definitive", "fixed_term", "partial"]
    assert coding.covariates["mediated"].column == "mediator_nego"
    assert (coding.crosswalk, coding.max_date_precision) == ({12088: 875}, 2)
    assert CeasefireCoding.from_toml(BUNDLED_TOML).to_dict() == coding.to_dict()


def test_coding_as_none_path_or_object(tmp_path):
    by_path = read_eth_prio_ceasefires(CEASEFIRES, BUNDLED_TOML)
    by_object = read_eth_prio_ceasefires(CEASEFIRES, CeasefireCoding.bundled())
    pd.testing.assert_frame_equal(by_path.truces, read_eth_prio_ceasefires(CEASEFIRES).truces)
    pd.testing.assert_frame_equal(by_object.truces, by_path.truces)
    assert by_path.provenance["coding"] == str(BUNDLED_TOML)
    assert by_path.provenance["coding_sha256"] == hashlib.sha256(BUNDLED_TOML.read_bytes()).hexdigest()
    with pytest.raises(TypeError, match="coding must be"):
        read_eth_prio_ceasefires(CEASEFIRES, 3)


def test_a_changed_coding_changes_the_codes(tmp_path):
    path = coding_file(tmp_path, 'codes = { "1" = 1.0, "0" = 0.0, "-1" = 0.0 }\n\n# Penalty',
                       'codes = { "1" = 1.0, "0" = 0.0, "-1" = 0.5 }\n\n# Penalty')
    coding_path = coding_file(tmp_path, 'cutoff = "2014-01-01"', 'cutoff = 2010-06-30', name="cutoff.toml")
    t = read_eth_prio_ceasefires(CEASEFIRES, path).truces.set_index("truce_id")
    assert t.loc["990003", "verification"] == 0.5
    assert read_eth_prio_ceasefires(CEASEFIRES, coding_path).cutoff == pd.Timestamp("2010-06-30")


def test_a_covariate_can_be_added(tmp_path):
    path = coding_file(tmp_path, "# The join to UCDP GED",
                       '[covariates.large]\ncolumn = "region"\ncodes = { "1" = 0.0, "4" = 1.0, "5" = nan }\n\n'
                       "# The join to UCDP GED")
    result = read_eth_prio_ceasefires(CEASEFIRES, path)
    assert list(result.truces.columns) == [*COLUMNS[:19], "large", *COLUMNS[19:]]
    assert result.truces["large"].tolist()[:5] == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert math.isnan(result.truces["large"].iloc[5])
    json.dumps(result.provenance, allow_nan=False)


def test_corrections_are_applied_and_recorded(tmp_path):
    path = coding_file(tmp_path, '[corrections."570002"]',
                       '[corrections."991002"]\nend_day = 20\nreason = "invented"\n\n[corrections."570002"]')
    result = read_eth_prio_ceasefires(CEASEFIRES, path)
    t = result.truces.set_index("truce_id")
    assert t.loc["991002", ["end_precision", "end"]].tolist() == ["day", pd.Timestamp("2002-09-20")]
    assert result.provenance["corrections"][0] == {"truce_id": "991002", "column": "end_day", "to": "20",
                                                   "reason": "invented", "from": ["0"], "rows": 1}
    assert result.provenance["corrections"][1]["rows"] == 0    # the bundled one: not in this file


@pytest.mark.parametrize(("old", "new", "match"), [
    ("schema_version = 1", "schema_version = 1\ncolour = 1", r"key 'colour' is not allowed"),
    ('column = "implement"', 'column = "implement"\ncolum = "x"',
     r"key 'verification.colum' is not allowed; did you mean 'column'"),
    ('"1" = 1.0, "0" = 0.0, "-1" = 0.0 }\n\n# Penalty', '"1" = 1.5, "0" = 0.0, "-1" = 0.0 }\n\n# Penalty',
     r"key 'verification.codes.\"1\"' = 1.5 is not allowed; use a number from 0 to 1"),
    ('"2" = "collapsed"', '"2" = "broken"', r"key 'end_type.\"2\"' = 'broken' is not allowed"),
    ('"0" = 0, "1" = 1, "2" = 2', '"0" = 0, "1" = 1.0, "2" = 2', r"penalty_tier.codes.\"1\"' = 1.0 is not allowed"),
    ("[covariates.partial]", "[covariates.end_type]", r"covariates.end_type' is not a usable covariate name"),
    ('cutoff = "2014-01-01"', 'cutoff = "2014-13-01"', r"key 'cutoff' = '2014-13-01' is not a date"),
    ('cutoff = "2014-01-01"', "", r"key 'cutoff' is missing"),
    ("max_date_precision = 2", "max_date_precision = 7", r"ged.max_date_precision' = 7 is not allowed"),
    ("cf_effect_day = -1", "cf_effect_dy = -1", r"corrections.\"570002\".cf_effect_dy' is not a column"),
    ('reason = "effective date', 'rationale = "effective date', r"corrections.\"570002\".reason' is missing"),
    ('crosswalk = { "12088" = 875 }', 'crosswalk = { "x" = 875 }', r"ged.crosswalk.x' = 875 is not allowed"),
    ('codes = { "1" = 1.0, "0" = 0.0, "-1" = 0.0 }\n\n# Penalty', 'codes = {}\n\n# Penalty',
     r"key 'verification.codes' is empty"),
    ("schema_version = 1", "schema_version = 2", r"schema_version' is 2"),
    ("[ged]", "[ged", r"is not valid TOML"),
])
def test_coding_errors_name_the_key_and_file(tmp_path, old, new, match):
    path = coding_file(tmp_path, old, new)
    with pytest.raises(SpecError, match=match) as err:
        CeasefireCoding.from_toml(path)
    assert f"coding file {path}" in str(err.value)


def test_missing_coding_file(tmp_path):
    with pytest.raises(DataValidationError, match="coding file .* does not exist"):
        read_eth_prio_ceasefires(CEASEFIRES, tmp_path / "nope.toml")


# ---- the real corpus --------------------------------------------------------------------------
README_END_TYPES = {"unknown": 785, "holding": 76, "expired": 336, "collapsed": 140, "never_effective": 46,
                    "replaced": 343}
ENDED_NAMES = {"-1": "unknown", "0": "holding", "1": "expired", "2": "collapsed", "3": "never_effective",
               "4": "replaced"}   # the data README's table, written out here independently of the coding


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not (CORPUS / "eth_prio_ceasefires_pre2014.csv").is_file():
        pytest.fail(f"the real ceasefire corpus is missing: expected {CORPUS}/eth_prio_ceasefires_pre2014.csv "
                    "(the data folder beside the checkout, ../shared/data/ceasefires); these tests never skip")
    return CORPUS


@pytest.fixture(scope="module")
def raw(corpus):
    return pd.read_csv(corpus / "eth_prio_ceasefires_pre2014.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def real(corpus) -> CeasefireImport:
    return read_eth_prio_ceasefires(corpus / "eth_prio_ceasefires_pre2014.csv")


def test_real_truce_count_and_end_types(raw, real):
    first = raw.drop_duplicates("uniq_id", keep="first")
    expected = first["ended"].map(ENDED_NAMES).value_counts().to_dict()
    assert len(first) == 1726 == len(real.truces)
    assert expected == README_END_TYPES
    assert real.truces["end_type"].value_counts().to_dict() == expected
    assert real.provenance["end_types"] == expected
    assert real.truces["truce_id"].tolist() == first["uniq_id"].tolist()
    assert real.truces["cc"].nunique() == 64 == real.provenance["countries"]


def test_real_merge_against_plain_pandas(raw, real):
    t = real.truces.set_index("truce_id")
    dyads = raw[raw["ucdp_dyad"] != "-1"].groupby("uniq_id")["ucdp_dyad"].agg(lambda s: tuple(sorted(set(map(int, s)))))
    assert t["dyads"].to_dict() == {u: dyads.get(u, ()) for u in t.index}
    assert t["n_actor_rows"].to_dict() == raw["uniq_id"].value_counts().to_dict()
    ended = raw.groupby("uniq_id")["ended"].nunique()
    assert real.provenance["disagreements"]["ended"] == int((ended > 1).sum())
    listed = real.disagreements[real.disagreements["column"] == "ended"]
    assert set(listed["truce_id"]) == set(ended[ended > 1].index)


def test_real_codes_are_all_covered_and_dates_read(raw, real):
    coding = CeasefireCoding.bundled()
    for table in coding.tables:
        assert set(raw[table.column]) <= set(table.codes), table.column
    first = raw.drop_duplicates("uniq_id")
    effective = first["cf_effect_yr"].astype(int) > 0
    assert (real.truces["start_source"] == "effective").sum() == effective.sum()
    collapsed = first[first["ended"] == "2"]
    day = (collapsed[["end_yr", "end_month", "end_day"]].astype(int) > 0).all(axis=1)
    is_collapsed = real.truces["end_type"] == "collapsed"
    assert (real.truces.loc[is_collapsed, "end_precision"] == "day").sum() == day.sum()
    assert real.truces.loc[is_collapsed, "end"].notna().sum() == day.sum()
    assert real.truces["start"].min() >= pd.Timestamp("1989-01-01")
    assert real.truces["start"].max() < real.cutoff


def test_real_bundled_correction(raw, real):
    rows = raw[raw["uniq_id"] == "570002"]
    [record] = real.provenance["corrections"]
    assert record["rows"] == len(rows) and record["from"] == list(rows["cf_effect_day"].unique())
    truce = real.truces.set_index("truce_id").loc["570002"]
    month = int(rows["cf_effect_month"].iloc[0])
    assert truce["start_precision"] == "month"
    assert truce["start"] == pd.Timestamp(int(rows["cf_effect_yr"].iloc[0]), month, 1)


def test_real_summary_reads(real):
    text = real.summary()
    assert "1,726 truces (3,081 actor rows) in 64 countries" in text
    assert "unknown 785" in text
    json.dumps(real.provenance, allow_nan=False)
