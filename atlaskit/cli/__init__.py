"""The ``atlas`` command: build the store, list authorities and schools, flows, demand, serve, report.

Each group of subcommands lives in its own module and registers on :data:`app` (or
:data:`validate_app`); heavy libraries are imported inside commands so ``atlas --help`` is quick.
Errors derived from :class:`atlaskit.errors.AtlasError` print as one plain message (exit 2).
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="atlas",
    help="Schools Atlas for England: schools, where their pupils live, and whether there will be enough places.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
validate_app = typer.Typer(help="Validate the models against observed data and print the error measures.", no_args_is_help=True)
app.add_typer(validate_app, name="validate")

# Subcommand modules register themselves on import.
from atlaskit.cli import data as _data  # noqa: E402,F401

for _optional in ("flows", "demand", "serve", "report", "fetch", "parameters"):
    try:
        __import__(f"atlaskit.cli.{_optional}")
    except ModuleNotFoundError as _exc:  # a subcommand module not written yet
        if _exc.name != f"atlaskit.cli.{_optional}":
            raise


def main(argv: list[str] | None = None) -> int:
    """Run the ``atlas`` command; AtlasError becomes a one-line message and exit code 2."""
    from atlaskit.errors import AtlasError

    try:
        result = app(args=argv, standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool):  # click returns typer.Exit's code here
            return result
    except AtlasError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
