"""Build step ``modelled flows``: home-to-school flows for every LSOA and school in England, both phases.

Writes the ``flows`` table: urn, lsoa11_code, phase, pupils, source (``observed``/``modelled``),
distance_km, plus ``suppressed`` (bool) and ``school_total_pupils`` (the observed school's total
before suppression; NaN on modelled rows).

- ``modelled`` rows: every (LSOA, school) cell with at least 0.05 modelled pupils, secondary and
  primary, from :func:`atlaskit.pipelines.england_flows.model_england` (calibrated here on the
  London flows; ``notebooks/methods/flows.md`` describes the model and the primary-trip assumption).
- ``observed`` rows: the published London secondary cells (at least
  :data:`~atlaskit.vocabulary.DISCLOSURE_THRESHOLD` pupils), and one row per
  observed school with ``lsoa11_code`` <NA>, ``pupils`` NaN and ``suppressed`` True standing for
  its suppressed cells. Both sources are kept: queries choose (``best`` = observed where published).

Schools without coordinates cannot be modelled: they are listed in the build notes as problems
(never silently dropped), as are the pupils lost in cells under 0.05 pupils.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from atlaskit.analysis.flows import PRIMARY_ASSUMPTION
from atlaskit.errors import StoreMissing
from atlaskit.pipelines.england_flows import model_england
from atlaskit.vocabulary import PHASES

FLOW_COLUMNS = ["urn", "lsoa11_code", "phase", "pupils", "source", "distance_km", "suppressed", "school_total_pupils"]


def observed_rows(observed_flows: pd.DataFrame, lsoas: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Return the observed flows in the ``flows`` table's layout, with home-to-school distances.

    Args:
        observed_flows: the ``observed_flows`` table.
        lsoas: ``lsoas`` (lsoa11_code, easting, northing; EPSG:27700).
        schools: ``schools`` (urn, easting, northing; EPSG:27700).

    Returns:
        Rows with :data:`FLOW_COLUMNS`; ``distance_km`` is NaN where either end has no coordinates.
    """
    o = observed_flows
    lx = lsoas.set_index("lsoa11_code")[["easting", "northing"]]
    sx = schools.drop_duplicates("urn").set_index("urn")[["easting", "northing"]]
    home = lx.reindex(o["lsoa11_code"].astype(object).where(o["lsoa11_code"].notna(), None)).to_numpy(dtype="float64", na_value=np.nan)
    school = sx.reindex(o["urn"]).to_numpy(dtype="float64", na_value=np.nan)
    dist = np.hypot(home[:, 0] - school[:, 0], home[:, 1] - school[:, 1]) / 1000.0
    return pd.DataFrame(
        {
            "urn": o["urn"].to_numpy(),
            "lsoa11_code": o["lsoa11_code"].astype("string").to_numpy(),
            "phase": pd.Categorical(o["phase"].astype(str), categories=list(PHASES)),
            "pupils": o["pupils"].astype("float64").to_numpy(dtype="float64", na_value=np.nan).astype("float32"),
            "source": pd.Categorical(["observed"] * len(o), categories=["observed", "modelled"]),
            "distance_km": dist.astype("float32"),
            "suppressed": o["suppressed"].astype(bool).to_numpy(),
            "school_total_pupils": o["school_total_pupils"].astype("float64").to_numpy(dtype="float64", na_value=np.nan).astype("float32"),
        }
    )


def build(data_dir: Path, tables: dict) -> dict:
    """Calibrate the flow model and write the ``flows`` table for all England.

    Args:
        data_dir: raw-data folder (unused: everything comes from earlier steps).
        tables: must hold ``lsoas``, ``schools`` and ``observed_flows``.

    Returns:
        ``{"flows": ..., "_notes": [...]}``.

    Raises:
        StoreMissing: when an input table has not been built.
    """
    missing = [t for t in ("lsoas", "schools", "observed_flows") if t not in tables]
    if missing:
        raise StoreMissing(f"the modelled flows step needs the table(s) {', '.join(missing)}: run the full `atlas build`")
    lsoas, schools, observed = tables["lsoas"], tables["schools"], tables["observed_flows"]
    result = model_england(lsoas, schools, observed)
    modelled = result.flows.assign(suppressed=False, school_total_pupils=np.float32(np.nan))
    obs = observed_rows(observed, lsoas, schools)
    flows = pd.concat([obs, modelled[FLOW_COLUMNS]], ignore_index=True)
    flows["phase"] = pd.Categorical(flows["phase"].astype(str), categories=list(PHASES))
    flows["source"] = pd.Categorical(flows["source"].astype(str), categories=["observed", "modelled"])
    flows = flows.sort_values(["urn", "phase", "source"], kind="stable").reset_index(drop=True)

    d = result.diagnostics
    sec = result.secondary
    notes = [
        f"flows: {len(modelled):,} modelled cells (secondary {int((modelled['phase'] == 'secondary').sum()):,}, primary "
        f"{int((modelled['phase'] == 'primary').sum()):,}) and {len(obs):,} observed rows; calibration {d['calibration_s']:.1f} s, "
        f"secondary {d['secondary_s']:.1f} s, primary {d['primary_s']:.1f} s",
        "flows: secondary model " + ", ".join(f"{f}={v:.3g}" for f, v in zip(sec.features, sec.params)),
        f"flows: mean modelled trip secondary {d['secondary_mean_trip_km_england']:.2f} km (London {d['secondary_mean_trip_km_london']:.2f}), "
        f"primary {d['primary_mean_trip_km_england']:.2f} km (London {d['primary_mean_trip_km_london']:.2f}); decay factor "
        f"{result.primary.diagnostics['decay_factor']:.2f}. {PRIMARY_ASSUMPTION}",
    ]
    for phase in ("secondary", "primary"):
        notes.append(
            f"flows: {phase} resident children placed in state-funded schools (schools filled to their rolls, no LSOA above its "
            f"children): England {d[f'{phase}_state_share_england']:.1%}, London {d[f'{phase}_state_share_london']:.1%}"
        )
        notes += [f"flows: {problem}" for problem in result.problems if problem.phase == phase]
        notes.append(f"flows: {d[f'{phase}_pupils_in_dropped_cells']:.0f} {phase} pupils in cells under 0.05 pupils not stored")
    return {"flows": flows, "_notes": notes}
