"""Readers for the published pupil-flow tables: London Schools Atlas flows and DfE cross-border counts.

Two files, both under ``ATLAS_DATA_DIR/flows/``:

- ``lsa_secondary_flows_2015_21_boroughs.csv`` (London Schools Atlas, GLA, from the National Pupil
  Database, January 2015): one row per (secondary school, home LSOA) cell with at least 3 pupils.
  Cells of 1-2 pupils are *absent* (suppressed by the publisher); ``Total_SecSchool_Pupils`` is
  the school's total before suppression (it includes sixth formers), so the suppressed pupils of a
  school are its total minus its published cells (about 18% of all pupils).
- ``cross_border_6_inner_london_las_2019_2024.csv`` (DfE, Schools, pupils and their
  characteristics): for six inner London authorities, state-funded pupils resident in the
  authority by phase, taught in it or outside it, with a column per destination authority.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.sources import resolve
from atlaskit.sources.parsing import parse_urn, read_csv, require_columns, to_number
from atlaskit.vocabulary import DISCLOSURE_THRESHOLD

LSA_FLOWS_FILE = "flows/lsa_secondary_flows_2015_21_boroughs.csv"
CROSS_BORDER_FILE = "flows/cross_border_6_inner_london_las_2019_2024.csv"

__all__ = ["read_lsa_flows", "read_cross_border", "LSA_FLOWS_FILE", "CROSS_BORDER_FILE"]


def read_lsa_flows(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the London Schools Atlas secondary school-to-LSOA flows (January 2015).

    Args:
        data_dir: raw-data folder (default ``config.data_dir()``).

    Returns:
        One row per published cell: ``urn`` (int64), ``school_name``, ``school_total_pupils``
        (Int64, the school's pupils before suppression, sixth formers included), ``lsoa11_code``,
        ``lsoa11_name``, ``pupils`` (Int64, always >= :data:`atlaskit.vocabulary.DISCLOSURE_THRESHOLD`, 3).

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: when columns are missing, a URN is blank or not 5-7 digits, counts are not numbers, a published count is
            under 3, or a school's published cells exceed its total.
    """
    path = resolve(LSA_FLOWS_FILE, data_dir)
    raw = read_csv(path)
    require_columns(
        raw, ["Secondary_School_URN", "Secondary_School_Name", "Total_SecSchool_Pupils", "LSOA_CODE", "LSOA_NAME", "Pupil_count"], LSA_FLOWS_FILE
    )
    frame = pd.DataFrame(
        {
            "urn": parse_urn(raw["Secondary_School_URN"], LSA_FLOWS_FILE),
            "school_name": raw["Secondary_School_Name"].astype("string").str.strip(),
            "school_total_pupils": to_number(raw["Total_SecSchool_Pupils"]).astype("Int64"),
            "lsoa11_code": raw["LSOA_CODE"].astype("string").str.strip(),
            "lsoa11_name": raw["LSOA_NAME"].astype("string").str.strip(),
            "pupils": to_number(raw["Pupil_count"]).astype("Int64"),
        }
    )
    if frame[["urn", "pupils", "school_total_pupils"]].isna().any().any():
        raise DataFormatError(f"{LSA_FLOWS_FILE}: blank pupil count or school total in {int(frame.isna().any(axis=1).sum())} row(s)")
    small = frame["pupils"] < DISCLOSURE_THRESHOLD
    if small.any():
        raise DataFormatError(f"{LSA_FLOWS_FILE}: {int(small.sum())} published count(s) under {DISCLOSURE_THRESHOLD}; expected suppression")
    listed = frame.groupby("urn")["pupils"].sum()
    totals = frame.groupby("urn")["school_total_pupils"].first()
    over = listed[listed > totals]
    if len(over):
        raise DataFormatError(f"{LSA_FLOWS_FILE}: published cells exceed the school total for URN(s) {', '.join(map(str, over.index[:5]))}")
    if not frame["lsoa11_code"].str.match(r"^E010\d{5}$").all():
        bad = frame.loc[~frame["lsoa11_code"].str.match(r"^E010\d{5}$"), "lsoa11_code"].unique()[:5]
        raise DataFormatError(f"{LSA_FLOWS_FILE}: LSOA codes not of the form E01xxxxxx: {', '.join(map(str, bad))}")
    return frame


_PHASES = {"Primary": "primary", "Secondary": "secondary", "Special School": "special"}


def read_cross_border(data_dir: Path | None = None) -> pd.DataFrame:
    """Read DfE's cross-border movement table for six inner London authorities (2019/20 to 2023/24).

    Args:
        data_dir: raw-data folder (default ``config.data_dir()``).

    Returns:
        One row per (academic year, authority of residence, phase): ``academic_year``
        (``"2019/20"``), ``authority_code`` (ONS E-code of residence), ``la_number``, ``la_name``,
        ``phase`` (``primary``/``secondary``/``special``), ``resident_pupils``, ``school_in_la``,
        ``school_outside_la`` (Int64), plus one Int64 column per destination authority as
        published (``Camden`` ...). ``school_in_la + school_outside_la == resident_pupils``.

    Raises:
        DataFileMissing, ChecksumMismatch: from :func:`atlaskit.sources.resolve`.
        DataFormatError: when columns are missing or the in/outside counts do not add up.
    """
    path = resolve(CROSS_BORDER_FILE, data_dir)
    raw = read_csv(path)
    base = ["time_period", "old_la_code", "la_name", "new_la_code", "phase-type_grouping", "resident_headcount", "school_in_la", "school_outside_la"]
    require_columns(raw, base, CROSS_BORDER_FILE)
    period = raw["time_period"].str.strip()
    if not period.str.match(r"^\d{6}$").all():
        raise DataFormatError(f"{CROSS_BORDER_FILE}: time_period not of the form 201920")
    unknown = set(raw["phase-type_grouping"].unique()) - set(_PHASES)
    if unknown:
        raise DataFormatError(f"{CROSS_BORDER_FILE}: unknown phase(s) {sorted(unknown)}")
    frame = pd.DataFrame(
        {
            "academic_year": (period.str[:4] + "/" + period.str[4:]).astype("string"),
            "authority_code": raw["new_la_code"].astype("string").str.strip(),
            "la_number": raw["old_la_code"].astype("string").str.strip(),
            "la_name": raw["la_name"].astype("string").str.strip(),
            "phase": raw["phase-type_grouping"].map(_PHASES).astype("string"),
            "resident_pupils": to_number(raw["resident_headcount"]).astype("Int64"),
            "school_in_la": to_number(raw["school_in_la"]).astype("Int64"),
            "school_outside_la": to_number(raw["school_outside_la"]).astype("Int64"),
        }
    )
    known = set(base) | {"time_identifier", "geographic_level", "country_code", "country_name", "region_code", "region_name", "boarder", "ncyear"}
    for column in raw.columns:
        if column not in known:
            frame[column] = to_number(raw[column]).astype("Int64")
    mismatch = frame["school_in_la"] + frame["school_outside_la"] != frame["resident_pupils"]
    if mismatch.any():
        raise DataFormatError(f"{CROSS_BORDER_FILE}: in + outside != resident total in {int(mismatch.sum())} row(s)")
    return frame
