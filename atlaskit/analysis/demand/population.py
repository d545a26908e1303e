"""Children by single year of age: academic-year labels, cohort ratios, projection and backcast, year groups.

Arrays are persons by single year of age on the last axis (ages 0..90, 90 the open band 90+).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from atlaskit.analysis.problems import Problem, ProblemKind
from atlaskit.vocabulary import MIDYEAR_AGES, YOUNGER_SHARE, check_phase


#: Adult ages whose number drives births (the files give persons, not women by age).
BIRTH_PARENT_AGES = (20, 44)
#: Ages smoothed in the cohort ratio (children); older ages keep their raw ratio.
_SMOOTH_AGES = 18


def population_array(
    la_population: pd.DataFrame, years: tuple[int, ...] = (2019, 2020), max_age: int = 90
) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Turn the long ``la_population`` table into an array authorities x years x ages.

    Args:
        la_population: authority_code, year, age (0..``max_age``, the last an open band), population (persons).
        years: mid-years wanted, in order.
        max_age: the oldest age (open band).

    Returns:
        ``(codes, counts, problems)``: authority codes (sorted), float array of shape
        (n_authorities, len(years), max_age + 1) with NaN where a count is absent, and one
        ``POPULATION_INCOMPLETE`` problem per authority with absent or negative counts (its
        detail names the mid-years with absent counts).
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
        problems.append(Problem(ProblemKind.POPULATION_INCOMPLETE, str(codes[k]),
                                detail=f"population by age absent or negative ({', '.join(missing) or 'negative counts'})"))
    return codes, counts, problems


def cohort_ratios(early: np.ndarray, late: np.ndarray, smooth_ages: int = _SMOOTH_AGES) -> np.ndarray:
    """Return each cohort's one-year change ratio ``s[a] = late[a+1] / early[a]``.

    Args:
        early: persons by single year of age at mid-year ``y`` (..., n_ages); the last age is
            an open band (e.g. 90+).
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
        population: persons, array (..., n_years, n_ages).
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


def year_group_children(population: np.ndarray, phase: str) -> np.ndarray:
    """Return the children of a phase's year groups at a mid-year (30 June), summed over the last axis.

    A year group is the children born September to August; at 30 June the share
    :data:`~atlaskit.vocabulary.YOUNGER_SHARE` of them (born July and August) are one year
    younger than the rest, so the year group of age ``a`` is ``(1 - YOUNGER_SHARE) * P[a] +
    YOUNGER_SHARE * P[a-1]``. Summed over the phase's mid-year ages ``low..high``
    (:data:`~atlaskit.vocabulary.MIDYEAR_AGES`: 5-11, 12-16) this is
    ``sum(P[low..high]) - YOUNGER_SHARE * P[high] + YOUNGER_SHARE * P[low - 1]``. (Not
    :func:`atlaskit.vocabulary.children_of_phase`, which sums census ages of the LSOA table.)

    Args:
        population: persons by single year of age at a mid-year (..., n_ages).
        phase: ``primary`` or ``secondary``.

    Returns:
        Array (...,): children of the phase's year groups (persons).

    Raises:
        ValueError: an unknown phase.
    """
    low, high = MIDYEAR_AGES[check_phase(phase)]
    return population[..., low : high + 1].sum(axis=-1) - YOUNGER_SHARE * population[..., high] + YOUNGER_SHARE * population[..., low - 1]


@dataclass(frozen=True)
class _Population:
    """Every authority's persons by age from the first backcast to the last projected mid-year."""

    codes: np.ndarray  # authority codes, sorted
    by_year: dict[int, np.ndarray]  # mid-year -> persons (n_authorities, n_ages)
    ratios: np.ndarray  # cohort ratios (n_authorities, n_ages - 1)
    births: np.ndarray  # England's projected children aged 0 after mid-2020, per child aged 0 at mid-2020 (years,)
    problems: list[Problem]  # POPULATION_INCOMPLETE per authority left out

    @property
    def incomplete(self) -> set[str]:
        """The authorities whose population by age is incomplete or negative."""
        return {p.authority_code for p in self.problems}


def _population_path(la_population: pd.DataFrame, last_year: int, first_year: int = 2015) -> _Population:
    """Backcast every authority's persons by age to ``first_year`` and project them to ``last_year`` (mid-years)."""
    codes, counts, problems = population_array(la_population, (2019, 2020))
    bad = np.isnan(counts).any(axis=(1, 2))
    national = np.nansum(counts[~bad], axis=0)
    national_ratios = cohort_ratios(national[0], national[1])
    ratios = cohort_ratios(counts[:, 0], counts[:, 1])
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
