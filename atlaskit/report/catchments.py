"""The flows sections: the catchments of the largest schools, and how well the flow model fits here."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from atlaskit.figures.maps import catchment_map
from atlaskit.report.blocks import Block, _guard, _heading, figure_block, note_block, table_block
from atlaskit.report.context import ReportContext, phase_schools
from atlaskit.vocabulary import DISCLOSURE_THRESHOLD, URN_DTYPE

__all__ = ["catchment_lsoas", "catchments_section", "feeders_table", "validation_section"]

#: Feeder schools listed per school in the report.
FEEDERS_SHOWN = 5

#: Shown in place of each flows section when the parameter file turns flows off.
FLOWS_OFF = "Flows are switched off for this authority (include_flows: false)."


def catchment_lsoas(flows: pd.DataFrame, urns: Sequence[int], phase: str, share: float = 0.8) -> pd.DataFrame:
    """Return the LSOAs in each school's catchment: the fewest LSOAs holding ``share`` of its pupils.

    Flows are observed where published, modelled elsewhere (:func:`atlaskit.analysis.flows.school_catchment`).

    Args:
        flows: ``urn, lsoa11_code, phase, pupils, source`` (the store's flows).
        urns: schools to map.
        phase: the phase of the flows.
        share: fraction of each school's pupils its catchment holds (0-1).

    Returns:
        ``urn, lsoa11_code, pupils, share`` (share of the school's pupils), one row per school
        and LSOA in its catchment; schools without flows have no rows.
    """
    from atlaskit.analysis.flows import school_catchment

    parts = []
    for urn in urns:
        try:
            rows = school_catchment(flows, urn, source="best", phase=phase)
        except Exception:  # noqa: BLE001 - a school without flows has no catchment to draw
            continue
        rows = rows[rows["pupils"].notna()]
        keep = rows["cumulative_share"].shift(fill_value=0.0) < share
        parts.append(rows.loc[keep, ["lsoa11_code", "pupils", "share"]].assign(urn=urn))
    if not parts:
        return pd.DataFrame({"urn": pd.Series(dtype=URN_DTYPE), "lsoa11_code": pd.Series(dtype="string"),
                             "pupils": pd.Series(dtype="float64"), "share": pd.Series(dtype="float64")})
    return pd.concat(parts, ignore_index=True)[["urn", "lsoa11_code", "pupils", "share"]]


def catchments_section(ctx: ReportContext) -> Block:
    """Return the map of the catchments of the ``top_schools`` largest schools of the phase."""
    title = "Catchments of the largest schools"
    if not ctx.include_flows:
        return note_block(FLOWS_OFF, title)

    def build() -> Block:
        data = ctx.data
        flows = data.flows
        if flows is None or flows.empty:
            return note_block("Not available: the store has no home-to-school flows yet (run `atlas build` with the flows step).", title)
        own = phase_schools(data.schools, ctx.phase)
        if own.empty:
            return note_block(f"Not available: {ctx.authority_name} has no open state-funded {ctx.phase} schools.", title)
        own = own.assign(_p=pd.to_numeric(own["pupils_2019"], errors="coerce")).sort_values("_p", ascending=False)
        top = own[own["urn"].isin(flows.loc[flows["phase"] == ctx.phase, "urn"])].head(ctx.top_schools)
        if top.empty:
            return note_block(f"Not available: no {ctx.phase} school of {ctx.authority_name} has flows.", title)
        catch = catchment_lsoas(flows, top["urn"].tolist(), ctx.phase)
        observed_urns = set(flows.loc[(flows["source"] == "observed") & (flows["phase"] == ctx.phase), "urn"]) & set(top["urn"])
        if not observed_urns:
            kind, map_title = "modelled flows", "Modelled catchments of the largest schools"
        elif len(observed_urns) == len(top):
            kind, map_title = "observed (published) flows, January 2015", "Observed catchments of the largest schools (January 2015)"
        else:
            kind = f"observed (published) flows, January 2015, for {len(observed_urns)} of them; modelled flows for the others"
            map_title = "Catchments of the largest schools: observed where published, modelled elsewhere"
        fig = catchment_map(data.lsoas, top, data.boundary, catch, title=map_title)
        which = f"largest {ctx.phase} school" if len(top) == 1 else f"{len(top)} largest {ctx.phase} schools"
        return _heading(title) + figure_block(
            fig,
            f"{'Catchment' if len(top) == 1 else 'Catchments'} of the {which} of {ctx.authority_name}: the fewest small areas "
            f"holding 80% of each school's pupils ({kind}); each area coloured by the school drawing most pupils from it."
            + (
                " Primary flows are published nowhere: the model's distance decay for primary pupils is set so the mean "
                "primary trip is the mean secondary trip times the National Travel Survey 2014 ratio of the two (an assumption)."
                if ctx.phase == "primary"
                else ""
            ),
        ) + _feeders_block(ctx, top)

    return _guard(title, build)


def feeders_table(flows: pd.DataFrame, own_lsoas: Sequence[str], schools: pd.DataFrame, urns: Sequence[int], phase: str, shown: int = FEEDERS_SHOWN) -> pd.DataFrame:
    """Return the estimated feeder schools of each school: its largest feeder primaries (secondary) or destinations (primary).

    Estimated from the modelled flows of both phases out of the authority's own LSOAs only (the
    store holds all their flows; a neighbouring area's flows are loaded only into this
    authority's schools), by :func:`atlaskit.analysis.flows.school_feeders`.

    Args:
        flows: the authority's loaded flows (``urn, lsoa11_code, phase, pupils, source``).
        own_lsoas: the authority's own 2011 LSOA codes.
        schools: the authority's schools (urn, school_name) naming the schools listed.
        urns: the schools whose feeders to list.
        phase: the schools' phase: ``secondary`` lists feeder primaries, ``primary`` where leavers go.
        shown: feeder schools listed per school.

    Returns:
        ``School, Feeder school`` (or ``Secondary school``), ``Leavers a year (estimate)``,
        ``Share``: one row per listed pair (empty when no school has modelled flows).
    """
    from atlaskit.analysis.flows import school_feeders
    from atlaskit.errors import UnknownSchool

    modelled = flows[(flows["source"] == "modelled").to_numpy(dtype=bool) & flows["lsoa11_code"].isin(set(own_lsoas)).to_numpy(dtype=bool)]
    names = schools.drop_duplicates("urn").set_index("urn")["school_name"].astype(str)
    other = "Feeder primary school" if phase == "secondary" else "Secondary school its leavers go to"
    rows = []
    for urn in urns:
        try:
            feeders = school_feeders(modelled, urn, phase).head(shown)
        except UnknownSchool:
            continue
        for r in feeders.itertuples(index=False):
            rows.append({"School": names.get(urn, f"URN {urn}"), other: names.get(r.urn, f"URN {r.urn} (another authority)"),
                         "Leavers a year (estimate)": f"about {r.leavers:,.0f}", "Share": f"{100 * r.share:.0f}%"})  # fmt: skip
    return pd.DataFrame(rows, columns=["School", other, "Leavers a year (estimate)", "Share"])


def _feeders_block(ctx: ReportContext, top: pd.DataFrame) -> Block:
    """Return the table of the largest schools' estimated feeders (labelled as estimates), or nothing."""
    from atlaskit.analysis.flows import FEEDER_METHOD

    data = ctx.data
    own = data.lsoas.loc[data.lsoas["in_authority"].astype(bool), "lsoa11_code"].astype(str) if "in_authority" in data.lsoas else data.lsoas["lsoa11_code"].astype(str)
    table = feeders_table(data.flows, own.tolist(), data.schools, top["urn"].tolist(), ctx.phase)
    if table.empty:
        return Block("", "")
    what = "feeder primary schools of the same schools" if ctx.phase == "secondary" else "secondary schools the leavers of the same schools go to"
    return table_block(
        table,
        f"Estimated {what}, from the children of {ctx.authority_name}'s own small areas (modelled flows, "
        f"2019): {FEEDER_METHOD} Shares are of the leavers linked through {ctx.authority_name}'s areas.",
        title=f"{'Feeder primary schools' if ctx.phase == 'secondary' else 'Where primary leavers go'} (estimates)",
    )


def _observed_and_modelled_cells(observed: pd.DataFrame, modelled: pd.DataFrame) -> pd.DataFrame:
    """Align published and modelled cells (school x LSOA) as ``atlas validate flows`` does.

    Each school's modelled pupils are scaled to its published total before suppression
    (``school_total_pupils``, else the sum of its published cells); a cell missing on one side is 0.

    Returns:
        ``urn, lsoa11_code, observed, modelled`` (pupils).
    """
    published = observed[observed["pupils"].notna()]
    total = published.groupby("urn")["pupils"].sum()
    if "school_total_pupils" in observed:
        total = observed.groupby("urn")["school_total_pupils"].max().astype("float64").fillna(total)
    sums = modelled.groupby("urn")["pupils"].transform("sum").astype("float64")
    scaled = modelled.assign(pupils=modelled["pupils"].astype("float64") * modelled["urn"].map(total) / sums.where(sums > 0))
    merged = published[["urn", "lsoa11_code", "pupils"]].merge(
        scaled[["urn", "lsoa11_code", "pupils"]], on=["urn", "lsoa11_code"], how="outer", suffixes=("_observed", "_modelled")
    )
    return pd.DataFrame(
        {
            "urn": merged["urn"],
            "lsoa11_code": merged["lsoa11_code"],
            "observed": merged["pupils_observed"].astype("float64").fillna(0.0),
            "modelled": merged["pupils_modelled"].astype("float64").fillna(0.0),
        }
    )


def validation_section(ctx: ReportContext) -> Block:
    """Return the fit of the flow model to the published flows of this authority's schools (CPC, SRMSE, R-squared)."""
    title = "How well the flow model fits here"
    if not ctx.include_flows:
        return note_block(FLOWS_OFF, title)

    def build() -> Block:
        from atlaskit.analysis import flows as fl

        flows = ctx.data.flows
        if flows is None or flows.empty:
            return note_block("Not available: the store has no flows yet.", title)
        own_urns = set(phase_schools(ctx.data.schools, ctx.phase)["urn"])
        in_phase = flows[flows["urn"].isin(own_urns) & (flows["phase"] == ctx.phase)]
        observed = in_phase[in_phase["source"] == "observed"]
        if observed.empty:
            return note_block(
                f"No observed {ctx.phase} flows are published for the schools of {ctx.authority_name} (the London Schools Atlas "
                "covers London secondary schools, January 2015): the catchments shown are modelled and cannot be checked here.",
                title,
            )
        modelled = in_phase[(in_phase["source"] == "modelled") & in_phase["urn"].isin(observed["urn"])]
        cells = _observed_and_modelled_cells(observed, modelled)
        measures = fl.cell_measures(cells["observed"].to_numpy(), cells["modelled"].to_numpy())
        rows = [
            ("Schools with published flows", f"{observed['urn'].nunique():,}"),
            (f"Published cells ({DISCLOSURE_THRESHOLD} or more pupils)", f"{int((observed['pupils'] >= DISCLOSURE_THRESHOLD).sum()):,}"),
            ("CPC, Common Part of Commuters (1 = identical)", f"{measures['cpc']:.3f}"),
            ("SRMSE, standardised root mean square error of cells (0 = perfect)", f"{measures['srmse']:.3f}"),
            ("R-squared of cell counts (1 = perfect)", f"{measures['r_squared']:.3f}"),
        ]
        return table_block(
            pd.DataFrame(rows, columns=["Measure", "Value"]),
            "Observed January 2015 flows against the model's, school by small area (each school's modelled pupils scaled to "
            "its published total; cells suppressed by the publisher count as 0, so a perfect model scores a CPC of about 0.9, "
            "not 1). The same measures as `atlas validate flows`, which scores the model out of sample across London.",
            title=title,
        )

    return _guard(title, build)
