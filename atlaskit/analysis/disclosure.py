"""Disclosure control for pupil counts shown or exported by the Atlas (app, reports, CLI).

The rules, as the London Schools Atlas applies them to National Pupil Database flows:

1. **No observed count under 3 is ever shown.** Published observed cells are already 3 or more;
   any observed figure computed by the Atlas for a smaller group (a filtered view, an aggregate)
   goes through :func:`disclose`, which blanks counts under :data:`THRESHOLD` and flags them.
2. **Totals are computed before suppression** (:func:`totals_before_suppression`): a school's total
   is its published total, not the sum of the cells left after suppression, so suppression never
   changes a total.
3. **Modelled values are estimates**: shown rounded to whole pupils and labelled ``estimate``,
   never ``observed``; they are not suppressed (they describe no real child), but they are never
   mixed into an observed figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.errors import AtlasError

#: Smallest observed count that may be shown.
THRESHOLD = 3
#: Label of modelled values wherever they are shown.
ESTIMATE_LABEL = "estimate"
OBSERVED_LABEL = "observed"

__all__ = ["THRESHOLD", "DisclosureError", "disclose", "totals_before_suppression", "check_disclosable", "format_count"]


class DisclosureError(AtlasError):
    """A table about to be shown or exported would reveal an observed count under the threshold."""


def disclose(flows: pd.DataFrame, pupils: str = "pupils", source: str = "source", threshold: int = THRESHOLD) -> pd.DataFrame:
    """Return a copy of a flows table safe to show: small observed counts blanked, modelled ones rounded.

    Args:
        flows: rows with a ``pupils`` count and a ``source`` (``observed``/``modelled``) column.
        pupils: name of the count column.
        source: name of the source column.
        threshold: observed counts below it (including 0) are blanked.

    Returns:
        A copy with ``pupils`` as nullable Int64 (<NA> where suppressed), a boolean ``suppressed``
        column (True where an observed count was blanked or was already suppressed at source) and a
        ``label`` column (``observed`` or ``estimate``). The input is not modified.

    Raises:
        KeyError: when the count or source column is absent.
    """
    if pupils not in flows.columns or source not in flows.columns:
        raise KeyError(f"disclose needs columns {pupils!r} and {source!r}; got {', '.join(map(str, flows.columns))}")
    out = flows.copy()
    values = pd.to_numeric(out[pupils], errors="coerce").astype("float64")
    is_observed = out[source].astype("string").eq(OBSERVED_LABEL).fillna(False).to_numpy(dtype=bool)
    already = out["suppressed"].fillna(False).to_numpy(dtype=bool) if "suppressed" in out.columns else np.zeros(len(out), dtype=bool)
    values_np = values.to_numpy()
    small = is_observed & (np.isnan(values_np) | (values_np < threshold))
    shown = np.where(is_observed, values_np, np.round(values_np))
    shown = np.where(small, np.nan, shown)
    out[pupils] = pd.array(np.where(np.isnan(shown), pd.NA, shown), dtype="Float64").round(0).astype("Int64")
    out["suppressed"] = small | (already & is_observed)
    out["label"] = pd.Categorical(np.where(is_observed, OBSERVED_LABEL, ESTIMATE_LABEL), categories=[OBSERVED_LABEL, ESTIMATE_LABEL])
    return out


def totals_before_suppression(flows: pd.DataFrame, by: str | list[str], pupils: str = "pupils", known_total: str | None = None) -> pd.DataFrame:
    """Return totals per group computed from the unsuppressed counts (or a known published total).

    Args:
        flows: flows *before* :func:`disclose` (counts intact).
        by: grouping column(s), e.g. ``"urn"``.
        pupils: the count column.
        known_total: optional column holding the group's published total before suppression
            (``school_total_pupils``); where present it is used instead of the sum.

    Returns:
        One row per group with ``total_pupils`` (float).
    """
    by = [by] if isinstance(by, str) else list(by)
    grouped = flows.groupby(by, observed=True, dropna=False)
    totals = grouped[pupils].sum(min_count=1).astype("float64").rename("total_pupils")
    if known_total and known_total in flows.columns:
        published = grouped[known_total].max().astype("float64")
        totals = published.where(published.notna(), totals).rename("total_pupils")
    return totals.reset_index()


def check_disclosable(flows: pd.DataFrame, pupils: str = "pupils", source: str = "source", threshold: int = THRESHOLD) -> None:
    """Raise :class:`DisclosureError` if any observed count under ``threshold`` would be shown.

    Args:
        flows: a table about to be shown or exported.

    Raises:
        DisclosureError: naming how many observed counts are under the threshold.
    """
    values = pd.to_numeric(flows[pupils], errors="coerce")
    observed = flows[source].astype("string").eq(OBSERVED_LABEL).fillna(False)
    bad = observed & values.notna() & (values < threshold)
    if bad.any():
        raise DisclosureError(f"{int(bad.sum())} observed count(s) under {threshold} would be shown; pass the table through disclose() first")


def format_count(value: float | None, label: str) -> str:
    """Return a count as text for display: ``"<3"`` when suppressed, ``"~12"`` for estimates, ``"12"`` when observed."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return f"<{THRESHOLD}" if label == OBSERVED_LABEL else "~0"
    return f"~{int(round(float(value)))}" if label == ESTIMATE_LABEL else str(int(value))
