"""Browser-test helpers: Voilà started by the test on a free port, Debian chromium driven by Playwright.

- Voilà runs with exactly the configuration ``atlas serve`` uses (:func:`atlaskit.cli.serve.voila_command`).
- Chromium is Debian's ``/usr/bin/chromium`` (never ``playwright install``), launched with the flags
  of DESIGN.md; every request leaving 127.0.0.1 is aborted (map tiles, fonts, CDNs).
- Screenshots and axe reports go to ``test-artifacts/`` (git-ignored).
- Locally a missing browser or store skips; in CI (``CI=true``) it fails (``skip_or_fail``).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from pathlib import Path


from atlaskit import config


def _project_conftest():
    """The tests' top conftest (its ``skip_or_fail``), loaded by path: both files are named conftest."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_atlas_tests_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


skip_or_fail = _project_conftest().skip_or_fail

CHROMIUM = Path(os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = config.PROJECT_ROOT / "test-artifacts"
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
#: Seconds a page may take to draw its map (a kernel started on demand on a busy 2-core machine).
PAGE_TIMEOUT_MS = 90_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VoilaServer:
    """A Voilà process serving the Atlas app, with helpers to count its kernels and read its log."""

    def __init__(self, proc: subprocess.Popen, url: str, log_path: Path, pool_size: int):
        self.proc = proc
        self.url = url
        self.log_path = log_path
        self.pool_size = pool_size

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kernel_pids(self) -> list[int]:
        """Process ids of the live kernels (children of the Voilà process)."""
        import psutil

        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        pids = []
        for child in children:
            try:
                if "ipykernel_launcher" in " ".join(child.cmdline()):
                    pids.append(child.pid)
            except psutil.Error:
                continue
        return pids


@contextlib.contextmanager
def serve_app(name: str, **kwargs):
    """Start ``atlas serve``'s Voilà on a free port; yield a :class:`VoilaServer`; stop it (its own pid only)."""
    from atlaskit.cli.serve import voila_command

    port = free_port()
    command = voila_command(port=port, open_browser=False, **kwargs)
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"voila-{name}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command.argv, env=command.env, cwd=command.cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Voila did not start; log:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
        yield VoilaServer(proc, command.url, log_path, kwargs.get("pool_size", 0))
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _local_only(route, port_prefix: str) -> None:
    url = route.request.url
    if url.startswith(port_prefix) or url.startswith("data:") or url.startswith("blob:"):
        route.continue_()
    else:
        route.abort()


def open_page(chromium, server: VoilaServer, query: str = "", viewport=(1400, 1000)):
    """Open a new page on the app (requests leaving 127.0.0.1 aborted); returns (context, page)."""
    context = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    prefix = server.url.rstrip("/")
    context.route("**/*", lambda route: _local_only(route, prefix))
    page = context.new_page()
    page.goto(server.url + query, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
    return context, page


def wait_for_app(page, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
    """Wait until the app's status line says what it shows (the widgets are alive)."""
    page.wait_for_selector(".atlas-status p", timeout=timeout_ms)


def area_count(page) -> int:
    return page.locator("path.atlas-lsoa").count()


def wait_for_areas(page, n: int, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
    page.wait_for_function("n => document.querySelectorAll('path.atlas-lsoa').length === n", arg=n, timeout=timeout_ms)


def area_fills(page) -> list[str]:
    return page.eval_on_selector_all("path.atlas-lsoa", "els => els.map(e => e.getAttribute('fill'))")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_no_leaks(page) -> None:
    """No traceback, no exception name, no server path in the page's text."""
    text = page.inner_text("body")
    for bad in ("Traceback", "Error:", str(config.PROJECT_ROOT), "site-packages", "/root/"):
        assert bad not in text, f"page shows {bad!r}"
