"""`ledger projections run|rebuild|status`: the read models."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from api.cli.render import JsonOption, bar, emit_json, err, open_system, out
from api.cli.stopping import until_signalled
from api.services import projections as service
from domain.text import printable

app = typer.Typer(help="Read models: run, rebuild, inspect.", no_args_is_help=True)


@app.command("run")
def projections_run(
    poll: Annotated[
        float, typer.Option(min=0.01, max=3600, help="Seconds between looks at the log.")
    ] = 0.2,
) -> None:
    """Catch up, then follow the log as it grows (SIGTERM or Ctrl-C stops)."""

    def started(position: int, store: str) -> None:
        err.print(f"following the log from position {position:,} ({store})")

    with open_system() as system, until_signalled() as stopping:
        position = service.follow(
            system, poll=poll, tracker=bar, started=started, stop=lambda: stopping[0]
        )
    err.print(f"stopped at position {position:,}")


@app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="One projection; all by default.")] = None,
) -> None:
    """Replay the whole log into fresh tables, then swap them in at once."""
    try:
        with open_system() as system:
            answer = service.rebuild(system, name, tracker=bar)
    except service.UnknownProjectionError as error:
        raise typer.BadParameter(printable(error.message)) from None
    for projection, generation in answer.generations.items():
        out.print(f"{projection}: generation {generation} is live")


@app.command("status")
def projections_status(json: JsonOption = False) -> None:
    """Each projection's position and lag behind the log."""
    with open_system() as system:
        rows = service.status(system).as_rows()
    if json:
        emit_json(rows)
        return
    table = Table(
        "projection", "generation", "live", "position", "log head", "lag", "updated (UTC)"
    )
    for r in rows:
        table.add_row(
            r["name"],
            str(r["generation"]),
            "yes" if r["live"] else "building",
            f"{r['position']:,}",
            f"{r['head']:,}",
            f"{r['lag']:,}",
            r["updated_at"],
        )
    out.print(table)
