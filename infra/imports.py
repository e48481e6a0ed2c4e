"""CSV imports: a village campaign's registration sheet, a bank's settlement file.

Rows go to the ledger's bulk commands in batches (one transaction each). Every row is
accepted, recognised as already recorded, or rejected with a reason; rejected rows are
written to `<file>.rejects.csv` beside the input with the same columns plus
`error_code,error`. Importing the same file again changes nothing in the ledger.

A file is read whole once before anything is imported, so a file that cannot be read as
UTF-8 CSV (a Latin-1 byte, UTF-16, binary, a NUL, a field over the csv module's limit) is
refused with the row and line named and the ledger untouched. The rejects file holds
personal data: it is written privately and safely (`infra.safe_files`) and renamed into
place at the end. A batch's rejected rows are on disk (fsynced) before the batch's
transaction commits, so the file never lags the log: an import killed between the two
leaves them listed in the temporary file and that batch's good rows unrecorded, and the
next import of the file records those rows, removes the leftover and writes the same
rejects a run never interrupted would have.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from domain.commands import Enroll, RecordContribution, run_parsed
from domain.errors import InvalidInputError, LedgerError
from domain.ledger import EnrollmentResult, Ledger, PaymentResult
from domain.text import printable
from infra.safe_files import PrivateCsv, check_destination, remove_leftovers, remove_stale

ENROLLMENT_COLUMNS = (
    "nik",
    "name",
    "birth_date",
    "sex",
    "phone",
    "village_code",
    "occupation",
    "declared_income",
    "programmes",
    "channel",
    "agent_id",
    "enrolled_on",
)
# A line longer than this is refused before it is held in memory whole (a field may be at
# most 131,072 characters, the csv module's limit; a row has a few dozen).
MAX_LINE_BYTES = 8 * 1024 * 1024

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
            "kind": self.kind,
            "file": str(self.path),
            "rows": self.rows,
            "accepted": self.accepted,
            "already_recorded": self.already_recorded,
            "rejected": self.rejected,
            "rejects_file": str(self.rejects_path) if self.rejects_path else None,
            "reasons": dict(sorted(self.reasons.items())),
        }


class ImportFileError(InvalidInputError):
    """The file itself cannot be imported (missing, unreadable, wrong columns)."""


def rejects_path_for(path: Path) -> Path:
    return path.with_name(path.stem + ".rejects.csv")


def import_file(
    ledger: Ledger,
    kind: str,
    path: Path,
    *,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a CSV of `kind` ("enrollments" or "contributions") into the ledger."""
    if kind not in KINDS:
        raise ImportFileError("unknown_import_kind", f"Import kind is one of {', '.join(KINDS)}.")
    columns = KINDS[kind]
    # Each row is parsed into its typed command (a malformed row is refused with its
    # reason), and the parsed rows of a batch go to the ledger in one transaction.
    command_kind, run = (
        (Enroll, ledger.enroll_many)
        if kind == "enrollments"
        else (RecordContribution, ledger.record_contributions)
    )
    report = ImportReport(kind=kind, path=path)
    rejects_path = rejects_path_for(path)
    count_rows(path)  # the whole file reads as CSV, or nothing is imported
    check_destination(rejects_path)  # before any row is committed
    remove_leftovers(rejects_path)
    with _open_csv(path) as reader:
        fieldnames = [str(name) for name in reader.fieldnames or []]
        missing = [c for c in columns if c not in fieldnames]
        if missing:
            raise ImportFileError(
                "missing_columns",
                f"{printable(path.name)} lacks the column(s) "
                f"{', '.join(missing)}; expected {','.join(columns)}.",
            )

        with PrivateCsv(rejects_path, [*fieldnames, "error_code", "error"]) as rejects:
            empty = rejects.mark()
            stage = partial(_stage_rejects, rejects, fieldnames)
            try:
                for batch in _batches(reader, batch_size):
                    # The batch's rejected rows are on disk before its transaction commits
                    # (again, replacing them, if the ledger redoes the batch), so no crash
                    # leaves the log holding a batch whose rejects were never written.
                    mark = rejects.mark()
                    outcomes = run_parsed(
                        command_kind, batch, run, before_commit=partial(stage, batch, mark)
                    )
                    stage(batch, mark, outcomes)  # the final say (also when nothing committed)
                    _count(report, outcomes)
                    if progress is not None:
                        progress(len(batch))
            except BaseException:
                if rejects.mark() > empty:
                    rejects.keep()  # as a kill leaves it: the next import removes it
                raise
            if report.rejected:
                report.rejects_path = rejects.commit()
    if not report.rejected:
        remove_stale(rejects_path)  # a stale rejects file from an earlier run would mislead
    return report


def _stage_rejects(
    rejects: PrivateCsv,
    fieldnames: Sequence[str],
    batch: Sequence[dict[str, Any]],
    mark: int,
    outcomes: Sequence[Any],
) -> None:
    """Make the batch's rejected rows (those of `outcomes`, one per row, refused so far)
    the rejects file's rows after `mark`, durably."""
    rejects.stage(
        mark,
        (
            [*(row.get(name, "") for name in fieldnames), outcome.code, outcome.message]
            for row, outcome in zip(batch, outcomes, strict=True)
            if isinstance(outcome, LedgerError)
        ),
    )


def _count(report: ImportReport, outcomes: Sequence[Any]) -> None:
    for outcome in outcomes:
        report.rows += 1
        if isinstance(outcome, LedgerError):
            report.rejected += 1
            report.reasons[outcome.code] = report.reasons.get(outcome.code, 0) + 1
        elif isinstance(outcome, (EnrollmentResult, PaymentResult)) and outcome.replayed:
            report.already_recorded += 1
        else:
            report.accepted += 1


def count_rows(path: Path) -> int:
    """The file's data rows; refuses (naming the row) a file that does not read as CSV."""
    with _open_csv(path) as reader:
        return sum(1 for _ in _rows(reader))


class _open_csv:
    """A DictReader over a UTF-8 (optionally BOM) file, with a clear error if it can't open.

    Lines are decoded one at a time (a newline byte never occurs inside a UTF-8 sequence),
    so an undecodable byte is reported at its line, not somewhere in a buffer."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> csv.DictReader[str]:
        try:
            self._handle = self.path.open("rb")
        except OSError as error:
            raise ImportFileError(
                "file_unreadable", f"Cannot read {printable(str(self.path))}: {error.strerror}."
            ) from None
        if not stat.S_ISREG(os.fstat(self._handle.fileno()).st_mode):
            self._handle.close()  # a directory, a FIFO, /dev/zero: nothing to import
            raise ImportFileError(
                "file_unreadable",
                f"Cannot read {printable(str(self.path))}: it is not a regular file.",
            )
        self.lines = _Lines(self._handle)
        reader = csv.DictReader(self.lines)
        reader._ledger_lines = self.lines  # type: ignore[attr-defined]  # for the row errors
        try:
            reader.fieldnames  # noqa: B018 - reads the header now, inside the guard
        except (csv.Error, _Undecodable, _TooLong) as error:
            self._handle.close()
            raise _file_error(error, 1, 1) from None
        return reader

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


class _Undecodable(Exception):
    def __init__(self, line: int, utf16: bool) -> None:
        super().__init__(line)
        self.line = line
        self.utf16 = utf16


class _TooLong(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _Lines:
    """The file's lines as text: UTF-8, a leading BOM dropped."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.number = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw: bytes = self._handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        self.number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise _TooLong(self.number)
        if self.number == 1:
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise _Undecodable(1, utf16=True)
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Undecodable(self.number, utf16=False) from None


def _rows(reader: csv.DictReader[str]) -> Iterator[dict[str, Any]]:
    """The data rows, errors turned into `ImportFileError` naming the row and line."""
    lines = _lines_of(reader)
    number = 0
    try:
        for row in reader:
            number += 1
            yield row
    except (csv.Error, _Undecodable, _TooLong) as error:
        raise _file_error(error, number + 1, lines.number) from None


def _lines_of(reader: csv.DictReader[str]) -> _Lines:
    lines = getattr(reader, "_ledger_lines", None)
    if lines is None:
        raise AssertionError("a reader made by _open_csv")
    return lines


def _file_error(error: Exception, row: int, line: int) -> ImportFileError:
    if isinstance(error, _Undecodable):
        if error.utf16:
            return ImportFileError("not_utf8", "The file is UTF-16; save it as UTF-8 CSV.")
        return ImportFileError(
            "not_utf8",
            f"Row {row} (line {error.line}) is not valid UTF-8; save the file as UTF-8 CSV.",
        )
    if isinstance(error, _TooLong):
        return ImportFileError(
            "field_too_large",
            f"Row {row} (line {error.line}) is over {MAX_LINE_BYTES:,} bytes long.",
        )
    text = str(error)
    if "field larger than field limit" in text:
        return ImportFileError(
            "field_too_large",
            f"Row {row} (line {line}) has a field over {csv.field_size_limit():,} characters.",
        )
    return ImportFileError(
        "malformed_csv", f"Row {row} (line {line}) is not valid CSV: {printable(text)}."
    )


def _batches(reader: csv.DictReader[str], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in _rows(reader):
        batch.append({k: v for k, v in row.items() if k is not None})
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
