"""The demand-vs-capacity layer: each school's whole-school fullness (pupils on roll / places), its colours and table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .classes import Classes
from .layers import LAYERS, NO_DATA_COLOUR
from .schools import schools_shown

__all__ = [
    "PLACES_COLUMN",
    "PUPILS_COLUMN",
    "UTILISATION_BINS",
    "UTILISATION_COLOURS",
    "UTILISATION_LABELS",
    "colour_by_utilisation",
    "utilisation",
    "utilisation_classes",
    "utilisation_colour",
    "utilisation_table",
    "utilisation_text",
]

#: The store's columns behind the fullness: pupils on roll (January 2019 census) and the whole
#: school's net capacity (2015 SCAP survey), every phase and sixth form included.
PUPILS_COLUMN = "pupils_2019"
PLACES_COLUMN = "capacity_2015"

#: Upper bounds (%) of the utilisation classes: pupils on roll as a share of places.
UTILISATION_BINS = (90.0, 100.0, 110.0, float("inf"))
UTILISATION_COLOURS = LAYERS["demand"].colours
UTILISATION_LABELS = ("under 90% full (spare places)", "90% to 100% full", "over 100% to 110% (over capacity)", "over 110% (well over capacity)")


def utilisation(schools: pd.DataFrame) -> pd.Series:
    """Return each school's whole-school fullness: pupils on roll as a percentage of places, by URN.

    The whole school's figures: pupils on roll in January 2019 (``pupils_2019``) over the net
    capacity of the whole school in 2015 (``capacity_2015``), all phases and sixth form together.
    This is not the projection's places (a phase's share of a school's capacity).

    Args:
        schools: the store's ``schools`` rows (urn, pupils_2019, capacity_2015).

    Returns:
        Float Series of percent, indexed by URN; NaN where either is unknown or capacity is zero.
    """
    pupils = pd.to_numeric(schools[PUPILS_COLUMN], errors="coerce").astype("float64")
    places = pd.to_numeric(schools[PLACES_COLUMN], errors="coerce").astype("float64")
    pct = 100.0 * pupils / places.where(places > 0)
    return pd.Series(pct.to_numpy(), index=schools["urn"].to_numpy(), name="utilisation_pct")


def utilisation_classes() -> Classes:
    """Return the fixed classes of the demand-vs-capacity layer (for its legend)."""
    return Classes("demand", UTILISATION_BINS, UTILISATION_COLOURS, UTILISATION_LABELS, LAYERS["demand"].units, np.array([], dtype=int), pd.Index([], name="lsoa11_code"))


def utilisation_colour(pct: float | None) -> str:
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


def colour_by_utilisation(collection: dict, schools: pd.DataFrame) -> dict:
    """Colour school markers by :func:`utilisation` and give each its pupils, places and percent (in place).

    Args:
        collection: :func:`~atlaskit.mapping.schools.schools_collection` output.
        schools: the schools it was made from.

    Returns:
        ``collection``, each feature's ``style.fillColor`` set and ``properties`` ``pupils``,
        ``places`` and ``utilisation`` (whole numbers, None where unknown) added.
    """
    rows = schools.drop_duplicates("urn").set_index("urn")
    pct = utilisation(schools.drop_duplicates("urn"))
    pupils = pd.to_numeric(rows[PUPILS_COLUMN], errors="coerce")
    places = pd.to_numeric(rows[PLACES_COLUMN], errors="coerce")

    def whole(value) -> int | None:
        return None if pd.isna(value) else round(float(value))

    for feature in collection["features"]:
        urn = feature["id"]
        value = pct.get(urn, np.nan)
        feature["properties"]["style"]["fillColor"] = utilisation_colour(value)
        feature["properties"]["utilisation"] = whole(value)
        feature["properties"]["pupils"] = whole(pupils.get(urn))
        feature["properties"]["places"] = whole(places.get(urn))
    return collection


def utilisation_table(schools: pd.DataFrame, phase: str | None = None) -> pd.DataFrame:
    """Return the table behind the demand-vs-capacity view: one row per school shown (open, state-funded, teaching ``phase``).

    Returns:
        DataFrame urn, school_name, phase, pupils_2019, capacity_2015, utilisation_pct (1 decimal).
    """
    frame = schools_shown(schools, phase)
    return pd.DataFrame(
        {
            "urn": frame["urn"].to_numpy(),
            "school_name": frame["school_name"].astype(str).to_numpy(),
            "phase": frame["phase"].astype(str).to_numpy(),
            PUPILS_COLUMN: pd.to_numeric(frame[PUPILS_COLUMN], errors="coerce").to_numpy(),
            PLACES_COLUMN: pd.to_numeric(frame[PLACES_COLUMN], errors="coerce").to_numpy(),
            "utilisation_pct": utilisation(frame).round(1).to_numpy(),
        }
    )
