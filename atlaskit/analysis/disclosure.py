"""Disclosure control for pupil counts shown or exported by the Atlas (app, reports, CLI).

The rules, as the London Schools Atlas applies them to National Pupil Database flows:

1. **No observed count under the threshold is ever shown** (:data:`atlaskit.vocabulary.DISCLOSURE_THRESHOLD`,
   3 pupils). Published observed cells are already 3 or more; any observed figure computed by the
   Atlas for a smaller group goes through :func:`disclose`, which blanks it and flags it, and
   :func:`check_disclosable` refuses a table that would still show one.
2. **Modelled values are estimates**: shown rounded to whole pupils and labelled ``estimate``,
   never ``observed``; they are not suppressed (they describe no real child), but they are never
   mixed into an observed figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.errors import AtlasError
from atlaskit.vocabulary import DISCLOSURE_THRESHOLD

#: Label of modelled values wherever they are shown.
ESTIMATE_LABEL = "estimate"
#: Label of observed (published) counts.
OBSERVED_LABEL = "observed"

__all__ = ["ESTIMATE_LABEL", "OBSERVED_LABEL", "DisclosureError", "disclose", "check_disclosable"]


class DisclosureError(AtlasError):
    """A table about to be shown or exported would reveal an observed count under the threshold."""


def disclose(flows: pd.DataFrame, pupils: str = "pupils", source: str = "source", threshold: int = DISCLOSURE_THRESHOLD) -> pd.DataFrame:
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
    hidden = is_observed & (np.isnan(values_np) | (values_np < threshold) | already)
    shown = np.where(hidden, np.nan, np.where(is_observed, values_np, np.round(values_np)))
    out[pupils] = pd.array(np.where(np.isnan(shown), pd.NA, shown), dtype="Float64").round(0).astype("Int64")
    out["suppressed"] = hidden
    out["label"] = pd.Categorical(np.where(is_observed, OBSERVED_LABEL, ESTIMATE_LABEL), categories=[OBSERVED_LABEL, ESTIMATE_LABEL])
    return out


def check_disclosable(flows: pd.DataFrame, pupils: str = "pupils", source: str = "source", threshold: int = DISCLOSURE_THRESHOLD) -> None:
    """Raise :class:`DisclosureError` if any observed count under ``threshold`` would be shown.

    Args:
        flows: a table about to be shown or exported.
        pupils: name of the count column.
        source: name of the source column (``observed`` rows are checked).
        threshold: the smallest observed count that may be shown, pupils.

    Raises:
        DisclosureError: naming how many observed counts are under the threshold.
    """
    values = pd.to_numeric(flows[pupils], errors="coerce")
    observed = flows[source].astype("string").eq(OBSERVED_LABEL).fillna(False)
    bad = observed & values.notna() & (values < threshold)
    if bad.any():
        raise DisclosureError(f"{int(bad.sum())} observed count(s) under {threshold} would be shown; pass the table through disclose() first")

