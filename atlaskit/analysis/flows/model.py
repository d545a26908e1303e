"""Evaluating a flow model: utilities, choice probabilities, balancing, the fitted-model record and predictions.

Flows ``T[i, j] = O[i] p[i, j]`` with ``p[i, :] = softmax(u[i, :])`` over each origin's candidate
schools, ``u`` a linear combination of the system's named features (:meth:`FlowSystem.feature`).
See ``notebooks/methods/flows.md`` for the method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Mapping

import numpy as np
import pandas as pd

from atlaskit.analysis.flows.system import FlowSystem


#: How a model's flows are constrained: ``production`` (each origin's total fixed), ``attraction``
#: (each school filled to its size, no origin above its children: :func:`fill_schools`) or
#: ``doubly`` (both, through balancing factors: :func:`balance`).
Constraint = Literal["production", "attraction", "doubly"]

#: Clip utilities (after subtracting each origin's maximum) at this value before ``exp``: NumPy's exp
#: slows several-fold on subnormal results, and such choices carry no weight anyway.
UTILITY_FLOOR = -40.0


def _utility(system: FlowSystem, features: tuple[str, ...], params: np.ndarray, log_balancing: np.ndarray | None) -> np.ndarray:
    """Return the (n_o, k) utilities of each origin's candidates: the features' linear combination plus ``log B_j``."""
    u = np.zeros(system.col.shape, dtype="float64")
    dest = np.zeros(len(system.destination_ids), dtype="float64") if log_balancing is None else log_balancing.copy()
    for name, theta in zip(features, params):
        if name.startswith("origin_"):
            continue  # origin terms scale the origin, they do not change its choices
        f = system.feature(name)
        if f.ndim == 1:
            dest += theta * f
        else:
            u += theta * f
    u += dest[system.col]
    return u


def origin_participation(system: FlowSystem, features: tuple[str, ...], params: np.ndarray) -> np.ndarray:
    """Return each origin's relative participation factor from the model's ``origin_*`` terms.

    The factor is ``exp(sum gamma_f x_if)`` rescaled so that the origins' total is unchanged
    (children-weighted mean 1): it moves state-school pupils from LSOAs whose children more often
    attend independent schools (the affluent, low-IDACI ones, when gamma > 0) to the others.

    Returns:
        (n_o,) factors (all 1 when the model has no origin terms).
    """
    eta = np.zeros(len(system.origins))
    for name, theta in zip(features, params):
        if name.startswith("origin_"):
            eta += theta * system.feature(name)
    if not eta.any():
        return np.ones(len(system.origins))
    factor = np.exp(np.clip(eta - eta.max(), UTILITY_FLOOR, 0))
    total = system.origins.sum()
    return factor * (total / max(float(np.dot(system.origins, factor)), 1e-300)) if total > 0 else factor


def _choice_probabilities(u: np.ndarray, eligible: np.ndarray | None = None) -> np.ndarray:
    """Return the (n_o, k) softmax of ``u`` per origin, over the ``eligible`` candidates only where given."""
    u = u - u.max(axis=1, keepdims=True)
    np.maximum(u, UTILITY_FLOOR, out=u)
    p = np.exp(u)
    if eligible is not None:
        masked = p * eligible
        ok = masked.sum(axis=1) > 0  # an origin with no eligible candidate keeps all of them
        p[ok] = masked[ok]
    p /= p.sum(axis=1, keepdims=True)
    return p


def _segment_flows(system: FlowSystem, u: np.ndarray, origins: np.ndarray | None = None) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Return total flows (n_o, k) and, per segment, (flows, choice probabilities)."""
    origins = system.origins if origins is None else origins
    if not system.segments:
        p = _choice_probabilities(u)
        flows = p * origins[:, None]
        return flows, [(flows, p)]
    parts = []
    total = np.zeros(u.shape)
    for _, share, eligible in system.segments:
        p = _choice_probabilities(u, eligible)
        f = p * (origins * share)[:, None]
        total += f
        parts.append((f, p))
    return total, parts


def _inflows(system: FlowSystem, flows: np.ndarray) -> np.ndarray:
    """Return each school's (n_d,) total inflow of the (n_o, k) ``flows``."""
    return np.bincount(system.col.ravel(), weights=flows.ravel(), minlength=len(system.destination_ids))


#: Balancing factors are kept within exp(+-30): a school whose size exceeds what its candidate
#: origins could send (at the edge of a sub-system) saturates instead of pushing the others away.
LOG_BALANCING_BOUND = 30.0


def balance(
    system: FlowSystem,
    features: tuple[str, ...],
    params: np.ndarray,
    log_balancing: np.ndarray | None = None,
    tol: float = 1e-3,
    max_iter: int = 500,
) -> tuple[np.ndarray, int, float]:
    """Find destination balancing factors so each school's modelled inflow equals its size.

    Args:
        system: the candidate structure; ``destinations`` are the targets (those of reachable
            schools are scaled to the origins' total first, so the margins are consistent).
        features, params: the model's utility.
        log_balancing: starting values of ``log B_j`` (default 0).
        tol: stop when every reachable school's inflow is within this relative error.
        max_iter: iteration limit.

    Returns:
        ``(log_balancing, iterations, max_relative_error)``; unreachable schools (in no origin's
        candidate set, or of size 0) keep ``log B = -inf``-like floor values and are excluded, and
        saturated schools (at :data:`LOG_BALANCING_BOUND`) are excluded from the error.
    """
    origins = system.origins * origin_participation(system, features, params)
    reachable = np.bincount(system.col.ravel(), minlength=len(system.destinations)) > 0
    active = reachable & (system.destinations > 0)
    free = active.copy()  # reachable schools left unconstrained (edge of a sub-system)
    if system.constrained is not None:
        active &= system.constrained
        free &= ~system.constrained
    else:
        free[:] = False
    size_active = max(float(system.destinations[active].sum()), 1e-12)
    target = system.destinations * (origins.sum() / size_active)
    logb = np.zeros(len(target)) if log_balancing is None else log_balancing.copy()
    logb[~(active | free)] = UTILITY_FLOOR * 2
    logb[free] = 0.0
    base = _utility(system, features, params, None)
    err = np.inf
    iteration = 0
    for iteration in range(1, max_iter + 1):
        flows, _ = _segment_flows(system, base + logb[system.col], origins)
        inflow = _inflows(system, flows)
        if free.any():
            # the edge schools take what they take; the rest of the origins' pupils is shared among
            # the balanced schools in proportion to their sizes (scaling them to all origins made
            # the targets infeasible and the factors run to their bounds)
            target = system.destinations * (max(float(origins.sum() - inflow[free].sum()), 0.0) / size_active)
        ratio = np.ones_like(target)
        ratio[active] = target[active] / np.maximum(inflow[active], 1e-300)
        # a school whose target exceeds what its candidate origins can send saturates at the bound
        checked = active & (logb < LOG_BALANCING_BOUND - 1e-6)
        err = float(np.max(np.abs(inflow[checked] / target[checked] - 1))) if checked.any() else 0.0
        if err < tol:
            break
        logb[active] += np.clip(np.log(ratio[active]), -5, 5)
        if not free.any():
            logb[active] -= np.median(logb[active])  # the factors are defined up to a constant
        logb[active] = np.clip(logb[active], -LOG_BALANCING_BOUND, LOG_BALANCING_BOUND)
    return logb, iteration, err


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fitted flow model: its form, parameters and diagnostics (frozen; nothing is fitted in a constructor).

    Attributes:
        name: label used in validation tables.
        features: names of the utility terms, in ``params`` order.
        params: estimated coefficients (per km for ``distance_km`` terms).
        constraint: ``"production"``, ``"attraction"`` or ``"doubly"`` (:data:`Constraint`).
        log_likelihood: maximised school-side log-likelihood (censored cells as one lump per school).
        n_pupils: observed pupils used (published plus suppressed).
        converged: whether the optimiser reported success (in the last round of a doubly constrained fit).
        iterations: optimiser iterations (summed over the rounds of a doubly constrained fit).
        std_errors: standard errors from the inverse Hessian approximation (NaN when unavailable).
        diagnostics: further figures (share of published pupils outside the candidate sets...).
    """

    name: str
    features: tuple[str, ...]
    params: np.ndarray
    constraint: Constraint
    log_likelihood: float
    n_pupils: float
    converged: bool
    iterations: int
    std_errors: np.ndarray
    diagnostics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def table(self) -> pd.DataFrame:
        """Return the coefficients and standard errors as a table."""
        return pd.DataFrame({"feature": self.features, "coefficient": self.params, "std_error": self.std_errors})


def fill_schools(system: FlowSystem, flows: np.ndarray, tol: float = 1e-3, max_iter: int = 200) -> np.ndarray:
    """Scale flows so each school takes its size, keeping where its pupils live, no origin above its children.

    The attraction constraint: each school's column is scaled to its size (``system.destinations``),
    then each origin sending more than its resident children (``system.origin_children``) is scaled
    down to them, alternately until every filled school is within ``tol``.

    Args:
        system: the candidate structure; only ``system.constrained`` schools are filled when given
            (at the edge of a sub-system schools lose origins outside it and keep their flows).
        flows: (n_o, k) non-negative flows, e.g. production-constrained ones.
        tol: stop when every filled school's scaling is within this relative distance of 1.
        max_iter: iteration limit (a school whose candidate origins cannot supply its size stays
            short of it).

    Returns:
        (n_o, k) flows: each filled school's inflow equals its size where its origins allow, and
        no origin sends more than its resident children.
    """
    flows = np.array(flows, dtype="float64", copy=True)
    cap = np.full(len(system.origins), np.inf) if system.origin_children is None else np.asarray(system.origin_children, dtype="float64")
    fill = np.ones(len(system.destinations), dtype=bool) if system.constrained is None else np.asarray(system.constrained, dtype=bool)
    for _ in range(max_iter):
        inflow = _inflows(system, flows)
        scale = np.where(fill & (inflow > 0), system.destinations / np.maximum(inflow, 1e-300), 1.0)
        flows *= scale[system.col]
        rows = flows.sum(axis=1)
        over = rows > cap
        if over.any():
            flows[over] *= (cap[over] / rows[over])[:, None]
        if np.max(np.abs(scale - 1.0)) < tol:
            break
    return flows


def predict(system: FlowSystem, result: FitResult, tol: float = 1e-3, max_iter: int = 500) -> np.ndarray:
    """Return modelled flows (n_o, k), pupils from each origin to each candidate school.

    Args:
        system: origins, destinations and candidates (need not be the one fitted on).
        result: a :class:`FitResult`; doubly constrained models are re-balanced on ``system``;
            attraction-constrained ones are filled to the schools' sizes (:func:`fill_schools`).
        tol: balancing tolerance (relative).
        max_iter: balancing iteration limit.

    Returns:
        Non-negative flows. Production and doubly constrained: row sums equal ``system.origins``
        times the model's relative participation factors (:func:`origin_participation`; 1 for
        models without ``origin_*`` terms). Attraction-constrained: each school's inflow equals
        its size (where its origins allow) and no row exceeds ``system.origin_children``.
    """
    logb = None
    if result.constraint == "doubly":
        logb, _, _ = balance(system, result.features, result.params, tol=tol, max_iter=max_iter)
    origins = system.origins * origin_participation(system, result.features, result.params)
    flows, _ = _segment_flows(system, _utility(system, result.features, result.params, logb), origins)
    if result.constraint == "attraction":
        flows = fill_schools(system, flows, tol=tol, max_iter=min(max_iter, 200))
    return flows


def nearest_school_flows(system: FlowSystem) -> np.ndarray:
    """Return flows allocating every origin's children to its nearest school (the naive baseline)."""
    flows = np.zeros(system.col.shape)
    flows[:, 0] = system.origins
    return flows
