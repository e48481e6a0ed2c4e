"""`ledger demo`: seed a demo population if the ledger is empty, then walk through the CLI."""

from __future__ import annotations

import csv
from datetime import date
from typing import Annotated

import typer

from api.cli.coverage import coverage_command
from api.cli.imports import run_import
from api.cli.participants import pay, status
from api.cli.render import bar, open_system, out
from api.cli.replay import replay_command
from api.cli.seed import print_seed_report
from api.services import Viewer, demo
from api.services.participants import history
from domain.errors import LedgerError
from domain.values import Period

app = typer.Typer()

DEMO_ROWS = [
    # Two good rows, then a NIK whose day field says male for a woman, an unknown village
    # and a payment that is not a whole number of months.
    {
        "nik": "3276014708950001",
        "name": "Dewi Lestari",
        "birth_date": "1995-08-07",
        "sex": "F",
        "phone": "081311112222",
        "village_code": "3276011006",
        "occupation": "street vendor",
        "declared_income": "1800000",
        "programmes": "JKK+JKM+JHT",
        "channel": "perisai",
        "agent_id": "AG-3276-001",
        "enrolled_on": "2025-01-06",
    },
    {
        "nik": "3276010703880002",
        "name": "Agus Salim",
        "birth_date": "1988-03-07",
        "sex": "M",
        "phone": "085722223333",
        "village_code": "32.76.01.1006",
        "occupation": "driver",
        "declared_income": "2500000",
        "programmes": "JKK+JKM",
        "channel": "village_office",
        "agent_id": "",
        "enrolled_on": "2025-01-06",
    },
    {
        "nik": "3276010703880003",
        "name": "Rina Wati",
        "birth_date": "1988-03-07",
        "sex": "F",
        "phone": "",
        "village_code": "32.76.01.1006",
        "occupation": "home worker",
        "declared_income": "1000000",
        "programmes": "JKK+JKM",
        "channel": "online",
        "agent_id": "",
        "enrolled_on": "2025-01-06",
    },
    {
        "nik": "3276010703880004",
        "name": "Joko Susilo",
        "birth_date": "1988-03-07",
        "sex": "M",
        "phone": "",
        "village_code": "32.76.01.9999",
        "occupation": "farmer",
        "declared_income": "1000000",
        "programmes": "JKK+JKM",
        "channel": "online",
        "agent_id": "",
        "enrolled_on": "2025-01-06",
    },
]


@app.command("demo")
def demo_command(
    participants: Annotated[int, typer.Option(min=1, help="Size of the demo population.")] = 2_000,
) -> None:
    """Seed a demo population if the ledger is empty, then walk through the CLI."""
    with open_system() as system:
        start = demo.start(system, participants=participants, tracker=bar)
        var_dir = system.settings.var_dir
    if start.seeded is not None:
        out.rule("Seeding a demo population (24 months of history)")
        print_seed_report(start.seeded)
    out.rule(f"The log holds {start.head:,} events; projections at {start.position:,}")
    sample = start.sample
    last_month = Period.containing(date.today()) + -1
    out.rule(f"$ ledger coverage --period {last_month} --level province")
    coverage_command(
        period=str(last_month),
        level="province",
        region=None,
        programme=None,
        as_of=None,
        recorded_at=None,
        json=False,
        csv_file=None,
    )
    out.rule(f"$ ledger status {sample}")
    status(sample, as_of=None, recorded_at=None, json=False, reveal=False)
    earlier = (last_month + -6).first_day.replace(day=20).isoformat()
    out.rule(f"$ ledger status {sample} --as-of {earlier} --json")
    status(sample, as_of=earlier, recorded_at=None, json=True, reveal=False)
    out.rule(f"$ ledger history {sample}   (first events)")
    with open_system() as system:
        events = history(system, sample, viewer=Viewer.console()).events[:4]
    for e in events:
        out.print(f"{e['version']:>3}  {e['type']:<18} {e['data']}", highlight=False)
    folder = var_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    sheet = folder / "village-sheet.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(DEMO_ROWS[0]))
        writer.writeheader()
        writer.writerows(DEMO_ROWS)
    out.rule(f"$ ledger import enrollments {sheet}")
    run_import("enrollments", sheet, False)
    out.rule(f"$ ledger import enrollments {sheet}   (again: nothing changes)")
    run_import("enrollments", sheet, False)
    nik = DEMO_ROWS[0]["nik"]
    for amount, ref in (("1", "DEMO-1"), ("182400", "DEMO-2")):
        out.rule(f"$ ledger pay {nik} --amount {amount} --ref {ref}")
        try:
            pay(nik, amount, ref, None, "perisai", "AG-3276-001")
        except LedgerError as error:
            out.print(f"error [{error.code}]: {error.message}", markup=False)
    out.rule(f"$ ledger status {nik}")
    status(nik, as_of=None, recorded_at=None, json=False, reveal=False)
    out.rule("$ ledger replay --compare")
    replay_command(None, None, True, None, False)
    out.print(
        "\nTry: ledger --help, ledger status NIK_OR_ID --as-of YYYY-MM-DD, "
        "ledger coverage --level regency --region 32, ledger import contributions FILE.csv"
    )
