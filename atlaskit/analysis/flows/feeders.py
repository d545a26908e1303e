"""Feeder schools: the primary schools whose leavers a secondary school takes, and the secondaries a primary's leavers go to.

No data set links a pupil's primary school to their secondary school at this level, so the link
is **estimated** from the two phases' modelled flows through the small areas (2011 LSOAs) they
share. For each LSOA ``l``:

    leavers(p -> s) = sum over l of  leavers(l) x P(p | l) x S(s | l)

- ``P(p | l)``: primary school ``p``'s share of the LSOA's primary pupils (its modelled primary
  flow from ``l`` over all modelled primary flows from ``l``);
- ``S(s | l)``: secondary school ``s``'s share of the LSOA's secondary pupils (likewise);
- ``leavers(l)``: the LSOA's primary leavers, its modelled primary pupils over the seven primary
  year groups (Reception to Year 6: one year group leaves each summer).

The estimate assumes that within one small area, which secondary a child goes to does not depend
on which primary they attended (children of the same street at two primaries are as likely to
go to each secondary). It ignores ties that run across areas (a church primary feeding its church
secondary; an all-through school's own primary pupils, whose pair with itself is left out; middle
schools, which take pupils at Year 5 or 6 and pass them on at Year 8 or 9, are linked as the
model's phases link them, at the primary-secondary boundary). Modelled flows of both phases are
used (observed secondary flows, published for London only and suppressed under 3 pupils, would
mix two sources in one product). The results are estimates, to be labelled so wherever shown,
never observed counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.errors import UnknownSchool
from atlaskit.vocabulary import PHASES, URN_DTYPE, YEAR_GROUPS

__all__ = ["FEEDER_METHOD", "feeder_estimates", "school_feeders"]

#: One sentence shown with every feeder table (CLI, app, report).
FEEDER_METHOD = (
    "Feeder schools are estimates, not observed counts: for each small area, each primary school's share of its "
    "modelled primary pupils times each secondary school's share of its modelled secondary pupils times its primary "
    "leavers (a seventh of its primary pupils), summed over the areas the two schools share."
)

_PRIMARY_YEARS = len(YEAR_GROUPS["primary"])


def _phase_shares(flows: pd.DataFrame, phase: str) -> pd.DataFrame:
    """Return ``lsoa11_code, urn, pupils, share`` of one phase: each school's share of the LSOA's pupils of the phase."""
    rows = flows[(flows["phase"].astype("string") == phase).to_numpy(dtype=bool)]
    rows = rows[["lsoa11_code", "urn", "pupils"]].dropna()
    rows = rows.assign(pupils=rows["pupils"].astype("float64"))
    rows = rows.groupby(["lsoa11_code", "urn"], as_index=False, observed=True)["pupils"].sum()
    rows = rows[rows["pupils"] > 0]
    totals = rows.groupby("lsoa11_code", observed=True)["pupils"].transform("sum")
    return rows.assign(share=rows["pupils"] / totals)


def feeder_estimates(flows: pd.DataFrame, leavers: pd.Series | None = None) -> pd.DataFrame:
    """Estimate the leavers of each primary school going to each secondary school, through the LSOAs they share.

    Args:
        flows: modelled flows of both phases (``urn, lsoa11_code, phase, pupils``) holding, for
            every LSOA in it, all its flows of each phase (an LSOA with only part of its flows
            would give its schools too large shares).
        leavers: primary leavers per LSOA (pupils, indexed by ``lsoa11_code``); default each
            LSOA's modelled primary pupils over the seven primary year groups.

    Returns:
        ``primary_urn, secondary_urn, leavers, lsoas`` (estimated leavers of the primary going
        to the secondary in one year, float pupils; the number of LSOAs linking them), largest
        first; a school's pair with itself (an all-through school) is left out.
    """
    primary = _phase_shares(flows, "primary")
    secondary = _phase_shares(flows, "secondary")
    if leavers is None:
        leavers = primary.groupby("lsoa11_code", observed=True)["pupils"].sum() / _PRIMARY_YEARS
    pairs = primary.merge(secondary, on="lsoa11_code", suffixes=("_primary", "_secondary"))
    pairs = pairs[pairs["urn_primary"] != pairs["urn_secondary"]]
    weight = pairs["lsoa11_code"].map(leavers).astype("float64").fillna(0.0)
    pairs = pairs.assign(leavers=weight.to_numpy() * pairs["share_primary"].to_numpy() * pairs["share_secondary"].to_numpy())
    out = pairs.groupby(["urn_primary", "urn_secondary"], as_index=False).agg(leavers=("leavers", "sum"), lsoas=("lsoa11_code", "nunique"))
    out = out.rename(columns={"urn_primary": "primary_urn", "urn_secondary": "secondary_urn"})
    out = out[out["leavers"] > 0].astype({"primary_urn": URN_DTYPE, "secondary_urn": URN_DTYPE})
    return out.sort_values("leavers", ascending=False, kind="stable").reset_index(drop=True)


def school_feeders(flows: pd.DataFrame, urn: int, phase: str, leavers: pd.Series | None = None) -> pd.DataFrame:
    """Return a school's estimated feeders: the primaries a secondary takes from, or the secondaries a primary's leavers go to.

    Args:
        flows: modelled flows of both phases out of every LSOA the school draws from (see
            :func:`feeder_estimates`).
        urn: the school's URN.
        phase: the school's side of the link: ``"secondary"`` (list its feeder primaries) or
            ``"primary"`` (list where its leavers go). A middle or all-through school has both.
        leavers: as in :func:`feeder_estimates`.

    Returns:
        ``urn, leavers, share, cumulative_share, lsoas``: the other schools, largest first, with
        the estimated leavers of one year between the two (float pupils) and their share of the
        school's estimated intake (secondary) or leavers (primary), over the schools listed.

    Raises:
        UnknownSchool: the school has no modelled flows of the phase in ``flows``.
        ValueError: an unknown phase.
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}, not {phase!r}")
    urn = int(urn)
    own = flows[(flows["urn"] == urn).to_numpy(dtype=bool) & (flows["phase"].astype("string") == phase).to_numpy(dtype=bool)]
    if own.empty:
        raise UnknownSchool(f"URN {urn} has no modelled {phase} flows: it has no {'feeder primaries' if phase == 'secondary' else 'leavers to follow'}")
    lsoas = set(own["lsoa11_code"].dropna())
    shared = flows[flows["lsoa11_code"].isin(lsoas).to_numpy(dtype=bool)]
    pairs = feeder_estimates(shared, leavers)
    mine, other = ("secondary_urn", "primary_urn") if phase == "secondary" else ("primary_urn", "secondary_urn")
    rows = pairs[pairs[mine] == urn].rename(columns={other: "urn"})[["urn", "leavers", "lsoas"]].reset_index(drop=True)
    total = float(rows["leavers"].sum())
    rows["share"] = rows["leavers"] / total if total > 0 else np.nan
    rows["cumulative_share"] = rows["share"].cumsum()
    return rows[["urn", "leavers", "share", "cumulative_share", "lsoas"]]
