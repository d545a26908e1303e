"""Benchmark: load one authority from the store vs assembling the same tables from the raw files.

Run: ``.venv/bin/python benchmarks/bench_load.py [CODE ...]`` (default Kent E10000016 and Camden
E09000007). Prints, per authority, the median seconds of ``atlaskit.load`` (warm, 5 runs), the
seconds to assemble the same LSOA polygons with their attributes and the located schools from
``ATLAS_DATA_DIR`` (LSOA GeoJSONs of its districts, population, deprivation, rural-urban,
school register, census rolls, Code-Point Open postcodes, point-in-polygon), and their ratio.
Targets (issue 3): under 0.1 s for Kent from the store; at least 20x faster than raw.
"""

from __future__ import annotations

import statistics
import sys
import time

import geopandas as gpd
import pandas as pd

import atlaskit
from atlaskit import config
from atlaskit.sources import deprivation, geography, population, postcodes, resolve
from atlaskit.sources import schools as school_sources


def raw_assembly(code: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Assemble one authority's LSOAs (with attributes) and located schools from the raw files."""
    data_dir = config.data_dir()
    lookup = geography.read_lsoa_lookup(data_dir)
    own = lookup[lookup["authority_code"] == code]
    parts = [geography.read_lsoa_boundary_file(resolve(f"geography/lsoa11/{d}.geojson", data_dir)) for d in sorted(own["district_code"].unique())]
    lsoas = pd.concat(parts, ignore_index=True)
    for year in (2019, 2020):
        children = population.read_lsoa_children(year, data_dir).drop(columns=["lsoa11_name", "total_population"])
        children = children.rename(columns={c: f"{c}_{year}" for c in children.columns if c.startswith("age_")})
        lsoas = lsoas.merge(children, on="lsoa11_code", how="left")
    lsoas = lsoas.merge(deprivation.read_deprivation(data_dir), on="lsoa11_code", how="left")
    lsoas = lsoas.merge(geography.read_rural_urban(data_dir), on="lsoa11_code", how="left")
    # schools: register -> rolls -> postcode location -> LSOA
    la_numbers = geography.read_la_numbers(data_dir)
    numbers = set(la_numbers.loc[la_numbers["ons_code"] == code, "la_number"])
    register = school_sources.read_school_postcodes(data_dir)
    register = register[register["la_number"].isin(numbers)]
    census = school_sources.read_census(data_dir)
    register = register.merge(census[["urn", "pupils"]] if "pupils" in census else census.iloc[:, :2], on="urn", how="left")
    points = postcodes.read_codepoint(data_dir, postcodes=register["postcode"])
    register = register.merge(points, on="postcode", how="left")
    located = gpd.GeoDataFrame(register, geometry=gpd.points_from_xy(register["easting"], register["northing"]), crs=27700)
    located = gpd.sjoin(located[located.geometry.notna() & ~located.geometry.is_empty], lsoas[["lsoa11_code", "geometry"]], predicate="within", how="left")
    return lsoas, located


def median_seconds(func, repeat: int) -> float:
    """Return the median wall-clock seconds of ``repeat`` calls of ``func``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(codes: list[str]) -> None:
    """Print the store-vs-raw table for the given authority codes."""
    print(f"{'authority':<28}{'LSOAs':>7}{'schools':>9}{'store s':>10}{'raw s':>9}{'ratio':>8}")
    for code in codes:
        atlaskit.load(code)  # warm the small cached tables (authorities, codes) once
        data = atlaskit.load(code)
        store_s = median_seconds(lambda: atlaskit.load(code), 5)
        raw_s = median_seconds(lambda: raw_assembly(code), 1)
        own = int(data.lsoas["in_authority"].sum())
        print(f"{data.code + ' ' + data.name:<28}{own:>7}{len(data.schools):>9}{store_s:>10.3f}{raw_s:>9.2f}{raw_s / store_s:>7.0f}x")


if __name__ == "__main__":
    main(sys.argv[1:] or ["E10000016", "E09000007"])
