"""The candidate structure: each origin's ``k`` nearest schools of the phase (:class:`FlowSystem`) and the model's named features.

Distances are straight lines between LSOA centroids and schools in British National Grid
(EPSG:27700), in km. See ``notebooks/methods/flows.md`` for the method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from atlaskit.analysis.flows.inputs import NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO
from atlaskit.errors import ModelError
from atlaskit.vocabulary import URN_DTYPE


#: Distances below this (km) are raised to it (an LSOA centroid may sit on a school; ``pow`` needs d > 0).
MIN_DISTANCE_KM = 0.2

#: Features of plain gravity, by cost function: ``exp`` (exp(-beta d)) or ``pow`` (d^-beta).
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
PRODUCTION_CHOICE_FEATURES = ("log_size",) + CHOICE_FEATURES + (
    "selective",
    "faith",
    "single_sex",
    "ofsted_good_or_better",
    "progress8",
)
#: The full destination-choice model: :data:`PRODUCTION_CHOICE_FEATURES` plus denomination-specific
#: faith terms, steeper decay at full schools, and the origin's propensity to use state-funded
#: schools as a function of its deprivation (``origin_*`` terms).
FULL_CHOICE_FEATURES = PRODUCTION_CHOICE_FEATURES + (
    "faith_catholic",
    "faith_non_christian",
    "distance_x_faith_catholic",
    "distance_x_faith_non_christian",
    "full",
    "distance_x_full",
    "origin_idaci",
    "origin_idaci_sq",
)
#: The competition and social-sorting model: :data:`FULL_CHOICE_FEATURES` plus competition between
#: nearby schools (others of the phase within :data:`COMPETITION_RADIUS_KM`, as attractiveness and as
#: steeper decay), social sorting (the school's free-school-meal share times the origin's deprivation)
#: and Attainment 8 (as attractiveness and times distance).
COMPETITION_FEATURES = FULL_CHOICE_FEATURES + (
    "competitors",
    "distance_x_competitors",
    "fsm_x_origin_idaci",
    "attainment8",
    "distance_x_attainment8",
)
#: Schools with fewer competitors than this within the radius count as having this many (the decay
#: is not extrapolated below the density of the observed London schools).
COMPETITORS_FLOOR = 4
#: Radius (km) within which other schools of the phase count as competitors: 3 km for secondary
#: schools, scaled for primary by :data:`~atlaskit.analysis.flows.inputs.NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO`.
COMPETITION_RADIUS_KM: Mapping[str, float] = MappingProxyType({"secondary": 3.0, "primary": 3.0 * NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO})

#: Columns an origin (LSOA) table may give as attributes, with their meaning.
ORIGIN_ATTRIBUTES = {"idaci": "income deprivation affecting children index score (share of children in low-income families), minus England's mean"}
#: Columns a destination (school) table may give as attributes, with their meaning.
SCHOOL_ATTRIBUTES = {
    "selective": "1 for a selective (grammar) school, from the register's admissions policy",
    "faith": "1 for a school with a religious character",
    "faith_catholic": "1 for a Roman Catholic school",
    "faith_non_christian": "1 for a Jewish, Muslim, Sikh, Hindu or Buddhist school",
    "single_sex": "1 for a boys' or girls' school",
    "ofsted_good_or_better": "1 when the latest Ofsted overall effectiveness is 1 or 2",
    "progress8": "KS4 Progress 8 score (0 when unknown)",
    "full": "1 when the school's 2015 roll was at least FULL_SCHOOL_FILL_RATE (97%) of its 2015 capacity (oversubscribed: admits by distance)",
    "fsm": "share of the school's pupils ever eligible for free school meals in the last six years (January 2019 census), minus the mean of England's open schools of the phase (0 when unknown)",
    "attainment8": "KS4 Attainment 8 score / 10 (2018), minus the mean of England's open secondary schools (0 when unknown or primary)",
    "competitors": "log(1 + other schools of the phase within the competition radius, at least COMPETITORS_FLOOR): schools among many others draw from nearer (see build_system)",
}


#: Candidate schools per LSOA, by phase.
K_NEAREST: Mapping[str, int] = MappingProxyType({"secondary": 50, "primary": 30})


@dataclass(frozen=True, eq=False)
class FlowSystem:
    """Origins, destinations and each origin's ``k`` nearest destinations (a fixed-width sparse matrix).

    Attributes:
        origin_codes: (n_o,) LSOA codes.
        origins: (n_o,) children who choose a school (after the participation share), float.
        origin_authority: (n_o,) authority code of each origin (for border crossings).
        destination_ids: (n_d,) school URNs (int64).
        destinations: (n_d,) pupils of the phase per school (the targets of doubly and attraction-constrained models).
        destination_authority: (n_d,) authority code of each school.
        destination_attributes: (n_d, ...) DataFrame of school attributes (see :data:`SCHOOL_ATTRIBUTES`).
        col: (n_o, k) int index of each candidate destination, nearest first.
        distance_km: (n_o, k) straight-line distance in km (EPSG:27700 metres / 1000).
        segments: ``(name, share, eligible)`` triples splitting each origin's children into groups
            that may choose only some candidates: ``("girls", 0.5, mask)``, ``("boys", 0.5, mask)``
            where ``mask`` (n_o, k) is False for single-sex schools of the other sex. Empty: one
            group choosing among all candidates.
        origin_attributes: (n_o, ...) DataFrame of origin attributes (``idaci``: the LSOA's income
            deprivation affecting children score, centred on England's mean) used in interactions
            ``<term>_x_origin_<attribute>``.
        constrained: (n_d,) bool, the schools a doubly or attraction-constrained model balances
            to their size (None: all). In a sub-system (London and its surroundings) schools near
            its edge lose origins outside it; they are left unconstrained rather than filled from
            inside.
        origin_children: (n_o,) resident children of the phase before any participation share:
            the most pupils an origin can send in an attraction-constrained model (None: no cap).
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
    origin_attributes: pd.DataFrame | None = None
    constrained: np.ndarray | None = None
    origin_children: np.ndarray | None = None
    _features: dict = field(default_factory=dict, repr=False)

    @property
    def k(self) -> int:
        """Number of candidate schools per origin."""
        return self.col.shape[1]

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

        if name.startswith("origin_"):
            attr_name = name.removeprefix("origin_")
            square = attr_name.endswith("_sq")
            attr_name = attr_name.removesuffix("_sq")
            if self.origin_attributes is None or attr_name not in self.origin_attributes.columns:
                raise ModelError(f"feature {name!r} needs the origin attribute {attr_name!r}, absent from origin_attributes")
            value = self.origin_attributes[attr_name].to_numpy(dtype="float64", na_value=0.0)
            value = value**2 if square else value.copy()
        elif "_x_origin_" in name:
            left, right = name.split("_x_origin_")
            if self.origin_attributes is None or right not in self.origin_attributes.columns:
                raise ModelError(f"feature {name!r} needs the origin attribute {right!r}, absent from origin_attributes")
            o_attr = self.origin_attributes[right].to_numpy(dtype="float64", na_value=0.0)[:, None]
            left_value = self.feature(left)
            value = (left_value[self.col] if left_value.ndim == 1 else left_value) * o_attr
        elif name == "log_size":
            value = np.log(np.maximum(self.destinations, 1.0))
        elif name == "distance_km":
            value = d
        elif name == "log_distance":
            value = np.log(d)
        elif name.startswith("distance_x_"):
            value = d * attr(name.removeprefix("distance_x_"))[self.col]
        elif name == "crosses_border":
            value = (self.destination_authority[self.col] != self.origin_authority[:, None]).astype("float64")
        elif name in SCHOOL_ATTRIBUTES:
            value = attr(name)
        else:
            raise ModelError(f"unknown feature {name!r}; known: log_size, distance_km, log_distance, distance_x_<attribute>, origin_<attribute>[_sq], <term>_x_origin_<attribute>, crosses_border, {', '.join(SCHOOL_ATTRIBUTES)}")
        value.setflags(write=False)
        self._features[name] = value
        return value


def build_system(
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    k: int = 50,
    children_column: str = "children",
    size_column: str = "pupils",
    sex_segments: bool = True,
    constrained: np.ndarray | None = None,
    competition_radius_km: float = COMPETITION_RADIUS_KM["secondary"],
    resident_column: str = "children_resident",
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
        constrained: (n_d,) bool, schools balanced by doubly constrained models and filled by
            attraction-constrained ones (default all).
        competition_radius_km: other destinations within this distance (km) of a school count as
            its competitors (the ``competitors`` attribute: log(1 + count), the count raised to
            :data:`COMPETITORS_FLOOR`).
        resident_column: origins' resident children before the participation share (as
            :func:`~atlaskit.analysis.flows.inputs.with_participation` writes them), the cap of attraction-constrained models;
            when the column is absent, the children column is the cap.

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
    dest_xy = destinations[["easting", "northing"]].to_numpy(dtype="float64")
    neighbours = tree.query_ball_point(dest_xy, competition_radius_km * 1000.0, return_length=True)
    attrs["competitors"] = np.log1p(np.maximum(np.asarray(neighbours, dtype="float64") - 1.0, COMPETITORS_FLOOR))
    segments: tuple = ()
    if sex_segments and "gender" in destinations.columns:
        gender = destinations["gender"].astype("string").str.lower().fillna("mixed").to_numpy()
        if "single_sex" not in attrs.columns:
            attrs["single_sex"] = np.isin(gender, ["boys", "girls"]).astype("float64")
        girls_ok = (gender != "boys")[idx]
        boys_ok = (gender != "girls")[idx]
        segments = (("girls", 0.5, girls_ok), ("boys", 0.5, boys_ok))
    origin_attrs = origins[[c for c in ORIGIN_ATTRIBUTES if c in origins.columns]].reset_index(drop=True)
    return FlowSystem(
        origin_codes=origins["lsoa11_code"].astype(str).to_numpy(),
        origins=o,
        origin_authority=origins["authority_code"].astype(str).to_numpy(),
        destination_ids=destinations["urn"].to_numpy(dtype=URN_DTYPE),
        destinations=s,
        destination_authority=destinations["authority_code"].astype(str).to_numpy(),
        destination_attributes=attrs,
        col=idx,
        distance_km=dist,
        segments=segments,
        origin_attributes=origin_attrs,
        constrained=None if constrained is None else np.asarray(constrained, dtype=bool),
        origin_children=(origins[resident_column] if resident_column in origins.columns else origins[children_column]).to_numpy(dtype="float64", na_value=0.0),
    )

