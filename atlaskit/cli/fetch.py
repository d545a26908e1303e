"""``atlas fetch``: download the raw data files into ``ATLAS_DATA_DIR``, resumable and checksummed."""

from __future__ import annotations

from pathlib import Path

import typer

from atlaskit.cli import app


@app.command()
def fetch(
    data_dir: Path = typer.Option(None, "--data-dir", help="Data folder to fill (default: $ATLAS_DATA_DIR or ../shared/atlas-data)."),
    mirror: str = typer.Option(
        None,
        "--mirror",
        envvar="ATLAS_DATA_MIRROR",
        help="Base URL (or local folder) of a copy of atlas-data, file path appended; default: each file's official origin.",
    ),
    dataset: list[str] = typer.Option(None, "--dataset", "-d", help="Fetch only this data set (repeatable); see `atlaskit.sources.DATASETS`."),
    verify_only: bool = typer.Option(False, "--verify-only", help="Only check the files present against the manifest; download nothing."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Download each data set's files (resumable, sha256-verified); exit 1 if any file failed."""
    from atlaskit.sources.fetch import fetch as run_fetch

    summary = run_fetch(data_dir, mirror=mirror or None, datasets=dataset or None, verify_only=verify_only, progress=not quiet)
    for i, line in enumerate(summary.lines()):
        failed = line.startswith("FAILED")
        typer.secho(line, err=failed, fg=typer.colors.RED if failed else None, bold=(i == 0))
    if not summary.ok:
        raise typer.Exit(1)
