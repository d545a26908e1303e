"""Validation of the flow models: cross-validation by borough on the London flows, and cross-border shares against DfE's.

Wires the store's tables through :mod:`atlaskit.analysis.flows` for ``atlas validate flows`` and the
flows notebook. See ``notebooks/methods/flows.md`` for the method and the latest results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from atlaskit.analysis.flows import (
    CALIBRATION_RADIUS_KM,
    CHOICE_FEATURES,
    COMPETITION_FEATURES,
    EXCLUDED_PHASES,
    FULL_CHOICE_FEATURES,
    GRAVITY_FEATURES,
    PRIMARY_ASSUMPTION,
    PRODUCTION_CHOICE_FEATURES,
    Constraint,
    build_system,
    calibration_system,
    cross_border_shares,
    cross_validate,
    fit_model,
    interior_schools,
    nearest_school_flows,
    phase_destinations,
    phase_origins,
    predict,
    suppression_ceiling,
    validation_measures,
    with_participation,
)
from atlaskit.analysis.problems import Problem, ProblemKind
from atlaskit.pipelines.england_flows import FINAL_CONSTRAINT, FINAL_FEATURES
from atlaskit.vocabulary import DISCLOSURE_THRESHOLD

__all__ = ["VALIDATION_MODELS", "NEAREST_SCHOOL", "Validation", "validate"]

#: Models compared by :func:`validate`: (label, features, constraint). The nearest-school baseline is added.
VALIDATION_MODELS: tuple[tuple[str, tuple[str, ...], Constraint], ...] = (
    ("production-constrained gravity, exp", GRAVITY_FEATURES["exp"], "production"),
    ("production-constrained gravity, pow", GRAVITY_FEATURES["pow"], "production"),
    ("doubly constrained gravity, exp", GRAVITY_FEATURES["exp"][1:], "doubly"),
    ("doubly constrained gravity, pow", GRAVITY_FEATURES["pow"][1:], "doubly"),
    ("destination choice, doubly constrained", CHOICE_FEATURES, "doubly"),
    ("destination choice, production-constrained", PRODUCTION_CHOICE_FEATURES, "production"),
    ("destination choice, full (production-constrained)", FULL_CHOICE_FEATURES, "production"),
    ("destination choice, full + competition and social sorting", COMPETITION_FEATURES, "production"),
    ("destination choice, full, attraction-constrained", FULL_CHOICE_FEATURES, "attraction"),
    ("destination choice, full + competition and social sorting, attraction-constrained (the store's model)", FINAL_FEATURES, FINAL_CONSTRAINT),
)
#: Label of the naive baseline (every child at the nearest school) in the validation tables.
NEAREST_SCHOOL = "nearest school (naive baseline)"


@dataclass(frozen=True, eq=False)
class Validation:
    """Out-of-sample validation results.

    Attributes:
        measures: one row per model: model, constraint, cpc, srmse, r_squared, top_n_share,
            mean_trip_km_observed, mean_trip_km_modelled, folds, seconds.
        cross_border: one row per (authority, model): authority_code, la_name, model,
            dfe_share_outside, modelled_share_outside, difference_pp.
        notes: lines describing the method (censoring, scaling, the primary assumption).
        problems: the observed schools left out of the calibration system (``NOT_MODELLED``), by reason.
    """

    measures: pd.DataFrame
    cross_border: pd.DataFrame
    notes: tuple[str, ...]
    problems: tuple[Problem, ...] = ()


def _not_modelled_problems(schools: pd.DataFrame, urns: tuple[int, ...]) -> tuple[Problem, ...]:
    """Return the observed schools left out of the calibration system as problems, one per reason.

    Args:
        schools: the store's ``schools`` table.
        urns: the observed schools absent from the system (:attr:`ObservedCells.unlocated_urns`).

    Returns:
        One ``NOT_MODELLED`` problem per excluded school phase (special schools, PRUs...) and one for
        the others (without coordinates or roll, or not in the store); empty when there are none.
    """
    phase = schools.drop_duplicates("urn").set_index("urn")["phase"].astype("string").reindex(list(urns)).fillna("not in the store")
    excluded = phase.isin(EXCLUDED_PHASES)
    problems = [
        Problem(kind=ProblemKind.NOT_MODELLED, phase="secondary", count=int(n), detail=f"{int(n)} observed {name} school(s) left out: not mainstream destinations")
        for name, n in phase[excluded].value_counts().items()
    ]
    other = phase.index[~excluded].tolist()
    if other:
        problems.append(Problem(kind=ProblemKind.NOT_MODELLED, phase="secondary", count=len(other),
                                detail=f"{len(other)} observed school(s) without coordinates or roll left out: URN {', '.join(map(str, other[:10]))}"))  # fmt: skip
    return tuple(problems)


def _cross_border_rows(dfe: pd.DataFrame, shares: pd.DataFrame, label: str) -> list[dict]:
    """Return one row per authority comparing a model's share of resident pupils taught outside with DfE's."""
    return [
        {"authority_code": rec.authority_code, "la_name": rec.la_name, "model": label, "dfe_share_outside": rec.dfe_share_outside,
         "modelled_share_outside": rec.share_outside, "difference_pp": 100 * (rec.share_outside - rec.dfe_share_outside)}  # fmt: skip
        for rec in dfe.merge(shares, on="authority_code", how="left").itertuples()
    ]


def validate(
    lsoas: pd.DataFrame,
    schools: pd.DataFrame,
    observed_flows: pd.DataFrame,
    cross_border: pd.DataFrame,
    models: tuple[tuple[str, tuple[str, ...], Constraint], ...] = VALIDATION_MODELS,
    max_folds: int | None = None,
    cross_border_year: str = "2019/20",
) -> Validation:
    """Cross-validate each model by borough on the London flows and compare cross-border shares with DfE's.

    Out of sample: for each borough, every model is fitted without that borough's observed schools
    and predicts their pupils' home LSOAs; measures pool all held-out schools
    (:func:`~atlaskit.analysis.flows.validation_measures`). Cross-border: each model fitted on all
    observed schools is applied to 2019 children and schools (origins within
    :data:`~atlaskit.analysis.flows.CALIBRATION_RADIUS_KM` of London's observed schools) and the share
    of each inner London authority's resident pupils taught outside it is compared with DfE's
    published share for ``cross_border_year`` (secondary).

    Args:
        lsoas, schools, observed_flows, cross_border: store tables.
        models: (label, features, constraint) triples.
        max_folds: use only the first ``max_folds`` boroughs (quick checks and tests).
        cross_border_year: academic year of the DfE counts compared.

    Returns:
        :class:`Validation`.

    Raises:
        ModelError: when a model cannot be fitted or evaluated on the tables.
    """
    system, observed = calibration_system(lsoas, schools, observed_flows)
    school_borough = system.destination_authority[observed.schools]
    boroughs = pd.unique(school_borough)
    if max_folds is not None:
        boroughs = boroughs[:max_folds]
    in_folds = np.isin(school_borough, boroughs)
    held = observed.subset(in_folds)

    # 2019 system for cross-border shares
    dest19, _ = phase_destinations(schools, "secondary", "pupils_2019")
    origins19, _ = with_participation(phase_origins(lsoas, "secondary"), dest19)
    origins19 = origins19[origins19["lsoa11_code"].isin(system.origin_codes)]
    at19 = dest19[dest19["urn"].isin(system.destination_ids[observed.schools])]
    system19 = build_system(origins19, dest19, k=system.k, constrained=interior_schools(dest19, at19, CALIBRATION_RADIUS_KM))
    cb = cross_border[(cross_border["phase"] == "secondary") & (cross_border["academic_year"] == cross_border_year)]
    dfe = cb.assign(dfe_share_outside=cb["school_outside_la"].astype("float64") / cb["resident_pupils"].astype("float64"))[["authority_code", "la_name", "dfe_share_outside"]]

    rows, cb_rows = [], []
    for label, features, constraint in models:
        start = time.perf_counter()
        flows = cross_validate(system, observed, school_borough, lambda s, o, f=features, c=constraint: fit_model(s, o, f, c), folds=boroughs)
        m = validation_measures(system, flows, held)
        full = fit_model(system, observed, features, constraint)
        shares = cross_border_shares(system19, predict(system19, full), list(dfe["authority_code"]))
        rows.append({"model": label, "constraint": constraint, **m, "folds": len(boroughs), "seconds": time.perf_counter() - start})
        cb_rows += _cross_border_rows(dfe, shares, label)
    final = fit_model(system, observed, FINAL_FEATURES, FINAL_CONSTRAINT)
    ceiling = suppression_ceiling(system, predict(system, final), held)
    nearest = nearest_school_flows(system)
    rows.append({"model": NEAREST_SCHOOL, "constraint": "-", **validation_measures(system, nearest, held), "folds": len(boroughs), "seconds": 0.0})
    shares = cross_border_shares(system19, nearest_school_flows(system19), list(dfe["authority_code"]))
    cb_rows += _cross_border_rows(dfe, shares, NEAREST_SCHOOL)
    notes = (
        f"Out of sample: {len(boroughs)} borough folds, {len(held.schools)} held-out schools, {held.total.sum():,.0f} pupils "
        f"({held.censored.sum() / held.total.sum():.0%} in suppressed cells, treated as censored when fitting, as 0 in the cell measures).",
        "Each school's modelled pupils are scaled to its published total (which includes sixth formers) before comparison.",
        f"Ceiling: pupils drawn from the store's model itself, with cells under {DISCLOSURE_THRESHOLD} suppressed ({ceiling['suppressed_share']:.0%} of them), "
        f"give that model a CPC of {ceiling['cpc']:.3f}: a perfect model scores about that here, not 1.",
        f"Published pupils living outside the {system.k} nearest-school candidate sets: {observed.outside_pupils:,.0f}.",
        f"Cross-border: secondary, DfE {cross_border_year}, modelled 2019 children and schools.",
        PRIMARY_ASSUMPTION,
    )
    return Validation(pd.DataFrame(rows), pd.DataFrame(cb_rows), notes, _not_modelled_problems(schools, observed.unlocated_urns))
