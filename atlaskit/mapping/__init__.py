"""Pure map-building functions for the Atlas app: values, classes, colours, GeoJSON, legends.

Nothing here creates a widget or reads a file. The app (:mod:`atlaskit.app`) calls these and
hands the results to ONE ipyleaflet ``GeoJSON`` layer whose features carry their colours in
``properties.style`` (see DESIGN.md section 4: ``Choropleth`` rebuilds and resends its data on
every change; a precomputed style is sent once).

    >>> import atlaskit, atlaskit.mapping as mp
    >>> camden = atlaskit.load("E09000007")                          # doctest: +SKIP
    >>> base = mp.base_features(camden.lsoas_display)                # doctest: +SKIP
    >>> values = mp.layer_values(camden.lsoas, "children", "primary")  # doctest: +SKIP
    >>> classes = mp.classify(values, "children")                    # doctest: +SKIP
    >>> collection = mp.styled_collection(base, values, classes)     # doctest: +SKIP

Geometry reaching the browser comes from the store's ``lsoas_display`` table: coverage-simplified
in metres, then EPSG:4326 with 5 decimals (about 1 m), so hover and click events stay small.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "LAYERS",
    "PHASES",
    "PHASE_AGES",
    "LayerSpec",
    "Classes",
    "LegendItem",
    "children_of_phase",
    "layer_values",
    "classify",
    "quantile_bins",
    "bin_values",
    "base_features",
    "styled_collection",
    "legend_items",
    "legend_html",
    "schools_collection",
    "school_profile",
    "school_profile_html",
    "disclose_flows",
    "catchment_values",
    "catchment_summary",
    "summary_html",
    "destinations_html",
    "search_schools",
    "normalise_postcode",
    "view_bounds",
    "zoom_for_bounds",
    "csv_download_html",
    "utilisation",
    "utilisation_text",
]

#: The two phases the app switches between.
PHASES = ("primary", "secondary")

#: School-age years of each phase (reception to year 6, year 7 to year 11), inclusive ages.
PHASE_AGES: dict[str, tuple[int, int]] = {"primary": (4, 10), "secondary": (11, 15)}

#: Population year of the children-of-school-age layer (the store holds mid-2019 and mid-2020).
POPULATION_YEAR = 2019

#: Observed counts below this are never shown (publisher's suppression threshold).
MIN_OBSERVED_PUPILS = 3

# Colour-blind-safe ColorBrewer ramps (5 classes; deprivation in 10 deciles).
_BLUES = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
_PURPLES = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"]
# Decile 1 is the most deprived 10% of England: darkest.
_DECILES = ["#7f0000", "#b30000", "#d7301f", "#ef6548", "#fc8d59", "#fdbb84", "#fdd49e", "#fee8c8", "#fff7ec", "#fffff4"]
# Demand minus capacity: shortfall red, surplus blue (diverging, 5 classes).
_DIVERGING = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"]

#: Fill of areas with no value, and of neighbouring areas outside the authority.
NO_DATA_COLOUR = "#d9d9d9"
OUTSIDE_FILL_OPACITY = 0.25
INSIDE_FILL_OPACITY = 0.7

#: Marker colours of schools by phase (Okabe-Ito palette).
PHASE_COLOURS: dict[str, str] = {
    "primary": "#009E73",
    "secondary": "#0072B2",
    "all-through": "#D55E00",
    "special": "#CC79A7",
    "16 plus": "#E69F00",
    "nursery": "#56B4E9",
    "pru": "#999999",
    "other": "#999999",
}

#: Decimal places of longitude/latitude sent to the browser (4: about 10 m; bytes matter).
DISPLAY_DECIMALS = 4

#: CSS classes given to the SVG paths (tests and benchmarks count them).
AREA_CLASS = "atlas-lsoa"
OUTSIDE_AREA_CLASS = "atlas-lsoa-outside"
SCHOOL_CLASS = "atlas-school"
CATCHMENT_CLASS = "atlas-catchment"
#: CSS class put on the map while a catchment overlay shows: the base areas turn neutral grey in
#: the browser (no geometry resent), only the catchment's areas are sent.
DIM_CLASS = "atlas-dim"
MAP_CSS = (
    f".{DIM_CLASS} path.{AREA_CLASS} {{ fill: {'#d9d9d9'} !important; fill-opacity: 0.45 !important; }}"
    f" .{DIM_CLASS} path.{CATCHMENT_CLASS} {{ fill-opacity: 0.85; }}"
)

#: What each flow source means, in the words the app and its panels use.
SOURCE_TEXT = {
    "observed": "published counts (London Schools Atlas, January 2015)",
    "modelled": "modelled estimate",
}

#: Official pages of a school, by URN.
SCHOOL_LINKS = (
    ("Get Information about Schools", "https://get-information-schools.service.gov.uk/Establishments/Establishment/Details/{urn}"),
    ("School performance", "https://www.compare-school-performance.service.gov.uk/school/{urn}"),
    ("Ofsted reports", "https://reports.ofsted.gov.uk/provider/21/{urn}"),
)


@dataclass(frozen=True)
class LayerSpec:
    """One choosable map layer.

    Attributes:
        key: identifier used by the app (``children``, ``imd``, ``idaci``, ``catchment``, ``demand``).
        label: the name shown in the layer picker.
        units: what a value means, shown in the legend.
        scheme: mapclassify scheme (``Quantiles``, or ``UserDefined`` for fixed deciles).
        colours: the colour ramp, one colour per class (low to high).
        note: a sentence under the legend (sources, caveats).
    """

    key: str
    label: str
    units: str
    scheme: str
    colours: tuple[str, ...]
    note: str = ""


LAYERS: dict[str, LayerSpec] = {
    "children": LayerSpec(
        "children",
        "Children of school age",
        "children aged {ages} (mid-{year})",
        "Quantiles",
        tuple(_BLUES),
        "ONS small-area population estimates; classes are quintiles of this authority's areas.",
    ),
    "imd": LayerSpec(
        "imd",
        "Deprivation (IMD decile)",
        "IMD 2019 decile (1 = most deprived 10% in England)",
        "UserDefined",
        tuple(_DECILES),
        "English Indices of Deprivation 2019.",
    ),
    "idaci": LayerSpec(
        "idaci",
        "Child poverty (IDACI decile)",
        "IDACI 2019 decile (1 = most deprived 10% in England)",
        "UserDefined",
        tuple(_DECILES),
        "Income Deprivation Affecting Children Index 2019.",
    ),
    "catchment": LayerSpec(
        "catchment",
        "Pupils of the selected school",
        "pupils living in each area",
        "Quantiles",
        tuple(_PURPLES),
        "Solid outline: observed (published counts, fewer than 3 not shown). "
        "Dashed outline: modelled estimate, rounded.",
    ),
    "demand": LayerSpec(
        "demand",
        "Demand vs capacity",
        "children minus places nearby (positive = shortfall)",
        "Quantiles",
        tuple(_DIVERGING),
        "Modelled estimate.",
    ),
}


@dataclass(frozen=True)
class LegendItem:
    """One legend row: a colour swatch and its text."""

    colour: str
    label: str
    dashed: bool = False


@dataclass(frozen=True)
class Classes:
    """The classification of one layer's values.

    Attributes:
        layer: the layer key.
        bins: upper bound of each class (mapclassify's rules), ascending.
        colours: one colour per class.
        labels: one legend label per class.
        units: text for the legend heading.
        yb: class index of each value (-1 where the value is missing), aligned to ``index``.
        index: the lsoa11 codes the values belong to.
    """

    layer: str
    bins: tuple[float, ...]
    colours: tuple[str, ...]
    labels: tuple[str, ...]
    units: str
    yb: np.ndarray = field(repr=False)
    index: pd.Index = field(repr=False)

    def colour_of(self) -> pd.Series:
        """Return the fill colour of each area (``NO_DATA_COLOUR`` where missing), by lsoa11 code."""
        palette = np.array(list(self.colours) + [NO_DATA_COLOUR], dtype=object)
        return pd.Series(palette[np.where(self.yb < 0, len(self.colours), self.yb)], index=self.index)


# ---------------------------------------------------------------------------------------------
# values


def children_of_phase(lsoas: pd.DataFrame, phase: str, year: int = POPULATION_YEAR) -> pd.Series:
    """Return the number of children of the phase's school ages living in each LSOA.

    Args:
        lsoas: the authority's LSOAs with ``lsoa11_code`` and ``age_<n>_<year>`` columns.
        phase: ``"primary"`` (ages 4-10) or ``"secondary"`` (ages 11-15).
        year: population year (2019 or 2020).

    Returns:
        Float Series of children, indexed by ``lsoa11_code``.

    Raises:
        ValueError: an unknown phase, or the age columns are missing (names the first one).
    """
    if phase not in PHASE_AGES:
        raise ValueError(f"phase must be one of {', '.join(PHASE_AGES)}, not {phase!r}")
    low, high = PHASE_AGES[phase]
    columns = [f"age_{age}_{year}" for age in range(low, high + 1)]
    missing = [c for c in columns if c not in lsoas.columns]
    if missing:
        raise ValueError(f"LSOA table has no column {missing[0]!r} (children by age for {year})")
    values = lsoas[columns].astype("float64").sum(axis=1, min_count=1)
    return pd.Series(values.to_numpy(), index=pd.Index(lsoas["lsoa11_code"].astype(str), name="lsoa11_code"), name="children")


def layer_values(lsoas: pd.DataFrame, layer: str, phase: str = "primary") -> pd.Series:
    """Return the values of a context layer for each LSOA (not the catchment or demand layers).

    Args:
        lsoas: the authority's LSOAs (store ``lsoas`` columns).
        layer: ``"children"``, ``"imd"`` or ``"idaci"``.
        phase: the phase whose school ages count (``children`` layer only).

    Returns:
        Float Series indexed by ``lsoa11_code`` (NaN where unknown).

    Raises:
        ValueError: an unknown layer, or a layer that needs other inputs.
    """
    index = pd.Index(lsoas["lsoa11_code"].astype(str), name="lsoa11_code")
    if layer == "children":
        return children_of_phase(lsoas, phase)
    if layer in ("imd", "idaci"):
        column = f"{layer}_decile"
        if column not in lsoas.columns:
            raise ValueError(f"LSOA table has no column {column!r}")
        return pd.Series(pd.to_numeric(lsoas[column], errors="coerce").astype("float64").to_numpy(), index=index, name=column)
    raise ValueError(f"layer {layer!r} is not a context layer; choose children, imd or idaci")


def _format_number(value: float) -> str:
    if not np.isfinite(value):
        return "?"
    if abs(value - round(value)) < 1e-9 or abs(value) >= 100:
        return f"{round(value):,}"
    return f"{value:,.1f}"


def quantile_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Return the upper bounds of ``k`` quantile classes, exactly as ``mapclassify.Quantiles`` computes them.

    mapclassify's algorithm (``classifiers.quantile``: percentiles at ``100/k, 200/k ... 100`` with
    linear interpolation, duplicates collapsed) in numpy alone: importing mapclassify pulls in
    ``scipy.stats`` and ``matplotlib.pyplot`` (about 4 s per kernel on this machine, most of a
    Voilà kernel's start-up). ``tests/test_mapping.py`` checks the two agree.
    """
    w = 100.0 / k
    pct = np.arange(w, 100 + w, w)
    pct[-1] = min(pct[-1], 100.0)
    return np.unique(np.percentile(values, pct[:k]))


def bin_values(values: np.ndarray, bins: Sequence[float]) -> np.ndarray:
    """Return each value's class (``bins`` are upper bounds, as ``mapclassify.classifiers.bin1d``)."""
    bounds = np.asarray(bins, dtype="float64")
    return np.minimum(np.searchsorted(bounds, values, side="left"), len(bounds) - 1)


def classify(values: pd.Series, layer: str, k: int = 5, units: str | None = None) -> Classes:
    """Classify a layer's values (mapclassify's Quantiles / UserDefined rules) with colours and legend labels.

    Args:
        values: one value per area, indexed by ``lsoa11_code`` (NaN = no data).
        layer: a key of :data:`LAYERS` (chooses scheme, colours and units).
        k: number of classes for data-driven schemes (reduced when there are fewer distinct values).
        units: legend heading (default: the layer's units).

    Returns:
        :class:`Classes`.

    Raises:
        ValueError: an unknown layer.
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; choose one of {', '.join(LAYERS)}")
    spec = LAYERS[layer]
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    arr = numeric.to_numpy()
    finite = np.isfinite(arr)
    yb = np.full(len(arr), -1, dtype=int)
    heading = units if units is not None else spec.units
    if spec.scheme == "UserDefined":  # deciles 1..10, fixed classes
        bins = tuple(float(b) for b in range(1, 11))
        if finite.any():
            yb[finite] = bin_values(arr[finite], bins)
        labels = tuple(["1 (most deprived)"] + [str(b) for b in range(2, 10)] + ["10 (least deprived)"])
        return Classes(layer, bins, spec.colours, labels, heading, yb, numeric.index)
    present = arr[finite]
    if present.size == 0:
        return Classes(layer, (), (), (), heading, yb, numeric.index)
    n = int(min(k, len(spec.colours)))
    raw = quantile_bins(present, n)
    whole = bool(np.all(present == np.round(present)))
    if whole:
        # counts (children, pupils): interpolated bounds such as 94.8 become whole numbers. For
        # whole values "v <= 94.8" is "v <= 94", so every value keeps its class; a class that
        # holds no whole number (between 3 and 3.4) disappears.
        raw = np.unique(np.floor(raw))
    bins = tuple(float(b) for b in raw)
    yb[finite] = bin_values(present, bins)
    colours = _pick_colours(spec.colours, len(bins))
    labels = []
    if whole:
        lower = [float(present.min())] + [b + 1 for b in bins[:-1]]
        for lo, hi in zip(lower, bins):
            labels.append(_format_number(hi) if lo >= hi else f"{_format_number(lo)} to {_format_number(hi)}")
    else:
        lower = [float(present.min())] + list(bins[:-1])
        for i, (lo, hi) in enumerate(zip(lower, bins)):
            if i == 0:
                labels.append(_format_number(hi) if lo == hi else f"{_format_number(lo)} to {_format_number(hi)}")
            else:
                labels.append(f"over {_format_number(lo)} to {_format_number(hi)}")
    return Classes(layer, bins, colours, tuple(labels), heading, yb, numeric.index)


def _pick_colours(ramp: Sequence[str], n: int) -> tuple[str, ...]:
    """Spread ``n`` colours over a ramp (keeping its ends)."""
    if n >= len(ramp):
        return tuple(ramp)
    if n == 1:
        return (ramp[-1],)
    positions = np.linspace(0, len(ramp) - 1, n).round().astype(int)
    return tuple(ramp[p] for p in positions)


# ---------------------------------------------------------------------------------------------
# GeoJSON


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
    # 4 decimals (about 10 m) is finer than a screen pixel at the zooms an authority is viewed at;
    # shared vertices of neighbouring areas round identically, so the coverage stays gap-free.
    rounded = shapely.transform(display.geometry.values, lambda xy: np.round(xy, decimals))
    geometries = shapely.to_geojson(rounded, indent=None)
    import json

    features = []
    for code, own, geo in zip(codes, inside, geometries):
        features.append({"type": "Feature", "id": code, "geometry": json.loads(geo), "properties": {"lsoa11_code": code, "in_authority": own}})
    return features


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
        classes: their classification (:func:`classify`).
        labels: optional text per area replacing the formatted value (e.g. "fewer than 3").
        dashed: optional bool per area: draw a dashed outline (modelled estimates).
        colour_outside: also send neighbouring areas that have a value (catchments reach across
            the border); otherwise only the authority's own areas are sent (fewer bytes).
        selected: an lsoa11 code drawn with a thick outline.
        only_valued: send only the areas that have a value (a catchment overlay).
        css_class: CSS class of every path instead of the inside/outside area classes.

    Returns:
        GeoJSON FeatureCollection dict.
    """
    colour = classes.colour_of()
    colour_map = colour.to_dict()
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
        fill = colour_map.get(code, NO_DATA_COLOUR)
        text = label_map.get(code)
        if text is None:
            text = _format_number(float(value)) if has_value else "no data"
        features.append(
            {
                "type": "Feature",
                "id": code,
                "geometry": feature["geometry"],
                "properties": {
                    "lsoa11_code": code,
                    "in_authority": inside,
                    "value": float(value) if has_value else None,
                    "label": text,
                    "style": _area_style(fill, inside, bool(dash_map.get(code, False)), code == selected, strong=inside or colour_outside),
                },
            }
        )
        if css_class:
            features[-1]["properties"]["style"]["className"] = css_class if inside else f"{css_class} {css_class}-outside"
    return {"type": "FeatureCollection", "features": features}


#: Legend text of the grey swatch, by layer (what grey means there).
NO_DATA_LABELS = {
    "catchment": "no pupils shown (none, fewer than 3 observed, or under 1 estimated)",
    "demand": "roll or capacity not published",
}
DEFAULT_NO_DATA_LABEL = "no data"


def legend_items(classes: Classes, dashed_note: bool = False) -> list[LegendItem]:
    """Return the legend rows of a classification (plus "no data", and the modelled swatch)."""
    items = [LegendItem(c, label) for c, label in zip(classes.colours, classes.labels)]
    items.append(LegendItem(NO_DATA_COLOUR, NO_DATA_LABELS.get(classes.layer, DEFAULT_NO_DATA_LABEL)))
    if dashed_note:
        items.append(LegendItem("#ffffff", "modelled estimate (dashed outline)", dashed=True))
    return items


def legend_html(classes: Classes, title: str, note: str = "", dashed_note: bool = False) -> str:
    """Return an accessible HTML legend (a titled list, colours with text, never colour alone)."""
    rows = []
    for item in legend_items(classes, dashed_note):
        border = "2px dashed #333" if item.dashed else "1px solid #555"
        rows.append(
            f'<li><span aria-hidden="true" style="display:inline-block;width:1.4em;height:1em;margin-right:0.5em;'
            f'vertical-align:middle;background:{item.colour};border:{border}"></span>{html.escape(item.label)}</li>'
        )
    note_html = f'<p style="margin:0.3em 0 0 0;font-size:0.9em">{html.escape(note)}</p>' if note else ""
    return (
        f'<div class="atlas-legend"><h3 style="font-size:1em;margin:0 0 0.3em 0">{html.escape(title)}</h3>'
        f'<p style="margin:0 0 0.3em 0;font-size:0.9em">{html.escape(classes.units)}</p>'
        f'<ul style="list-style:none;padding:0;margin:0">{"".join(rows)}</ul>{note_html}</div>'
    )


# ---------------------------------------------------------------------------------------------
# schools


def _phase_filter(phase: str | None) -> set[str] | None:
    if phase is None:
        return None
    return {phase, "all-through"}


def _to_lonlat(schools: pd.DataFrame) -> pd.DataFrame:
    """Return the schools' longitude/latitude (EPSG:4326) as columns ``lon``/``lat``."""
    import geopandas as gpd

    if not isinstance(schools, gpd.GeoDataFrame) or schools.crs is None:
        raise ValueError("schools must be a GeoDataFrame with a CRS (EPSG:27700 points)")
    located = schools[~(schools.geometry.is_empty | schools.geometry.isna())]
    lonlat = located.geometry.to_crs(4326)
    out = pd.DataFrame(located.drop(columns=located.geometry.name))
    out["lon"] = lonlat.x.round(5).to_numpy()
    out["lat"] = lonlat.y.round(5).to_numpy()
    return out


def schools_collection(schools: pd.DataFrame, phase: str | None = None, selected: int | None = None, highlight: Sequence[int] = ()) -> dict:
    """Return open state-funded schools of a phase (and all-through ones) as GeoJSON points.

    Args:
        schools: GeoDataFrame of the authority's schools (EPSG:27700 points).
        phase: ``"primary"`` or ``"secondary"`` (all-through schools are in both); None for all.
        selected: the URN drawn larger, outlined black.
        highlight: URNs drawn larger (e.g. where an area's children go).

    Returns:
        GeoJSON FeatureCollection (EPSG:4326); ``id`` and ``properties.urn`` are the URN,
        ``properties.style`` holds the marker colours (phase) and radius.
    """
    frame = schools
    if "is_open" in frame:
        frame = frame[frame["is_open"].fillna(False).astype(bool)]
    if "is_state_funded" in frame:
        frame = frame[frame["is_state_funded"].fillna(False).astype(bool)]
    keep = _phase_filter(phase)
    if keep is not None and "phase" in frame:
        frame = frame[frame["phase"].astype(str).isin(keep)]
    points = _to_lonlat(frame)
    marked = {int(u) for u in highlight}
    features = []
    for row in points.itertuples(index=False):
        urn = int(row.urn)
        kind = str(getattr(row, "phase", "other"))
        is_selected = selected is not None and urn == int(selected)
        big = is_selected or urn in marked
        features.append(
            {
                "type": "Feature",
                "id": urn,
                "geometry": {"type": "Point", "coordinates": [float(row.lon), float(row.lat)]},
                "properties": {
                    "urn": urn,
                    "name": str(row.school_name),
                    "phase": kind,
                    "style": {
                        "fillColor": PHASE_COLOURS.get(kind, PHASE_COLOURS["other"]),
                        "color": "#000000" if is_selected else "#ffffff",
                        "weight": 3 if is_selected else 1.5,
                        "radius": 9 if big else 6,
                        "className": f"{SCHOOL_CLASS} {SCHOOL_CLASS}-{urn}",
                    },
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _clean(value) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


#: Profile labels of the school results, in plain words (key stage names explained).
PROFILE_KS2 = "Age 11 tests (KS2, 2018): pupils at the expected standard in reading, writing and maths"
PROFILE_ATTAINMENT8 = "GCSE results: Attainment 8 score (2018; out of 90)"
PROFILE_PROGRESS8 = "GCSE progress: Progress 8 score (2018; 0 = England average, above 0 = better)"


def school_profile(school: pd.Series | dict) -> dict[str, str]:
    """Return a school's profile as ordered label -> text (missing values say "not published").

    Args:
        school: one row of the store's ``schools`` table.

    Returns:
        dict of display label to text.
    """
    get = school.get

    def num(key, fmt="{:,.0f}"):
        value = get(key)
        try:
            if value is None or pd.isna(value):
                return "not published"
        except (TypeError, ValueError):
            return str(value)
        return fmt.format(float(value))

    profile = {
        "URN (school reference number)": str(int(get("urn"))),
        "Type": _clean(get("establishment_type")) or "not published",
        "Phase": _clean(get("phase")) or "not published",
        "Pupils on roll (January 2019)": num("pupils_2019"),
        "Places (capacity, 2015)": num("capacity_2015"),
        "Ofsted rating": _clean(get("ofsted_rating")) or "not published",
    }
    if get("phase") in ("primary", "all-through") or _clean(get("ks2_rwm_expected_pct")):
        profile[PROFILE_KS2] = num("ks2_rwm_expected_pct", "{:.0f}%")
    if get("phase") in ("secondary", "all-through") or _clean(get("ks4_attainment8")):
        profile[PROFILE_ATTAINMENT8] = num("ks4_attainment8", "{:.1f}")
        profile[PROFILE_PROGRESS8] = num("ks4_progress8", "{:+.2f}")
    if _clean(get("postcode")):
        profile["Postcode"] = str(get("postcode"))
    return profile


def _rows_html(rows) -> str:
    """Return label/value pairs as a two-column table (row headers), escaped."""
    body = "".join(
        f'<tr><th scope="row" style="text-align:left;vertical-align:top;padding:0 0.6em 0.2em 0">{html.escape(str(k))}</th>'
        f'<td style="vertical-align:top;padding:0 0 0.2em 0">{html.escape(str(v))}</td></tr>'
        for k, v in rows
    )
    return f'<table style="border-collapse:collapse;margin:0"><tbody>{body}</tbody></table>'


def school_profile_html(school: pd.Series | dict) -> str:
    """Return the profile panel of a school as escaped HTML (a heading, a definition list, links)."""
    name = html.escape(_clean(school.get("school_name")) or "School")
    items = _rows_html(school_profile(school).items())
    urn = int(school.get("urn"))
    links = "".join(
        f'<li><a href="{html.escape(url.format(urn=urn))}" target="_blank" rel="noopener noreferrer">{html.escape(label)}</a></li>' for label, url in SCHOOL_LINKS
    )
    return f'<div class="atlas-profile"><h3 style="font-size:1.1em;margin:0 0 0.3em 0">{name}</h3>{items}<ul>{links}</ul></div>'


# ---------------------------------------------------------------------------------------------
# flows shown on the map


def disclose_flows(flows: pd.DataFrame) -> pd.DataFrame:
    """Return flows safe to show: observed counts under 3 hidden, modelled values rounded and labelled.

    Uses :mod:`atlaskit.disclosure` when present; otherwise applies the same rule here.

    Args:
        flows: rows with ``pupils`` and ``source`` (``observed``/``modelled``), optionally
            ``suppressed``.

    Returns:
        A copy with ``pupils_shown`` (float, NaN where hidden) and ``pupils_label`` (text:
        ``"12"``, ``"fewer than 3"``, ``"about 4 (estimate)"``).
    """
    try:  # the project's disclosure rules, when that module is present
        from atlaskit.analysis.disclosure import disclose
    except ImportError:  # pragma: no cover - same rule, applied here
        disclose = None
    out = flows.copy()
    source = out["source"].astype(str)
    observed = source.eq("observed").to_numpy()
    if disclose is not None:
        safe = disclose(out[["pupils", "source"] + (["suppressed"] if "suppressed" in out else [])])
        shown = pd.to_numeric(safe["pupils"], errors="coerce").astype("float64")
        hidden = safe["suppressed"].fillna(False).to_numpy(dtype=bool) | (observed & shown.isna().to_numpy())
        shown = shown.where(~hidden)
    else:
        pupils = pd.to_numeric(out["pupils"], errors="coerce").astype("float64")
        hidden = observed & (pupils.isna() | (pupils < MIN_OBSERVED_PUPILS)).to_numpy()
        if "suppressed" in out:
            hidden |= observed & out["suppressed"].fillna(False).to_numpy(dtype=bool)
        shown = pupils.where(~hidden).where(observed, pupils.round())
    shown = pd.Series(shown.to_numpy(), index=out.index)
    whole = shown.fillna(0).round().astype(int).astype(str)
    # a modelled value that rounds to 0 is a fraction of a pupil: "about 0" reads as an error
    estimate = np.where(whole.eq("0").to_numpy(), "fewer than 1 (estimate)", "about " + whole + " (estimate)")
    labels = np.where(hidden, f"fewer than {MIN_OBSERVED_PUPILS}", np.where(observed, whole, estimate))
    out["pupils_shown"] = shown
    out["pupils_label"] = labels
    return out


def catchment_values(catchment: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Split a school's catchment into map values, labels and the modelled flag, by lsoa11 code.

    Args:
        catchment: output of ``atlaskit.flows.school_catchment`` (lsoa11_code, pupils, source, ...).

    Returns:
        (values, labels, modelled): values are disclosed pupils, NaN where hidden and where a
        modelled estimate rounds to 0 (those areas are not coloured: "fewer than 1 (estimate)").
        Rows without an area (an observed school's suppressed remainder) are left out.
    """
    shown = disclose_flows(catchment)
    shown = shown[shown["lsoa11_code"].notna()]
    shown = shown.groupby("lsoa11_code", sort=False).agg(
        pupils_shown=("pupils_shown", lambda s: s.sum(min_count=1)),
        pupils_label=("pupils_label", "first"),
        source=("source", "first"),
    )
    index = pd.Index(shown.index.astype(str), name="lsoa11_code")
    pupils = shown["pupils_shown"].where(shown["pupils_shown"].round() >= 1)
    values = pd.Series(pupils.to_numpy(), index=index, name="pupils")
    labels = pd.Series(shown["pupils_label"].to_numpy(), index=index, name="label")
    modelled = pd.Series(shown["source"].astype(str).ne("observed").to_numpy(), index=index, name="modelled")
    return values, labels, modelled


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    if not ok.any():
        return float("nan")
    order = np.argsort(values[ok], kind="stable")
    v, w = values[ok][order], weights[ok][order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, cum[-1] / 2.0)])


def catchment_summary(catchment: pd.DataFrame, own_lsoas: set[str] | Sequence[str]) -> dict:
    """Summarise where a school's pupils live.

    Args:
        catchment: output of ``school_catchment`` (lsoa11_code, pupils, distance_km, source).
        own_lsoas: the authority's own LSOA codes (to measure the share from outside it).

    Returns:
        dict with ``pupils`` (rounded total of the rows that may be shown: observed counts under
        3 are left out, modelled ones rounded), ``median_distance_km`` (pupil-weighted),
        ``share_outside`` (0-1), ``areas`` (areas shown with pupils: observed counts under 3,
        modelled estimates under 1 pupil and the suppressed remainder, which has no area, are
        not counted), ``source`` (``observed``, ``modelled`` or ``observed and modelled``) and
        ``estimate`` (True when any modelled row counts).
    """
    own = set(own_lsoas)
    # counts hidden by disclosure (observed under 3) are left out of every figure shown
    disclosed = disclose_flows(catchment)
    pupils = disclosed["pupils_shown"].fillna(0.0).to_numpy(dtype="float64")
    lives_there = catchment["lsoa11_code"].notna().to_numpy() & (np.round(pupils) >= 1)
    areas = int(catchment.loc[lives_there, "lsoa11_code"].astype(str).nunique())
    distance = pd.to_numeric(catchment["distance_km"], errors="coerce").to_numpy(dtype="float64")
    total = float(pupils.sum())
    outside = float(pupils[~catchment["lsoa11_code"].astype(str).isin(own).to_numpy()].sum())
    sources = sorted(set(catchment["source"].astype(str)))
    return {
        "pupils": int(round(total)),
        "median_distance_km": _weighted_median(distance, pupils),
        "share_outside": outside / total if total > 0 else float("nan"),
        "areas": areas,
        "source": " and ".join(sources) if sources else "none",
        "estimate": "modelled" in sources,
    }


def summary_html(school_name: str, summary: dict) -> str:
    """Return the catchment summary panel as escaped HTML."""
    est = " (estimate)" if summary.get("estimate") else ""
    median = summary.get("median_distance_km", float("nan"))
    share = summary.get("share_outside", float("nan"))
    median_text = f"{median:.1f} km" if np.isfinite(median) else "not known"
    share_text = f"{share * 100:.0f}%" if np.isfinite(share) else "not known"
    sources = [SOURCE_TEXT.get(part, part) for part in str(summary.get("source", "")).split(" and ") if part]
    rows = [
        ("Pupils mapped", f"{summary.get('pupils', 0):,}{est}"),
        ("Median distance from home", median_text),
        ("From outside the authority", share_text),
        ("Areas with pupils shown", f"{summary.get('areas', 0):,}"),
        ("Source", "; ".join(sources) or "not known"),
    ]
    items = _rows_html(rows)
    return f'<div class="atlas-summary"><h3 style="font-size:1em;margin:0 0 0.3em 0">Where pupils of {html.escape(school_name)} live</h3>{items}</div>'


def destinations_html(area_label: str, destinations: pd.DataFrame, names: dict[int, str], limit: int = 10, note: str = "") -> str:
    """Return an HTML table of the schools an area's children attend (disclosed counts).

    Schools whose modelled estimate rounds to 0 pupils are not listed (they are counted in one
    line under the table); an observed count under 3 shows neither its count nor its share.

    Args:
        area_label: the area's name or code.
        destinations: output of ``atlaskit.flows.area_destinations``.
        names: school name by URN (a URN missing from it is shown as "school URN 123456").
        limit: rows shown.
        note: a sentence under the table (e.g. which schools are listed).
    """
    disclosed = disclose_flows(destinations)
    observed = disclosed["source"].astype(str).eq("observed")
    listed = disclosed[observed | (disclosed["pupils_shown"].round() >= 1)]
    tiny = len(disclosed) - len(listed)
    shown = listed.head(limit)
    more = len(listed) - len(shown)

    def share_text(r) -> str:
        if pd.isna(r.pupils_shown) or pd.isna(r.share):
            return "not shown"
        return f"{r.share * 100:.0f}%"

    def distance_text(value) -> str:
        return f"{value:.1f}" if pd.notna(value) else "not known"

    body = "".join(
        f"<tr><td>{html.escape(names.get(int(r.urn)) or f'school URN {int(r.urn)}')}</td><td>{html.escape(str(r.pupils_label))}</td>"
        f"<td>{share_text(r)}</td><td>{distance_text(r.distance_km)}</td></tr>"
        for r in shown.itertuples(index=False)
    )
    extra = []
    if more:
        extra.append(f"{more:,} more school{'s' if more != 1 else ''} with fewer pupils.")
    if tiny:
        extra.append(f"{tiny:,} other school{'s' if tiny != 1 else ''} with fewer than 1 pupil each (estimate) not listed.")
    if note:
        extra.append(note)
    foot = "".join(f'<p style="margin:0.3em 0 0 0;font-size:0.9em">{html.escape(t)}</p>' for t in extra)
    return (
        f'<div class="atlas-destinations"><h3 style="font-size:1em;margin:0 0 0.3em 0">Schools the children of {html.escape(area_label)} attend</h3>'
        '<table><thead><tr><th scope="col">School</th><th scope="col">Pupils</th><th scope="col">Share of the area\'s pupils</th>'
        '<th scope="col">Distance from home (km)</th></tr></thead>'
        f"<tbody>{body}</tbody></table>{foot}</div>"
    )


# ---------------------------------------------------------------------------------------------
# search, view


_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")


def normalise_postcode(text: str) -> str:
    """Return a postcode upper-cased without spaces (``"nw1 2ab"`` -> ``"NW12AB"``)."""
    return re.sub(r"\s+", "", str(text)).upper()


def search_schools(schools: pd.DataFrame, query: str, limit: int = 5) -> pd.DataFrame:
    """Find schools by URN, postcode or name (exact matches first, then fuzzy name matches).

    Args:
        schools: the authority's schools (``urn``, ``school_name``, ``postcode``).
        query: a URN (``"100049"``), a postcode (``"NW1 2AB"``, spacing and case ignored) or part
            of a name (``"Camden School"``).
        limit: most rows returned.

    Returns:
        Matching rows of ``schools`` (best first), possibly empty.
    """
    text = str(query).strip()
    if not text:
        return schools.iloc[0:0]
    if text.isdigit():
        hit = schools[schools["urn"] == int(text)]
        if len(hit):
            return hit
    if "postcode" in schools:
        pc = normalise_postcode(text)
        if _POSTCODE.match(pc) or (2 <= len(pc) <= 4 and pc[0].isalpha() and any(ch.isdigit() for ch in pc)):
            codes = schools["postcode"].fillna("").map(normalise_postcode)
            hit = schools[codes == pc] if _POSTCODE.match(pc) else schools[codes.str.startswith(pc)]
            if len(hit):
                return hit.head(limit)
    names = schools["school_name"].fillna("").astype(str)
    contains = schools[names.str.casefold().str.contains(text.casefold(), regex=False)]
    if len(contains):
        return contains.head(limit)
    from rapidfuzz import fuzz, process

    found = process.extract(text, names.tolist(), scorer=fuzz.WRatio, limit=limit, score_cutoff=80)
    return schools.iloc[[idx for _, _, idx in found]]


def view_bounds(display: pd.DataFrame, inside_only: bool = True) -> tuple[tuple[float, float], tuple[float, float]]:
    """Return ((south, west), (north, east)) of the areas (EPSG:4326), the authority's own by default."""
    frame = display
    if inside_only and "in_authority" in display and display["in_authority"].fillna(False).any():
        frame = display[display["in_authority"].fillna(False).astype(bool)]
    minx, miny, maxx, maxy = frame.total_bounds
    return ((float(miny), float(minx)), (float(maxy), float(maxx)))


def zoom_for_bounds(bounds: tuple[tuple[float, float], tuple[float, float]], width_px: int = 760, height_px: int = 560) -> tuple[tuple[float, float], int]:
    """Return the centre (lat, lon) and the largest web-map zoom that fits the bounds in the pixels.

    Computed in Python so it is part of the widget state (a preheated kernel renders the map
    before any browser is there to ``fit_bounds``).
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


def csv_download_html(frame: pd.DataFrame, filename: str, label: str = "Download the table behind this view (CSV)") -> str:
    """Return an HTML link that downloads ``frame`` as CSV (a data: URL; no server round trip).

    Args:
        frame: the table.
        filename: the file name offered (letters, digits, ``-_.`` only; others replaced).
        label: the link text.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "atlas.csv"
    payload = base64.b64encode(frame.to_csv(index=False).encode("utf-8")).decode("ascii")
    return (
        f'<a class="atlas-download" href="data:text/csv;base64,{payload}" download="{html.escape(safe)}">'
        f"{html.escape(label)}</a>"
    )


def destinations_table(lsoa11_code: str, destinations: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """Return the table behind an area's list of schools, safe to download.

    Observed counts under 3 are blanked, with their share (which would give them away);
    modelled values are rounded and labelled as estimates (:mod:`atlaskit.disclosure`).

    Args:
        lsoa11_code: the area (2011 LSOA code).
        destinations: :func:`atlaskit.flows.area_destinations` (urn, pupils, share,
            distance_km, source, optionally suppressed).
        names: school name by URN.

    Returns:
        DataFrame lsoa11_code, urn, school_name, pupils (Int64, <NA> where suppressed),
        count_is (``observed`` / ``estimate``), suppressed, share_pct (percent of the area's
        pupils), distance_km (straight line, home area centroid to school).
    """
    from atlaskit.analysis.disclosure import check_disclosable, disclose

    safe = disclose(destinations)
    share = (100.0 * pd.to_numeric(destinations["share"], errors="coerce")).round(1).where(~safe["suppressed"].to_numpy())
    out = pd.DataFrame(
        {
            "lsoa11_code": str(lsoa11_code),
            "urn": destinations["urn"].astype("int64").to_numpy(),
            "school_name": [names.get(int(u), "") for u in destinations["urn"]],
            "pupils": safe["pupils"].to_numpy(),
            "count_is": safe["label"].astype(str).to_numpy(),
            "suppressed": safe["suppressed"].to_numpy(dtype=bool),
            "share_pct": share.to_numpy(),
            "distance_km": pd.to_numeric(destinations["distance_km"], errors="coerce").round(2).to_numpy(),
        }
    )
    check_disclosable(out.assign(source=np.where(out["count_is"] == "observed", "observed", "modelled")))
    return out


# ---------------------------------------------------------------------------------------------
# demand vs capacity (school level)

#: Upper bounds (%) of the utilisation classes: pupils on roll as a share of places.
UTILISATION_BINS = (90.0, 100.0, 110.0, float("inf"))
UTILISATION_COLOURS = ("#2166ac", "#92c5de", "#f4a582", "#b2182b")
UTILISATION_LABELS = ("under 90% full (spare places)", "90% to 100% full", "over 100% to 110% (over capacity)", "over 110% (well over capacity)")


def utilisation(schools: pd.DataFrame) -> pd.Series:
    """Return pupils on roll (January 2019) as a percentage of places (2015 net capacity), by URN.

    NaN where either is unknown or capacity is zero.
    """
    pupils = pd.to_numeric(schools["pupils_2019"], errors="coerce").astype("float64")
    capacity = pd.to_numeric(schools["capacity_2015"], errors="coerce").astype("float64")
    pct = 100.0 * pupils / capacity.where(capacity > 0)
    return pd.Series(pct.to_numpy(), index=schools["urn"].to_numpy(), name="utilisation_pct")


def utilisation_classes() -> Classes:
    """Return the fixed classes of the demand-vs-capacity layer (for its legend)."""
    return Classes("demand", UTILISATION_BINS, UTILISATION_COLOURS, UTILISATION_LABELS, "pupils on roll as a % of places (school markers)", np.array([], dtype=int), pd.Index([], name="lsoa11_code"))


def utilisation_colour(pct: float) -> str:
    """Return the marker colour of a utilisation percentage (grey when unknown)."""
    if pct is None or not np.isfinite(pct):
        return NO_DATA_COLOUR
    for bound, colour in zip(UTILISATION_BINS, UTILISATION_COLOURS):
        if pct <= bound:
            return colour
    return UTILISATION_COLOURS[-1]


def utilisation_text(pupils: float | None, places: float | None, pct: float | None) -> str:
    """Return one sentence on a school's fill: "950 pupils on roll (January 2019) for 1,241 places (2015): 77% full."."""

    def known(value) -> bool:
        return value is not None and not (isinstance(value, float) and math.isnan(value))

    if not (known(pupils) and known(places) and known(pct)):
        return "Pupils on roll or places not published."
    return f"{int(pupils):,} pupils on roll (January 2019) for {int(places):,} places (2015): {round(float(pct))}% full."


def utilisation_table(schools: pd.DataFrame, phase: str | None = None) -> pd.DataFrame:
    """Return the table behind the demand-vs-capacity view: one row per open state-funded school of the phase."""
    frame = schools
    for col in ("is_open", "is_state_funded"):
        if col in frame:
            frame = frame[frame[col].fillna(False).astype(bool)]
    keep = _phase_filter(phase)
    if keep is not None:
        frame = frame[frame["phase"].astype(str).isin(keep)]
    pct = utilisation(frame)
    return pd.DataFrame(
        {
            "urn": frame["urn"].to_numpy(),
            "school_name": frame["school_name"].astype(str).to_numpy(),
            "phase": frame["phase"].astype(str).to_numpy(),
            "pupils_2019": pd.to_numeric(frame["pupils_2019"], errors="coerce").to_numpy(),
            "capacity_2015": pd.to_numeric(frame["capacity_2015"], errors="coerce").to_numpy(),
            "utilisation_pct": pct.round(1).to_numpy(),
        }
    )
