"""Pupil projections by the cohort method, with prediction intervals, capacity and surplus.

Method (what authorities call cohort or grade-progression projection), per authority and phase:

1. **Children by single year of age** come from the ONS mid-year estimates for mid-2019 and
   mid-2020 (ages 0-90, 90 meaning 90 and over), summed to current authorities.
2. **Cohort ratio** ``s[a] = P_2020[a+1] / P_2019[a]``: how a cohort aged ``a`` changed in one
   year (deaths and net migration). Children are rolled forward one year at a time:
   ``P_{y+1}[a+1] = s[a] * P_y[a]``. For ages 0-17 the ratio is smoothed over three adjacent
   ages (in logs) so one noisy single-year estimate does not steer a whole cohort.
3. **Birth ratio** ``b = P_y[0] / sum(P_y[20..44])``, the mean of 2019 and 2020: England's
   future children aged 0 are ``b`` times its projected adults aged 20-44 (a general fertility
   proxy; the files hold persons, not women); each authority's follow England's index.
4. **Year groups and ages.** An academic year ``"Y/Y+1"`` is matched with the mid-year
   estimate of June ``Y+1`` (the summer in which it ends), when ten-twelfths of each year group
   have their birthday behind them: Reception is age 5, Year 6 age 11, Year 7 age 12 and
   Year 11 age 16; each year group is 5/6 of its age plus 1/6 of the age below (children born
   in July and August, :func:`children_of_phase`). Primary (R-Y6) = ages 5-11; secondary
   (Y7-11) = ages 12-16. (Counting whole ages only was tried first: the 1/6 mix is the correct
   demography and lowered the calibration and backtest errors slightly, e.g. secondary median
   error 1 year ahead 1.6% -> 1.5%.)
5. **Intake and progression ratios.** At the jump-off year the roll of each phase is split into
   year groups in proportion to the children of each age. The **intake ratio** (Reception /
   children aged 5) and the **participation ratio** of each phase (pupils on roll / children of
   the phase's ages: share in state-funded schools of the authority, net of cross-border
   travel, independent and home education) are measured at the jump-off; the **progression
   ratio** from one year group to the next is the cohort ratio ``s`` of its age; the
   **transfer ratio** Year 6 -> Year 7 is ``s[11]`` times secondary over primary participation.
   Pupils of year group ``k`` in year ``t`` are therefore ``participation`` times its children.
6. **Jump-off rolls**: the latest roll known at the origin (2014/15 and 2018/19 from the
   scorecard's ``PRI_NoR15``/``PRI_NoR19``..., 2022/23-2024/25 from its ``PriNOR``/``SecNOR``).
7. **Bias term and prediction intervals** come from **hindcasts**: the same method run between
   every pair of rolls known at the origin (:func:`hindcast_errors`; the children of 2015 are
   backcast from mid-2019 through the cohort ratios), giving per authority the log error
   ``log(actual / projected)`` at horizon ``t1 - t0``. Errors are divided by
   ``horizon ** power`` and pooled over authorities and pairs (:func:`calibrate_intervals`);
   ``power`` is the slope of the log 10-90% spread on the log horizon (:func:`error_power`,
   kept within 0.5-1; 1 when only one horizon is known: a cohort ratio or participation off by
   the same amount every year makes errors grow in proportion to the horizon). The pooled
   median times ``h ** power`` is the **bias term** (the projection is moved by it, making it
   the median expected) and the 10/90% and 2.5/97.5% quantiles bound the 80% and 95%
   intervals. Each backtest origin is calibrated on the rolls up to it only: 2018/19 on
   2014/15 -> 2018/19 (horizon 4); 2022/23 also on 2018/19 -> 2022/23 and 2014/15 -> 2022/23
   (4, 8); 2023/24 also on the 2023/24 roll from each earlier one (1, 5, 9). The projection
   from 2024/25 uses every pair of 2014/15-2024/25 rolls (horizons 1-10). The hindcasts
   found errors that grow nearly in proportion to the horizon (power 0.65-0.86; the errors of
   2014/15 -> 2018/19 and 2018/19 -> 2022/23 correlate 0.74 for primary, 0.44 for secondary
   across authorities: steady drifts, not yearly noise), which is why the earlier
   ``sqrt(h / 4)`` scaling of one 4-year calibration made 1-2 year primary intervals too wide.
   Leave-one-authority-out quantiles were not used: the other authorities' errors in the
   scored years share their common shocks, so they would leak the scored rolls.

   The main backtest projects from the earliest data (:data:`EARLIEST_ORIGIN`, 4-6 years
   ahead) and meets both targets for both phases (:func:`backtest_targets`). Known miss, in
   the rolling-origin test beside it: secondary rolls fell 1.8% (2023/24) and 1.2%
   (2024/25) behind the children of the mid-2020-based path in the median authority, a
   break after 2022/23 that no earlier
   roll shows (secondary participation 0.895 in 2014/15 and 2018/19, 0.901 in 2022/23, then
   0.881 and 0.877): projections from 2022/23 run high and their 80% intervals cover about
   45% of the actuals; from 2023/24, calibrated on the 2022/23 -> 2023/24 hindcast, 84%.
   Tried against it, each using only what is known at the origin (secondary 80% coverage 1 /
   2 years ahead, against 64.8 / 44.1 now): (i) a common error component added to the
   intervals, its spread from the national participation changes between known rolls and/or
   the authorities' published forecast errors (``For_1_S``...) up to the origin (0.2-0.6% a
   year at 2022/23): 67-70 / 44-56, and primary 2 years ahead rises from 84 to 88-90 (over
   85); it would take four times that spread to reach 80 at 2 years, which puts primary at
   88-95. (ii) Cohort ratios of ages 0-17 damped to ``s ** w``, ``w`` picked at each origin
   by the smallest mean absolute hindcast error (0.8 at all three): 68 / 47, primary 4-6
   years ahead 90th-percentile error 7-8% -> 8-10% and coverage 74-77. The rolls up to
   2022/23 point the other way (they outgrew the children path 2018/19 -> 2022/23 by 0.7%).
   (iii) The authorities' own 3-year growth (``An_S_gro`` of the origin's row) as the
   centre, with their published errors as intervals: secondary from 2022/23 79 / 77 but from
   2023/24 64, primary 48-66. None is adopted: the break is common to the authorities and
   absent from every roll and published error up to 2022/23.

Cohort ratios are each authority's own (``LOCAL_WEIGHT = 1``); blending them with England's
(:func:`shrink_ratios`) was tried at weights 0.5 and 0.75 and made the backtest worse (primary
90th-percentile error 8% -> 10-14%), so it is off by default. Births after mid-2020 follow
England's projected births (England's cohort ratios and birth ratio) from each authority's
mid-2020 children aged 0: one year's local adult migration compounded over 15 years made
inner-London births run away.

Capacity and surplus: places (scorecard ``PriCap``/``SecCap`` 2023/24, 2024/25; the latest is
held for later years) minus pupils; ``pct_spare`` = 100 * surplus / capacity; the DfE's 2% and
5% operating margins are marked. ``SecCap`` includes sixth-form places and ``SecNOR`` does not,
so secondary places are cut to their Years 7-11 share (:func:`capacity_from_scorecard`): spare
places then equal the DfE's published unfilled share in the capacity year (Camden secondary
2024/25: 21.9%, not the 45.4% that ``SecCap`` whole gave).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from atlaskit.errors import ModelError

__all__ = [
    "PHASES",
    "PHASE_AGES",
    "YEAR_GROUPS",
    "OPERATING_MARGINS_PCT",
    "BIRTH_PARENT_AGES",
    "DemandResult",
    "academic_year",
    "academic_year_end",
    "population_array",
    "cohort_ratios",
    "birth_ratio",
    "project_population",
    "shrink_ratios",
    "backcast_population",
    "children_of_phase",
    "split_year_groups",
    "roll_forward_year_groups",
    "rolls_from_scorecard",
    "capacity_from_scorecard",
    "latest_capacity",
    "hindcast_errors",
    "error_power",
    "calibrate_intervals",
    "interval_quantiles",
    "project_rolls",
    "project_demand",
    "add_capacity",
    "backtest",
    "backtest_summary",
    "backtest_targets",
    "authority_forecast_accuracy",
    "project_lsoa_children",
    "school_demand",
    "school_phase_rolls",
    "planning_groups",
    "planning_area_demand",
    "first_shortfall",
    "small_area_demand",
    "constrain_to_authority",
    "plot_projection",
]

PHASES = ("primary", "secondary")
#: Ages at the mid-year in which an academic year ends: (youngest, oldest), inclusive.
PHASE_AGES: dict[str, tuple[int, int]] = {"primary": (5, 11), "secondary": (12, 16)}
#: Share of a year group one year younger than its nominal age at 30 June (born July-August).
YOUNGER_SHARE = 2.0 / 12.0
#: Year groups of each phase, youngest first (aligned with the ages of :data:`PHASE_AGES`).
YEAR_GROUPS: dict[str, tuple[str, ...]] = {
    "primary": ("R", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6"),
    "secondary": ("Y7", "Y8", "Y9", "Y10", "Y11"),
}
#: The DfE's operating margins: spare places below these percentages are tight (percent).
OPERATING_MARGINS_PCT = (2.0, 5.0)
#: Adult ages whose number drives births (the files give persons, not women by age).
BIRTH_PARENT_AGES = (20, 44)
#: Ages smoothed in the cohort ratio (children); older ages keep their raw ratio.
_SMOOTH_AGES = 18
#: Power of the horizon for interval tables without a ``power`` column (0.5: random walk).
INTERVAL_POWER = 0.5
#: Power of the horizon in the spread of errors when the hindcasts show one horizon only (a
#: steady error per year: a cohort ratio or a participation trend that is off every year alike).
DEFAULT_ERROR_POWER = 1.0
#: The estimated power is kept between a random walk (0.5) and a steady drift per year (1).
ERROR_POWER_BOUNDS = (0.5, 1.0)
#: Fewest errors at a horizon (or for a phase) to measure a spread from.
MIN_ERRORS = 20
#: Weight of an authority's own cohort ratios for ages 0-15 against England's (:func:`shrink_ratios`).
LOCAL_WEIGHT = 1.0
_QUANTILES = {"q025": 0.025, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q975": 0.975}


@dataclass
class DemandResult:
    """A table and the problems met making it (one line per authority/phase left out and why)."""

    table: pd.DataFrame
    problems: list[str] = field(default_factory=list)


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


# --------------------------------------------------------------------------------------------
# population


def population_array(la_population: pd.DataFrame, years: tuple[int, ...] = (2019, 2020), max_age: int = 90) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Turn the long ``la_population`` table into an array authorities x years x ages.

    Args:
        la_population: authority_code, year, age (0..``max_age``, the last an open band), population.
        years: mid-years wanted, in order.
        max_age: the oldest age (open band).

    Returns:
        ``(codes, counts, problems)``: authority codes (sorted), float array of shape
        (n_authorities, len(years), max_age + 1) with NaN where a count is absent, and one
        message per authority with absent or negative counts.
    """
    pop = la_population[la_population["year"].isin(years) & la_population["age"].between(0, max_age)]
    codes = np.array(sorted(pop["authority_code"].astype(str).unique()))
    counts = np.full((len(codes), len(years), max_age + 1), np.nan)
    i = np.searchsorted(codes, pop["authority_code"].astype(str).to_numpy())
    j = pd.Index(years).get_indexer(pop["year"].to_numpy())
    counts[i, j, pop["age"].to_numpy().astype(int)] = pop["population"].to_numpy(dtype=float)
    problems = []
    bad = np.isnan(counts).any(axis=(1, 2)) | (counts < 0).any(axis=(1, 2))
    for k in np.flatnonzero(bad):
        missing = [f"mid-{years[y]}" for y in range(len(years)) if np.isnan(counts[k, y]).any()]
        problems.append(f"{codes[k]}: population by age incomplete or negative ({', '.join(missing) or 'negative counts'})")
    return codes, counts, problems


def cohort_ratios(early: np.ndarray, late: np.ndarray, smooth_ages: int = _SMOOTH_AGES) -> np.ndarray:
    """Return each cohort's one-year change ratio ``s[a] = late[a+1] / early[a]``.

    Args:
        early: children/persons by single year of age at mid-year ``y`` (..., n_ages); the
            last age is an open band (e.g. 90+).
        late: the same at mid-year ``y + 1``.
        smooth_ages: ratios of ages below this are smoothed by a 3-age moving average of logs.

    Returns:
        Array (..., n_ages - 1): ratio for ages 0..n-2 (the last maps the two oldest ages into
        the open band). A cohort with no one at ``y`` gets ratio 1 (nothing to scale).
    """
    early = np.asarray(early, dtype=float)
    late = np.asarray(late, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = late[..., 1:] / early[..., :-1]
        ratio[..., -1] = late[..., -1] / (early[..., -2] + early[..., -1])
    ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)
    if smooth_ages > 2:
        logs = np.log(ratio[..., :smooth_ages])
        padded = np.concatenate([logs[..., :1], logs, logs[..., -1:]], axis=-1)
        smoothed = (padded[..., :-2] + padded[..., 1:-1] + padded[..., 2:]) / 3.0
        ratio = ratio.copy()
        ratio[..., :smooth_ages] = np.exp(smoothed)
    return ratio


def birth_ratio(population: np.ndarray, parent_ages: tuple[int, int] = BIRTH_PARENT_AGES) -> np.ndarray:
    """Return children aged 0 per person of ``parent_ages`` (mean over the years given).

    Args:
        population: array (..., n_years, n_ages).
        parent_ages: (youngest, oldest) adult ages, inclusive.

    Returns:
        Array (...,): the birth ratio; 0 where there are no adults of those ages.
    """
    adults = population[..., parent_ages[0] : parent_ages[1] + 1].sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(adults > 0, population[..., 0] / adults, 0.0)
    return ratio.mean(axis=-1)


def project_population(
    base: np.ndarray,
    ratios: np.ndarray,
    births: np.ndarray | None,
    years: int,
    parent_ages: tuple[int, int] = BIRTH_PARENT_AGES,
    age0: np.ndarray | None = None,
) -> np.ndarray:
    """Roll a population by single year of age forward ``years`` years by the cohort method.

    Args:
        base: persons by age at the base mid-year (..., n_ages), the last age an open band.
        ratios: cohort ratios (..., n_ages - 1) from :func:`cohort_ratios`.
        births: birth ratio (...,) from :func:`birth_ratio`: age 0 = births * persons of
            ``parent_ages`` in the same year. Ignored when ``age0`` is given.
        years: number of years to project.
        parent_ages: adult ages driving births.
        age0: children aged 0 in each projected year (..., years), instead of the birth ratio.

    Returns:
        Array (..., years + 1, n_ages): the base then each projected year (persons).
    """
    base = np.asarray(base, dtype=float)
    out = np.empty(base.shape[:-1] + (years + 1, base.shape[-1]))
    out[..., 0, :] = base
    current = base
    for step in range(1, years + 1):
        nxt = np.empty_like(current)
        nxt[..., 1:] = current[..., :-1] * ratios
        nxt[..., -1] += current[..., -1] * ratios[..., -1]
        if age0 is not None:
            nxt[..., 0] = age0[..., step - 1]
        else:
            nxt[..., 0] = births * nxt[..., parent_ages[0] : parent_ages[1] + 1].sum(axis=-1)
        out[..., step, :] = nxt
        current = nxt
    return out


def shrink_ratios(local: np.ndarray, national: np.ndarray, weight: float = 0.5, ages: int = 16) -> np.ndarray:
    """Blend each authority's cohort ratios with the national ones (geometric mean) for young ages.

    ``s = local ** weight * national ** (1 - weight)`` for ages below ``ages``; older ages keep
    the local ratio (students and adults move in patterns the nation does not share).

    Args:
        local: cohort ratios per authority (n_authorities, n_ages - 1).
        national: cohort ratios of England (n_ages - 1,).
        weight: weight of the local ratio (0: national only, 1: local only).
        ages: ratios of ages 0..ages-1 are blended.

    Returns:
        Blended ratios, same shape as ``local``.
    """
    out = np.array(local, dtype=float, copy=True)
    out[..., :ages] = np.exp(weight * np.log(local[..., :ages]) + (1 - weight) * np.log(national[:ages]))
    return out


def backcast_population(base: np.ndarray, ratios: np.ndarray, years: int) -> np.ndarray:
    """Return the population ``years`` years before ``base``, undoing the cohort ratios.

    ``P_{y-n}[a] = P_y[a+n] / (s[a] * s[a+1] * ... * s[a+n-1])``: exact for cohorts already
    born; ages whose cohort would be older than the open band are NaN.

    Args:
        base: persons by age (..., n_ages).
        ratios: cohort ratios (..., n_ages - 1).
        years: years back.

    Returns:
        Array (..., n_ages) of persons by age ``years`` years earlier.
    """
    n_ages = base.shape[-1]
    out = np.full(base.shape, np.nan)
    for age in range(n_ages - 1 - years):
        out[..., age] = base[..., age + years] / np.prod(ratios[..., age : age + years], axis=-1)
    return out


def children_of_phase(population: np.ndarray, phase: str) -> np.ndarray:
    """Return the children of the phase's year groups at a mid-year (30 June), summed over the last axis.

    A year group is the children born September to August. At 30 June ten-twelfths of them
    have had their birthday (aged ``a``) and two-twelfths, born in July and August, are one year
    younger: year group of age ``a`` = 5/6 * P[a] + 1/6 * P[a-1]
    (:data:`YOUNGER_SHARE`). Summed over a phase's ages ``low..high`` (:data:`PHASE_AGES`) this is
    ``sum(P[low..high]) - P[high] / 6 + P[low - 1] / 6``.

    Args:
        population: persons by single year of age (..., n_ages).
        phase: ``primary`` or ``secondary``.

    Returns:
        Array (...,): children of the phase's year groups.
    """
    low, high = PHASE_AGES[phase]
    return population[..., low : high + 1].sum(axis=-1) - YOUNGER_SHARE * population[..., high] + YOUNGER_SHARE * population[..., low - 1]


# --------------------------------------------------------------------------------------------
# the cohort (grade progression) arithmetic


def split_year_groups(pupils: float | np.ndarray, children: np.ndarray) -> np.ndarray:
    """Split a phase's roll into year groups in proportion to the children of each age.

    Args:
        pupils: pupils on roll in the phase (...,).
        children: children of the phase's ages, youngest first (..., n_groups).

    Returns:
        Pupils per year group (..., n_groups); they sum to ``pupils``.
    """
    children = np.asarray(children, dtype=float)
    total = children.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, children / total, 1.0 / children.shape[-1])
    return np.asarray(pupils, dtype=float)[..., None] * share


def roll_forward_year_groups(
    year_groups: np.ndarray,
    entrants: np.ndarray,
    intake_ratio: float | np.ndarray,
    progression_ratios: np.ndarray,
) -> np.ndarray:
    """Advance one phase's year groups by one academic year (grade progression).

    ``next[0] = intake_ratio * entrants``; ``next[k + 1] = progression_ratios[k] * now[k]``;
    the oldest year group leaves.

    Args:
        year_groups: pupils per year group now (..., n_groups), youngest first.
        entrants: children of the entry age next year (...,) (age 5 for Reception; for
            secondary, pass Year 6 pupils and a transfer ratio as ``intake_ratio``).
        intake_ratio: pupils entering per entrant (...,).
        progression_ratios: ratio of next year's pupils in group ``k + 1`` to this year's in
            group ``k`` (..., n_groups - 1).

    Returns:
        Pupils per year group next year (..., n_groups).
    """
    year_groups = np.asarray(year_groups, dtype=float)
    nxt = np.empty_like(year_groups)
    nxt[..., 0] = np.asarray(intake_ratio) * np.asarray(entrants)
    nxt[..., 1:] = year_groups[..., :-1] * progression_ratios
    return nxt


# --------------------------------------------------------------------------------------------
# inputs from the scorecard


def rolls_from_scorecard(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Return the pupils on roll per authority, phase and academic year known from the scorecard.

    Args:
        scorecard: the store table ``scorecard``.

    Returns:
        DataFrame authority_code, phase, academic_year, pupils (Float, NaN where published as a
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


def capacity_from_scorecard(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Return places per authority, phase and academic year from the scorecard (2023/24 on).

    Secondary places are made comparable with the secondary roll. The scorecard's ``SecCap``
    counts sixth-form places too, while ``SecNOR`` counts Years 7-11 only: in 2024/25 England's
    ``1 - SecNOR / SecCap`` is 22.8% in the median authority against the DfE's published 12.4%
    unfilled secondary places (``Quan_S_UP``); for primary the two agree (13.5% and 14.2%). So
    the pupils of all ages in secondary schools are ``SecCap * (1 - Quan_S_UP / 100)`` and the
    places for Years 7-11 are ``SecCap`` times the Years 7-11 share of those pupils (sixth-form
    places filled like the others). This reproduces the DfE's percentage of unfilled places in
    the capacity year. Where ``Quan_S_UP`` is not published, ``SecCap`` is kept as published
    (``capacity_basis`` says which).

    Args:
        scorecard: the store table ``scorecard`` (``primary_capacity``, ``secondary_capacity``,
            ``secondary_pupils`` and optionally ``secondary_unfilled_pct``, percent).

    Returns:
        DataFrame authority_code, phase, academic_year, capacity (places for the phase's year
        groups: R-Y6, Y7-11; NaN where the scorecard publishes a marker, e.g. the City of
        London's secondary), published_capacity (``PriCap``/``SecCap`` as published, places),
        capacity_basis (``"as published"`` or ``"Y7-11 share of SecCap"``).
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
    """Return each authority's latest published places per phase.

    Returns:
        DataFrame authority_code, phase, academic_year (of the capacity), capacity (places);
        authorities/phases with no published capacity are absent.
    """
    known = capacity_from_scorecard(scorecard).dropna(subset=["capacity"])
    return known.sort_values("academic_year").groupby(["authority_code", "phase"], as_index=False).last().reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# projections


@dataclass
class _Population:
    codes: np.ndarray
    by_year: dict[int, np.ndarray]  # mid-year -> (n_auth, n_ages)
    ratios: np.ndarray
    births: np.ndarray
    problems: list[str]


def _population_path(la_population: pd.DataFrame, last_year: int, first_year: int = 2015) -> _Population:
    codes, counts, problems = population_array(la_population, (2019, 2020))
    bad = np.isnan(counts).any(axis=(1, 2))
    national = np.nansum(counts[~bad], axis=0)
    national_ratios = cohort_ratios(national[0], national[1])
    ratios = shrink_ratios(cohort_ratios(counts[:, 0], counts[:, 1]), national_ratios, LOCAL_WEIGHT)
    years = max(0, last_year - 2020)
    # births: each authority's 2020 children aged 0, moved with England's projected births
    national_path = project_population(national[1], national_ratios, birth_ratio(national), years)
    index = national_path[1:, 0] / national[1, 0] if national[1, 0] > 0 else np.ones(years)
    age0 = counts[:, 1, :1] * index[None, :]
    projected = project_population(counts[:, 1], ratios, None, years, age0=age0)
    by_year = {2019: counts[:, 0]}
    for k in range(projected.shape[1]):
        by_year[2020 + k] = projected[:, k]
    for year in range(first_year, 2019):
        by_year[year] = backcast_population(counts[:, 0], ratios, 2019 - year)
    return _Population(codes, by_year, ratios, index, problems)


def hindcast_errors(la_population: pd.DataFrame, rolls: pd.DataFrame, last: str | None = None) -> pd.DataFrame:
    """Return the errors of the cohort method between every pair of known rolls (hindcasts).

    For each authority, phase and pair of academic years ``t0 < t1`` with both rolls known
    (and ``t1`` no later than ``last``), the method jumps off from the roll of ``t0`` and
    projects ``t1`` (participation at ``t0`` times the children of ``t1``, without any bias
    term); the error is ``log(actual / projected)`` at ``t1``. The children of 2015-2018 are
    backcast from mid-2019 through the cohort ratios (:func:`backcast_population`).

    Args:
        la_population: authority_code, year (2019, 2020), age, population.
        rolls: authority_code, phase, academic_year, pupils (:func:`rolls_from_scorecard`).
        last: the latest academic year whose roll may be used (``"2022/23"``); None uses all.

    Returns:
        DataFrame authority_code, phase, origin, academic_year, horizon (years), error (natural
        log; 0.01 is about 1%, negative where the method projected too many pupils).
    """
    known = rolls.dropna(subset=["pupils"])
    known = known[known["pupils"] > 0]
    if last is not None:
        known = known[known["academic_year"].map(academic_year_end) <= academic_year_end(last)]
    columns = ["authority_code", "phase", "origin", "academic_year", "horizon", "error"]
    labels = sorted(known["academic_year"].unique(), key=academic_year_end)
    if len(labels) < 2:
        return pd.DataFrame(columns=columns)
    ends = [academic_year_end(y) for y in labels]
    pop = _population_path(la_population, max(ends[-1], 2021), first_year=min(ends[0], 2019))
    bad = {p.split(":")[0] for p in pop.problems}
    parts = []
    for phase in PHASES:
        wide = known[known["phase"] == phase].pivot_table(index="authority_code", columns="academic_year", values="pupils", aggfunc="first")
        wide = wide.reindex(index=pop.codes, columns=labels)
        wide.loc[wide.index.isin(bad)] = np.nan
        participation = {y: wide[y].to_numpy(dtype=float) / children_of_phase(pop.by_year[e], phase) for y, e in zip(labels, ends)}
        for i, (y0, e0) in enumerate(zip(labels, ends)):
            for y1, e1 in zip(labels[i + 1 :], ends[i + 1 :]):
                with np.errstate(divide="ignore", invalid="ignore"):
                    error = np.log(participation[y1] / participation[y0])
                ok = np.isfinite(error)
                parts.append(pd.DataFrame({"authority_code": pop.codes[ok], "phase": phase, "origin": y0, "academic_year": y1,
                                           "horizon": e1 - e0, "error": error[ok]}))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def error_power(errors: pd.DataFrame, default: float = DEFAULT_ERROR_POWER, bounds: tuple[float, float] = ERROR_POWER_BOUNDS) -> float:
    """Return how fast the spread of hindcast errors grows with the horizon: width ~ horizon ** power.

    The 10-90% width of the errors at each horizon (horizons with at least
    :data:`MIN_ERRORS` errors) is regressed on the horizon in logs. 0.5 is a random walk
    (independent yearly shocks); 1 is a steady drift per year (a cohort ratio or participation
    trend that is off by the same amount every year).

    Args:
        errors: horizon and error columns (one phase), from :func:`hindcast_errors`.
        default: the power when fewer than two horizons are known.
        bounds: (low, high): the estimate is clipped to these.

    Returns:
        The power (dimensionless).
    """
    widths = []
    for horizon, group in errors.groupby("horizon"):
        if len(group) >= MIN_ERRORS and horizon > 0:
            width = float(group["error"].quantile(0.9) - group["error"].quantile(0.1))
            if width > 0:
                widths.append((float(horizon), width))
    if len(widths) < 2:
        return float(default)
    h, w = np.log(np.array(widths)).T
    slope = float(np.polyfit(h, w, 1)[0])
    return float(np.clip(slope, *bounds))


def calibrate_intervals(la_population: pd.DataFrame, rolls: pd.DataFrame, last: str | None = None) -> pd.DataFrame:
    """Set the bias term and prediction intervals per phase from hindcasts that end by ``last``.

    All hindcast errors :func:`hindcast_errors` can make from the rolls up to ``last`` (e.g.
    2014/15 -> 2018/19 for a projection from 2018/19; also 2018/19 -> 2022/23 and 2014/15 ->
    2022/23 from 2022/23) are divided by ``horizon ** power`` (:func:`error_power`) so that
    errors at different horizons share one distribution, and pooled across authorities and
    pairs of years. Its quantiles, times ``h ** power``, are the log errors expected at horizon
    ``h``: the median is the **bias term** (the projection is moved by it, so it is the median
    of its predictive distribution) and the 10/90% and 2.5/97.5% quantiles bound the 80% and
    95% intervals. Nothing after ``last`` is read.

    Args:
        la_population: authority_code, year (2019, 2020), age, population.
        rolls: from :func:`rolls_from_scorecard`.
        last: the latest academic year whose roll may be used (None: all).

    Returns:
        DataFrame with one row per phase: phase, horizon (1: the quantiles are per
        ``1 ** power``), power, n (errors pooled), horizons (those observed, e.g. ``"4, 8"``),
        last (the latest roll used), and q025, q10, q50, q90, q975 (natural-log errors at one
        year; at horizon ``h`` multiply by ``h ** power``).

    Raises:
        ModelError: when a phase has fewer than :data:`MIN_ERRORS` hindcast errors.
    """
    errors = hindcast_errors(la_population, rolls, last)
    rows = []
    for phase in PHASES:
        mine = errors[errors["phase"] == phase]
        if len(mine) < MIN_ERRORS:
            raise ModelError(f"only {len(mine)} hindcast errors for {phase} from the rolls up to {last or 'the latest'}: cannot set prediction intervals")
        power = error_power(mine)
        scaled = mine["error"].to_numpy(dtype=float) / mine["horizon"].to_numpy(dtype=float) ** power
        horizons = ", ".join(str(int(h)) for h in sorted(mine["horizon"].unique()))
        rows.append({"phase": phase, "horizon": 1, "power": power, "n": int(len(mine)), "horizons": horizons, "last": last or "latest",
                     **{k: float(np.quantile(scaled, q)) for k, q in _QUANTILES.items()}})
    return pd.DataFrame(rows)


def interval_quantiles(intervals: pd.DataFrame, phase: str, horizon: int) -> dict[str, float]:
    """Return the log-error quantiles (bias term and interval bounds) for a phase at a horizon.

    Below the shortest and beyond the longest calibrated horizon the nearest one is scaled by
    ``(h / h_calibrated) ** power`` (the table's ``power`` column, else :data:`INTERVAL_POWER`);
    between two, quantiles are interpolated linearly. A table from :func:`calibrate_intervals`
    has one row per phase at horizon 1, so its quantiles are simply ``q * h ** power``.

    Args:
        intervals: phase, horizon, q025, q10, q90, q975 and optionally q50 (the median: the
            bias term; 0 when absent) and power (from :func:`calibrate_intervals` or
            :func:`intervals_from_backtest`).
        phase: ``primary`` or ``secondary``.
        horizon: years after the jump-off (0 gives zero-width intervals and no bias).

    Returns:
        ``{"q025": ..., "q10": ..., "q50": ..., "q90": ..., "q975": ...}`` (natural-log errors,
        ``log(actual / cohort projection)``).

    Raises:
        ModelError: when ``intervals`` has no row for ``phase``.
    """
    rows = intervals[intervals["phase"] == phase].sort_values("horizon")
    if rows.empty:
        raise ModelError(f"no prediction-interval calibration for {phase}")
    hs = rows["horizon"].to_numpy(dtype=float)
    power = float(rows["power"].iloc[0]) if "power" in rows.columns and pd.notna(rows["power"].iloc[0]) else INTERVAL_POWER
    out = {}
    for key in _QUANTILES:
        values = rows[key].to_numpy(dtype=float) if key in rows.columns else np.zeros(len(rows))
        if horizon <= 0:
            out[key] = 0.0
        elif horizon <= hs[0]:
            out[key] = float(values[0] * (horizon / hs[0]) ** power)
        elif horizon >= hs[-1]:
            out[key] = float(values[-1] * (horizon / hs[-1]) ** power)
        else:
            out[key] = float(np.interp(horizon, hs, values))
    return out


def project_rolls(
    la_population: pd.DataFrame,
    rolls: pd.DataFrame,
    jump_off: str | dict[str, str],
    years_ahead: int,
    intervals: pd.DataFrame,
    authorities: list[str] | None = None,
) -> DemandResult:
    """Project pupils on roll per authority and phase from a jump-off year, with intervals.

    Args:
        la_population: authority_code, year (2019, 2020), age (0-90), population.
        rolls: authority_code, phase, academic_year, pupils (see :func:`rolls_from_scorecard`).
        jump_off: academic year of the roll to start from (``"2018/19"``); ``"latest"`` takes
            each authority's latest known roll.
        years_ahead: academic years to project after the jump-off.
        intervals: from :func:`calibrate_intervals` (its ``q50`` is the bias term).
        authorities: authority codes to project (default all with population).

    Returns:
        :class:`DemandResult`: table with authority_code, phase, academic_year, origin
        (jump-off year), horizon (years after it; 0 is the jump-off roll itself), pupils
        (the cohort projection moved by the bias term: the median expected), pupils_lower_80,
        pupils_upper_80, pupils_lower_95, pupils_upper_95, pupils_cohort (participation times
        children, before the bias term), participation (pupils per child of the phase's ages
        at the jump-off), children (of the phase's ages, projected). Problems name each
        authority and phase left out and the input it lacks.
    """
    problems: list[str] = []
    known = rolls.dropna(subset=["pupils"])
    if jump_off == "latest":
        origin = known.sort_values("academic_year").groupby(["authority_code", "phase"])["academic_year"].last()
    else:
        origin = known[known["academic_year"] == jump_off].set_index(["authority_code", "phase"])["academic_year"]
    origin_end = origin.map(academic_year_end)
    last_year = int(origin_end.max()) + years_ahead if len(origin_end) else 2021
    pop = _population_path(la_population, max(last_year, 2021))
    problems.extend(pop.problems)
    bad_pop = {p.split(":")[0] for p in pop.problems}
    wanted = list(pop.codes) if authorities is None else list(authorities)
    missing_pop = [c for c in wanted if c not in set(pop.codes)]
    problems.extend(f"{c}: no population by age (la_population) for this authority" for c in missing_pop)
    roll_value = known.set_index(["authority_code", "phase", "academic_year"])["pupils"]
    index = {c: i for i, c in enumerate(pop.codes)}
    tables = []
    for phase in PHASES:
        rows_code, rows_origin = [], []
        for code in wanted:
            if code not in index or code in bad_pop:
                continue
            if (code, phase) not in origin.index:
                what = f"{jump_off} {phase} roll" if jump_off != "latest" else f"{phase} roll at all"
                problems.append(f"{code}: {phase} not projected: the scorecard has no {what} (published as missing or not applicable)")
                continue
            rows_code.append(code)
            rows_origin.append(int(origin_end[(code, phase)]))
        if not rows_code:
            continue
        idx = np.array([index[c] for c in rows_code])
        start = np.array(rows_origin)
        start_pupils = np.array([roll_value[(c, phase, academic_year(y))] for c, y in zip(rows_code, start)])
        start_children = np.array([children_of_phase(pop.by_year[y][i], phase) for i, y in zip(idx, start)])
        with np.errstate(divide="ignore", invalid="ignore"):
            participation = np.where(start_children > 0, start_pupils / start_children, 0.0)
        horizons = np.arange(0, years_ahead + 1)
        for h in horizons:
            children = np.array([children_of_phase(pop.by_year[y + h][i], phase) for i, y in zip(idx, start)])
            cohort = participation * children
            qs = interval_quantiles(intervals, phase, int(h))
            frame = pd.DataFrame(
                {
                    "authority_code": rows_code,
                    "phase": phase,
                    "academic_year": [academic_year(y + h) for y in start],
                    "origin": [academic_year(y) for y in start],
                    "horizon": int(h),
                    "pupils": cohort * np.exp(qs["q50"]),
                    "pupils_lower_80": cohort * np.exp(qs["q10"]),
                    "pupils_upper_80": cohort * np.exp(qs["q90"]),
                    "pupils_lower_95": cohort * np.exp(qs["q025"]),
                    "pupils_upper_95": cohort * np.exp(qs["q975"]),
                    "pupils_cohort": cohort,
                    "participation": participation,
                    "children": children,
                }
            )
            tables.append(frame)
    columns = ["authority_code", "phase", "academic_year", "origin", "horizon", "pupils", "pupils_lower_80", "pupils_upper_80",
               "pupils_lower_95", "pupils_upper_95", "pupils_cohort", "participation", "children"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)
    table = table.sort_values(["authority_code", "phase", "academic_year"]).reset_index(drop=True)
    return DemandResult(table, problems)


# --------------------------------------------------------------------------------------------
# capacity and surplus


def add_capacity(projection: pd.DataFrame, capacity: pd.DataFrame, hold_latest: bool = True) -> pd.DataFrame:
    """Add capacity, surplus, percentage of spare places and the DfE operating-margin flags.

    Args:
        projection: authority_code, phase, academic_year, pupils (and any other columns).
        capacity: authority_code, phase, academic_year, capacity (places).
        hold_latest: for years after the latest published capacity, hold that capacity
            (places planned but not yet published are not counted).

    Returns:
        ``projection`` with capacity (places), surplus (places - pupils; negative is a
        shortfall), pct_spare (100 * surplus / capacity, percent), below_2pct_margin and
        below_5pct_margin (bool; pct_spare under the DfE's 2% / 5% operating margins; False
        where capacity is unknown), capacity_year (the academic year the capacity is from).
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
        # years before the first published capacity get none (not the future's)
        merged = merged.drop(columns=["_cap_end"])
    else:
        merged = out.merge(known, on=["authority_code", "phase", "_end"], how="left")
    merged["capacity"] = merged["capacity"].astype("float64")
    merged["surplus"] = merged["capacity"] - merged["pupils"]
    with np.errstate(divide="ignore", invalid="ignore"):
        merged["pct_spare"] = np.where(merged["capacity"] > 0, 100.0 * merged["surplus"] / merged["capacity"], np.nan)
    low, high = OPERATING_MARGINS_PCT
    merged["below_2pct_margin"] = merged["pct_spare"] < low
    merged["below_5pct_margin"] = merged["pct_spare"] < high
    merged = merged.drop(columns=["_end"])
    return merged.sort_values(["authority_code", "phase", "academic_year"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# the whole job: projection plus backtest years


#: The earliest jump-off the data allow (the first roll with ONS children by age beside it):
#: the main backtest projects from it to the published rolls 2022/23-2024/25.
EARLIEST_ORIGIN = "2018/19"
#: Accuracy targets: median absolute % error at most this at every horizon (percent) ...
MEDIAN_APE_TARGET_PCT = 4.0
#: ... and this share of actuals inside the 80% intervals (percent, inclusive).
COVERAGE_80_TARGET_PCT = (75.0, 85.0)
BACKTEST_ORIGINS: dict[str, tuple[str, ...]] = {
    "2018/19": ("2022/23", "2023/24", "2024/25"),
    "2022/23": ("2023/24", "2024/25"),
    "2023/24": ("2024/25",),
}


def backtest(la_population: pd.DataFrame, scorecard: pd.DataFrame, intervals: pd.DataFrame | None = None) -> DemandResult:
    """Project the scorecard years 2022/23-2024/25 from earlier rolls and compare with the actual rolls.

    Origins (:data:`BACKTEST_ORIGINS`): the 2018/19 roll (4-6 years ahead), then the 2022/23
    and 2023/24 rolls (1-2 years ahead, rolling origin). A projection never sees the roll it is
    scored against, and neither do its bias term and intervals: for each origin they come from
    the hindcasts between the rolls up to that origin only (:func:`calibrate_intervals` with
    ``last=origin``: 2014/15 -> 2018/19 for the 2018/19 origin; also 2018/19 -> 2022/23 and
    2014/15 -> 2022/23 for the 2022/23 origin; also the 2023/24 roll from 2022/23, 2018/19 and
    2014/15 for the 2023/24 origin).

    Args:
        la_population: authority_code, year (2019, 2020), age, population.
        scorecard: the store table ``scorecard``.
        intervals: one table from :func:`calibrate_intervals` for every origin; None (the
            default) calibrates each origin on the rolls up to it.

    Returns:
        :class:`DemandResult`: authority_code, phase, origin, academic_year, horizon (years),
        pupils (projected), pupils_lower_80/upper_80/lower_95/upper_95, actual_pupils,
        pct_error (100 * (projected - actual) / actual), abs_pct_error, inside_80, inside_95;
        problems name authorities/phases without an origin roll or an actual to score.
    """
    rolls = rolls_from_scorecard(scorecard)
    parts, problems = [], []
    for origin, targets in BACKTEST_ORIGINS.items():
        # neither the projection nor its bias term and intervals see a roll after the origin
        seen = rolls[rolls["academic_year"].map(academic_year_end) <= academic_year_end(origin)]
        calibration = intervals if intervals is not None else calibrate_intervals(la_population, seen, last=origin)
        years = max(academic_year_end(t) for t in targets) - academic_year_end(origin)
        result = project_rolls(la_population, seen, origin, years, calibration)
        problems.extend(f"backtest from {origin}: {p}" for p in result.problems)
        parts.append(result.table[result.table["academic_year"].isin(targets)])
    table = pd.concat(parts, ignore_index=True)
    actual = rolls[["authority_code", "phase", "academic_year", "pupils"]].rename(columns={"pupils": "actual_pupils"})
    table = table.merge(actual, on=["authority_code", "phase", "academic_year"], how="left")
    unscored = table["actual_pupils"].isna() | (table["actual_pupils"] <= 0)
    for row in table[unscored].itertuples():
        problems.append(f"{row.authority_code}: {row.phase} {row.academic_year} not scored: the scorecard roll is missing or zero")
    table = table[~unscored].copy()
    table["pct_error"] = 100.0 * (table["pupils"] - table["actual_pupils"]) / table["actual_pupils"]
    table["abs_pct_error"] = table["pct_error"].abs()
    table["inside_80"] = table["actual_pupils"].between(table["pupils_lower_80"], table["pupils_upper_80"])
    table["inside_95"] = table["actual_pupils"].between(table["pupils_lower_95"], table["pupils_upper_95"])
    columns = ["authority_code", "phase", "origin", "academic_year", "horizon", "pupils", "pupils_lower_80", "pupils_upper_80",
               "pupils_lower_95", "pupils_upper_95", "actual_pupils", "pct_error", "abs_pct_error", "inside_80", "inside_95"]
    table = table[columns].sort_values(["phase", "horizon", "authority_code", "origin"]).reset_index(drop=True)
    return DemandResult(table, list(dict.fromkeys(problems)))


def authority_forecast_accuracy(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Return the authorities' own published forecast errors in long form.

    Args:
        scorecard: the store table ``scorecard``.

    Returns:
        DataFrame authority_code, phase, academic_year, horizon (1 or 3 years), pct_error
        (100 * (forecast - actual) / actual; ``For_1_P``... times 100), NaN rows dropped.
    """
    parts = []
    for phase in PHASES:
        for horizon in (1, 3):
            column = f"{phase}_forecast_error_{horizon}y"
            part = scorecard[["authority_code", "academic_year", column]].rename(columns={column: "pct_error"})
            parts.append(part.assign(phase=phase, horizon=horizon, pct_error=100.0 * part["pct_error"]))
    out = pd.concat(parts, ignore_index=True).dropna(subset=["pct_error"])
    return out[["authority_code", "phase", "academic_year", "horizon", "pct_error"]].reset_index(drop=True)


def _summary(errors: pd.DataFrame, inside: bool) -> pd.DataFrame:
    grouped = errors.groupby(["phase", "horizon"])
    out = grouped["pct_error"].agg(
        n="size",
        median_ape=lambda e: float(e.abs().median()),
        p90_ape=lambda e: float(e.abs().quantile(0.9)),
        bias=lambda e: float(e.mean()),
        median_bias=lambda e: float(e.median()),
    )
    if inside:
        out["coverage_80_pct"] = 100.0 * grouped["inside_80"].mean()
        out["coverage_95_pct"] = 100.0 * grouped["inside_95"].mean()
    return out


def backtest_summary(backtest_table: pd.DataFrame, scorecard: pd.DataFrame | None = None) -> pd.DataFrame:
    """Summarise a backtest per phase and horizon, beside the authorities' own forecast accuracy.

    Args:
        backtest_table: :func:`backtest`'s table.
        scorecard: the store table ``scorecard`` for the authorities' ``For_1_*``/``For_3_*``
            (their forecasts' errors for the same years 2022/23-2024/25); None leaves them out.

    Returns:
        DataFrame indexed by phase and horizon (years) with origins (the jump-off years scored
        at that horizon, e.g. ``"2022/23, 2023/24"``), n, median_ape, p90_ape (percent),
        bias and median_bias (mean and median of 100 * (projected - actual) / actual; positive
        is over-projection), coverage_80_pct and coverage_95_pct (percentage of actuals inside
        the intervals); and with ``scorecard``, la_n, la_median_ape, la_p90_ape, la_bias for the
        authorities' own forecasts at horizons 1 and 3.
    """
    ours = _summary(backtest_table, inside=True)
    origins = backtest_table.groupby(["phase", "horizon"])["origin"].agg(lambda o: ", ".join(sorted(set(o), key=academic_year_end)))
    ours.insert(0, "origins", origins)
    if scorecard is None:
        return ours
    theirs = _summary(authority_forecast_accuracy(scorecard), inside=False)[["n", "median_ape", "p90_ape", "bias"]]
    theirs.columns = ["la_" + c for c in theirs.columns]
    out = ours.join(theirs, how="outer")
    out["n"] = out["n"].fillna(0).astype(int)
    out["la_n"] = out["la_n"].fillna(0).astype(int)
    return out.sort_index()


def backtest_targets(backtest_table: pd.DataFrame) -> pd.DataFrame:
    """Check the accuracy targets per phase, for the backtest from the earliest data and the rolling origins.

    The main backtest projects from the earliest data (:data:`EARLIEST_ORIGIN`: the 2018/19
    roll with the mid-2019 and mid-2020 children) to the published rolls of 2022/23-2024/25
    (4-6 years ahead). The rolling origins (2022/23, 2023/24; 1-2 years ahead) are a stricter
    test added beside it. Targets: median absolute error at most
    :data:`MEDIAN_APE_TARGET_PCT` at every horizon, and the 80% intervals holding
    :data:`COVERAGE_80_TARGET_PCT` of the actuals at every horizon.

    Args:
        backtest_table: :func:`backtest`'s table.

    Returns:
        DataFrame with one row per backtest (``from the earliest data`` / ``rolling origin``)
        and phase: origins, horizons (years), n (projections scored), worst_median_ape (the
        largest median absolute % error over the horizons), coverage_80_min and
        coverage_80_max (percent of actuals inside the 80% intervals, lowest and highest
        horizon), median_ape_met and coverage_met (booleans).
    """
    table = backtest_table.assign(
        backtest=np.where(backtest_table["origin"] == EARLIEST_ORIGIN, "from the earliest data", "rolling origin")
    )
    by_horizon = table.groupby(["backtest", "phase", "horizon"]).agg(
        n=("pct_error", "size"),
        median_ape=("abs_pct_error", "median"),
        coverage=("inside_80", "mean"),
    )
    by_horizon["coverage"] *= 100.0
    rows = []
    for (block, phase), group in by_horizon.groupby(level=["backtest", "phase"]):
        origins = table[(table["backtest"] == block) & (table["phase"] == phase)]["origin"]
        low, high = COVERAGE_80_TARGET_PCT
        rows.append({
            "backtest": block, "phase": phase,
            "origins": ", ".join(sorted(set(origins), key=academic_year_end)),
            "horizons": ", ".join(str(int(h)) for h in group.index.get_level_values("horizon")),
            "n": int(group["n"].sum()),
            "worst_median_ape": float(group["median_ape"].max()),
            "coverage_80_min": float(group["coverage"].min()),
            "coverage_80_max": float(group["coverage"].max()),
            "median_ape_met": bool((group["median_ape"] <= MEDIAN_APE_TARGET_PCT).all()),
            "coverage_met": bool(group["coverage"].between(low, high).all()),
        })
    order = {"from the earliest data": 0, "rolling origin": 1}
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(["backtest", "phase"], key=lambda c: c.map(order) if c.name == "backtest" else c).reset_index(drop=True)


def project_demand(
    la_population: pd.DataFrame,
    scorecard: pd.DataFrame,
    years_ahead: int = 10,
    authorities: list[str] | None = None,
    include_backtest: bool = True,
) -> DemandResult:
    """Project primary and secondary pupils 10 years ahead from the latest roll, with capacity and surplus.

    Args:
        la_population: authority_code, year (2019, 2020), age (0-90), population.
        scorecard: the store table ``scorecard`` (rolls, capacity).
        years_ahead: academic years to project after each authority's latest roll.
        authorities: authority codes (default all).
        include_backtest: add the backtest years 2022/23-2024/25 projected from the 2018/19
            roll (kind ``backtest``, with the actual roll beside them).

    Returns:
        :class:`DemandResult` whose table has authority_code, phase, academic_year, kind
        (``actual`` for the jump-off roll, ``projection``, ``backtest``), origin, horizon, pupils,
        pupils_lower_80, pupils_upper_80, pupils_lower_95, pupils_upper_95, actual_pupils,
        capacity, surplus, pct_spare, below_2pct_margin, below_5pct_margin, capacity_year.
        Problems name every authority/phase left out and what it lacks; the rest still run.
    """
    rolls = rolls_from_scorecard(scorecard)
    # the bias term and intervals ahead: hindcasts between all the rolls known (2014/15-2024/25)
    forward = calibrate_intervals(la_population, rolls)
    result = project_rolls(la_population, rolls, "latest", years_ahead, forward, authorities)
    table = result.table.drop(columns=["pupils_cohort", "participation", "children"])
    table = table.assign(kind=np.where(table["horizon"] == 0, "actual", "projection"))
    problems = list(result.problems)
    if include_backtest:
        bt = backtest(la_population, scorecard)
        rows = bt.table[bt.table["origin"] == "2018/19"]
        if authorities is not None:
            rows = rows[rows["authority_code"].isin(authorities)]
        wanted = None if authorities is None else set(authorities)
        for problem in bt.problems:
            named = set(re.findall(r"E\d{8}", problem))
            if problem.startswith("backtest from 2018/19") or "not scored" in problem:
                if wanted is None or named & wanted:
                    problems.append(problem)
        keep = [c for c in table.columns if c in rows.columns] + ["actual_pupils"]
        table = pd.concat([table, rows[keep].assign(kind="backtest")], ignore_index=True)
    actual = rolls[["authority_code", "phase", "academic_year", "pupils"]].rename(columns={"pupils": "_actual"})
    table = table.merge(actual, on=["authority_code", "phase", "academic_year"], how="left")
    if "actual_pupils" not in table:
        table["actual_pupils"] = np.nan
    table["actual_pupils"] = table["actual_pupils"].fillna(table["_actual"])
    table = table.drop(columns=["_actual"])
    table = add_capacity(table, capacity_from_scorecard(scorecard))
    for row in table[(table["kind"] == "projection") & table["capacity"].isna()].drop_duplicates(["authority_code", "phase"]).itertuples():
        problems.append(f"{row.authority_code}: {row.phase} capacity unknown (the scorecard publishes no PriCap/SecCap): no surplus")
    order = ["authority_code", "phase", "academic_year", "kind", "origin", "horizon", "pupils", "pupils_lower_80", "pupils_upper_80",
             "pupils_lower_95", "pupils_upper_95", "actual_pupils", "capacity", "surplus", "pct_spare", "below_2pct_margin",
             "below_5pct_margin", "capacity_year"]
    kind_order = table["kind"].map({"backtest": 0, "actual": 1, "projection": 2})
    table = table.assign(_k=kind_order).sort_values(["authority_code", "phase", "academic_year", "_k"]).drop(columns="_k")
    return DemandResult(table[order].reset_index(drop=True), problems)


# --------------------------------------------------------------------------------------------
# small areas: LSOA children -> schools (modelled flows) -> planning areas


LSOA_AGES = 19  # ages 0-18 in the lsoas table


def project_lsoa_children(lsoas: pd.DataFrame, la_population: pd.DataFrame, last_year: int, base_year: int = 2020) -> pd.DataFrame:
    """Project the children of each LSOA by phase, rolling its own age structure forward.

    Each LSOA's children by single year of age at mid-``base_year`` are aged one year at a time
    with its authority's cohort ratios (as for the authority projection); the youngest cohorts
    follow the authority's projected children aged 0, shared in proportion to the LSOA's
    children aged 0 at the base.

    Args:
        lsoas: lsoa11_code, authority_code, age_0_<base_year> ... age_18_<base_year> (and
            age_*_2019 for the 2019 column of the result when present).
        la_population: authority_code, year (2019, 2020), age, population.
        last_year: last mid-year to project.
        base_year: mid-year of the LSOA counts to start from (2020).

    Returns:
        DataFrame lsoa11_code, authority_code, year (mid-year), phase, children; years from
        2019 (observed, when the 2019 columns exist) and ``base_year`` to ``last_year``.

    Raises:
        ModelError: naming authorities of the LSOAs that have no population by age.
    """
    pop = _population_path(la_population, max(last_year, base_year + 1))
    index = {c: i for i, c in enumerate(pop.codes)}
    codes = lsoas["authority_code"].astype(str).to_numpy()
    missing = sorted({c for c in codes if c not in index})
    if missing:
        raise ModelError(f"no population by age for authority(ies) {', '.join(missing[:5])}: cannot project their LSOAs")
    rows = np.array([index[c] for c in codes])
    base = lsoas[[f"age_{a}_{base_year}" for a in range(LSOA_AGES)]].to_numpy(dtype=float)
    years = last_year - base_year
    la_age0 = np.stack([pop.by_year[base_year + k][:, 0] for k in range(1, years + 1)], axis=1) if years > 0 else np.zeros((len(pop.codes), 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        share0 = np.where(pop.by_year[base_year][rows, 0] > 0, base[:, 0] / pop.by_year[base_year][rows, 0], 0.0)
    age0 = la_age0[rows] * share0[:, None]
    ratios = pop.ratios[rows, : LSOA_AGES - 1]
    path = project_population(base, ratios, None, years, age0=age0)
    parts = []
    observed = {base_year + k: path[:, k] for k in range(years + 1)}
    if all(f"age_{a}_2019" in lsoas.columns for a in range(LSOA_AGES)) and base_year != 2019:
        observed[2019] = lsoas[[f"age_{a}_2019" for a in range(LSOA_AGES)]].to_numpy(dtype=float)
    for year, counts in sorted(observed.items()):
        for phase in PHASES:
            parts.append(pd.DataFrame({"lsoa11_code": lsoas["lsoa11_code"].to_numpy(), "authority_code": codes, "year": year, "phase": phase,
                                       "children": children_of_phase(counts, phase)}))
    return pd.concat(parts, ignore_index=True)


def school_demand(flows: pd.DataFrame, lsoa_children: pd.DataFrame, base_year: int = 2019, years: list[int] | None = None) -> pd.DataFrame:
    """Project pupils per school by carrying each LSOA's flows forward with its children.

    ``pupils[school, t] = sum over LSOAs of flow[lsoa, school] * children[lsoa, t] / children[lsoa, base]``:
    every LSOA keeps sending the same share of its children of the phase's ages to each school.

    Args:
        flows: urn, lsoa11_code, phase, pupils (modelled or observed, at ``base_year``).
        lsoa_children: :func:`project_lsoa_children`'s table.
        base_year: mid-year the flows describe (2019 for flows modelled from January 2019 rolls).
        years: mid-years wanted (default all in ``lsoa_children`` after ``base_year``).

    Returns:
        DataFrame urn, phase, academic_year (ending in each mid-year), pupils, plus
        unmatched_pupils (flows whose LSOA has no children of the phase at the base: carried
        unchanged, not dropped).
    """
    children = lsoa_children.set_index(["lsoa11_code", "phase", "year"])["children"]
    base = lsoa_children[lsoa_children["year"] == base_year].set_index(["lsoa11_code", "phase"])["children"]
    if years is None:
        years = sorted(y for y in lsoa_children["year"].unique() if y > base_year)
    f = flows[["urn", "lsoa11_code", "phase", "pupils"]].copy()
    key = pd.MultiIndex.from_frame(f[["lsoa11_code", "phase"]].astype(str))
    f["_base"] = base.reindex(key).to_numpy()
    unmatched = ~(f["_base"] > 0)
    parts = []
    for year in [base_year, *years]:
        now = children.reindex(pd.MultiIndex.from_arrays([key.get_level_values(0), key.get_level_values(1), np.full(len(f), year)])).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.where(unmatched, 1.0, now / f["_base"].to_numpy())
        growth = np.where(np.isfinite(growth), growth, 1.0)
        part = f.assign(pupils=f["pupils"] * growth, unmatched_pupils=np.where(unmatched, f["pupils"], 0.0))
        part = part.groupby(["urn", "phase"], as_index=False)[["pupils", "unmatched_pupils"]].sum()
        parts.append(part.assign(academic_year=academic_year(year)))
    out = pd.concat(parts, ignore_index=True)
    return out[["urn", "phase", "academic_year", "pupils", "unmatched_pupils"]].sort_values(["urn", "phase", "academic_year"]).reset_index(drop=True)


def school_phase_rolls(schools: pd.DataFrame, column: str = "pupils_2019") -> pd.DataFrame:
    """Return each school's pupils of primary ages (Reception-Year 6) and of secondary ages (Years 7-11).

    The census roll counts all ages (nursery and sixth form too); it is shared among the
    school's year groups by :func:`atlaskit.flows.phase_pupils` (through schools by their SCAP
    places of each phase).

    Args:
        schools: urn, the roll ``column``, and optionally age_low, age_high,
            capacity_primary_2015, capacity_secondary_2015.
        column: the roll to share out (``pupils_2019``: January 2019 census).

    Returns:
        DataFrame urn (text), phase, pupils: one row per school and phase it teaches with a
        known roll.
    """
    from atlaskit.analysis.flows import phase_pupils

    known = schools.drop_duplicates("urn")
    known = known[pd.to_numeric(known[column], errors="coerce") > 0]

    def numbers(name: str) -> np.ndarray | None:
        return pd.to_numeric(known[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) if name in known.columns else None

    nan = np.full(len(known), np.nan)
    low, high = numbers("age_low"), numbers("age_high")
    parts = []
    for phase in PHASES:
        pupils = phase_pupils(numbers(column), nan if low is None else low, nan if high is None else high, phase,
                              numbers("capacity_primary_2015"), numbers("capacity_secondary_2015"))
        parts.append(pd.DataFrame({"urn": known["urn"].astype(str).to_numpy(), "phase": phase, "pupils": pupils}))
    out = pd.concat(parts, ignore_index=True)
    return out[out["pupils"] > 0].reset_index(drop=True)


def planning_groups(schools: pd.DataFrame, cluster_km: float = 3.0, phase: str | None = None) -> pd.Series:
    """Return each school's planning group: its SCAP 2015 planning area, else a cluster of nearby schools.

    SCAP planning areas are per phase: an all-through school sits in a primary planning area
    for its primary pupils and in a secondary one for its secondary pupils. With ``phase``, the
    phase's own code (``planning_area_primary_code`` / ``planning_area_secondary_code``) is used
    where the table has it, else ``planning_area_code``. Schools without a code are grouped per
    authority by single-linkage clustering of their coordinates (schools within ``cluster_km``
    of one another join one cluster), named ``<authority_code>-cluster-<n>``; schools without
    coordinates are ``<authority_code>-unlocated``.

    Args:
        schools: urn, authority_code, planning_area_code (and optionally
            planning_area_primary_code, planning_area_secondary_code), easting, northing
            (metres, EPSG:27700).
        cluster_km: linkage distance (km).
        phase: ``"primary"``, ``"secondary"`` or None (``planning_area_code`` only).

    Returns:
        Series of group names indexed like ``schools``.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    def codes(column: str) -> pd.Series:
        if column not in schools.columns:
            return pd.Series(pd.NA, index=schools.index, dtype=object)
        text = schools[column].astype("string").str.strip()
        return text.where(text.notna() & (text != ""), pd.NA).astype(object)

    group = codes("planning_area_code")
    if phase is not None:
        group = codes(f"planning_area_{phase}_code").fillna(group)
    todo = group.isna()
    for code, part in schools[todo].groupby("authority_code"):
        located = part[["easting", "northing"]].notna().all(axis=1)
        group.loc[part.index[~located]] = f"{code}-unlocated"
        xy = part.loc[located, ["easting", "northing"]].to_numpy(dtype=float)
        if len(xy) == 1:
            labels = np.array([1])
        elif len(xy) > 1:
            labels = fcluster(linkage(xy, method="single"), t=cluster_km * 1000.0, criterion="distance")
        else:
            continue
        group.loc[part.index[located]] = [f"{code}-cluster-{n}" for n in labels]
    return group.astype("string")


def planning_area_demand(
    school_pupils: pd.DataFrame,
    schools: pd.DataFrame,
    cluster_km: float = 3.0,
    authority_capacity: pd.DataFrame | None = None,
    school_rolls: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Sum projected pupils per planning group and compare them with the places of its schools.

    Spare places compare like with like: ``pupils`` and ``capacity`` count only the schools
    whose capacity is known; pupils of the others are reported apart
    (``pupils_no_capacity``).

    Args:
        school_pupils: :func:`school_demand`'s table (urn, phase, academic_year, pupils).
        schools: urn, authority_code, planning_area_code (and the per-phase codes, see
            :func:`planning_groups`), easting, northing, capacity_primary_2015,
            capacity_secondary_2015, capacity_2015 (places, SCAP May 2015).
        cluster_km: see :func:`planning_groups`.
        authority_capacity: authority_code, phase, capacity (places, e.g. the scorecard's
            latest). When given, each authority's 2015 school capacities of a phase are scaled
            so they add up to it: places added or removed since 2015 are shared pro rata, and
            sixth-form places in secondary capacity drop out (:func:`capacity_from_scorecard`
            gives Years 7-11 places). Without it, 2015 places are used.
        school_rolls: urn, phase, pupils (e.g. :func:`school_phase_rolls` of the 2019 census).
            A school's places of a phase are at least its roll: a school that outgrew its 2015
            places was expanded since (a bulge class, a new form of entry), and those places
            are where it is, not spread over the authority. Applied before the scaling to
            ``authority_capacity``.

    Returns:
        DataFrame authority_code, planning_group, phase, academic_year, pupils (schools with
        capacity), pupils_no_capacity, capacity (places), surplus, pct_spare (percent),
        below_2pct_margin, below_5pct_margin, n_schools, n_schools_without_capacity.
    """
    frame = school_pupils.assign(urn=school_pupils["urn"].astype(str))
    schools = schools.assign(urn=schools["urn"].astype(str)).drop_duplicates("urn").reset_index(drop=True)
    info = schools.set_index("urn")
    frame["authority_code"] = frame["urn"].map(info["authority_code"]).astype(str)
    frame["planning_group"] = "unknown-school"
    for phase in frame["phase"].astype(str).unique():
        # each phase's own planning areas; schools without one cluster with the phase's schools
        rows = frame["phase"].astype(str) == phase
        in_phase = schools[schools["urn"].isin(frame.loc[rows, "urn"])]
        groups = planning_groups(in_phase, cluster_km, phase if phase in PHASES else None)
        groups.index = in_phase["urn"].to_numpy()
        frame.loc[rows, "planning_group"] = frame.loc[rows, "urn"].map(groups).fillna("unknown-school").astype(str)
    by_phase = np.where(frame["phase"] == "primary", frame["urn"].map(info["capacity_primary_2015"]), frame["urn"].map(info["capacity_secondary_2015"]))
    capacity = pd.Series(by_phase, index=frame.index, dtype="float64").fillna(frame["urn"].map(info["capacity_2015"]).astype("float64"))
    if school_rolls is not None and not school_rolls.empty:
        rolls = school_rolls.assign(urn=school_rolls["urn"].astype(str), phase=school_rolls["phase"].astype(str)).set_index(["urn", "phase"])["pupils"]
        rolls = rolls[~rolls.index.duplicated()]
        floor = rolls.reindex(pd.MultiIndex.from_frame(frame[["urn", "phase"]].astype(str))).to_numpy(dtype="float64")
        capacity = capacity.where(capacity.isna() | ~(floor > capacity.to_numpy()), floor)
    if authority_capacity is not None:
        per_school = frame.assign(_cap=capacity).drop_duplicates(["urn", "phase"])
        totals = per_school.groupby(["authority_code", "phase"])["_cap"].sum()
        wanted = authority_capacity.astype({"authority_code": str, "phase": str}).set_index(["authority_code", "phase"])["capacity"]
        factor = (wanted.reindex(totals.index) / totals).where(lambda v: np.isfinite(v) & (v > 0))
        keys = pd.MultiIndex.from_frame(frame[["authority_code", "phase"]].astype(str))
        capacity = capacity * factor.reindex(keys).fillna(1.0).to_numpy()
    frame["capacity"] = capacity
    frame["_no_capacity"] = frame["capacity"].isna()
    frame["_pupils_known"] = frame["pupils"].where(~frame["_no_capacity"], 0.0)
    frame["_pupils_unknown"] = frame["pupils"].where(frame["_no_capacity"], 0.0)
    out = frame.groupby(["authority_code", "planning_group", "phase", "academic_year"], as_index=False).agg(
        pupils=("_pupils_known", "sum"),
        pupils_no_capacity=("_pupils_unknown", "sum"),
        capacity=("capacity", "sum"),
        n_schools=("urn", "nunique"),
        n_schools_without_capacity=("_no_capacity", "sum"),
    )
    out["surplus"] = out["capacity"] - out["pupils"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pct_spare"] = np.where(out["capacity"] > 0, 100.0 * out["surplus"] / out["capacity"], np.nan)
    out["below_2pct_margin"] = out["pct_spare"] < OPERATING_MARGINS_PCT[0]
    out["below_5pct_margin"] = out["pct_spare"] < OPERATING_MARGINS_PCT[1]
    columns = ["authority_code", "planning_group", "phase", "academic_year", "pupils", "pupils_no_capacity", "capacity", "surplus", "pct_spare",
               "below_2pct_margin", "below_5pct_margin", "n_schools", "n_schools_without_capacity"]
    return out[columns].sort_values(["authority_code", "phase", "planning_group", "academic_year"]).reset_index(drop=True)


def first_shortfall(area_table: pd.DataFrame, margin_pct: float = OPERATING_MARGINS_PCT[0]) -> pd.DataFrame:
    """Return, per planning group and phase, the first academic year spare places fall under ``margin_pct``.

    Args:
        area_table: :func:`planning_area_demand`'s (or :func:`project_demand`'s) table.
        margin_pct: the operating margin (percent; 2 by default, 0 for an outright shortfall).

    Returns:
        DataFrame of the groups that fall short: the keys, first_short_year, pct_spare then;
        sorted by year (where places will be short first).
    """
    keys = [k for k in ("authority_code", "planning_group", "phase") if k in area_table.columns]
    short = area_table[area_table["pct_spare"] < margin_pct].sort_values("academic_year")
    first = short.groupby(keys, as_index=False).first()[[*keys, "academic_year", "pct_spare"]]
    return first.rename(columns={"academic_year": "first_short_year"}).sort_values(["first_short_year", *keys]).reset_index(drop=True)


def small_area_demand(
    lsoas: pd.DataFrame,
    flows: pd.DataFrame,
    schools: pd.DataFrame,
    la_population: pd.DataFrame,
    last_year: int = 2035,
    flows_year: int = 2019,
    cluster_km: float = 3.0,
    scale_to_rolls: bool = True,
    authority_pupils: pd.DataFrame | None = None,
    authority_capacity: pd.DataFrame | None = None,
) -> DemandResult:
    """Project pupils per planning area (or cluster of nearby schools) from LSOA children and the flows.

    Chains :func:`project_lsoa_children`, :func:`school_demand` and :func:`planning_area_demand`.

    Args:
        lsoas: lsoa11_code, authority_code, age_0_2019 ... age_18_2020 (e.g. ``loaders.load(code).lsoas``).
        flows: urn, lsoa11_code, phase, pupils, source (observed/modelled) at ``flows_year``.
        schools: the schools whose demand is wanted (urn, authority_code, planning_area_code,
            easting, northing, capacity_primary_2015, capacity_secondary_2015, capacity_2015).
        la_population: authority_code, year, age, population.
        last_year: last mid-year projected (2035: academic year 2034/35).
        flows_year: mid-year the flows describe.
        cluster_km: see :func:`planning_groups`.
        scale_to_rolls: scale each school's flows of a phase to its January 2019 pupils of
            the phase's ages (:func:`school_phase_rolls`) where known: the flows say where
            pupils live, the census how many there are (observed London flows are from 2015
            and count sixth formers). The same rolls set a floor under each school's places
            (see :func:`planning_area_demand`).
        authority_pupils: authority_code, phase, academic_year, pupils, e.g. the ``actual``
            and ``projection`` rows of :func:`project_demand`. When given (the intended use),
            schools are scaled to add up to it (:func:`constrain_to_authority`): the small
            areas share out the authority's projection anchored on its latest roll, so they
            grow exactly as it does; only its years are kept. Without it the schools keep
            their ``flows_year`` rolls (sixth forms and pupils from other authorities
            included) carried forward with their LSOAs' children from ``flows_year``: years
            of growth that the later rolls may contradict (Camden secondary: +40% from
            2018/19 to 2034/35 against +9% for the authority from its 2024/25 roll), and a
            problem says so.
        authority_capacity: authority_code, phase, capacity: scale the 2015 school places to
            it (see :func:`planning_area_demand`).

    Note: without ``authority_capacity`` the 2015 capacity of secondary schools includes
    sixth-form places, which Year 7-11 pupils do not fill, so secondary spare places are
    overstated where schools have sixth forms.

    Returns:
        :class:`DemandResult` with :func:`planning_area_demand`'s table; problems name what is
        missing (no flows, flows from LSOAs not in ``lsoas``).
    """
    problems: list[str] = []
    codes = ", ".join(sorted(schools["authority_code"].dropna().astype(str).unique())) or "these schools"
    # URNs are text in some tables and integers in others: compare them as text
    schools = schools.assign(urn=schools["urn"].astype(str))
    flows = flows.assign(urn=flows["urn"].astype(str), phase=flows["phase"].astype(str), pupils=flows["pupils"].astype("float64"))
    phase_flows = flows[flows["phase"].isin(PHASES) & flows["urn"].isin(schools["urn"])]
    if phase_flows.empty:
        problems.append(f"{codes}: no primary or secondary flows into its schools (build the store's flows step): no small-area projection")
        return DemandResult(pd.DataFrame(columns=["authority_code", "planning_group", "phase", "academic_year", "pupils", "capacity", "surplus", "pct_spare"]), problems)
    if "source" in phase_flows.columns and phase_flows["source"].eq("observed").any():
        # observed flows replace modelled ones for the same school and phase
        observed = phase_flows[phase_flows["source"] == "observed"][["urn", "phase"]].drop_duplicates()
        marked = phase_flows.merge(observed.assign(_obs=True), on=["urn", "phase"], how="left")
        phase_flows = marked[~(marked["_obs"].fillna(False).astype(bool) & (marked["source"] != "observed"))].drop(columns="_obs")
    rolls = None
    if scale_to_rolls and "pupils_2019" in schools.columns:
        # the flows say where each school's pupils live; its January 2019 roll of the phase's
        # ages (no nursery, no sixth form) says how many there are
        rolls = school_phase_rolls(schools).set_index(["urn", "phase"])["pupils"]
        total = phase_flows.groupby(["urn", "phase"])["pupils"].sum()
        factor = (rolls.reindex(total.index) / total).where(lambda v: np.isfinite(v) & (v > 0))
        unscaled = factor.index[factor.isna()].get_level_values("urn").unique()
        if len(unscaled):
            problems.append(f"{codes}: {len(unscaled)} schools without a 2019 roll keep their flows unscaled")
        keys = pd.MultiIndex.from_frame(phase_flows[["urn", "phase"]])
        phase_flows = phase_flows.assign(pupils=phase_flows["pupils"] * factor.reindex(keys).fillna(1.0).to_numpy())
        rolls = rolls.reset_index()
    unknown = set(phase_flows["lsoa11_code"]) - set(lsoas["lsoa11_code"])
    if unknown:
        lost = float(phase_flows.loc[phase_flows["lsoa11_code"].isin(unknown), "pupils"].sum())
        if lost >= 0.5:  # (atlaskit.report._area_note words this line for readers)
            problems.append(f"{codes}: {len(unknown)} LSOAs sending {lost:,.0f} pupils are not among the LSOAs given: carried unchanged")
    children = project_lsoa_children(lsoas.drop_duplicates("lsoa11_code"), la_population, last_year)
    pupils = school_demand(phase_flows, children, base_year=flows_year)
    if authority_pupils is not None:
        pupils, notes = constrain_to_authority(pupils, schools, authority_pupils)
        problems.extend(notes)
    else:
        problems.append(f"{codes}: small areas not constrained to the authority projection (no authority_pupils): pupils are the "
                        f"{flows_year} school rolls carried forward with their LSOAs' children, not anchored on the latest roll")
    return DemandResult(planning_area_demand(pupils, schools, cluster_km, authority_capacity, school_rolls=rolls), problems)


def constrain_to_authority(school_pupils: pd.DataFrame, schools: pd.DataFrame, authority_pupils: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Scale projected pupils per school so that each authority's schools add up to its own projection.

    The small-area chain says *where* pupils will be; the authority projection (anchored on the
    latest roll) says *how many*. For each authority, phase and academic year in both tables,
    every school's pupils are multiplied by authority pupils / sum of its schools' pupils.

    Args:
        school_pupils: :func:`school_demand`'s table.
        schools: urn, authority_code.
        authority_pupils: authority_code, phase, academic_year, pupils (e.g. the ``actual`` and
            ``projection`` rows of :func:`project_demand`).

    Returns:
        ``(table, notes)``: only the authorities, phases and years with a known total in
        ``authority_pupils`` are kept (the others have no total to match; the notes name the
        authority/phase pairs dropped and any year dropped between the first and last year of
        ``authority_pupils``: years before or after its span are simply outside it). Schools of an authority whose pupils add
        up to 0 stay at 0 (nothing to share out; a note names them).
    """
    keys = ["authority_code", "phase", "academic_year"]
    urn_authority = schools.assign(urn=schools["urn"].astype(str)).drop_duplicates("urn").set_index("urn")["authority_code"].astype(str)
    frame = school_pupils.assign(urn=school_pupils["urn"].astype(str))
    frame["authority_code"] = frame["urn"].map(urn_authority)
    target = authority_pupils[keys + ["pupils"]].rename(columns={"pupils": "_target"}).dropna(subset=["_target"])
    target = target.astype({"authority_code": str, "phase": str, "academic_year": str})
    sums = frame.groupby(keys, as_index=False)["pupils"].sum().rename(columns={"pupils": "_sum"})
    factors = sums.merge(target, on=keys, how="inner")
    factors["_factor"] = np.where(factors["_sum"] > 0, factors["_target"] / factors["_sum"], 0.0)
    out = frame.merge(factors[keys + ["_factor"]], on=keys, how="inner")
    notes = []
    # years before or after the authority's table are outside it, not missing from it: only gaps are named
    known_ends = target["academic_year"].map(academic_year_end)
    dropped = sorted(y for y in set(frame["academic_year"]) - set(out["academic_year"])
                     if len(known_ends) and known_ends.min() < academic_year_end(y) < known_ends.max())
    if dropped:
        notes.append(f"small areas: years without an authority total dropped: {', '.join(dropped)}")
    pairs = set(map(tuple, frame[["authority_code", "phase"]].dropna().drop_duplicates().to_numpy()))
    kept = set(map(tuple, out[["authority_code", "phase"]].drop_duplicates().to_numpy()))
    for code, phase in sorted(pairs - kept):
        notes.append(f"{code}: {phase} small areas dropped: no authority projection to share out")
    empty = factors[(factors["_sum"] <= 0) & (factors["_target"] > 0)][["authority_code", "phase"]].drop_duplicates()
    for row in empty.itertuples():
        notes.append(f"{row.authority_code}: {row.phase} schools project no pupils: the authority projection cannot be shared out")
    out["pupils"] = out["pupils"] * out["_factor"]
    return out.drop(columns=["_factor", "authority_code"]).reset_index(drop=True), notes


def plot_projection(table: pd.DataFrame, authority_code: str, ax=None, rolls: pd.DataFrame | None = None):
    """Chart one authority's rolls and capacity over time with the 80% and 95% intervals (matplotlib).

    Args:
        table: :func:`project_demand`'s table.
        authority_code: the authority to draw.
        ax: matplotlib axes pair (two, one per phase); new figure when None.
        rolls: :func:`rolls_from_scorecard`'s table, to draw the earlier rolls (2014/15,
            2018/19) too.

    Returns:
        The matplotlib Figure: per phase, actual rolls (dots), the projection (line) with its
        80% and 95% bands, the backtest from 2018/19 (dashed), capacity (step line) and the
        DfE 2% / 5% operating margins below capacity (dotted).
    """
    import matplotlib.pyplot as plt

    rows = table[table["authority_code"] == authority_code]
    if ax is None:
        fig, ax = plt.subplots(1, 2, figsize=(12, 4.5), sharex=False)
    else:
        fig = ax[0].figure
    for axis, phase in zip(ax, PHASES):
        part = rows[rows["phase"] == phase].copy()
        part["x"] = part["academic_year"].map(academic_year_end)
        ahead = part[part["kind"].isin(["actual", "projection"])].sort_values("x")
        axis.fill_between(ahead["x"], ahead["pupils_lower_95"], ahead["pupils_upper_95"], color="tab:blue", alpha=0.15, label="95% interval")
        axis.fill_between(ahead["x"], ahead["pupils_lower_80"], ahead["pupils_upper_80"], color="tab:blue", alpha=0.3, label="80% interval")
        axis.plot(ahead["x"], ahead["pupils"], color="tab:blue", label="projected pupils")
        back = part[part["kind"] == "backtest"].sort_values("x")
        if len(back):
            axis.plot(back["x"], back["pupils"], color="tab:orange", linestyle="--", marker="x", label="backtest from 2018/19")
        actual = part.dropna(subset=["actual_pupils"])[["x", "actual_pupils"]]
        if rolls is not None:
            earlier = rolls[(rolls["authority_code"] == authority_code) & (rolls["phase"] == phase)].dropna(subset=["pupils"])
            earlier = pd.DataFrame({"x": earlier["academic_year"].map(academic_year_end).astype(int), "actual_pupils": earlier["pupils"]})
            actual = pd.concat([earlier, actual], ignore_index=True)
        actual = actual.drop_duplicates("x").sort_values("x")
        axis.plot(actual["x"], actual["actual_pupils"], "o", color="black", label="actual pupils")
        cap = part.dropna(subset=["capacity"]).drop_duplicates("x").sort_values("x")
        if len(cap):
            axis.step(cap["x"], cap["capacity"], where="mid", color="tab:red", label="places")
            for pct, style in zip(OPERATING_MARGINS_PCT, (":", "-.")):
                axis.plot(cap["x"], cap["capacity"] * (1 - pct / 100.0), linestyle=style, color="tab:red", alpha=0.6, label=f"places less {pct:g}% margin")
        ticks = sorted(set(part["x"]) | set(actual["x"]))[::2]
        axis.set_xticks(ticks, [academic_year(t) for t in ticks], rotation=45, ha="right")
        axis.set_title(f"{authority_code} {phase} ({'R-Y6' if phase == 'primary' else 'Y7-11'})")
        axis.set_ylabel("pupils / places")
        axis.grid(alpha=0.3)
    ax[0].legend(fontsize="small", loc="best")
    fig.tight_layout()
    return fig
