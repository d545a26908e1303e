"""Middle and three-tier schools (first/middle/upper): placed in the phases of the year groups they teach, labelled by tier."""

from __future__ import annotations

import pandas as pd
import pytest

from atlaskit.analysis.flows import phase_destinations
from atlaskit.store.registers import TIERS, classify_phase, classify_tier
from atlaskit.vocabulary import teaches_phase

# a three-tier pyramid and a two-tier one: published phase, statutory ages
SCHOOLS = pd.DataFrame(
    {
        "urn": [1, 2, 3, 4, 5, 6, 7],
        "school_name": ["First", "Middle", "Upper", "Primary", "Secondary", "Infant", "Junior"],
        "phase_of_education": ["Primary", "Middle Deemed Secondary", "Secondary", "Primary", "Secondary", "Primary", "Primary"],
        "age_low": [4, 9, 13, 4, 11, 4, 7],
        "age_high": [9, 13, 18, 11, 16, 7, 11],
    }
)


def _classified() -> pd.DataFrame:
    s = SCHOOLS.copy()
    s["establishment_type"] = "Community school"
    s["phase"] = classify_phase(s["establishment_type"], s["phase_of_education"], s["age_low"], s["age_high"])
    s["tier"] = classify_tier(s["phase_of_education"], s["age_low"], s["age_high"])
    return s


def test_three_tier_schools_are_labelled_and_placed_by_year_groups():
    s = _classified().set_index("school_name")
    assert s.loc[["First", "Middle", "Upper"], "tier"].tolist() == list(TIERS)
    assert s.loc[["Primary", "Secondary", "Infant", "Junior"], "tier"].isna().all()
    # a 9-13 middle school teaches Years 5-6 (primary) and 7-8 (secondary): both phases, never "secondary" only
    assert s.loc["Middle", "phase"] == "all-through"
    frame = s.reset_index()
    primary, secondary = teaches_phase(frame, "primary"), teaches_phase(frame, "secondary")
    assert frame.loc[primary, "school_name"].tolist() == ["First", "Middle", "Primary", "Infant", "Junior"]
    assert frame.loc[secondary, "school_name"].tolist() == ["Middle", "Upper", "Secondary"]


def test_the_flow_model_gives_a_middle_school_pupils_of_both_phases():
    """A 9-13 school of 400 pupils: ages 9-10 are primary (Years 5-6), 11-12 secondary (Years 7-8), 200 each."""
    s = _classified().assign(
        pupils_2019=[200.0, 400.0, 600.0, 420.0, 750.0, 270.0, 360.0], is_open=True, is_state_funded=True, easting=530000.0, northing=180000.0,
        authority_code="E06000057", gender="Mixed",
    )  # fmt: skip
    primary, _ = phase_destinations(s, "primary")
    secondary, _ = phase_destinations(s, "secondary")
    middle_primary = float(primary.loc[primary["urn"] == 2, "pupils"].iloc[0])
    middle_secondary = float(secondary.loc[secondary["urn"] == 2, "pupils"].iloc[0])
    assert middle_primary == pytest.approx(200.0) and middle_secondary == pytest.approx(200.0)
    assert 1 in set(primary["urn"]) and 1 not in set(secondary["urn"])  # a first school is primary only
    assert 3 in set(secondary["urn"]) and 3 not in set(primary["urn"])  # an upper school is secondary only


@pytest.mark.integration
def test_store_places_every_middle_school_in_both_phases(store):
    from atlaskit import store as st
    from atlaskit.vocabulary import is_open_state_funded

    schools = st.read_table("schools", columns=None)
    assert "tier" in schools, "the store's schools table has no tier column: rebuild the store (atlas build)"
    open_sf = schools[is_open_state_funded(schools)]
    middle = open_sf[open_sf["tier"] == "middle"]
    assert len(middle) >= 50
    assert (middle["phase"] == "all-through").all()  # never listed as a secondary (or primary) school only
    published_middle = open_sf[open_sf["phase_of_education"].astype("string").str.startswith("Middle").fillna(False) & open_sf["age_low"].eq(9) & open_sf["age_high"].eq(13)]
    assert len(published_middle) and (published_middle["tier"] == "middle").all()
    assert teaches_phase(middle, "primary").all() and teaches_phase(middle, "secondary").all()
    # the three-tier authorities named in the issue have all three tiers
    for code in ("E06000057", "E06000056", "E06000059"):  # Northumberland, Central Bedfordshire, Dorset
        assert set(open_sf.loc[open_sf["authority_code"] == code, "tier"].dropna()) == set(TIERS), code
    # the modelled flows give middle schools pupils of both phases
    flows = st.read_table("flows", columns=["urn", "phase", "source"], filters=[("urn", "in", middle["urn"].head(20).tolist())])
    phases = flows[flows["source"] == "modelled"].groupby("urn")["phase"].agg(lambda p: set(p.astype(str)))
    assert len(phases) and phases.map(lambda p: p == {"primary", "secondary"}).all()
