"""Unit, golden and property tests of atlaskit.demand on small populations made by code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlaskit.analysis import demand as d
from atlaskit.analysis.demand.population import _population_path
from atlaskit.analysis.problems import ProblemKind
from atlaskit.errors import ModelError
from atlaskit.vocabulary import PHASES, academic_year, academic_year_end

AGES = 91


def population(code: str, p2019: np.ndarray, p2020: np.ndarray) -> pd.DataFrame:
    """Long la_population rows of one authority from two arrays of 91 ages."""
    return pd.DataFrame(
        {
            "authority_code": code,
            "year": np.repeat([2019, 2020], AGES),
            "age": np.tile(np.arange(AGES), 2),
            "population": np.concatenate([p2019, p2020]).astype(float),
        }
    )


def growing_authority(code: str = "E06000001", growth: float = 1.1) -> pd.DataFrame:
    """100 people at every age in mid-2019; every cohort grows by ``growth`` to mid-2020; 100 aged 0."""
    p2019 = np.full(AGES, 100.0)
    p2020 = np.full(AGES, 100.0 * growth)
    p2020[0] = 100.0
    return population(code, p2019, p2020)


def intervals(q10: float = -0.04, q90: float = 0.02, q025: float = -0.08, q975: float = 0.05) -> pd.DataFrame:
    return pd.DataFrame(
        [{"phase": p, "n": 100, "horizon": 4, "q025": q025, "q10": q10, "q90": q90, "q975": q975} for p in PHASES]
    )


def rolls(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["authority_code", "phase", "academic_year", "pupils"]).assign(source="test")


# ---------------------------------------------------------------- labels


def test_academic_year_labels_round_trip():
    assert academic_year(2025) == "2024/25"
    assert academic_year(2000) == "1999/00"
    for end in (2000, 2019, 2035):
        assert academic_year_end(academic_year(end)) == end


@pytest.mark.parametrize("label", ["2024/26", "2024-25", "24/25", "", "2024/2025"])
def test_bad_academic_year_label_is_named(label):
    with pytest.raises(ValueError, match="not like"):
        academic_year_end(label)


# ---------------------------------------------------------------- golden cohort arithmetic


def test_cohort_ratios_golden_with_open_band():
    early = np.array([10.0, 20.0, 30.0, 40.0])
    late = np.array([99.0, 12.0, 22.0, 50.0])
    ratios = d.cohort_ratios(early, late, smooth_ages=0)
    np.testing.assert_allclose(ratios, [12 / 10, 22 / 20, 50 / (30 + 40)])


def test_cohort_ratios_smoothing_is_a_moving_average_of_logs():
    early = np.ones(10)
    late = np.ones(10)
    late[2] = 4.0  # ratio 4 at age 1 only
    late[-1] = 2.0  # open band: 2 / (1 + 1)
    ratios = d.cohort_ratios(early, late, smooth_ages=5)
    np.testing.assert_allclose(np.log(ratios[:3]), [np.log(4) / 3, np.log(4) / 3, np.log(4) / 3])
    assert ratios[3] == pytest.approx(1.0)


def test_project_population_golden():
    base = np.array([100.0, 90.0, 80.0, 70.0])  # age 3 is the open band
    ratios = np.array([1.1, 0.9, 1.0])
    path = d.project_population(base, ratios, None, 2, age0=np.array([50.0, 60.0]))
    np.testing.assert_allclose(path[1], [50.0, 110.0, 81.0, 80.0 + 70.0])
    np.testing.assert_allclose(path[2], [60.0, 55.0, 99.0, 81.0 + 150.0])


def test_project_population_births_from_birth_ratio():
    base = np.zeros(50)
    base[20:45] = 10.0  # 250 adults of parent ages
    path = d.project_population(base, np.ones(49), np.array(0.04), 1)
    assert path[1, 0] == pytest.approx(0.04 * path[1, 20:45].sum())


def test_backcast_undoes_projection():
    base = np.arange(1.0, 21.0)
    ratios = np.linspace(0.9, 1.1, 19)
    forward = d.project_population(base, ratios, None, 3, age0=np.array([5.0, 5.0, 5.0]))[3]
    back = d.backcast_population(forward, ratios, 3)
    np.testing.assert_allclose(back[:16], base[:16])
    assert np.isnan(back[-1])


def test_tiny_authority_projection_golden():
    """100 children at each age in mid-2019, every cohort grows 10% a year; 630 primary pupils in 2018/19."""
    pop = growing_authority()
    result = d.project_rolls(pop, rolls([("E06000001", "primary", "2018/19", 630.0)]), "2018/19", 6, intervals())
    table = result.table.set_index("academic_year")
    # participation 630 / 700 children aged 5-11 at mid-2019
    assert table.loc["2018/19", "participation"] == pytest.approx(0.9)
    # 2022/23 <- mid-2023 ages 4-11 <- mid-2020 ages 1-8 (110 each) grown 1.1 ** 3
    assert table.loc["2022/23", "pupils"] == pytest.approx(0.9 * 7 * 110 * 1.1**3)
    # 2023/24 <- mid-2024 year groups R-Y6: ages 5-11 (from mid-2020 ages 1-7, 110 each) less 1/6
    # of age 11, plus 1/6 of age 4 (from the 100 aged 0 in 2020), all grown 1.1 ** 4
    assert table.loc["2023/24", "pupils"] == pytest.approx(0.9 * (7 * 110 - 110 / 6 + 100 / 6) * 1.1**4)
    # the 80% interval at horizon 4 is the calibrated quantiles themselves
    row = table.loc["2022/23"]
    assert row["pupils_lower_80"] == pytest.approx(row["pupils"] * np.exp(-0.04))
    assert row["pupils_upper_80"] == pytest.approx(row["pupils"] * np.exp(0.02))
    # at horizon 1 they shrink with the square root of the horizon
    row = table.loc["2019/20"]
    assert row["pupils_upper_95"] == pytest.approx(row["pupils"] * np.exp(0.05 * 0.5))
    assert result.problems and all(p.kind is ProblemKind.NOT_PROJECTED and p.phase == "secondary" for p in result.problems)


def test_interval_quantiles_interpolate_and_scale():
    iv = pd.DataFrame([{"phase": "primary", "horizon": h, "q025": -0.1 * h, "q10": -0.05 * h, "q90": 0.05 * h, "q975": 0.1 * h} for h in (1, 2, 4)])
    assert d.interval_quantiles(iv, "primary", 3)["q90"] == pytest.approx(0.15)
    assert d.interval_quantiles(iv, "primary", 16)["q90"] == pytest.approx(0.2 * 2)
    assert d.interval_quantiles(iv, "primary", 0)["q10"] == 0.0
    with pytest.raises(ModelError, match="secondary"):
        d.interval_quantiles(iv, "secondary", 1)


def flat_authority(code: str) -> pd.DataFrame:
    """100 people at every age in mid-2019 and mid-2020: every cohort ratio is 1, children never change."""
    return population(code, np.full(AGES, 100.0), np.full(AGES, 100.0))


def test_hindcast_errors_golden_and_limited_to_last():
    pop = flat_authority("E06000001")
    known = rolls([("E06000001", "primary", "2014/15", 600.0), ("E06000001", "primary", "2018/19", 630.0),
                   ("E06000001", "primary", "2022/23", 660.0), ("E06000001", "primary", "2023/24", np.nan)])
    errors = d.hindcast_errors(pop, known).set_index(["origin", "academic_year"])
    # constant children: the error is the log change of the roll between the two years
    assert errors.loc[("2014/15", "2018/19"), "error"] == pytest.approx(np.log(630 / 600))
    assert errors.loc[("2014/15", "2022/23"), "error"] == pytest.approx(np.log(660 / 600))
    assert errors.loc[("2018/19", "2022/23"), "error"] == pytest.approx(np.log(660 / 630))
    assert errors.loc[("2014/15", "2022/23"), "horizon"] == 8
    assert len(errors) == 3  # the missing 2023/24 roll makes no pair
    early = d.hindcast_errors(pop, known, last="2018/19")
    assert list(early["academic_year"]) == ["2018/19"]


def test_hindcast_errors_follow_the_children():
    pop = growing_authority()
    known = rolls([("E06000001", "secondary", "2018/19", 500.0), ("E06000001", "secondary", "2022/23", 500.0)])
    error = d.hindcast_errors(pop, known)["error"].iloc[0]
    path = _population_path(pop, 2023)
    grown = d.year_group_children(path.by_year[2023][0], "secondary") / d.year_group_children(path.by_year[2019][0], "secondary")
    assert grown > 1.2  # the cohorts grew, the roll did not: the method projected too many
    assert error == pytest.approx(-np.log(grown))


@pytest.mark.parametrize("power", [0.5, 0.8, 1.0])
def test_error_power_recovers_the_growth_of_the_spread(power):
    rng = np.random.default_rng(7)
    base = rng.normal(0.0, 0.01, 400)
    errors = pd.DataFrame([{"horizon": h, "error": e * h**power} for h in (1, 2, 4, 8) for e in base])
    assert d.error_power(errors) == pytest.approx(power, abs=1e-9)


def test_error_power_default_and_bounds():
    one = pd.DataFrame({"horizon": 4, "error": np.linspace(-0.1, 0.1, 50)})
    assert d.error_power(one) == d.DEFAULT_ERROR_POWER
    assert d.error_power(one, default=0.7) == 0.7
    steep = pd.DataFrame([{"horizon": h, "error": e * h**2} for h in (1, 4) for e in np.linspace(-0.01, 0.01, 50)])
    assert d.error_power(steep) == d.ERROR_POWER_BOUNDS[1]
    few = pd.DataFrame([{"horizon": h, "error": e * h} for h in (1, 4) for e in np.linspace(-0.01, 0.01, d.MIN_ERRORS - 1)])
    assert d.error_power(few) == d.DEFAULT_ERROR_POWER  # too few errors at each horizon to measure a spread


def drifting_authorities(n: int = 40) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Flat populations whose rolls drift by ``rate`` per year each (a steady participation trend)."""
    rates = np.linspace(-0.02, 0.01, n)
    codes = [f"E06{k:06d}" for k in range(1, n + 1)]
    pop = pd.concat([flat_authority(c) for c in codes], ignore_index=True)
    rows = []
    for code, rate in zip(codes, rates):
        for label in ("2014/15", "2018/19", "2022/23", "2023/24"):
            years = academic_year_end(label) - 2015
            rows += [(code, phase, label, 1000.0 * np.exp(rate * years)) for phase in PHASES]
    return pop, rolls(rows), rates


def test_calibrate_intervals_pools_errors_per_year_and_reads_nothing_later():
    pop, known, rates = drifting_authorities()
    table = d.calibrate_intervals(pop, known, last="2022/23").set_index("phase")
    # errors 4 and 8 years ahead, exactly proportional to the horizon: power 1, per-year quantiles = rates'
    assert table.loc["primary", "horizons"] == "4, 8"
    assert table.loc["primary", "power"] == pytest.approx(1.0)
    assert table.loc["primary", "q50"] == pytest.approx(np.median(rates))
    assert table.loc["primary", "q10"] == pytest.approx(np.quantile(np.concatenate([rates] * 3), 0.1))
    quantiles = d.interval_quantiles(table.reset_index(), "primary", 3)
    assert quantiles["q50"] == pytest.approx(3 * np.median(rates))
    # the 2023/24 rolls are not read for a calibration that ends in 2022/23
    changed = known.assign(pupils=np.where(known["academic_year"] == "2023/24", 5.0 * known["pupils"], known["pupils"]))
    pd.testing.assert_frame_equal(d.calibrate_intervals(pop, changed, last="2022/23"), d.calibrate_intervals(pop, known, last="2022/23"))
    assert not d.calibrate_intervals(pop, changed).equals(d.calibrate_intervals(pop, known))
    with pytest.raises(ModelError, match="hindcast errors for primary"):
        d.calibrate_intervals(pop, known, last="2014/15")


def test_project_rolls_moves_the_projection_by_the_bias_term():
    pop = growing_authority()
    table = intervals().assign(q50=-0.02, power=1.0)
    out = d.project_rolls(pop, rolls([("E06000001", "primary", "2018/19", 630.0)]), "2018/19", 6, table).table.set_index("horizon")
    # at horizon 4 the calibrated quantiles apply as they are; at 2 they are halved (power 1)
    assert out.loc[4, "pupils"] == pytest.approx(out.loc[4, "pupils_cohort"] * np.exp(-0.02))
    assert out.loc[2, "pupils"] == pytest.approx(out.loc[2, "pupils_cohort"] * np.exp(-0.01))
    assert out.loc[2, "pupils_upper_80"] == pytest.approx(out.loc[2, "pupils_cohort"] * np.exp(0.01))
    assert out.loc[0, "pupils"] == pytest.approx(630.0)
    assert (out["pupils_lower_80"] <= out["pupils"]).all() and (out["pupils"] <= out["pupils_upper_80"]).all()


# ---------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    p2019=st.lists(st.integers(0, 5000), min_size=AGES, max_size=AGES),
    p2020=st.lists(st.integers(0, 5000), min_size=AGES, max_size=AGES),
    pupils=st.floats(0, 1e6),
)
def test_no_negative_pupils_and_intervals_bracket(p2019, p2020, pupils):
    pop = population("E06000002", np.array(p2019), np.array(p2020))
    result = d.project_rolls(pop, rolls([("E06000002", "secondary", "2018/19", pupils)]), "2018/19", 10, intervals())
    table = result.table
    assert len(table) == 11
    assert (table["pupils"] >= 0).all() and np.isfinite(table["pupils"]).all()
    assert (table["pupils_lower_95"] <= table["pupils_lower_80"] + 1e-9).all()
    assert (table["pupils_lower_80"] <= table["pupils"] + 1e-9).all()
    assert (table["pupils"] <= table["pupils_upper_80"] + 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(p2019=st.lists(st.integers(1, 5000), min_size=AGES, max_size=AGES), newborns=st.integers(1, 5000))
def test_zero_migration_full_participation_rolls_forward_exactly(p2019, newborns):
    """No deaths or migration and every child on roll: pupils are exactly the children born by mid-2020."""
    p2019 = np.array(p2019, dtype=float)
    p2020 = np.empty(AGES)
    p2020[0] = newborns
    p2020[1:] = p2019[:-1]
    p2020[-1] += p2019[-1]
    pop = population("E06000003", p2019, p2020)

    def year_groups(low: int, high: int, h: int) -> float:  # children of the year groups h years after mid-2020
        return p2020[low - h : high + 1 - h].sum() - p2020[high - h] / 6 + p2020[low - 1 - h] / 6

    roll = [("E06000003", "primary", "2019/20", year_groups(5, 11, 0)), ("E06000003", "secondary", "2019/20", year_groups(12, 16, 0))]
    table = d.project_rolls(pop, rolls(roll), "2019/20", 4, intervals()).table.set_index(["phase", "academic_year"])
    for h in range(5):  # cohorts all born by mid-2020
        year = academic_year(2020 + h)
        assert table.loc[("primary", year), "pupils"] == pytest.approx(year_groups(5, 11, h), rel=1e-9)
        assert table.loc[("secondary", year), "pupils"] == pytest.approx(year_groups(12, 16, h), rel=1e-9)


# ---------------------------------------------------------------- missing inputs, reorganised authorities


def test_missing_roll_is_named_and_the_rest_still_run():
    pop = pd.concat([growing_authority("E06000001"), growing_authority("E06000002")])
    result = d.project_rolls(pop, rolls([("E06000001", "primary", "2018/19", 630.0)]), "2018/19", 3, intervals())
    assert set(result.table["authority_code"]) == {"E06000001"}
    assert any(p.kind is ProblemKind.NOT_PROJECTED and (p.authority_code, p.phase, p.academic_year) == ("E06000002", "primary", "2018/19")
               for p in result.problems)


def test_incomplete_population_is_named_and_the_rest_still_run():
    good = growing_authority("E06000001")
    bad = growing_authority("E06000002")
    bad = bad[~((bad["year"] == 2020) & (bad["age"] == 7))]
    result = d.project_rolls(pd.concat([good, bad]), rolls([(c, "primary", "2018/19", 600.0) for c in ("E06000001", "E06000002")]), "2018/19", 3, intervals())
    assert set(result.table["authority_code"]) == {"E06000001"}
    assert any(p.kind is ProblemKind.POPULATION_INCOMPLETE and p.authority_code == "E06000002" and "mid-2020" in p.detail for p in result.problems)


def test_unknown_authority_requested_is_named():
    result = d.project_rolls(growing_authority("E06000001"), rolls([("E06000001", "primary", "2018/19", 630.0)]), "2018/19", 2, intervals(), authorities=["E06000001", "E09999999"])
    assert any(p.kind is ProblemKind.NO_POPULATION and p.authority_code == "E09999999" for p in result.problems)
    assert set(result.table["authority_code"]) == {"E06000001"}


def test_reorganised_authorities_get_population_through_the_district_mapping():
    """North/West Northamptonshire from Northamptonshire's districts, Cumberland/Westmorland and Furness from Cumbria's."""
    from atlaskit.store.geography import la_population_by_authority

    districts = {
        "E07000150": "E06000061", "E07000153": "E06000061",  # Corby, Kettering -> North Northamptonshire
        "E07000154": "E06000062", "E07000155": "E06000062",  # Northampton, South Northamptonshire -> West
        "E07000026": "E06000063", "E07000028": "E06000063",  # Allerdale, Carlisle -> Cumberland
        "E07000027": "E06000064", "E07000030": "E06000064",  # Barrow-in-Furness, Eden -> Westmorland and Furness
    }
    rng = np.random.default_rng(7)
    raw = []
    for year in (2019, 2020):
        for code in districts:
            raw.append(pd.DataFrame({"code": code, "geography": "Non-metropolitan District", "year": year, "age": np.arange(AGES), "population": rng.integers(50, 500, AGES)}))
        for county in ("E10000021", "E10000006"):  # county rows are ignored (they would double count)
            raw.append(pd.DataFrame({"code": county, "geography": "County", "year": year, "age": np.arange(AGES), "population": np.full(AGES, 10**6)}))
    raw = pd.concat(raw, ignore_index=True)
    la_codes = pd.DataFrame({"district_code": list(districts), "authority_code": list(districts.values())})
    current = sorted(set(districts.values()))
    pop = la_population_by_authority(raw, la_codes, current)
    assert sorted(pop["authority_code"].unique()) == current
    north = pop[pop["authority_code"] == "E06000061"].set_index(["year", "age"])["population"]
    parts = raw[raw["code"].isin(["E07000150", "E07000153"])].groupby(["year", "age"])["population"].sum()
    pd.testing.assert_series_equal(north.sort_index(), parts.sort_index(), check_names=False, check_dtype=False)
    result = d.project_rolls(pop, rolls([(c, "primary", "2018/19", 1000.0) for c in current]), "2018/19", 6, intervals())
    assert sorted(result.table["authority_code"].unique()) == current
    assert result.problems and all(p.kind is ProblemKind.NOT_PROJECTED and p.phase == "secondary" for p in result.problems)


def test_scorecard_retired_and_split_codes_through_the_code_mapping():
    from atlaskit.store.builders.planning import current_codes
    from atlaskit.errors import DataFormatError

    codes = pd.DataFrame(
        {
            "code": ["E08000016", "E08000038", "E10000021", "E10000021", "E06000061"],
            "authority_code": ["E08000038", "E08000038", "E06000061", "E06000062", "E06000061"],
            "kind": ["retired", "current", "retired", "retired", "current"],
        }
    )
    mapped = current_codes(pd.Series(["E08000016", "E06000061"]), codes)
    assert list(mapped) == ["E08000038", "E06000061"]
    with pytest.raises(DataFormatError, match="E10000021"):
        current_codes(pd.Series(["E10000021"]), codes)
    with pytest.raises(DataFormatError, match="E09999999"):
        current_codes(pd.Series(["E09999999"]), codes)


# ---------------------------------------------------------------- capacity and surplus


def test_add_capacity_holds_latest_and_marks_margins():
    projection = pd.DataFrame(
        {"authority_code": "E06000001", "phase": "primary", "academic_year": ["2022/23", "2023/24", "2024/25", "2025/26", "2026/27"], "pupils": [90.0, 97.0, 99.0, 96.0, 101.0]}
    )
    capacity = pd.DataFrame({"authority_code": "E06000001", "phase": "primary", "academic_year": ["2023/24", "2024/25"], "capacity": [100.0, 100.0]})
    out = d.add_capacity(projection, capacity).set_index("academic_year")
    assert np.isnan(out.loc["2022/23", "capacity"])  # no capacity before the first published
    assert out.loc["2026/27", "capacity"] == 100.0 and out.loc["2026/27", "capacity_year"] == "2024/25"
    assert out.loc["2026/27", "surplus"] == pytest.approx(-1.0)
    assert out.loc["2025/26", "pct_spare"] == pytest.approx(4.0)
    assert list(out["below_2pct_margin"]) == [False, False, True, False, True]
    assert list(out["below_5pct_margin"]) == [False, True, True, True, True]


# ---------------------------------------------------------------- scorecard-driven pipeline on a synthetic scorecard


def synthetic_scorecard(codes: list[str]) -> pd.DataFrame:
    rows = []
    for i, code in enumerate(codes):
        for year, pri, sec in (("2022/23", 1000 + i, 700 + i), ("2023/24", 1010 + i, 705 + i), ("2024/25", 1020 + i, 710 + i)):
            rows.append(
                {
                    "authority_code": code, "academic_year": year, "primary_pupils": float(pri), "secondary_pupils": float(sec),
                    "primary_capacity": np.nan if year == "2022/23" else 1100.0, "secondary_capacity": np.nan if year == "2022/23" else 720.0,
                    "primary_pupils_2019": 950.0 + 3 * i, "secondary_pupils_2019": 650.0 + 2 * i,
                    "primary_pupils_2015": 900.0 + 5 * i, "secondary_pupils_2015": 600.0 + i,
                    "primary_forecast_error_1y": 0.01, "primary_forecast_error_3y": -0.02,
                    "secondary_forecast_error_1y": 0.005, "secondary_forecast_error_3y": np.nan,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(3)
    codes = [f"E06{n:06d}" for n in range(1, 31)]
    pops = []
    for code in codes:
        p2019 = rng.integers(900, 1100, AGES).astype(float)
        p2020 = np.empty(AGES)
        p2020[0] = rng.integers(900, 1100)
        p2020[1:] = p2019[:-1] * rng.uniform(0.98, 1.03, AGES - 1)
        pops.append(population(code, p2019, p2020))
    return pd.concat(pops, ignore_index=True), synthetic_scorecard(codes)


@pytest.mark.parametrize("scored", ["2022/23", "2023/24", "2024/25"])
def test_backtest_never_sees_the_actual_it_scores(synthetic, scored):
    pop, scorecard = synthetic
    first = d.backtest(pop, scorecard).table
    changed = scorecard.copy()
    # the scored year's rolls move differently in every authority (a common factor would cancel out)
    factor = np.linspace(0.7, 1.4, int((changed["academic_year"] == scored).sum()))
    for column in ("primary_pupils", "secondary_pupils"):
        changed.loc[changed["academic_year"] == scored, column] *= factor
    second = d.backtest(pop, changed).table
    keep = ["authority_code", "phase", "origin", "academic_year"]
    merged = first.merge(second, on=keep, suffixes=("", "_changed"))
    # the rows scored on that year: neither their projection nor their bias term and intervals saw it
    rows = merged[merged["academic_year"] == scored]
    assert len(rows) > 0
    for column in ("pupils", "pupils_lower_80", "pupils_upper_80", "pupils_lower_95", "pupils_upper_95"):
        np.testing.assert_allclose(rows[column], rows[f"{column}_changed"])
    assert not np.allclose(rows["actual_pupils"], rows["actual_pupils_changed"])
    # later origins jump off from it, and calibrate on it: they do change
    later = merged[merged["origin"].map(academic_year_end) >= academic_year_end(scored)]
    if len(later):
        assert not np.allclose(later["pupils_upper_80"], later["pupils_upper_80_changed"])
    assert set(first["horizon"]) == {1, 2, 4, 5, 6}


def test_backtest_summary_sits_beside_the_authorities_forecasts(synthetic):
    pop, scorecard = synthetic
    bt = d.backtest(pop, scorecard)
    summary = d.backtest_summary(bt.table, scorecard)
    assert summary.loc[("primary", 1), "la_median_ape"] == pytest.approx(1.0)
    assert summary.loc[("primary", 3), "la_bias"] == pytest.approx(-2.0)
    assert summary.loc[("primary", 3), "n"] == 0  # no horizon-3 backtest here
    errors = bt.table[(bt.table["phase"] == "secondary") & (bt.table["horizon"] == 4)]["abs_pct_error"]
    assert summary.loc[("secondary", 4), "median_ape"] == pytest.approx(errors.median())
    assert 0 <= summary.loc[("secondary", 4), "coverage_80_pct"] <= 100
    assert summary.loc[("secondary", 4), "origins"] == "2018/19"
    assert summary.loc[("primary", 1), "origins"] == "2022/23, 2023/24"


def _scored(origin, phase, horizon, errors_pct, inside):
    return pd.DataFrame({"authority_code": [f"E0{i:07d}" for i in range(len(errors_pct))], "phase": phase, "origin": origin,
                         "horizon": horizon, "pct_error": errors_pct, "abs_pct_error": np.abs(errors_pct), "inside_80": inside})


def test_backtest_targets_golden_per_backtest_and_phase():
    table = pd.concat([
        # from the earliest data: median |error| 3 and 5 at horizons 4 and 5; 80% and 60% inside
        _scored("2018/19", "primary", 4, [1.0, -3.0, 3.0, 4.0, -2.0], [True, True, True, True, False]),
        _scored("2018/19", "primary", 5, [5.0, -5.0, 6.0, 1.0, 5.0], [True, False, True, False, True]),
        # rolling origin, two origins pooled at horizon 1: median |error| 1, 4 of 5 inside
        _scored("2022/23", "primary", 1, [1.0, -1.0, 2.0], [True, True, False]),
        _scored("2023/24", "primary", 1, [0.5, 1.0], [True, True]),
    ], ignore_index=True)
    targets = d.backtest_targets(table).set_index(["backtest", "phase"])
    early = targets.loc[("from the earliest data", "primary")]
    assert early["horizons"] == "4, 5" and early["n"] == 10 and early["origins"] == "2018/19"
    assert early["worst_median_ape"] == pytest.approx(5.0)
    assert early["coverage_80_min"] == pytest.approx(60.0) and early["coverage_80_max"] == pytest.approx(80.0)
    assert not early["median_ape_met"] and not early["coverage_met"]
    rolling = targets.loc[("rolling origin", "primary")]
    assert rolling["origins"] == "2022/23, 2023/24" and rolling["horizons"] == "1"
    assert rolling["worst_median_ape"] == pytest.approx(1.0) and rolling["coverage_80_min"] == pytest.approx(80.0)
    assert rolling["median_ape_met"] and rolling["coverage_met"]
    assert list(targets.index.get_level_values("backtest")) == ["from the earliest data", "rolling origin"]


def test_project_demand_columns_years_and_capacity(synthetic):
    pop, scorecard = synthetic
    result = d.project_demand(pop, scorecard, years_ahead=10, authorities=["E06000001", "E06000002"])
    table = result.table
    for column in ("authority_code", "phase", "academic_year", "pupils", "pupils_lower_80", "pupils_upper_80", "capacity", "surplus", "pct_spare"):
        assert column in table.columns
    projection = table[table["kind"] == "projection"]
    assert projection["academic_year"].min() == "2025/26" and projection["academic_year"].max() == "2034/35"
    assert set(table.loc[table["kind"] == "backtest", "academic_year"]) == {"2022/23", "2023/24", "2024/25"}
    assert (projection["capacity"] == np.where(projection["phase"] == "primary", 1100.0, 720.0)).all()
    np.testing.assert_allclose(projection["surplus"], projection["capacity"] - projection["pupils"])
    assert set(table["authority_code"]) == {"E06000001", "E06000002"}


def test_project_demand_names_missing_capacity(synthetic):
    pop, scorecard = synthetic
    scorecard = scorecard.copy()
    scorecard.loc[scorecard["authority_code"] == "E06000005", "secondary_capacity"] = np.nan
    result = d.project_demand(pop, scorecard, years_ahead=2, include_backtest=False)
    assert any(p.kind is ProblemKind.NO_CAPACITY and (p.authority_code, p.phase) == ("E06000005", "secondary") for p in result.problems)
    assert result.table["authority_code"].nunique() == 30


# ---------------------------------------------------------------- small areas


def test_school_demand_carries_flows_with_children():
    children = pd.DataFrame(
        {
            "lsoa11_code": ["A", "A", "B", "B"],
            "phase": "primary",
            "year": [2019, 2024, 2019, 2024],
            "children": [100.0, 150.0, 200.0, 100.0],
        }
    )
    flows = pd.DataFrame({"urn": [1, 1, 2, 2], "lsoa11_code": ["A", "B", "B", "C"], "phase": "primary", "pupils": [10.0, 20.0, 40.0, 5.0]})
    out = d.school_demand(flows, children, base_year=2019).set_index(["urn", "academic_year"])
    assert out.loc[(1, "2018/19"), "pupils"] == pytest.approx(30.0)
    assert out.loc[(1, "2023/24"), "pupils"] == pytest.approx(10 * 1.5 + 20 * 0.5)
    # LSOA C has no children at the base: its 5 pupils are carried unchanged and reported
    assert out.loc[(2, "2023/24"), "pupils"] == pytest.approx(40 * 0.5 + 5)
    assert out.loc[(2, "2023/24"), "unmatched_pupils"] == pytest.approx(5)


def test_planning_groups_use_codes_then_cluster_nearby_schools():
    schools = pd.DataFrame(
        {
            "urn": [1, 2, 3, 4, 5],
            "authority_code": "E06000001",
            "planning_area_code": ["PA1", None, None, None, None],
            "easting": [0.0, 1000.0, 2500.0, 20000.0, np.nan],
            "northing": [0.0, 0.0, 0.0, 0.0, np.nan],
        }
    )
    groups = d.planning_groups(schools, cluster_km=3.0)
    assert groups[0] == "PA1"
    assert groups[1] == groups[2] != groups[3]
    assert groups[4] == "E06000001-unlocated"


def test_all_through_school_counts_in_each_phase_s_own_planning_area():
    schools = pd.DataFrame(
        {
            "urn": ["1", "2", "3"], "authority_code": "E06000001",
            # school 1 is all-through: SCAP puts its primary and secondary parts in different areas
            "planning_area_code": ["S1", "P1", "S1"],
            "planning_area_primary_code": ["P1", "P1", None],
            "planning_area_secondary_code": ["S1", None, "S1"],
            "easting": [0.0, 1.0, 2.0], "northing": [0.0, 0.0, 0.0],
            "capacity_primary_2015": [60.0, 100.0, np.nan], "capacity_secondary_2015": [200.0, np.nan, 300.0],
            "capacity_2015": [260.0, 100.0, 300.0],
        }
    )
    assert list(d.planning_groups(schools, phase="primary")) == ["P1", "P1", "S1"]
    assert list(d.planning_groups(schools, phase="secondary")) == ["S1", "P1", "S1"]
    pupils = pd.DataFrame({"urn": ["1", "2", "1", "3"], "phase": ["primary", "primary", "secondary", "secondary"],
                           "academic_year": "2024/25", "pupils": [55.0, 90.0, 190.0, 280.0]})
    areas = d.planning_area_demand(pupils, schools).set_index(["planning_group", "phase"])
    assert set(areas.index) == {("P1", "primary"), ("S1", "secondary")}
    assert areas.loc[("P1", "primary"), "capacity"] == pytest.approx(160.0)
    assert areas.loc[("P1", "primary"), "pupils"] == pytest.approx(145.0)
    assert areas.loc[("S1", "secondary"), "capacity"] == pytest.approx(500.0)
    assert areas.loc[("S1", "secondary"), "n_schools"] == 2


def test_planning_area_demand_and_first_shortfall():
    schools = pd.DataFrame(
        {
            "urn": [1, 2, 3], "authority_code": "E06000001", "planning_area_code": ["PA1", "PA1", "PA2"],
            "easting": [0.0, 1.0, 2.0], "northing": [0.0, 0.0, 0.0],
            "capacity_primary_2015": [100.0, np.nan, 50.0], "capacity_secondary_2015": [np.nan] * 3, "capacity_2015": [100.0, 60.0, 50.0],
        }
    )
    pupils = pd.DataFrame(
        {"urn": [1, 2, 3, 1, 2, 3], "phase": "primary", "academic_year": ["2019/20"] * 3 + ["2020/21"] * 3, "pupils": [90.0, 50.0, 45.0, 110.0, 50.0, 49.5]}
    )
    areas = d.planning_area_demand(pupils, schools).set_index(["planning_group", "academic_year"])
    assert areas.loc[("PA1", "2019/20"), "capacity"] == pytest.approx(160.0)  # school 2 falls back to its total capacity
    assert areas.loc[("PA1", "2020/21"), "surplus"] == pytest.approx(0.0)
    assert areas.loc[("PA2", "2019/20"), "pct_spare"] == pytest.approx(10.0)
    first = d.first_shortfall(areas.reset_index())
    assert list(first["planning_group"]) == ["PA1", "PA2"]
    assert list(first["first_short_year"]) == ["2020/21", "2020/21"]


def test_project_lsoa_children_adds_up_to_the_authority():
    pop = growing_authority("E06000001")
    lsoas = pd.DataFrame({"lsoa11_code": ["L1", "L2"], "authority_code": "E06000001"})
    for a in range(19):
        lsoas[f"age_{a}_2020"] = [30.0, 70.0] if a == 0 else [40.0, 70.0]
        lsoas[f"age_{a}_2019"] = [50.0, 50.0]
    out = d.project_lsoa_children(lsoas, pop, 2025)
    totals = out.groupby(["year", "phase"])["children"].sum()
    authority = d.project_rolls(pop, rolls([("E06000001", "primary", "2019/20", 7 * 110.0)]), "2019/20", 5, intervals()).table
    # full participation of the authority's children; the LSOAs hold all of them at mid-2020 (110 per age, 100 aged 0)
    for row in authority.itertuples():
        assert totals[(academic_year_end(row.academic_year), "primary")] == pytest.approx(row.pupils)
    with pytest.raises(ModelError, match="E09999999"):
        d.project_lsoa_children(lsoas.assign(authority_code="E09999999"), pop, 2025)


def test_small_area_demand_without_flows_names_what_is_missing():
    schools = pd.DataFrame({"urn": ["1"], "authority_code": ["E06000001"], "planning_area_code": ["PA"], "easting": [0.0], "northing": [0.0],
                            "capacity_primary_2015": [100.0], "capacity_secondary_2015": [np.nan], "capacity_2015": [100.0]})
    flows = pd.DataFrame({"urn": pd.Series(dtype="string"), "lsoa11_code": pd.Series(dtype="string"), "phase": pd.Series(dtype="string"), "pupils": pd.Series(dtype=float)})
    result = d.small_area_demand(pd.DataFrame({"lsoa11_code": [], "authority_code": []}), flows, schools, growing_authority())
    assert result.table.empty
    assert result.problems and result.problems[0].kind is ProblemKind.NO_FLOWS and result.problems[0].authority_code == "E06000001"


def two_lsoas() -> pd.DataFrame:
    """Two LSOAs of E06000001 with 50 people of every age 0-18 in mid-2019 and mid-2020."""
    ages = {f"age_{a}_{y}": [50.0, 50.0] for a in range(19) for y in (2019, 2020)}
    return pd.DataFrame({"lsoa11_code": ["L1", "L2"], "authority_code": "E06000001", **ages})


def test_small_area_demand_prefers_observed_flows_and_adds_up():
    pop = growing_authority("E06000001")
    lsoas = two_lsoas()
    schools = pd.DataFrame({"urn": ["1", "2"], "authority_code": "E06000001", "planning_area_code": ["PA", "PA"], "easting": [0.0, 1.0], "northing": [0.0, 0.0],
                            "capacity_primary_2015": [400.0, 400.0], "capacity_secondary_2015": [np.nan, np.nan], "capacity_2015": [400.0, 400.0]})
    flows = pd.DataFrame({"urn": ["1", "1", "2", "9"], "lsoa11_code": ["L1", "L1", "L2", "L2"], "phase": "primary",
                          "pupils": [300.0, 999.0, 200.0, 50.0], "source": ["observed", "modelled", "modelled", "modelled"]})
    result = d.small_area_demand(lsoas, flows, schools, pop, last_year=2022)
    base = result.table[result.table["academic_year"] == "2018/19"]
    assert base["pupils"].sum() == pytest.approx(500.0)  # the modelled 999 replaced by the observed 300; school 9 is not asked for
    assert len(result.problems) == 1 and result.problems[0].kind is ProblemKind.UNCONSTRAINED


def test_school_phase_rolls_leave_out_nursery_and_sixth_form():
    from atlaskit.analysis import flows

    schools = pd.DataFrame({"urn": [1, 2, 3, 4], "pupils_2019": [620.0, 450.0, 1110.0, np.nan],
                            "age_low": [11, 3, 4, 4], "age_high": [18, 11, 16, 11],
                            "capacity_primary_2015": [np.nan, 420.0, 210.0, 210.0], "capacity_secondary_2015": [900.0, np.nan, 900.0, np.nan]})
    rolls = d.school_phase_rolls(schools).set_index(["urn", "phase"])["pupils"]
    assert rolls.index.get_level_values("urn").dtype == "int64"  # URNs stay int64
    assert rolls[(1, "secondary")] == pytest.approx(620.0 * 5 / (5 + 2 * flows.SIXTH_FORM_YEAR_WEIGHT))
    assert rolls[(2, "primary")] == pytest.approx(450.0 * 7 / (7 + flows.NURSERY_YEAR_WEIGHT))
    assert rolls[(3, "primary")] == pytest.approx(210.0) and rolls[(3, "secondary")] == pytest.approx(900.0)
    assert (1, "primary") not in rolls.index and 4 not in rolls.index.get_level_values("urn")  # no roll, no row


def test_small_area_demand_scales_each_phase_to_its_2019_pupils_and_floors_places():
    from atlaskit.analysis import flows as fl

    pop = growing_authority("E06000001")
    lsoas = two_lsoas()
    # school 1: 11-18 with a sixth form, 2015 places 500 but 2019 Years 7-11 pupils about 806
    schools = pd.DataFrame({"urn": ["1", "2"], "authority_code": "E06000001", "planning_area_code": ["PA", "PA"],
                            "easting": [0.0, 1.0], "northing": [0.0, 0.0], "pupils_2019": [1000.0, 300.0],
                            "age_low": [11, 11], "age_high": [18, 16],
                            "capacity_primary_2015": [np.nan, np.nan], "capacity_secondary_2015": [500.0, 400.0], "capacity_2015": [500.0, 400.0]})
    flows = pd.DataFrame({"urn": ["1", "1", "2"], "lsoa11_code": ["L1", "L2", "L2"], "phase": "secondary", "pupils": [250.0, 250.0, 150.0]})
    result = d.small_area_demand(lsoas, flows, schools, pop, last_year=2020)
    base = result.table[result.table["academic_year"] == "2018/19"].iloc[0]
    years_7_to_11 = 1000.0 * 5 / (5 + 2 * fl.SIXTH_FORM_YEAR_WEIGHT)
    assert base["pupils"] == pytest.approx(years_7_to_11 + 300.0)  # not the whole 1,300 on roll
    assert base["capacity"] == pytest.approx(years_7_to_11 + 400.0)  # school 1's places are at least its pupils
    assert base["surplus"] == pytest.approx(100.0)


def test_planning_area_capacity_scaled_to_the_authority_and_like_for_like():
    schools = pd.DataFrame(
        {
            "urn": ["1", "2", "3"], "authority_code": "E06000001", "planning_area_code": ["PA1", "PA1", "PA2"],
            "easting": [0.0, 1.0, 2.0], "northing": [0.0, 0.0, 0.0],
            "capacity_primary_2015": [100.0, np.nan, 300.0], "capacity_secondary_2015": [np.nan] * 3, "capacity_2015": [100.0, np.nan, 300.0],
        }
    )
    pupils = pd.DataFrame({"urn": ["1", "2", "3"], "phase": "primary", "academic_year": "2025/26", "pupils": [90.0, 30.0, 200.0]})
    places = pd.DataFrame({"authority_code": ["E06000001"], "phase": ["primary"], "capacity": [600.0]})
    areas = d.planning_area_demand(pupils, schools, authority_capacity=places).set_index("planning_group")
    assert areas["capacity"].sum() == pytest.approx(600.0)  # 400 places in 2015, scaled by 1.5
    assert areas.loc["PA1", "capacity"] == pytest.approx(150.0)
    assert areas.loc["PA1", "pupils"] == pytest.approx(90.0)  # school 2 has no capacity: apart
    assert areas.loc["PA1", "pupils_no_capacity"] == pytest.approx(30.0)
    assert areas.loc["PA1", "pct_spare"] == pytest.approx(40.0)


def test_constrain_to_authority_shares_out_the_authority_projection():
    schools = pd.DataFrame({"urn": ["1", "2"], "authority_code": "E06000001"})
    pupils = pd.DataFrame({"urn": ["1", "2", "1", "2"], "phase": "primary", "academic_year": ["2024/25", "2024/25", "2020/21", "2020/21"], "pupils": [30.0, 10.0, 5.0, 5.0]})
    target = pd.DataFrame({"authority_code": ["E06000001"], "phase": ["primary"], "academic_year": ["2024/25"], "pupils": [100.0]})
    out, notes = d.constrain_to_authority(pupils, schools, target)
    assert list(out["academic_year"]) == ["2024/25", "2024/25"]
    np.testing.assert_allclose(out.sort_values("urn")["pupils"], [75.0, 25.0])
    assert notes == []  # 2020/21 lies before the authority's table: outside it, not a gap to report
    target = pd.concat([target.assign(academic_year="2019/20"), target])
    pupils = pd.concat([pupils, pupils.assign(academic_year="2019/20")])
    out, notes = d.constrain_to_authority(pupils, schools, target)
    assert sorted(set(out["academic_year"])) == ["2019/20", "2024/25"]
    assert notes and notes[0].kind is ProblemKind.YEARS_DROPPED and "2020/21" in notes[0].detail  # a year inside the table's span without a total is named


def test_constrain_to_authority_names_what_it_cannot_share_out():
    schools = pd.DataFrame({"urn": ["1", "2", "3"], "authority_code": ["E06000001", "E06000001", "E06000002"]})
    pupils = pd.DataFrame({"urn": ["1", "2", "3", "1", "2"], "phase": ["primary", "primary", "primary", "secondary", "secondary"],
                           "academic_year": "2024/25", "pupils": [30.0, 10.0, 50.0, 0.0, 0.0]})
    target = pd.DataFrame({"authority_code": ["E06000001", "E06000001", "E06000002"], "phase": ["primary", "secondary", "primary"],
                           "academic_year": "2024/25", "pupils": [80.0, 40.0, np.nan]})
    out, notes = d.constrain_to_authority(pupils, schools, target)
    # E06000002 has no known total: its school is dropped, not left unscaled among scaled ones
    assert set(out["urn"]) == {"1", "2"}
    np.testing.assert_allclose(out[out["phase"] == "primary"].sort_values("urn")["pupils"], [60.0, 20.0])
    assert (out[out["phase"] == "secondary"]["pupils"] == 0).all()
    assert any(n.kind is ProblemKind.NO_SHARE and (n.authority_code, n.phase) == ("E06000002", "primary") and "dropped" in n.detail for n in notes)
    assert any(n.kind is ProblemKind.NO_SHARE and (n.authority_code, n.phase) == ("E06000001", "secondary") and "no pupils" in n.detail for n in notes)


def test_latest_capacity_takes_the_last_published_year():
    scorecard = synthetic_scorecard(["E06000001"])
    scorecard.loc[scorecard["academic_year"] == "2024/25", "secondary_capacity"] = np.nan
    latest = d.latest_capacity(scorecard).set_index("phase")
    assert latest.loc["primary", "academic_year"] == "2024/25"
    assert latest.loc["secondary", "academic_year"] == "2023/24"


def test_projection_chart_draws_one_phase_with_capacity_margins_and_earlier_rolls(synthetic):
    """The chart moved out of analysis (atlaskit.figures); it is the report's chart, with the earlier rolls optional."""
    from atlaskit.figures import projection_chart

    pop, scorecard = synthetic
    table = d.project_demand(pop, scorecard, years_ahead=4, authorities=["E06000001"]).table
    rows = table[table["phase"] == "primary"]
    figure = projection_chart(rows, title="E06000001 primary", rolls=d.rolls_from_scorecard(scorecard))
    axis = figure.axes[0]
    assert len(figure.axes) == 1 and axis.get_title() == "E06000001 primary" and axis.get_ylabel() == "pupils on roll"
    labels = {line.get_label() for line in axis.get_lines()}
    assert {"projected pupils", "actual pupils", "places (capacity)", "places less 2% (DfE operating margin)",
            "places less 5% (DfE operating margin)", "same method from 2018/19"} <= labels
    assert {t.get_text() for t in figure.legends[0].get_texts()} >= {"80% interval", "95% interval"}
    lines = {line.get_label(): line for line in axis.get_lines()}
    np.testing.assert_allclose(lines["places less 2% (DfE operating margin)"].get_ydata(), 1100.0 * 0.98)
    actual = lines["actual pupils"]
    assert 2015 in set(actual.get_xdata())  # the 2014/15 roll is drawn
    np.testing.assert_allclose(actual.get_ydata()[0], 900.0)  # E06000001's own primary roll, not another's
    # drawn into given axes: both phases side by side, one figure
    from matplotlib.figure import Figure

    both = Figure()
    axes = both.subplots(1, 2)
    for ax, phase in zip(axes, PHASES):
        assert projection_chart(table[table["phase"] == phase], title=phase, ax=ax) is both
    assert [a.get_title() for a in both.axes] == list(PHASES) and all(a.get_legend() is not None for a in axes)


def test_secondary_capacity_counts_years_7_to_11_places_only():
    # SecCap counts sixth-form places, SecNOR does not: 1,000 places, 20% unfilled -> 800 pupils of all
    # ages, of whom 600 in Years 7-11 -> 750 places for them, and the DfE's 20% unfilled is kept.
    scorecard = synthetic_scorecard(["E06000001"])
    scorecard["secondary_capacity"] = 1000.0
    scorecard["secondary_pupils"] = 600.0
    scorecard["secondary_unfilled_pct"] = 20.0
    capacity = d.phase_places_from_scorecard(scorecard).set_index(["phase", "academic_year"])
    assert capacity.loc[("secondary", "2024/25"), "capacity"] == pytest.approx(750.0)
    assert capacity.loc[("secondary", "2024/25"), "published_capacity"] == 1000.0
    assert capacity.loc[("secondary", "2024/25"), "capacity_basis"] == "Y7-11 share of SecCap"
    assert capacity.loc[("primary", "2024/25"), "capacity"] == capacity.loc[("primary", "2024/25"), "published_capacity"]
    out = d.add_capacity(pd.DataFrame({"authority_code": ["E06000001"], "phase": ["secondary"], "academic_year": ["2024/25"], "pupils": [600.0]}),
                         d.phase_places_from_scorecard(scorecard))
    assert out["pct_spare"].iloc[0] == pytest.approx(20.0)
    # unknown unfilled share: the published places are kept and labelled so
    scorecard.loc[scorecard["academic_year"] == "2024/25", "secondary_unfilled_pct"] = np.nan
    capacity = d.phase_places_from_scorecard(scorecard).set_index(["phase", "academic_year"])
    assert capacity.loc[("secondary", "2024/25"), "capacity"] == 1000.0
    assert capacity.loc[("secondary", "2024/25"), "capacity_basis"] == "as published"


def test_urns_stay_int64_through_the_small_area_chain():
    """URNs are int64 from reading to showing: the chain matches them as they are, with no text casts."""
    pop = growing_authority("E06000001")
    schools = pd.DataFrame({"urn": np.array([100001, 100002], dtype="int64"), "authority_code": "E06000001", "planning_area_code": ["PA", "PA"],
                            "easting": [0.0, 1.0], "northing": [0.0, 0.0], "capacity_primary_2015": [400.0, 400.0],
                            "capacity_secondary_2015": [np.nan, np.nan], "capacity_2015": [400.0, 400.0]})
    flows = pd.DataFrame({"urn": np.array([100001, 100002], dtype="int64"), "lsoa11_code": ["L1", "L2"], "phase": "primary", "pupils": [300.0, 200.0]})
    children = d.project_lsoa_children(two_lsoas(), pop, 2022)
    pupils = d.school_demand(flows, children)
    assert pupils["urn"].dtype == "int64"
    target = pd.DataFrame({"authority_code": ["E06000001"], "phase": ["primary"], "academic_year": ["2018/19"], "pupils": [1000.0]})
    out, problems = d.constrain_to_authority(pupils, schools, target)
    assert out["urn"].dtype == "int64" and out["pupils"].sum() == pytest.approx(1000.0) and problems == []
    result = d.small_area_demand(two_lsoas(), flows, schools, pop, last_year=2022)
    assert result.table[result.table["academic_year"] == "2018/19"]["capacity"].sum() == pytest.approx(800.0)
