"""Schools on the real data: readers' counts, and the store's schools table reconciled through every join."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from atlaskit.store import locate
from atlaskit.store import registers as sch
from atlaskit import store as st
from atlaskit.sources import postcodes, school_figures
from atlaskit.sources import schools as src
from atlaskit.vocabulary import SCHOOL_PHASES

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def registers(data_dir):
    return {
        "school_postcodes": src.read_school_postcodes(data_dir),
        "spine": src.read_spine(data_dir),
        "census": src.read_census(data_dir),
        "london_rows": src.read_london_schools_atlas(data_dir),
    }


@pytest.fixture(scope="module")
def schools(store):
    return st.read_table("schools", store_dir=store)


@pytest.fixture(scope="module")
def joins(store):
    return st.read_table("school_joins", store_dir=store)


def test_readers_match_the_documented_files(registers, data_dir):
    """Counts from atlas-data/README.md: each file read whole, each quirk handled."""
    assert len(registers["school_postcodes"]) == 20_450
    spine = registers["spine"]
    assert len(spine) == 26_078 and spine["urn"].is_unique
    assert spine["laestab"].duplicated().sum() > 1_000  # LAESTAB not unique (1,323 shared)
    assert spine["postcode"].isna().sum() == 27
    assert len(registers["census"]) == 23_939 and registers["census"]["urn"].is_unique  # national rows dropped
    london = registers["london_rows"]
    assert len(london) == 3_889 and london["urn"].nunique() == 3_493
    assert len(sch.dedupe_london_schools(london)) == 3_493
    assert london["age_range"].str.fullmatch(r"\d+-\d+").mean() > 0.99  # Excel dates undone
    capacity = school_figures.read_capacity_2015(data_dir)
    assert len(capacity) == 20_115
    assert capacity.loc[capacity["row_repaired"], "laestab"].tolist() == ["8844014"]
    repaired = capacity.set_index("laestab").loc["8844014"]
    assert repaired["main_phase"] == "SEC" and repaired["capacity_2015"] > repaired["pupils_2015"] > 0
    ofsted = school_figures.read_ofsted(data_dir)
    assert len(ofsted) == 60_134 and ofsted["urn"].nunique() == 20_614
    assert len(sch.latest_inspection(ofsted)) == 20_614


def test_london_coordinate_disagreements_are_the_nine(registers):
    london = locate.choose_london_coordinates(sch.dedupe_london_schools(registers["london_rows"]))
    assert (london["lsa_disagreement_m"] > 20).sum() == 9


def test_every_register_urn_once(schools, registers):
    every = set()
    for frame in (registers["school_postcodes"], registers["spine"], registers["census"], registers["london_rows"]):
        every |= set(frame["urn"])
    assert schools["urn"].is_unique
    assert set(schools["urn"]) == every


def test_unlocated_and_unjoined_schools_are_listed(schools, joins):
    unlocated = set(schools.loc[schools["located_by"].isna(), "urn"])
    listed = set(joins.loc[joins["step"] == "location", "urn"])
    assert unlocated == listed
    assert joins["reason"].notna().all() and (joins["reason"].str.len() > 10).all()
    located = schools["located_by"].notna()
    no_lsoa = set(schools.loc[located & schools["lsoa11_code"].isna(), "urn"])
    assert no_lsoa == set(joins.loc[(joins["step"] == "lsoa") & (joins["status"] == "not joined"), "urn"])
    no_authority = set(schools.loc[schools["authority_code"].isna(), "urn"])
    assert no_authority == set(joins.loc[(joins["step"] == "authority") & (joins["status"] == "not joined"), "urn"])


def test_over_99_percent_of_open_state_funded_schools_with_an_address_are_located(schools, store):
    open_state = schools[schools["is_open"] & schools["is_state_funded"]]
    assert len(open_state) > 20_000
    with_address = open_state[open_state["postcode"].notna() | open_state["located_by"].notna()]
    assert with_address["located_by"].notna().mean() > 0.99
    # those with no address in any file are the 2019 census's nursery schools and PRUs (it gives no postcode)
    no_address = open_state[open_state["postcode"].isna() & open_state["located_by"].isna()]
    assert (no_address["in_census"] & ~no_address["in_spine"] & ~no_address["in_school_postcodes"]).all()
    notes = "\n".join(st.build_info(store)["notes"])
    assert "schools located:" in notes and "of open state-funded" in notes


def test_every_located_school_lies_in_its_lsoa(schools, store):
    lsoas = st.read_table("lsoas", columns=["lsoa11_code", "authority_code", "geometry"], store_dir=store).set_index("lsoa11_code")
    located = schools[schools["lsoa11_code"].notna()]
    assert located["located_by"].notna().all()
    polygons = lsoas.geometry.reindex(located["lsoa11_code"]).to_numpy()
    points = shapely.points(located["easting"].to_numpy(), located["northing"].to_numpy())
    within = located["lsoa_match"].eq("within").to_numpy()
    assert shapely.intersects(polygons[within], points[within]).all()
    distance = shapely.distance(polygons[~within], points[~within])
    assert np.allclose(distance, located.loc[~within, "lsoa_distance_m"], atol=1.0)
    assert (located["lsoa_authority_code"].to_numpy() == lsoas["authority_code"].reindex(located["lsoa11_code"]).to_numpy()).all()
    # the geometry column is the same point, and null exactly where the school is unlocated
    assert (schools.geometry.isna().to_numpy() == schools["located_by"].isna().to_numpy()).all()
    assert np.allclose(located.geometry.x, located["easting"]) and np.allclose(located.geometry.y, located["northing"])


def test_authorities_are_current_and_follow_the_lsoa(schools, store):
    authorities = set(st.read_table("authorities", columns=["authority_code"], store_dir=store)["authority_code"])
    coded = schools[schools["authority_code"].notna()]
    assert set(coded["authority_code"]) <= authorities
    in_lsoa = coded["lsoa_authority_code"].notna()
    assert (coded.loc[in_lsoa, "authority_code"] == coded.loc[in_lsoa, "lsoa_authority_code"]).all()
    # the split Northamptonshire and Cumbria numbers land in both successors (state-funded schools;
    # a few independent schools are registered at a head office elsewhere)
    open_state = schools[schools["is_open"] & schools["is_state_funded"]]
    assert set(open_state.loc[open_state["la_number"] == "928", "authority_code"].dropna()) == {"E06000061", "E06000062"}
    assert set(open_state.loc[open_state["la_number"] == "909", "authority_code"].dropna()) == {"E06000063", "E06000064"}
    assert open_state["authority_code"].notna().mean() > 0.99
    assert open_state["authority_code"].nunique() == len(authorities)  # every authority has schools


def test_capacity_rows_reconcile(schools, joins, data_dir):
    capacity = school_figures.read_capacity_2015(data_dir)
    joined = int(schools["capacity_match"].notna().sum())
    not_joined = joins[(joins["step"] == "capacity") & (joins["status"] == "not joined")]
    assert joined + len(not_joined) == len(capacity)  # every UD1 row joined once or listed
    assert 20_065 <= joined <= len(capacity)
    assert schools.loc[schools["capacity_match"].notna(), "capacity_2015"].notna().mean() > 0.99
    assert not joins.loc[joins["step"] == "capacity", "laestab"].isna().any()
    # capacity follows academies to their new URN: nearly every open mainstream school has it
    mainstream = schools[schools["is_open"] & schools["is_state_funded"] & schools["phase"].isin(["primary", "secondary", "all-through"])]
    assert mainstream["capacity_2015"].notna().mean() > 0.97
    assert np.isclose(schools["capacity_2015"].sum(), capacity["capacity_2015"].sum() - capacity.loc[capacity["laestab"].isin(not_joined["laestab"]), "capacity_2015"].sum())


def test_results_and_inspections_joined(schools, joins, data_dir):
    for step, frame in [("ks2", school_figures.read_ks2(data_dir)), ("ks4", school_figures.read_ks4(data_dir)), ("ofsted", school_figures.read_ofsted(data_dir))]:
        orphans = set(frame.loc[~frame["urn"].isin(schools["urn"]), "urn"])
        assert orphans == set(joins.loc[joins["step"] == step, "urn"])  # results for unknown URNs are listed, not dropped
        with_result = {"ks2": "ks2_pupils", "ks4": "ks4_pupils", "ofsted": "ofsted_date"}[step]
        assert schools[with_result].notna().sum() == frame.loc[frame["urn"].isin(schools["urn"]), "urn"].nunique() - (
            frame.loc[frame[with_result].isna() & frame["urn"].isin(schools["urn"]), "urn"].nunique() if with_result in frame else 0
        )
    assert schools["ks2_rwm_expected_pct"].between(0, 100).sum() > 14_000
    assert schools["ofsted_rating"].notna().sum() > 20_000
    census = src.read_census(data_dir)
    assert schools["in_census"].sum() == len(census) == 23_939
    assert schools["pupils_2019"].notna().sum() == census["pupils_2019"].notna().sum()
    assert np.isclose(schools["pupils_2019"].sum(), census["pupils_2019"].sum())


def test_schools_table_has_the_documented_columns(schools):
    documented = """urn school_name la_number authority_code laestab postcode phase phase_of_education establishment_type
        is_state_funded is_open gender age_low age_high pupils_2019 pupils_2015 capacity_2015 capacity_primary_2015
        capacity_secondary_2015 planning_area_code ofsted_rating ofsted_date ks2_pupils ks2_rwm_expected_pct ks4_pupils
        ks4_attainment8 ks4_progress8 easting northing located_by lsoa11_code lsoa_authority_code geometry""".split()
    assert [c for c in schools.columns if c in documented] == [c for c in documented if c in schools.columns]
    assert set(documented) <= set(schools.columns)
    assert schools.crs.to_epsg() == 27700
    assert set(schools["phase"]) <= set(SCHOOL_PHASES)
    assert schools["authority_code"].dropna().is_monotonic_increasing
