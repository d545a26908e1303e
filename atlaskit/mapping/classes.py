"""Classes of a layer's values (mapclassify's Quantiles and UserDefined rules in numpy), their colours and legend."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from atlaskit.vocabulary import DISCLOSURE_THRESHOLD

from .layers import LAYERS, NO_DATA_COLOUR

__all__ = ["Classes", "LegendItem", "NO_DATA_LABELS", "bin_values", "classify", "legend_html", "legend_items", "quantile_bins"]

#: Legend text of the grey swatch, by layer (what grey means there).
NO_DATA_LABELS = {
    "catchment": f"no pupils shown (none, fewer than {DISCLOSURE_THRESHOLD} observed, or under 1 estimated)",
    "demand": "roll or capacity not published",
}
DEFAULT_NO_DATA_LABEL = "no data"


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


def _format_number(value: float) -> str:
    """Return a value as legend or tooltip text: whole numbers with thousands separators, else one decimal."""
    if not np.isfinite(value):
        return "?"
    if abs(value - round(value)) < 1e-9 or abs(value) >= 100:
        return f"{round(value):,}"
    return f"{value:,.1f}"


def quantile_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Return the upper bounds of ``k`` quantile classes, exactly as ``mapclassify.Quantiles`` computes them.

    Args:
        values: the finite values.
        k: number of classes.

    Returns:
        Ascending upper bounds (duplicates collapsed, so possibly fewer than ``k``).
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
        layer: a key of :data:`~atlaskit.mapping.layers.LAYERS` (chooses scheme, colours and units).
        k: number of classes for data-driven schemes (reduced when there are fewer distinct values).
        units: legend heading (default: the layer's units).

    Returns:
        :class:`Classes`. Whole-number values (children, pupils) get whole-number bounds and
        non-overlapping labels (``"70 to 94"``, ``"95 to 114"``).

    Raises:
        ValueError: an unknown layer, or one with fixed classes (``demand``).
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; choose one of {', '.join(LAYERS)}")
    spec = LAYERS[layer]
    if spec.scheme == "Fixed":
        raise ValueError(f"layer {layer!r} has fixed classes of its own (atlaskit.mapping.utilisation), not classified from values")
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
        # for whole values "v <= 94.8" is "v <= 94": every value keeps its class, and a class
        # holding no whole number (between 3 and 3.4) disappears
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


def legend_items(classes: Classes, dashed_note: bool = False) -> list[LegendItem]:
    """Return the legend rows of a classification (plus "no data", and the modelled swatch when ``dashed_note``)."""
    items = [LegendItem(c, label) for c, label in zip(classes.colours, classes.labels)]
    items.append(LegendItem(NO_DATA_COLOUR, NO_DATA_LABELS.get(classes.layer, DEFAULT_NO_DATA_LABEL)))
    if dashed_note:
        items.append(LegendItem("#ffffff", "modelled estimate (dashed outline)", dashed=True))
    return items


def legend_html(classes: Classes, title: str, note: str = "", dashed_note: bool = False) -> str:
    """Return an accessible HTML legend (a titled list, colours with text, never colour alone), escaped."""
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
