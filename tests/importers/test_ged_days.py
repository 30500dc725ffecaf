"""GED dyad-day counts and the ceasefire-GED link: invented fixtures, then the real corpus.

The real files are read at run time from ``<checkout>/../shared/data/ceasefires`` (never copied
here); expected figures are computed from the raw CSVs with plain pandas and compared with the
data README's.
"""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from escalate.errors import DataValidationError, EscalateInputError
from escalate.importers import (
    GedDays,
    link_ged_dyads,
    read_eth_prio_ceasefires,
    read_ged_dyad_days,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "importers"
ARCADIA = FIXTURES / "ged_days_arcadia.csv"      # dates like 1998-12-27, with dyad_name
BORDURIA = FIXTURES / "ged_days_borduria.csv"    # dates like 1989-01-01 00:00:00.000, no dyad_name
DORSIA = FIXTURES / "ged_days_dorsia.csv"        # dates like 2009-02-20T00:00:00
CEASEFIRES = FIXTURES / "eth_prio_ceasefires.csv"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ceasefires"


def day(text):
    return pd.Timestamp(text)


def as_tuples(days: GedDays):
    return [(d, t.strftime("%Y-%m-%d"), e, k) for d, t, e, k in days.counts.itertuples(index=False)]


@pytest.fixture(scope="module")
def arcadia():
    return read_ged_dyad_days(ARCADIA)


# ---- counts -----------------------------------------------------------------------------------
def test_counts_keep_date_prec_up_to_2_dated_by_start(arcadia):
    # hand-checked: rows 3 (prec 3), 6 (prec 5) and 8 (prec 4) are dropped; row 2 spans 3 days
    assert as_tuples(arcadia) == [(875, "2001-03-01", 2, 3), (875, "2001-03-05", 1, 4),
                                  (876, "2001-03-02", 1, 1), (876, "2001-03-04", 1, 2)]
    assert list(arcadia.counts.columns) == ["dyad", "date", "events", "deaths"]
    assert dict(arcadia.counts.dtypes.astype(str)) == {"dyad": "int64", "date": "datetime64[ns]",
                                                       "events": "int64", "deaths": "int64"}
    assert arcadia.dropped == {"date_prec > 2": 3}


def test_max_date_precision(tmp_path):
    wider = read_ged_dyad_days(ARCADIA, max_date_precision=3)
    assert (875, "2001-03-03", 1, 5) in as_tuples(wider) and wider.dropped == {"date_prec > 3": 2}
    exact = read_ged_dyad_days(ARCADIA, max_date_precision=1)
    assert as_tuples(exact) == [(875, "2001-03-01", 1, 3), (875, "2001-03-05", 1, 4), (876, "2001-03-02", 1, 1)]
    for bad in (0, 6, 2.0, "2"):
        with pytest.raises(EscalateInputError, match="max_date_precision must be"):
            read_ged_dyad_days(ARCADIA, max_date_precision=bad)


def test_coverage_is_before_filtering(arcadia):
    assert (arcadia.first_date, arcadia.last_date) == (day("2001-02-27"), day("2001-03-09"))
    assert arcadia.country_id == 990
    assert arcadia.dyads == (875, 876, 877)
    assert arcadia.dyad_names[877] == "Arcadian Liberation Front - Civilians"


@pytest.mark.parametrize(("path", "expected", "first", "last"), [
    (BORDURIA, [(8001, "2002-03-10", 2, 3), (8003, "2002-03-11", 1, 0)], "2002-03-10", "2002-03-11"),
    (DORSIA, [(8201, "2009-02-20", 1, 5), (8201, "2009-02-21", 1, 1), (8202, "2009-02-21", 1, 2)],
     "2009-02-20", "2009-02-21"),
])
def test_date_formats(path, expected, first, last):
    days = read_ged_dyad_days(path)
    assert as_tuples(days) == expected
    assert (days.first_date, days.last_date) == (day(first), day(last))


def test_dyad_names_only_when_the_column_exists():
    assert read_ged_dyad_days(BORDURIA).dyad_names == {}
    assert read_ged_dyad_days(DORSIA).dyad_names == {8201: "Government of Dorsia - Dorsian Front",
                                                     8202: "Government of Dorsia - Dorsian Army"}


def test_provenance(arcadia):
    p = arcadia.provenance
    json.dumps(p, allow_nan=False)
    assert p["sha256"] == hashlib.sha256(ARCADIA.read_bytes()).hexdigest()
    assert p["path"] == str(ARCADIA) and p["filter"] == "date_prec <= 2, dated by date_start"
    assert "Sundberg" in p["citation"] and "50(4)" in p["citation"] and "CC BY 4.0" in p["citation"]
    assert (p["rows_read"], p["events_kept"], p["multi_day_kept"]) == (8, 5, 2)


# ---- daily series -----------------------------------------------------------------------------
def test_daily_zero_fills_the_half_open_window(arcadia):
    s = arcadia.daily([875, 876], "2001-03-01", "2001-03-06")
    assert s.tolist() == [2, 1, 0, 1, 1]
    assert list(s.index) == list(pd.date_range("2001-03-01", "2001-03-05"))
    assert s.dtype == "int64" and s.name == "events" and s.index.name == "date"
    assert arcadia.daily([875, 876], "2001-03-01", "2001-03-05").tolist() == [2, 1, 0, 1]   # end excluded
    assert arcadia.daily(875, "2001-02-28", "2001-03-02").tolist() == [0, 2]
    assert arcadia.daily([875], "2001-03-01", "2001-03-01").tolist() == []


def test_daily_deaths_and_unknown_dyads(arcadia):
    assert arcadia.daily([875, 876], "2001-03-01", "2001-03-06", value="deaths").tolist() == [3, 1, 0, 2, 4]
    assert arcadia.daily({876, 424242}, "2001-03-01", "2001-03-06").tolist() == [0, 1, 0, 1, 0]
    assert arcadia.daily([877], "2001-02-27", "2001-03-10").sum() == 0     # its events were all dropped
    deaths_default = read_ged_dyad_days(ARCADIA, deaths=True)
    assert deaths_default.daily([875], "2001-03-01", "2001-03-02").tolist() == [3]
    assert deaths_default.daily([875], "2001-03-01", "2001-03-02", value="events").tolist() == [2]


def test_daily_refuses_bad_arguments(arcadia):
    with pytest.raises(EscalateInputError, match="value must be 'events' or 'deaths'"):
        arcadia.daily([875], "2001-03-01", "2001-03-05", value="fatalities")
    with pytest.raises(EscalateInputError, match=r"end \(2001-02-01\) is before start"):
        arcadia.daily([875], "2001-03-01", "2001-02-01")


# ---- errors -----------------------------------------------------------------------------------
def edit(tmp_path, src, old, new, name="ged.csv"):
    text = src.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_several_countries_is_an_error(tmp_path):
    path = edit(tmp_path, ARCADIA, "2001-03-05,Arcadia,990", "2001-03-05,Arcadia,991")
    with pytest.raises(DataValidationError, match=r"country_id holds several countries \(990 in rows 1, 2, 3 "
                                                  r"\(\+4 more\); 991 in row 7\)"):
        read_ged_dyad_days(path)


@pytest.mark.parametrize(("old", "new", "match"), [
    ("1,2001-03-01,2001-03-01", "1,03/01/2001,2001-03-01", r"date_start in row 1 .*'03/01/2001'.*YYYY-MM-DD"),
    ("1,2001-03-01,2001-03-01", "1,2001-02-30,2001-03-01", r"date_start in row 1 .*'2001-02-30'"),
    ("1,2001-03-01,2001-03-01", "1,2001-03-01,2001-02-28", r"date_end in row 1 .*on or after date_start"),
    ("Civilians,5,2001-02-27", "Civilians,9,2001-02-27", r"date_prec in row 6 .*from 1 to 5"),
    ("Civilians,5,2001-02-27", "Civilians,x,2001-02-27", r"date_prec in row 6 .*'x'"),
    ("Arcadia,990,1,2,3", "Arcadia,990,1,2,-3", r"best in row 1"),
    ("1,9100,875,", "1,9100,8.5,", r"dyad_new_id in row 1 .*'8.5'"),
])
def test_unreadable_values_name_the_rows(tmp_path, old, new, match):
    with pytest.raises(DataValidationError, match=match):
        read_ged_dyad_days(edit(tmp_path, ARCADIA, old, new))


def test_missing_column_empty_and_missing_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"lacks the column date_prec; expected a UCDP GED file"):
        read_ged_dyad_days(edit(tmp_path, BORDURIA, "date_prec,", "precision,"))
    header = tmp_path / "header.csv"
    header.write_text(BORDURIA.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="has a header line but no events"):
        read_ged_dyad_days(header)
    with pytest.raises(DataValidationError, match="does not exist"):
        read_ged_dyad_days(tmp_path / "none.csv")


# ---- the link ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def files():
    return {990: read_ged_dyad_days(ARCADIA), 991: read_ged_dyad_days(BORDURIA)}


def test_link_statuses(files):
    truces = read_eth_prio_ceasefires(CEASEFIRES).truces
    link = link_ged_dyads(truces, files)
    assert list(link.columns) == ["truce_id", "ged_dyads", "link"]
    assert list(link.itertuples(index=False, name=None)) == [
        ("990001", (876,), "linked"),               # dyads 876 (in the file) and 9999 (not)
        ("990002", (), "dyad_not_in_file"),         # 7001
        ("990003", (), "no_ucdp_dyad"),
        ("991001", (8001,), "linked"),
        ("991002", (), "dyad_not_in_file"),
        ("993001", (), "no_ged_file"),              # no file for cc 993
    ]


def test_link_crosswalk(files):
    truces = read_eth_prio_ceasefires(CEASEFIRES).truces
    link = link_ged_dyads(truces, files, crosswalk={7001: 875, 9999: 877}).set_index("truce_id")
    assert link.loc["990002"].tolist() == [(875,), "linked"]
    assert link.loc["990001", "ged_dyads"] == (876, 877)
    # the default is the bundled coding's crosswalk: ceasefire dyad 12088 -> GED dyad 875
    custom = pd.DataFrame({"truce_id": ["1"], "cc": [990], "dyads": [(12088,)]})
    assert link_ged_dyads(custom, files).iloc[0].tolist() == ["1", (875,), "linked"]
    assert link_ged_dyads(custom, files, crosswalk={}).iloc[0].tolist() == ["1", (), "dyad_not_in_file"]


def test_link_refuses_a_file_under_the_wrong_country(files):
    truces = read_eth_prio_ceasefires(CEASEFIRES).truces
    with pytest.raises(DataValidationError, match=r"ged_files\[993\] is .*ged_days_arcadia.csv, a file of "
                                                  r"country_id 990"):
        link_ged_dyads(truces, {993: files[990]})
    with pytest.raises(DataValidationError, match="truces lack the column dyads"):
        link_ged_dyads(truces.drop(columns="dyads"), files)


# ---- the real corpus --------------------------------------------------------------------------
README_EVENTS = {775: 2215, 70: 5380, 482: 470, 100: 4467, 840: 2698, 770: 4883, 771: 525, 850: 1708, 625: 2189}
README_WITH_DYAD = {775: 26, 70: 11, 482: 7, 100: 13, 840: 123, 770: 52, 771: 36, 850: 18, 625: 100}


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not (CORPUS / "eth_prio_ceasefires_pre2014.csv").is_file() or not (CORPUS / "ged").is_dir():
        pytest.fail(f"the real ceasefire corpus is missing: expected {CORPUS} with eth_prio_ceasefires_pre2014.csv "
                    "and ged/ (the data folder beside the checkout, ../shared/data/ceasefires); these tests never skip")
    return CORPUS


@pytest.fixture(scope="module")
def raw_ged(corpus):
    paths = sorted((corpus / "ged").glob("*.csv"))
    assert len(paths) == 9, paths
    return {p: pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths}


@pytest.fixture(scope="module")
def real_ged(raw_ged):
    return {p: read_ged_dyad_days(p) for p in raw_ged}


def test_every_real_file_reads_and_matches_plain_pandas(raw_ged, real_ged):
    for path, raw in raw_ged.items():
        days = real_ged[path]
        kept = raw[raw["date_prec"].astype(int) <= 2]
        assert days.country_id == int(raw["country_id"].iloc[0]), path
        assert int(days.counts["events"].sum()) == len(kept), path
        assert int(days.counts["deaths"].sum()) == kept["best"].astype(int).sum(), path
        assert days.dropped == {"date_prec > 2": len(raw) - len(kept)}, path
        per_day = kept.groupby([kept["dyad_new_id"].astype(int), pd.to_datetime(kept["date_start"].str[:10])]).size()
        assert len(days.counts) == len(per_day), path
        starts = pd.to_datetime(raw["date_start"].str[:10])
        assert (days.first_date, days.last_date) == (starts.min(), starts.max()), path
        assert set(days.dyads) == set(raw["dyad_new_id"].astype(int)), path
    assert {d.country_id: d.provenance["rows_read"] for d in real_ged.values()} == README_EVENTS
    assert sum(README_EVENTS.values()) == 24535


def test_real_daily_series_match_plain_pandas(raw_ged, real_ged):
    path = next(p for p in raw_ged if "car" in p.name)
    raw, days = raw_ged[path], real_ged[path]
    kept = raw[(raw["date_prec"].astype(int) <= 2) & raw["dyad_new_id"].isin(["875"])]
    dates = pd.to_datetime(kept["date_start"].str[:10])
    window = (pd.Timestamp("2012-12-01"), pd.Timestamp("2013-07-01"))
    expected = dates[(dates >= window[0]) & (dates < window[1])].value_counts()
    series = days.daily([875], *window)
    assert len(series) == (window[1] - window[0]).days
    assert series[series > 0].to_dict() == expected.sort_index().to_dict()


def test_real_link_figures(corpus, raw_ged, real_ged):
    raw = pd.read_csv(corpus / "eth_prio_ceasefires_pre2014.csv", dtype=str, keep_default_na=False)
    ged_dyads = {r["country_id"].iloc[0]: set(r["dyad_new_id"]) for r in raw_ged.values()}
    in_country = raw[raw["cc"].isin(ged_dyads)]
    dyad = in_country["ucdp_dyad"].replace({"12088": "875"})     # the README's hand-checked crosswalk
    hit = in_country[[d in ged_dyads[c] for c, d in zip(in_country["cc"], dyad, strict=True)]]
    expected_in_country, expected_linked = in_country["uniq_id"].nunique(), hit["uniq_id"].nunique()
    assert (expected_in_country, expected_linked) == (461, 386)
    assert hit.groupby("cc")["uniq_id"].nunique().rename(int).to_dict() == README_WITH_DYAD

    truces = read_eth_prio_ceasefires(corpus / "eth_prio_ceasefires_pre2014.csv").truces
    link = link_ged_dyads(truces, {d.country_id: d for d in real_ged.values()})
    assert len(link) == len(truces) and link["truce_id"].tolist() == truces["truce_id"].tolist()
    counts = link["link"].value_counts()
    assert len(link) - counts["no_ged_file"] == expected_in_country
    assert counts["linked"] == expected_linked
    assert set(link.loc[link["link"] == "linked", "truce_id"]) == set(hit["uniq_id"])
    assert link.loc[link["link"] == "no_ged_file", "truce_id"].isin(in_country["uniq_id"]).sum() == 0
    car = link.set_index("truce_id").loc[raw.loc[raw["ucdp_dyad"] == "12088", "uniq_id"].unique()]
    assert all(875 in d for d in car["ged_dyads"])
