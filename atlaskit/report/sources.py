"""The sources section: each data set's publisher, licence and page, and the period each input describes."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from atlaskit.report.blocks import Block, table_block
from atlaskit.report.context import ReportContext

__all__ = ["REPORT_INPUTS", "sources_table", "vintage_table", "sources_section"]

#: What each part of the report rests on: (input shown, :data:`atlaskit.sources.DATASETS` key).
REPORT_INPUTS: tuple[tuple[str, str], ...] = (
    ("Authority and small-area boundaries", "lsoa_boundaries"),
    ("Small areas to authorities", "lsoa_lookup"),
    ("Children per small area", "lsoa_population"),
    ("Deprivation (IMD, IDACI)", "deprivation"),
    ("Pupils on roll per school", "school_census"),
    ("School capacity", "school_capacity_2015"),
    ("School locations", "postcodes"),
    ("Ofsted ratings", "ofsted"),
    ("Observed home-to-school flows (London)", "lsa_flows"),
    ("Cross-border pupils (published)", "cross_border"),
    ("Projection: children by age", "la_population"),
    ("Projection and places: rolls and capacity", "scorecard"),
)


def sources_table(keys: Sequence[str] | None = None) -> pd.DataFrame:
    """Return the data sources with their publisher/attribution line, licence, vintage and page.

    Args:
        keys: :data:`atlaskit.sources.DATASETS` keys (default: those in :data:`REPORT_INPUTS`).

    Returns:
        ``data set, vintage, publisher and attribution, licence, page``.
    """
    from atlaskit.sources import DATASETS

    keys = list(dict.fromkeys(keys if keys is not None else [k for _, k in REPORT_INPUTS]))
    rows = [(d.title, d.vintage, d.publisher, d.licence, d.page) for d in (DATASETS[k] for k in keys if k in DATASETS)]
    return pd.DataFrame(rows, columns=["data set", "vintage", "publisher and attribution", "licence", "page"])


def vintage_table(build: dict | None = None, inputs: Sequence[tuple[str, str]] = REPORT_INPUTS) -> pd.DataFrame:
    """Return what each part of the report rests on and the period its data describe.

    Args:
        build: the store's ``build.json`` (adds a row for the store build time).
        inputs: ``(what is shown, DATASETS key)`` pairs.

    Returns:
        ``input, data set, vintage``.
    """
    from atlaskit.sources import DATASETS

    rows = [(what, DATASETS[key].title, DATASETS[key].vintage) for what, key in inputs if key in DATASETS]
    if build and build.get("built_at"):
        rows.append(("Atlas store (all of the above, processed)", "atlas build", str(build["built_at"])))
    return pd.DataFrame(rows, columns=["input", "data set", "vintage"])


def sources_section(ctx: ReportContext) -> Block:
    """Return the data sources (licence and attribution lines) and the vintage of each input."""
    out = table_block(sources_table(), "Publisher and attribution, licence and page of each data set used", title="Data sources")
    out += table_block(vintage_table(ctx.build), "The period each input describes", title="Data vintage")
    out += Block(
        "<p>Contains public sector information licensed under the Open Government Licence v3.0. Contains OS data "
        "&copy; Crown copyright and database right. Contains Royal Mail data &copy; Royal Mail copyright and database right. "
        "Contains National Statistics data &copy; Crown copyright and database right.</p>",
        "OGL v3 attribution",
    )
    return out
