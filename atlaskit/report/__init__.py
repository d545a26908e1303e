"""What one authority's report shows: headline figures, static maps, projections, demand, sources.

The report notebook (``notebooks/report.ipynb``) is a literal-only ``parameters`` cell and thin
cells, each calling one ``*_section`` function here with a :class:`ReportContext`. Two layers:

* **Pure builders** take tables (GeoDataFrames in EPSG:27700) and return a ``pandas.DataFrame``
  or a ``matplotlib.figure.Figure`` (made without pyplot, so nothing is displayed twice and no
  figure leaks): :func:`headline_figures`, :func:`children_map`, :func:`deprivation_map`,
  :func:`catchment_map`, :func:`projection_chart`, :func:`sources_table`, :func:`vintage_table`.
* **Sections** (``*_section(ctx)``) compose builders into a :class:`Block`: static HTML with
  figures embedded as base64 PNG (the report opens offline; nothing is loaded from a CDN). A
  section whose input is missing (a store table not built, an analysis module not installed,
  a phase with no schools) returns a visible "not available" note instead of failing, so the
  rest of the report still renders.

Pupil counts derived from observed (published) flows follow disclosure control
(:mod:`atlaskit.disclosure`): observed counts under 3 are never shown (:func:`display_counts`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html as _html
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from atlaskit.analysis.demand import DemandResult

__all__ = [
    "Block",
    "ReportContext",
    "prepare",
    "phase_schools",
    "children_of_phase",
    "headline_figures",
    "children_map",
    "deprivation_map",
    "catchment_map",
    "projection_chart",
    "sources_table",
    "vintage_table",
    "display_counts",
    "figure_block",
    "table_block",
    "note_block",
    "title_section",
    "headline_section",
    "maps_section",
    "catchments_section",
    "projection_section",
    "planning_area_projection",
    "demand_section",
    "validation_section",
    "sources_section",
]

#: Smallest observed count that may be shown (published flows suppress 1 and 2).
DISCLOSURE_MIN = 3
#: Ages (at the mid-year estimate) of each phase's children (same convention as atlaskit.demand).
_FALLBACK_PHASE_AGES = {"primary": (5, 11), "secondary": (12, 16)}
#: School phases counted in each report phase (all-through schools count in both).
PHASE_SCHOOL_TYPES = {"primary": ("primary", "all-through"), "secondary": ("secondary", "all-through")}
#: What each part of the report rests on: (input shown, DATASETS key).
REPORT_INPUTS: tuple[tuple[str, str], ...] = (
    ("Authority and small-area boundaries", "lsoa_boundaries"),
    ("Small areas to authorities", "lsoa_lookup"),
    ("Children per small area", "lsoa_population"),
    ("Deprivation (IMD, IDACI)", "deprivation"),
    ("Pupils on roll per school", "school_census"),
    ("School capacity", "school_capacity_2015"),
    ("School locations", "postcodes"),
    ("Ofsted ratings", "ofsted"),
    ("Observed home-to-school flows (London)", "lsa_flows"),
    ("Cross-border pupils (published)", "cross_border"),
    ("Projection: children by age", "la_population"),
    ("Projection and places: rolls and capacity", "scorecard"),
)

_DPI = 96


def _phase_ages(phase: str) -> tuple[int, int]:
    try:
        from atlaskit.analysis.demand import PHASE_AGES
    except ImportError:
        PHASE_AGES = _FALLBACK_PHASE_AGES
    if phase not in PHASE_AGES:
        raise ValueError(f"phase must be one of {', '.join(PHASE_AGES)}, not {phase!r}")
    return PHASE_AGES[phase]


# --------------------------------------------------------------------------------------------
# Display blocks


@dataclass(frozen=True)
class Block:
    """One piece of the report as static HTML (shown by Jupyter through ``_repr_html_``).

    Attributes:
        html: the HTML fragment (images embedded as ``data:`` URIs).
        text: a plain-text summary (what ``repr`` shows in a console).
        available: False for a "not available" note.
    """

    html: str
    text: str = ""
    available: bool = True

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text or f"Block({len(self.html)} characters of HTML)"

    def __add__(self, other: Block) -> Block:
        return Block(self.html + other.html, "\n".join(t for t in (self.text, other.text) if t), self.available and other.available)


def _esc(value: Any) -> str:
    return _html.escape(str(value))


def note_block(message: str, title: str | None = None) -> Block:
    """Return a visible note (used when a section's input is missing)."""
    head = f"<h2>{_esc(title)}</h2>" if title else ""
    return Block(f'{head}<p class="atlas-note">{_esc(message)}</p>', f"{title + ': ' if title else ''}{message}", available=False)


def figure_block(fig, caption: str = "", alt: str = "") -> Block:
    """Render a matplotlib Figure as an embedded PNG ``<figure>`` and close it.

    Args:
        fig: a ``matplotlib.figure.Figure``.
        caption: the caption shown under the image.
        alt: alternative text (defaults to the caption).

    Returns:
        A :class:`Block` holding ``<img src="data:image/png;base64,...">``.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    fig.clf()
    html = (
        f'<figure class="atlas-figure"><img alt="{_esc(alt or caption)}" src="data:image/png;base64,{encoded}"/>'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )
    return Block(html, f"[figure] {caption}")


def _format_cell(value: Any) -> tuple[str, bool]:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "", False
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), False
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}", True
    if isinstance(value, (float, np.floating)):
        return (f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"), True
    text = str(value)
    return text, bool(_NUMBER_TEXT.match(text))  # pre-formatted counts ("1,234", "<3") align as numbers


_NUMBER_TEXT = re.compile(r"^[<>~-]?[\d,]+(\.\d+)?%?$")


def table_block(frame: pd.DataFrame, caption: str = "", title: str | None = None, text_columns: Sequence[str] = ()) -> Block:
    """Render a DataFrame as a plain HTML table (numeric columns right-aligned, thousands separated).

    A column is right-aligned when every value in it is a number or a formatted count
    (``"1,234"``, ``"<3"``); codes and years stay text (left-aligned) when named in
    ``text_columns`` or mixed with words. Web addresses become links showing their site.

    Args:
        frame: the table (its index is not shown).
        caption: caption above the table.
        title: an optional ``<h2>`` heading.
        text_columns: columns always shown as text (codes such as a planning-area number).
    """
    from urllib.parse import urlsplit

    head = f"<h2>{_esc(title)}</h2>" if title else ""
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    columns = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    formatted = [[_format_cell(v) for v in frame.iloc[:, j]] for j in range(frame.shape[1])]
    numeric = [
        name not in text_columns and all(num for text, num in col if text) and any(text for text, _ in col)
        for name, col in zip(frame.columns, formatted)
    ]
    rows = []
    for i in range(len(frame)):
        cells = []
        for j in range(frame.shape[1]):
            text = formatted[j][i][0]
            if text.startswith(("https://", "http://")) and " " not in text:  # a page: link it, show its site
                cells.append(f'<td><a href="{_esc(text)}">{_esc(urlsplit(text).netloc)}</a></td>')
            else:
                cells.append(f'<td class="num">{_esc(text)}</td>' if numeric[j] else f"<td>{_esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    html = f'{head}<table class="atlas-table">{cap}<thead><tr>{columns}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return Block(html, f"{title or caption}\n{frame.to_string(index=False)}")


def _count(value: Any) -> str:
    """Format a modelled count as a whole number with thousands separators ("" when unknown)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    return f"{v:,.0f}" if np.isfinite(v) else ""


def _text(value: Any) -> str:
    """Return a value as text, "" for None, NaN or NA."""
    try:
        return "" if value is None or pd.isna(value) else str(value)
    except (TypeError, ValueError):  # arrays and other non-scalars
        return str(value)


def _plural(count: int, word: str) -> str:
    """``"1 school"``, ``"3 schools"``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _heading(title: str, intro: str = "") -> Block:
    return Block(f"<h2>{_esc(title)}</h2>" + (f"<p>{_esc(intro)}</p>" if intro else ""), title)


# --------------------------------------------------------------------------------------------
# Disclosure control


def display_counts(values: pd.Series | Sequence[float], observed: bool = True) -> pd.Series:
    """Return pupil counts as display strings under the Atlas disclosure rule.

    Observed counts under :data:`atlaskit.disclosure.THRESHOLD` (3) are never shown: they become
    ``"<3"``; modelled counts are estimates and are shown rounded (see :mod:`atlaskit.disclosure`).

    Args:
        values: pupil counts.
        observed: True when the counts are observed (published) data.

    Returns:
        A Series of strings (``"1,234"``, ``"<3"``, ``""`` for missing).
    """
    try:
        from atlaskit.analysis.disclosure import THRESHOLD as threshold
    except ImportError:  # pragma: no cover - the module ships with atlaskit
        threshold = DISCLOSURE_MIN
    series = pd.Series(values, dtype="float64")

    def fmt(v: float) -> str:
        if not np.isfinite(v):
            return ""
        if observed and v < threshold:
            return f"<{threshold}" if v > 0 or threshold > 0 else ""
        return f"{v:,.0f}"

    return series.map(fmt)


# --------------------------------------------------------------------------------------------
# Context: the authority's data and the parameters, loaded once


@dataclass
class ReportContext:
    """Everything the sections of one report read.

    Attributes:
        authority: ONS code.
        authority_name: name shown.
        phase: ``"primary"`` or ``"secondary"``.
        title: the report title.
        buffer_km, projection_years, top_schools, include_flows, include_demand: parameters.
        data: the :class:`atlaskit.loaders.AuthorityData`, or None when it could not be loaded.
        tables: extra store tables by name: ``cross_border`` (this authority), ``scorecard`` and
            ``la_population`` (all authorities); absent when not built.
        build: the store's ``build.json`` (``built_at``...), or {}.
        problems: what could not be loaded, one line each (shown in the report).
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
        A :class:`ReportContext`.

    Raises:
        UnknownAuthority: the code matches no authority.
        StoreMissing: the store has not been built.
    """
    from atlaskit.store import loaders
    from atlaskit import store

    _phase_ages(phase)  # validates the phase
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
    for name_, filters in (("cross_border", by_code), ("scorecard", None), ("la_population", None)):
        try:  # scorecard and population are national: the projection's intervals are set across England
            ctx.tables[name_] = store.read_table(name_, filters=filters, store_dir=store_dir)
        except Exception as exc:  # noqa: BLE001 - a table not built yet: its section says so
            ctx.problems.append(f"store table {name_!r} unavailable: {exc}")
    return ctx


# --------------------------------------------------------------------------------------------
# Pure builders


def phase_schools(schools: pd.DataFrame, phase: str, open_state_funded: bool = True) -> pd.DataFrame:
    """Return the schools teaching a phase (all-through schools count in both), optionally open state-funded only.

    Args:
        schools: the store's schools (``phase``, ``is_open``, ``is_state_funded``...).
        phase: ``"primary"`` or ``"secondary"``.
        open_state_funded: keep only open, state-funded schools.
    """
    _phase_ages(phase)
    keep = schools["phase"].isin(PHASE_SCHOOL_TYPES[phase])
    if open_state_funded:
        for column in ("is_open", "is_state_funded"):
            if column in schools:
                keep &= schools[column].fillna(False).astype(bool)
    return schools[keep.fillna(False).astype(bool)]


def children_of_phase(lsoas: pd.DataFrame, phase: str, year: int = 2019) -> pd.Series:
    """Return the children of a phase's ages per LSOA (sum of ``age_<a>_<year>`` columns).

    Raises:
        KeyError: naming the missing age columns.
    """
    low, high = _phase_ages(phase)
    columns = [f"age_{a}_{year}" for a in range(low, high + 1)]
    missing = [c for c in columns if c not in lsoas]
    if missing:
        raise KeyError(f"LSOA table lacks {', '.join(missing)}")
    return lsoas[columns].sum(axis=1, min_count=1)


def _capacity_column(schools: pd.DataFrame, phase: str) -> pd.Series:
    """Capacity of each school for the phase: the phase's capacity for all-through schools, else the total."""
    total = pd.to_numeric(schools.get("capacity_2015", pd.Series(np.nan, index=schools.index)), errors="coerce")
    own = f"capacity_{phase}_2015"
    if own in schools:
        by_phase = pd.to_numeric(schools[own], errors="coerce")
        through = schools["phase"].eq("all-through").fillna(False).astype(bool)
        total = total.where(~through | by_phase.isna(), by_phase)
    return total.astype("float64")


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
        modelled_cross_border: :func:`atlaskit.flows.cross_border_summary` output, used when no
            published count exists.

    Returns:
        DataFrame ``measure, value, detail`` with rows: schools, pupils, capacity, spare places,
        cross-border pupils (value NaN when unknown; ``detail`` says what and when).
    """
    own = phase_schools(schools, phase)
    pupils = pd.to_numeric(own.get("pupils_2019", pd.Series(dtype=float)), errors="coerce")
    capacity = _capacity_column(own, phase) if len(own) else pd.Series(dtype=float)
    both = pupils.notna() & capacity.notna()
    spare = float((capacity[both] - pupils[both]).sum()) if both.any() else np.nan
    spare_pct = 100.0 * spare / float(capacity[both].sum()) if both.any() and capacity[both].sum() > 0 else np.nan
    n_pupils, n_capacity, n_both = int(pupils.notna().sum()), int(capacity.notna().sum()), int(both.sum())
    spare_detail = "no school has both pupils and capacity"
    if both.any():
        spare_detail = f"capacity minus pupils over {_plural(n_both, 'school')} with both ({spare_pct:.1f}% of their places"
        spare_detail += "; negative: more pupils than places)" if spare < 0 else ")"
    rows = [
        ("Schools", float(len(own)), f"open state-funded {phase} and all-through schools"),
        (
            "Pupils",
            float(pupils.sum()) if pupils.notna().any() else np.nan,
            f"on roll, January 2019 census, all year groups ({_plural(n_pupils, 'school')}"
            + ("; all-through schools count all their pupils)" if own["phase"].eq("all-through").any() else ")"),
        ),
        (
            "Capacity (places)",
            float(capacity.sum()) if capacity.notna().any() else np.nan,
            f"May 2015 school capacity, all year groups ({n_capacity} of {_plural(len(own), 'school')} published one)",
        ),
        ("Spare places", spare, spare_detail),
    ]
    value, detail = np.nan, "no published or modelled cross-border figure for this authority"
    if cross_border is not None and len(cross_border) and "school_outside_la" in cross_border:
        rows_phase = cross_border[cross_border["phase"] == phase].sort_values("academic_year")
        if len(rows_phase):
            last = rows_phase.iloc[-1]
            value = float(last["school_outside_la"])
            resident = float(last.get("resident_pupils", np.nan))
            share = f" ({100 * value / resident:.1f}% of {resident:,.0f} resident pupils)" if resident and np.isfinite(resident) else ""
            detail = f"resident {phase} pupils taught in another authority, {last['academic_year']} (DfE published){share}"
    if not np.isfinite(value) and modelled_cross_border is not None and len(modelled_cross_border):
        rows_phase = modelled_cross_border[modelled_cross_border["phase"] == phase]
        if len(rows_phase):
            r = rows_phase.iloc[0]
            value = float(r["resident_taught_outside"])
            detail = (
                f"resident {phase} children taught in another authority (modelled flows; "
                f"{100 * float(r['share_resident_taught_outside']):.1f}% of residents)"
            )
    rows.append(("Cross-border pupils", value, detail))
    return pd.DataFrame(rows, columns=["measure", "value", "detail"])


def _new_figure(width: float = 7.0, height: float = 7.0):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


def _map_figure(boundary, width: float = 8.0, extra_height: float = 0.0, bounds=None):
    """A figure shaped like the authority (wide authorities get a wide, short figure).

    ``bounds`` (minx, miny, maxx, maxy) shapes it to another extent (a catchment reaching beyond the border).
    """
    minx, miny, maxx, maxy = boundary.total_bounds if bounds is None else bounds
    ratio = (maxy - miny) / max(maxx - minx, 1.0)
    height = float(np.clip(width * ratio, 4.0, 9.0)) + extra_height
    return _new_figure(width, height)


def _polygon_paths(geometries) -> list:
    """Return one matplotlib Path per (Multi)Polygon, holes included, built from shapely's ragged arrays.

    Much faster than one patch per polygon (geopandas' ``plot``): no per-polygon patch objects.
    Empty or missing geometries give empty paths, so the result lines up with the input.
    """
    import shapely
    from matplotlib.path import Path

    geoms = np.asarray(geometries, dtype=object)
    valid = np.array([g is not None and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms], dtype=bool)
    paths = [Path(np.empty((0, 2)))] * len(geoms)
    if not valid.any():
        return paths
    kind, coords, offsets = shapely.to_ragged_array(geoms[valid])
    if kind == shapely.GeometryType.POLYGON:
        ring_off, geom_rings = offsets
    else:
        ring_off, poly_off, geom_off = offsets
        geom_rings = poly_off[geom_off]
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    codes[ring_off[:-1]] = Path.MOVETO
    codes[ring_off[1:] - 1] = Path.CLOSEPOLY
    starts, ends = ring_off[geom_rings[:-1]], ring_off[geom_rings[1:]]
    for index, a, b in zip(np.flatnonzero(valid), starts, ends):
        paths[index] = Path(coords[a:b], codes[a:b])
    return paths


def _draw_polygons(ax, geometries, facecolor, edgecolor="white", linewidth=0.15, alpha=None, zorder=1):
    """Draw polygons as one PathCollection (facecolor: one colour or one per geometry)."""
    from matplotlib.collections import PathCollection

    collection = PathCollection(
        _polygon_paths(geometries), facecolors=facecolor, edgecolors=edgecolor, linewidths=linewidth, alpha=alpha, zorder=zorder
    )
    ax.add_collection(collection, autolim=True)
    return collection


def _frame_map(ax, boundary, bounds=None) -> None:
    """Outline the authority and frame the view on it (or on ``bounds``), at equal scale.

    The figure must be shaped to the same extent (:func:`_map_figure` with the same ``bounds``):
    a view much taller than its figure overflowed it, and the title and legend were cut off.
    """
    _draw_polygons(ax, boundary.geometry, facecolor="none", edgecolor="black", linewidth=0.8, zorder=5)
    minx, miny, maxx, maxy = boundary.total_bounds if bounds is None else bounds
    pad = 0.04 * max(maxx - minx, maxy - miny, 1.0)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()


def quantile_classes(values: pd.Series, k: int = 5) -> tuple[np.ndarray, list[str]]:
    """Split values into at most ``k`` quantile classes.

    Args:
        values: numbers (NaN allowed).
        k: wanted number of classes (fewer when values repeat).

    Returns:
        ``(classes, labels)``: the class of each value (0 = lowest, -1 for NaN) and a label per
        class (``"12-40"``).
    """
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    finite = v[np.isfinite(v)]
    classes = np.full(len(v), -1, dtype=int)
    if finite.size == 0:
        return classes, []
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, k + 1)))
    if edges.size == 1:
        classes[np.isfinite(v)] = 0
        return classes, [f"{edges[0]:,.0f}"]
    inner = edges[1:-1]
    classes[np.isfinite(v)] = np.searchsorted(inner, v[np.isfinite(v)], side="right")
    labels = [f"{edges[i]:,.0f}-{edges[i + 1]:,.0f}" for i in range(edges.size - 1)]
    return classes, labels


def children_map(lsoas, schools, boundary, phase: str, title: str = ""):
    """Map the children of a phase's ages per LSOA (quintiles) with the phase's schools on top.

    Args:
        lsoas: GeoDataFrame (EPSG:27700) with ``age_<a>_2019`` and ``in_authority``.
        schools: GeoDataFrame of points (EPSG:27700) with ``phase``, ``pupils_2019``...
        boundary: the authority's outline (EPSG:27700).
        phase: ``"primary"`` or ``"secondary"``.
        title: axes title.

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    import matplotlib
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig = _map_figure(boundary)
    ax = fig.add_subplot()
    inside = lsoas[lsoas["in_authority"]] if "in_authority" in lsoas else lsoas
    outside = lsoas[~lsoas["in_authority"]] if "in_authority" in lsoas else lsoas.iloc[:0]
    if len(outside):
        _draw_polygons(ax, outside.geometry, facecolor="#eeeeee", edgecolor="white", linewidth=0.2)
    children = children_of_phase(inside, phase)
    low, high = _phase_ages(phase)
    classes, labels = quantile_classes(children, 5)
    palette = matplotlib.colormaps["Blues"](np.linspace(0.15, 0.95, max(len(labels), 1)))
    colours = np.where(classes[:, None] >= 0, palette[np.clip(classes, 0, None)], np.array([0.83, 0.83, 0.83, 1.0]))
    _draw_polygons(ax, inside.geometry, facecolor=colours)
    handles = [Patch(color=palette[i], label=label) for i, label in enumerate(labels)]
    ax.add_artist(ax.legend(handles=handles, title=f"Children aged {low}-{high}, mid-2019", loc="lower left", fontsize=7, title_fontsize=8))
    own = phase_schools(schools, phase)
    own = own[own.geometry.notna() & ~own.geometry.is_empty] if len(own) else own
    if len(own):
        pupils = pd.to_numeric(own["pupils_2019"], errors="coerce").fillna(0.0)
        size = 6 + 60 * np.sqrt(pupils / max(float(pupils.max()), 1.0))
        ax.scatter(own.geometry.x, own.geometry.y, s=size, color="#d95f02", edgecolors="black", linewidths=0.4, zorder=6)
        ax.legend(
            handles=[Line2D([], [], marker="o", linestyle="", color="#d95f02", markeredgecolor="black", label=f"{phase} school (size: pupils)")],
            loc="upper right", fontsize=7,
        )
    _frame_map(ax, boundary)
    ax.set_title(title or f"Children aged {low}-{high} per small area and {phase} schools", fontsize=10)
    return fig


def deprivation_map(lsoas, boundary, title: str = ""):
    """Map deprivation deciles per LSOA (IMD 2019; IDACI when IMD is absent), 1 = most deprived 10%.

    Args:
        lsoas: GeoDataFrame (EPSG:27700) with ``imd_decile`` or ``idaci_decile``.
        boundary: the authority's outline.
        title: axes title.

    Returns:
        A ``matplotlib.figure.Figure``.

    Raises:
        KeyError: when neither decile column has values.
    """
    from matplotlib.patches import Patch

    inside = lsoas[lsoas["in_authority"]] if "in_authority" in lsoas else lsoas
    column = next((c for c in ("imd_decile", "idaci_decile") if c in inside and inside[c].notna().any()), None)
    if column is None:
        raise KeyError("LSOA table has no imd_decile or idaci_decile values")
    label = "Index of Multiple Deprivation 2019" if column == "imd_decile" else "Income Deprivation Affecting Children Index 2019"
    fig = _map_figure(boundary)
    ax = fig.add_subplot()
    import matplotlib

    cmap = matplotlib.colormaps["RdYlBu"].resampled(10)
    deciles = pd.to_numeric(inside[column], errors="coerce")
    colours = [cmap(int(d) - 1) if np.isfinite(d) else (0.85, 0.85, 0.85, 1.0) for d in deciles]
    _draw_polygons(ax, inside.geometry, facecolor=colours)
    ax.legend(
        handles=[Patch(color=cmap(i), label=f"{i + 1}{' (most deprived)' if i == 0 else ' (least deprived)' if i == 9 else ''}") for i in range(10)],
        title="Decile in England", loc="lower left", fontsize=7, title_fontsize=8,
    )
    _frame_map(ax, boundary)
    ax.set_title(title or f"Deprivation: {label}", fontsize=10)
    return fig


def catchment_lsoas(flows: pd.DataFrame, urns: Sequence[int], phase: str, share: float = 0.8, source: str = "best") -> pd.DataFrame:
    """Return the LSOAs in each school's catchment: the fewest LSOAs holding ``share`` of its pupils.

    Args:
        flows: ``urn, lsoa11_code, phase, pupils, source`` (the store's flows).
        urns: schools to map.
        phase: the phase of the flows.
        share: fraction of each school's pupils its catchment holds (0-1).
        source: ``best`` (observed where published), ``observed`` or ``modelled``.

    Returns:
        ``urn, lsoa11_code, pupils, share`` (share of the school's pupils), one row per school
        and LSOA in its catchment.
    """
    from atlaskit.analysis.flows import school_catchment

    parts = []
    for urn in urns:
        try:
            rows = school_catchment(flows, int(urn), source=source, phase=phase)
        except Exception:  # noqa: BLE001 - a school without flows has no catchment to draw
            continue
        rows = rows[rows["pupils"].notna()]
        keep = rows["cumulative_share"].shift(fill_value=0.0) < share
        parts.append(rows.loc[keep, ["lsoa11_code", "pupils", "share"]].assign(urn=int(urn)))
    if not parts:
        return pd.DataFrame(columns=["urn", "lsoa11_code", "pupils", "share"])
    return pd.concat(parts, ignore_index=True)[["urn", "lsoa11_code", "pupils", "share"]]


def _short_name(name: str, limit: int = 60) -> str:
    """A name cut to ``limit`` characters, with an ellipsis when cut (never silently clipped)."""
    name = " ".join(str(name).split())
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "\u2026"


def catchment_map(lsoas, schools, boundary, catchments: pd.DataFrame, title: str = ""):
    """Map the catchments of a few schools: each LSOA coloured by the school drawing most pupils from it.

    The view covers the authority and every shaded area (catchments reach beyond the border), and
    the figure is shaped to that extent; the numbered legend sits below the map, inside the figure.

    Args:
        lsoas: GeoDataFrame (EPSG:27700) with ``lsoa11_code``.
        schools: the schools drawn (GeoDataFrame points with ``urn``, ``school_name``), in legend order.
        boundary: the authority's outline.
        catchments: :func:`catchment_lsoas` output.
        title: axes title.

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    import matplotlib
    from matplotlib.lines import Line2D

    best = catchments.sort_values("pupils", ascending=False).drop_duplicates("lsoa11_code")
    shaded = lsoas.merge(best, on="lsoa11_code", how="inner")
    bounds = np.asarray(boundary.total_bounds, dtype=float)
    if len(shaded):  # catchments reach beyond the border: widen the view to the shaded areas
        sx0, sy0, sx1, sy1 = shaded.total_bounds
        bounds = np.array([min(sx0, bounds[0]), min(sy0, bounds[1]), max(sx1, bounds[2]), max(sy1, bounds[3])])
    fig = _map_figure(boundary, extra_height=0.4 + 0.25 * math.ceil(len(schools) / 2), bounds=bounds)  # title and legend rows
    ax = fig.add_subplot()
    _draw_polygons(ax, lsoas.geometry, facecolor="#f2f2f2")
    cmap = matplotlib.colormaps["tab10" if len(schools) <= 10 else "tab20"]
    order = {int(u): i for i, u in enumerate(schools["urn"])}
    if len(shaded):
        colours = [cmap(order[int(u)] % cmap.N) for u in shaded["urn"]]
        _draw_polygons(ax, shaded.geometry, facecolor=colours, alpha=0.75, zorder=2)
    handles = []
    for i, school in enumerate(schools.itertuples()):
        colour = cmap(i % cmap.N)
        geom = school.geometry
        if geom is not None and not geom.is_empty:
            ax.plot(geom.x, geom.y, marker="*", markersize=13, color=colour, markeredgecolor="black", zorder=6)
            ax.annotate(str(i + 1), (geom.x, geom.y), xytext=(4, 4), textcoords="offset points", fontsize=8, weight="bold", zorder=7)
        name = _short_name(getattr(school, "school_name", school.urn))
        handles.append(Line2D([], [], marker="*", linestyle="", markersize=10, color=colour, markeredgecolor="black", label=f"{i + 1}. {name}"))
    if handles:  # "outside": the constrained layout makes room for it below the map
        fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    _frame_map(ax, boundary, bounds=bounds)
    ax.set_title(title or "Catchments of the largest schools", fontsize=10)
    return fig


def _operating_margins() -> tuple[float, ...]:
    """The DfE's operating margins (percent of places kept spare): 2% and 5%."""
    try:
        from atlaskit.analysis.demand import OPERATING_MARGINS_PCT
    except ImportError:  # pragma: no cover - demand ships with atlaskit
        return (2.0, 5.0)
    return tuple(OPERATING_MARGINS_PCT)


def projection_chart(table: pd.DataFrame, title: str = "", ylabel: str = "pupils on roll"):
    """Chart one authority's projected pupils with 80% and 95% intervals, actual rolls and places.

    Places are drawn with the DfE's operating margins below them (places less 2% and less 5%):
    pupils above a margin line mean fewer spare places than the margin.

    Args:
        table: one authority and phase of :func:`atlaskit.demand.project_demand`'s table:
            ``academic_year``, ``pupils``, ``pupils_lower_80``, ``pupils_upper_80``,
            ``pupils_lower_95``, ``pupils_upper_95``, and optionally ``kind`` (``actual``,
            ``projection``, ``backtest``), ``actual_pupils`` and ``capacity`` (places).
        title: axes title.
        ylabel: the y axis label (what the pupils count).

    Returns:
        A ``matplotlib.figure.Figure`` (legend to the right of the chart, outside the data).
    """
    fig = _new_figure(9.0, 4.6)
    ax = fig.add_subplot()
    t = table.assign(x=[int(str(y)[:4]) + 1 for y in table["academic_year"]])
    kind = t["kind"] if "kind" in t else pd.Series("projection", index=t.index)
    ahead = t[kind.isin(["actual", "projection"])].sort_values("x")
    ax.fill_between(ahead["x"], ahead["pupils_lower_95"], ahead["pupils_upper_95"], color="#9ecae1", alpha=0.6, label="95% interval")
    ax.fill_between(ahead["x"], ahead["pupils_lower_80"], ahead["pupils_upper_80"], color="#4292c6", alpha=0.6, label="80% interval")
    ax.plot(ahead["x"], ahead["pupils"], color="#08306b", label="projected pupils")
    back = t[kind == "backtest"].sort_values("x")
    if len(back):
        ax.plot(back["x"], back["pupils"], color="#7f7f7f", linestyle="--", marker="x", label="same method from 2018/19")
    if "actual_pupils" in t:
        actual = t.dropna(subset=["actual_pupils"]).drop_duplicates("x").sort_values("x")
        if len(actual):
            ax.plot(actual["x"], actual["actual_pupils"], "o", color="black", markersize=4, label="actual pupils")
    if "capacity" in t:
        cap = t.dropna(subset=["capacity"]).drop_duplicates("x").sort_values("x")
        if len(cap):
            ax.step(cap["x"], cap["capacity"], where="mid", color="#d95f02", linewidth=2, label="places (capacity)")
            for margin, style in zip(sorted(_operating_margins()), (":", "--")):
                ax.step(
                    cap["x"], cap["capacity"] * (1 - margin / 100.0), where="mid", color="#d95f02", linewidth=1, linestyle=style,
                    label=f"places less {margin:g}% (DfE operating margin)",
                )
    years = sorted(t["x"].unique())
    ax.set_xticks(years, [f"{y - 1}/{y % 100:02d}" for y in years], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("academic year", fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.yaxis.set_major_formatter(_thousands_formatter())
    ax.grid(axis="y", color="#dddddd")
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="outside right upper")
    ax.set_title(title or "Projected pupils and places", fontsize=10)
    return fig


def _thousands_fn(value, _pos=None):
    return f"{value:,.0f}"


def _thousands_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_thousands_fn)


def sources_table(keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Return the data sources with their publisher/attribution line, licence, vintage and page.

    Args:
        keys: :data:`atlaskit.sources.DATASETS` keys (default: those in :data:`REPORT_INPUTS`).

    Returns:
        ``data set, vintage, publisher and attribution, licence, page``.
    """
    from atlaskit.sources import DATASETS

    keys = list(dict.fromkeys(keys if keys is not None else [k for _, k in REPORT_INPUTS]))
    rows = [
        (d.title, d.vintage, d.publisher, d.licence, d.page)
        for d in (DATASETS[k] for k in keys if k in DATASETS)
    ]
    return pd.DataFrame(rows, columns=["data set", "vintage", "publisher and attribution", "licence", "page"])


def vintage_table(build: dict | None = None, inputs: Sequence[tuple[str, str]] = REPORT_INPUTS) -> pd.DataFrame:
    """Return what each part of the report rests on and the period its data describe.

    Args:
        build: the store's ``build.json`` (adds a row for the store build time).
        inputs: ``(what is shown, DATASETS key)`` pairs.

    Returns:
        ``input, data set, vintage``.
    """
    from atlaskit.sources import DATASETS

    rows = [(what, DATASETS[key].title, DATASETS[key].vintage) for what, key in inputs if key in DATASETS]
    if build and build.get("built_at"):
        rows.append(("Atlas store (all of the above, processed)", "atlas build", str(build["built_at"])))
    return pd.DataFrame(rows, columns=["input", "data set", "vintage"])


# --------------------------------------------------------------------------------------------
# Sections (what the notebook cells call)


def _guard(title: str, build: Callable[[], Block]) -> Block:
    """Run a section builder; a missing input becomes a visible "not available" note."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - the report must still render; the note names the cause
        return note_block(f"Not available: {type(exc).__name__}: {exc}", title)


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


def _modelled_cross_border(ctx: ReportContext) -> pd.DataFrame | None:
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
        modelled = None
        try:
            modelled = _modelled_cross_border(ctx)
        except Exception:  # noqa: BLE001 - falls back to "no figure"
            modelled = None
        table = headline_figures(ctx.data.schools, ctx.phase, ctx.tables.get("cross_border"), modelled)
        ctx.cache["headline"] = table
        shown = table.assign(value=display_counts(table["value"], observed=False))
        shown.columns = ["Measure", "Value", "What it counts"]
        years = PHASE_YEAR_GROUPS.get(ctx.phase, ctx.phase)
        out = table_block(shown, f"{ctx.authority_name}, {ctx.phase} phase", title="Headline figures")
        if ctx.include_demand:  # the projection's rolls and places count fewer year groups: say so before they differ
            note = (
                f"These figures count every year group at the schools (January 2019 census, May 2015 capacity). The projection "
                f"and planning areas below count {years} only (the DfE school places scorecard's latest rolls and places), "
                f"so their pupils and places are lower."
            )
            out += Block(f'<p class="atlas-note">{_esc(note)}</p>', note)
        return out

    return _guard("Headline figures", build)


def maps_section(ctx: ReportContext) -> Block:
    """Return the static maps: children per LSOA with schools, and deprivation."""
    data = ctx.data
    out = _heading("Where children live, and the schools")
    out += _guard(
        "Children and schools",
        lambda: figure_block(
            children_map(data.lsoas, data.schools, data.boundary, ctx.phase),
            f"Children of {ctx.phase} school age per small area (LSOA 2011, quintiles) in {ctx.authority_name}, "
            f"with open state-funded {ctx.phase} schools sized by pupils on roll (January 2019). Grey: neighbouring areas.",
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


def catchments_section(ctx: ReportContext) -> Block:
    """Return the map of the modelled catchments of the ``top_schools`` largest schools of the phase."""
    title = "Catchments of the largest schools"
    if not ctx.include_flows:
        return note_block("Flows are switched off for this authority (include_flows: false).", title)

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
        )

    return _guard(title, build)


def _projection(ctx: ReportContext) -> tuple[pd.DataFrame, list[str]]:
    """Project the authority's pupils (both phases) with :func:`atlaskit.demand.project_demand`; cached on the context."""
    if "projection" not in ctx.cache:
        from atlaskit.analysis import demand

        scorecard = ctx.tables.get("scorecard")
        population = ctx.tables.get("la_population")
        if scorecard is None or scorecard.empty or population is None or population.empty:
            raise LookupError("the store has no school places scorecard or population by age (run `atlas build`)")
        result = demand.project_demand(population, scorecard, years_ahead=ctx.projection_years, authorities=[ctx.authority])
        ctx.cache["projection"] = (result.table, list(result.problems))
    return ctx.cache["projection"]


#: Shown in place of each demand section when the parameter file turns demand off.
DEMAND_OFF = "Demand is switched off for this authority (include_demand: false)."


#: Year groups each phase's rolls and projection count (DfE school places scorecard).
PHASE_YEAR_GROUPS = {"primary": "Reception to Year 6", "secondary": "Years 7 to 11"}


def operating_margin_years(rows: pd.DataFrame, margins: Sequence[float] | None = None) -> pd.DataFrame:
    """Return the first year spare places fall under each DfE operating margin, central and pessimistic.

    Spare places are under a margin of ``m`` percent when pupils exceed places times ``1 - m/100``.

    Args:
        rows: one authority and phase of :func:`atlaskit.demand.project_demand`'s table (its
            ``actual`` and ``projection`` rows are read: ``academic_year``, ``pupils``,
            ``pupils_upper_80``, ``capacity``).
        margins: operating margins in percent (default the DfE's 2% and 5%).

    Returns:
        One row per margin: ``operating margin``, ``central projection``, ``upper end of the 80%
        interval``: the first academic year under the margin, ``"not by <last year>"``, or
        ``"places unknown"``.
    """
    margins = sorted(margins if margins is not None else _operating_margins(), reverse=True)
    kind = rows["kind"] if "kind" in rows else pd.Series("projection", index=rows.index)
    ahead = rows[kind.isin(["actual", "projection"])].sort_values("academic_year")
    capacity = pd.to_numeric(ahead.get("capacity", pd.Series(np.nan, index=ahead.index)), errors="coerce")
    last = str(ahead["academic_year"].iloc[-1]) if len(ahead) else ""
    out = []
    for margin in margins:
        limit = capacity * (1 - margin / 100.0)
        cells = []
        for column in ("pupils", "pupils_upper_80"):
            if not capacity.notna().any():
                cells.append("places unknown")
                continue
            pupils = pd.to_numeric(ahead[column], errors="coerce")
            under = ahead.loc[capacity.notna() & (pupils > limit), "academic_year"]
            cells.append(str(under.iloc[0]) if len(under) else f"not by {last}")
        out.append((f"{margin:g}% of places spare", *cells))
    return pd.DataFrame(out, columns=["operating margin", "central projection", "upper end of the 80% interval"])


def _backtest_note(problem: str) -> str:
    """Say in plain words why the dashed check from an earlier roll is missing."""
    match = re.match(r"^backtest from (\S+): E\d{8}: \w+ not projected: (.*)$", problem)
    return f"No check from the {match.group(1)} roll is drawn: {match.group(2)}" if match else problem


def projection_section(ctx: ReportContext) -> Block:
    """Return the projection chart (pupils with 80% and 95% intervals, actual rolls, places and the DfE
    operating margins), a summary table and the first years under the 2% and 5% margins."""
    title = "Projected pupils and places"
    if not ctx.include_demand:
        return note_block(DEMAND_OFF, title)

    def build() -> Block:
        table, problems = _projection(ctx)
        rows = table[(table["authority_code"] == ctx.authority) & (table["phase"] == ctx.phase)]
        if rows.empty:
            why = "; ".join(p for p in problems if ctx.authority in p and ctx.phase in p) or "no projection for this authority and phase"
            return note_block(f"Not available: {why}", title)
        ahead = rows[rows["kind"].isin(["actual", "projection"])] if "kind" in rows else rows
        if not (pd.to_numeric(ahead["pupils"], errors="coerce").fillna(0) > 0).any():
            own = [p for p in problems if ctx.authority in p and ctx.phase in p]
            return note_block(
                f"Not available: {ctx.authority_name} has no {ctx.phase} pupils on roll in the school places scorecard, so there is "
                f"nothing to project" + (f" ({'; '.join(own)})" if own else "") + ".",
                title,
            )
        years = PHASE_YEAR_GROUPS.get(ctx.phase, ctx.phase)
        fig = projection_chart(rows, ylabel=f"{ctx.phase} pupils ({years})")
        ahead = ahead.sort_values("academic_year")
        origin = ahead["origin"].iloc[0] if "origin" in ahead and len(ahead) else ""
        back = rows[rows["kind"] == "backtest"].sort_values("academic_year") if "kind" in rows else rows.iloc[:0]
        check = (
            "dashed: the same method run from the 2018/19 roll, against the actual rolls (dots)"
            if len(back)
            else "dots: the actual rolls"
        )
        places = "places from the DfE school places scorecard" + (
            " (the Years 7 to 11 share of secondary places: sixth-form places left out)" if ctx.phase == "secondary" else ""
        )
        out = _heading(title) + figure_block(
            fig,
            f"{ctx.phase.capitalize()} pupils ({years}) in state-funded schools of {ctx.authority_name}, projected "
            f"{ctx.projection_years} years from the {origin} roll by the cohort method, with 80% and 95% prediction intervals "
            f"(from the errors of the same method across England); {check}; {places}, the latest held constant; thin orange "
            f"lines: places less the DfE's 2% and 5% operating margins. These rolls count {years} only, so they are lower than "
            f"the headline figures (all year groups, January 2019).",
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
        own = [_backtest_note(p) for p in problems if ctx.authority in p and ctx.phase in p]
        if own:
            out += Block('<p class="atlas-note">' + "; ".join(_esc(p) for p in own) + "</p>", "; ".join(own))
        return out

    return _guard(title, build)


def _planning_area_label(group: Any) -> str:
    """A planning group as shown: its SCAP code, or "no planning area (group n)" for the clusters of schools without one."""
    text = str(group)
    match = re.match(r"^E\d{8}-cluster-(\d+)$", text)
    return f"no planning area (group {match.group(1)})" if match else text


def planning_area_summary(area_table: pd.DataFrame, phase: str, margin_pct: float | Sequence[float] | None = None) -> pd.DataFrame:
    """Summarise :func:`atlaskit.demand.small_area_demand` per planning group: now, last year, first years under the margins.

    Pupils are all the group's projected pupils, at schools with published places (``pupils``)
    and without (``pupils_no_capacity``), so the groups add up to the authority projection.
    Places, spare places and the margins are left blank for a group whose schools publish no
    places, rather than shown as 0 places and 0 pupils.

    Args:
        area_table: planning_group, phase, academic_year, pupils, pupils_no_capacity (optional),
            capacity, surplus, pct_spare, n_schools, n_schools_without_capacity (optional).
        phase: the phase shown.
        margin_pct: operating margin(s) in percent (default the DfE's 2% and 5%): one column each
            with the first year spare places fall under it.

    Returns:
        One row per planning group: planning area, schools, places, pupils in the first and last
        year, spare places and percent spare in the last year, first year under each margin.
        Counts are whole numbers (modelled, rounded); missing values are NaN or "".
    """
    if margin_pct is None:
        margins = sorted(_operating_margins(), reverse=True)
    elif isinstance(margin_pct, (int, float)):
        margins = [float(margin_pct)]
    else:
        margins = sorted(margin_pct, reverse=True)
    rows = area_table[area_table["phase"] == phase]
    if rows.empty:
        return pd.DataFrame(columns=["planning area", "schools", "places"])
    first_year, last_year = rows["academic_year"].min(), rows["academic_year"].max()
    out = []
    for group, part in rows.sort_values("academic_year").groupby("planning_group", sort=True):
        first, last = part.iloc[0], part.iloc[-1]
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
            short = part[part["pct_spare"] < margin] if has_places else part.iloc[:0]
            row[f"first year under {margin:g}% spare"] = (
                short["academic_year"].iloc[0] if len(short) else (f"not by {last_year}" if has_places else "no places published")
            )
        out.append(row)
    table = pd.DataFrame(out)
    counts = ["schools", "places", f"pupils {first_year}", f"pupils {last_year}", f"spare places {last_year}"]
    return table.astype({c: "Int64" for c in counts if c in table})  # whole numbers, blank when unknown


def planning_area_projection(ctx: ReportContext) -> DemandResult:
    """Project the report phase's pupils per planning area, sharing out the authority projection.

    The small areas (:func:`atlaskit.demand.small_area_demand`) say *where* the pupils will be:
    each school's LSOAs (from the flows) and their children. The authority projection
    (:func:`_projection`, anchored on the latest roll) says *how many*: its ``actual`` and
    ``projection`` rows are passed as ``authority_pupils``, so each year the planning areas add
    up to it (as ``atlas demand --areas`` does). Places are the schools' May 2015 capacities
    scaled to the authority's latest places in the scorecard (the places the projection section
    shows). Cached on the context.

    Args:
        ctx: the report context (store tables ``la_population`` and ``scorecard``, the flows).

    Returns:
        :class:`atlaskit.demand.DemandResult`: the planning-group table (pupils of schools
        with places in ``pupils``, the others in ``pupils_no_capacity``) and its problems.

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
        last_year = max(int(str(y)[:4]) + 1 for y in ahead["academic_year"])
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


def _area_note(problem: str) -> str:
    """Say a planning-area problem from :func:`atlaskit.demand.small_area_demand` in plain words."""
    match = re.match(r"^E\d{8}: ([\d,]+) LSOAs sending ([\d,]+) pupils are not among the LSOAs given: carried unchanged$", problem)
    if match:
        areas, pupils = int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))
        if pupils == 0:
            return ""  # fewer than half a pupil: nothing a reader needs to know
        return (
            f"{_plural(pupils, 'pupil')} of these schools live in {_plural(areas, 'small area')} beyond the mapped area; "
            "their numbers are carried unchanged, not projected from those areas' children"
        )
    return problem


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
        summary = planning_area_summary(result.table, ctx.phase)
        if summary.empty:
            why = "; ".join(result.problems) or f"no {ctx.phase} planning areas"
            return note_block(f"Not available: {why}", title)
        years = PHASE_YEAR_GROUPS.get(ctx.phase, ctx.phase)
        last_year = result.table.loc[result.table["phase"] == ctx.phase, "academic_year"].max()
        out = table_block(
            summary,
            f"{ctx.phase.capitalize()} pupils ({years}) per planning area (SCAP 2015 planning areas; schools without one are "
            f"grouped with schools within 3 km, as \"no planning area\"): the authority's projection shared out by the modelled "
            f"flows and small-area children, so the areas add up to it each year; against the places of their schools (May 2015 "
            f"capacities scaled to the authority's latest places in the school places scorecard). Spare places under the DfE's "
            f"operating margins (5% and 2% of places) are tight. "
            f"Modelled figures, rounded.",
            title=title,
            text_columns=("planning area",),
        )
        notes = [n for n in (_area_note(p) for p in result.problems) if n]
        if notes:
            out += Block('<p class="atlas-note">Model notes: ' + "; ".join(_esc(p) for p in notes) + "</p>", "; ".join(notes))
        return out

    return _guard(title, build)


def validation_section(ctx: ReportContext) -> Block:
    """Return the flows validation figures that apply to this authority (observed vs modelled)."""
    title = "How well the flow model fits here"
    if not ctx.include_flows:
        return note_block("Flows are switched off for this authority (include_flows: false).", title)

    def build() -> Block:
        flows = ctx.data.flows
        if flows is None or flows.empty:
            return note_block("Not available: the store has no flows yet.", title)
        own_urns = set(phase_schools(ctx.data.schools, ctx.phase)["urn"])
        observed = flows[(flows["source"] == "observed") & flows["urn"].isin(own_urns) & (flows["phase"] == ctx.phase)]
        if observed.empty:
            return note_block(
                f"No observed {ctx.phase} flows are published for the schools of {ctx.authority_name} (the London Schools Atlas "
                "covers London secondary schools, January 2015): the catchments shown are modelled and cannot be checked here.",
                title,
            )
        modelled = flows[(flows["source"] == "modelled") & flows["urn"].isin(observed["urn"]) & (flows["phase"] == ctx.phase)]
        merged = observed[["urn", "lsoa11_code", "pupils"]].merge(
            modelled[["urn", "lsoa11_code", "pupils"]], on=["urn", "lsoa11_code"], how="outer", suffixes=("_observed", "_modelled")
        )
        obs = merged["pupils_observed"].fillna(0.0)
        mod = merged["pupils_modelled"].fillna(0.0)
        share_obs = obs / obs.groupby(merged["urn"]).transform("sum").replace(0, np.nan)
        share_mod = mod / mod.groupby(merged["urn"]).transform("sum").replace(0, np.nan)
        srmse = float(np.sqrt(np.nanmean((share_obs - share_mod) ** 2)) / np.nanmean(share_obs)) if len(merged) else np.nan
        ssi = float(np.nansum(np.minimum(share_obs, share_mod)) / max(merged["urn"].nunique(), 1))  # mean over schools
        rows = [
            ("Schools with published flows", f"{merged['urn'].nunique():,}"),
            ("Published cells (3 or more pupils)", f"{int((observed['pupils'] >= DISCLOSURE_MIN).sum()):,}"),
            ("SRMSE of LSOA shares (0 = perfect)", f"{srmse:.2f}"),
            ("Sørensen similarity index of shares (1 = identical)", f"{ssi:.2f}"),
        ]
        return table_block(pd.DataFrame(rows, columns=["Measure", "Value"]), "Observed January 2015 flows against the model, per school", title=title)

    return _guard(title, build)


def sources_section(ctx: ReportContext) -> Block:
    """Return the data sources (licence and attribution lines) and the vintage of each input."""
    out = table_block(sources_table(), "Publisher and attribution, licence and page of each data set used", title="Data sources")
    out += table_block(vintage_table(ctx.build), "The period each input describes", title="Data vintage")
    out += Block(
        "<p>Contains public sector information licensed under the Open Government Licence v3.0. Contains OS data "
        "&copy; Crown copyright and database right. Contains Royal Mail data &copy; Royal Mail copyright and database right. "
        "Contains National Statistics data &copy; Crown copyright and database right.</p>",
        "OGL v3 attribution",
    )
    return out
