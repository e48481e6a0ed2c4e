"""`ledger import enrollments|contributions FILE.csv`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.render import JsonOption, bar, emit_json, open_system, out
from api.services.imports import CONTRIBUTION_COLUMNS, ENROLLMENT_COLUMNS, import_csv

app = typer.Typer(help="Bulk imports from CSV files.", no_args_is_help=True)


@app.command("enrollments")
def import_enrollments(
    file: Annotated[Path, typer.Argument(help="CSV: " + ",".join(ENROLLMENT_COLUMNS))],
    json: JsonOption = False,
) -> None:
    """Import a registration sheet; rejected rows go to FILE.rejects.csv."""
    run_import("enrollments", file, json)


@app.command("contributions")
def import_contributions(
    file: Annotated[Path, typer.Argument(help="CSV: " + ",".join(CONTRIBUTION_COLUMNS))],
    json: JsonOption = False,
) -> None:
    """Import a bank settlement file; rejected rows go to FILE.rejects.csv."""
    run_import("contributions", file, json)


def run_import(kind: str, file: Path, json: bool) -> None:
    with open_system() as system:
        report = import_csv(system, kind, file, tracker=bar)
    if json:
        emit_json(report.as_dict())
        return
    out.print(
        f"{report.rows} rows: [green]{report.accepted} accepted[/green], "
        f"{report.already_recorded} already recorded, [red]{report.rejected} rejected[/red]"
    )
    for code, count in sorted(report.reasons.items()):
        out.print(f"  {count} × {code}")
    if report.rejects_path:
        out.print(f"Rejected rows with reasons: {report.rejects_path}")
