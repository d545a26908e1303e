"""Planning and running a batch of reports: a local process pool or a Dask cluster, with a progress bar."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from atlaskit import config
from atlaskit.batch.index import _read_state, _record_failure, _store_outcome, fingerprint, store_build_id, write_index
from atlaskit.batch.jobs import (
    DEFAULT_EXECUTION_TIMEOUT,
    DEFAULT_START_TIMEOUT,
    JobFailure,
    JobOutcome,
    ReportJob,
    _warm_worker,
    execute_job,
)
from atlaskit.batch.stopping import BatchInterrupted, end_process_trees
from atlaskit.errors import AtlasError

__all__ = ["BatchResult", "default_output_dir", "plan_batch", "run_batch"]


def default_output_dir() -> Path:
    """Return the default folder of the reports: ``<project>/reports`` (git-ignored)."""
    return config.PROJECT_ROOT / "reports"


def _default_load_parameters(path: Path) -> dict:
    """Return a parameter file validated by :func:`atlaskit.parameters.load_parameters`, as papermill parameters.

    Raises:
        ParameterError: as :func:`atlaskit.parameters.load_parameters`.
    """
    from atlaskit.parameters import load_parameters

    return load_parameters(path).model_dump(mode="json")


def _store_names() -> dict[str, str]:
    """Authority names by code from the store (for failures whose parameter file could not be read), or {}."""
    try:
        from atlaskit.store.loaders import authorities

        table = authorities()
        return dict(zip(table["authority_code"], table["authority_name"]))
    except Exception:  # noqa: BLE001 - names are a nicety on the index page
        return {}


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
        interrupted: the signal that stopped the batch (``"SIGTERM"``, ``"SIGINT"``), or None.
        not_finished: codes whose report was planned but had not finished when the batch was stopped.
    """

    out_dir: Path
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, JobFailure] = field(default_factory=dict)
    seconds: float = 0.0
    job_seconds: dict[str, float] = field(default_factory=dict)
    index: Path | None = None
    interrupted: str | None = None
    not_finished: list[str] = field(default_factory=list)

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
    notebook_bytes = read_notebook(Path(notebook))
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
        except Exception as exc:  # noqa: BLE001 - one authority's bad file never stops the batch
            message = str(exc) if isinstance(exc, AtlasError) else f"parameter file {path} could not be read ({type(exc).__name__})"
            failures[code] = JobFailure("parameters", type(exc).__name__, message[:2000])
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


def read_notebook(path: Path) -> bytes:
    """Return a report notebook's bytes, checking it is a Jupyter notebook.

    Raises:
        AtlasError: naming the path when it is missing, a folder, unreadable, not UTF-8 JSON or
            JSON without a notebook's ``cells`` and ``nbformat``.
    """
    import json

    hint = "give a Jupyter notebook (.ipynb) with --notebook (default notebooks/report.ipynb)"
    if path.is_dir():
        raise AtlasError(f"report notebook {path} is a folder, not a notebook: {hint}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AtlasError(f"report notebook {path} not found: {hint}") from None
    except OSError as exc:
        raise AtlasError(f"report notebook {path} cannot be read ({exc.strerror}): {hint}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise AtlasError(f"report notebook {path} is not a Jupyter notebook (not JSON text: {str(exc)[:80]}): {hint}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) or "nbformat" not in data:
        raise AtlasError(f"report notebook {path} is not a Jupyter notebook (JSON without 'cells' and 'nbformat'): {hint}")
    return raw


def _output_folder(out_dir: Path) -> Path:
    """Create the reports folder, raising AtlasError naming it when it is a file or cannot be made."""
    if out_dir.exists() and not out_dir.is_dir():
        raise AtlasError(f"reports folder {out_dir} (--out) is a file, not a folder: give a folder to write the reports in")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AtlasError(f"cannot create the reports folder {out_dir} (--out): {exc.strerror}") from None
    return out_dir


def _safe_key(text: str) -> str:
    """Return ``text`` fit for a file name and an index row: letters, digits, ``-`` and ``_`` (at most 60)."""
    key = re.sub(r"[^A-Za-z0-9_-]+", "_", str(text)).strip("_")[:60]
    return key or "unnamed"


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
        """Count one finished job, built (``ok``) or failed."""
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
    except (KeyboardInterrupt, GeneratorExit):  # stopped (a signal, the generator closed): end the workers and their kernels now
        workers_pids = list(getattr(pool, "_processes", None) or {})
        pool.shutdown(wait=False, cancel_futures=True)
        end_process_trees(workers_pids)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _connect(scheduler: str, timeout_seconds: float):
    """Return a Dask client of the scheduler at ``scheduler``, raising AtlasError naming the address when it cannot be reached."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=timeout_seconds)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a malformed address...
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise AtlasError(
            f"cannot reach the Dask scheduler at {scheduler} (--scheduler) within {timeout_seconds:g} s: {reason}; "
            "check the address (tcp://host:8786) or start one with `dask scheduler`"
        ) from None


def _iter_dask(jobs: list[ReportJob], scheduler, timeout_seconds: float = 10.0) -> Iterable[tuple[ReportJob, JobOutcome]]:
    """Run jobs on a Dask distributed cluster (scheduler address or Client), yielding as each finishes."""
    from distributed import Client, as_completed

    own_client = not isinstance(scheduler, Client)
    client = _connect(scheduler, timeout_seconds) if own_client else scheduler
    futures = []
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
    except (KeyboardInterrupt, GeneratorExit):
        client.cancel(futures)  # stopped: the cluster drops what is left of this batch
        raise
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
    scheduler_timeout: float = 10.0,
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
        scheduler_timeout: seconds allowed to connect to ``scheduler``.

    Returns:
        A :class:`BatchResult`; ``result.ok`` is False when any report failed.

    Raises:
        AtlasError: the notebook is missing or not a notebook, ``out_dir`` or ``parameters_dir`` is a file, or the
            scheduler cannot be reached (each message names the path or address).
        KeyboardInterrupt: (:class:`BatchInterrupted` for SIGTERM/SIGINT inside
            :func:`stop_on_signals`, carrying ``.result``) re-raised after the workers and their
            kernels are ended and the index is written; finished reports are kept, none is left
            half-written.
    """
    start = time.perf_counter()
    out_dir = _output_folder(Path(out_dir) if out_dir else default_output_dir())
    notebook = Path(notebook) if notebook else config.notebooks_dir() / "report.ipynb"
    parameters_dir = Path(parameters_dir) if parameters_dir else config.parameters_dir()
    if parameters_dir.exists() and not parameters_dir.is_dir():
        raise AtlasError(f"parameters folder {parameters_dir} (--parameters) is a file, not a folder: give the folder of the <CODE>.yaml files")
    result = BatchResult(out_dir=out_dir)
    jobs: list[ReportJob] = []
    runner = None
    try:
        jobs, result.skipped, failures, names = plan_batch(
            codes, out_dir, notebook, parameters_dir, force, kernel_name, start_timeout, execution_timeout, load_parameters
        )
        for given, failure in (failed_before or {}).items():
            failures[_safe_key(given)] = failure
        known = _store_names() if failures else {}
        for code, failure in failures.items():
            _record_failure(out_dir, code, names.get(code) or known.get(code, ""), failure)
            result.failed[code] = failure
        with _Progress(len(jobs), progress, failed=len(failures), skipped=len(result.skipped)) as bar:
            if jobs:
                runner = _iter_dask(jobs, scheduler, scheduler_timeout) if scheduler is not None else _iter_local(jobs, workers)
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
    except KeyboardInterrupt as exc:  # BatchInterrupted (SIGTERM, SIGINT) or a plain Ctrl-C in a notebook
        if runner is not None:
            runner.close()  # a generator stopped at its yield ends its workers here
        result.interrupted = getattr(exc, "signal_name", "SIGINT")
        result.not_finished = [job.code for job in jobs if job.code not in result.built and job.code not in result.failed]
        if isinstance(exc, BatchInterrupted):
            exc.result = result
        raise
    finally:
        result.seconds = time.perf_counter() - start
        result.index = write_index(out_dir, current=result)
    return result
