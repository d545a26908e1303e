"""The app's widgets: the controls, the map with its three GeoJSON layers, and the side panel."""

from __future__ import annotations

import ipyleaflet
import ipywidgets as widgets

from atlaskit.mapping import DIM_CLASS, LAYERS, SCHOOL_CLASS
from atlaskit.vocabulary import CENSUS_AGES, PHASES

__all__ = ["HOVER_PROMPT", "Controls", "MapView", "SidePanel"]

#: The hover line before anything is hovered (and after the layer changes).
HOVER_PROMPT = "<span>Hover over or click an area or a school.</span>"

def _empty() -> dict:
    return {"type": "FeatureCollection", "features": []}


class Controls:
    """The controls: authority picker, phase, map layer, and the search box with its button.

    Args:
        labels: the picker's authority labels.
        phase: the initial phase.
        layer: the initial layer key (:data:`atlaskit.mapping.LAYERS`).

    Attributes:
        picker, phase, layer, search, search_button: the widgets.
        rows: the two rows that lay them out.
    """

    def __init__(self, labels: list[str], phase: str, layer: str):
        style = {"description_width": "initial"}
        self.picker = widgets.Combobox(
            options=labels,
            placeholder="Type a name or code, e.g. Kent or E10000016",
            description="Authority",
            ensure_option=False,
            continuous_update=False,
            style=style,
            layout=widgets.Layout(width="26em"),
        )
        self.phase = widgets.ToggleButtons(
            options=[(p.capitalize(), p) for p in PHASES],
            value=phase,
            description="Phase",
            tooltips=[f"{p.capitalize()} schools (ages {CENSUS_AGES[p][0]}-{CENSUS_AGES[p][1]})" for p in PHASES],
            style={"description_width": "initial", "button_width": "7em"},
        )
        self.layer = widgets.Dropdown(
            options=[(spec.label, key) for key, spec in LAYERS.items()], value=layer, description="Map layer", style=style, layout=widgets.Layout(width="22em")
        )
        self.search = widgets.Text(
            placeholder="School name, URN, postcode or LSOA code", description="Find", continuous_update=False, style=style, layout=widgets.Layout(width="24em")
        )
        self.search_button = widgets.Button(description="Search", tooltip="Find a school or area and zoom to it", icon="")
        self.rows = [
            widgets.HBox([self.picker, self.phase, self.layer], layout=widgets.Layout(flex_flow="row wrap", align_items="center")),
            widgets.HBox([self.search, self.search_button], layout=widgets.Layout(align_items="center")),
        ]


class MapView:
    """The ipyleaflet map and its three GeoJSON layers: areas, a catchment overlay, schools.

    Args:
        basemap: keep the OpenStreetMap base layer (tiles come from the internet).
        height: CSS height of the map.

    Attributes:
        map, areas, catchment_layer, schools_layer: the widgets.
        box: the flexible box holding the map.
    """

    def __init__(self, basemap: bool = True, height: str = "560px"):
        hover = {"weight": 2.5, "color": "#000000"}
        self.areas = ipyleaflet.GeoJSON(data=_empty(), name="Areas (LSOAs)", hover_style=hover)
        self.catchment_layer = ipyleaflet.GeoJSON(data=_empty(), name="Catchment", hover_style=hover)
        self.schools_layer = ipyleaflet.GeoJSON(
            data=_empty(),
            name="Schools",
            # markerPane: above the areas however often they are redrawn
            point_style={"radius": 6, "weight": 1.5, "fillOpacity": 0.95, "className": SCHOOL_CLASS, "pane": "markerPane"},
        )
        self.map = ipyleaflet.Map(center=(51.5, -0.12), zoom=11, scroll_wheel_zoom=True, layout=widgets.Layout(height=height, width="100%"))
        if not basemap:
            for base in list(self.map.layers):
                self.map.remove(base)
        for layer in (self.areas, self.catchment_layer, self.schools_layer):
            self.map.add(layer)
        self.map.add_class("atlas-map")
        self.box = widgets.Box([self.map], layout=widgets.Layout(flex="1 1 20em", min_width="min(20em, 100%)"))
        self.box.add_class("atlas-map-box")

    def zoom_to(self, lat: float, lon: float, zoom: int) -> None:
        """Centre the map on a point (degrees, EPSG:4326) at a zoom, in one message."""
        with self.map.hold_sync():
            self.map.center = (float(lat), float(lon))
            self.map.zoom = zoom

    def show_areas(self, collection: dict) -> None:
        """Replace the areas (one data message), clear any catchment overlay and undim the map."""
        with self.areas.hold_sync():
            self.areas.data = collection
        if self.catchment_layer.data.get("features"):
            self.catchment_layer.data = _empty()
        self.map.remove_class(DIM_CLASS)

    def show_catchment(self, overlay: dict | None) -> None:
        """Show a catchment overlay (None: an empty one) over the base areas, which CSS greys."""
        with self.catchment_layer.hold_sync():
            self.catchment_layer.data = overlay if overlay is not None else _empty()
        self.map.add_class(DIM_CLASS)

    def show_schools(self, collection: dict) -> None:
        """Replace the school markers (one data message)."""
        with self.schools_layer.hold_sync():
            self.schools_layer.data = collection


class SidePanel(widgets.VBox):
    """The panel beside the map: legend, hover line, summary, school profile, download link.

    It wraps below the map on a narrow screen (a phone).
    """

    def __init__(self):
        self.legend = widgets.HTML()
        self.hover = widgets.HTML(value=HOVER_PROMPT)
        self.hover.add_class("atlas-hover")
        self.summary = widgets.HTML()
        self.summary.add_class("atlas-summary-panel")
        self.profile = widgets.HTML()
        self.profile.add_class("atlas-profile-panel")
        self.download = widgets.HTML()
        super().__init__(
            [self.legend, self.hover, self.summary, self.profile, self.download], layout=widgets.Layout(width="24em", max_width="100%", padding="0 0 0 0.8em")
        )
        self.add_class("atlas-side")
