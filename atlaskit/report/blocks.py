"""Display blocks: a report piece as static HTML (notes, embedded figures, tables) and number formatting."""

from __future__ import annotations

import base64
import html as _html
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from atlaskit.vocabulary import DISCLOSURE_THRESHOLD

__all__ = ["Block", "note_block", "figure_block", "table_block", "display_counts"]


@dataclass(frozen=True)
class Block:
    """One piece of the report as static HTML (shown by Jupyter through ``_repr_html_``).

    Attributes:
        html: the HTML fragment (images embedded as ``data:`` URIs).
        text: a plain-text summary (what ``repr`` shows in a console).
        available: False for a "not available" note.
    """

    html: str
    text: str = ""
    available: bool = True

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text or f"Block({len(self.html)} characters of HTML)"

    def __add__(self, other: Block) -> Block:
        return Block(self.html + other.html, "\n".join(t for t in (self.text, other.text) if t), self.available and other.available)


def _esc(value: Any) -> str:
    """Return ``value`` as HTML-escaped text."""
    return _html.escape(str(value))


def note_block(message: str, title: str | None = None) -> Block:
    """Return a visible note (used when a section's input is missing); ``available`` is False."""
    head = f"<h2>{_esc(title)}</h2>" if title else ""
    return Block(f'{head}<p class="atlas-note">{_esc(message)}</p>', f"{title + ': ' if title else ''}{message}", available=False)


def _notes(notes: Sequence[str], lead: str = "") -> Block:
    """Return notes joined by semicolons in one note paragraph (``lead`` before them), or an empty block."""
    notes = [n for n in notes if n]
    if not notes:
        return Block("")
    text = lead + "; ".join(notes)
    return Block(f'<p class="atlas-note">{_esc(text)}</p>', text)


def _heading(title: str, intro: str = "") -> Block:
    """Return an ``<h2>`` heading and an optional introductory paragraph."""
    return Block(f"<h2>{_esc(title)}</h2>" + (f"<p>{_esc(intro)}</p>" if intro else ""), title)


def _guard(title: str, build: Callable[[], Block]) -> Block:
    """Run a section builder; a missing input becomes a visible "not available" note."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - the report must still render; the note names the cause
        return note_block(f"Not available: {type(exc).__name__}: {exc}", title)


def figure_block(fig, caption: str = "", alt: str = "") -> Block:
    """Render a matplotlib Figure as an embedded PNG ``<figure>`` (at the figure's own resolution) and clear it.

    Args:
        fig: a ``matplotlib.figure.Figure``.
        caption: the caption shown under the image.
        alt: alternative text (defaults to the caption).

    Returns:
        A :class:`Block` holding ``<img src="data:image/png;base64,...">``.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi="figure")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    fig.clf()
    html = (
        f'<figure class="atlas-figure"><img alt="{_esc(alt or caption)}" src="data:image/png;base64,{encoded}"/>'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )
    return Block(html, f"[figure] {caption}")


#: A value formatted as a count or share ("1,234", "<3", "12.5%"): right-aligned like a number.
_NUMBER_TEXT = re.compile(r"^[<>~-]?[\d,]+(\.\d+)?%?$")


def _format_cell(value: Any) -> tuple[str, bool]:
    """Return a table cell's text and whether it is a number (thousands separated; 1 decimal under 100)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "", False
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), False
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}", True
    if isinstance(value, (float, np.floating)):
        return (f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"), True
    text = str(value)
    return text, bool(_NUMBER_TEXT.match(text))


def table_block(frame: pd.DataFrame, caption: str = "", title: str | None = None, text_columns: Sequence[str] = ()) -> Block:
    """Render a DataFrame as a plain HTML table (numeric columns right-aligned, thousands separated).

    A column is right-aligned when every value in it is a number or a formatted count
    (``"1,234"``, ``"<3"``); codes and years stay text (left-aligned) when named in
    ``text_columns`` or mixed with words. Web addresses become links showing their site.

    Args:
        frame: the table (its index is not shown).
        caption: caption above the table.
        title: an optional ``<h2>`` heading.
        text_columns: columns always shown as text (codes such as a planning-area number).

    Returns:
        A :class:`Block` holding the ``<table class="atlas-table">``.
    """
    head = f"<h2>{_esc(title)}</h2>" if title else ""
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    columns = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    formatted = [[_format_cell(v) for v in frame.iloc[:, j]] for j in range(frame.shape[1])]
    numeric = [
        name not in text_columns and all(num for text, num in col if text) and any(text for text, _ in col)
        for name, col in zip(frame.columns, formatted)
    ]
    rows = []
    for i in range(len(frame)):
        cells = []
        for j in range(frame.shape[1]):
            text = formatted[j][i][0]
            if text.startswith(("https://", "http://")) and " " not in text:  # a page: link it, show its site
                cells.append(f'<td><a href="{_esc(text)}">{_esc(urlsplit(text).netloc)}</a></td>')
            else:
                cells.append(f'<td class="num">{_esc(text)}</td>' if numeric[j] else f"<td>{_esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    html = f'{head}<table class="atlas-table">{cap}<thead><tr>{columns}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return Block(html, f"{title or caption}\n{frame.to_string(index=False)}")


def _count(value: Any) -> str:
    """Format a modelled count as a whole number with thousands separators ("" when unknown)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    return f"{v:,.0f}" if np.isfinite(v) else ""


def _text(value: Any) -> str:
    """Return a value as text, "" for None, NaN or NA."""
    try:
        return "" if value is None or pd.isna(value) else str(value)
    except (TypeError, ValueError):  # arrays and other non-scalars
        return str(value)


def display_counts(values: pd.Series | Sequence[float], observed: bool = True) -> pd.Series:
    """Return pupil counts as display strings under the Atlas disclosure rule.

    Observed counts under :data:`atlaskit.vocabulary.DISCLOSURE_THRESHOLD` (3) are never shown:
    they become ``"<3"``; modelled counts are estimates, shown rounded.

    Args:
        values: pupil counts.
        observed: True when the counts are observed (published) data.

    Returns:
        A Series of strings (``"1,234"``, ``"<3"``, ``""`` for missing).
    """
    series = pd.Series(values, dtype="float64")

    def fmt(v: float) -> str:
        if not np.isfinite(v):
            return ""
        if observed and v < DISCLOSURE_THRESHOLD:
            return f"<{DISCLOSURE_THRESHOLD}"
        return f"{v:,.0f}"

    return series.map(fmt)
