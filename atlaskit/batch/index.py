"""The batch's files: each report written atomically with its state (``<out>/.state/<CODE>.json``) and the index page."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import html as _html
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from atlaskit import __version__
from atlaskit.batch.jobs import JobFailure, JobOutcome, ReportJob

if TYPE_CHECKING:
    from atlaskit.batch.runner import BatchResult

__all__ = ["STATE_DIR", "store_build_id", "fingerprint", "write_index"]

#: Folder of the per-report state files, inside the output folder.
STATE_DIR = ".state"


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


def _read_state(out_dir: Path, code: str) -> dict | None:
    """Return a report's recorded state (``<out>/.state/<CODE>.json``), or None when absent or unreadable."""
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
    """Return the process's file-creation mask (read once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _now() -> str:
    """Return the local time to the second, ISO 8601."""
    return _dt.datetime.now().isoformat(timespec="seconds")


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


def _record_failure(out_dir: Path, code: str, name: str, failure: JobFailure) -> None:
    """Record a failure found before any run (a bad parameter file, an unknown authority) in the report's state."""
    state = {"code": code, "name": name, "status": "failed", "finished_at": _now(), "failure": asdict(failure)}
    _atomic_write(out_dir / STATE_DIR / f"{code}.json", json.dumps(state, indent=1))



def _evalue_html(evalue: str) -> str:
    """An error message for the index: its first line, the rest folded in a <details>."""
    summary = JobFailure("", "", evalue).summary()
    if summary == evalue.strip():
        return _html.escape(evalue)
    return f"{_html.escape(summary)}<details><summary>full message</summary><pre>{_html.escape(evalue)}</pre></details>"


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
    from atlaskit.report.wording import plural  # here: workers importing this package need not load the report's

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
        if current.interrupted:
            left = ", ".join(current.not_finished) or "none"
            summary += f"<p><b>Stopped by {esc(current.interrupted)}</b> before these reports finished: {esc(left)}.</p>"
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
<p>Generated {esc(_now())}. {plural(len(ok_rows), "report")}, {plural(len(failed_rows), "failure")}.</p>{summary}
{failed_html}
<h2>Reports</h2><table><tr><th>Code</th><th>Authority</th><th>Built</th><th>Seconds</th><th></th></tr>{"".join(ok_rows)}</table>
</body></html>
"""
    path = out_dir / "index.html"
    _atomic_write(path, page)
    return path
