"""Home-to-school pupil flows: spatial interaction models, their calibration and validation, and queries.

Vocabulary follows PySAL's spint: *origins* are small areas (2011 LSOAs) with the children who
live there, *destinations* are schools (by URN) with their sizes, *cost* is the straight-line
home-to-school distance in km between the LSOA centroid and the school (both British National
Grid, EPSG:27700), and ``cost_func`` is ``"exp"`` (exp(-beta d)) or ``"pow"`` (d^-beta).

Every model here is a multinomial destination choice over each origin's ``k`` nearest schools of
the phase (a fixed-width sparse structure, :class:`FlowSystem`): flows ``T[i, j] = O[i] p[i, j]``
with ``p[i, :] = softmax(u[i, :])``, so each origin's flows add up to its children exactly (the
production constraint). The utility ``u`` is a linear combination of named features:

- plain **production-constrained gravity**: ``u = alpha log(size_j) - beta cost_ij``;
- **doubly constrained** gravity: the same plus balancing factors ``log B_j`` iterated until each
  school's inflow equals its size (its pupils of the phase), Furness-style;
- the **destination-choice (conditional logit)** model: doubly constrained, with distance decay
  in both forms (exp and pow, a Tanner function), decay that differs for selective, faith and
  single-sex schools (which draw from wider areas), and a penalty for crossing an authority
  border. Destination-only attributes (Ofsted, Progress 8) are absorbed by the balancing factors
  in a doubly constrained model; they are estimated in :data:`PRODUCTION_CHOICE_FEATURES`,
  the production-constrained variant, and compared in ``atlas validate flows``.

Calibration is by maximum likelihood on the published London flows (January 2015, secondary):
for a pupil of school j, the probability of living in LSOA i is ``T[i, j] / sum_i T[i, j]``.
Cells under 3 pupils are suppressed by the publisher; they are **censored, not zero**: each
school's suppressed pupils (its total minus its published cells) enter the likelihood as one
lump whose probability is the model's share of that school's pupils in the LSOAs *not*
published for it. Observed schools' totals include sixth formers while modelled children are
aged 11-15: the likelihood and the validation use each school's *shares*, never its scale.

Primary flows are not published anywhere. The primary model uses the secondary model's form
with its decay re-calibrated so that the modelled mean primary trip in London is the observed
mean secondary trip times the ratio of the national average trips to school by age in the
National Travel Survey 2014 (Department for Transport, NTS factsheet "Travel to school", 2014:
1.6 miles for children aged 5-10, 3.4 miles for ages 11-16): :data:`NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO`.
That is an assumption, stated wherever primary flows are shown.

Children in independent schools or not in the school census (about 7% in England, more in London)
are accounted for by a participation share per region: the pupils of the phase in state-funded
schools of the region divided by its resident children of the phase (capped at 1); modelled
flows start from ``children x share``, see :func:`participation_share`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Mapping

import numpy as np
import pandas as pd

from atlaskit.errors import ModelError, UnknownArea, UnknownSchool

CostFunc = Literal["exp", "pow"]
Constraint = Literal["production", "doubly"]

#: National Travel Survey 2014 (DfT), average trip length to school, miles, by age of child.
NTS_2014_TRIP_MILES: Mapping[str, float] = MappingProxyType({"primary (5-10)": 1.6, "secondary (11-16)": 3.4})
#: Ratio of primary to secondary mean trip to school (NTS 2014), used to calibrate primary decay.
NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO = 1.6 / 3.4
#: Sentence shown with primary flows wherever they appear (app, report, CLI, validation).
PRIMARY_ASSUMPTION = (
    "Primary flows are modelled only: no primary flows are published. Their distance decay is set so that the mean "
    "modelled primary trip is 1.6/3.4 of the observed mean secondary trip (National Travel Survey 2014: average trip "
    "to school 1.6 miles at ages 5-10, 3.4 miles at ages 11-16)."
)
#: Ages of the children of each phase (single years, at mid-year).
PHASE_AGES: Mapping[str, tuple[int, ...]] = MappingProxyType({"primary": tuple(range(4, 11)), "secondary": tuple(range(11, 16))})

#: Clip utilities (after subtracting each origin's maximum) at this value before ``exp``: NumPy's exp
#: slows several-fold on subnormal results, and such choices carry no weight anyway.
UTILITY_FLOOR = -40.0
#: Distances below this (km) are raised to it (an LSOA centroid may sit on a school; ``pow`` needs d > 0).
MIN_DISTANCE_KM = 0.2

GRAVITY_FEATURES = {"exp": ("log_size", "distance_km"), "pow": ("log_size", "log_distance")}
#: Features of the destination-choice model (doubly constrained: destination attributes are absorbed).
CHOICE_FEATURES = (
    "distance_km",
    "log_distance",
    "distance_x_selective",
    "distance_x_faith",
    "distance_x_single_sex",
    "crosses_border",
)
#: Features of the production-constrained destination-choice variant (school attributes as attractiveness).
PRODUCTION_CHOICE_FEATURES = (
    "log_size",
    "distance_km",
    "log_distance",
    "distance_x_selective",
    "distance_x_faith",
    "distance_x_single_sex",
    "crosses_border",
    "selective",
    "faith",
    "single_sex",
    "ofsted_good_or_better",
    "progress8",
)

#: Columns a destination (school) table may give as attributes, with their meaning.
SCHOOL_ATTRIBUTES = {
    "selective": "1 for a selective (grammar) school, from the register's admissions policy",
    "faith": "1 for a school with a religious character",
    "single_sex": "1 for a boys' or girls' school",
    "ofsted_good_or_better": "1 when the latest Ofsted overall effectiveness is 1 or 2",
    "progress8": "KS4 Progress 8 score (0 when unknown)",
}


#: Relative size of a sixth-form year group (ages 16, 17) against a compulsory one, for schools whose
#: roll includes a sixth form. About 0.6: roughly 40% of 16-17 year olds in state-funded schools'
#: sixth forms leave for colleges (DfE, Participation in education, training and employment).
SIXTH_FORM_YEAR_WEIGHT = 0.6
#: Relative size of a nursery year group (ages 2-3) in a primary school's roll.
NURSERY_YEAR_WEIGHT = 0.5


def phase_pupils(pupils: np.ndarray, age_low: np.ndarray, age_high: np.ndarray, phase: str) -> np.ndarray:
    """Estimate a school's pupils aged as the phase's children (primary 4-10, secondary 11-15).

    The roll is shared among the school's year groups (ages ``age_low`` .. ``age_high - 1``, as
    the register states the age range ``age_low-age_high``) in proportion to a year weight: 1 for
    ages 4-15, :data:`SIXTH_FORM_YEAR_WEIGHT` for 16-17, :data:`NURSERY_YEAR_WEIGHT` for 2-3.

    Args:
        pupils: (n,) pupils on roll (all ages).
        age_low, age_high: (n,) statutory age range; NaN when unknown (then the phase's years only).
        phase: ``"primary"`` or ``"secondary"``.

    Returns:
        (n,) float pupils of the phase's ages (0 where the range does not overlap the phase).
    """
    if phase not in PHASE_AGES:
        raise ModelError(f"phase must be 'primary' or 'secondary', not {phase!r}")
    ages = np.arange(0, 20)
    weight = np.where((ages >= 4) & (ages <= 15), 1.0, 0.0)
    weight[(ages >= 16) & (ages <= 17)] = SIXTH_FORM_YEAR_WEIGHT
    weight[(ages >= 2) & (ages <= 3)] = NURSERY_YEAR_WEIGHT
    in_phase = np.isin(ages, PHASE_AGES[phase])
    pupils = np.asarray(pupils, dtype="float64")
    lo = np.asarray(age_low, dtype="float64")
    hi = np.asarray(age_high, dtype="float64")
    default_lo, default_hi = min(PHASE_AGES[phase]), max(PHASE_AGES[phase]) + 1
    lo = np.where(np.isnan(lo), default_lo, lo)
    hi = np.where(np.isnan(hi), default_hi, hi)
    covered = (ages[None, :] >= lo[:, None]) & (ages[None, :] < np.maximum(hi, lo + 1)[:, None])
    w_all = (covered * weight).sum(axis=1)
    w_phase = (covered * weight * in_phase).sum(axis=1)
    return np.where(w_all > 0, np.nan_to_num(pupils) * w_phase / np.where(w_all > 0, w_all, 1), 0.0)


def participation_share(children: pd.Series, pupils: pd.Series) -> pd.Series:
    """Return the share of resident children in state-funded schools, per area (region), capped at 1.

    ``share = pupils of the phase in state-funded schools located in the area / resident children
    of the phase``. The remainder attend independent schools, are home-educated or are not in the
    census; modelled flows start from ``children x share``. Regions are large enough that pupils
    crossing their borders are a small part of either count.

    Args:
        children: resident children of the phase, indexed by area code.
        pupils: pupils of the phase in the area's state-funded schools, indexed by area code.

    Returns:
        Share per area in [0, 1] (1 where there are no children).
    """
    pupils = pupils.reindex(children.index).fillna(0.0)
    share = (pupils / children.where(children > 0)).clip(upper=1.0).fillna(1.0)
    return share


# ----------------------------------------------------------------------------------------------
# The candidate structure
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FlowSystem:
    """Origins, destinations and each origin's ``k`` nearest destinations (a fixed-width sparse matrix).

    Attributes:
        origin_codes: (n_o,) LSOA codes.
        origins: (n_o,) children who choose a school (after the participation share), float.
        origin_authority: (n_o,) authority code of each origin (for border crossings).
        destination_ids: (n_d,) school URNs.
        destinations: (n_d,) pupils of the phase per school (the doubly constrained targets).
        destination_authority: (n_d,) authority code of each school.
        destination_attributes: (n_d, ...) DataFrame of school attributes (see :data:`SCHOOL_ATTRIBUTES`).
        col: (n_o, k) int index of each candidate destination, nearest first.
        distance_km: (n_o, k) straight-line distance in km (EPSG:27700 metres / 1000).
        segments: ``(name, share, eligible)`` triples splitting each origin's children into groups
            that may choose only some candidates: ``("girls", 0.5, mask)``, ``("boys", 0.5, mask)``
            where ``mask`` (n_o, k) is False for single-sex schools of the other sex. Empty: one
            group choosing among all candidates.
    """

    origin_codes: np.ndarray
    origins: np.ndarray
    origin_authority: np.ndarray
    destination_ids: np.ndarray
    destinations: np.ndarray
    destination_authority: np.ndarray
    destination_attributes: pd.DataFrame
    col: np.ndarray
    distance_km: np.ndarray
    segments: tuple = ()
    _features: dict = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        """Number of candidate schools per origin."""
        return self.col.shape[1]

    def to_sparse(self, values: np.ndarray | None = None):
        """Return ``values`` (n_o, k; default the distances) as a scipy CSR matrix origins x destinations."""
        from scipy import sparse

        values = self.distance_km if values is None else values
        n_o, k = self.col.shape
        indptr = np.arange(0, n_o * k + 1, k)
        return sparse.csr_matrix((values.ravel(), self.col.ravel(), indptr), shape=(n_o, len(self.destination_ids)))

    def feature(self, name: str) -> np.ndarray:
        """Return a named feature: (n_d,) for destination features, (n_o, k) for pair features (cached).

        Raises:
            ModelError: for an unknown feature name or a missing school attribute.
        """
        if name in self._features:
            return self._features[name]
        d = np.maximum(self.distance_km, MIN_DISTANCE_KM)
        attrs = self.destination_attributes

        def attr(column: str) -> np.ndarray:
            if column not in attrs.columns:
                raise ModelError(f"feature {name!r} needs the school attribute {column!r}, absent from destination_attributes")
            return attrs[column].to_numpy(dtype="float64", na_value=0.0)

        if name == "log_size":
            value = np.log(np.maximum(self.destinations, 1.0))
        elif name == "distance_km":
            value = d
        elif name == "log_distance":
            value = np.log(d)
        elif name == "relative_distance":
            # distance over the mean distance to the origin's 5 nearest schools: the same decay
            # then fits dense inner-city and sparse rural areas
            value = d / np.maximum(d[:, : min(5, d.shape[1])].mean(axis=1, keepdims=True), MIN_DISTANCE_KM)
        elif name.startswith("distance_x_"):
            value = d * attr(name.removeprefix("distance_x_"))[self.col]
        elif name == "crosses_border":
            value = (self.destination_authority[self.col] != self.origin_authority[:, None]).astype("float64")
        elif name in SCHOOL_ATTRIBUTES:
            value = attr(name)
        else:
            raise ModelError(f"unknown feature {name!r}; known: log_size, distance_km, log_distance, distance_x_<attribute>, crosses_border, {', '.join(SCHOOL_ATTRIBUTES)}")
        value.setflags(write=False)
        self._features[name] = value
        return value

    def with_origins(self, origins: np.ndarray) -> FlowSystem:
        """Return the same system with other origin totals (the features cache is shared)."""
        return FlowSystem(
            self.origin_codes, np.asarray(origins, dtype="float64"), self.origin_authority, self.destination_ids, self.destinations,
            self.destination_authority, self.destination_attributes, self.col, self.distance_km, self.segments, self._features,
        )


def build_system(
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    k: int = 50,
    children_column: str = "children",
    size_column: str = "pupils",
    sex_segments: bool = True,
) -> FlowSystem:
    """Build a :class:`FlowSystem` of each origin's ``k`` nearest destinations (scipy cKDTree).

    Args:
        origins: one row per LSOA: ``lsoa11_code``, ``easting``, ``northing`` (metres, EPSG:27700),
            ``authority_code`` and the children column.
        destinations: one row per school: ``urn``, ``easting``, ``northing`` (EPSG:27700),
            ``authority_code``, the size column and optional attributes (:data:`SCHOOL_ATTRIBUTES`).
            Rows without coordinates must be removed (and reported) by the caller.
        k: candidate schools per origin (capped at the number of schools).
        children_column: origin totals (children choosing a school of the phase).
        size_column: destination sizes (pupils of the phase).
        sex_segments: when destinations have a ``gender`` column (``boys``/``girls``/``mixed``),
            split each origin's children half girls, half boys, each choosing only schools that
            admit them (see :attr:`FlowSystem.segments`).

    Returns:
        The system, with distances in km.

    Raises:
        ModelError: when there are no destinations, coordinates are missing, or totals are negative.
    """
    from scipy.spatial import cKDTree

    for name, frame, cols in (
        ("origins", origins, ["lsoa11_code", "easting", "northing", "authority_code", children_column]),
        ("destinations", destinations, ["urn", "easting", "northing", "authority_code", size_column]),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ModelError(f"{name} lack column(s) {', '.join(missing)}")
        xy = frame[["easting", "northing"]].to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(xy).any():
            bad = frame.loc[np.isnan(xy).any(axis=1)].iloc[:5, 0].tolist()
            raise ModelError(f"{name}: {int(np.isnan(xy).any(axis=1).sum())} row(s) without coordinates (first: {bad}); report and remove them first")
    if len(destinations) == 0:
        raise ModelError("no destinations (schools) to allocate children to")
    o = origins[children_column].to_numpy(dtype="float64", na_value=0.0)
    s = destinations[size_column].to_numpy(dtype="float64", na_value=0.0)
    if (o < 0).any() or (s < 0).any():
        raise ModelError("negative children or school sizes")
    k = int(min(k, len(destinations)))
    tree = cKDTree(destinations[["easting", "northing"]].to_numpy(dtype="float64"))
    dist, idx = tree.query(origins[["easting", "northing"]].to_numpy(dtype="float64"), k=k)
    dist = np.asarray(dist, dtype="float64").reshape(len(origins), k) / 1000.0
    idx = np.asarray(idx, dtype="int32").reshape(len(origins), k)
    attrs = destinations[[c for c in SCHOOL_ATTRIBUTES if c in destinations.columns]].reset_index(drop=True)
    segments: tuple = ()
    if sex_segments and "gender" in destinations.columns:
        gender = destinations["gender"].astype("string").str.lower().fillna("mixed").to_numpy()
        if "single_sex" not in attrs.columns:
            attrs["single_sex"] = np.isin(gender, ["boys", "girls"]).astype("float64")
        girls_ok = (gender != "boys")[idx]
        boys_ok = (gender != "girls")[idx]
        segments = (("girls", 0.5, girls_ok), ("boys", 0.5, boys_ok))
    return FlowSystem(
        origin_codes=origins["lsoa11_code"].astype(str).to_numpy(),
        origins=o,
        origin_authority=origins["authority_code"].astype(str).to_numpy(),
        destination_ids=destinations["urn"].to_numpy(dtype="int64"),
        destinations=s,
        destination_authority=destinations["authority_code"].astype(str).to_numpy(),
        destination_attributes=attrs,
        col=idx,
        distance_km=dist,
        segments=segments,
    )


# ----------------------------------------------------------------------------------------------
# Evaluation of a model
# ----------------------------------------------------------------------------------------------


def _utility(system: FlowSystem, features: tuple[str, ...], params: np.ndarray, log_balancing: np.ndarray | None) -> np.ndarray:
    u = np.zeros(system.col.shape, dtype="float64")
    dest = np.zeros(len(system.destination_ids), dtype="float64") if log_balancing is None else log_balancing.copy()
    for name, theta in zip(features, params):
        f = system.feature(name)
        if f.ndim == 1:
            dest += theta * f
        else:
            u += theta * f
    u += dest[system.col]
    return u


def _choice_probabilities(u: np.ndarray, eligible: np.ndarray | None = None) -> np.ndarray:
    u = u - u.max(axis=1, keepdims=True)
    np.maximum(u, UTILITY_FLOOR, out=u)
    p = np.exp(u)
    if eligible is not None:
        masked = p * eligible
        ok = masked.sum(axis=1) > 0  # an origin with no eligible candidate keeps all of them
        p[ok] = masked[ok]
    p /= p.sum(axis=1, keepdims=True)
    return p


def _segment_flows(system: FlowSystem, u: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Return total flows (n_o, k) and, per segment, (flows, choice probabilities)."""
    if not system.segments:
        p = _choice_probabilities(u)
        flows = p * system.origins[:, None]
        return flows, [(flows, p)]
    parts = []
    total = np.zeros(u.shape)
    for _, share, eligible in system.segments:
        p = _choice_probabilities(u, eligible)
        f = p * (system.origins * share)[:, None]
        total += f
        parts.append((f, p))
    return total, parts


def _inflows(system: FlowSystem, flows: np.ndarray) -> np.ndarray:
    return np.bincount(system.col.ravel(), weights=flows.ravel(), minlength=len(system.destination_ids))


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
        system: the candidate structure; ``destinations`` are the targets (their total is scaled
            to the origins' total first, so the margins are consistent).
        features, params: the model's utility.
        log_balancing: starting values of ``log B_j`` (default 0).
        tol: stop when every reachable school's inflow is within this relative error.
        max_iter: iteration limit.

    Returns:
        ``(log_balancing, iterations, max_relative_error)``; unreachable schools (in no origin's
        candidate set, or of size 0) keep ``log B = -inf``-like floor values and are excluded.
    """
    target = system.destinations * (system.origins.sum() / max(system.destinations.sum(), 1e-12))
    reachable = np.bincount(system.col.ravel(), minlength=len(target)) > 0
    active = reachable & (target > 0)
    logb = np.zeros(len(target)) if log_balancing is None else log_balancing.copy()
    logb[~active] = UTILITY_FLOOR * 2
    base = _utility(system, features, params, None)
    err = np.inf
    iteration = 0
    for iteration in range(1, max_iter + 1):
        flows, _ = _segment_flows(system, base + logb[system.col])
        inflow = _inflows(system, flows)
        ratio = np.ones_like(target)
        ratio[active] = target[active] / np.maximum(inflow[active], 1e-300)
        err = float(np.max(np.abs(inflow[active] / target[active] - 1))) if active.any() else 0.0
        if err < tol:
            break
        logb[active] += np.clip(np.log(ratio[active]), -5, 5)
        logb[active] -= logb[active].max()
        np.maximum(logb, UTILITY_FLOOR * 2, out=logb)
    return logb, iteration, err


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fitted flow model: its form, parameters and diagnostics (frozen; nothing is fitted in a constructor).

    Attributes:
        name: label used in validation tables.
        features: names of the utility terms, in ``params`` order.
        params: estimated coefficients (per km for ``distance_km`` terms).
        constraint: ``"production"`` or ``"doubly"``.
        log_likelihood: maximised school-side log-likelihood (censored cells as one lump per school).
        n_pupils: observed pupils used (published plus suppressed).
        converged: whether the optimiser reported success.
        iterations: optimiser iterations (outer x inner for doubly constrained fits).
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

    def param(self, name: str) -> float:
        """Return one coefficient by feature name."""
        return float(self.params[self.features.index(name)])

    def table(self) -> pd.DataFrame:
        """Return the coefficients and standard errors as a table."""
        return pd.DataFrame({"feature": self.features, "coefficient": self.params, "std_error": self.std_errors})


def predict(system: FlowSystem, result: FitResult, tol: float = 1e-3) -> np.ndarray:
    """Return modelled flows (n_o, k), pupils from each origin to each candidate school.

    Args:
        system: origins, destinations and candidates (need not be the one fitted on).
        result: a :class:`FitResult`; doubly constrained models are re-balanced on ``system``.
        tol: balancing tolerance (relative).

    Returns:
        Non-negative flows whose row sums equal ``system.origins``.
    """
    logb = None
    if result.constraint == "doubly":
        logb, _, _ = balance(system, result.features, result.params, tol=tol)
    flows, _ = _segment_flows(system, _utility(system, result.features, result.params, logb))
    return flows


def nearest_school_flows(system: FlowSystem) -> np.ndarray:
    """Return flows allocating every origin's children to its nearest school (the naive baseline)."""
    flows = np.zeros(system.col.shape)
    flows[:, 0] = system.origins
    return flows


# ----------------------------------------------------------------------------------------------
# Observed flows and calibration
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ObservedCells:
    """Observed flows aligned with a :class:`FlowSystem`.

    Attributes:
        schools: (m,) destination indices of observed schools located in the system.
        urns: (m,) their URNs.
        total: (m,) each school's pupils before suppression.
        censored: (m,) pupils not in any candidate cell (suppressed cells plus published cells
            whose LSOA is not among the school's candidate origins).
        cell_origin, cell_slot, cell_school: published cells inside the candidate sets: origin
            index, candidate slot (0..k-1) and position in ``schools``.
        cell_pupils: their counts (>= 3).
        outside_pupils: published pupils whose LSOA is not in the system or not within the k candidates.
        unlocated_urns: observed schools absent from the system (no coordinates / not in the store).
    """

    schools: np.ndarray
    urns: np.ndarray
    total: np.ndarray
    censored: np.ndarray
    cell_origin: np.ndarray
    cell_slot: np.ndarray
    cell_school: np.ndarray
    cell_pupils: np.ndarray
    outside_pupils: float
    unlocated_urns: tuple[int, ...]

    def subset(self, keep: np.ndarray) -> ObservedCells:
        """Return the cells of the observed schools where ``keep`` (m,) is True."""
        keep = np.asarray(keep, dtype=bool)
        new_pos = np.cumsum(keep) - 1
        cells = keep[self.cell_school]
        return ObservedCells(
            self.schools[keep], self.urns[keep], self.total[keep], self.censored[keep],
            self.cell_origin[cells], self.cell_slot[cells], new_pos[self.cell_school[cells]], self.cell_pupils[cells],
            self.outside_pupils, self.unlocated_urns,
        )


def align_observed(system: FlowSystem, observed_flows: pd.DataFrame) -> ObservedCells:
    """Align the ``observed_flows`` store table with a system's candidate cells.

    Args:
        system: the candidate structure (its destinations must include the observed schools).
        observed_flows: the ``observed_flows`` table (published rows plus one suppressed row per school).

    Returns:
        :class:`ObservedCells`; schools absent from the system are listed in ``unlocated_urns``.
    """
    published = observed_flows[~observed_flows["suppressed"].astype(bool)]
    totals = observed_flows.groupby("urn")["school_total_pupils"].first()
    dest_index = pd.Series(np.arange(len(system.destination_ids)), index=system.destination_ids)
    located = totals.index[totals.index.isin(dest_index.index)]
    unlocated = tuple(int(u) for u in totals.index[~totals.index.isin(dest_index.index)])
    schools = dest_index.loc[located].to_numpy()
    pos_of_school = pd.Series(np.arange(len(schools)), index=located)
    origin_index = pd.Series(np.arange(len(system.origin_codes)), index=system.origin_codes)
    pub = published[published["urn"].isin(located)]
    o_idx = origin_index.reindex(pub["lsoa11_code"].astype(str).to_numpy()).to_numpy()
    s_pos = pos_of_school.loc[pub["urn"].to_numpy()].to_numpy()
    pupils = pub["pupils"].to_numpy(dtype="float64")
    in_system = ~np.isnan(o_idx)
    o_int = np.where(in_system, o_idx, 0).astype(np.int64)
    # slot of the school among the origin's candidates (-1 if absent)
    match = system.col[o_int] == schools[s_pos][:, None]
    has = match.any(axis=1) & in_system
    slot = match.argmax(axis=1)
    listed = np.bincount(s_pos[has], weights=pupils[has], minlength=len(schools))
    total = totals.loc[located].to_numpy(dtype="float64")
    return ObservedCells(
        schools=schools,
        urns=located.to_numpy(dtype="int64"),
        total=total,
        censored=np.maximum(total - listed, 0.0),
        cell_origin=o_int[has],
        cell_slot=slot[has],
        cell_school=s_pos[has],
        cell_pupils=pupils[has],
        outside_pupils=float(pupils[~has].sum()),
        unlocated_urns=unlocated,
    )


def _loglik_and_grad(system, observed: ObservedCells, features, params, log_balancing):
    """School-side censored log-likelihood and its gradient (see the module docstring)."""
    u = _utility(system, features, params, log_balancing)
    flows, parts = _segment_flows(system, u)
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
    for m, name in enumerate(features):
        f = system.feature(name)
        if f.ndim == 1:
            grad[m] = float(np.dot(_inflows(system, resid), f))
        else:
            grad[m] = float(np.sum(resid * f))
    return ll, grad


def _start(features: tuple[str, ...]) -> np.ndarray:
    start = {"log_size": 1.0, "distance_km": -0.3, "log_distance": -1.0}
    return np.array([start.get(f, 0.0) for f in features])


def fit_model(
    system: FlowSystem,
    observed: ObservedCells,
    features: tuple[str, ...],
    constraint: Constraint = "production",
    name: str | None = None,
    outer_iterations: int = 4,
    max_iter: int = 200,
) -> FitResult:
    """Fit a destination-choice flow model by maximum likelihood on observed school-to-LSOA flows.

    Args:
        system: candidate structure covering the observed schools and the origins of their pupils.
        observed: :func:`align_observed` output (censored cells as one lump per school).
        features: utility terms (see :meth:`FlowSystem.feature`).
        constraint: ``"production"`` (origins' totals fixed) or ``"doubly"`` (schools' sizes too:
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
            logb, _, _ = balance(system, features, params, logb)

        def objective(x, logb=logb):
            ll, grad = _loglik_and_grad(system, observed, features, x / scale, logb)
            return -ll / n, -grad / scale / n

        res = minimize(objective, params * scale, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
        if not np.isfinite(res.fun):
            raise ModelError(f"log-likelihood not finite while fitting {features}")
        params = res.x / scale
        total_iter += int(res.nit)
        converged = bool(res.success)
    try:
        hinv = res.hess_inv.todense() / n
        std = np.sqrt(np.clip(np.diag(hinv), 0, None)) / scale
    except Exception:  # pragma: no cover - optimiser without a Hessian approximation
        std = np.full(len(features), np.nan)
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
    """
    if cost_func not in GRAVITY_FEATURES:
        raise ModelError(f"cost_func must be 'exp' or 'pow', not {cost_func!r}")
    features = GRAVITY_FEATURES[cost_func]
    if constraint == "doubly":
        features = features[1:]  # size is absorbed by the balancing factors
    label = {"production": "production-constrained", "doubly": "doubly constrained"}[constraint]
    return fit_model(system, observed, features, constraint, name=f"{label} gravity, {cost_func}")


# ----------------------------------------------------------------------------------------------
# Validation measures
# ----------------------------------------------------------------------------------------------


def school_predictions(system: FlowSystem, flows: np.ndarray, observed: ObservedCells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return, for the observed schools, modelled pupils per candidate cell scaled to each school's total.

    Returns:
        ``(origin, school_pos, pupils)`` arrays over every candidate cell of the observed schools,
        where the school's modelled pupils are scaled so they add up to its published total.
    """
    is_obs = np.full(len(system.destination_ids), -1)
    is_obs[observed.schools] = np.arange(len(observed.schools))
    pos = is_obs[system.col]
    mask = pos >= 0
    origin = np.broadcast_to(np.arange(system.col.shape[0])[:, None], system.col.shape)[mask]
    school_pos = pos[mask]
    pred = flows[mask]
    sums = np.bincount(school_pos, weights=pred, minlength=len(observed.schools))
    pred = pred * (observed.total / np.maximum(sums, 1e-12))[school_pos]
    return origin, school_pos, pred


def validation_measures(system: FlowSystem, flows: np.ndarray, observed: ObservedCells, top_n: int = 20) -> dict[str, float]:
    """Compare modelled with observed flows for the observed schools (each school's flows scaled to its total).

    Observed values are the published cells (>= 3 pupils); suppressed cells count as 0 in the cell
    measures (their pupils are spread over unknown LSOAs), so a perfect model reaches a CPC of about
    0.9, not 1.

    Args:
        system: the candidate structure the flows are on.
        flows: (n_o, k) modelled flows.
        observed: the observed schools to compare (e.g. one held-out borough's).
        top_n: size of each school's predicted top-LSOA list.

    Returns:
        ``cpc`` (Common Part of Commuters, 2 sum min / (sum obs + sum pred)), ``srmse``,
        ``r_squared`` (of cell counts), ``top_n_share`` (share of each school's published pupils
        living in its top-``top_n`` predicted LSOAs, pooled), ``mean_trip_km_observed`` (published
        cells) and ``mean_trip_km_modelled`` (all modelled pupils of those schools).
    """
    origin, school_pos, pred = school_predictions(system, flows, observed)
    key_pred = pd.Series(pred, index=pd.MultiIndex.from_arrays([school_pos, origin]))
    key_obs = pd.Series(observed.cell_pupils, index=pd.MultiIndex.from_arrays([observed.cell_school, observed.cell_origin]))
    both = pd.concat([key_obs.rename("obs"), key_pred.rename("pred")], axis=1).fillna(0.0)
    obs = both["obs"].to_numpy()
    prd = both["pred"].to_numpy()
    cpc = 2 * np.minimum(obs, prd).sum() / (obs.sum() + prd.sum())
    n_cells = len(both)
    srmse = np.sqrt(np.sum((obs - prd) ** 2) / n_cells) / (obs.sum() / n_cells)
    r2 = 1 - np.sum((obs - prd) ** 2) / np.sum((obs - obs.mean()) ** 2)
    both["rank"] = both["pred"].where(both["pred"] > 0).groupby(level=0).rank(ascending=False, method="first")
    top = float(both.loc[both["rank"] <= top_n, "obs"].sum() / max(obs.sum(), 1e-12))
    dist = system.distance_km
    # distances of the published cells
    d_obs = dist[observed.cell_origin, observed.cell_slot]
    is_obs = np.full(len(system.destination_ids), -1)
    is_obs[observed.schools] = 1
    mask = is_obs[system.col] > 0
    return {
        "cpc": float(cpc),
        "srmse": float(srmse),
        "r_squared": float(r2),
        "top_n_share": top,
        "mean_trip_km_observed": float(np.average(d_obs, weights=observed.cell_pupils)),
        "mean_trip_km_modelled": float(np.average(dist[mask], weights=flows[mask])) if flows[mask].sum() > 0 else float("nan"),
    }


def mean_trip_km(system: FlowSystem, flows: np.ndarray, origin_mask: np.ndarray | None = None) -> float:
    """Return the flow-weighted mean distance in km (optionally for a subset of origins)."""
    w = flows if origin_mask is None else flows[origin_mask]
    d = system.distance_km if origin_mask is None else system.distance_km[origin_mask]
    return float(np.average(d, weights=w)) if w.sum() > 0 else float("nan")


def calibrate_decay_to_trip_length(
    system: FlowSystem,
    result: FitResult,
    target_km: float,
    origin_mask: np.ndarray | None = None,
    decay_features: tuple[str, ...] = ("distance_km", "log_distance"),
) -> FitResult:
    """Scale a fitted model's distance-decay coefficients so its mean trip equals ``target_km`` (bisection).

    Used for primary flows (none published): the secondary model's decay is multiplied by a factor
    found so that the modelled mean trip (of ``origin_mask``'s origins) is ``target_km``.

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
        return mean_trip_km(system, predict(system, trial, tol=1e-2), origin_mask)

    lo, hi = np.log(0.05), np.log(50.0)
    t_lo, t_hi = trip(np.exp(lo)), trip(np.exp(hi))
    if not (t_hi <= target_km <= t_lo):
        raise ModelError(f"no decay factor reaches a mean trip of {target_km:.2f} km (range {t_hi:.2f}-{t_lo:.2f} km)")
    for _ in range(30):
        mid = (lo + hi) / 2
        if trip(np.exp(mid)) > target_km:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-3:
            break
    factor = float(np.exp((lo + hi) / 2))
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


def cross_validate(
    system: FlowSystem,
    observed: ObservedCells,
    groups: np.ndarray,
    fit,
) -> np.ndarray:
    """Cross-validate by group (borough): fit without each group's schools, predict them.

    Args:
        system: the candidate structure.
        observed: all observed schools.
        groups: (m,) group label (authority code) of each observed school.
        fit: ``fit(system, observed_subset) -> FitResult``.

    Returns:
        (n_o, k) flows where, for each held-out group's schools, the inflows are the prediction of
        the model fitted without them; combine with :func:`validation_measures` on ``observed``.
        Inflows of schools in no group keep the last model's prediction.
    """
    groups = np.asarray(groups)
    out = np.zeros(system.col.shape)
    filled = np.zeros(len(system.destination_ids), dtype=bool)
    for g in pd.unique(groups):
        held = groups == g
        result = fit(system, observed.subset(~held))
        pred = predict(system, result)
        cols = np.zeros(len(system.destination_ids), dtype=bool)
        cols[observed.schools[held]] = True
        mask = cols[system.col]
        out[mask] = pred[mask]
        filled |= cols
    return out


def cross_border_shares(system: FlowSystem, flows: np.ndarray, authorities: list[str] | None = None) -> pd.DataFrame:
    """Return, per authority of residence, modelled resident pupils and the share taught outside it.

    Args:
        system: candidate structure (origin and destination authorities).
        flows: (n_o, k) modelled flows.
        authorities: authority codes to report (default all).

    Returns:
        DataFrame ``authority_code, resident_pupils, school_outside_la, share_outside``.
    """
    outside = system.destination_authority[system.col] != system.origin_authority[:, None]
    frame = pd.DataFrame({"authority_code": system.origin_authority, "resident_pupils": flows.sum(axis=1), "school_outside_la": (flows * outside).sum(axis=1)})
    out = frame.groupby("authority_code", as_index=False).sum()
    out["share_outside"] = out["school_outside_la"] / out["resident_pupils"].where(out["resident_pupils"] > 0)
    if authorities is not None:
        out = out[out["authority_code"].isin(authorities)]
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Flow tables and queries (the store's ``flows`` table)
# ----------------------------------------------------------------------------------------------


def flows_frame(system: FlowSystem, flows: np.ndarray, phase: str, min_pupils: float = 0.05) -> pd.DataFrame:
    """Return modelled flows as a long table ``urn, lsoa11_code, phase, pupils, source, distance_km``.

    Args:
        system: the candidate structure.
        flows: (n_o, k) modelled flows.
        phase: ``"primary"`` or ``"secondary"``.
        min_pupils: cells below this are dropped (their pupils are reported in the build notes).

    Returns:
        Modelled flows with ``source = "modelled"``, float32 pupils and distances.
    """
    keep = flows >= min_pupils
    rows, slots = np.nonzero(keep)
    return pd.DataFrame(
        {
            "urn": system.destination_ids[system.col[rows, slots]],
            "lsoa11_code": pd.array(system.origin_codes[rows], dtype="string"),
            "phase": pd.Categorical([phase] * len(rows), categories=["primary", "secondary"]),
            "pupils": flows[rows, slots].astype("float32"),
            "source": pd.Categorical(["modelled"] * len(rows), categories=["observed", "modelled"]),
            "distance_km": system.distance_km[rows, slots].astype("float32"),
        }
    )


def _suggest(value, choices, n: int = 3) -> str:
    from rapidfuzz import process

    matches = process.extract(str(value), [str(c) for c in choices], limit=n)
    return ", ".join(m[0] for m in matches)


def _select_source(flows: pd.DataFrame, source: str) -> pd.DataFrame:
    if source == "best":
        has_obs = flows.loc[flows["source"] == "observed", "urn"].unique()
        return flows[(flows["source"] == "observed") | ~flows["urn"].isin(has_obs)]
    if source in ("observed", "modelled"):
        return flows[flows["source"] == source]
    raise ValueError(f"source must be 'observed', 'modelled' or 'best', not {source!r}")


def _with_shares(frame: pd.DataFrame, total: float) -> pd.DataFrame:
    frame = frame.sort_values("pupils", ascending=False, kind="stable").reset_index(drop=True)
    frame["share"] = frame["pupils"] / total if total > 0 else np.nan
    frame["cumulative_share"] = frame["share"].cumsum()
    return frame


def school_catchment(flows: pd.DataFrame, urn: int, source: str = "best", phase: str | None = None) -> pd.DataFrame:
    """Return the LSOAs where a school's pupils live, largest first.

    Args:
        flows: the store's ``flows`` table (or part of it): urn, lsoa11_code, phase, pupils, source,
            distance_km; observed rows may carry NaN pupils with ``suppressed`` True.
        urn: the school's URN.
        source: ``"best"`` (observed where published, else modelled), ``"observed"`` or ``"modelled"``.
        phase: restrict to one phase (an all-through school has both).

    Returns:
        ``lsoa11_code, pupils, share, cumulative_share, distance_km, source`` where ``share`` is of
        the school's pupils in the table (for observed flows, of its total before suppression).

    Raises:
        UnknownSchool: when the URN has no flows, naming close matches.
    """
    try:
        urn = int(urn)
    except (TypeError, ValueError):
        raise UnknownSchool(f"URN {urn!r} is not a number; URNs are 6-digit numbers such as 100049") from None
    rows = flows[flows["urn"] == urn]
    if rows.empty:
        raise UnknownSchool(f"no flows for URN {urn}; close matches: {_suggest(urn, pd.unique(flows['urn']))}")
    if phase is not None:
        rows = rows[rows["phase"] == phase]
    rows = _select_source(rows, source)
    total = float(rows["school_total_pupils"].iloc[0]) if "school_total_pupils" in rows and rows["source"].eq("observed").any() and rows["school_total_pupils"].notna().any() else float(rows["pupils"].sum())
    cols = ["lsoa11_code", "pupils", "distance_km", "source"] + (["suppressed"] if "suppressed" in rows else [])
    out = _with_shares(rows[cols].copy(), total)
    return out[["lsoa11_code", "pupils", "share", "cumulative_share", "distance_km", "source"] + (["suppressed"] if "suppressed" in out else [])]


def area_destinations(flows: pd.DataFrame, lsoa11_code: str, source: str = "best", phase: str | None = None) -> pd.DataFrame:
    """Return the schools the children of one LSOA attend, largest flow first.

    Args:
        flows: the store's ``flows`` table (or part of it).
        lsoa11_code: the 2011 LSOA code (``E01000001``).
        source: ``"best"``, ``"observed"`` or ``"modelled"`` (see :func:`school_catchment`;
            with ``best``, observed flows replace modelled ones school by school).
        phase: restrict to one phase.

    Returns:
        ``urn, pupils, share, cumulative_share, distance_km, source`` (shares of the LSOA's pupils).

    Raises:
        UnknownArea: when the code has no flows, naming close matches.
    """
    code = str(lsoa11_code).strip().upper()
    rows = flows[flows["lsoa11_code"] == code]
    if rows.empty:
        raise UnknownArea(f"no flows for LSOA {lsoa11_code!r}; close matches: {_suggest(code, pd.unique(flows['lsoa11_code'].dropna()))}")
    if phase is not None:
        rows = rows[rows["phase"] == phase]
    if source == "best":
        obs_urns = flows.loc[flows["source"] == "observed", "urn"].unique()
        rows = rows[(rows["source"] == "observed") | ~rows["urn"].isin(obs_urns)]
    else:
        rows = _select_source(rows, source)
    out = _with_shares(rows[["urn", "pupils", "distance_km", "source"]].copy(), float(rows["pupils"].sum()))
    return out[["urn", "pupils", "share", "cumulative_share", "distance_km", "source"]]


def cross_border_summary(flows: pd.DataFrame, lsoa_authority: pd.Series, school_authority: pd.Series, authority_code: str) -> pd.DataFrame:
    """Return an authority's cross-border flows per phase: resident pupils taught outside, and the reverse.

    Args:
        flows: flows with urn, lsoa11_code, phase, pupils (one source, e.g. modelled).
        lsoa_authority: authority code indexed by lsoa11_code.
        school_authority: authority code indexed by urn.
        authority_code: the authority.

    Returns:
        One row per phase: ``resident_pupils`` (children living in the authority, in any school),
        ``resident_taught_outside``, ``share_resident_taught_outside``, ``pupils_taught`` (in the
        authority's schools), ``taught_from_outside``, ``share_taught_from_outside``.
    """
    f = flows[["urn", "lsoa11_code", "phase", "pupils"]].copy()
    f["home"] = f["lsoa11_code"].map(lsoa_authority)
    f["school"] = f["urn"].map(school_authority)
    rows = []
    for phase, g in f.groupby("phase", observed=True):
        res = g[g["home"] == authority_code]
        taught = g[g["school"] == authority_code]
        r_out = float(res.loc[res["school"] != authority_code, "pupils"].sum())
        t_in = float(taught.loc[taught["home"] != authority_code, "pupils"].sum())
        rp, tp = float(res["pupils"].sum()), float(taught["pupils"].sum())
        rows.append(
            {
                "phase": phase,
                "resident_pupils": rp,
                "resident_taught_outside": r_out,
                "share_resident_taught_outside": r_out / rp if rp else np.nan,
                "pupils_taught": tp,
                "taught_from_outside": t_in,
                "share_taught_from_outside": t_in / tp if tp else np.nan,
            }
        )
    return pd.DataFrame(rows)


def distance_summary(flows: pd.DataFrame) -> pd.DataFrame:
    """Return per school and phase the mean and 90th-percentile home-to-school distance (km), pupil-weighted.

    Args:
        flows: flows with urn, phase, pupils, distance_km (NaN pupils, i.e. suppressed cells, are ignored).

    Returns:
        ``urn, phase, pupils, mean_distance_km, p90_distance_km``.
    """
    f = flows[["urn", "phase", "pupils", "distance_km"]].dropna()
    f = f[f["pupils"] > 0].sort_values(["urn", "phase", "distance_km"], kind="stable")
    w = f["pupils"].to_numpy(dtype="float64")
    d = f["distance_km"].to_numpy(dtype="float64")
    key = f["urn"].astype(str) + "|" + f["phase"].astype(str)
    codes, uniq = pd.factorize(key, sort=False)
    tot = np.bincount(codes, weights=w)
    mean = np.bincount(codes, weights=w * d) / tot
    cum = pd.Series(w).groupby(codes).cumsum().to_numpy() / tot[codes]
    p90 = pd.Series(np.where(cum >= 0.9, d, np.inf)).groupby(codes).min().to_numpy()
    first = f.groupby(codes).first()
    return pd.DataFrame({"urn": first["urn"].to_numpy(), "phase": first["phase"].astype(str).to_numpy(), "pupils": tot, "mean_distance_km": mean, "p90_distance_km": p90})
