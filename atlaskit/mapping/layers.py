"""Map layers: what each choosable layer shows (:class:`LayerSpec`), its colours, and the context layers' values."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from atlaskit.vocabulary import CENSUS_AGES, DISCLOSURE_THRESHOLD, children_of_phase

__all__ = ["LAYERS", "LayerSpec", "NO_DATA_COLOUR", "POPULATION_YEAR", "area_table", "layer_units", "layer_values"]

# Colour-blind-safe ColorBrewer ramps (5 classes; deprivation in 10 deciles).
_BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
_PURPLES = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
# Decile 1 is the most deprived 10% of England: darkest.
_DECILES = ("#7f0000", "#b30000", "#d7301f", "#ef6548", "#fc8d59", "#fdbb84", "#fdd49e", "#fee8c8", "#fff7ec", "#fffff4")
# School fullness: spare places blue, over capacity red (diverging, 4 fixed classes).
_FULLNESS = ("#2166ac", "#92c5de", "#f4a582", "#b2182b")

#: Fill of areas (and school markers) with no value.
NO_DATA_COLOUR = "#d9d9d9"

#: Mid-year of the population estimate behind the children layer (the store holds mid-2019 and mid-2020).
POPULATION_YEAR = 2019


@dataclass(frozen=True)
class LayerSpec:
    """One choosable map layer.

    Attributes:
        key: identifier used by the app (``children``, ``imd``, ``idaci``, ``catchment``, ``demand``).
        label: the name shown in the layer picker.
        units: what a value means, shown in the legend (``{ages}`` and ``{year}`` filled by :func:`layer_units`).
        scheme: ``Quantiles`` (data-driven classes), ``UserDefined`` (fixed deciles) or ``Fixed``
            (the demand layer's fullness classes, :mod:`atlaskit.mapping.utilisation`).
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
        _BLUES,
        "ONS small-area population estimates; classes are quintiles of this authority's areas.",
    ),
    "imd": LayerSpec("imd", "Deprivation (IMD decile)", "IMD 2019 decile (1 = most deprived 10% in England)", "UserDefined", _DECILES, "English Indices of Deprivation 2019."),
    "idaci": LayerSpec(
        "idaci",
        "Child poverty (IDACI decile)",
        "IDACI 2019 decile (1 = most deprived 10% in England)",
        "UserDefined",
        _DECILES,
        "Income Deprivation Affecting Children Index 2019.",
    ),
    "catchment": LayerSpec(
        "catchment",
        "Pupils of the selected school",
        "pupils living in each area",
        "Quantiles",
        _PURPLES,
        f"Solid outline: observed (published counts, fewer than {DISCLOSURE_THRESHOLD} not shown). Dashed outline: modelled estimate, rounded.",
    ),
    "demand": LayerSpec(
        "demand",
        "Demand vs capacity",
        "pupils on roll as a % of places (school markers)",
        "Fixed",
        _FULLNESS,
        "School markers coloured by pupils on roll (January 2019) as a share of places (2015 net capacity of the whole school).",
    ),
}


def layer_units(layer: str, phase: str) -> str:
    """Return the legend heading of a layer for a phase (the children layer names the phase's census ages).

    Args:
        layer: a key of :data:`LAYERS`.
        phase: ``primary`` or ``secondary``.

    Returns:
        e.g. ``"children aged 4-10 (mid-2019)"`` (ages from :data:`atlaskit.vocabulary.CENSUS_AGES`).
    """
    low, high = CENSUS_AGES[phase]
    return LAYERS[layer].units.format(ages=f"{low}-{high}", year=POPULATION_YEAR)


def layer_values(lsoas: pd.DataFrame, layer: str, phase: str = "primary") -> pd.Series:
    """Return the values of a context layer for each LSOA (not the catchment or demand layers).

    Args:
        lsoas: the authority's LSOAs (store ``lsoas`` columns).
        layer: ``"children"`` (children of the phase's census ages, mid-:data:`POPULATION_YEAR`,
            :func:`atlaskit.vocabulary.children_of_phase`), ``"imd"`` or ``"idaci"`` (deciles).
        phase: the phase whose children count (``children`` layer only).

    Returns:
        Float Series indexed by ``lsoa11_code`` (NaN where unknown).

    Raises:
        ValueError: an unknown layer, or a layer that needs other inputs.
    """
    if layer == "children":
        return children_of_phase(lsoas, phase, POPULATION_YEAR)
    if layer in ("imd", "idaci"):
        column = f"{layer}_decile"
        if column not in lsoas.columns:
            raise ValueError(f"LSOA table has no column {column!r}")
        index = pd.Index(lsoas["lsoa11_code"].astype(str), name="lsoa11_code")
        return pd.Series(pd.to_numeric(lsoas[column], errors="coerce").astype("float64").to_numpy(), index=index, name=column)
    raise ValueError(f"layer {layer!r} is not a context layer; choose children, imd or idaci")


def area_table(lsoas: pd.DataFrame, values: pd.Series, column: str) -> pd.DataFrame:
    """Return the table behind a context layer: the authority's own areas and their values.

    Args:
        lsoas: the authority's LSOAs (lsoa11_code, optionally lsoa11_name and in_authority).
        values: a value per area, by lsoa11 code (:func:`layer_values`).
        column: the name of the value column.

    Returns:
        DataFrame lsoa11_code, lsoa11_name, ``column``: one row per area of the authority.
    """
    codes = lsoas["lsoa11_code"].astype(str)
    frame = pd.DataFrame(
        {
            "lsoa11_code": codes.to_numpy(),
            "lsoa11_name": lsoas["lsoa11_name"].astype(str).to_numpy() if "lsoa11_name" in lsoas else codes.to_numpy(),
            "in_authority": lsoas["in_authority"].fillna(False).astype(bool).to_numpy() if "in_authority" in lsoas else True,
        }
    )
    frame[column] = frame["lsoa11_code"].map(values).to_numpy()
    return frame[frame["in_authority"]].drop(columns="in_authority").reset_index(drop=True)
