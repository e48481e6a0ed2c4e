"""Phase: a registration sheet imported, then imported again (all rows already recorded),
against the first import of the same sheet into a fresh store: a re-import must cost no
more than the first import, or an import killed repeatedly near one point never finishes.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.imports import ENROLLMENT_COLUMNS, import_file
from tools.bench.stats import make_figure, median
from tools.bench.stores import fresh_store, system_on

if TYPE_CHECKING:
    from tools.bench.suite import Suite

SHEET_ROWS = 10_000  # at most: a big village campaign's sheet


def write_sheet(path: Path, plan: Any, rows: int) -> int:
    """The first `rows` people of the seed plan as a registration sheet; how many."""
    people = plan.people[:rows]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=ENROLLMENT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(person.enrollment_row() for person in people)
    return len(people)


def reimport(suite: Suite, kind: str, scale: int, months: int, plan: Any, repeats: int) -> None:
    first: list[float] = []
    again: list[float] = []
    with suite.phase(kind, scale, "reimport", repeats=repeats) as ph:
        for _ in range(repeats):
            with (
                fresh_store(kind, suite.workdir, suite.postgres_url) as store,
                system_on(store) as system,
            ):
                sheet = store.folder / "sheet.csv"
                rows = write_sheet(sheet, plan, min(scale, SHEET_ROWS))
                started = time.perf_counter()
                report = import_file(system.ledger, "enrollments", sheet)
                first.append(rows / (time.perf_counter() - started))
                started = time.perf_counter()
                repeated = import_file(system.ledger, "enrollments", sheet)
                again.append(rows / (time.perf_counter() - started))
                if repeated.already_recorded != report.accepted or repeated.accepted:
                    raise AssertionError(f"a re-import recorded something: {repeated.as_dict()}")
                ph.events = rows
        ph.notes = (
            f"{rows:,} rows; first {median(first) or 0:,.0f} rows/s, "
            f"again {median(again) or 0:,.0f}"
        )
        suite.say(f"  reimport: {ph.notes}")
    if first and again:
        suite.add(
            make_figure(
                "reimport_vs_first_import",
                again,
                "rows/s",
                baseline_values=first,
                baseline_name="the first import of the same sheet into a fresh store",
                store=kind,
                scale=scale,
                months=months,
                notes=f"`import enrollments` of {rows:,} rows, then the same file again (every row "
                "already recorded: the first batch's optimistic save collides, later batches read "
                "the batch's NIK indexes and participants in one query each)",
            )
        )
