"""URNs are int64 from the moment a source is read to every store table (issue 13)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from atlaskit import store as st
from atlaskit.vocabulary import URN_DTYPE

pytestmark = pytest.mark.integration


def test_readers_return_int64_urns(data_dir):
    from atlaskit.sources import school_figures
    from atlaskit.sources import schools as src
    from atlaskit.sources.flows import read_lsa_flows

    for frame in (src.read_census(data_dir), src.read_school_links(data_dir), school_figures.read_ks4(data_dir), read_lsa_flows(data_dir)):
        for column in [c for c in frame.columns if c.endswith("urn")]:
            assert frame[column].dtype == URN_DTYPE, column


def test_every_store_urn_column_is_int64(store):
    folder = st.current_folder(store)
    seen = []
    for path in sorted(folder.glob("*.parquet")):
        schema = pq.read_schema(path)
        for name in [n for n in schema.names if n == "urn"]:
            seen.append(path.stem)
            assert schema.field(name).type == pa.int64(), path.stem
            nulls = pq.read_table(path, columns=[name]).column(name).null_count
            # only capacity rows of school_joins that match no school have no URN
            assert nulls == 0 or path.stem == "school_joins", path.stem
    assert {"schools", "school_joins", "observed_flows", "flows"} <= set(seen)
