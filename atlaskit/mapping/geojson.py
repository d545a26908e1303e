"""GeoJSON of the areas: geometry converted once (:func:`base_features`), recoloured per layer (:func:`styled_collection`)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from .classes import Classes, _format_number
from .layers import NO_DATA_COLOUR

__all__ = [
    "AREA_CLASS",
    "CATCHMENT_CLASS",
    "DIM_CLASS",
    "DISPLAY_DECIMALS",
    "MAP_CSS",
    "OUTSIDE_AREA_CLASS",
    "base_features",
    "styled_collection",
]

#: Decimal places of longitude/latitude sent to the browser (4: about 10 m; the store keeps 5).
DISPLAY_DECIMALS = 4

#: Fill opacity of the authority's own areas and of neighbouring ones.
INSIDE_FILL_OPACITY = 0.7
OUTSIDE_FILL_OPACITY = 0.25

#: CSS classes given to the SVG paths (tests and benchmarks count them).
AREA_CLASS = "atlas-lsoa"
OUTSIDE_AREA_CLASS = "atlas-lsoa-outside"
CATCHMENT_CLASS = "atlas-catchment"
#: CSS class put on the map while a catchment overlay shows: the base areas turn neutral grey in
#: the browser (no geometry resent), only the catchment's areas are sent.
DIM_CLASS = "atlas-dim"
MAP_CSS = (
    f".{DIM_CLASS} path.{AREA_CLASS} {{ fill: {NO_DATA_COLOUR} !important; fill-opacity: 0.45 !important; }}"
    f" .{DIM_CLASS} path.{CATCHMENT_CLASS} {{ fill-opacity: 0.85; }}"
)


def base_features(display: pd.DataFrame, decimals: int = DISPLAY_DECIMALS) -> list[dict]:
    """Turn display geometry into GeoJSON features once; recolouring reuses their geometry.

    Args:
        display: GeoDataFrame in EPSG:4326 (the store's ``lsoas_display``) with ``lsoa11_code``
            and optionally ``in_authority``.
        decimals: decimal places kept in longitude/latitude (4: about 10 m).

    Returns:
        One feature dict per area, ``id`` = lsoa11 code, ``properties`` with ``lsoa11_code`` and
        ``in_authority``.

    Raises:
        ValueError: when the geometry is not in EPSG:4326 (longitude/latitude).
    """
    import shapely

    crs = getattr(display, "crs", None)
    if crs is None or crs.to_epsg() != 4326:
        raise ValueError(f"display geometry must be EPSG:4326 (longitude/latitude), got {crs}")
    codes = display["lsoa11_code"].astype(str).tolist()
    inside = display["in_authority"].fillna(False).astype(bool).tolist() if "in_authority" in display else [True] * len(display)
    # shared vertices of neighbouring areas round identically, so the coverage stays gap-free
    rounded = shapely.transform(display.geometry.values, lambda xy: np.round(xy, decimals))
    geometries = shapely.to_geojson(rounded, indent=None)
    return [
        {"type": "Feature", "id": code, "geometry": json.loads(geo), "properties": {"lsoa11_code": code, "in_authority": own}}
        for code, own, geo in zip(codes, inside, geometries)
    ]


def _area_style(colour: str, inside: bool, dashed: bool = False, selected: bool = False, strong: bool | None = None) -> dict:
    strong = inside if strong is None else strong
    style = {
        "fillColor": colour,
        "fillOpacity": INSIDE_FILL_OPACITY if strong else OUTSIDE_FILL_OPACITY,
        "color": "#000000" if selected else ("#555555" if inside else "#999999"),
        "weight": 3 if selected else (0.6 if inside else 0.4),
        "className": AREA_CLASS if inside else OUTSIDE_AREA_CLASS,
    }
    if dashed:
        style["dashArray"] = "4 3"
        style["weight"] = max(style["weight"], 1.2)
    return style


def styled_collection(
    base: list[dict],
    values: pd.Series,
    classes: Classes,
    *,
    labels: pd.Series | None = None,
    dashed: pd.Series | None = None,
    colour_outside: bool = False,
    selected: str | None = None,
    only_valued: bool = False,
    css_class: str | None = None,
) -> dict:
    """Return a FeatureCollection with each area's colour precomputed in ``properties.style``.

    Geometry dicts are shared with ``base`` (not copied): only properties are new.

    Args:
        base: features from :func:`base_features`.
        values: the value of each area, by lsoa11 code (shown on click and in tooltips).
        classes: their classification (:func:`~atlaskit.mapping.classes.classify`).
        labels: optional text per area replacing the formatted value (e.g. "fewer than 3").
        dashed: optional bool per area: draw a dashed outline (modelled estimates).
        colour_outside: also send neighbouring areas that have a value (catchments reach across
            the border); otherwise only the authority's own areas are sent (fewer bytes).
        selected: an lsoa11 code drawn with a thick outline.
        only_valued: send only the areas that have a value (a catchment overlay).
        css_class: CSS class of every path instead of the inside/outside area classes.

    Returns:
        GeoJSON FeatureCollection dict (EPSG:4326).
    """
    colour_map = classes.colour_of().to_dict()
    value_map = pd.to_numeric(values, errors="coerce").to_dict()
    label_map = labels.to_dict() if labels is not None else {}
    dash_map = dashed.to_dict() if dashed is not None else {}
    features = []
    for feature in base:
        props = feature["properties"]
        code = props["lsoa11_code"]
        inside = bool(props.get("in_authority", True))
        value = value_map.get(code, np.nan)
        has_value = value is not None and not (isinstance(value, float) and math.isnan(value))
        if not inside and not (colour_outside and has_value):
            continue  # neighbouring areas are sent only when they carry a value (a catchment)
        if only_valued and not has_value:
            continue
        text = label_map.get(code)
        if text is None:
            text = _format_number(float(value)) if has_value else "no data"
        style = _area_style(colour_map.get(code, NO_DATA_COLOUR), inside, bool(dash_map.get(code, False)), code == selected, strong=inside or colour_outside)
        if css_class:
            style["className"] = css_class if inside else f"{css_class} {css_class}-outside"
        features.append(
            {
                "type": "Feature",
                "id": code,
                "geometry": feature["geometry"],
                "properties": {"lsoa11_code": code, "in_authority": inside, "value": float(value) if has_value else None, "label": text, "style": style},
            }
        )
    return {"type": "FeatureCollection", "features": features}
