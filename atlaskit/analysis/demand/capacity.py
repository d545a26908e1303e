"""Rolls and places: the scorecard's pupils on roll and places per authority and phase, school places, spare places.

Two definitions of places live here, one per use: :func:`phase_places_from_scorecard` (an
authority's places for the phase's year groups, against the projection) and
:func:`school_phase_places` (a school's places of a phase, against its share of the projection
in the planning areas). :func:`spare_places` turns places and pupils into spare places and the
DfE's operating-margin flags for both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.analysis import flows
from atlaskit.vocabulary import academic_year_end
from atlaskit.vocabulary import OPERATING_MARGINS_PCT, PHASES


def rolls_from_scorecard(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Return the pupils on roll per authority, phase and academic year known from the scorecard.

    Args:
        scorecard: the store table ``scorecard``.

    Returns:
        DataFrame authority_code, phase, academic_year, pupils (float, NaN where published as a
        marker), source (``scorecard PRI_NoR15``...): 2014/15 and 2018/19 from the
        ``*_NoR15``/``*_NoR19`` columns, 2022/23-2024/25 from ``PriNOR``/``SecNOR``.
    """
    parts = []
    for phase in PHASES:
        current = scorecard[["authority_code", "academic_year", f"{phase}_pupils"]].rename(columns={f"{phase}_pupils": "pupils"})
        parts.append(current.assign(phase=phase, source="scorecard " + ("PriNOR" if phase == "primary" else "SecNOR")))
        for year, label in ((2015, "2014/15"), (2019, "2018/19")):
            column = f"{phase}_pupils_{year}"
            old = scorecard.sort_values("academic_year").groupby("authority_code", as_index=False)[column].last()
            published = f"{phase[:3].upper()}_NoR{year % 100}"
            parts.append(old.rename(columns={column: "pupils"}).assign(academic_year=label, phase=phase, source=f"scorecard {published}"))
    out = pd.concat(parts, ignore_index=True)[["authority_code", "phase", "academic_year", "pupils", "source"]]
    out["pupils"] = out["pupils"].astype("float64")
    return out.sort_values(["authority_code", "phase", "academic_year"]).reset_index(drop=True)


def phase_places_from_scorecard(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Return each authority's places for the phase's year groups (R-Y6, Y7-11), per academic year (2023/24 on).

    The places the authority projection is compared with (:func:`add_capacity`) and the total
    the planning areas' school places are scaled to (:func:`latest_capacity`). Primary places
    are ``PriCap`` as published. ``SecCap`` counts sixth-form places while ``SecNOR`` counts
    Years 7-11 only, so secondary places are ``SecCap`` times the Years 7-11 share of the pupils
    of all ages in secondary schools, ``SecCap * (1 - Quan_S_UP / 100)`` (sixth-form places
    filled like the others); where ``Quan_S_UP`` is not published, ``SecCap`` is kept whole.

    Args:
        scorecard: the store table ``scorecard`` (``primary_capacity``, ``secondary_capacity``,
            ``secondary_pupils`` and optionally ``secondary_unfilled_pct``, percent).

    Returns:
        DataFrame authority_code, phase, academic_year, capacity (places for the phase's year
        groups; NaN where the scorecard publishes a marker, e.g. the City of London's
        secondary), published_capacity (``PriCap``/``SecCap`` as published, places),
        capacity_basis (``"as published"`` or ``"Y7-11 share of SecCap"``). Years in which no
        authority has places are left out.
    """
    parts = []
    for phase in PHASES:
        part = scorecard[["authority_code", "academic_year", f"{phase}_capacity"]].rename(columns={f"{phase}_capacity": "published_capacity"})
        part = part.assign(phase=phase, capacity=part["published_capacity"].astype("float64"), capacity_basis="as published")
        if phase == "secondary" and "secondary_unfilled_pct" in scorecard.columns:
            published = scorecard["secondary_capacity"].astype("float64")
            all_pupils = published * (1.0 - scorecard["secondary_unfilled_pct"].astype("float64") / 100.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = (scorecard["secondary_pupils"].astype("float64") / all_pupils).clip(upper=1.0)
            usable = share.notna() & (all_pupils > 0)
            part.loc[usable, "capacity"] = (published * share)[usable]
            part.loc[usable, "capacity_basis"] = "Y7-11 share of SecCap"
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    known = out.groupby(["academic_year", "phase"])["capacity"].transform(lambda s: s.notna().any())
    out = out[known][["authority_code", "phase", "academic_year", "capacity", "published_capacity", "capacity_basis"]]
    out["capacity"] = out["capacity"].astype("float64")
    out["published_capacity"] = out["published_capacity"].astype("float64")
    return out.sort_values(["authority_code", "phase", "academic_year"]).reset_index(drop=True)


def latest_capacity(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Return each authority's latest places per phase (:func:`phase_places_from_scorecard`).

    Returns:
        DataFrame authority_code, phase, academic_year (of the places), capacity (places) and
        the other columns of :func:`phase_places_from_scorecard`; authorities/phases with no
        published places are absent.
    """
    known = phase_places_from_scorecard(scorecard).dropna(subset=["capacity"])
    return known.sort_values("academic_year").groupby(["authority_code", "phase"], as_index=False).last().reset_index(drop=True)


def spare_places(table: pd.DataFrame) -> pd.DataFrame:
    """Add spare places and the DfE's operating-margin flags to a table of pupils and places.

    Args:
        table: pupils and capacity (places) columns.

    Returns:
        ``table`` (changed in place and returned) with surplus (capacity - pupils; negative is a
        shortfall), pct_spare (100 * surplus / capacity, percent; NaN without places) and one
        flag per :data:`~atlaskit.vocabulary.OPERATING_MARGINS_PCT`, ``below_2pct_margin`` and
        ``below_5pct_margin`` (pct_spare under the margin; False where places are unknown).
    """
    table["surplus"] = table["capacity"] - table["pupils"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["pct_spare"] = np.where(table["capacity"] > 0, 100.0 * table["surplus"] / table["capacity"], np.nan)
    for margin in OPERATING_MARGINS_PCT:
        table[f"below_{margin:g}pct_margin"] = table["pct_spare"] < margin
    return table


def add_capacity(projection: pd.DataFrame, capacity: pd.DataFrame, hold_latest: bool = True) -> pd.DataFrame:
    """Add places, spare places and the DfE operating-margin flags to an authority projection.

    Args:
        projection: authority_code, phase, academic_year, pupils (and any other columns).
        capacity: authority_code, phase, academic_year, capacity (places), e.g.
            :func:`phase_places_from_scorecard`.
        hold_latest: for years after the latest published places, hold them (places planned
            but not yet published are not counted); years before the first get none.

    Returns:
        ``projection`` with capacity (places), surplus, pct_spare, below_2pct_margin and
        below_5pct_margin (:func:`spare_places`), capacity_year (the academic year the places
        are from).
    """
    known = capacity.dropna(subset=["capacity"]).copy()
    known["_end"] = known["academic_year"].map(academic_year_end).astype("int64")
    out = projection.copy()
    for frame in (known, out):
        frame["authority_code"] = frame["authority_code"].astype(str)
        frame["phase"] = frame["phase"].astype(str)
    out["_end"] = out["academic_year"].map(academic_year_end).astype("int64")
    out = out.sort_values("_end")
    known = known.sort_values("_end")[["authority_code", "phase", "_end", "capacity", "academic_year"]].rename(columns={"academic_year": "capacity_year"})
    if hold_latest:
        merged = pd.merge_asof(out, known.rename(columns={"_end": "_cap_end"}), left_on="_end", right_on="_cap_end", by=["authority_code", "phase"], direction="backward")
        merged = merged.drop(columns=["_cap_end"])
    else:
        merged = out.merge(known, on=["authority_code", "phase", "_end"], how="left")
    merged["capacity"] = merged["capacity"].astype("float64")
    merged = spare_places(merged).drop(columns=["_end"])
    return merged.sort_values(["authority_code", "phase", "academic_year"]).reset_index(drop=True)


def school_phase_rolls(schools: pd.DataFrame, column: str = "pupils_2019") -> pd.DataFrame:
    """Return each school's pupils of primary ages (Reception-Year 6) and of secondary ages (Years 7-11).

    The census roll counts all ages (nursery and sixth form too); it is shared among the
    school's year groups by :func:`atlaskit.analysis.flows.phase_pupils` (through schools by
    their SCAP places of each phase).

    Args:
        schools: urn, the roll ``column``, and optionally age_low, age_high,
            capacity_primary_2015, capacity_secondary_2015.
        column: the roll to share out (``pupils_2019``: January 2019 census).

    Returns:
        DataFrame urn (as given, int64 in the store), phase, pupils: one row per school and
        phase it teaches with a known roll.
    """
    known = schools.drop_duplicates("urn")
    known = known[pd.to_numeric(known[column], errors="coerce") > 0]

    def numbers(name: str) -> np.ndarray | None:
        return pd.to_numeric(known[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) if name in known.columns else None

    nan = np.full(len(known), np.nan)
    low, high = numbers("age_low"), numbers("age_high")
    parts = []
    for phase in PHASES:
        pupils = flows.phase_pupils(numbers(column), nan if low is None else low, nan if high is None else high, phase,
                                    numbers("capacity_primary_2015"), numbers("capacity_secondary_2015"))
        parts.append(pd.DataFrame({"urn": known["urn"].to_numpy(), "phase": phase, "pupils": pupils}))
    out = pd.concat(parts, ignore_index=True)
    return out[out["pupils"] > 0].reset_index(drop=True)


def school_phase_places(
    pairs: pd.DataFrame,
    schools: pd.DataFrame,
    school_rolls: pd.DataFrame | None = None,
    authority_capacity: pd.DataFrame | None = None,
) -> pd.Series:
    """Return a school's places of a phase, the places the planning areas compare their pupils with.

    A school's places of a phase are its SCAP May 2015 places of the phase
    (``capacity_primary_2015`` for primary, ``capacity_secondary_2015`` otherwise), else its
    total ``capacity_2015``; at least its roll of the phase (``school_rolls``: a school that
    outgrew its 2015 places was expanded since, and those places are where it is); then scaled
    per authority and phase so the schools in ``pairs`` add up to ``authority_capacity`` (places
    added or removed since 2015 shared pro rata; sixth-form places drop out when the total is
    :func:`latest_capacity`).

    Args:
        pairs: urn, phase, authority_code: one row per school and phase wanted.
        schools: urn, capacity_primary_2015, capacity_secondary_2015, capacity_2015 (places), one row per urn.
        school_rolls: urn, phase, pupils (e.g. :func:`school_phase_rolls`), or None for no floor.
        authority_capacity: authority_code, phase, capacity (places), or None to keep 2015 places.

    Returns:
        Float Series of places aligned with ``pairs`` (NaN where the school's places are unknown).
    """
    info = schools.drop_duplicates("urn").set_index("urn")
    urns = pairs["urn"]
    by_phase = np.where(pairs["phase"] == "primary", urns.map(info["capacity_primary_2015"]), urns.map(info["capacity_secondary_2015"]))
    places = pd.Series(by_phase, index=pairs.index, dtype="float64").fillna(urns.map(info["capacity_2015"]).astype("float64"))
    if school_rolls is not None and not school_rolls.empty:
        rolls = school_rolls.assign(phase=school_rolls["phase"].astype(str)).set_index(["urn", "phase"])["pupils"]
        rolls = rolls[~rolls.index.duplicated()]
        floor = rolls.reindex(pd.MultiIndex.from_arrays([urns, pairs["phase"].astype(str)])).to_numpy(dtype="float64")
        places = places.where(places.isna() | ~(floor > places.to_numpy()), floor)
    if authority_capacity is not None:
        totals = pairs.assign(_places=places).groupby(["authority_code", "phase"])["_places"].sum()
        wanted = authority_capacity.astype({"authority_code": str, "phase": str}).set_index(["authority_code", "phase"])["capacity"]
        factor = (wanted.reindex(totals.index) / totals).where(lambda v: np.isfinite(v) & (v > 0))
        keys = pd.MultiIndex.from_frame(pairs[["authority_code", "phase"]].astype(str))
        places = places * factor.reindex(keys).fillna(1.0).to_numpy()
    return places
