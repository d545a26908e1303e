"""Small areas: LSOA children -> schools (through the flows) -> planning areas, constrained to the authority projection."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.analysis.demand.capacity import school_phase_places, school_phase_rolls, spare_places
from atlaskit.analysis.demand.population import _population_path, project_population, year_group_children
from atlaskit.vocabulary import academic_year, academic_year_end
from atlaskit.analysis.demand.projection import DemandResult
from atlaskit.analysis.problems import Problem, ProblemKind
from atlaskit.errors import ModelError
from atlaskit.sources.population import LSOA_AGES
from atlaskit.vocabulary import OPERATING_MARGINS_PCT, PHASES, first_year_under_margin


#: Single years of age in the lsoas table (0-18).
_N_LSOA_AGES = len(LSOA_AGES)
#: Columns of :func:`planning_area_demand`'s table, in order.
_AREA_COLUMNS = ["authority_code", "planning_group", "phase", "academic_year", "pupils", "pupils_no_capacity", "capacity", "surplus",
                 "pct_spare", "below_2pct_margin", "below_5pct_margin", "n_schools", "n_schools_without_capacity"]


def project_lsoa_children(lsoas: pd.DataFrame, la_population: pd.DataFrame, last_year: int, base_year: int = 2020) -> pd.DataFrame:
    """Project the children of each LSOA by phase, rolling its own age structure forward.

    Each LSOA's children by single year of age at mid-``base_year`` are aged one year at a time
    with its authority's cohort ratios (as for the authority projection); the youngest cohorts
    follow the authority's projected children aged 0, shared in proportion to the LSOA's
    children aged 0 at the base.

    Args:
        lsoas: lsoa11_code, authority_code, age_0_<base_year> ... age_18_<base_year> (and
            age_*_2019 for the 2019 column of the result when present).
        la_population: authority_code, year (2019, 2020), age, population (persons).
        last_year: last mid-year to project.
        base_year: mid-year of the LSOA counts to start from (2020).

    Returns:
        DataFrame lsoa11_code, authority_code, year (mid-year), phase, children (of the phase's
        year groups, :func:`~atlaskit.analysis.demand.population.year_group_children`); years
        from 2019 (observed, when the 2019 columns exist) and ``base_year`` to ``last_year``.

    Raises:
        ModelError: naming authorities of the LSOAs that have no population by age.
    """
    pop = _population_path(la_population, max(last_year, base_year + 1))
    index = {c: i for i, c in enumerate(pop.codes)}
    codes = lsoas["authority_code"].astype(str).to_numpy()
    missing = sorted({c for c in codes if c not in index})
    if missing:
        raise ModelError(f"no population by age for authority(ies) {', '.join(missing[:5])}: cannot project their LSOAs")
    rows = np.array([index[c] for c in codes])
    base = lsoas[[f"age_{a}_{base_year}" for a in range(_N_LSOA_AGES)]].to_numpy(dtype=float)
    years = last_year - base_year
    la_age0 = np.stack([pop.by_year[base_year + k][:, 0] for k in range(1, years + 1)], axis=1) if years > 0 else np.zeros((len(pop.codes), 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        share0 = np.where(pop.by_year[base_year][rows, 0] > 0, base[:, 0] / pop.by_year[base_year][rows, 0], 0.0)
    age0 = la_age0[rows] * share0[:, None]
    ratios = pop.ratios[rows, : _N_LSOA_AGES - 1]
    path = project_population(base, ratios, None, years, age0=age0)
    parts = []
    observed = {base_year + k: path[:, k] for k in range(years + 1)}
    if all(f"age_{a}_2019" in lsoas.columns for a in range(_N_LSOA_AGES)) and base_year != 2019:
        observed[2019] = lsoas[[f"age_{a}_2019" for a in range(_N_LSOA_AGES)]].to_numpy(dtype=float)
    for year, counts in sorted(observed.items()):
        for phase in PHASES:
            parts.append(pd.DataFrame({"lsoa11_code": lsoas["lsoa11_code"].to_numpy(), "authority_code": codes, "year": year, "phase": phase,
                                       "children": year_group_children(counts, phase)}))
    return pd.concat(parts, ignore_index=True)


def school_demand(flows: pd.DataFrame, lsoa_children: pd.DataFrame, base_year: int = 2019, years: list[int] | None = None) -> pd.DataFrame:
    """Project pupils per school by carrying each LSOA's flows forward with its children.

    ``pupils[school, t] = sum over LSOAs of flow[lsoa, school] * children[lsoa, t] / children[lsoa, base]``:
    every LSOA keeps sending the same share of its children of the phase's ages to each school.

    Args:
        flows: urn, lsoa11_code, phase, pupils (modelled or observed, at ``base_year``).
        lsoa_children: :func:`project_lsoa_children`'s table.
        base_year: mid-year the flows describe (2019 for flows modelled from January 2019 rolls).
        years: mid-years wanted (default all in ``lsoa_children`` after ``base_year``).

    Returns:
        DataFrame urn, phase, academic_year (ending in each mid-year), pupils, plus
        unmatched_pupils (flows whose LSOA has no children of the phase at the base: carried
        unchanged, not dropped).
    """
    children = lsoa_children.set_index(["lsoa11_code", "phase", "year"])["children"]
    base = lsoa_children[lsoa_children["year"] == base_year].set_index(["lsoa11_code", "phase"])["children"]
    if years is None:
        years = sorted(y for y in lsoa_children["year"].unique() if y > base_year)
    f = flows[["urn", "lsoa11_code", "phase", "pupils"]].copy()
    key = pd.MultiIndex.from_frame(f[["lsoa11_code", "phase"]].astype(str))
    f["_base"] = base.reindex(key).to_numpy()
    unmatched = ~(f["_base"] > 0)
    parts = []
    for year in [base_year, *years]:
        now = children.reindex(pd.MultiIndex.from_arrays([key.get_level_values(0), key.get_level_values(1), np.full(len(f), year)])).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.where(unmatched, 1.0, now / f["_base"].to_numpy())
        growth = np.where(np.isfinite(growth), growth, 1.0)
        part = f.assign(pupils=f["pupils"] * growth, unmatched_pupils=np.where(unmatched, f["pupils"], 0.0))
        part = part.groupby(["urn", "phase"], as_index=False)[["pupils", "unmatched_pupils"]].sum()
        parts.append(part.assign(academic_year=academic_year(year)))
    out = pd.concat(parts, ignore_index=True)
    return out[["urn", "phase", "academic_year", "pupils", "unmatched_pupils"]].sort_values(["urn", "phase", "academic_year"]).reset_index(drop=True)


def planning_groups(schools: pd.DataFrame, cluster_km: float = 3.0, phase: str | None = None) -> pd.Series:
    """Return each school's planning group: its SCAP 2015 planning area, else a cluster of nearby schools.

    SCAP planning areas are per phase: an all-through school sits in a primary planning area
    for its primary pupils and in a secondary one for its secondary pupils. With ``phase``, the
    phase's own code (``planning_area_primary_code`` / ``planning_area_secondary_code``) is used
    where the table has it, else ``planning_area_code``. Schools without a code are grouped per
    authority by single-linkage clustering of their coordinates (schools within ``cluster_km``
    of one another join one cluster), named ``<authority_code>-cluster-<n>``; schools without
    coordinates are ``<authority_code>-unlocated``.

    Args:
        schools: urn, authority_code, planning_area_code (and optionally
            planning_area_primary_code, planning_area_secondary_code), easting, northing
            (metres, EPSG:27700).
        cluster_km: linkage distance (km).
        phase: ``"primary"``, ``"secondary"`` or None (``planning_area_code`` only).

    Returns:
        Series of group names indexed like ``schools``.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    def codes(column: str) -> pd.Series:
        if column not in schools.columns:
            return pd.Series(pd.NA, index=schools.index, dtype=object)
        text = schools[column].astype("string").str.strip()
        return text.where(text.notna() & (text != ""), pd.NA).astype(object)

    group = codes("planning_area_code")
    if phase is not None:
        group = codes(f"planning_area_{phase}_code").fillna(group)
    todo = group.isna()
    for code, part in schools[todo].groupby("authority_code"):
        located = part[["easting", "northing"]].notna().all(axis=1)
        group.loc[part.index[~located]] = f"{code}-unlocated"
        xy = part.loc[located, ["easting", "northing"]].to_numpy(dtype=float)
        if len(xy) == 1:
            labels = np.array([1])
        elif len(xy) > 1:
            labels = fcluster(linkage(xy, method="single"), t=cluster_km * 1000.0, criterion="distance")
        else:
            continue
        group.loc[part.index[located]] = [f"{code}-cluster-{n}" for n in labels]
    return group.astype("string")


def planning_area_demand(
    school_pupils: pd.DataFrame,
    schools: pd.DataFrame,
    cluster_km: float = 3.0,
    authority_capacity: pd.DataFrame | None = None,
    school_rolls: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Sum projected pupils per planning group and compare them with the places of its schools.

    Spare places compare like with like: ``pupils`` and ``capacity`` count only the schools
    whose places are known; pupils of the others are reported apart (``pupils_no_capacity``).

    Args:
        school_pupils: :func:`school_demand`'s table (urn, phase, academic_year, pupils).
        schools: urn, authority_code, planning_area_code (and the per-phase codes, see
            :func:`planning_groups`), easting, northing, capacity_primary_2015,
            capacity_secondary_2015, capacity_2015 (places, SCAP May 2015).
        cluster_km: see :func:`planning_groups`.
        authority_capacity: authority_code, phase, capacity (places, e.g.
            :func:`~atlaskit.analysis.demand.capacity.latest_capacity`): the schools' places
            are scaled to add up to it; None keeps the 2015 places
            (:func:`~atlaskit.analysis.demand.capacity.school_phase_places`).
        school_rolls: urn, phase, pupils: a floor under each school's places (see
            :func:`~atlaskit.analysis.demand.capacity.school_phase_places`).

    Returns:
        DataFrame authority_code, planning_group, phase, academic_year, pupils (schools with
        places), pupils_no_capacity, capacity (places), surplus, pct_spare (percent),
        below_2pct_margin, below_5pct_margin, n_schools, n_schools_without_capacity.
    """
    frame = school_pupils.copy()
    schools = schools.drop_duplicates("urn").reset_index(drop=True)
    info = schools.set_index("urn")
    frame["authority_code"] = frame["urn"].map(info["authority_code"]).astype(str)
    frame["planning_group"] = "unknown-school"
    for phase in frame["phase"].astype(str).unique():
        # each phase's own planning areas; schools without one cluster with the phase's schools
        rows = frame["phase"].astype(str) == phase
        in_phase = schools[schools["urn"].isin(frame.loc[rows, "urn"])]
        groups = planning_groups(in_phase, cluster_km, phase if phase in PHASES else None)
        groups.index = in_phase["urn"].to_numpy()
        frame.loc[rows, "planning_group"] = frame.loc[rows, "urn"].map(groups).fillna("unknown-school").astype(str)
    pairs = frame[["urn", "phase", "authority_code"]].drop_duplicates(["urn", "phase"])
    places = school_phase_places(pairs, schools, school_rolls, authority_capacity)
    places.index = pd.MultiIndex.from_frame(pairs[["urn", "phase"]])
    frame["capacity"] = places.reindex(pd.MultiIndex.from_frame(frame[["urn", "phase"]])).to_numpy()
    frame["_no_capacity"] = frame["capacity"].isna()
    frame["_pupils_known"] = frame["pupils"].where(~frame["_no_capacity"], 0.0)
    frame["_pupils_unknown"] = frame["pupils"].where(frame["_no_capacity"], 0.0)
    out = frame.groupby(["authority_code", "planning_group", "phase", "academic_year"], as_index=False).agg(
        pupils=("_pupils_known", "sum"),
        pupils_no_capacity=("_pupils_unknown", "sum"),
        capacity=("capacity", "sum"),
        n_schools=("urn", "nunique"),
        n_schools_without_capacity=("_no_capacity", "sum"),
    )
    out = spare_places(out)
    return out[_AREA_COLUMNS].sort_values(["authority_code", "phase", "planning_group", "academic_year"]).reset_index(drop=True)


def first_shortfall(area_table: pd.DataFrame, margin_pct: float = OPERATING_MARGINS_PCT[0]) -> pd.DataFrame:
    """Return, per planning group and phase, the first academic year spare places fall under ``margin_pct``.

    Args:
        area_table: :func:`planning_area_demand`'s (or
            :func:`~atlaskit.analysis.demand.authority.project_demand`'s) table.
        margin_pct: the operating margin (percent; 2 by default, 0 for an outright shortfall).

    Returns:
        DataFrame of the groups that fall short (:func:`atlaskit.vocabulary.first_year_under_margin`):
        the keys (authority_code, planning_group, phase, where present), first_short_year,
        pct_spare then; sorted by year (where places will be short first).
    """
    keys = [k for k in ("authority_code", "planning_group", "phase") if k in area_table.columns]
    rows = []
    for key, group in area_table.sort_values("academic_year", kind="stable").groupby(keys, sort=False):
        year = first_year_under_margin(group["academic_year"], group["pct_spare"], margin_pct)
        if year is not None:
            spare = group.loc[(group["academic_year"] == year) & (group["pct_spare"] < margin_pct), "pct_spare"].iloc[0]
            rows.append((*(key if isinstance(key, tuple) else (key,)), year, spare))
    first = pd.DataFrame(rows, columns=[*keys, "first_short_year", "pct_spare"])
    return first.sort_values(["first_short_year", *keys]).reset_index(drop=True)


def _problem(kind: ProblemKind, codes: list[str], **fields) -> Problem:
    """A problem of the schools of ``codes``: one authority's code, or several as related codes."""
    if len(codes) == 1:
        return Problem(kind, codes[0], **fields)
    return Problem(kind, None, related_codes=tuple(codes), **fields)


def small_area_demand(
    lsoas: pd.DataFrame,
    flows: pd.DataFrame,
    schools: pd.DataFrame,
    la_population: pd.DataFrame,
    last_year: int = 2035,
    flows_year: int = 2019,
    cluster_km: float = 3.0,
    scale_to_rolls: bool = True,
    authority_pupils: pd.DataFrame | None = None,
    authority_capacity: pd.DataFrame | None = None,
) -> DemandResult:
    """Project pupils per planning area (or cluster of nearby schools) from LSOA children and the flows.

    Chains :func:`project_lsoa_children`, :func:`school_demand`, :func:`constrain_to_authority`
    and :func:`planning_area_demand`. Where observed flows exist for a school and phase they
    replace the modelled ones.

    Args:
        lsoas: lsoa11_code, authority_code, age_0_2019 ... age_18_2020 (e.g. ``loaders.load(code).lsoas``).
        flows: urn, lsoa11_code, phase, pupils, source (observed/modelled) at ``flows_year``.
        schools: the schools whose demand is wanted (urn, authority_code, planning_area_code,
            easting, northing, capacity_primary_2015, capacity_secondary_2015, capacity_2015,
            and for ``scale_to_rolls`` pupils_2019, age_low, age_high).
        la_population: authority_code, year, age, population (persons).
        last_year: last mid-year projected (2035: academic year 2034/35).
        flows_year: mid-year the flows describe.
        cluster_km: see :func:`planning_groups`.
        scale_to_rolls: scale each school's flows of a phase to its January 2019 pupils of
            the phase's ages (:func:`~atlaskit.analysis.demand.capacity.school_phase_rolls`)
            where known; the same rolls set a floor under each school's places.
        authority_pupils: authority_code, phase, academic_year, pupils, e.g. the ``actual``
            and ``projection`` rows of :func:`~atlaskit.analysis.demand.authority.project_demand`.
            When given (the intended use), schools are scaled to add up to it
            (:func:`constrain_to_authority`) and only its years are kept. Without it the
            schools keep their ``flows_year`` rolls carried forward with their LSOAs' children
            (``UNCONSTRAINED``).
        authority_capacity: authority_code, phase, capacity: scale the 2015 school places to
            it (see :func:`planning_area_demand`). Without it, secondary places include
            sixth-form places, so secondary spare places are overstated.

    Returns:
        :class:`~atlaskit.analysis.demand.projection.DemandResult` with
        :func:`planning_area_demand`'s table. Problems: ``NO_FLOWS`` (then the table is empty),
        ``UNSCALED_FLOWS`` (count: schools), ``LSOAS_OUTSIDE`` (count: LSOAs, pupils: their
        flows, when at least half a pupil), ``UNCONSTRAINED``, and those of
        :func:`constrain_to_authority`. A problem concerning the schools of one authority has
        its code, else the codes are its ``related_codes``.
    """
    problems: list[Problem] = []
    codes = sorted(schools["authority_code"].dropna().astype(str).unique())
    flows = flows.assign(phase=flows["phase"].astype(str), pupils=flows["pupils"].astype("float64"))
    phase_flows = flows[flows["phase"].isin(PHASES) & flows["urn"].isin(schools["urn"])]
    if phase_flows.empty:
        problems.append(_problem(ProblemKind.NO_FLOWS, codes, detail="no primary or secondary flows into its schools (build the store's "
                                 "flows step): no small-area projection"))
        return DemandResult(pd.DataFrame(columns=["authority_code", "planning_group", "phase", "academic_year", "pupils", "capacity", "surplus", "pct_spare"]), problems)
    if "source" in phase_flows.columns and phase_flows["source"].eq("observed").any():
        # observed flows replace modelled ones for the same school and phase
        observed = phase_flows[phase_flows["source"] == "observed"][["urn", "phase"]].drop_duplicates()
        marked = phase_flows.merge(observed.assign(_obs=True), on=["urn", "phase"], how="left")
        phase_flows = marked[~(marked["_obs"].fillna(False).astype(bool) & (marked["source"] != "observed"))].drop(columns="_obs")
    rolls = None
    if scale_to_rolls and "pupils_2019" in schools.columns:
        # the flows say where each school's pupils live; its January 2019 roll of the phase's
        # ages (no nursery, no sixth form) says how many there are
        rolls = school_phase_rolls(schools).set_index(["urn", "phase"])["pupils"]
        total = phase_flows.groupby(["urn", "phase"])["pupils"].sum()
        factor = (rolls.reindex(total.index) / total).where(lambda v: np.isfinite(v) & (v > 0))
        unscaled = factor.index[factor.isna()].get_level_values("urn").unique()
        if len(unscaled):
            problems.append(_problem(ProblemKind.UNSCALED_FLOWS, codes, count=len(unscaled),
                                     detail=f"{len(unscaled)} schools without a 2019 roll keep their flows unscaled"))
        keys = pd.MultiIndex.from_frame(phase_flows[["urn", "phase"]])
        phase_flows = phase_flows.assign(pupils=phase_flows["pupils"] * factor.reindex(keys).fillna(1.0).to_numpy())
        rolls = rolls.reset_index()
    unknown = set(phase_flows["lsoa11_code"]) - set(lsoas["lsoa11_code"])
    if unknown:
        lost = float(phase_flows.loc[phase_flows["lsoa11_code"].isin(unknown), "pupils"].sum())
        if lost >= 0.5:
            problems.append(_problem(ProblemKind.LSOAS_OUTSIDE, codes, count=len(unknown), pupils=lost,
                                     detail=f"{len(unknown)} LSOAs sending {lost:,.0f} pupils are not among the LSOAs given: carried unchanged"))
    children = project_lsoa_children(lsoas.drop_duplicates("lsoa11_code"), la_population, last_year)
    pupils = school_demand(phase_flows, children, base_year=flows_year)
    if authority_pupils is not None:
        pupils, notes = constrain_to_authority(pupils, schools, authority_pupils)
        problems.extend(notes)
    else:
        problems.append(_problem(ProblemKind.UNCONSTRAINED, codes, detail=f"no authority_pupils given: pupils are the "
                                 f"{flows_year} school rolls carried forward with their LSOAs' "
                                 "children, not anchored on the latest roll"))
    return DemandResult(planning_area_demand(pupils, schools, cluster_km, authority_capacity, school_rolls=rolls), problems)


def constrain_to_authority(school_pupils: pd.DataFrame, schools: pd.DataFrame, authority_pupils: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Scale projected pupils per school so that each authority's schools add up to its own projection.

    The small-area chain says *where* pupils will be; the authority projection (anchored on the
    latest roll) says *how many*. For each authority, phase and academic year in both tables,
    every school's pupils are multiplied by authority pupils / sum of its schools' pupils.

    Args:
        school_pupils: :func:`school_demand`'s table.
        schools: urn, authority_code.
        authority_pupils: authority_code, phase, academic_year, pupils (e.g. the ``actual`` and
            ``projection`` rows of :func:`~atlaskit.analysis.demand.authority.project_demand`).

    Returns:
        ``(table, problems)``: only the authorities, phases and years with a known total in
        ``authority_pupils`` are kept. Problems: ``YEARS_DROPPED`` for years dropped between the
        first and last year of ``authority_pupils`` (years before or after its span are simply
        outside it; count: years, named in the detail); ``NO_SHARE`` per authority and phase
        dropped for want of a total, and per authority and phase whose schools add up to 0
        pupils (they stay at 0).
    """
    keys = ["authority_code", "phase", "academic_year"]
    urn_authority = schools.drop_duplicates("urn").set_index("urn")["authority_code"].astype(str)
    frame = school_pupils.copy()
    frame["authority_code"] = frame["urn"].map(urn_authority)
    target = authority_pupils[keys + ["pupils"]].rename(columns={"pupils": "_target"}).dropna(subset=["_target"])
    target = target.astype({"authority_code": str, "phase": str, "academic_year": str})
    sums = frame.groupby(keys, as_index=False)["pupils"].sum().rename(columns={"pupils": "_sum"})
    factors = sums.merge(target, on=keys, how="inner")
    factors["_factor"] = np.where(factors["_sum"] > 0, factors["_target"] / factors["_sum"], 0.0)
    out = frame.merge(factors[keys + ["_factor"]], on=keys, how="inner")
    problems = []
    # years before or after the authority's table are outside it, not missing from it: only gaps are named
    known_ends = target["academic_year"].map(academic_year_end)
    dropped = sorted(y for y in set(frame["academic_year"]) - set(out["academic_year"])
                     if len(known_ends) and known_ends.min() < academic_year_end(y) < known_ends.max())
    if dropped:
        problems.append(Problem(ProblemKind.YEARS_DROPPED, count=len(dropped),
                                detail=f"years without an authority total: {', '.join(dropped)}"))
    pairs = set(map(tuple, frame[["authority_code", "phase"]].dropna().drop_duplicates().to_numpy()))
    kept = set(map(tuple, out[["authority_code", "phase"]].drop_duplicates().to_numpy()))
    for code, phase in sorted(pairs - kept):
        problems.append(Problem(ProblemKind.NO_SHARE, code, phase, detail="no authority projection: its small areas are dropped"))
    empty = factors[(factors["_sum"] <= 0) & (factors["_target"] > 0)][["authority_code", "phase"]].drop_duplicates()
    for row in empty.itertuples():
        problems.append(Problem(ProblemKind.NO_SHARE, row.authority_code, row.phase,
                                detail="its schools project no pupils: the authority projection cannot be shared out"))
    out["pupils"] = out["pupils"] * out["_factor"]
    return out.drop(columns=["_factor", "authority_code"]).reset_index(drop=True), problems
