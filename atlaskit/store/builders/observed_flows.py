"""Build step ``observed flows``: the published London flows and DfE cross-border counts as store tables.

Tables written:

``observed_flows``
    urn, lsoa11_code, phase (``secondary``), year (2015), pupils (Float64; NaN when suppressed),
    suppressed (bool), school_total_pupils. One row per published cell (3 pupils or more) and,
    for each school whose published cells sum to less than its total, one row with
    ``lsoa11_code`` <NA>, ``suppressed`` True and ``pupils`` NaN standing for all its suppressed
    cells (1-2 pupils each, LSOAs unknown). Its ``suppressed_pupils`` column holds the total
    of those cells (school total minus published cells); it is <NA> on published rows.
``cross_border``
    academic_year, authority_code, la_number, la_name, phase, resident_pupils, school_in_la,
    school_outside_la, plus one column per destination authority as published.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from atlaskit.sources.flows import read_cross_border, read_lsa_flows

OBSERVED_YEAR = 2015


def observed_flows_table(published: pd.DataFrame) -> pd.DataFrame:
    """Turn published cells into the ``observed_flows`` table (adding one suppressed row per school).

    Args:
        published: output of :func:`atlaskit.sources.flows.read_lsa_flows`.

    Returns:
        The ``observed_flows`` table described in the module docstring, sorted by urn.
    """
    cells = pd.DataFrame(
        {
            "urn": published["urn"],
            "lsoa11_code": published["lsoa11_code"].astype("string"),
            "phase": pd.array(["secondary"] * len(published), dtype="string"),
            "year": pd.array([OBSERVED_YEAR] * len(published), dtype="Int64"),
            "pupils": published["pupils"].astype("Float64"),
            "suppressed": False,
            "school_total_pupils": published["school_total_pupils"].astype("Int64"),
            "suppressed_pupils": pd.array([pd.NA] * len(published), dtype="Int64"),
        }
    )
    per_school = published.groupby("urn").agg(listed=("pupils", "sum"), total=("school_total_pupils", "first")).reset_index()
    per_school = per_school[per_school["total"] > per_school["listed"]]
    rest = pd.DataFrame(
        {
            "urn": per_school["urn"],
            "lsoa11_code": pd.array([pd.NA] * len(per_school), dtype="string"),
            "phase": pd.array(["secondary"] * len(per_school), dtype="string"),
            "year": pd.array([OBSERVED_YEAR] * len(per_school), dtype="Int64"),
            "pupils": pd.array([pd.NA] * len(per_school), dtype="Float64"),
            "suppressed": True,
            "school_total_pupils": per_school["total"].astype("Int64"),
            "suppressed_pupils": (per_school["total"] - per_school["listed"]).astype("Int64"),
        }
    )
    out = pd.concat([cells, rest], ignore_index=True)
    out["suppressed"] = out["suppressed"].astype(bool)
    return out.sort_values(["urn", "suppressed", "pupils"], ascending=[True, True, False], kind="stable").reset_index(drop=True)


def build(data_dir: Path, tables: dict) -> dict[str, pd.DataFrame]:
    """Build ``observed_flows`` and ``cross_border`` from the raw files.

    Args:
        data_dir: raw-data folder.
        tables: tables built by earlier steps (unused).

    Returns:
        ``{"observed_flows": ..., "cross_border": ..., "_notes": [...]}``.
    """
    published = read_lsa_flows(data_dir)
    observed = observed_flows_table(published)
    cross = read_cross_border(data_dir)
    suppressed = int(observed["suppressed_pupils"].sum())
    total = int(observed.groupby("urn")["school_total_pupils"].first().sum())
    notes = [
        f"observed flows: {published['urn'].nunique()} London secondary schools, {len(published)} published cells; "
        f"{suppressed} of {total} pupils ({suppressed / total:.0%}) are in suppressed cells (<3)"
    ]
    return {"observed_flows": observed, "cross_border": cross, "_notes": notes}
