"""``atlas flows CODE`` and ``atlas validate flows``: pupil flows from the store, and the model's validation.

Every count printed goes through :func:`atlaskit.analysis.disclosure.disclose`: observed counts under
:data:`~atlaskit.vocabulary.DISCLOSURE_THRESHOLD` are never shown, modelled values are rounded and
labelled ``estimate``.
"""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from atlaskit.cli import app, validate_app
from atlaskit.cli.data import Format, print_frame


class Source(str, Enum):
    """Which flows to show."""

    best = "best"
    observed = "observed"
    modelled = "modelled"


class Phase(str, Enum):
    """School phase."""

    primary = "primary"
    secondary = "secondary"


def _read_flows(filters: list) -> "pd.DataFrame":  # noqa: F821
    from atlaskit import store

    return store.read_table("flows", filters=filters)


def _check_urn(urn: int) -> None:
    """Raise UnknownSchool with close matches when the URN is not in the store's schools."""
    import pandas as pd

    from atlaskit import store
    from atlaskit.errors import closest
    from atlaskit.errors import UnknownSchool

    urns = pd.read_parquet(store.table_path("schools"), columns=["urn"])["urn"]
    if urn not in set(urns):
        raise UnknownSchool(f"URN {urn} is not in the store; close matches: {', '.join(closest(urn, urns))}")


def _check_lsoa(code: str) -> None:
    """Raise UnknownArea with close matches when the LSOA code is not in the store."""
    import pandas as pd

    from atlaskit import store
    from atlaskit.errors import closest
    from atlaskit.errors import UnknownArea

    codes = pd.read_parquet(store.table_path("lsoas"), columns=["lsoa11_code"])["lsoa11_code"].astype(str)
    if code not in set(codes):
        raise UnknownArea(f"LSOA {code!r} is not an English 2011 LSOA in the store; close matches: {', '.join(closest(code, codes))}")


def _footer(frame, phase: Optional[Phase]) -> list[str]:
    from atlaskit.analysis.flows import PRIMARY_ASSUMPTION
    from atlaskit.vocabulary import DISCLOSURE_THRESHOLD

    lines = []
    if "label" in frame and (frame["label"] == "estimate").any():
        lines.append("estimate: modelled value (rounded), not an observed count.")
    if "suppressed" in frame and frame["suppressed"].any():
        lines.append(f"observed counts under {DISCLOSURE_THRESHOLD} are suppressed (blank); totals and shares are computed before suppression.")
    if "phase" in frame and (frame["phase"].astype(str) == "primary").any() or phase == Phase.primary:
        lines.append(PRIMARY_ASSUMPTION)
    return lines


@app.command("flows")
def flows_command(
    code: str = typer.Argument(..., help="Authority: ONS code (E09000007), DfE number (202) or name."),
    fmt: Format = typer.Option(Format.table, "--format", help="table (for people) or csv (all rows, for machines)."),
    source: Source = typer.Option(Source.best, "--source", help="best: observed where published, else modelled."),
    school: Optional[int] = typer.Option(None, "--school", help="Show where one school's pupils live (URN)."),
    lsoa: Optional[str] = typer.Option(None, "--lsoa", help="Show which schools one LSOA's children attend (2011 code)."),
    phase: Optional[Phase] = typer.Option(None, "--phase", help="primary or secondary (default both)."),
    rows: int = typer.Option(40, "--rows", help="Rows shown in table format."),
) -> None:
    """Print the pupil flows into an authority's schools (or one school's catchment, or one area's destinations)."""
    import pandas as pd

    from atlaskit.analysis import flows as fl
    from atlaskit.analysis.disclosure import check_disclosable, disclose
    from atlaskit.store.loaders import resolve_authority
    from atlaskit import store

    authority = resolve_authority(code)
    phase_value = phase.value if phase else None
    if school is not None:
        _check_urn(school)
        frame = _read_flows([("urn", "==", school)])
        table = fl.school_catchment(frame, school, source=source.value, phase=phase_value)
        title = f"Where the pupils of school {school} live ({source.value})"
    elif lsoa is not None:
        code_lsoa = lsoa.strip().upper()
        _check_lsoa(code_lsoa)
        frame = _read_flows([("lsoa11_code", "==", code_lsoa)])
        table = fl.area_destinations(frame, code_lsoa, source=source.value, phase=phase_value)
        title = f"Schools attended by the children of {code_lsoa} ({source.value})"
    else:
        schools = pd.read_parquet(store.table_path("schools"), columns=["urn", "school_name", "authority_code"], filters=[("authority_code", "==", authority)])
        urns = schools["urn"].tolist()
        frame = _read_flows([("urn", "in", urns)]) if urns else _read_flows([("urn", "==", -1)])
        if phase_value:
            frame = frame[frame["phase"].astype(str) == phase_value]
        frame = fl.select_source(frame, source.value)
        names = schools.set_index("urn")["school_name"]
        table = frame.assign(school_name=frame["urn"].map(names))
        table = table[["urn", "school_name", "lsoa11_code", "phase", "pupils", "source", "distance_km"] + (["suppressed"] if "suppressed" in table else [])]
        table = table.sort_values(["urn", "phase", "pupils"], ascending=[True, True, False], na_position="last", kind="stable")
        title = f"Pupil flows into the schools of {authority} ({source.value})"
    shown = disclose(table)
    check_disclosable(shown)
    for column in ("distance_km", "share", "cumulative_share"):
        if column in shown:
            shown[column] = shown[column].astype("float64").round(3 if column != "distance_km" else 2)
    if fmt == Format.csv:
        print_frame(shown, fmt)
        return
    for column in ("share", "cumulative_share"):
        if column in shown:  # percentages read better than 0.0x in a table
            shown[f"{column}_pct"] = (100 * shown.pop(column)).round(1)
    print_frame(shown, fmt, title=title, max_rows=rows)
    for line in _footer(shown, phase):
        typer.echo(line)


@validate_app.command("flows")
def validate_flows_command(
    quick: bool = typer.Option(False, "--quick", help="Only 3 borough folds, the production-constrained models and the store's model (a few minutes)."),
    folds: Optional[int] = typer.Option(None, "--folds", help="Hold out only the first N boroughs (default all 21; 3 with --quick)."),
    fmt: Format = typer.Option(Format.table, "--format", help="table or csv."),
) -> None:
    """Cross-validate the flow models by borough on the London flows and compare cross-border shares with DfE's."""
    from atlaskit import store
    from atlaskit.pipelines import validation
    from atlaskit.pipelines.england_flows import FINAL_CONSTRAINT, FINAL_FEATURES

    lsoas = store.read_table("lsoas", columns=None)
    schools = store.read_table("schools")
    observed = store.read_table("observed_flows")
    cross = store.read_table("cross_border")
    models = validation.VALIDATION_MODELS
    if quick:
        models = tuple(m for m in models if m[2] == "production" or (m[1], m[2]) == (FINAL_FEATURES, FINAL_CONSTRAINT))
    result = validation.validate(lsoas, schools, observed, cross, models=models, max_folds=folds or (3 if quick else None))
    measures = result.measures.round(3)
    pivot = result.cross_border.pivot_table(index=["authority_code", "la_name", "dfe_share_outside"], columns="model", values="modelled_share_outside").reset_index()
    if fmt == Format.csv:
        print_frame(measures, fmt)
        typer.echo("")
        print_frame(result.cross_border.round(4), fmt)
        return
    print_frame(measures, fmt, title="Secondary flows, out of sample (cross-validated by borough)")
    print_frame(pivot.round(3), fmt, title="Share of resident secondary pupils taught outside their authority: DfE vs modelled")
    best = result.cross_border.groupby("model")["difference_pp"].apply(lambda d: d.abs().max()).round(1)
    typer.echo("largest cross-border difference (percentage points) by model: " + "; ".join(f"{m}: {v}" for m, v in best.items()))
    for note in result.notes:
        typer.echo(note)
    for problem in result.problems:
        typer.echo(str(problem))
