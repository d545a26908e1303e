"""The projection section: the authority's projected pupils against places and the DfE operating margins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.analysis.problems import Problem
from atlaskit.report.blocks import Block, _count, _guard, _heading, _notes, _text, figure_block, note_block, table_block
from atlaskit.report.context import ReportContext, _own_problems
from atlaskit.report.wording import word_problem
from atlaskit.vocabulary import OPERATING_MARGINS_PCT, YEAR_GROUP_LABELS, first_year_under_margin

__all__ = ["operating_margin_years", "projection_section"]

#: Shown in place of each demand section when the parameter file turns demand off.
DEMAND_OFF = "Demand is switched off for this authority (include_demand: false)."


def _margins_text() -> str:
    """The DfE's operating margins in words, narrowest first: ``"2% and 5%"``."""
    return " and ".join(f"{m:g}%" for m in sorted(OPERATING_MARGINS_PCT))


def _projection(ctx: ReportContext) -> tuple[pd.DataFrame, list[Problem]]:
    """Project the authority's pupils (both phases) with :func:`atlaskit.analysis.demand.project_demand`; cached on the context.

    Raises:
        LookupError: the store has no school places scorecard or population by age.
    """
    if "projection" not in ctx.cache:
        from atlaskit.analysis import demand

        scorecard = ctx.tables.get("scorecard")
        population = ctx.tables.get("la_population")
        if scorecard is None or scorecard.empty or population is None or population.empty:
            raise LookupError("the store has no school places scorecard or population by age (run `atlas build`)")
        result = demand.project_demand(population, scorecard, years_ahead=ctx.projection_years, authorities=[ctx.authority])
        ctx.cache["projection"] = (result.table, list(result.problems))
    return ctx.cache["projection"]


def operating_margin_years(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the first year spare places fall under each DfE operating margin, central and cautious.

    Args:
        rows: one authority and phase of :func:`atlaskit.analysis.demand.project_demand`'s table
            (its ``actual`` and ``projection`` rows are read: ``academic_year``, ``pupils``,
            ``pupils_upper_80``, ``capacity``).

    Returns:
        One row per margin of :data:`atlaskit.vocabulary.OPERATING_MARGINS_PCT`, widest first:
        ``operating margin``, ``central projection``, ``upper end of the 80% interval``: the
        first academic year under the margin, ``"not by <last year>"``, or ``"places unknown"``.
    """
    kind = rows["kind"] if "kind" in rows else pd.Series("projection", index=rows.index)
    ahead = rows[kind.isin(["actual", "projection"])].sort_values("academic_year")
    capacity = pd.to_numeric(ahead.get("capacity", pd.Series(np.nan, index=ahead.index)), errors="coerce")
    last = str(ahead["academic_year"].iloc[-1]) if len(ahead) else ""
    out = []
    for margin in sorted(OPERATING_MARGINS_PCT, reverse=True):
        cells = []
        for column in ("pupils", "pupils_upper_80"):
            if not capacity.notna().any():
                cells.append("places unknown")
                continue
            spare_pct = 100.0 * (capacity - pd.to_numeric(ahead[column], errors="coerce")) / capacity
            cells.append(first_year_under_margin(ahead["academic_year"], spare_pct, margin) or f"not by {last}")
        out.append((f"{margin:g}% of places spare", *cells))
    return pd.DataFrame(out, columns=["operating margin", "central projection", "upper end of the 80% interval"])


def projection_section(ctx: ReportContext) -> Block:
    """Return the projection chart, a summary table and the first years under the DfE's 2% and 5% operating margins."""
    title = "Projected pupils and places"
    if not ctx.include_demand:
        return note_block(DEMAND_OFF, title)

    def build() -> Block:
        table, problems = _projection(ctx)
        notes = [n for n in (word_problem(p) for p in _own_problems(ctx, problems)) if n]
        rows = table[(table["authority_code"] == ctx.authority) & (table["phase"] == ctx.phase)]
        if rows.empty:
            return note_block(f"Not available: {'; '.join(notes) or 'no projection for this authority and phase'}.", title)
        ahead = rows[rows["kind"].isin(["actual", "projection"])] if "kind" in rows else rows
        if not (pd.to_numeric(ahead["pupils"], errors="coerce").fillna(0) > 0).any():
            return note_block(
                f"Not available: {ctx.authority_name} has no {ctx.phase} pupils on roll in the school places scorecard, so there is "
                f"nothing to project" + (f" ({'; '.join(notes)})" if notes else "") + ".",
                title,
            )
        from atlaskit.figures.projection import projection_chart  # the one projection chart (report and demand alike)

        years = YEAR_GROUP_LABELS[ctx.phase]
        fig = projection_chart(rows, ylabel=f"{ctx.phase} pupils ({years})")
        ahead = ahead.sort_values("academic_year")
        origin = ahead["origin"].iloc[0] if "origin" in ahead and len(ahead) else ""
        back = rows[rows["kind"] == "backtest"].sort_values("academic_year") if "kind" in rows else rows.iloc[:0]
        check = "dashed: the same method run from the 2018/19 roll, against the actual rolls (dots)" if len(back) else "dots: the actual rolls"
        places = "places from the DfE school places scorecard" + (
            " (the Years 7 to 11 share of secondary places: sixth-form places left out)" if ctx.phase == "secondary" else ""
        )
        out = _heading(title) + figure_block(
            fig,
            f"{ctx.phase.capitalize()} pupils ({years}) in state-funded schools of {ctx.authority_name}, projected "
            f"{ctx.projection_years} years from the {origin} roll by the cohort method, with 80% and 95% prediction intervals "
            f"(from the errors of the same method across England); {check}; {places}, the latest held constant, and the "
            f"places less the DfE's {_margins_text()} operating margins. These rolls count {years} only, so they are lower "
            f"than the headline figures (all year groups, January 2019).",
        )
        last = ahead.iloc[-1]
        capacity = float(last.get("capacity", np.nan))
        spare = float(last.get("surplus", np.nan))
        spare_text = _count(spare) + (f" ({100 * spare / capacity:.1f}% of places)" if np.isfinite(spare) and capacity > 0 else "")
        rows_out = [
            (f"Pupils on roll {ahead['academic_year'].iloc[0]} (actual)", _count(ahead["pupils"].iloc[0])),
            (f"Projected pupils {last['academic_year']}", _count(last["pupils"])),
            (f"80% interval {last['academic_year']}", f"{_count(last['pupils_lower_80'])} to {_count(last['pupils_upper_80'])}"),
            (f"95% interval {last['academic_year']}", f"{_count(last['pupils_lower_95'])} to {_count(last['pupils_upper_95'])}"),
            (f"Places ({_text(last.get('capacity_year')) or 'unknown'}, held constant)", _count(capacity)),
            (f"Spare places {last['academic_year']} (projected)", spare_text),
        ]
        if len(back):
            b = back.iloc[-1]
            projected, actual = float(b["pupils"]), float(b.get("actual_pupils", np.nan))
            if np.isfinite(actual) and actual > 0:
                rows_out.append(
                    (
                        f"Check: {b['academic_year']} projected from 2018/19",
                        f"{_count(projected)} against {_count(actual)} actual ({100 * (projected / actual - 1):+.0f}%)",
                    )
                )
        out += table_block(pd.DataFrame(rows_out, columns=["Measure", "Value"]), "Projection summary")
        out += table_block(
            operating_margin_years(rows),
            f"First year spare places fall under the DfE's operating margins ({ahead['academic_year'].iloc[0]} to "
            f"{last['academic_year']}): with the central projection, and with the upper end of its 80% interval (a cautious plan)",
            text_columns=("central projection", "upper end of the 80% interval"),
        )
        return out + _notes(notes)

    return _guard(title, build)
