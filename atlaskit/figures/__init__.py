"""Static charts and maps (matplotlib) shared by the report and the notebooks: presentation, no analysis.

Submodules:

- ``projection``: :func:`projection_chart`, one authority and phase's projected pupils with
  their intervals, the actual rolls, places and the DfE's operating margins; :func:`thousands_formatter`.
- ``maps``: :func:`children_map`, :func:`deprivation_map`, :func:`catchment_map`, static maps of an authority
  (EPSG:27700) for reports that open offline.
"""

from __future__ import annotations

from atlaskit.figures.maps import catchment_map, children_map, deprivation_map
from atlaskit.figures.projection import projection_chart, thousands_formatter

__all__ = ["catchment_map", "children_map", "deprivation_map", "projection_chart", "thousands_formatter"]
