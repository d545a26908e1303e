"""Calibrating a flow model on observed flows: the censored likelihood, maximum-likelihood fits, cross-validation and the primary decay.

Calibration is on the published London secondary flows (January 2015), around the observed
schools (:func:`calibration_system`). See ``notebooks/methods/flows.md`` for the method.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Literal

import numpy as np
import pandas as pd

from atlaskit.analysis.flows.inputs import (
    NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO,
    phase_destinations,
    phase_origins,
    schools_open_in,
    secondary_children_2015,
    with_participation,
)
from atlaskit.analysis.flows.measures import mean_trip_km
from atlaskit.analysis.flows.model import Constraint, FitResult, _inflows, _segment_flows, _utility, balance, origin_participation, predict
from atlaskit.analysis.flows.observed import ObservedCells, align_observed
from atlaskit.analysis.flows.system import GRAVITY_FEATURES, K_NEAREST, FlowSystem, build_system
from atlaskit.errors import ModelError


#: Cost function of plain gravity: ``exp`` (exp(-beta d)) or ``pow`` (d^-beta).
CostFunc = Literal["exp", "pow"]
#: Origins within this distance (km) of an observed school form the calibration system.
CALIBRATION_RADIUS_KM = 15.0
#: Census date of the observed flows (January 2015): calibration uses the schools open then.
CALIBRATION_DATE = "2015-01-15"


def _loglik_and_grad(system, observed: ObservedCells, features, params, log_balancing):
    """Return the school-side censored log-likelihood and its gradient in ``params`` (notebooks/methods/flows.md, Calibration)."""
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
    """Return the optimiser's starting coefficients (a plausible decay and size term, 0 elsewhere)."""
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
        constraint: ``"production"`` (origins' totals fixed), ``"attraction"`` (fitted as
            production: the likelihood uses each school's shares only; the constraint applies in
            :func:`~atlaskit.analysis.flows.model.predict`) or ``"doubly"`` (schools' sizes too:
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
    hinv = res.hess_inv.todense() / n
    std = np.sqrt(np.clip(np.diag(hinv), 0, None)) / scale
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

    Raises:
        ModelError: for another cost function, or as :func:`fit_model`.
    """
    if cost_func not in GRAVITY_FEATURES:
        raise ModelError(f"cost_func must be 'exp' or 'pow', not {cost_func!r}")
    features = GRAVITY_FEATURES[cost_func]
    if constraint == "doubly":
        features = features[1:]  # size is absorbed by the balancing factors
    label = {"production": "production-constrained", "doubly": "doubly constrained"}[constraint]
    return fit_model(system, observed, features, constraint, name=f"{label} gravity, {cost_func}")


def cross_validate(
    system: FlowSystem,
    observed: ObservedCells,
    groups: np.ndarray,
    fit: Callable[[FlowSystem, ObservedCells], FitResult],
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


def calibrate_decay_to_trip_length(
    system: FlowSystem,
    result: FitResult,
    target_km: float,
    origin_mask: np.ndarray | None = None,
    decay_features: tuple[str, ...] = ("distance_km", "log_distance"),
) -> FitResult:
    """Scale a fitted model's distance-decay coefficients so its mean trip equals ``target_km`` (bisection).

    Used for primary flows (none published): the secondary model's decay is multiplied by a factor
    found so that the modelled mean trip (of ``origin_mask``'s origins) is ``target_km``. Each trial
    predicts with 30 rounds of :func:`~atlaskit.analysis.flows.model.fill_schools` at 1% tolerance.

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
        # the same rounds at every factor, so the bisection is monotone
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


def interior_schools(destinations: pd.DataFrame, observed_schools: pd.DataFrame, radius_km: float, margin_km: float = 5.0) -> np.ndarray:
    """Return which schools lie inside a sub-system: within ``radius_km - margin_km`` of an observed school.

    Args:
        destinations: schools (easting, northing; EPSG:27700 metres).
        observed_schools: the observed schools (easting, northing; EPSG:27700 metres).
        radius_km: the sub-system's radius around the observed schools, km.
        margin_km: the edge band left out, km.

    Returns:
        (n_d,) bool, in ``destinations`` order.
    """
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(observed_schools[["easting", "northing"]].to_numpy()).query(destinations[["easting", "northing"]].to_numpy())
    return dist <= (radius_km - margin_km) * 1000.0


def calibration_system(lsoas: pd.DataFrame, schools: pd.DataFrame, observed_flows: pd.DataFrame, k: int = K_NEAREST["secondary"], radius_km: float = CALIBRATION_RADIUS_KM) -> tuple[FlowSystem, ObservedCells]:
    """Return the secondary system for calibration (2015 schools and rolls) around the observed schools.

    Args:
        lsoas, schools, observed_flows: store tables.
        k: candidate schools per LSOA.
        radius_km: origins within this distance (km) of an observed school are included; schools
            within ``radius_km - 5`` km of one are balanced or filled (:func:`interior_schools`).

    Returns:
        ``(system, observed cells)``; destinations are the state-funded mainstream secondary
        schools open on :data:`CALIBRATION_DATE` and every observed school, sized by their 2015
        pupils aged 11-15 (an observed school without a 2015 roll in the registers, having closed
        or changed URN since, takes its published January 2015 total); origins' children are the
        2015 estimates of :func:`~atlaskit.analysis.flows.inputs.secondary_children_2015`.

    Raises:
        ModelError: when none of the observed schools is located, or an input lacks a column.
    """
    from scipy.spatial import cKDTree

    origins = phase_origins(lsoas, "secondary")
    origins["children"] = secondary_children_2015(lsoas)
    obs_urns = pd.unique(observed_flows["urn"])
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
