"""Pure school functions on small fixtures: registers, phases, capacity, inspections, location, LSOAs, authorities."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from atlaskit.store import locate
from atlaskit.store import registers as sch
from atlaskit.errors import DataFormatError
from atlaskit.vocabulary import SCHOOL_PHASES, teaches_phase

S = lambda values: pd.Series(values, dtype="string")  # noqa: E731
U = lambda values: pd.Series(values, dtype="Int64" if any(v is pd.NA for v in values) else "int64")  # URNs  # noqa: E731


def _london(rows):
    cols = ["urn", "school_name", "postcode", "establishment_type", "phase_of_education", "gender", "age_low", "age_high",
            "easting", "northing", "lonlat_easting", "lonlat_northing", "primary_layer"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols)
    frame["urn"] = frame["urn"].astype("int64")
    for c in ["school_name", "postcode", "establishment_type", "phase_of_education", "gender"]:
        frame[c] = frame[c].astype("string")
    for c in ["age_low", "age_high"]:
        frame[c] = frame[c].astype("Int64")
    return frame


def test_dedupe_london_schools_merges_layers():
    rows = _london(
        [
            [100001, "A", "EC2Y 8BB", "Other Independent School", "Not applicable", "Girls", 7, 18, 532301.0, 181746.0, 532300.0, 181745.0, True],
            [100001, "A", "EC2Y 8BB", "Other Independent School", "Not applicable", "Girls", 7, 18, 532301.0, 181746.0, 532300.0, 181745.0, False],
            [100002, "B", "SE1 1AA", "Community School", "Primary", "Mixed", 3, 11, 530000.0, 180000.0, 530001.0, 180001.0, True],
        ]
    )
    out = sch.dedupe_london_schools(rows).set_index("urn")
    assert len(out) == 2
    assert out.loc[100001, "primary_layer"] and out.loc[100001, "secondary_layer"] and out.loc[100001, "lsa_rows"] == 2
    assert out.loc[100002, "primary_layer"] and not out.loc[100002, "secondary_layer"]


def test_dedupe_london_schools_refuses_conflicting_duplicates():
    rows = _london(
        [
            [100001, "A", "EC2Y 8BB", "T", "P", "Girls", 7, 18, 532301.0, 181746.0, 532300.0, 181745.0, True],
            [100001, "A", "EC2Y 8BB", "T", "P", "Girls", 7, 18, 999999.0, 181746.0, 532300.0, 181745.0, False],
        ]
    )
    with pytest.raises(DataFormatError, match="100001.*easting"):
        sch.dedupe_london_schools(rows)


def test_choose_london_coordinates_trusts_the_pair_nearer_the_postcode():
    london = _london(
        [
            # E/N typo (9 km off), lon/lat near the postcode: trust lon/lat
            [1, "a", "UB1 1LR", "t", "p", "m", 1, 2, 521263.0, 180470.0, 512631.0, 179976.0, True],
            # lon/lat off, E/N at the postcode: trust E/N
            [2, "b", "E8 3DY", "t", "p", "m", 1, 2, 533659.0, 184613.0, 533692.0, 184403.0, True],
            # they agree: E/N
            [3, "c", "N1 4BS", "t", "p", "m", 1, 2, 533252.0, 184710.0, 533253.0, 184711.0, True],
            # they disagree, postcode unknown: E/N (the file's own grid)
            [4, "d", "ZZ1 1ZZ", "t", "p", "m", 1, 2, 533000.0, 184000.0, 534000.0, 184000.0, True],
        ]
    )
    points = pd.DataFrame({"postcode": ["UB1 1LR", "E8 3DY", "N1 4BS"], "easting": [512270.0, 533651.0, 533254.0], "northing": [180472.0, 184623.0, 184727.0]})
    out = locate.choose_london_coordinates(london, points).set_index("urn")
    assert out.loc[1, "lsa_coordinates"] == "lonlat" and out.loc[1, "lsa_easting"] == 512631.0
    assert out.loc[2, "lsa_coordinates"] == "easting_northing" and out.loc[2, "lsa_northing"] == 184613.0
    assert out.loc[3, "lsa_coordinates"] == "easting_northing"
    assert out.loc[4, "lsa_coordinates"] == "easting_northing" and out.loc[4, "lsa_disagreement_m"] == 1000.0


# ---------------------------------------------------------------------------------------------
# the register


def _registers():
    school_postcodes = pd.DataFrame(
        {"urn": U([100, 200, 300]), "la_number": S(["201", "202", "202"]), "estab": S(["3614", "2000", "2001"]),
         "laestab": S(["2013614", "2022000", "2022001"]), "school_name": S(["Old Name", "Closed Primary", "Converted"]),
         "establishment_type": S(["Community School", "Community School", "Community School"]),
         "phase_of_education": S(["Primary", "Primary", "Middle Deemed Secondary"]), "postcode": S(["EC3A 5DE", "NW1 1AA", "NW1 1AB"]),
         "la_name": S(["City of London", "Camden", "Camden"])}
    )  # fmt: skip
    spine = pd.DataFrame(
        {"urn": U([100, 400, 300, 500]), "la_number": S(["201", "202", "202", "202"]), "estab": S(["3614", "2001", "2001", "6000"]),
         "laestab": S(["2013614", "2022001", "2022001", "2026000"]), "school_name": S(["New Name", "Converted Academy", "Converted", "Private"]),
         "postcode": S(["EC3A 5DF", "NW1 1AB", "NW1 1AB", pd.NA]), "status_code": pd.array([1, 1, 2, 1], dtype="Int64"),
         "is_open": pd.array([True, True, False, True], dtype="boolean"),
         "open_date": pd.to_datetime([None, "2016-09-01", None, None]), "close_date": pd.to_datetime([None, None, "2016-08-31", None]),
         "minor_group": S(["Maintained School", "Academy", "Maintained School", "Independent School"]),
         "establishment_type": S(["Community school", "Academy - Converter mainstream", "Community school", "Other independent school"]),
         "is_primary": pd.array([True, False, False, True], dtype="boolean"), "is_secondary": pd.array([False, True, True, True], dtype="boolean"),
         "is_post16": pd.array([False, True, True, True], dtype="boolean"),
         "age_low": pd.array([3, 9, 9, 4], dtype="Int64"), "age_high": pd.array([11, 18, 13, 18], dtype="Int64"),
         "gender": S(["Mixed"] * 4), "religious_character": S(["Church of England", pd.NA, pd.NA, "None"]),
         "admissions_policy": S(["Not recorded", "Selective", "Not recorded", "Not recorded"])}
    )  # fmt: skip
    census = pd.DataFrame(
        {"urn": U([100, 400, 500, 600]), "la_number": S(["201", "202", "202", "202"]), "estab": S(["3614", "2001", "6000", "1000"]),
         "laestab": S(["2013614", "2022001", "2026000", "2021000"]),
         "census_school_type": S(["State-funded primary", "State-funded secondary", "Independent school", "State-funded nursery"]),
         "pupils_2019": [285.0, 600.0, 100.0, 80.0]}
    )  # fmt: skip
    london = _london([["700", "Closed London", "SE1 1AA", "Community School", "Primary", "Mixed", 3, 11, 530000.0, 180000.0, 530000.0, 180000.0, True]])
    london = sch.dedupe_london_schools(london.assign(la_name=S(["Camden"])))
    links = pd.DataFrame({"urn": U([590]), "link_urn": U([600]), "link_name": S(["Sunny Nursery"]), "link_type": S(["Successor"])})
    return school_postcodes, spine, census, london, links


def test_combine_registers_one_row_per_urn_of_any_register():
    pc, spine, census, london, links = _registers()
    reg = sch.combine_registers(pc, spine, census, london, links).set_index("urn")
    every = set(pc["urn"]) | set(spine["urn"]) | set(census["urn"]) | set(london["urn"])
    assert set(reg.index) == every and reg.index.is_unique  # nothing lost, nothing doubled
    assert reg.loc[100, "school_name"] == "New Name"  # the spine is newer than the 2013 list
    assert reg.loc[100, "postcode"] == "EC3A 5DF" and reg.loc[100, "postcodes"] == "EC3A 5DF|EC3A 5DE"
    assert reg.loc[600, "school_name"] == "Sunny Nursery"  # census-only school named through the links
    assert reg.loc[100, "laestab"] == "2013614"
    assert reg.loc[700, "la_number"] == "202"  # London Schools Atlas LA name -> number through the 2013 list


def test_combine_registers_status_and_funding():
    pc, spine, census, london, links = _registers()
    reg = sch.combine_registers(pc, spine, census, london, links).set_index("urn")
    assert reg.loc[100, "is_open"] and reg.loc[400, "is_open"] and reg.loc[600, "is_open"]
    assert not reg.loc[300, "is_open"]  # closed in the spine
    assert not reg.loc[200, "is_open"]  # only in the 2013 list: closed by 2019
    assert not reg.loc[700, "is_open"]  # only in the 2016 London list
    assert reg.loc[100, "is_state_funded"] and reg.loc[600, "is_state_funded"] and reg.loc[200, "is_state_funded"]
    assert not reg.loc[500, "is_state_funded"]  # independent
    assert reg.loc[400, "has_sixth_form"] and not reg.loc[100, "has_sixth_form"]


def test_state_funded_by_type():
    register = pd.DataFrame(
        {"census_school_type": S([pd.NA, pd.NA, pd.NA, pd.NA, "Pupil referral unit", "Non-maintained special school"]),
         "establishment_type": S(["Sixth form centre/consortia", "University technical college", "Other independent special school",
                                  "Academy - Converter mainstream", "Pupil referral unit", "Non-maintained special school"]),
         "in_school_postcodes": [False] * 6, "in_spine": [True] * 6}
    )  # fmt: skip
    assert sch.state_funded(register).tolist() == [False, True, False, True, True, False]


def test_combine_registers_later_opening_is_not_yet_open():
    pc, spine, census, london, links = _registers()
    spine.loc[spine["urn"] == 400, "open_date"] = pd.Timestamp("2019-09-01")
    census = census[census["urn"] != 400]
    reg = sch.combine_registers(pc, spine, census, london, links).set_index("urn")
    assert not reg.loc[400, "is_open"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()), min_size=1, max_size=20))
def test_combine_registers_keeps_every_urn_once(membership):
    """Whatever register a URN is in, it appears exactly once; a URN in none does not appear."""
    pc, spine, census, london, _ = _registers()
    template = {"pc": pc.iloc[[0]], "spine": spine.iloc[[0]], "census": census.iloc[[0]], "london": london.iloc[[0]]}
    parts: dict[str, list] = {k: [] for k in template}
    for i, flags in enumerate(membership):
        for key, present in zip(template, flags):
            if present:
                parts[key].append(template[key].assign(urn=900000 + i))
    frames = {k: (pd.concat(v, ignore_index=True) if v else template[k].iloc[0:0]) for k, v in parts.items()}
    reg = sch.combine_registers(frames["pc"], frames["spine"], frames["census"], frames["london"])
    expected = {900000 + i for i, flags in enumerate(membership) if any(flags)}
    assert reg["urn"].is_unique and set(reg["urn"]) == expected
    assert (reg["in_census"].astype(bool).to_numpy() == [membership[u - 900000][2] for u in reg["urn"]]).all()


def test_combine_registers_refuses_repeated_urns():
    pc, spine, census, london, links = _registers()
    with pytest.raises(DataFormatError, match="census"):
        sch.combine_registers(pc, spine, pd.concat([census, census.head(1)]), london, links)


@pytest.mark.parametrize(
    "etype, phase, low, high, ctype, expected",
    [
        ("Community school", "Primary", 4, 11, None, "primary"),
        # middle schools teach year groups of both phases (9-13: Years 5-6 primary, 7-8 secondary)
        ("Community School", "Middle Deemed Secondary", 9, 13, None, "all-through"),
        ("Community School", "Middle Deemed Primary", 8, 12, None, "all-through"),
        ("Academy converter", "All-through", 10, 13, None, "all-through"),
        ("Community School", "Middle Deemed Secondary", None, None, None, "all-through"),
        # published middle but the ages say one phase: the ages win, the published phase decides
        ("Community School", "Middle Deemed Secondary", 11, 16, None, "secondary"),
        ("Community School", "Middle Deemed Primary", 4, 11, None, "primary"),
        # first and upper schools teach one phase
        ("Community School", "Primary", 4, 9, None, "primary"),
        ("Community School", "Secondary", 13, 18, None, "secondary"),
        ("Community special school", "Middle Deemed Secondary", 9, 13, None, "special"),
        ("Academy - Converter mainstream", "All Through", 4, 18, None, "all-through"),
        ("Community special school", "Not applicable", 2, 19, None, "special"),
        ("Academy - Converter special school", "Secondary", 11, 19, None, "special"),
        ("Pupil Referral Unit", "Not applicable", 11, 16, None, "pru"),
        ("Academy alternative provision converter", None, 11, 16, None, "pru"),
        ("Sixth form centre/consortia", None, 16, 19, None, "16 plus"),
        ("Local authority nursery school", None, 2, 5, None, "nursery"),
        ("Other independent school", "Not applicable", 3, 18, None, "all-through"),
        ("Other independent school", "Not applicable", 11, 18, None, "secondary"),
        ("Other independent school", "Not applicable", 3, 11, None, "primary"),
        ("State-funded nursery", None, None, None, "State-funded nursery", "nursery"),
        ("State-funded special school", None, None, None, "State-funded special school", "special"),
        ("Other independent school", "Not applicable", None, None, None, "other"),
    ],
)
def test_classify_phase(etype, phase, low, high, ctype, expected):
    out = sch.classify_phase(pd.Series([etype]), pd.Series([phase]), pd.Series([low], dtype="Int64"), pd.Series([high], dtype="Int64"), pd.Series([ctype]))
    assert out.iloc[0] == expected
    assert out.iloc[0] in SCHOOL_PHASES


@pytest.mark.parametrize(
    "phase, low, high, expected",
    [
        ("Middle Deemed Secondary", 9, 13, "middle"),  # Years 5-8
        ("Middle Deemed Primary", 8, 12, "middle"),  # Years 4-7
        ("All-through", 10, 13, "middle"),  # Years 6-8, published as all-through
        ("Middle Deemed Secondary", 2, 13, "middle"),  # combined first and middle
        ("Middle Deemed Secondary", None, None, "middle"),  # no ages: the published phase
        ("Primary", 4, 9, "first"),  # Reception to Year 4
        ("Primary", 3, 8, "first"),
        ("Secondary", 13, 18, "upper"),  # Years 9-13
        ("Secondary", 12, 18, "upper"),
        ("Primary", 4, 7, None),  # infant school (two-tier)
        ("Primary", 7, 11, None),  # junior school (two-tier)
        ("Primary", 4, 11, None),
        ("Secondary", 11, 16, None),
        ("Secondary", 14, 19, None),  # UTC / studio school, not an upper school
        ("All-through", 4, 18, None),
        ("Middle Deemed Secondary", 11, 16, None),  # published middle, ages secondary
    ],
)
def test_classify_tier(phase, low, high, expected):
    out = sch.classify_tier(pd.Series([phase]), pd.Series([low], dtype="Int64"), pd.Series([high], dtype="Int64"))
    assert (pd.isna(out.iloc[0]) and expected is None) or out.iloc[0] == expected
    assert pd.isna(out.iloc[0]) or out.iloc[0] in sch.TIERS


def test_middle_school_in_both_phases():
    """A 9-13 middle school is taught in both phases (teaches_phase), never a secondary school only."""
    schools = pd.DataFrame({"phase_of_education": ["Middle Deemed Secondary", "Primary", "Secondary"], "age_low": [9, 4, 13], "age_high": [13, 9, 18]})
    etype = pd.Series(["Community school"] * 3)
    schools["phase"] = sch.classify_phase(etype, schools["phase_of_education"], schools["age_low"], schools["age_high"])
    assert teaches_phase(schools, "primary").tolist() == [True, True, False]
    assert teaches_phase(schools, "secondary").tolist() == [True, False, True]


# ---------------------------------------------------------------------------------------------
# capacity, inspections


def _capacity():
    return pd.DataFrame(
        {"laestab": S(["2013614", "2022001", "9999999", "2022000"]), "capacity_2015": [210.0, 900.0, 100.0, 60.0], "school_name": S(["a", "b", "c", "d"])}
    )


def test_match_capacity_prefers_the_open_successor_and_lists_the_unmatched():
    pc, spine, census, london, links = _registers()
    reg = sch.combine_registers(pc, spine, census, london, links)
    matched, joins = sch.match_capacity(_capacity(), reg, [spine, pc, census])
    by = matched.set_index("laestab")
    assert len(matched) == len(_capacity())  # every capacity row kept
    assert by.loc["2013614", "urn"] == 100 and by.loc["2013614", "capacity_match"] == "unique"
    # 2022001 is shared by 300 (closed 2016) and its academy successor 400 (open): the open school wins
    assert by.loc["2022001", "urn"] == 400 and by.loc["2022001", "capacity_match"] == "open in 2019"
    assert pd.isna(by.loc["9999999", "urn"])
    assert by.loc["2022000", "urn"] == 200
    not_joined = joins[joins["status"] == "not joined"]
    assert not_joined["laestab"].tolist() == ["9999999"] and not_joined["step"].eq("capacity").all()
    resolved = joins[joins["status"] == "resolved"]
    assert resolved["laestab"].tolist() == ["2022001"] and "300" in resolved["reason"].iloc[0]
    assert matched["urn"].dropna().is_unique


def test_match_capacity_on_survey_date_when_neither_is_open_now():
    pc, spine, census, london, links = _registers()
    census = census[census["urn"] != 400]
    spine.loc[spine["urn"] == 400, ["is_open", "close_date"]] = [False, pd.Timestamp("2018-01-01")]
    spine.loc[spine["urn"] == 300, "close_date"] = pd.Timestamp("2016-08-31")
    reg = sch.combine_registers(pc, spine, census, london, links)
    matched, _ = sch.match_capacity(_capacity(), reg, [spine, pc, census])
    row = matched.set_index("laestab").loc["2022001"]
    assert row["urn"] == 300 and row["capacity_match"] == "open on survey date"  # 400 opened in 2016, after May 2015


def test_follow_successors_moves_capacity_to_the_open_successor():
    register = pd.DataFrame({"urn": U([1, 2, 3, 4, 5, 6, 7, 8]), "is_open": [False, True, False, False, True, False, True, True]})
    links = pd.DataFrame(
        {"urn": U([1, 3, 4, 6, 6]), "link_urn": U([2, 4, 5, 7, 8]),
         "link_type": S(["Successor", "Successor", "Successor", "Successor", "Successor"])}
    )  # fmt: skip
    matched = pd.DataFrame(
        {"laestab": S(["a", "b", "c", "d", "e"]), "urn": U([1, 3, 6, 5, pd.NA]), "capacity_match": S(["unique"] * 4 + [pd.NA]),
         "capacity_2015": [100.0, 200.0, 300.0, 400.0, 500.0]}
    )  # fmt: skip
    moved, joins = sch.follow_successors(matched, register, links)
    by = moved.set_index("laestab")
    assert by.loc["a", "urn"] == 2 and by.loc["a", "capacity_match"] == "successor of 1"
    assert by.loc["b", "urn"] == 3  # its successor chain ends at 5, which has a capacity row of its own
    assert by.loc["c", "urn"] == 6  # two successors: ambiguous, left alone
    assert by.loc["d", "urn"] == 5 and pd.isna(by.loc["e", "urn"])
    assert moved["urn"].dropna().is_unique and len(moved) == len(matched)
    assert joins["laestab"].tolist() == ["a"] and joins["status"].eq("resolved").all()


def test_follow_successors_walks_a_chain():
    register = pd.DataFrame({"urn": U([1, 2, 3]), "is_open": [False, False, True]})
    links = pd.DataFrame({"urn": U([1, 2]), "link_urn": U([2, 3]), "link_type": S(["Successor", "Successor"])})
    matched = pd.DataFrame({"laestab": S(["a"]), "urn": U([1]), "capacity_match": S(["unique"])})
    moved, _ = sch.follow_successors(matched, register, links)
    assert moved.loc[0, "urn"] == 3
    unmoved, joins = sch.follow_successors(matched, register, links, max_steps=1)
    assert unmoved.loc[0, "urn"] == 1 and joins.empty


def test_latest_inspection_takes_the_latest_and_the_worse_on_a_tie():
    inspections = pd.DataFrame(
        {"urn": U([1, 1, 1, 2, 2]), "ofsted_rating": S(["Good", "Outstanding", "Inadequate", "Good", "Requires Improvement"]),
         "ofsted_grade": pd.array([2, 1, 4, 2, 3], dtype="Int64"),
         "ofsted_date": pd.to_datetime(["2010-01-01", "2015-01-01", "2012-01-01", "2019-05-05", "2019-05-05"])}
    )  # fmt: skip
    out = sch.latest_inspection(inspections).set_index("urn")
    assert out.loc[1, "ofsted_rating"] == "Outstanding" and out.loc[1, "ofsted_inspections"] == 3
    assert out.loc[2, "ofsted_rating"] == "Requires Improvement"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(0, 3000)), min_size=1, max_size=30))
def test_latest_inspection_one_row_per_school_with_its_latest_date(rows):
    frame = pd.DataFrame(rows, columns=["urn", "ofsted_grade", "day"])
    inspections = pd.DataFrame(
        {"urn": frame["urn"].astype("int64"), "ofsted_rating": S(["x"] * len(frame)),
         "ofsted_grade": frame["ofsted_grade"].astype("Int64"), "ofsted_date": pd.Timestamp("2005-01-01") + pd.to_timedelta(frame["day"], unit="D")}
    )  # fmt: skip
    out = sch.latest_inspection(inspections).set_index("urn")
    assert set(out.index) == set(inspections["urn"])
    latest = inspections.groupby("urn")["ofsted_date"].max()
    assert (out["ofsted_date"] == latest.reindex(out.index)).all()
    assert (out["ofsted_inspections"] == inspections.groupby("urn").size().reindex(out.index)).all()


# ---------------------------------------------------------------------------------------------
# location


def test_locate_schools_order_and_reasons():
    register = pd.DataFrame(
        {"urn": U([1, 2, 3, 4, 5, 6]),
         "postcodes": S(["AA1 1AA|BB1 1BB", "ZZ9 9ZZ|BB1 1BB", pd.NA, pd.NA, "ZZ9 9ZZ", "QQ1 1QQ"]),
         "school_name": S(list("abcdef"))}
    )  # fmt: skip
    points = pd.DataFrame({"postcode": ["AA1 1AA", "BB1 1BB", "CC1 1CC", "QQ1 1QQ"], "easting": [1.0, 2.0, 3.0, np.nan], "northing": [10.0, 20.0, 30.0, np.nan]})
    london = pd.DataFrame({"urn": U([3, 1]), "lsa_easting": [300.0, 999.0], "lsa_northing": [3000.0, 999.0]})
    predecessors = pd.DataFrame({"urn": U([4]), "predecessor_urn": U([40]), "predecessor_postcode": S(["CC1 1CC"])})
    out, joins = locate.locate_schools(register, points, london, predecessors)
    out = out.set_index("urn")
    assert len(out) == len(register)
    assert out.loc[1, "located_by"] == "codepoint" and out.loc[1, "easting"] == 1.0  # the newest postcode first, not the LSA point
    assert out.loc[2, "located_postcode"] == "BB1 1BB"  # the terminated postcode skipped for the next one
    assert out.loc[3, "located_by"] == "london_schools_atlas" and out.loc[3, "northing"] == 3000.0
    assert out.loc[4, "located_by"] == "codepoint_predecessor" and out.loc[4, "easting"] == 3.0
    assert out.loc[[5, 6], "located_by"].isna().all()
    reasons = joins.set_index("urn")["reason"]
    assert set(reasons.index) == {5, 6} and joins["status"].eq("not located").all()
    assert "not in Code-Point Open" in reasons[5] and "quality 90" in reasons[6]
    assert joins.set_index("urn").loc[5, "school_name"] == "e"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["AA1 1AA", "BB1 1BB", "ZZ9 9ZZ", None]), min_size=1, max_size=25))
def test_locate_schools_every_school_located_or_listed(postcodes):
    register = pd.DataFrame({"urn": U(list(range(len(postcodes)))), "postcodes": S(postcodes)})
    points = pd.DataFrame({"postcode": ["AA1 1AA", "BB1 1BB"], "easting": [1.0, 2.0], "northing": [1.0, 2.0]})
    out, joins = locate.locate_schools(register, points)
    assert len(out) == len(register)
    unlocated = set(out.loc[out["located_by"].isna(), "urn"])
    assert unlocated == set(joins["urn"])
    assert out["located_by"].notna().sum() == sum(p in {"AA1 1AA", "BB1 1BB"} for p in postcodes)


def _squares():
    # two 100 m squares side by side (shared edge x=100) in authority A, one far away in B
    return gpd.GeoDataFrame(
        {"lsoa11_code": ["E01000002", "E01000001", "E01000003"], "authority_code": ["A", "A", "B"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(5000, 0, 5100, 100)],
        crs="EPSG:27700",
    )


def test_assign_lsoa_within_boundary_nearest_and_outside():
    IN, EDGE, NEAR, FAR, NONE, B = range(100001, 100007)  # URNs
    points = pd.DataFrame(
        {"urn": U([IN, EDGE, NEAR, FAR, NONE, B]),
         "easting": [50.0, 100.0, 250.0, 20000.0, np.nan, 5050.0], "northing": [50.0, 50.0, 50.0, 50.0, np.nan, 50.0]}
    )  # fmt: skip
    out, joins = locate.assign_lsoa(points, _squares(), max_distance_m=1000)
    out = out.set_index("urn")
    assert out.loc[IN, "lsoa11_code"] == "E01000002" and out.loc[IN, "lsoa_match"] == "within"
    assert out.loc[EDGE, "lsoa11_code"] == "E01000001"  # on the shared edge: the lowest code, every time
    assert out.loc[NEAR, "lsoa_match"] == "nearest" and out.loc[NEAR, "lsoa_distance_m"] == 50.0
    assert pd.isna(out.loc[FAR, "lsoa11_code"]) and pd.isna(out.loc[NONE, "lsoa11_code"])
    assert out.loc[B, "lsoa_authority_code"] == "B"
    status = joins.set_index("urn")["status"]
    assert status[NEAR] == "resolved" and status[FAR] == "not joined" and NONE not in status  # unlocated is the location step's
    assert len(out) == len(points)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=30))
def test_assign_lsoa_each_point_gets_the_lowest_touching_polygon(cells):
    """On a 3 x 3 grid of 100 m squares, points on a 10 m lattice (many on shared edges and corners)."""
    grid = gpd.GeoDataFrame(
        {"lsoa11_code": [f"E0100{9 - (3 * i + j)}" for i in range(3) for j in range(3)], "authority_code": ["A"] * 9},
        geometry=[box(100 * i, 100 * j, 100 * (i + 1), 100 * (j + 1)) for i in range(3) for j in range(3)],
        crs="EPSG:27700",
    )
    points = pd.DataFrame({"urn": U(list(range(len(cells)))), "easting": [10.0 * x for x, _ in cells], "northing": [10.0 * y for _, y in cells]})
    out, joins = locate.assign_lsoa(points, grid)
    assert len(out) == len(points) and out["lsoa_match"].eq("within").all() and joins.empty
    polygons = grid.set_index("lsoa11_code").geometry
    for row, (x, y) in zip(out.itertuples(), cells):
        point = gpd.points_from_xy([10.0 * x], [10.0 * y])[0]
        touching = sorted(grid.loc[grid.intersects(point), "lsoa11_code"])
        assert row.lsoa11_code == touching[0] and polygons[row.lsoa11_code].intersects(point)


def test_assign_lsoa_needs_british_national_grid():
    with pytest.raises(DataFormatError, match="27700"):
        locate.assign_lsoa(pd.DataFrame({"urn": [1], "easting": [1.0], "northing": [1.0]}), _squares().to_crs(4326))


def test_resolve_authority_split_numbers_decided_by_lsoa():
    codes = pd.DataFrame(
        {"code": ["201", "928", "928", "835", "835"], "authority_code": ["E09000001", "E06000061", "E06000062", "E06000059", "E06000058"],
         "kind": ["la_number"] * 5}
    )  # fmt: skip
    schools = pd.DataFrame(
        {"urn": U([1, 2, 3, 4, 5, 6]), "la_number": S(["201", "928", "928", "201", "999", "835"]),
         "lsoa_authority_code": S(["E09000001", "E06000062", pd.NA, "E09000007", pd.NA, "E06000058"])}
    )  # fmt: skip
    out, joins = locate.assign_current_authority(schools, codes)
    out = out.set_index("urn")
    assert out.loc[1, "authority_code"] == "E09000001" and out.loc[1, "authority_source"] == "lsoa"
    assert out.loc[2, "authority_code"] == "E06000062" and pd.isna(out.loc[2, "la_number_authority_code"])
    assert pd.isna(out.loc[3, "authority_code"])  # split number, not located: no guess
    assert out.loc[4, "authority_code"] == "E09000007" and out.loc[4, "la_number_authority_code"] == "E09000001"
    assert pd.isna(out.loc[5, "authority_code"])
    assert out.loc[6, "authority_code"] == "E06000058"
    by = joins.groupby("status")["urn"].apply(set)
    assert by["not joined"] == {3, 5} and by["resolved"] == {2, 6} and by["differs"] == {4}


def test_resolve_authority_falls_back_to_the_la_number():
    codes = pd.DataFrame({"code": ["201"], "authority_code": ["E09000001"], "kind": ["la_number"]})
    schools = pd.DataFrame({"urn": U([1]), "la_number": S(["201"]), "lsoa_authority_code": S([pd.NA])})
    out, joins = locate.assign_current_authority(schools, codes)
    assert out.loc[0, "authority_code"] == "E09000001" and out.loc[0, "authority_source"] == "la_number"
    assert joins.empty
