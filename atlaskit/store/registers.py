"""Schools: combine the registers, join capacity, results and inspections, locate, assign LSOAs, search.

Plain functions over DataFrames (no file I/O): the readers in :mod:`atlaskit.sources.schools`
produce their inputs and :mod:`atlaskit.builders.schools` chains them into the store's ``schools``
and ``school_joins`` tables. Coordinates are British National Grid (EPSG:27700) metres.

Nothing is dropped silently: every function that can fail to match a school returns, beside its
result, the schools it could not match with the reason (rows of ``school_joins``: urn, step,
status, reason, plus laestab and school_name where useful).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from atlaskit.errors import DataFormatError

__all__ = [
    "BNG",
    "PHASES",
    "JOIN_COLUMNS",
    "dedupe_london_schools",
    "choose_london_coordinates",
    "combine_registers",
    "classify_phase",
    "state_funded",
    "match_capacity",
    "follow_successors",
    "latest_inspection",
    "locate_schools",
    "assign_lsoa",
    "resolve_authority",
]

#: British National Grid, the CRS of every school point.
BNG = "EPSG:27700"
#: The phases :func:`classify_phase` assigns.
PHASES = ("primary", "secondary", "all-through", "16 plus", "nursery", "special", "pru", "other")
#: Columns of a ``school_joins`` row.
JOIN_COLUMNS = ["urn", "laestab", "school_name", "step", "status", "reason"]


def _isin(values, other) -> np.ndarray:
    """Return ``values.isin(other)`` as a NumPy bool array, fast for large string columns.

    (pandas 3's Arrow-backed ``isin`` against tens of thousands of strings takes ~0.4 s; an
    index lookup takes ~0.04 s.)
    """
    lookup = pd.Index(pd.unique(pd.Series(np.asarray(other, dtype=object)).dropna()))
    return lookup.get_indexer(np.asarray(values, dtype=object)) >= 0


def _joins(frame: pd.DataFrame, step: str, status: str, reason: pd.Series | str) -> pd.DataFrame:
    """Return ``school_joins`` rows for the schools in ``frame`` (columns urn and optional laestab, school_name)."""
    out = pd.DataFrame(index=frame.index)
    for column in ("urn", "laestab", "school_name"):
        out[column] = frame[column].astype("string") if column in frame else pd.Series(pd.NA, index=frame.index, dtype="string")
    out["step"] = step
    out["status"] = status
    out["reason"] = reason if isinstance(reason, pd.Series) else pd.Series(reason, index=frame.index)
    out["reason"] = out["reason"].astype("string")
    return out[JOIN_COLUMNS].reset_index(drop=True)


def _empty_joins() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in JOIN_COLUMNS})


# ---------------------------------------------------------------------------------------------
# London Schools Atlas


def dedupe_london_schools(london: pd.DataFrame) -> pd.DataFrame:
    """Keep one row per URN of the London Schools Atlas list, merging its map-layer flags.

    The published file lists 396 schools twice, once per map layer (primary and secondary); the
    two rows differ only in that flag.

    Args:
        london: rows from :func:`atlaskit.sources.schools.read_london_schools_atlas` (column
            ``primary_layer`` plus the school's attributes).

    Returns:
        One row per URN (first row's attributes), with ``primary_layer`` and ``secondary_layer``
        (bool: the school is drawn on that layer) and ``lsa_rows`` (rows merged, 1 or 2).

    Raises:
        DataFormatError: two rows of one URN that differ in anything but the layer flag (their
            coordinates or names would be ambiguous).
    """
    attributes = [c for c in london.columns if c not in {"primary_layer"}]
    compare = london[attributes].astype("string").fillna("<NA>")
    differing = compare.groupby(london["urn"]).nunique() > 1
    if differing.to_numpy().any():
        urns = differing.index[differing.any(axis=1)]
        columns = differing.columns[differing.any(axis=0)]
        raise DataFormatError(
            f"London Schools Atlas: URN(s) {', '.join(map(str, urns[:5]))} listed twice with different {', '.join(columns)}; "
            "cannot choose one row"
        )
    layers = london.groupby("urn", sort=False)["primary_layer"].agg(["any", "all", "size"])
    out = london.drop_duplicates("urn").drop(columns=["primary_layer"]).set_index("urn")
    out["primary_layer"] = layers["any"]
    out["secondary_layer"] = ~layers["all"]
    out["lsa_rows"] = layers["size"].astype("int64")
    return out.reset_index()


def choose_london_coordinates(london: pd.DataFrame, postcode_points: pd.DataFrame | None = None, tolerance_m: float = 20.0) -> pd.DataFrame:
    """Choose, per school, between the London Schools Atlas EASTING/NORTHING and its longitude/latitude.

    The two agree within a few metres for all but 9 schools (up to 8.6 km apart, typing errors in
    one or the other). Where they differ by more than ``tolerance_m`` the pair nearer the
    Code-Point Open centroid of the school's postcode is trusted (both published pairs are
    otherwise equally credible); with no postcode point, EASTING/NORTHING (the file's native
    grid) is kept.

    Args:
        london: one row per URN with easting, northing (published) and lonlat_easting,
            lonlat_northing (published longitude/latitude projected to EPSG:27700), postcode.
        postcode_points: postcode, easting, northing of Code-Point Open (optional).
        tolerance_m: distance in metres above which the two pairs are said to disagree.

    Returns:
        A copy with lsa_easting, lsa_northing (chosen, metres), lsa_disagreement_m (distance
        between the two published pairs) and lsa_coordinates (``easting_northing``, ``lonlat``
        or ``easting_northing`` when they agree).
    """
    out = london.copy()
    gap = np.hypot(out["easting"] - out["lonlat_easting"], out["northing"] - out["lonlat_northing"])
    out["lsa_disagreement_m"] = gap.round(1)
    use_lonlat = pd.Series(False, index=out.index)
    disagree = gap > tolerance_m
    if postcode_points is not None and disagree.any():
        points = postcode_points.drop_duplicates("postcode").set_index("postcode")[["easting", "northing"]]
        ref = out.loc[disagree, ["postcode"]].join(points, on="postcode")
        d_en = np.hypot(out.loc[disagree, "easting"] - ref["easting"], out.loc[disagree, "northing"] - ref["northing"])
        d_ll = np.hypot(out.loc[disagree, "lonlat_easting"] - ref["easting"], out.loc[disagree, "lonlat_northing"] - ref["northing"])
        use_lonlat.loc[disagree] = (d_ll < d_en).fillna(False).to_numpy()
    missing_en = out["easting"].isna() | out["northing"].isna()
    use_lonlat |= missing_en & out["lonlat_easting"].notna()
    out["lsa_easting"] = out["easting"].where(~use_lonlat, out["lonlat_easting"])
    out["lsa_northing"] = out["northing"].where(~use_lonlat, out["lonlat_northing"])
    out["lsa_coordinates"] = pd.Series(np.where(use_lonlat, "lonlat", "easting_northing"), index=out.index, dtype="string")
    out.loc[out["lsa_easting"].isna(), "lsa_coordinates"] = pd.NA
    return out


# ---------------------------------------------------------------------------------------------
# the register


def _first(*series: pd.Series) -> pd.Series:
    """Return, element-wise, the first non-missing value of several aligned series."""
    result = series[0]
    for other in series[1:]:
        result = result.fillna(other) if result.dtype == other.dtype else result.astype(object).where(result.notna(), other)
    return result


def combine_registers(
    school_postcodes: pd.DataFrame,
    spine: pd.DataFrame,
    census: pd.DataFrame,
    london: pd.DataFrame,
    links: pd.DataFrame | None = None,
    census_date: pd.Timestamp = pd.Timestamp("2019-01-17"),
) -> pd.DataFrame:
    """Combine the four school registers into one row per URN, each attribute from the newest file holding it.

    Precedence: the January 2019 census (type, LA and establishment numbers), then the 2017-18
    spine (names, postcodes, status, ages, gender, religious character, admissions), then the
    London Schools Atlas 2016, then the 2013 state-funded list (whose LA names also give the LA
    number of schools only in the London Schools Atlas, which names authorities but gives no
    numbers). Schools in none of the files that name them (the 2019 census has no names) take
    their name from the register links, where a predecessor or successor names them.

    Status (``is_open``) is as at the January 2019 census day (``census_date``), the newest
    register covering every school: a school is open when it is in the 2019 census (it had pupils
    on roll) or the spine says open (status 1, or 3 proposed to open) with no closing date and an
    opening date (if any) on or before that day. Schools the spine lists as opening later (about
    670, mostly academy conversions of 2019 whose predecessors are in the census) count as not
    yet open, so a school and its successor are never both open. A school only in the older lists
    is taken as closed by 2019 (the spine lists every open school of 2017-18, including
    independent ones, and the census every school with pupils in January 2019).

    Args:
        school_postcodes: :func:`atlaskit.sources.schools.read_school_postcodes`.
        spine: :func:`atlaskit.sources.schools.read_spine`.
        census: :func:`atlaskit.sources.schools.read_census`.
        london: :func:`dedupe_london_schools` of the London Schools Atlas (one row per URN).
        links: :func:`atlaskit.sources.schools.read_school_links` (optional, names only).
        census_date: the day ``is_open`` refers to (the January 2019 census day).

    Returns:
        One row per URN found in any register: urn, school_name, la_number, estab, laestab,
        postcode, postcodes (every distinct postcode the registers give, newest first, joined by
        ``|``), establishment_type, phase_of_education, census_school_type, minor_group,
        is_state_funded, is_open, status_code, open_date, close_date, gender, age_low, age_high,
        religious_character, admissions_policy, has_sixth_form, in_census, in_spine,
        in_school_postcodes, in_london_schools_atlas, plus the census figures (pupils_2019...).

    Raises:
        DataFormatError: an input repeats a URN.
    """
    for name, frame in [("school_postcodes", school_postcodes), ("spine", spine), ("census", census), ("london", london)]:
        if frame["urn"].duplicated().any():
            raise DataFormatError(f"{name}: URN repeated ({', '.join(frame.loc[frame['urn'].duplicated(), 'urn'].head(3))}); de-duplicate it first")
    urns = pd.Index(
        pd.concat([census["urn"], spine["urn"], london["urn"], school_postcodes["urn"]]).dropna().astype("string").unique(), name="urn"
    ).sort_values()
    ce = census.set_index("urn").reindex(urns)
    sp = spine.set_index("urn").reindex(urns)
    lsa = london.set_index("urn").reindex(urns)
    pc = school_postcodes.set_index("urn").reindex(urns)
    s = lambda frame, column: frame[column].astype("string") if column in frame else pd.Series(pd.NA, index=urns, dtype="string")  # noqa: E731

    out = pd.DataFrame(index=urns)
    out["school_name"] = _first(s(sp, "school_name"), s(lsa, "school_name"), s(pc, "school_name"))
    if links is not None and len(links):
        named = links.dropna(subset=["link_urn", "link_name"]).drop_duplicates("link_urn").set_index("link_urn")["link_name"].astype("string")
        out["school_name"] = out["school_name"].fillna(named.reindex(urns))
    # the London Schools Atlas names its authorities but gives no numbers: map names through the 2013 list
    by_name = school_postcodes.dropna(subset=["la_name", "la_number"]).drop_duplicates("la_name").set_index("la_name")["la_number"] if "la_name" in school_postcodes else pd.Series(dtype="string")
    lsa_number = s(lsa, "la_name").map(by_name).astype("string")
    out["la_number"] = _first(s(ce, "la_number"), s(sp, "la_number"), s(pc, "la_number"), lsa_number)
    out["estab"] = _first(s(ce, "estab"), s(sp, "estab"), s(pc, "estab"))
    out["laestab"] = (out["la_number"] + out["estab"]).astype("string")
    postcodes = pd.concat([s(sp, "postcode"), s(lsa, "postcode"), s(pc, "postcode")], axis=1)
    out["postcode"] = _first(*[postcodes.iloc[:, i] for i in range(3)])
    columns = [postcodes.iloc[:, i].astype(object).where(postcodes.iloc[:, i].notna(), None).tolist() for i in range(3)]
    joined = ["|".join(dict.fromkeys(v for v in row if v)) or None for row in zip(*columns)]
    out["postcodes"] = pd.Series(joined, index=urns, dtype="string")
    out["establishment_type"] = _first(s(sp, "establishment_type"), s(lsa, "establishment_type"), s(pc, "establishment_type"), s(ce, "census_school_type"))
    out["phase_of_education"] = _first(s(pc, "phase_of_education"), s(lsa, "phase_of_education"), _phase_from_spine(sp), _phase_from_census(s(ce, "census_school_type")))
    out["census_school_type"] = s(ce, "census_school_type")
    out["minor_group"] = s(sp, "minor_group")
    out["in_census"] = _isin(urns, census["urn"])
    out["in_spine"] = _isin(urns, spine["urn"])
    out["in_school_postcodes"] = _isin(urns, school_postcodes["urn"])
    out["in_london_schools_atlas"] = _isin(urns, london["urn"])
    out["is_state_funded"] = state_funded(out, s(lsa, "establishment_type"))
    spine_open = sp["is_open"].astype("boolean").fillna(False) & sp["close_date"].isna() & ~(sp["open_date"] > census_date).fillna(False)
    out["is_open"] = (out["in_census"] | spine_open).astype(bool)
    out["status_code"] = sp["status_code"].astype("Int64")
    out["open_date"] = sp["open_date"]
    out["close_date"] = sp["close_date"]
    out["gender"] = _first(s(sp, "gender"), s(lsa, "gender"))
    out["age_low"] = sp["age_low"].astype("Int64").fillna(lsa["age_low"].astype("Int64")) if "age_low" in lsa else sp["age_low"].astype("Int64")
    out["age_high"] = sp["age_high"].astype("Int64").fillna(lsa["age_high"].astype("Int64")) if "age_high" in lsa else sp["age_high"].astype("Int64")
    out["religious_character"] = s(sp, "religious_character")
    out["admissions_policy"] = s(sp, "admissions_policy")
    post16 = sp["is_post16"].astype("boolean") if "is_post16" in sp else pd.Series(pd.NA, index=urns, dtype="boolean")
    out["has_sixth_form"] = (post16 & out["age_high"].ge(18).fillna(post16)).astype("boolean")
    for column in [c for c in census.columns if c.endswith("_2019")]:
        out[column] = ce[column].astype("float64")
    return out.reset_index()


def _phase_from_spine(sp: pd.DataFrame) -> pd.Series:
    """Return a GIAS-style phase of education from the spine's primary/secondary/post-16 flags."""
    if "is_primary" not in sp:
        return pd.Series(pd.NA, index=sp.index, dtype="string")
    pri, sec, p16 = (sp[c].astype("boolean").fillna(False) for c in ("is_primary", "is_secondary", "is_post16"))
    phase = np.select([pri & sec, pri, sec, p16], ["All-through", "Primary", "Secondary", "16 plus"], default="")
    out = pd.Series(phase, index=sp.index, dtype="string")
    return out.mask(out == "")


def _phase_from_census(census_type: pd.Series) -> pd.Series:
    mapping = {"State-funded primary": "Primary", "State-funded secondary": "Secondary", "State-funded nursery": "Nursery"}
    return census_type.map(mapping).astype("string")


_NOT_STATE = re.compile(r"independent|non-maintained|college|sixth form centre|service child|other government|welsh|secure unit|offshore|further education|higher education|miscellaneous", re.I)
_STATE_EXCEPTIONS = re.compile(r"city technology college|university technical college|studio", re.I)


def state_funded(register: pd.DataFrame, london_type: pd.Series | None = None) -> pd.Series:
    """Return whether each school is state-funded (maintained, academy, free school, PRU, state special).

    Decided by the newest evidence: the 2019 census type (``State-funded ...`` and ``Pupil
    referral unit`` are; ``Independent school`` and ``Non-maintained special school`` are not),
    else the spine's establishment type, else presence in the 2013 list of state-funded schools,
    else the London Schools Atlas type. Independent and non-maintained special schools, further
    education and sixth-form colleges, sixth-form centres/consortia (the register groups them
    with colleges; they have no address of their own) and service children's schools abroad are
    not state-funded schools; city technology colleges, university technical colleges and studio
    schools are.

    Args:
        register: rows with census_school_type, establishment_type, in_school_postcodes (and
            optionally in_spine).
        london_type: London Schools Atlas establishment type aligned with ``register``.

    Returns:
        Boolean series aligned with ``register`` (False where no evidence says state-funded).
    """
    census_type = register["census_school_type"].astype("string")
    by_census = census_type.str.startswith("State-funded").fillna(False).astype(bool) | census_type.eq("Pupil referral unit").fillna(False).astype(bool)
    by_census = by_census.where(census_type.notna())

    def by_type(types: pd.Series) -> pd.Series:
        types = types.astype("string")
        not_state = types.str.contains(_NOT_STATE).fillna(False).astype(bool) & ~types.str.contains(_STATE_EXCEPTIONS).fillna(False).astype(bool)
        return (~not_state).where(types.notna())

    spine_type = register["establishment_type"].where(register.get("in_spine", pd.Series(True, index=register.index)).astype(bool))
    by_spine = by_type(spine_type)
    by_list = register["in_school_postcodes"].astype(bool).where(register["in_school_postcodes"].astype(bool))
    by_lsa = by_type(london_type) if london_type is not None else pd.Series(pd.NA, index=register.index)
    result = by_census.astype("boolean")
    for evidence in (by_spine, by_list, by_lsa):
        result = result.fillna(pd.Series(evidence, index=register.index).astype("boolean"))
    return result.fillna(False).astype(bool)


def classify_phase(
    establishment_type: pd.Series,
    phase_of_education: pd.Series,
    age_low: pd.Series,
    age_high: pd.Series,
    census_school_type: pd.Series | None = None,
) -> pd.Series:
    """Classify each school's phase: primary, secondary, all-through, 16 plus, nursery, special, pru or other.

    Rules, first match wins: a special-school type (or census ``special``) is ``special``; a pupil
    referral unit or alternative provision is ``pru``; then the published phase of education
    (``Middle deemed primary`` is primary, ``Middle deemed secondary`` secondary); then the age
    range (low age 16 or more: 16 plus; high age 5 or less: nursery; low 7 or less and high 15 or
    more: all-through; high 12 or less: primary; low 9 or more: secondary); else ``other``.

    Args:
        establishment_type: type of establishment (any register's wording).
        phase_of_education: published phase (``Primary``, ``Middle Deemed Secondary``,
            ``Not applicable``...), may be missing.
        age_low, age_high: statutory low and high ages in years (may be missing).
        census_school_type: 2019 census type (optional).

    Returns:
        Series of phase names (pandas string), aligned with the inputs.
    """
    index = establishment_type.index
    etype = establishment_type.astype("string").str.lower().fillna("")
    phase = phase_of_education.astype("string").str.lower().str.strip().fillna("")
    ctype = (census_school_type.astype("string").str.lower().fillna("") if census_school_type is not None else pd.Series("", index=index))
    low = pd.to_numeric(age_low, errors="coerce").astype("float64")
    high = pd.to_numeric(age_high, errors="coerce").astype("float64")
    conditions = [
        etype.str.contains("special") | ctype.str.contains("special"),
        etype.str.contains("pupil referral|alternative provision") | ctype.str.contains("pupil referral"),
        phase.isin(["primary", "middle deemed primary"]),
        phase.isin(["secondary", "middle deemed secondary"]),
        phase.isin(["all-through", "all through"]),
        phase.isin(["16 plus", "16+"]),
        phase.eq("nursery") | ctype.str.contains("nursery"),
        (low >= 16).fillna(False),
        (high <= 5).fillna(False),
        ((low <= 7) & (high >= 15)).fillna(False),
        (high <= 12).fillna(False),
        (low >= 9).fillna(False),
    ]
    choices = ["special", "pru", "primary", "secondary", "all-through", "16 plus", "nursery", "16 plus", "nursery", "all-through", "primary", "secondary"]
    return pd.Series(np.select([c.to_numpy(dtype=bool) for c in conditions], choices, default="other"), index=index, dtype="string")


# ---------------------------------------------------------------------------------------------
# capacity, inspections


def match_capacity(
    capacity: pd.DataFrame,
    register: pd.DataFrame,
    laestab_sources: list[pd.DataFrame],
    on_date: pd.Timestamp = pd.Timestamp("2015-05-21"),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each row of the 2015 capacity survey (keyed by LAEstab, no URN) the URN of its school.

    Candidates are every (urn, laestab) pair any register gives. A LAEstab with one candidate
    URN takes it. With several (a school that converted to an academy often keeps its LAEstab
    under a new URN), the school open in 2019 (``is_open``) wins, so the 2015 capacity, roll and
    planning area follow the school to its current URN; then the school open on ``on_date`` (the
    survey's census day) by the spine's dates; then the one in the 2013 state-funded list; then
    the lowest URN. Each choice is reported. A URN claimed by two LAEstabs keeps the one its
    register gives.

    Args:
        capacity: :func:`atlaskit.sources.schools.read_capacity_2015` (column laestab).
        register: :func:`combine_registers` output (urn, laestab, is_open, open_date,
            close_date, in_school_postcodes).
        laestab_sources: frames with columns urn and laestab, one per register (the spine, the
            2013 list, the census), to build the candidate pairs from.
        on_date: the survey date.

    Returns:
        ``(matched, joins)``: ``matched`` is ``capacity`` with a ``urn`` column (<NA> where no
        school matched) and ``capacity_match`` (``unique``, ``open in 2019``, ``open on survey
        date``, ``in 2013 list``, ``lowest URN``); ``joins`` lists every capacity row not matched (step
        ``capacity``, status ``not joined``) and every choice among several URNs (status
        ``resolved``).
    """
    pairs = pd.concat([f[["urn", "laestab"]].astype("string") for f in laestab_sources], ignore_index=True).dropna().drop_duplicates()
    info = register.set_index("urn")[["laestab", "is_open", "open_date", "close_date", "in_school_postcodes"]]
    cand = pairs[_isin(pairs["laestab"], capacity["laestab"])].join(info.drop(columns="laestab"), on="urn")
    cand["open_then"] = (cand["open_date"].isna() | (cand["open_date"] <= on_date)) & (cand["close_date"].isna() | (cand["close_date"] > on_date))
    cand["own"] = cand["laestab"].eq(cand["urn"].map(info["laestab"]))
    cand["is_open"] = cand["is_open"].fillna(False).astype(bool)
    cand["in_school_postcodes"] = cand["in_school_postcodes"].fillna(False).astype(bool)
    cand = cand.sort_values(["laestab", "is_open", "open_then", "in_school_postcodes", "own", "urn"], ascending=[True, False, False, False, False, True])
    n = cand.groupby("laestab")["urn"].transform("size")
    first = cand.drop_duplicates("laestab", keep="first").copy()
    second = cand[cand.duplicated("laestab", keep="first")].drop_duplicates("laestab", keep="first").set_index("laestab")
    how = np.where(n.loc[first.index] == 1, "unique", "")
    nxt = second.reindex(first["laestab"])

    def beats(column: str) -> np.ndarray:
        return first[column].astype(bool).to_numpy() & ~nxt[column].fillna(False).astype(bool).to_numpy()

    how = np.where(
        how != "", how,
        np.where(beats("is_open"), "open in 2019", np.where(beats("open_then"), "open on survey date", np.where(beats("in_school_postcodes"), "in 2013 list", "lowest URN"))),
    )  # fmt: skip
    first["capacity_match"] = how
    # a URN matched by two LAEstabs: keep its own LAEstab's row
    first = first.sort_values(["urn", "own"], ascending=[True, False])
    clash = first.duplicated("urn", keep="first")
    clashed = first[clash]
    first = first[~clash]
    matched = capacity.merge(first[["laestab", "urn", "capacity_match"]], on="laestab", how="left")
    matched["urn"] = matched["urn"].astype("string")
    matched["capacity_match"] = matched["capacity_match"].astype("string")

    joins = [_empty_joins()]
    missing = matched[matched["urn"].isna()]
    if len(missing):
        reason = pd.Series("LAEstab not in any school register (spine 2017-18, 2013 list, 2019 census)", index=missing.index)
        reason[_isin(missing["laestab"], clashed["laestab"])] = "its URN is already matched by the LAEstab the register gives it"
        joins.append(_joins(missing, "capacity", "not joined", reason))
    chose = matched[matched["capacity_match"].notna() & (matched["capacity_match"] != "unique")]
    if len(chose):
        others = cand[_isin(cand["laestab"], chose["laestab"])].groupby("laestab")["urn"].agg(", ".join)
        reason = "LAEstab shared by URNs " + chose["laestab"].map(others).astype("string") + ": chose " + chose["urn"] + " (" + chose["capacity_match"] + ")"
        joins.append(_joins(chose, "capacity", "resolved", reason))
    return matched, pd.concat(joins, ignore_index=True)


def follow_successors(matched: pd.DataFrame, register: pd.DataFrame, links: pd.DataFrame, max_steps: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move 2015 capacity rows from schools closed since to their open successor (academy conversions).

    A school that converted after May 2015 usually got a new URN and often a new LAEstab, so its
    capacity row matches the closed URN. Where the register links give the closed school exactly
    one plain ``Successor`` (not a merger, split or amalgamation), followed up to ``max_steps``
    times, and that successor is open and holds no capacity row of its own, the row moves to it.
    Each capacity row still belongs to one school.

    Args:
        matched: :func:`match_capacity` output (laestab, urn, capacity_match, ...).
        register: urn, is_open (:func:`combine_registers`).
        links: urn, link_urn, link_type (:func:`atlaskit.sources.schools.read_school_links`).
        max_steps: the longest chain of successors followed.

    Returns:
        ``(moved, joins)``: ``matched`` with urn replaced and capacity_match set to ``successor
        of <urn>`` for the rows moved; ``joins`` has one ``resolved`` row (step ``capacity``) per
        row moved.
    """
    plain = links[links["link_type"].eq("Successor").fillna(False).astype(bool)].dropna(subset=["urn", "link_urn"])
    plain = plain.drop_duplicates(["urn", "link_urn"])
    single = plain[~plain["urn"].duplicated(keep=False)]
    successor = dict(zip(single["urn"].astype(str), single["link_urn"].astype(str)))
    is_open = dict(zip(register["urn"].astype(str), register["is_open"].astype(bool)))
    out = matched.copy()
    taken = set(out["urn"].dropna().astype(str))
    moved_from: dict[int, str] = {}
    for i, urn in out["urn"].items():
        if pd.isna(urn) or is_open.get(str(urn), False):
            continue
        current = str(urn)
        for _ in range(max_steps):
            current = successor.get(current)
            if current is None or is_open.get(current, False):
                break
        if current is None or not is_open.get(current, False) or current in taken:
            continue
        taken.add(current)
        moved_from[i] = str(urn)
        out.at[i, "urn"] = current
    if not moved_from:
        return out, _empty_joins()
    rows = pd.Index(list(moved_from))
    old = pd.Series(moved_from, dtype="string").reindex(rows)
    out.loc[rows, "capacity_match"] = ("successor of " + old).to_numpy()
    reason = "2015 capacity of closed URN " + old + " carried to its open successor " + out.loc[rows, "urn"].astype("string") + " (register links)"
    return out, _joins(out.loc[rows], "capacity", "resolved", reason)


def latest_inspection(inspections: pd.DataFrame) -> pd.DataFrame:
    """Return each school's latest Ofsted inspection (ties on one date: the lower grade, i.e. the worse).

    Args:
        inspections: urn, ofsted_rating, ofsted_grade (1 best - 4), ofsted_date; several rows per URN.

    Returns:
        One row per URN: urn, ofsted_rating, ofsted_grade, ofsted_date, ofsted_inspections
        (number of inspections on record).
    """
    ordered = inspections.dropna(subset=["urn"]).sort_values(["urn", "ofsted_date", "ofsted_grade"], na_position="first")
    latest = ordered.drop_duplicates("urn", keep="last").copy()
    latest["ofsted_inspections"] = latest["urn"].map(ordered.groupby("urn").size()).astype("int64")
    return latest[["urn", "ofsted_rating", "ofsted_grade", "ofsted_date", "ofsted_inspections"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# location


def locate_schools(
    register: pd.DataFrame,
    postcode_points: pd.DataFrame,
    london: pd.DataFrame | None = None,
    predecessors: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each school coordinates: its postcode's Code-Point Open centroid, else London Schools Atlas coordinates.

    Order: each distinct postcode the registers give the school (newest first) until one is in
    Code-Point Open with coordinates; else the London Schools Atlas point
    (:func:`choose_london_coordinates`); else the postcode of a predecessor school on the
    register links (a school re-registered under a new URN, e.g. on becoming an academy or a
    nursery/PRU federation, usually keeps its site).

    Args:
        register: urn and postcodes (``|``-joined, newest first), e.g. :func:`combine_registers`.
        postcode_points: postcode, easting, northing (:func:`atlaskit.sources.schools.read_codepoint`);
            rows with NaN coordinates are postcodes without a location (quality 90).
        london: urn, lsa_easting, lsa_northing (optional).
        predecessors: urn, predecessor_urn, predecessor_postcode (optional).

    Returns:
        ``(located, joins)``: ``located`` has one row per register row: urn, easting, northing
        (metres, NaN when unlocated), located_by (``codepoint``, ``london_schools_atlas``,
        ``codepoint_predecessor``, <NA>), located_postcode (the postcode used); ``joins`` has a
        row per unlocated school (step ``location``, status ``not located``) with the reason.
    """
    points = postcode_points.dropna(subset=["postcode"]).drop_duplicates("postcode").set_index("postcode")[["easting", "northing"]]
    urns = register["urn"].astype("string").reset_index(drop=True)
    out = pd.DataFrame({"urn": urns, "easting": np.nan, "northing": np.nan})
    out["located_by"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["located_postcode"] = pd.Series(pd.NA, index=out.index, dtype="string")

    options = register["postcodes"].astype("string").reset_index(drop=True).str.split("|").explode().dropna()
    options = options[options != ""]
    rank = options.groupby(level=0).cumcount()
    candidates = pd.DataFrame({"row": options.index, "postcode": options.to_numpy(), "rank": rank.to_numpy()})
    candidates = candidates.join(points, on="postcode")
    found = candidates.dropna(subset=["easting", "northing"]).sort_values(["row", "rank"]).drop_duplicates("row")
    out.loc[found["row"], ["easting", "northing"]] = found[["easting", "northing"]].to_numpy()
    out.loc[found["row"], "located_by"] = "codepoint"
    out.loc[found["row"], "located_postcode"] = found["postcode"].to_numpy()

    if london is not None and len(london):
        lsa = london.dropna(subset=["lsa_easting", "lsa_northing"]).drop_duplicates("urn").set_index("urn")
        todo = out["located_by"].isna() & _isin(out["urn"], lsa.index)
        out.loc[todo, "easting"] = out.loc[todo, "urn"].map(lsa["lsa_easting"]).to_numpy(dtype=float)
        out.loc[todo, "northing"] = out.loc[todo, "urn"].map(lsa["lsa_northing"]).to_numpy(dtype=float)
        out.loc[todo, "located_by"] = "london_schools_atlas"

    if predecessors is not None and len(predecessors):
        pred = predecessors.dropna(subset=["predecessor_postcode"]).join(points, on="predecessor_postcode").dropna(subset=["easting"])
        pred = pred.sort_values(["urn", "predecessor_urn"]).drop_duplicates("urn").set_index("urn")
        todo = out["located_by"].isna() & _isin(out["urn"], pred.index)
        out.loc[todo, "easting"] = out.loc[todo, "urn"].map(pred["easting"]).to_numpy(dtype=float)
        out.loc[todo, "northing"] = out.loc[todo, "urn"].map(pred["northing"]).to_numpy(dtype=float)
        out.loc[todo, "located_postcode"] = out.loc[todo, "urn"].map(pred["predecessor_postcode"]).to_numpy()
        out.loc[todo, "located_by"] = "codepoint_predecessor"

    unlocated = out["located_by"].isna()
    reason = pd.Series("no postcode in any register and no coordinates", index=out.index, dtype="string")
    failed = candidates[candidates["row"].isin(out.index[unlocated])].copy()
    failed["known"] = _isin(failed["postcode"], points.index)
    tried = failed.groupby("row").agg(postcodes=("postcode", ", ".join), no_coords=("known", "any"))
    has = unlocated & out.index.isin(tried.index)
    if has.any():
        t = tried.reindex(out.index[has])
        reason.loc[has] = np.where(
            t["no_coords"], "postcode " + t["postcodes"] + " has no coordinates in Code-Point Open (positional quality 90)",
            "postcode " + t["postcodes"] + " not in Code-Point Open (April 2025; terminated since?)",
        )
    frame = out.loc[unlocated, ["urn"]].join(register.reset_index(drop=True)[["school_name"]] if "school_name" in register else pd.DataFrame(index=out.index))
    joins = _joins(frame, "location", "not located", reason[unlocated]) if unlocated.any() else _empty_joins()
    return out, joins


def assign_lsoa(points: pd.DataFrame, lsoas, max_distance_m: float = 1000.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each located school the 2011 LSOA its point lies in (point-in-polygon), else the nearest within a limit.

    A point on a shared boundary touches several polygons: the lowest LSOA code wins, so the
    answer is deterministic. A point outside every polygon (the boundaries are generalised and
    clipped to the coastline, so a coastal school can fall in the sea; or the school is outside
    England) takes the nearest LSOA within ``max_distance_m``, flagged ``nearest``.

    Args:
        points: urn, easting, northing (EPSG:27700 metres; NaN when unlocated).
        lsoas: GeoDataFrame with lsoa11_code, authority_code and polygons in EPSG:27700.
        max_distance_m: the largest distance at which the nearest LSOA is still assigned.

    Returns:
        ``(assigned, joins)``: ``assigned`` has urn, lsoa11_code, lsoa_authority_code, lsoa_match
        (``within``, ``nearest``, <NA>), lsoa_distance_m (0 within); ``joins`` lists each
        located school with no LSOA (step ``lsoa``, status ``not joined``) and each taken by
        nearest (status ``resolved``), with the distance.
    """
    import geopandas as gpd

    if lsoas.crs is None or lsoas.crs.to_epsg() != 27700:
        raise DataFormatError(f"LSOA polygons must be in EPSG:27700 (British National Grid); got {lsoas.crs}")
    frame = points[["urn", "easting", "northing"]].reset_index(drop=True)
    located = frame.dropna(subset=["easting", "northing"])
    pts = gpd.GeoDataFrame({"row": located.index}, geometry=gpd.points_from_xy(located["easting"], located["northing"]), crs=BNG)
    polys = lsoas[["lsoa11_code", "authority_code", "geometry"]].reset_index(drop=True)
    hits = gpd.sjoin(pts, polys, how="inner", predicate="intersects")
    hits = hits.sort_values(["row", "lsoa11_code"]).drop_duplicates("row")
    out = pd.DataFrame({"urn": frame["urn"].astype("string")})
    out["lsoa11_code"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["lsoa_authority_code"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["lsoa_match"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["lsoa_distance_m"] = np.nan
    out.loc[hits["row"], "lsoa11_code"] = hits["lsoa11_code"].to_numpy()
    out.loc[hits["row"], "lsoa_authority_code"] = hits["authority_code"].to_numpy()
    out.loc[hits["row"], "lsoa_match"] = "within"
    out.loc[hits["row"], "lsoa_distance_m"] = 0.0

    outside = pts[~pts["row"].isin(hits["row"])]
    joins = [_empty_joins()]
    if len(outside):
        near = gpd.sjoin_nearest(outside, polys, how="left", max_distance=max_distance_m, distance_col="distance_m")
        near = near.sort_values(["row", "distance_m", "lsoa11_code"]).drop_duplicates("row")
        ok = near[near["lsoa11_code"].notna()]
        out.loc[ok["row"], "lsoa11_code"] = ok["lsoa11_code"].to_numpy()
        out.loc[ok["row"], "lsoa_authority_code"] = ok["authority_code"].to_numpy()
        out.loc[ok["row"], "lsoa_match"] = "nearest"
        out.loc[ok["row"], "lsoa_distance_m"] = ok["distance_m"].round(1).to_numpy()
        if len(ok):
            rows = out.loc[ok["row"]]
            reason = "point " + rows["lsoa_distance_m"].map(lambda d: f"{d:,.0f}") + " m outside the (generalised, coast-clipped) LSOA polygons: nearest LSOA " + rows["lsoa11_code"]
            joins.append(_joins(rows, "lsoa", "resolved", reason))
        bad = near[near["lsoa11_code"].isna()]
        if len(bad):
            joins.append(_joins(out.loc[bad["row"]], "lsoa", "not joined", f"point outside every English LSOA by more than {max_distance_m:,.0f} m (outside England?)"))
    return out, pd.concat(joins, ignore_index=True)


def resolve_authority(schools: pd.DataFrame, authority_codes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each school its current authority: the authority of the LSOA it lies in, else its LA number's.

    The DfE LA number is mapped through ``authority_codes`` (kind ``la_number``). Old numbers of
    authorities that split (835 Dorset, 928 Northamptonshire, 909 Cumbria) map to several current
    authorities: the LSOA decides. Where the LSOA's authority and the LA number's differ the
    LSOA wins (the school's site is in that authority) and the difference is reported.

    Args:
        schools: urn, la_number (3-digit text), lsoa_authority_code (<NA> when unlocated).
        authority_codes: code, authority_code, kind (the store table).

    Returns:
        ``(resolved, joins)``: ``resolved`` has urn, authority_code, la_number_authority_code
        (the LA number's single current authority; <NA> when unknown or split) and
        authority_source (``lsoa``, ``la_number``, <NA>); ``joins`` has rows for schools with no
        authority (status ``not joined``), a split LA number decided by the LSOA (``resolved``)
        and an LSOA in another authority than the LA number's (``differs``).
    """
    numbers = authority_codes[authority_codes["kind"] == "la_number"]
    options: dict[str, list[str]] = {}
    for code, authority in zip(numbers["code"].astype(str), numbers["authority_code"].astype(str)):
        if authority not in options.setdefault(code, []):
            options[code].append(authority)
    la = schools["la_number"].astype("string")
    choices = pd.Series([options.get(c) if isinstance(c, str) else None for c in la], index=schools.index, dtype=object)
    n_options = choices.map(lambda c: len(c) if isinstance(c, list) else 0)
    single = choices.map(lambda c: c[0] if isinstance(c, list) and len(c) == 1 else None).astype("string")
    lsoa_auth = schools["lsoa_authority_code"].astype("string")
    out = pd.DataFrame({"urn": schools["urn"].astype("string")}, index=schools.index)
    out["authority_code"] = lsoa_auth.fillna(single)
    out["la_number_authority_code"] = single
    source = np.where(lsoa_auth.notna(), "lsoa", np.where(single.notna(), "la_number", ""))
    out["authority_source"] = pd.Series(source, index=schools.index, dtype="string").replace("", pd.NA)

    joins = [_empty_joins()]
    frame = schools.assign(urn=out["urn"])
    none = out["authority_code"].isna()
    if none.any():
        reason = np.where(
            n_options[none] > 1,
            "LA number " + la[none].fillna("") + " split between " + choices[none].map(lambda c: " and ".join(c) if isinstance(c, list) else "") + " and the school is not located",
            np.where(la[none].isna(), "no LA number and not located", "LA number " + la[none].fillna("") + " not in authority_codes and the school is not located"),
        )
        joins.append(_joins(frame[none], "authority", "not joined", pd.Series(reason, index=frame.index[none])))
    split = (n_options > 1) & lsoa_auth.notna()
    if split.any():
        inside = [a in c for a, c in zip(lsoa_auth[split], choices[split])]
        reason = "LA number " + la[split] + " split between " + choices[split].map(" and ".join) + ": LSOA in " + lsoa_auth[split]
        reason = reason.where(inside, reason + " (not one of them)")
        joins.append(_joins(frame[split], "authority", "resolved", reason))
    differs = single.notna() & lsoa_auth.notna() & (single != lsoa_auth)
    if differs.any():
        reason = "LA number " + la[differs] + " is " + single[differs] + " but the school's point lies in an LSOA of " + lsoa_auth[differs] + " (authority taken from the LSOA)"
        joins.append(_joins(frame[differs], "authority", "differs", reason))
    return out.reset_index(drop=True), pd.concat(joins, ignore_index=True)


# ---------------------------------------------------------------------------------------------
