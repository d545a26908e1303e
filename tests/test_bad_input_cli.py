"""The bad-input catalogue of the command line, parameter files, the data folder and the store (issue 17).

One row of :data:`CASES` per bad input: what was wrong, the ``atlas`` command given it, and a
fragment of the one clear message expected. Every case must exit non-zero, print no traceback,
and name what was wrong in a message line of reasonable length. ``{tmp}`` is the test's own
folder; ``{port}`` a local port nothing listens on; ``{tiny}`` the tiny test notebook. The files
each case needs are made by the setup named in its row (:data:`SETUPS`, below the table).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TINY = Path(__file__).parent / "notebooks" / "tiny_report.ipynb"


@dataclass(frozen=True)
class Case:
    """One bad input: what was wrong, the command, the message fragment expected, the setup making its files."""

    input: str
    command: str
    expected: str
    setup: str = ""
    env: dict = field(default_factory=dict)


REPORT = "report E09000007 --parameters {tmp}/p --out {tmp}/out --no-progress"

CASES = [
    # -- parameter files
    Case("YAML bomb (nested aliases) in a parameter file", "parameters --check --out {tmp}/p", "uses a YAML alias (*a0) at line 4", "bomb"),
    Case("YAML bomb in a batch: listed, the batch goes on", REPORT + " --notebook {tiny}", "uses a YAML alias", "bomb"),
    Case("brackets nested 20,000 deep", "parameters --check --out {tmp}/p", "nests values 20000 levels deep", "deep"),
    Case("a 200 KB parameter file", "parameters --check --out {tmp}/p", "a parameter file is under 64 KB", "huge"),
    Case("UTF-16 parameter file (with byte-order mark)", "parameters --check --out {tmp}/p", "not UTF-8 (looks like UTF-16): re-save as UTF-8", "utf16"),
    Case("UTF-16 parameter file (no byte-order mark)", "parameters --check --out {tmp}/p", "not UTF-8 (looks like UTF-16): re-save as UTF-8", "utf16le"),
    Case("cp1252 parameter file", "parameters --check --out {tmp}/p", "is not UTF-8 text", "cp1252"),
    Case("a 6,000-character phase", "parameters --check --out {tmp}/p", "(got 'xxxxxxxxxx", "long_value"),
    Case("--out of atlas parameters naming a file", "parameters --out {tmp}/afile", "parameters folder {tmp}/afile is a file, not a folder", "afile"),
    Case("--out of atlas parameters --check naming a file", "parameters --check --out {tmp}/afile", "parameters folder {tmp}/afile is a file", "afile"),
    Case("a parameter file that is a folder", "parameters --check --out {tmp}/p", "parameter file {tmp}/p/E09000007.yaml is a folder", "yaml_folder"),
    # -- atlas report: paths and services
    Case("--parameters naming a file", "report E09000007 --parameters {tmp}/afile --out {tmp}/out --notebook {tiny}",
         "parameters folder {tmp}/afile (--parameters) is a file", "afile"),
    Case("--notebook missing", REPORT + " --notebook {tmp}/missing.ipynb", "report notebook {tmp}/missing.ipynb not found", "good"),
    Case("--notebook a folder", REPORT + " --notebook {tmp}", "is a folder, not a notebook", "good"),
    Case("--notebook plain text", REPORT + " --notebook {tmp}/notes.txt", "is not a Jupyter notebook (not JSON text", "not_notebook"),
    Case("--notebook JSON but no notebook", REPORT + " --notebook {tmp}/data.json", "JSON without 'cells' and 'nbformat'", "not_notebook"),
    Case("--out naming a file", "report E09000007 --parameters {tmp}/p --out {tmp}/afile --notebook {tiny}", "reports folder {tmp}/afile (--out) is a file", "afile"),
    Case("--scheduler: nothing listens there", REPORT + " --notebook {tiny} --scheduler tcp://127.0.0.1:{port} --scheduler-timeout 1",
         "cannot reach the Dask scheduler at tcp://127.0.0.1:{port}", "good"),
    Case("--scheduler not an address", REPORT + " --notebook {tiny} --scheduler nonsense --scheduler-timeout 1", "cannot reach the Dask scheduler at nonsense", "good"),
    # -- the data folder and the store's folder
    Case("ATLAS_DATA_DIR naming a file", "build --store-dir {tmp}/store", "the data folder {tmp}/afile (ATLAS_DATA_DIR or --data-dir) is a file", "afile",
         {"ATLAS_DATA_DIR": "{tmp}/afile"}),
    Case("--store-dir naming a file", "build --store-dir {tmp}/afile", "the store folder {tmp}/afile (ATLAS_STORE_DIR or --store-dir) is a file", "afile"),
    Case("ATLAS_STORE_DIR naming a file", "schools Camden", "the store folder {tmp}/afile (ATLAS_STORE_DIR or --store-dir) is a file", "afile",
         {"ATLAS_STORE_DIR": "{tmp}/afile"}),
    Case("an empty CURRENT pointer", "schools Camden", "store pointer {tmp}/store/CURRENT is empty", "empty_current", {"ATLAS_STORE_DIR": "{tmp}/store"}),
    Case("CURRENT naming a missing build", "schools Camden", "names build-gone, which is missing", "gone_current", {"ATLAS_STORE_DIR": "{tmp}/store"}),
    # -- a damaged store (a copy of the live one, one file truncated or altered)
    Case("truncated schools table: atlas schools", "schools Camden", "store table 'schools' is damaged", "truncated_schools", {"ATLAS_STORE_DIR": "{tmp}/store"}),
    Case("truncated flows table: atlas flows", "flows E09000007", "store table 'flows' is damaged", "truncated_flows", {"ATLAS_STORE_DIR": "{tmp}/store"}),
    Case("altered la_population (same size): atlas demand", "demand E09000007", "store table 'la_population' is damaged", "altered_population",
         {"ATLAS_STORE_DIR": "{tmp}/store"}),
    Case("truncated schools table: atlas build --check", "build --check", "store table 'schools' is damaged", "truncated_schools", {"ATLAS_STORE_DIR": "{tmp}/store"}),
    Case("altered table: atlas build --check", "build --check", "store table 'la_population' is damaged", "altered_population", {"ATLAS_STORE_DIR": "{tmp}/store"}),
    Case("truncated table of a store built without checksums", "schools Camden", "store table 'schools' (", "truncated_unrecorded",
         {"ATLAS_STORE_DIR": "{tmp}/store"}),
    Case("a store built without checksums: atlas build --check", "build --check", "records no file sizes or checksums", "unrecorded_store",
         {"ATLAS_STORE_DIR": "{tmp}/store"}),
]


# -- setups: the files each case needs, in the test's folder


def _parameter_file(tmp: Path, text: str | bytes) -> None:
    folder = tmp / "p"
    folder.mkdir(exist_ok=True)
    path = folder / "E09000007.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))


GOOD = "authority: E09000007\nauthority_name: Camden\nphase: secondary\n"


def _bomb(tmp: Path) -> None:
    lines = ["authority: E09000007", "authority_name: Camden", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]  # 9**10 = 3.5 billion strings
    _parameter_file(tmp, "\n".join(lines + ["phase: *a9", ""]))


def _afile(tmp: Path) -> None:
    (tmp / "afile").write_text("not a folder\n")
    _parameter_file(tmp, GOOD)


def _not_notebook(tmp: Path) -> None:
    (tmp / "notes.txt").write_text("This is not a notebook.\n")
    (tmp / "data.json").write_text(json.dumps({"rows": [1, 2, 3]}))
    _parameter_file(tmp, GOOD)


@functools.lru_cache(maxsize=1)
def _live_records(folder: str) -> dict:
    from atlaskit.store.integrity import file_records

    return file_records(Path(folder))


def _store_copy(tmp: Path, request, damaged: str = "", how: str = "truncate", records: bool = True) -> None:
    """A store in ``{tmp}/store``: links to the live build's files, the damaged table copied and damaged."""
    from atlaskit.store import current_folder

    live = current_folder(request.getfixturevalue("store"))
    folder = tmp / "store" / live.name
    folder.mkdir(parents=True)
    (tmp / "store" / "CURRENT").write_text(live.name)
    info = json.loads((live / "build.json").read_text())
    info["files"] = _live_records(str(live)) if records else None
    (folder / "build.json").write_text(json.dumps(info))
    for path in live.glob("*.parquet"):
        if path.stem != damaged:
            (folder / path.name).symlink_to(path)
            continue
        data = bytearray(path.read_bytes())
        if how == "truncate":
            data = data[: len(data) // 2]
        else:  # overwrite 2 KB a third of the way in: same size, other bytes
            start = len(data) // 3
            data[start : start + 2048] = b"U" * 2048
        (folder / path.name).write_bytes(bytes(data))


def _empty_current(tmp: Path) -> None:
    (tmp / "store").mkdir()
    (tmp / "store" / "CURRENT").write_text("\n")


def _gone_current(tmp: Path) -> None:
    (tmp / "store").mkdir()
    (tmp / "store" / "CURRENT").write_text("build-gone\n")


SETUPS = {
    "": lambda tmp, request: None,
    "good": lambda tmp, request: _parameter_file(tmp, GOOD),
    "bomb": lambda tmp, request: _bomb(tmp),
    "deep": lambda tmp, request: _parameter_file(tmp, "authority: E09000007\nauthority_name: " + "[" * 20000 + "]" * 20000 + "\n"),
    "huge": lambda tmp, request: _parameter_file(tmp, GOOD + "report_title: " + "x" * 200_000 + "\n"),
    "utf16": lambda tmp, request: _parameter_file(tmp, GOOD.encode("utf-16")),
    "utf16le": lambda tmp, request: _parameter_file(tmp, GOOD.encode("utf-16-le")),
    "cp1252": lambda tmp, request: _parameter_file(tmp, (GOOD + "report_title: Caf\u00e9 schools\n").encode("cp1252")),
    "long_value": lambda tmp, request: _parameter_file(tmp, "authority: E09000007\nauthority_name: Camden\nphase: " + "x" * 6000 + "\n"),
    "not_notebook": lambda tmp, request: _not_notebook(tmp),
    "yaml_folder": lambda tmp, request: (tmp / "p" / "E09000007.yaml").mkdir(parents=True),
    "afile": lambda tmp, request: _afile(tmp),
    "empty_current": lambda tmp, request: _empty_current(tmp),
    "gone_current": lambda tmp, request: _gone_current(tmp),
    "truncated_schools": lambda tmp, request: _store_copy(tmp, request, "schools"),
    "truncated_flows": lambda tmp, request: _store_copy(tmp, request, "flows"),
    "altered_population": lambda tmp, request: _store_copy(tmp, request, "la_population", how="alter"),
    "unrecorded_store": lambda tmp, request: _store_copy(tmp, request, records=False),
    "truncated_unrecorded": lambda tmp, request: _store_copy(tmp, request, "schools", records=False),
}


#: Setups that copy the live store (the test needs the ``store`` fixture).
STORE_SETUPS = {"truncated_schools", "truncated_flows", "altered_population", "unrecorded_store", "truncated_unrecorded"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fill(text: str, tmp: Path, port: int) -> str:
    return text.replace("{tmp}", str(tmp)).replace("{port}", str(port)).replace("{tiny}", str(TINY))


def test_every_case_has_its_setup_and_a_unique_input():
    assert all(case.setup in SETUPS for case in CASES)
    assert len({case.input for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.input for case in CASES])
def test_bad_input_gets_one_clear_message(case, tmp_path, monkeypatch, capsys, request):
    """Exit non-zero, no traceback, and a message line naming what was wrong."""
    from atlaskit.cli import main

    if case.setup in STORE_SETUPS:
        request.getfixturevalue("store")  # the live store, found before ATLAS_STORE_DIR is changed below
    port = _closed_port()
    empty_store = tmp_path / "no-store"  # codes stay as given; nothing depends on the live store
    empty_store.mkdir()
    monkeypatch.setenv("ATLAS_STORE_DIR", str(empty_store))
    SETUPS[case.setup](tmp_path, request)
    for name, value in case.env.items():
        monkeypatch.setenv(name, _fill(value, tmp_path, port))

    start = time.perf_counter()
    code = main(_fill(case.command, tmp_path, port).split())
    seconds = time.perf_counter() - start
    captured = capsys.readouterr()
    output = captured.out + captured.err

    assert code != 0, output
    assert "Traceback" not in output
    expected = _fill(case.expected, tmp_path, port)
    lines = [line for line in output.splitlines() if expected in line]
    assert lines, f"expected {expected!r} in:\n{output[:3000]}"
    assert len(lines[0]) < 600, lines[0][:1000]
    assert seconds < 60


@pytest.mark.slow
def test_a_yaml_bomb_in_a_batch_is_listed_in_the_index_and_the_batch_goes_on(tmp_path, monkeypatch, capsys, write_parameter_file):
    """The bomb's authority fails with its message; the other authority's report is built; the index lists both."""
    from atlaskit.cli import main

    monkeypatch.setenv("ATLAS_STORE_DIR", str(tmp_path / "no-store"))
    (tmp_path / "no-store").mkdir()
    _bomb(tmp_path)
    write_parameter_file(tmp_path / "p", "E09000001")
    out = tmp_path / "out"
    code = main(["report", "E09000007", "E09000001", "--parameters", str(tmp_path / "p"), "--out", str(out), "--notebook", str(TINY),
                 "--no-progress", "--workers", "1"])
    assert code == 1
    index = (out / "index.html").read_text()
    assert "uses a YAML alias" in index and 'href="E09000001.html"' in index
    assert "1 built, 0 up to date, 1 failed" in capsys.readouterr().out


def test_the_bomb_fails_fast_under_a_memory_limit(tmp_path):
    """`atlas parameters --check` on the bomb, in a process limited to 1.5 GB of address space: the clear message, quickly."""
    import subprocess
    import sys

    _bomb(tmp_path)
    limit = 1536 * 1024 * 1024
    script = (
        f"import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
        "from atlaskit.cli import main; sys.exit(main(['parameters', '--check', '--out', sys.argv[1]]))"
    )
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "p")], capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "ATLAS_STORE_DIR": str(tmp_path)})
    assert run.returncode == 1, run.stderr[-2000:]
    assert "uses a YAML alias" in run.stderr and "MemoryError" not in run.stderr and "Traceback" not in run.stderr
    assert time.perf_counter() - start < 60


def test_a_utf16_data_file_is_named_not_shown_as_nul_bytes(tmp_path):
    """A raw CSV re-saved as UTF-16 (Excel's "Unicode text"): the reader says so, instead of columns full of NULs."""
    from atlaskit.errors import DataFormatError
    from atlaskit.sources.parsing import encoding_problem, read_csv

    path = tmp_path / "schools.csv"
    path.write_bytes("URN,Name\n100000,Caf\u00e9 School\n".encode("utf-16"))
    with pytest.raises(DataFormatError, match=r"schools\.csv: not UTF-8 \(looks like UTF-16\): re-save as UTF-8"):
        read_csv(path)
    assert encoding_problem("URN,Name\n".encode("utf-16-le")) is not None
    assert encoding_problem("URN,Name\n1,Caf\u00e9\n".encode("utf-8")) is None
    assert encoding_problem(b"a,b\n1,\x002\n") is None  # a stray NUL in UTF-8 text is left to the reader


def test_store_size_check_costs_a_stat_and_an_intact_table_reads(tmp_path, request, monkeypatch):
    """An undamaged copy with records reads as before; a read error of an intact file is not called damage."""
    from atlaskit.store import read_table

    _store_copy(tmp_path, request)
    store_dir = tmp_path / "store"
    frame = read_table("authority_codes", store_dir=store_dir)
    assert len(frame) > 150
    with pytest.raises(Exception) as info:  # a column that does not exist: the caller's mistake, not damage
        read_table("authority_codes", columns=["no_such_column"], store_dir=store_dir)
    assert "damaged" not in str(info.value)


def test_copy_helpers_leave_the_live_store_untouched(tmp_path, request):
    """The damaged copies never write through to the live store (links only to files left whole)."""
    from atlaskit.store import current_folder, verify_store

    _store_copy(tmp_path, request, "schools")
    live = current_folder(request.getfixturevalue("store"))
    copy = tmp_path / "store" / live.name
    assert not (copy / "schools.parquet").is_symlink() and (copy / "lsoas.parquet").is_symlink()
    assert (copy / "schools.parquet").stat().st_size < (live / "schools.parquet").stat().st_size
    checked, problems = verify_store(copy)
    assert checked >= 10 and len(problems) == 1 and "'schools'" in problems[0]
    shutil.rmtree(tmp_path / "store")
