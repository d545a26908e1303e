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

# Subcommand modules register themselves on import, in the order ``atlas --help`` lists them.
from atlaskit.cli import data  # noqa: E402,F401,I001
from atlaskit.cli import flows  # noqa: E402,F401
from atlaskit.cli import demand  # noqa: E402,F401
from atlaskit.cli import serve  # noqa: E402,F401
from atlaskit.cli import report  # noqa: E402,F401
from atlaskit.cli import fetch  # noqa: E402,F401
from atlaskit.cli import parameters  # noqa: E402,F401


def main(argv: list[str] | None = None) -> int:
    """Run the ``atlas`` command and return its exit code.

    Usage errors (a missing argument, an unknown option) print click's usage message (exit 2);
    an :class:`atlaskit.errors.AtlasError` prints one plain ``error: ...`` line (exit 2); no traceback
    reaches the user for either.
    """
    from atlaskit.errors import AtlasError

    try:
        app(args=argv, standalone_mode=True)  # click prints usage errors itself and exits
    except AtlasError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        return 2
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
