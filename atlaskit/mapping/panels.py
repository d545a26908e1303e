"""Side panels and downloads: flows in words, a school's catchment summary, an area's schools, CSV links.

Every pupil count shown here has been through :func:`atlaskit.analysis.disclosure.disclose`;
this module only puts the disclosed counts into words and HTML.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from atlaskit.analysis.disclosure import OBSERVED_LABEL, check_disclosable, disclose
from atlaskit.vocabulary import DISCLOSURE_THRESHOLD

__all__ = [
    "SOURCE_TEXT",
    "catchment_summary",
    "catchment_table",
    "catchment_values",
    "csv_download_html",
    "destinations_html",
    "destinations_table",
    "format_flows",
    "summary_html",
]

#: What each flow source means, in the words the app and its panels use.
SOURCE_TEXT = {
    "observed": "published counts (London Schools Atlas, January 2015)",
    "modelled": "modelled estimate",
}

#: Text of an observed count hidden by disclosure control.
HIDDEN_TEXT = f"fewer than {DISCLOSURE_THRESHOLD}"


def _rows_html(rows: Iterable[tuple[object, object]]) -> str:
    """Return label/value pairs as a two-column table (row headers), escaped."""
    body = "".join(
        f'<tr><th scope="row" style="text-align:left;vertical-align:top;padding:0 0.6em 0.2em 0">{html.escape(str(k))}</th>'
        f'<td style="vertical-align:top;padding:0 0 0.2em 0">{html.escape(str(v))}</td></tr>'
        for k, v in rows
    )
    return f'<table style="border-collapse:collapse;margin:0"><tbody>{body}</tbody></table>'


def format_flows(flows: pd.DataFrame) -> pd.DataFrame:
    """Return flows as shown: counts disclosed by :func:`~atlaskit.analysis.disclosure.disclose`, then put in words.

    Args:
        flows: rows with ``pupils`` and ``source`` (``observed``/``modelled``), optionally
            ``suppressed``.

    Returns:
        A copy with ``pupils_shown`` (float, NaN where hidden) and ``pupils_label`` (text:
        ``"12"``, ``"fewer than 3"``, ``"about 4 (estimate)"``, ``"fewer than 1 (estimate)"``).
    """
    out = flows.copy()
    safe = disclose(out[["pupils", "source"] + (["suppressed"] if "suppressed" in out else [])])
    hidden = safe["suppressed"].to_numpy(dtype=bool)
    observed = safe["label"].astype(str).eq(OBSERVED_LABEL).to_numpy()
    shown = pd.Series(pd.to_numeric(safe["pupils"], errors="coerce").astype("float64").to_numpy(), index=out.index)
    whole = shown.fillna(0).round().astype(int).astype(str)
    # a modelled value that rounds to 0 is a fraction of a pupil: "about 0" reads as an error
    estimate = np.where(whole.eq("0").to_numpy(), "fewer than 1 (estimate)", "about " + whole + " (estimate)")
    out["pupils_shown"] = shown
    out["pupils_label"] = np.where(hidden, HIDDEN_TEXT, np.where(observed, whole, estimate))
    return out


def catchment_values(catchment: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Split a school's catchment into map values, labels and the modelled flag, by lsoa11 code.

    Args:
        catchment: :func:`atlaskit.analysis.flows.school_catchment` (lsoa11_code, pupils, source, ...).

    Returns:
        (values, labels, modelled): values are disclosed pupils, NaN where hidden and where a
        modelled estimate rounds to 0 (those areas are not coloured: "fewer than 1 (estimate)").
        Rows without an area (an observed school's suppressed remainder) are left out.
    """
    shown = format_flows(catchment)
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
    modelled = pd.Series(shown["source"].astype(str).ne(OBSERVED_LABEL).to_numpy(), index=index, name="modelled")
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
    """Summarise where a school's pupils live, from the counts that may be shown.

    Args:
        catchment: :func:`atlaskit.analysis.flows.school_catchment` (lsoa11_code, pupils, distance_km, source).
        own_lsoas: the authority's own LSOA codes (to measure the share from outside it).

    Returns:
        dict with ``pupils`` (rounded total of the rows that may be shown: observed counts under
        the disclosure threshold are left out, modelled ones rounded), ``median_distance_km``
        (pupil-weighted, km), ``share_outside`` (0-1), ``areas`` (areas shown with pupils:
        hidden observed counts, modelled estimates under 1 pupil and the suppressed remainder,
        which has no area, are not counted), ``source`` (``observed``, ``modelled`` or
        ``observed and modelled``) and ``estimate`` (True when any modelled row counts).
    """
    own = set(own_lsoas)
    pupils = format_flows(catchment)["pupils_shown"].fillna(0.0).to_numpy(dtype="float64")
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
    """Return the catchment summary panel (:func:`catchment_summary`) as escaped HTML."""
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
    return f'<div class="atlas-summary"><h3 style="font-size:1em;margin:0 0 0.3em 0">Where pupils of {html.escape(school_name)} live</h3>{_rows_html(rows)}</div>'


def catchment_table(catchment: pd.DataFrame, urn: int, area_names: Mapping[str, str], own_lsoas: set[str]) -> pd.DataFrame:
    """Return the table behind a school's catchment view, safe to download.

    Args:
        catchment: :func:`atlaskit.analysis.flows.school_catchment` of the school.
        urn: the school's URN.
        area_names: LSOA name by lsoa11 code.
        own_lsoas: the authority's own lsoa11 codes.

    Returns:
        DataFrame urn, lsoa11_code, lsoa11_name, in_authority, pupils (NaN where hidden),
        pupils_label, share (of the school's pupils, 0-1, blank where hidden), distance_km, source.
    """
    shown = format_flows(catchment)
    hidden = shown["pupils_shown"].isna()
    codes = shown["lsoa11_code"].astype(str)
    return pd.DataFrame(
        {
            "urn": urn,
            "lsoa11_code": codes.to_numpy(),
            "lsoa11_name": codes.map(area_names).to_numpy(),
            "in_authority": codes.isin(own_lsoas).to_numpy(),
            "pupils": shown["pupils_shown"].to_numpy(),
            "pupils_label": shown["pupils_label"].to_numpy(),
            "share": shown["share"].where(~hidden).round(4).to_numpy() if "share" in shown else np.nan,
            "distance_km": pd.to_numeric(shown["distance_km"], errors="coerce").round(2).to_numpy(),
            "source": shown["source"].astype(str).to_numpy(),
        }
    )


def destinations_html(area_label: str, destinations: pd.DataFrame, names: Mapping[int, str], limit: int = 10, note: str = "") -> str:
    """Return an HTML table of the schools an area's children attend (disclosed counts).

    Schools whose modelled estimate rounds to 0 pupils are not listed (they are counted in one
    line under the table); an observed count under the threshold shows neither its count nor its share.

    Args:
        area_label: the area's name or code.
        destinations: :func:`atlaskit.analysis.flows.area_destinations` (urn, pupils, share,
            distance_km, source).
        names: school name by URN (a URN missing from it is shown as "school URN 123456").
        limit: rows shown.
        note: a sentence under the table (e.g. which schools are listed).
    """
    disclosed = format_flows(destinations)
    observed = disclosed["source"].astype(str).eq(OBSERVED_LABEL)
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
        f"<tr><td>{html.escape(names.get(r.urn) or f'school URN {r.urn}')}</td><td>{html.escape(str(r.pupils_label))}</td>"
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


def destinations_table(lsoa11_code: str, destinations: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    """Return the table behind an area's list of schools, safe to download.

    Observed counts under the threshold are blanked, with their share (which would give them away);
    modelled values are rounded and labelled as estimates (:mod:`atlaskit.analysis.disclosure`).

    Args:
        lsoa11_code: the area (2011 LSOA code).
        destinations: :func:`atlaskit.analysis.flows.area_destinations` (urn, pupils, share,
            distance_km, source, optionally suppressed).
        names: school name by URN.

    Returns:
        DataFrame lsoa11_code, urn (int64), school_name, pupils (Int64, <NA> where suppressed),
        count_is (``observed`` / ``estimate``), suppressed, share_pct (percent of the area's
        pupils), distance_km (straight line, home area centroid to school).

    Raises:
        DisclosureError: if an observed count under the threshold would still be shown.
    """
    safe = disclose(destinations)
    share = (100.0 * pd.to_numeric(destinations["share"], errors="coerce")).round(1).where(~safe["suppressed"].to_numpy())
    out = pd.DataFrame(
        {
            "lsoa11_code": str(lsoa11_code),
            "urn": destinations["urn"].to_numpy(),
            "school_name": [names.get(u, "") for u in destinations["urn"]],
            "pupils": safe["pupils"].to_numpy(),
            "count_is": safe["label"].astype(str).to_numpy(),
            "suppressed": safe["suppressed"].to_numpy(dtype=bool),
            "share_pct": share.to_numpy(),
            "distance_km": pd.to_numeric(destinations["distance_km"], errors="coerce").round(2).to_numpy(),
        }
    )
    check_disclosable(out.assign(source=np.where(out["count_is"] == OBSERVED_LABEL, OBSERVED_LABEL, "modelled")))
    return out


def csv_download_html(frame: pd.DataFrame, filename: str, label: str = "Download the table behind this view (CSV)") -> str:
    """Return an HTML link that downloads ``frame`` as CSV (a data: URL; no server round trip).

    Args:
        frame: the table.
        filename: the file name offered (letters, digits, ``-_.`` only; others replaced).
        label: the link text.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "atlas.csv"
    payload = base64.b64encode(frame.to_csv(index=False).encode("utf-8")).decode("ascii")
    return f'<a class="atlas-download" href="data:text/csv;base64,{payload}" download="{html.escape(safe)}">{html.escape(label)}</a>'
