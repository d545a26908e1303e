"""Search (atlaskit.analysis.search): schools by URN, DfE number, postcode or name, as the app's search box uses it."""

from __future__ import annotations

import pandas as pd
import pytest

from atlaskit.analysis.search import search_schools
from atlaskit.errors import closest
from fake_atlas import make_authority

S = lambda values: pd.Series(values, dtype="string")  # noqa: E731


def _directory():
    return pd.DataFrame(
        {"urn": pd.Series([100000, 100001, 100002, 100003, 100004], dtype="int64"),
         "school_name": S(["Sir John Cass's Foundation Primary School", "City of London School for Girls", "St Paul's Cathedral School",
                           "Argyle Primary School", "Argyle Primary School"]),
         "postcode": S(["EC3A 5DE", "EC2Y 8BB", "EC4M 9AD", "WC1H 9EG", "WC1H 9EH"]),
         "is_open": [True, True, True, False, True], "laestab": S(["2013614", "2016005", "2016006", "2022019", "2022020"])}
    ).pipe(
        lambda d: pd.concat([d, pd.DataFrame({"urn": pd.Series([100005], dtype="int64"), "school_name": S([pd.NA]), "postcode": S([pd.NA]), "is_open": [True], "laestab": S([pd.NA])})], ignore_index=True)
    )  # fmt: skip


def test_search_by_urn_and_postcode():
    d = _directory()
    assert search_schools(d, "100002")["urn"].tolist() == [100002]
    hit = search_schools(d, "ec3a5de")
    assert hit["urn"].iloc[0] == 100000 and hit["match"].iloc[0] == "postcode"
    for number in ("2013614", "201/3614", "201 3614"):
        hit = search_schools(d, number)
        assert hit["urn"].tolist() == [100000] and hit["match"].iloc[0] == "laestab"
    outward = search_schools(d, "WC1H")
    assert set(outward["urn"]) == {100003, 100004}


def test_search_by_name_substring_open_first_and_fuzzy():
    d = _directory()
    argyle = search_schools(d, "argyle")
    assert argyle["urn"].tolist()[:2] == [100004, 100003]  # same score: the open school first
    assert argyle["match"].iloc[0] == "name"
    typo = search_schools(d, "Cathedarl School")
    assert typo["urn"].iloc[0] == 100002 and typo["match"].iloc[0] == "fuzzy"
    assert search_schools(d, "   ").empty
    assert search_schools(d, "xqzv").empty
    assert list(search_schools(d, "school", limit=2).index) == list(search_schools(d, "school").index[:2])


def test_urns_stay_int64():
    d = _directory()
    assert d["urn"].dtype == "int64"
    assert search_schools(d, "100002")["urn"].dtype == "int64"
    assert search_schools(d, "argyle")["urn"].dtype == "int64"


@pytest.fixture(scope="module")
def town():
    return make_authority()


def test_search_schools_by_urn_postcode_and_name(town):
    """The app's search box: limit 5 for its pick (formerly the app's own, weaker search)."""
    assert search_schools(town.schools, "100003", limit=5)["urn"].tolist() == [100003]
    assert search_schools(town.schools, "nw12bb", limit=5)["urn"].tolist() == [100002]
    assert search_schools(town.schools, "NW1", limit=5)["urn"].tolist()[:1] == [100001]
    assert search_schools(town.schools, "gamma", limit=5)["urn"].tolist() == [100003]
    assert search_schools(town.schools, "Alpah Primary School", limit=5)["urn"].tolist()[:1] == [100001]
    assert search_schools(town.schools, "zzzz", limit=5).empty
    assert search_schools(town.schools, "  ", limit=5).empty


def test_closest_keeps_only_close_enough_names():
    names = ["Testborough", "Otherham", "Smallshire"]
    assert closest("Otherhm", names, limit=3, min_score=85) == ["Otherham"]
    assert closest("XYZ", names, limit=3, min_score=85) == []
    assert len(closest("XYZ", names, limit=2)) == 2
