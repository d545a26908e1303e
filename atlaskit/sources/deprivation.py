"""Readers of the English indices of deprivation 2019 (IMD, domains, IDACI) for LSOAs.

Quirks handled: byte-order marks and CRLF (File_1, File_2), thousands separators in ranks
(File_1 writes ``"29,199"``), and File_7a's ranks, which run across England AND Wales (34,753
LSOAs): :func:`rank_within` re-ranks English LSOAs in the same order so ranks are England ranks
(1 = most deprived, 32,844 = least), as in File_1/File_2.

What the data folder lacks: the IMD *score* is published in File_5, which is not in the folder,
so ``imd_score`` is left missing (<NA>) and only the IMD rank and decile are given. The IDACI
score comes from File_7a (scores do not depend on the ranking population).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.sources import resolve
from atlaskit.sources.parsing import parse_number, read_csv

__all__ = ["read_imd", "read_domains", "read_income_idaci", "rank_within", "rank_to_decile", "read_deprivation"]

IMD_FILE = "deprivation/File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
DOMAINS_FILE = "deprivation/File_2_-_IoD2019_Domains_of_Deprivation.csv.gz"
IDACI_FILE = "deprivation/File_7a_-_IoD2019_Income_and_IDACI_Scores_England_and_Wales.csv"


def _find(frame: pd.DataFrame, startswith: str, source: str) -> str:
    """Return the one column whose name starts with ``startswith`` (case-insensitive)."""
    hits = [c for c in frame.columns if str(c).lower().startswith(startswith.lower())]
    if len(hits) != 1:
        raise DataFormatError(f"{source}: expected one column starting {startswith!r}, found {hits or 'none'}")
    return hits[0]


def _whole(values: pd.Series, name: str, source: str) -> pd.Series:
    numbers, _ = parse_number(values.rename(f"{source}: {name}"))
    if numbers.isna().any():
        raise DataFormatError(f"{source}: {name} missing for {int(numbers.isna().sum())} LSOA(s)")
    return numbers.astype("int64")


def _lsoa_frame(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    code = _find(raw, "LSOA code", source)
    district = _find(raw, "Local Authority District code", source)
    frame = pd.DataFrame(
        {
            "lsoa11_code": raw[code].astype("string").str.strip(),
            "district_code_2019": raw[district].astype("string").str.strip(),
        }
    )
    if frame["lsoa11_code"].isna().any():
        raise DataFormatError(f"{source}: {int(frame['lsoa11_code'].isna().sum())} row(s) without an LSOA code")
    if frame["lsoa11_code"].duplicated().any():
        raise DataFormatError(f"{source}: LSOAs listed twice: {', '.join(frame.loc[frame['lsoa11_code'].duplicated(), 'lsoa11_code'][:5])}")
    return frame


def read_imd(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the IMD 2019 rank and decile of each English LSOA (File_1).

    Returns:
        DataFrame with lsoa11_code, district_code_2019, imd_rank (1 = most deprived of 32,844),
        imd_decile (1 = most deprived 10%), both int64.
    """
    raw = read_csv(resolve(IMD_FILE, data_dir)).dropna(how="all")
    frame = _lsoa_frame(raw, IMD_FILE)
    frame["imd_rank"] = _whole(raw[_find(raw, "Index of Multiple Deprivation (IMD) Rank", IMD_FILE)], "IMD rank", IMD_FILE)
    frame["imd_decile"] = _whole(raw[_find(raw, "Index of Multiple Deprivation (IMD) Decile", IMD_FILE)], "IMD decile", IMD_FILE)
    return frame.reset_index(drop=True)


def read_domains(data_dir: Path | None = None) -> pd.DataFrame:
    """Read the England ranks and deciles of the IMD and its seven domains (File_2).

    Returns:
        DataFrame with lsoa11_code, district_code_2019, and int64 pairs ``<domain>_rank`` /
        ``<domain>_decile`` for imd, income, employment, education, health, crime, housing
        (barriers to housing and services), living_environment.
    """
    raw = read_csv(resolve(DOMAINS_FILE, data_dir)).dropna(how="all")
    frame = _lsoa_frame(raw, DOMAINS_FILE)
    prefixes = {
        "imd": "Index of Multiple Deprivation (IMD)",
        "income": "Income",
        "employment": "Employment",
        "education": "Education, Skills and Training",
        "health": "Health Deprivation and Disability",
        "crime": "Crime",
        "housing": "Barriers to Housing and Services",
        "living_environment": "Living Environment",
    }
    for name, prefix in prefixes.items():
        for what in ("Rank", "Decile"):
            frame[f"{name}_{what.lower()}"] = _whole(raw[_find(raw, f"{prefix} {what}", DOMAINS_FILE)], f"{prefix} {what}", DOMAINS_FILE)
    return frame.reset_index(drop=True)


def read_income_idaci(data_dir: Path | None = None) -> pd.DataFrame:
    """Read income and IDACI scores with their England-and-Wales ranks (File_7a, 34,753 LSOAs).

    Returns:
        DataFrame with lsoa11_code, district_code_2019, income_score, income_rank_ew,
        idaci_score, idaci_rank_ew (scores are proportions 0-1, float64; ranks int64, 1 = most
        deprived of England and Wales together).
    """
    raw = read_csv(resolve(IDACI_FILE, data_dir)).dropna(how="all")
    frame = _lsoa_frame(raw, IDACI_FILE)
    for name, prefix in (("income", "Income Domain"), ("idaci", "IDACI")):
        score, _ = parse_number(raw[_find(raw, f"{prefix} Score", IDACI_FILE)].rename(f"{IDACI_FILE}: {prefix} Score"))
        if score.isna().any():
            raise DataFormatError(f"{IDACI_FILE}: {prefix} Score missing for {int(score.isna().sum())} LSOA(s)")
        frame[f"{name}_score"] = score.to_numpy()
        frame[f"{name}_rank_ew"] = _whole(raw[_find(raw, f"{prefix} Rank", IDACI_FILE)], f"{prefix} Rank", IDACI_FILE)
    return frame.reset_index(drop=True)


def rank_within(ranks: pd.Series, keep: pd.Series) -> pd.Series:
    """Re-rank a subset in the order of a wider ranking (England ranks from England-and-Wales ranks).

    Args:
        ranks: ranks over the wider population (1 = most deprived).
        keep: boolean mask of the rows forming the subset (English LSOAs).

    Returns:
        Int64 ranks 1..n within the subset, in the same order as ``ranks``; <NA> outside it.
        Rows tied in ``ranks`` (the published ranks have ties where scores are equal) share the
        lowest rank of their group, as in the published files.

    Raises:
        DataFormatError: when ``ranks`` has missing values inside the subset.
    """
    sub = ranks[keep.to_numpy()]
    if sub.isna().any():
        raise DataFormatError(f"{int(sub.isna().sum())} rank(s) missing within the subset; cannot re-rank")
    out = pd.Series(pd.NA, index=ranks.index, dtype="Int64")
    out.loc[sub.index] = sub.rank(method="min").astype("int64").to_numpy()
    return out


def rank_to_decile(ranks: pd.Series, n: int | None = None) -> pd.Series:
    """Return deciles (1 = the most deprived 10%) of ranks 1..n, as the indices of deprivation define them.

    Args:
        ranks: ranks 1..n (Int64 or int).
        n: number ranked (default: the largest rank).
    """
    values = ranks.astype("Float64")
    n = int(values.max()) if n is None else n
    deciles = np.ceil(values.to_numpy(dtype="float64", na_value=np.nan) * 10 / n)
    return pd.Series(deciles, index=ranks.index).astype("Int64")


def read_deprivation(data_dir: Path | None = None) -> pd.DataFrame:
    """Return the IMD and IDACI 2019 of each English LSOA with England ranks and deciles.

    IMD rank and decile from File_1; IDACI score from File_7a with its England-and-Wales rank
    re-ranked among the English LSOAs of File_1 (:func:`rank_within`) and deciles from those
    England ranks (:func:`rank_to_decile`).

    Returns:
        DataFrame with lsoa11_code, imd_score (Float64, always <NA>: File_5 is not in the data
        folder), imd_rank, imd_decile, idaci_score (0-1), idaci_rank, idaci_decile (1 = most
        deprived in England); one row per English LSOA (32,844).

    Raises:
        DataFormatError: an English LSOA of File_1 is missing from File_7a.
    """
    imd = read_imd(data_dir)
    idaci = read_income_idaci(data_dir)
    english = idaci["lsoa11_code"].isin(imd["lsoa11_code"])
    missing = set(imd["lsoa11_code"]) - set(idaci.loc[english, "lsoa11_code"])
    if missing:
        raise DataFormatError(f"{IDACI_FILE}: {len(missing)} English LSOA(s) of File_1 are missing, e.g. {', '.join(sorted(missing)[:5])}")
    idaci["idaci_rank"] = rank_within(idaci["idaci_rank_ew"], english)
    idaci = idaci[english]
    idaci["idaci_decile"] = rank_to_decile(idaci["idaci_rank"], n=len(idaci))
    frame = imd.merge(idaci[["lsoa11_code", "idaci_score", "idaci_rank", "idaci_decile"]], on="lsoa11_code", how="left", validate="1:1")
    frame.insert(1, "imd_score", pd.Series(pd.NA, index=frame.index, dtype="Float64"))
    frame["idaci_rank"] = frame["idaci_rank"].astype("int64")
    frame["idaci_decile"] = frame["idaci_decile"].astype("int64")
    return frame[["lsoa11_code", "imd_score", "imd_rank", "imd_decile", "idaci_score", "idaci_rank", "idaci_decile"]]
