"""``atlas parameters``: write ``parameters/<CODE>.yaml`` for every authority, or check them all."""

from __future__ import annotations

from pathlib import Path

import typer

from atlaskit.cli import app


@app.command()
def parameters(
    out: Path = typer.Option(None, "--out", help="Parameters folder (default: $ATLAS_PARAMETERS_DIR or ./parameters)."),
    check: bool = typer.Option(False, "--check", help="Validate every file in the folder and report all bad ones; write nothing."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Rewrite existing files (by default they are kept, with any edits)."),
) -> None:
    """Write a parameter file for each of the 153 authorities (from the store), or --check them all.

    Each file starts with the default settings and a phase the authority has open state-funded
    schools for (secondary where it has any, else primary: the City of London).
    """
    from atlaskit import config
    from atlaskit.parameters import authority_school_phases, check_parameters, parameters_folder, write_parameters

    folder = out or config.parameters_dir()
    if check:
        expected = phases = None
        try:
            import atlaskit

            expected = list(atlaskit.authorities()["authority_code"])
            phases = authority_school_phases()
        except Exception as exc:  # no store yet: check the files alone
            typer.secho(f"note: not checking that every authority has a file with a phase it has schools for ({exc})", err=True)
        n_files, problems = check_parameters(folder, expected, phases)
        for problem in problems:
            typer.secho(problem, err=True, fg=typer.colors.RED)
        typer.echo(f"checked {n_files} parameter file(s) in {folder}: {len(problems)} problem(s)")
        if problems:
            raise typer.Exit(1)
        return
    import atlaskit

    parameters_folder(folder)  # a file named as the folder is said before the store is read
    table = atlaskit.authorities()
    written = write_parameters(table, folder, overwrite=overwrite, school_phases=authority_school_phases())
    kept = len(table) - len(written)
    typer.echo(
        f"wrote {len(written)} parameter file(s) to {folder}"
        + (f"; kept {kept} existing (use --overwrite to rewrite them)" if kept else "")
    )
