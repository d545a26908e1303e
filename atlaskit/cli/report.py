"""``atlas report``: build per-authority HTML reports from ``notebooks/report.ipynb`` with Papermill."""

from __future__ import annotations

from pathlib import Path

import typer

from atlaskit.cli import app


def _codes_for_all(parameters_dir: Path) -> list[str]:
    """Every education authority in the store; the parameter files' codes when there is no store."""
    from atlaskit.errors import StoreMissing

    try:
        from atlaskit import authorities

        return authorities()["authority_code"].tolist()
    except StoreMissing:
        return sorted(p.stem for p in parameters_dir.glob("E*.yaml"))


def _resolve(codes: list[str]):
    """Resolve names and old codes to current codes when the store is there; keep them as given otherwise.

    Returns:
        ``(codes, failures)``: the current codes, and for each text that names no authority a
        :class:`atlaskit.batch.JobFailure` saying why (the batch lists it and runs the rest).
    """
    from atlaskit.batch import JobFailure
    from atlaskit.errors import StoreMissing, UnknownAuthority

    from atlaskit import resolve_authority

    resolved, failures = [], {}
    for code in codes:
        try:
            resolved.append(resolve_authority(code))
        except StoreMissing:
            resolved.append(code)
        except UnknownAuthority as exc:
            failures[code] = JobFailure("authority", "UnknownAuthority", str(exc))
    return resolved, failures


@app.command()
def report(
    codes: list[str] = typer.Argument(None, metavar="[CODE]...", help="Authority codes (or names), e.g. E09000007 Camden."),
    all_: bool = typer.Option(False, "--all", help="Every authority (153)."),
    out: Path = typer.Option(None, "--out", help="Output folder (default: reports/)."),
    force: bool = typer.Option(False, "--force", help="Rebuild reports that are up to date with their inputs."),
    workers: int = typer.Option(2, "--workers", min=1, help="Worker processes of the local pool."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786): run on that cluster."),
    scheduler_timeout: float = typer.Option(10.0, "--scheduler-timeout", min=0.1, help="Seconds allowed to connect to --scheduler."),
    timeout: float = typer.Option(600.0, "--timeout", min=1, help="Seconds allowed for any one notebook cell."),
    start_timeout: float = typer.Option(120.0, "--start-timeout", min=1, help="Seconds allowed for a kernel to start."),
    parameters: Path = typer.Option(None, "--parameters", help="Folder of <CODE>.yaml parameter files (default: parameters/)."),
    notebook: Path = typer.Option(None, "--notebook", help="Report notebook (default: notebooks/report.ipynb)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Write reports/<CODE>.html (and the executed .ipynb) for each authority, and reports/index.html.

    Failures do not stop the batch: each is listed in index.html with its failing cell and error,
    and the command exits 1 when any report failed. SIGTERM or Ctrl-C stops the workers and their
    kernels, writes the index of what was done and exits 143 (SIGTERM) or 130 (Ctrl-C).
    """
    from atlaskit import batch, config

    if not codes and not all_:
        typer.secho("error: give one or more authority codes (atlas report E09000007), or --all", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    with batch.stop_on_signals():
        try:
            parameters_dir = parameters or config.parameters_dir()
            wanted, unknown = (_codes_for_all(parameters_dir), {}) if all_ else _resolve(codes)
            result = batch.run_batch(
                wanted,
                out_dir=out,
                notebook=notebook,
                parameters_dir=parameters_dir,
                workers=workers,
                scheduler=scheduler,
                force=force,
                start_timeout=start_timeout,
                execution_timeout=timeout,
                progress=progress,
                failed_before=unknown,
                scheduler_timeout=scheduler_timeout,
            )
        except batch.BatchInterrupted as exc:
            done = exc.result
            if done is None:
                typer.secho(f"stopped by {exc.signal_name} before the batch had a result to index", err=True, fg=typer.colors.RED)
            else:
                typer.secho(
                    f"stopped by {exc.signal_name}: {len(done.built)} built, {len(done.skipped)} up to date, "
                    f"{len(done.failed)} failed, {len(done.not_finished)} not finished in {done.seconds:.1f} s; index: {done.index}",
                    err=True,
                    fg=typer.colors.RED,
                )
            raise typer.Exit(exc.exit_code) from None
    typer.echo(
        f"{len(result.built)} built, {len(result.skipped)} up to date, {len(result.failed)} failed "
        f"in {result.seconds:.1f} s; index: {result.index}"
    )
    for code, failure in result.failed.items():
        typer.secho(f"  {code}: {failure.describe()}", err=True, fg=typer.colors.RED)
    if result.failed:
        raise typer.Exit(1)
