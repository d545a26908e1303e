"""Pure geography functions on small fixtures made by code: codes, counties, coverage, display, population."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

from atlaskit.store import geography as geo
from atlaskit.errors import AtlasError, DataFormatError, UnknownAuthority

# --- a miniature England holding every reorganisation since 2019 ------------------------------

CURRENT = {
    "E06000058": "Bournemouth, Christchurch and Poole",
    "E06000059": "Dorset",
    "E06000060": "Buckinghamshire",
    "E06000061": "North Northamptonshire",
    "E06000062": "West Northamptonshire",
    "E06000063": "Cumberland",
    "E06000064": "Westmorland and Furness",
    "E06000065": "North Yorkshire",
    "E06000066": "Somerset",
    "E08000038": "Barnsley",
    "E10000016": "Kent",
}

# (retired district code, name, active district, current upper tier)
RETIRED_DISTRICTS = [
    ("E06000028", "Bournemouth", "E06000058", "E06000058"),
    ("E06000029", "Poole", "E06000058", "E06000058"),
    ("E07000048", "Christchurch", "E06000058", "E06000058"),
    ("E07000052", "West Dorset", "E06000059", "E06000059"),
    ("E07000004", "Aylesbury Vale", "E06000060", "E06000060"),
    ("E07000150", "Corby", "E06000061", "E06000061"),
    ("E07000154", "Northampton", "E06000062", "E06000062"),
    ("E07000026", "Allerdale", "E06000063", "E06000063"),
    ("E07000030", "Eden", "E06000064", "E06000064"),
    ("E07000163", "Craven", "E06000065", "E06000065"),
    ("E07000187", "Mendip", "E06000066", "E06000066"),
    ("E07000190", "Taunton Deane", "E06000066", "E06000066"),
    ("E08000016", "Barnsley", "E08000038", "E08000038"),
]

CHANGES = [
    ("E06000028", "Bournemouth", "E06000058", "Bournemouth, Christchurch and Poole", "merger", 2019),
    ("E07000048", "Christchurch", "E06000058", "Bournemouth, Christchurch and Poole", "merger", 2019),
    ("E07000052", "West Dorset", "E06000059", "Dorset", "merger", 2019),
    ("E07000190", "Taunton Deane", "E07000246", "Somerset West and Taunton", "merger", 2019),
    ("E10000009", "Dorset", None, None, "termination", 2019),
    ("E07000004", "Aylesbury Vale", "E06000060", "Buckinghamshire", "merger", 2020),
    ("E10000002", "Buckinghamshire", None, None, "termination", 2020),
    ("E07000150", "Corby", "E06000061", "North Northamptonshire", "merger", 2021),
    ("E07000154", "Northampton", "E06000062", "West Northamptonshire", "merger", 2021),
    ("E10000021", "Northamptonshire", None, None, "termination", 2021),
    ("E07000026", "Allerdale", "E06000063", "Cumberland", "merger", 2023),
    ("E07000030", "Eden", "E06000064", "Westmorland and Furness", "merger", 2023),
    ("E07000163", "Craven", "E06000065", "North Yorkshire", "merger", 2023),
    ("E07000187", "Mendip", "E06000066", "Somerset", "merger", 2023),
    ("E07000246", "Somerset West and Taunton", "E06000066", "Somerset", "merger", 2023),
    ("E10000006", "Cumbria", None, None, "termination", 2023),
    ("E10000023", "North Yorkshire", None, None, "termination", 2023),
    ("E10000027", "Somerset", None, None, "termination", 2023),
    ("E08000016", "Barnsley", "E08000038", "Barnsley", "new_code", 2025),
    ("S12000015", "Fife", "S12000047", "Fife", "new_code", 2018),
    ("E06000057", "Northumberland", "E47000011", "North of Tyne", "new_geo", 2018),
]

LA_NUMBERS = [
    ("370", "E08000016", "Barnsley"),
    ("815", "E06000065", "North Yorkshire"),
    ("825", "E06000060", "Buckinghamshire"),
    ("838", "E06000059", "Dorset"),
    ("839", "E06000058", "Bournemouth, Christchurch and Poole"),
    ("886", "E10000016", "Kent"),
    ("933", "E06000066", "Somerset"),
    ("940", "E06000061", "North Northamptonshire"),
    ("941", "E06000062", "West Northamptonshire"),
    ("942", "E06000063", "Cumberland"),
    ("943", "E06000064", "Westmorland and Furness"),
]


@pytest.fixture
def inputs() -> dict[str, pd.DataFrame]:
    authorities = pd.DataFrame({"authority_code": list(CURRENT), "authority_name": list(CURRENT.values())}, dtype="string")
    districts = pd.DataFrame(
        {"district_code": ["E07000105", "E07000106", *[c for c in CURRENT if not c.startswith("E10")]], "authority_code": ["E10000016", "E10000016", *[c for c in CURRENT if not c.startswith("E10")]]},
        dtype="string",
    )
    current_rows = [(c, n, c, n, c, True) for c, n in CURRENT.items() if not c.startswith("E10")]
    current_rows += [("E07000105", "Ashford", "E07000105", "Ashford", "E10000016", True), ("E07000106", "Canterbury", "E07000106", "Canterbury", "E10000016", True)]
    retired_rows = [(d, n, a, CURRENT[a], u, False) for d, n, a, u in RETIRED_DISTRICTS]
    la_codes = pd.DataFrame(
        current_rows + retired_rows,
        columns=["district_code", "district_name", "active_district_code", "active_district_name", "authority_code", "is_current"],
    )
    changes = pd.DataFrame(CHANGES, columns=["old_code", "old_name", "new_code", "new_name", "change_type", "year"])
    for column in ("old_code", "old_name", "new_code", "new_name", "change_type"):
        changes[column] = changes[column].astype("string")
    la_numbers = pd.DataFrame(LA_NUMBERS, columns=["la_number", "ons_code", "la_name"], dtype="string")
    return {"authorities": authorities, "districts": districts, "la_codes": la_codes, "changes": changes, "la_numbers": la_numbers}


@pytest.fixture
def codes(inputs) -> pd.DataFrame:
    return geo.build_authority_codes(inputs["authorities"], inputs["districts"], inputs["la_codes"], inputs["changes"], inputs["la_numbers"])


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # Buckinghamshire: county E10000002 abolished 2020, DfE 825 kept
        ("E10000002", ["E06000060"]),
        ("825", ["E06000060"]),
        ("E07000004", ["E06000060"]),
        # Northamptonshire: split into North (E06000061) and West (E06000062) in 2021
        ("E10000021", ["E06000061", "E06000062"]),
        ("928", ["E06000061", "E06000062"]),
        ("E07000150", ["E06000061"]),
        ("E07000154", ["E06000062"]),
        # Dorset and BCP (2019): Poole, Bournemouth, Christchurch to BCP; the county mostly to Dorset
        ("836", ["E06000058"]),
        ("837", ["E06000058"]),
        ("835", ["E06000059", "E06000058"]),
        ("E10000009", ["E06000059", "E06000058"]),
        ("E06000028", ["E06000058"]),
        ("E07000048", ["E06000058"]),
        ("E07000052", ["E06000059"]),
        # Cumbria: split into Cumberland and Westmorland and Furness (2023)
        ("E10000006", ["E06000063", "E06000064"]),
        ("909", ["E06000063", "E06000064"]),
        ("E07000030", ["E06000064"]),
        # North Yorkshire and Somerset: counties became unitaries (2023), DfE numbers kept
        ("E10000023", ["E06000065"]),
        ("815", ["E06000065"]),
        ("E10000027", ["E06000066"]),
        ("933", ["E06000066"]),
        ("E07000190", ["E06000066"]),
        # Barnsley's new code (2025), published in the scorecard under its old one
        ("E08000016", ["E08000038"]),
        ("370", ["E08000038"]),
        # current codes, districts, numbers as integers, spaces and case
        ("E10000016", ["E10000016"]),
        (" e07000105 ", ["E10000016"]),
        (886, ["E10000016"]),
    ],
)
def test_current_authority_codes_across_reorganisations(codes, code, expected):
    assert geo.current_authority_codes(code, codes) == expected


def test_every_row_maps_to_a_current_authority_and_kinds_are_known(codes):
    assert set(codes["authority_code"]) <= set(CURRENT)
    assert set(codes["kind"]) == {"current", "district", "retired", "la_number"}
    assert (codes.loc[codes["kind"] == "current", "code"].sort_values().tolist()) == sorted(CURRENT)
    # a split is several rows with a note, never a silent single mapping
    split = codes[codes["code"] == "E10000021"]
    assert len(split) == 2 and split["note"].str.contains("split").all()
    # Scottish and combined-authority changes are not mapped
    assert not codes["code"].isin(["S12000015", "E06000057"]).any()
    assert not codes.duplicated(["code", "authority_code"]).any()


def test_kept_la_numbers_carry_a_note_on_the_code_change(codes):
    note = codes.loc[codes["code"] == "825", "note"].item()
    assert "E10000002" in note and "E06000060" in note


def test_unknown_code_suggests_close_codes_and_names(codes, inputs):
    with pytest.raises(UnknownAuthority) as info:
        geo.current_authority_codes("Kentt", codes, inputs["authorities"])
    assert "E10000016 Kent" in str(info.value)
    with pytest.raises(UnknownAuthority, match="E10000016"):
        geo.current_authority_codes("E1000016", codes, inputs["authorities"])


def test_authority_names_are_accepted_when_authorities_are_given(codes, inputs):
    assert geo.current_authority_codes("kent", codes, inputs["authorities"]) == ["E10000016"]


def test_la_number_with_unmappable_code_is_an_error(inputs):
    numbers = pd.concat([inputs["la_numbers"], pd.DataFrame([{"la_number": "999", "ons_code": "E06999999", "la_name": "Nowhere"}])], ignore_index=True)
    with pytest.raises(DataFormatError, match="999"):
        geo.build_authority_codes(inputs["authorities"], inputs["districts"], inputs["la_codes"], inputs["changes"], numbers)


def test_abolished_county_without_successor_is_an_error(inputs):
    changes = pd.concat([inputs["changes"], pd.DataFrame([{"old_code": "E10000099", "old_name": "Nowhereshire", "new_code": pd.NA, "new_name": pd.NA, "change_type": "termination", "year": 2024}])], ignore_index=True)
    with pytest.raises(DataFormatError, match="E10000099"):
        geo.build_authority_codes(inputs["authorities"], inputs["districts"], inputs["la_codes"], changes, inputs["la_numbers"])


def test_authority_type_by_prefix():
    assert [geo.authority_type(c) for c in ("E06000001", "E08000001", "E09000001", "E10000016")] == ["unitary", "metropolitan", "london", "county"]
    with pytest.raises(UnknownAuthority, match="E07000105"):
        geo.authority_type("E07000105")
    mask = geo.is_education_authority_code(pd.Series(["E10000016", "E07000105", "W06000001", None]))
    assert mask.tolist() == [True, False, False, False]


# --- geometry -----------------------------------------------------------------------------------


def test_clean_coverage_removes_overlaps_and_repairs_invalid_polygons():
    overlapping = np.array([box(0, 0, 10, 10), box(9, 0, 20, 10)], dtype=object)
    assert not shapely.coverage_is_valid(overlapping)
    cleaned = geo.clean_coverage(overlapping)
    assert shapely.coverage_is_valid(cleaned)
    assert shapely.area(shapely.intersection(cleaned[0], cleaned[1])) == pytest.approx(0)
    assert sum(shapely.area(cleaned)) == pytest.approx(200)
    # nested shells (one of the five invalid 2011 LSOAs): repaired, not dropped
    nested = Polygon([(30, 0), (40, 0), (40, 10), (30, 10)]).union(Polygon([(32, 2), (38, 2), (38, 8), (32, 8)]).exterior.buffer(0.5))
    bowtie = Polygon([(50, 0), (60, 10), (60, 0), (50, 10)])
    assert not bowtie.is_valid
    repaired = geo.clean_coverage(np.array([bowtie, nested], dtype=object))
    assert all(g.is_valid and not g.is_empty for g in repaired)
    assert shapely.get_type_id(repaired[0]) in (3, 6)


def _grid(nx: int, ny: int, size: float = 1000.0, wiggle: bool = False):
    """Squares in EPSG:27700 with two authorities (left and right halves); optionally wiggly shared edges."""
    polygons, codes, authorities = [], [], []
    for i in range(nx):
        for j in range(ny):
            polygons.append(box(500_000 + i * size, 150_000 + j * size, 500_000 + (i + 1) * size, 150_000 + (j + 1) * size))
            codes.append(f"E0100{i}{j:03d}")
            authorities.append("E10000016" if i < nx // 2 else "E06000035")
    frame = gpd.GeoDataFrame({"lsoa11_code": codes, "authority_code": authorities, "region_code": "E12000008"}, geometry=polygons, crs="EPSG:27700")
    if wiggle:  # densify so simplification has vertices to remove
        frame = frame.set_geometry(shapely.segmentize(frame.geometry.to_numpy(), 20.0), crs="EPSG:27700")
    return frame


def test_dissolve_coverage_makes_one_polygon_per_authority():
    lsoas = _grid(4, 3)
    merged = geo.dissolve_coverage(lsoas, "authority_code")
    assert merged["authority_code"].tolist() == ["E06000035", "E10000016"]
    assert merged.area.sum() == pytest.approx(lsoas.area.sum())
    assert merged.geom_type.tolist() == ["Polygon", "Polygon"]
    assert merged.crs.to_epsg() == 27700


def test_simplify_for_display_reduces_vertices_keeps_coverage_and_rounds_to_5_decimals():
    lsoas = _grid(3, 3, wiggle=True)
    display = geo.simplify_for_display(lsoas, tolerance_m=50, decimals=5, columns=["lsoa11_code"])
    assert display.crs.to_epsg() == 4326
    assert list(display.columns) == ["lsoa11_code", "geometry"]
    before = shapely.get_num_coordinates(lsoas.geometry.to_numpy()).sum()
    after = shapely.get_num_coordinates(display.geometry.to_numpy()).sum()
    assert after < before / 2
    coords = shapely.get_coordinates(display.geometry.to_numpy())
    assert np.allclose(coords, np.round(coords, 5), atol=1e-9)
    assert shapely.coverage_is_valid(display.geometry.to_numpy())
    assert display["lsoa11_code"].tolist() == lsoas["lsoa11_code"].tolist()


def test_simplify_for_display_refuses_degrees():
    with pytest.raises(AtlasError, match="27700"):
        geo.simplify_for_display(_grid(2, 2).to_crs(4326))


def test_authorities_from_lsoas_counts_names_types_and_numbers():
    lsoas = _grid(4, 2)
    utla = pd.DataFrame({"authority_code": ["E10000016", "E06000035"], "authority_name": ["Kent", "Medway"]})
    regions = pd.DataFrame({"region_code": ["E12000008"], "region_name": ["South East"]})
    table = geo.authorities_from_lsoas(lsoas, utla, regions, {"E10000016": "886", "E06000035": "887"})
    assert table["authority_code"].tolist() == ["E06000035", "E10000016"]
    assert table["n_lsoas"].tolist() == [4, 4]
    assert table["authority_type"].tolist() == ["unitary", "county"]
    assert table["la_number"].tolist() == [887, 886]
    assert table["region_name"].unique().tolist() == ["South East"]
    with pytest.raises(DataFormatError, match="DfE LA number"):
        geo.authorities_from_lsoas(lsoas, utla, regions, {"E10000016": "886"})


# --- population -----------------------------------------------------------------------------------


def test_la_population_sums_districts_into_counties_and_maps_retired_codes():
    rows = []
    for code, geography, count in [
        ("E07000105", "Non-metropolitan District", 10),
        ("E07000106", "Non-metropolitan District", 20),
        ("E10000016", "County", 30),  # the county row itself is ignored (it would double count)
        ("E07000150", "Non-metropolitan District", 5),  # Corby (retired) -> North Northamptonshire
        ("E07000153", "Non-metropolitan District", 7),  # Kettering (retired) -> North Northamptonshire
        ("E12000008", "Region", 99),
    ]:
        rows += [{"code": code, "geography": geography, "year": 2019, "age": age, "population": count} for age in (0, 1)]
    la_population = pd.DataFrame(rows)
    la_codes = pd.DataFrame(
        {"district_code": ["E07000105", "E07000106", "E07000150", "E07000153"], "authority_code": ["E10000016", "E10000016", "E06000061", "E06000061"]}
    )
    out = geo.la_population_by_authority(la_population, la_codes, ["E10000016", "E06000061"])
    assert out.to_dict("records") == [
        {"authority_code": "E06000061", "year": 2019, "age": 0, "population": 12},
        {"authority_code": "E06000061", "year": 2019, "age": 1, "population": 12},
        {"authority_code": "E10000016", "year": 2019, "age": 0, "population": 30},
        {"authority_code": "E10000016", "year": 2019, "age": 1, "population": 30},
    ]
    with pytest.raises(DataFormatError, match="E06000999"):
        geo.la_population_by_authority(la_population, la_codes, ["E10000016", "E06000061", "E06000999"])
    with pytest.raises(DataFormatError, match="E07000106"):
        geo.la_population_by_authority(la_population, la_codes[la_codes["district_code"] != "E07000106"], ["E10000016", "E06000061"])


# --- the build step's join checks -------------------------------------------------------------


def test_build_joins_refuse_to_drop_lsoas():
    from atlaskit.store.builders.geography import _check_lookup, _join_all

    left = pd.DataFrame({"lsoa11_code": ["E01000001", "E01000002"], "district_code": ["E09000001"] * 2, "authority_code": ["E09000001"] * 2, "region_code": ["E12000007"] * 2})
    with pytest.raises(DataFormatError, match="E01000002"):
        _join_all(left, pd.DataFrame({"lsoa11_code": ["E01000001"], "x": [1]}), "children")
    lookup = left.copy()
    lookup.loc[1, "authority_code"] = "E09000002"
    with pytest.raises(DataFormatError, match="authority_code"):
        _check_lookup(left, lookup)
    with pytest.raises(DataFormatError, match="only in boundaries"):
        _check_lookup(left, lookup.iloc[:1])


def test_split_with_a_missing_successor_is_an_error(inputs):
    authorities = inputs["authorities"][inputs["authorities"]["authority_code"] != "E06000062"]
    districts = inputs["districts"][inputs["districts"]["authority_code"] != "E06000062"]
    la_codes = inputs["la_codes"][inputs["la_codes"]["authority_code"] != "E06000062"]
    numbers = inputs["la_numbers"][inputs["la_numbers"]["ons_code"] != "E06000062"]
    with pytest.raises(DataFormatError, match="E10000021 split"):
        geo.build_authority_codes(authorities, districts, la_codes, inputs["changes"], numbers)
