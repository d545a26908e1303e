"""The projection chart: one authority and phase's pupils on roll, projected and actual, against places."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from atlaskit.vocabulary import academic_year, academic_year_end
from atlaskit.vocabulary import OPERATING_MARGINS_PCT


#: Resolution of a new chart (dots per inch) and its size (inches).
_DPI = 96
_SIZE = (9.0, 4.6)
#: Colours: intervals (95%, 80%), projection, backtest, places.
_COLOURS = {"95": "#9ecae1", "80": "#4292c6", "projection": "#08306b", "backtest": "#7f7f7f", "places": "#d95f02"}
#: Line styles of the margins below places, narrowest margin first.
_MARGIN_STYLES = (":", "--", "-.")


def _thousands(value, _pos=None) -> str:
    return f"{value:,.0f}"


def thousands_formatter():
    """Return a matplotlib tick formatter writing whole numbers with thousands separators (``12,345``)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_thousands)


def projection_chart(
    table: pd.DataFrame,
    title: str = "",
    ylabel: str = "pupils on roll",
    rolls: pd.DataFrame | None = None,
    ax=None,
    margins_pct: Sequence[float] = OPERATING_MARGINS_PCT,
):
    """Chart one authority and phase's projected pupils with 80% and 95% intervals, actual rolls and places.

    Places are drawn as a step line with the operating margins below them (places less 2% and
    less 5%): pupils above a margin line mean fewer spare places than the margin.

    Args:
        table: one authority and phase of :func:`atlaskit.analysis.demand.project_demand`'s
            table: ``academic_year``, ``pupils``, ``pupils_lower_80``, ``pupils_upper_80``,
            ``pupils_lower_95``, ``pupils_upper_95``, and optionally ``kind`` (``actual``,
            ``projection``, ``backtest``; all ``projection`` when absent), ``actual_pupils``
            and ``capacity`` (places).
        title: axes title (default ``"Projected pupils and places"``).
        ylabel: the y axis label (what the pupils count).
        rolls: :func:`atlaskit.analysis.demand.rolls_from_scorecard`'s table, to draw the
            earlier rolls (2014/15, 2018/19) as actual pupils too; rows of other authorities
            and phases than ``table``'s are ignored.
        ax: matplotlib Axes to draw in (its legend goes inside it); None makes a new
            constrained-layout Figure of 9 x 4.6 inches at 96 dpi with the legend outside to
            the right.
        margins_pct: operating margins drawn below places, percent of places.

    Returns:
        The ``matplotlib.figure.Figure`` drawn in. Legend labels: ``95% interval``, ``80%
        interval``, ``projected pupils``, ``same method from 2018/19`` (backtest rows),
        ``actual pupils``, ``places (capacity)``, ``places less 2% (DfE operating margin)``...
    """
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
        ax = fig.add_subplot()
        own_figure = True
    else:
        fig = ax.figure
        own_figure = False
    t = table.assign(x=table["academic_year"].map(academic_year_end).astype(int))
    kind = t["kind"] if "kind" in t else pd.Series("projection", index=t.index)
    ahead = t[kind.isin(["actual", "projection"])].sort_values("x")
    ax.fill_between(ahead["x"], ahead["pupils_lower_95"], ahead["pupils_upper_95"], color=_COLOURS["95"], alpha=0.6, label="95% interval")
    ax.fill_between(ahead["x"], ahead["pupils_lower_80"], ahead["pupils_upper_80"], color=_COLOURS["80"], alpha=0.6, label="80% interval")
    ax.plot(ahead["x"], ahead["pupils"], color=_COLOURS["projection"], label="projected pupils")
    back = t[kind == "backtest"].sort_values("x")
    if len(back):
        ax.plot(back["x"], back["pupils"], color=_COLOURS["backtest"], linestyle="--", marker="x", label="same method from 2018/19")
    actual = t.dropna(subset=["actual_pupils"])[["x", "actual_pupils"]] if "actual_pupils" in t else t.iloc[:0][["x"]].assign(actual_pupils=0.0)
    if rolls is not None:
        earlier = rolls.dropna(subset=["pupils"])
        for column in ("authority_code", "phase"):
            if column in t and column in earlier:
                earlier = earlier[earlier[column].isin(set(t[column]))]
        earlier = pd.DataFrame({"x": earlier["academic_year"].map(academic_year_end).astype(int), "actual_pupils": earlier["pupils"]})
        actual = pd.concat([earlier, actual], ignore_index=True)
    actual = actual.drop_duplicates("x").sort_values("x")
    if len(actual):
        ax.plot(actual["x"], actual["actual_pupils"], "o", color="black", markersize=4, label="actual pupils")
    if "capacity" in t:
        cap = t.dropna(subset=["capacity"]).drop_duplicates("x").sort_values("x")
        if len(cap):
            ax.step(cap["x"], cap["capacity"], where="mid", color=_COLOURS["places"], linewidth=2, label="places (capacity)")
            for margin, style in zip(sorted(margins_pct), _MARGIN_STYLES):
                ax.step(cap["x"], cap["capacity"] * (1 - margin / 100.0), where="mid", color=_COLOURS["places"], linewidth=1, linestyle=style,
                        label=f"places less {margin:g}% (DfE operating margin)")
    years = sorted(set(t["x"]) | set(actual["x"]))
    ax.set_xticks(years, [academic_year(y) for y in years], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("academic year", fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.yaxis.set_major_formatter(thousands_formatter())
    ax.grid(axis="y", color="#dddddd")
    if own_figure:
        fig.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="outside right upper")
    else:
        ax.legend(fontsize=7, loc="best")
    ax.set_title(title or "Projected pupils and places", fontsize=10)
    return fig
