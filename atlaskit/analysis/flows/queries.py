"""Flow tables: modelled flows as the store's long ``flows`` table (:func:`flows_frame`), and queries on that table.

The ``flows`` table has one row per (school, LSOA, phase, source): urn (int64), lsoa11_code, phase,
pupils, source (``observed`` or ``modelled``), distance_km (straight line, EPSG:27700), and on
observed rows ``suppressed`` and ``school_total_pupils``.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from atlaskit.analysis.flows.system import FlowSystem
from atlaskit.errors import closest
from atlaskit.errors import UnknownArea, UnknownSchool
from atlaskit.vocabulary import PHASES


def flows_frame(system: FlowSystem, flows: np.ndarray, phase: str, min_pupils: float = 0.05) -> pd.DataFrame:
    """Return modelled flows as a long table ``urn, lsoa11_code, phase, pupils, source, distance_km``.

    Args:
        system: the candidate structure.
        flows: (n_o, k) modelled flows.
        phase: ``"primary"`` or ``"secondary"``.
        min_pupils: cells below this are dropped (their pupils are reported in the build notes).

    Returns:
        Modelled flows with ``source = "modelled"``, float32 pupils and distances.
    """
    keep = flows >= min_pupils
    rows, slots = np.nonzero(keep)
    return pd.DataFrame(
        {
            "urn": system.destination_ids[system.col[rows, slots]],
            "lsoa11_code": pd.array(system.origin_codes[rows], dtype="string"),
            "phase": pd.Categorical([phase] * len(rows), categories=list(PHASES)),
            "pupils": flows[rows, slots].astype("float32"),
            "source": pd.Categorical(["modelled"] * len(rows), categories=["observed", "modelled"]),
            "distance_km": system.distance_km[rows, slots].astype("float32"),
        }
    )


def prefer_observed(rows: pd.DataFrame, flows: pd.DataFrame | None = None, closed_urns: Iterable[int] | None = None) -> pd.DataFrame:
    """Return the rows ``source="best"`` keeps: a school's observed rows where it has any, else its modelled ones.

    The one rule, used by every query, the command line and the app: a school whose flows of a
    phase were published (it has an observed row of the phase in ``flows``) is shown by its
    observed rows of that phase only; its modelled rows of the phase give way, wherever they are
    (an all-through school observed at secondary keeps its modelled primary rows). Which schools count as observed is decided from
    ``flows``, the table the rows were taken from, never from the rows at hand (one area's rows
    would miss a school whose pupils from that area were all suppressed). The command line and the
    app both pass an authority's loaded flows (:func:`atlaskit.load`), so they decide alike.

    Args:
        rows: flows rows (urn, source, ...), a part of ``flows``.
        flows: the table the rows come from (default ``rows`` itself).
        closed_urns: schools closed since the observed flows (2015). Their observed rows are left
            out when ``flows`` holds no modelled row of them: their successors' modelled (2019)
            flows count those children already.

    Returns:
        The rows kept, in their order.
    """
    flows = rows if flows is None else flows
    observed = flows["source"] == "observed"
    keep = (rows["source"] == "observed").to_numpy(dtype=bool) | ~np.isin(_keys(rows), _keys(flows[observed]))
    if closed_urns is not None:
        modelled_urns = flows.loc[~observed, "urn"].unique()
        gone = pd.Index(list(closed_urns)).difference(pd.Index(modelled_urns))
        keep &= ~((rows["source"] == "observed") & rows["urn"].isin(gone)).to_numpy(dtype=bool)
    return rows[keep]


def _keys(flows: pd.DataFrame) -> np.ndarray:
    """Return one int64 per row for its (urn, phase), the unit whose observed rows replace its modelled ones."""
    urn = flows["urn"].to_numpy(dtype="int64")
    if "phase" not in flows:
        return urn * 4
    phase = pd.Categorical(flows["phase"].astype("string"), categories=list(PHASES)).codes.astype("int64")
    return urn * 4 + phase + 1


def select_source(flows: pd.DataFrame, source: str) -> pd.DataFrame:
    """Return the rows of a flows table from one source.

    Args:
        flows: the store's ``flows`` table (or part of it).
        source: ``"observed"``, ``"modelled"`` or ``"best"`` (a school's observed rows where it has
            any, else its modelled ones: :func:`prefer_observed`).

    Returns:
        The rows kept.

    Raises:
        ValueError: for another source.
    """
    if source == "best":
        return prefer_observed(flows)
    if source in ("observed", "modelled"):
        return flows[flows["source"] == source]
    raise ValueError(f"source must be 'observed', 'modelled' or 'best', not {source!r}")


def _with_shares(frame: pd.DataFrame, total: float) -> pd.DataFrame:
    """Return ``frame`` largest first with ``share`` (of ``total``) and ``cumulative_share``."""
    frame = frame.sort_values("pupils", ascending=False, kind="stable").reset_index(drop=True)
    frame["share"] = frame["pupils"] / total if total > 0 else np.nan
    frame["cumulative_share"] = frame["share"].cumsum()
    return frame


def school_catchment(flows: pd.DataFrame, urn: int, source: str = "best", phase: str | None = None) -> pd.DataFrame:
    """Return the LSOAs where a school's pupils live, largest first.

    Args:
        flows: the store's ``flows`` table (or part of it): urn, lsoa11_code, phase, pupils, source,
            distance_km; observed rows may carry NaN pupils with ``suppressed`` True.
        urn: the school's URN.
        source: ``"best"`` (observed where published, else modelled), ``"observed"`` or ``"modelled"``.
        phase: restrict to one phase (an all-through school has both).

    Returns:
        ``lsoa11_code, pupils, share, cumulative_share, distance_km, source`` where ``share`` is of
        the school's pupils in the table (for observed flows, of its total before suppression).

    Raises:
        UnknownSchool: when the URN has no flows, naming close matches.
    """
    try:
        urn = int(urn)
    except (TypeError, ValueError):
        raise UnknownSchool(f"URN {urn!r} is not a number; URNs are 6-digit numbers such as 100049") from None
    rows = flows[flows["urn"] == urn]
    if rows.empty:
        raise UnknownSchool(f"no flows for URN {urn}; close matches: {', '.join(closest(urn, pd.unique(flows['urn'])))}")
    if phase is not None:
        rows = rows[rows["phase"] == phase]
    rows = select_source(rows, source)
    total = float(rows["school_total_pupils"].iloc[0]) if "school_total_pupils" in rows and rows["source"].eq("observed").any() and rows["school_total_pupils"].notna().any() else float(rows["pupils"].sum())
    cols = ["lsoa11_code", "pupils", "distance_km", "source"] + (["suppressed"] if "suppressed" in rows else [])
    out = _with_shares(rows[cols].copy(), total)
    return out[["lsoa11_code", "pupils", "share", "cumulative_share", "distance_km", "source"] + (["suppressed"] if "suppressed" in out else [])]


def area_destinations(
    flows: pd.DataFrame, lsoa11_code: str, source: str = "best", phase: str | None = None, closed_urns: Iterable[int] | None = None
) -> pd.DataFrame:
    """Return the schools the children of one LSOA attend, largest flow first.

    Args:
        flows: the store's ``flows`` table (or part of it).
        lsoa11_code: the 2011 LSOA code (``E01000001``).
        source: ``"best"``, ``"observed"`` or ``"modelled"`` (see :func:`school_catchment`;
            with ``best``, observed flows replace modelled ones school by school, decided from
            ``flows`` by :func:`prefer_observed`).
        phase: restrict to one phase.
        closed_urns: schools closed since the observed flows (2015), see :func:`prefer_observed`.

    Returns:
        ``urn, pupils, share, cumulative_share, distance_km, source`` (shares of the LSOA's pupils).

    Raises:
        UnknownArea: when the code has no flows, naming close matches.
    """
    code = str(lsoa11_code).strip().upper()
    rows = flows[flows["lsoa11_code"] == code]
    if rows.empty:
        raise UnknownArea(f"no flows for LSOA {lsoa11_code!r}; close matches: {', '.join(closest(code, pd.unique(flows['lsoa11_code'].dropna())))}")
    if phase is not None:
        rows = rows[rows["phase"] == phase]
    if source == "best":
        rows = prefer_observed(rows, flows, closed_urns)
    else:
        rows = select_source(rows, source)
    out = _with_shares(rows[["urn", "pupils", "distance_km", "source"]].copy(), float(rows["pupils"].sum()))
    return out[["urn", "pupils", "share", "cumulative_share", "distance_km", "source"]]


def cross_border_summary(flows: pd.DataFrame, lsoa_authority: pd.Series, school_authority: pd.Series, authority_code: str) -> pd.DataFrame:
    """Return an authority's cross-border flows per phase: resident pupils taught outside, and the reverse.

    Args:
        flows: flows with urn, lsoa11_code, phase, pupils (one source, e.g. modelled).
        lsoa_authority: authority code indexed by lsoa11_code.
        school_authority: authority code indexed by urn.
        authority_code: the authority.

    Returns:
        One row per phase: ``resident_pupils`` (children living in the authority, in any school),
        ``resident_taught_outside``, ``share_resident_taught_outside``, ``pupils_taught`` (in the
        authority's schools), ``taught_from_outside``, ``share_taught_from_outside``.
    """
    f = flows[["urn", "lsoa11_code", "phase", "pupils"]].copy()
    f["home"] = f["lsoa11_code"].map(lsoa_authority)
    f["school"] = f["urn"].map(school_authority)
    rows = []
    for phase, g in f.groupby("phase", observed=True):
        res = g[g["home"] == authority_code]
        taught = g[g["school"] == authority_code]
        r_out = float(res.loc[res["school"] != authority_code, "pupils"].sum())
        t_in = float(taught.loc[taught["home"] != authority_code, "pupils"].sum())
        rp, tp = float(res["pupils"].sum()), float(taught["pupils"].sum())
        rows.append(
            {
                "phase": phase,
                "resident_pupils": rp,
                "resident_taught_outside": r_out,
                "share_resident_taught_outside": r_out / rp if rp else np.nan,
                "pupils_taught": tp,
                "taught_from_outside": t_in,
                "share_taught_from_outside": t_in / tp if tp else np.nan,
            }
        )
    return pd.DataFrame(rows)


def distance_summary(flows: pd.DataFrame) -> pd.DataFrame:
    """Return per school and phase the mean and 90th-percentile home-to-school distance (km), pupil-weighted.

    Args:
        flows: flows with urn, phase, pupils, distance_km (NaN pupils, i.e. suppressed cells, are ignored).

    Returns:
        ``urn, phase, pupils, mean_distance_km, p90_distance_km``.
    """
    f = flows[["urn", "phase", "pupils", "distance_km"]].dropna()
    f = f[f["pupils"] > 0].sort_values(["urn", "phase", "distance_km"], kind="stable")
    w = f["pupils"].to_numpy(dtype="float64")
    d = f["distance_km"].to_numpy(dtype="float64")
    codes = f.groupby(["urn", "phase"], sort=False, observed=True).ngroup().to_numpy()
    tot = np.bincount(codes, weights=w)
    mean = np.bincount(codes, weights=w * d) / tot
    cum = pd.Series(w).groupby(codes).cumsum().to_numpy() / tot[codes]
    p90 = pd.Series(np.where(cum >= 0.9, d, np.inf)).groupby(codes).min().to_numpy()
    first = f.groupby(codes).first()
    return pd.DataFrame({"urn": first["urn"].to_numpy(), "phase": first["phase"].astype(str).to_numpy(), "pupils": tot, "mean_distance_km": mean, "p90_distance_km": p90})

