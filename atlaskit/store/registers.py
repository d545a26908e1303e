"""School registers: combine them into one row per URN; state funding, phase, 2015 capacity, inspections.

Plain functions over DataFrames (no file I/O): the readers in :mod:`atlaskit.sources.schools`
produce their inputs and :mod:`atlaskit.store.builders.schools` chains them (with
:mod:`atlaskit.store.locate`) into the store's ``schools`` and ``school_joins`` tables.

Nothing is dropped silently: every function that can fail to match a school returns, beside its
result, the schools it could not match with the reason (rows of ``school_joins``, see
:mod:`atlaskit.store.joins`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from atlaskit.errors import DataFormatError
from atlaskit.store.joins import empty_joins, isin_fast, join_rows

__all__ = [
    "dedupe_london_schools",
    "combine_registers",
    "classify_phase",
    "classify_tier",
    "TIERS",
    "state_funded",
    "match_capacity",
    "follow_successors",
    "latest_inspection",
]


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
    number of schools only in the London Schools Atlas). Schools no file names take their name
    from the register links.

    ``is_open`` is as at ``census_date``: a school is open when it is in the 2019 census or the
    spine says open (status 1 or 3) with no closing date and an opening date (if any) on or before
    that day; a school only in the older lists is closed (notebooks/methods/store.md).

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
            raise DataFormatError(f"{name}: URN repeated ({', '.join(map(str, frame.loc[frame['urn'].duplicated(), 'urn'].head(3)))}); de-duplicate it first")
    urns = pd.Index(pd.concat([census["urn"], spine["urn"], london["urn"], school_postcodes["urn"]]).unique(), name="urn").sort_values()
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
    out["in_census"] = isin_fast(urns, census["urn"])
    out["in_spine"] = isin_fast(urns, spine["urn"])
    out["in_school_postcodes"] = isin_fast(urns, school_postcodes["urn"])
    out["in_london_schools_atlas"] = isin_fast(urns, london["urn"])
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


#: Tiers of a three-tier system (first, middle, upper schools), the store's ``schools.tier``;
#: <NA> for every other school (two-tier primary, secondary, all-through...).
TIERS: tuple[str, ...] = ("first", "middle", "upper")

#: Year groups as numbers: Reception is 0, Year 1 is 1 ... Year 11 is 11. A school whose statutory
#: age range is ``age_low-age_high`` teaches year groups ``age_low - 4`` to ``age_high - 5``
#: (4-11: Reception to Year 6; 9-13: Years 5 to 8; 13-18: Years 9 to 13).
_FIRST_YEAR_AGE, _LAST_YEAR_AGE = 4, 5
_LAST_PRIMARY_YEAR, _FIRST_SECONDARY_YEAR = 6, 7


def _years(age_low: pd.Series, age_high: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return the first and last year group taught (Reception 0 .. Year 13), NaN when the age is unknown."""
    low = pd.to_numeric(age_low, errors="coerce").astype("float64")
    high = pd.to_numeric(age_high, errors="coerce").astype("float64")
    return low - _FIRST_YEAR_AGE, high - _LAST_YEAR_AGE


def classify_tier(phase_of_education: pd.Series, age_low: pd.Series, age_high: pd.Series) -> pd.Series:
    """Return each school's tier in a three-tier system: ``first``, ``middle``, ``upper`` or <NA>.

    From the year groups the age range teaches (:func:`_years`: ``age_low - 4`` to ``age_high - 5``):

    - ``middle``: teaches at least one primary year (Year 6 or earlier) and one secondary year
      (Year 7 or later) and stops by Year 9 (ages 8-12, 9-12, 9-13, 10-13; also combined first
      and middle schools, 2-13 or 4-13); or, when the ages are unknown, a published phase
      ``Middle deemed primary/secondary``;
    - ``first``: starts by Reception and stops at Year 3 or 4 (ages 4-8, 4-9, 3-9; infant schools,
      which stop at Year 2, are not first schools);
    - ``upper``: starts at Year 8 or 9 (ages 12 or 13) and goes on to Year 10 or later (13-18).

    Args:
        phase_of_education: published phase (``Middle Deemed Secondary``...), may be missing.
        age_low, age_high: statutory low and high ages in years (may be missing).

    Returns:
        Series of tiers (pandas string, <NA> outside three-tier systems), aligned with the inputs.
    """
    first, last = _years(age_low, age_high)
    published = phase_of_education.astype("string").str.lower().str.strip().fillna("")
    known = (first.notna() & last.notna()).to_numpy()
    middle = ((first <= _LAST_PRIMARY_YEAR) & (last >= _FIRST_SECONDARY_YEAR) & (last <= 9)).to_numpy(dtype=bool, copy=True)
    middle |= ~known & published.str.startswith("middle").to_numpy(dtype=bool)
    first_tier = ((first <= 0) & last.isin([3, 4])).to_numpy(dtype=bool)
    upper = (first.isin([8, 9]) & (last >= 10)).to_numpy(dtype=bool)
    tier = np.select([middle, first_tier, upper], ["middle", "first", "upper"], default="")
    return pd.Series(tier, index=phase_of_education.index, dtype="string").replace("", pd.NA)


def classify_phase(
    establishment_type: pd.Series,
    phase_of_education: pd.Series,
    age_low: pd.Series,
    age_high: pd.Series,
    census_school_type: pd.Series | None = None,
) -> pd.Series:
    """Classify each school's phase: one of :data:`atlaskit.vocabulary.SCHOOL_PHASES`.

    A school is placed in the phases of the year groups it teaches. Rules, first match wins: a
    special-school type (or census ``special``) is ``special``; a pupil referral unit or
    alternative provision is ``pru``; a middle school (:func:`classify_tier`: it teaches primary
    and secondary year groups, e.g. a 9-13 school teaches Years 5-6 of primary and Years 7-8 of
    secondary, whatever its published ``Middle deemed ...`` phase) is ``all-through``, a school
    of both phases (its ``tier`` column says ``middle``); then the published phase of education
    (``Middle deemed primary`` is primary, ``Middle deemed secondary`` secondary, when the ages
    do not say otherwise); then the age range (low age 16 or more: 16 plus; high age 5 or less:
    nursery; low 7 or less and high 15 or more: all-through; high 12 or less: primary; low 9 or
    more: secondary); else ``other``.

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
    middle = pd.Series(classify_tier(phase_of_education, age_low, age_high).eq("middle").fillna(False).to_numpy(dtype=bool), index=index)
    mainstream = ~phase.isin(["nursery", "16 plus", "16+"])
    conditions = [
        etype.str.contains("special") | ctype.str.contains("special"),
        etype.str.contains("pupil referral|alternative provision") | ctype.str.contains("pupil referral"),
        middle & mainstream,
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
    choices = ["special", "pru", "all-through", "primary", "secondary", "all-through", "16 plus", "nursery", "16 plus", "nursery", "all-through", "primary", "secondary"]
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
    pairs = pd.concat([f[["urn", "laestab"]] for f in laestab_sources], ignore_index=True).dropna().drop_duplicates()
    info = register.set_index("urn")[["laestab", "is_open", "open_date", "close_date", "in_school_postcodes"]]
    cand = pairs[isin_fast(pairs["laestab"], capacity["laestab"])].join(info.drop(columns="laestab"), on="urn")
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
    matched["urn"] = pd.array(matched["urn"], dtype="Int64")  # <NA>: no school matched
    matched["capacity_match"] = matched["capacity_match"].astype("string")

    joins = [empty_joins()]
    missing = matched[matched["urn"].isna()]
    if len(missing):
        reason = pd.Series("LAEstab not in any school register (spine 2017-18, 2013 list, 2019 census)", index=missing.index)
        reason[isin_fast(missing["laestab"], clashed["laestab"])] = "its URN is already matched by the LAEstab the register gives it"
        joins.append(join_rows(missing, "capacity", "not joined", reason))
    chose = matched[matched["capacity_match"].notna() & (matched["capacity_match"] != "unique")]
    if len(chose):
        others = cand[isin_fast(cand["laestab"], chose["laestab"])].groupby("laestab")["urn"].agg(lambda urns: ", ".join(map(str, urns)))
        reason = "LAEstab shared by URNs " + chose["laestab"].map(others).astype("string") + ": chose " + chose["urn"].astype("string") + " (" + chose["capacity_match"] + ")"
        joins.append(join_rows(chose, "capacity", "resolved", reason))
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
    successor = dict(zip(single["urn"].tolist(), single["link_urn"].tolist()))
    is_open = dict(zip(register["urn"].tolist(), register["is_open"].astype(bool)))
    out = matched.copy()
    taken = set(out["urn"].dropna().tolist())
    moved_from: dict[int, int] = {}
    for i, urn in out["urn"].items():
        if pd.isna(urn) or is_open.get(urn, False):
            continue
        current = urn
        for _ in range(max_steps):
            current = successor.get(current)
            if current is None or is_open.get(current, False):
                break
        if current is None or not is_open.get(current, False) or current in taken:
            continue
        taken.add(current)
        moved_from[i] = urn
        out.at[i, "urn"] = current
    if not moved_from:
        return out, empty_joins()
    rows = pd.Index(list(moved_from))
    old = pd.Series(moved_from).astype("string").reindex(rows)
    out.loc[rows, "capacity_match"] = ("successor of " + old).to_numpy()
    reason = "2015 capacity of closed URN " + old + " carried to its open successor " + out.loc[rows, "urn"].astype("string") + " (register links)"
    return out, join_rows(out.loc[rows], "capacity", "resolved", reason)


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
