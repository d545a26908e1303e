"""The Atlas's shared vocabulary: each concept that more than one module uses, defined once.

Phases and their ages, year groups, which schools teach a phase, the open-state-funded rule,
places (capacity) per use, the disclosure threshold, the DfE's operating margins and the URN type.
Everything here is a constant or a small pure function over the store's tables; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = [
    "PHASES",
    "SCHOOL_PHASES",
    "PHASE_SCHOOL_PHASES",
    "CENSUS_AGES",
    "MIDYEAR_AGES",
    "YOUNGER_SHARE",
    "YEAR_GROUPS",
    "YEAR_GROUP_LABELS",
    "DISCLOSURE_THRESHOLD",
    "OPERATING_MARGINS_PCT",
    "URN_DTYPE",
    "academic_year",
    "academic_year_end",
    "is_state_funded",
    "check_phase",
    "census_age_columns",
    "children_of_phase",
    "is_open_state_funded",
    "teaches_phase",
    "first_year_under_margin",
]

#: The two pupil phases the Atlas models, projects and maps.
PHASES: tuple[str, ...] = ("primary", "secondary")

#: A school's phase in the store's ``schools.phase`` column (what the school is, not what a pupil is in).
SCHOOL_PHASES: tuple[str, ...] = ("primary", "secondary", "all-through", "16 plus", "nursery", "special", "pru", "other")

#: The school phases that teach each pupil phase (an all-through school teaches both).
PHASE_SCHOOL_PHASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"primary": ("primary", "all-through"), "secondary": ("secondary", "all-through")}
)

#: Census ages: a phase's ages on 31 August at the start of the academic year, inclusive
#: (Reception to Year 6 are 4-10, Years 7 to 11 are 11-15). ONS mid-year estimates for year Y
#: read at these ages count the children of the academic year that starts in September of Y.
CENSUS_AGES: Mapping[str, tuple[int, int]] = MappingProxyType({"primary": (4, 10), "secondary": (11, 15)})

#: Mid-year ages: a phase's ages on 30 June at the end of the academic year, inclusive, for year-group
#: arithmetic on mid-year estimates (a year group of age ``a`` is ``(1 - YOUNGER_SHARE) * P[a] + YOUNGER_SHARE * P[a-1]``).
MIDYEAR_AGES: Mapping[str, tuple[int, int]] = MappingProxyType({"primary": (5, 11), "secondary": (12, 16)})

#: Share of a year group one year younger than its nominal mid-year age (born July or August).
YOUNGER_SHARE = 2.0 / 12.0

#: Year groups of each phase, youngest first.
YEAR_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"primary": ("R", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6"), "secondary": ("Y7", "Y8", "Y9", "Y10", "Y11")}
)

#: The year groups of each phase in words.
YEAR_GROUP_LABELS: Mapping[str, str] = MappingProxyType({"primary": "Reception to Year 6", "secondary": "Years 7 to 11"})

#: Observed pupil counts below this are never shown (the publishers' suppression threshold), pupils.
DISCLOSURE_THRESHOLD = 3

#: The DfE's operating margins: spare places below these shares of places are tight, percent.
OPERATING_MARGINS_PCT: tuple[float, ...] = (2.0, 5.0)

#: The dtype of a URN (unique reference number of a school) in every table, from reading to showing.
URN_DTYPE = "int64"


def check_phase(phase: str) -> str:
    """Return ``phase`` if it is one of :data:`PHASES`.

    Raises:
        ValueError: naming the phase and the choices.
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}, not {phase!r}")
    return phase


def census_age_columns(phase: str, year: int) -> list[str]:
    """Return the store's ``age_<a>_<year>`` columns of a phase's census ages (:data:`CENSUS_AGES`).

    Args:
        phase: ``primary`` or ``secondary``.
        year: mid-year of the population estimate (2019 or 2020 in the store).
    """
    low, high = CENSUS_AGES[check_phase(phase)]
    return [f"age_{age}_{year}" for age in range(low, high + 1)]


def children_of_phase(lsoas: pd.DataFrame, phase: str, year: int = 2019) -> pd.Series:
    """Return the children of a phase's census ages living in each LSOA (mid-``year`` estimate).

    The one definition behind the app's children layer, the report's map and the flows model's origins.

    Args:
        lsoas: LSOAs with ``lsoa11_code`` and ``age_<a>_<year>`` columns (children, persons).
        phase: ``primary`` (ages 4-10) or ``secondary`` (ages 11-15), :data:`CENSUS_AGES`.
        year: mid-year of the estimate (2019 or 2020).

    Returns:
        Float Series of children, indexed by ``lsoa11_code`` (NaN where every age is missing).

    Raises:
        ValueError: an unknown phase, or a missing age column (named).
    """
    columns = census_age_columns(phase, year)
    missing = [c for c in columns if c not in lsoas.columns]
    if missing:
        raise ValueError(f"LSOA table has no column {missing[0]!r} (children by age, mid-{year})")
    values = lsoas[columns].astype("float64").sum(axis=1, min_count=1)
    return pd.Series(values.to_numpy(), index=pd.Index(lsoas["lsoa11_code"].astype(str), name="lsoa11_code"), name="children")


def is_state_funded(schools: pd.DataFrame) -> pd.Series:
    """Return True for each state-funded school, open or closed (the store's ``is_state_funded``; missing counts as False)."""
    return schools["is_state_funded"].fillna(False).astype(bool)


def is_open_state_funded(schools: pd.DataFrame) -> pd.Series:
    """Return True for each school that is open and state-funded (the store's ``is_open`` and ``is_state_funded``).

    A missing flag counts as False.
    """
    return is_state_funded(schools) & schools["is_open"].fillna(False).astype(bool)


def teaches_phase(schools: pd.DataFrame, phase: str) -> pd.Series:
    """Return True for each school whose school phase teaches the pupil ``phase`` (:data:`PHASE_SCHOOL_PHASES`)."""
    return schools["phase"].isin(PHASE_SCHOOL_PHASES[check_phase(phase)]).fillna(False).astype(bool)


def first_year_under_margin(years: pd.Series, spare_pct: pd.Series, margin_pct: float) -> str | None:
    """Return the first academic year whose spare places fall below a margin, or None.

    Args:
        years: academic years (``"2026/27"``), in order.
        spare_pct: spare places as a percentage of places, aligned with ``years``.
        margin_pct: the margin, percent (one of :data:`OPERATING_MARGINS_PCT`).
    """
    under = np.asarray(pd.to_numeric(spare_pct, errors="coerce") < margin_pct)
    hits = np.flatnonzero(under)
    return str(np.asarray(years)[hits[0]]) if hits.size else None


def academic_year(end_year: int) -> str:
    """Return the label of the academic year ending in the summer of ``end_year`` (2025 -> ``"2024/25"``)."""
    end_year = int(end_year)
    return f"{end_year - 1}/{end_year % 100:02d}"


def academic_year_end(label: str) -> int:
    """Return the calendar year in which academic year ``label`` ends (``"2024/25"`` -> 2025).

    Raises:
        ValueError: naming the label when it is not like ``2024/25``.
    """
    text = str(label).strip()
    try:
        start, end = text.split("/")
        start_year = int(start)
        if len(start) != 4 or int(end) != (start_year + 1) % 100:
            raise ValueError
    except ValueError:
        raise ValueError(f"academic year {label!r} is not like '2024/25'") from None
    return start_year + 1
