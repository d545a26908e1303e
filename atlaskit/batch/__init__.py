"""Run the report notebook for many authorities (``atlas report``): a local process pool or a Dask cluster.

Submodules:

* ``jobs``: :class:`ReportJob`, :class:`JobFailure`, :class:`JobOutcome`, :func:`execute_job` (one
  notebook executed with papermill in a worker) and :func:`notebook_to_html`.
* ``runner``: :func:`plan_batch` (validate parameter files, skip reports up to date), :func:`run_batch`
  (local pool or Dask, progress bar) and :class:`BatchResult`.
* ``stopping``: SIGTERM / Ctrl-C turned into :class:`BatchInterrupted`; the workers' process trees ended.
* ``index``: the batch's files: fingerprints, per-report state, atomic writes and the index page.

How a batch runs and fails: ``notebooks/methods/report.md``.
"""

from atlaskit.batch.index import STATE_DIR, fingerprint, store_build_id, write_index
from atlaskit.batch.jobs import (
    DEFAULT_EXECUTION_TIMEOUT,
    DEFAULT_START_TIMEOUT,
    JobFailure,
    JobOutcome,
    ReportJob,
    execute_job,
    notebook_to_html,
)
from atlaskit.batch.runner import (
    BatchResult,
    default_output_dir,
    plan_batch,
    read_notebook,
    run_batch,
)
from atlaskit.batch.stopping import BatchInterrupted, end_process_trees, stop_on_signals

__all__ = [
    "DEFAULT_EXECUTION_TIMEOUT",
    "DEFAULT_START_TIMEOUT",
    "STATE_DIR",
    "BatchInterrupted",
    "BatchResult",
    "JobFailure",
    "JobOutcome",
    "ReportJob",
    "default_output_dir",
    "end_process_trees",
    "execute_job",
    "fingerprint",
    "notebook_to_html",
    "plan_batch",
    "read_notebook",
    "run_batch",
    "stop_on_signals",
    "store_build_id",
    "write_index",
]
