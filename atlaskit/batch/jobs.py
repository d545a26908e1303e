"""One report job: the notebook executed for one authority with papermill, converted to static HTML.

A worker runs :func:`execute_job` and returns the executed notebook and its HTML as text (never
raises); the parent alone writes files (:mod:`atlaskit.batch.index`).
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from dataclasses import dataclass

__all__ = [
    "DEFAULT_START_TIMEOUT",
    "DEFAULT_EXECUTION_TIMEOUT",
    "ReportJob",
    "JobFailure",
    "JobOutcome",
    "notebook_to_html",
    "execute_job",
]

#: Seconds allowed for a kernel to start (per notebook, per attempt).
DEFAULT_START_TIMEOUT = 120
#: Seconds allowed for any one cell (per notebook).
DEFAULT_EXECUTION_TIMEOUT = 600
_PORT_RACE_MARKERS = ("Address already in use", "EADDRINUSE")


@dataclass(frozen=True)
class ReportJob:
    """One notebook to execute for one authority.

    Attributes:
        code: authority ONS code (the report's file stem).
        name: authority name (for the index).
        notebook_json: the notebook to execute, as nbformat JSON text.
        parameters: papermill parameters injected after the ``parameters`` cell.
        fingerprint: sha256 of the inputs, recorded with the report.
        title: HTML page title.
        kernel_name: Jupyter kernel to run (default ``python3``, the running interpreter).
        start_timeout: seconds for the kernel to start.
        execution_timeout: seconds for any one cell.
        transport: ``"ipc"`` (default: kernel sockets are files, no TCP port race) or ``"tcp"``.
    """

    code: str
    name: str
    notebook_json: str
    parameters: dict
    fingerprint: str
    title: str = ""
    kernel_name: str = "python3"
    start_timeout: float = DEFAULT_START_TIMEOUT
    execution_timeout: float = DEFAULT_EXECUTION_TIMEOUT
    transport: str = "ipc"


@dataclass(frozen=True)
class JobFailure:
    """Why a report failed.

    Attributes:
        stage: ``parameters`` (file did not validate), ``execution`` (a cell raised),
            ``timeout``, ``kernel`` (kernel did not start or died), ``convert`` (HTML export),
            ``write`` or ``worker`` (the worker process itself was lost).
        ename: exception class name.
        evalue: exception message.
        cell_index: index of the failing cell in the executed notebook (the cell after the
            injected parameters counts), or None when no cell was reached.
        cell_source: first line of the failing cell's source, or "".
    """

    stage: str
    ename: str
    evalue: str
    cell_index: int | None = None
    cell_source: str = ""

    def describe(self) -> str:
        """Return a one-line description (``cell 3 (report.maps_section(ctx)): KeyError: 'x'``)."""
        where = f"cell {self.cell_index}" if self.cell_index is not None else self.stage
        if self.cell_source:
            where += f" ({self.cell_source})"
        return f"{where}: {self.ename}: {self.summary()}"

    def summary(self, limit: int = 300) -> str:
        """Return the error message on one line, cut at ``limit`` characters."""
        text = " ".join(str(self.evalue).split())
        return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class JobOutcome:
    """What a worker returns: the executed notebook and its HTML, or a failure."""

    code: str
    ok: bool
    seconds: float
    attempts: int = 1
    html: str | None = None
    ipynb: str | None = None
    failure: JobFailure | None = None


_HTML_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{% block extra_css %}
<style type="text/css">
  body { max-width: 70rem; margin: 0 auto; padding: 0 1rem; }
  .atlas-figure img { max-width: 100%; height: auto; }
  .atlas-figure figcaption, .atlas-note { color: #444; font-size: 0.9em; }
  .atlas-note { border-left: 4px solid #d08c00; padding: 0.3em 0.8em; background: #fff8e6; }
  .jp-RenderedHTMLCommon table.atlas-table { border-collapse: collapse; margin: 0.5em 0 1em 0; table-layout: auto; }
  .jp-RenderedHTMLCommon table.atlas-table th, .jp-RenderedHTMLCommon table.atlas-table td {
    padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; max-width: 30rem;
    overflow-wrap: break-word; }
  .jp-RenderedHTMLCommon table.atlas-table td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .jp-RenderedHTMLCommon table.atlas-table caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
</style>
{% endblock extra_css %}
"""


def notebook_to_html(nb, title: str = "") -> str:
    """Convert an executed notebook to self-contained static HTML with the code cells hidden.

    No script is loaded from a CDN (require.js, MathJax, Mermaid and widget loaders are left out
    of the ``lab`` template); images are the PNGs embedded in the outputs.

    Args:
        nb: an ``nbformat.NotebookNode``.
        title: the page title.

    Returns:
        The HTML document.
    """
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        template_file="atlas_report.html.j2",
        extra_loaders=[jinja2.DictLoader({"atlas_report.html.j2": _HTML_TEMPLATE})],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or "Schools Atlas report"}})
    return body


def _is_port_race(exc: BaseException) -> bool:
    """Return True when a kernel failed to start because its port was taken ("Address already in use")."""
    text = f"{type(exc).__name__}: {exc}"
    if any(m in text for m in _PORT_RACE_MARKERS):
        return True
    errno = getattr(exc, "errno", None)
    return errno == 98  # EADDRINUSE on Linux


def _first_line(source: str) -> str:
    """Return the first non-blank line of a cell's source (at most 120 characters), or ""."""
    for line in (source or "").splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


def _failure_from(exc: BaseException) -> JobFailure:
    """Classify an exception raised while executing a notebook."""
    from papermill.exceptions import PapermillExecutionError

    name = type(exc).__name__
    if isinstance(exc, PapermillExecutionError):
        return JobFailure("execution", exc.ename, str(exc.evalue)[:2000], exc.cell_index, _first_line(exc.source))
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return JobFailure("timeout", name, str(exc)[:2000])
    if "Kernel" in name or "kernel" in str(exc).lower() or _is_port_race(exc):
        return JobFailure("kernel", name, str(exc)[:2000])
    return JobFailure("execution", name, str(exc)[:2000])


@functools.lru_cache(maxsize=1)
def _ipc_kernel_manager_class():
    """Return a kernel manager class talking to its kernel over IPC sockets instead of TCP ports.

    IPC sockets are files in the Jupyter runtime folder, so parallel kernels cannot race for a
    TCP port ("Address already in use"), and the kernel does not warn about unencrypted TCP.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self):
            return "ipc"

    return IPCKernelManager


def _execute_once(job: ReportJob, cwd: str, output_path: str | None = None):
    """Execute the job's notebook once with papermill and return the executed NotebookNode.

    On a cell error papermill writes the notebook (with error markers) to ``output_path``
    before raising :class:`papermill.exceptions.PapermillExecutionError`.
    """
    import nbformat
    import papermill

    nb = nbformat.reads(job.notebook_json, as_version=4)
    return papermill.execute_notebook(
        nb,
        output_path,
        parameters=dict(job.parameters),
        request_save_on_cell_execute=False,
        kernel_name=job.kernel_name,
        progress_bar=False,
        start_timeout=job.start_timeout,
        execution_timeout=job.execution_timeout,
        cwd=cwd,
        shutdown_kernel="immediate",
        **({"kernel_manager_class": _ipc_kernel_manager_class()} if job.transport == "ipc" else {}),
    )


def execute_job(job: ReportJob) -> JobOutcome:
    """Execute one report notebook and convert it to HTML (runs in a worker; never raises).

    Retries once when the kernel hits the ZMQ port race ("Address already in use").

    Args:
        job: the :class:`ReportJob`.

    Returns:
        A :class:`JobOutcome` with the executed notebook and HTML as text, or the failure.
    """
    import nbformat

    start = time.perf_counter()
    attempts = 0
    nb = None
    with tempfile.TemporaryDirectory(prefix=f"atlas-report-{job.code}-") as cwd:
        failed_nb = os.path.join(cwd, f"{job.code}.failed.ipynb")
        while True:
            attempts += 1
            try:
                nb = _execute_once(job, cwd, failed_nb)
                break
            except Exception as exc:  # collected, never raised: the batch goes on
                if attempts == 1 and _is_port_race(exc):
                    time.sleep(0.2)
                    continue
                partial = None
                try:
                    with open(failed_nb, encoding="utf-8") as handle:
                        partial = handle.read()
                except OSError:
                    pass
                return JobOutcome(
                    job.code, False, time.perf_counter() - start, attempts, ipynb=partial, failure=_failure_from(exc)
                )
    try:
        html = notebook_to_html(nb, job.title or job.code)
        ipynb = nbformat.writes(nb)
    except Exception as exc:
        return JobOutcome(
            job.code, False, time.perf_counter() - start, attempts, failure=JobFailure("convert", type(exc).__name__, str(exc)[:2000])
        )
    return JobOutcome(job.code, True, time.perf_counter() - start, attempts, html=html, ipynb=ipynb)


def _warm_worker() -> None:
    """Pool initializer: ignore Ctrl-C (the parent stops the workers) and import papermill and nbconvert once per worker process."""
    from atlaskit.batch.stopping import ignore_interrupts

    ignore_interrupts()
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401
