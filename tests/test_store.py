"""The store build is atomic and keyed reads return exactly the rows asked for (fixtures made here)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from atlaskit import store
from atlaskit.store.build import ROW_GROUP_ROWS
from atlaskit.errors import StoreMissing


def _areas(n: int = 2500) -> gpd.GeoDataFrame:
    codes = [f"E01{i:06d}" for i in range(n)]
    authority = np.where(np.arange(n) < n // 2, "E06000001", "E06000002")
    boxes = shapely.box(np.arange(n) * 10.0, 0, np.arange(n) * 10.0 + 10, 10)
    return gpd.GeoDataFrame({"lsoa11_code": codes, "authority_code": authority, "children": np.arange(n)}, geometry=boxes, crs=27700)


def good_step(data_dir, tables):
    return {"lsoas": _areas(), "plain": pd.DataFrame({"urn": [100000, 100001], "pupils": [10, 20]})}


def failing_step(data_dir, tables):
    raise RuntimeError("disk full halfway")


@pytest.fixture
def built(tmp_path):
    store_dir = tmp_path / "store"
    store.build_store(tmp_path, store_dir, steps=[("good", "tests.test_store:good_step")])
    return store_dir


def test_missing_store_says_run_atlas_build(tmp_path):
    with pytest.raises(StoreMissing, match="atlas build"):
        store.current_folder(tmp_path / "nowhere")


def test_failed_build_leaves_previous_store_live(built, tmp_path):
    before = store.current_folder(built)
    with pytest.raises(RuntimeError, match="halfway"):
        store.build_store(tmp_path, built, steps=[("good", "tests.test_store:good_step"), ("bad", "tests.test_store:failing_step")])
    assert store.current_folder(built) == before
    assert not list(built.glob("*.partial"))  # the half-written build is removed
    assert len(store.read_table("plain", store_dir=built)) == 2


def test_geoparquet_has_covering_bbox_and_small_row_groups(built):
    import pyarrow.parquet as pq

    path = store.table_path("lsoas", built)
    meta = pq.ParquetFile(path)
    rows_per_group = ROW_GROUP_ROWS.get("lsoas", 1000)
    assert meta.metadata.num_row_groups == -(-2500 // rows_per_group)  # small groups: one authority reads alone
    assert meta.metadata.row_group(0).num_rows == rows_per_group
    assert "bbox" in meta.schema_arrow.names
    near = store.read_table("lsoas", bbox=(0, 0, 95, 10), store_dir=built)
    assert set(near["lsoa11_code"]) >= {f"E01{i:06d}" for i in range(9)}


@pytest.mark.parametrize("key,values", [("authority_code", ["E06000002"]), ("lsoa11_code", ["E01000999", "E01001000", "E01002499", "E01000003"])])
def test_read_rows_matches_a_full_filter(built, key, values):
    fast = store.read_rows("lsoas", key, values, store_dir=built)
    full = store.read_table("lsoas", store_dir=built)
    expected = full[full[key].isin(values)]
    assert fast["lsoa11_code"].tolist() == expected["lsoa11_code"].tolist()
    assert fast.crs == full.crs
    assert fast.geometry.equals(expected.geometry.reset_index(drop=True))
    assert (fast["children"].to_numpy() == expected["children"].to_numpy()).all()


def test_read_rows_with_no_match_is_empty(built):
    assert store.read_rows("lsoas", "lsoa11_code", ["E01999999"], store_dir=built).empty


def slow_step(data_dir, tables):
    import time

    time.sleep(120)
    return {}


def test_build_records_each_file_and_check_finds_none_damaged(built):
    import hashlib
    import json

    folder = store.current_folder(built)
    files = json.loads((folder / "build.json").read_text())["files"]
    assert set(files) == {"lsoas", "plain"}
    for name, record in files.items():
        data = (folder / f"{name}.parquet").read_bytes()
        assert record == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert store.verify_store(folder) == (2, [])


def test_a_truncated_table_is_named_with_what_to_do(built):
    path = store.current_folder(built) / "lsoas.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    for read in (lambda: store.read_table("lsoas", store_dir=built), lambda: store.read_rows("lsoas", "authority_code", ["E06000001"], store_dir=built)):
        with pytest.raises(store.StoreDamaged, match=r"store table 'lsoas' is damaged: .* bytes, the build wrote .*atlas build"):
            read()
    checked, problems = store.verify_store(path.parent)
    assert checked == 2 and len(problems) == 1 and "'lsoas'" in problems[0]
    assert len(store.read_table("plain", store_dir=built)) == 2  # the other table still reads


def test_an_altered_table_of_the_same_size_is_named_when_it_fails_to_decode(built):
    path = store.current_folder(built) / "lsoas.parquet"
    data = bytearray(path.read_bytes())
    start = len(data) // 3
    data[start : start + 4096] = b"U" * 4096
    path.write_bytes(bytes(data))
    with pytest.raises(store.StoreDamaged, match=r"store table 'lsoas' is damaged: .* differs from the file the build wrote"):
        store.read_table("lsoas", store_dir=built)
    assert "another sha256" in store.verify_store(path.parent)[1][0]


@pytest.mark.parametrize(("pointer", "expected"), [("\n", "is empty"), ("build-gone", "names build-gone, which is missing"), ("..", "names '..', not a build folder")])
def test_a_bad_current_pointer_is_named(built, pointer, expected):
    (built / "CURRENT").write_text(pointer)
    with pytest.raises(StoreMissing, match=rf"store pointer .*CURRENT {expected}.*atlas build"):
        store.current_folder(built)


def test_a_store_folder_that_is_a_file_is_named(tmp_path):
    afile = tmp_path / "store"
    afile.write_text("")
    with pytest.raises(StoreMissing, match="is a file, not a folder"):
        store.current_folder(afile)
    with pytest.raises(StoreMissing, match="is a file, not a folder"):
        store.build_store(tmp_path, afile, steps=[("good", "tests.test_store:good_step")])


def test_a_killed_build_leaves_a_partial_folder_that_the_next_build_removes(built, tmp_path):
    """kill -9 during a build: its .partial folder stays; the next build removes it, and keeps a running build's."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from atlaskit import config

    script = (
        "import sys; from atlaskit import store; "
        "store.build_store(sys.argv[1], sys.argv[2], steps=[('good', 'tests.test_store:good_step'), ('slow', 'tests.test_store:slow_step')])"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(built)], cwd=config.PROJECT_ROOT)
    partial = built / f"build-placeholder-{child.pid}.partial"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(built.glob(f"build-*-{child.pid}.partial"))
        if found and (found[0] / "lsoas.parquet").is_file():
            partial = found[0]
            break
        time.sleep(0.2)
    assert partial.is_dir(), "the child build never wrote its first table"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert partial.is_dir()  # what a killed build leaves
    running = built / f"build-20990101-000000-{os.getpid()}.partial"  # this process is alive: a build in progress
    running.mkdir()

    store.build_store(tmp_path, built, steps=[("good", "tests.test_store:good_step")])
    assert not partial.exists() and running.is_dir()
    assert store.remove_stale_partials(built) == []
