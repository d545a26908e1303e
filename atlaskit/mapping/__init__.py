"""Pure map-building functions for the Atlas app: values, classes, colours, GeoJSON, legends, panels.

Nothing here creates a widget or reads a file. The app (:mod:`atlaskit.app`) hands the results to
ONE ipyleaflet ``GeoJSON`` layer whose features carry their colours in ``properties.style``
(``notebooks/methods/app.md`` says why).

    >>> import atlaskit, atlaskit.mapping as mp
    >>> camden = atlaskit.load("E09000007")                          # doctest: +SKIP
    >>> base = mp.base_features(camden.lsoas_display)                # doctest: +SKIP
    >>> values = mp.layer_values(camden.lsoas, "children", "primary")  # doctest: +SKIP
    >>> classes = mp.classify(values, "children")                    # doctest: +SKIP
    >>> collection = mp.styled_collection(base, values, classes)     # doctest: +SKIP

Submodules:

- ``layers``: the choosable layers (:class:`LayerSpec`, :data:`LAYERS`), their colours, the context layers' values.
- ``classes``: classification of a layer's values (quantiles, deciles), colours per class, the legend.
- ``geojson``: the areas' GeoJSON (geometry sent with 4 decimals, about 10 m) and its per-layer styles.
- ``schools``: the schools shown (open, state-funded, of a phase) as GeoJSON points; a school's profile.
- ``utilisation``: the demand-vs-capacity layer (each school's pupils on roll / whole-school places).
- ``panels``: flows in words after disclosure control, catchment summary, an area's schools, CSV links.
- ``view``: the bounds and zoom of an authority's map.
"""

from .classes import Classes, LegendItem, bin_values, classify, legend_html, legend_items, quantile_bins
from .geojson import AREA_CLASS, CATCHMENT_CLASS, DIM_CLASS, DISPLAY_DECIMALS, MAP_CSS, OUTSIDE_AREA_CLASS, base_features, styled_collection
from .layers import LAYERS, NO_DATA_COLOUR, POPULATION_YEAR, LayerSpec, area_table, layer_units, layer_values
from .panels import (
    SOURCE_TEXT,
    catchment_summary,
    catchment_table,
    catchment_values,
    csv_download_html,
    destinations_html,
    destinations_table,
    format_flows,
    summary_html,
)
from .schools import (
    PHASE_COLOURS,
    PROFILE_ATTAINMENT8,
    PROFILE_KS2,
    PROFILE_PROGRESS8,
    SCHOOL_CLASS,
    SCHOOL_LINKS,
    school_profile,
    school_profile_html,
    schools_collection,
    schools_shown,
)
from .utilisation import (
    UTILISATION_COLOURS,
    UTILISATION_LABELS,
    colour_by_utilisation,
    utilisation,
    utilisation_classes,
    utilisation_colour,
    utilisation_table,
    utilisation_text,
)
from .view import view_bounds, zoom_for_bounds

__all__ = [
    "AREA_CLASS",
    "CATCHMENT_CLASS",
    "DIM_CLASS",
    "DISPLAY_DECIMALS",
    "LAYERS",
    "MAP_CSS",
    "NO_DATA_COLOUR",
    "OUTSIDE_AREA_CLASS",
    "PHASE_COLOURS",
    "POPULATION_YEAR",
    "PROFILE_ATTAINMENT8",
    "PROFILE_KS2",
    "PROFILE_PROGRESS8",
    "SCHOOL_CLASS",
    "SCHOOL_LINKS",
    "SOURCE_TEXT",
    "UTILISATION_COLOURS",
    "UTILISATION_LABELS",
    "Classes",
    "LayerSpec",
    "LegendItem",
    "area_table",
    "base_features",
    "bin_values",
    "catchment_summary",
    "catchment_table",
    "catchment_values",
    "classify",
    "colour_by_utilisation",
    "csv_download_html",
    "destinations_html",
    "destinations_table",
    "format_flows",
    "layer_units",
    "layer_values",
    "legend_html",
    "legend_items",
    "quantile_bins",
    "school_profile",
    "school_profile_html",
    "schools_collection",
    "schools_shown",
    "styled_collection",
    "summary_html",
    "utilisation",
    "utilisation_classes",
    "utilisation_colour",
    "utilisation_table",
    "utilisation_text",
    "view_bounds",
    "zoom_for_bounds",
]
