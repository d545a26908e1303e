"""Rows of the ``school_joins`` table (schools that could not be joined or located, and why), and a fast ``isin``."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["JOIN_COLUMNS", "join_rows", "empty_joins", "isin_fast"]

#: Columns of a ``school_joins`` row.
JOIN_COLUMNS = ["urn", "laestab", "school_name", "step", "status", "reason"]


def isin_fast(values, other) -> np.ndarray:
    """Return ``values.isin(other)`` as a NumPy bool array, by an index lookup (fast for large string columns)."""
    lookup = pd.Index(pd.unique(pd.Series(np.asarray(other, dtype=object)).dropna()))
    return lookup.get_indexer(np.asarray(values, dtype=object)) >= 0


def join_rows(frame: pd.DataFrame, step: str, status: str, reason: pd.Series | str) -> pd.DataFrame:
    """Return ``school_joins`` rows for the schools in ``frame`` (columns urn and optional laestab, school_name).

    Args:
        frame: the schools (``urn`` whole numbers, missing where a row has no school).
        step: ``location``, ``lsoa``, ``capacity``, ``authority``, ``ks2``, ``ks4`` or ``ofsted``.
        status: ``not located``, ``not joined``, ``resolved`` or ``differs``.
        reason: one text for all, or one per row of ``frame``.

    Returns:
        Rows with :data:`JOIN_COLUMNS`; ``urn`` is nullable Int64, the rest text.
    """
    out = pd.DataFrame(index=frame.index)
    # URNs stay whole numbers; nullable because 2015 capacity rows that match no school have none
    out["urn"] = pd.array(frame["urn"], dtype="Int64") if "urn" in frame else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    for column in ("laestab", "school_name"):
        out[column] = frame[column].astype("string") if column in frame else pd.Series(pd.NA, index=frame.index, dtype="string")
    out["step"] = step
    out["status"] = status
    out["reason"] = reason if isinstance(reason, pd.Series) else pd.Series(reason, index=frame.index)
    out["reason"] = out["reason"].astype("string")
    return out[JOIN_COLUMNS].reset_index(drop=True)


def empty_joins() -> pd.DataFrame:
    """Return a ``school_joins`` table with no rows."""
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "urn" else "string") for c in JOIN_COLUMNS})
