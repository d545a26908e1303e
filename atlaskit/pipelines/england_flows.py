"""England's modelled flows: the store's flow model calibrated on the London flows and applied to every LSOA and school, both phases.

Secondary: the model is fitted by censored maximum likelihood on the published 2015 London flows
(2015 schools and rolls), then applied to the population year's children and schools. Primary:
the secondary model without secondary-only terms, its decay scaled to the National Travel Survey
trip ratio (:data:`~atlaskit.analysis.flows.PRIMARY_ASSUMPTION`). See ``notebooks/methods/flows.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from atlaskit.analysis.flows import (
    COMPETITION_FEATURES,
    COMPETITION_RADIUS_KM,
    K_NEAREST,
    NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO,
    Constraint,
    FitResult,
    FlowSystem,
    build_system,
    calibrate_decay_to_trip_length,
    calibration_system,
    fit_model,
    flows_frame,
    mean_trip_km,
    phase_destinations,
    phase_origins,
    predict,
    with_participation,
)
from atlaskit.analysis.problems import Problem, ProblemKind

__all__ = ["FINAL_FEATURES", "FINAL_CONSTRAINT", "SECONDARY_ONLY_FEATURES", "LONDON_REGION", "EnglandFlows", "model_england"]

#: Features of the store's secondary model (chosen by ``atlas validate flows``): the competition and
#: social-sorting destination-choice model.
FINAL_FEATURES = COMPETITION_FEATURES
#: Constraint of the store's model: each school filled to its roll, no LSOA above its children.
FINAL_CONSTRAINT: Constraint = "attraction"
#: Features dropped from the secondary model for primary flows (secondary-only attributes).
SECONDARY_ONLY_FEATURES = ("selective", "distance_x_selective", "progress8", "attainment8", "distance_x_attainment8")
#: ONS code of the London region (where the observed flows are).
LONDON_REGION = "E12000007"


@dataclass(frozen=True, eq=False)
class EnglandFlows:
    """Modelled flows for all England, both phases, with the fits and what was left out.

    Attributes:
        flows: ``urn, lsoa11_code, phase, pupils, source ("modelled"), distance_km``.
        secondary: the fitted secondary model.
        primary: the primary model (secondary form, decay scaled to the NTS trip ratio).
        participation: per phase and region, the participation share applied.
        unlocated: schools without coordinates (phase, urn, school_name, authority_code, pupils).
        problems: one ``NOT_MODELLED`` problem per phase with schools without coordinates.
        diagnostics: timings (s), mean trips (km), state-school shares and pupils in dropped cells.
        systems: the national :class:`~atlaskit.analysis.flows.FlowSystem` per phase (for validation; not stored).
    """

    flows: pd.DataFrame
    secondary: FitResult
    primary: FitResult
    participation: pd.DataFrame
    unlocated: pd.DataFrame
    problems: tuple[Problem, ...]
    diagnostics: Mapping[str, float]
    systems: Mapping[str, FlowSystem]


def _unlocated_problem(phase: str, lost: pd.DataFrame, shown: int = 20) -> Problem:
    """Return the problem of a phase's schools without coordinates (not modelled)."""
    urns = ", ".join(map(str, lost["urn"].head(shown))) + (" ..." if len(lost) > shown else "")
    return Problem(
        kind=ProblemKind.NOT_MODELLED,
        phase=phase,
        detail=f"{len(lost)} school(s) without coordinates ({lost['pupils'].sum():.0f} pupils): URN {urns}",
        count=len(lost),
        pupils=float(lost["pupils"].sum()),
    )


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

    Args:
        lsoas, schools, observed_flows: store tables.
        features, constraint: the secondary model's form.
        year: population and roll year (2019).
        min_pupils: modelled cells under this many pupils are dropped from the table.

    Returns:
        :class:`EnglandFlows`.

    Raises:
        ModelError: when the model cannot be calibrated or evaluated on the tables.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cal_system, cal_observed = calibration_system(lsoas, schools, observed_flows)
    timings["calibration_system_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    secondary = fit_model(cal_system, cal_observed, features, constraint, name=f"destination choice ({constraint})")
    timings["calibration_s"] = time.perf_counter() - t0

    frames, unlocated, shares, problems, systems = [], [], [], [], {}
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
        diag[f"{phase}_mean_trip_km_london"] = mean_trip_km(system, flows, london)
        diag[f"{phase}_mean_trip_km_england"] = mean_trip_km(system, flows)
        # share of resident children the model places in state-funded schools
        children = system.origin_children
        diag[f"{phase}_state_share_england"] = float(flows.sum() / max(children.sum(), 1e-12))
        diag[f"{phase}_state_share_london"] = float(flows[london].sum() / max(children[london].sum(), 1e-12))
        frame = flows_frame(system, flows, phase, min_pupils)
        diag[f"{phase}_pupils_in_dropped_cells"] = float(flows.sum() - frame["pupils"].sum())
        frames.append(frame)
        unlocated.append(missing.assign(phase=phase))
        if len(missing):
            problems.append(_unlocated_problem(phase, missing))
        shares.append(share.assign(phase=phase))
        timings[f"{phase}_s"] = time.perf_counter() - t0
    diag.update(timings)
    return EnglandFlows(
        flows=pd.concat(frames, ignore_index=True),
        secondary=secondary,
        primary=primary,
        participation=pd.concat(shares, ignore_index=True),
        unlocated=pd.concat(unlocated, ignore_index=True),
        problems=tuple(problems),
        diagnostics=MappingProxyType(diag),
        systems=MappingProxyType(systems),
    )
