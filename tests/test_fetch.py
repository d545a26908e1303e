"""``atlas fetch`` against a local HTTP server on 127.0.0.1 serving ``../shared/atlas-data``.

The server supports ``Range`` and can be told to cut the connection mid-file once, to serve
altered bytes, or to ignore ``Range``. Only small data sets are fetched, so the tests stay fast.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from atlaskit import sources
from atlaskit.errors import ChecksumMismatch
from atlaskit.sources.download import FetchError, download_file
from atlaskit.sources.fetch import fetch, file_url, select_entries, write_manifest

SMALL = ["authority_changes", "scorecard", "cross_border"]
SMALL_FILES = [e.file for key in SMALL for e in sources.DATASETS[key].entries()]
SCORECARD = "planning/scorecard_data_2025_2023.csv"  # 602,925 bytes


class AtlasDataHandler(BaseHTTPRequestHandler):
    """Serve files from ``server.root`` with Range support and switchable faults."""

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        server = self.server
        rel = unquote(urlparse(self.path).path).lstrip("/")
        rng = self.headers.get("Range")
        with server.lock:
            server.requests.append((rel, rng))
        path = server.root / rel
        if ".." in Path(rel).parts or not path.is_file():
            self.send_error(404, "not found")
            return
        data = path.read_bytes()
        if rel in server.corrupt:
            data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
        start = 0
        if rng and not server.ignore_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
            self.send_header("Accept-Ranges", "none" if server.ignore_range else "bytes")
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with server.lock:
            cut = rel in server.cut_once
            server.cut_once.discard(rel)
        if cut:  # send part of the body, then drop the connection
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


@pytest.fixture
def server(data_dir):
    """A threaded HTTP server on 127.0.0.1 (free port) serving the real data folder."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), AtlasDataHandler)
    httpd.root = Path(data_dir)
    httpd.requests = []
    httpd.corrupt = set()
    httpd.cut_once = set()
    httpd.ignore_range = False
    httpd.lock = threading.Lock()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def _no_mirror_env(monkeypatch):
    monkeypatch.delenv("ATLAS_DATA_MIRROR", raising=False)


def _fetch(target: Path, server, datasets=SMALL, **kw):
    return fetch(target, mirror=server.url, datasets=datasets, progress=False, backoff_s=0.0, timeout=10, **kw)


def _requests_for(server, rel: str) -> list[str | None]:
    return [rng for path, rng in server.requests if path == rel]


def test_clean_fetch_verifies_every_file_and_writes_manifest(tmp_path, server):
    summary = _fetch(tmp_path, server)
    assert summary.ok, summary.lines()
    assert sorted(r.file for r in summary.fetched) == sorted(SMALL_FILES)
    for rel in SMALL_FILES:
        entry = sources.manifest()[rel]
        assert sources.sha256_of(tmp_path / rel) == entry.sha256
        assert not (tmp_path / (rel + ".part")).exists()
    assert (tmp_path / "MANIFEST.csv").read_bytes() == (Path(sources.__file__).with_name("manifest.csv")).read_bytes()
    # the files now resolve (and verify) like any data folder
    assert sources.resolve(SCORECARD, tmp_path) == tmp_path / SCORECARD


def test_second_run_skips_files_already_present(tmp_path, server):
    _fetch(tmp_path, server)
    server.requests.clear()
    summary = _fetch(tmp_path, server)
    assert summary.ok
    assert len(summary.present) == len(SMALL_FILES) and not summary.fetched
    assert server.requests == []


def test_interrupted_download_resumes_from_partial_file(tmp_path, server):
    server.cut_once.add(SCORECARD)
    summary = _fetch(tmp_path, server, datasets=["scorecard"])
    assert summary.ok, summary.lines()
    ranges = _requests_for(server, SCORECARD)
    assert ranges[0] is None  # first request: the whole file, cut after a third
    assert len(ranges) == 2 and ranges[1] is not None and ranges[1].startswith("bytes=")
    resumed_from = int(ranges[1].split("=")[1].rstrip("-"))
    assert 0 < resumed_from < sources.manifest()[SCORECARD].bytes
    assert sources.sha256_of(tmp_path / SCORECARD) == sources.manifest()[SCORECARD].sha256
    assert "resumed" in next(r for r in summary.fetched if r.file == SCORECARD).reason


def test_partial_file_left_by_an_earlier_run_is_resumed(tmp_path, server, data_dir):
    part = tmp_path / (SCORECARD + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes((data_dir / SCORECARD).read_bytes()[:250_000])
    summary = _fetch(tmp_path, server, datasets=["scorecard"])
    assert summary.ok, summary.lines()
    assert _requests_for(server, SCORECARD) == ["bytes=250000-"]
    assert sources.sha256_of(tmp_path / SCORECARD) == sources.manifest()[SCORECARD].sha256
    assert not part.exists()


def test_server_ignoring_range_restarts_cleanly(tmp_path, server):
    server.ignore_range = True
    part = tmp_path / (SCORECARD + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes that are not a prefix of the real file" * 100)
    summary = _fetch(tmp_path, server, datasets=["scorecard"])
    assert summary.ok, summary.lines()
    assert _requests_for(server, SCORECARD)[0].startswith("bytes=")  # it asked to resume ...
    assert sources.sha256_of(tmp_path / SCORECARD) == sources.manifest()[SCORECARD].sha256  # ... and restarted
    assert "ignored Range" in next(r for r in summary.fetched if r.file == SCORECARD).reason


def test_corrupted_file_is_named_retried_once_and_not_left_in_place(tmp_path, server):
    server.corrupt.add(SCORECARD)
    summary = _fetch(tmp_path, server, datasets=["scorecard"])
    assert not summary.ok
    [failure] = summary.failed
    assert failure.file == SCORECARD
    assert SCORECARD in failure.reason and "sha256" in failure.reason
    assert len(_requests_for(server, SCORECARD)) == 2  # one retry
    assert not (tmp_path / SCORECARD).exists()
    assert not (tmp_path / (SCORECARD + ".part")).exists()
    assert any(line.startswith(f"FAILED {SCORECARD}") for line in summary.lines())
    # the other file of the data set was fine
    assert [r.file for r in summary.fetched] == ["planning/scorecard_metadata.csv"]


def test_altered_file_already_present_is_replaced(tmp_path, server, data_dir):
    target = tmp_path / SCORECARD
    target.parent.mkdir(parents=True)
    target.write_bytes((data_dir / SCORECARD).read_bytes()[:-10] + b"0123456789")
    verify = fetch(tmp_path, datasets=["scorecard"], verify_only=True, progress=False)
    reasons = {r.file: r.reason for r in verify.failed}
    assert "altered" in reasons[SCORECARD] and "missing" in reasons["planning/scorecard_metadata.csv"]
    summary = _fetch(tmp_path, server, datasets=["scorecard"])
    assert summary.ok
    assert sources.sha256_of(target) == sources.manifest()[SCORECARD].sha256


def test_download_file_raises_checksum_mismatch_naming_the_file(tmp_path, server):
    server.corrupt.add(SCORECARD)
    entry = sources.manifest()[SCORECARD]
    with pytest.raises(ChecksumMismatch, match="scorecard_data_2025_2023"):
        download_file(f"{server.url}/{SCORECARD}", tmp_path / "x.csv", entry.sha256, entry.bytes, checksum_retries=0, backoff_s=0)
    assert list(tmp_path.iterdir()) == []


def test_missing_file_on_server_is_an_http_error(tmp_path, server):
    with pytest.raises(FetchError, match="HTTP 404"):
        download_file(f"{server.url}/no/such.csv", tmp_path / "x.csv", "0" * 64, 10, backoff_s=0)


def test_files_without_a_direct_address_name_data_set_and_page(tmp_path):
    summary = fetch(tmp_path, datasets=["cross_border", "lsa_flows", "lsoa_population"], progress=False)
    assert len(summary.failed) == 4
    for result in summary.failed:
        ds = sources.dataset_for_file(result.file)
        assert result.file in result.reason and ds.key in result.reason and ds.page in result.reason
        assert "--mirror" in result.reason
        assert not (tmp_path / result.file).exists()


def test_file_url_prefers_mirror_then_official_origin():
    entry = sources.manifest()["geography/authority_changes.csv"]
    assert file_url(entry, "http://mirror.example/atlas-data/") == "http://mirror.example/atlas-data/geography/authority_changes.csv"
    assert file_url(entry) == entry.origin_url and entry.origin_url.startswith("https://raw.githubusercontent.com/ONSvisual/")
    transcribed = sources.manifest()["flows/cross_border_6_inner_london_las_2019_2024.csv"]
    assert file_url(transcribed) is None  # not a byte-for-byte copy of its origin
    spaced = sources.manifest()["schools/performance_tables_2018-2019/england_census.csv"]
    assert file_url(spaced, "http://m") == "http://m/schools/performance_tables_2018-2019/england_census.csv"


def test_mirror_from_environment(tmp_path, server, monkeypatch):
    monkeypatch.setenv("ATLAS_DATA_MIRROR", server.url)
    summary = fetch(tmp_path, datasets=["authority_changes"], progress=False)
    assert summary.ok and [r.url for r in summary.fetched] == [f"{server.url}/geography/authority_changes.csv"]


def test_local_folder_mirror(tmp_path, data_dir):
    summary = fetch(tmp_path / "out", mirror=str(data_dir), datasets=["scorecard", "cross_border"], progress=False)
    assert summary.ok and len(summary.fetched) == 3
    assert all(r.url.startswith("file://") for r in summary.fetched)
    assert sources.sha256_of(tmp_path / "out" / SCORECARD) == sources.manifest()[SCORECARD].sha256
    empty = fetch(tmp_path / "out2", mirror=str(tmp_path / "nothing"), datasets=["authority_changes"], progress=False)
    assert "not found in the mirror folder" in empty.failed[0].reason


def test_unknown_data_set_suggests_the_closest():
    with pytest.raises(FetchError, match="did you mean scorecard"):
        select_entries(["scorecrd"])


def test_write_manifest_skips_identical_copy(tmp_path):
    assert write_manifest(tmp_path) == tmp_path / "MANIFEST.csv"
    assert write_manifest(tmp_path) is None


def test_verify_only_reports_missing_files_with_pages(tmp_path):
    summary = fetch(tmp_path, datasets=["scorecard"], verify_only=True, progress=False)
    assert len(summary.failed) == 2
    assert all(sources.DATASETS["scorecard"].page in r.reason for r in summary.failed)
    assert not (tmp_path / "MANIFEST.csv").exists()  # verify-only writes nothing


# --- the command line --------------------------------------------------------------------------


def test_cli_fetch_exit_codes(tmp_path, server, capsys):
    from atlaskit.cli import main

    args = ["fetch", "--data-dir", str(tmp_path), "--mirror", server.url, "-q"]
    assert main([*args, "-d", "authority_changes", "-d", "cross_border"]) == 0
    out = capsys.readouterr().out
    assert "fetched 2, already present 0, failed 0" in out
    assert main([*args, "-d", "authority_changes", "--verify-only"]) == 0
    assert "already present 1" in capsys.readouterr().out

    server.corrupt.add(SCORECARD)
    assert main([*args, "-d", "scorecard"]) == 1
    captured = capsys.readouterr()
    assert f"FAILED {SCORECARD}" in captured.err and "failed 1" in captured.out

    assert main([*args, "-d", "scorecrd"]) == 2
    assert "did you mean scorecard" in capsys.readouterr().err


def test_cli_fetch_help_lists_options():
    from typer.testing import CliRunner

    from atlaskit.cli import app

    result = CliRunner().invoke(app, ["fetch", "--help"])
    assert result.exit_code == 0
    for option in ("--data-dir", "--mirror", "--dataset", "--verify-only"):
        assert option in result.output
