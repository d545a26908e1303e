"""The served Atlas app in headless Chromium: map, layers, school click, query string, hostile input, accessibility.

Page loads are few (each costs seconds): one page carries the map, layer, click, keyboard and
axe checks; one checks ``?authority=``; one per hostile query string.
"""

from __future__ import annotations

import json

import pytest

from atlaskit import config
from browser_helpers import AXE, ARTIFACTS, PAGE_TIMEOUT_MS, area_fills, assert_no_leaks, open_page, screenshot, wait_for_app, wait_for_areas

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def authorities(store):
    import atlaskit

    return atlaskit.authorities().set_index("authority_code")


@pytest.fixture(scope="module")
def camden(store):
    import atlaskit

    return atlaskit.load(config.DEFAULT_AUTHORITY)


def _school_with_flows(data) -> int:
    """A secondary school of the authority with flows (observed where published)."""
    schools = data.schools
    open_sec = schools[(schools["phase"] == "secondary") & schools["is_open"].fillna(False) & schools["is_state_funded"].fillna(False)]
    with_flows = open_sec[open_sec["urn"].astype("int64").isin(set(data.flows["urn"].astype("int64")))]
    if with_flows.empty:
        pytest.fail(f"no secondary school of {data.name} has flows in the store")
    return int(with_flows["urn"].iloc[0])


def test_app_page_map_layers_click_keyboard_and_axe(chromium, app_server, authorities, camden):
    n_lsoas = int(authorities.loc[config.DEFAULT_AUTHORITY, "n_lsoas"])
    context, page = open_page(chromium, app_server)
    try:
        # the map mounts and draws every LSOA of the authority, once
        wait_for_app(page)
        page.wait_for_selector(".leaflet-container", timeout=PAGE_TIMEOUT_MS)
        wait_for_areas(page, n_lsoas)
        assert page.locator("path.atlas-lsoa").count() == n_lsoas
        assert page.locator("path.atlas-school").count() > 0
        assert "Camden" in page.locator(".atlas-status").inner_text()
        assert_no_leaks(page)
        screenshot(page, "app-camden")

        # choosing a layer recolours the shapes
        before = area_fills(page)
        page.get_by_label("Map layer").select_option(label="Deprivation (IMD decile)")
        page.wait_for_function("before => { const now = Array.from(document.querySelectorAll('path.atlas-lsoa')).map(e => e.getAttribute('fill')); return now.length > 0 && now.join() !== before.join(); }", arg=before, timeout=30_000)
        page.wait_for_function("() => document.querySelector('.atlas-legend').innerText.includes('IMD 2019 decile')", timeout=30_000)
        screenshot(page, "app-camden-imd")

        # clicking a school marker draws its catchment and fills the summary
        page.get_by_role("button", name="Secondary").click()
        urn = _school_with_flows(camden)
        marker = page.locator(f"path.atlas-school-{urn}")
        marker.wait_for(timeout=30_000)
        marker.dispatch_event("click")
        page.wait_for_selector(".atlas-summary", timeout=30_000)
        summary = page.locator(".atlas-summary").inner_text()
        assert "Median distance from home" in summary and "From outside the authority" in summary
        page.wait_for_function("() => document.querySelector('.atlas-legend').innerText.includes('Pupils of the selected school')", timeout=30_000)
        from playwright.sync_api import expect

        expect(page.get_by_label("Map layer")).to_have_value("Pupils of the selected school", timeout=30_000)
        # the catchment is drawn: its areas overlaid in colour, the other areas greyed
        page.wait_for_function("() => document.querySelectorAll('path.atlas-catchment').length > 0", timeout=30_000)
        grey = page.eval_on_selector("path.atlas-lsoa", "el => getComputedStyle(el).fill")
        assert grey == "rgb(217, 217, 217)", grey
        assert page.locator(".atlas-profile").inner_text().strip()
        assert_no_leaks(page)
        screenshot(page, "app-camden-catchment")

        # controls are labelled and reachable by keyboard
        expected = {
            "authority": page.get_by_label("Authority"),
            "layer": page.get_by_label("Map layer"),
            "find": page.get_by_label("Find"),
            "search": page.get_by_role("button", name="Search"),
            "primary": page.get_by_role("button", name="Primary"),
        }
        for name, locator in expected.items():
            assert locator.count() == 1, f"control {name} not found by its label"
        page.locator("body").focus()
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        reached = set()
        for _ in range(60):
            page.keyboard.press("Tab")
            for name, locator in expected.items():
                if name not in reached and locator.evaluate("el => el === document.activeElement"):
                    reached.add(name)
            if reached == set(expected):
                break
        assert reached == set(expected), f"not reachable by Tab: {set(expected) - reached}"
        # the search works from the keyboard alone
        page.get_by_label("Find").fill("Parliament Hill")
        page.get_by_label("Find").press("Enter")
        page.wait_for_function("() => document.querySelector('.atlas-profile') && document.querySelector('.atlas-profile').innerText.includes('Parliament Hill')", timeout=30_000)

        # axe-core: no serious or critical violation on the served page
        if not AXE.exists():
            from browser_helpers import skip_or_fail

            skip_or_fail(f"axe-core missing: run `npm ci` in {AXE.parents[2]}")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        violations = result["violations"]
        (ARTIFACTS / "axe-camden.json").write_text(json.dumps(violations, indent=1))
        bad = [v for v in violations if v.get("impact") in ("serious", "critical")]
        assert not bad, "axe serious/critical: " + "; ".join(f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in bad)
    finally:
        context.close()


def test_query_string_selects_the_authority(chromium, app_server, authorities):
    code = "E08000025"  # Birmingham
    n_lsoas = int(authorities.loc[code, "n_lsoas"])
    context, page = open_page(chromium, app_server, f"?authority={code}")
    try:
        wait_for_app(page)
        wait_for_areas(page, n_lsoas)
        assert code in page.get_by_label("Authority").input_value()
        assert "Birmingham" in page.locator(".atlas-status").inner_text()
        screenshot(page, "app-birmingham")
    finally:
        context.close()


@pytest.mark.parametrize(
    "query",
    ["?authority=E99999999", "?authority=..%2F..%2F..%2Fetc%2Fpasswd", "?authority=%3Cscript%3Ealert(1)%3C%2Fscript%3E"],
    ids=["unknown-code", "dot-dot", "script"],
)
def test_hostile_query_string_shows_message_and_picker(chromium, app_server, query):
    context, page = open_page(chromium, app_server, query)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        wait_for_app(page)
        status = page.locator(".atlas-status").inner_text()
        assert "No education authority matches" in status
        assert page.get_by_label("Authority").is_visible()
        assert page.locator("path.atlas-lsoa").count() > 0  # the default authority still shows
        assert not dialogs, "script text was executed"
        assert page.locator(".atlas-status script").count() == 0
        assert_no_leaks(page)
        screenshot(page, f"app-hostile-{query[11:30]}")
    finally:
        context.close()


@pytest.mark.parametrize(
    "path",
    ["voila/files/../../pyproject.toml", "voila/files/..%2F..%2Fpyproject.toml", "..%2Fpyproject.toml", "voila/files/atlas.ipynb", "voila/render/atlas.ipynb", "tree"],
)
def test_only_the_app_is_served_and_errors_show_no_paths(app_server, path):
    """No file outside notebooks/ (nor the notebook's source) is served; error pages name no server path."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(app_server.url + path, timeout=30) as response:
            status, body = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode("utf-8", "replace")
    assert "[project]" not in body and "authority = " not in body  # neither pyproject.toml nor the notebook source
    assert str(config.PROJECT_ROOT) not in body and "Traceback" not in body
    assert status in (200, 403, 404), status
