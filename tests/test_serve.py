"""``atlas serve``: the Voilà configuration of the public service (no server started here)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from atlaskit import config
from atlaskit.cli import app as cli_app
from atlaskit.cli.serve import MIN_CULL_IDLE_TIMEOUT_S, voila_command


def _options(argv: list[str]) -> dict[str, str]:
    return dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)


def test_public_service_configuration():
    command = voila_command(port=9001, authority="E10000016", pool_size=3)
    opts = _options(command.argv)
    assert command.argv[3] == str(config.notebooks_dir() / "atlas.ipynb")  # one notebook: only notebooks/ is served
    assert opts["Voila.ip"] == "127.0.0.1" and opts["port"] == "9001"
    assert opts["VoilaConfiguration.show_tracebacks"] == "False"
    assert opts["VoilaConfiguration.strip_sources"] == "True"
    assert opts["preheat_kernel"] == "True" and opts["pool_size"] == "3"
    assert int(opts["MappingKernelManager.cull_idle_timeout"]) >= MIN_CULL_IDLE_TIMEOUT_S
    assert opts["MappingKernelManager.cull_busy"] == "False"  # pooled kernels wait busy: never culled
    assert opts["MappingKernelManager.cull_connected"] == "False"
    assert command.env["ATLAS_SERVE_AUTHORITY"] == "E10000016"
    assert command.url == "http://127.0.0.1:9001/"


def test_no_pool_means_no_preheating():
    opts = _options(voila_command(pool_size=0).argv)
    assert "preheat_kernel" not in opts and "pool_size" not in opts


@pytest.mark.parametrize(
    "kwargs, message",
    [({"port": 0}, "port"), ({"pool_size": -1}, "pool_size"), ({"cull_idle_timeout": 5}, "cull_idle_timeout"), ({"cull_interval": 0}, "cull_interval")],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        voila_command(**kwargs)


def test_cli_help_lists_options():
    result = CliRunner().invoke(cli_app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--authority", "--no-browser", "--pool-size", "--cull-idle-timeout"):
        assert option in result.output


def test_notebook_is_thin_and_parameterised():
    import nbformat

    nb = nbformat.read(config.notebooks_dir() / "atlas.ipynb", as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "code" and "parameters" in first.metadata.get("tags", [])
    assert first.source.strip() == 'authority = "E09000007"'
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "def " not in code and "class " not in code and "lambda" not in code
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_a_stop_request_reaches_the_server_and_nothing_is_left_running(tmp_path):
    """SIGTERM to ``atlas serve`` (what a service manager sends) stops the server it runs too."""
    import os
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "child.pid"
    server = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    runner = f"import sys; from atlaskit.cli.serve import run_until_stopped; sys.exit(-run_until_stopped([sys.executable, '-c', {server!r}]))"
    parent = subprocess.Popen([sys.executable, "-c", runner])
    deadline = time.monotonic() + 30
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    child_pid = int(marker.read_text())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == signal.SIGTERM  # the server's own end: killed by the forwarded SIGTERM
    time.sleep(0.2)
    try:
        os.kill(child_pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
