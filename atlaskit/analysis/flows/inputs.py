"""The flow model's inputs from the store's tables: origins (LSOAs and their children), destinations (schools and their pupils).

Origins are 2011 LSOAs with the children of a phase's census ages (:data:`atlaskit.vocabulary.CENSUS_AGES`),
destinations are state-funded mainstream schools with their pupils of those ages; coordinates are
British National Grid (EPSG:27700) metres. See ``notebooks/methods/flows.md`` for the method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.errors import ModelError
from atlaskit.vocabulary import CENSUS_AGES, URN_DTYPE, check_phase, children_of_phase, is_open_state_funded, is_state_funded


#: Ratio of the mean trip to school at primary ages to that at secondary ages (National Travel Survey
#: 2014, DfT factsheet "Travel to school": 1.6 miles at ages 5-10, 3.4 miles at ages 11-16).
NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO = 1.6 / 3.4
#: Sentence shown with primary flows wherever they appear (app, report, CLI, validation).
PRIMARY_ASSUMPTION = (
    "Primary flows are modelled only: no primary flows are published. Their distance decay is set so that the mean "
    "modelled primary trip in England is 1.6/3.4 of the mean modelled secondary trip, the secondary model being "
    "calibrated on the observed London flows (National Travel Survey 2014: average trip to school 1.6 miles at ages "
    "5-10, 3.4 miles at ages 11-16)."
)

#: Relative size of a sixth-form year group (ages 16, 17) against a compulsory one, for schools whose
#: roll includes a sixth form (about 40% of 16-17 year olds in state-funded schools' sixth forms
#: leave for colleges: DfE, Participation in education, training and employment).
SIXTH_FORM_YEAR_WEIGHT = 0.6
#: Relative size of a nursery year group (ages 2-3) in a primary school's roll.
NURSERY_YEAR_WEIGHT = 0.5
#: A school whose 2015 roll is at least this share of its 2015 capacity is counted as full (the
#: ``full`` attribute: oversubscribed schools admit by distance).
FULL_SCHOOL_FILL_RATE = 0.97
#: School phases (``schools.phase``) never modelled as destinations of mainstream flows.
EXCLUDED_PHASES = ("special", "pru", "16 plus", "nursery")
_NO_FAITH = {"", "does not apply", "none", "unknown", "not applicable", "no religious character"}


def _census_ages(phase: str) -> tuple[int, int]:
    """Return a phase's census ages (inclusive), raising ModelError for an unknown phase."""
    try:
        return CENSUS_AGES[check_phase(phase)]
    except ValueError as exc:
        raise ModelError(str(exc)) from None


def phase_pupils(
    pupils: np.ndarray,
    age_low: np.ndarray,
    age_high: np.ndarray,
    phase: str,
    capacity_primary: np.ndarray | None = None,
    capacity_secondary: np.ndarray | None = None,
) -> np.ndarray:
    """Estimate a school's pupils of the phase's census ages (primary 4-10, secondary 11-15).

    The roll is shared among the school's year groups (ages ``age_low`` .. ``age_high - 1``, as
    the register states the age range ``age_low-age_high``) in proportion to a year weight: 1 for
    ages 4-15, :data:`SIXTH_FORM_YEAR_WEIGHT` for 16-17, :data:`NURSERY_YEAR_WEIGHT` for 2-3.
    A through school (from Reception or earlier to Year 11 or later) with SCAP places of both
    phases weighs a primary year by its primary places per year (``capacity_primary / 7``) and a
    secondary or sixth-form year by its secondary places per year (``capacity_secondary`` over its
    secondary years, sixth-form years counted at :data:`SIXTH_FORM_YEAR_WEIGHT`). Middle schools
    keep equal year weights.

    Args:
        pupils: (n,) pupils on roll (all ages).
        age_low, age_high: (n,) statutory age range; NaN when unknown (then the phase's years only).
        phase: ``"primary"`` or ``"secondary"``.
        capacity_primary, capacity_secondary: (n,) SCAP places of each phase (NaN when unknown),
            or None.

    Returns:
        (n,) float pupils of the phase's ages (0 where the range does not overlap the phase).

    Raises:
        ModelError: for an unknown phase.
    """
    low, high = _census_ages(phase)
    primary_low, primary_high = CENSUS_AGES["primary"]
    secondary_low, secondary_high = CENSUS_AGES["secondary"]
    ages = np.arange(0, 20)
    weight = np.where((ages >= primary_low) & (ages <= secondary_high), 1.0, 0.0)
    weight[(ages >= 16) & (ages <= 17)] = SIXTH_FORM_YEAR_WEIGHT
    weight[(ages >= 2) & (ages <= 3)] = NURSERY_YEAR_WEIGHT
    in_phase = (ages >= low) & (ages <= high)
    pupils = np.asarray(pupils, dtype="float64")
    lo = np.asarray(age_low, dtype="float64")
    hi = np.asarray(age_high, dtype="float64")
    lo = np.where(np.isnan(lo), low, lo)
    hi = np.where(np.isnan(hi), high + 1, hi)
    covered = (ages[None, :] >= lo[:, None]) & (ages[None, :] < np.maximum(hi, lo + 1)[:, None])
    weights = covered * weight[None, :]
    if capacity_primary is not None and capacity_secondary is not None:
        cap_p = np.asarray(capacity_primary, dtype="float64")
        cap_s = np.asarray(capacity_secondary, dtype="float64")
        through = (lo <= primary_low) & (hi > secondary_high) & (cap_p > 0) & (cap_s > 0)
        if through.any():
            primary_years = ((ages >= primary_low) & (ages <= primary_high)) | ((ages >= 2) & (ages <= 3))
            secondary_years = ages >= secondary_low
            per_primary_year = cap_p / (primary_high - primary_low + 1)
            per_secondary_year = cap_s / np.maximum((weights * secondary_years).sum(axis=1), 1e-9)
            scale = np.where(primary_years[None, :], per_primary_year[:, None], np.where(secondary_years[None, :], per_secondary_year[:, None], 1.0))
            weights = np.where(through[:, None], weights * scale, weights)
    w_all = weights.sum(axis=1)
    w_phase = (weights * in_phase).sum(axis=1)
    return np.where(w_all > 0, np.nan_to_num(pupils) * w_phase / np.where(w_all > 0, w_all, 1), 0.0)


def participation_share(children: pd.Series, pupils: pd.Series) -> pd.Series:
    """Return the share of resident children in state-funded schools, per area (region), capped at 1.

    ``share = pupils of the phase in state-funded schools located in the area / resident children
    of the phase``; modelled flows start from ``children x share``.

    Args:
        children: resident children of the phase, indexed by area code.
        pupils: pupils of the phase in the area's state-funded schools, indexed by area code.

    Returns:
        Share per area in [0, 1] (1 where there are no children).
    """
    pupils = pupils.reindex(children.index).fillna(0.0)
    share = (pupils / children.where(children > 0)).clip(upper=1.0).fillna(1.0)
    return share


def phase_origins(lsoas: pd.DataFrame, phase: str, year: int = 2019) -> pd.DataFrame:
    """Return the origins of a phase: LSOAs with their children of the phase's census ages.

    Args:
        lsoas: the store's ``lsoas`` table (lsoa11_code, authority_code, region_code, easting,
            northing in EPSG:27700 metres, age_<a>_<year> columns, optionally idaci_score).
        phase: ``"primary"`` (ages 4-10) or ``"secondary"`` (11-15).
        year: population year (2019 or 2020).

    Returns:
        ``lsoa11_code, authority_code, region_code, easting, northing, children`` (float, 0 where
        unknown) and, when the LSOAs have an ``idaci_score``, ``idaci`` (the score minus the mean).

    Raises:
        ModelError: for an unknown phase or when age columns for the year are missing.
    """
    try:
        children = children_of_phase(lsoas, phase, year)
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    out = pd.DataFrame(
        {
            "lsoa11_code": lsoas["lsoa11_code"].astype(str).to_numpy(),
            "authority_code": lsoas["authority_code"].astype(str).to_numpy(),
            "region_code": lsoas["region_code"].astype(str).to_numpy(),
            "easting": lsoas["easting"].to_numpy(dtype="float64"),
            "northing": lsoas["northing"].to_numpy(dtype="float64"),
            "children": children.fillna(0.0).to_numpy(dtype="float64"),
        }
    )
    if "idaci_score" in lsoas:
        score = pd.to_numeric(lsoas["idaci_score"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        out["idaci"] = np.nan_to_num(score - np.nanmean(score))
    return out


def phase_destinations(schools: pd.DataFrame, phase: str, pupils_column: str = "pupils_2019", open_only: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return a phase's destinations (state-funded mainstream schools teaching its ages) and the unlocated ones.

    Args:
        schools: the store's ``schools`` table.
        phase: ``"primary"`` or ``"secondary"``.
        pupils_column: roll used for sizes (``pupils_2019``; ``pupils_2015`` for the 2015 calibration).
            Where it is missing, the other year's roll and then the 2015 capacity stand in.
        open_only: keep only schools open on the register (False for the 2015 calibration).

    Returns:
        ``(destinations, unlocated)``: destinations with ``urn, school_name, authority_code,
        easting, northing, pupils`` (of the phase's ages, see :func:`phase_pupils`), ``gender``
        and the school attributes of :data:`~atlaskit.analysis.flows.system.SCHOOL_ATTRIBUTES`
        (``fsm`` and ``attainment8`` centred on the open schools of the phase); ``unlocated``
        lists eligible schools without coordinates (urn, school_name, authority_code, pupils),
        which are not modelled and must be reported.
    """
    s = schools
    keep = is_open_state_funded(s) if open_only else is_state_funded(s)
    keep &= ~s["phase"].astype("string").isin(EXCLUDED_PHASES).fillna(False)
    s = s[keep.to_numpy()]
    other = "pupils_2015" if pupils_column == "pupils_2019" else "pupils_2019"
    roll = pd.to_numeric(s[pupils_column], errors="coerce")
    if other in s:
        roll = roll.fillna(pd.to_numeric(s[other], errors="coerce"))
    if "capacity_2015" in s:
        roll = roll.fillna(pd.to_numeric(s["capacity_2015"], errors="coerce"))

    def numbers(column: str) -> np.ndarray:
        return pd.to_numeric(s[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) if column in s else np.full(len(s), np.nan)

    places = {c: numbers(c) if c in s else None for c in ("capacity_primary_2015", "capacity_secondary_2015")}
    pupils = phase_pupils(roll.to_numpy(dtype="float64", na_value=np.nan), numbers("age_low"), numbers("age_high"), phase,
                          places["capacity_primary_2015"], places["capacity_secondary_2015"])  # fmt: skip
    gender = s["gender"].astype("string").str.lower().fillna("mixed") if "gender" in s else pd.Series("mixed", index=s.index)
    relig = s["religious_character"].astype("string").str.strip().str.lower().fillna("") if "religious_character" in s else pd.Series("", index=s.index)
    admissions = s["admissions_policy"].astype("string").str.lower().fillna("") if "admissions_policy" in s else pd.Series("", index=s.index)
    ofsted = pd.Series(numbers("ofsted_grade"), index=s.index)
    out = pd.DataFrame(
        {
            "urn": s["urn"].to_numpy(dtype=URN_DTYPE),
            "school_name": s["school_name"].astype("string").to_numpy() if "school_name" in s else pd.NA,
            "authority_code": s["authority_code"].astype("string").fillna("").to_numpy(),
            "easting": numbers("easting"),
            "northing": numbers("northing"),
            "pupils": pupils,
            "gender": np.where(gender.str.startswith("boy"), "boys", np.where(gender.str.startswith("girl"), "girls", "mixed")),
            "selective": admissions.str.startswith("selective").to_numpy(dtype="float64"),
            "faith": (~relig.isin(_NO_FAITH)).to_numpy(dtype="float64"),
            "faith_catholic": relig.str.contains("catholic").to_numpy(dtype="float64"),
            "faith_non_christian": relig.str.contains("jew|muslim|islam|sikh|hindu|buddh|sunni").to_numpy(dtype="float64"),
            "ofsted_good_or_better": ofsted.isin([1, 2]).to_numpy(dtype="float64"),
            "progress8": np.nan_to_num(numbers("ks4_progress8")),
        }
    )
    out["single_sex"] = (out["gender"] != "mixed").astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = numbers("pupils_2015") / numbers("capacity_2015")
    out["full"] = (fill >= FULL_SCHOOL_FILL_RATE).astype("float64")
    is_open = s["is_open"].fillna(False).astype(bool).to_numpy(copy=True) if "is_open" in s else np.ones(len(s), dtype=bool)
    is_open &= np.nan_to_num(pupils) > 0  # open schools teaching the phase set the centre
    for name, column, scale in (("fsm", "fsm_ever_pct_2019", 100.0), ("attainment8", "ks4_attainment8", 10.0)):
        value = numbers(column) / scale
        if name == "attainment8" and phase != "secondary":
            value = np.full(len(s), np.nan)
        known = ~np.isnan(value)
        centre = float(np.mean(value[known & is_open])) if (known & is_open).any() else 0.0
        out[name] = np.where(known, value - centre, 0.0)
    out = out[out["pupils"] > 0]
    located = out["easting"].notna() & out["northing"].notna()
    return out[located].reset_index(drop=True), out.loc[~located, ["urn", "school_name", "authority_code", "pupils"]].reset_index(drop=True)


def with_participation(origins: pd.DataFrame, destinations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scale origins' children by their region's participation share in state-funded schools.

    Args:
        origins: :func:`phase_origins` output (with ``region_code``).
        destinations: :func:`phase_destinations` output (``authority_code``, ``pupils``).

    Returns:
        ``(origins with children scaled and the unscaled count in children_resident, shares)`` where
        ``shares`` has region_code, children, pupils, participation_share.
    """
    region_of = origins.drop_duplicates("authority_code").set_index("authority_code")["region_code"]
    children = origins.groupby("region_code")["children"].sum()
    pupils = destinations.groupby(destinations["authority_code"].map(region_of))["pupils"].sum()
    share = participation_share(children, pupils)
    out = origins.copy()
    out["children_resident"] = out["children"]
    out["children"] = out["children"] * out["region_code"].map(share).fillna(1.0).to_numpy()
    table = pd.DataFrame({"children": children, "pupils": pupils.reindex(children.index).fillna(0.0), "participation_share": share}).rename_axis("region_code").reset_index()
    return out, table


def schools_open_in(schools: pd.DataFrame, date: str) -> np.ndarray:
    """Return the URNs of schools open on ``date`` (opened before, not closed before it; unknown dates count as open).

    Args:
        schools: the store's ``schools`` table (urn, open_date, close_date).
        date: the day, ``"YYYY-MM-DD"``.

    Returns:
        (n,) int64 URNs.
    """
    when = pd.Timestamp(date)
    ok = ~(schools["open_date"] > when) & ~(schools["close_date"] < when)
    return schools.loc[ok, "urn"].to_numpy(dtype=URN_DTYPE)


def secondary_children_2015(lsoas: pd.DataFrame) -> np.ndarray:
    """Estimate each LSOA's children aged 11-15 in 2015, the year of the observed flows (no 2015 estimates are stored).

    The mean of the same ages four years later (ages 11-15 in mid-2019) and the same cohort four
    years later (ages 15-17 in mid-2019, times 5/3).

    Args:
        lsoas: the store's ``lsoas`` table with ``age_<a>_2019`` columns for ages 11-17.

    Returns:
        (n,) children, float, in ``lsoas`` order.

    Raises:
        ModelError: when an age column is missing.
    """
    cols = [f"age_{a}_2019" for a in range(11, 18)]
    missing = [c for c in cols if c not in lsoas.columns]
    if missing:
        raise ModelError(f"lsoas lack population column(s) {', '.join(missing)}")
    ages = lsoas[cols].to_numpy(dtype="float64", na_value=0.0)
    same_ages = ages[:, :5].sum(axis=1)
    same_cohort = ages[:, 4:7].sum(axis=1) * 5.0 / 3.0
    return 0.5 * same_ages + 0.5 * same_cohort
