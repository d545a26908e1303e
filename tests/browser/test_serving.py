"""Serving many users: preheated kernels and idle culling together, and a bounded loopback load test.

The pitfall (DESIGN.md section 4): with culling on, a pooled kernel that finished the notebook sits
idle; handed to a request it leaves the pool, where Voilà protected it, and is culled before the
browser connects ("Kernel does not exist"). ``atlas serve``'s configuration avoids it (pooled
kernels wait *busy* in ``query_authority()``; see :mod:`atlaskit.cli.serve`). This test gives the
pool more idle time than the cull timeout, then asks for pages: every one must render; after the
pages close, no more kernels than the pool may be left alive.
"""

from __future__ import annotations

import os
import time

import pytest

from browser_helpers import PAGE_TIMEOUT_MS, open_page, screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

SMALL = "E06000053"  # Isles of Scilly: one LSOA, so the load test measures serving, not drawing
POOL = 2
CULL_TIMEOUT_S = 10  # the smallest `atlas serve` accepts (MIN_CULL_IDLE_TIMEOUT_S)
CULL_INTERVAL_S = 2
# page views in sequence and at once (ATLAS_LOAD_VIEWS="30,10"; fewer for a quick local run)
SEQUENTIAL, CONCURRENT = (int(n) for n in os.environ.get("ATLAS_LOAD_VIEWS", "30,10").split(","))


def _wait_pool_ready(server, timeout_s: float = 120.0) -> None:
    """Wait until the pool's kernels exist and sit blocked (no CPU) in ``query_authority()``."""
    import psutil

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = server.kernel_pids()
        if len(pids) >= POOL:
            try:
                cpu = [psutil.Process(p).cpu_percent(interval=0.5) for p in pids]
            except psutil.Error:
                continue
            if max(cpu) < 5.0:
                return
        time.sleep(0.5)
    raise AssertionError(f"the kernel pool did not become ready in {timeout_s} s; log:\n{server.log()[-3000:]}")


def _rendered(page, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
    wait_for_app(page, timeout_ms)
    page.wait_for_function("() => document.querySelector('.atlas-status').innerText.includes('Isles of Scilly')", timeout=timeout_ms)
    page.wait_for_function("() => document.querySelectorAll('path.atlas-lsoa').length === 1", timeout=timeout_ms)


def test_preheated_pool_survives_culling_and_load_is_reclaimed(chromium, store):
    from browser_helpers import serve_app

    with serve_app(
        "load", authority=SMALL, pool_size=POOL, cull_idle_timeout=CULL_TIMEOUT_S, cull_interval=CULL_INTERVAL_S, fill_delay=0.5
    ) as server:
        _wait_pool_ready(server)
        pooled = set(server.kernel_pids())
        # idle (no activity) for longer than the cull timeout: a naive pool would be culled on hand-out
        time.sleep(CULL_TIMEOUT_S + 2 * CULL_INTERVAL_S)
        assert pooled <= set(server.kernel_pids()), "a pooled kernel was culled while waiting in the pool"

        # 1. a page served by a pooled kernel renders ...
        first_context, first = open_page(chromium, server)
        _rendered(first)
        assert "Using pre-heated kernel" in server.log()

        # 2. page views in sequence (the first page stays open meanwhile, longer than the timeout)
        opened_at = time.monotonic()
        started = time.monotonic()
        for i in range(SEQUENTIAL):
            context, page = open_page(chromium, server)
            try:
                _rendered(page)
            except Exception:
                screenshot(page, f"serving-sequential-{i}")
                raise
            finally:
                context.close()
        sequential_s = time.monotonic() - started

        # ... and, open past the idle timeout, its kernel still answers (connected kernels are kept)
        time.sleep(max(0.0, CULL_TIMEOUT_S + 2 * CULL_INTERVAL_S - (time.monotonic() - opened_at)))
        first.get_by_label("Map layer").select_option(label="Deprivation (IMD decile)")
        first.wait_for_function("() => document.querySelector('.atlas-legend').innerText.includes('IMD 2019 decile')", timeout=30_000)
        screenshot(first, "serving-preheated")
        first_context.close()

        # 3. page views at once
        started = time.monotonic()
        opened = [open_page(chromium, server) for _ in range(CONCURRENT)]
        deadline = time.monotonic() + CONCURRENT * PAGE_TIMEOUT_MS / 1000 / 3  # all at once: a shared, longer budget
        try:
            for i, (_, page) in enumerate(opened):
                try:
                    _rendered(page, int(max(1.0, deadline - time.monotonic()) * 1000))
                except Exception:
                    screenshot(page, f"serving-concurrent-{i}")
                    raise
        finally:
            for context, _ in opened:
                context.close()
        concurrent_s = time.monotonic() - started

        # 4. after the idle timeout no more kernels than the pool are alive
        deadline = time.monotonic() + CULL_TIMEOUT_S + 6 * CULL_INTERVAL_S + 20
        while time.monotonic() < deadline and len(server.kernel_pids()) > POOL:
            time.sleep(1)
        alive = len(server.kernel_pids())
        log = server.log()
        print(f"{SEQUENTIAL} sequential views in {sequential_s:.1f} s, {CONCURRENT} concurrent in {concurrent_s:.1f} s; kernels alive after culling: {alive}")
        assert alive <= POOL, f"{alive} kernels alive after the idle timeout (pool {POOL})"
        assert "Kernel does not exist" not in log
        assert "Culling kernel" in log or "culling" in log.lower()
