"""Readers of the school files (``ATLAS_DATA_DIR/schools``) and of OS Code-Point Open postcodes.

Each reader turns one raw file into a tidy, typed table with the columns listed in its docstring:
URNs, LA numbers and codes as pandas strings, counts as nullable integers or floats, dates as
datetimes. Quirks handled, file by file:

- ``school_postcode.csv``: cp1252 text, CRLF line ends.
- ``2017-2018_england_spine.xlsx``: LAESTAB not unique (a closed school and its open successor
  share it), 27 blank postcodes (kept blank, never dropped).
- ``england_census.csv``: byte-order mark, ``NA`` markers, three national total rows (``NAT``).
- ``all_schools_xy_2016.csv``: 396 URNs listed twice (they differ only in the ``Primary`` map-layer
  flag: de-duplicate with :func:`atlaskit.schools.dedupe_london_schools`); ``AGE`` mangled by Excel
  (``"11-Mar"`` is 3-11); 9 schools whose EASTING/NORTHING and longitude/latitude disagree (both
  are returned, the lon/lat projected to EPSG:27700, so the caller can choose).
- ``2015_capacity_and_forecast_underlying_data_UD1.xlsx``: one row (LAEstab 8844014) whose school
  name was split at a comma, shifting every later cell one column right; fixed by
  :func:`fix_shifted_capacity_rows`.
- ``ks2_perf_2018.csv``/``ks4_perf_2018.csv``: percentages as text (``"92%"``), blank suppressions,
  ``LOWCOV`` (low coverage) and ``NOT AVAIL`` markers (kept in a marker column), CRLF.
- ``ofsted_ratings_2018.csv``: several inspections per school (all returned; take the latest with
  :func:`atlaskit.schools.latest_inspection`).
- ``links_edubasealldata20250422.csv``: cp1252.
- ``geography/codepo_gb.zip``: one header-less CSV per postcode area; only postcode, quality,
  easting and northing are parsed (pyarrow, about 1 s for 1.7 million postcodes).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.sources import resolve
from atlaskit.sources.parsing import fix_age_range, normalise_postcode, parse_number, read_csv, require_columns, to_number

__all__ = [
    "SCHOOL_POSTCODES",
    "SPINE",
    "CENSUS",
    "LONDON_SCHOOLS_ATLAS",
    "CAPACITY_2015",
    "KS2",
    "KS4",
    "OFSTED",
    "LINKS",
    "ESTABLISHMENT_TYPES",
    "CODEPOINT",
    "read_school_postcodes",
    "read_spine",
    "read_census",
    "read_london_schools_atlas",
    "read_capacity_2015",
    "fix_shifted_capacity_rows",
    "read_ks2",
    "read_ks4",
    "read_ofsted",
    "read_school_links",
    "read_establishment_types",
    "read_codepoint",
]

SCHOOL_POSTCODES = "schools/school_postcode.csv"
SPINE = "schools/2017-2018_england_spine.xlsx"
CENSUS = "schools/performance_tables_2018-2019/england_census.csv"
LONDON_SCHOOLS_ATLAS = "schools/all_schools_xy_2016.csv"
CAPACITY_2015 = "schools/2015_capacity_and_forecast_underlying_data_UD1.xlsx"
KS2 = "schools/ks2_perf_2018.csv"
KS4 = "schools/ks4_perf_2018.csv"
OFSTED = "schools/ofsted_ratings_2018.csv"
LINKS = "schools/links_edubasealldata20250422.csv"
ESTABLISHMENT_TYPES = "schools/edubasealldata20250422-establishment-types.csv"
CODEPOINT = "geography/codepo_gb.zip"

#: The point in time of the 2015 capacity survey (SCAP, 1 May 2015 school census day: 21 May).
CAPACITY_DATE = pd.Timestamp("2015-05-21")


# ---------------------------------------------------------------------------------------------
# small helpers


def _text(values: pd.Series) -> pd.Series:
    """Return values as stripped pandas strings, with empty text as <NA>."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _code(values: pd.Series, width: int | None = None) -> pd.Series:
    """Return integer-like codes (``201``, ``201.0``, ``"201"``) as text, zero-padded to ``width``."""

    def one(value):
        if value is None or value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, float):
            return None if np.isnan(value) else (str(int(value)) if value.is_integer() else str(value))
        return str(value)

    text = _text(pd.Series([one(v) for v in values], index=values.index, dtype="string"))
    text = text.str.replace(r"\.0$", "", regex=True)
    if width:
        text = text.str.zfill(width)
    return text


def _int(values: pd.Series, source: str) -> pd.Series:
    """Return whole numbers as nullable Int64 (markers and blanks become <NA>)."""
    numbers = to_number(values.astype("object").astype("string"))
    fractional = numbers.notna() & (numbers % 1 != 0)
    if fractional.any():
        raise DataFormatError(f"{source}: column {values.name!r} holds fractional counts: {numbers[fractional].head(3).tolist()}")
    return numbers.round().astype("Int64")


def _read_excel(path: Path, source: str) -> pd.DataFrame:
    """Read the first sheet of an xlsx file, every cell as a Python object, names stripped."""
    try:
        import python_calamine  # noqa: F401  (Rust reader: the spine in ~1 s instead of ~8 s with openpyxl)

        engine = "calamine"
    except ImportError:  # pragma: no cover - fallback when the optional fast reader is absent
        engine = "openpyxl"
    try:
        frame = pd.read_excel(path, dtype=object, engine=engine)
    except Exception as exc:  # zip or XML errors from a damaged file
        raise DataFormatError(f"{source}: cannot be read as an Excel workbook ({exc}); download it again") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _urn(values: pd.Series, source: str) -> pd.Series:
    urn = _code(values)
    bad = urn.notna() & ~urn.str.fullmatch(r"\d{5,7}")
    if bad.any():
        raise DataFormatError(f"{source}: URN values that are not 5-7 digits: {', '.join(urn[bad].unique()[:5])}")
    return urn


# ---------------------------------------------------------------------------------------------
# registers


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
            "urn": _urn(raw["URN"], SCHOOL_POSTCODES),
            "la_number": _code(raw["LA (code)"], 3),
            "estab": _code(raw["EstablishmentNumber"], 4),
            "school_name": _text(raw["EstablishmentName"]),
            "establishment_type": _text(raw["TypeOfEstablishment (name)"]),
            "phase_of_education": _text(raw["PhaseOfEducation (name)"]),
            "postcode": normalise_postcode(raw["Postcode"]),
            "la_name": _text(raw["LA (name)"]),
        }
    )
    frame.insert(3, "laestab", (frame["la_number"] + frame["estab"]).astype("string"))
    _unique(frame, "urn", SCHOOL_POSTCODES)
    return frame


def _unique(frame: pd.DataFrame, column: str, source: str) -> None:
    dup = frame[column].duplicated(keep=False) & frame[column].notna()
    if dup.any():
        raise DataFormatError(f"{source}: {column} repeated in {int(dup.sum())} rows, e.g. {', '.join(frame.loc[dup, column].unique()[:5])}")


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
    raw = _read_excel(resolve(SPINE, data_dir, verify), SPINE)
    cols = ["URN", "LA", "ESTAB", "LAESTAB", "SCHNAME", "TOWN", "POSTCODE", "ICLOSE", "OPENDATE", "CLOSEDATE", "MINORGROUP", "NFTYPE",
            "ISPRIMARY", "ISSECONDARY", "ISPOST16", "AGEL", "AGEH", "GENDER", "SIXFGENDER", "RELDENOM", "ADMPOL"]  # fmt: skip
    require_columns(raw, cols, SPINE)
    status = _int(raw["ICLOSE"], SPINE)
    frame = pd.DataFrame(
        {
            "urn": _urn(raw["URN"], SPINE),
            "la_number": _code(raw["LA"], 3),
            "estab": _code(raw["ESTAB"], 4),
            "laestab": _code(raw["LAESTAB"], 7),
            "school_name": _text(raw["SCHNAME"]),
            "postcode": normalise_postcode(_text(raw["POSTCODE"])),
            "town": _text(raw["TOWN"]),
            "status_code": status,
            "is_open": status.isin([1, 3]).astype("boolean"),
            "open_date": pd.to_datetime(raw["OPENDATE"], errors="coerce"),
            "close_date": pd.to_datetime(raw["CLOSEDATE"], errors="coerce"),
            "minor_group": _text(raw["MINORGROUP"]),
            "establishment_type": _text(raw["NFTYPE"]),
            "is_primary": _int(raw["ISPRIMARY"], SPINE).eq(1).astype("boolean"),
            "is_secondary": _int(raw["ISSECONDARY"], SPINE).eq(1).astype("boolean"),
            "is_post16": _int(raw["ISPOST16"], SPINE).eq(1).astype("boolean"),
            "age_low": _int(raw["AGEL"], SPINE),
            "age_high": _int(raw["AGEH"], SPINE),
            "gender": _text(raw["GENDER"]),
            "sixth_form_gender": _text(raw["SIXFGENDER"]),
            "religious_character": _text(raw["RELDENOM"]),
            "admissions_policy": _text(raw["ADMPOL"]),
        }
    )
    frame = frame[frame["urn"].notna()].reset_index(drop=True)
    _unique(frame, "urn", SPINE)
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
            "urn": _urn(raw["URN"], CENSUS),
            "la_number": _code(raw["LA"], 3),
            "estab": _code(raw["ESTAB"], 4),
            "census_school_type": _text(raw["SCHOOLTYPE"]),
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
    _unique(frame, "urn", CENSUS)
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
            "urn": _urn(raw["URN"], LONDON_SCHOOLS_ATLAS),
            "school_name": _text(raw["SCHOOL_NAM"]),
            "establishment_type": _text(raw["TYPE"]),
            "phase_of_education": _text(raw["PHASE"]),
            "postcode": normalise_postcode(raw["POSTCODE"]),
            "status": _text(raw["STATUS"]),
            "gender": _text(raw["GENDER"]),
            "age_range": age_range,
            "age_low": pd.to_numeric(parts[0]).astype("Int64"),
            "age_high": pd.to_numeric(parts[1]).astype("Int64"),
            "easting": to_number(raw["EASTING"]),
            "northing": to_number(raw["NORTHING"]),
            "lonlat_easting": np.round(east, 1),
            "lonlat_northing": np.round(north, 1),
            "la_name": _text(raw["LA_NAME"]),
            "lsoa_name": _text(raw["LSOA_NAME"]),
            "primary_layer": _text(raw["Primary"]).eq("1").fillna(False).astype(bool),
        }
    )


# ---------------------------------------------------------------------------------------------
# capacity


_UD1_COLUMNS = ["LAEstab", "LA1", "estab1", "LAname", "Schoolname", "Phase", "MAYNOR", "Netcapacity (1)", "PrimaryCapacity (2)",
                "SecondaryCapacity (2)", "Primary PA code (2)", "Secondary PA code (2)", "Main Phase"]  # fmt: skip


def _is_blank(values: pd.Series) -> pd.Series:
    return values.isna() | values.astype("string").str.strip().eq("").fillna(True)


def fix_shifted_capacity_rows(raw: pd.DataFrame, source: str = CAPACITY_2015) -> tuple[pd.DataFrame, list[str]]:
    """Repair UD1 rows whose school name was split at a comma, pushing later cells one column right.

    Such a row has a value in the unnamed column after ``Main Phase`` and text where ``MAYNOR``
    (a count) should be. The repair joins ``Schoolname`` and ``Phase`` with a space (the name's two
    halves) and moves every later cell one column left.

    Args:
        raw: UD1 as read (object cells), with the 13 named columns and any unnamed extra columns.
        source: file name for messages.

    Returns:
        ``(fixed, laestabs)``: the 13 named columns with shifted rows repaired, and the LAEstab
        of each repaired row.

    Raises:
        DataFormatError: a row with a value beyond ``Main Phase`` that does not look shifted
            (its ``Phase`` cell is not a phase code after the shift).
    """
    require_columns(raw, _UD1_COLUMNS, source)
    extra = [c for c in raw.columns if c not in _UD1_COLUMNS]
    if not extra:
        return raw[_UD1_COLUMNS].copy(), []
    shifted = ~_is_blank(raw[extra[0]])
    for column in extra[1:]:
        if (~_is_blank(raw[column])).any():
            raise DataFormatError(f"{source}: values two or more columns beyond 'Main Phase' (column {column!r}); cannot repair")
    fixed = raw[_UD1_COLUMNS].copy().astype(object)
    if shifted.any():
        rows = raw.loc[shifted]
        start = _UD1_COLUMNS.index("Phase")
        names = rows["Schoolname"].astype(str).str.strip() + " " + rows["Phase"].astype(str).str.strip()
        moved = rows[_UD1_COLUMNS[start + 1 :] + [extra[0]]].to_numpy()
        fixed.loc[shifted, _UD1_COLUMNS[start:]] = moved
        fixed.loc[shifted, "Schoolname"] = names
        bad = ~fixed.loc[shifted, "Main Phase"].astype(str).str.strip().isin(["PRI", "SEC"])
        if bad.any():
            raise DataFormatError(f"{source}: row(s) with LAEstab {', '.join(map(str, rows.loc[bad, 'LAEstab']))} spill past 'Main Phase' but are not a one-column shift")
    laestabs = _code(raw.loc[shifted, "LAEstab"], 7).tolist()
    return fixed, laestabs


def read_capacity_2015(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the 2015 school capacity survey (SCAP) underlying data UD1: one row per school, by LAEstab.

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        verify: check the file's sha256 against the manifest.

    Returns:
        laestab (7-digit text, unique), la_number, estab, la_name, school_name, scap_phase (``PS``
        primary, ``SS`` secondary, ``MP``/``MS`` middle deemed primary/secondary, ``AT``
        all-through), main_phase (``PRI``/``SEC``), pupils_2015 (number on roll, May 2015),
        capacity_2015 (net capacity, places), capacity_primary_2015, capacity_secondary_2015
        (split for middle and all-through schools), planning_area_primary_code,
        planning_area_secondary_code (text), row_repaired (bool: this row was shifted and fixed).

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: columns missing, an unrepairable shifted row, or a repeated LAEstab.
    """
    raw = _read_excel(resolve(CAPACITY_2015, data_dir, verify), CAPACITY_2015)
    fixed, repaired = fix_shifted_capacity_rows(raw)
    fixed = fixed[~_is_blank(fixed["LAEstab"])]
    frame = pd.DataFrame(
        {
            "laestab": _code(fixed["LAEstab"], 7),
            "la_number": _code(fixed["LA1"], 3),
            "estab": _code(fixed["estab1"], 4),
            "la_name": _text(fixed["LAname"].astype("string")),
            "school_name": _text(fixed["Schoolname"].astype("string")),
            "scap_phase": _text(fixed["Phase"].astype("string")),
            "main_phase": _text(fixed["Main Phase"].astype("string")),
            "pupils_2015": to_number(fixed["MAYNOR"].astype("string")),
            "capacity_2015": to_number(fixed["Netcapacity (1)"].astype("string")),
            "capacity_primary_2015": to_number(fixed["PrimaryCapacity (2)"].astype("string")),
            "capacity_secondary_2015": to_number(fixed["SecondaryCapacity (2)"].astype("string")),
            "planning_area_primary_code": _code(fixed["Primary PA code (2)"]),
            "planning_area_secondary_code": _code(fixed["Secondary PA code (2)"]),
        }
    ).reset_index(drop=True)
    frame["row_repaired"] = frame["laestab"].isin(repaired).to_numpy()
    _unique(frame, "laestab", CAPACITY_2015)
    return frame


# ---------------------------------------------------------------------------------------------
# results and inspections


def read_ks2(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the 2018 key stage 2 results per school.

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        verify: check the file's sha256 against the manifest.

    Returns:
        One row per URN: urn, ks2_pupils (pupils at the end of KS2), ks2_rwm_expected_pct,
        ks2_rwm_higher_pct (percent meeting the expected / higher standard in reading, writing
        and maths, 0-100; NaN when suppressed), ks2_reading_progress, ks2_writing_progress,
        ks2_maths_progress (progress scores), ks2_progress_marker (``LOWCOV`` where a progress
        score was withheld for low coverage, else <NA>).

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: a column is missing, a value is neither a number nor a known marker, or a
            URN is repeated.
    """
    raw = read_csv(resolve(KS2, data_dir, verify))
    cols = ["URN", "KS2 Pupils", "Overall Meet Std", "Overall Exceed Std", "Reading Progress", "Writing Progress", "Maths Progress"]
    require_columns(raw, cols, KS2)
    frame = pd.DataFrame({"urn": _urn(raw["URN"], KS2), "ks2_pupils": to_number(raw["KS2 Pupils"])})
    frame["ks2_rwm_expected_pct"] = to_number(raw["Overall Meet Std"])
    frame["ks2_rwm_higher_pct"] = to_number(raw["Overall Exceed Std"])
    markers = []
    for subject in ("Reading", "Writing", "Maths"):
        numbers, marker = parse_number(raw[f"{subject} Progress"])
        frame[f"ks2_{subject.lower()}_progress"] = numbers
        markers.append(marker)
    frame["ks2_progress_marker"] = markers[0].fillna(markers[1]).fillna(markers[2]).astype("string")
    _unique(frame, "urn", KS2)
    return frame


def read_ks4(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the 2018 key stage 4 (GCSE) results per school.

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        verify: check the file's sha256 against the manifest.

    Returns:
        One row per URN: urn, ks4_pupils, ks4_attainment8 (average Attainment 8 score),
        ks4_progress8 (Progress 8 score), ks4_eng_maths_grade5_pct (percent with grade 5 or above
        in English and maths, 0-100), ks4_ebacc_entry_pct, ks4_progress8_band (text description,
        ``Average``...), ks4_marker (a suppression marker met in these columns, else <NA>).

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: a column is missing, a value is neither a number nor a known marker, or a
            URN is repeated.
    """
    raw = read_csv(resolve(KS4, data_dir, verify))
    cols = ["URN", "KS4 Pupils", "Attainment 8", "Progress 8", "Eng Maths Grade 5", "Entering EBacc", "P8 Desc"]
    require_columns(raw, cols, KS4)
    frame = pd.DataFrame({"urn": _urn(raw["URN"], KS4)})
    marker = pd.Series(pd.NA, index=raw.index, dtype="string")
    for name, column in [("ks4_pupils", "KS4 Pupils"), ("ks4_attainment8", "Attainment 8"), ("ks4_progress8", "Progress 8"),
                         ("ks4_eng_maths_grade5_pct", "Eng Maths Grade 5"), ("ks4_ebacc_entry_pct", "Entering EBacc")]:  # fmt: skip
        numbers, flag = parse_number(raw[column])
        frame[name] = numbers
        marker = marker.fillna(flag)
    desc = _text(raw["P8 Desc"])
    frame["ks4_progress8_band"] = desc.where(desc != "NOT AVAIL")
    frame["ks4_marker"] = marker.fillna(desc.where(desc == "NOT AVAIL")).astype("string")
    _unique(frame, "urn", KS4)
    return frame


#: Ofsted's overall effectiveness grades, best first (``Satisfactory`` was renamed ``Requires
#: Improvement`` in 2012; both are grade 3).
OFSTED_GRADES = {"Outstanding": 1, "Good": 2, "Satisfactory": 3, "Requires Improvement": 3, "Inadequate": 4}


def read_ofsted(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read Ofsted inspection outcomes: every inspection (several per school, 2005-2020).

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        verify: check the file's sha256 against the manifest.

    Returns:
        urn, ofsted_rating (``Outstanding``, ``Good``, ``Satisfactory``, ``Requires
        Improvement``, ``Inadequate``), ofsted_grade (1-4, Int64), ofsted_date (datetime).

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: a column is missing, a rating is unknown or a date unreadable.
    """
    raw = read_csv(resolve(OFSTED, data_dir, verify))
    require_columns(raw, ["URN", "Rating", "Inspection Date"], OFSTED)
    rating = _text(raw["Rating"])
    unknown = rating.notna() & ~rating.isin(list(OFSTED_GRADES))
    if unknown.any():
        raise DataFormatError(f"{OFSTED}: unknown ratings {', '.join(rating[unknown].unique()[:5])}")
    date = pd.to_datetime(_text(raw["Inspection Date"]), format="%Y%m%d", errors="coerce")
    bad = date.isna() & _text(raw["Inspection Date"]).notna()
    if bad.any():
        raise DataFormatError(f"{OFSTED}: inspection dates not YYYYMMDD: {', '.join(raw.loc[bad, 'Inspection Date'].unique()[:5])}")
    return pd.DataFrame(
        {
            "urn": _urn(raw["URN"], OFSTED),
            "ofsted_rating": rating,
            "ofsted_grade": rating.map(OFSTED_GRADES).astype("Int64"),
            "ofsted_date": date,
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
            "urn": _urn(raw["URN"], LINKS),
            "link_urn": _urn(raw["LinkURN"], LINKS),
            "link_name": _text(raw["LinkName"]),
            "link_type": _text(raw["LinkType"]),
            "link_date": pd.to_datetime(_text(raw["LinkEstablishedDate"]), format="%d-%m-%Y", errors="coerce"),
        }
    )


def read_establishment_types(data_dir: Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the register's establishment types and their groups.

    Returns:
        type_group_code, type_group_name, type_code, type_name; one row per type (the further-
        education sub-types of the file are dropped).

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: a column is missing.
    """
    raw = read_csv(resolve(ESTABLISHMENT_TYPES, data_dir, verify))
    cols = ["establishment-type-group-code", "establishment-type-group-name", "type-of-establishment-code", "type-of-establishment-name"]
    require_columns(raw, cols, ESTABLISHMENT_TYPES)
    frame = raw[cols].rename(columns=dict(zip(cols, ["type_group_code", "type_group_name", "type_code", "type_name"])))
    frame = frame.apply(_text)
    return frame.drop_duplicates("type_code").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# postcodes


_CODEPOINT_COLUMNS = ["PC", "PQ", "EA", "NO", "CY", "RH", "LH", "CC", "DC", "WC"]


def read_codepoint(data_dir: Path | None = None, postcodes: pd.Series | None = None, verify: bool = True) -> pd.DataFrame:
    """Read OS Code-Point Open postcode locations (postcode unit centroids, EPSG:27700 metres).

    Reads every ``Data/CSV/*.csv`` member of the zip with pyarrow, only the postcode, quality,
    easting and northing columns (about 1 s for all 1.7 million postcodes).

    Args:
        data_dir: raw data folder (default ``config.data_dir()``).
        postcodes: if given, keep only these postcodes (any spacing or case); only their
            postcode areas' files are parsed.
        verify: check the file's sha256 against the manifest.

    Returns:
        postcode (normalised ``"AB10 1AB"``), positional_quality (10 best ... 60; 90 means no
        coordinates), easting, northing (Float; NaN where quality is 90). One row per postcode.

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: the zip has no ``Data/CSV`` files or their columns are not as documented.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    path = resolve(CODEPOINT, data_dir, verify)
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if n.startswith("Data/CSV/") and n.lower().endswith(".csv"))
            if not members:
                raise DataFormatError(f"{CODEPOINT}: no Data/CSV/*.csv members; is this the Code-Point Open CSV download?")
            if postcodes is not None:  # only the postcode areas asked for (one file per area: ab.csv, b.csv...)
                areas = set(postcodes.dropna().astype(str).str.upper().str.extract(r"^\s*([A-Z]{1,2})\d", expand=False).dropna().str.lower())
                members = [n for n in members if n[len("Data/CSV/") : -len(".csv")].lower() in areas]
            header_name = next((n for n in archive.namelist() if n.endswith("Code-Point_Open_Column_Headers.csv")), None)
            if header_name:
                short = archive.read(header_name).decode("utf-8-sig").splitlines()[0].split(",")
                if [s.strip() for s in short[:4]] != _CODEPOINT_COLUMNS[:4]:
                    raise DataFormatError(f"{CODEPOINT}: column headers {short[:4]} are not {_CODEPOINT_COLUMNS[:4]}")
            blob = b"".join(archive.read(n).rstrip(b"\r\n") + b"\n" for n in members)
        if not members:
            return pd.DataFrame({"postcode": pd.Series(dtype="string"), "positional_quality": pd.Series(dtype="Int64"),
                                 "easting": pd.Series(dtype="float64"), "northing": pd.Series(dtype="float64")})  # fmt: skip
    except zipfile.BadZipFile as exc:
        raise DataFormatError(f"{CODEPOINT}: not a readable zip ({exc}); download it again") from exc
    try:
        table = pacsv.read_csv(
            io.BytesIO(blob),
            read_options=pacsv.ReadOptions(column_names=_CODEPOINT_COLUMNS),
            convert_options=pacsv.ConvertOptions(
                include_columns=["PC", "PQ", "EA", "NO"],
                column_types={"PC": pa.string(), "PQ": pa.int32(), "EA": pa.float64(), "NO": pa.float64()},
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataFormatError(f"{CODEPOINT}: postcode files not in the documented layout ({exc})") from exc
    compact = pc.utf8_upper(pc.replace_substring(table["PC"], " ", ""))
    if postcodes is not None:
        wanted = pa.array(postcodes.dropna().astype(str).str.upper().str.replace(r"\s+", "", regex=True).unique())
        keep = pc.is_in(compact, value_set=wanted)
        table, compact = table.filter(keep), compact.filter(keep)
    frame = pd.DataFrame(
        {
            "postcode": normalise_postcode(pd.Series(compact.to_numpy(zero_copy_only=False), dtype="string")),
            "positional_quality": pd.Series(table["PQ"].to_numpy(zero_copy_only=False)).astype("Int64"),
            "easting": table["EA"].to_numpy(zero_copy_only=False),
            "northing": table["NO"].to_numpy(zero_copy_only=False),
        }
    )
    no_coords = frame["positional_quality"].eq(90).fillna(False) | ((frame["easting"] == 0) & (frame["northing"] == 0))
    frame.loc[no_coords, ["easting", "northing"]] = np.nan
    return frame.drop_duplicates("postcode").reset_index(drop=True)
