"""Readers of the ONS mid-year population estimates: LSOA children by age, authorities by age.

Quirks handled: the 2020 authority file is not UTF-8 (a stray 0xA0 no-break space after
"West Northamptonshire", decoded as cp1252 and stripped), has 118 empty trailing columns and
blank rows; both authority files write numbers with thousands separators inside quotes
(``"66,796,807"``); the oldest age is the open band ``90+`` (age 90 here).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.sources import resolve
from atlaskit.sources.parsing import parse_number, read_csv, require_columns

__all__ = ["LSOA_AGES", "LA_AGES", "YEARS", "read_lsoa_children", "read_la_population", "parse_la_population"]

#: Single years of age in the LSOA children files.
LSOA_AGES = tuple(range(19))
#: Ages in the authority files; 90 stands for "90 and over".
LA_AGES = tuple(range(91))
#: Mid-year estimates available.
YEARS = (2019, 2020)


def _check_year(year: int) -> None:
    if year not in YEARS:
        raise DataFormatError(f"no population estimates for mid-{year}; available: {', '.join(map(str, YEARS))}")


def _integers(frame: pd.DataFrame, columns: list[str], source: str) -> pd.DataFrame:
    """Parse count columns (thousands separators allowed) to int64; a missing or fractional count is an error."""
    out = {}
    for column in columns:
        values, _ = parse_number(frame[column].rename(f"{source}: {column}"))
        if values.isna().any():
            rows = frame.index[values.isna()][:5].tolist()
            raise DataFormatError(f"{source}: column {column!r} has {int(values.isna().sum())} missing count(s) (rows {rows})")
        if (values % 1 != 0).any() or (values < 0).any():
            raise DataFormatError(f"{source}: column {column!r} holds values that are not whole non-negative counts")
        out[column] = values.astype("int64")
    return frame.assign(**out)


def read_lsoa_children(year: int, data_dir: Path | None = None) -> pd.DataFrame:
    """Read the children aged 0-18 of each English LSOA at mid-``year``.

    Args:
        year: 2019 or 2020.
        data_dir: the raw-data folder (default :func:`atlaskit.config.data_dir`).

    Returns:
        DataFrame with lsoa11_code, lsoa11_name, total_population (all ages), age_0 ... age_18
        (persons, int64); one row per LSOA.

    Raises:
        DataFormatError: missing columns, a missing count, or an LSOA listed twice.
    """
    _check_year(year)
    relpath = f"population/lsoa11_population_age0to18_mid{year}_england.csv"
    raw = read_csv(resolve(relpath, data_dir))
    ages = [str(a) for a in LSOA_AGES]
    require_columns(raw, ["lsoa11_code", "lsoa11_name", "total_population", *ages], relpath)
    frame = raw[["lsoa11_code", "lsoa11_name", "total_population", *ages]].dropna(how="all").copy()
    frame["lsoa11_code"] = frame["lsoa11_code"].astype("string").str.strip()
    frame["lsoa11_name"] = frame["lsoa11_name"].astype("string").str.strip()
    frame = _integers(frame, ["total_population", *ages], relpath)
    frame = frame.rename(columns={a: f"age_{a}" for a in ages})
    if frame["lsoa11_code"].duplicated().any():
        raise DataFormatError(f"{relpath}: LSOAs listed twice: {', '.join(frame.loc[frame['lsoa11_code'].duplicated(), 'lsoa11_code'][:5])}")
    return frame.reset_index(drop=True)


def read_la_population(year: int, data_dir: Path | None = None) -> pd.DataFrame:
    """Read the population by single year of age of every UK area at mid-``year`` (long format).

    Args:
        year: 2019 or 2020.
        data_dir: the raw-data folder (default :func:`atlaskit.config.data_dir`).

    Returns:
        DataFrame with code (the ONS code as published that year), name, geography (``County``,
        ``Unitary Authority``, ``Non-metropolitan District``...), year, age (0-90; 90 means 90
        and over), population (persons, int64): one row per area and age.

    Raises:
        DataFormatError: missing age columns, a missing count, or an area listed twice.
    """
    _check_year(year)
    relpath = f"population/la_population_by_age_mid{year}.csv"
    return parse_la_population(read_csv(resolve(relpath, data_dir)), year, relpath)


def parse_la_population(raw: pd.DataFrame, year: int, source: str) -> pd.DataFrame:
    """Tidy a raw authority population table (text columns) into long format.

    Drops empty trailing columns (``Unnamed: N``) and blank rows, strips no-break spaces from
    names, parses thousands separators. See :func:`read_la_population` for the columns.
    """
    raw = raw.loc[:, ~(raw.columns.str.startswith("Unnamed") & raw.isna().all().to_numpy())]
    ages = [str(a) for a in LA_AGES[:-1]] + ["90+"]
    require_columns(raw, ["Code", "Name", "Geography", *ages], source)
    frame = raw.dropna(how="all")
    frame = frame[frame["Code"].notna() & frame["Code"].astype("string").str.strip().ne("")].copy()
    for column in ("Code", "Name", "Geography"):
        frame[column] = frame[column].astype("string").str.strip()
    if frame["Code"].duplicated().any():
        raise DataFormatError(f"{source}: areas listed twice: {', '.join(frame.loc[frame['Code'].duplicated(), 'Code'][:5])}")
    frame = _integers(frame, ages, source)
    long = frame.melt(id_vars=["Code", "Name", "Geography"], value_vars=ages, var_name="age", value_name="population")
    long["age"] = long["age"].str.rstrip("+").astype("int64")
    long = long.rename(columns={"Code": "code", "Name": "name", "Geography": "geography"})
    long.insert(3, "year", year)
    long["year"] = long["year"].astype("int64")
    return long.sort_values(["code", "age"]).reset_index(drop=True)
