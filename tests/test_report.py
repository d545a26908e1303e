"""Report builders and sections on a tiny synthetic authority (3 x 3 LSOAs, four schools)."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from atlaskit import report

CODE = "E06000999"


@pytest.fixture
def tiny():
    cells, rows = [], []
    for i in range(3):
        for j in range(3):
            n = i * 3 + j
            cells.append(box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000))
            row = {
                "lsoa11_code": f"E0100{n:04d}",
                "authority_code": CODE,
                "in_authority": n < 8,  # the last one is a neighbour
                "imd_decile": float(n % 10 + 1),
                "idaci_decile": float(10 - n % 10),
            }
            for age in range(19):
                row[f"age_{age}_2019"] = float(10 + n)
            rows.append(row)
    lsoas = gpd.GeoDataFrame(rows, geometry=cells, crs=27700)
    lsoas.loc[8, "authority_code"] = "E06000998"
    boundary = gpd.GeoDataFrame({"authority_code": [CODE]}, geometry=[lsoas[lsoas["in_authority"]].union_all()], crs=27700)
    schools = gpd.GeoDataFrame(
        {
            "urn": [100001, 100002, 100003, 100004],
            "school_name": ["North Academy", "South School", "Old Through School", "Closed Primary"],
            "phase": ["secondary", "secondary", "all-through", "primary"],
            "is_state_funded": [True, True, True, True],
            "is_open": [True, True, True, False],
            "pupils_2019": [1000.0, 600.0, 800.0, 200.0],
            "capacity_2015": [1100.0, 500.0, 1000.0, 210.0],
            "capacity_secondary_2015": [np.nan, np.nan, 700.0, np.nan],
            "capacity_primary_2015": [np.nan, np.nan, 300.0, np.nan],
        },
        geometry=[Point(500, 500), Point(2500, 2500), Point(1500, 1500), Point(500, 2500)],
        crs=27700,
    )
    flows = pd.DataFrame(
        {
            "urn": [100001] * 4 + [100002] * 3 + [100003] * 2,
            "lsoa11_code": ["E01000000", "E01000001", "E01000003", "E01000008", "E01000008", "E01000007", "E01000005", "E01000004", "E01000002"],
            "phase": "secondary",
            "pupils": [500.0, 300.0, 150.0, 50.0, 300.0, 200.0, 100.0, 500.0, 300.0],
            "source": "modelled",
            "distance_km": 1.0,
        }
    )
    data = SimpleNamespace(code=CODE, name="Tinyshire", region_name="Nowhere", boundary=boundary, lsoas=lsoas, schools=schools, flows=flows)
    return data


@pytest.fixture
def ctx(tiny):
    return report.ReportContext(
        authority=CODE, authority_name="Tinyshire", phase="secondary", title="Schools Atlas: Tinyshire", top_schools=2, data=tiny,
        build={"built_at": "2026-11-22T18:52:22"},
    )


def test_headline_figures_count_open_state_funded_schools_of_the_phase(tiny):
    table = report.headline_figures(tiny.schools, "secondary").set_index("measure")
    assert table.loc["Schools", "value"] == 3  # two secondaries and the all-through school
    assert table.loc["Pupils", "value"] == 2400
    # the all-through school counts its secondary places only
    assert table.loc["Capacity (places)", "value"] == 1100 + 500 + 700
    assert table.loc["Spare places", "value"] == 2300 - 2400
    assert np.isnan(table.loc["Cross-border pupils", "value"])
    primary = report.headline_figures(tiny.schools, "primary").set_index("measure")
    assert primary.loc["Schools", "value"] == 1  # the closed primary is left out
    assert primary.loc["Capacity (places)", "value"] == 300


def test_headline_cross_border_prefers_published_counts(tiny):
    published = pd.DataFrame(
        {"academic_year": ["2022/23", "2023/24"], "phase": ["secondary"] * 2, "resident_pupils": [5000, 5100], "school_outside_la": [900, 950]}
    )
    table = report.headline_figures(tiny.schools, "secondary", cross_border=published).set_index("measure")
    assert table.loc["Cross-border pupils", "value"] == 950
    assert "2023/24" in table.loc["Cross-border pupils", "detail"]
    modelled = pd.DataFrame({"phase": ["secondary"], "resident_taught_outside": [120.0], "share_resident_taught_outside": [0.1]})
    table = report.headline_figures(tiny.schools, "secondary", modelled_cross_border=modelled).set_index("measure")
    assert table.loc["Cross-border pupils", "value"] == 120 and "modelled" in table.loc["Cross-border pupils", "detail"]


def test_disclose_hides_observed_counts_below_three():
    shown = report.display_counts([0, 1, 2, 3, 1234.4, np.nan])
    assert shown.tolist() == ["<3", "<3", "<3", "3", "1,234", ""]
    assert report.display_counts([2.0], observed=False).tolist() == ["2"]


def test_children_of_phase_sums_the_phase_ages(tiny):
    children = report.children_of_phase(tiny.lsoas, "secondary")
    assert children.iloc[0] == 5 * 10  # ages 12-16, 10 children each
    with pytest.raises(ValueError, match="phase"):
        report.children_of_phase(tiny.lsoas, "nursery")


def test_maps_and_chart_are_figures(tiny):
    from matplotlib.figure import Figure

    assert isinstance(report.children_map(tiny.lsoas, tiny.schools, tiny.boundary, "secondary"), Figure)
    assert isinstance(report.deprivation_map(tiny.lsoas, tiny.boundary), Figure)
    catch = report.catchment_lsoas(tiny.flows, [100001, 100003], "secondary")
    # North Academy: 500 + 300 of 1,000 pupils reach 80% in two areas
    assert catch[catch["urn"] == 100001]["lsoa11_code"].tolist() == ["E01000000", "E01000001"]
    top = tiny.schools[tiny.schools["urn"].isin([100001, 100003])]
    assert isinstance(report.catchment_map(tiny.lsoas, top, tiny.boundary, catch), Figure)
    projection = pd.DataFrame(
        {
            "academic_year": ["2024/25", "2025/26", "2026/27"],
            "horizon": [0, 1, 2],
            "pupils": [100.0, 110.0, 120.0],
            "pupils_lower_80": [100.0, 105.0, 110.0],
            "pupils_upper_80": [100.0, 115.0, 130.0],
            "pupils_lower_95": [100.0, 100.0, 100.0],
            "pupils_upper_95": [100.0, 120.0, 140.0],
        }
    )
    projection["kind"] = ["actual", "projection", "projection"]
    projection["actual_pupils"] = [100.0, np.nan, np.nan]
    projection["capacity"] = 130.0
    fig = report.projection_chart(projection)
    block = report.figure_block(fig, "Projection", alt="chart")
    assert block.html.startswith('<figure class="atlas-figure"><img alt="chart" src="data:image/png;base64,')


def test_sections_render_static_html(ctx):
    title = report.title_section(ctx)
    assert "<h1>Schools Atlas: Tinyshire</h1>" in title.html and "2026-11-22T18:52:22" in title.html
    head = report.headline_section(ctx)
    assert head.available and "Headline figures" in head.html and "2,400" in head.html and "2,300" in head.html
    maps = report.maps_section(ctx)
    assert maps.html.count("data:image/png;base64,") == 2
    catchments = report.catchments_section(ctx)
    assert catchments.available and catchments.html.count("data:image/png;base64,") == 1
    sources = report.sources_section(ctx)
    assert "Open Government Licence v3.0" in sources.html and "Department for Education" in sources.html
    assert "January 2019" in sources.html and "mid-2019" in sources.html and "Data vintage" in sources.html


def test_a_section_with_missing_input_is_a_visible_note(ctx):
    ctx.data.flows = ctx.data.flows.iloc[:0]
    note = report.catchments_section(ctx)
    assert not note.available and "Not available" in note.html and 'class="atlas-note"' in note.html
    ctx.data.lsoas = ctx.data.lsoas.drop(columns=["imd_decile", "idaci_decile"])
    maps = report.maps_section(ctx)
    assert "Not available" in maps.html and maps.html.count("data:image/png") == 1
    # the projection needs store tables that this context does not have
    assert "Not available" in report.projection_section(ctx).html
    ctx.include_demand = False
    assert "include_demand: false" in report.demand_section(ctx).html


def test_validation_section_says_when_no_flows_are_published(ctx):
    block = report.validation_section(ctx)
    assert not block.available and "No observed secondary flows" in block.html


@pytest.mark.integration
@pytest.mark.parametrize("code, phase", [("E09000007", "secondary"), ("E09000007", "primary"), ("E06000053", "secondary")])
def test_planning_areas_add_up_to_the_authority_projection(store, code, phase):
    """The demand section's planning areas share out the authority projection: same years, same totals."""
    ctx = report.prepare(code, phase=phase, projection_years=10, store_dir=store)
    table, _ = report._projection(ctx)
    authority = table[(table["phase"] == phase) & table["kind"].isin(["actual", "projection"])].set_index("academic_year")["pupils"]
    areas = report.planning_area_projection(ctx).table
    areas = areas[areas["phase"] == phase]
    totals = (areas["pupils"] + areas["pupils_no_capacity"]).groupby(areas["academic_year"]).sum()
    assert sorted(totals.index) == sorted(authority.index)  # from the latest roll to the projection's last year
    np.testing.assert_allclose(totals.reindex(authority.index), authority, rtol=1e-9)
    html = report.demand_section(ctx).html
    assert f"pupils {authority.index.min()}" in html and f"pupils {authority.index.max()}" in html
    assert "not constrained" not in html
