"""One authority's static report: what ``notebooks/report.ipynb`` shows, one ``*_section(ctx)`` per cell.

Submodules:

* ``blocks``: :class:`Block` (static HTML), note, figure and table blocks, count formatting and disclosure.
* ``wording``: plain-English counts (:func:`plural`) and the wording of analysis problems by kind.
* ``context``: :class:`ReportContext` and :func:`prepare` (the authority's data, loaded once).
* ``overview``: the title, headline figures and the maps of children and deprivation.
* ``catchments``: the catchments of the largest schools and the flow model's fit here.
* ``projection``: the projected pupils against places and the DfE operating margins.
* ``planning_areas``: the projection shared out among planning areas.
* ``sources``: the data sources, licences and vintages.

The maps themselves are drawn by :mod:`atlaskit.figures.maps`, the projection chart by
:mod:`atlaskit.figures.projection`. How the report is built: ``notebooks/methods/report.md``.
"""

from atlaskit.report.blocks import Block, display_counts, figure_block, note_block, table_block
from atlaskit.report.catchments import catchment_lsoas, catchments_section, validation_section
from atlaskit.report.context import ReportContext, phase_schools, prepare
from atlaskit.report.overview import headline_figures, headline_section, maps_section, title_section
from atlaskit.report.planning_areas import demand_section, planning_area_projection, planning_area_summary
from atlaskit.report.projection import operating_margin_years, projection_section
from atlaskit.report.sources import REPORT_INPUTS, sources_section, sources_table, vintage_table
from atlaskit.report.wording import plural, word_problem

__all__ = [
    "Block",
    "ReportContext",
    "prepare",
    "phase_schools",
    "headline_figures",
    "catchment_lsoas",
    "operating_margin_years",
    "planning_area_summary",
    "planning_area_projection",
    "sources_table",
    "vintage_table",
    "REPORT_INPUTS",
    "display_counts",
    "figure_block",
    "table_block",
    "note_block",
    "plural",
    "word_problem",
    "title_section",
    "headline_section",
    "maps_section",
    "catchments_section",
    "validation_section",
    "projection_section",
    "demand_section",
    "sources_section",
]
