"""`ledger coverage`: covered participants per region for a month."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.render import (
    AsOfOption,
    JsonOption,
    RecordedAtOption,
    bar,
    clocks_note,
    emit_json,
    open_system,
    out,
    shown,
)
from api.services.coverage import CSV_COLUMNS, check_csv_destination, coverage, csv_rows, write_csv
from domain.values import PROGRAMME_ORDER

PROGRAMMES = tuple(str(p) for p in PROGRAMME_ORDER)  # JKK, JKM, JHT: columns in this order

app = typer.Typer()


@app.command("coverage")
def coverage_command(
    period: Annotated[str | None, typer.Option(help="YYYY-MM; default this month.")] = None,
    level: Annotated[
        str, typer.Option(help="nation, province, regency, district or village.")
    ] = "nation",
    region: Annotated[str | None, typer.Option(help="Only within this region code.")] = None,
    programme: Annotated[str | None, typer.Option(help="JKK, JKM or JHT.")] = None,
    as_of: AsOfOption = None,
    recorded_at: RecordedAtOption = None,
    json: JsonOption = False,
    csv_file: Annotated[
        str | None, typer.Option("--csv", help="Write rows as CSV to FILE ('-': stdout).")
    ] = None,
) -> None:
    """Covered (active) participants per region for a month, with activity and the target."""
    destination = Path(csv_file) if csv_file not in (None, "-") else None
    if destination is not None:
        check_csv_destination(destination)  # before any work
    with open_system() as system:
        answer = coverage(
            system,
            period=period,
            level=level,
            region=region,
            programme=programme,
            as_of=as_of,
            recorded_at=recorded_at,
            tracker=bar,
        )
    if destination is not None:
        write_csv(answer, destination)
        return
    if csv_file == "-":
        writer = csv.writer(sys.stdout)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(answer))
        return
    if json:
        emit_json(answer.as_dict())
        return
    print_coverage(answer.as_dict())


def print_coverage(answer: dict[str, Any]) -> None:
    where = f" in {answer['region']}" if answer["region"] else ""
    table = Table(
        title=f"Active participants, {answer['period']}, by {answer['level']}{where} "
        f"({clocks_note(answer)})"
    )
    for column in (
        "region",
        "name",
        "active",
        *PROGRAMMES,
        "enrolled",
        "contributions",
        "rupiah",
        "claims",
    ):
        table.add_column(column, justify="right" if column not in ("region", "name") else "left")
    for r in answer["rows"]:
        table.add_row(
            r["region"] or "ID",
            shown(r["name"] or ""),
            f"{r['active']:,}",
            *(f"{r['by_programme'][p]:,}" for p in PROGRAMMES),
            f"{r['enrollments']:,}",
            f"{r['contributions']:,}",
            f"{r['contribution_amount']:,}",
            f"{r['claims_filed']:,}",
        )
    out.print(table)
    target = answer.get("national_target")
    if target:
        out.print(
            f"National: {target['active']:,} active of the {target['target']:,} target "
            f"({100 * target['progress']:.4f}%)"
        )
