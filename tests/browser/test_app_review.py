"""The served app as a parent or councillor reads it: every school named, whole-number legends, a
usable map on a phone, a split old authority code explained.

Defects found in a review of the served app (each test failed before its fix).
"""

from __future__ import annotations

import re

import pytest

from atlaskit import config
from browser_helpers import PAGE_TIMEOUT_MS, assert_no_leaks, open_page, screenshot, wait_for_app, wait_for_areas

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def camden(store):
    import atlaskit

    return atlaskit.load(config.DEFAULT_AUTHORITY)


def _area_sending_children_out(data) -> str:
    """An LSOA of the authority whose secondary pupils include some at another authority's school."""
    from atlaskit.analysis.flows import area_destinations

    local = set(data.schools["urn"].astype(int))
    own = data.lsoas.loc[data.lsoas["in_authority"].fillna(False).astype(bool), "lsoa11_code"].astype(str)
    for code in own:
        dest = area_destinations(data.flows, code, phase="secondary")
        top = dest[dest["pupils"].round() >= 1]
        if (~top["urn"].astype(int).isin(local)).any():
            return code
    pytest.fail(f"no area of {data.name} sends secondary pupils to another authority's school")


def test_area_list_names_every_school_and_follows_the_phase(chromium, app_server, camden):
    code = _area_sending_children_out(camden)
    context, page = open_page(chromium, app_server)
    try:
        wait_for_app(page)
        page.wait_for_selector("path.atlas-lsoa", timeout=PAGE_TIMEOUT_MS)
        # legend bounds of children are whole numbers, not "over 69 to 94.8"
        legend = page.locator(".atlas-legend").inner_text()
        assert "children aged 4-10" in legend
        assert not re.search(r"\d\.\d", legend), legend

        page.get_by_role("button", name="Secondary").click()
        page.get_by_label("Find").fill(code)
        page.get_by_label("Find").press("Enter")
        page.wait_for_selector(".atlas-destinations td", timeout=30_000)
        names = page.locator(".atlas-destinations tbody tr td:first-child").all_inner_texts()
        assert names and not [n for n in names if re.fullmatch(r"\s*\d{6}\s*", n)], names  # never a bare URN
        assert any("(" in n and not n.startswith("school URN") for n in names), names  # another authority's school, named with it
        pupils = page.locator(".atlas-destinations tbody tr td:nth-child(2)").all_inner_texts()
        assert not [p for p in pupils if "about 0" in p], pupils
        headers = page.locator(".atlas-destinations th").all_inner_texts()
        assert "Distance from home (km)" in headers
        screenshot(page, "review-camden-area-secondary")

        # the list follows the phase
        before = page.locator(".atlas-destinations").inner_text()
        page.get_by_role("button", name="Primary").click()
        page.wait_for_function(
            "() => document.querySelector('.atlas-status').innerText.startsWith('Showing primary schools.')", timeout=30_000
        )
        page.wait_for_function("before => document.querySelector('.atlas-destinations').innerText !== before", arg=before, timeout=30_000)
        primary = page.locator(".atlas-destinations tbody tr td:first-child").all_inner_texts()
        assert primary and primary != names and any("Primary" in n for n in primary), primary
        assert_no_leaks(page)
    finally:
        context.close()


def test_phone_screen_keeps_the_map_usable(chromium, app_server, authorities):
    n_lsoas = int(authorities.loc[config.DEFAULT_AUTHORITY, "n_lsoas"])
    context, page = open_page(chromium, app_server, viewport=(390, 844))
    try:
        wait_for_app(page)
        wait_for_areas(page, n_lsoas)
        box = page.locator(".leaflet-container").bounding_box()
        side = page.locator(".atlas-side").bounding_box()
        assert box["width"] >= 300, box  # was 45 px wide beside a 24em side panel
        assert side["y"] >= box["y"] + box["height"] - 1, (box, side)  # the panel wraps below the map
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "review-phone")
    finally:
        context.close()


def test_split_old_code_names_the_authorities_it_became(chromium, app_server):
    context, page = open_page(chromium, app_server, "?authority=E10000021")  # Northamptonshire, split in 2021
    try:
        wait_for_app(page)
        page.wait_for_function("() => document.querySelector('.atlas-status').innerText.includes('old code')", timeout=PAGE_TIMEOUT_MS)
        status = page.locator(".atlas-status").inner_text()
        assert "North Northamptonshire" in status and "West Northamptonshire" in status
        assert "No education authority matches" not in status
    finally:
        context.close()


@pytest.fixture(scope="module")
def authorities(store):
    import atlaskit

    return atlaskit.authorities().set_index("authority_code")
