"""Pupil projections by the cohort method, with prediction intervals, places and spare places.

Per authority and phase, children by single year of age (ONS mid-2019 and mid-2020) are rolled
forward by their cohort ratios; pupils are the participation at the latest roll times the
projected children, moved by a bias term and bounded by intervals calibrated on hindcasts. The
method, its calibration and what was tried and rejected: ``notebooks/methods/demand.md``.

Submodules:

- ``population``: academic-year labels, children by single year of age (cohort ratios, birth
  ratio, projection, backcast) and the children of a phase's year groups.
- ``capacity``: rolls and places from the scorecard, school places of a phase, spare places and
  the DfE's operating margins.
- ``intervals``: hindcast errors, the bias term and prediction intervals.
- ``projection``: :class:`DemandResult` and the cohort projection from a jump-off roll.
- ``backtesting``: the backtest against the rolls 2022/23-2024/25, its summary and targets.
- ``authority``: :func:`project_demand`, the whole job per authority (projection, backtest years, places).
- ``small_areas``: LSOA children -> schools (through the flows) -> planning areas, constrained
  to the authority projection.
"""

from __future__ import annotations

from atlaskit.analysis.demand.authority import project_demand
from atlaskit.analysis.demand.backtesting import (
    BACKTEST_ORIGINS,
    COVERAGE_80_TARGET_PCT,
    EARLIEST_ORIGIN,
    MEDIAN_APE_TARGET_PCT,
    authority_forecast_accuracy,
    backtest,
    backtest_summary,
    backtest_targets,
)
from atlaskit.analysis.demand.capacity import (
    add_capacity,
    latest_capacity,
    phase_places_from_scorecard,
    rolls_from_scorecard,
    school_phase_places,
    school_phase_rolls,
    spare_places,
)
from atlaskit.analysis.demand.intervals import (
    DEFAULT_ERROR_POWER,
    ERROR_POWER_BOUNDS,
    INTERVAL_POWER,
    MIN_ERRORS,
    calibrate_intervals,
    error_power,
    hindcast_errors,
    interval_quantiles,
)
from atlaskit.analysis.demand.population import (
    BIRTH_PARENT_AGES,
    backcast_population,
    birth_ratio,
    cohort_ratios,
    population_array,
    project_population,
    year_group_children,
)
from atlaskit.analysis.demand.projection import DemandResult, project_rolls
from atlaskit.analysis.demand.small_areas import (
    constrain_to_authority,
    first_shortfall,
    planning_area_demand,
    planning_groups,
    project_lsoa_children,
    school_demand,
    small_area_demand,
)

__all__ = [
    # population
    "BIRTH_PARENT_AGES",
    "population_array",
    "cohort_ratios",
    "birth_ratio",
    "project_population",
    "backcast_population",
    "year_group_children",
    # capacity
    "rolls_from_scorecard",
    "phase_places_from_scorecard",
    "latest_capacity",
    "spare_places",
    "add_capacity",
    "school_phase_rolls",
    "school_phase_places",
    # intervals
    "INTERVAL_POWER",
    "DEFAULT_ERROR_POWER",
    "ERROR_POWER_BOUNDS",
    "MIN_ERRORS",
    "hindcast_errors",
    "error_power",
    "calibrate_intervals",
    "interval_quantiles",
    # projection
    "DemandResult",
    "project_rolls",
    # backtest
    "EARLIEST_ORIGIN",
    "MEDIAN_APE_TARGET_PCT",
    "COVERAGE_80_TARGET_PCT",
    "BACKTEST_ORIGINS",
    "backtest",
    "authority_forecast_accuracy",
    "backtest_summary",
    "backtest_targets",
    # authority
    "project_demand",
    # small areas
    "project_lsoa_children",
    "school_demand",
    "planning_groups",
    "planning_area_demand",
    "first_shortfall",
    "small_area_demand",
    "constrain_to_authority",
]
