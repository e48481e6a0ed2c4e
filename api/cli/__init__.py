"""The `ledger` command line.

Each command parses its arguments, builds the system once (`infra.bootstrap`), calls one
application service (`api.services`) and renders its answer. Refusals print
`error [code]: message` on stderr and exit with status 1; bad configuration exits 3;
nothing prints a traceback. A command group is one module here, registered below.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from api.cli import (
    audit,
    bench,
    coverage,
    demo,
    imports,
    kafka,
    participants,
    projections,
    replay,
    seed,
    services,
    serving,
)
from api.cli.render import err
from domain.errors import LedgerError
from domain.text import printable
from infra.settings import ConfigurationError

app = typer.Typer(
    help="Enrollment ledger for the workers' social security scheme (BPU).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(participants.app)  # status, history, pay, erase
app.add_typer(imports.app, name="import")
app.add_typer(seed.app)
app.add_typer(demo.app)
app.add_typer(projections.app, name="projections")
app.add_typer(coverage.app)
app.add_typer(replay.app)
app.add_typer(bench.app)
app.add_typer(serving.app)  # serve
app.add_typer(serving.keys_app, name="api-keys")
app.add_typer(audit.app, name="audit")
app.add_typer(audit.export_app)  # export
app.add_typer(kafka.app)  # relay, consume
app.add_typer(services.app, name="services")


def main() -> None:
    # Arguments that were not valid UTF-8 arrive as lone surrogates; echoed in a message,
    # they must print as escapes, not end the command with UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        app()
    except LedgerError as error:
        # Messages may quote what was given: shown escaped, never as terminal controls.
        err.print(
            f"[red]error[/red] {escape(f'[{error.code}]')}: {escape(printable(error.message))}",
            highlight=False,
        )
        sys.exit(1)
    except ConfigurationError as error:
        err.print(
            f"[red]configuration error[/red]: {escape(printable(str(error)))}", highlight=False
        )
        sys.exit(3)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the last line of defence: no traceback for users
        err.print(
            f"[red]internal error[/red] ({type(error).__name__}): {escape(printable(str(error)))}",
            highlight=False,
        )
        sys.exit(70)
