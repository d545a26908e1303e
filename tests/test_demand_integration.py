"""Demand on the real store: all 153 authorities, the backtest targets, reorganised authorities, CLI, notebook."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from atlaskit.analysis import demand as d
from atlaskit.analysis.problems import ProblemKind
from atlaskit.vocabulary import PHASES, academic_year
from conftest import skip_or_fail

pytestmark = pytest.mark.integration

REORGANISED = {
    "E06000061": "North Northamptonshire",
    "E06000062": "West Northamptonshire",
    "E06000063": "Cumberland",
    "E06000064": "Westmorland and Furness",
}


@pytest.fixture(scope="module")
def inputs(store):
    from atlaskit import store as store_module

    return store_module.read_table("la_population", store_dir=store), store_module.read_table("scorecard", store_dir=store)


@pytest.fixture(scope="module")
def projection(inputs):
    return d.project_demand(*inputs)


@pytest.fixture(scope="module")
def backtest(inputs):
    return d.backtest(*inputs)


def test_every_authority_is_projected_ten_years(projection, inputs):
    la_population, scorecard = inputs
    table = projection.table
    ahead = table[table["kind"] == "projection"]
    assert ahead["authority_code"].nunique() == 153
    counts = ahead.groupby(["authority_code", "phase"]).size()
    assert (counts == 10).all()
    assert (ahead["pupils"] >= 0).all()
    assert (ahead["pupils_lower_80"] <= ahead["pupils"]).all() and (ahead["pupils"] <= ahead["pupils_upper_80"]).all()
    assert (ahead["pupils_lower_95"] <= ahead["pupils_lower_80"]).all()
    # capacity is known for all but the markers the scorecard publishes, and each is named
    unknown = ahead[ahead["capacity"].isna()][["authority_code", "phase"]].drop_duplicates()
    for row in unknown.itertuples():
        assert any(p.kind is ProblemKind.NO_CAPACITY and (p.authority_code, p.phase) == (row.authority_code, row.phase) for p in projection.problems)
    assert len(unknown) <= 3


def test_backtest_meets_the_error_target(backtest, inputs):
    summary = d.backtest_summary(backtest.table, inputs[1])
    ours = summary[summary["n"] > 0]
    assert set(ours.index.get_level_values("horizon")) == {1, 2, 4, 5, 6}
    assert (ours["n"] >= 140).all()
    # the target: median absolute error within 4% for both phases at every horizon
    assert (ours["median_ape"] <= 4.0).all(), ours["median_ape"]
    # the authorities' own accuracy sits beside ours at horizons 1 and 3
    assert summary.loc[("primary", 1), "la_n"] > 400 and summary.loc[("secondary", 3), "la_n"] > 400


def test_backtest_interval_coverage(backtest):
    table = backtest.table
    coverage = 100 * table.groupby(["phase", "horizon"])["inside_80"].mean()
    # target 75-85% of actuals inside the 80% intervals: met for primary at every horizon and
    # for secondary 4-6 years ahead (intervals from hindcasts that end by each origin)
    assert coverage["primary"].between(75.0, 85.0).all(), coverage
    assert coverage["secondary"].loc[[4, 5, 6]].between(75.0, 85.0).all(), coverage
    # from 2023/24 the hindcast 2022/23 -> 2023/24 already shows secondary rolls falling behind the children
    late = table[(table["phase"] == "secondary") & (table["origin"] == "2023/24")]
    assert 75.0 <= 100 * late["inside_80"].mean() <= 90.0
    # from 2022/23 nothing earlier showed it (reported as missed): the 95% intervals still hold most actuals
    assert (table.groupby(["phase", "horizon"])["inside_95"].mean() >= 0.9).all()


def test_backtest_from_the_earliest_data_meets_both_targets(backtest):
    targets = d.backtest_targets(backtest.table).set_index(["backtest", "phase"])
    early = targets.loc["from the earliest data"]
    assert list(early.index) == ["primary", "secondary"]
    assert (early["horizons"] == "4, 5, 6").all() and (early["n"] >= 3 * 148).all()
    assert early["median_ape_met"].all() and early["coverage_met"].all(), early
    # the rolling origins are scored too (their secondary miss is printed, not hidden)
    assert set(targets.loc["rolling origin"].index) == {"primary", "secondary"}


def test_backtest_leaves_out_only_named_authorities(backtest):
    early = backtest.table[backtest.table["origin"] == "2018/19"]
    missing = sorted(set(REORGANISED) - set(early["authority_code"]))
    assert missing == sorted(REORGANISED)  # no 2018/19 roll in the scorecard for these four
    for code in missing:
        assert any(p.authority_code == code and p.origin == "2018/19" for p in backtest.problems)
    later = backtest.table[backtest.table["origin"] == "2023/24"]
    assert set(REORGANISED) <= set(later["authority_code"])


def test_reorganised_authorities_sum_to_their_predecessors(inputs, data_dir):
    from atlaskit.sources.population import read_la_population

    la_population = inputs[0]
    raw = read_la_population(2019, data_dir).set_index(["code", "age"])["population"]
    ours = la_population[la_population["year"] == 2019].set_index(["authority_code", "age"])["population"]
    northants = ours.loc["E06000061"] + ours.loc["E06000062"]
    np.testing.assert_array_equal(northants.sort_index().to_numpy(), raw.loc["E10000021"].sort_index().to_numpy())
    cumbria = ours.loc["E06000063"] + ours.loc["E06000064"]
    np.testing.assert_array_equal(cumbria.sort_index().to_numpy(), raw.loc["E10000006"].sort_index().to_numpy())


def test_cli_demand_csv_for_one_authority(store):
    from typer.testing import CliRunner

    from atlaskit.cli import app
    from atlaskit.cli.demand import CSV_COLUMNS

    result = CliRunner().invoke(app, ["demand", "Camden", "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns) == CSV_COLUMNS
    assert set(frame["authority_code"]) == {"E09000007"}
    assert frame["academic_year"].str.fullmatch(r"\d{4}/\d{2}").all()
    assert {"2022/23", "2023/24", "2024/25", "2034/35"} <= set(frame["academic_year"])
    assert set(frame["kind"]) == {"backtest", "actual", "projection"}


def test_cli_demand_all_and_validate(store):
    from typer.testing import CliRunner

    from atlaskit.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["demand", "--all", "--format", "csv", "--years", "3", "--no-backtest"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert frame["authority_code"].nunique() == 153
    result = runner.invoke(app, ["validate", "demand", "--format", "csv"])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(io.StringIO(result.stdout))
    assert {"phase", "horizon", "median_ape", "p90_ape", "bias", "coverage_80_pct", "la_median_ape"} <= set(summary.columns)
    assert set(summary["phase"]) == {"primary", "secondary"}


def test_cli_demand_needs_one_authority_or_all(store):
    from atlaskit.cli import main

    assert main(["demand"]) == 2
    assert main(["demand", "Nowhereshire"]) == 2


def test_small_area_chain_on_real_schools(inputs, store):
    """The LSOA -> school -> planning area chain on Kent's real schools, with each school's 2019 roll as one flow from its own LSOA."""
    from atlaskit.store import loaders

    data = loaders.load("E10000016", store_dir=store)
    schools = data.schools[data.schools["phase"].isin(["primary", "secondary"]) & data.schools["lsoa11_code"].notna() & (data.schools["pupils_2019"] > 0)]
    flows = schools[["urn", "lsoa11_code", "phase", "pupils_2019"]].rename(columns={"pupils_2019": "pupils"}).assign(source="modelled")
    result = d.small_area_demand(data.lsoas, flows, schools, inputs[0], last_year=2030)
    table = result.table
    assert set(table["academic_year"]) == {academic_year(y) for y in range(2019, 2031)}
    base = table[table["academic_year"] == "2018/19"]
    # each school's flows are scaled to its 2019 pupils of the phase's ages (no nursery, no sixth form)
    rolls = d.school_phase_rolls(schools).merge(flows[["urn", "phase"]], on=["urn", "phase"])
    assert (base["pupils"] + base["pupils_no_capacity"]).sum() == pytest.approx(rolls["pupils"].sum())
    assert rolls["pupils"].sum() < 0.97 * flows["pupils"].sum()
    assert table["planning_group"].notna().all()
    assert (table["pupils"] >= 0).all()
    # shared out from the authority's own projection, against its latest places
    la_population, scorecard = inputs
    ahead = d.project_demand(la_population, scorecard, years_ahead=5, authorities=["E10000016"], include_backtest=False).table
    places = d.latest_capacity(scorecard)
    result = d.small_area_demand(data.lsoas, flows, schools, la_population, last_year=2030, authority_pupils=ahead, authority_capacity=places)
    table = result.table
    assert set(table["academic_year"]) == set(ahead["academic_year"])
    totals = table.groupby(["phase", "academic_year"])[["pupils", "pupils_no_capacity"]].sum().sum(axis=1)
    expected = ahead.set_index(["phase", "academic_year"])["pupils"]
    np.testing.assert_allclose(totals.sort_index().to_numpy(), expected.reindex(totals.sort_index().index).to_numpy(), rtol=1e-9)
    kent_places = places[places["authority_code"] == "E10000016"].set_index("phase")["capacity"]
    for phase, group in table[table["academic_year"] == "2025/26"].groupby("phase"):
        assert group["capacity"].sum() == pytest.approx(kent_places[phase])
    # the chain's years before the authority's table (2018/19 on) are outside it, not gaps to report
    assert not any(p.kind is ProblemKind.YEARS_DROPPED for p in result.problems)


@pytest.mark.parametrize("code", ["E09000007", "E10000016"])
def test_small_areas_grow_as_the_authority_projection(inputs, store, code):
    """Camden (inner London: children growing 3-4% a year in the mid-2019/2020 estimates) and Kent:
    the planning areas add up to the authority projection every year, so they grow alike."""
    from atlaskit.store import loaders

    la_population, scorecard = inputs
    data = loaders.load(code, store_dir=store)
    if data.flows is None or data.flows.empty:
        skip_or_fail("the store has no flows")
    table = d.project_demand(la_population, scorecard, years_ahead=10, authorities=[code], include_backtest=False).table
    ahead = table[table["kind"].isin(["actual", "projection"])]
    result = d.small_area_demand(data.lsoas, data.flows, data.schools, la_population, last_year=2035, authority_pupils=ahead,
                                 authority_capacity=d.latest_capacity(scorecard))
    areas = result.table.groupby(["phase", "academic_year"])[["pupils", "pupils_no_capacity"]].sum().sum(axis=1)
    authority = ahead.set_index(["phase", "academic_year"])["pupils"]
    assert set(areas.index) == set(authority.index)
    np.testing.assert_allclose(areas.sort_index().to_numpy(), authority.reindex(areas.sort_index().index).to_numpy(), rtol=1e-9)
    for phase in PHASES:
        grown = areas[phase].iloc[-1] / areas[phase].iloc[0]
        assert grown == pytest.approx(authority[phase].iloc[-1] / authority[phase].iloc[0], rel=1e-9)
    # without the authority total the chain runs from the 2019 flows: it says it is not anchored
    free = d.small_area_demand(data.lsoas, data.flows, data.schools, la_population, last_year=2035)
    assert any(p.kind is ProblemKind.UNCONSTRAINED for p in free.problems)
    assert "2018/19" in set(free.table["academic_year"])


def test_cli_areas_add_up_to_the_authority_projection(store, inputs, capsys):
    from atlaskit.store import loaders
    from atlaskit.cli import main

    if loaders.load("E09000007", store_dir=store).flows.empty:
        skip_or_fail("the store has no flows")
    assert main(["demand", "E09000007", "--areas", "--format", "csv", "--years", "10"]) == 0
    areas = pd.read_csv(io.StringIO(capsys.readouterr().out))
    totals = areas.groupby(["phase", "academic_year"])[["pupils", "pupils_no_capacity"]].sum().sum(axis=1)
    table = d.project_demand(*inputs, years_ahead=10, authorities=["E09000007"], include_backtest=False).table
    authority = table[table["kind"].isin(["actual", "projection"])].set_index(["phase", "academic_year"])["pupils"]
    np.testing.assert_allclose(totals.to_numpy(), authority.reindex(totals.index).to_numpy(), rtol=1e-3)


def test_notebook_runs_for_one_authority(store, tmp_path):
    import papermill as pm

    from atlaskit import config

    out = tmp_path / "demand.ipynb"
    pm.execute_notebook(
        str(config.notebooks_dir() / "demand.ipynb"), str(out), parameters={"authority": "E06000061", "years_ahead": 5},
        kernel_name="python3", progress_bar=False, start_timeout=120, execution_timeout=300,
    )
    nb = json.loads(out.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    images = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 1
    assert nb["cells"][0]["metadata"]["tags"] == ["parameters"]


def test_cli_areas_without_flows_or_with_them(store):
    from atlaskit import store as store_module
    from atlaskit.cli import main

    try:
        store_module.table_path("flows", store)
        has_flows = True
    except Exception:
        has_flows = False
    code = main(["demand", "E09000007", "--areas", "--format", "csv"])
    assert code == (0 if has_flows else 2)


def test_spare_places_match_the_dfe_unfilled_share_in_the_capacity_year(inputs):
    # secondary places exclude sixth-form places, so spare places in 2024/25 equal the DfE's published
    # percentage of unfilled places (Quan_S_UP); counting SecCap whole would add about 11 points
    la_population, scorecard = inputs
    table = d.project_demand(la_population, scorecard, years_ahead=1, include_backtest=False).table
    now = table[(table["academic_year"] == "2024/25") & table["pct_spare"].notna()]
    published = scorecard[scorecard["academic_year"] == "2024/25"].set_index("authority_code")
    for phase, column in (("primary", "primary_unfilled_pct"), ("secondary", "secondary_unfilled_pct")):
        mine = now[now["phase"] == phase].set_index("authority_code")["pct_spare"]
        dfe = published[column].astype("float64").reindex(mine.index)
        assert len(mine) > 140
        assert (mine - dfe).abs().median() < 1.5, phase
