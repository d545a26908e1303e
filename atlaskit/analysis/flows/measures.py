"""How well modelled flows match observed ones (:func:`cell_measures`, the one definition of CPC, SRMSE and R-squared), and summaries of modelled flows.

See ``notebooks/methods/flows.md`` for the validation method and its results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlaskit.analysis.flows.observed import ObservedCells
from atlaskit.analysis.flows.system import FlowSystem
from atlaskit.vocabulary import DISCLOSURE_THRESHOLD


def school_predictions(system: FlowSystem, flows: np.ndarray, observed: ObservedCells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return, for the observed schools, modelled pupils per candidate cell scaled to each school's total.

    Returns:
        ``(origin, school_pos, pupils)`` arrays over every candidate cell of the observed schools,
        where the school's modelled pupils are scaled so they add up to its published total.
    """
    is_obs = np.full(len(system.destination_ids), -1)
    is_obs[observed.schools] = np.arange(len(observed.schools))
    pos = is_obs[system.col]
    mask = pos >= 0
    origin = np.broadcast_to(np.arange(system.col.shape[0])[:, None], system.col.shape)[mask]
    school_pos = pos[mask]
    pred = flows[mask]
    sums = np.bincount(school_pos, weights=pred, minlength=len(observed.schools))
    pred = pred * (observed.total / np.maximum(sums, 1e-12))[school_pos]
    return origin, school_pos, pred


def cell_measures(observed: np.ndarray, modelled: np.ndarray) -> dict[str, float]:
    """Return the goodness of fit of modelled against observed flow cells (the same cells, in the same order).

    Args:
        observed: pupils per cell (school x LSOA), published; 0 where a modelled cell was not published.
        modelled: modelled pupils per cell, aligned with ``observed``.

    Returns:
        ``cpc`` (Common Part of Commuters, 2 sum min / (sum observed + sum modelled); 1 = identical),
        ``srmse`` (standardised root mean square error; 0 = perfect) and ``r_squared`` (of cell counts).
        NaN where there are no cells.
    """
    obs = np.asarray(observed, dtype="float64")
    prd = np.asarray(modelled, dtype="float64")
    n_cells = len(obs)
    if n_cells == 0 or obs.sum() + prd.sum() == 0:
        return {"cpc": float("nan"), "srmse": float("nan"), "r_squared": float("nan")}
    cpc = 2 * np.minimum(obs, prd).sum() / (obs.sum() + prd.sum())
    srmse = np.sqrt(np.sum((obs - prd) ** 2) / n_cells) / (obs.sum() / n_cells) if obs.sum() > 0 else float("nan")
    spread = np.sum((obs - obs.mean()) ** 2)
    r2 = 1 - np.sum((obs - prd) ** 2) / spread if spread > 0 else float("nan")
    return {"cpc": float(cpc), "srmse": float(srmse), "r_squared": float(r2)}


def validation_measures(system: FlowSystem, flows: np.ndarray, observed: ObservedCells, top_n: int = 20) -> dict[str, float]:
    """Compare modelled with observed flows for the observed schools (each school's flows scaled to its total).

    Observed values are the published cells; suppressed cells count as 0 in the cell measures (their
    pupils are spread over unknown LSOAs), so even a perfect model scores below 1
    (:func:`suppression_ceiling`).

    Args:
        system: the candidate structure the flows are on.
        flows: (n_o, k) modelled flows.
        observed: the observed schools to compare (e.g. one held-out borough's).
        top_n: size of each school's predicted top-LSOA list.

    Returns:
        ``cpc``, ``srmse`` and ``r_squared`` (:func:`cell_measures`), ``top_n_share`` (share of each
        school's published pupils living in its top-``top_n`` predicted LSOAs, pooled),
        ``mean_trip_km_observed`` (published cells) and ``mean_trip_km_modelled`` (all modelled
        pupils of those schools), straight-line km.
    """
    origin, school_pos, pred = school_predictions(system, flows, observed)
    key_pred = pd.Series(pred, index=pd.MultiIndex.from_arrays([school_pos, origin]))
    key_obs = pd.Series(observed.cell_pupils, index=pd.MultiIndex.from_arrays([observed.cell_school, observed.cell_origin]))
    both = pd.concat([key_obs.rename("obs"), key_pred.rename("pred")], axis=1).fillna(0.0)
    obs = both["obs"].to_numpy()
    prd = both["pred"].to_numpy()
    measures = cell_measures(obs, prd)
    both["rank"] = both["pred"].where(both["pred"] > 0).groupby(level=0).rank(ascending=False, method="first")
    top = float(both.loc[both["rank"] <= top_n, "obs"].sum() / max(obs.sum(), 1e-12))
    dist = system.distance_km
    # distances of the published cells
    d_obs = dist[observed.cell_origin, observed.cell_slot]
    is_obs = np.full(len(system.destination_ids), -1)
    is_obs[observed.schools] = 1
    mask = is_obs[system.col] > 0
    return {
        **measures,
        "top_n_share": top,
        "mean_trip_km_observed": float(np.average(d_obs, weights=observed.cell_pupils)),
        "mean_trip_km_modelled": float(np.average(dist[mask], weights=flows[mask])) if flows[mask].sum() > 0 else float("nan"),
    }


def suppression_ceiling(system: FlowSystem, flows: np.ndarray, observed: ObservedCells, draws: int = 3, seed: int = 0) -> dict[str, float]:
    """Return the CPC a perfect model would score under the publisher's suppression of small cells.

    Each observed school's pupils (its published total) are drawn at random (multinomial) from
    ``flows``' shares, as if ``flows`` were the truth; cells under
    :data:`~atlaskit.vocabulary.DISCLOSURE_THRESHOLD` are then suppressed, as the publisher did, and
    ``flows`` is scored against the draw with :func:`validation_measures`.

    Args:
        system: the candidate structure.
        flows: (n_o, k) modelled flows taken as the truth.
        observed: the observed schools (their totals set the draws' sizes).
        draws: number of random draws averaged.
        seed: random seed.

    Returns:
        ``cpc`` (mean over draws) and ``suppressed_share`` (share of drawn pupils in suppressed cells).
    """
    origin, school_pos, pred = school_predictions(system, flows, observed)
    rng = np.random.default_rng(seed)
    order = np.argsort(school_pos, kind="stable")
    bounds = np.searchsorted(school_pos[order], np.arange(len(observed.schools) + 1))
    cpcs, shares = [], []
    for _ in range(draws):
        counts = np.zeros(len(pred))
        for j in range(len(observed.schools)):
            idx = order[bounds[j] : bounds[j + 1]]
            p = pred[idx]
            if p.sum() > 0:
                counts[idx] = rng.multinomial(int(round(observed.total[j])), p / p.sum())
        keep = counts >= DISCLOSURE_THRESHOLD
        o, sp = origin[keep], school_pos[keep]
        slot = np.argmax(system.col[o] == observed.schools[sp][:, None], axis=1)
        listed = np.bincount(sp, weights=counts[keep], minlength=len(observed.schools))
        drawn = ObservedCells(observed.schools, observed.urns, observed.total, np.maximum(observed.total - listed, 0.0),
                              o, slot, sp, counts[keep], 0.0, ())  # fmt: skip
        cpcs.append(validation_measures(system, flows, drawn)["cpc"])
        shares.append(float(counts[~keep].sum() / max(counts.sum(), 1.0)))
    return {"cpc": float(np.mean(cpcs)), "suppressed_share": float(np.mean(shares))}


def mean_trip_km(system: FlowSystem, flows: np.ndarray, origin_mask: np.ndarray | None = None) -> float:
    """Return the flow-weighted mean straight-line distance in km (optionally for a subset of origins).

    Args:
        system: the candidate structure.
        flows: (n_o, k) flows.
        origin_mask: (n_o,) bool, the origins counted (default all).

    Returns:
        The mean trip, km (NaN when there are no flows).
    """
    w = flows if origin_mask is None else flows[origin_mask]
    d = system.distance_km if origin_mask is None else system.distance_km[origin_mask]
    return float(np.average(d, weights=w)) if w.sum() > 0 else float("nan")


def cross_border_shares(system: FlowSystem, flows: np.ndarray, authorities: list[str] | None = None) -> pd.DataFrame:
    """Return, per authority of residence, modelled resident pupils and the share taught outside it.

    Args:
        system: candidate structure (origin and destination authorities).
        flows: (n_o, k) modelled flows.
        authorities: authority codes to report (default all).

    Returns:
        DataFrame ``authority_code, resident_pupils, school_outside_la, share_outside``.
    """
    outside = system.destination_authority[system.col] != system.origin_authority[:, None]
    frame = pd.DataFrame({"authority_code": system.origin_authority, "resident_pupils": flows.sum(axis=1), "school_outside_la": (flows * outside).sum(axis=1)})
    out = frame.groupby("authority_code", as_index=False).sum()
    out["share_outside"] = out["school_outside_la"] / out["resident_pupils"].where(out["resident_pupils"] > 0)
    if authorities is not None:
        out = out[out["authority_code"].isin(authorities)]
    return out.reset_index(drop=True)
