"""`ledger replay`: the projections as they stood at a past point; `--compare` with live."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from api.cli.render import JsonOption, bar, emit_json, open_system, out
from api.services.replay import replay

app = typer.Typer()


@app.command("replay")
def replay_command(
    until_position: Annotated[
        int | None, typer.Option(min=0, help="Up to this log position.")
    ] = None,
    recorded_at: Annotated[
        str | None,
        typer.Option(
            "--recorded-at",
            help="Only the events recorded by then (ISO timestamp, UTC; a date means its end).",
        ),
    ] = None,
    compare: Annotated[
        bool, typer.Option(help="Compare with the live projections (at the head).")
    ] = False,
    period: Annotated[
        str | None, typer.Option(help="Month to summarise; default this month.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Rebuild the projections as they stood at a past point, for audits."""
    with open_system() as system:
        answer = replay(
            system,
            until_position=until_position,
            recorded_at=recorded_at,
            compare=compare,
            period=period,
            tracker=bar,
        )
    if json:
        emit_json(answer.as_dict())
    else:
        out.print(
            f"Replayed to log position {answer.position:,}"
            + (f" (events recorded by {answer.recorded_at})" if answer.recorded_at else "")
            + f": {answer.active:,} active in {answer.period}."
        )
        if compare:
            out.print(
                "[green]Live projections equal the replay, row for row.[/green]"
                if answer.equal
                else "[red]Live projections differ from the replay:[/red]"
            )
            for line in answer.differences:
                out.print(f"  {escape(line)}")
    if compare and not answer.equal:
        raise typer.Exit(1)
