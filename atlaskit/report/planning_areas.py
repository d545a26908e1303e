"""The demand section: the authority projection shared out among its planning areas, against their places."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from atlaskit.report.blocks import Block, _guard, _notes, note_block, table_block
from atlaskit.report.context import ReportContext, _own_problems, phase_schools
from atlaskit.report.projection import DEMAND_OFF, _margins_text, _projection
from atlaskit.report.wording import word_problem
from atlaskit.vocabulary import OPERATING_MARGINS_PCT, YEAR_GROUP_LABELS, academic_year_end, first_year_under_margin

if TYPE_CHECKING:
    from atlaskit.analysis.demand import DemandResult

__all__ = ["planning_area_summary", "planning_area_projection", "demand_section"]

#: How :func:`atlaskit.analysis.demand.planning_groups` names a cluster of schools without a planning area.
_CLUSTER = "-cluster-"


def _planning_area_label(group: Any) -> str:
    """Return a planning group as shown: its SCAP code, or "no planning area (group n)" for a cluster of schools without one."""
    text = str(group)
    _, cluster, number = text.partition(_CLUSTER)
    return f"no planning area (group {number})" if cluster and number.isdigit() else text


def planning_area_summary(area_table: pd.DataFrame, phase: str) -> pd.DataFrame:
    """Summarise :func:`atlaskit.analysis.demand.small_area_demand` per planning group: now, last year, first years under the margins.

    Pupils are all the group's projected pupils, at schools with published places (``pupils``)
    and without (``pupils_no_capacity``), so the groups add up to the authority projection.
    Places, spare places and the margins are left blank for a group whose schools publish no
    places, rather than shown as 0 places and 0 pupils.

    Args:
        area_table: planning_group, phase, academic_year, pupils, pupils_no_capacity (optional),
            capacity, surplus, pct_spare, n_schools, n_schools_without_capacity (optional).
        phase: the phase shown.

    Returns:
        One row per planning group: planning area, schools, places, pupils in the first and last
        year, spare places and percent spare in the last year, and the first year under each DfE
        operating margin (:data:`atlaskit.vocabulary.OPERATING_MARGINS_PCT`, widest first).
        Counts are whole numbers (modelled, rounded); missing values are NA or "".
    """
    margins = sorted(OPERATING_MARGINS_PCT, reverse=True)
    rows = area_table[area_table["phase"] == phase]
    if rows.empty:
        return pd.DataFrame(columns=["planning area", "schools", "places"])
    first_year, last_year = rows["academic_year"].min(), rows["academic_year"].max()
    out = []
    for group, part in rows.sort_values("academic_year").groupby("planning_group", sort=True):
        last = part.iloc[-1]
        no_places = part.get("pupils_no_capacity", pd.Series(0.0, index=part.index)).fillna(0.0)
        total = part["pupils"].fillna(0.0) + no_places
        n_schools = int(last.get("n_schools", 0))
        without = int(last.get("n_schools_without_capacity", 0) or 0)
        has_places = float(last["capacity"] or 0) > 0 and without < n_schools
        row = {
            "planning area": _planning_area_label(group),
            "schools": n_schools,
            "places": round(float(last["capacity"])) if has_places else np.nan,
            f"pupils {first_year}": round(float(total.iloc[0])),
            f"pupils {last_year}": round(float(total.iloc[-1])),
            f"spare places {last_year}": round(float(last["surplus"])) if has_places else np.nan,
            f"% spare {last_year}": float(last["pct_spare"]) if has_places else np.nan,
        }
        for margin in margins:
            if has_places:
                row[f"first year under {margin:g}% spare"] = (
                    first_year_under_margin(part["academic_year"], part["pct_spare"], margin) or f"not by {last_year}"
                )
            else:
                row[f"first year under {margin:g}% spare"] = "no places published"
        out.append(row)
    table = pd.DataFrame(out)
    counts = ["schools", "places", f"pupils {first_year}", f"pupils {last_year}", f"spare places {last_year}"]
    return table.astype({c: "Int64" for c in counts if c in table})  # whole numbers, blank when unknown


def planning_area_projection(ctx: ReportContext) -> DemandResult:
    """Project the report phase's pupils per planning area, sharing out the authority projection; cached on the context.

    Args:
        ctx: the report context (store tables ``la_population`` and ``scorecard``, the flows).

    Returns:
        :class:`atlaskit.analysis.demand.DemandResult`: the planning-group table of
        :func:`atlaskit.analysis.demand.small_area_demand` (pupils of schools with places in
        ``pupils``, the others in ``pupils_no_capacity``) and its problems.

    Raises:
        LookupError: no population by age, no flows, no open state-funded schools of the
            phase, or no authority projection (the message says which).
    """
    if "small_areas" not in ctx.cache:
        from atlaskit.analysis import demand

        data = ctx.data
        population = ctx.tables.get("la_population")
        if population is None or population.empty:
            raise LookupError("the store has no population by age (run `atlas build`)")
        if data.flows is None or data.flows.empty:
            raise LookupError("the store has no home-to-school flows yet, so pupils cannot be placed in planning areas")
        schools = phase_schools(data.schools, ctx.phase)
        if schools.empty:
            raise LookupError(f"{ctx.authority_name} has no open state-funded {ctx.phase} schools")
        if "authority_code" not in schools:
            schools = schools.assign(authority_code=ctx.authority)
        try:
            table, _ = _projection(ctx)
        except LookupError as exc:
            raise LookupError(f"the planning areas share out the authority projection, which is not available: {exc}") from exc
        ahead = table[(table["authority_code"] == ctx.authority) & table["kind"].isin(["actual", "projection"])]
        if ahead.empty:
            raise LookupError(f"no authority projection for {ctx.authority_name} to share out among its planning areas")
        last_year = max(academic_year_end(y) for y in ahead["academic_year"])
        ctx.cache["small_areas"] = demand.small_area_demand(
            data.lsoas,
            data.flows[data.flows["phase"] == ctx.phase],
            schools,
            population,
            last_year=last_year,
            authority_pupils=ahead,
            authority_capacity=demand.latest_capacity(ctx.tables["scorecard"]),
        )
    return ctx.cache["small_areas"]


def demand_section(ctx: ReportContext) -> Block:
    """Return the demand table per planning area (projected pupils against places)."""
    title = "Demand and places by planning area"
    if not ctx.include_demand:
        return note_block(DEMAND_OFF, title)

    def build() -> Block:
        try:
            result = planning_area_projection(ctx)
        except LookupError as exc:
            return note_block(f"Not available: {exc}.", title)
        notes = [n for n in (word_problem(p) for p in _own_problems(ctx, result.problems)) if n]
        summary = planning_area_summary(result.table, ctx.phase)
        if summary.empty:
            return note_block(f"Not available: {'; '.join(notes) or f'no {ctx.phase} planning areas'}.", title)
        out = table_block(
            summary,
            f"{ctx.phase.capitalize()} pupils ({YEAR_GROUP_LABELS[ctx.phase]}) per planning area (SCAP 2015 planning areas; "
            f"schools without one are grouped with schools within 3 km, as \"no planning area\"): the authority's projection "
            f"shared out by the modelled flows and small-area children, so the areas add up to it each year; against the places "
            f"of their schools (May 2015 capacities scaled to the authority's latest places in the school places scorecard). "
            f"Spare places under the DfE's operating margins ({_margins_text()} of places) are tight. Modelled figures, rounded.",
            title=title,
            text_columns=("planning area",),
        )
        return out + _notes(notes, "Model notes: ")

    return _guard(title, build)
