"""The map's view: the bounds of an authority's areas and the web-map zoom that fits them."""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["view_bounds", "zoom_for_bounds"]


def view_bounds(display: pd.DataFrame, inside_only: bool = True) -> tuple[tuple[float, float], tuple[float, float]]:
    """Return ((south, west), (north, east)) of the areas, degrees (EPSG:4326), the authority's own by default.

    Args:
        display: GeoDataFrame in EPSG:4326 (the store's ``lsoas_display``), optionally with ``in_authority``.
        inside_only: bound only the authority's own areas (when any are marked).
    """
    frame = display
    if inside_only and "in_authority" in display and display["in_authority"].fillna(False).any():
        frame = display[display["in_authority"].fillna(False).astype(bool)]
    minx, miny, maxx, maxy = frame.total_bounds
    return ((float(miny), float(minx)), (float(maxy), float(maxx)))


def zoom_for_bounds(bounds: tuple[tuple[float, float], tuple[float, float]], width_px: int = 760, height_px: int = 560) -> tuple[tuple[float, float], int]:
    """Return the centre (lat, lon, degrees) and the largest web-map zoom (1-17) that fits the bounds in the pixels.

    Computed in Python so it is part of the widget state (a preheated kernel renders the map
    before any browser is there to ``fit_bounds``).

    Args:
        bounds: ((south, west), (north, east)), degrees (EPSG:4326), as :func:`view_bounds`.
        width_px: map width, pixels.
        height_px: map height, pixels.
    """
    (south, west), (north, east) = bounds
    centre = ((south + north) / 2.0, (west + east) / 2.0)

    def merc_y(lat):
        lat = max(min(lat, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    span_x = max(abs(east - west) / 360.0, 1e-9)
    span_y = max(abs(merc_y(north) - merc_y(south)) / (2 * math.pi), 1e-9)
    zoom_x = math.log2(width_px / 256.0 / span_x)
    zoom_y = math.log2(height_px / 256.0 / span_y)
    zoom = int(max(1, min(17, math.floor(min(zoom_x, zoom_y)))))
    return centre, zoom
