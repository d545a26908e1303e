"""Build step ``planning``: the school places scorecards as the store table ``scorecard``.

One row per current authority and academic year (2022/23-2024/25), keyed by the current ONS
code: codes published under a retired code (Barnsley E08000016, Sheffield E08000019) are mapped
through the ``authority_codes`` table built by the geography step.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.sources.planning import read_scorecard

__all__ = ["build", "scorecard_table", "RETIRED_CODES"]

#: Fallback when no ``authority_codes`` table is given: the retired codes the scorecard uses.
RETIRED_CODES = {"E08000016": "E08000038", "E08000019": "E08000039"}


def current_codes(codes: pd.Series, authority_codes: pd.DataFrame | None) -> pd.Series:
    """Map published ONS codes to current authority codes.

    Args:
        codes: ONS codes as published (some retired).
        authority_codes: the store table ``authority_codes`` (code, authority_code, kind); when
            None, :data:`RETIRED_CODES` is used.

    Returns:
        Current authority codes aligned with ``codes``.

    Raises:
        DataFormatError: naming codes that map to no authority, or to several (a split
            authority cannot stand for one of its successors).
    """
    if authority_codes is None:
        return codes.map(lambda c: RETIRED_CODES.get(c, c)).astype("string")
    table = authority_codes[["code", "authority_code"]].drop_duplicates()
    counts = table.groupby("code")["authority_code"].nunique()
    split = sorted(set(codes) & set(counts[counts > 1].index))
    if split:
        raise DataFormatError(f"scorecard codes {', '.join(split)} belong to authorities that were split; cannot map them to one authority")
    mapping = table.drop_duplicates("code").set_index("code")["authority_code"]
    mapped = codes.map(mapping)
    unknown = sorted(set(codes[mapped.isna()]))
    if unknown:
        raise DataFormatError(f"scorecard codes {', '.join(unknown)} are not in the authority_codes table")
    return mapped.astype("string")


def scorecard_table(scorecard: pd.DataFrame, authority_codes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the store table ``scorecard`` from :func:`atlaskit.sources.planning.read_scorecard`'s frame.

    Args:
        scorecard: the typed scorecard.
        authority_codes: code mapping (see :func:`current_codes`).

    Returns:
        DataFrame with authority_code (current), la_number (Int64), academic_year, then the
        scorecard columns; sorted by authority_code and academic_year.

    Raises:
        DataFormatError: unmappable codes, or an authority twice in one year after mapping.
    """
    out = scorecard.copy()
    out.insert(0, "authority_code", current_codes(out["ons_code"], authority_codes))
    out["la_number"] = pd.to_numeric(out["la_number"]).astype("Int64")
    dup = out.duplicated(["authority_code", "academic_year"], keep=False)
    if dup.any():
        raise DataFormatError(f"scorecard: authorities twice in one year after mapping codes: {', '.join(out.loc[dup, 'authority_code'].unique()[:5])}")
    front = ["authority_code", "la_number", "academic_year"]
    out = out[front + [c for c in out.columns if c not in front]]
    return out.sort_values(["authority_code", "academic_year"]).reset_index(drop=True)


def build(data_dir: Path, tables: dict) -> dict:
    """Build the ``scorecard`` table (store build step).

    Args:
        data_dir: the raw-data folder.
        tables: tables built so far; ``authority_codes`` is used when present.

    Returns:
        ``{"scorecard": frame, "_notes": [...]}``.
    """
    notes = []
    codes = tables.get("authority_codes")
    if codes is None:
        notes.append("planning: no authority_codes table; mapped the scorecard's retired codes with the built-in list")
    table = scorecard_table(read_scorecard(data_dir), codes)
    remapped = int((table["authority_code"] != table["ons_code"]).sum())
    if remapped:
        notes.append(f"planning: {remapped} scorecard rows published under retired codes mapped to current ones")
    return {"scorecard": table, "_notes": notes}
