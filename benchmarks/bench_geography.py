"""Benchmark: the geography build step, and its parts against the obvious way of doing each.

Run: ``.venv/bin/python benchmarks/bench_geography.py`` (needs ``ATLAS_DATA_DIR``; about 2 minutes).

Prints, in one run:
- the whole ``atlaskit.builders.geography.build`` (target: well under 60 s), with its own laps;
- reading the 296 LSOA GeoJSON files: pyogrio/Arrow in 4 threads vs ``geopandas.read_file`` one
  after another;
- assembling the 153 authorities from LSOAs: ``shapely.coverage_union_all`` per authority on the
  cleaned coverage vs ``GeoDataFrame.dissolve``;
- display simplification at 50 m: ``shapely.coverage_simplify`` vs per-polygon
  ``simplify(preserve_topology=True)``, with the number of polygons whose neighbours no longer
  meet (gaps/overlaps) in each, and GeoJSON bytes for Kent and Camden before/after.
"""

from __future__ import annotations

import time

import geopandas as gpd
import pandas as pd
import shapely

from atlaskit import config
from atlaskit.store import geography as geo
from atlaskit.store.builders import geography as builder
from atlaskit.sources import geography as sources


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    data_dir = config.data_dir()
    tables, build_s = timed(builder.build, data_dir, {})
    laps = next(n for n in tables["_notes"] if n.startswith("geography: seconds"))
    print(f"geography build step: {build_s:.1f} s (target < 60 s); {laps.removeprefix('geography: ')}")

    fast, fast_s = timed(sources.read_lsoa_boundaries, data_dir)
    paths = [data_dir / f for f in sources.lsoa_boundary_files(data_dir)]
    naive, naive_s = timed(lambda: pd.concat([gpd.read_file(p) for p in paths], ignore_index=True).to_crs(27700))
    assert len(naive) == len(fast)
    print(f"read 296 GeoJSON files: {fast_s:.1f} s (pyogrio+Arrow, 4 threads) vs {naive_s:.1f} s (geopandas.read_file, sequential): {naive_s / fast_s:.1f}x")

    lsoas = tables["lsoas"]
    dissolved, dissolve_s = timed(lambda: lsoas[["authority_code", "geometry"]].dissolve("authority_code"))
    unioned, union_s = timed(geo.dissolve_coverage, lsoas[["authority_code", "geometry"]], "authority_code")
    assert len(dissolved) == len(unioned) == 153
    print(f"153 authorities from LSOAs: {union_s:.1f} s (coverage_union_all) vs {dissolve_s:.1f} s (dissolve): {dissolve_s / union_s:.1f}x")

    geoms = lsoas.geometry.to_numpy()
    coverage, coverage_s = timed(shapely.coverage_simplify, geoms, builder.DISPLAY_TOLERANCE_M)
    plain, plain_s = timed(shapely.simplify, geoms, builder.DISPLAY_TOLERANCE_M, preserve_topology=True)
    bad_cov = int((~shapely.is_empty(shapely.coverage_invalid_edges(coverage))).sum())
    bad_plain = int((~shapely.is_empty(shapely.coverage_invalid_edges(plain))).sum())
    before = int(shapely.get_num_coordinates(geoms).sum())
    print(
        f"simplify 50 m: coverage_simplify {coverage_s:.1f} s, {int(shapely.get_num_coordinates(coverage).sum()) / before:.0%} of {before:,} vertices kept, "
        f"{bad_cov} polygons with gaps/overlaps; per-polygon simplify {plain_s:.1f} s, {int(shapely.get_num_coordinates(plain).sum()) / before:.0%} kept, "
        f"{bad_plain} polygons with gaps/overlaps"
    )

    display = tables["lsoas_display"]
    for code in ("E10000016", "E09000007"):
        raw = lsoas.loc[lsoas["authority_code"] == code, ["lsoa11_code", "geometry"]].to_crs(4326).to_json()
        small = display.loc[display["authority_code"] == code, ["lsoa11_code", "geometry"]].to_json()
        print(f"GeoJSON for {code}: {len(raw) / 1e6:.2f} MB full precision -> {len(small) / 1e6:.2f} MB display ({len(small) / len(raw):.0%})")


if __name__ == "__main__":
    main()
