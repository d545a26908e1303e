"""The authority at a glance: the title, the headline figures and the static maps of children and deprivation."""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from atlaskit.figures.maps import children_map, deprivation_map
from atlaskit.report.blocks import Block, _esc, _guard, _heading, display_counts, figure_block, table_block
from atlaskit.report.context import ReportContext, phase_schools
from atlaskit.report.wording import plural
from atlaskit.vocabulary import CENSUS_AGES, YEAR_GROUP_LABELS

__all__ = ["title_section", "headline_figures", "headline_section", "maps_section"]


def title_section(ctx: ReportContext) -> Block:
    """Return the report's title, subtitle and any loading problems."""
    data = ctx.data
    region = f", {data.region_name}" if data is not None and getattr(data, "region_name", "") else ""
    built = ctx.build.get("built_at", "unknown")
    lines = [
        f"<h1>{_esc(ctx.title)}</h1>",
        f"<p><b>{_esc(ctx.authority_name)}</b> ({_esc(ctx.authority)}{_esc(region)}), {_esc(ctx.phase)} phase. "
        f"Report generated {_esc(_dt.date.today().isoformat())} from the Atlas store built {_esc(built)}.</p>",
    ]
    if ctx.problems:
        lines.append('<p class="atlas-note">Some inputs are missing: ' + "; ".join(_esc(p) for p in ctx.problems) + "</p>")
    return Block("".join(lines), f"{ctx.title}: {ctx.authority_name} ({ctx.authority}), {ctx.phase}")


def _headline_places(schools: pd.DataFrame, phase: str) -> pd.Series:
    """Return each school's places counted in the headline: May 2015 capacity, all year groups.

    An all-through school counts its places of the phase (``capacity_<phase>_2015``) where
    published; every other school its whole capacity (``capacity_2015``).
    """
    total = pd.to_numeric(schools.get("capacity_2015", pd.Series(np.nan, index=schools.index)), errors="coerce")
    own = f"capacity_{phase}_2015"
    if own in schools:
        by_phase = pd.to_numeric(schools[own], errors="coerce")
        through = schools["phase"].eq("all-through").fillna(False).astype(bool)
        total = total.where(~through | by_phase.isna(), by_phase)
    return total.astype("float64")


def _cross_border(phase: str, published: pd.DataFrame | None, modelled: pd.DataFrame | None) -> tuple[float, str]:
    """Return the cross-border pupils of the headline and what they count: published where there is a count, else modelled."""
    if published is not None and len(published) and "school_outside_la" in published:
        rows = published[published["phase"] == phase].sort_values("academic_year")
        if len(rows):
            last = rows.iloc[-1]
            value = float(last["school_outside_la"])
            resident = float(last.get("resident_pupils", np.nan))
            share = f" ({100 * value / resident:.1f}% of {resident:,.0f} resident pupils)" if resident and np.isfinite(resident) else ""
            if np.isfinite(value):
                return value, f"resident {phase} pupils taught in another authority, {last['academic_year']} (DfE published){share}"
    if modelled is not None and len(modelled):
        rows = modelled[modelled["phase"] == phase]
        if len(rows):
            r = rows.iloc[0]
            return float(r["resident_taught_outside"]), (
                f"resident {phase} children taught in another authority (modelled flows; "
                f"{100 * float(r['share_resident_taught_outside']):.1f}% of residents)"
            )
    return np.nan, "no published or modelled cross-border figure for this authority"


def headline_figures(
    schools: pd.DataFrame,
    phase: str,
    cross_border: pd.DataFrame | None = None,
    modelled_cross_border: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the report's headline figures for one authority and phase.

    Args:
        schools: the authority's schools (``phase``, ``is_open``, ``is_state_funded``,
            ``pupils_2019``, ``capacity_2015``, optionally ``capacity_<phase>_2015``).
        phase: ``"primary"`` or ``"secondary"``.
        cross_border: published DfE cross-border counts for the authority (``academic_year``,
            ``phase``, ``resident_pupils``, ``school_outside_la``), or None.
        modelled_cross_border: :func:`atlaskit.analysis.flows.cross_border_summary` output, used
            when no published count exists.

    Returns:
        DataFrame ``measure, value, detail`` with rows: schools, pupils, capacity (places), spare
        places, cross-border pupils (value NaN when unknown; ``detail`` says what and when).
    """
    own = phase_schools(schools, phase)
    pupils = pd.to_numeric(own.get("pupils_2019", pd.Series(dtype=float)), errors="coerce")
    capacity = _headline_places(own, phase) if len(own) else pd.Series(dtype=float)
    both = pupils.notna() & capacity.notna()
    spare = float((capacity[both] - pupils[both]).sum()) if both.any() else np.nan
    spare_pct = 100.0 * spare / float(capacity[both].sum()) if both.any() and capacity[both].sum() > 0 else np.nan
    n_pupils, n_capacity, n_both = int(pupils.notna().sum()), int(capacity.notna().sum()), int(both.sum())
    spare_detail = "no school has both pupils and capacity"
    if both.any():
        spare_detail = f"capacity minus pupils over {plural(n_both, 'school')} with both ({spare_pct:.1f}% of their places"
        spare_detail += "; negative: more pupils than places)" if spare < 0 else ")"
    rows = [
        ("Schools", float(len(own)), f"open state-funded {phase} and all-through schools"),
        (
            "Pupils",
            float(pupils.sum()) if pupils.notna().any() else np.nan,
            f"on roll, January 2019 census, all year groups ({plural(n_pupils, 'school')}"
            + ("; all-through schools count all their pupils)" if own["phase"].eq("all-through").any() else ")"),
        ),
        (
            "Capacity (places)",
            float(capacity.sum()) if capacity.notna().any() else np.nan,
            f"May 2015 school capacity, all year groups ({n_capacity} of {plural(len(own), 'school')} published one)",
        ),
        ("Spare places", spare, spare_detail),
        ("Cross-border pupils", *_cross_border(phase, cross_border, modelled_cross_border)),
    ]
    return pd.DataFrame(rows, columns=["measure", "value", "detail"])


def _modelled_cross_border(ctx: ReportContext) -> pd.DataFrame | None:
    """Return the modelled cross-border summary of the authority's phase, or None without modelled flows."""
    data = ctx.data
    flows = getattr(data, "flows", None)
    if flows is None or flows.empty or "source" not in flows:
        return None
    from atlaskit.analysis.flows import cross_border_summary

    modelled = flows[(flows["source"] == "modelled") & (flows["phase"] == ctx.phase)]
    if modelled.empty:
        return None
    lsoa_authority = data.lsoas.set_index("lsoa11_code")["authority_code"]
    school_authority = pd.Series(data.code, index=data.schools["urn"])
    return cross_border_summary(modelled, lsoa_authority, school_authority, data.code)


def headline_section(ctx: ReportContext) -> Block:
    """Return the headline figures: schools, pupils, capacity, spare places, cross-border pupils."""

    def build() -> Block:
        try:
            modelled = _modelled_cross_border(ctx)
        except Exception:  # noqa: BLE001 - falls back to "no figure"
            modelled = None
        table = headline_figures(ctx.data.schools, ctx.phase, ctx.tables.get("cross_border"), modelled)
        ctx.cache["headline"] = table
        shown = table.assign(value=display_counts(table["value"], observed=False))
        shown.columns = ["Measure", "Value", "What it counts"]
        out = table_block(shown, f"{ctx.authority_name}, {ctx.phase} phase", title="Headline figures")
        if ctx.include_demand:  # the projection's rolls and places count fewer year groups: say so before they differ
            note = (
                f"These figures count every year group at the schools (January 2019 census, May 2015 capacity). The projection "
                f"and planning areas below count {YEAR_GROUP_LABELS[ctx.phase]} only (the DfE school places scorecard's latest "
                f"rolls and places), so their pupils and places are lower."
            )
            out += Block(f'<p class="atlas-note">{_esc(note)}</p>', note)
        return out

    return _guard("Headline figures", build)


def maps_section(ctx: ReportContext) -> Block:
    """Return the static maps: children per LSOA with schools, and deprivation."""
    data = ctx.data
    low, high = CENSUS_AGES[ctx.phase]
    out = _heading("Where children live, and the schools")
    out += _guard(
        "Children and schools",
        lambda: figure_block(
            children_map(data.lsoas, data.schools, data.boundary, ctx.phase),
            f"Children aged {low}-{high} ({ctx.phase} school age: {YEAR_GROUP_LABELS[ctx.phase]}) per small area (LSOA 2011, "
            f"mid-2019 estimates, quintiles) in {ctx.authority_name}, with open state-funded {ctx.phase} schools sized by pupils "
            f"on roll (January 2019). Grey: neighbouring areas.",
        ),
    )
    out += _guard(
        "Deprivation",
        lambda: figure_block(
            deprivation_map(data.lsoas, data.boundary),
            f"Deprivation decile of each small area in {ctx.authority_name} (English indices of deprivation 2019; 1 = most deprived 10% in England).",
        ),
    )
    return out
