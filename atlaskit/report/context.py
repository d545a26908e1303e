"""The report's context: one authority's data and parameters, loaded once and read by every section."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from atlaskit.analysis.problems import Problem
from atlaskit.vocabulary import check_phase, is_open_state_funded, teaches_phase

__all__ = ["ReportContext", "prepare", "phase_schools"]


@dataclass
class ReportContext:
    """Everything the sections of one report read.

    Attributes:
        authority: ONS code.
        authority_name: name shown.
        phase: ``"primary"`` or ``"secondary"``.
        title: the report title.
        buffer_km: neighbouring LSOAs within this distance (km) are loaded.
        projection_years: years the projection runs after its jump-off.
        top_schools: number of schools whose catchments are drawn.
        include_flows: include the flows sections.
        include_demand: include the projection and demand sections.
        data: the :class:`atlaskit.store.loaders.AuthorityData`, or None when it could not be loaded.
        tables: extra store tables by name: ``cross_border`` (this authority), ``scorecard`` and
            ``la_population`` (all authorities); absent when not built.
        build: the store's ``build.json`` (``built_at``...), or {}.
        problems: what could not be loaded, one line each (shown in the report).
        cache: results the sections share (the projection, the planning areas).
    """

    authority: str
    authority_name: str
    phase: str
    title: str
    buffer_km: float = 2.0
    projection_years: int = 10
    top_schools: int = 6
    include_flows: bool = True
    include_demand: bool = True
    data: Any = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    build: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    cache: dict = field(default_factory=dict, repr=False)


def prepare(
    authority: str,
    authority_name: str = "",
    phase: str = "secondary",
    buffer_km: float = 2.0,
    projection_years: int = 10,
    top_schools: int = 6,
    include_flows: bool = True,
    include_demand: bool = True,
    report_title: str | None = None,
    store_dir=None,
) -> ReportContext:
    """Load one authority from the store for its report.

    Args:
        authority: ONS code (or anything :func:`atlaskit.resolve_authority` accepts).
        authority_name: name shown (default: the store's name).
        phase: ``"primary"`` or ``"secondary"``.
        buffer_km: neighbouring LSOAs within this distance (km) are loaded for context.
        projection_years: years the projection runs after its jump-off.
        top_schools: number of schools whose catchments are drawn.
        include_flows: include the flows sections.
        include_demand: include the projection and demand sections.
        report_title: title (default ``"Schools Atlas: <name>"``).
        store_dir: store folder (default ``config.store_dir()``).

    Returns:
        A :class:`ReportContext`; store tables that could not be read are named in its ``problems``.

    Raises:
        ValueError: an unknown phase.
        UnknownAuthority: the code matches no authority.
        StoreMissing: the store has not been built.
    """
    from atlaskit import store
    from atlaskit.store import loaders

    check_phase(phase)
    data = loaders.load(authority, buffer_km=buffer_km, store_dir=store_dir)
    name = authority_name or data.name
    ctx = ReportContext(
        authority=data.code,
        authority_name=name,
        phase=phase,
        title=report_title or f"Schools Atlas: {name}",
        buffer_km=buffer_km,
        projection_years=projection_years,
        top_schools=top_schools,
        include_flows=include_flows,
        include_demand=include_demand,
        data=data,
    )
    try:
        ctx.build = store.build_info(store_dir)
    except Exception as exc:  # noqa: BLE001 - shown in the report
        ctx.problems.append(f"store build information unavailable: {exc}")
    by_code = [("authority_code", "==", data.code)]
    for table, filters in (("cross_border", by_code), ("scorecard", None), ("la_population", None)):
        try:  # scorecard and population are national: the projection's intervals are set across England
            ctx.tables[table] = store.read_table(table, filters=filters, store_dir=store_dir)
        except Exception as exc:  # noqa: BLE001 - a table not built yet: its section says so
            ctx.problems.append(f"store table {table!r} unavailable: {exc}")
    return ctx


def phase_schools(schools: pd.DataFrame, phase: str) -> pd.DataFrame:
    """Return the open state-funded schools teaching a phase (all-through schools count in both).

    Args:
        schools: the store's schools (``phase``, ``is_open``, ``is_state_funded``...).
        phase: ``"primary"`` or ``"secondary"``.

    Raises:
        ValueError: an unknown phase.
    """
    return schools[teaches_phase(schools, phase) & is_open_state_funded(schools)]


def _own_problems(ctx: ReportContext, problems: Iterable[Problem]) -> list[Problem]:
    """Return the problems about the report's authority and phase (those naming no authority or phase included)."""
    return [p for p in problems if p.authority_code in (None, ctx.authority) and p.phase in (None, ctx.phase)]
