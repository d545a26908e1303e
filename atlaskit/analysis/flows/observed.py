"""Observed flows aligned with a flow system's candidate cells (:class:`ObservedCells`), for calibration and validation.

The observed flows are the published London secondary flows (January 2015): cells under
:data:`~atlaskit.vocabulary.DISCLOSURE_THRESHOLD` pupils are suppressed by the publisher, and each
school's suppressed pupils are kept as one censored lump.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from atlaskit.analysis.flows.system import FlowSystem


@dataclass(frozen=True, eq=False)
class ObservedCells:
    """Observed flows aligned with a :class:`FlowSystem`.

    Attributes:
        schools: (m,) destination indices of observed schools located in the system.
        urns: (m,) their URNs (int64).
        total: (m,) each school's pupils before suppression.
        censored: (m,) pupils not in any candidate cell (suppressed cells plus published cells
            whose LSOA is not among the school's candidate origins).
        cell_origin, cell_slot, cell_school: published cells inside the candidate sets: origin
            index, candidate slot (0..k-1) and position in ``schools``.
        cell_pupils: their counts (at least :data:`~atlaskit.vocabulary.DISCLOSURE_THRESHOLD`).
        outside_pupils: published pupils whose LSOA is not in the system or not within the k candidates.
        unlocated_urns: observed schools absent from the system (no coordinates / not in the store).
    """

    schools: np.ndarray
    urns: np.ndarray
    total: np.ndarray
    censored: np.ndarray
    cell_origin: np.ndarray
    cell_slot: np.ndarray
    cell_school: np.ndarray
    cell_pupils: np.ndarray
    outside_pupils: float
    unlocated_urns: tuple[int, ...]

    def subset(self, keep: np.ndarray) -> ObservedCells:
        """Return the cells of the observed schools where ``keep`` (m,) is True."""
        keep = np.asarray(keep, dtype=bool)
        new_pos = np.cumsum(keep) - 1
        cells = keep[self.cell_school]
        return ObservedCells(
            self.schools[keep], self.urns[keep], self.total[keep], self.censored[keep],
            self.cell_origin[cells], self.cell_slot[cells], new_pos[self.cell_school[cells]], self.cell_pupils[cells],
            self.outside_pupils, self.unlocated_urns,
        )


def align_observed(system: FlowSystem, observed_flows: pd.DataFrame) -> ObservedCells:
    """Align the ``observed_flows`` store table with a system's candidate cells.

    Args:
        system: the candidate structure (its destinations must include the observed schools).
        observed_flows: the ``observed_flows`` table (published rows plus one suppressed row per school).

    Returns:
        :class:`ObservedCells`; schools absent from the system are listed in ``unlocated_urns``.
    """
    published = observed_flows[~observed_flows["suppressed"].astype(bool)]
    totals = observed_flows.groupby("urn")["school_total_pupils"].first()
    dest_index = pd.Series(np.arange(len(system.destination_ids)), index=system.destination_ids)
    located = totals.index[totals.index.isin(dest_index.index)]
    unlocated = tuple(int(u) for u in totals.index[~totals.index.isin(dest_index.index)])
    schools = dest_index.loc[located].to_numpy()
    pos_of_school = pd.Series(np.arange(len(schools)), index=located)
    origin_index = pd.Series(np.arange(len(system.origin_codes)), index=system.origin_codes)
    pub = published[published["urn"].isin(located)]
    o_idx = origin_index.reindex(pub["lsoa11_code"].astype(str).to_numpy()).to_numpy()
    s_pos = pos_of_school.loc[pub["urn"].to_numpy()].to_numpy()
    pupils = pub["pupils"].to_numpy(dtype="float64")
    in_system = ~np.isnan(o_idx)
    o_int = np.where(in_system, o_idx, 0).astype(np.int64)
    # slot of the school among the origin's candidates (-1 if absent)
    match = system.col[o_int] == schools[s_pos][:, None]
    has = match.any(axis=1) & in_system
    slot = match.argmax(axis=1)
    listed = np.bincount(s_pos[has], weights=pupils[has], minlength=len(schools))
    total = totals.loc[located].to_numpy(dtype="float64")
    return ObservedCells(
        schools=schools,
        urns=located.to_numpy(),
        total=total,
        censored=np.maximum(total - listed, 0.0),
        cell_origin=o_int[has],
        cell_slot=slot[has],
        cell_school=s_pos[has],
        cell_pupils=pupils[has],
        outside_pupils=float(pupils[~has].sum()),
        unlocated_urns=unlocated,
    )
