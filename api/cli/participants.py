"""A participant: `ledger status`, `history`, `pay`, `erase`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from api.cli.render import (
    AsOfOption,
    JsonOption,
    RecordedAtOption,
    RevealOption,
    clocks_note,
    emit_json,
    open_system,
    out,
    shown,
)
from api.services import Viewer
from api.services import participants as service

app = typer.Typer()

NikOrId = Annotated[str, typer.Argument(help="A NIK or a participant id.")]


@app.command()
def status(
    nik_or_id: NikOrId,
    as_of: AsOfOption = None,
    recorded_at: RecordedAtOption = None,
    json: JsonOption = False,
    reveal: RevealOption = False,
) -> None:
    """Is this worker covered? Status, programmes and paid-through month on a date (as the
    log held it at a time)."""
    with open_system() as system:
        answer = service.status(
            system, nik_or_id, as_of=as_of, recorded_at=recorded_at, viewer=Viewer.console(reveal)
        )
    if json:
        emit_json(answer.as_dict())
        return
    result = answer.status
    table = Table(show_header=False, box=None)
    rows = [
        ("participant", f"{result.participant_id}"),
        ("NIK", shown(answer.nik)),
        ("name", shown(answer.name)),
        ("as of", result.as_of.isoformat()),
        ("as recorded at", str(answer.as_dict().get("recorded_at") or "now")),
        ("log position", f"{answer.as_dict().get('position', 0):,}"),
        ("status", f"[bold]{result.status}[/bold]"),
        ("covered", ", ".join(result.covered_programmes) or "no"),
        ("programmes", "+".join(result.programmes)),
        ("paid through", str(result.paid_through or "nothing paid")),
        ("arrears", f"{result.arrears_months} month(s), Rp {result.arrears_amount:,}"),
        ("village", shown(result.village)),
        ("enrolled on", result.enrolled_on.isoformat()),
        ("declared income", f"Rp {result.declared_income:,}"),
        ("JHT balance", f"Rp {result.jht_balance:,}"),
        ("open claims", str(result.open_claims)),
    ]
    for label, value in rows:
        table.add_row(f"[dim]{label}[/dim]", value)
    out.print(table)


@app.command()
def history(
    nik_or_id: NikOrId,
    as_of: AsOfOption = None,
    recorded_at: RecordedAtOption = None,
    json: JsonOption = False,
    reveal: RevealOption = False,
) -> None:
    """Every recorded fact about a participant, oldest first (those in effect by a date,
    or recorded by a time)."""
    with open_system() as system:
        answer = service.history(
            system, nik_or_id, as_of=as_of, recorded_at=recorded_at, viewer=Viewer.console(reveal)
        )
    body = answer.as_dict()
    if json:
        emit_json(body)
        return
    table = Table("#", "recorded (UTC)", "event", "facts", title=clocks_note(body))
    for e in answer.events:
        facts = ", ".join(f"{k}={v}" for k, v in e["data"].items() if v not in (None, "", {}))
        table.add_row(str(e["version"]), e["recorded_at"][:19], e["type"], shown(facts))
    out.print(table)


@app.command()
def pay(
    nik_or_id: NikOrId,
    amount: Annotated[str, typer.Option(help="Rupiah, a whole number of months' dues.")],
    ref: Annotated[str, typer.Option(help="The payment reference (unique).")],
    paid_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default today.")] = None,
    channel: Annotated[str, typer.Option(help="How it was paid.")] = "bank",
    agent_id: Annotated[str | None, typer.Option(help="Field agent id (perisai).")] = None,
) -> None:
    """Record one contribution; prints the months it settled."""
    with open_system() as system:
        result = service.pay(
            system,
            nik_or_id,
            amount=amount,
            payment_ref=ref,
            paid_on=paid_on,
            channel=channel,
            agent_id=agent_id,
        )
    note = " (already recorded)" if result.replayed else ""
    out.print(
        f"Rp {result.amount:,} settles {result.first_month}..{result.last_month} "
        f"({result.months} month(s)){note}"
    )


@app.command()
def erase(
    nik_or_id: NikOrId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a participant's personal data (destroys the keys; the record stays)."""
    if not yes and not typer.confirm("Erase this participant's personal data for good?"):
        raise typer.Exit(1)
    with open_system() as system:
        answer = service.erase(system, nik_or_id)
    out.print(f"Personal data of {answer.participant_id} erased; its history still replays.")
