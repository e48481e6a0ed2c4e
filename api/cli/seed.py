"""`ledger seed`: a synthetic population through the ledger's own commands."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.render import JsonOption, bar, emit_json, open_system, out
from api.services.seeding import SeedReport, seed

app = typer.Typer()


@app.command("seed")
def seed_command(
    participants: Annotated[int, typer.Option(min=1, help="How many workers to enroll.")] = 10_000,
    months: Annotated[
        int, typer.Option(min=1, max=600, help="Months of history, to this month.")
    ] = 24,
    seed_: Annotated[int, typer.Option("--seed", help="Same seed, same history.")] = 1,
    json: JsonOption = False,
) -> None:
    """Generate a realistic synthetic history through the ledger's own commands."""
    with open_system() as system:
        report = seed(system, participants=participants, months=months, seed=seed_, tracker=bar)
    if json:
        emit_json(report.as_dict())
    else:
        print_seed_report(report)


def print_seed_report(report: SeedReport) -> None:
    facts = report.as_dict()
    rate = facts["events"] / max(facts["elapsed_seconds"], 1e-9)
    out.print(
        f"{facts['participants']:,} participants, {facts['contributions']:,} contributions "
        f"(Rp {facts['contributions_amount']:,}), {facts['deaths']} deaths, "
        f"{facts['withdrawals']} withdrawals, {facts['claims_filed']} claims filed, "
        f"{facts['claims_paid']} paid; {facts['events']:,} events in "
        f"{facts['elapsed_seconds']:.1f} s ({rate:,.0f} events/s)"
    )
