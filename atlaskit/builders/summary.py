"""Final build step: figures that need several tables (schools per authority)."""

from __future__ import annotations

from pathlib import Path


def build(data_dir: Path, tables: dict) -> dict:
    """Return the ``authorities`` table with ``n_schools`` (open state-funded schools) added.

    Args:
        data_dir: unused (kept for the build-step signature).
        tables: tables built so far; needs ``authorities`` and ``schools``.

    Returns:
        ``{"authorities": GeoDataFrame}`` replacing the earlier table.
    """
    authorities = tables["authorities"].copy()
    schools = tables["schools"]
    open_state = schools[schools["is_state_funded"].fillna(False).astype(bool) & schools["is_open"].fillna(False).astype(bool)]
    counts = open_state.groupby("authority_code").size()
    authorities["n_schools"] = authorities["authority_code"].map(counts).fillna(0).astype("int64")
    return {"authorities": authorities}
