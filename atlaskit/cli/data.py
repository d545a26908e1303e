"""``atlas build``, ``atlas authorities`` and ``atlas schools``: the data-foundation subcommands."""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path

import typer

from atlaskit.cli import app


class Format(str, Enum):
    """Output format of listing commands."""

    table = "table"
    csv = "csv"


def print_frame(frame, fmt: Format, title: str | None = None, max_rows: int | None = None) -> None:
    """Print a DataFrame as a rich table (humans) or CSV on stdout (machines)."""
    if fmt == Format.csv:
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    decimals = []
    for column in frame.columns:
        numeric = frame[column].dtype.kind in "iuf"
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
        # small measures (shares, CPC, km) keep three decimals; counts one
        small = frame[column].dtype.kind == "f" and bool((frame[column].abs() < 10).all())
        decimals.append(3 if small else 1)
    shown = frame if max_rows is None else frame.head(max_rows)
    for row in shown.itertuples(index=False):
        table.add_row(*["" if _isna(v) else (f"{v:,.{n}f}" if isinstance(v, float) else str(v)) for v, n in zip(row, decimals)])
    console = Console(width=max(120, Console().width))
    console.print(table)
    if max_rows is not None and len(frame) > max_rows:
        console.print(f"... {len(frame) - max_rows} more rows (use --format csv for all)")


def _isna(value) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


@app.command()
def build(
    data_dir: Path = typer.Option(None, "--data-dir", help="Raw data folder (default: $ATLAS_DATA_DIR or ../shared/atlas-data)."),
    store_dir: Path = typer.Option(None, "--store-dir", help="Store folder (default: $ATLAS_STORE_DIR or ./store)."),
    if_missing: bool = typer.Option(False, "--if-missing", help="Do nothing when a store is already built."),
    check: bool = typer.Option(False, "--check", help="Check every table of the built store against the sizes and checksums its build recorded; build nothing."),
) -> None:
    """Build the store (Parquet/GeoParquet tables for all England) from the raw data files, or --check it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from atlaskit import config, sources
    from atlaskit.errors import DataFileMissing
    from atlaskit.pipelines.build import BUILD_STEPS
    from atlaskit.store import build_store, current_folder, store_exists, verify_store
    from atlaskit.store.build import prepare_store_folder

    if check:
        folder = current_folder(store_dir)
        checked, problems = verify_store(folder)
        for problem in problems:
            typer.secho(problem, err=True, fg=typer.colors.RED)
        typer.echo(f"checked {checked} table(s) in {folder}: {len(problems)} problem(s)" + ("; run `atlas build` to rebuild" if problems else ""))
        if problems:
            raise typer.Exit(1)
        return
    data_dir = data_dir or config.data_dir()
    prepare_store_folder(store_dir or config.store_dir())
    if if_missing and store_exists(store_dir):
        typer.echo(f"store already built at {store_dir or config.store_dir()} (use `atlas build` to rebuild)")
        return
    missing = sources.missing_by_dataset(data_dir)
    if missing:
        lines = "\n  ".join(missing)
        raise DataFileMissing(
            f"data file(s) missing from {data_dir} (ATLAS_DATA_DIR):\n  {lines}\n"
            "Run `atlas fetch` to download them, or set ATLAS_DATA_DIR to the folder holding them."
        )
    start = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"), TimeElapsedColumn(), transient=False) as progress:
        task = progress.add_task("building store", total=len(BUILD_STEPS))

        def on_step(name: str, index: int, total: int) -> None:
            progress.update(task, completed=index, description=f"building store: {name}")

        report = build_store(data_dir, store_dir, steps=BUILD_STEPS, on_step=on_step)
        progress.update(task, completed=len(BUILD_STEPS), description="store built")
    typer.echo(f"built {report.folder}")
    for name, rows in report.rows.items():
        typer.echo(f"  {name:<22} {rows:>10,} rows")
    for step, seconds in report.seconds.items():
        typer.echo(f"  step {step:<17} {seconds:>8.1f} s")
    for note in report.notes:
        typer.echo(f"  note: {note}")
    typer.echo(f"total {time.perf_counter() - start:.1f} s")


@app.command("authorities")
def authorities_command(
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table (for people) or csv (for machines)."),
) -> None:
    """List the 153 education authorities: code, name, region, LSOAs and state-funded schools."""
    from atlaskit.store.loaders import authorities

    frame = authorities()
    columns = [c for c in ["authority_code", "authority_name", "authority_type", "region_name", "la_number", "n_lsoas", "n_schools"] if c in frame]
    print_frame(frame[columns], fmt, title=f"{len(frame)} education authorities in England")


SCHOOL_COLUMNS = [
    "urn",
    "school_name",
    "phase",
    "establishment_type",
    "is_open",
    "pupils_2019",
    "capacity_2015",
    "ofsted_rating",
    "easting",
    "northing",
    "lsoa11_code",
]


@app.command("schools")
def schools_command(
    code: str = typer.Argument(..., help="Authority: ONS code (E09000007), DfE number (202) or name (Camden)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table or csv."),
    all_schools: bool = typer.Option(False, "--all", help="Include closed and independent schools (default: open state-funded)."),
) -> None:
    """List one authority's schools: URN, name, phase, type, pupils, capacity, Ofsted, location, LSOA."""
    from atlaskit.store.loaders import load
    from atlaskit.vocabulary import is_open_state_funded

    data = load(code, buffer_km=0)
    schools = data.schools
    if not all_schools:
        schools = schools[is_open_state_funded(schools)]
    columns = [c for c in SCHOOL_COLUMNS if c in schools.columns]
    frame = schools[columns].sort_values(["phase", "school_name"]) if "phase" in columns else schools[columns]
    for column in ("easting", "northing", "pupils_2019", "capacity_2015"):
        if column in frame:
            frame[column] = frame[column].round().astype("Int64")
    print_frame(frame, fmt, title=f"{data.code} {data.name}: {len(frame)} schools")
