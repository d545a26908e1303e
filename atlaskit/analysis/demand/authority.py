"""The whole job per authority: the projection from the latest roll, the backtest years beside it, places and spare places."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.analysis.demand.backtesting import EARLIEST_ORIGIN, backtest
from atlaskit.analysis.demand.capacity import add_capacity, phase_places_from_scorecard, rolls_from_scorecard
from atlaskit.analysis.demand.intervals import calibrate_intervals
from atlaskit.analysis.demand.projection import DemandResult, project_rolls
from atlaskit.analysis.problems import Problem, ProblemKind


#: Columns of :func:`project_demand`'s table, in order.
_COLUMNS = ["authority_code", "phase", "academic_year", "kind", "origin", "horizon", "pupils", "pupils_lower_80", "pupils_upper_80",
            "pupils_lower_95", "pupils_upper_95", "actual_pupils", "capacity", "surplus", "pct_spare", "below_2pct_margin",
            "below_5pct_margin", "capacity_year"]


def project_demand(
    la_population: pd.DataFrame,
    scorecard: pd.DataFrame,
    years_ahead: int = 10,
    authorities: list[str] | None = None,
    include_backtest: bool = True,
) -> DemandResult:
    """Project primary and secondary pupils ``years_ahead`` years from the latest roll, with places and spare places.

    The bias term and intervals ahead come from the hindcasts between all the rolls known
    (2014/15-2024/25).

    Args:
        la_population: authority_code, year (2019, 2020), age (0-90), population (persons).
        scorecard: the store table ``scorecard`` (rolls, places).
        years_ahead: academic years to project after each authority's latest roll.
        authorities: authority codes (default all).
        include_backtest: add the backtest years 2022/23-2024/25 projected from the 2018/19
            roll (kind ``backtest``, with the actual roll beside them).

    Returns:
        :class:`~atlaskit.analysis.demand.projection.DemandResult` whose table has
        authority_code, phase, academic_year, kind (``actual`` for the jump-off roll,
        ``projection``, ``backtest``), origin, horizon, pupils, pupils_lower_80,
        pupils_upper_80, pupils_lower_95, pupils_upper_95, actual_pupils, capacity (places,
        :func:`~atlaskit.analysis.demand.capacity.phase_places_from_scorecard`), surplus,
        pct_spare, below_2pct_margin, below_5pct_margin, capacity_year. Problems name every
        authority/phase left out and what it lacks (the backtest's from 2018/19 only, with
        their ``origin``), and ``NO_CAPACITY`` where places are unknown; the rest still run.
    """
    rolls = rolls_from_scorecard(scorecard)
    forward = calibrate_intervals(la_population, rolls)
    result = project_rolls(la_population, rolls, "latest", years_ahead, forward, authorities)
    table = result.table.drop(columns=["pupils_cohort", "participation", "children"])
    table = table.assign(kind=np.where(table["horizon"] == 0, "actual", "projection"))
    problems = list(result.problems)
    if include_backtest:
        bt = backtest(la_population, scorecard)
        rows = bt.table[bt.table["origin"] == EARLIEST_ORIGIN]
        wanted = None if authorities is None else set(authorities)
        if wanted is not None:
            rows = rows[rows["authority_code"].isin(wanted)]
        problems.extend(p for p in bt.problems if p.origin == EARLIEST_ORIGIN and (wanted is None or p.authority_code in wanted))
        keep = [c for c in table.columns if c in rows.columns] + ["actual_pupils"]
        table = pd.concat([table, rows[keep].assign(kind="backtest")], ignore_index=True)
    actual = rolls[["authority_code", "phase", "academic_year", "pupils"]].rename(columns={"pupils": "_actual"})
    table = table.merge(actual, on=["authority_code", "phase", "academic_year"], how="left")
    if "actual_pupils" not in table:
        table["actual_pupils"] = np.nan
    table["actual_pupils"] = table["actual_pupils"].fillna(table["_actual"])
    table = table.drop(columns=["_actual"])
    table = add_capacity(table, phase_places_from_scorecard(scorecard))
    for row in table[(table["kind"] == "projection") & table["capacity"].isna()].drop_duplicates(["authority_code", "phase"]).itertuples():
        problems.append(Problem(ProblemKind.NO_CAPACITY, row.authority_code, row.phase,
                                detail="the scorecard publishes no PriCap/SecCap: no surplus"))
    kind_order = table["kind"].map({"backtest": 0, "actual": 1, "projection": 2})
    table = table.assign(_k=kind_order).sort_values(["authority_code", "phase", "academic_year", "_k"]).drop(columns="_k")
    return DemandResult(table[_COLUMNS].reset_index(drop=True), problems)
