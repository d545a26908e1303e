"""Feeder schools estimated through shared LSOAs (atlaskit.analysis.flows.feeders), on flows made by code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlaskit.analysis.flows import FEEDER_METHOD, feeder_estimates, school_feeders
from atlaskit.errors import UnknownSchool
from atlaskit.vocabulary import YEAR_GROUPS

PRIMARIES, SECONDARIES = [101, 102, 103], [201, 202]


def _flows(seed: int = 0, lsoas: int = 4) -> pd.DataFrame:
    """Random modelled flows of both phases out of a few LSOAs (every LSOA sends to every school)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(lsoas):
        code = f"E0100000{i}"
        rows += [(u, code, "primary", float(rng.uniform(0.5, 40))) for u in PRIMARIES]
        rows += [(u, code, "secondary", float(rng.uniform(0.5, 40))) for u in SECONDARIES]
    return pd.DataFrame(rows, columns=["urn", "lsoa11_code", "phase", "pupils"]).assign(source="modelled")


def _by_hand(flows: pd.DataFrame, p: int, s: int) -> float:
    """The documented estimate, written out as a loop: sum over LSOAs of leavers x P(p|l) x S(s|l)."""
    total = 0.0
    for _, rows in flows.groupby("lsoa11_code"):
        pri, sec = rows[rows["phase"] == "primary"], rows[rows["phase"] == "secondary"]
        leavers = pri["pupils"].sum() / len(YEAR_GROUPS["primary"])
        share_p = pri.loc[pri["urn"] == p, "pupils"].sum() / pri["pupils"].sum()
        share_s = sec.loc[sec["urn"] == s, "pupils"].sum() / sec["pupils"].sum()
        total += leavers * share_p * share_s
    return total


def test_estimate_is_the_documented_sum_over_shared_lsoas():
    flows = _flows()
    pairs = feeder_estimates(flows)
    for p in PRIMARIES:
        for s in SECONDARIES:
            got = pairs.loc[(pairs["primary_urn"] == p) & (pairs["secondary_urn"] == s), "leavers"]
            assert float(got.iloc[0]) == pytest.approx(_by_hand(flows, p, s), rel=1e-9)
    assert (pairs["lsoas"] == 4).all()
    assert "estimates, not observed counts" in FEEDER_METHOD


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), lsoas=st.integers(1, 6))
def test_leavers_are_conserved(seed, lsoas):
    """Every LSOA's leavers are shared out among its secondaries: a primary's leavers sum to its share of them."""
    flows = _flows(seed, lsoas)
    pairs = feeder_estimates(flows)
    primary = flows[flows["phase"] == "primary"]
    leavers = primary.groupby("lsoa11_code")["pupils"].sum() / len(YEAR_GROUPS["primary"])
    assert pairs["leavers"].sum() == pytest.approx(leavers.sum(), rel=1e-9)
    share = primary["pupils"] / primary.groupby("lsoa11_code")["pupils"].transform("sum")
    expected = (share * primary["lsoa11_code"].map(leavers)).groupby(primary["urn"]).sum()
    got = pairs.groupby("primary_urn")["leavers"].sum()
    assert got.reindex(expected.index).to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-9)
    assert (pairs["leavers"] >= 0).all()


def test_school_feeders_both_directions_and_shares():
    flows = _flows(3)
    feeders = school_feeders(flows, 201, "secondary")
    assert set(feeders["urn"]) == set(PRIMARIES)
    assert feeders["share"].sum() == pytest.approx(1.0)
    assert feeders["leavers"].is_monotonic_decreasing
    assert feeders["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    leavers_go = school_feeders(flows, 101, "primary")
    assert set(leavers_go["urn"]) == set(SECONDARIES)
    # the same pair seen from both ends is the same estimate
    a = float(feeders.loc[feeders["urn"] == 101, "leavers"].iloc[0])
    b = float(leavers_go.loc[leavers_go["urn"] == 201, "leavers"].iloc[0])
    assert a == pytest.approx(b)


def test_lsoas_not_shared_do_not_link_schools():
    """A primary and a secondary that draw from different LSOAs are not linked."""
    flows = pd.DataFrame(
        {
            "urn": [101, 201, 102, 202],
            "lsoa11_code": ["E01000001", "E01000001", "E01000002", "E01000002"],
            "phase": ["primary", "secondary", "primary", "secondary"],
            "pupils": [70.0, 50.0, 35.0, 20.0],
            "source": "modelled",
        }
    )
    assert school_feeders(flows, 201, "secondary")["urn"].tolist() == [101]
    assert school_feeders(flows, 102, "primary")["urn"].tolist() == [202]
    assert school_feeders(flows, 202, "secondary")["leavers"].iloc[0] == pytest.approx(35.0 / len(YEAR_GROUPS["primary"]))


def test_an_all_through_school_is_not_its_own_feeder():
    flows = _flows(5)
    through = flows[flows["urn"] == 201].assign(phase="primary")
    flows = pd.concat([flows, through], ignore_index=True)
    assert 201 not in school_feeders(flows, 201, "secondary")["urn"].tolist()
    assert 201 not in school_feeders(flows, 201, "primary")["urn"].tolist()


def test_a_school_without_flows_of_the_phase_is_named():
    with pytest.raises(UnknownSchool, match="URN 101 has no modelled secondary flows"):
        school_feeders(_flows(), 101, "secondary")
    with pytest.raises(ValueError, match="phase"):
        school_feeders(_flows(), 101, "nursery")


def test_report_feeders_table_uses_own_lsoas_and_labels_estimates():
    from atlaskit.report.catchments import feeders_table

    flows = _flows(7)
    schools = pd.DataFrame({"urn": PRIMARIES + SECONDARIES, "school_name": [f"School {u}" for u in PRIMARIES + SECONDARIES]})
    table = feeders_table(flows, ["E01000000", "E01000001"], schools, [201], "secondary", shown=2)
    assert len(table) == 2 and set(table["School"]) == {"School 201"}
    assert table["Leavers a year (estimate)"].str.startswith("about ").all()
    own = flows[flows["lsoa11_code"].isin(["E01000000", "E01000001"])]
    best = school_feeders(own, 201, "secondary").iloc[0]
    assert table["Feeder primary school"].iloc[0] == f"School {int(best['urn'])}"
