"""``atlas demand`` (pupil projections, capacity and surplus) and ``atlas validate demand`` (the backtest)."""

from __future__ import annotations

from pathlib import Path

import typer

from atlaskit.analysis.problems import Problem
from atlaskit.cli import app, validate_app
from atlaskit.cli.data import Format, print_frame
from atlaskit.vocabulary import academic_year

#: Columns of ``atlas demand --format csv``, in order.
CSV_COLUMNS = [
    "authority_code", "phase", "academic_year", "kind", "origin", "horizon", "pupils", "pupils_lower_80", "pupils_upper_80",
    "pupils_lower_95", "pupils_upper_95", "actual_pupils", "capacity", "surplus", "pct_spare", "below_2pct_margin",
    "below_5pct_margin", "capacity_year",
]
_TABLE_COLUMNS = ["authority_code", "phase", "academic_year", "kind", "pupils", "pupils_lower_80", "pupils_upper_80", "actual_pupils",
                  "capacity", "surplus", "pct_spare"]


def _inputs(store_dir: Path | None):
    from atlaskit import store

    return store.cached_table("la_population", store_dir=store_dir), store.cached_table("scorecard", store_dir=store_dir)


def _notes(problems: list[Problem]) -> None:
    for problem in problems:
        typer.secho(f"note: {problem}", err=True, fg=typer.colors.YELLOW)


@app.command("demand")
def demand_command(
    authority: str = typer.Argument(None, help="Authority: ONS code (E09000007), old code, DfE number (202) or name."),
    all_authorities: bool = typer.Option(False, "--all", help="All 153 authorities."),
    years: int = typer.Option(10, "--years", min=1, max=15, help="Academic years to project after the latest roll."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table (for people) or csv (for machines)."),
    backtest_years: bool = typer.Option(True, "--backtest/--no-backtest", help="Include 2022/23-2024/25 projected from 2018/19, beside the actual rolls."),
    areas: bool = typer.Option(False, "--areas", help="One authority: planning areas (or clusters of nearby schools) instead, via the modelled flows, first shortfalls first."),
    store_dir: Path = typer.Option(None, "--store", help="Store folder (default: ATLAS_STORE_DIR or ./store).", hidden=True),
) -> None:
    """Project primary (R-Y6) and secondary (Y7-11) pupils with 80%/95% intervals, capacity and surplus."""
    from atlaskit.analysis import demand
    from atlaskit.errors import ModelError, UnknownAuthority

    if bool(authority) == all_authorities:
        raise UnknownAuthority("give one authority (atlas demand E09000007) or --all, not both or neither")
    codes = None
    if authority:
        from atlaskit.store.loaders import resolve_authority

        codes = [resolve_authority(authority, store_dir)]
    la_population, scorecard = _inputs(store_dir)
    if areas:
        if codes is None:
            raise UnknownAuthority("--areas works for one authority at a time: atlas demand E09000007 --areas")
        _print_areas(codes[0], la_population, scorecard, years, fmt, store_dir)
        return
    result = demand.project_demand(la_population, scorecard, years_ahead=years, authorities=codes, include_backtest=backtest_years)
    table = result.table
    problems = result.problems if codes is None else [p for p in result.problems if p.authority_code in codes or set(p.related_codes) & set(codes)]
    if table.empty:
        raise ModelError(f"no projection for {', '.join(codes or ['any authority'])}: " + ("; ".join(map(str, problems)) or "no inputs"))
    _notes(problems)
    if fmt == Format.csv:
        out = table[CSV_COLUMNS].copy()
        for column in ("pupils", "pupils_lower_80", "pupils_upper_80", "pupils_lower_95", "pupils_upper_95", "surplus"):
            out[column] = out[column].round(1)
        out["pct_spare"] = out["pct_spare"].round(2)
        print_frame(out, fmt)
    else:
        title = "Pupils on roll: projection (cohort method) with 80% interval, places and spare places (%)"
        print_frame(table[_TABLE_COLUMNS].round({"pupils": 0, "pupils_lower_80": 0, "pupils_upper_80": 0, "surplus": 0, "pct_spare": 1}), fmt, title=title)


def _print_areas(code: str, la_population, scorecard, years: int, fmt: Format, store_dir: Path | None) -> None:
    from atlaskit.analysis import demand
    from atlaskit.store import loaders
    from atlaskit.errors import ModelError

    data = loaders.load(code, store_dir=store_dir)
    authority = demand.project_demand(la_population, scorecard, years_ahead=years, authorities=[code], include_backtest=False).table
    places = demand.latest_capacity(scorecard)
    result = demand.small_area_demand(
        data.lsoas, data.flows, data.schools, la_population, last_year=2025 + years,
        authority_pupils=authority[authority["kind"].isin(["actual", "projection"])], authority_capacity=places,
    )
    _notes(result.problems)
    if result.table.empty:
        raise ModelError(f"{code}: no small-area projection: " + "; ".join(map(str, result.problems)))
    if fmt == Format.csv:
        print_frame(result.table.round(2), fmt)
        return
    first = demand.first_shortfall(result.table)
    print_frame(first.round(1), fmt, title=f"{code}: planning groups whose spare places fall under the DfE's 2% margin, first year first "
                "(pupils: the authority's projection shared out by LSOA children and the flows; places: SCAP 2015 "
                "shares of the authority's latest places)")
    shown = result.table[result.table["academic_year"].isin([academic_year(2025), academic_year(2025 + years)])]
    print_frame(shown[["planning_group", "phase", "academic_year", "pupils", "pupils_no_capacity", "capacity", "surplus", "pct_spare", "n_schools"]].round(1), fmt, title="Planning groups now and at the end of the projection")


@validate_app.command("demand")
def validate_demand_command(
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table or csv."),
    details: bool = typer.Option(False, "--details", help="Print every authority's backtest row instead of the summary."),
    store_dir: Path = typer.Option(None, "--store", help="Store folder.", hidden=True),
) -> None:
    """Backtest the projections against the scorecard rolls 2022/23-2024/25, beside the authorities' own forecasts."""
    from atlaskit.analysis import demand

    la_population, scorecard = _inputs(store_dir)
    result = demand.backtest(la_population, scorecard)
    _notes(result.problems)
    if details:
        print_frame(result.table.round(2), fmt)
        return
    summary = demand.backtest_summary(result.table, scorecard).reset_index()
    print_frame(
        summary.round(2),
        fmt,
        title="Backtest by phase and horizon (years after the last roll used; origins: the rolls jumped off from): absolute % errors, "
        "bias (+ = over-projection), share of actuals inside the 80%/95% intervals; la_*: the authorities' own published forecasts "
        "(For_1/For_3) for the same years",
    )
    if fmt == Format.table:
        targets = demand.backtest_targets(result.table)
        low, high = demand.COVERAGE_80_TARGET_PCT
        print_frame(
            targets.round(2),
            fmt,
            title=f"Targets: median absolute error at most {demand.MEDIAN_APE_TARGET_PCT:g}% and {low:g}-{high:g}% of actuals inside the "
            f"80% intervals, at every horizon. From the earliest data: the {demand.EARLIEST_ORIGIN} roll and the mid-2019/mid-2020 "
            "children, to every published roll; rolling origin: a stricter test 1-2 years ahead",
        )
