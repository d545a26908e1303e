"""Schools on the map: open state-funded schools of a phase as GeoJSON points, and a school's profile panel."""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from atlaskit.vocabulary import PHASE_SCHOOL_PHASES, is_open_state_funded, teaches_phase

from .panels import _rows_html

__all__ = [
    "PHASE_COLOURS",
    "PROFILE_ATTAINMENT8",
    "PROFILE_KS2",
    "PROFILE_PROGRESS8",
    "SCHOOL_CLASS",
    "SCHOOL_LINKS",
    "school_profile",
    "school_profile_html",
    "schools_collection",
    "schools_shown",
]

#: Marker colours of schools by school phase (Okabe-Ito palette).
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

#: CSS class of the school markers (tests and benchmarks count them).
SCHOOL_CLASS = "atlas-school"

#: Official pages of a school, by URN.
SCHOOL_LINKS = (
    ("Get Information about Schools", "https://get-information-schools.service.gov.uk/Establishments/Establishment/Details/{urn}"),
    ("School performance", "https://www.compare-school-performance.service.gov.uk/school/{urn}"),
    ("Ofsted reports", "https://reports.ofsted.gov.uk/provider/21/{urn}"),
)

#: Profile labels of the school results, in plain words (key stage names explained).
PROFILE_KS2 = "Age 11 tests (KS2, 2018): pupils at the expected standard in reading, writing and maths"
PROFILE_ATTAINMENT8 = "GCSE results: Attainment 8 score (2018; out of 90)"
PROFILE_PROGRESS8 = "GCSE progress: Progress 8 score (2018; 0 = England average, above 0 = better)"


def schools_shown(schools: pd.DataFrame, phase: str | None = None) -> pd.DataFrame:
    """Return the schools the map shows: open and state-funded, teaching ``phase`` (None: every phase).

    Args:
        schools: the store's ``schools`` rows (is_open, is_state_funded, phase).
        phase: ``primary`` or ``secondary`` (all-through schools teach both), or None.
    """
    keep = is_open_state_funded(schools)
    if phase is not None:
        keep &= teaches_phase(schools, phase)
    return schools[keep.to_numpy()]


def _to_lonlat(schools: pd.DataFrame) -> pd.DataFrame:
    """Return the located schools with their longitude/latitude (EPSG:4326, 5 decimals) as columns ``lon``/``lat``."""
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
    """Return the open state-funded schools teaching a phase as GeoJSON points (:func:`schools_shown`).

    Args:
        schools: GeoDataFrame of the authority's schools (EPSG:27700 points, int64 ``urn``).
        phase: ``"primary"`` or ``"secondary"`` (all-through schools are in both); None for all.
        selected: the URN drawn larger, outlined black.
        highlight: URNs drawn larger (e.g. where an area's children go).

    Returns:
        GeoJSON FeatureCollection (EPSG:4326); ``id`` and ``properties.urn`` are the URN (a JSON
        number), ``properties.style`` holds the marker colours (school phase) and radius.
    """
    points = _to_lonlat(schools_shown(schools, phase))
    marked = set(highlight)
    features = []
    for row in points.itertuples(index=False):
        urn = row.urn
        kind = str(getattr(row, "phase", "other"))
        is_selected = urn == selected
        big = is_selected or urn in marked
        features.append(
            {
                "type": "Feature",
                "id": int(urn),
                "geometry": {"type": "Point", "coordinates": [float(row.lon), float(row.lat)]},
                "properties": {
                    "urn": int(urn),
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
    """Return a value as text, or None when it is missing."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def school_profile(school: pd.Series | dict) -> dict[str, str]:
    """Return a school's profile as ordered label -> text (missing values say "not published").

    Args:
        school: one row of the store's ``schools`` table.

    Returns:
        dict of display label to text; the results of the phases the school teaches.
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
        "URN (school reference number)": str(get("urn")),
        "Type": _clean(get("establishment_type")) or "not published",
        "Phase": _clean(get("phase")) or "not published",
        "Pupils on roll (January 2019)": num("pupils_2019"),
        "Places (capacity, 2015)": num("capacity_2015"),
        "Ofsted rating": _clean(get("ofsted_rating")) or "not published",
    }
    if get("phase") in PHASE_SCHOOL_PHASES["primary"] or _clean(get("ks2_rwm_expected_pct")):
        profile[PROFILE_KS2] = num("ks2_rwm_expected_pct", "{:.0f}%")
    if get("phase") in PHASE_SCHOOL_PHASES["secondary"] or _clean(get("ks4_attainment8")):
        profile[PROFILE_ATTAINMENT8] = num("ks4_attainment8", "{:.1f}")
        profile[PROFILE_PROGRESS8] = num("ks4_progress8", "{:+.2f}")
    if _clean(get("postcode")):
        profile["Postcode"] = str(get("postcode"))
    return profile


def school_profile_html(school: pd.Series | dict) -> str:
    """Return the profile panel of a school as escaped HTML (a heading, a table of its profile, links)."""
    name = html.escape(_clean(school.get("school_name")) or "School")
    items = _rows_html(school_profile(school).items())
    urn = school.get("urn")
    links = "".join(
        f'<li><a href="{html.escape(url.format(urn=urn))}" target="_blank" rel="noopener noreferrer">{html.escape(label)}</a></li>' for label, url in SCHOOL_LINKS
    )
    return f'<div class="atlas-profile"><h3 style="font-size:1.1em;margin:0 0 0.3em 0">{name}</h3>{items}<ul>{links}</ul></div>'
