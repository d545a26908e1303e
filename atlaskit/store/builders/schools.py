"""Build step ``schools``: the national schools table (points) and the list of schools that could not be joined.

Runs after the geography step (needs its ``lsoas`` and ``authority_codes`` tables). Reads every
file under ``schools/`` and OS Code-Point Open, combines the registers into one row per URN,
joins 2015 capacity (through LAEstab), the 2019 census, the latest Ofsted inspection and the
2018 KS2/KS4 results, locates each school (postcode, else London Schools Atlas coordinates, else
a predecessor's postcode) and assigns its LSOA and current authority.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from atlaskit.errors import StoreMissing
from atlaskit.sources import school_figures, postcodes
from atlaskit.sources import schools as src
from atlaskit.store import locate, registers
from atlaskit.store.joins import isin_fast, join_rows
from atlaskit.vocabulary import URN_DTYPE, is_open_state_funded, teaches_phase

#: Columns of the ``schools`` table, in order (see :mod:`atlaskit.store`).
SCHOOL_COLUMNS = [
    "urn", "school_name", "la_number", "authority_code", "laestab", "postcode", "phase", "phase_of_education",
    "establishment_type", "is_state_funded", "is_open", "gender", "age_low", "age_high", "pupils_2019", "pupils_2015",
    "capacity_2015", "capacity_primary_2015", "capacity_secondary_2015", "planning_area_code", "ofsted_rating",
    "ofsted_date", "ks2_pupils", "ks2_rwm_expected_pct", "ks4_pupils", "ks4_attainment8", "ks4_progress8",
    "easting", "northing", "located_by", "lsoa11_code", "lsoa_authority_code",
    # additions beyond the minimum contract
    "la_number_authority_code", "authority_source", "located_postcode", "lsoa_match", "lsoa_distance_m",
    "census_school_type", "minor_group", "status_code", "open_date", "close_date", "religious_character",
    "admissions_policy", "has_sixth_form", "girls_2019", "boys_2019", "sen_ehcp_2019", "sen_support_2019",
    "eal_pct_2019", "fsm_ever_pct_2019", "scap_phase", "planning_area_primary_code", "planning_area_secondary_code",
    "capacity_match", "ofsted_grade", "ofsted_inspections", "ks2_rwm_higher_pct", "ks2_reading_progress",
    "ks2_writing_progress", "ks2_maths_progress", "ks2_progress_marker", "ks4_eng_maths_grade5_pct",
    "ks4_ebacc_entry_pct", "ks4_progress8_band", "ks4_marker", "in_census", "in_spine", "in_school_postcodes",
    "in_london_schools_atlas", "lsa_coordinates", "lsa_disagreement_m", "tier",
]  # fmt: skip


def _predecessors(links: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """Return urn, predecessor_urn, predecessor_postcode for schools with a predecessor on the links."""
    pred = links[links["link_type"].str.startswith("Predecessor").fillna(False)][["urn", "link_urn"]]
    postcode = register.set_index("urn")["postcode"]
    return pd.DataFrame(
        {
            "urn": pred["urn"].to_numpy(),
            "predecessor_urn": pred["link_urn"].to_numpy(),
            "predecessor_postcode": pd.array(pred["link_urn"].map(postcode), dtype="string"),
        }
    )


def build(data_dir: Path, tables: dict | None = None) -> dict:
    """Build the ``schools`` and ``school_joins`` tables.

    Args:
        data_dir: raw data folder (``ATLAS_DATA_DIR``).
        tables: tables built so far; needs ``lsoas`` (EPSG:27700 polygons with lsoa11_code,
            authority_code) and ``authority_codes`` from the geography step.

    Returns:
        ``{"schools": GeoDataFrame (points, EPSG:27700, sorted by authority_code then urn),
        "school_joins": DataFrame (urn, laestab, school_name, step, status, reason),
        "_notes": [lines for ``atlas build`` to print]}``.

    Raises:
        StoreMissing: the geography tables are absent (run the geography step first).
        DataFileMissing, ChecksumMismatch, DataFormatError: from the readers.
    """
    import geopandas as gpd

    tables = tables or {}
    missing = [t for t in ("lsoas", "authority_codes") if t not in tables]
    if missing:
        raise StoreMissing(f"the schools build step needs the geography tables {', '.join(missing)}: run the full `atlas build`")
    start = time.perf_counter()

    school_postcodes = src.read_school_postcodes(data_dir)
    spine = src.read_spine(data_dir)
    census = src.read_census(data_dir)
    london_rows = src.read_london_schools_atlas(data_dir)
    capacity = school_figures.read_capacity_2015(data_dir)
    ks2, ks4 = school_figures.read_ks2(data_dir), school_figures.read_ks4(data_dir)
    ofsted = registers.latest_inspection(school_figures.read_ofsted(data_dir))
    links = src.read_school_links(data_dir)

    london = registers.dedupe_london_schools(london_rows)
    register = registers.combine_registers(school_postcodes, spine, census, london, links)
    predecessors = _predecessors(links, register)
    wanted = pd.concat(
        [register["postcodes"].str.split("|").explode(), london["postcode"], predecessors["predecessor_postcode"]]
    ).dropna()
    codepoint = postcodes.read_codepoint(data_dir, postcodes=wanted)
    london = locate.choose_london_coordinates(london, codepoint)

    located, located_joins = locate.locate_schools(register, codepoint, london, predecessors)
    lsoas = tables["lsoas"]
    assigned, lsoa_joins = locate.assign_lsoa(located, lsoas)
    matched, capacity_joins = registers.match_capacity(capacity, register, [spine, school_postcodes, census])
    matched, successor_joins = registers.follow_successors(matched, register, links)
    capacity_joins = pd.concat([capacity_joins, successor_joins], ignore_index=True)

    schools = register.merge(located, on="urn", how="left", validate="1:1").merge(assigned, on="urn", how="left", validate="1:1")
    resolved, authority_joins = locate.assign_current_authority(schools, tables["authority_codes"])
    schools = schools.merge(resolved, on="urn", how="left", validate="1:1")
    cap = matched.dropna(subset=["urn"]).astype({"urn": URN_DTYPE}).drop(columns=["laestab", "la_number", "estab", "la_name", "school_name", "main_phase", "row_repaired"])
    schools = schools.merge(cap, on="urn", how="left", validate="1:1")
    schools = schools.merge(ofsted, on="urn", how="left", validate="1:1")
    schools = schools.merge(ks2, on="urn", how="left", validate="1:1").merge(ks4, on="urn", how="left", validate="1:1")
    lsa_cols = london[["urn", "lsa_coordinates", "lsa_disagreement_m"]]
    schools = schools.merge(lsa_cols, on="urn", how="left", validate="1:1")
    if len(schools) != len(register):
        raise AssertionError(f"schools: {len(schools)} rows after joins, register has {len(register)}")

    schools["phase"] = registers.classify_phase(
        schools["establishment_type"], schools["phase_of_education"], schools["age_low"], schools["age_high"], schools["census_school_type"]
    )
    # three-tier systems: a middle school is in both phases (phase all-through), labelled by its tier
    schools["tier"] = registers.classify_tier(schools["phase_of_education"], schools["age_low"], schools["age_high"])
    schools.loc[~schools["phase"].isin(["primary", "secondary", "all-through"]), "tier"] = pd.NA
    primary_like = schools["phase"].isin(["primary", "nursery"])
    schools["planning_area_code"] = schools["planning_area_primary_code"].where(primary_like, schools["planning_area_secondary_code"])
    schools["planning_area_code"] = schools["planning_area_code"].fillna(schools["planning_area_primary_code"]).fillna(schools["planning_area_secondary_code"])
    schools["located_by"] = schools["located_by"].astype("string")

    frame = schools[SCHOOL_COLUMNS].sort_values(["authority_code", "urn"], na_position="last").reset_index(drop=True)
    geometry = gpd.points_from_xy(frame["easting"], frame["northing"], crs=locate.BNG)
    out = gpd.GeoDataFrame(frame, geometry=geometry, crs=locate.BNG)
    out.loc[frame["easting"].isna(), "geometry"] = None

    orphans = [
        join_rows(frame[~isin_fast(frame["urn"], register["urn"])].drop_duplicates("urn"), step, "not joined", f"URN not in any school register ({what})")
        for step, what, frame in [("ks2", "KS2 results 2018", ks2), ("ks4", "KS4 results 2018", ks4), ("ofsted", "Ofsted inspections", ofsted)]
    ]
    joins = pd.concat([located_joins, lsoa_joins, capacity_joins, authority_joins, *orphans], ignore_index=True)
    names = register.set_index("urn")["school_name"]
    joins["school_name"] = joins["school_name"].fillna(joins["urn"].map(names)).astype("string")

    return {"schools": out, "school_joins": joins, "_notes": _notes(out, joins, capacity, matched, time.perf_counter() - start)}


def _notes(schools: pd.DataFrame, joins: pd.DataFrame, capacity: pd.DataFrame, matched: pd.DataFrame, seconds: float) -> list[str]:
    """Return the lines ``atlas build`` prints about the schools step."""
    state_open = schools[is_open_state_funded(schools)]
    located = state_open["located_by"].notna()
    reasons = joins[(joins["step"] == "location") & isin_fast(joins["urn"], state_open["urn"])]["reason"]
    kinds = reasons.str.replace(r"postcode .* has no", "postcode has no", regex=True).str.replace(r"postcode .* not in", "postcode not in", regex=True)
    kind_text = "; ".join(f"{n} {k}" for k, n in kinds.value_counts().items())
    unlocated = state_open[~located]
    phases = ", ".join(f"{n} {p}" for p, n in unlocated["phase"].value_counts().items())
    with_postcode = state_open[state_open["postcode"].notna() | state_open["located_by"].notna()]
    mainstream = state_open[teaches_phase(state_open, "primary") | teaches_phase(state_open, "secondary")]
    by = schools["located_by"].value_counts().to_dict()
    return [
        f"schools: {len(schools):,} URNs ({int(schools['is_open'].sum()):,} open, {len(state_open):,} open state-funded); "
        f"located by {', '.join(f'{k} {v:,}' for k, v in by.items())}",
        f"schools located: {located.mean():.1%} of open state-funded ({int(located.sum()):,} of {len(state_open):,}); "
        f"unlocated: {int((~located).sum()):,} ({phases}; {kind_text})",
        f"schools located among open state-funded schools with a postcode in any register: "
        f"{with_postcode['located_by'].notna().mean():.1%} ({int(with_postcode['located_by'].notna().sum()):,} of {len(with_postcode):,})",
        f"schools located among open state-funded primary, secondary and all-through schools: "
        f"{mainstream['located_by'].notna().mean():.1%} ({int(mainstream['located_by'].notna().sum()):,} of {len(mainstream):,}); "
        f"the schools with no postcode are in the 2019 census only (nursery schools, PRUs, special schools: it gives no address)",
        f"school capacity 2015: {int(matched['urn'].notna().sum()):,} of {len(capacity):,} UD1 rows joined to a URN "
        f"({int(capacity['row_repaired'].sum())} shifted row repaired)",
        f"three-tier schools (open state-funded): {_tier_counts(state_open)}; middle schools are in both phases "
        f"(phase all-through: they teach primary and secondary year groups)",
        f"school_joins: {len(joins):,} rows ({', '.join(f'{s}/{t} {n}' for (s, t), n in joins.groupby(['step', 'status']).size().items())}); "
        f"schools step {seconds:.1f} s",
    ]


def _tier_counts(schools: pd.DataFrame) -> str:
    """Return ``"first N, middle N, upper N in K authorities"`` for the schools of a three-tier system."""
    tiered = schools[schools["tier"].notna()]
    counts = tiered["tier"].value_counts()
    return ", ".join(f"{tier} {int(counts.get(tier, 0)):,}" for tier in registers.TIERS) + f" in {tiered['authority_code'].nunique()} authorities"
