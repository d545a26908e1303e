"""Readers of the school registers (``ATLAS_DATA_DIR/schools``): one row per school per register.

Each reader turns one raw file into a tidy, typed table with the columns listed in its docstring:
URNs as ``int64``, LA numbers and codes as pandas strings, counts as nullable integers or floats,
dates as datetimes. Quirks handled, file by file:

- ``school_postcode.csv``: cp1252 text, CRLF line ends.
- ``2017-2018_england_spine.xlsx``: LAESTAB not unique (a closed school and its open successor
  share it), rows with no URN (dropped), 27 blank postcodes (kept blank, never dropped).
- ``england_census.csv``: byte-order mark, ``NA`` markers, three national total rows (``NAT``).
- ``all_schools_xy_2016.csv``: 396 URNs listed twice (they differ only in the ``Primary`` map-layer
  flag: de-duplicate with :func:`atlaskit.store.registers.dedupe_london_schools`); ``AGE`` mangled
  by Excel (``"11-Mar"`` is 3-11); 9 schools whose EASTING/NORTHING and longitude/latitude
  disagree (both are returned, the lon/lat projected to EPSG:27700, so the caller can choose).
- ``links_edubasealldata20250422.csv``: cp1252.

Capacity, results and inspections are read by :mod:`atlaskit.sources.school_figures`, postcode
locations by :mod:`atlaskit.sources.postcodes`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from atlaskit.sources import resolve
from atlaskit.sources.parsing import (
    fix_age_range,
    normalise_postcode,
    parse_urn,
    read_csv,
    read_excel,
    require_columns,
    require_unique,
    to_code,
    to_number,
    to_text,
    to_whole_number,
)

__all__ = [
    "SCHOOL_POSTCODES",
    "SPINE",
    "CENSUS",
    "LONDON_SCHOOLS_ATLAS",
    "LINKS",
    "read_school_postcodes",
    "read_spine",
    "read_census",
    "read_london_schools_atlas",
    "read_school_links",
]

SCHOOL_POSTCODES = "schools/school_postcode.csv"
SPINE = "schools/2017-2018_england_spine.xlsx"
CENSUS = "schools/performance_tables_2018-2019/england_census.csv"
LONDON_SCHOOLS_ATLAS = "schools/all_schools_xy_2016.csv"
LINKS = "schools/links_edubasealldata20250422.csv"


def read_school_postcodes(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the Get Information about Schools list of state-funded schools with postcodes (about 2013).

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        verify: check the file's sha256 against the manifest.

    Returns:
        One row per URN: urn, la_number (3-digit text), estab (4-digit text), laestab (7-digit
        text), school_name, establishment_type, phase_of_education, postcode (normalised,
        ``<NA>`` when blank or malformed), la_name.

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: a column is missing or a URN is repeated.
    """
    raw = read_csv(resolve(SCHOOL_POSTCODES, data_dir, verify))
    cols = ["URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (name)", "PhaseOfEducation (name)", "Postcode"]
    require_columns(raw, cols, SCHOOL_POSTCODES)
    frame = pd.DataFrame(
        {
            "urn": parse_urn(raw["URN"], SCHOOL_POSTCODES),
            "la_number": to_code(raw["LA (code)"], 3),
            "estab": to_code(raw["EstablishmentNumber"], 4),
            "school_name": to_text(raw["EstablishmentName"]),
            "establishment_type": to_text(raw["TypeOfEstablishment (name)"]),
            "phase_of_education": to_text(raw["PhaseOfEducation (name)"]),
            "postcode": normalise_postcode(raw["Postcode"]),
            "la_name": to_text(raw["LA (name)"]),
        }
    )
    frame.insert(3, "laestab", (frame["la_number"] + frame["estab"]).astype("string"))
    require_unique(frame, "urn", SCHOOL_POSTCODES)
    return frame


def read_spine(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the 2017-18 performance-tables school information (spine), England incl. independent schools.

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        verify: check the file's sha256 against the manifest.

    Returns:
        One row per URN: urn, la_number, estab, laestab (text; NOT unique: a closed school and
        its successor may share it), school_name, postcode (normalised; <NA> for the blank ones),
        town, status_code (``ICLOSE``: 1 open, 2 closed, 3 proposed to open), is_open (status 1 or
        3), open_date, close_date (datetimes), minor_group (``Maintained School``, ``Academy``,
        ``Independent School``, ``Special School``, ``College``), establishment_type (``NFTYPE``),
        is_primary, is_secondary, is_post16 (booleans), age_low, age_high (Int64 years), gender,
        sixth_form_gender, religious_character, admissions_policy (``Selective``,
        ``Non-selective``, ``Not recorded``).

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: a column is missing or a URN is repeated.
    """
    raw = read_excel(resolve(SPINE, data_dir, verify), SPINE)
    cols = ["URN", "LA", "ESTAB", "LAESTAB", "SCHNAME", "TOWN", "POSTCODE", "ICLOSE", "OPENDATE", "CLOSEDATE", "MINORGROUP", "NFTYPE",
            "ISPRIMARY", "ISSECONDARY", "ISPOST16", "AGEL", "AGEH", "GENDER", "SIXFGENDER", "RELDENOM", "ADMPOL"]  # fmt: skip
    require_columns(raw, cols, SPINE)
    raw = raw[to_code(raw["URN"]).notna()].reset_index(drop=True)  # rows with no URN
    status = to_whole_number(raw["ICLOSE"], SPINE)
    frame = pd.DataFrame(
        {
            "urn": parse_urn(raw["URN"], SPINE),
            "la_number": to_code(raw["LA"], 3),
            "estab": to_code(raw["ESTAB"], 4),
            "laestab": to_code(raw["LAESTAB"], 7),
            "school_name": to_text(raw["SCHNAME"]),
            "postcode": normalise_postcode(to_text(raw["POSTCODE"])),
            "town": to_text(raw["TOWN"]),
            "status_code": status,
            "is_open": status.isin([1, 3]).astype("boolean"),
            "open_date": pd.to_datetime(raw["OPENDATE"], errors="coerce"),
            "close_date": pd.to_datetime(raw["CLOSEDATE"], errors="coerce"),
            "minor_group": to_text(raw["MINORGROUP"]),
            "establishment_type": to_text(raw["NFTYPE"]),
            "is_primary": to_whole_number(raw["ISPRIMARY"], SPINE).eq(1).astype("boolean"),
            "is_secondary": to_whole_number(raw["ISSECONDARY"], SPINE).eq(1).astype("boolean"),
            "is_post16": to_whole_number(raw["ISPOST16"], SPINE).eq(1).astype("boolean"),
            "age_low": to_whole_number(raw["AGEL"], SPINE),
            "age_high": to_whole_number(raw["AGEH"], SPINE),
            "gender": to_text(raw["GENDER"]),
            "sixth_form_gender": to_text(raw["SIXFGENDER"]),
            "religious_character": to_text(raw["RELDENOM"]),
            "admissions_policy": to_text(raw["ADMPOL"]),
        }
    )
    require_unique(frame, "urn", SPINE)
    return frame


def read_census(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the January 2019 school census (pupils on roll and characteristics), England rows dropped.

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        verify: check the file's sha256 against the manifest.

    Returns:
        One row per URN: urn, la_number, estab, laestab, census_school_type (``State-funded
        primary``, ``Independent school``...), pupils_2019 (headcount on roll, Float), girls_2019,
        boys_2019, sen_ehcp_2019 (pupils with an EHC plan or statement), sen_support_2019,
        eal_pct_2019 (percent of pupils with English as an additional language), fsm_ever_pct_2019
        (percent eligible for free meals in the last 6 years). ``NA`` markers become NaN.

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: a column is missing or a URN is repeated.
    """
    raw = read_csv(resolve(CENSUS, data_dir, verify))
    cols = ["URN", "LA", "ESTAB", "SCHOOLTYPE", "NOR", "NORG", "NORB", "TSENELSE", "TSENELK", "PNUMEAL", "PNUMFSMEVER"]
    require_columns(raw, cols, CENSUS)
    raw = raw[raw["URN"].str.fullmatch(r"\s*\d+\s*").fillna(False)]  # drop the national (NAT) rows
    frame = pd.DataFrame(
        {
            "urn": parse_urn(raw["URN"], CENSUS),
            "la_number": to_code(raw["LA"], 3),
            "estab": to_code(raw["ESTAB"], 4),
            "census_school_type": to_text(raw["SCHOOLTYPE"]),
            "pupils_2019": to_number(raw["NOR"]),
            "girls_2019": to_number(raw["NORG"]),
            "boys_2019": to_number(raw["NORB"]),
            "sen_ehcp_2019": to_number(raw["TSENELSE"]),
            "sen_support_2019": to_number(raw["TSENELK"]),
            "eal_pct_2019": to_number(raw["PNUMEAL"]),
            "fsm_ever_pct_2019": to_number(raw["PNUMFSMEVER"]),
        }
    ).reset_index(drop=True)
    frame.insert(3, "laestab", (frame["la_number"] + frame["estab"]).astype("string"))
    require_unique(frame, "urn", CENSUS)
    return frame


def read_london_schools_atlas(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the London Schools Atlas school list with coordinates (2016), one row per published row.

    URNs appear twice where a school is drawn on both the primary and the secondary map layer:
    :func:`atlaskit.schools.dedupe_london_schools` keeps one row per URN.

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        verify: check the file's sha256 against the manifest.

    Returns:
        urn, school_name, establishment_type, phase_of_education, postcode (normalised), status
        (``Open``/``Closed``...), gender, age_range (repaired, ``"3-11"``), age_low, age_high
        (Int64), easting, northing (as published, EPSG:27700 metres), lonlat_easting,
        lonlat_northing (the published longitude/latitude projected to EPSG:27700), la_name,
        lsoa_name, primary_layer (bool: the row belongs to the primary map layer).

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: a column is missing.
    """
    raw = read_csv(resolve(LONDON_SCHOOLS_ATLAS, data_dir, verify))
    cols = ["URN", "SCHOOL_NAM", "TYPE", "PHASE", "POSTCODE", "STATUS", "GENDER", "EASTING", "NORTHING", "longitude", "latitude",
            "LSOA_NAME", "LA_NAME", "AGE", "Primary"]  # fmt: skip
    require_columns(raw, cols, LONDON_SCHOOLS_ATLAS)
    age_range = raw["AGE"].map(fix_age_range, na_action="ignore").astype("string")
    parts = age_range.str.replace(" ", "").str.extract(r"^(\d+)-(\d+)$")
    lon, lat = to_number(raw["longitude"]), to_number(raw["latitude"])
    from pyproj import Transformer

    east, north = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(lon.to_numpy(), lat.to_numpy())
    return pd.DataFrame(
        {
            "urn": parse_urn(raw["URN"], LONDON_SCHOOLS_ATLAS),
            "school_name": to_text(raw["SCHOOL_NAM"]),
            "establishment_type": to_text(raw["TYPE"]),
            "phase_of_education": to_text(raw["PHASE"]),
            "postcode": normalise_postcode(raw["POSTCODE"]),
            "status": to_text(raw["STATUS"]),
            "gender": to_text(raw["GENDER"]),
            "age_range": age_range,
            "age_low": pd.to_numeric(parts[0]).astype("Int64"),
            "age_high": pd.to_numeric(parts[1]).astype("Int64"),
            "easting": to_number(raw["EASTING"]),
            "northing": to_number(raw["NORTHING"]),
            "lonlat_easting": np.round(east, 1),
            "lonlat_northing": np.round(north, 1),
            "la_name": to_text(raw["LA_NAME"]),
            "lsoa_name": to_text(raw["LSOA_NAME"]),
            "primary_layer": to_text(raw["Primary"]).eq("1").fillna(False).astype(bool),
        }
    )


def read_school_links(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the register's links between schools (predecessors and successors), April 2025.

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        verify: check the file's sha256 against the manifest.

    Returns:
        urn, link_urn, link_name, link_type (``Successor``, ``Predecessor``, ``Successor -
        merged``...), link_date (datetime, NaT when blank).

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: a column is missing.
    """
    raw = read_csv(resolve(LINKS, data_dir, verify))
    require_columns(raw, ["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"], LINKS)
    return pd.DataFrame(
        {
            "urn": parse_urn(raw["URN"], LINKS),
            "link_urn": parse_urn(raw["LinkURN"], LINKS),
            "link_name": to_text(raw["LinkName"]),
            "link_type": to_text(raw["LinkType"]),
            "link_date": pd.to_datetime(to_text(raw["LinkEstablishedDate"]), format="%d-%m-%Y", errors="coerce"),
        }
    )
