"""Benchmark of the served Atlas app against a naive build of the same map, in Chromium, in one run.

Run (needs the built store and /usr/bin/chromium; takes a few minutes)::

    .venv/bin/python benchmarks/bench_app.py                    # Camden and Kent
    .venv/bin/python benchmarks/bench_app.py E09000007          # one authority

For each authority it measures, in the same run and on the same machine:

- **app, preheated**: seconds from the page request to all the authority's LSOA shapes drawn, served
  as ``atlas serve`` does with a preheated kernel for that authority;
- **app, no preheating**: the same with kernels started on request (``pool_size=0``);
- **naive**: the same map built the obvious way: ipyleaflet ``Choropleth`` on the unsimplified
  LSOA geometry, no preheating (a notebook written to a temporary folder);
- **click**: seconds from a school click to its catchment drawn (app: the catchment overlay's
  areas drawn, the rest greyed by CSS), and from a button click to the recoloured map (naive: a new
  ``choro_data``);
- **bytes**: the map layer's GeoJSON as sent (``json.dumps`` of the layer data), and every
  websocket byte the page received.

Each configuration is loaded ``--repeats`` times (default 2) and the best time is kept, so the
order of the runs (a fresh browser's first page also compiles Voilà's JavaScript) does not favour
either side. It prints the figures and the ratios naive / app. Nothing is written to the
repository.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 180_000

NAIVE_NOTEBOOK = [
    ("parameters", 'authority = "E09000007"'),
    (
        None,
        "import json\nimport ipyleaflet, ipywidgets\nimport atlaskit\nfrom atlaskit import mapping, vocabulary\n"
        "data = atlaskit.load(authority)\n"
        "own = data.lsoas[data.lsoas['in_authority']].set_index('lsoa11_code')\n"
        "geo = json.loads(own[['geometry']].to_crs(4326).to_json())  # unsimplified, full precision\n"
        "children = vocabulary.children_of_phase(own.reset_index(), 'primary').to_dict()\n"
        "deciles = own['imd_decile'].astype(float).to_dict()\n"
        "centre, zoom = mapping.zoom_for_bounds(mapping.view_bounds(data.lsoas_display))\n"
        "m = ipyleaflet.Map(center=centre, zoom=zoom, layout=ipywidgets.Layout(height='560px'))\n"
        "layer = ipyleaflet.Choropleth(geo_data=geo, choro_data=children, key_on='id', style={'fillOpacity': 0.7, 'weight': 0.6, 'color': '#555'})\n"
        "m.add(layer)\n"
        "button = ipywidgets.Button(description='Recolour')\n"
        "button.on_click(lambda _: setattr(layer, 'choro_data', deciles))\n"
        "status = ipywidgets.HTML('<p class=\"naive-ready\">ready</p>')",
    ),
    (None, "ipywidgets.VBox([status, button, m])"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Voilà started with ``atlas serve``'s command (optionally on another notebook)."""

    def __init__(self, name: str, log_dir: Path, **kwargs):
        from atlaskit.cli.serve import voila_command

        self.port = free_port()
        self.command = voila_command(port=self.port, open_browser=False, **kwargs)
        self.log = open(log_dir / f"{name}.log", "w")
        self.proc = subprocess.Popen(self.command.argv, env=self.command.env, cwd=self.command.cwd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"voila did not start: see {self.log.name}")
                time.sleep(0.2)
        self.url = self.command.url

    def kernels_idle(self, n: int, timeout_s: float = 180) -> None:
        """Wait until ``n`` kernels exist and use no CPU (a preheated pool waiting for requests)."""
        import psutil

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            kids = [c for c in psutil.Process(self.proc.pid).children(recursive=True) if "ipykernel_launcher" in " ".join(c.cmdline())]
            if len(kids) >= n and max(c.cpu_percent(interval=0.5) for c in kids) < 5:
                return
            time.sleep(0.5)
        raise RuntimeError("preheated kernels did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _local_only(route, prefix: str) -> None:
    url = route.request.url
    route.continue_() if url.startswith(prefix) or url.startswith("data:") else route.abort()


def measure_page(browser, url: str, selector: str, n: int, query: str = "") -> tuple[float, int, object, object]:
    """Open the page; return (seconds to n shapes drawn, websocket bytes received, context, page)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    prefix = url.rstrip("/")
    context.route("**/*", lambda route: _local_only(route, prefix))
    page = context.new_page()
    received = [0]

    def on_ws(ws):
        ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload)))

    page.on("websocket", on_ws)
    started = time.perf_counter()
    page.goto(url + query, wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_function(f"n => document.querySelectorAll({selector!r}).length >= n", arg=n, timeout=TIMEOUT_MS, polling="raf")
    return time.perf_counter() - started, received[0], context, page


def fills(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('fill'))")


def time_recolour(page, selector: str, action) -> float:
    before = fills(page, selector)
    started = time.perf_counter()
    action()
    page.wait_for_function(
        "([sel, before]) => { const now = Array.from(document.querySelectorAll(sel)).map(e => e.getAttribute('fill')); return now.length > 0 && now.join() !== before.join(); }",
        arg=[selector, before],
        timeout=TIMEOUT_MS,
        polling="raf",
    )
    return time.perf_counter() - started


def school_with_flows(data) -> int:
    s = data.schools
    ok = s["is_open"].fillna(False).astype(bool) & s["is_state_funded"].fillna(False).astype(bool) & s["phase"].isin(["primary", "all-through"])
    urns = s.loc[ok, "urn"].astype("int64")
    have = set(data.flows["urn"].astype("int64"))
    counts = data.flows.groupby("urn").size()
    candidates = [u for u in urns if u in have]
    if not candidates:
        raise RuntimeError(f"no primary school of {data.name} has flows")
    return max(candidates, key=lambda u: counts.get(u, 0))


def layer_bytes(code: str) -> tuple[int, int]:
    """Bytes of the map layer as sent: the app's styled GeoJSON vs the naive unsimplified GeoJSON."""
    import atlaskit
    from atlaskit.app import AtlasApp

    app = AtlasApp.for_authority(code)
    ours = len(json.dumps(app.areas.data))
    data = app.data
    own = data.lsoas[data.lsoas["in_authority"]].set_index("lsoa11_code")
    naive = len(json.dumps(json.loads(own[["geometry"]].to_crs(4326).to_json())))
    del atlaskit
    return ours, naive


def bench(code: str, browser, workdir: Path, repeats: int = 2) -> dict:
    import atlaskit

    data = atlaskit.load(code)
    n = int(data.lsoas["in_authority"].sum())
    urn = school_with_flows(data)
    result = {"authority": f"{data.name} ({code})", "lsoas": n}
    result["layer_bytes_app"], result["layer_bytes_naive"] = layer_bytes(code)

    # app, preheated (one pooled kernel per repeat; the refill is delayed so it does not compete)
    server = Server(f"app-preheated-{code}", workdir, authority=code, pool_size=repeats, fill_delay=600, cull_idle_timeout=600)
    loads, clicks = [], []
    try:
        server.kernels_idle(repeats)
        for _ in range(repeats):
            seconds, ws_bytes, context, page = measure_page(browser, server.url, "path.atlas-lsoa", n)
            loads.append(seconds)
            result["ws_bytes_app"] = ws_bytes
            page.get_by_role("button", name="Primary").click()
            marker = page.locator(f"path.atlas-school-{urn}")
            marker.wait_for(timeout=TIMEOUT_MS)
            time.sleep(0.5)
            started = time.perf_counter()
            marker.dispatch_event("click")
            page.wait_for_function("() => document.querySelectorAll('path.atlas-catchment').length > 0", timeout=TIMEOUT_MS, polling="raf")
            clicks.append(time.perf_counter() - started)
            page.wait_for_function("() => document.querySelector('.atlas-summary') !== null", timeout=TIMEOUT_MS)
            context.close()
    finally:
        server.stop()
    result["app_preheated_s"], result["app_click_s"] = min(loads), min(clicks)

    # app, kernels started on request
    server = Server(f"app-cold-{code}", workdir, authority=code, pool_size=0, cull_idle_timeout=600)
    loads = []
    try:
        for _ in range(repeats):
            seconds, _, context, _ = measure_page(browser, server.url, "path.atlas-lsoa", n)
            loads.append(seconds)
            context.close()
    finally:
        server.stop()
    result["app_cold_s"] = min(loads)

    # naive: Choropleth on unsimplified geometry, no preheating
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for tag, source in NAIVE_NOTEBOOK:
        cell = nbformat.v4.new_code_cell(source.replace('"E09000007"', json.dumps(code)) if tag else source)
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    path = workdir / f"naive_{code}.ipynb"
    nbformat.write(nb, path)
    server = Server(f"naive-{code}", workdir, authority=code, pool_size=0, cull_idle_timeout=600, notebook=path)
    loads, clicks = [], []
    try:
        for _ in range(repeats):
            seconds, ws_bytes, context, page = measure_page(browser, server.url, ".leaflet-overlay-pane path.leaflet-interactive", n)
            loads.append(seconds)
            result["ws_bytes_naive"] = ws_bytes
            time.sleep(0.5)
            clicks.append(time_recolour(page, ".leaflet-overlay-pane path.leaflet-interactive", lambda: page.get_by_role("button", name="Recolour").click()))
            context.close()
    finally:
        server.stop()
    result["naive_s"], result["naive_click_s"] = min(loads), min(clicks)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("authorities", nargs="*", default=["E09000007", "E10000016"], help="ONS codes (default: Camden and Kent)")
    parser.add_argument("--repeats", type=int, default=2, help="page loads per configuration; the best is reported (the first load in a fresh browser also pays its JS compile)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="atlas-bench-") as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for code in args.authorities:
                row = bench(code, browser, Path(tmp), args.repeats)
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            browser.close()
    print()
    print(f"{'authority':<28} {'LSOAs':>5} | {'app preheated s':>15} {'app cold s':>10} {'naive s':>8} | {'naive/preheated':>15} {'naive/cold':>10} | {'click app s':>11} {'click naive s':>13} {'ratio':>6} | {'layer KB app':>12} {'naive':>8} {'ratio':>6} | {'ws KB app':>9} {'naive':>8}")
    for r in rows:
        print(
            f"{r['authority']:<28} {r['lsoas']:>5} | {r['app_preheated_s']:>15.2f} {r['app_cold_s']:>10.2f} {r['naive_s']:>8.2f} | "
            f"{r['naive_s'] / r['app_preheated_s']:>14.1f}x {r['naive_s'] / r['app_cold_s']:>9.1f}x | "
            f"{r['app_click_s']:>11.2f} {r['naive_click_s']:>13.2f} {r['naive_click_s'] / r['app_click_s']:>5.1f}x | "
            f"{r['layer_bytes_app'] / 1024:>12.0f} {r['layer_bytes_naive'] / 1024:>8.0f} {r['layer_bytes_naive'] / r['layer_bytes_app']:>5.1f}x | "
            f"{r['ws_bytes_app'] / 1024:>9.0f} {r['ws_bytes_naive'] / 1024:>8.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
