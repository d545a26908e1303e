"""Integration tests of atlaskit.load on the real store."""

from __future__ import annotations

import pytest

import atlaskit

pytestmark = pytest.mark.integration


def test_load_kent_has_its_902_lsoas_and_border_neighbours(store):
    kent = atlaskit.load("E10000016", buffer_km=2)
    own = kent.lsoas[kent.lsoas["in_authority"]]
    assert len(own) == 902
    assert (own["authority_code"] == "E10000016").all()
    neighbours = kent.lsoas[~kent.lsoas["in_authority"]]
    assert len(neighbours) > 0
    assert (neighbours["authority_code"] != "E10000016").all()
    assert kent.lsoas["lsoa11_code"].is_unique
    assert kent.lsoas.crs.to_epsg() == 27700
    assert kent.lsoas_display.crs.to_epsg() == 4326
    assert set(kent.lsoas_display["lsoa11_code"]) == set(kent.lsoas["lsoa11_code"])
    assert (kent.schools["authority_code"] == "E10000016").all()
    assert len(kent.schools) > 500


def test_buffer_grows_the_neighbour_set(store):
    small = atlaskit.load("E09000007", buffer_km=0.5)
    large = atlaskit.load("E09000007", buffer_km=3)
    assert set(small.lsoas["lsoa11_code"]) <= set(large.lsoas["lsoa11_code"])
    assert (~large.lsoas["in_authority"]).sum() > (~small.lsoas["in_authority"]).sum()


def test_negative_buffer_is_refused(store):
    with pytest.raises(ValueError, match="buffer_km"):
        atlaskit.load("E09000007", buffer_km=-1)
