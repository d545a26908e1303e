"""Readers of the ONS geography files: LSOA 2011 boundaries, code lookups, code changes, rural-urban class.

Each reader turns one raw file of ``ATLAS_DATA_DIR/geography`` into a tidy, typed table with the
columns listed in its docstring (codes and names as pandas strings, numbers as integers or
floats). Quirks handled: byte-order marks and CRLF line ends (``authority_changes.csv``, the
rural-urban file, the LSOA lookup), quoted names holding commas (``"Kingston upon Hull, City of"``),
CRS84 GeoJSON (reprojected to EPSG:27700), and district codes retired by reorganisations
(``la_all_codes.csv`` maps each to its current district and upper-tier authority).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from atlaskit import config
from atlaskit.errors import DataFileMissing, DataFormatError
from atlaskit.sources import manifest, resolve
from atlaskit.sources.parsing import read_csv, require_columns, to_number

__all__ = [
    "BNG",
    "LSOA_BOUNDARY_DIR",
    "lsoa_boundary_files",
    "read_lsoa_boundary_file",
    "read_lsoa_boundaries",
    "read_lsoa_lookup",
    "read_la_codes",
    "read_utla_codes",
    "read_region_codes",
    "read_authority_changes",
    "read_rural_urban",
    "read_la_numbers",
]

#: British National Grid: the CRS of every analysis geometry (metres).
BNG = "EPSG:27700"
#: Folder (relative to ``ATLAS_DATA_DIR``) of the per-district LSOA GeoJSON files.
LSOA_BOUNDARY_DIR = "geography/lsoa11"

_LSOA_PROPERTIES = ["LSOA11CD", "LSOA11NM", "BNG_E", "BNG_N", "LADCD_ACTIVE", "UTLACD", "RGNCD"]


def _base(data_dir: Path | None) -> Path:
    return Path(data_dir) if data_dir is not None else config.data_dir()


def _strings(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Strip surrounding spaces (including no-break spaces) from text columns."""
    for column in columns:
        frame[column] = frame[column].astype("string").str.strip()
    return frame


def lsoa_boundary_files(data_dir: Path | None = None) -> list[str]:
    """Return the LSOA boundary files (relative paths, sorted): one GeoJSON per current district.

    The list comes from the manifest (296 files), so a file absent from the data folder is
    reported by name instead of silently skipped.

    Raises:
        DataFileMissing: when the manifest lists none and the folder holds none.
    """
    files = sorted(f for f in manifest() if f.startswith(LSOA_BOUNDARY_DIR + "/") and f.endswith(".geojson"))
    if not files:  # a manifest without the boundaries: fall back to what the folder holds
        folder = _base(data_dir) / LSOA_BOUNDARY_DIR
        files = sorted(f"{LSOA_BOUNDARY_DIR}/{p.name}" for p in folder.glob("*.geojson"))
    if not files:
        raise DataFileMissing(f"no LSOA boundary files in {_base(data_dir) / LSOA_BOUNDARY_DIR}")
    return files


def read_lsoa_boundary_file(path: Path):
    """Read one district's LSOA GeoJSON (CRS84) into a GeoDataFrame in EPSG:27700.

    Args:
        path: a GeoJSON FeatureCollection with the properties ``LSOA11CD``, ``LSOA11NM``,
            ``BNG_E``, ``BNG_N``, ``LADCD_ACTIVE``, ``UTLACD``, ``RGNCD``.

    Returns:
        GeoDataFrame (EPSG:27700 metres) with columns lsoa11_code, lsoa11_name, district_code,
        authority_code, region_code, easting, northing (centroid from BNG_E/BNG_N, metres, int),
        geometry (Polygon/MultiPolygon).

    Raises:
        DataFormatError: a property is missing or a centroid is not a number.
    """
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(path, use_arrow=True)
    except Exception as exc:  # pyogrio raises its own errors for unreadable files
        raise DataFormatError(f"{path}: cannot read as GeoJSON ({exc})") from exc
    require_columns(frame, _LSOA_PROPERTIES, str(path))
    if frame.crs is None:
        raise DataFormatError(f"{path}: no CRS; expected CRS84 longitude/latitude")
    frame = frame[_LSOA_PROPERTIES + ["geometry"]].rename(
        columns={
            "LSOA11CD": "lsoa11_code",
            "LSOA11NM": "lsoa11_name",
            "LADCD_ACTIVE": "district_code",
            "UTLACD": "authority_code",
            "RGNCD": "region_code",
            "BNG_E": "easting",
            "BNG_N": "northing",
        }
    )
    frame = _strings(frame, ["lsoa11_code", "lsoa11_name", "district_code", "authority_code", "region_code"])
    for column in ("easting", "northing"):
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().any():
            raise DataFormatError(f"{path}: {column} ({'BNG_E' if column == 'easting' else 'BNG_N'}) missing for {int(values.isna().sum())} LSOA(s)")
        frame[column] = values.round().astype("int64")
    columns = ["lsoa11_code", "lsoa11_name", "district_code", "authority_code", "region_code", "easting", "northing", "geometry"]
    return frame[columns].to_crs(BNG)


def read_lsoa_boundaries(data_dir: Path | None = None, max_workers: int = 4):
    """Read all 32,844 LSOA 2011 polygons of England from the 296 per-district GeoJSON files.

    Files are read in a thread pool (pyogrio releases the GIL). Each file is checked against the
    manifest checksum first.

    Args:
        data_dir: the raw-data folder (default :func:`atlaskit.config.data_dir`).
        max_workers: threads reading files.

    Returns:
        GeoDataFrame in EPSG:27700 with the columns of :func:`read_lsoa_boundary_file`, in
        file order (district code, then file order).

    Raises:
        DataFileMissing, ChecksumMismatch: a file is absent or altered (named).
        DataFormatError: an LSOA appears in two files.
    """
    import geopandas as gpd

    paths = [resolve(f, data_dir) for f in lsoa_boundary_files(data_dir)]
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        parts = list(pool.map(read_lsoa_boundary_file, paths))
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=BNG)
    duplicated = frame["lsoa11_code"].duplicated(keep=False)
    if duplicated.any():
        raise DataFormatError(
            f"{LSOA_BOUNDARY_DIR}: {int(duplicated.sum())} LSOA rows appear in more than one file, e.g. "
            + ", ".join(frame.loc[duplicated, "lsoa11_code"].unique()[:5])
        )
    return frame


def read_lsoa_lookup(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the LSOA 2011 -> current district, upper-tier authority and region lookup (CRLF).

    Returns:
        DataFrame with lsoa11_code, lsoa11_name, district_code, district_name, authority_code,
        authority_name, region_code, region_name (strings), one row per LSOA.

    Raises:
        DataFormatError: columns missing or an LSOA listed twice.
    """
    relpath = "geography/lsoa11_to_current_lad_utla_england.csv"
    raw = read_csv(resolve(relpath, data_dir))
    columns = {
        "LSOA11CD": "lsoa11_code",
        "LSOA11NM": "lsoa11_name",
        "LADCD": "district_code",
        "LADNM": "district_name",
        "UTLACD": "authority_code",
        "UTLANM": "authority_name",
        "RGNCD": "region_code",
        "RGNNM": "region_name",
    }
    require_columns(raw, list(columns), relpath)
    frame = _strings(raw[list(columns)].rename(columns=columns).dropna(how="all"), list(columns.values()))
    if frame["lsoa11_code"].duplicated().any():
        raise DataFormatError(f"{relpath}: LSOA codes listed twice: {', '.join(frame.loc[frame['lsoa11_code'].duplicated(), 'lsoa11_code'][:5])}")
    return frame.reset_index(drop=True)


def read_la_codes(data_dir: Path | None = None) -> pd.DataFrame:
    """Read every district code since 2018, retired ones mapped to the current district and authority.

    Returns:
        DataFrame with district_code (LADCD), district_name, active_district_code
        (LADCD_ACTIVE: the current district holding it), active_district_name, authority_code
        (UTLACD: the current upper-tier authority), region_code, country_code, is_current (bool),
        one row per code, UK-wide.
    """
    relpath = "geography/la_all_codes.csv"
    raw = read_csv(resolve(relpath, data_dir))
    columns = {
        "LADCD": "district_code",
        "LADNM": "district_name",
        "LADCD_ACTIVE": "active_district_code",
        "LADNM_ACTIVE": "active_district_name",
        "UTLACD": "authority_code",
        "RGNCD": "region_code",
        "CTRYCD": "country_code",
        "Current": "is_current",
    }
    require_columns(raw, list(columns), relpath)
    frame = raw[list(columns)].rename(columns=columns).dropna(how="all")
    frame = _strings(frame, [c for c in columns.values() if c != "is_current"])
    current = frame["is_current"].astype("string").str.strip().str.upper()
    if not current.isin(["TRUE", "FALSE"]).all():
        raise DataFormatError(f"{relpath}: column Current holds values other than TRUE/FALSE: {sorted(set(current) - {'TRUE', 'FALSE'})[:5]}")
    frame["is_current"] = current.eq("TRUE").astype(bool)
    return frame.reset_index(drop=True)


def read_utla_codes(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the current upper-tier authorities (UK).

    Returns:
        DataFrame with authority_code, authority_name, region_code, country_code (strings).
    """
    relpath = "geography/utla_all_codes.csv"
    raw = read_csv(resolve(relpath, data_dir))
    columns = {"UTLACD": "authority_code", "UTLANM": "authority_name", "RGNCD": "region_code", "CTRYCD": "country_code"}
    require_columns(raw, list(columns), relpath)
    frame = _strings(raw[list(columns)].rename(columns=columns).dropna(how="all"), list(columns.values()))
    return frame.reset_index(drop=True)


def read_region_codes(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the nine English regions.

    Returns:
        DataFrame with region_code (E12...), region_name.
    """
    relpath = "geography/rgn_all_codes.csv"
    raw = read_csv(resolve(relpath, data_dir))
    columns = {"RGNCD": "region_code", "RGNNM": "region_name"}
    require_columns(raw, list(columns), relpath)
    return _strings(raw[list(columns)].rename(columns=columns).dropna(how="all"), list(columns.values())).reset_index(drop=True)


def read_authority_changes(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the code changes of 2018-2025 (file starts with a byte-order mark).

    Returns:
        DataFrame with old_code, old_name, new_code (<NA> for a termination), new_name,
        change_type (``merger``, ``termination``, ``new_code``, ``new_geo``), year (int: the
        first year of the new geography).
    """
    relpath = "geography/authority_changes.csv"
    raw = read_csv(resolve(relpath, data_dir))
    columns = {"oldcd": "old_code", "oldnm": "old_name", "newcd": "new_code", "newnm": "new_name", "type": "change_type", "start": "year"}
    require_columns(raw, list(columns), relpath)
    frame = raw[list(columns)].rename(columns=columns).dropna(how="all")
    frame = _strings(frame, ["old_code", "old_name", "new_code", "new_name", "change_type"])
    year = to_number(frame["year"])
    if year.isna().any():
        raise DataFormatError(f"{relpath}: column start (year) missing in {int(year.isna().sum())} row(s)")
    frame["year"] = year.astype("int64")
    return frame.reset_index(drop=True)


def read_rural_urban(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the 2011 rural-urban classification of LSOAs (England and Wales; BOM).

    Returns:
        DataFrame with lsoa11_code, ruc11_code (``A1`` ... ``E2``), ruc11_name.
    """
    relpath = "geography/lsoa11_rural_urban_classification.csv"
    raw = read_csv(resolve(relpath, data_dir))
    columns = {"LSOA11CD": "lsoa11_code", "RUC11CD": "ruc11_code", "RUC11": "ruc11_name"}
    require_columns(raw, list(columns), relpath)
    frame = _strings(raw[list(columns)].rename(columns=columns).dropna(how="all"), list(columns.values()))
    return frame.drop_duplicates("lsoa11_code").reset_index(drop=True)


def read_la_numbers(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the DfE 3-digit LA numbers and the ONS codes they were published with (school-places scorecard).

    The scorecard is the only file holding both. Some codes in it are retired (Barnsley
    E08000016, Sheffield E08000019): map them with :func:`atlaskit.geography.build_authority_codes`.

    Returns:
        DataFrame with la_number (3-digit text), ons_code (as published), la_name; one row per
        distinct pair (England row dropped).
    """
    relpath = "planning/scorecard_data_2025_2023.csv"
    raw = read_csv(resolve(relpath, data_dir), usecols=lambda c: c.lstrip("\ufeff").strip() in {"geographic_level", "LANumber", "new_la_code", "LA_name"})
    require_columns(raw, ["geographic_level", "LANumber", "new_la_code", "LA_name"], relpath)
    frame = raw[raw["geographic_level"].str.strip().str.lower() == "local authority"]
    frame = frame.rename(columns={"LANumber": "la_number", "new_la_code": "ons_code", "LA_name": "la_name"})
    frame = _strings(frame[["la_number", "ons_code", "la_name"]].copy(), ["la_number", "ons_code", "la_name"])
    bad = ~frame["la_number"].str.fullmatch(r"\d{3}")
    if bad.any():
        raise DataFormatError(f"{relpath}: LANumber values not 3 digits: {', '.join(frame.loc[bad, 'la_number'].astype(str).unique()[:5])}")
    frame = frame.drop_duplicates(["la_number", "ons_code"]).sort_values("la_number").reset_index(drop=True)
    clash = frame["la_number"].duplicated(keep=False)
    if clash.any():
        raise DataFormatError(f"{relpath}: LA numbers published with two codes: {', '.join(frame.loc[clash, 'la_number'].unique()[:5])}")
    return frame

