"""A CSV file into the ledger: every row accepted, already recorded, or rejected with a
reason into the rejects file beside it (`infra.imports` does the work)."""

from __future__ import annotations

from pathlib import Path

from api.services.progress import Tracker, no_progress
from infra.bootstrap import System
from infra.imports import (
    CONTRIBUTION_COLUMNS,
    ENROLLMENT_COLUMNS,
    ImportFileError,
    ImportReport,
    count_rows,
    import_file,
)

__all__ = [
    "CONTRIBUTION_COLUMNS",
    "ENROLLMENT_COLUMNS",
    "ImportFileError",
    "ImportReport",
    "import_csv",
]


def import_csv(
    system: System, kind: str, path: Path, tracker: Tracker = no_progress
) -> ImportReport:
    """Import `path`, a CSV of `kind` ("enrollments" or "contributions"), in transactions
    of 500 rows. The report counts each outcome and names the rejects file, if any."""
    total = count_rows(path)
    done = 0
    with tracker(f"importing {kind}", total) as update:

        def advance(rows: int) -> None:
            nonlocal done
            done += rows
            update(done, total)

        return import_file(system.ledger, kind, path, progress=advance)
