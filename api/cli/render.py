"""What every command shares: the consoles, JSON output, progress bars, the system."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.services import Update
from domain.text import printable
from infra.bootstrap import System, build_system
from infra.settings import Settings

out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RevealOption = Annotated[
    bool, typer.Option("--reveal", help="Show NIK and name in full (they are masked by default).")
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Business clock: the facts in effect by this date (YYYY-MM-DD), whenever recorded.",
    ),
]
RecordedAtOption = Annotated[
    str | None,
    typer.Option(
        "--recorded-at",
        help="Recording clock: what the log held at this time (ISO timestamp, "
        "UTC unless it says; a date means its end).",
    ),
]


def clocks_note(answer: dict[str, Any]) -> str:
    """ "as of D, as recorded at T, log position N": the clocks an answer was asked on."""
    parts = [
        f"as of {answer['as_of']}" if answer.get("as_of") else "",
        f"as recorded at {answer['recorded_at']}" if answer.get("recorded_at") else "",
        f"log position {answer['position']:,}",
    ]
    return ", ".join(p for p in parts if p)


@contextmanager
def open_system() -> Iterator[System]:
    """The system built from the environment's settings, closed afterwards."""
    with build_system(Settings()) as system:
        yield system


def shown(value: object) -> str:
    """Stored or given text for a table or line on the terminal: control characters shown
    as escapes (`domain.text.printable`), rich markup shown as written."""
    return escape(printable(str(value)))


def emit_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@contextmanager
def bar(label: str, total: int | None) -> Iterator[Update]:
    """A progress bar on stderr: the services' `Tracker` for the command line."""
    with progress_bar() as progress:
        task = progress.add_task(label, total=total)

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update
