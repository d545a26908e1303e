"""The :class:`AtlasApp` widget: one authority's schools, children, deprivation and catchments on one map."""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
import pandas as pd

from atlaskit import mapping
from atlaskit.analysis import flows
from atlaskit.analysis.search import search_schools
from atlaskit.config import DEFAULT_AUTHORITY
from atlaskit.errors import AtlasError, UnknownArea, UnknownAuthority, UnknownSchool
from atlaskit.vocabulary import PHASE_SCHOOL_PHASES, is_open_state_funded

from .authorities import AuthorityChoices
from .directory import SchoolNames, store_school_directory
from .layout import HOVER_PROMPT, Controls, MapView, SidePanel
from .query import echo, public_message
from .serving import KeepAliveUntilShown

__all__ = ["AtlasApp"]

log = logging.getLogger(__name__)

#: Zoom of the map on a school or area found by the search box.
FOUND_ZOOM = 15

_LSOA_CODE = re.compile(r"^E01\d{6}$", re.IGNORECASE)


def _guarded(method: Callable) -> Callable:
    """Catch every exception of a callback and show it in the status line instead."""

    @functools.wraps(method)
    def wrapper(self: AtlasApp, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except AtlasError as exc:
            self.show_message(str(exc), error=True)
        except Exception as exc:  # noqa: BLE001 - the widget boundary: never a traceback in the page
            log.exception("AtlasApp callback %s failed", method.__name__)
            self.show_message(f"Sorry, that did not work ({type(exc).__name__}). Please try another choice.", error=True)
        return None

    return wrapper


class AtlasApp(KeepAliveUntilShown, widgets.VBox):
    """Interactive map of one authority: pick authority, phase and layer; click schools and areas.

    Args:
        data: an :class:`atlaskit.store.loaders.AuthorityData` (or an object with the same attributes).
        authorities: the authority table (authority_code, authority_name) for the picker.
        loader: ``loader(code) -> AuthorityData`` used when the picker changes (None: the app
            cannot switch authority; :meth:`for_authority` uses :func:`atlaskit.load`).
        resolver: ``resolver(text) -> code`` for typed authority names or codes, raising
            :class:`~atlaskit.errors.UnknownAuthority` (:meth:`for_authority` uses :func:`atlaskit.resolve_authority`).
        catchment: ``catchment(flows, urn, phase=...) -> DataFrame`` (default
            :func:`atlaskit.analysis.flows.school_catchment`).
        destinations: ``destinations(flows, lsoa11_code, phase=..., closed_urns=...) -> DataFrame``
            (default :func:`atlaskit.analysis.flows.area_destinations`; ``closed_urns``: schools
            known to be closed, whose 2015 flows their successors' count already).
        school_directory: ``school_directory() -> DataFrame`` (urn, school_name, authority_code,
            optionally is_open) of schools outside the authority, to name the schools an area's
            children attend across the border (default: none, so they are named by URN;
            :meth:`for_authority` uses the store's schools table).
        basemap: add the OpenStreetMap base layer (tiles come from the internet).
        map_height: CSS height of the map.
        phase: initial phase, ``"primary"`` or ``"secondary"``.
        layer: initial layer key (see :data:`atlaskit.mapping.LAYERS`).

    Attributes (the state tests assert on):
        picker, phase, layer, search, search_button: the controls.
        status: the status line (HTML); :attr:`message` is its plain text.
        map, areas, catchment_layer, schools_layer: the ipyleaflet map and its three layers.
        legend, hover, profile, summary, download: side panels.
        data, selected_urn, selected_area, classes: current state.
        table: the table behind the current view (what the CSV download holds).

    Raises:
        ValueError: without the authority table.
    """

    def __init__(
        self,
        data,
        authorities: pd.DataFrame,
        *,
        loader: Callable | None = None,
        resolver: Callable | None = None,
        catchment: Callable = flows.school_catchment,
        destinations: Callable = flows.area_destinations,
        school_directory: Callable | None = None,
        basemap: bool = True,
        map_height: str = "560px",
        phase: str = "primary",
        layer: str = "children",
        **kwargs,
    ):
        kwargs.setdefault("layout", widgets.Layout(width="100%"))
        super().__init__(**kwargs)
        self.add_class("atlas-app")
        self._choices = AuthorityChoices(authorities)
        self._loader = loader
        self._resolver = resolver
        self._catchment = catchment
        self._destinations = destinations
        self._school_directory = school_directory
        self._names: SchoolNames | None = None
        self.data = None
        self.selected_urn: int | None = None
        self.selected_area: str | None = None
        self.classes: mapping.Classes | None = None
        self.message = ""
        self.table = pd.DataFrame()
        self._base: list[dict] = []
        self._own: set[str] = set()
        self._catchment_values: tuple | None = None
        self._destination_urns: list[int] = []
        self._schools_mode = ""
        self._area_names: dict[str, str] = {}
        self._view_count = 0  # the frontend counts the views it draws (ipywidgets' _view_count)

        controls = Controls(self._choices.labels, phase, layer)
        self.picker, self.phase, self.layer = controls.picker, controls.phase, controls.layer
        self.search, self.search_button = controls.search, controls.search_button
        self._view = MapView(basemap=basemap, height=map_height)
        self.map, self.areas = self._view.map, self._view.areas
        self.catchment_layer, self.schools_layer = self._view.catchment_layer, self._view.schools_layer
        side = SidePanel()
        self.legend, self.hover, self.summary, self.profile, self.download = side.legend, side.hover, side.summary, side.profile, side.download
        self.status = widgets.HTML(layout=widgets.Layout(min_height="1.6em"))
        self.status.add_class("atlas-status")
        self.title = widgets.HTML()
        body = widgets.HBox([self._view.box, side], layout=widgets.Layout(width="100%", flex_flow="row wrap"))
        self.children = [self.title, *controls.rows, self.status, body]

        self.picker.observe(self._on_authority_change, names="value")
        self.phase.observe(self._on_phase_change, names="value")
        self.layer.observe(self._on_layer_change, names="value")
        self.search.observe(self._on_search_submit, names="value")
        self.search_button.on_click(self._on_search_click)
        self.schools_layer.on_click(self._on_school_click)
        self.schools_layer.on_hover(self._on_school_hover)
        for areas in (self.areas, self.catchment_layer):
            areas.on_click(self._on_area_click)
            areas.on_hover(self._on_area_hover)

        self._show_data(data)

    # ------------------------------------------------------------------ construction

    @classmethod
    def for_authority(cls, authority: str = DEFAULT_AUTHORITY, **kwargs) -> AtlasApp:
        """Build the app from the store for one authority (code, old code, DfE number or name).

        An unknown authority does not fail: the default authority is shown with a clear message
        and the picker, so a bad link still gives a working page.
        """
        import atlaskit

        table = atlaskit.authorities()
        kwargs.setdefault("loader", atlaskit.load)
        kwargs.setdefault("resolver", atlaskit.resolve_authority)
        kwargs.setdefault("school_directory", store_school_directory)
        problem = None
        try:
            code = kwargs["resolver"](authority)
        except AtlasError as exc:
            problem = exc
            code = DEFAULT_AUTHORITY
        app = cls(kwargs["loader"](code), table, **kwargs)
        if problem is not None:
            app._show_unknown_authority(authority, problem)
        return app

    @_guarded
    def apply_query(self, authority: str | None) -> None:
        """Switch to the authority named by ``?authority=`` (None or empty: keep the current one)."""
        if authority is None or not str(authority).strip():
            return
        self.set_authority(authority)

    # ------------------------------------------------------------------ public actions

    def set_authority(self, text: str) -> None:
        """Show another authority, given its code, name or a picker label; bad input shows a message."""
        try:
            code = self._choices.resolve(text, self._resolver)
        except UnknownAuthority as exc:
            self._show_unknown_authority(text, exc)
            return
        if self.data is not None and code == self.data.code:
            self._sync_picker()
            return
        self.show_message(f"Loading {self._choices.label(code)}\u2026")
        if self._loader is None:
            raise AtlasError("this app was built without a loader: it cannot switch authority")
        self._show_data(self._loader(code))

    def select_school(self, urn: int) -> None:
        """Show a school's profile and, on the catchment layer, where its pupils live.

        Raises:
            UnknownSchool: ``urn`` is not a school of the authority.
        """
        rows = self.data.schools[self.data.schools["urn"] == urn]
        if rows.empty:
            raise UnknownSchool(f"URN {urn} is not a school of {self.data.name}")
        school = rows.iloc[0]
        name = school["school_name"]
        self.selected_urn = urn
        self.selected_area = None
        self.profile.value = mapping.school_profile_html(school)
        phase = self.phase.value if str(school.get("phase")) == "all-through" else None
        self._catchment_values = None
        self.summary.value = ""
        problem = None
        try:
            catchment = self._catchment(self.data.flows, urn, phase=phase)
            if catchment is None or len(catchment) == 0:
                raise UnknownSchool(f"no flow data for {name}")
            self._catchment_values = (catchment, *mapping.catchment_values(catchment))
            self.summary.value = mapping.summary_html(str(name), mapping.catchment_summary(catchment, self._own))
        except (UnknownSchool, KeyError, ValueError) as exc:
            problem = f"No pupil-flow data for {name} (URN {urn}): its catchment cannot be drawn."
            log.info("no catchment for %s: %s", urn, exc)
        if self._catchment_values is not None and self.layer.value != "catchment":
            self.layer.value = "catchment"  # observer redraws
        else:
            self._redraw()
        if problem:
            self.show_message(problem, error=True)
        else:
            self.show_message(f"{name} selected." + (" Map: where its pupils live." if self._catchment_values is not None else ""))

    def select_area(self, code: str) -> None:
        """Show which schools the children of one area (LSOA) attend.

        Raises:
            UnknownArea: ``code`` is not an area of this map.
        """
        code = str(code).strip().upper()
        lsoas = self.data.lsoas
        rows = lsoas[lsoas["lsoa11_code"].astype(str) == code]
        if rows.empty:
            raise UnknownArea(f"{echo(code)} is not an area (LSOA) of this map")
        name = str(rows.iloc[0].get("lsoa11_name", code))
        self.selected_area = code
        phase = self.phase.value
        try:
            dest = self._destinations(self.data.flows, code, phase=phase, closed_urns=self._names.closed_urns())
        except (UnknownArea, KeyError, ValueError):
            dest = None
        if dest is None or len(dest) == 0:
            self._destination_urns = []
            self.summary.value = f'<div class="atlas-destinations"><h3 style="font-size:1em">{html.escape(name)}</h3><p>No {phase} pupil-flow data for this area.</p></div>'
            self.show_message(f"{name}: no {phase} pupil-flow data for this area.")
        else:
            names = self._names.names(dest["urn"])
            self._destination_urns = dest["urn"].head(10).tolist()
            note = ""
            if code not in self._own:  # only flows into this authority's schools are loaded for a neighbouring area
                note = f"This area is outside {self.data.name}: only its children at schools in {self.data.name} are listed, and shares are of those children."
            self.summary.value = mapping.destinations_html(name, dest, names, note=note)
            self.show_message(f"{name}: the schools its children attend are listed and enlarged on the map.")
        self._draw_schools()
        self._redraw()
        if dest is not None and len(dest):
            # the table behind this view is now the area's list of schools
            self.table = mapping.destinations_table(code, dest, names)
            self.download.value = mapping.csv_download_html(self.table, f"atlas_{self.data.code}_{code}_{phase}_schools.csv", label="Download this area's schools (CSV)")

    def find(self, text: str) -> None:
        """Search schools by URN, DfE number, postcode or name (or an LSOA code) and zoom to the best match."""
        text = str(text).strip()
        if not text:
            self.show_message("Type a school name, URN, postcode or LSOA code to search.")
            return
        if _LSOA_CODE.match(text):
            code = text.upper()
            self.select_area(code)
            row = self.data.lsoas_display[self.data.lsoas_display["lsoa11_code"].astype(str) == code]
            if len(row):
                point = row.geometry.iloc[0].representative_point()
                self._view.zoom_to(point.y, point.x, FOUND_ZOOM)
            return
        hits = search_schools(self.data.schools, text, limit=5)
        hits = hits[~(hits.geometry.is_empty | hits.geometry.isna())] if len(hits) else hits
        if len(hits) == 0:
            self.show_message(f"No school of {self.data.name} matches \u201c{echo(text)}\u201d.", error=True)
            return
        lonlat = hits.iloc[[0]].geometry.to_crs(4326).iloc[0]
        self._view.zoom_to(lonlat.y, lonlat.x, FOUND_ZOOM)
        self.select_school(hits["urn"].iloc[0])

    def show_message(self, text: str, error: bool = False) -> None:
        """Show one plain sentence in the status line (escaped; paths removed)."""
        self.message = public_message(text)
        colour = "#b00020" if error else "#1d1d1d"
        prefix = "Problem: " if error else ""
        self.status.value = f'<p role="status" aria-live="polite" style="margin:0.2em 0;color:{colour}">{html.escape(prefix + self.message)}</p>'

    # ------------------------------------------------------------------ observers

    @_guarded
    def _on_authority_change(self, change) -> None:
        value = change["new"]
        if not value or (self.data is not None and self._choices.label(self.data.code) == value):
            return
        self.set_authority(value)

    @_guarded
    def _on_phase_change(self, change) -> None:
        if self.selected_urn is not None:
            school_phase = self.data.schools.loc[self.data.schools["urn"] == self.selected_urn, "phase"].astype(str).iloc[0]
            if school_phase == "all-through" and self.layer.value == "catchment":  # its catchment of the new phase
                self._draw_schools()
                self.select_school(self.selected_urn)
                return
            if school_phase not in PHASE_SCHOOL_PHASES[change["new"]]:
                self._clear_selection()
        if self.selected_area is not None:  # list the schools of the new phase (draws schools and areas)
            self.select_area(self.selected_area)
            self.show_message(f"Showing {change['new']} schools. {self.message}")
            return
        self._draw_schools()
        self._redraw()
        self.show_message(f"Showing {change['new']} schools.")

    @_guarded
    def _on_layer_change(self, change) -> None:
        self.hover.value = HOVER_PROMPT  # the last hover's text belongs to the previous layer
        self._redraw()
        if change["new"] == "catchment" and self._catchment_values is None:
            self.show_message("Click a school (or search for one) to see where its pupils live.")
        elif change["new"] != "catchment":
            self.show_message(f"Map layer: {mapping.LAYERS[change['new']].label}.")

    @_guarded
    def _on_search_click(self, _button=None) -> None:
        self.find(self.search.value)

    @_guarded
    def _on_search_submit(self, change) -> None:
        if change["new"]:
            self.find(change["new"])

    @_guarded
    def _on_school_click(self, event=None, feature=None, properties=None, **kwargs) -> None:
        props = properties or (feature or {}).get("properties") or {}
        if "urn" not in props:
            raise UnknownSchool("that marker is not a school")
        self.select_school(props["urn"])

    @_guarded
    def _on_area_click(self, event=None, feature=None, properties=None, **kwargs) -> None:
        props = properties or (feature or {}).get("properties") or {}
        if "lsoa11_code" not in props:
            raise UnknownArea("that shape is not an area")
        self.select_area(str(props["lsoa11_code"]))

    @_guarded
    def _on_school_hover(self, event=None, feature=None, properties=None, **kwargs) -> None:
        props = properties or {}
        detail = ""
        if self.layer.value == "demand":
            detail = " " + html.escape(mapping.utilisation_text(props.get("pupils"), props.get("places"), props.get("utilisation")))
        self.hover.value = (
            f"<span><strong>{html.escape(str(props.get('name', '')))}</strong> ({html.escape(str(props.get('phase', '')))}, URN {html.escape(str(props.get('urn', '')))}).{detail}"
            " Click for its profile and catchment.</span>"
        )

    @_guarded
    def _on_area_hover(self, event=None, feature=None, properties=None, **kwargs) -> None:
        props = properties or {}
        code = str(props.get("lsoa11_code", ""))
        name = self._area_names.get(code, code)
        spec = mapping.LAYERS[self.layer.value]
        label = str(props.get("label", ""))
        if self.layer.value == "catchment":  # the greyed base areas still carry the previous layer's labels
            labels = self._catchment_values[2] if self._catchment_values is not None else {}
            label = str(labels.get(code, "no pupils mapped"))
        self.hover.value = f"<span><strong>{html.escape(name)}</strong>: {html.escape(label)} ({html.escape(spec.label.lower())})</span>"

    # ------------------------------------------------------------------ internals

    def _show_unknown_authority(self, text, exc: UnknownAuthority) -> None:
        showing = self.data.name if self.data is not None else "the default authority"
        self.show_message(self._choices.unknown_message(text, exc, showing), error=True)
        self._sync_picker()

    def _sync_picker(self) -> None:
        """Show the current authority's label in the picker without triggering a switch."""
        if self.data is None:
            return
        label = self._choices.label(self.data.code)
        if self.picker.value != label:
            with self.hold_trait_notifications():
                self.picker.unobserve(self._on_authority_change, names="value")
                try:
                    self.picker.value = label
                finally:
                    self.picker.observe(self._on_authority_change, names="value")

    def _clear_selection(self) -> None:
        self.selected_urn = None
        self.selected_area = None
        self._catchment_values = None
        self._destination_urns = []
        self.profile.value = ""
        self.summary.value = ""

    def _show_data(self, data) -> None:
        """Replace the authority shown: geometry, schools, view, picker."""
        self.data = data
        self._names = SchoolNames(data.schools, self._choices.names, self._school_directory)
        self._clear_selection()
        self._base = mapping.base_features(data.lsoas_display)
        lsoas = data.lsoas
        codes = lsoas["lsoa11_code"].astype(str)
        own = lsoas["in_authority"].fillna(False).astype(bool) if "in_authority" in lsoas else pd.Series(True, index=lsoas.index)
        self._own = set(codes[own])
        self._area_names = dict(zip(codes, lsoas["lsoa11_name"].astype(str) if "lsoa11_name" in lsoas else codes))
        centre, zoom = mapping.zoom_for_bounds(mapping.view_bounds(data.lsoas_display))
        self._view.zoom_to(*centre, zoom)
        region = f", {data.region_name}" if getattr(data, "region_name", "") else ""
        schools = int(is_open_state_funded(data.schools).sum())
        self.title.value = (
            f"<style>{mapping.MAP_CSS}</style>"
            f'<h2 style="font-size:1.4em;margin:0.2em 0">Schools Atlas: {html.escape(str(data.name))}{html.escape(region)}</h2>'
            f'<p style="margin:0 0 0.3em 0">{len(self._own):,} small areas (LSOAs, about 1,500 residents each), {schools:,} open state-funded schools. '
            "Choose a phase and a map layer; click a school to see where its pupils live, or an area to see which schools its children attend.</p>"
        )
        self._sync_picker()
        if self.layer.value == "catchment":
            with self.layer.hold_trait_notifications():
                self.layer.unobserve(self._on_layer_change, names="value")
                self.layer.value = "children"
                self.layer.observe(self._on_layer_change, names="value")
        self._draw_schools()
        self._redraw()
        self.show_message(f"Showing {data.name} ({data.code}).")

    def _draw_schools(self) -> None:
        """Send the school markers: coloured by school phase, or by fullness on the demand layer."""
        collection = mapping.schools_collection(self.data.schools, self.phase.value, selected=self.selected_urn, highlight=self._destination_urns)
        demand = self.layer.value == "demand"
        if demand:
            mapping.colour_by_utilisation(collection, self.data.schools)
        self._schools_mode = "demand" if demand else "phase"
        self._view.show_schools(collection)

    def _redraw(self) -> None:
        """Recolour the areas for the current layer and phase: one data replacement under hold_sync."""
        key = self.layer.value
        spec = mapping.LAYERS[key]
        labels = dashed = None
        note = spec.note
        title = spec.label
        if key in ("children", "imd", "idaci"):
            values = mapping.layer_values(self.data.lsoas, key, self.phase.value)
            classes = mapping.classify(values.where(values.index.isin(self._own)), key, units=mapping.layer_units(key, self.phase.value))
            table = mapping.area_table(self.data.lsoas, values, values.name or key)
        elif key == "catchment":
            if self._catchment_values is None:
                values = pd.Series(np.nan, index=pd.Index(sorted(self._own), name="lsoa11_code"))
                classes = mapping.classify(values, key)
                table = pd.DataFrame(columns=["lsoa11_code", "lsoa11_name", "pupils", "source"])
                note = "Click a school (or search for one) to see where its pupils live. " + spec.note
            else:
                catchment, values, labels, dashed = self._catchment_values
                classes = mapping.classify(values, key)
                school = self.data.schools.loc[self.data.schools["urn"] == self.selected_urn, "school_name"]
                title = f"{spec.label}: {school.iloc[0] if len(school) else self.selected_urn}"
                table = mapping.catchment_table(catchment, self.selected_urn, self._area_names, self._own)
        elif key == "demand":
            values = pd.Series(dtype="float64")
            classes = mapping.utilisation_classes()
            table = mapping.utilisation_table(self.data.schools, self.phase.value)
        else:  # pragma: no cover - the dropdown offers only the keys above
            raise ValueError(f"unknown layer {key!r}")
        self.classes = classes
        if key == "catchment":
            # the base areas stay as they are, greyed by CSS; only the catchment's areas are sent
            overlay = None
            if self._catchment_values is not None:
                overlay = mapping.styled_collection(
                    self._base, values, classes, labels=labels, dashed=dashed, colour_outside=True, only_valued=True, css_class=mapping.CATCHMENT_CLASS, selected=self.selected_area
                )
            self._view.show_catchment(overlay)
        else:
            self._view.show_areas(mapping.styled_collection(self._base, values, classes, selected=self.selected_area))
        if self._schools_mode != ("demand" if key == "demand" else "phase"):
            self._draw_schools()
        self.legend.value = mapping.legend_html(classes, title, note, dashed_note=(key == "catchment" and dashed is not None and bool(dashed.any())))
        self.table = table
        stem = f"atlas_{self.data.code}_{key}_{self.phase.value}" + (f"_{self.selected_urn}" if key == "catchment" and self.selected_urn else "")
        self.download.value = mapping.csv_download_html(table, stem + ".csv")
