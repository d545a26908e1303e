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
