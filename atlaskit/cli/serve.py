"""``atlas serve``: the Atlas app (``notebooks/atlas.ipynb``) served by Voilà as a public service.

Single-notebook mode at ``/`` (``?authority=CODE`` picks the authority), no tracebacks or sources,
loopback by default, preheated kernels and idle culling; ``notebooks/methods/app.md`` says why
each setting is what it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer

from atlaskit import config
from atlaskit.cli import app

#: Defaults of the public service.
DEFAULT_PORT = 8866
DEFAULT_POOL_SIZE = 2
DEFAULT_CULL_IDLE_TIMEOUT_S = 300
DEFAULT_CULL_INTERVAL_S = 30
#: Shortest idle timeout accepted: well above the app's keep-alive interval (3 s, see
#: ``AtlasApp.keep_alive_until_shown``), which keeps a kernel active until its page has drawn.
MIN_CULL_IDLE_TIMEOUT_S = 10


@dataclass(frozen=True)
class VoilaCommand:
    """The Voilà command line and environment ``atlas serve`` runs (also used by the browser tests)."""

    argv: list[str]
    env: dict[str, str] = field(repr=False)
    url: str
    cwd: Path


def voila_command(
    port: int = DEFAULT_PORT,
    authority: str = config.DEFAULT_AUTHORITY,
    open_browser: bool = False,
    pool_size: int = DEFAULT_POOL_SIZE,
    cull_idle_timeout: int = DEFAULT_CULL_IDLE_TIMEOUT_S,
    cull_interval: int = DEFAULT_CULL_INTERVAL_S,
    ip: str = "127.0.0.1",
    notebook: Path | None = None,
    fill_delay: float = 5.0,
    extra_env: dict[str, str] | None = None,
) -> VoilaCommand:
    """Return the Voilà command for the Atlas app.

    Args:
        port: TCP port.
        authority: the current ONS code preloaded by the preheated kernels.
        open_browser: open a browser tab on start.
        pool_size: preheated kernels kept ready (0 turns preheating off); each holds about 225 MB.
        cull_idle_timeout: seconds a kernel without a page may stay idle before it is shut down.
        cull_interval: seconds between cull checks.
        ip: interface to listen on (loopback by default).
        fill_delay: seconds before a used pooled kernel is replaced (the replacement runs the
            notebook, CPU-heavy: delaying it keeps the just-served page fast on small machines).
        notebook: the app notebook (default ``notebooks/atlas.ipynb``).
        extra_env: more environment variables for the server and its kernels.

    Returns:
        :class:`VoilaCommand`.

    Raises:
        ValueError: a bad port, pool size or culling setting.
    """
    if not 0 < int(port) < 65536:
        raise ValueError(f"port must be 1-65535, got {port}")
    if pool_size < 0:
        raise ValueError(f"pool_size must be >= 0, got {pool_size}")
    if cull_idle_timeout < MIN_CULL_IDLE_TIMEOUT_S:
        raise ValueError(f"cull_idle_timeout must be >= {MIN_CULL_IDLE_TIMEOUT_S} s (above the app's keep-alive interval), got {cull_idle_timeout}")
    if cull_interval <= 0:
        raise ValueError(f"cull_interval must be > 0 s, got {cull_interval}")
    nb = Path(notebook) if notebook is not None else config.notebooks_dir() / "atlas.ipynb"
    argv = [
        sys.executable,
        "-m",
        "voila",
        str(nb),
        f"--port={int(port)}",
        f"--Voila.ip={ip}",
        f"--Voila.open_browser={open_browser}",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.strip_sources=True",
        f"--MappingKernelManager.cull_idle_timeout={int(cull_idle_timeout)}",
        f"--MappingKernelManager.cull_interval={int(cull_interval)}",
        "--MappingKernelManager.cull_busy=False",
        "--MappingKernelManager.cull_connected=False",
    ]
    if pool_size > 0:
        argv += ["--preheat_kernel=True", f"--pool_size={int(pool_size)}", f"--VoilaKernelManager.fill_delay={float(fill_delay)}"]
    from atlaskit.app.query import SERVE_AUTHORITY_ENV

    env = dict(os.environ)
    env[SERVE_AUTHORITY_ENV] = authority
    env.setdefault("PYTHONUNBUFFERED", "1")
    if extra_env:
        env.update(extra_env)
    return VoilaCommand(argv=argv, env=env, url=f"http://{ip}:{int(port)}/", cwd=config.PROJECT_ROOT)


@app.command()
def serve(
    port: int = typer.Option(DEFAULT_PORT, "--port", help="TCP port of the app."),
    authority: str = typer.Option(config.DEFAULT_AUTHORITY, "--authority", help="Authority preloaded in the preheated kernels (code or name); pages pick others with ?authority=CODE."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser tab."),
    pool_size: int = typer.Option(DEFAULT_POOL_SIZE, "--pool-size", help="Preheated kernels kept ready (0: off; about 225 MB each)."),
    cull_idle_timeout: int = typer.Option(DEFAULT_CULL_IDLE_TIMEOUT_S, "--cull-idle-timeout", help="Seconds before the kernel of a closed page is shut down."),
    cull_interval: int = typer.Option(DEFAULT_CULL_INTERVAL_S, "--cull-interval", help="Seconds between checks for idle kernels."),
    ip: str = typer.Option("127.0.0.1", "--ip", help="Interface to listen on (loopback by default; use a reverse proxy for the internet)."),
) -> None:
    """Serve the Atlas app with Voilà at http://127.0.0.1:PORT/ (``?authority=CODE`` picks the authority)."""
    import atlaskit

    code = atlaskit.resolve_authority(authority)
    try:
        command = voila_command(port, code, not no_browser, pool_size, cull_idle_timeout, cull_interval, ip)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"Schools Atlas: {command.url}  (default authority {code}; Ctrl-C to stop)")
    returncode = run_until_stopped(command.argv, command.env, command.cwd)
    if returncode not in (0, -2, -15, 130, 143):
        raise typer.Exit(returncode)


def run_until_stopped(argv: list[str], env: dict | None = None, cwd: str | Path | None = None) -> int:
    """Run a server process until it ends, passing a stop request on to it.

    A service manager stops ``atlas serve`` with SIGTERM (or SIGHUP when a terminal closes);
    the server (Voila and its kernels) gets the same signal and is waited for, so nothing is
    left running. Ctrl-C reaches the whole process group; the server is then waited for too.

    Args:
        argv: the command line.
        env: its environment (None: this one's).
        cwd: its working folder.

    Returns:
        The server's exit code (negative: the signal that ended it).
    """
    import signal

    child = subprocess.Popen(argv, env=env, cwd=cwd)

    def forward(signum, _frame):
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:  # Ctrl-C: the server got it too; wait for it to stop
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
