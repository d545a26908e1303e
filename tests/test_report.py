"""Report builders and sections on a tiny synthetic authority (3 x 3 LSOAs, four schools)."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from atlaskit import report, vocabulary
from atlaskit.analysis.problems import Problem, ProblemKind
from atlaskit.figures import maps

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
    children = vocabulary.children_of_phase(tiny.lsoas, "secondary")
    assert children.iloc[0] == 5 * 10  # ages 11-15, 10 children each
    with pytest.raises(ValueError, match="phase"):
        vocabulary.children_of_phase(tiny.lsoas, "nursery")


def test_maps_and_chart_are_figures(tiny):
    from matplotlib.figure import Figure

    from atlaskit.figures.projection import projection_chart

    assert isinstance(maps.children_map(tiny.lsoas, tiny.schools, tiny.boundary, "secondary"), Figure)
    assert isinstance(maps.deprivation_map(tiny.lsoas, tiny.boundary), Figure)
    catch = report.catchment_lsoas(tiny.flows, [100001, 100003], "secondary")
    # North Academy: 500 + 300 of 1,000 pupils reach 80% in two areas
    assert catch[catch["urn"] == 100001]["lsoa11_code"].tolist() == ["E01000000", "E01000001"]
    top = tiny.schools[tiny.schools["urn"].isin([100001, 100003])]
    assert isinstance(maps.catchment_map(tiny.lsoas, top, tiny.boundary, catch), Figure)
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
    fig = projection_chart(projection)
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
    from atlaskit.report.projection import _projection

    ctx = report.prepare(code, phase=phase, projection_years=10, store_dir=store)
    table, _ = _projection(ctx)
    authority = table[(table["phase"] == phase) & table["kind"].isin(["actual", "projection"])].set_index("academic_year")["pupils"]
    areas = report.planning_area_projection(ctx).table
    areas = areas[areas["phase"] == phase]
    totals = (areas["pupils"] + areas["pupils_no_capacity"]).groupby(areas["academic_year"]).sum()
    assert sorted(totals.index) == sorted(authority.index)  # from the latest roll to the projection's last year
    np.testing.assert_allclose(totals.reindex(authority.index), authority, rtol=1e-9)
    html = report.demand_section(ctx).html
    assert f"pupils {authority.index.min()}" in html and f"pupils {authority.index.max()}" in html
    assert "not constrained" not in html


# --------------------------------------------------------------------------------------------
# Defects found reviewing the generated reports (Camden, Kent, City of London, North
# Northamptonshire, Rutland) in chromium


def _projection_rows(backtest: bool = True, capacity: float = 130.0) -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "authority_code": CODE,
            "phase": "secondary",
            "academic_year": ["2024/25", "2025/26", "2026/27", "2027/28"],
            "kind": ["actual", "projection", "projection", "projection"],
            "origin": "2024/25",
            "horizon": [0, 1, 2, 3],
            "pupils": [100.0, 110.0, 122.0, 125.0],
            "pupils_lower_80": [100.0, 105.0, 110.0, 112.0],
            "pupils_upper_80": [100.0, 115.0, 128.0, 134.0],
            "pupils_lower_95": [100.0, 100.0, 100.0, 100.0],
            "pupils_upper_95": [100.0, 120.0, 140.0, 150.0],
            "actual_pupils": [100.0, np.nan, np.nan, np.nan],
            "capacity": capacity,
            "surplus": [capacity - p for p in (100.0, 110.0, 122.0, 125.0)],
            "pct_spare": [100 * (capacity - p) / capacity for p in (100.0, 110.0, 122.0, 125.0)],
            "capacity_year": "2024/25",
        }
    )
    if backtest:
        back = rows.iloc[:1].assign(kind="backtest", origin="2018/19", horizon=6, pupils=150.0)
        rows = pd.concat([back, rows], ignore_index=True)
    return rows


def _inside_figure(fig, artist) -> bool:
    import io

    fig.savefig(io.BytesIO(), format="png", dpi="figure")  # lays the figure out
    box = artist.get_window_extent()
    width, height = fig.get_size_inches() * fig.dpi
    return box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1


def test_catchment_map_keeps_title_and_legend_inside_the_figure(tiny):
    """Camden: catchments reaching far beyond the border made the view taller than the figure;
    the title and the third legend row were cut off, and long school names were clipped mid-word."""
    from shapely.geometry import box as _box

    # a wide, flat authority whose schools draw from a tall column of areas far to the north
    lsoas = tiny.lsoas.copy()
    lsoas["geometry"] = [_box(i * 1000, 0, (i + 1) * 1000, 300) if n < 3 else _box(1000, 300 + n * 1500, 2000, 1800 + n * 1500)
                         for n, i in enumerate([0, 1, 2] + [1] * 6)]
    boundary = gpd.GeoDataFrame(geometry=[_box(0, 0, 3000, 300)], crs=27700)
    long_name = "La Sainte Union Catholic Secondary School for Girls and Boys of the Borough"
    schools = tiny.schools.iloc[:3].assign(school_name=["North Academy", long_name, "Old Through School"])
    catch = pd.DataFrame({"urn": [100001] * 4 + [100002] * 5, "lsoa11_code": lsoas["lsoa11_code"].iloc[:9].tolist(),
                          "pupils": 10.0, "share": 0.1})
    fig = maps.catchment_map(lsoas, schools, boundary, catch, title="Observed catchments of the largest schools")
    ax = fig.axes[0]
    assert _inside_figure(fig, ax.title)
    legend = fig.legends[0]
    assert _inside_figure(fig, legend)
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[1].endswith("\u2026") and labels[1].startswith("2. La Sainte Union Catholic Secondary School")
    # the view covers the far catchment
    assert ax.get_ylim()[1] >= lsoas.total_bounds[3]


def test_catchments_section_says_observed_when_the_flows_are_observed(ctx):
    """Camden's map was titled "Modelled catchments" while its caption said observed flows were used."""
    ctx.data.flows = ctx.data.flows.assign(source="observed")
    block = report.catchments_section(ctx)
    assert "observed (published) flows, January 2015" in block.text and "modelled" not in block.text.lower()
    ctx.top_schools = 1
    one = report.catchments_section(ctx)
    assert "Catchment of the largest secondary school of Tinyshire" in one.text  # not "the 1 largest ... schools"


def test_projection_chart_has_axis_labels_legend_and_operating_margins():
    from atlaskit.figures.projection import projection_chart

    fig = projection_chart(_projection_rows(), ylabel="secondary pupils (Years 7 to 11)")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "academic year" and ax.get_ylabel() == "secondary pupils (Years 7 to 11)"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"80% interval", "95% interval", "places (capacity)", "same method from 2018/19"} <= set(labels)
    assert "places less 2% (DfE operating margin)" in labels and "places less 5% (DfE operating margin)" in labels
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["places less 2% (DfE operating margin)"].get_ydata(), 130.0 * 0.98)
    np.testing.assert_allclose(lines["places less 5% (DfE operating margin)"].get_ydata(), 130.0 * 0.95)
    assert _inside_figure(fig, fig.legends[0])


def test_operating_margin_years_central_and_cautious():
    # places 130: under 5% spare above 123.5 pupils, under 2% above 127.4
    table = report.operating_margin_years(_projection_rows()).set_index("operating margin")
    assert table.loc["5% of places spare", "central projection"] == "2027/28"  # 125 pupils
    assert table.loc["5% of places spare", "upper end of the 80% interval"] == "2026/27"  # 128
    assert table.loc["2% of places spare", "central projection"] == "not by 2027/28"
    assert table.loc["2% of places spare", "upper end of the 80% interval"] == "2026/27"
    unknown = report.operating_margin_years(_projection_rows(capacity=np.nan))
    assert set(unknown["central projection"]) == {"places unknown"}


def test_projection_section_summary_margins_and_check(ctx):
    """The demand section had no DfE 2%/5% operating margins, and its caption described a dashed
    check line that North Northamptonshire's chart did not have."""
    ctx.tables = {"scorecard": pd.DataFrame({"x": [1]}), "la_population": pd.DataFrame({"x": [1]})}
    ctx.cache["projection"] = (_projection_rows(), [])
    block = report.projection_section(ctx)
    assert block.available and block.html.count("data:image/png;base64,") == 1
    assert "Years 7 to 11" in block.text and "2% and 5% operating margins" in block.text
    assert "dashed: the same method run from the 2018/19 roll" in block.text
    assert "150 against 100 actual (+50%)" in block.text
    assert "First year spare places fall under the DfE's operating margins" in block.text
    assert "5 (3.8% of places)" in block.text  # 130 places - 125 pupils in the last year

    problem = Problem(ProblemKind.NOT_PROJECTED, CODE, "secondary", "the scorecard has no 2018/19 secondary roll", origin="2018/19")
    ctx.cache["projection"] = (_projection_rows(backtest=False), [problem])
    block = report.projection_section(ctx)
    assert "dashed" not in block.text and "dots: the actual rolls" in block.text and "Check:" not in block.text
    assert "No check from the 2018/19 roll is drawn: the scorecard has no 2018/19 secondary roll" in block.text
    assert "not projected" not in block.text


def test_planning_area_summary_counts_every_pupil_as_whole_numbers():
    """Kent: groups of schools without published places showed 0.0 places and 0.0 pupils (their
    pupils were left out), counts showed decimals ("11.4" spare places), and only the 2% margin."""
    rows = []
    for year, a, b in (("2024/25", 100.4, 40.0), ("2025/26", 106.0, 42.0), ("2026/27", 111.6, 44.0)):
        rows.append({"planning_group": "8860300", "phase": "secondary", "academic_year": year, "pupils": a, "pupils_no_capacity": 0.0,
                     "capacity": 115.0, "surplus": 115.0 - a, "pct_spare": 100 * (115.0 - a) / 115.0, "n_schools": 3,
                     "n_schools_without_capacity": 0})
        rows.append({"planning_group": "E10000016-cluster-1", "phase": "secondary", "academic_year": year, "pupils": 0.0,
                     "pupils_no_capacity": b, "capacity": 0.0, "surplus": 0.0, "pct_spare": np.nan, "n_schools": 1,
                     "n_schools_without_capacity": 1})
    table = report.planning_area_summary(pd.DataFrame(rows), "secondary").set_index("planning area")
    assert list(table.index) == ["8860300", "no planning area (group 1)"]
    assert table.loc["no planning area (group 1)", "pupils 2024/25"] == 40 and table["pupils 2026/27"].sum() == 112 + 44
    assert pd.isna(table.loc["no planning area (group 1)", "places"])
    assert table.loc["no planning area (group 1)", "first year under 5% spare"] == "no places published"
    assert table.loc["8860300", "first year under 5% spare"] == "2026/27"  # 12.7%, 7.8%, then 3.0% spare
    assert table.loc["8860300", "first year under 2% spare"] == "not by 2026/27"
    assert table.loc["8860300", "spare places 2026/27"] == 3
    html = report.table_block(table.reset_index(), text_columns=("planning area",)).html
    assert "0.0" not in html and ">3<" in html and ">40<" in html


def test_area_note_in_plain_words():
    """Typed problems: the LSOAs-outside note is worded from the record's count and pupils, no message parsed."""
    assert report.word_problem(Problem(ProblemKind.LSOAS_OUTSIDE, "E09000007", count=1, pupils=0.2)) == ""
    note = report.word_problem(Problem(ProblemKind.LSOAS_OUTSIDE, "E10000016", count=125, pupils=98.0, detail="carried unchanged"))
    assert note.startswith("98 pupils of these schools live in 125 small areas beyond the mapped area")
    assert report.word_problem(Problem(ProblemKind.LSOAS_OUTSIDE, "E10000016", count=1, pupils=1.0)).startswith(
        "1 pupil of these schools lives in 1 small area beyond"
    )


def test_headline_says_what_it_counts_and_how_it_differs_from_the_projection(ctx):
    """City of London: "1 of 1 schools", "over 1 schools", a negative spare figure without a word,
    and headline pupils (all year groups, 2019) far above the projection's (Reception-Year 6, 2024/25)."""
    ctx.data.schools = ctx.data.schools.assign(pupils_2019=[1000.0, 600.0, 800.0, 200.0]).iloc[[0]]
    table = report.headline_figures(ctx.data.schools, "secondary").set_index("measure")
    assert "(1 school)" in table.loc["Pupils", "detail"] and "all year groups" in table.loc["Pupils", "detail"]
    assert "1 of 1 school published one" in table.loc["Capacity (places)", "detail"]
    over = report.headline_figures(tiny_over := ctx.data.schools.assign(capacity_2015=[900.0]), "secondary").set_index("measure")
    assert over.loc["Spare places", "value"] == -100 and "negative: more pupils than places" in over.loc["Spare places", "detail"]
    assert len(tiny_over) == 1
    block = report.headline_section(ctx)
    assert "count Years 7 to 11 only" in block.html
    ctx.include_demand = False
    assert "Years 7 to 11" not in report.headline_section(ctx).html


# --------------------------------------------------------------------------------------------
# One concept, one place (issue 13): census ages, typed problems, the flows' fit measures


def test_children_map_counts_the_census_ages_the_app_shows(ctx):
    """The report's children map sums vocabulary.children_of_phase (census ages, 4-10 and 11-15), as the
    app's legend "children aged 4-10" says, in the app's classes and colours; before, it summed the
    projection's mid-year ages 5-11 in quintiles of its own."""
    from matplotlib.colors import to_rgba_array
    from matplotlib.legend import Legend

    from atlaskit import mapping

    lsoas = ctx.data.lsoas.copy()
    for n in range(len(lsoas)):  # census ages and mid-year ages would rank the areas differently
        lsoas.loc[n, "age_4_2019"] = 100.0 * n
        lsoas.loc[n, "age_11_2019"] = 100.0 * (8 - n)
    ctx.data.lsoas = lsoas
    inside = lsoas[lsoas["in_authority"]]
    for phase in vocabulary.PHASES:
        low, high = vocabulary.CENSUS_AGES[phase]
        ax = maps.children_map(lsoas, ctx.data.schools, ctx.data.boundary, phase).axes[0]
        classes = mapping.classify(vocabulary.children_of_phase(inside, phase), "children")  # the app's children layer
        areas = next(lg for lg in ax.findobj(Legend) if lg.get_title().get_text().startswith("Children"))
        assert areas.get_title().get_text() == f"Children aged {low}-{high}, mid-2019"
        assert [t.get_text() for t in areas.get_texts()] == list(classes.labels)
        colours = next(c.get_facecolors() for c in ax.collections if len(c.get_paths()) == len(inside))
        np.testing.assert_allclose(colours, to_rgba_array(classes.colour_of().tolist()))
    ctx.phase = "primary"
    low, high = vocabulary.CENSUS_AGES["primary"]
    assert f"Children aged {low}-{high} (primary school age" in report.maps_section(ctx).text


def test_every_problem_kind_is_worded():
    """One wording per kind, from the record's fields: no message written by the analysis is parsed."""
    for kind in ProblemKind:
        problem = Problem(kind, CODE, "secondary", "the detail", academic_year="2023/24", origin="2018/19", count=4, pupils=12.0)
        text = report.word_problem(problem)
        assert text and text != str(problem), kind
    scored = report.word_problem(Problem(ProblemKind.NOT_SCORED, CODE, "secondary", academic_year="2023/24", origin="2018/19"))
    assert scored == "The check from the 2018/19 roll has no actual roll to compare with in 2023/24"
    assert report.word_problem(Problem(ProblemKind.UNSCALED_FLOWS, CODE, "secondary", count=2)).startswith(
        "2 schools without a January 2019 roll"
    )


def test_sections_show_only_their_authority_and_phase_problems(ctx):
    ctx.tables = {"scorecard": pd.DataFrame({"x": [1]}), "la_population": pd.DataFrame({"x": [1]})}
    problems = [
        Problem(ProblemKind.NO_CAPACITY, CODE, "primary"),
        Problem(ProblemKind.NO_CAPACITY, "E06000998", "secondary"),
        Problem(ProblemKind.NOT_SCORED, CODE, "secondary", academic_year="2023/24", origin="2018/19"),
    ]
    ctx.cache["projection"] = (_projection_rows(), problems)
    text = report.projection_section(ctx).text
    assert "has no actual roll to compare with in 2023/24" in text
    assert "publishes no" not in text
    ctx.cache["projection"] = (_projection_rows().iloc[:0], problems[:2])
    assert "no projection for this authority and phase" in report.projection_section(ctx).text


def test_validation_section_scores_the_fit_with_the_flows_cell_measures(ctx):
    """The report's SRMSE of shares and "similarity index" differed from `atlas validate flows`: it now
    shows CPC, SRMSE and R-squared from flows.cell_measures on the same aligned cells."""
    from atlaskit.analysis import flows as fl

    modelled = ctx.data.flows
    observed = pd.DataFrame(
        {
            "urn": [100001, 100001, 100001, 100002],
            "lsoa11_code": ["E01000000", "E01000001", "E01000002", "E01000008"],
            "phase": "secondary",
            "pupils": [400.0, 350.0, np.nan, 250.0],  # one cell suppressed
            "source": "observed",
            "distance_km": 1.0,
            "school_total_pupils": [1000.0, 1000.0, 1000.0, 500.0],
        }
    )
    ctx.data.flows = pd.concat([modelled, observed], ignore_index=True)
    block = report.validation_section(ctx)
    assert block.available
    # by hand: modelled scaled to the published totals (1,000 of 1,000 and 500 of 500), cells aligned, missing = 0
    obs = {(100001, "E01000000"): 400, (100001, "E01000001"): 350, (100002, "E01000008"): 250}
    mod = {(100001, "E01000000"): 500, (100001, "E01000001"): 300, (100001, "E01000003"): 150, (100001, "E01000008"): 50,
           (100002, "E01000008"): 250, (100002, "E01000007"): 500 / 3, (100002, "E01000005"): 250 / 3}
    cells = sorted(set(obs) | set(mod))
    expected = fl.cell_measures(np.array([obs.get(c, 0.0) for c in cells]), np.array([mod.get(c, 0.0) for c in cells]))
    assert f"{expected['cpc']:.3f}" in block.html and f"{expected['srmse']:.3f}" in block.html
    assert f"{expected['r_squared']:.3f}" in block.html
    assert "CPC" in block.text and "SRMSE" in block.text and "R-squared" in block.text and "Sørensen" not in block.text
    assert "Published cells (3 or more pupils)" in block.text
