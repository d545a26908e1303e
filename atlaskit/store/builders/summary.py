"""Final build step: figures that need several tables (schools per authority)."""

from __future__ import annotations

from pathlib import Path

from atlaskit.vocabulary import is_open_state_funded


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
    open_state = schools[is_open_state_funded(schools)]
    counts = open_state.groupby("authority_code").size()
    authorities["n_schools"] = authorities["authority_code"].map(counts).fillna(0).astype("int64")
    return {"authorities": authorities}


def finalise_flows(data_dir: Path, tables: dict) -> dict:
    """Return the ``flows`` table with the school's and the area's authority, sorted for one-authority reads.

    Loading one authority reads the flows into its schools and out of its LSOAs. Sorted by the
    school's authority, the first are one contiguous run of row groups; the second lie in the
    runs of the same and neighbouring authorities.

    Args:
        data_dir: unused (kept for the build-step signature).
        tables: tables built so far; needs ``flows``, ``schools`` and ``lsoas``.

    Returns:
        ``{"flows": DataFrame, "flows_across_borders": DataFrame}``: the flows with
        ``school_authority_code`` and ``lsoa_authority_code`` added, sorted by the school's
        authority; and the rows whose school lies in another authority than the LSOA, sorted by
        the LSOA's authority.
    """
    import pandas as pd

    flows = tables["flows"]
    school_authority = pd.Series(tables["schools"]["authority_code"].to_numpy(), index=tables["schools"]["urn"].to_numpy())
    lsoa_authority = pd.Series(tables["lsoas"]["authority_code"].to_numpy(), index=tables["lsoas"]["lsoa11_code"].to_numpy())
    out = flows.assign(
        school_authority_code=flows["urn"].map(school_authority).astype("string"),
        lsoa_authority_code=flows["lsoa11_code"].map(lsoa_authority).astype("string"),
    )
    by_school = out.sort_values(["school_authority_code", "urn", "lsoa11_code"], kind="stable").reset_index(drop=True)
    # flows from an LSOA to a school in another authority, sorted by the LSOA's authority: with the
    # flows into its own schools, these complete the flows out of one authority's LSOAs in one run
    crossing = out[out["lsoa11_code"].notna() & (out["school_authority_code"] != out["lsoa_authority_code"]).fillna(True)]
    crossing = crossing.sort_values(["lsoa_authority_code", "lsoa11_code", "urn"], kind="stable").reset_index(drop=True)
    return {"flows": by_school, "flows_across_borders": crossing}
