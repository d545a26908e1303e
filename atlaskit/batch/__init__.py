"""Run the report notebook for many authorities: a local process pool or a Dask cluster.

One *job* is one authority: its validated parameters, the notebook's JSON, and the timeouts.
A worker (:func:`execute_job`) executes the notebook with ``papermill.execute_notebook`` (never a
shell per notebook: importing papermill alone costs 1.5 s), converts it to static HTML with the
code cells hidden, and returns both as text; the parent (:func:`run_batch`) alone writes files,
each to a temporary name then ``os.replace``, so an interrupted batch leaves no half-written
report, and workers on a cluster need no shared file system for outputs.

Failures never stop the batch: a parameter file that does not validate, a cell that raises
(``PapermillExecutionError``: cell index, exception name and value), a kernel that does not start
or a cell that times out are collected and listed in ``<out>/index.html``. A kernel start that
hits the ZMQ port race ("Address already in use") is retried once.

A report is *up to date* when its recorded fingerprint (sha256 of the parameter file, the
notebook, the live store build and the atlaskit version) matches the current one; such reports
are skipped unless ``force=True``. Per-report state lives in ``<out>/.state/<CODE>.json``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import html as _html
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from atlaskit import __version__, config
from atlaskit.errors import AtlasError, ParameterError

__all__ = [
    "ReportJob",
    "JobFailure",
    "JobOutcome",
    "BatchResult",
    "execute_job",
    "notebook_to_html",
    "fingerprint",
    "store_build_id",
    "plan_batch",
    "run_batch",
    "write_index",
    "default_output_dir",
]

#: Seconds allowed for a kernel to start (per notebook, per attempt).
DEFAULT_START_TIMEOUT = 120
#: Seconds allowed for any one cell (per notebook).
DEFAULT_EXECUTION_TIMEOUT = 600

STATE_DIR = ".state"
_PORT_RACE_MARKERS = ("Address already in use", "EADDRINUSE")


def default_output_dir() -> Path:
    """Return the default folder of the reports: ``<project>/reports`` (git-ignored)."""
    return config.PROJECT_ROOT / "reports"


# --------------------------------------------------------------------------------------------
# Jobs and outcomes (plain dataclasses: picklable for a process pool and for Dask)


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
        """Return a one-line description (``cell 3 (report.children_map(ctx)): KeyError: 'x'``)."""
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


# --------------------------------------------------------------------------------------------
# The worker side


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
    text = f"{type(exc).__name__}: {exc}"
    if any(m in text for m in _PORT_RACE_MARKERS):
        return True
    errno = getattr(exc, "errno", None)
    return errno == 98  # EADDRINUSE on Linux


def _first_line(source: str) -> str:
    for line in (source or "").splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


def _failure_from(exc: BaseException) -> JobFailure:
    """Classify an exception raised while executing a notebook."""
    name = type(exc).__name__
    try:
        from papermill.exceptions import PapermillExecutionError
    except ImportError:  # pragma: no cover - papermill is a dependency
        PapermillExecutionError = ()  # type: ignore[assignment]
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
    """Pool initializer: import papermill and nbconvert once per worker process."""
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401


# --------------------------------------------------------------------------------------------
# Inputs, fingerprints and state


def store_build_id() -> str:
    """Return the name of the live store build (``build-...``), or ``"no-store"``."""
    from atlaskit.store import current_folder
    from atlaskit.errors import StoreMissing

    try:
        return current_folder().name
    except StoreMissing:
        return "no-store"


def fingerprint(parameters_bytes: bytes, notebook_bytes: bytes, build_id: str) -> str:
    """Return the sha256 of a report's inputs: parameter file, notebook, store build, atlaskit version."""
    digest = hashlib.sha256()
    for part in (parameters_bytes, b"\0", notebook_bytes, b"\0", build_id.encode(), b"\0", __version__.encode()):
        digest.update(part)
    return digest.hexdigest()


def _default_load_parameters(path: Path) -> dict:
    """Validate a parameter file with :func:`atlaskit.parameters.load_parameters` (plain YAML if absent)."""
    try:
        from atlaskit.parameters import load_parameters
    except ModuleNotFoundError as exc:
        if exc.name != "atlaskit.parameters":
            raise
        import yaml

        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ParameterError(f"{path}: not valid YAML: {err}") from None
        if not isinstance(data, dict):
            raise ParameterError(f"{path}: expected a mapping of parameter names to values")
        return data
    params = load_parameters(path)
    return params.model_dump(mode="json") if hasattr(params, "model_dump") else dict(params)


def _store_names() -> dict[str, str]:
    """Authority names by code from the store (for failures whose parameter file could not be read), or {}."""
    try:
        from atlaskit.store.loaders import authorities

        table = authorities()
        return dict(zip(table["authority_code"], table["authority_name"]))
    except Exception:  # noqa: BLE001 - names are a nicety on the index page
        return {}


def _read_state(out_dir: Path, code: str) -> dict | None:
    path = out_dir / STATE_DIR / f"{code}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _atomic_write(path: Path, text: str) -> None:
    """Write text to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; reports are for sharing
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------
# Planning and running a batch


@dataclass
class BatchResult:
    """What a batch did.

    Attributes:
        out_dir: the output folder.
        built: codes whose report was (re)built in this run.
        skipped: codes whose report was already up to date.
        failed: failures by code.
        seconds: wall-clock seconds of the whole batch.
        job_seconds: seconds per built or failed job (worker time).
        index: path of the index page.
    """

    out_dir: Path
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, JobFailure] = field(default_factory=dict)
    seconds: float = 0.0
    job_seconds: dict[str, float] = field(default_factory=dict)
    index: Path | None = None

    @property
    def ok(self) -> bool:
        """True when no report failed."""
        return not self.failed


def plan_batch(
    codes: Sequence[str],
    out_dir: Path,
    notebook: Path,
    parameters_dir: Path,
    force: bool = False,
    kernel_name: str = "python3",
    start_timeout: float = DEFAULT_START_TIMEOUT,
    execution_timeout: float = DEFAULT_EXECUTION_TIMEOUT,
    load_parameters: Callable[[Path], dict] | None = None,
    build_id: str | None = None,
) -> tuple[list[ReportJob], list[str], dict[str, JobFailure], dict[str, str]]:
    """Decide what to run: validate each parameter file and skip reports up to date.

    Args:
        codes: authority codes; each needs ``parameters_dir/<CODE>.yaml``.
        out_dir: output folder (reports and their state).
        notebook: the notebook to execute.
        parameters_dir: folder of parameter files.
        force: rebuild even reports that are up to date.
        kernel_name, start_timeout, execution_timeout: passed to each job.
        load_parameters: parses and validates one parameter file into a dict, raising
            :class:`ParameterError` (default :func:`atlaskit.parameters.load_parameters`).
        build_id: the store build's id (default :func:`store_build_id`).

    Returns:
        ``(jobs, skipped codes, failures by code, names by code)``.
    """
    load_parameters = load_parameters or _default_load_parameters
    notebook_bytes = Path(notebook).read_bytes()
    notebook_json = notebook_bytes.decode("utf-8")
    build_id = build_id if build_id is not None else store_build_id()
    jobs: list[ReportJob] = []
    skipped: list[str] = []
    failures: dict[str, JobFailure] = {}
    names: dict[str, str] = {}
    for code in dict.fromkeys(codes):  # de-duplicated, order kept
        path = Path(parameters_dir) / f"{code}.yaml"
        try:
            parameters_bytes = path.read_bytes()
        except OSError as exc:
            failures[code] = JobFailure(
                "parameters", "ParameterError", f"no parameter file {path} ({exc.strerror}): run `atlas parameters` to write it"
            )
            continue
        digest = fingerprint(parameters_bytes, notebook_bytes, build_id)
        state = _read_state(out_dir, code)
        if not force and state and state.get("status") == "ok" and state.get("fingerprint") == digest and (out_dir / f"{code}.html").is_file():
            skipped.append(code)
            names[code] = state.get("name", "")
            continue
        try:
            parameters = load_parameters(path)
        except (AtlasError, ValueError, TypeError) as exc:
            failures[code] = JobFailure("parameters", type(exc).__name__, str(exc)[:2000])
            continue
        name = str(parameters.get("authority_name") or code)
        names[code] = name
        jobs.append(
            ReportJob(
                code=code,
                name=name,
                notebook_json=notebook_json,
                parameters=parameters,
                fingerprint=digest,
                title=str(parameters.get("report_title") or f"Schools Atlas: {name}"),
                kernel_name=kernel_name,
                start_timeout=start_timeout,
                execution_timeout=execution_timeout,
            )
        )
    return jobs, skipped, failures, names


def _store_outcome(out_dir: Path, job: ReportJob, outcome: JobOutcome) -> JobOutcome:
    """Write a finished job's files atomically (HTML last, then state) and return the outcome."""
    state = {
        "code": job.code,
        "name": job.name,
        "fingerprint": job.fingerprint,
        "finished_at": _now(),
        "seconds": round(outcome.seconds, 3),
        "attempts": outcome.attempts,
    }
    try:
        if outcome.ok:
            _atomic_write(out_dir / f"{job.code}.ipynb", outcome.ipynb or "")
            _atomic_write(out_dir / f"{job.code}.html", outcome.html or "")
            (out_dir / f"{job.code}.failed.ipynb").unlink(missing_ok=True)
            state["status"] = "ok"
        else:
            if outcome.ipynb:  # the executed notebook up to the failing cell, for debugging
                _atomic_write(out_dir / f"{job.code}.failed.ipynb", outcome.ipynb)
            state["status"] = "failed"
            state["failure"] = asdict(outcome.failure) if outcome.failure else None
        _atomic_write(out_dir / STATE_DIR / f"{job.code}.json", json.dumps(state, indent=1))
    except OSError as exc:
        return JobOutcome(job.code, False, outcome.seconds, outcome.attempts, failure=JobFailure("write", type(exc).__name__, str(exc)))
    return outcome


def _safe_key(text: str) -> str:
    """Return ``text`` fit for a file name and an index row: letters, digits, ``-`` and ``_`` (at most 60)."""
    key = re.sub(r"[^A-Za-z0-9_-]+", "_", str(text)).strip("_")[:60]
    return key or "unnamed"


def _record_failure(out_dir: Path, code: str, name: str, failure: JobFailure) -> None:
    state = {"code": code, "name": name, "status": "failed", "finished_at": _now(), "failure": asdict(failure)}
    _atomic_write(out_dir / STATE_DIR / f"{code}.json", json.dumps(state, indent=1))


class _Progress:
    """A rich progress bar: done / failed / remaining and time left (no-op when disabled)."""

    def __init__(self, total: int, enabled: bool, failed: int = 0, skipped: int = 0):
        self.done, self.failed, self.skipped = 0, failed, skipped
        self._failed_before = failed  # parameter files that did not validate: failed before any run
        self.total = total
        self._progress = None
        if enabled and total:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("reports"),
                BarColumn(),
                TextColumn(
                    "{task.fields[done]} done, {task.fields[failed]} failed, {task.fields[remaining]} remaining"
                    + (f" ({skipped} up to date)" if skipped else "")
                ),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._progress.add_task("reports", total=total, done=0, failed=failed, remaining=total)

    def __enter__(self):
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress:
            self._progress.stop()

    def advance(self, ok: bool) -> None:
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if self._progress:
            remaining = self.total - self.done - (self.failed - self._failed_before)
            self._progress.update(self._task, advance=1, done=self.done, failed=self.failed, remaining=remaining)


def _iter_local(jobs: list[ReportJob], workers: int) -> Iterable[tuple[ReportJob, JobOutcome]]:
    """Run jobs on a local process pool (spawned workers), yielding as each finishes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn"), initializer=_warm_worker)
    try:
        futures = {pool.submit(execute_job, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                outcome = future.result()
            except BrokenProcessPool as exc:
                outcome = JobOutcome(job.code, False, 0.0, failure=JobFailure("worker", type(exc).__name__, str(exc) or "worker process died"))
            except Exception as exc:  # pragma: no cover - execute_job does not raise
                outcome = JobOutcome(job.code, False, 0.0, failure=JobFailure("worker", type(exc).__name__, str(exc)))
            yield job, outcome
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _iter_dask(jobs: list[ReportJob], scheduler) -> Iterable[tuple[ReportJob, JobOutcome]]:
    """Run jobs on a Dask distributed cluster (scheduler address or Client), yielding as each finishes."""
    from distributed import Client, as_completed

    own_client = not isinstance(scheduler, Client)
    client = Client(scheduler) if own_client else scheduler
    try:
        token = hashlib.sha256(f"{os.getpid()}-{time.time()}".encode()).hexdigest()[:10]
        futures = client.map(execute_job, jobs, key=[f"atlas-report-{job.code}-{token}" for job in jobs], pure=False, retries=0)
        by_key = {future.key: job for future, job in zip(futures, jobs)}
        for future in as_completed(futures):
            job = by_key[future.key]
            try:
                outcome = future.result()
            except Exception as exc:  # KilledWorker, worker lost, cancelled
                outcome = JobOutcome(job.code, False, 0.0, failure=JobFailure("worker", type(exc).__name__, str(exc)[:2000]))
            yield job, outcome
    finally:
        if own_client:
            client.close()


def run_batch(
    codes: Sequence[str],
    out_dir: Path | None = None,
    notebook: Path | None = None,
    parameters_dir: Path | None = None,
    workers: int = 2,
    scheduler=None,
    force: bool = False,
    start_timeout: float = DEFAULT_START_TIMEOUT,
    execution_timeout: float = DEFAULT_EXECUTION_TIMEOUT,
    kernel_name: str = "python3",
    progress: bool = False,
    load_parameters: Callable[[Path], dict] | None = None,
    on_outcome: Callable[[str, JobOutcome], None] | None = None,
    failed_before: Mapping[str, JobFailure] | None = None,
) -> BatchResult:
    """Build the reports of several authorities, collecting failures, and write the index page.

    Args:
        codes: authority codes.
        out_dir: output folder (default ``<project>/reports``); gets ``<CODE>.html``,
            ``<CODE>.ipynb``, ``index.html`` and ``.state/``.
        notebook: the notebook (default ``notebooks/report.ipynb``).
        parameters_dir: folder of ``<CODE>.yaml`` files (default ``config.parameters_dir()``).
        workers: worker processes of the local pool (ignored with ``scheduler``).
        scheduler: a Dask scheduler address (``tcp://host:8786``) or ``distributed.Client``;
            None runs a local process pool.
        force: rebuild reports that are up to date.
        start_timeout: seconds for each kernel to start.
        execution_timeout: seconds for any one cell.
        kernel_name: Jupyter kernel name.
        progress: show a progress bar (done / failed / remaining, time left).
        load_parameters: parameter-file validator (see :func:`plan_batch`).
        on_outcome: called as ``on_outcome(code, outcome)`` after each job.
        failed_before: failures found before the batch, by the text the user gave (e.g. a
            code that names no authority): listed on the index page and in the result like
            any other; the rest still run. Keys are made safe for file names.

    Returns:
        A :class:`BatchResult`; ``result.ok`` is False when any report failed.

    Raises:
        KeyboardInterrupt: re-raised after the index is written; finished reports are kept and no
            report is left half-written.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir) if out_dir else default_output_dir()
    notebook = Path(notebook) if notebook else config.notebooks_dir() / "report.ipynb"
    parameters_dir = Path(parameters_dir) if parameters_dir else config.parameters_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs, skipped, failures, names = plan_batch(
        codes, out_dir, notebook, parameters_dir, force, kernel_name, start_timeout, execution_timeout, load_parameters
    )
    result = BatchResult(out_dir=out_dir, skipped=skipped)
    for given, failure in (failed_before or {}).items():
        failures[_safe_key(given)] = failure
    known = _store_names() if failures else {}
    for code, failure in failures.items():
        _record_failure(out_dir, code, names.get(code) or known.get(code, ""), failure)
        result.failed[code] = failure
    try:
        with _Progress(len(jobs), progress, failed=len(failures), skipped=len(skipped)) as bar:
            if jobs:
                runner = _iter_dask(jobs, scheduler) if scheduler is not None else _iter_local(jobs, workers)
                for job, outcome in runner:
                    outcome = _store_outcome(out_dir, job, outcome)
                    result.job_seconds[job.code] = outcome.seconds
                    if outcome.ok:
                        result.built.append(job.code)
                    else:
                        result.failed[job.code] = outcome.failure or JobFailure("worker", "Error", "unknown failure")
                    bar.advance(outcome.ok)
                    if on_outcome:
                        on_outcome(job.code, outcome)
    finally:
        result.seconds = time.perf_counter() - start
        result.index = write_index(out_dir, current=result)
    return result


# --------------------------------------------------------------------------------------------
# The index page


def _evalue_html(evalue: str) -> str:
    """An error message for the index: its first line, the rest folded in a <details>."""
    summary = JobFailure("", "", evalue).summary()
    if summary == evalue.strip():
        return _html.escape(evalue)
    return f"{_html.escape(summary)}<details><summary>full message</summary><pre>{_html.escape(evalue)}</pre></details>"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _code(source: str) -> str:
    """A failing cell's first line as <code>, or nothing (no empty code box) when no cell ran."""
    return f"<code>{_html.escape(source)}</code>" if source else ""


def write_index(out_dir: Path, current: BatchResult | None = None) -> Path:
    """Write ``<out>/index.html``: every report in the folder, and each failure with its cell and error.

    Args:
        out_dir: the reports folder (reads ``.state/*.json``).
        current: the batch just run (its counts head the page).

    Returns:
        The path of the index page (self-contained, no scripts).
    """
    out_dir = Path(out_dir)
    states = []
    for path in sorted((out_dir / STATE_DIR).glob("*.json")):
        try:
            states.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    esc = _html.escape
    ok_rows, failed_rows = [], []
    for state in states:
        code = state.get("code", "")
        name = state.get("name") or ""
        html_path = out_dir / f"{code}.html"
        if state.get("status") == "ok" and html_path.is_file():
            ok_rows.append(
                f'<tr><td><a href="{esc(code)}.html">{esc(code)}</a></td><td>{esc(name)}</td>'
                f'<td>{esc(str(state.get("finished_at", "")))}</td><td class="num">{state.get("seconds", "")}</td>'
                f'<td><a href="{esc(code)}.ipynb">notebook</a></td></tr>'
            )
        elif state.get("status") == "failed":
            failure = state.get("failure") or {}
            cell = failure.get("cell_index")
            previous = f' (previous report: <a href="{esc(code)}.html">{esc(code)}.html</a>)' if html_path.is_file() else ""
            if (out_dir / f"{code}.failed.ipynb").is_file():
                previous += f' (<a href="{esc(code)}.failed.ipynb">failed notebook</a>)'
            failed_rows.append(
                f"<tr><td>{esc(code)}</td><td>{esc(name)}{previous}</td><td>{esc(str(failure.get('stage', '')))}</td>"
                f"<td>{'' if cell is None else cell}</td><td>{_code(str(failure.get('cell_source', '')))}</td>"
                f"<td><b>{esc(str(failure.get('ename', '')))}</b>: {_evalue_html(str(failure.get('evalue', '')))}</td></tr>"
            )
    summary = ""
    if current is not None:
        summary = (
            f"<p>Last run: {len(current.built)} built, {len(current.skipped)} up to date, "
            f"{len(current.failed)} failed, in {current.seconds:.1f} s.</p>"
        )
    failed_html = (
        "<h2>Failed</h2><table><tr><th>Code</th><th>Authority</th><th>Stage</th><th>Cell</th><th>Cell source</th><th>Error</th></tr>"
        + "".join(failed_rows)
        + "</table>"
        if failed_rows
        else "<h2>Failed</h2><p>None.</p>"
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Schools Atlas reports</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70rem;margin:auto;padding:1rem}}
table{{border-collapse:collapse}}td,th{{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}}
td.num{{text-align:right}}</style></head>
<body><h1>Schools Atlas: reports by authority</h1>
<p>Generated {esc(_now())}. {_plural(len(ok_rows), "report")}, {_plural(len(failed_rows), "failure")}.</p>{summary}
{failed_html}
<h2>Reports</h2><table><tr><th>Code</th><th>Authority</th><th>Built</th><th>Seconds</th><th></th></tr>{"".join(ok_rows)}</table>
</body></html>
"""
    path = out_dir / "index.html"
    _atomic_write(path, page)
    return path
