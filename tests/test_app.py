"""AtlasApp driven headlessly (no browser): set .value, call handlers, assert on the app's state."""

from __future__ import annotations

import base64
import io
import re

import pandas as pd
import pytest

from atlaskit import mapping, vocabulary
from atlaskit.app import AtlasApp, parse_authority_query, public_message, query_authority
from fake_atlas import AUTHORITIES, make_app, make_authority


@pytest.fixture
def app():
    return make_app()


def _styles(app):
    return [f["properties"]["style"] for f in app.areas.data["features"]]


def _download_frame(app) -> pd.DataFrame:
    payload = re.search(r"base64,([^\"]+)", app.download.value).group(1)
    return pd.read_csv(io.StringIO(base64.b64decode(payload).decode()))


def test_initial_state(app):
    assert app.data.code == "E09000901"
    assert app.picker.value == "Testborough (E09000901)"
    assert len(app.picker.options) == len(AUTHORITIES)
    assert len(app.areas.data["features"]) == 9  # the authority's own areas only
    assert all(s["className"] == mapping.AREA_CLASS for s in _styles(app))
    assert {f["id"] for f in app.schools_layer.data["features"]} == {100001, 100002, 100004}
    assert "children aged 4-10" in app.legend.value
    assert app.message == "Showing Testborough (E09000901)."
    assert "9 small areas (LSOAs, about 1,500 residents each)" in app.title.value  # the jargon explained
    # one GeoJSON layer for the areas, one for a catchment overlay, one for schools: never a layer per feature
    assert sum(type(layer).__name__ == "GeoJSON" for layer in app.map.layers) == 3
    assert app.map.zoom >= 12


def test_every_control_is_labelled(app):
    for control in (app.picker, app.phase, app.layer, app.search):
        assert control.description
    assert app.search_button.description == "Search"


def test_catchment_overlay_is_cleared_by_another_layer(app):
    app.select_school(100001)
    sends = []
    app.areas.observe(lambda change: sends.append(change), names="data")
    assert app.catchment_layer.data["features"]
    app.layer.value = "idaci"
    assert not app.catchment_layer.data["features"] and len(sends) == 1
    assert mapping.DIM_CLASS not in app.map._dom_classes


def test_layer_change_recolours_once(app):
    sends = []
    app.areas.observe(lambda change: sends.append(change), names="data")
    before = [s["fillColor"] for s in _styles(app)]
    app.layer.value = "imd"
    assert len(sends) == 1  # one replacement of the data
    after = [s["fillColor"] for s in _styles(app)]
    assert after != before
    assert "IMD 2019 decile" in app.legend.value
    assert "imd_decile" in _download_frame(app).columns


def test_phase_toggle_changes_schools_and_children(app):
    before = [f["properties"]["value"] for f in app.areas.data["features"]]
    app.phase.value = "secondary"
    assert {f["id"] for f in app.schools_layer.data["features"]} == {100003, 100004}
    assert [f["properties"]["value"] for f in app.areas.data["features"]] != before
    assert "children aged 11-15" in app.legend.value


def test_school_click_draws_catchment_and_summary(app):
    app.phase.value = "secondary"
    feature = next(f for f in app.schools_layer.data["features"] if f["id"] == 100003)
    app._on_school_click(event="click", feature=feature, properties=feature["properties"])
    assert app.selected_urn == 100003
    assert app.layer.value == "catchment"
    assert "Gamma Academy" in app.profile.value and "Requires improvement" in app.profile.value
    assert "Median distance from home" in app.summary.value and "From outside the authority" in app.summary.value
    # the catchment is an overlay of the areas with pupils (the base areas are greyed by CSS, not resent)
    overlay = app.catchment_layer.data["features"]
    assert overlay and all(f["properties"]["style"]["className"].startswith(mapping.CATCHMENT_CLASS) for f in overlay)
    assert any(not f["properties"]["in_authority"] for f in overlay)  # pupils from outside the authority
    assert mapping.DIM_CLASS in app.map._dom_classes
    assert all(f["properties"]["value"] >= 3 for f in overlay if f["properties"]["label"].isdigit())
    hidden = app._catchment_values[2][app._catchment_values[2] == "fewer than 3"].index[0]
    app._on_area_hover(event="mouseover", properties={"lsoa11_code": hidden, "label": "17"})
    assert "fewer than 3" in app.hover.value and "17" not in app.hover.value
    table = _download_frame(app)
    assert set(table["urn"]) == {100003}
    shown = table["pupils"].dropna()
    assert (shown >= 3).all()  # never an observed count under 3
    assert table.loc[table["pupils"].isna(), "pupils_label"].eq("fewer than 3").all()


def test_modelled_catchment_is_labelled_estimate(app):
    app.select_school(100001)
    assert "(estimate)" in app.summary.value
    assert any(f["properties"]["style"].get("dashArray") for f in app.catchment_layer.data["features"])
    assert "modelled estimate" in app.legend.value
    assert all("estimate" in label for label in _download_frame(app)["pupils_label"])


def test_school_without_flows_shows_message_not_error(app):
    app.select_school(100002)
    assert "No pupil-flow data" in app.message
    assert "Beta Primary School" in app.profile.value


def test_area_click_lists_destinations(app):
    code = app.data.lsoas["lsoa11_code"].iloc[6]
    feature = next(f for f in app.areas.data["features"] if f["id"] == code)
    app._on_area_click(event="click", feature=feature, properties=feature["properties"])
    assert app.selected_area == code
    assert "Schools the children of" in app.summary.value
    assert "Alpha Primary School" in app.summary.value
    assert next(f for f in app.areas.data["features"] if f["id"] == code)["properties"]["style"]["weight"] == 3
    big = [f["id"] for f in app.schools_layer.data["features"] if f["properties"]["style"]["radius"] > 6]
    assert 100001 in big


def test_search_zooms_and_selects(app):
    app.search.value = "NW1 1AA"
    assert app.selected_urn == 100001
    assert app.map.zoom == 15
    lat, lon = app.map.center
    assert 51 < lat < 52
    app.search.value = "nothing like it"
    assert "No school of Testborough matches" in app.message
    code = app.data.lsoas["lsoa11_code"].iloc[7]
    app.search.value = code.lower()
    assert app.selected_area == code


def test_picker_switches_authority_and_resets_selection(app):
    app.select_school(100001)
    app.picker.value = "Otherham (E09000902)"
    assert app.data.code == "E09000902"
    assert app.selected_urn is None and app.profile.value == ""
    assert app.layer.value == "children"
    app.picker.value = "smallshire"  # typed name
    assert app.data.code == "E06000903"
    assert app.picker.value == "Smallshire (E06000903)"


@pytest.mark.parametrize("hostile", ["E99999999", "../../etc/passwd", "<script>alert('x')</script>", "x" * 5000, "\x00\x1b[31m"])
def test_bad_authority_shows_clear_message_and_keeps_the_map(app, hostile):
    app.picker.value = hostile
    assert app.data.code == "E09000901"
    assert app.message.startswith("No education authority matches")
    assert "<script>" not in app.status.value
    assert len(app.status.value) < 1000
    assert app.picker.value == "Testborough (E09000901)"


def test_apply_query(app):
    app.apply_query(None)
    app.apply_query("")
    assert app.data.code == "E09000901"
    app.apply_query("E09000902")
    assert app.data.code == "E09000902"


def test_callback_errors_become_a_status_line(app):
    def broken(flows, urn, phase):
        raise RuntimeError("boom at /srv/secret/path.py line 3")

    app._catchment = broken
    app._on_school_click(properties={"urn": 100001})  # must not raise
    assert app.message.startswith("Sorry, that did not work (RuntimeError)")
    assert "/srv" not in app.status.value and "Traceback" not in app.status.value
    app._on_school_click(properties={"name": "no urn"})
    assert "not a school" in app.message


def test_loader_failure_is_shown_without_paths(app):
    from atlaskit.errors import StoreMissing

    def failing(code):
        raise StoreMissing("store table 'schools' is missing from /work/main/store/build-1: run `atlas build`")

    app._loader = failing
    app.picker.value = "Otherham (E09000902)"
    assert "missing from [path]" in app.message
    assert app.data.code == "E09000901"


def test_demand_layer_colours_school_markers(app):
    app.phase.value = "secondary"
    app.layer.value = "demand"
    fills = {f["id"]: f["properties"]["style"]["fillColor"] for f in app.schools_layer.data["features"]}
    assert fills[100003] == mapping.UTILISATION_COLOURS[2]
    assert fills[100004] == mapping.NO_DATA_COLOUR
    assert "utilisation_pct" in _download_frame(app).columns
    app.layer.value = "children"
    fills = {f["id"]: f["properties"]["style"]["fillColor"] for f in app.schools_layer.data["features"]}
    assert fills[100003] == mapping.PHASE_COLOURS["secondary"]


def test_hover_updates_tooltip_line(app):
    feature = app.schools_layer.data["features"][0]
    app._on_school_hover(event="mouseover", feature=feature, properties=feature["properties"])
    assert feature["properties"]["name"] in app.hover.value
    area = app.areas.data["features"][6]
    app._on_area_hover(event="mouseover", feature=area, properties=area["properties"])
    assert "Testborough" in app.hover.value


def test_query_string_parsing(monkeypatch):
    assert parse_authority_query("authority=E08000025&x=1") == "E08000025"
    assert parse_authority_query("?authority=%3Cscript%3E") == "<script>"
    assert parse_authority_query("") is None and parse_authority_query("x=1") is None
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    monkeypatch.setenv("QUERY_STRING", "authority=..%2F..%2Fetc")
    assert query_authority() == "../../etc"
    monkeypatch.delenv("QUERY_STRING")
    assert query_authority() is None


def test_public_message_strips_paths():
    assert public_message("missing /work/main/store/x.parquet now") == "missing [path] now"
    assert len(public_message("y" * 1000)) == 400


def test_app_needs_authority_table():
    with pytest.raises(ValueError, match="authority table"):
        AtlasApp(make_authority(), pd.DataFrame())


@pytest.mark.integration
@pytest.mark.slow
def test_notebook_runs_under_papermill(store, tmp_path):
    """notebooks/atlas.ipynb under Papermill: the parameter picks the authority, no cell errors."""
    import nbformat
    import papermill

    from atlaskit import config

    out = tmp_path / "atlas-out.ipynb"
    papermill.execute_notebook(
        str(config.notebooks_dir() / "atlas.ipynb"), str(out), parameters={"authority": "E06000053"}, kernel_name="python3", progress_bar=False, cwd=str(tmp_path)
    )
    nb = nbformat.read(out, as_version=4)
    assert "injected-parameters" in nb.cells[1].metadata.get("tags", [])
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "execute_result"]
    assert shown and "application/vnd.jupyter.widget-view+json" in shown[-1]["data"]
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_keep_alive_until_the_page_draws_the_app(app, monkeypatch):
    sent = []
    monkeypatch.setattr(app, "send", lambda content, buffers=None: sent.append(content))
    app.keep_alive_until_shown(every_s=0.05, max_s=5)
    import time

    time.sleep(0.3)
    assert sent and sent[0] == {"event": "keep-alive"}
    app._view_count = 1  # the browser drew the app
    time.sleep(0.2)
    count = len(sent)
    time.sleep(0.2)
    assert len(sent) == count and not app._keep_alive.is_alive()


def test_area_outside_lists_other_authorities_schools_by_name_and_says_what_is_listed():
    def destinations(flows, code, phase, closed_urns=None):
        return pd.DataFrame(
            {"urn": [100003, 999001, 999002], "pupils": [12.0, 6.0, 0.2], "share": [0.66, 0.33, 0.01], "cumulative_share": [0.66, 0.99, 1.0], "distance_km": [1.0, 2.0, 3.0], "source": ["observed", "modelled", "modelled"]}
        )

    directory = pd.DataFrame({"urn": [999001, 999002], "school_name": ["Far Academy", "Farther School"], "authority_code": ["E09000902", "E09000902"], "is_open": [False, True]})
    app = make_app(destinations=destinations, school_directory=lambda: directory)
    app.phase.value = "secondary"
    outside = app.data.lsoas.loc[~app.data.lsoas["in_authority"], "lsoa11_code"].iloc[0]
    app.select_area(outside)
    assert "Gamma Academy" in app.summary.value and "Far Academy (Otherham) (closed)" in app.summary.value
    assert "Gamma Academy (closed)" not in app.summary.value
    assert ">999001<" not in app.summary.value
    assert "outside Testborough" in app.summary.value
    assert "fewer than 1 pupil each" in app.summary.value and "Farther School" not in app.summary.value
    inside = app.data.lsoas.loc[app.data.lsoas["in_authority"], "lsoa11_code"].iloc[0]
    app.select_area(inside)
    assert "outside Testborough" not in app.summary.value


def test_school_names_without_a_directory_are_never_bare_numbers():
    def destinations(flows, code, phase, closed_urns=None):
        return pd.DataFrame({"urn": [999001], "pupils": [6.0], "share": [1.0], "cumulative_share": [1.0], "distance_km": [2.0], "source": ["modelled"]})

    app = make_app(destinations=destinations)
    app.select_area(app.data.lsoas["lsoa11_code"].iloc[6])
    assert "school URN 999001" in app.summary.value


def test_phase_change_refreshes_the_area_list(app):
    code = app.data.lsoas["lsoa11_code"].iloc[6]
    app.select_area(code)
    assert "Alpha Primary School" in app.summary.value
    app.phase.value = "secondary"
    assert app.selected_area == code
    assert "Alpha Primary School" not in app.summary.value  # a primary school under the secondary phase
    assert "Delta School" in app.summary.value
    assert app.message.startswith("Showing secondary schools.")


def test_layer_change_clears_the_previous_layers_hover_text(app):
    area = app.areas.data["features"][6]
    app._on_area_hover(event="mouseover", feature=area, properties=area["properties"])
    assert "children of school age" in app.hover.value
    app.layer.value = "idaci"
    assert "children of school age" not in app.hover.value and "Hover over" in app.hover.value


def test_demand_hover_gives_pupils_places_and_fill(app):
    app.phase.value = "secondary"
    app.layer.value = "demand"
    feature = next(f for f in app.schools_layer.data["features"] if f["id"] == 100003)
    app._on_school_hover(event="mouseover", feature=feature, properties=feature["properties"])
    assert "1,100 pupils on roll (January 2019) for 1,000 places (2015): 110% full." in app.hover.value
    feature = next(f for f in app.schools_layer.data["features"] if f["id"] == 100004)
    app._on_school_hover(event="mouseover", feature=feature, properties=feature["properties"])
    assert "not published" in app.hover.value


def test_unknown_authority_suggests_close_names(app):
    app.picker.value = "Otherhm"
    assert app.data.code == "E09000901"
    assert "Did you mean Otherham?" in app.message
    app.picker.value = "XYZ"
    assert "Did you mean" not in app.message


def test_old_code_that_split_names_the_authorities_it_became():
    from atlaskit.errors import UnknownAuthority

    def resolver(text):
        exc = UnknownAuthority(f"{text!r} is an old code that now covers several authorities: E09000902 Otherham, E06000903 Smallshire. Choose one.")
        exc.successors = ("E09000902", "E06000903")  # typed: the app reads the codes, never the message
        raise exc

    app = make_app()
    app._resolver = resolver
    app.picker.value = "E10000021"
    assert "No education authority matches" not in app.message
    assert "old code that now covers Otherham and Smallshire" in app.message


def test_area_list_leaves_out_a_closed_school_counted_by_its_successor_and_downloads_safely():
    """An area's observed (2015) flows to a school closed since are not listed beside its successor's
    modelled ones; the download is the area's list, with observed counts under 3 blanked."""
    import dataclasses

    base = make_authority()
    code = base.lsoas["lsoa11_code"].iloc[6]
    extra = pd.DataFrame({"urn": [100099, 100098], "lsoa11_code": [code, code], "phase": "primary", "pupils": [14.0, 2.0],
                          "source": "observed", "distance_km": [0.9, 1.1]})
    data = dataclasses.replace(base, flows=pd.concat([base.flows, extra], ignore_index=True))
    directory = pd.DataFrame({"urn": [100099, 100098], "school_name": ["Gone School", "Open Small School"],
                              "authority_code": [base.code] * 2, "is_open": [False, True]})
    app = AtlasApp(data, AUTHORITIES, loader=make_authority, resolver=lambda text: base.code, basemap=False, school_directory=lambda: directory)
    app.phase.value = "primary"
    app.select_area(code)
    assert "Gone School" not in app.summary.value and "Open Small School" in app.summary.value
    table = app.table
    assert set(table["lsoa11_code"]) == {code} and 100099 not in set(table["urn"])
    small = table[table["urn"] == 100098].iloc[0]
    assert pd.isna(small["pupils"]) and pd.isna(small["share_pct"]) and bool(small["suppressed"])
    assert "Alpha Primary School" in set(table["school_name"])
    assert "this area" in app.download.value and "_schools.csv" in app.download.value


def test_children_layer_is_the_vocabularys_children_of_phase(app):
    """One definition: the children layer's values and legend ages are vocabulary's (census ages 4-10, 11-15)."""
    for phase in vocabulary.PHASES:
        app.phase.value = phase
        expected = vocabulary.children_of_phase(app.data.lsoas, phase, mapping.POPULATION_YEAR)
        shown = {f["id"]: f["properties"]["value"] for f in app.areas.data["features"]}
        assert shown and all(value == expected[code] for code, value in shown.items())
        low, high = vocabulary.CENSUS_AGES[phase]
        assert f"children aged {low}-{high}" in app.legend.value


def test_urns_are_int64_to_the_download(app):
    app.phase.value = "secondary"
    app.layer.value = "demand"
    assert app.table["urn"].dtype == "int64"
    app.select_area(app.data.lsoas["lsoa11_code"].iloc[6])
    assert app.table["urn"].dtype == "int64"
    assert all(type(f["properties"]["urn"]) is int for f in app.schools_layer.data["features"])  # a JSON number
