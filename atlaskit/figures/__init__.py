"""Static charts (matplotlib) shared by the report and the notebooks: presentation, no analysis.

Submodules:

- ``projection``: :func:`projection_chart`, one authority and phase's projected pupils with
  their intervals, the actual rolls, places and the DfE's operating margins; :func:`thousands_formatter`.
"""

from __future__ import annotations

from atlaskit.figures.projection import projection_chart, thousands_formatter

__all__ = ["projection_chart", "thousands_formatter"]
