"""Build step ``geography``: authorities, their codes and districts, LSOAs with attributes, population.

``build(data_dir, tables)`` reads the raw geography, population and deprivation files and returns
the store tables ``authorities``, ``authorities_display``, ``authority_codes``, ``districts``,
``lsoas``, ``lsoas_display`` and ``la_population`` (columns in :mod:`atlaskit.store`), plus
``_notes`` (lines for the build report). It prints nothing.

Every join is checked: an LSOA missing from any attribute file, an LSOA in no or two
authorities, or a code that maps to no current authority raises :class:`DataFormatError`
naming what was wrong, instead of being dropped.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from atlaskit.store import geography as geo
from atlaskit.errors import DataFormatError
from atlaskit.sources import deprivation, population
from atlaskit.sources import geography as sources

#: Coverage simplification tolerance of the display copies, metres.
DISPLAY_TOLERANCE_M = 50.0
#: Decimal places of display coordinates (degrees; 5 is about 1 m).
DISPLAY_DECIMALS = 5

AGE_COLUMNS = [f"age_{a}_{y}" for y in population.YEARS for a in population.LSOA_AGES]
LSOA_COLUMNS = [
    "lsoa11_code",
    "lsoa11_name",
    "district_code",
    "authority_code",
    "region_code",
    "easting",
    "northing",
    *AGE_COLUMNS,
    "imd_score",
    "imd_rank",
    "imd_decile",
    "idaci_score",
    "idaci_rank",
    "idaci_decile",
    "ruc11_code",
    "ruc11_name",
    "geometry",
]


def _join_all(left: pd.DataFrame, right: pd.DataFrame, what: str) -> pd.DataFrame:
    """Left-join on lsoa11_code, raising if any LSOA of ``left`` has no row in ``right``."""
    missing = ~left["lsoa11_code"].isin(right["lsoa11_code"])
    if missing.any():
        raise DataFormatError(f"{what}: {int(missing.sum())} LSOA(s) missing, e.g. {', '.join(left.loc[missing, 'lsoa11_code'][:5])}")
    return left.merge(right, on="lsoa11_code", how="left", validate="1:1")


def _check_lookup(lsoas: pd.DataFrame, lookup: pd.DataFrame) -> None:
    """Check the boundary files' codes agree with the LSOA lookup (same LSOAs, districts, authorities)."""
    if set(lsoas["lsoa11_code"]) != set(lookup["lsoa11_code"]):
        only_b = sorted(set(lsoas["lsoa11_code"]) - set(lookup["lsoa11_code"]))[:5]
        only_l = sorted(set(lookup["lsoa11_code"]) - set(lsoas["lsoa11_code"]))[:5]
        raise DataFormatError(f"LSOA boundaries and lookup disagree: only in boundaries {only_b}, only in lookup {only_l}")
    both = lsoas[["lsoa11_code", "district_code", "authority_code", "region_code"]].merge(lookup, on="lsoa11_code", suffixes=("", "_lookup"))
    for column in ("district_code", "authority_code", "region_code"):
        differ = both[column] != both[f"{column}_lookup"]
        if differ.any():
            raise DataFormatError(
                f"LSOA boundaries and lookup disagree on {column} for {int(differ.sum())} LSOA(s), e.g. {', '.join(both.loc[differ, 'lsoa11_code'][:5])}"
            )


def _vertex_bytes(frame) -> tuple[int, int]:
    """Return (vertices, GeoJSON-ish WKT bytes) of a frame's geometries (for the build notes)."""
    geoms = frame.geometry.to_numpy()
    return int(shapely.get_num_coordinates(geoms).sum()), int(sum(len(w) for w in shapely.to_wkb(geoms)))


def build(data_dir: Path, tables: dict | None = None) -> dict:
    """Build the geography tables of the store from the raw files.

    Args:
        data_dir: the raw-data folder (``ATLAS_DATA_DIR``).
        tables: tables built by earlier steps (unused; geography is first).

    Returns:
        Dict of table name -> DataFrame/GeoDataFrame: ``authorities`` (27700), ``authorities_display``
        (4326), ``authority_codes``, ``districts``, ``lsoas`` (27700, sorted by authority_code then
        lsoa11_code), ``lsoas_display`` (4326), ``la_population``; and ``_notes`` (list of str).

    Raises:
        DataFileMissing, ChecksumMismatch: a raw file is absent or altered.
        DataFormatError: a join loses rows, or codes disagree between files.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal start
        now = time.perf_counter()
        timings[name] = now - start
        start = now

    boundaries = sources.read_lsoa_boundaries(data_dir)
    lookup = sources.read_lsoa_lookup(data_dir)
    _check_lookup(boundaries, lookup)
    lap("read boundaries")

    raw_geoms = boundaries.geometry.to_numpy()
    n_invalid = int((~shapely.is_valid(raw_geoms)).sum())
    # coverage cleaning (one long GEOS call that releases the GIL) runs while the attribute
    # files are read and parsed
    with ThreadPoolExecutor(max_workers=1) as pool:
        cleaning = pool.submit(geo.clean_coverage, raw_geoms)
        frame = pd.DataFrame(boundaries.drop(columns="geometry"))
        for year in population.YEARS:
            children = population.read_lsoa_children(year, data_dir)
            children = children.rename(columns={f"age_{a}": f"age_{a}_{year}" for a in population.LSOA_AGES})
            frame = _join_all(frame, children[["lsoa11_code", *[f"age_{a}_{year}" for a in population.LSOA_AGES]]], f"LSOA children mid-{year}")
        frame = _join_all(frame, deprivation.read_deprivation(data_dir), "indices of deprivation 2019")
        frame = _join_all(frame, sources.read_rural_urban(data_dir), "rural-urban classification 2011")
        la_population_raw = [population.read_la_population(year, data_dir) for year in population.YEARS]
        lap("attributes")
        cleaned = cleaning.result()
    lap("clean coverage (rest)")
    lsoas = gpd.GeoDataFrame(frame, geometry=cleaned, crs=sources.BNG)
    lsoas = lsoas.sort_values(["authority_code", "lsoa11_code"]).reset_index(drop=True)[LSOA_COLUMNS]

    utla = sources.read_utla_codes(data_dir)
    regions = sources.read_region_codes(data_dir)
    la_codes = sources.read_la_codes(data_dir)
    changes = sources.read_authority_changes(data_dir)
    la_numbers = sources.read_la_numbers(data_dir)
    current = pd.DataFrame({"authority_code": sorted(lsoas["authority_code"].unique())})
    bad = ~geo.is_education_authority_code(current["authority_code"])
    if bad.any():
        raise DataFormatError(f"LSOAs assigned to codes that are not education authorities: {', '.join(current.loc[bad, 'authority_code'][:5])}")
    districts = (
        lookup[["district_code", "district_name", "authority_code"]].drop_duplicates().sort_values(["authority_code", "district_code"]).reset_index(drop=True)
    )
    if districts["district_code"].duplicated().any():
        raise DataFormatError(f"districts in two authorities: {', '.join(districts.loc[districts['district_code'].duplicated(), 'district_code'][:5])}")
    authority_codes = geo.build_authority_codes(current, districts, la_codes, changes, la_numbers)
    numbers = authority_codes[(authority_codes["kind"] == "la_number") & ~authority_codes["code"].isin(list(geo.RETIRED_LA_NUMBERS))]
    if numbers["authority_code"].duplicated().any():
        raise DataFormatError(f"authorities with two DfE numbers: {', '.join(numbers.loc[numbers['authority_code'].duplicated(), 'authority_code'][:5])}")
    authorities = geo.authorities_from_lsoas(lsoas, utla, regions, dict(zip(numbers["authority_code"], numbers["code"])))
    lap("authorities")

    la_population = pd.concat(
        [geo.la_population_by_authority(raw, la_codes, current["authority_code"]) for raw in la_population_raw],
        ignore_index=True,
    )
    lap("population")

    lsoas_display = geo.simplify_for_display(lsoas, DISPLAY_TOLERANCE_M, DISPLAY_DECIMALS, columns=["lsoa11_code", "authority_code"])
    authorities_display = geo.simplify_for_display(authorities, DISPLAY_TOLERANCE_M, DISPLAY_DECIMALS, columns=["authority_code"])
    lap("display")

    v0, b0 = _vertex_bytes(lsoas)
    v1, b1 = _vertex_bytes(lsoas_display)
    a0, ab0 = _vertex_bytes(authorities)
    a1, ab1 = _vertex_bytes(authorities_display)
    notes = [
        f"geography: {len(lsoas):,} LSOAs in {len(authorities)} authorities ({', '.join(f'{k} {v}' for k, v in authorities['authority_type'].value_counts().sort_index().items())}); "
        f"{len(districts)} districts; {len(authority_codes):,} codes mapped",
        f"geography: {n_invalid} invalid LSOA polygon(s) repaired (make_valid); LSOA coverage cleaned (shapely.coverage_clean)",
        f"geography: lsoas_display {v0:,} -> {v1:,} vertices ({v1 / v0:.0%}), WKB {b0 / 1e6:.1f} -> {b1 / 1e6:.1f} MB (coverage-simplified {DISPLAY_TOLERANCE_M:g} m, {DISPLAY_DECIMALS} decimals)",
        f"geography: authorities_display {a0:,} -> {a1:,} vertices ({a1 / a0:.0%}), WKB {ab0 / 1e6:.1f} -> {ab1 / 1e6:.1f} MB",
        "geography: imd_score is missing (File_5 scores not in the data folder); IDACI ranks re-ranked within England from File_7a",
        "geography: seconds " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()),
    ]
    return {
        "authorities": authorities,
        "authorities_display": authorities_display,
        "authority_codes": authority_codes,
        "districts": districts,
        "lsoas": lsoas,
        "lsoas_display": lsoas_display,
        "la_population": la_population,
        "_notes": notes,
    }
