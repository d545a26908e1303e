"""Home-to-school pupil flows: a destination-choice spatial interaction model, its calibration and validation, and queries on flow tables.

Origins are 2011 LSOAs with their children of a phase, destinations are schools (by URN), the
cost is the straight-line distance in km (British National Grid, EPSG:27700). The method, its
assumptions and its validation are in ``notebooks/methods/flows.md``.

Submodules:

- ``inputs``: origins and destinations from the store's tables (children and pupils of a phase, participation).
- ``system``: the candidate structure (each LSOA's ``k`` nearest schools, :class:`FlowSystem`) and the named features.
- ``model``: utilities, choice probabilities, balancing, :class:`FitResult` and predictions.
- ``observed``: observed flows aligned with a system's cells (:class:`ObservedCells`).
- ``calibration``: the censored likelihood, fits, cross-validation, the primary decay and the London calibration system.
- ``measures``: goodness of fit (:func:`cell_measures`: CPC, SRMSE, R-squared) and summaries of modelled flows.
- ``queries``: modelled flows as the store's ``flows`` table, and queries on that table.
- ``feeders``: feeder schools (primary to secondary) estimated from the two phases' flows.

The England build and the validations that wire the store's tables through this package are in
:mod:`atlaskit.pipelines.england_flows` and :mod:`atlaskit.pipelines.validation`.
"""

from __future__ import annotations

from atlaskit.analysis.flows.inputs import (
    NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO,
    PRIMARY_ASSUMPTION,
    SIXTH_FORM_YEAR_WEIGHT,
    NURSERY_YEAR_WEIGHT,
    FULL_SCHOOL_FILL_RATE,
    EXCLUDED_PHASES,
    phase_pupils,
    participation_share,
    phase_origins,
    phase_destinations,
    with_participation,
    schools_open_in,
    secondary_children_2015,
)
from atlaskit.analysis.flows.system import (
    MIN_DISTANCE_KM,
    GRAVITY_FEATURES,
    CHOICE_FEATURES,
    PRODUCTION_CHOICE_FEATURES,
    FULL_CHOICE_FEATURES,
    COMPETITION_FEATURES,
    COMPETITORS_FLOOR,
    COMPETITION_RADIUS_KM,
    K_NEAREST,
    ORIGIN_ATTRIBUTES,
    SCHOOL_ATTRIBUTES,
    FlowSystem,
    build_system,
)
from atlaskit.analysis.flows.model import (
    Constraint,
    UTILITY_FLOOR,
    LOG_BALANCING_BOUND,
    origin_participation,
    balance,
    FitResult,
    fill_schools,
    predict,
    nearest_school_flows,
)
from atlaskit.analysis.flows.observed import (
    ObservedCells,
    align_observed,
)
from atlaskit.analysis.flows.calibration import (
    CostFunc,
    CALIBRATION_RADIUS_KM,
    CALIBRATION_DATE,
    fit_model,
    fit_gravity,
    cross_validate,
    calibrate_decay_to_trip_length,
    interior_schools,
    calibration_system,
)
from atlaskit.analysis.flows.measures import (
    school_predictions,
    cell_measures,
    validation_measures,
    suppression_ceiling,
    mean_trip_km,
    cross_border_shares,
)
from atlaskit.analysis.flows.queries import (
    flows_frame,
    prefer_observed,
    select_source,
    school_catchment,
    area_destinations,
    cross_border_summary,
    distance_summary,
)
from atlaskit.analysis.flows.feeders import (
    FEEDER_METHOD,
    feeder_estimates,
    school_feeders,
)

__all__ = [
    "NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO",
    "PRIMARY_ASSUMPTION",
    "SIXTH_FORM_YEAR_WEIGHT",
    "NURSERY_YEAR_WEIGHT",
    "FULL_SCHOOL_FILL_RATE",
    "EXCLUDED_PHASES",
    "phase_pupils",
    "participation_share",
    "phase_origins",
    "phase_destinations",
    "with_participation",
    "schools_open_in",
    "secondary_children_2015",
    "MIN_DISTANCE_KM",
    "GRAVITY_FEATURES",
    "CHOICE_FEATURES",
    "PRODUCTION_CHOICE_FEATURES",
    "FULL_CHOICE_FEATURES",
    "COMPETITION_FEATURES",
    "COMPETITORS_FLOOR",
    "COMPETITION_RADIUS_KM",
    "K_NEAREST",
    "ORIGIN_ATTRIBUTES",
    "SCHOOL_ATTRIBUTES",
    "FlowSystem",
    "build_system",
    "Constraint",
    "UTILITY_FLOOR",
    "LOG_BALANCING_BOUND",
    "origin_participation",
    "balance",
    "FitResult",
    "fill_schools",
    "predict",
    "nearest_school_flows",
    "ObservedCells",
    "align_observed",
    "CostFunc",
    "CALIBRATION_RADIUS_KM",
    "CALIBRATION_DATE",
    "fit_model",
    "fit_gravity",
    "cross_validate",
    "calibrate_decay_to_trip_length",
    "interior_schools",
    "calibration_system",
    "school_predictions",
    "cell_measures",
    "validation_measures",
    "suppression_ceiling",
    "mean_trip_km",
    "cross_border_shares",
    "flows_frame",
    "prefer_observed",
    "select_source",
    "school_catchment",
    "area_destinations",
    "cross_border_summary",
    "distance_summary",
    "FEEDER_METHOD",
    "feeder_estimates",
    "school_feeders",
]
