"""Locate schools: coordinates from postcodes or the London Schools Atlas, their LSOA and their current authority.

Plain functions over DataFrames (no file I/O). Coordinates are British National Grid (EPSG:27700)
metres. Each function returns, beside its result, ``school_joins`` rows (see
:mod:`atlaskit.store.joins`) for the schools it could not place, with the reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.store.joins import empty_joins, isin_fast, join_rows

__all__ = ["BNG", "choose_london_coordinates", "locate_schools", "assign_lsoa", "assign_current_authority"]

#: British National Grid, the CRS of every school point.
BNG = "EPSG:27700"


def choose_london_coordinates(london: pd.DataFrame, postcode_points: pd.DataFrame | None = None, tolerance_m: float = 20.0) -> pd.DataFrame:
    """Choose, per school, between the London Schools Atlas EASTING/NORTHING and its longitude/latitude.

    Where they differ by more than ``tolerance_m`` the pair nearer the Code-Point Open centroid of
    the school's postcode is trusted; with no postcode point, EASTING/NORTHING (the file's native
    grid) is kept (notebooks/methods/store.md).

    Args:
        london: one row per URN with easting, northing (published) and lonlat_easting,
            lonlat_northing (published longitude/latitude projected to EPSG:27700), postcode.
        postcode_points: postcode, easting, northing of Code-Point Open (optional).
        tolerance_m: distance in metres above which the two pairs are said to disagree.

    Returns:
        A copy with lsa_easting, lsa_northing (chosen, metres), lsa_disagreement_m (distance
        between the two published pairs) and lsa_coordinates (``easting_northing``, ``lonlat``
        or ``easting_northing`` when they agree).
    """
    out = london.copy()
    gap = np.hypot(out["easting"] - out["lonlat_easting"], out["northing"] - out["lonlat_northing"])
    out["lsa_disagreement_m"] = gap.round(1)
    use_lonlat = pd.Series(False, index=out.index)
    disagree = gap > tolerance_m
    if postcode_points is not None and disagree.any():
        points = postcode_points.drop_duplicates("postcode").set_index("postcode")[["easting", "northing"]]
        ref = out.loc[disagree, ["postcode"]].join(points, on="postcode")
        d_en = np.hypot(out.loc[disagree, "easting"] - ref["easting"], out.loc[disagree, "northing"] - ref["northing"])
        d_ll = np.hypot(out.loc[disagree, "lonlat_easting"] - ref["easting"], out.loc[disagree, "lonlat_northing"] - ref["northing"])
        use_lonlat.loc[disagree] = (d_ll < d_en).fillna(False).to_numpy()
    missing_en = out["easting"].isna() | out["northing"].isna()
    use_lonlat |= missing_en & out["lonlat_easting"].notna()
    out["lsa_easting"] = out["easting"].where(~use_lonlat, out["lonlat_easting"])
    out["lsa_northing"] = out["northing"].where(~use_lonlat, out["lonlat_northing"])
    out["lsa_coordinates"] = pd.Series(np.where(use_lonlat, "lonlat", "easting_northing"), index=out.index, dtype="string")
    out.loc[out["lsa_easting"].isna(), "lsa_coordinates"] = pd.NA
    return out


def locate_schools(
    register: pd.DataFrame,
    postcode_points: pd.DataFrame,
    london: pd.DataFrame | None = None,
    predecessors: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each school coordinates: its postcode's Code-Point Open centroid, else London Schools Atlas coordinates.

    Order: each distinct postcode the registers give the school (newest first) until one is in
    Code-Point Open with coordinates; else the London Schools Atlas point
    (:func:`choose_london_coordinates`); else the postcode of a predecessor school on the
    register links (a school re-registered under a new URN, e.g. on becoming an academy or a
    nursery/PRU federation, usually keeps its site).

    Args:
        register: urn and postcodes (``|``-joined, newest first), e.g. :func:`combine_registers`.
        postcode_points: postcode, easting, northing (:func:`atlaskit.sources.schools.read_codepoint`);
            rows with NaN coordinates are postcodes without a location (quality 90).
        london: urn, lsa_easting, lsa_northing (optional).
        predecessors: urn, predecessor_urn, predecessor_postcode (optional).

    Returns:
        ``(located, joins)``: ``located`` has one row per register row: urn, easting, northing
        (metres, NaN when unlocated), located_by (``codepoint``, ``london_schools_atlas``,
        ``codepoint_predecessor``, <NA>), located_postcode (the postcode used); ``joins`` has a
        row per unlocated school (step ``location``, status ``not located``) with the reason.
    """
    points = postcode_points.dropna(subset=["postcode"]).drop_duplicates("postcode").set_index("postcode")[["easting", "northing"]]
    urns = register["urn"].reset_index(drop=True)
    out = pd.DataFrame({"urn": urns, "easting": np.nan, "northing": np.nan})
    out["located_by"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["located_postcode"] = pd.Series(pd.NA, index=out.index, dtype="string")

    options = register["postcodes"].astype("string").reset_index(drop=True).str.split("|").explode().dropna()
    options = options[options != ""]
    rank = options.groupby(level=0).cumcount()
    candidates = pd.DataFrame({"row": options.index, "postcode": options.to_numpy(), "rank": rank.to_numpy()})
    candidates = candidates.join(points, on="postcode")
    found = candidates.dropna(subset=["easting", "northing"]).sort_values(["row", "rank"]).drop_duplicates("row")
    out.loc[found["row"], ["easting", "northing"]] = found[["easting", "northing"]].to_numpy()
    out.loc[found["row"], "located_by"] = "codepoint"
    out.loc[found["row"], "located_postcode"] = found["postcode"].to_numpy()

    if london is not None and len(london):
        lsa = london.dropna(subset=["lsa_easting", "lsa_northing"]).drop_duplicates("urn").set_index("urn")
        todo = out["located_by"].isna() & isin_fast(out["urn"], lsa.index)
        out.loc[todo, "easting"] = out.loc[todo, "urn"].map(lsa["lsa_easting"]).to_numpy(dtype=float)
        out.loc[todo, "northing"] = out.loc[todo, "urn"].map(lsa["lsa_northing"]).to_numpy(dtype=float)
        out.loc[todo, "located_by"] = "london_schools_atlas"

    if predecessors is not None and len(predecessors):
        pred = predecessors.dropna(subset=["predecessor_postcode"]).join(points, on="predecessor_postcode").dropna(subset=["easting"])
        pred = pred.sort_values(["urn", "predecessor_urn"]).drop_duplicates("urn").set_index("urn")
        todo = out["located_by"].isna() & isin_fast(out["urn"], pred.index)
        out.loc[todo, "easting"] = out.loc[todo, "urn"].map(pred["easting"]).to_numpy(dtype=float)
        out.loc[todo, "northing"] = out.loc[todo, "urn"].map(pred["northing"]).to_numpy(dtype=float)
        out.loc[todo, "located_postcode"] = out.loc[todo, "urn"].map(pred["predecessor_postcode"]).to_numpy()
        out.loc[todo, "located_by"] = "codepoint_predecessor"

    unlocated = out["located_by"].isna()
    reason = pd.Series("no postcode in any register and no coordinates", index=out.index, dtype="string")
    failed = candidates[candidates["row"].isin(out.index[unlocated])].copy()
    failed["known"] = isin_fast(failed["postcode"], points.index)
    tried = failed.groupby("row").agg(postcodes=("postcode", ", ".join), no_coords=("known", "any"))
    has = unlocated & out.index.isin(tried.index)
    if has.any():
        t = tried.reindex(out.index[has])
        reason.loc[has] = np.where(
            t["no_coords"], "postcode " + t["postcodes"] + " has no coordinates in Code-Point Open (positional quality 90)",
            "postcode " + t["postcodes"] + " not in Code-Point Open (April 2025; terminated since?)",
        )
    frame = out.loc[unlocated, ["urn"]].join(register.reset_index(drop=True)[["school_name"]] if "school_name" in register else pd.DataFrame(index=out.index))
    joins = join_rows(frame, "location", "not located", reason[unlocated]) if unlocated.any() else empty_joins()
    return out, joins


def assign_lsoa(points: pd.DataFrame, lsoas, max_distance_m: float = 1000.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each located school the 2011 LSOA its point lies in (point-in-polygon), else the nearest within a limit.

    A point on a shared boundary touches several polygons: the lowest LSOA code wins, so the
    answer is deterministic. A point outside every polygon (the boundaries are generalised and
    clipped to the coastline, so a coastal school can fall in the sea; or the school is outside
    England) takes the nearest LSOA within ``max_distance_m``, flagged ``nearest``.

    Args:
        points: urn, easting, northing (EPSG:27700 metres; NaN when unlocated).
        lsoas: GeoDataFrame with lsoa11_code, authority_code and polygons in EPSG:27700.
        max_distance_m: the largest distance at which the nearest LSOA is still assigned.

    Returns:
        ``(assigned, joins)``: ``assigned`` has urn, lsoa11_code, lsoa_authority_code, lsoa_match
        (``within``, ``nearest``, <NA>), lsoa_distance_m (0 within); ``joins`` lists each
        located school with no LSOA (step ``lsoa``, status ``not joined``) and each taken by
        nearest (status ``resolved``), with the distance.
    """
    import geopandas as gpd

    if lsoas.crs is None or lsoas.crs.to_epsg() != 27700:
        raise DataFormatError(f"LSOA polygons must be in EPSG:27700 (British National Grid); got {lsoas.crs}")
    frame = points[["urn", "easting", "northing"]].reset_index(drop=True)
    located = frame.dropna(subset=["easting", "northing"])
    pts = gpd.GeoDataFrame({"row": located.index}, geometry=gpd.points_from_xy(located["easting"], located["northing"]), crs=BNG)
    polys = lsoas[["lsoa11_code", "authority_code", "geometry"]].reset_index(drop=True)
    hits = gpd.sjoin(pts, polys, how="inner", predicate="intersects")
    hits = hits.sort_values(["row", "lsoa11_code"]).drop_duplicates("row")
    out = pd.DataFrame({"urn": frame["urn"]})
    out["lsoa11_code"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["lsoa_authority_code"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["lsoa_match"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["lsoa_distance_m"] = np.nan
    out.loc[hits["row"], "lsoa11_code"] = hits["lsoa11_code"].to_numpy()
    out.loc[hits["row"], "lsoa_authority_code"] = hits["authority_code"].to_numpy()
    out.loc[hits["row"], "lsoa_match"] = "within"
    out.loc[hits["row"], "lsoa_distance_m"] = 0.0

    outside = pts[~pts["row"].isin(hits["row"])]
    joins = [empty_joins()]
    if len(outside):
        near = gpd.sjoin_nearest(outside, polys, how="left", max_distance=max_distance_m, distance_col="distance_m")
        near = near.sort_values(["row", "distance_m", "lsoa11_code"]).drop_duplicates("row")
        ok = near[near["lsoa11_code"].notna()]
        out.loc[ok["row"], "lsoa11_code"] = ok["lsoa11_code"].to_numpy()
        out.loc[ok["row"], "lsoa_authority_code"] = ok["authority_code"].to_numpy()
        out.loc[ok["row"], "lsoa_match"] = "nearest"
        out.loc[ok["row"], "lsoa_distance_m"] = ok["distance_m"].round(1).to_numpy()
        if len(ok):
            rows = out.loc[ok["row"]]
            reason = "point " + rows["lsoa_distance_m"].map(lambda d: f"{d:,.0f}") + " m outside the (generalised, coast-clipped) LSOA polygons: nearest LSOA " + rows["lsoa11_code"]
            joins.append(join_rows(rows, "lsoa", "resolved", reason))
        bad = near[near["lsoa11_code"].isna()]
        if len(bad):
            joins.append(join_rows(out.loc[bad["row"]], "lsoa", "not joined", f"point outside every English LSOA by more than {max_distance_m:,.0f} m (outside England?)"))
    return out, pd.concat(joins, ignore_index=True)


def assign_current_authority(schools: pd.DataFrame, authority_codes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each school its current authority: the authority of the LSOA it lies in, else its LA number's.

    The DfE LA number is mapped through ``authority_codes`` (kind ``la_number``). Old numbers of
    authorities that split (835 Dorset, 928 Northamptonshire, 909 Cumbria) map to several current
    authorities: the LSOA decides. Where the LSOA's authority and the LA number's differ the
    LSOA wins (the school's site is in that authority) and the difference is reported.

    Args:
        schools: urn, la_number (3-digit text), lsoa_authority_code (<NA> when unlocated).
        authority_codes: code, authority_code, kind (the store table).

    Returns:
        ``(resolved, joins)``: ``resolved`` has urn, authority_code, la_number_authority_code
        (the LA number's single current authority; <NA> when unknown or split) and
        authority_source (``lsoa``, ``la_number``, <NA>); ``joins`` has rows for schools with no
        authority (status ``not joined``), a split LA number decided by the LSOA (``resolved``)
        and an LSOA in another authority than the LA number's (``differs``).
    """
    numbers = authority_codes[authority_codes["kind"] == "la_number"]
    options: dict[str, list[str]] = {}
    for code, authority in zip(numbers["code"].astype(str), numbers["authority_code"].astype(str)):
        if authority not in options.setdefault(code, []):
            options[code].append(authority)
    la = schools["la_number"].astype("string")
    choices = pd.Series([options.get(c) if isinstance(c, str) else None for c in la], index=schools.index, dtype=object)
    n_options = choices.map(lambda c: len(c) if isinstance(c, list) else 0)
    single = choices.map(lambda c: c[0] if isinstance(c, list) and len(c) == 1 else None).astype("string")
    lsoa_auth = schools["lsoa_authority_code"].astype("string")
    out = pd.DataFrame({"urn": schools["urn"]}, index=schools.index)
    out["authority_code"] = lsoa_auth.fillna(single)
    out["la_number_authority_code"] = single
    source = np.where(lsoa_auth.notna(), "lsoa", np.where(single.notna(), "la_number", ""))
    out["authority_source"] = pd.Series(source, index=schools.index, dtype="string").replace("", pd.NA)

    joins = [empty_joins()]
    frame = schools.assign(urn=out["urn"])
    none = out["authority_code"].isna()
    if none.any():
        reason = np.where(
            n_options[none] > 1,
            "LA number " + la[none].fillna("") + " split between " + choices[none].map(lambda c: " and ".join(c) if isinstance(c, list) else "") + " and the school is not located",
            np.where(la[none].isna(), "no LA number and not located", "LA number " + la[none].fillna("") + " not in authority_codes and the school is not located"),
        )
        joins.append(join_rows(frame[none], "authority", "not joined", pd.Series(reason, index=frame.index[none])))
    split = (n_options > 1) & lsoa_auth.notna()
    if split.any():
        inside = [a in c for a, c in zip(lsoa_auth[split], choices[split])]
        reason = "LA number " + la[split] + " split between " + choices[split].map(" and ".join) + ": LSOA in " + lsoa_auth[split]
        reason = reason.where(inside, reason + " (not one of them)")
        joins.append(join_rows(frame[split], "authority", "resolved", reason))
    differs = single.notna() & lsoa_auth.notna() & (single != lsoa_auth)
    if differs.any():
        reason = "LA number " + la[differs] + " is " + single[differs] + " but the school's point lies in an LSOA of " + lsoa_auth[differs] + " (authority taken from the LSOA)"
        joins.append(join_rows(frame[differs], "authority", "differs", reason))
    return out.reset_index(drop=True), pd.concat(joins, ignore_index=True)
