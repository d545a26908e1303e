"""Readers of the per-school figures (``ATLAS_DATA_DIR/schools``): 2015 capacity, 2018 KS2/KS4 results, Ofsted inspections.

Quirks handled, file by file:

- ``2015_capacity_and_forecast_underlying_data_UD1.xlsx``: one row (LAEstab 8844014) whose school
  name was split at a comma, shifting every later cell one column right; fixed by
  :func:`fix_shifted_capacity_rows`. Keyed by LAEstab (no URN).
- ``ks2_perf_2018.csv``/``ks4_perf_2018.csv``: percentages as text (``"92%"``), blank suppressions,
  ``LOWCOV`` (low coverage) and ``NOT AVAIL`` markers (kept in a marker column), CRLF.
- ``ofsted_ratings_2018.csv``: several inspections per school (all returned; take the latest with
  :func:`atlaskit.store.registers.latest_inspection`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.sources import resolve
from atlaskit.sources.parsing import (
    parse_number,
    parse_urn,
    read_csv,
    read_excel,
    require_columns,
    require_unique,
    to_code,
    to_number,
    to_text,
)

__all__ = [
    "CAPACITY_2015",
    "KS2",
    "KS4",
    "OFSTED",
    "OFSTED_GRADES",
    "fix_shifted_capacity_rows",
    "read_capacity_2015",
    "read_ks2",
    "read_ks4",
    "read_ofsted",
]

CAPACITY_2015 = "schools/2015_capacity_and_forecast_underlying_data_UD1.xlsx"
KS2 = "schools/ks2_perf_2018.csv"
KS4 = "schools/ks4_perf_2018.csv"
OFSTED = "schools/ofsted_ratings_2018.csv"

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
    rating = to_text(raw["Rating"])
    unknown = rating.notna() & ~rating.isin(list(OFSTED_GRADES))
    if unknown.any():
        raise DataFormatError(f"{OFSTED}: unknown ratings {', '.join(rating[unknown].unique()[:5])}")
    date = pd.to_datetime(to_text(raw["Inspection Date"]), format="%Y%m%d", errors="coerce")
    bad = date.isna() & to_text(raw["Inspection Date"]).notna()
    if bad.any():
        raise DataFormatError(f"{OFSTED}: inspection dates not YYYYMMDD: {', '.join(raw.loc[bad, 'Inspection Date'].unique()[:5])}")
    return pd.DataFrame(
        {
            "urn": parse_urn(raw["URN"], OFSTED),
            "ofsted_rating": rating,
            "ofsted_grade": rating.map(OFSTED_GRADES).astype("Int64"),
            "ofsted_date": date,
        }
    )


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
    laestabs = to_code(raw.loc[shifted, "LAEstab"], 7).tolist()
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
    raw = read_excel(resolve(CAPACITY_2015, data_dir, verify), CAPACITY_2015)
    fixed, repaired = fix_shifted_capacity_rows(raw)
    fixed = fixed[~_is_blank(fixed["LAEstab"])]
    frame = pd.DataFrame(
        {
            "laestab": to_code(fixed["LAEstab"], 7),
            "la_number": to_code(fixed["LA1"], 3),
            "estab": to_code(fixed["estab1"], 4),
            "la_name": to_text(fixed["LAname"].astype("string")),
            "school_name": to_text(fixed["Schoolname"].astype("string")),
            "scap_phase": to_text(fixed["Phase"].astype("string")),
            "main_phase": to_text(fixed["Main Phase"].astype("string")),
            "pupils_2015": to_number(fixed["MAYNOR"].astype("string")),
            "capacity_2015": to_number(fixed["Netcapacity (1)"].astype("string")),
            "capacity_primary_2015": to_number(fixed["PrimaryCapacity (2)"].astype("string")),
            "capacity_secondary_2015": to_number(fixed["SecondaryCapacity (2)"].astype("string")),
            "planning_area_primary_code": to_code(fixed["Primary PA code (2)"]),
            "planning_area_secondary_code": to_code(fixed["Secondary PA code (2)"]),
        }
    ).reset_index(drop=True)
    frame["row_repaired"] = frame["laestab"].isin(repaired).to_numpy()
    require_unique(frame, "laestab", CAPACITY_2015)
    return frame


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
    frame = pd.DataFrame({"urn": parse_urn(raw["URN"], KS2), "ks2_pupils": to_number(raw["KS2 Pupils"])})
    frame["ks2_rwm_expected_pct"] = to_number(raw["Overall Meet Std"])
    frame["ks2_rwm_higher_pct"] = to_number(raw["Overall Exceed Std"])
    markers = []
    for subject in ("Reading", "Writing", "Maths"):
        numbers, marker = parse_number(raw[f"{subject} Progress"])
        frame[f"ks2_{subject.lower()}_progress"] = numbers
        markers.append(marker)
    frame["ks2_progress_marker"] = markers[0].fillna(markers[1]).fillna(markers[2]).astype("string")
    require_unique(frame, "urn", KS2)
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
    frame = pd.DataFrame({"urn": parse_urn(raw["URN"], KS4)})
    marker = pd.Series(pd.NA, index=raw.index, dtype="string")
    for name, column in [("ks4_pupils", "KS4 Pupils"), ("ks4_attainment8", "Attainment 8"), ("ks4_progress8", "Progress 8"),
                         ("ks4_eng_maths_grade5_pct", "Eng Maths Grade 5"), ("ks4_ebacc_entry_pct", "Entering EBacc")]:  # fmt: skip
        numbers, flag = parse_number(raw[column])
        frame[name] = numbers
        marker = marker.fillna(flag)
    desc = to_text(raw["P8 Desc"])
    frame["ks4_progress8_band"] = desc.where(desc != "NOT AVAIL")
    frame["ks4_marker"] = marker.fillna(desc.where(desc == "NOT AVAIL")).astype("string")
    require_unique(frame, "urn", KS4)
    return frame
