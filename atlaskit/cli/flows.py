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


#: What the observed flows are, for the messages that say an authority, school or area has none.
OBSERVED_COVERAGE = "observed flows are published only for the secondary schools of 21 London boroughs (London Schools Atlas, January 2015)"


def _read_flows(filters: list) -> "pd.DataFrame":  # noqa: F821
    from atlaskit import store

    return store.read_table("flows", filters=filters)


def _authority_name(code: str) -> str:
    """Return ``"Camden (E09000007)"`` for an authority code."""
    from atlaskit import store

    names = store.cached_table("authorities", columns=["authority_code", "authority_name"]).set_index("authority_code")["authority_name"]
    return f"{names.get(code, code)} ({code})"


def _school(urn: int) -> dict:
    """Return the store's row of a school (urn, school_name, authority_code, phase, age_low, age_high, tier, is_open).

    Raises:
        UnknownSchool: the URN is not in the store, naming close matches.
    """
    from atlaskit import store
    from atlaskit.errors import UnknownSchool, closest

    columns = ["urn", "school_name", "authority_code", "phase", "age_low", "age_high", "is_open"]
    schools = store.cached_table("schools", columns=columns)
    rows = schools[schools["urn"] == urn]
    if rows.empty:
        raise UnknownSchool(f"URN {urn} is not in the store; close matches: {', '.join(closest(urn, schools['urn']))}")
    return rows.iloc[0].to_dict()


def _school_text(school: dict) -> str:
    """Return ``"URN 100049 (Haverstock School, secondary, ages 11-18)"``."""
    import pandas as pd

    low, high = school.get("age_low"), school.get("age_high")
    ages = f", ages {int(low)}-{int(high)}" if pd.notna(low) and pd.notna(high) else ""
    name = school.get("school_name")
    return f"URN {school['urn']} ({name if pd.notna(name) else 'no name published'}, {school['phase']}{ages})"


def _lsoa_authority(code: str) -> str:
    """Return the authority of a 2011 LSOA.

    Raises:
        UnknownArea: the code is not an English 2011 LSOA in the store, naming close matches.
    """
    from atlaskit import store
    from atlaskit.errors import UnknownArea, closest

    lsoas = store.cached_table("lsoas", columns=["lsoa11_code", "authority_code"])
    rows = lsoas[lsoas["lsoa11_code"].astype(str) == code]
    if rows.empty:
        shown = code if len(code) <= 20 else code[:20] + "..."
        raise UnknownArea(f"LSOA {shown!r} is not an English 2011 LSOA in the store; close matches: {', '.join(closest(code[:20], lsoas['lsoa11_code'].astype(str)))}")
    return str(rows["authority_code"].iloc[0])


def _closed_urns() -> set:
    """Return the URNs of the store's closed schools (the set the app's school directory gives)."""
    from atlaskit import store

    schools = store.cached_table("schools", columns=["urn", "is_open"])
    return set(schools.loc[~schools["is_open"].fillna(True).astype(bool), "urn"])


def _flows_out_of(lsoa_codes) -> "pd.DataFrame":  # noqa: F821
    """Return every flow (both sources and phases) out of the given LSOAs, read by their authorities' row groups."""
    import pandas as pd

    from atlaskit import store

    codes = set(lsoa_codes)
    lsoas = store.cached_table("lsoas", columns=["lsoa11_code", "authority_code"])
    authorities = lsoas.loc[lsoas["lsoa11_code"].astype(str).isin(codes), "authority_code"].unique().tolist()
    within = store.read_rows("flows", "school_authority_code", authorities)
    within = within[within["lsoa_authority_code"] == within["school_authority_code"]]
    across = store.read_rows("flows_across_borders", "lsoa_authority_code", authorities)
    out = pd.concat([within, across], ignore_index=True)
    return out[out["lsoa11_code"].isin(codes)].reset_index(drop=True)


def _check_options(school: Optional[int], lsoa: Optional[str], feeders: bool) -> None:
    """Refuse options that cannot go together (one would be ignored)."""
    from atlaskit.errors import AtlasError

    if school is not None and lsoa is not None:
        raise AtlasError("--school and --lsoa cannot go together: choose one (--school URN: where one school's pupils live; --lsoa CODE: which schools one area's children attend)")
    if feeders and school is None:
        raise AtlasError("--feeders needs --school URN: the school whose feeder schools are estimated")


def _check_rows(rows: "pd.DataFrame", phase: Optional[Phase], source: Source, what: str) -> None:  # noqa: F821
    """Say why a selection is empty (no flows of the phase, no observed flows) instead of printing an empty table."""
    from atlaskit.errors import AtlasError

    if phase is not None:
        phases = sorted(set(rows["phase"].dropna().astype(str)))
        if phase.value not in phases:
            has = f"its flows are {' and '.join(phases)}" if phases else "it has no flows"
            hint = f"; use --phase {phases[0]}" if len(phases) == 1 else ""
            raise AtlasError(f"{what} has no {phase.value} flows: {has}{hint}")
        rows = rows[rows["phase"].astype(str) == phase.value]
    if source == Source.observed and not (rows["source"] == "observed").any():
        which = f"{phase.value} " if phase is not None else ""
        raise AtlasError(f"no observed {which}flows are published for {what}: {OBSERVED_COVERAGE}; use --source best or --source modelled")


def _footer(frame, phase: Optional[Phase]) -> list[str]:
    from atlaskit.analysis.flows import PRIMARY_ASSUMPTION
    from atlaskit.vocabulary import DISCLOSURE_THRESHOLD

    lines = []
    if "label" in frame and (frame["label"] == "estimate").any():
        lines.append("estimate: modelled value (rounded; --format csv writes it unrounded), not an observed count.")
    if "suppressed" in frame and frame["suppressed"].any():
        lines.append(f"observed counts under {DISCLOSURE_THRESHOLD} are suppressed (blank); totals and shares are computed before suppression.")
    if "phase" in frame and (frame["phase"].astype(str) == "primary").any() or phase == Phase.primary:
        lines.append(PRIMARY_ASSUMPTION)
    return lines


def _unrounded(shown: "pd.DataFrame", table: "pd.DataFrame") -> "pd.DataFrame":  # noqa: F821
    """Return ``shown`` with its modelled pupils unrounded (machine output); observed counts stay as disclosed."""
    import numpy as np
    import pandas as pd

    raw = pd.to_numeric(table["pupils"], errors="coerce").to_numpy()
    # float32 estimates written at their stored precision (shortest repr), not as float64 noise
    raw = np.array([float(str(v)) for v in raw.astype(np.float32)], dtype="float64")
    estimate = (shown["label"] == "estimate").to_numpy(dtype=bool)
    disclosed = shown["pupils"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    return shown.assign(pupils=np.where(estimate, raw, disclosed))


@app.command("flows")
def flows_command(
    code: str = typer.Argument(..., help="Authority: ONS code (E09000007), DfE number (202) or name."),
    fmt: Format = typer.Option(Format.table, "--format", help="table (for people) or csv (all rows, for machines; modelled estimates unrounded)."),
    source: Source = typer.Option(Source.best, "--source", help="best: observed where published, else modelled."),
    school: Optional[int] = typer.Option(None, "--school", help="Show where one school's pupils live (URN of a school of the authority)."),
    lsoa: Optional[str] = typer.Option(None, "--lsoa", help="Show which schools one LSOA's children attend (2011 code of an LSOA of the authority)."),
    phase: Optional[Phase] = typer.Option(None, "--phase", help="primary or secondary (default both)."),
    rows: int = typer.Option(40, "--rows", min=1, help="Rows shown in table format (1 or more)."),
    feeders: bool = typer.Option(False, "--feeders", help="With --school: the estimated feeder primaries of a secondary, or the secondaries a primary's leavers go to."),
) -> None:
    """Print the pupil flows into an authority's schools (or one school's catchment, or one area's destinations, or a school's feeders)."""
    import pandas as pd

    from atlaskit.analysis import flows as fl
    from atlaskit.analysis.disclosure import check_disclosable, disclose
    from atlaskit.errors import AtlasError
    from atlaskit.store.loaders import resolve_authority
    from atlaskit import store

    _check_options(school, lsoa, feeders)
    authority = resolve_authority(code)
    authority_text = _authority_name(authority)
    phase_value = phase.value if phase else None
    if school is not None:
        info = _school(school)
        if str(info["authority_code"]) != authority:
            other = str(info["authority_code"])
            raise AtlasError(f"{_school_text(info)} is a school of {_authority_name(other)}, not of {authority_text}: run `atlas flows {other} --school {school}`")
        frame = _read_flows([("urn", "==", school)])
        if frame.empty:
            closed = "" if info.get("is_open") is not False else "; it is closed"
            raise AtlasError(f"{_school_text(info)} has no flows{closed}: flows cover state-funded mainstream schools (not special, PRU, nursery or 16 plus), modelled for those open in 2019")
        if feeders:
            _feeders(info, frame, phase, fmt, rows)
            return
        _check_rows(frame, phase, source, _school_text(info))
        table = fl.school_catchment(frame, school, source=source.value, phase=phase_value)
        title = f"Where the pupils of school {school} live ({source.value})"
    elif lsoa is not None:
        code_lsoa = lsoa.strip().upper()
        home = _lsoa_authority(code_lsoa)
        if home != authority:
            raise AtlasError(f"LSOA {code_lsoa} is in {_authority_name(home)}, not in {authority_text}: run `atlas flows {home} --lsoa {code_lsoa}`")
        # the rows the app reads (atlaskit.load) and the app's rule (area_destinations): the same schools
        from atlaskit.store.loaders import load

        data = load(authority)
        _check_rows(data.flows[data.flows["lsoa11_code"] == code_lsoa], phase, source, f"LSOA {code_lsoa}")
        table = fl.area_destinations(data.flows, code_lsoa, source=source.value, phase=phase_value, closed_urns=_closed_urns())
        title = f"Schools attended by the children of {code_lsoa} ({source.value})"
    else:
        schools = pd.read_parquet(store.table_path("schools"), columns=["urn", "school_name", "authority_code"], filters=[("authority_code", "==", authority)])
        urns = schools["urn"].tolist()
        frame = _read_flows([("urn", "in", urns)]) if urns else _read_flows([("urn", "==", -1)])
        _check_rows(frame, phase, source, f"the schools of {authority_text}")
        if phase_value:
            frame = frame[frame["phase"].astype(str) == phase_value]
        frame = fl.select_source(frame, source.value)
        names = schools.set_index("urn")["school_name"]
        table = frame.assign(school_name=frame["urn"].map(names))
        table = table[["urn", "school_name", "lsoa11_code", "phase", "pupils", "source", "distance_km"] + (["suppressed"] if "suppressed" in table else [])]
        table = table.sort_values(["urn", "phase", "pupils"], ascending=[True, True, False], na_position="last", kind="stable")
        title = f"Pupil flows into the schools of {authority_text} ({source.value})"
    table = table.reset_index(drop=True)
    shown = disclose(table)
    check_disclosable(shown)
    for column in ("share", "cumulative_share"):
        if column in shown:  # a suppressed count's share would give it away
            shown[column] = shown[column].where(~shown["suppressed"].to_numpy(dtype=bool))
    if fmt == Format.csv:
        shown = _unrounded(shown, table)
        check_disclosable(shown)
        print_frame(shown, fmt)
        return
    for column in ("distance_km", "share", "cumulative_share"):
        if column in shown:
            shown[column] = shown[column].astype("float64").round(3 if column != "distance_km" else 2)
    for column in ("share", "cumulative_share"):
        if column in shown:  # percentages read better than 0.0x in a table
            shown[f"{column}_pct"] = (100 * shown.pop(column)).round(1)
    print_frame(shown, fmt, title=title, max_rows=rows)
    for line in _footer(shown, phase):
        typer.echo(line)


def _feeders(info: dict, frame: "pd.DataFrame", phase: Optional[Phase], fmt: Format, rows: int) -> None:  # noqa: F821
    """Print a school's estimated feeder schools (:func:`atlaskit.analysis.flows.school_feeders`), labelled as estimates."""
    import pandas as pd

    from atlaskit import store
    from atlaskit.analysis import flows as fl

    from atlaskit.errors import AtlasError

    modelled = frame[frame["source"] == "modelled"]
    if modelled.empty:
        raise AtlasError(f"{_school_text(info)} has no modelled flows (only its observed 2015 flows): feeder schools are estimated from modelled flows of schools open in 2019")
    _check_rows(modelled, phase, Source.modelled, _school_text(info))
    sides = [phase.value] if phase is not None else [p for p in ("secondary", "primary") if (modelled["phase"].astype(str) == p).any()]
    around = _flows_out_of(modelled["lsoa11_code"].dropna().unique())
    around = around[around["source"] == "modelled"]
    names = store.cached_table("schools", columns=["urn", "school_name", "authority_code"]).set_index("urn")
    links = {"secondary": "primary feeding it", "primary": "secondary its leavers go to"}
    parts = [fl.school_feeders(around, int(info["urn"]), side).assign(link=links[side]) for side in sides]
    table = pd.concat(parts, ignore_index=True)
    table.insert(1, "school_name", table["urn"].map(names["school_name"]))
    table.insert(2, "authority_code", table["urn"].map(names["authority_code"]))
    table["label"] = "estimate"
    table = table[["link", "urn", "school_name", "authority_code", "leavers", "share", "cumulative_share", "lsoas", "label"]]
    if fmt == Format.csv:
        print_frame(table, fmt)
        return
    shown = table.assign(leavers=table["leavers"].round(0).astype("Int64"), share_pct=(100 * table.pop("share")).round(1), cumulative_share_pct=(100 * table.pop("cumulative_share")).round(1))
    shown = shown.drop(columns=["share", "cumulative_share"], errors="ignore")
    for side in sides:
        part = shown[shown["link"] == links[side]].drop(columns="link")
        title = f"Estimated {'feeder primary schools of' if side == 'secondary' else 'secondary schools taking the leavers of'} {_school_text(info)} (leavers a year)"
        print_frame(part, fmt, title=title, max_rows=rows)
    typer.echo(fl.FEEDER_METHOD)


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
