"""CSV imports: a village campaign's registration sheet, a bank's settlement file.

Rows go to the ledger's bulk commands in batches (one transaction each). Every row is
accepted, recognised as already recorded, or rejected with a reason; rejected rows are
written to `<file>.rejects.csv` beside the input with the same columns plus
`error_code,error`. Importing the same file again changes nothing in the ledger.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.commands import Enroll, RecordContribution, run_parsed
from domain.errors import InvalidInputError, LedgerError
from domain.ledger import EnrollmentResult, Ledger, PaymentResult

ENROLLMENT_COLUMNS = (
    "nik", "name", "birth_date", "sex", "phone", "village_code", "occupation",
    "declared_income", "programmes", "channel", "agent_id", "enrolled_on",
)
CONTRIBUTION_COLUMNS = ("payment_ref", "nik", "amount", "paid_on", "channel")
KINDS = {"enrollments": ENROLLMENT_COLUMNS, "contributions": CONTRIBUTION_COLUMNS}


@dataclass
class ImportReport:
    kind: str
    path: Path
    rows: int = 0
    accepted: int = 0
    already_recorded: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "file": str(self.path), "rows": self.rows,
            "accepted": self.accepted, "already_recorded": self.already_recorded,
            "rejected": self.rejected,
            "rejects_file": str(self.rejects_path) if self.rejects_path else None,
            "reasons": dict(sorted(self.reasons.items())),
        }


class ImportFileError(InvalidInputError):
    """The file itself cannot be imported (missing, unreadable, wrong columns)."""


def rejects_path_for(path: Path) -> Path:
    return path.with_name(path.stem + ".rejects.csv")


def import_file(
    ledger: Ledger, kind: str, path: Path, *, batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a CSV of `kind` ("enrollments" or "contributions") into the ledger."""
    if kind not in KINDS:
        raise ImportFileError("unknown_import_kind", f"Import kind is one of {', '.join(KINDS)}.")
    columns = KINDS[kind]
    # Each row is parsed into its typed command (a malformed row is refused with its
    # reason), and the parsed rows of a batch go to the ledger in one transaction.
    command: Callable[[Sequence[dict[str, Any]]], Sequence[Any]] = (
        (lambda rows: run_parsed(Enroll, rows, ledger.enroll_many)) if kind == "enrollments"
        else (lambda rows: run_parsed(RecordContribution, rows, ledger.record_contributions)))
    report = ImportReport(kind=kind, path=path)
    rejects_path = rejects_path_for(path)
    rejects: list[dict[str, Any]] = []
    with _open_csv(path) as reader:
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportFileError(
                "missing_columns", f"{path.name} lacks the column(s) {', '.join(missing)}; "
                f"expected {','.join(columns)}.")
        for batch in _batches(reader, batch_size):
            outcomes = command(batch)
            for row, outcome in zip(batch, outcomes, strict=True):
                report.rows += 1
                if isinstance(outcome, LedgerError):
                    report.rejected += 1
                    report.reasons[outcome.code] = report.reasons.get(outcome.code, 0) + 1
                    rejects.append({**row, "error_code": outcome.code, "error": outcome.message})
                elif isinstance(outcome, (EnrollmentResult, PaymentResult)) and outcome.replayed:
                    report.already_recorded += 1
                else:
                    report.accepted += 1
            if progress is not None:
                progress(len(batch))
    if rejects:
        with rejects_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*(reader.fieldnames or []), "error_code", "error"],
                                    extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rejects)
        report.rejects_path = rejects_path
    elif rejects_path.exists():
        rejects_path.unlink()  # a stale rejects file from an earlier run would mislead
    return report


def count_rows(path: Path) -> int:
    with _open_csv(path) as reader:
        return sum(1 for _ in reader)


class _open_csv:
    """A DictReader over a UTF-8 (optionally BOM) file, with a clear error if it can't open."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> csv.DictReader[str]:
        try:
            self._handle = self.path.open(newline="", encoding="utf-8-sig")
        except OSError as error:
            raise ImportFileError("file_unreadable", f"Cannot read {self.path}: {error.strerror}.") from None
        return csv.DictReader(self._handle)

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def _batches(reader: csv.DictReader[str], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    try:
        for row in reader:
            batch.append({k: v for k, v in row.items() if k is not None})
            if len(batch) >= size:
                yield batch
                batch = []
    except (csv.Error, UnicodeDecodeError) as error:
        raise ImportFileError("malformed_csv", f"The file is not valid UTF-8 CSV: {error}.") from None
    if batch:
        yield batch
