"""Search: find schools by URN, DfE number, postcode or name."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["search_schools"]


_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*(\d[A-Z]{2})?$")


def search_schools(schools: pd.DataFrame, query: str, limit: int = 20, min_score: float = 70.0) -> pd.DataFrame:
    """Find schools by URN, DfE number, postcode (full or outward code) or name (substring, then fuzzy).

    Args:
        schools: rows with urn (int64), school_name, postcode and optionally laestab and is_open
            (e.g. the store's ``schools`` table).
        query: a URN (``"100000"``), a DfE number (LAEstab ``"2013614"`` or ``"201/3614"``), a
            postcode (``"EC3A 5DE"``, ``"ec3a5de"``, ``"EC3A"``) or part of a name (case and
            spacing ignored; typos tolerated).
        limit: the most rows to return.
        min_score: the lowest fuzzy-match score (0-100) kept for name searches.

    Returns:
        The matching rows of ``schools`` (all columns) plus ``match`` (``urn``, ``laestab``,
        ``postcode``, ``name``, ``fuzzy``) and ``score`` (100 exact ... ``min_score``), best first (open
        schools before closed ones at equal score); empty when nothing matches or the query is blank.
    """
    text = (query or "").strip()
    empty = schools.iloc[0:0].assign(match=pd.Series(dtype="string"), score=pd.Series(dtype="float64"))
    if not text:
        return empty
    upper = re.sub(r"\s+", " ", text.upper())
    parts: list[pd.DataFrame] = []
    if re.fullmatch(r"\d{5,7}", text):
        hit = schools[schools["urn"] == int(text)]
        parts.append(hit.assign(match="urn", score=100.0))
    number = re.fullmatch(r"(\d{3})\s*[/-]?\s*(\d{4})", text)
    if number and "laestab" in schools:
        hit = schools[(schools["laestab"].astype("string") == number.group(1) + number.group(2)).fillna(False).astype(bool)]
        parts.append(hit.assign(match="laestab", score=100.0))
    if _POSTCODE.match(upper):
        compact = upper.replace(" ", "")
        postcodes = schools["postcode"].astype("string").str.upper()
        full = (postcodes.str.replace(" ", "", regex=False) == compact).fillna(False).astype(bool)
        outward = postcodes.str.startswith(compact + " ").fillna(False).astype(bool)
        parts.append(schools[full].assign(match="postcode", score=100.0))
        parts.append(schools[outward & ~full].assign(match="postcode", score=90.0))
    names = schools["school_name"].astype("string").fillna("")
    needle = re.sub(r"\s+", " ", text.lower())
    contains = names.str.lower().str.contains(needle, regex=False)
    if contains.any():
        starts = names.str.lower().str.startswith(needle)
        parts.append(schools[contains].assign(match="name", score=np.where(starts[contains], 99.0, 95.0)))
    exact = sum(len(p) for p in parts if p["match"].iloc[:1].isin(["urn", "laestab", "postcode"]).any()) if parts else 0
    if len(needle) >= 3 and contains.sum() < limit and not exact:
        from rapidfuzz import fuzz, process, utils

        pool = names[~contains]
        # mean of WRatio (whole-name similarity) and partial_ratio (best-matching stretch): a typo in
        # one distinctive word outranks names sharing only a common word such as "school"
        choices = pool.tolist()
        scores = (
            process.cdist([needle], choices, scorer=fuzz.WRatio, processor=utils.default_process)[0]
            + process.cdist([needle], choices, scorer=fuzz.partial_ratio, processor=utils.default_process)[0]
        ).astype("float64") / 2.0
        keep = np.flatnonzero(scores >= min_score)
        keep = keep[np.argsort(-scores[keep], kind="stable")][:limit]
        if len(keep):
            parts.append(schools.loc[pool.index[keep]].assign(match="fuzzy", score=np.round(scores[keep] * 0.94, 1)))
    if not parts:
        return empty
    result = pd.concat(parts)
    result = result[~result.index.duplicated(keep="first")]
    open_first = result["is_open"].astype("boolean").fillna(False).astype(int) if "is_open" in result else 0
    result = result.assign(_open=open_first).sort_values(["score", "_open", "school_name"], ascending=[False, False, True], kind="stable")
    result["match"] = result["match"].astype("string")
    return result.drop(columns="_open").head(limit)
