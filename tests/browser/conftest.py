"""Browser fixtures (helpers in ``browser_helpers.py``): Chromium via Playwright, the app served by Voilà."""

from __future__ import annotations

import os

import pytest

from atlaskit import config
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, serve_app, skip_or_fail


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian chromium driven by Playwright (session-wide)."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright (python package) is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def app_server(store):
    """The Atlas app served as ``atlas serve`` does (Camden preheated, one pooled kernel)."""
    with serve_app("app", authority=config.DEFAULT_AUTHORITY, pool_size=1, cull_idle_timeout=120, cull_interval=10) as server:
        yield server


