"""The cohort projection of pupils on roll per authority and phase from a jump-off roll, with intervals."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from atlaskit.analysis.demand.intervals import interval_quantiles
from atlaskit.analysis.demand.population import _population_path, year_group_children
from atlaskit.vocabulary import academic_year, academic_year_end
from atlaskit.analysis.problems import Problem, ProblemKind
from atlaskit.vocabulary import PHASES


#: Columns of :func:`project_rolls`'s table, in order.
_COLUMNS = ["authority_code", "phase", "academic_year", "origin", "horizon", "pupils", "pupils_lower_80", "pupils_upper_80",
            "pupils_lower_95", "pupils_upper_95", "pupils_cohort", "participation", "children"]


@dataclass
class DemandResult:
    """A table and the problems met making it (each authority/phase left out and why).

    Attributes:
        table: the result's table (see the function that made it).
        problems: :class:`~atlaskit.analysis.problems.Problem` records, in the order met.
    """

    table: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)


def project_rolls(
    la_population: pd.DataFrame,
    rolls: pd.DataFrame,
    jump_off: str,
    years_ahead: int,
    intervals: pd.DataFrame,
    authorities: list[str] | None = None,
) -> DemandResult:
    """Project pupils on roll per authority and phase from a jump-off year, with intervals.

    Pupils of a phase are its participation at the jump-off (pupils per child of the phase's
    year groups, :func:`~atlaskit.analysis.demand.population.year_group_children`) times its
    projected children, moved by the bias term.

    Args:
        la_population: authority_code, year (2019, 2020), age (0-90), population (persons).
        rolls: authority_code, phase, academic_year, pupils
            (:func:`~atlaskit.analysis.demand.capacity.rolls_from_scorecard`).
        jump_off: academic year of the roll to start from (``"2018/19"``); ``"latest"`` takes
            each authority's latest known roll.
        years_ahead: academic years to project after the jump-off.
        intervals: from :func:`~atlaskit.analysis.demand.intervals.calibrate_intervals` (its
            ``q50`` is the bias term).
        authorities: authority codes to project (default all with population).

    Returns:
        :class:`DemandResult`: table with authority_code, phase, academic_year, origin
        (jump-off year), horizon (years after it; 0 is the jump-off roll itself), pupils
        (the cohort projection moved by the bias term: the median expected), pupils_lower_80,
        pupils_upper_80, pupils_lower_95, pupils_upper_95, pupils_cohort (participation times
        children, before the bias term), participation (pupils per child of the phase's year
        groups at the jump-off), children (of the phase's year groups, projected). Problems:
        ``POPULATION_INCOMPLETE``, ``NO_POPULATION`` and ``NOT_PROJECTED`` (no roll at the
        jump-off; ``academic_year`` is the jump-off unless it is ``"latest"``).
    """
    problems: list[Problem] = []
    known = rolls.dropna(subset=["pupils"])
    if jump_off == "latest":
        origin = known.sort_values("academic_year").groupby(["authority_code", "phase"])["academic_year"].last()
    else:
        origin = known[known["academic_year"] == jump_off].set_index(["authority_code", "phase"])["academic_year"]
    origin_end = origin.map(academic_year_end)
    last_year = int(origin_end.max()) + years_ahead if len(origin_end) else 2021
    pop = _population_path(la_population, max(last_year, 2021))
    problems.extend(pop.problems)
    bad_pop = pop.incomplete
    wanted = list(pop.codes) if authorities is None else list(authorities)
    missing_pop = [c for c in wanted if c not in set(pop.codes)]
    problems.extend(Problem(ProblemKind.NO_POPULATION, c, detail="no rows in la_population for this authority") for c in missing_pop)
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
                problems.append(Problem(ProblemKind.NOT_PROJECTED, code, phase, academic_year=None if jump_off == "latest" else jump_off,
                                        detail=f"the scorecard has no {what} (published as missing or not applicable)"))
                continue
            rows_code.append(code)
            rows_origin.append(int(origin_end[(code, phase)]))
        if not rows_code:
            continue
        idx = np.array([index[c] for c in rows_code])
        start = np.array(rows_origin)
        start_pupils = np.array([roll_value[(c, phase, academic_year(y))] for c, y in zip(rows_code, start)])
        start_children = np.array([year_group_children(pop.by_year[y][i], phase) for i, y in zip(idx, start)])
        with np.errstate(divide="ignore", invalid="ignore"):
            participation = np.where(start_children > 0, start_pupils / start_children, 0.0)
        for h in range(0, years_ahead + 1):
            children = np.array([year_group_children(pop.by_year[y + h][i], phase) for i, y in zip(idx, start)])
            cohort = participation * children
            qs = interval_quantiles(intervals, phase, h)
            tables.append(pd.DataFrame({
                "authority_code": rows_code,
                "phase": phase,
                "academic_year": [academic_year(y + h) for y in start],
                "origin": [academic_year(y) for y in start],
                "horizon": h,
                "pupils": cohort * np.exp(qs["q50"]),
                "pupils_lower_80": cohort * np.exp(qs["q10"]),
                "pupils_upper_80": cohort * np.exp(qs["q90"]),
                "pupils_lower_95": cohort * np.exp(qs["q025"]),
                "pupils_upper_95": cohort * np.exp(qs["q975"]),
                "pupils_cohort": cohort,
                "participation": participation,
                "children": children,
            }))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=_COLUMNS)
    table = table.sort_values(["authority_code", "phase", "academic_year"]).reset_index(drop=True)
    return DemandResult(table, problems)
