"""The scorecard reader and the planning build step: quirks on small tables made by code, then the real file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atlaskit.store.builders.planning import build, scorecard_table
from atlaskit.errors import DataFormatError
from atlaskit.sources.planning import KEY_COLUMNS, parse_scorecard, read_scorecard, read_scorecard_metadata


def raw_scorecard(**overrides) -> pd.DataFrame:
    """A raw scorecard (all text, as read) with two authorities and the England row, one year."""
    base = {
        "Year": ["2022/23", "2022/23", "2022/23"],
        "geographic_level": ["National", "Local authority", "Local authority"],
        "LANumber": ["0", "370", "201"],
        "new_la_code": ["", "E08000016", "E09000001"],
        "LA_name": ["England", "Barnsley", "City of London"],
        "region_code": ["", "E12000003", "E13000001"],
    }
    for column in KEY_COLUMNS:
        base[column] = ["1,000", "19738", "205"]
    base["SecNOR"] = ["3,000,000", "13098", "z"]
    base["PriCap"] = ["NA", "NA", "NA"]
    base["For_1_P"] = ["0.01", "-0.003242476", "LOW"]
    base["NoR_15_to_current_S_percent"] = ["1.5", "2.5", "NaN"]
    base.update(overrides)
    return pd.DataFrame(base).astype("string")


def test_markers_become_nan_and_are_kept():
    frame = parse_scorecard(raw_scorecard())
    assert list(frame["ons_code"]) == ["E08000016", "E09000001"]  # England row dropped
    city = frame.set_index("ons_code").loc["E09000001"]
    assert np.isnan(city["secondary_pupils"]) and city["secondary_pupils_marker"] == "z"
    assert np.isnan(city["primary_forecast_error_1y"]) and city["primary_forecast_error_1y_marker"] == "low"
    assert frame["primary_capacity"].isna().all() and (frame["primary_capacity_marker"] == "na").all()
    assert np.isnan(city["NoR_15_to_current_S_percent"])
    barnsley = frame.set_index("ons_code").loc["E08000016"]
    assert barnsley["primary_pupils"] == 19738.0
    assert barnsley["primary_forecast_error_1y"] == pytest.approx(-0.003242476)


def test_unknown_text_in_a_number_column_is_named():
    with pytest.raises(DataFormatError, match="SecNOR"):
        parse_scorecard(raw_scorecard(SecNOR=["1", "2", "lots"]))


def test_duplicate_authority_in_a_year_is_an_error():
    raw = raw_scorecard(LANumber=["0", "370", "370"])
    with pytest.raises(DataFormatError, match="370"):
        parse_scorecard(raw)


def test_missing_key_column_is_named():
    with pytest.raises(DataFormatError, match="PriNOR"):
        parse_scorecard(raw_scorecard().drop(columns=["PriNOR"]))


def test_scorecard_table_maps_retired_codes():
    table = scorecard_table(parse_scorecard(raw_scorecard()))
    assert set(table["authority_code"]) == {"E08000038", "E09000001"}
    assert table.columns[:3].tolist() == ["authority_code", "la_number", "academic_year"]
    assert table["la_number"].dtype == "Int64"


@pytest.mark.integration
def test_real_scorecard_reads_all_authorities(data_dir):
    frame = read_scorecard(data_dir)
    assert frame.groupby("academic_year")["la_number"].nunique().eq(153).all()
    assert frame.loc[frame["academic_year"] == "2022/23", "primary_capacity"].isna().all()
    assert frame.loc[frame["academic_year"] != "2022/23", "primary_capacity"].notna().sum() >= 150
    assert {"E08000016", "E08000019"} <= set(frame["ons_code"])
    meta = read_scorecard_metadata(data_dir)
    assert {"PriNOR", "SecNOR", "PriCap", "SecCap", "For_1_P"} <= set(meta["column"])


@pytest.mark.integration
def test_planning_build_step_gives_current_codes(data_dir):
    out = build(data_dir, {})
    table = out["scorecard"]
    assert table["authority_code"].nunique() == 153
    assert {"E08000038", "E08000039"} <= set(table["authority_code"])
    assert not ({"E08000016", "E08000019"} & set(table["authority_code"]))
    assert any("retired" in note for note in out["_notes"])
