"""Reader of the DfE local authority school places scorecards (2022/23-2024/25).

``planning/scorecard_data_2025_2023.csv`` holds one row per authority (plus one England row)
per scorecard year; ``planning/scorecard_metadata.csv`` names most of its 243 columns.

Quirks handled:

- markers: ``z`` (not applicable, e.g. secondary figures of the City of London), ``NA`` (not
  available: capacity ``PriCap``/``SecCap`` in 2022/23), and ``Low``/``LOW`` in the forecast
  accuracy columns (too few pupils to publish a percentage; Isles of Scilly, City of London),
  and one literal ``NaN`` (a division by zero: the City of London has no secondary pupils).
  Every marker becomes NaN and is kept, per key column, in a ``<column>_marker`` text column.
- Barnsley and Sheffield are published under their retired codes E08000016 and E08000019;
  :func:`read_scorecard` keeps the code as published (``ons_code``) and the store builder maps
  it to the current code through the ``authority_codes`` table.
- The metadata does not describe ``PriNOR``/``SecNOR`` (primary Reception-Year 6 and secondary
  Year 7-11 pupils on roll) nor ``PriCap``/``SecCap`` (primary and secondary places, capacity):
  :data:`KEY_COLUMNS` documents them.

Sign of the forecast accuracy columns (``For_1_P`` ...): (forecast - actual) / actual as a
fraction, so 0.01 means the authority's forecast made one (or three) years earlier was 1% above
the pupils actually on roll that year.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.sources import resolve
from atlaskit.sources.parsing import MARKERS, parse_number, read_csv, require_columns

__all__ = ["KEY_COLUMNS", "SCORECARD_FILE", "METADATA_FILE", "SCORECARD_MARKERS", "read_scorecard", "read_scorecard_metadata"]

SCORECARD_FILE = "planning/scorecard_data_2025_2023.csv"
METADATA_FILE = "planning/scorecard_metadata.csv"

#: Markers in the scorecard: the shared ones plus ``Low``/``LOW`` (forecast accuracy not published) and ``NaN``.
SCORECARD_MARKERS: frozenset[str] = MARKERS | {"Low", "LOW", "low", "NaN"}

#: Published column -> (our name, meaning and unit).
KEY_COLUMNS: dict[str, tuple[str, str]] = {
    "PriNOR": ("primary_pupils", "primary pupils on roll, Reception-Year 6, state-funded (pupils)"),
    "SecNOR": ("secondary_pupils", "secondary pupils on roll, Year 7-11, state-funded (pupils)"),
    "PriCap": ("primary_capacity", "primary places (capacity; NA in 2022/23) (places)"),
    "SecCap": ("secondary_capacity", "secondary places (capacity; NA in 2022/23) (places)"),
    "PRI_NoR19": ("primary_pupils_2019", "primary pupils on roll in 2018/19 (pupils)"),
    "SEC_NoR19": ("secondary_pupils_2019", "secondary pupils on roll in 2018/19 (pupils)"),
    "PRI_NoR15": ("primary_pupils_2015", "primary pupils on roll in 2014/15 (pupils)"),
    "SEC_NoR15": ("secondary_pupils_2015", "secondary pupils on roll in 2014/15 (pupils)"),
    "For_1_P": ("primary_forecast_error_1y", "authority's primary forecast 1 year ahead: (forecast - actual) / actual (fraction)"),
    "For_3_P": ("primary_forecast_error_3y", "authority's primary forecast 3 years ahead: (forecast - actual) / actual (fraction)"),
    "For_1_S": ("secondary_forecast_error_1y", "authority's secondary forecast 1 year ahead: (forecast - actual) / actual (fraction)"),
    "For_3_S": ("secondary_forecast_error_3y", "authority's secondary forecast 3 years ahead: (forecast - actual) / actual (fraction)"),
    "Quan_P_UP": ("primary_unfilled_pct", "unfilled primary places in the scorecard year (percent)"),
    "Quan_S_UP": ("secondary_unfilled_pct", "unfilled secondary places in the scorecard year (percent)"),
    "Quan_P_Su": ("primary_spare_3y", "estimated spare primary places 3 years ahead (fraction)"),
    "Quan_S_Su": ("secondary_spare_3y", "estimated spare secondary places 3 years ahead (fraction)"),
    "An_P_gro": ("primary_growth_3y", "authority's anticipated primary growth to 3 years ahead (fraction)"),
    "An_S_gro": ("secondary_growth_3y", "authority's anticipated secondary growth to 3 years ahead (fraction)"),
}

_ID_COLUMNS = ["Year", "geographic_level", "LANumber", "new_la_code", "LA_name"]


def read_scorecard(data_dir: Path | None = None, keep_all: bool = True) -> pd.DataFrame:
    """Read the school places scorecards: one typed row per authority and academic year.

    Args:
        data_dir: the raw-data folder (default :func:`atlaskit.config.data_dir`).
        keep_all: also keep every other published numeric column under its published name
            (float64, markers as NaN).

    Returns:
        DataFrame with academic_year (``"2024/25"``), la_number (3-digit text), ons_code (as
        published; may be retired), authority_name, then the :data:`KEY_COLUMNS` under their
        new names (float64; NaN for a marker), a ``<name>_marker`` text column for each key
        column (the marker published, ``<NA>`` for a number), then the other columns. The
        England rows are dropped.

    Raises:
        DataFileMissing: the file is absent.
        DataFormatError: a key column is missing, a value is neither a number nor a marker,
            or an authority appears twice in one year.
    """
    raw = read_csv(resolve(SCORECARD_FILE, data_dir))
    return parse_scorecard(raw, SCORECARD_FILE, keep_all=keep_all)


def parse_scorecard(raw: pd.DataFrame, source: str = SCORECARD_FILE, keep_all: bool = True) -> pd.DataFrame:
    """Type a raw scorecard table (text columns as read); see :func:`read_scorecard`."""
    require_columns(raw, [*_ID_COLUMNS, *KEY_COLUMNS], source)
    level = raw["geographic_level"].astype("string").str.strip().str.lower()
    frame = raw[level == "local authority"].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "academic_year": frame["Year"].astype("string").str.strip(),
            "la_number": frame["LANumber"].astype("string").str.strip().str.zfill(3),
            "ons_code": frame["new_la_code"].astype("string").str.strip(),
            "authority_name": frame["LA_name"].astype("string").str.strip(),
        }
    )
    bad_year = ~out["academic_year"].str.fullmatch(r"\d{4}/\d{2}").fillna(False)
    if bad_year.any():
        raise DataFormatError(f"{source}: Year values not like 2024/25: {', '.join(out.loc[bad_year, 'academic_year'].astype(str).unique()[:5])}")
    bad_code = ~out["ons_code"].str.fullmatch(r"E\d{8}").fillna(False)
    if bad_code.any():
        raise DataFormatError(f"{source}: new_la_code values not ONS codes: {', '.join(out.loc[bad_code, 'ons_code'].astype(str).unique()[:5])}")
    dup = out.duplicated(["academic_year", "la_number"], keep=False)
    if dup.any():
        raise DataFormatError(f"{source}: authorities listed twice in a year: {', '.join(out.loc[dup, 'la_number'].unique()[:5])}")
    columns: dict[str, pd.Series] = {}
    for published, (name, _meaning) in KEY_COLUMNS.items():
        numbers, marker = parse_number(frame[published].rename(published), SCORECARD_MARKERS)
        columns[name] = numbers
        columns[f"{name}_marker"] = marker.str.lower() if marker.notna().any() else marker
    if keep_all:
        for published in frame.columns:
            if published in _ID_COLUMNS or published in KEY_COLUMNS or published in {"country_code", "country_name", "region_code", "Region"}:
                continue
            columns[published] = parse_number(frame[published].rename(published), SCORECARD_MARKERS)[0]
    out = pd.concat([out, pd.DataFrame(columns)], axis=1)
    if "region_code" in frame.columns:
        out.insert(4, "region_code", frame["region_code"].astype("string").str.strip())
    return out


def read_scorecard_metadata(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the scorecard metadata: published column name -> description, plus the columns it lacks.

    Returns:
        DataFrame with column (published name) and description; the key columns the publisher
        does not describe (``PriNOR``...) are added from :data:`KEY_COLUMNS`.
    """
    raw = read_csv(resolve(METADATA_FILE, data_dir))
    require_columns(raw, ["programmer_friendly_names", "user_friendly_names"], METADATA_FILE)
    meta = raw.rename(columns={"programmer_friendly_names": "column", "user_friendly_names": "description"})[["column", "description"]]
    meta = meta.dropna(subset=["column"])
    extra = pd.DataFrame(
        [(k, v[1]) for k, v in KEY_COLUMNS.items() if k not in set(meta["column"])], columns=["column", "description"]
    ).astype("string")
    return pd.concat([meta, extra], ignore_index=True)
