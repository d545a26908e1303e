"""Home-to-school pupil flows: spatial interaction models, their calibration and validation, and queries.

Vocabulary follows PySAL's spint: *origins* are small areas (2011 LSOAs) with the children who
live there, *destinations* are schools (by URN) with their sizes, *cost* is the straight-line
home-to-school distance in km between the LSOA centroid and the school (both British National
Grid, EPSG:27700), and ``cost_func`` is ``"exp"`` (exp(-beta d)) or ``"pow"`` (d^-beta).

Every model here is a multinomial destination choice over each origin's ``k`` nearest schools of
the phase (a fixed-width sparse structure, :class:`FlowSystem`): flows ``T[i, j] = O[i] p[i, j]``
with ``p[i, :] = softmax(u[i, :])``, so each origin's flows add up to its children exactly (the
production constraint). The **attraction-constrained** form (:func:`fill_schools`, the store's)
then scales each school's column to its size, keeping where its pupils live, with no origin above
its resident children: schools take their rolls and an LSOA's state-school pupils become an
output. The utility ``u`` is a linear combination of named features:

- plain **production-constrained gravity**: ``u = alpha log(size_j) - beta cost_ij``;
- **doubly constrained** gravity: the same plus balancing factors ``log B_j`` iterated until each
  school's inflow equals its size (its pupils of the phase), Furness-style;
- the **destination-choice (conditional logit)** models: distance decay in both forms (exp and
  pow together, a Tanner function), decay that differs for selective, faith (Catholic and
  non-Christian apart) and single-sex schools (which draw from wider areas), a penalty for
  crossing an authority border, steeper decay at full schools (which admit by distance), school
  attributes as attractiveness (size, selective, faith, single-sex, Ofsted good or better,
  Progress 8), competition between nearby schools through the choice set, and each LSOA's
  propensity to use state-funded schools as a function of its deprivation (``origin_*`` terms,
  see :func:`origin_participation`). In a doubly constrained model destination-only attributes
  are absorbed by the balancing factors, so :data:`CHOICE_FEATURES` (doubly) keeps only pair
  terms;
- :data:`COMPETITION_FEATURES` adds competition between nearby schools (other schools of the
  phase within 3 km, as attractiveness and as steeper decay), social sorting (the school's
  free-school-meal share times the area's deprivation) and Attainment 8. Attraction-constrained,
  it is the model the store uses (:data:`FINAL_FEATURES`, :data:`FINAL_CONSTRAINT`), chosen by
  ``atlas validate flows``: the best out of sample in London, and the only one whose
  cross-border shares are within 5 points of DfE's for all six inner London authorities.

The calibration population is an estimate of 2015's children aged 11-15 (the observed flows are
from January 2015, the population estimates from mid-2019): :func:`secondary_children_2015`.

Girls and boys are separate segments of each LSOA (half each): neither chooses a single-sex
school of the other sex (:attr:`FlowSystem.segments`).

Calibration is by maximum likelihood on the published London flows (January 2015, secondary):
for a pupil of school j, the probability of living in LSOA i is ``T[i, j] / sum_i T[i, j]``.
Cells under 3 pupils are suppressed by the publisher; they are **censored, not zero**: each
school's suppressed pupils (its total minus its published cells) enter the likelihood as one
lump whose probability is the model's share of that school's pupils in the LSOAs *not*
published for it. Observed schools' totals include sixth formers while modelled children are
aged 11-15: the likelihood and the validation use each school's *shares*, never its scale. That
likelihood is the attraction-constrained model's (it conditions on each school's total), so the
production and attraction-constrained forms share their fitted coefficients.

Primary flows are not published anywhere. The primary model uses the secondary model's form
with its decay re-calibrated so that the modelled mean primary trip in England is the modelled
mean secondary trip in England times the ratio of the national average trips to school by age in the
National Travel Survey 2014 (Department for Transport, NTS factsheet "Travel to school", 2014:
1.6 miles for children aged 5-10, 3.4 miles for ages 11-16): :data:`NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO`.
That is an assumption, stated wherever primary flows are shown.

Children in independent schools or not in the school census (about 7% in England, more in London)
are accounted for in three steps: a participation share per region (the pupils of the phase in
state-funded schools of the region divided by its resident children of the phase, capped at 1;
production flows start from ``children x share``, see :func:`participation_share`); within the
region, the ``origin_idaci`` terms move state-school pupils from affluent LSOAs (where more
children attend independent schools) to deprived ones, estimated from the flows; and the
attraction constraint fills each school to its roll from the LSOAs its model shares point to,
capping each LSOA at its resident children, so an area with few state places for its children
(Kensington and Chelsea: 4,200 modelled state secondary pupils, DfE 3,115; 5,404 before) ends
with fewer state pupils. Modelled secondary pupils are 84.0% of England's resident children
aged 11-15 (79% in London).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Literal, Mapping

import numpy as np
import pandas as pd

from atlaskit.errors import ModelError, UnknownArea, UnknownSchool

CostFunc = Literal["exp", "pow"]
Constraint = Literal["production", "attraction", "doubly"]

#: National Travel Survey 2014 (DfT), average trip length to school, miles, by age of child.
NTS_2014_TRIP_MILES: Mapping[str, float] = MappingProxyType({"primary (5-10)": 1.6, "secondary (11-16)": 3.4})
#: Ratio of primary to secondary mean trip to school (NTS 2014), used to calibrate primary decay.
NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO = 1.6 / 3.4
#: Sentence shown with primary flows wherever they appear (app, report, CLI, validation).
PRIMARY_ASSUMPTION = (
    "Primary flows are modelled only: no primary flows are published. Their distance decay is set so that the mean "
    "modelled primary trip in England is 1.6/3.4 of the mean modelled secondary trip, the secondary model being "
    "calibrated on the observed London flows (National Travel Survey 2014: average trip to school 1.6 miles at ages "
    "5-10, 3.4 miles at ages 11-16)."
)
#: Ages of the children of each phase (single years, at mid-year).
PHASE_AGES: Mapping[str, tuple[int, ...]] = MappingProxyType({"primary": tuple(range(4, 11)), "secondary": tuple(range(11, 16))})

#: Clip utilities (after subtracting each origin's maximum) at this value before ``exp``: NumPy's exp
#: slows several-fold on subnormal results, and such choices carry no weight anyway.
UTILITY_FLOOR = -40.0
#: Distances below this (km) are raised to it (an LSOA centroid may sit on a school; ``pow`` needs d > 0).
MIN_DISTANCE_KM = 0.2

GRAVITY_FEATURES = {"exp": ("log_size", "distance_km"), "pow": ("log_size", "log_distance")}
#: Features of the destination-choice model (doubly constrained: destination attributes are absorbed).
CHOICE_FEATURES = (
    "distance_km",
    "log_distance",
    "distance_x_selective",
    "distance_x_faith",
    "distance_x_single_sex",
    "crosses_border",
)
#: Features of the production-constrained destination-choice variant (school attributes as attractiveness).
PRODUCTION_CHOICE_FEATURES = (
    "log_size",
    "distance_km",
    "log_distance",
    "distance_x_selective",
    "distance_x_faith",
    "distance_x_single_sex",
    "crosses_border",
    "selective",
    "faith",
    "single_sex",
    "ofsted_good_or_better",
    "progress8",
)
#: The full destination-choice model: :data:`PRODUCTION_CHOICE_FEATURES` plus denomination-specific
#: faith terms, rationing by distance at full schools, and the origin's propensity to use
#: state-funded schools as a function of its deprivation (independent-school attendance).
FULL_CHOICE_FEATURES = PRODUCTION_CHOICE_FEATURES + (
    "faith_catholic",
    "faith_non_christian",
    "distance_x_faith_catholic",
    "distance_x_faith_non_christian",
    "full",
    "distance_x_full",
    "origin_idaci",
    "origin_idaci_sq",
)
#: The competition and social-sorting model: :data:`FULL_CHOICE_FEATURES` plus competition between
#: nearby schools (how many others of the phase lie within :data:`COMPETITION_RADIUS_KM`, as
#: attractiveness and as steeper decay), social sorting (the school's free-school-meal share times
#: the origin's deprivation: families tend to choose schools whose intake resembles their area) and
#: attainment (Attainment 8, and its interaction with distance: families travel further to schools
#: with higher attainment).
COMPETITION_FEATURES = FULL_CHOICE_FEATURES + (
    "competitors",
    "distance_x_competitors",
    "fsm_x_origin_idaci",
    "attainment8",
    "distance_x_attainment8",
)
#: Schools with fewer competitors than this within the radius count as having this many: 95% of
#: the observed London schools have at least 4 within 3 km, so the decay is not extrapolated below
#: that density (production-constrained, rural trips still lengthened; the store's attraction-constrained
#: model draws rural schools' pupils from around them: see :data:`FINAL_FEATURES`).
COMPETITORS_FLOOR = 4
#: Radius (km) within which other schools of the phase count as competitors: 3 km for secondary
#: schools, scaled for primary by the NTS primary/secondary trip ratio (schools of both phases then
#: have a similar number of competitors).
COMPETITION_RADIUS_KM: Mapping[str, float] = MappingProxyType({"secondary": 3.0, "primary": 3.0 * NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO})

#: Columns an origin (LSOA) table may give as attributes, with their meaning.
ORIGIN_ATTRIBUTES = {"idaci": "income deprivation affecting children index score (share of children in low-income families), minus England's mean"}
#: Columns a destination (school) table may give as attributes, with their meaning.
SCHOOL_ATTRIBUTES = {
    "selective": "1 for a selective (grammar) school, from the register's admissions policy",
    "faith": "1 for a school with a religious character",
    "faith_catholic": "1 for a Roman Catholic school",
    "faith_non_christian": "1 for a Jewish, Muslim, Sikh, Hindu or Buddhist school",
    "single_sex": "1 for a boys' or girls' school",
    "ofsted_good_or_better": "1 when the latest Ofsted overall effectiveness is 1 or 2",
    "progress8": "KS4 Progress 8 score (0 when unknown)",
    "full": "1 when the school's 2015 roll was at least 97% of its 2015 capacity (oversubscribed: admits by distance)",
    "has_sixth_form": "1 when the school teaches beyond age 16 (observed rolls include sixth formers, who travel further)",
    "fsm": "share of the school's pupils ever eligible for free school meals in the last six years (January 2019 census), minus the mean of England's open schools of the phase (0 when unknown)",
    "attainment8": "KS4 Attainment 8 score / 10 (2018), minus the mean of England's open secondary schools (0 when unknown or primary)",
    "competitors": "log(1 + other schools of the phase within the competition radius, at least COMPETITORS_FLOOR): schools among many others draw from nearer (see build_system)",
}


#: Relative size of a sixth-form year group (ages 16, 17) against a compulsory one, for schools whose
#: roll includes a sixth form. About 0.6: roughly 40% of 16-17 year olds in state-funded schools'
#: sixth forms leave for colleges (DfE, Participation in education, training and employment).
SIXTH_FORM_YEAR_WEIGHT = 0.6
#: Relative size of a nursery year group (ages 2-3) in a primary school's roll.
NURSERY_YEAR_WEIGHT = 0.5


def phase_pupils(
    pupils: np.ndarray,
    age_low: np.ndarray,
    age_high: np.ndarray,
    phase: str,
    capacity_primary: np.ndarray | None = None,
    capacity_secondary: np.ndarray | None = None,
) -> np.ndarray:
    """Estimate a school's pupils aged as the phase's children (primary 4-10, secondary 11-15).

    The roll is shared among the school's year groups (ages ``age_low`` .. ``age_high - 1``, as
    the register states the age range ``age_low-age_high``) in proportion to a year weight: 1 for
    ages 4-15, :data:`SIXTH_FORM_YEAR_WEIGHT` for 16-17, :data:`NURSERY_YEAR_WEIGHT` for 2-3.

    A through school (from Reception or earlier to Year 11 or later) is often two schools of
    different sizes under one roof (a 2-form primary beside a 6-form secondary). Where its SCAP
    places of both phases are given, a primary year weighs its primary places per year
    (``capacity_primary / 7``) and a secondary or sixth-form year its secondary places per year
    (``capacity_secondary`` over its secondary years, sixth-form years counted at
    :data:`SIXTH_FORM_YEAR_WEIGHT`). Middle schools keep equal year weights: SCAP splits their
    places between the phases by convention.

    Args:
        pupils: (n,) pupils on roll (all ages).
        age_low, age_high: (n,) statutory age range; NaN when unknown (then the phase's years only).
        phase: ``"primary"`` or ``"secondary"``.
        capacity_primary, capacity_secondary: (n,) SCAP places of each phase (NaN when unknown),
            or None.

    Returns:
        (n,) float pupils of the phase's ages (0 where the range does not overlap the phase).
    """
    if phase not in PHASE_AGES:
        raise ModelError(f"phase must be 'primary' or 'secondary', not {phase!r}")
    ages = np.arange(0, 20)
    weight = np.where((ages >= 4) & (ages <= 15), 1.0, 0.0)
    weight[(ages >= 16) & (ages <= 17)] = SIXTH_FORM_YEAR_WEIGHT
    weight[(ages >= 2) & (ages <= 3)] = NURSERY_YEAR_WEIGHT
    in_phase = np.isin(ages, PHASE_AGES[phase])
    pupils = np.asarray(pupils, dtype="float64")
    lo = np.asarray(age_low, dtype="float64")
    hi = np.asarray(age_high, dtype="float64")
    default_lo, default_hi = min(PHASE_AGES[phase]), max(PHASE_AGES[phase]) + 1
    lo = np.where(np.isnan(lo), default_lo, lo)
    hi = np.where(np.isnan(hi), default_hi, hi)
    covered = (ages[None, :] >= lo[:, None]) & (ages[None, :] < np.maximum(hi, lo + 1)[:, None])
    weights = covered * weight[None, :]
    if capacity_primary is not None and capacity_secondary is not None:
        cap_p = np.asarray(capacity_primary, dtype="float64")
        cap_s = np.asarray(capacity_secondary, dtype="float64")
        through = (lo <= min(PHASE_AGES["primary"])) & (hi > max(PHASE_AGES["secondary"])) & (cap_p > 0) & (cap_s > 0)
        if through.any():
            primary_years = np.isin(ages, PHASE_AGES["primary"]) | ((ages >= 2) & (ages <= 3))
            secondary_years = ages >= min(PHASE_AGES["secondary"])
            per_primary_year = cap_p / len(PHASE_AGES["primary"])
            per_secondary_year = cap_s / np.maximum((weights * secondary_years).sum(axis=1), 1e-9)
            scale = np.where(primary_years[None, :], per_primary_year[:, None], np.where(secondary_years[None, :], per_secondary_year[:, None], 1.0))
            weights = np.where(through[:, None], weights * scale, weights)
    w_all = weights.sum(axis=1)
    w_phase = (weights * in_phase).sum(axis=1)
    return np.where(w_all > 0, np.nan_to_num(pupils) * w_phase / np.where(w_all > 0, w_all, 1), 0.0)


def participation_share(children: pd.Series, pupils: pd.Series) -> pd.Series:
    """Return the share of resident children in state-funded schools, per area (region), capped at 1.

    ``share = pupils of the phase in state-funded schools located in the area / resident children
    of the phase``. The remainder attend independent schools, are home-educated or are not in the
    census; modelled flows start from ``children x share``. Regions are large enough that pupils
    crossing their borders are a small part of either count.

    Args:
        children: resident children of the phase, indexed by area code.
        pupils: pupils of the phase in the area's state-funded schools, indexed by area code.

    Returns:
        Share per area in [0, 1] (1 where there are no children).
    """
    pupils = pupils.reindex(children.index).fillna(0.0)
    share = (pupils / children.where(children > 0)).clip(upper=1.0).fillna(1.0)
    return share


#: A school whose 2015 roll is at least this share of its 2015 capacity is counted as full: oversubscribed
#: schools admit by distance, so their pupils come from nearer (a steeper decay, ``distance_x_full``).
FULL_SCHOOL_FILL_RATE = 0.97
#: School phases (``schools.phase``) never modelled as destinations of mainstream flows.
EXCLUDED_PHASES = ("special", "pru", "16 plus", "nursery")
_NO_FAITH = {"", "does not apply", "none", "unknown", "not applicable", "no religious character"}


def phase_origins(lsoas: pd.DataFrame, phase: str, year: int = 2019) -> pd.DataFrame:
    """Return the origins of a phase: LSOAs with their children of the phase's ages.

    Args:
        lsoas: the store's ``lsoas`` table (lsoa11_code, authority_code, region_code, easting,
            northing in EPSG:27700 metres, age_<a>_<year> columns).
        phase: ``"primary"`` (ages 4-10) or ``"secondary"`` (11-15).
        year: population year (2019 or 2020).

    Returns:
        ``lsoa11_code, authority_code, region_code, easting, northing, children`` (float).

    Raises:
        ModelError: when age columns for the year are missing.
    """
    if phase not in PHASE_AGES:
        raise ModelError(f"phase must be 'primary' or 'secondary', not {phase!r}")
    cols = [f"age_{a}_{year}" for a in PHASE_AGES[phase]]
    missing = [c for c in cols if c not in lsoas.columns]
    if missing:
        raise ModelError(f"lsoas lack population column(s) {', '.join(missing)}")
    out = pd.DataFrame(
        {
            "lsoa11_code": lsoas["lsoa11_code"].astype(str).to_numpy(),
            "authority_code": lsoas["authority_code"].astype(str).to_numpy(),
            "region_code": lsoas["region_code"].astype(str).to_numpy() if "region_code" in lsoas else "",
            "easting": lsoas["easting"].to_numpy(dtype="float64"),
            "northing": lsoas["northing"].to_numpy(dtype="float64"),
            "children": lsoas[cols].to_numpy(dtype="float64", na_value=0.0).sum(axis=1),
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
        and the attributes of :data:`SCHOOL_ATTRIBUTES`; ``unlocated`` lists eligible schools
        without coordinates (urn, school_name, authority_code, pupils), which are not modelled and
        must be reported.
    """
    s = schools
    keep = s["is_state_funded"].fillna(False).astype(bool) & ~s["phase"].astype("string").isin(EXCLUDED_PHASES).fillna(False)
    if open_only and "is_open" in s:
        keep &= s["is_open"].fillna(False).astype(bool)
    s = s[keep.to_numpy()]
    other = "pupils_2015" if pupils_column == "pupils_2019" else "pupils_2019"
    roll = pd.to_numeric(s[pupils_column], errors="coerce")
    if other in s:
        roll = roll.fillna(pd.to_numeric(s[other], errors="coerce"))
    if "capacity_2015" in s:
        roll = roll.fillna(pd.to_numeric(s["capacity_2015"], errors="coerce"))
    def places(column: str) -> np.ndarray | None:
        return pd.to_numeric(s[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) if column in s else None

    pupils = phase_pupils(roll.to_numpy(dtype="float64", na_value=np.nan), pd.to_numeric(s["age_low"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan),
                          pd.to_numeric(s["age_high"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan), phase,
                          places("capacity_primary_2015"), places("capacity_secondary_2015"))  # fmt: skip
    gender = s["gender"].astype("string").str.lower().fillna("mixed") if "gender" in s else pd.Series("mixed", index=s.index)
    relig = s["religious_character"].astype("string").str.strip().str.lower().fillna("") if "religious_character" in s else pd.Series("", index=s.index)
    admissions = s["admissions_policy"].astype("string").str.lower().fillna("") if "admissions_policy" in s else pd.Series("", index=s.index)
    grade_col = "ofsted_grade" if "ofsted_grade" in s else "ofsted_rating"
    ofsted = pd.to_numeric(s[grade_col], errors="coerce") if grade_col in s else pd.Series(np.nan, index=s.index)
    p8 = pd.to_numeric(s["ks4_progress8"], errors="coerce") if "ks4_progress8" in s else pd.Series(np.nan, index=s.index)
    out = pd.DataFrame(
        {
            "urn": pd.to_numeric(s["urn"], errors="coerce").to_numpy(dtype="int64"),
            "school_name": s["school_name"].astype("string").to_numpy() if "school_name" in s else pd.NA,
            "authority_code": s["authority_code"].astype("string").fillna("").to_numpy(),
            "easting": pd.to_numeric(s["easting"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan),
            "northing": pd.to_numeric(s["northing"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan),
            "pupils": pupils,
            "gender": np.where(gender.str.startswith("boy"), "boys", np.where(gender.str.startswith("girl"), "girls", "mixed")),
            "selective": admissions.str.startswith("selective").to_numpy(dtype="float64"),
            "faith": (~relig.isin(_NO_FAITH)).to_numpy(dtype="float64"),
            "faith_catholic": relig.str.contains("catholic").to_numpy(dtype="float64"),
            "faith_non_christian": relig.str.contains("jew|muslim|islam|sikh|hindu|buddh|sunni").to_numpy(dtype="float64"),
            "ofsted_good_or_better": ofsted.isin([1, 2]).to_numpy(dtype="float64"),
            "progress8": p8.fillna(0.0).to_numpy(dtype="float64"),
        }
    )
    out["single_sex"] = (out["gender"] != "mixed").astype("float64")
    capacity = pd.to_numeric(s["capacity_2015"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) if "capacity_2015" in s else np.full(len(s), np.nan)
    roll_2015 = pd.to_numeric(s["pupils_2015"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) if "pupils_2015" in s else np.full(len(s), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = roll_2015 / capacity
    out["full"] = (fill >= FULL_SCHOOL_FILL_RATE).astype("float64")
    out["has_sixth_form"] = (pd.to_numeric(s["age_high"], errors="coerce").to_numpy(dtype="float64", na_value=0.0) > 16).astype("float64")
    is_open = s["is_open"].fillna(False).astype(bool).to_numpy(copy=True) if "is_open" in s else np.ones(len(s), dtype=bool)
    is_open &= np.nan_to_num(pupils) > 0  # open schools teaching the phase set the centre
    for name, column, scale in (("fsm", "fsm_ever_pct_2019", 100.0), ("attainment8", "ks4_attainment8", 10.0)):
        value = pd.to_numeric(s[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) / scale if column in s else np.full(len(s), np.nan)
        if name == "attainment8" and phase != "secondary":
            value = np.full(len(s), np.nan)
        known = ~np.isnan(value)
        centre = float(np.mean(value[known & is_open])) if (known & is_open).any() else 0.0
        out[name] = np.where(known, value - centre, 0.0)
    out = out[out["pupils"] > 0]
    located = out["easting"].notna() & out["northing"].notna()
    return out[located].reset_index(drop=True), out.loc[~located, ["urn", "school_name", "authority_code", "pupils"]].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# The candidate structure
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FlowSystem:
    """Origins, destinations and each origin's ``k`` nearest destinations (a fixed-width sparse matrix).

    Attributes:
        origin_codes: (n_o,) LSOA codes.
        origins: (n_o,) children who choose a school (after the participation share), float.
        origin_authority: (n_o,) authority code of each origin (for border crossings).
        destination_ids: (n_d,) school URNs.
        destinations: (n_d,) pupils of the phase per school (the doubly constrained targets).
        destination_authority: (n_d,) authority code of each school.
        destination_attributes: (n_d, ...) DataFrame of school attributes (see :data:`SCHOOL_ATTRIBUTES`).
        col: (n_o, k) int index of each candidate destination, nearest first.
        distance_km: (n_o, k) straight-line distance in km (EPSG:27700 metres / 1000).
        segments: ``(name, share, eligible)`` triples splitting each origin's children into groups
            that may choose only some candidates: ``("girls", 0.5, mask)``, ``("boys", 0.5, mask)``
            where ``mask`` (n_o, k) is False for single-sex schools of the other sex. Empty: one
            group choosing among all candidates.
        origin_attributes: (n_o, ...) DataFrame of origin attributes (``idaci``: the LSOA's income
            deprivation affecting children score, centred on England's mean) used in interactions
            ``<term>_x_origin_<attribute>``.
        constrained: (n_d,) bool, the schools a doubly or attraction-constrained model balances
            to their size (None: all). In a sub-system (London and its surroundings) schools near
            its edge lose origins outside it; they are left unconstrained rather than filled from
            inside.
        origin_children: (n_o,) resident children of the phase before any participation share:
            the most pupils an origin can send in an attraction-constrained model (None: no cap).
    """

    origin_codes: np.ndarray
    origins: np.ndarray
    origin_authority: np.ndarray
    destination_ids: np.ndarray
    destinations: np.ndarray
    destination_authority: np.ndarray
    destination_attributes: pd.DataFrame
    col: np.ndarray
    distance_km: np.ndarray
    segments: tuple = ()
    origin_attributes: pd.DataFrame | None = None
    constrained: np.ndarray | None = None
    origin_children: np.ndarray | None = None
    _features: dict = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        """Number of candidate schools per origin."""
        return self.col.shape[1]

    def to_sparse(self, values: np.ndarray | None = None):
        """Return ``values`` (n_o, k; default the distances) as a scipy CSR matrix origins x destinations."""
        from scipy import sparse

        values = self.distance_km if values is None else values
        n_o, k = self.col.shape
        indptr = np.arange(0, n_o * k + 1, k)
        return sparse.csr_matrix((values.ravel(), self.col.ravel(), indptr), shape=(n_o, len(self.destination_ids)))

    def feature(self, name: str) -> np.ndarray:
        """Return a named feature: (n_d,) for destination features, (n_o, k) for pair features (cached).

        Raises:
            ModelError: for an unknown feature name or a missing school attribute.
        """
        if name in self._features:
            return self._features[name]
        d = np.maximum(self.distance_km, MIN_DISTANCE_KM)
        attrs = self.destination_attributes

        def attr(column: str) -> np.ndarray:
            if column not in attrs.columns:
                raise ModelError(f"feature {name!r} needs the school attribute {column!r}, absent from destination_attributes")
            return attrs[column].to_numpy(dtype="float64", na_value=0.0)

        if name.startswith("origin_"):
            attr_name = name.removeprefix("origin_")
            square = attr_name.endswith("_sq")
            attr_name = attr_name.removesuffix("_sq")
            if self.origin_attributes is None or attr_name not in self.origin_attributes.columns:
                raise ModelError(f"feature {name!r} needs the origin attribute {attr_name!r}, absent from origin_attributes")
            value = self.origin_attributes[attr_name].to_numpy(dtype="float64", na_value=0.0)
            value = value**2 if square else value.copy()
        elif "_x_origin_" in name:
            left, right = name.split("_x_origin_")
            if self.origin_attributes is None or right not in self.origin_attributes.columns:
                raise ModelError(f"feature {name!r} needs the origin attribute {right!r}, absent from origin_attributes")
            o_attr = self.origin_attributes[right].to_numpy(dtype="float64", na_value=0.0)[:, None]
            left_value = self.feature(left)
            value = (left_value[self.col] if left_value.ndim == 1 else left_value) * o_attr
        elif name == "log_size":
            value = np.log(np.maximum(self.destinations, 1.0))
        elif name == "distance_km":
            value = d
        elif name == "log_distance":
            value = np.log(d)
        elif name == "relative_distance":
            # distance over the mean distance to the origin's 5 nearest schools: the same decay
            # then fits dense inner-city and sparse rural areas
            value = d / np.maximum(d[:, : min(5, d.shape[1])].mean(axis=1, keepdims=True), MIN_DISTANCE_KM)
        elif name.startswith("distance_x_"):
            value = d * attr(name.removeprefix("distance_x_"))[self.col]
        elif name.startswith("log_distance_x_"):
            value = np.log(d) * attr(name.removeprefix("log_distance_x_"))[self.col]
        elif name == "crosses_border":
            value = (self.destination_authority[self.col] != self.origin_authority[:, None]).astype("float64")
        elif name in SCHOOL_ATTRIBUTES:
            value = attr(name)
        else:
            raise ModelError(f"unknown feature {name!r}; known: log_size, distance_km, log_distance, relative_distance, distance_x_<attribute>, log_distance_x_<attribute>, origin_<attribute>[_sq], <term>_x_origin_<attribute>, crosses_border, {', '.join(SCHOOL_ATTRIBUTES)}")
        value.setflags(write=False)
        self._features[name] = value
        return value

    def with_origins(self, origins: np.ndarray) -> FlowSystem:
        """Return the same system with other origin totals (the features cache is shared)."""
        return FlowSystem(
            self.origin_codes, np.asarray(origins, dtype="float64"), self.origin_authority, self.destination_ids, self.destinations,
            self.destination_authority, self.destination_attributes, self.col, self.distance_km, self.segments,
            self.origin_attributes, self.constrained, self.origin_children, self._features,
        )


def build_system(
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    k: int = 50,
    children_column: str = "children",
    size_column: str = "pupils",
    sex_segments: bool = True,
    constrained: np.ndarray | None = None,
    competition_radius_km: float = COMPETITION_RADIUS_KM["secondary"],
    resident_column: str = "children_resident",
) -> FlowSystem:
    """Build a :class:`FlowSystem` of each origin's ``k`` nearest destinations (scipy cKDTree).

    Args:
        origins: one row per LSOA: ``lsoa11_code``, ``easting``, ``northing`` (metres, EPSG:27700),
            ``authority_code`` and the children column.
        destinations: one row per school: ``urn``, ``easting``, ``northing`` (EPSG:27700),
            ``authority_code``, the size column and optional attributes (:data:`SCHOOL_ATTRIBUTES`).
            Rows without coordinates must be removed (and reported) by the caller.
        k: candidate schools per origin (capped at the number of schools).
        children_column: origin totals (children choosing a school of the phase).
        size_column: destination sizes (pupils of the phase).
        sex_segments: when destinations have a ``gender`` column (``boys``/``girls``/``mixed``),
            split each origin's children half girls, half boys, each choosing only schools that
            admit them (see :attr:`FlowSystem.segments`).
        constrained: (n_d,) bool, schools balanced by doubly constrained models (default all).
        competition_radius_km: other destinations within this distance (km) of a school count as
            its competitors (the ``competitors`` attribute: log(1 + count), the count raised to
            :data:`COMPETITORS_FLOOR`).
        resident_column: origins' resident children before the participation share (as
            :func:`with_participation` writes them), the cap of attraction-constrained models;
            when the column is absent, the children column is the cap.

    Returns:
        The system, with distances in km.

    Raises:
        ModelError: when there are no destinations, coordinates are missing, or totals are negative.
    """
    from scipy.spatial import cKDTree

    for name, frame, cols in (
        ("origins", origins, ["lsoa11_code", "easting", "northing", "authority_code", children_column]),
        ("destinations", destinations, ["urn", "easting", "northing", "authority_code", size_column]),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ModelError(f"{name} lack column(s) {', '.join(missing)}")
        xy = frame[["easting", "northing"]].to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(xy).any():
            bad = frame.loc[np.isnan(xy).any(axis=1)].iloc[:5, 0].tolist()
            raise ModelError(f"{name}: {int(np.isnan(xy).any(axis=1).sum())} row(s) without coordinates (first: {bad}); report and remove them first")
    if len(destinations) == 0:
        raise ModelError("no destinations (schools) to allocate children to")
    o = origins[children_column].to_numpy(dtype="float64", na_value=0.0)
    s = destinations[size_column].to_numpy(dtype="float64", na_value=0.0)
    if (o < 0).any() or (s < 0).any():
        raise ModelError("negative children or school sizes")
    k = int(min(k, len(destinations)))
    tree = cKDTree(destinations[["easting", "northing"]].to_numpy(dtype="float64"))
    dist, idx = tree.query(origins[["easting", "northing"]].to_numpy(dtype="float64"), k=k)
    dist = np.asarray(dist, dtype="float64").reshape(len(origins), k) / 1000.0
    idx = np.asarray(idx, dtype="int32").reshape(len(origins), k)
    attrs = destinations[[c for c in SCHOOL_ATTRIBUTES if c in destinations.columns]].reset_index(drop=True)
    dest_xy = destinations[["easting", "northing"]].to_numpy(dtype="float64")
    neighbours = tree.query_ball_point(dest_xy, competition_radius_km * 1000.0, return_length=True)
    attrs["competitors"] = np.log1p(np.maximum(np.asarray(neighbours, dtype="float64") - 1.0, COMPETITORS_FLOOR))
    segments: tuple = ()
    if sex_segments and "gender" in destinations.columns:
        gender = destinations["gender"].astype("string").str.lower().fillna("mixed").to_numpy()
        if "single_sex" not in attrs.columns:
            attrs["single_sex"] = np.isin(gender, ["boys", "girls"]).astype("float64")
        girls_ok = (gender != "boys")[idx]
        boys_ok = (gender != "girls")[idx]
        segments = (("girls", 0.5, girls_ok), ("boys", 0.5, boys_ok))
    origin_attrs = origins[[c for c in ORIGIN_ATTRIBUTES if c in origins.columns]].reset_index(drop=True)
    return FlowSystem(
        origin_codes=origins["lsoa11_code"].astype(str).to_numpy(),
        origins=o,
        origin_authority=origins["authority_code"].astype(str).to_numpy(),
        destination_ids=destinations["urn"].to_numpy(dtype="int64"),
        destinations=s,
        destination_authority=destinations["authority_code"].astype(str).to_numpy(),
        destination_attributes=attrs,
        col=idx,
        distance_km=dist,
        segments=segments,
        origin_attributes=origin_attrs,
        constrained=None if constrained is None else np.asarray(constrained, dtype=bool),
        origin_children=(origins[resident_column] if resident_column in origins.columns else origins[children_column]).to_numpy(dtype="float64", na_value=0.0),
    )


# ----------------------------------------------------------------------------------------------
# Evaluation of a model
# ----------------------------------------------------------------------------------------------


def _utility(system: FlowSystem, features: tuple[str, ...], params: np.ndarray, log_balancing: np.ndarray | None) -> np.ndarray:
    u = np.zeros(system.col.shape, dtype="float64")
    dest = np.zeros(len(system.destination_ids), dtype="float64") if log_balancing is None else log_balancing.copy()
    for name, theta in zip(features, params):
        if name.startswith("origin_"):
            continue  # origin terms scale the origin, they do not change its choices
        f = system.feature(name)
        if f.ndim == 1:
            dest += theta * f
        else:
            u += theta * f
    u += dest[system.col]
    return u


def origin_participation(system: FlowSystem, features: tuple[str, ...], params: np.ndarray) -> np.ndarray:
    """Return each origin's relative participation factor from the model's ``origin_*`` terms.

    The factor is ``exp(sum gamma_f x_if)`` rescaled so that the origins' total is unchanged
    (children-weighted mean 1): it moves state-school pupils from LSOAs whose children more often
    attend independent schools (the affluent, low-IDACI ones, when gamma > 0) to the others.

    Returns:
        (n_o,) factors (all 1 when the model has no origin terms).
    """
    eta = np.zeros(len(system.origins))
    for name, theta in zip(features, params):
        if name.startswith("origin_"):
            eta += theta * system.feature(name)
    if not eta.any():
        return np.ones(len(system.origins))
    factor = np.exp(np.clip(eta - eta.max(), UTILITY_FLOOR, 0))
    total = system.origins.sum()
    return factor * (total / max(float(np.dot(system.origins, factor)), 1e-300)) if total > 0 else factor


def _choice_probabilities(u: np.ndarray, eligible: np.ndarray | None = None) -> np.ndarray:
    u = u - u.max(axis=1, keepdims=True)
    np.maximum(u, UTILITY_FLOOR, out=u)
    p = np.exp(u)
    if eligible is not None:
        masked = p * eligible
        ok = masked.sum(axis=1) > 0  # an origin with no eligible candidate keeps all of them
        p[ok] = masked[ok]
    p /= p.sum(axis=1, keepdims=True)
    return p


def _segment_flows(system: FlowSystem, u: np.ndarray, origins: np.ndarray | None = None) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Return total flows (n_o, k) and, per segment, (flows, choice probabilities)."""
    origins = system.origins if origins is None else origins
    if not system.segments:
        p = _choice_probabilities(u)
        flows = p * origins[:, None]
        return flows, [(flows, p)]
    parts = []
    total = np.zeros(u.shape)
    for _, share, eligible in system.segments:
        p = _choice_probabilities(u, eligible)
        f = p * (origins * share)[:, None]
        total += f
        parts.append((f, p))
    return total, parts


def _inflows(system: FlowSystem, flows: np.ndarray) -> np.ndarray:
    return np.bincount(system.col.ravel(), weights=flows.ravel(), minlength=len(system.destination_ids))


#: Balancing factors are kept within exp(+-30): a school whose size exceeds what its candidate
#: origins could send (at the edge of a sub-system) saturates instead of pushing the others away.
LOG_BALANCING_BOUND = 30.0


def balance(
    system: FlowSystem,
    features: tuple[str, ...],
    params: np.ndarray,
    log_balancing: np.ndarray | None = None,
    tol: float = 1e-3,
    max_iter: int = 500,
) -> tuple[np.ndarray, int, float]:
    """Find destination balancing factors so each school's modelled inflow equals its size.

    Args:
        system: the candidate structure; ``destinations`` are the targets (those of reachable
            schools are scaled to the origins' total first, so the margins are consistent).
        features, params: the model's utility.
        log_balancing: starting values of ``log B_j`` (default 0).
        tol: stop when every reachable school's inflow is within this relative error.
        max_iter: iteration limit.

    Returns:
        ``(log_balancing, iterations, max_relative_error)``; unreachable schools (in no origin's
        candidate set, or of size 0) keep ``log B = -inf``-like floor values and are excluded, and
        saturated schools (at :data:`LOG_BALANCING_BOUND`) are excluded from the error.
    """
    origins = system.origins * origin_participation(system, features, params)
    reachable = np.bincount(system.col.ravel(), minlength=len(system.destinations)) > 0
    active = reachable & (system.destinations > 0)
    free = active.copy()  # reachable schools left unconstrained (edge of a sub-system)
    if system.constrained is not None:
        active &= system.constrained
        free &= ~system.constrained
    else:
        free[:] = False
    size_active = max(float(system.destinations[active].sum()), 1e-12)
    target = system.destinations * (origins.sum() / size_active)
    logb = np.zeros(len(target)) if log_balancing is None else log_balancing.copy()
    logb[~(active | free)] = UTILITY_FLOOR * 2
    logb[free] = 0.0
    base = _utility(system, features, params, None)
    err = np.inf
    iteration = 0
    for iteration in range(1, max_iter + 1):
        flows, _ = _segment_flows(system, base + logb[system.col], origins)
        inflow = _inflows(system, flows)
        if free.any():
            # the edge schools take what they take; the rest of the origins' pupils is shared among
            # the balanced schools in proportion to their sizes (scaling them to all origins made
            # the targets infeasible and the factors run to their bounds)
            target = system.destinations * (max(float(origins.sum() - inflow[free].sum()), 0.0) / size_active)
        ratio = np.ones_like(target)
        ratio[active] = target[active] / np.maximum(inflow[active], 1e-300)
        # a school whose target exceeds what its candidate origins can send saturates at the bound
        checked = active & (logb < LOG_BALANCING_BOUND - 1e-6)
        err = float(np.max(np.abs(inflow[checked] / target[checked] - 1))) if checked.any() else 0.0
        if err < tol:
            break
        logb[active] += np.clip(np.log(ratio[active]), -5, 5)
        if not free.any():
            logb[active] -= np.median(logb[active])  # the factors are defined up to a constant
        logb[active] = np.clip(logb[active], -LOG_BALANCING_BOUND, LOG_BALANCING_BOUND)
    return logb, iteration, err


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fitted flow model: its form, parameters and diagnostics (frozen; nothing is fitted in a constructor).

    Attributes:
        name: label used in validation tables.
        features: names of the utility terms, in ``params`` order.
        params: estimated coefficients (per km for ``distance_km`` terms).
        constraint: ``"production"`` or ``"doubly"``.
        log_likelihood: maximised school-side log-likelihood (censored cells as one lump per school).
        n_pupils: observed pupils used (published plus suppressed).
        converged: whether the optimiser reported success.
        iterations: optimiser iterations (outer x inner for doubly constrained fits).
        std_errors: standard errors from the inverse Hessian approximation (NaN when unavailable).
        diagnostics: further figures (share of published pupils outside the candidate sets...).
    """

    name: str
    features: tuple[str, ...]
    params: np.ndarray
    constraint: Constraint
    log_likelihood: float
    n_pupils: float
    converged: bool
    iterations: int
    std_errors: np.ndarray
    diagnostics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def param(self, name: str) -> float:
        """Return one coefficient by feature name."""
        return float(self.params[self.features.index(name)])

    def table(self) -> pd.DataFrame:
        """Return the coefficients and standard errors as a table."""
        return pd.DataFrame({"feature": self.features, "coefficient": self.params, "std_error": self.std_errors})


def fill_schools(system: FlowSystem, flows: np.ndarray, tol: float = 1e-3, max_iter: int = 200) -> np.ndarray:
    """Scale flows so each school takes its size, keeping where its pupils live, no origin above its children.

    The attraction constraint. The likelihood calibrates each school's *shares* (which LSOAs its
    pupils come from), never its scale, so production-constrained flows over-fill some schools
    (inner London's, by 1.1-1.6 times in 2019) and under-fill others, and an LSOA's pupils follow
    from a regional participation share. Here each school's column is scaled to its size
    (``system.destinations``, its pupils of the phase), and an origin that would then send more
    pupils than its resident children (``system.origin_children``) is scaled down to them; the two
    alternate until every school is within ``tol`` (a doubly constrained fit with an inequality on
    the origins). An LSOA's state-school pupils are an output: few where the schools around it are
    small for its children (independent schooling, as in Kensington and Chelsea).

    Args:
        system: the candidate structure; only ``system.constrained`` schools are filled when given
            (at the edge of a sub-system schools lose origins outside it and keep their flows).
        flows: (n_o, k) non-negative flows, e.g. production-constrained ones.
        tol: stop when every filled school's scaling is within this relative distance of 1.
        max_iter: iteration limit (a school whose candidate origins cannot supply its size stays
            short of it).

    Returns:
        (n_o, k) flows: each filled school's inflow equals its size where its origins allow, and
        no origin sends more than its resident children.
    """
    flows = np.array(flows, dtype="float64", copy=True)
    cap = np.full(len(system.origins), np.inf) if system.origin_children is None else np.asarray(system.origin_children, dtype="float64")
    fill = np.ones(len(system.destinations), dtype=bool) if system.constrained is None else np.asarray(system.constrained, dtype=bool)
    for _ in range(max_iter):
        inflow = _inflows(system, flows)
        scale = np.where(fill & (inflow > 0), system.destinations / np.maximum(inflow, 1e-300), 1.0)
        flows *= scale[system.col]
        rows = flows.sum(axis=1)
        over = rows > cap
        if over.any():
            flows[over] *= (cap[over] / rows[over])[:, None]
        if np.max(np.abs(scale - 1.0)) < tol:
            break
    return flows


def predict(system: FlowSystem, result: FitResult, tol: float = 1e-3, max_iter: int = 500) -> np.ndarray:
    """Return modelled flows (n_o, k), pupils from each origin to each candidate school.

    Args:
        system: origins, destinations and candidates (need not be the one fitted on).
        result: a :class:`FitResult`; doubly constrained models are re-balanced on ``system``;
            attraction-constrained ones are filled to the schools' sizes (:func:`fill_schools`).
        tol: balancing tolerance (relative).
        max_iter: balancing iteration limit.

    Returns:
        Non-negative flows. Production and doubly constrained: row sums equal ``system.origins``
        times the model's relative participation factors (:func:`origin_participation`; 1 for
        models without ``origin_*`` terms). Attraction-constrained: each school's inflow equals
        its size (where its origins allow) and no row exceeds ``system.origin_children``.
    """
    logb = None
    if result.constraint == "doubly":
        logb, _, _ = balance(system, result.features, result.params, tol=tol, max_iter=max_iter)
    origins = system.origins * origin_participation(system, result.features, result.params)
    flows, _ = _segment_flows(system, _utility(system, result.features, result.params, logb), origins)
    if result.constraint == "attraction":
        flows = fill_schools(system, flows, tol=tol, max_iter=min(max_iter, 200))
    return flows


def nearest_school_flows(system: FlowSystem) -> np.ndarray:
    """Return flows allocating every origin's children to its nearest school (the naive baseline)."""
    flows = np.zeros(system.col.shape)
    flows[:, 0] = system.origins
    return flows


# ----------------------------------------------------------------------------------------------
# Observed flows and calibration
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ObservedCells:
    """Observed flows aligned with a :class:`FlowSystem`.

    Attributes:
        schools: (m,) destination indices of observed schools located in the system.
        urns: (m,) their URNs.
        total: (m,) each school's pupils before suppression.
        censored: (m,) pupils not in any candidate cell (suppressed cells plus published cells
            whose LSOA is not among the school's candidate origins).
        cell_origin, cell_slot, cell_school: published cells inside the candidate sets: origin
            index, candidate slot (0..k-1) and position in ``schools``.
        cell_pupils: their counts (>= 3).
        outside_pupils: published pupils whose LSOA is not in the system or not within the k candidates.
        unlocated_urns: observed schools absent from the system (no coordinates / not in the store).
    """

    schools: np.ndarray
    urns: np.ndarray
    total: np.ndarray
    censored: np.ndarray
    cell_origin: np.ndarray
    cell_slot: np.ndarray
    cell_school: np.ndarray
    cell_pupils: np.ndarray
    outside_pupils: float
    unlocated_urns: tuple[int, ...]

    def subset(self, keep: np.ndarray) -> ObservedCells:
        """Return the cells of the observed schools where ``keep`` (m,) is True."""
        keep = np.asarray(keep, dtype=bool)
        new_pos = np.cumsum(keep) - 1
        cells = keep[self.cell_school]
        return ObservedCells(
            self.schools[keep], self.urns[keep], self.total[keep], self.censored[keep],
            self.cell_origin[cells], self.cell_slot[cells], new_pos[self.cell_school[cells]], self.cell_pupils[cells],
            self.outside_pupils, self.unlocated_urns,
        )


def align_observed(system: FlowSystem, observed_flows: pd.DataFrame) -> ObservedCells:
    """Align the ``observed_flows`` store table with a system's candidate cells.

    Args:
        system: the candidate structure (its destinations must include the observed schools).
        observed_flows: the ``observed_flows`` table (published rows plus one suppressed row per school).

    Returns:
        :class:`ObservedCells`; schools absent from the system are listed in ``unlocated_urns``.
    """
    published = observed_flows[~observed_flows["suppressed"].astype(bool)]
    totals = observed_flows.groupby("urn")["school_total_pupils"].first()
    dest_index = pd.Series(np.arange(len(system.destination_ids)), index=system.destination_ids)
    located = totals.index[totals.index.isin(dest_index.index)]
    unlocated = tuple(int(u) for u in totals.index[~totals.index.isin(dest_index.index)])
    schools = dest_index.loc[located].to_numpy()
    pos_of_school = pd.Series(np.arange(len(schools)), index=located)
    origin_index = pd.Series(np.arange(len(system.origin_codes)), index=system.origin_codes)
    pub = published[published["urn"].isin(located)]
    o_idx = origin_index.reindex(pub["lsoa11_code"].astype(str).to_numpy()).to_numpy()
    s_pos = pos_of_school.loc[pub["urn"].to_numpy()].to_numpy()
    pupils = pub["pupils"].to_numpy(dtype="float64")
    in_system = ~np.isnan(o_idx)
    o_int = np.where(in_system, o_idx, 0).astype(np.int64)
    # slot of the school among the origin's candidates (-1 if absent)
    match = system.col[o_int] == schools[s_pos][:, None]
    has = match.any(axis=1) & in_system
    slot = match.argmax(axis=1)
    listed = np.bincount(s_pos[has], weights=pupils[has], minlength=len(schools))
    total = totals.loc[located].to_numpy(dtype="float64")
    return ObservedCells(
        schools=schools,
        urns=located.to_numpy(dtype="int64"),
        total=total,
        censored=np.maximum(total - listed, 0.0),
        cell_origin=o_int[has],
        cell_slot=slot[has],
        cell_school=s_pos[has],
        cell_pupils=pupils[has],
        outside_pupils=float(pupils[~has].sum()),
        unlocated_urns=unlocated,
    )


def _loglik_and_grad(system, observed: ObservedCells, features, params, log_balancing):
    """School-side censored log-likelihood and its gradient (see the module docstring)."""
    u = _utility(system, features, params, log_balancing)
    flows, parts = _segment_flows(system, u, system.origins * origin_participation(system, features, params))
    n_d = len(system.destination_ids)
    inflow = _inflows(system, flows)
    c = inflow[observed.schools]
    t_cells = flows[observed.cell_origin, observed.cell_slot]
    s = np.bincount(observed.cell_school, weights=t_cells, minlength=len(observed.schools))
    unlisted = np.maximum(c - s, 1e-12)
    c = np.maximum(c, 1e-12)
    ll = float(
        np.sum(observed.cell_pupils * np.log(np.maximum(t_cells, 1e-300)))
        + np.sum(observed.censored * np.log(unlisted))
        - np.sum(observed.total * np.log(c))
    )
    # weights w_ij: published n_ij + T_ij (censored_j/unlisted_j [unlisted] - total_j / C_j), observed schools only
    a_unlisted = np.zeros(n_d)
    a_all = np.zeros(n_d)
    a_unlisted[observed.schools] = observed.censored / unlisted
    a_all[observed.schools] = -observed.total / c
    w = flows * (a_unlisted + a_all)[system.col]
    # published cells: add n_ij and remove the unlisted term they do not have
    np.add.at(w, (observed.cell_origin, observed.cell_slot), observed.cell_pupils - t_cells * a_unlisted[observed.schools[observed.cell_school]])
    if len(parts) == 1:
        p = parts[0][1]
        resid = w - w.sum(axis=1, keepdims=True) * p
    else:
        g = w / np.where(flows > 0, flows, 1.0)  # dL/dT per cell
        resid = np.zeros(flows.shape)
        for f_s, p_s in parts:
            w_s = g * f_s
            resid += w_s - w_s.sum(axis=1, keepdims=True) * p_s
    grad = np.empty(len(features))
    w_origin = None
    for m, name in enumerate(features):
        f = system.feature(name)
        if name.startswith("origin_"):
            # d log T_ij / d gamma = x_i - (children-weighted mean of x under the factor), which
            # cancels in the school-side likelihood except through the first term
            if w_origin is None:
                w_origin = w.sum(axis=1)
            grad[m] = float(np.dot(w_origin, f))
        elif f.ndim == 1:
            grad[m] = float(np.dot(_inflows(system, resid), f))
        else:
            grad[m] = float(np.sum(resid * f))
    return ll, grad


#: Balancing tolerance and iteration cap inside fitting (the final prediction balances to 1e-3).
FIT_BALANCE_TOL = 1e-2
FIT_BALANCE_MAX_ITER = 60


def _start(features: tuple[str, ...]) -> np.ndarray:
    start = {"log_size": 1.0, "distance_km": -0.3, "log_distance": -1.0}
    return np.array([start.get(f, 0.0) for f in features])


def fit_model(
    system: FlowSystem,
    observed: ObservedCells,
    features: tuple[str, ...],
    constraint: Constraint = "production",
    name: str | None = None,
    outer_iterations: int = 3,
    max_iter: int = 200,
) -> FitResult:
    """Fit a destination-choice flow model by maximum likelihood on observed school-to-LSOA flows.

    Args:
        system: candidate structure covering the observed schools and the origins of their pupils.
        observed: :func:`align_observed` output (censored cells as one lump per school).
        features: utility terms (see :meth:`FlowSystem.feature`).
        constraint: ``"production"`` (origins' totals fixed) or ``"doubly"`` (schools' sizes too:
            balancing factors re-solved between ``outer_iterations`` rounds of optimisation).
        name: label (default from constraint and features).
        outer_iterations: rounds of (balance, optimise) for doubly constrained fits.
        max_iter: L-BFGS iterations per round.

    Returns:
        A frozen :class:`FitResult`.

    Raises:
        ModelError: when there are no observed cells to fit on or the likelihood is not finite.
    """
    from scipy.optimize import minimize

    features = tuple(features)
    if len(observed.schools) == 0 or len(observed.cell_pupils) == 0:
        raise ModelError("no observed flows inside the system to calibrate on")
    params = _start(features)
    scale = np.array([max(float(np.std(system.feature(f))), 1e-6) for f in features])
    logb = None
    rounds = outer_iterations if constraint == "doubly" else 1
    total_iter = 0
    converged = False
    res = None
    n = observed.total.sum()
    for _ in range(rounds):
        if constraint == "doubly":
            logb, _, _ = balance(system, features, params, logb, tol=FIT_BALANCE_TOL, max_iter=FIT_BALANCE_MAX_ITER)

        def objective(x, logb=logb):
            ll, grad = _loglik_and_grad(system, observed, features, x / scale, logb)
            return -ll / n, -grad / scale / n

        res = minimize(objective, params * scale, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
        if not np.isfinite(res.fun):
            raise ModelError(f"log-likelihood not finite while fitting {features}")
        params = res.x / scale
        total_iter += int(res.nit)
        converged = bool(res.success)
    try:
        hinv = res.hess_inv.todense() / n
        std = np.sqrt(np.clip(np.diag(hinv), 0, None)) / scale
    except Exception:  # pragma: no cover - optimiser without a Hessian approximation
        std = np.full(len(features), np.nan)
    return FitResult(
        name=name or f"{constraint} ({', '.join(features)})",
        features=features,
        params=params,
        constraint=constraint,
        log_likelihood=float(-res.fun * n),
        n_pupils=float(n),
        converged=converged,
        iterations=total_iter,
        std_errors=np.asarray(std, dtype="float64").ravel(),
        diagnostics=MappingProxyType(
            {
                "published_pupils_outside_candidates": observed.outside_pupils,
                "share_published_outside_candidates": observed.outside_pupils / max(observed.cell_pupils.sum() + observed.outside_pupils, 1),
                "unlocated_observed_schools": float(len(observed.unlocated_urns)),
            }
        ),
    )


def fit_gravity(system: FlowSystem, observed: ObservedCells, cost_func: CostFunc = "exp", constraint: Constraint = "production") -> FitResult:
    """Fit a plain gravity model (size attraction, one distance decay), spint style.

    Args:
        system, observed: as for :func:`fit_model`.
        cost_func: ``"exp"`` (exp(-beta d_km)) or ``"pow"`` (d_km^-beta).
        constraint: ``"production"`` or ``"doubly"`` (balancing factors; size then only sets targets).

    Returns:
        A :class:`FitResult` named like ``"production-constrained gravity, exp"``.
    """
    if cost_func not in GRAVITY_FEATURES:
        raise ModelError(f"cost_func must be 'exp' or 'pow', not {cost_func!r}")
    features = GRAVITY_FEATURES[cost_func]
    if constraint == "doubly":
        features = features[1:]  # size is absorbed by the balancing factors
    label = {"production": "production-constrained", "doubly": "doubly constrained"}[constraint]
    return fit_model(system, observed, features, constraint, name=f"{label} gravity, {cost_func}")


# ----------------------------------------------------------------------------------------------
# Validation measures
# ----------------------------------------------------------------------------------------------


def school_predictions(system: FlowSystem, flows: np.ndarray, observed: ObservedCells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return, for the observed schools, modelled pupils per candidate cell scaled to each school's total.

    Returns:
        ``(origin, school_pos, pupils)`` arrays over every candidate cell of the observed schools,
        where the school's modelled pupils are scaled so they add up to its published total.
    """
    is_obs = np.full(len(system.destination_ids), -1)
    is_obs[observed.schools] = np.arange(len(observed.schools))
    pos = is_obs[system.col]
    mask = pos >= 0
    origin = np.broadcast_to(np.arange(system.col.shape[0])[:, None], system.col.shape)[mask]
    school_pos = pos[mask]
    pred = flows[mask]
    sums = np.bincount(school_pos, weights=pred, minlength=len(observed.schools))
    pred = pred * (observed.total / np.maximum(sums, 1e-12))[school_pos]
    return origin, school_pos, pred


def cell_measures(observed: np.ndarray, modelled: np.ndarray) -> dict[str, float]:
    """Return the goodness of fit of modelled against observed flow cells (the same cells, in the same order).

    Args:
        observed: pupils per cell (school x LSOA), published; 0 where a modelled cell was not published.
        modelled: modelled pupils per cell, aligned with ``observed``.

    Returns:
        ``cpc`` (Common Part of Commuters, 2 sum min / (sum observed + sum modelled); 1 = identical),
        ``srmse`` (standardised root mean square error; 0 = perfect) and ``r_squared`` (of cell counts).
        NaN where there are no cells.
    """
    obs = np.asarray(observed, dtype="float64")
    prd = np.asarray(modelled, dtype="float64")
    n_cells = len(obs)
    if n_cells == 0 or obs.sum() + prd.sum() == 0:
        return {"cpc": float("nan"), "srmse": float("nan"), "r_squared": float("nan")}
    cpc = 2 * np.minimum(obs, prd).sum() / (obs.sum() + prd.sum())
    srmse = np.sqrt(np.sum((obs - prd) ** 2) / n_cells) / (obs.sum() / n_cells) if obs.sum() > 0 else float("nan")
    spread = np.sum((obs - obs.mean()) ** 2)
    r2 = 1 - np.sum((obs - prd) ** 2) / spread if spread > 0 else float("nan")
    return {"cpc": float(cpc), "srmse": float(srmse), "r_squared": float(r2)}


def validation_measures(system: FlowSystem, flows: np.ndarray, observed: ObservedCells, top_n: int = 20) -> dict[str, float]:
    """Compare modelled with observed flows for the observed schools (each school's flows scaled to its total).

    Observed values are the published cells (>= 3 pupils); suppressed cells count as 0 in the cell
    measures (their pupils are spread over unknown LSOAs), so a perfect model reaches a CPC of about
    0.9, not 1.

    Args:
        system: the candidate structure the flows are on.
        flows: (n_o, k) modelled flows.
        observed: the observed schools to compare (e.g. one held-out borough's).
        top_n: size of each school's predicted top-LSOA list.

    Returns:
        ``cpc`` (Common Part of Commuters, 2 sum min / (sum obs + sum pred)), ``srmse``,
        ``r_squared`` (of cell counts), ``top_n_share`` (share of each school's published pupils
        living in its top-``top_n`` predicted LSOAs, pooled), ``mean_trip_km_observed`` (published
        cells) and ``mean_trip_km_modelled`` (all modelled pupils of those schools).
    """
    origin, school_pos, pred = school_predictions(system, flows, observed)
    key_pred = pd.Series(pred, index=pd.MultiIndex.from_arrays([school_pos, origin]))
    key_obs = pd.Series(observed.cell_pupils, index=pd.MultiIndex.from_arrays([observed.cell_school, observed.cell_origin]))
    both = pd.concat([key_obs.rename("obs"), key_pred.rename("pred")], axis=1).fillna(0.0)
    obs = both["obs"].to_numpy()
    prd = both["pred"].to_numpy()
    measures = cell_measures(obs, prd)
    both["rank"] = both["pred"].where(both["pred"] > 0).groupby(level=0).rank(ascending=False, method="first")
    top = float(both.loc[both["rank"] <= top_n, "obs"].sum() / max(obs.sum(), 1e-12))
    dist = system.distance_km
    # distances of the published cells
    d_obs = dist[observed.cell_origin, observed.cell_slot]
    is_obs = np.full(len(system.destination_ids), -1)
    is_obs[observed.schools] = 1
    mask = is_obs[system.col] > 0
    return {
        **measures,
        "top_n_share": top,
        "mean_trip_km_observed": float(np.average(d_obs, weights=observed.cell_pupils)),
        "mean_trip_km_modelled": float(np.average(dist[mask], weights=flows[mask])) if flows[mask].sum() > 0 else float("nan"),
    }


def suppression_ceiling(system: FlowSystem, flows: np.ndarray, observed: ObservedCells, draws: int = 3, seed: int = 0) -> dict[str, float]:
    """Return the CPC a perfect model would score under the publisher's suppression of cells under 3.

    Each observed school's pupils (its published total) are drawn at random (multinomial) from
    ``flows``' shares, as if ``flows`` were the truth; cells under 3 are then suppressed, as the GLA
    did, and ``flows`` is scored against the draw with :func:`validation_measures`. Small cells
    and suppression keep even the true model well below a CPC of 1.

    Args:
        system: the candidate structure.
        flows: (n_o, k) modelled flows taken as the truth.
        observed: the observed schools (their totals set the draws' sizes).
        draws: number of random draws averaged.
        seed: random seed.

    Returns:
        ``cpc`` (mean over draws) and ``suppressed_share`` (share of drawn pupils in cells under 3).
    """
    origin, school_pos, pred = school_predictions(system, flows, observed)
    rng = np.random.default_rng(seed)
    order = np.argsort(school_pos, kind="stable")
    bounds = np.searchsorted(school_pos[order], np.arange(len(observed.schools) + 1))
    cpcs, shares = [], []
    for _ in range(draws):
        counts = np.zeros(len(pred))
        for j in range(len(observed.schools)):
            idx = order[bounds[j] : bounds[j + 1]]
            p = pred[idx]
            if p.sum() > 0:
                counts[idx] = rng.multinomial(int(round(observed.total[j])), p / p.sum())
        keep = counts >= 3
        o, sp = origin[keep], school_pos[keep]
        slot = np.argmax(system.col[o] == observed.schools[sp][:, None], axis=1)
        listed = np.bincount(sp, weights=counts[keep], minlength=len(observed.schools))
        drawn = ObservedCells(observed.schools, observed.urns, observed.total, np.maximum(observed.total - listed, 0.0),
                              o, slot, sp, counts[keep], 0.0, ())  # fmt: skip
        cpcs.append(validation_measures(system, flows, drawn)["cpc"])
        shares.append(float(counts[~keep].sum() / max(counts.sum(), 1.0)))
    return {"cpc": float(np.mean(cpcs)), "suppressed_share": float(np.mean(shares))}


def mean_trip_km(system: FlowSystem, flows: np.ndarray, origin_mask: np.ndarray | None = None) -> float:
    """Return the flow-weighted mean distance in km (optionally for a subset of origins)."""
    w = flows if origin_mask is None else flows[origin_mask]
    d = system.distance_km if origin_mask is None else system.distance_km[origin_mask]
    return float(np.average(d, weights=w)) if w.sum() > 0 else float("nan")


def calibrate_decay_to_trip_length(
    system: FlowSystem,
    result: FitResult,
    target_km: float,
    origin_mask: np.ndarray | None = None,
    decay_features: tuple[str, ...] = ("distance_km", "log_distance"),
) -> FitResult:
    """Scale a fitted model's distance-decay coefficients so its mean trip equals ``target_km`` (bisection).

    Used for primary flows (none published): the secondary model's decay is multiplied by a factor
    found so that the modelled mean trip (of ``origin_mask``'s origins) is ``target_km``.

    Args:
        system: the primary candidate structure.
        result: the fitted secondary model.
        target_km: target mean straight-line trip in km.
        origin_mask: origins over which the mean is taken (e.g. London LSOAs).
        decay_features: coefficients scaled together (every ``distance_x_*`` term is scaled too).

    Returns:
        A new :class:`FitResult` named ``"<name>, primary decay"`` with ``decay_factor`` in diagnostics.

    Raises:
        ModelError: when no factor in [0.05, 50] reaches the target.
    """
    scaled = np.array([f in decay_features or f.startswith("distance_x_") for f in result.features])

    def trip(factor: float) -> float:
        params = np.where(scaled, result.params * factor, result.params)
        trial = FitResult(result.name, result.features, params, result.constraint, np.nan, 0, True, 0, result.std_errors)
        # filling schools converges slowly where origins are capped; 30 rounds put the trip within
        # 1% of the converged one (the same rounds at every factor, so the bisection is monotone)
        return mean_trip_km(system, predict(system, trial, tol=1e-2, max_iter=30), origin_mask)

    lo, hi = np.log(0.05), np.log(50.0)
    t_lo, t_hi = trip(np.exp(lo)), trip(np.exp(hi))
    if not (t_hi <= target_km <= t_lo):
        raise ModelError(f"no decay factor reaches a mean trip of {target_km:.2f} km (range {t_hi:.2f}-{t_lo:.2f} km)")
    for _ in range(40):
        mid = (lo + hi) / 2
        t_mid = trip(np.exp(mid))
        if t_mid > target_km:
            lo = mid
        else:
            hi = mid
        if abs(t_mid / target_km - 1) < 2e-3 or hi - lo < 1e-4:
            break
    factor = float(np.exp(mid))
    params = np.where(scaled, result.params * factor, result.params)
    return FitResult(
        name=f"{result.name}, primary decay",
        features=result.features,
        params=params,
        constraint=result.constraint,
        log_likelihood=float("nan"),
        n_pupils=0.0,
        converged=True,
        iterations=0,
        std_errors=np.full(len(params), np.nan),
        diagnostics=MappingProxyType({"decay_factor": factor, "target_mean_trip_km": float(target_km), "nts_ratio": NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO}),
    )


def cross_validate(
    system: FlowSystem,
    observed: ObservedCells,
    groups: np.ndarray,
    fit,
    folds: np.ndarray | None = None,
) -> np.ndarray:
    """Cross-validate by group (borough): fit without each group's schools, predict them.

    Args:
        system: the candidate structure.
        observed: all observed schools.
        groups: (m,) group label (authority code) of each observed school.
        fit: ``fit(system, observed_subset) -> FitResult``.
        folds: the groups held out in turn (default every group).

    Returns:
        (n_o, k) flows holding, in each held-out school's cells, the prediction of the model fitted
        without its group (zeros elsewhere); score with :func:`validation_measures` on the
        held-out schools. Doubly constrained predictions are balanced to 1% (150 iterations at most).
    """
    groups = np.asarray(groups)
    out = np.zeros(system.col.shape)
    for g in pd.unique(groups) if folds is None else folds:
        held = groups == g
        result = fit(system, observed.subset(~held))
        pred = predict(system, result, tol=1e-2, max_iter=150)
        mask = np.isin(system.col, observed.schools[held])
        out[mask] = pred[mask]
    return out


def cross_border_shares(system: FlowSystem, flows: np.ndarray, authorities: list[str] | None = None) -> pd.DataFrame:
    """Return, per authority of residence, modelled resident pupils and the share taught outside it.

    Args:
        system: candidate structure (origin and destination authorities).
        flows: (n_o, k) modelled flows.
        authorities: authority codes to report (default all).

    Returns:
        DataFrame ``authority_code, resident_pupils, school_outside_la, share_outside``.
    """
    outside = system.destination_authority[system.col] != system.origin_authority[:, None]
    frame = pd.DataFrame({"authority_code": system.origin_authority, "resident_pupils": flows.sum(axis=1), "school_outside_la": (flows * outside).sum(axis=1)})
    out = frame.groupby("authority_code", as_index=False).sum()
    out["share_outside"] = out["school_outside_la"] / out["resident_pupils"].where(out["resident_pupils"] > 0)
    if authorities is not None:
        out = out[out["authority_code"].isin(authorities)]
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Flow tables and queries (the store's ``flows`` table)
# ----------------------------------------------------------------------------------------------


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
            "phase": pd.Categorical([phase] * len(rows), categories=["primary", "secondary"]),
            "pupils": flows[rows, slots].astype("float32"),
            "source": pd.Categorical(["modelled"] * len(rows), categories=["observed", "modelled"]),
            "distance_km": system.distance_km[rows, slots].astype("float32"),
        }
    )


def _suggest(value, choices, n: int = 3) -> str:
    from rapidfuzz import process

    matches = process.extract(str(value), [str(c) for c in choices], limit=n)
    return ", ".join(m[0] for m in matches)


def _select_source(flows: pd.DataFrame, source: str) -> pd.DataFrame:
    if source == "best":
        has_obs = flows.loc[flows["source"] == "observed", "urn"].unique()
        return flows[(flows["source"] == "observed") | ~flows["urn"].isin(has_obs)]
    if source in ("observed", "modelled"):
        return flows[flows["source"] == source]
    raise ValueError(f"source must be 'observed', 'modelled' or 'best', not {source!r}")


def _with_shares(frame: pd.DataFrame, total: float) -> pd.DataFrame:
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
        raise UnknownSchool(f"no flows for URN {urn}; close matches: {_suggest(urn, pd.unique(flows['urn']))}")
    if phase is not None:
        rows = rows[rows["phase"] == phase]
    rows = _select_source(rows, source)
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
            with ``best``, observed flows replace modelled ones school by school).
        phase: restrict to one phase.
        closed_urns: schools closed since the observed flows (2015). With ``best``, their
            observed flows are left out when they have no modelled ones: their successors'
            modelled (2019) flows count those children already.

    Returns:
        ``urn, pupils, share, cumulative_share, distance_km, source`` (shares of the LSOA's pupils).

    Raises:
        UnknownArea: when the code has no flows, naming close matches.
    """
    code = str(lsoa11_code).strip().upper()
    rows = flows[flows["lsoa11_code"] == code]
    if rows.empty:
        raise UnknownArea(f"no flows for LSOA {lsoa11_code!r}; close matches: {_suggest(code, pd.unique(flows['lsoa11_code'].dropna()))}")
    if phase is not None:
        rows = rows[rows["phase"] == phase]
    if source == "best":
        obs_urns = flows.loc[flows["source"] == "observed", "urn"].unique()
        rows = rows[(rows["source"] == "observed") | ~rows["urn"].isin(obs_urns)]
        if closed_urns is not None:
            modelled_urns = flows.loc[flows["source"] == "modelled", "urn"].unique()
            gone = pd.Index(list(closed_urns)).difference(pd.Index(modelled_urns))
            rows = rows[~((rows["source"] == "observed") & rows["urn"].isin(gone))]
    else:
        rows = _select_source(rows, source)
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
    key = f["urn"].astype(str) + "|" + f["phase"].astype(str)
    codes, uniq = pd.factorize(key, sort=False)
    tot = np.bincount(codes, weights=w)
    mean = np.bincount(codes, weights=w * d) / tot
    cum = pd.Series(w).groupby(codes).cumsum().to_numpy() / tot[codes]
    p90 = pd.Series(np.where(cum >= 0.9, d, np.inf)).groupby(codes).min().to_numpy()
    first = f.groupby(codes).first()
    return pd.DataFrame({"urn": first["urn"].to_numpy(), "phase": first["phase"].astype(str).to_numpy(), "pupils": tot, "mean_distance_km": mean, "p90_distance_km": p90})


# ----------------------------------------------------------------------------------------------
# All England: calibration on London, prediction everywhere
# ----------------------------------------------------------------------------------------------

#: Candidate schools per LSOA, by phase (99.1% of published London pupils live within their school's
#: 50 nearest-secondary-school candidate sets).
K_NEAREST: Mapping[str, int] = MappingProxyType({"secondary": 50, "primary": 30})
#: Origins within this distance (km) of an observed school form the calibration system.
CALIBRATION_RADIUS_KM = 15.0
#: The secondary model used for the store's flows (chosen by ``atlas validate flows``): the
#: competition and social-sorting choice model, attraction-constrained (each school filled to its
#: roll, no LSOA above its children: :func:`fill_schools`). Production-constrained, this model
#: extrapolated outside London (England's mean modelled secondary trip 6.9 km straight-line, the
#: South West's 15.9 km, against the National Travel Survey's 3.4 miles by road), because rural
#: children were spread over far schools with a decay set where schools are dense; filled to their
#: rolls, rural schools draw from around them (England 3.4 km, South West 3.8 km).
FINAL_FEATURES = COMPETITION_FEATURES
FINAL_CONSTRAINT: Constraint = "attraction"
#: Features dropped from the secondary model for primary flows (secondary-only attributes).
SECONDARY_ONLY_FEATURES = ("selective", "distance_x_selective", "progress8", "attainment8", "distance_x_attainment8")
LONDON_REGION = "E12000007"


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


#: Census date of the observed flows (January 2015): calibration uses the schools open then.
CALIBRATION_DATE = "2015-01-15"


def schools_open_in(schools: pd.DataFrame, date: str) -> np.ndarray:
    """Return the URNs (int64) of schools open on ``date`` (opened before, not closed before it; unknown dates count as open)."""
    when = pd.Timestamp(date)
    ok = pd.Series(True, index=schools.index)
    if "open_date" in schools:
        ok &= ~(pd.to_datetime(schools["open_date"], errors="coerce") > when).fillna(False)
    if "close_date" in schools:
        ok &= ~(pd.to_datetime(schools["close_date"], errors="coerce") < when).fillna(False)
    return pd.to_numeric(schools.loc[ok, "urn"], errors="coerce").dropna().astype("int64").to_numpy()


def interior_schools(destinations: pd.DataFrame, observed_schools: pd.DataFrame, radius_km: float, margin_km: float = 5.0) -> np.ndarray:
    """Return (n_d,) True for schools within ``radius_km - margin_km`` of an observed school (inside a sub-system)."""
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(observed_schools[["easting", "northing"]].to_numpy()).query(destinations[["easting", "northing"]].to_numpy())
    return dist <= (radius_km - margin_km) * 1000.0


def secondary_children_2015(lsoas: pd.DataFrame) -> np.ndarray:
    """Estimate each LSOA's children aged 11-15 in 2015, the year of the observed flows (no 2015 estimates are stored).

    The average of two estimators from the mid-2019 estimates: the same ages four years later
    (ages 11-15 in 2019: right where an area's age mix is stable) and the same cohort four years
    later (ages 15-17 in 2019, times 5/3: right where new housing has changed the number of
    children since 2015; age 18 is left out, as young people leave home for study and work).
    Averaging the two improves the out-of-sample CPC of the calibrated model (0.594 -> 0.596)
    over either alone.

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


def calibration_system(lsoas: pd.DataFrame, schools: pd.DataFrame, observed_flows: pd.DataFrame, k: int = K_NEAREST["secondary"], radius_km: float = CALIBRATION_RADIUS_KM) -> tuple[FlowSystem, ObservedCells]:
    """Return the secondary system for calibration (2015 schools and rolls) around the observed schools.

    Args:
        lsoas, schools, observed_flows: store tables.
        k: candidate schools per LSOA.
        radius_km: origins within this distance of an observed school are included.

    Returns:
        ``(system, observed cells)``; destinations are the schools with a 2015 roll (open then),
        sized by their 2015 pupils aged 11-15 (an observed school without a 2015 roll in the
        registers, having closed or changed URN since, takes its published January 2015 total);
        origins' children are the 2015 estimates of :func:`secondary_children_2015`.
    """
    from scipy.spatial import cKDTree

    origins = phase_origins(lsoas, "secondary")
    origins["children"] = secondary_children_2015(lsoas)
    obs_urns = pd.unique(observed_flows["urn"].dropna().astype("int64"))
    # schools that closed or changed URN before the other registers have no 2015 roll there; the
    # published flows give each observed school's January 2015 total, the same measure
    published_total = observed_flows.groupby("urn")["school_total_pupils"].first()
    no_roll = schools["pupils_2015"].isna() & schools["urn"].isin(published_total.index)
    if no_roll.any():
        schools = schools.copy()
        schools.loc[no_roll, "pupils_2015"] = schools.loc[no_roll, "urn"].map(published_total).to_numpy(dtype="float64")
    dest, _ = phase_destinations(schools, "secondary", "pupils_2015", open_only=False)
    dest = dest[dest["urn"].isin(schools_open_in(schools, CALIBRATION_DATE)) | dest["urn"].isin(obs_urns)]
    origins, _ = with_participation(origins, dest)
    at = dest[dest["urn"].isin(obs_urns)]
    if at.empty:
        raise ModelError("none of the observed schools is among the located secondary schools")
    dist, _ = cKDTree(at[["easting", "northing"]].to_numpy()).query(origins[["easting", "northing"]].to_numpy())
    near = origins[dist <= radius_km * 1000.0]
    system = build_system(near, dest, k=k, constrained=interior_schools(dest, at, radius_km))
    return system, align_observed(system, observed_flows)


@dataclass(frozen=True, eq=False)
class EnglandFlows:
    """Modelled flows for all England, both phases, with the fits and what was left out.

    Attributes:
        flows: ``urn, lsoa11_code, phase, pupils, source ("modelled"), distance_km``.
        secondary: the fitted secondary model.
        primary: the primary model (secondary form, decay scaled to the NTS trip ratio).
        participation: per phase and region, the participation share applied.
        unlocated: schools without coordinates (phase, urn, school_name, authority_code, pupils).
        diagnostics: timings and trip lengths.
        systems: the national :class:`FlowSystem` per phase (for validation; not stored).
    """

    flows: pd.DataFrame
    secondary: FitResult
    primary: FitResult
    participation: pd.DataFrame
    unlocated: pd.DataFrame
    diagnostics: Mapping[str, float]
    systems: Mapping[str, FlowSystem]
    modelled: Mapping[str, np.ndarray]


def model_england(
    lsoas: pd.DataFrame,
    schools: pd.DataFrame,
    observed_flows: pd.DataFrame,
    features: tuple[str, ...] = FINAL_FEATURES,
    constraint: Constraint = FINAL_CONSTRAINT,
    year: int = 2019,
    min_pupils: float = 0.05,
) -> EnglandFlows:
    """Calibrate on the London flows and model secondary and primary flows for every LSOA in England.

    Secondary: the model is fitted by censored maximum likelihood on the published 2015 London
    flows (2015 schools and rolls), then applied to ``year``'s children and schools. Primary: the
    secondary model without secondary-only terms, its decay scaled so that the mean modelled
    primary trip in England is :data:`NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO` times the mean
    modelled secondary trip in England (National Travel Survey 2014, national averages: 1.6 vs
    3.4 miles). See
    :data:`PRIMARY_ASSUMPTION`.

    Args:
        lsoas, schools, observed_flows: store tables.
        features, constraint: the secondary model's form.
        year: population and roll year (2019).
        min_pupils: modelled cells under this many pupils are dropped from the table.

    Returns:
        :class:`EnglandFlows`.
    """
    import time

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cal_system, cal_observed = calibration_system(lsoas, schools, observed_flows)
    timings["calibration_system_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    secondary = fit_model(cal_system, cal_observed, features, constraint, name=f"destination choice ({constraint})")
    timings["calibration_s"] = time.perf_counter() - t0

    frames, unlocated, shares, systems, modelled = [], [], [], {}, {}
    diag: dict[str, float] = {}
    for phase in ("secondary", "primary"):
        t0 = time.perf_counter()
        dest, missing = phase_destinations(schools, phase, f"pupils_{year}")
        origins, share = with_participation(phase_origins(lsoas, phase, year), dest)
        system = build_system(origins, dest, k=K_NEAREST[phase], competition_radius_km=COMPETITION_RADIUS_KM[phase])
        systems[phase] = system
        london = (origins["region_code"] == LONDON_REGION).to_numpy()
        if phase == "secondary":
            result = secondary
        else:
            keep = [f for f in secondary.features if f not in SECONDARY_ONLY_FEATURES]
            idx = [secondary.features.index(f) for f in keep]
            base = FitResult(secondary.name, tuple(keep), secondary.params[idx], secondary.constraint, np.nan, 0.0, True, 0, secondary.std_errors[idx])
            target = diag["secondary_mean_trip_km_england"] * NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO
            result = calibrate_decay_to_trip_length(system, base, target)
            primary = result
        flows = predict(system, result)
        modelled[phase] = flows
        diag[f"{phase}_mean_trip_km_london"] = mean_trip_km(system, flows, london)
        diag[f"{phase}_mean_trip_km_england"] = mean_trip_km(system, flows)
        # share of resident children the model places in state-funded schools (an output of the
        # attraction constraint: schools filled to their rolls, no LSOA above its children)
        children = system.origin_children if system.origin_children is not None else system.origins
        diag[f"{phase}_state_share_england"] = float(flows.sum() / max(children.sum(), 1e-12))
        diag[f"{phase}_state_share_london"] = float(flows[london].sum() / max(children[london].sum(), 1e-12))
        frame = flows_frame(system, flows, phase, min_pupils)
        diag[f"{phase}_pupils_in_dropped_cells"] = float(flows.sum() - frame["pupils"].sum())
        frames.append(frame)
        unlocated.append(missing.assign(phase=phase))
        shares.append(share.assign(phase=phase))
        timings[f"{phase}_s"] = time.perf_counter() - t0
    diag.update(timings)
    return EnglandFlows(
        flows=pd.concat(frames, ignore_index=True),
        secondary=secondary,
        primary=primary,
        participation=pd.concat(shares, ignore_index=True),
        unlocated=pd.concat(unlocated, ignore_index=True),
        diagnostics=MappingProxyType(diag),
        systems=MappingProxyType(systems),
        modelled=MappingProxyType(modelled),
    )


# ----------------------------------------------------------------------------------------------
# Validation against the published flows and DfE's cross-border counts
# ----------------------------------------------------------------------------------------------

#: Models compared by :func:`validate`: (label, features, constraint). The nearest-school baseline is added.
VALIDATION_MODELS: tuple[tuple[str, tuple[str, ...], Constraint], ...] = (
    ("production-constrained gravity, exp", GRAVITY_FEATURES["exp"], "production"),
    ("production-constrained gravity, pow", GRAVITY_FEATURES["pow"], "production"),
    ("doubly constrained gravity, exp", GRAVITY_FEATURES["exp"][1:], "doubly"),
    ("doubly constrained gravity, pow", GRAVITY_FEATURES["pow"][1:], "doubly"),
    ("destination choice, doubly constrained", CHOICE_FEATURES, "doubly"),
    ("destination choice, production-constrained", PRODUCTION_CHOICE_FEATURES, "production"),
    ("destination choice, full (production-constrained)", FULL_CHOICE_FEATURES, "production"),
    ("destination choice, full + competition and social sorting", COMPETITION_FEATURES, "production"),
    ("destination choice, full, attraction-constrained", FULL_CHOICE_FEATURES, "attraction"),
    ("destination choice, full + competition and social sorting, attraction-constrained (the store's model)", COMPETITION_FEATURES, "attraction"),
)
NEAREST_SCHOOL = "nearest school (naive baseline)"


@dataclass(frozen=True, eq=False)
class Validation:
    """Out-of-sample validation results.

    Attributes:
        measures: one row per model: model, constraint, cpc, srmse, r_squared, top_n_share,
            mean_trip_km_observed, mean_trip_km_modelled, folds, seconds.
        cross_border: one row per (authority, model): authority_code, la_name, model,
            dfe_share_outside, modelled_share_outside, difference_pp.
        notes: lines describing the method (censoring, scaling, the primary assumption).
    """

    measures: pd.DataFrame
    cross_border: pd.DataFrame
    notes: tuple[str, ...]


def _not_modelled_note(schools: pd.DataFrame, urns: tuple[int, ...]) -> str:
    """Describe the observed schools left out of the calibration system, by reason."""
    if not urns:
        return "Every observed school is among the modelled destinations."
    phase = schools.drop_duplicates("urn").set_index("urn")["phase"].astype("string").reindex(list(urns)).fillna("not in the store")
    excluded = phase.isin(EXCLUDED_PHASES)
    parts = [f"{int(n)} {name}" for name, n in phase[excluded].value_counts().items()]
    other = phase.index[~excluded].tolist()
    text = f"{len(urns)} observed school(s) are not mainstream destinations and are left out: " + ", ".join(parts) + " schools"
    if other:
        text += f"; {len(other)} other(s) without coordinates or roll: {', '.join(map(str, other[:10]))}"
    return text + "."


def validate(
    lsoas: pd.DataFrame,
    schools: pd.DataFrame,
    observed_flows: pd.DataFrame,
    cross_border: pd.DataFrame,
    models: tuple[tuple[str, tuple[str, ...], Constraint], ...] = VALIDATION_MODELS,
    max_folds: int | None = None,
    cross_border_year: str = "2019/20",
) -> Validation:
    """Cross-validate each model by borough on the London flows and compare cross-border shares with DfE's.

    Out of sample: for each borough, every model is fitted without that borough's observed schools
    and predicts their pupils' home LSOAs; measures pool all held-out schools (see
    :func:`validation_measures`: each school's modelled pupils are scaled to its published total;
    suppressed cells count as zero observed). Cross-border: each model fitted on all observed
    schools is applied to 2019 children and schools (origins within 15 km of London's observed
    schools) and the share of each inner London authority's resident pupils taught outside it is
    compared with DfE's published share for ``cross_border_year`` (secondary).

    Args:
        lsoas, schools, observed_flows, cross_border: store tables.
        models: (label, features, constraint) triples.
        max_folds: use only the first ``max_folds`` boroughs (quick checks and tests).
        cross_border_year: academic year of the DfE counts compared.

    Returns:
        :class:`Validation`.
    """
    import time

    system, observed = calibration_system(lsoas, schools, observed_flows)
    school_borough = system.destination_authority[observed.schools]
    boroughs = pd.unique(school_borough)
    if max_folds is not None:
        boroughs = boroughs[:max_folds]
    in_folds = np.isin(school_borough, boroughs)
    held = observed.subset(in_folds)

    # 2019 system for cross-border shares
    dest19, _ = phase_destinations(schools, "secondary", "pupils_2019")
    origins19, _ = with_participation(phase_origins(lsoas, "secondary"), dest19)
    origins19 = origins19[origins19["lsoa11_code"].isin(system.origin_codes)]
    at19 = dest19[dest19["urn"].isin(system.destination_ids[observed.schools])]
    system19 = build_system(origins19, dest19, k=system.k, constrained=interior_schools(dest19, at19, CALIBRATION_RADIUS_KM))
    cb = cross_border[(cross_border["phase"] == "secondary") & (cross_border["academic_year"] == cross_border_year)]
    dfe = cb.assign(dfe_share_outside=cb["school_outside_la"].astype("float64") / cb["resident_pupils"].astype("float64"))[["authority_code", "la_name", "dfe_share_outside"]]

    rows, cb_rows = [], []
    for label, features, constraint in models:
        start = time.perf_counter()
        flows = cross_validate(system, observed, school_borough, lambda s, o, f=features, c=constraint: fit_model(s, o, f, c), folds=boroughs)
        m = validation_measures(system, flows, held)
        full = fit_model(system, observed, features, constraint)
        shares = cross_border_shares(system19, predict(system19, full), list(dfe["authority_code"]))
        rows.append({"model": label, "constraint": constraint, **m, "folds": len(boroughs), "seconds": time.perf_counter() - start})
        for rec in dfe.merge(shares, on="authority_code", how="left").itertuples():
            cb_rows.append({"authority_code": rec.authority_code, "la_name": rec.la_name, "model": label, "dfe_share_outside": rec.dfe_share_outside,
                            "modelled_share_outside": rec.share_outside, "difference_pp": 100 * (rec.share_outside - rec.dfe_share_outside)})  # fmt: skip
    final = fit_model(system, observed, FINAL_FEATURES, FINAL_CONSTRAINT)
    ceiling = suppression_ceiling(system, predict(system, final), held)
    nearest = nearest_school_flows(system)
    rows.append({"model": NEAREST_SCHOOL, "constraint": "-", **validation_measures(system, nearest, held), "folds": len(boroughs), "seconds": 0.0})
    shares = cross_border_shares(system19, nearest_school_flows(system19), list(dfe["authority_code"]))
    for rec in dfe.merge(shares, on="authority_code", how="left").itertuples():
        cb_rows.append({"authority_code": rec.authority_code, "la_name": rec.la_name, "model": NEAREST_SCHOOL, "dfe_share_outside": rec.dfe_share_outside,
                        "modelled_share_outside": rec.share_outside, "difference_pp": 100 * (rec.share_outside - rec.dfe_share_outside)})  # fmt: skip
    notes = (
        f"Out of sample: {len(boroughs)} borough folds, {len(held.schools)} held-out schools, {held.total.sum():,.0f} pupils "
        f"({held.censored.sum() / held.total.sum():.0%} in suppressed cells, treated as censored when fitting, as 0 in the cell measures).",
        "Each school's modelled pupils are scaled to its published total (which includes sixth formers) before comparison.",
        f"Ceiling: pupils drawn from the store's model itself, with cells under 3 suppressed ({ceiling['suppressed_share']:.0%} of them), "
        f"give that model a CPC of {ceiling['cpc']:.3f}: a perfect model scores about that here, not 1.",
        _not_modelled_note(schools, observed.unlocated_urns),
        f"Published pupils living outside the {system.k} nearest-school candidate sets: {observed.outside_pupils:,.0f}.",
        f"Cross-border: secondary, DfE {cross_border_year}, modelled 2019 children and schools.",
        PRIMARY_ASSUMPTION,
    )
    return Validation(pd.DataFrame(rows), pd.DataFrame(cb_rows), notes)
