"""Static maps of one authority (matplotlib, EPSG:27700): children per small area, deprivation, catchments.

Each function returns a ``matplotlib.figure.Figure`` made without pyplot (nothing is displayed
twice and no figure leaks), shaped to the area it shows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from atlaskit.vocabulary import CENSUS_AGES, children_of_phase, is_open_state_funded, teaches_phase

__all__ = ["DPI", "children_map", "deprivation_map", "catchment_map"]

#: Resolution of the maps, dots per inch.
DPI = 96


def _new_figure(width: float, height: float):
    """Return an empty Figure of ``width`` x ``height`` inches at :data:`DPI`, constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _map_figure(boundary, width: float = 8.0, extra_height: float = 0.0, bounds=None):
    """Return a figure shaped like the authority (a wide authority gets a wide, short figure).

    Args:
        boundary: the authority's outline (EPSG:27700).
        width: inches.
        extra_height: inches added for a title or legend rows.
        bounds: ``(minx, miny, maxx, maxy)`` (metres, EPSG:27700) to shape it to another extent.
    """
    minx, miny, maxx, maxy = boundary.total_bounds if bounds is None else bounds
    ratio = (maxy - miny) / max(maxx - minx, 1.0)
    height = float(np.clip(width * ratio, 4.0, 9.0)) + extra_height
    return _new_figure(width, height)


def _polygon_paths(geometries) -> list:
    """Return one matplotlib Path per (Multi)Polygon, holes included, built from shapely's ragged arrays.

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
    """Draw polygons as one PathCollection (facecolor: one colour or one per geometry) and return it."""
    from matplotlib.collections import PathCollection

    collection = PathCollection(
        _polygon_paths(geometries), facecolors=facecolor, edgecolors=edgecolor, linewidths=linewidth, alpha=alpha, zorder=zorder
    )
    ax.add_collection(collection, autolim=True)
    return collection


def _frame_map(ax, boundary, bounds=None) -> None:
    """Outline the authority and frame the view on it (or on ``bounds``), at equal scale.

    The figure must be shaped to the same extent (:func:`_map_figure` with the same ``bounds``),
    or the title and legend fall outside it.
    """
    _draw_polygons(ax, boundary.geometry, facecolor="none", edgecolor="black", linewidth=0.8, zorder=5)
    minx, miny, maxx, maxy = boundary.total_bounds if bounds is None else bounds
    pad = 0.04 * max(maxx - minx, maxy - miny, 1.0)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _classified_areas(ax, inside, values: pd.Series, layer: str, title: str, **legend):
    """Fill the areas with the app's classes and colours of a layer (:func:`atlaskit.mapping.classify`) and add their legend.

    Args:
        ax: the axes.
        inside: the areas (GeoDataFrame, EPSG:27700), in the order of ``values``.
        values: one value per area (NaN: no data, grey).
        layer: the app's layer key (``children``, ``imd``, ``idaci``).
        title: the legend title.
        **legend: passed to ``ax.legend`` (placement, font sizes).
    """
    from matplotlib.patches import Patch

    from atlaskit import mapping

    classes = mapping.classify(values, layer)
    _draw_polygons(ax, inside.geometry, facecolor=classes.colour_of().tolist())
    handles = [Patch(color=colour, label=label) for colour, label in zip(classes.colours, classes.labels)]
    ax.add_artist(ax.legend(handles=handles, title=title, **legend))


def children_map(lsoas, schools, boundary, phase: str, title: str = ""):
    """Map the children of a phase's census ages per LSOA, with the phase's schools on top.

    The children are :func:`atlaskit.vocabulary.children_of_phase` (ages :data:`~atlaskit.vocabulary.CENSUS_AGES`,
    mid-2019) in the app's quintile classes and colours (:func:`atlaskit.mapping.classify`), so the
    report's map and the app's children layer agree; the schools are the open state-funded ones
    teaching the phase, sized by pupils.

    Args:
        lsoas: GeoDataFrame (EPSG:27700) with ``lsoa11_code``, ``age_<a>_2019`` and ``in_authority``.
        schools: GeoDataFrame of points (EPSG:27700) with ``phase``, ``is_open``, ``is_state_funded``, ``pupils_2019``.
        boundary: the authority's outline (EPSG:27700).
        phase: ``"primary"`` or ``"secondary"``.
        title: axes title.

    Returns:
        A ``matplotlib.figure.Figure``.

    Raises:
        ValueError: an unknown phase, or an age column missing.
    """
    from matplotlib.lines import Line2D

    inside = lsoas[lsoas["in_authority"]] if "in_authority" in lsoas else lsoas
    outside = lsoas[~lsoas["in_authority"]] if "in_authority" in lsoas else lsoas.iloc[:0]
    children = children_of_phase(inside, phase)  # validates the phase
    low, high = CENSUS_AGES[phase]
    fig = _map_figure(boundary)
    ax = fig.add_subplot()
    if len(outside):
        _draw_polygons(ax, outside.geometry, facecolor="#eeeeee", edgecolor="white", linewidth=0.2)
    _classified_areas(ax, inside, children, "children", f"Children aged {low}-{high}, mid-2019", loc="lower left", fontsize=7, title_fontsize=8)
    own = schools[teaches_phase(schools, phase) & is_open_state_funded(schools)]
    own = own[own.geometry.notna() & ~own.geometry.is_empty]
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

    Deciles take the app's colours and labels (:func:`atlaskit.mapping.classify`).

    Args:
        lsoas: GeoDataFrame (EPSG:27700) with ``imd_decile`` or ``idaci_decile``.
        boundary: the authority's outline.
        title: axes title.

    Returns:
        A ``matplotlib.figure.Figure``.

    Raises:
        KeyError: when neither decile column has values.
    """
    inside = lsoas[lsoas["in_authority"]] if "in_authority" in lsoas else lsoas
    layer = next((key for key in ("imd", "idaci") if f"{key}_decile" in inside and inside[f"{key}_decile"].notna().any()), None)
    if layer is None:
        raise KeyError("LSOA table has no imd_decile or idaci_decile values")
    label = "Index of Multiple Deprivation 2019" if layer == "imd" else "Income Deprivation Affecting Children Index 2019"
    fig = _map_figure(boundary)
    ax = fig.add_subplot()
    deciles = pd.to_numeric(inside[f"{layer}_decile"], errors="coerce").astype("float64")
    _classified_areas(ax, inside, deciles, layer, "Decile in England", loc="lower left", fontsize=7, title_fontsize=8)
    _frame_map(ax, boundary)
    ax.set_title(title or f"Deprivation: {label}", fontsize=10)
    return fig


def _short_name(name: str, limit: int = 60) -> str:
    """Return a name cut to ``limit`` characters, with an ellipsis when cut (never silently clipped)."""
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
        catchments: ``urn, lsoa11_code, pupils`` (e.g. :func:`atlaskit.report.catchment_lsoas`).
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
    order = {urn: i for i, urn in enumerate(schools["urn"])}
    if len(shaded):
        colours = [cmap(order[urn] % cmap.N) for urn in shaded["urn"]]
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
