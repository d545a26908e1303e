"""Unit tests of atlaskit.analysis.flows on small systems made by code: golden values, invariants, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from atlaskit.analysis import flows as fl
from atlaskit.analysis.flows import calibration
from atlaskit.errors import ModelError, UnknownArea, UnknownSchool


def _origins(xy, children, authority=None):
    n = len(children)
    return pd.DataFrame(
        {
            "lsoa11_code": [f"E0100{i:04d}" for i in range(n)],
            "easting": [p[0] for p in xy],
            "northing": [p[1] for p in xy],
            "authority_code": authority or ["E09000001"] * n,
            "children": children,
        }
    )


def _destinations(xy, pupils, **attrs):
    n = len(pupils)
    frame = pd.DataFrame(
        {
            "urn": np.arange(100000, 100000 + n),
            "easting": [p[0] for p in xy],
            "northing": [p[1] for p in xy],
            "authority_code": attrs.pop("authority", ["E09000001"] * n),
            "pupils": pupils,
        }
    )
    for key, value in attrs.items():
        frame[key] = value
    return frame


def _result(features, params, constraint="production"):
    params = np.asarray(params, dtype="float64")
    return fl.FitResult("test", tuple(features), params, constraint, 0.0, 0.0, True, 0, np.zeros(len(params)))


@pytest.fixture
def tiny():
    """Two LSOAs and two schools on a line: A(0 km) S1(1 km) S2(2 km) B(3 km)."""
    origins = _origins([(0, 0), (3000, 0)], [100.0, 50.0])
    dests = _destinations([(1000, 0), (2000, 0)], [200.0, 100.0])
    return fl.build_system(origins, dests, k=2)


# --- golden values on a tiny hand-made system -------------------------------------------------


def test_production_constrained_exp_golden(tiny):
    flows = fl.predict(tiny, _result(("log_size", "distance_km"), [1.0, -1.0]))
    # A: weights 200 e^-1 and 100 e^-2; B: 200 e^-2 and 100 e^-1 (by hand)
    a1 = 100 * 200 * math.exp(-1) / (200 * math.exp(-1) + 100 * math.exp(-2))
    b1 = 50 * 200 * math.exp(-2) / (200 * math.exp(-2) + 100 * math.exp(-1))
    by_school = {(o, int(tiny.destination_ids[tiny.col[o, s]])): flows[o, s] for o in range(2) for s in range(2)}
    assert by_school[(0, 100000)] == pytest.approx(a1, rel=1e-9)
    assert by_school[(0, 100000)] == pytest.approx(84.4637, abs=1e-3)
    assert by_school[(1, 100000)] == pytest.approx(b1, rel=1e-9)
    assert by_school[(1, 100000)] == pytest.approx(21.1942, abs=1e-3)


def test_power_decay_golden(tiny):
    flows = fl.predict(tiny, _result(("log_distance",), [-2.0]))
    # A: 1^-2 and 2^-2 -> 0.8 and 0.2 of 100 children
    a = {int(tiny.destination_ids[tiny.col[0, s]]): flows[0, s] for s in range(2)}
    assert a[100000] == pytest.approx(80.0)
    assert a[100001] == pytest.approx(20.0)


def test_doubly_constrained_golden(tiny):
    result = _result(("distance_km",), [-1.0], "doubly")
    logb, _, err = fl.balance(tiny, result.features, result.params, tol=1e-9, max_iter=5000)
    flows = fl.predict(tiny, result, tol=1e-9)
    # Targets 100 and 50 (sizes scaled to 150 children). With T = a_i b_j K_ij the odds ratio
    # T_A1 T_B2 / (T_A2 T_B1) = e^2, and the margins give x(x-50) = e^2 (100-x)^2 for x = T_A1.
    e2 = math.exp(2)
    qa, qb, qc = 1 - e2, -50 + 200 * e2, -1e4 * e2
    x = (-qb + math.sqrt(qb * qb - 4 * qa * qc)) / (2 * qa)
    assert 50 < x < 100
    a1 = flows[0][tiny.destination_ids[tiny.col[0]] == 100000][0]
    assert a1 == pytest.approx(x, rel=1e-6)
    assert a1 == pytest.approx(81.40, abs=0.01)
    inflow = np.bincount(tiny.col.ravel(), weights=flows.ravel())
    np.testing.assert_allclose(inflow, [100.0, 50.0], rtol=1e-6)


def test_nearest_school_flows(tiny):
    flows = fl.nearest_school_flows(tiny)
    assert flows[0, 0] == 100 and tiny.destination_ids[tiny.col[0, 0]] == 100000
    assert flows[1, 0] == 50 and tiny.destination_ids[tiny.col[1, 0]] == 100001


# --- property-based invariants -----------------------------------------------------------------

coords = st.tuples(st.floats(0, 20000), st.floats(0, 20000))
near_coords = st.tuples(st.floats(0, 5000), st.floats(0, 5000))


@st.composite
def systems(draw, all_candidates=False):
    n_o = draw(st.integers(1, 12))
    n_d = draw(st.integers(1, 8))
    xy = near_coords if all_candidates else coords
    o_xy = draw(st.lists(xy, min_size=n_o, max_size=n_o))
    d_xy = draw(st.lists(xy, min_size=n_d, max_size=n_d))
    children = draw(st.lists(st.floats(0, 500), min_size=n_o, max_size=n_o))
    pupils = draw(st.lists(st.floats(1, 2000), min_size=n_d, max_size=n_d))
    gender = draw(st.lists(st.sampled_from(["mixed", "boys", "girls"]), min_size=n_d, max_size=n_d))
    k = n_d if all_candidates else draw(st.integers(1, n_d))
    return fl.build_system(_origins(o_xy, children), _destinations(d_xy, pupils, gender=gender), k=k)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(systems(), st.floats(-3, 0), st.floats(-3, 0), st.floats(0, 2))
def test_production_constraint_and_no_negative_flows(system, beta, gamma, alpha):
    flows = fl.predict(system, _result(("log_size", "distance_km", "log_distance"), [alpha, beta, gamma]))
    assert (flows >= 0).all()
    assert np.isfinite(flows).all()
    np.testing.assert_allclose(flows.sum(axis=1), system.origins, rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(systems(all_candidates=True), st.floats(-1, -0.05))
def test_doubly_constrained_margins(system, beta):
    """Every origin sees every school within 7 km: the margins are feasible and must both be met."""
    assume(system.origins.sum() >= 1)
    system = fl.FlowSystem(system.origin_codes, system.origins, system.origin_authority, system.destination_ids, system.destinations,
                           system.destination_authority, system.destination_attributes, system.col, system.distance_km)  # fmt: skip
    result = _result(("distance_km",), [beta], "doubly")
    logb, _, err = fl.balance(system, result.features, result.params, tol=1e-6, max_iter=3000)
    flows = fl.predict(system, result, tol=1e-6)
    assert (flows >= 0).all()
    np.testing.assert_allclose(flows.sum(axis=1), system.origins, rtol=1e-9, atol=1e-9)
    target = system.destinations * system.origins.sum() / system.destinations.sum()
    inflow = np.bincount(system.col.ravel(), weights=flows.ravel(), minlength=len(target))
    assert err < 1e-6
    np.testing.assert_allclose(inflow, target, rtol=1e-5, atol=1e-6)


def test_sex_segments_keep_children_out_of_other_sex_schools():
    origins = _origins([(0, 0)], [100.0])
    dests = _destinations([(100, 0), (200, 0), (5000, 0)], [100.0, 100.0, 100.0], gender=["boys", "girls", "mixed"])
    system = fl.build_system(origins, dests, k=3)
    flows = fl.predict(system, _result(("distance_km",), [-5.0]))
    by = dict(zip(system.destination_ids[system.col[0]], flows[0]))
    # half the children are girls: they never go to the boys' school and vice versa
    assert by[100000] == pytest.approx(50.0, rel=1e-6)
    assert by[100001] == pytest.approx(50.0, rel=1e-6)
    assert flows.sum() == pytest.approx(100.0)


def test_origin_participation_keeps_total_and_moves_pupils():
    origins = _origins([(0, 0), (100, 0)], [100.0, 100.0]).assign(idaci=[-0.1, 0.1])
    dests = _destinations([(50, 0)], [200.0])
    system = fl.build_system(origins, dests, k=1)
    flows = fl.predict(system, _result(("origin_idaci", "distance_km"), [5.0, -1.0]))
    assert flows.sum() == pytest.approx(200.0)
    assert flows[1].sum() > flows[0].sum()  # the more deprived LSOA sends more to state schools


# --- calibration ----------------------------------------------------------------------------------


def _synthetic_observed(system, flows, schools, rng, scale=3.0):
    rows = []
    totals = {}
    for j in schools:
        urn = system.destination_ids[j]
        mask = system.col == j
        counts = rng.poisson(flows[mask] * scale)
        origins = np.nonzero(mask)[0]
        totals[urn] = counts.sum()
        for o, n in zip(origins, counts):
            if n >= 3:
                rows.append((urn, system.origin_codes[o], float(n)))
    pub = pd.DataFrame(rows, columns=["urn", "lsoa11_code", "pupils"])
    pub["suppressed"] = False
    pub["school_total_pupils"] = pub["urn"].map(totals)
    return pub


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(7)
    n_o, n_d = 400, 40
    origins = _origins(list(zip(rng.uniform(0, 20000, n_o), rng.uniform(0, 20000, n_o))), rng.uniform(50, 150, n_o).tolist(),
                       authority=list(np.where(rng.uniform(size=n_o) < 0.5, "A", "B")))  # fmt: skip
    dests = _destinations(list(zip(rng.uniform(0, 20000, n_d), rng.uniform(0, 20000, n_d))), rng.uniform(300, 1500, n_d).tolist(),
                          selective=(rng.uniform(size=n_d) < 0.2).astype(float), authority=list(np.where(rng.uniform(size=n_d) < 0.5, "A", "B")))  # fmt: skip
    system = fl.build_system(origins, dests, k=15)
    truth = _result(("log_size", "distance_km", "crosses_border", "distance_x_selective"), [1.0, -0.8, -0.7, 0.4])
    flows = fl.predict(system, truth)
    observed = _synthetic_observed(system, flows, range(n_d), rng)
    return system, truth, observed


def test_fit_recovers_parameters_with_censored_cells(synthetic):
    system, truth, observed = synthetic
    cells = fl.align_observed(system, observed)
    assert cells.censored.sum() > 0  # some cells are under 3 and suppressed
    result = fl.fit_model(system, cells, truth.features)
    np.testing.assert_allclose(result.params, truth.params, atol=0.15)
    assert result.converged
    assert isinstance(result.table(), pd.DataFrame)
    with pytest.raises(Exception):
        result.params = np.zeros(4)  # frozen


def _assert_gradient_matches_finite_differences(system, cells, features, params):
    _, grad = calibration._loglik_and_grad(system, cells, features, params, None)
    for m in range(len(params)):
        e = np.zeros(len(params))
        e[m] = 1e-6
        up = calibration._loglik_and_grad(system, cells, features, params + e, None)[0]
        down = calibration._loglik_and_grad(system, cells, features, params - e, None)[0]
        assert grad[m] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-3)


def test_gradient_matches_finite_differences(synthetic):
    system, truth, observed = synthetic
    cells = fl.align_observed(system, observed)
    params = truth.params + 0.1
    _assert_gradient_matches_finite_differences(system, cells, truth.features, params)


def test_fit_gravity_and_validation_measures(synthetic):
    system, truth, observed = synthetic
    cells = fl.align_observed(system, observed)
    result = fl.fit_gravity(system, cells, "exp")
    assert result.name == "production-constrained gravity, exp"
    assert result.params[result.features.index("distance_km")] < 0
    good = fl.validation_measures(system, fl.predict(system, truth), cells)
    naive = fl.validation_measures(system, fl.nearest_school_flows(system), cells)
    assert 0 < naive["cpc"] < good["cpc"] <= 1
    assert good["top_n_share"] > 0.5
    with pytest.raises(ModelError, match="cost_func"):
        fl.fit_gravity(system, cells, "gauss")


def test_cross_validate_predicts_held_out_schools(synthetic):
    system, truth, observed = synthetic
    cells = fl.align_observed(system, observed)
    groups = system.destination_authority[cells.schools]
    flows = fl.cross_validate(system, cells, groups, lambda s, o: fl.fit_model(s, o, truth.features))
    measures = fl.validation_measures(system, flows, cells)
    assert measures["cpc"] > 0.5


def test_calibrate_decay_to_trip_length(synthetic):
    system, truth, _ = synthetic
    base_trip = fl.mean_trip_km(system, fl.predict(system, truth))
    nearest_trip = fl.mean_trip_km(system, fl.nearest_school_flows(system))
    target = (base_trip + nearest_trip) / 2  # reachable: between the fitted decay and nearest-school
    primary = fl.calibrate_decay_to_trip_length(system, truth, target)
    assert fl.mean_trip_km(system, fl.predict(system, primary)) == pytest.approx(target, rel=5e-3)
    assert primary.diagnostics["decay_factor"] > 1  # shorter trips need a steeper decay
    assert fl.NTS_PRIMARY_TO_SECONDARY_TRIP_RATIO == pytest.approx(1.6 / 3.4)
    with pytest.raises(ModelError, match="no decay factor"):
        fl.calibrate_decay_to_trip_length(system, truth, 1e6)


# --- tables and queries ------------------------------------------------------------------------------


def test_phase_pupils_shares_rolls_by_year_group():
    pupils = fl.phase_pupils(np.array([1000.0, 700.0, 620.0]), np.array([11, 4, 11]), np.array([16, 11, 18]), "secondary")
    assert pupils[0] == pytest.approx(1000.0)  # 11-16: all five years are 11-15
    assert pupils[1] == 0.0  # a primary school has no secondary pupils
    assert pupils[2] == pytest.approx(620.0 * 5 / (5 + 2 * fl.SIXTH_FORM_YEAR_WEIGHT))
    with pytest.raises(ModelError):
        fl.phase_pupils(np.array([1.0]), np.array([4]), np.array([11]), "nursery")


def test_phase_pupils_splits_a_through_school_by_its_places_per_year():
    # a 4-16 through school: a 1-form primary (210 places, 30 a year) beside a 6-form secondary
    # (900 places, 180 a year): 1,110 pupils split 210 / 900, not 7 / 5 by years
    roll, lo, hi = np.array([1110.0, 1110.0, 600.0]), np.array([4, 4, 9]), np.array([16, 16, 13])
    cap_p, cap_s = np.array([210.0, np.nan, 300.0]), np.array([900.0, 900.0, 300.0])
    primary = fl.phase_pupils(roll, lo, hi, "primary", cap_p, cap_s)
    secondary = fl.phase_pupils(roll, lo, hi, "secondary", cap_p, cap_s)
    assert primary[0] == pytest.approx(210.0) and secondary[0] == pytest.approx(900.0)
    # without primary places: years weigh alike (7 primary, 5 secondary)
    assert primary[1] == pytest.approx(1110.0 * 7 / 12) and secondary[1] == pytest.approx(1110.0 * 5 / 12)
    # a 9-13 middle school keeps equal years (SCAP splits its places by convention)
    assert primary[2] == pytest.approx(300.0) and secondary[2] == pytest.approx(300.0)
    # with a sixth form and a nursery the phases' shares follow the places per year
    both = fl.phase_pupils(np.array([1572.0]), np.array([3]), np.array([19]), "primary", np.array([420.0]), np.array([1300.0]))
    per_p, per_s = 420.0 / 7, 1300.0 / (5 + 2 * fl.SIXTH_FORM_YEAR_WEIGHT)
    expected = 1572.0 * 7 * per_p / (fl.NURSERY_YEAR_WEIGHT * per_p + 7 * per_p + 5 * per_s + 2 * fl.SIXTH_FORM_YEAR_WEIGHT * per_s)
    assert both[0] == pytest.approx(expected)


def test_participation_share_capped():
    share = fl.participation_share(pd.Series({"R1": 100.0, "R2": 100.0, "R3": 0.0}), pd.Series({"R1": 90.0, "R2": 150.0}))
    assert share.to_dict() == {"R1": 0.9, "R2": 1.0, "R3": 1.0}


def test_phase_destinations_reports_unlocated_schools():
    schools = pd.DataFrame(
        {
            "urn": ["100001", "100002", "100003", "100004"],
            "school_name": ["A", "B", "C", "D"],
            "authority_code": ["E09000001"] * 4,
            "phase": ["secondary", "secondary", "special", "primary"],
            "is_state_funded": [True, True, True, True],
            "is_open": [True, True, True, True],
            "age_low": [11, 11, 11, 4],
            "age_high": [16, 16, 16, 11],
            "pupils_2019": [900, 800, 100, 400],
            "easting": [1.0, np.nan, 3.0, 4.0],
            "northing": [1.0, np.nan, 3.0, 4.0],
            "gender": ["Girls", "Mixed", "Mixed", "Mixed"],
            "religious_character": ["Roman Catholic", "Does not apply", None, None],
        }
    )
    located, unlocated = fl.phase_destinations(schools, "secondary")
    assert located["urn"].tolist() == [100001]
    assert unlocated["urn"].tolist() == [100002]
    assert located.loc[0, "faith_catholic"] == 1.0 and located.loc[0, "single_sex"] == 1.0


def test_build_system_rejects_missing_coordinates():
    origins = _origins([(0, 0), (np.nan, 0)], [1.0, 2.0])
    with pytest.raises(ModelError, match="without coordinates"):
        fl.build_system(origins, _destinations([(0, 0)], [1.0]))
    with pytest.raises(ModelError, match="no destinations"):
        fl.build_system(_origins([(0, 0)], [1.0]), _destinations([], []))


@pytest.fixture
def flows_table(tiny):
    modelled = fl.flows_frame(tiny, fl.predict(tiny, _result(("log_size", "distance_km"), [1.0, -1.0])), "secondary")
    observed = pd.DataFrame(
        {
            "urn": [100000, 100000, 100000],
            "lsoa11_code": ["E01000000", "E01000001", None],
            "phase": ["secondary"] * 3,
            "pupils": [60.0, 20.0, np.nan],
            "source": ["observed"] * 3,
            "distance_km": [1.0, 2.0, np.nan],
            "suppressed": [False, False, True],
            "school_total_pupils": [90.0, 90.0, 90.0],
        }
    )
    return pd.concat([observed, modelled.assign(suppressed=False, school_total_pupils=np.nan)], ignore_index=True)


def test_school_catchment_best_prefers_observed(flows_table):
    best = fl.school_catchment(flows_table, 100000)
    assert set(best["source"]) == {"observed"}
    assert best["pupils"].iloc[0] == 60.0
    assert best["share"].iloc[0] == pytest.approx(60 / 90)  # of the total before suppression
    modelled = fl.school_catchment(flows_table, 100000, source="modelled")
    assert set(modelled["source"]) == {"modelled"}
    assert modelled["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert modelled["pupils"].is_monotonic_decreasing


def test_area_destinations(flows_table):
    dest = fl.area_destinations(flows_table, "e01000001", source="modelled")
    assert dest["share"].sum() == pytest.approx(1.0)
    assert list(dest.columns) == ["urn", "pupils", "share", "cumulative_share", "distance_km", "source"]


def test_area_destinations_best_leaves_out_schools_closed_since_the_observed_year(flows_table):
    # school 999999 has observed (2015) flows but no modelled (2019) ones: it closed, and its
    # successor's modelled flows count those children already
    closed = pd.DataFrame({"urn": [999999], "lsoa11_code": ["E01000001"], "phase": ["secondary"], "pupils": [14.0],
                           "source": ["observed"], "distance_km": [1.5], "suppressed": [False], "school_total_pupils": [500.0]})
    table = pd.concat([flows_table, closed], ignore_index=True)
    assert 999999 in set(fl.area_destinations(table, "E01000001")["urn"])  # not known to be closed: kept
    best = fl.area_destinations(table, "E01000001", closed_urns=[999999, 100000])
    assert 999999 not in set(best["urn"])
    assert 100000 in set(best[best["source"] == "observed"]["urn"])  # has modelled flows, so open in 2019: observed replaces them
    assert not ((best["urn"] == 100000) & (best["source"] == "modelled")).any()
    assert best["share"].sum() == pytest.approx(1.0)
    assert 999999 in set(fl.area_destinations(table, "E01000001", source="observed")["urn"])  # still there when asked for


def test_unknown_school_and_area_suggest_close_matches(flows_table):
    with pytest.raises(UnknownSchool, match="100000"):
        fl.school_catchment(flows_table, 100009)
    with pytest.raises(UnknownSchool, match="not a number"):
        fl.school_catchment(flows_table, "abc")
    with pytest.raises(UnknownArea, match="E01000001"):
        fl.area_destinations(flows_table, "E01000011")


def test_distance_summary_and_cross_border(flows_table):
    modelled = flows_table[flows_table["source"] == "modelled"]
    summary = fl.distance_summary(modelled)
    s1 = summary.set_index("urn").loc[100000]
    # S1 receives ~84.5 pupils from 1 km and ~21.2 from 2 km
    assert s1["mean_distance_km"] == pytest.approx((84.4637 * 1 + 21.1942 * 2) / (84.4637 + 21.1942), rel=1e-4)
    assert s1["p90_distance_km"] == pytest.approx(2.0)
    border = fl.cross_border_summary(
        modelled, pd.Series({"E01000000": "A", "E01000001": "B"}), pd.Series({100000: "A", 100001: "B"}), "A"
    ).iloc[0]
    assert border["resident_pupils"] == pytest.approx(100.0, rel=1e-5)
    assert border["resident_taught_outside"] == pytest.approx(100 - 84.4637, rel=1e-4)
    assert border["taught_from_outside"] == pytest.approx(21.1942, rel=1e-4)


# --- competition, social sorting and the 2015 calibration population ---------------------------


def test_competitors_count_other_schools_within_the_radius():
    # six schools 0.5 km apart on a line (0-2.5 km) and one alone at 20 km
    xs = [0, 500, 1000, 1500, 2000, 2500, 20000]
    dests = _destinations([(x, 0) for x in xs], [100.0] * len(xs))
    floor = fl.COMPETITORS_FLOOR
    assert floor == 4  # the counts below are chosen around it
    system = fl.build_system(_origins([(0, 0)], [10.0]), dests, k=len(xs), competition_radius_km=3.0)
    np.testing.assert_allclose(system.feature("competitors"), np.log1p([5, 5, 5, 5, 5, 5, floor]))
    narrow = fl.build_system(_origins([(0, 0)], [10.0]), dests, k=len(xs), competition_radius_km=1.2)
    # within 1.2 km: 2 or 3 others, raised to the floor; the lone school too
    np.testing.assert_allclose(narrow.feature("competitors"), np.log1p([floor] * len(xs)))
    middle = fl.build_system(_origins([(0, 0)], [10.0]), dests, k=len(xs), competition_radius_km=2.2)
    np.testing.assert_allclose(middle.feature("competitors"), np.log1p([4, 5, 5, 5, 5, 4, floor]))
    # steeper decay where schools crowd: the pair feature is distance times the school's value
    np.testing.assert_allclose(system.feature("distance_x_competitors"), np.maximum(system.distance_km, fl.MIN_DISTANCE_KM) * system.feature("competitors")[system.col])


def test_social_sorting_feature_and_its_gradient():
    rng = np.random.default_rng(3)
    n_o, n_d = 60, 12
    origins = _origins(list(zip(rng.uniform(0, 10000, n_o), rng.uniform(0, 10000, n_o))), rng.uniform(20, 80, n_o).tolist())
    origins["idaci"] = rng.normal(0, 0.1, n_o)
    dests = _destinations(list(zip(rng.uniform(0, 10000, n_d), rng.uniform(0, 10000, n_d))), rng.uniform(300, 900, n_d).tolist(), fsm=rng.normal(0, 0.1, n_d))
    system = fl.build_system(origins, dests, k=8)
    value = system.feature("fsm_x_origin_idaci")
    np.testing.assert_allclose(value, dests["fsm"].to_numpy()[system.col] * origins["idaci"].to_numpy()[:, None])
    truth = _result(("log_size", "distance_km", "competitors", "distance_x_competitors", "fsm_x_origin_idaci"), [1.0, -0.6, 0.2, -0.1, 8.0])
    observed = _synthetic_observed(system, fl.predict(system, truth), range(n_d), rng)
    cells = fl.align_observed(system, observed)
    params = truth.params + 0.05
    _assert_gradient_matches_finite_differences(system, cells, truth.features, params)
    # children of deprived areas go more to schools with many disadvantaged pupils when the term is positive
    flows = fl.predict(system, truth)
    poor = origins["idaci"].to_numpy() > 0
    high_fsm = (dests["fsm"].to_numpy() > 0)[system.col]
    share_poor = (flows * high_fsm)[poor].sum() / flows[poor].sum()
    share_rich = (flows * high_fsm)[~poor].sum() / flows[~poor].sum()
    assert share_poor > share_rich


def test_phase_destinations_centres_fsm_and_attainment_on_open_schools():
    schools = pd.DataFrame(
        {
            "urn": [1, 2, 3, 4],
            "authority_code": ["E09000001"] * 4,
            "phase": ["secondary", "secondary", "secondary", "primary"],
            "is_state_funded": [True] * 4,
            "is_open": [True, True, False, True],
            "age_low": [11, 11, 11, 4],
            "age_high": [16, 16, 16, 11],
            "pupils_2019": [900, 800, 700, 400],
            "easting": [1.0, 2.0, 3.0, 4.0],
            "northing": [1.0, 2.0, 3.0, 4.0],
            "fsm_ever_pct_2019": [20.0, 40.0, 90.0, 10.0],
            "ks4_attainment8": [40.0, np.nan, 60.0, np.nan],
        }
    )
    secondary, _ = fl.phase_destinations(schools, "secondary", open_only=False)
    # centred on the open schools' mean (30% and 40.0), the closed school does not move the centre
    np.testing.assert_allclose(secondary["fsm"], [-0.1, 0.1, 0.6])
    np.testing.assert_allclose(secondary["attainment8"], [0.0, 0.0, 2.0])  # unknown -> 0
    primary, _ = fl.phase_destinations(schools, "primary")
    assert primary["attainment8"].tolist() == [0.0] and primary["fsm"].tolist() == [0.0]


def test_secondary_children_2015_averages_same_ages_and_same_cohort():
    lsoas = pd.DataFrame({f"age_{a}_2019": [10.0, 0.0] for a in range(11, 18)})
    lsoas.loc[1, ["age_15_2019", "age_16_2019", "age_17_2019"]] = 30.0  # a new estate: older teenagers only
    # row 0: same ages 50, same cohort 3*10*5/3 = 50 -> 50; row 1: same ages 30, cohort 90*5/3 = 150 -> 90
    np.testing.assert_allclose(fl.secondary_children_2015(lsoas), [50.0, 90.0])
    with pytest.raises(ModelError, match="age_17_2019"):
        fl.secondary_children_2015(lsoas.drop(columns="age_17_2019"))


def test_suppression_ceiling_is_below_one_and_rises_with_school_size(synthetic):
    system, truth, observed = synthetic
    cells = fl.align_observed(system, observed)
    flows = fl.predict(system, truth)
    ceiling = fl.suppression_ceiling(system, flows, cells, draws=2)
    assert 0.3 < ceiling["cpc"] < 1.0 and 0.0 < ceiling["suppressed_share"] < 1.0
    # ten times bigger schools: fewer small cells, a higher ceiling
    from dataclasses import replace

    big = fl.suppression_ceiling(system, flows, replace(cells, total=cells.total * 10), draws=2)
    assert big["cpc"] > ceiling["cpc"] and big["suppressed_share"] < ceiling["suppressed_share"]
    # a wrong model scores below the true model's ceiling on the same draws
    wrong = fl.predict(system, fl.FitResult("w", truth.features, truth.params * np.array([1, 0.3, 1, 1]), "production", 0, 0, True, 0, np.zeros(4)))
    drawn_cpc = fl.suppression_ceiling(system, flows, cells, draws=2)["cpc"]
    assert drawn_cpc == pytest.approx(ceiling["cpc"])  # seeded
    assert fl.validation_measures(system, wrong, cells)["cpc"] < drawn_cpc


# --- attraction constraint: schools filled to their sizes, origins capped at their children -------


def test_fill_schools_golden(tiny):
    # production flows A: 60 to S1, 40 to S2; B: 20 to S1, 30 to S2 (sizes 200 and 100, no cap)
    flows = np.zeros(tiny.col.shape)
    s1 = tiny.destination_ids[tiny.col] == 100000
    flows[0][s1[0]], flows[0][~s1[0]] = 60.0, 40.0
    flows[1][s1[1]], flows[1][~s1[1]] = 20.0, 30.0
    uncapped = fl.FlowSystem(tiny.origin_codes, tiny.origins, tiny.origin_authority, tiny.destination_ids, tiny.destinations,
                             tiny.destination_authority, tiny.destination_attributes, tiny.col, tiny.distance_km)  # fmt: skip
    filled = fl.fill_schools(uncapped, flows, tol=1e-12)
    # each school's column is scaled to its size: S1 80 -> 200 (x2.5), S2 70 -> 100 (x10/7)
    assert filled[0][s1[0]][0] == pytest.approx(150.0) and filled[1][s1[1]][0] == pytest.approx(50.0)
    assert filled[0][~s1[0]][0] == pytest.approx(400 / 7) and filled[1][~s1[1]][0] == pytest.approx(300 / 7)
    # with the build_system cap (the children, 100 and 50), both schools cannot be filled (300 places,
    # 150 children): no origin exceeds its children and every cell keeps its sign
    capped = fl.fill_schools(tiny, flows, tol=1e-9, max_iter=2000)
    np.testing.assert_array_less(capped.sum(axis=1), tiny.origin_children + 1e-6)
    assert (capped > 0).all()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(systems(all_candidates=True), st.floats(-1, -0.05), st.floats(0.2, 3.0))
def test_attraction_constraint_fills_schools_and_caps_origins(system, beta, room):
    """Origins hold ``room`` times the schools' pupils: schools are filled where the caps allow, never beyond a cap."""
    children = system.origins
    assume(children.sum() >= 1)
    sizes = system.destinations * (children.sum() / room) / system.destinations.sum()
    system = fl.FlowSystem(system.origin_codes, children, system.origin_authority, system.destination_ids, sizes,
                           system.destination_authority, system.destination_attributes, system.col, system.distance_km,
                           origin_children=children)  # fmt: skip
    flows = fl.predict(system, _result(("distance_km",), [beta], "attraction"), tol=1e-9, max_iter=5000)
    assert (flows >= 0).all() and np.isfinite(flows).all()
    assert (flows.sum(axis=1) <= children * (1 + 1e-9) + 1e-9).all()
    inflow = np.bincount(system.col.ravel(), weights=flows.ravel(), minlength=len(sizes))
    assert (inflow <= sizes * (1 + 1e-6) + 1e-6).all()  # no school is over-filled
    if room >= 1.5 and (children > 0).all():
        # plenty of children everywhere: every school reaches its size
        np.testing.assert_allclose(inflow, sizes, rtol=1e-4)


def test_balance_with_edge_schools_converges():
    """Edge (unconstrained) schools take what they take; the balanced ones share the rest by size."""
    origins = _origins([(0, 0), (1000, 0), (2000, 0)], [100.0, 100.0, 100.0])
    dests = _destinations([(0, 500), (1000, 500), (2000, 500)], [300.0, 600.0, 900.0])
    system = fl.build_system(origins, dests, k=3, constrained=np.array([True, True, False]))
    result = _result(("distance_km",), [-1.0], "doubly")
    logb, _, err = fl.balance(system, result.features, result.params, tol=1e-8, max_iter=5000)
    assert err < 1e-8 and np.abs(logb[:2]).max() < fl.LOG_BALANCING_BOUND - 1
    flows = fl.predict(system, result, tol=1e-8, max_iter=5000)
    inflow = np.bincount(system.col.ravel(), weights=flows.ravel(), minlength=3)
    rest = 300.0 - inflow[2]
    np.testing.assert_allclose(inflow[:2], [rest / 3, 2 * rest / 3], rtol=1e-6)


# --- one vocabulary, typed problems, int64 URNs (issue 13) ------------------------------------------


def test_phase_origins_count_children_as_the_vocabulary_does():
    from atlaskit.vocabulary import children_of_phase

    ages = {f"age_{a}_2019": [float(a), np.nan] for a in range(0, 19)}
    lsoas = pd.DataFrame({"lsoa11_code": ["E01000001", "E01000002"], "authority_code": "E09000001", "region_code": "E12000007",
                          "easting": [0.0, 1.0], "northing": [0.0, 1.0], **ages})  # fmt: skip
    for phase in ("primary", "secondary"):
        origins = fl.phase_origins(lsoas, phase)
        np.testing.assert_allclose(origins["children"], children_of_phase(lsoas, phase).fillna(0.0))
    assert fl.phase_origins(lsoas, "primary")["children"].iloc[0] == sum(range(4, 11))  # census ages 4-10
    with pytest.raises(ModelError):
        fl.phase_origins(lsoas, "nursery")


def test_schools_open_in_returns_int64_urns():
    schools = pd.DataFrame({"urn": np.array([100001, 100002, 100003], dtype="int64"),
                            "open_date": pd.to_datetime(["2010-09-01", "2016-09-01", None]),
                            "close_date": pd.to_datetime([None, None, "2014-08-31"])})  # fmt: skip
    urns = fl.schools_open_in(schools, "2015-01-15")
    assert urns.dtype == np.int64 and urns.tolist() == [100001]


def test_observed_schools_left_out_are_typed_problems():
    from atlaskit.analysis.problems import ProblemKind
    from atlaskit.pipelines.validation import _not_modelled_problems

    schools = pd.DataFrame({"urn": [1, 2, 3, 4], "phase": ["special", "special", "pru", "secondary"]})
    problems = _not_modelled_problems(schools, (1, 2, 3, 4, 5))
    assert all(p.kind is ProblemKind.NOT_MODELLED and p.phase == "secondary" for p in problems)
    assert sorted(p.count for p in problems) == [1, 2, 2]  # one pru, two special, two others (4 is located elsewhere, 5 not in the store)
    other = next(p for p in problems if "URN" in p.detail)
    assert "4, 5" in other.detail and "not modelled" in str(other)
    assert _not_modelled_problems(schools, ()) == ()


def test_unlocated_schools_are_typed_problems():
    from atlaskit.analysis.problems import ProblemKind
    from atlaskit.pipelines.england_flows import _unlocated_problem

    lost = pd.DataFrame({"urn": [100001, 100002], "school_name": ["A", "B"], "authority_code": "E09000001", "pupils": [100.0, 20.0]})
    problem = _unlocated_problem("primary", lost)
    assert (problem.kind, problem.phase, problem.count, problem.pupils) == (ProblemKind.NOT_MODELLED, "primary", 2, 120.0)
    assert "100001, 100002" in problem.detail
