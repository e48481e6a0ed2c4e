"""Files the ledger writes for people to open: safely, whatever is already at the path.

- Written into a new temporary file in the same folder (`O_CREAT | O_EXCL | O_NOFOLLOW`,
  mode 0600 unless told otherwise: such files may hold personal data), then renamed over
  the destination. A
  symlink planted at the destination is replaced, never written through; readers see the
  old file or the whole new one.
- A destination that is a directory, or a folder that does not exist or cannot be written,
  is refused (`output_unwritable`) before any work that would need it.
- Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a
  tab or a carriage return) are neutralised with a leading `'`, as OWASP's CSV-injection
  guidance says.
"""

from __future__ import annotations

import csv
import os
import stat
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self, TextIO

from domain.errors import InvalidInputError
from domain.text import printable

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class OutputError(InvalidInputError):
    """A file cannot be written where asked (a directory there, a missing folder...)."""


def neutralise(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def check_destination(path: Path) -> None:
    """Refuse early a destination that cannot receive a file (see the module)."""
    shown = printable(str(path))
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise OutputError("output_unwritable", f"Cannot write {shown}: {error.strerror}.") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError("output_unwritable", f"Cannot write {shown}: it is a directory.")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(
            "output_unwritable",
            f"Cannot write {shown}: the folder {printable(str(folder))} does not exist.",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError("output_unwritable", f"Cannot write {shown}: the folder is not writable.")


class PrivateCsv:
    """A CSV file being written for `destination`: rows go to a private temporary file
    beside it; `commit()` renames it into place, `discard()` (or leaving the `with`
    without committing) removes it.

    `stage(mark, rows)` makes the rows after `mark()` exactly `rows` and durable (fsynced,
    with the folder's entry for the file) before it returns: what a caller that must not
    commit anything its file does not yet hold (an import's rejected rows) calls before
    each commit, as often as the rows change."""

    def __init__(self, destination: Path, header: Sequence[str], *, mode: int = 0o600) -> None:
        check_destination(destination)
        self.destination = destination
        self.temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:12]}.tmp")
        try:
            fd = os.open(
                self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600
            )
        except OSError as error:
            raise OutputError(
                "output_unwritable",
                f"Cannot write {printable(str(destination))}: {error.strerror}.",
            ) from None
        os.fchmod(fd, mode)  # whatever the umask
        self._handle: TextIO = os.fdopen(fd, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._entry_synced = False  # the folder's entry for the temporary file
        self._staged: tuple[int, list[list[Any]]] = (-1, [])
        self.write([header])

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        self._writer.writerows([neutralise(cell) for cell in row] for row in rows)
        self._handle.flush()

    def mark(self) -> int:
        """Where the next row goes: a point `stage` can come back to."""
        self._handle.flush()
        return self._handle.tell()

    def stage(self, mark: int, rows: Iterable[Sequence[Any]]) -> None:
        """Make the rows after `mark` exactly `rows`, on disk before returning."""
        staged = (mark, [list(row) for row in rows])
        if staged == self._staged or (not staged[1] and self.mark() == mark):
            return  # already so: no write, no fsync (a batch without rejects costs nothing)
        self._handle.seek(mark)
        self._handle.truncate()
        self.write(staged[1])
        self.sync()
        self._staged = staged

    def sync(self) -> None:
        """The rows written so far, durable (past a crash of the machine, not only ours)."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        if not self._entry_synced:
            _sync_folder(self.temporary.parent)
            self._entry_synced = True

    def commit(self) -> Path:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        try:
            self.temporary.replace(self.destination)  # replaces a symlink, never follows it
        except OSError as error:
            self.discard()
            raise OutputError(
                "output_unwritable",
                f"Cannot write {printable(str(self.destination))}: {error.strerror}.",
            ) from None
        _sync_folder(self.destination.parent)  # the rename, durable
        return self.destination

    def discard(self) -> None:
        if not self._handle.closed:
            self._handle.close()
        self.temporary.unlink(missing_ok=True)

    def keep(self) -> None:
        """Leave the temporary file as it is (closed, not renamed): what a kill would leave,
        for the next run to remove (`remove_leftovers`)."""
        if not self._handle.closed:
            self._handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._handle.closed:
            self.discard()


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_leftovers(destination: Path) -> None:
    """Remove temporary files a killed writer left for `destination`."""
    for leftover in destination.parent.glob(f".{destination.name}.*.tmp"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink(missing_ok=True)


def remove_stale(destination: Path) -> None:
    """Remove an old file at `destination` (a symlink itself, never its target)."""
    try:
        mode = os.lstat(destination).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        destination.unlink(missing_ok=True)
