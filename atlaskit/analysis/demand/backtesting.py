"""The backtest: the scorecard years 2022/23-2024/25 projected from earlier rolls, scored against the actual rolls.

What the backtest found (targets met, the secondary break after 2022/23, what was tried against
it) is in ``notebooks/methods/demand.md``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from atlaskit.analysis.demand.capacity import rolls_from_scorecard
from atlaskit.analysis.demand.intervals import calibrate_intervals
from atlaskit.vocabulary import academic_year_end
from atlaskit.analysis.demand.projection import DemandResult, project_rolls
from atlaskit.analysis.problems import Problem, ProblemKind
from atlaskit.vocabulary import PHASES


#: The earliest jump-off the data allow (the first roll with ONS children by age beside it):
#: the main backtest projects from it to the published rolls 2022/23-2024/25.
EARLIEST_ORIGIN = "2018/19"
#: Accuracy targets: median absolute % error at most this at every horizon (percent) ...
MEDIAN_APE_TARGET_PCT = 4.0
#: ... and this share of actuals inside the 80% intervals (percent, inclusive).
COVERAGE_80_TARGET_PCT = (75.0, 85.0)
#: Backtest origins (jump-off years) and the academic years each is scored on.
BACKTEST_ORIGINS: dict[str, tuple[str, ...]] = {
    EARLIEST_ORIGIN: ("2022/23", "2023/24", "2024/25"),
    "2022/23": ("2023/24", "2024/25"),
    "2023/24": ("2024/25",),
}


def backtest(la_population: pd.DataFrame, scorecard: pd.DataFrame, intervals: pd.DataFrame | None = None) -> DemandResult:
    """Project the scorecard years 2022/23-2024/25 from earlier rolls and compare with the actual rolls.

    Origins (:data:`BACKTEST_ORIGINS`): the 2018/19 roll (4-6 years ahead), then the 2022/23
    and 2023/24 rolls (1-2 years ahead, rolling origin). A projection never sees the roll it is
    scored against, and neither do its bias term and intervals: for each origin they come from
    the hindcasts between the rolls up to that origin only
    (:func:`~atlaskit.analysis.demand.intervals.calibrate_intervals` with ``last=origin``).

    Args:
        la_population: authority_code, year (2019, 2020), age, population (persons).
        scorecard: the store table ``scorecard``.
        intervals: one table from :func:`~atlaskit.analysis.demand.intervals.calibrate_intervals`
            for every origin; None (the default) calibrates each origin on the rolls up to it.

    Returns:
        :class:`~atlaskit.analysis.demand.projection.DemandResult`: authority_code, phase,
        origin, academic_year, horizon (years), pupils (projected),
        pupils_lower_80/upper_80/lower_95/upper_95, actual_pupils, pct_error (100 * (projected -
        actual) / actual), abs_pct_error, inside_80, inside_95. Problems, each with its
        ``origin``: those of :func:`~atlaskit.analysis.demand.projection.project_rolls`, and
        ``NOT_SCORED`` for a projected year whose actual roll is missing or zero.
    """
    rolls = rolls_from_scorecard(scorecard)
    parts, problems = [], []
    for origin, targets in BACKTEST_ORIGINS.items():
        # neither the projection nor its bias term and intervals see a roll after the origin
        seen = rolls[rolls["academic_year"].map(academic_year_end) <= academic_year_end(origin)]
        calibration = intervals if intervals is not None else calibrate_intervals(la_population, seen, last=origin)
        years = max(academic_year_end(t) for t in targets) - academic_year_end(origin)
        result = project_rolls(la_population, seen, origin, years, calibration)
        problems.extend(dataclasses.replace(p, origin=origin) for p in result.problems)
        parts.append(result.table[result.table["academic_year"].isin(targets)])
    table = pd.concat(parts, ignore_index=True)
    actual = rolls[["authority_code", "phase", "academic_year", "pupils"]].rename(columns={"pupils": "actual_pupils"})
    table = table.merge(actual, on=["authority_code", "phase", "academic_year"], how="left")
    unscored = table["actual_pupils"].isna() | (table["actual_pupils"] <= 0)
    for row in table[unscored].itertuples():
        problems.append(Problem(ProblemKind.NOT_SCORED, row.authority_code, row.phase, academic_year=row.academic_year, origin=row.origin,
                                detail="the scorecard roll is missing or zero"))
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
