"""The Atlas app: one authority's schools, children, deprivation and catchments on one map.

``AtlasApp`` is a widget (an ``ipywidgets.VBox``) that receives its data and collaborators, builds
its child widgets as attributes and wires their observers to private ``_on_<thing>`` methods. It
holds no analysis: values, classes, colours and GeoJSON come from :mod:`atlaskit.mapping`, flows
from :mod:`atlaskit.flows`. Served by Voilà from ``notebooks/atlas.ipynb`` (``atlas serve``)::

    from atlaskit.app import AtlasApp
    app = AtlasApp.for_authority("E09000007")   # Camden, from the store
    app                                         # shows the app in a notebook

Every exception raised in a callback is caught at the widget boundary and shown as one plain
sentence in :attr:`AtlasApp.status` (never a traceback, never a server path).
"""

from __future__ import annotations

import functools
import html
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

import ipyleaflet
import ipywidgets as widgets
import numpy as np
import pandas as pd

from atlaskit import mapping
from atlaskit.config import DEFAULT_AUTHORITY
from atlaskit.errors import AtlasError, UnknownArea, UnknownAuthority, UnknownSchool

__all__ = ["AtlasApp", "query_authority", "parse_authority_query", "served_default_authority", "public_message"]

log = logging.getLogger(__name__)

#: Environment variable set by ``atlas serve --authority`` for the kernels it preheats.
SERVE_AUTHORITY_ENV = "ATLAS_SERVE_AUTHORITY"

#: Seconds between keep-alive messages while a Voilà page has not yet drawn the app, and the
#: longest such wait (see :meth:`AtlasApp.keep_alive_until_shown`).
KEEP_ALIVE_EVERY_S = 3.0
KEEP_ALIVE_MAX_S = 300.0

#: The hover line before anything is hovered (and after the layer changes).
HOVER_PROMPT = "<span>Hover over or click an area or a school.</span>"

_LSOA_CODE = re.compile(r"^E01\d{6}$", re.IGNORECASE)
_PATHLIKE = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-~]+){2,}[\\/]?")
_MAX_ECHO = 60


def public_message(text: str) -> str:
    """Return ``text`` safe to show on a public page: no file-system paths, no markup, bounded length."""
    cleaned = _PATHLIKE.sub("[path]", str(text))
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > 400:
        cleaned = cleaned[:397] + "..."
    return cleaned


def _echo(text: str) -> str:
    """Quote user input for a message: shortened, control characters dropped (escaped at render time)."""
    shown = "".join(ch for ch in str(text) if ch.isprintable())
    return shown if len(shown) <= _MAX_ECHO else shown[: _MAX_ECHO - 3] + "..."


def parse_authority_query(query_string: str | None) -> str | None:
    """Return the ``authority`` value of a URL query string (``"authority=E08000025&x=1"``), or None."""
    if not query_string:
        return None
    values = parse_qs(str(query_string).lstrip("?"), keep_blank_values=True).get("authority")
    if not values:
        return None
    return values[0].strip()


def query_authority() -> str | None:
    """Return ``?authority=`` of the page that Voilà is rendering (None under Papermill or Jupyter).

    In a preheated Voilà kernel this waits until a page request arrives (voila's
    ``get_query_string``); elsewhere it reads the ``QUERY_STRING`` environment variable.
    """
    if os.environ.get("VOILA_PREHEAT", "False") == "True":
        from voila.utils import get_query_string

        return parse_authority_query(get_query_string())
    return parse_authority_query(os.environ.get("QUERY_STRING"))


def served_default_authority(authority: str) -> str:
    """Return the authority ``atlas serve --authority`` asked for, else ``authority`` (the notebook's parameter)."""
    return os.environ.get(SERVE_AUTHORITY_ENV) or authority


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


def _default_catchment(flows: pd.DataFrame, urn: int, phase: str | None) -> pd.DataFrame:
    from atlaskit.analysis.flows import school_catchment

    return school_catchment(flows, urn, phase=phase)


def _default_destinations(flows: pd.DataFrame, code: str, phase: str | None, closed_urns=None) -> pd.DataFrame:
    from atlaskit.analysis.flows import area_destinations

    return area_destinations(flows, code, phase=phase, closed_urns=closed_urns)


def _store_school_directory() -> pd.DataFrame:
    """Every school in the store (urn, school_name, authority_code, is_open): names schools of other authorities."""
    from atlaskit import store

    return store.cached_table("schools", columns=["urn", "school_name", "authority_code", "is_open"])


def _closed(is_open) -> str:
    """" (closed)" for a school known to be closed (observed 2015 flows still name some)."""
    known = is_open is not None and not pd.isna(is_open)
    return " (closed)" if known and not bool(is_open) else ""


class AtlasApp(widgets.VBox):
    """Interactive map of one authority: pick authority, phase and layer; click schools and areas.

    Args:
        data: an :class:`atlaskit.loaders.AuthorityData` (or an object with the same attributes).
        authorities: the authority table (authority_code, authority_name) for the picker.
        loader: ``loader(code) -> AuthorityData`` used when the picker changes (default
            :func:`atlaskit.load`).
        resolver: ``resolver(text) -> code`` for typed authority names or codes (default
            :func:`atlaskit.resolve_authority`).
        catchment: ``catchment(flows, urn, phase) -> DataFrame`` (default
            :func:`atlaskit.flows.school_catchment`).
        destinations: ``destinations(flows, lsoa11_code, phase, closed_urns=...) -> DataFrame``
            (default :func:`atlaskit.flows.area_destinations`; ``closed_urns``: schools known
            to be closed, whose 2015 flows their successors' count already).
        school_directory: ``school_directory() -> DataFrame`` (urn, school_name, authority_code,
            optionally is_open) of schools outside the authority, to name the schools an area's children attend
            across the border (default: none, so they are named by URN;
            :meth:`for_authority` uses the store's schools table).
        basemap: add the OpenStreetMap base layer (tiles come from the internet).
        map_height: CSS height of the map.
        phase: initial phase, ``"primary"`` or ``"secondary"``.
        layer: initial layer key (see :data:`atlaskit.mapping.LAYERS`).

    Attributes (the state tests assert on):
        picker, phase, layer, search, search_button: the controls.
        status: the status line (HTML); :attr:`message` is its plain text.
        map, areas, schools_layer: the ipyleaflet map, its LSOA layer and its school layer.
        legend, hover, profile, summary, download: side panels.
        data, selected_urn, selected_area, classes: current state.
    """

    _KWARG_DEFAULTS = {"layout": widgets.Layout(width="100%")}

    def __init__(
        self,
        data,
        authorities: pd.DataFrame,
        *,
        loader: Callable | None = None,
        resolver: Callable | None = None,
        catchment: Callable | None = None,
        destinations: Callable | None = None,
        school_directory: Callable | None = None,
        basemap: bool = True,
        map_height: str = "560px",
        phase: str = "primary",
        layer: str = "children",
        **kwargs,
    ):
        for key, value in self._KWARG_DEFAULTS.items():
            kwargs.setdefault(key, value)
        super().__init__(**kwargs)
        self.add_class("atlas-app")
        if authorities is None or "authority_code" not in authorities:
            raise ValueError("AtlasApp needs the authority table (authority_code, authority_name)")
        self._authorities = authorities.reset_index(drop=True)
        self._loader = loader
        self._resolver = resolver
        self._catchment = catchment or _default_catchment
        self._destinations = destinations or _default_destinations
        self._school_directory = school_directory
        self._closed: set[int] | None = None
        self._outside_names: dict[int, str] | None = None
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
        self._keep_alive: threading.Thread | None = None
        self._view_count = 0  # the frontend counts the views it draws (ipywidgets' _view_count)

        labels = [f"{r.authority_name} ({r.authority_code})" for r in self._authorities.itertuples(index=False)]
        self._label_to_code = dict(zip(labels, self._authorities["authority_code"]))
        self._code_to_label = {c: lab for lab, c in self._label_to_code.items()}

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
            options=[("Primary", "primary"), ("Secondary", "secondary")],
            value=phase,
            description="Phase",
            tooltips=["Primary schools (ages 4-10)", "Secondary schools (ages 11-15)"],
            style={"description_width": "initial", "button_width": "7em"},
        )
        self.layer = widgets.Dropdown(
            options=[(spec.label, key) for key, spec in mapping.LAYERS.items()],
            value=layer,
            description="Map layer",
            style=style,
            layout=widgets.Layout(width="22em"),
        )
        self.search = widgets.Text(
            placeholder="School name, URN, postcode or LSOA code",
            description="Find",
            continuous_update=False,
            style=style,
            layout=widgets.Layout(width="24em"),
        )
        self.search_button = widgets.Button(description="Search", tooltip="Find a school or area and zoom to it", icon="")
        self.status = widgets.HTML(layout=widgets.Layout(min_height="1.6em"))
        self.status.add_class("atlas-status")
        self.hover = widgets.HTML(value=HOVER_PROMPT)
        self.hover.add_class("atlas-hover")
        self.legend = widgets.HTML()
        self.profile = widgets.HTML()
        self.profile.add_class("atlas-profile-panel")
        self.summary = widgets.HTML()
        self.summary.add_class("atlas-summary-panel")
        self.download = widgets.HTML()
        self.title = widgets.HTML()

        self.areas = ipyleaflet.GeoJSON(data={"type": "FeatureCollection", "features": []}, name="Areas (LSOAs)", hover_style={"weight": 2.5, "color": "#000000"})
        self.catchment_layer = ipyleaflet.GeoJSON(data={"type": "FeatureCollection", "features": []}, name="Catchment", hover_style={"weight": 2.5, "color": "#000000"})
        self.schools_layer = ipyleaflet.GeoJSON(
            data={"type": "FeatureCollection", "features": []},
            name="Schools",
            # markerPane: above the areas however often they are redrawn
            point_style={"radius": 6, "weight": 1.5, "fillOpacity": 0.95, "className": mapping.SCHOOL_CLASS, "pane": "markerPane"},
        )
        map_kwargs = dict(center=(51.5, -0.12), zoom=11, scroll_wheel_zoom=True, layout=widgets.Layout(height=map_height, width="100%"))
        self.map = ipyleaflet.Map(**map_kwargs)
        if not basemap:
            for base in list(self.map.layers):
                self.map.remove(base)
        self.map.add(self.areas)
        self.map.add(self.catchment_layer)
        self.map.add(self.schools_layer)
        self.map.add_class("atlas-map")

        controls = widgets.HBox([self.picker, self.phase, self.layer], layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        finder = widgets.HBox([self.search, self.search_button], layout=widgets.Layout(align_items="center"))
        # the side panel wraps below the map on a narrow screen (a phone): side by side, a 24em
        # panel left the map a few pixels wide
        side = widgets.VBox([self.legend, self.hover, self.summary, self.profile, self.download], layout=widgets.Layout(width="24em", max_width="100%", padding="0 0 0 0.8em"))
        side.add_class("atlas-side")
        map_box = widgets.Box([self.map], layout=widgets.Layout(flex="1 1 20em", min_width="min(20em, 100%)"))
        map_box.add_class("atlas-map-box")
        body = widgets.HBox([map_box, side], layout=widgets.Layout(width="100%", flex_flow="row wrap"))
        self.children = [self.title, controls, finder, self.status, body]

        self.picker.observe(self._on_authority_change, names="value")
        self.phase.observe(self._on_phase_change, names="value")
        self.layer.observe(self._on_layer_change, names="value")
        self.search.observe(self._on_search_submit, names="value")
        self.search_button.on_click(self._on_search_click)
        self.schools_layer.on_click(self._on_school_click)
        self.schools_layer.on_hover(self._on_school_hover)
        self.areas.on_click(self._on_area_click)
        self.areas.on_hover(self._on_area_hover)
        self.catchment_layer.on_click(self._on_area_click)
        self.catchment_layer.on_hover(self._on_area_hover)

        self._show_data(data)

    # ------------------------------------------------------------------ construction helpers

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
        kwargs.setdefault("school_directory", _store_school_directory)
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

    def _repr_mimebundle_(self, **kwargs):
        if "VOILA_BASE_URL" in os.environ:  # shown by Voilà: keep the kernel alive until the page draws it
            self.keep_alive_until_shown()
        return super()._repr_mimebundle_(**kwargs)

    def keep_alive_until_shown(self, every_s: float = KEEP_ALIVE_EVERY_S, max_s: float = KEEP_ALIVE_MAX_S) -> None:
        """Send a tiny message every few seconds until a browser has drawn the app (at most ``max_s``).

        Voilà culls a kernel that has no page connected and no activity for ``cull_idle_timeout``.
        Between the last cell and the page's websocket there is neither, and under load (10 pages
        at once on 2 cores) that gap passed 30 s: the kernel was culled under its page ("Kernel
        does not exist"). Each message counts as activity; the frontend's ``_view_count`` tells
        when the app is drawn. A page closed before it connected stops the messages after
        ``max_s``, and culling then reclaims the kernel.
        """
        if self._keep_alive is not None and self._keep_alive.is_alive():
            return
        started = time.monotonic()

        def beat():
            while not (self._view_count or 0) and time.monotonic() - started < max_s:
                time.sleep(every_s)
                if (self._view_count or 0) or self.comm is None:
                    break
                try:
                    self.send({"event": "keep-alive"})
                except Exception:  # noqa: BLE001 - a closing kernel: nothing to keep alive
                    break

        self._keep_alive = threading.Thread(target=beat, name="atlas-keep-alive", daemon=True)
        self._keep_alive.start()

    # ------------------------------------------------------------------ public actions

    def set_authority(self, text: str) -> None:
        """Show another authority, given its code, name or a picker label; bad input shows a message."""
        try:
            code = self._resolve(text)
        except UnknownAuthority as exc:
            self._show_unknown_authority(text, exc)
            return
        if self.data is not None and code == self.data.code:
            self._sync_picker()
            return
        self.show_message(f"Loading {self._code_to_label.get(code, code)}\u2026")
        self._show_data(self._load(code))

    def select_school(self, urn: int) -> None:
        """Show a school's profile and, on the catchment layer, where its pupils live."""
        urn = int(urn)
        rows = self.data.schools[self.data.schools["urn"] == urn]
        if rows.empty:
            raise UnknownSchool(f"URN {urn} is not a school of {self.data.name}")
        school = rows.iloc[0]
        self.selected_urn = urn
        self.selected_area = None
        self.profile.value = mapping.school_profile_html(school)
        phase = self.phase.value if str(school.get("phase")) == "all-through" else None
        self._catchment_values = None
        self.summary.value = ""
        problem = None
        try:
            catchment = self._catchment(self.data.flows, urn, phase)
            if catchment is None or len(catchment) == 0:
                raise UnknownSchool(f"no flow data for {school['school_name']}")
            self._catchment_values = (catchment, *mapping.catchment_values(catchment))
            summary = mapping.catchment_summary(catchment, self._own)
            self.summary.value = mapping.summary_html(str(school["school_name"]), summary)
        except (UnknownSchool, KeyError, ValueError) as exc:
            problem = f"No pupil-flow data for {school['school_name']} (URN {urn}): its catchment cannot be drawn."
            log.info("no catchment for %s: %s", urn, exc)
        if self._catchment_values is not None and self.layer.value != "catchment":
            self.layer.value = "catchment"  # observer redraws
        else:
            self._redraw()
        if problem:
            self.show_message(problem, error=True)
        else:
            self.show_message(f"{school['school_name']} selected." + (" Map: where its pupils live." if self._catchment_values is not None else ""))

    def select_area(self, code: str) -> None:
        """Show which schools the children of one area (LSOA) attend."""
        code = str(code).strip().upper()
        lsoas = self.data.lsoas
        rows = lsoas[lsoas["lsoa11_code"].astype(str) == code]
        if rows.empty:
            raise UnknownArea(f"{_echo(code)} is not an area (LSOA) of this map")
        name = str(rows.iloc[0].get("lsoa11_name", code))
        self.selected_area = code
        phase = self.phase.value
        try:
            dest = self._destinations(self.data.flows, code, phase, closed_urns=self._closed_urns())
        except (UnknownArea, KeyError, ValueError):
            dest = None
        if dest is None or len(dest) == 0:
            self._destination_urns = []
            self.summary.value = f'<div class="atlas-destinations"><h3 style="font-size:1em">{html.escape(name)}</h3><p>No {phase} pupil-flow data for this area.</p></div>'
            self.show_message(f"{name}: no {phase} pupil-flow data for this area.")
        else:
            names = self._school_names(dest["urn"])
            self._destination_urns = [int(u) for u in dest["urn"].head(10)]
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
            self.download.value = mapping.csv_download_html(self.table, f"atlas_{self.data.code}_{code}_{phase}_schools.csv",
                                                            label="Download this area's schools (CSV)")

    def _closed_urns(self) -> set[int]:
        """URNs of closed schools (the authority's, and England's when the school directory is there)."""
        if self._closed is None:
            frames = [self.data.schools]
            if self._school_directory is not None:
                try:
                    frames.append(self._school_directory())
                except Exception:  # noqa: BLE001 - a nicety: the authority's own schools still count
                    log.exception("school directory unavailable")
            closed: set[int] = set()
            for frame in frames:
                if "is_open" in frame:
                    shut = frame[frame["is_open"].fillna(True).astype(bool) == False]  # noqa: E712 - pandas mask
                    closed.update(int(u) for u in shut["urn"])
            self._closed = closed
        return self._closed

    def _school_names(self, urns) -> dict[int, str]:
        """Name each URN: the authority's schools by name, others by name and authority (from the directory); closed ones say so."""
        local = self.data.schools
        is_open = local["is_open"] if "is_open" in local else pd.Series(None, index=local.index, dtype=object)
        names = {int(u): f"{n}{_closed(o)}" for u, n, o in zip(local["urn"], local["school_name"].astype(str), is_open)}
        missing = {int(u) for u in urns} - set(names)
        if missing and self._school_directory is not None:
            if self._outside_names is None:
                try:
                    directory = self._school_directory()
                    authority = dict(zip(self._authorities["authority_code"], self._authorities["authority_name"]))
                    open_flags = directory["is_open"] if "is_open" in directory else pd.Series(None, index=directory.index, dtype=object)
                    self._outside_names = {
                        int(u): (f"{n} ({authority[a]})" if a in authority else str(n)) + _closed(o)
                        for u, n, a, o in zip(directory["urn"], directory["school_name"].astype(str), directory["authority_code"], open_flags)
                    }
                except Exception:  # noqa: BLE001 - names are a nicety: fall back to URNs
                    log.exception("school directory unavailable")
                    self._outside_names = {}
            names.update({u: self._outside_names[u] for u in missing if u in self._outside_names})
        return names

    def find(self, text: str) -> None:
        """Search schools by name, URN or postcode (or an LSOA code) and zoom to the best match."""
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
                self._zoom_to(point.y, point.x, 15)
            return
        hits = mapping.search_schools(self.data.schools, text)
        hits = hits[~(hits.geometry.is_empty | hits.geometry.isna())] if len(hits) else hits
        if len(hits) == 0:
            self.show_message(f"No school of {self.data.name} matches \u201c{_echo(text)}\u201d.", error=True)
            return
        best = hits.iloc[0]
        lonlat = hits.iloc[[0]].geometry.to_crs(4326).iloc[0]
        self._zoom_to(lonlat.y, lonlat.x, 15)
        self.select_school(int(best["urn"]))

    def show_message(self, text: str, error: bool = False) -> None:
        """Show one plain sentence in the status line (escaped; paths removed)."""
        self.message = public_message(text)
        colour = "#b00020" if error else "#1d1d1d"
        prefix = "Problem: " if error else ""
        self.status.value = f'<p role="status" aria-live="polite" style="margin:0.2em 0;color:{colour}">{html.escape(prefix + self.message)}</p>'

    def view_table(self) -> pd.DataFrame:
        """Return the table behind the current view (what the CSV download holds)."""
        return self.table.copy()

    def csv_text(self) -> str:
        """Return the current view's table as CSV text."""
        return self.table.to_csv(index=False)

    # ------------------------------------------------------------------ observers

    @_guarded
    def _on_authority_change(self, change) -> None:
        value = change["new"]
        if not value or (self.data is not None and self._code_to_label.get(self.data.code) == value):
            return
        self.set_authority(value)

    @_guarded
    def _on_phase_change(self, change) -> None:
        if self.selected_urn is not None and self.layer.value == "catchment":
            school = self.data.schools[self.data.schools["urn"] == self.selected_urn]
            if len(school) and str(school.iloc[0].get("phase")) == "all-through":
                self._draw_schools()
                self.select_school(self.selected_urn)
                return
        if self.selected_urn is not None:
            urn_phase = self.data.schools.loc[self.data.schools["urn"] == self.selected_urn, "phase"]
            if len(urn_phase) and str(urn_phase.iloc[0]) not in (change["new"], "all-through"):
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
        self.select_school(int(props["urn"]))

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

    def _resolve(self, text: str) -> str:
        value = str(text).strip()
        if value in self._label_to_code:
            return self._label_to_code[value]
        match = re.search(r"\(([EeWw]\d{8})\)\s*$", value)
        if match and match.group(1).upper() in self._code_to_label:
            return match.group(1).upper()
        if value.upper() in self._code_to_label:
            return value.upper()
        if self._resolver is None:
            raise UnknownAuthority(f"unknown authority {value!r}")
        return self._resolver(value)

    def _load(self, code: str):
        if self._loader is None:
            raise AtlasError("this app was built without a loader: it cannot switch authority")
        return self._loader(code)

    def _suggestions(self, text, exc: Exception) -> list[str]:
        """Authority names the user may have meant: the current authorities of a split old code, else close names."""
        codes = [c for c in re.findall(r"\b[EW]\d{8}\b", str(exc)) if c in self._code_to_label]
        names = dict(zip(self._authorities["authority_code"], self._authorities["authority_name"]))
        if "old code" in str(exc) and codes:
            return [names[c] for c in dict.fromkeys(codes)]
        value = _echo(text).strip()
        if len(value) < 3:
            return []
        from rapidfuzz import fuzz, process

        found = process.extract(value, list(names.values()), scorer=fuzz.WRatio, limit=3, score_cutoff=85)
        return [name for name, _, _ in found]

    def _show_unknown_authority(self, text, exc: Exception) -> None:
        shown = _echo(text)
        suggestions = self._suggestions(text, exc)
        if "old code" in str(exc) and suggestions:
            lead = f"\u201c{shown}\u201d is an old code that now covers {' and '.join(suggestions)}: choose one from the Authority list."
        else:
            hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
            lead = f"No education authority matches \u201c{shown}\u201d.{hint} Choose one from the Authority list (type a name or an ONS code such as E09000007)."
        self.show_message(f"{lead} Showing {self.data.name if self.data is not None else 'the default authority'}.", error=True)
        self._sync_picker()

    def _sync_picker(self) -> None:
        if self.data is None:
            return
        label = self._code_to_label.get(self.data.code, self.data.code)
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
        self._closed = None
        self._clear_selection()
        self._base = mapping.base_features(data.lsoas_display)
        own = data.lsoas["in_authority"] if "in_authority" in data.lsoas else pd.Series(True, index=data.lsoas.index)
        self._own = set(data.lsoas.loc[own.fillna(False).astype(bool), "lsoa11_code"].astype(str))
        names = data.lsoas["lsoa11_name"].astype(str) if "lsoa11_name" in data.lsoas else data.lsoas["lsoa11_code"].astype(str)
        self._area_names = dict(zip(data.lsoas["lsoa11_code"].astype(str), names))
        centre, zoom = mapping.zoom_for_bounds(mapping.view_bounds(data.lsoas_display))
        with self.map.hold_sync():
            self.map.center = centre
            self.map.zoom = zoom
        region = f", {data.region_name}" if getattr(data, "region_name", "") else ""
        self.title.value = (
            f"<style>{mapping.MAP_CSS}</style>"
            f'<h2 style="font-size:1.4em;margin:0.2em 0">Schools Atlas: {html.escape(str(data.name))}{html.escape(region)}</h2>'
            f'<p style="margin:0 0 0.3em 0">{len(self._own):,} small areas (LSOAs, about 1,500 residents each), {int(self._count_schools()):,} open state-funded schools. '
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

    def _count_schools(self) -> int:
        s = self.data.schools
        mask = pd.Series(True, index=s.index)
        for col in ("is_open", "is_state_funded"):
            if col in s:
                mask &= s[col].fillna(False).astype(bool)
        return int(mask.sum())

    def _zoom_to(self, lat: float, lon: float, zoom: int) -> None:
        with self.map.hold_sync():
            self.map.center = (float(lat), float(lon))
            self.map.zoom = zoom

    def _draw_schools(self) -> None:
        layer = self.layer.value
        collection = mapping.schools_collection(self.data.schools, self.phase.value, selected=self.selected_urn, highlight=self._destination_urns)
        if layer == "demand":
            util = mapping.utilisation(self.data.schools)
            schools = self.data.schools.drop_duplicates("urn").set_index("urn")
            pupils = pd.to_numeric(schools["pupils_2019"], errors="coerce")
            places = pd.to_numeric(schools["capacity_2015"], errors="coerce")
            for feature in collection["features"]:
                pct = util.get(feature["id"], np.nan)
                feature["properties"]["style"]["fillColor"] = mapping.utilisation_colour(pct)
                feature["properties"]["utilisation"] = None if not np.isfinite(pct) else round(float(pct))
                feature["properties"]["pupils"] = None if pd.isna(pupils.get(feature["id"])) else int(pupils[feature["id"]])
                feature["properties"]["places"] = None if pd.isna(places.get(feature["id"])) else int(places[feature["id"]])
        self._schools_mode = "demand" if layer == "demand" else "phase"
        with self.schools_layer.hold_sync():
            self.schools_layer.data = collection

    def _redraw(self) -> None:
        """Recolour the areas for the current layer and phase: one data replacement under hold_sync."""
        key = self.layer.value
        spec = mapping.LAYERS[key]
        labels = dashed = None
        colour_outside = False
        note = spec.note
        title = spec.label
        if key in ("children", "imd", "idaci"):
            values = mapping.layer_values(self.data.lsoas, key, self.phase.value)
            units = spec.units.format(ages="{}-{}".format(*mapping.PHASE_AGES[self.phase.value]), year=mapping.POPULATION_YEAR)
            classes = mapping.classify(values.where(values.index.isin(self._own)), key, units=units)
            table = self._area_table(values, values.name or key)
        elif key == "catchment":
            if self._catchment_values is None:
                values = pd.Series(np.nan, index=pd.Index(sorted(self._own), name="lsoa11_code"))
                classes = mapping.classify(values, key)
                table = pd.DataFrame(columns=["lsoa11_code", "lsoa11_name", "pupils", "source"])
                note = "Click a school (or search for one) to see where its pupils live. " + spec.note
            else:
                catchment, values, labels, dashed = self._catchment_values
                classes = mapping.classify(values, key)
                colour_outside = True
                school = self.data.schools.loc[self.data.schools["urn"] == self.selected_urn, "school_name"]
                title = f"{spec.label}: {school.iloc[0] if len(school) else self.selected_urn}"
                table = self._catchment_table(catchment)
        elif key == "demand":
            values = pd.Series(dtype="float64")
            classes = mapping.utilisation_classes()
            note = "School markers coloured by pupils on roll (January 2019) as a share of places (2015 net capacity)."
            table = mapping.utilisation_table(self.data.schools, self.phase.value)
        else:  # pragma: no cover - the dropdown offers only the keys above
            raise ValueError(f"unknown layer {key!r}")
        self.classes = classes
        if key == "catchment":
            # the base areas stay as they are, greyed by CSS; only the catchment's areas are sent
            overlay = (
                mapping.styled_collection(
                    self._base, values, classes, labels=labels, dashed=dashed, colour_outside=True, only_valued=True, css_class=mapping.CATCHMENT_CLASS, selected=self.selected_area
                )
                if self._catchment_values is not None
                else {"type": "FeatureCollection", "features": []}
            )
            with self.catchment_layer.hold_sync():
                self.catchment_layer.data = overlay
            self.map.add_class(mapping.DIM_CLASS)
        else:
            collection = mapping.styled_collection(self._base, values, classes, labels=labels, dashed=dashed, colour_outside=colour_outside, selected=self.selected_area)
            with self.areas.hold_sync():
                self.areas.data = collection
            if self.catchment_layer.data.get("features"):
                self.catchment_layer.data = {"type": "FeatureCollection", "features": []}
            self.map.remove_class(mapping.DIM_CLASS)
        if self._schools_mode != ("demand" if key == "demand" else "phase"):
            self._draw_schools()
        self.legend.value = mapping.legend_html(classes, title, note, dashed_note=(key == "catchment" and dashed is not None and bool(dashed.any())))
        self.table = table
        stem = f"atlas_{self.data.code}_{key}_{self.phase.value}" + (f"_{self.selected_urn}" if key == "catchment" and self.selected_urn else "")
        self.download.value = mapping.csv_download_html(table, stem + ".csv")

    def _area_table(self, values: pd.Series, column: str) -> pd.DataFrame:
        lsoas = self.data.lsoas
        frame = pd.DataFrame(
            {
                "lsoa11_code": lsoas["lsoa11_code"].astype(str).to_numpy(),
                "lsoa11_name": lsoas["lsoa11_name"].astype(str).to_numpy() if "lsoa11_name" in lsoas else lsoas["lsoa11_code"].astype(str).to_numpy(),
                "in_authority": lsoas["in_authority"].fillna(False).astype(bool).to_numpy() if "in_authority" in lsoas else True,
            }
        )
        frame[column] = frame["lsoa11_code"].map(values).to_numpy()
        return frame[frame["in_authority"]].drop(columns="in_authority").reset_index(drop=True)

    def _catchment_table(self, catchment: pd.DataFrame) -> pd.DataFrame:
        shown = mapping.disclose_flows(catchment)
        hidden = shown["pupils_shown"].isna()
        out = pd.DataFrame(
            {
                "urn": self.selected_urn,
                "lsoa11_code": shown["lsoa11_code"].astype(str).to_numpy(),
                "lsoa11_name": shown["lsoa11_code"].astype(str).map(self._area_names).to_numpy(),
                "in_authority": shown["lsoa11_code"].astype(str).isin(self._own).to_numpy(),
                "pupils": shown["pupils_shown"].to_numpy(),
                "pupils_label": shown["pupils_label"].to_numpy(),
                "share": shown["share"].where(~hidden).round(4).to_numpy() if "share" in shown else np.nan,
                "distance_km": pd.to_numeric(shown["distance_km"], errors="coerce").round(2).to_numpy(),
                "source": shown["source"].astype(str).to_numpy(),
            }
        )
        return out
