"""The batch runner on a tiny notebook (no store needed): failures collected, index, skipping, retry, Dask."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml

from atlaskit import batch
from atlaskit.batch import index as batch_index
from atlaskit.batch import jobs as batch_jobs

TINY = Path(__file__).parent / "notebooks" / "tiny_report.ipynb"
CODES = ["E06000053", "E09000001", "E06000001"]


def _plain_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture
def no_store(tmp_path, monkeypatch):
    """An empty store folder: fingerprints do not depend on the live store other tests may rebuild."""
    empty = tmp_path / "no-store"
    empty.mkdir()
    monkeypatch.setenv("ATLAS_STORE_DIR", str(empty))
    return empty


@pytest.fixture
def params(tmp_path, write_parameter_file) -> Path:
    folder = tmp_path / "parameters"
    folder.mkdir()
    for code in CODES:
        write_parameter_file(folder, code)
    return folder


def _leftovers(out: Path) -> list[str]:
    return [p.name for p in out.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_batch_of_three_with_a_broken_parameter_file(tmp_path, params, no_store, capsys, write_parameter_file):
    """Two reports are built, the broken one is listed in the index, exit 1; fixed, only it is rebuilt."""
    from atlaskit.cli import main

    broken = params / "E09000001.yaml"
    broken.write_text(broken.read_text().replace("buffer_km: 0.5", "buffer_km: lots"))
    out = tmp_path / "reports"
    argv = ["report", *CODES, "--out", str(out), "--parameters", str(params), "--notebook", str(TINY), "--no-progress", "--workers", "2"]

    assert main(argv) == 1
    assert sorted(p.name for p in out.glob("*.html")) == ["E06000001.html", "E06000053.html", "index.html"]
    assert "Tiny report for Isles of Scilly (E06000053)" in (out / "E06000053.html").read_text()
    index = (out / "index.html").read_text()
    assert "E09000001" in index and "buffer_km" in index and "ParameterError" in index
    assert 'href="E06000053.html"' in index and 'href="E06000001.html"' in index
    err = capsys.readouterr().err
    assert "E09000001" in err and "buffer_km" in err

    write_parameter_file(params, "E09000001")
    assert main(argv) == 0
    assert "1 built, 2 up to date, 0 failed" in capsys.readouterr().out
    index = (out / "index.html").read_text()
    assert 'href="E09000001.html"' in index and "ParameterError" not in index
    assert _leftovers(out) == []

    # an edited parameter file makes its report stale again; --force rebuilds all
    write_parameter_file(params, "E06000001", top_schools=3)
    result = batch.run_batch(CODES, out, TINY, params, workers=1)
    assert result.built == ["E06000001"] and sorted(result.skipped) == ["E06000053", "E09000001"]
    jobs, skipped, failures, _ = batch.plan_batch(CODES, out, TINY, params, force=True)
    assert sorted(j.code for j in jobs) == sorted(CODES) and not skipped and not failures


@pytest.mark.slow
def test_a_failing_cell_is_reported_with_its_index_and_error(tmp_path, params, no_store, write_parameter_file):
    write_parameter_file(params, "E06000001", fail=True)
    out = tmp_path / "reports"
    result = batch.run_batch(["E06000053", "E06000001"], out, TINY, params, workers=2, load_parameters=_plain_yaml)
    assert result.built == ["E06000053"] and not result.ok
    failure = result.failed["E06000001"]
    assert (failure.stage, failure.ename) == ("execution", "ValueError")
    assert "deliberately broken: E06000001" in failure.evalue
    assert failure.cell_index is not None and failure.cell_source == "if fail:"
    assert not (out / "E06000001.html").exists()
    assert (out / "E06000001.failed.ipynb").is_file()
    state = json.loads((out / ".state" / "E06000001.json").read_text())
    assert state["status"] == "failed" and state["failure"]["ename"] == "ValueError"
    index = (out / "index.html").read_text()
    assert "deliberately broken: E06000001" in index and "if fail:" in index and "E06000001.failed.ipynb" in index


def test_port_race_is_retried_once(monkeypatch):
    calls = []

    def flaky(job, cwd, output_path=None):
        calls.append(job.code)
        if len(calls) == 1:
            raise RuntimeError("ZMQError: Address already in use (addr='tcp://127.0.0.1:51234')")
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("done")])

    monkeypatch.setattr(batch_jobs, "_execute_once", flaky)
    job = batch.ReportJob("E06000053", "Isles of Scilly", "{}", {}, "x")
    outcome = batch.execute_job(job)
    assert outcome.ok and outcome.attempts == 2 and len(calls) == 2
    assert "done" in outcome.html


def test_port_race_twice_fails_and_other_errors_are_not_retried(monkeypatch):
    calls = []

    def always(job, cwd, output_path=None):
        calls.append(1)
        raise RuntimeError("Address already in use")

    monkeypatch.setattr(batch_jobs, "_execute_once", always)
    outcome = batch.execute_job(batch.ReportJob("E06000053", "x", "{}", {}, "x"))
    assert not outcome.ok and outcome.attempts == 2 and outcome.failure.stage == "kernel"

    calls.clear()

    def boom(job, cwd, output_path=None):
        calls.append(1)
        raise TimeoutError("cell timed out after 5 s")

    monkeypatch.setattr(batch_jobs, "_execute_once", boom)
    outcome = batch.execute_job(batch.ReportJob("E06000053", "x", "{}", {}, "x"))
    assert not outcome.ok and outcome.attempts == 1 and outcome.failure.stage == "timeout" and len(calls) == 1


def test_html_is_offline_and_hides_code():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "secret_code_line = 1",
                outputs=[nbformat.v4.new_output("display_data", data={"text/html": "<p>visible output</p>"})],
            )
        ]
    )
    html = batch.notebook_to_html(nb, "A title")
    assert "visible output" in html and "secret_code_line" not in html
    assert "<title>A title</title>" in html
    import re

    assert not re.findall(r'<script[^>]+src="https?:', html)
    assert not re.findall(r'<link[^>]+href="https?:', html)


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "E06000053.html"
    target.write_text("old report")

    with pytest.raises(TypeError):
        batch_index._atomic_write(target, 12345)  # type: ignore[arg-type]  - not text: the write fails midway
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["E06000053.html"]


def test_missing_parameter_file_is_a_failure_not_a_crash(tmp_path, params, no_store):
    out = tmp_path / "reports"
    jobs, skipped, failures, _ = batch.plan_batch(["E06000053", "E10000016"], out, TINY, params)
    assert [j.code for j in jobs] == ["E06000053"] and skipped == []
    assert failures["E10000016"].stage == "parameters" and "atlas parameters" in failures["E10000016"].evalue
    assert jobs[0].parameters["authority_name"] == "Isles of Scilly" and jobs[0].title == "Schools Atlas: Isles of Scilly"


@pytest.mark.slow
def test_batch_on_a_dask_local_cluster(tmp_path, params, no_store, write_parameter_file):
    """The same batch on dask.distributed.LocalCluster (processes, 2 workers, 1 thread each)."""
    distributed = pytest.importorskip("distributed")
    write_parameter_file(params, "E06000001", fail=True)
    out = tmp_path / "reports"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = batch.run_batch(CODES, out, TINY, params, scheduler=cluster.scheduler_address, load_parameters=_plain_yaml)
    assert sorted(result.built) == ["E06000053", "E09000001"]
    assert result.failed["E06000001"].ename == "ValueError"
    assert "Tiny report for City of London" in (out / "E09000001.html").read_text()
    assert "deliberately broken" in (out / "index.html").read_text()


@pytest.mark.slow
def test_an_interrupted_batch_leaves_no_half_written_report(tmp_path, params, no_store):
    """Ctrl-C after the first report: it is kept whole, nothing else is written, the index lists it."""
    out = tmp_path / "reports"

    def interrupt(code, outcome):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batch.run_batch(CODES, out, TINY, params, workers=1, on_outcome=interrupt)
    written = sorted(p.name for p in out.glob("E*.html"))
    assert len(written) == 1
    assert (out / written[0]).read_text().rstrip().endswith("</html>")
    assert written[0] in (out / "index.html").read_text()
    assert _leftovers(out) == []


@pytest.mark.slow
def test_a_cell_over_the_execution_timeout_fails_that_report(tmp_path, params, no_store, write_parameter_file):
    write_parameter_file(params, "E06000053", sleep_s=30.0)
    out = tmp_path / "reports"
    result = batch.run_batch(["E06000053"], out, TINY, params, workers=1, execution_timeout=2, load_parameters=_plain_yaml)
    failure = result.failed["E06000053"]
    assert failure.stage == "timeout", failure
    assert "E06000053" in (out / "index.html").read_text() and not (out / "E06000053.html").exists()


def test_table_headers_wrap_between_words_only():
    """Report tables broke narrow headers mid-word ("school / s", "place / s"): overflow-wrap: anywhere."""
    html = batch.notebook_to_html(nbformat.v4.new_notebook(), "t")
    assert "overflow-wrap: anywhere" not in html and "overflow-wrap: break-word" in html


def test_index_counts_in_words_and_no_empty_code_box(tmp_path):
    out = tmp_path / "reports"
    (out / batch.STATE_DIR).mkdir(parents=True)
    (out / "E06000017.html").write_text("<html></html>")
    (out / batch.STATE_DIR / "E06000017.json").write_text(json.dumps({"code": "E06000017", "name": "Rutland", "status": "ok"}))
    batch_index._record_failure(out, "E06000062", "West Northamptonshire", batch.JobFailure("parameters", "ParameterError", "no parameter file"))
    page = batch.write_index(out).read_text()
    assert "1 report, 1 failure." in page and "1 reports" not in page
    assert "<code></code>" not in page and "no parameter file" in page


@pytest.mark.slow
@pytest.mark.integration
def test_codes_that_name_no_authority_are_listed_and_the_rest_still_run(tmp_path, params, store, capsys):
    """A mistyped or hostile code fails alone, named on the index with what to do; the others are built, exit 1."""
    from atlaskit.cli import main

    out = tmp_path / "reports"
    argv = ["report", "E06000053", "Nowhereshire", "../<script>alert(1)</script>", "--out", str(out), "--parameters", str(params),
            "--notebook", str(TINY), "--no-progress", "--workers", "1"]
    assert main(argv) == 1
    assert sorted(p.name for p in out.glob("*.html")) == ["E06000053.html", "index.html"]
    index = (out / "index.html").read_text()
    assert "Nowhereshire" in index and "UnknownAuthority" in index and "atlas authorities" in index
    assert "<script>alert" not in index  # escaped, never markup
    assert all(p.parent == out / batch.STATE_DIR for p in (out / batch.STATE_DIR).glob("*.json"))
    assert not list(tmp_path.glob("*.json")) and not (tmp_path / "<script>alert(1)</script>.json").exists()
    captured = capsys.readouterr()
    assert "1 built" in captured.out and "2 failed" in captured.out
    assert "Nowhereshire" in captured.err


def _slow_notebook(path: Path) -> Path:
    """A report notebook whose second cell sleeps for two minutes (a batch still running when signalled)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('authority = "E09000007"', metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell("import time\ntime.sleep(120)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_a_signal_stops_a_real_batch_with_its_index_and_no_orphans(tmp_path, params, no_store, signal_name):
    """SIGTERM to `atlas report` (or Ctrl-C to its process group): workers and kernels ended, index written, one summary line, exit 128+N."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from atlaskit.batch.stopping import _alive, descendants

    out = tmp_path / "reports"
    argv = [sys.executable, "-m", "atlaskit", "report", *CODES[:2], "--out", str(out), "--parameters", str(params),
            "--notebook", str(_slow_notebook(tmp_path / "slow.ipynb")), "--no-progress", "--workers", "2"]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        tree: list[int] = []
        while time.monotonic() < deadline:  # wait for two workers with a kernel each (and the resource tracker)
            tree = descendants([child.pid])
            kernels = [pid for pid in tree if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()] if tree else []
            if len(kernels) >= 2:
                break
            time.sleep(0.5)
        assert len(kernels) >= 2, "the kernels never started"
        time.sleep(1.0)
        tree = descendants([child.pid])
        sent = time.monotonic()
        if signal_name == "SIGTERM":
            os.kill(child.pid, signal.SIGTERM)  # `kill -TERM <pid>`: the parent alone
        else:
            os.killpg(child.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground process group
        stdout, stderr = child.communicate(timeout=60)
        stop_seconds = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
    print(f"{signal_name}: stopped in {stop_seconds:.1f} s")
    signum = getattr(signal, signal_name)
    assert child.returncode == 128 + signum, stderr[-3000:]
    assert "Traceback" not in stderr + stdout
    summary = [line for line in stderr.splitlines() if line.startswith(f"stopped by {signal_name}")]
    assert len(summary) == 1 and "2 not finished" in summary[0] and "index:" in summary[0]
    index = (out / "index.html").read_text()
    assert f"Stopped by {signal_name}" in index and CODES[0] in index
    assert not list(out.glob("E*.html")) and _leftovers(out) == []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
        time.sleep(0.1)
    assert not [pid for pid in tree if _alive(pid)], "processes left behind"
    assert stop_seconds < 15
