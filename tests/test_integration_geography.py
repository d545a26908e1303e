"""Integration tests of the geography tables on the real data (../shared/atlas-data) and the built store."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from atlaskit.store import geography as geo
from atlaskit.sources import deprivation, population
from atlaskit.store import read_table

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lsoas(store):
    return read_table("lsoas", store_dir=store)


@pytest.fixture(scope="module")
def authorities(store):
    return read_table("authorities", store_dir=store)


@pytest.fixture(scope="module")
def authority_codes(store):
    return read_table("authority_codes", store_dir=store)


def test_every_english_lsoa_is_in_exactly_one_current_authority(lsoas, authorities):
    assert len(lsoas) == 32_844
    assert lsoas["lsoa11_code"].is_unique
    assert set(lsoas["authority_code"]) == set(authorities["authority_code"])
    # spatially too: each LSOA's interior point falls in exactly one authority polygon, its own
    points = gpd.GeoDataFrame(lsoas[["lsoa11_code", "authority_code"]], geometry=lsoas.geometry.representative_point(), crs=lsoas.crs)
    hits = gpd.sjoin(points, authorities[["authority_code", "geometry"]], predicate="within", how="left", lsuffix="lsoa", rsuffix="polygon")
    per_lsoa = hits.groupby("lsoa11_code").size()
    assert (per_lsoa == 1).all(), per_lsoa[per_lsoa != 1].head()
    assert (hits["authority_code_lsoa"] == hits["authority_code_polygon"]).all()


def test_lsoas_are_a_valid_coverage_in_bng_sorted_by_authority(lsoas):
    assert lsoas.crs.to_epsg() == 27700
    assert shapely.is_valid(lsoas.geometry.to_numpy()).all()
    assert lsoas.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    order = lsoas[["authority_code", "lsoa11_code"]]
    assert order.equals(order.sort_values(["authority_code", "lsoa11_code"]).reset_index(drop=True))
    # the published centroids lie inside (or within 1 km of) their polygons
    centroids = gpd.points_from_xy(lsoas["easting"], lsoas["northing"], crs=27700)
    assert (lsoas.geometry.distance(gpd.GeoSeries(centroids, index=lsoas.index)) < 1000).mean() > 0.999


def test_153_authorities_of_four_types_with_dfe_numbers(authorities, lsoas):
    assert len(authorities) == 153
    assert authorities["authority_type"].value_counts().to_dict() == {"unitary": 63, "metropolitan": 36, "london": 33, "county": 21}
    assert authorities["la_number"].notna().all() and authorities["la_number"].is_unique
    assert authorities["region_code"].nunique() == 9
    assert authorities["n_lsoas"].sum() == len(lsoas)
    counts = lsoas["authority_code"].value_counts()
    assert (authorities.set_index("authority_code")["n_lsoas"] == counts.reindex(authorities["authority_code"]).to_numpy()).all()
    assert {"E06000053", "E09000001"} <= set(authorities["authority_code"])  # Isles of Scilly, City of London
    assert "n_schools" not in authorities.columns or authorities["n_schools"].notna().any()


def test_kent_has_902_lsoas_from_its_12_districts(store, authorities):
    kent = read_table("lsoas", filters=[("authority_code", "==", "E10000016")], store_dir=store)
    assert len(kent) == 902
    assert authorities.set_index("authority_code").loc["E10000016", "n_lsoas"] == 902
    districts = read_table("districts", store_dir=store)
    assert (districts["authority_code"] == "E10000016").sum() == kent["district_code"].nunique() == 12
    county = authorities.set_index("authority_code").loc["E10000016", "geometry"]
    assert county.area == pytest.approx(kent.area.sum(), rel=1e-6)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("E10000002", ["E06000060"]),
        ("825", ["E06000060"]),
        ("E10000021", ["E06000061", "E06000062"]),
        ("928", ["E06000061", "E06000062"]),
        ("835", ["E06000059", "E06000058"]),
        ("836", ["E06000058"]),
        ("837", ["E06000058"]),
        ("E07000048", ["E06000058"]),
        ("E10000006", ["E06000063", "E06000064"]),
        ("909", ["E06000063", "E06000064"]),
        ("E10000023", ["E06000065"]),
        ("815", ["E06000065"]),
        ("E10000027", ["E06000066"]),
        ("933", ["E06000066"]),
        ("E07000190", ["E06000066"]),
        ("E08000016", ["E08000038"]),
        ("E08000019", ["E08000039"]),
        ("E07000105", ["E10000016"]),
        ("886", ["E10000016"]),
    ],
)
def test_reorganised_and_old_codes_map_to_current_authorities(authority_codes, code, expected):
    assert geo.current_authority_codes(code, authority_codes) == expected


def test_every_code_maps_to_one_of_the_153(authority_codes, authorities):
    assert set(authority_codes["authority_code"]) <= set(authorities["authority_code"])
    numbers = authority_codes[authority_codes["kind"] == "la_number"]
    assert set(authorities["la_number"].astype(str)) <= set(numbers["code"])
    multi = authority_codes.groupby("code")["authority_code"].nunique()
    assert set(multi[multi > 1].index) == {"E10000021", "928", "E10000006", "909", "E10000009", "835"}


def test_lsoa_children_sum_to_the_authority_population(lsoas, store):
    la_population = read_table("la_population", store_dir=store)
    assert len(la_population) == 153 * 2 * 91
    for year in population.YEARS:
        columns = [f"age_{a}_{year}" for a in population.LSOA_AGES]
        from_lsoas = lsoas.groupby("authority_code")[columns].sum().to_numpy()
        published = (
            la_population[(la_population["year"] == year) & (la_population["age"] <= 18)]
            .pivot(index="authority_code", columns="age", values="population")
            .reindex(sorted(lsoas["authority_code"].unique()))
            .to_numpy()
        )
        assert np.abs(from_lsoas - published).max() <= max(1, 0.001 * published.max())


def test_county_population_summed_from_districts_equals_the_published_county_row(store, data_dir):
    la_population = read_table("la_population", store_dir=store)
    published = population.read_la_population(2019, data_dir)
    for county in ("E10000016", "E10000014"):  # Kent, Hampshire: unchanged counties with a row of their own
        ours = la_population[(la_population["authority_code"] == county) & (la_population["year"] == 2019)]["population"].to_numpy()
        theirs = published[published["code"] == county].sort_values("age")["population"].to_numpy()
        assert (ours == theirs).all()


def test_deprivation_ranks_are_england_ranks(lsoas, data_dir):
    # ranks 1..32,844 over England; tied scores share the lowest rank, as published
    assert (lsoas["imd_rank"].rank(method="min").astype(int) == lsoas["imd_rank"]).all()
    assert (lsoas["idaci_rank"].rank(method="min").astype(int) == lsoas["idaci_rank"]).all()
    assert lsoas["idaci_rank"].between(1, 32_844).all() and lsoas["idaci_rank"].min() == 1
    assert set(lsoas["idaci_decile"]) == set(range(1, 11)) == set(lsoas["imd_decile"])
    # the re-ranking used for IDACI reproduces the published England ranks of the income domain
    domains = deprivation.read_domains(data_dir)
    ew = deprivation.read_income_idaci(data_dir)
    english = ew["lsoa11_code"].isin(domains["lsoa11_code"])
    ew["income_rank_england"] = deprivation.rank_within(ew["income_rank_ew"], english)
    both = domains.merge(ew[english], on="lsoa11_code", validate="1:1")
    assert (both["income_rank"] == both["income_rank_england"]).all()
    assert (deprivation.rank_to_decile(both["income_rank"], n=len(both)) == both["income_decile"]).all()


def test_display_copies_are_simplified_wgs84_at_5_decimals(store, lsoas):
    display = read_table("lsoas_display", store_dir=store)
    assert display.crs.to_epsg() == 4326
    assert set(display["lsoa11_code"]) == set(lsoas["lsoa11_code"])
    minx, miny, maxx, maxy = display.total_bounds
    assert -6.5 < minx < maxx < 2.0 and 49.8 < miny < maxy < 55.9
    assert shapely.get_num_coordinates(display.geometry.to_numpy()).sum() < shapely.get_num_coordinates(lsoas.geometry.to_numpy()).sum()
    sample = shapely.get_coordinates(display.geometry.to_numpy()[:500])
    assert np.allclose(sample, np.round(sample, 5), atol=1e-9)
    authorities_display = read_table("authorities_display", store_dir=store)
    assert len(authorities_display) == 153 and authorities_display.crs.to_epsg() == 4326
    assert not authorities_display.geometry.is_empty.any()


def test_rural_urban_class_for_every_lsoa(lsoas):
    assert lsoas["ruc11_code"].notna().all()
    assert set(lsoas["ruc11_code"]) <= {"A1", "B1", "C1", "C2", "D1", "D2", "E1", "E2"}
    assert pd.api.types.is_integer_dtype(lsoas["age_0_2019"])


def test_display_geometries_are_valid_after_rounding(store):
    display = read_table("lsoas_display", store_dir=store)
    assert shapely.is_valid(display.geometry.to_numpy()).all()
    assert not display.geometry.is_empty.any()


def test_tables_have_the_documented_columns(store):
    from atlaskit.store.builders.geography import LSOA_COLUMNS

    assert read_table("lsoas", store_dir=store).columns.tolist() == LSOA_COLUMNS
    documented = {
        "authorities": ["authority_code", "authority_name", "authority_type", "region_code", "region_name", "la_number", "n_lsoas", "geometry"],
        "authorities_display": ["authority_code", "geometry"],
        "authority_codes": ["code", "authority_code", "kind", "note"],
        "districts": ["district_code", "district_name", "authority_code"],
        "lsoas_display": ["lsoa11_code", "authority_code", "geometry"],
        "la_population": ["authority_code", "year", "age", "population"],
    }
    for name, columns in documented.items():
        table = read_table(name, store_dir=store)
        assert set(columns) <= set(table.columns), (name, set(columns) - set(table.columns))
