"""Read the store's tables: the live build folder, whole tables, keyed row reads, and the tables' columns.

Tables (CRS EPSG:27700, British National Grid metres, unless said):

``authorities`` (GeoParquet)
    authority_code (E06/E08/E09/E10), authority_name, authority_type (``unitary``,
    ``metropolitan``, ``london``, ``county``), region_code, region_name, la_number (DfE
    3-digit, Int), n_lsoas, n_schools (open state-funded), geometry (Polygon/MultiPolygon,
    27700; the union of the authority's LSOAs, so counties are assembled from their districts).
``authorities_display`` (GeoParquet, EPSG:4326, coverage-simplified at 50 m, 5 decimals)
    authority_code, geometry.
``authority_codes``
    code (any ONS E-code or DfE 3-digit number, as text), authority_code (current),
    kind (``current``, ``retired``, ``la_number``, ``district``), note. A code whose area split
    (Northamptonshire E10000021 / DfE 928, Cumbria E10000006 / 909, Dorset county E10000009 /
    835) has one row per successor, main successor first; all others have one row.
``districts``
    district_code, district_name, authority_code.
``lsoas`` (GeoParquet, sorted by authority_code, 250-row groups, covering bbox)
    lsoa11_code, lsoa11_name, district_code, authority_code, region_code,
    easting, northing (the published LSOA centroid BNG_E/BNG_N, metres, int),
    age_0_2019 ... age_18_2019, age_0_2020 ... age_18_2020 (children by single year of age),
    imd_score, imd_rank, imd_decile, idaci_score, idaci_rank, idaci_decile (ranks within England,
    1 = most deprived; imd_score is always <NA>: File_5 scores are not in the data folder),
    ruc11_code, ruc11_name, geometry (Polygon/MultiPolygon, 27700; coverage-cleaned so each
    point lies in exactly one LSOA).
``lsoas_display`` (GeoParquet, EPSG:4326, coverage-simplified at 50 m, 5 decimals)
    lsoa11_code, authority_code, geometry.
``la_population``
    authority_code, year (2019, 2020), age (0-90; 90 means 90 and over), population (int;
    summed from districts on current boundaries).
``schools`` (GeoParquet, points, sorted by authority_code)
    urn, school_name, la_number, authority_code, laestab, postcode, phase (``primary``,
    ``secondary``, ``all-through``, ``16 plus``, ``nursery``, ``special``, ``pru``, ``other``),
    tier (``first``, ``middle``, ``upper`` in three-tier areas, from the year groups taught; <NA> elsewhere;
    a middle school's phase is ``all-through``: it teaches both phases),
    phase_of_education, establishment_type, is_state_funded, is_open, gender,
    age_low, age_high, pupils_2019, pupils_2015, capacity_2015, capacity_primary_2015,
    capacity_secondary_2015, planning_area_code, ofsted_rating, ofsted_date,
    ks2_pupils, ks2_rwm_expected_pct, ks4_pupils, ks4_attainment8, ks4_progress8,
    easting, northing, located_by (``codepoint``, ``london_schools_atlas``,
    ``codepoint_predecessor`` (postcode of the school it succeeded), <NA>),
    lsoa11_code, lsoa_authority_code, geometry (Point, 27700; null (None) when unlocated);
    then la_number_authority_code, authority_source (``lsoa``/``la_number``), located_postcode,
    lsoa_match (``within``/``nearest``), lsoa_distance_m, census_school_type, minor_group,
    status_code, open_date, close_date, religious_character, admissions_policy, has_sixth_form,
    girls_2019, boys_2019, sen_ehcp_2019, sen_support_2019, eal_pct_2019, fsm_ever_pct_2019,
    scap_phase, planning_area_primary_code, planning_area_secondary_code, capacity_match,
    ofsted_grade, ofsted_inspections, ks2_rwm_higher_pct, ks2_reading/writing/maths_progress,
    ks2_progress_marker (``LOWCOV``), ks4_eng_maths_grade5_pct, ks4_ebacc_entry_pct,
    ks4_progress8_band, ks4_marker, in_census, in_spine, in_school_postcodes,
    in_london_schools_atlas, lsa_coordinates, lsa_disagreement_m. ``is_open`` is as at the
    January 2019 census. See :mod:`atlaskit.store.registers`.
``school_joins``
    urn, laestab, school_name, step (``location``, ``lsoa``, ``capacity``, ``authority``),
    status (``not located``/``not joined``: failed; ``resolved``: an ambiguity decided;
    ``differs``: LSOA and LA number disagree), reason: one row per school that could not be
    joined or located (capacity rows that match no school have no urn, only laestab).
``scorecard``
    authority_code, la_number, academic_year (``2024/25``), plus typed scorecard columns.
    ons_code (as published; Barnsley/Sheffield retired codes), authority_name, region_code;
    primary_pupils / secondary_pupils (PriNOR/SecNOR: pupils on roll R-Y6 / Y7-11),
    primary_capacity / secondary_capacity (PriCap/SecCap, places; NaN in 2022/23),
    primary_pupils_2019 / secondary_pupils_2019 (PRI_NoR19/SEC_NoR19, rolls in 2018/19),
    primary_pupils_2015 / secondary_pupils_2015 (PRI_NoR15/SEC_NoR15, rolls in 2014/15),
    primary_forecast_error_1y / _3y, secondary_forecast_error_1y / _3y (For_1_P, For_3_P,
    For_1_S, For_3_S: (forecast - actual) / actual, fraction), primary_unfilled_pct /
    secondary_unfilled_pct (Quan_P_UP/Quan_S_UP, percent), primary_spare_3y, secondary_spare_3y,
    primary_growth_3y, secondary_growth_3y; ``<name>_marker`` (``z``, ``na``, ``low``...) per
    key column; every other published numeric column under its published name (Float).
``observed_flows``
    urn, lsoa11_code, phase, year, pupils (Float; NaN when suppressed), suppressed (bool),
    school_total_pupils, suppressed_pupils (one suppressed row per school, lsoa11_code <NA>,
    holds its suppressed cells' total; see :mod:`atlaskit.store.builders.observed_flows`).
``cross_border``
    academic_year, authority_code, phase, resident_pupils, school_in_la, school_outside_la,
    plus destination columns.
``flows`` (sorted by school_authority_code) and ``flows_across_borders`` (the rows whose school is in another authority than the LSOA, sorted by lsoa_authority_code)
    urn, lsoa11_code, phase, pupils, source (``observed``/``modelled``), distance_km,
    suppressed (bool), school_total_pupils (observed schools' totals before suppression).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from atlaskit import config
from atlaskit.errors import StoreMissing
from atlaskit.store.integrity import check_readable, check_size

__all__ = ["GEO_TABLES", "current_folder", "store_exists", "table_path", "read_table", "read_rows", "cached_table", "build_info"]

#: Tables written as GeoParquet (read as GeoDataFrames).
GEO_TABLES = {"authorities", "authorities_display", "lsoas", "lsoas_display", "schools"}


def current_folder(store_dir: Path | None = None) -> Path:
    """Return the live build folder of the store.

    Raises:
        StoreMissing: when no build has completed, the store folder is a file, or the ``CURRENT``
            pointer is empty or names a missing folder; the message names it and says to run ``atlas build``.
    """
    store_dir = Path(store_dir) if store_dir else config.store_dir()
    if store_dir.exists() and not store_dir.is_dir():
        raise StoreMissing(
            f"the store folder {store_dir} (ATLAS_STORE_DIR or --store-dir) is a file, not a folder: "
            "point it at a folder (default ./store) and run `atlas build`"
        )
    pointer = store_dir / "CURRENT"
    if not pointer.is_file():
        raise StoreMissing(f"no store at {store_dir}: run `atlas build` (reads the raw data in ATLAS_DATA_DIR) first")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreMissing(f"store pointer {pointer} cannot be read ({exc}): run `atlas build` again") from None
    if not name or "/" in name or name in (".", ".."):
        what = "is empty (a build stopped while switching?)" if not name else f"names {name[:60]!r}, not a build folder"
        raise StoreMissing(f"store pointer {pointer} {what}: run `atlas build` again")
    folder = store_dir / name
    if not folder.is_dir():
        raise StoreMissing(f"store pointer {pointer} names {folder.name}, which is missing: run `atlas build` again")
    return folder


def store_exists(store_dir: Path | None = None) -> bool:
    """Return True when a completed build is live in the store folder."""
    try:
        current_folder(store_dir)
        return True
    except StoreMissing:
        return False


def table_path(name: str, store_dir: Path | None = None) -> Path:
    """Return the path of one store table.

    Raises:
        StoreMissing: naming the table when it is absent.
        StoreDamaged: its size differs from the one the build recorded (truncated or altered).
    """
    path = current_folder(store_dir) / f"{name}.parquet"
    if not path.is_file():
        raise StoreMissing(f"store table {name!r} is missing from {path.parent}: run `atlas build` to rebuild the store")
    check_size(name, path)
    return path


def read_table(
    name: str,
    columns: list[str] | None = None,
    filters: list | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    store_dir: Path | None = None,
) -> pd.DataFrame:
    """Read one store table (GeoDataFrame for geometry tables), optionally filtered.

    Args:
        name: table name (see the module docstring).
        columns: columns to read (default all).
        filters: pyarrow filters, e.g. ``[("authority_code", "==", "E10000016")]``.
        bbox: (minx, miny, maxx, maxy) in the table's CRS, for GeoParquet tables.
        store_dir: store folder (default ``config.store_dir()``).

    Raises:
        StoreMissing, StoreDamaged: the table is absent, or its file is not the one the build wrote.
    """
    path = table_path(name, store_dir)
    try:
        if name in GEO_TABLES and (columns is None or "geometry" in columns):
            import geopandas as gpd

            return gpd.read_parquet(path, columns=columns, filters=filters, bbox=bbox)
        return pd.read_parquet(path, columns=columns, filters=filters)
    except Exception as exc:
        check_readable(name, path, exc)  # damaged: StoreDamaged naming the table; intact: the error is the caller's
        raise


def build_info(store_dir: Path | None = None) -> dict:
    """Return the live build's ``build.json`` (rows, seconds, notes)."""
    return json.loads((current_folder(store_dir) / "build.json").read_text())


_CACHE: dict = {}


def _cache_clear() -> None:
    _CACHE.clear()


def cached_table(name: str, columns: list[str] | None = None, store_dir: Path | None = None) -> pd.DataFrame:
    """Return a whole (small) store table, cached in memory per live build (authorities, codes)."""
    folder = current_folder(store_dir)
    key = (str(folder), name, tuple(columns) if columns else None)
    if key not in _CACHE:
        _CACHE[key] = read_table(name, columns=columns, store_dir=store_dir)
    return _CACHE[key]


# -- keyed reads: a cached index of one key column says which row groups hold the wanted rows,
# pyarrow reads just those, and each file's CRS and footer are parsed once (notebooks/methods/store.md).


@dataclass(frozen=True)
class _FileInfo:
    path: str
    group_starts: "object"  # numpy int64 array: first row of each row group, plus total rows
    geometry_column: str | None
    crs: "object"
    metadata: "object" = None  # pyarrow FileMetaData, kept so the footer is parsed once


_FILE_INFO: dict = {}
_KEY_INDEX: dict = {}


def _file_info(path: Path) -> _FileInfo:
    import numpy as np
    import pyarrow.parquet as pq

    key = str(path)
    if key not in _FILE_INFO:
        pf = pq.ParquetFile(path)
        sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype("int64")
        meta = pf.schema_arrow.metadata or {}
        geometry_column, crs = None, None
        if b"geo" in meta:
            from pyproj import CRS

            geo = json.loads(meta[b"geo"])
            geometry_column = geo["primary_column"]
            crs_json = geo["columns"][geometry_column].get("crs", "OGC:CRS84")
            crs = CRS.from_user_input(crs_json) if crs_json is not None else None
        _FILE_INFO[key] = _FileInfo(key, starts, geometry_column, crs, pf.metadata)
    return _FILE_INFO[key]


def _key_values(path: Path, column: str):
    import pyarrow.parquet as pq

    key = (str(path), column)
    if key not in _KEY_INDEX:
        import numpy as np
        import pyarrow.compute as pc

        # value -> row positions (ascending), nulls left out, by Arrow dictionary-encoding
        encoded = pc.dictionary_encode(pq.read_table(path, columns=[column]).column(column).combine_chunks())
        values = encoded.dictionary.to_pylist()
        codes = encoded.indices.fill_null(len(values)).to_numpy().astype("int64")
        ends = np.cumsum(np.bincount(codes, minlength=len(values) + 1))
        _KEY_INDEX[key] = _KeyIndex(dict(zip(values, range(len(values)))), np.argsort(codes, kind="stable"), ends)
    return _KEY_INDEX[key]


class _KeyIndex:
    """Row positions of each value of a key column (ascending), sliced on demand from one sorted array."""

    __slots__ = ("_slot", "_order", "_ends")

    def __init__(self, slot: dict, order, ends):
        self._slot, self._order, self._ends = slot, order, ends

    def __contains__(self, value) -> bool:
        return value in self._slot

    def __getitem__(self, value):
        i = self._slot[value]
        return self._order[(self._ends[i - 1] if i else 0) : self._ends[i]]

    def __len__(self) -> int:
        return len(self._slot)


def read_rows(
    name: str,
    key: str,
    values,
    columns: list[str] | None = None,
    store_dir: Path | None = None,
) -> pd.DataFrame:
    """Read the rows of a store table whose ``key`` column is in ``values``, touching only their row groups.

    Args:
        name: table name (see the module docstring).
        key: the column to match (``authority_code``, ``lsoa11_code``, ``urn``).
        values: the wanted values (any iterable).
        columns: columns to return (default all, without the ``bbox`` covering column).
        store_dir: store folder (default ``config.store_dir()``).

    Returns:
        DataFrame, or GeoDataFrame (in the table's CRS) for geometry tables, rows in file order.

    Raises:
        StoreMissing, StoreDamaged: the table is absent, or its file is not the one the build wrote.
    """
    path = table_path(name, store_dir)
    try:
        return _read_rows(path, key, values, columns)
    except Exception as exc:
        check_readable(name, path, exc)  # damaged: StoreDamaged naming the table; intact: the error is the caller's
        raise


def _read_rows(path: Path, key: str, values, columns: list[str] | None) -> pd.DataFrame:
    """:func:`read_rows` on one file."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    info = _file_info(path)
    keys = _key_values(path, key)
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    hits = [keys[v] for v in dict.fromkeys(values) if v in keys]
    positions = np.sort(np.concatenate(hits)) if hits else np.empty(0, dtype="int64")
    pf = pq.ParquetFile(path, metadata=info.metadata)
    # the GeoParquet ``bbox`` covering column serves bbox filters only: never decoded here
    read_columns = list(dict.fromkeys(columns)) if columns is not None else [c for c in pf.schema_arrow.names if c != "bbox"]
    if len(positions) == 0:
        table = pf.schema_arrow.empty_table().select(read_columns)
    else:
        groups = np.unique(np.searchsorted(info.group_starts, positions, side="right") - 1)
        table = pf.read_row_groups(groups.tolist(), columns=read_columns)
        sizes = info.group_starts[groups + 1] - info.group_starts[groups]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        group_of = np.searchsorted(info.group_starts, positions, side="right") - 1
        local = positions - info.group_starts[group_of] + offsets[np.searchsorted(groups, group_of)]
        table = table.take(pa.array(local))
    frame = table.to_pandas()
    if info.geometry_column and info.geometry_column in frame.columns:
        import geopandas as gpd
        import shapely

        geometry = shapely.from_wkb(frame[info.geometry_column].to_numpy())
        frame = gpd.GeoDataFrame(frame.drop(columns=[info.geometry_column]), geometry=gpd.GeoSeries(geometry, index=frame.index, crs=info.crs), crs=info.crs)
        frame = frame.rename_geometry(info.geometry_column) if info.geometry_column != "geometry" else frame
        ordered = [c for c in table.column_names if c in frame.columns]
        frame = frame[ordered]
    return frame
