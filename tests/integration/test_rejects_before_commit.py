"""A batch's rejected rows reach the disk before its transaction commits (issue 20, the
rejects file's last item), for both imports on both stores.

The import is stopped at the commit of a batch, either by a commit that raises or by a
SIGKILL of a subprocess import right there. Then: the temporary rejects file already lists
every rejected row up to and including the stopped batch (so no commit ever got ahead of
it), the stopped batch recorded nothing, and a re-run writes a rejects file identical, byte
for byte, to the one an uninterrupted import of the same file writes into a fresh store.
"""

from __future__ import annotations

import csv
import os
import signal
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.bootstrap import build_system
from infra.imports import CONTRIBUTION_COLUMNS, ENROLLMENT_COLUMNS, ImportReport, import_file
from infra.settings import Settings
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER, require_postgres
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment
from tests.integration.test_kills import env_for

BATCH = 10
ROWS = 60
STOP_AFTER = 3  # batches committed before the stopped one


class SimulatedCrash(Exception):
    """The commit dies (a lost connection, a full disk, ...)."""


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def enrollment_rows() -> list[dict[str, Any]]:
    """Good rows among refused ones: an unknown village, a formula name with a bad phone,
    and a NIK enrolled by an earlier row (often in an earlier batch) under another name."""
    rows: list[dict[str, Any]] = []
    for i in range(ROWS):
        row = enrollment(name=f"Worker {i}")
        if i % 7 == 3:
            row["village_code"] = "12.71.01.9999"
        elif i % 13 == 0:
            row.update(name='=HYPERLINK("http://evil.example")', phone="1")
        elif i % 11 == 5:
            row["nik"] = rows[i - 8]["nik"]
        rows.append({**row, "row_no": i})
    return rows


def payment_rows(niks: list[str]) -> list[dict[str, Any]]:
    """Each of five people pays month after month; among the payments, amounts that are
    no whole month, references used before (often in an earlier batch) for another
    payment, and an unknown NIK. Refusals that the payments recorded later cannot change."""
    rows: list[dict[str, Any]] = []
    for i in range(ROWS):
        row: dict[str, Any] = {
            "payment_ref": f"REF-{i:03d}",
            "nik": niks[i % 5],
            "amount": MONTHLY_JKK_JKM_1_5M,
            "paid_on": f"2025-{i // 5 + 1:02d}-10",
            "channel": "bank",
        }
        if i % 7 == 3:
            row["amount"] += 1
        elif i % 13 == 0:
            row["nik"] = "1271015505900999"
        elif i % 11 == 5 and (i - 6) % 7 != 3 and (i - 6) % 13 != 0:
            row["payment_ref"] = rows[i - 6]["payment_ref"]  # a recorded one, other content
        rows.append({**row, "row_no": i})
    return rows


def sheets(folder: Path, kind: str) -> tuple[Path | None, Path]:
    """The sheet to import, and for payments the people who pay (imported first)."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "enrollments":
        return None, write_csv(
            folder / "sheet.csv", (*ENROLLMENT_COLUMNS, "row_no"), enrollment_rows()
        )
    people = [enrollment(enrolled_on="2025-01-06") for _ in range(5)]
    people_sheet = write_csv(folder / "people.csv", ENROLLMENT_COLUMNS, people)
    payments = payment_rows([p["nik"] for p in people])
    return people_sheet, write_csv(
        folder / "sheet.csv", (*CONTRIBUTION_COLUMNS, "row_no"), payments
    )


@pytest.fixture
def reference_settings(store: str, tmp_path: Path) -> Iterator[Settings]:
    """A second, fresh store of the same kind, for the uninterrupted import."""
    folder = tmp_path / "reference"
    folder.mkdir()
    if store == "sqlite":
        url = f"sqlite:///{folder / 'ledger.db'}"
        cleanup = None
    else:
        import psycopg

        base = require_postgres()
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{base}?schema={schema}"
        cleanup = schema
    yield Settings(
        database_url=url,
        var_dir=folder / "var",
        nik_pepper=TEST_PEPPER,
        master_key=TEST_MASTER_KEY,
    )
    if cleanup is not None:
        import psycopg

        with psycopg.connect(require_postgres(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{cleanup}" CASCADE')


def uninterrupted(settings: Settings, people: Path | None, sheet: Path, kind: str) -> bytes:
    """The rejects file an import that nothing stops writes, into a fresh store."""
    with build_system(settings) as system:
        if people is not None:
            import_file(system.ledger, "enrollments", people)
        report = import_file(system.ledger, kind, sheet, batch_size=BATCH)
    assert report.rejected > 0 and report.accepted > 0
    return sheet.with_name("sheet.rejects.csv").read_bytes()


def rejects_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(text.splitlines()))


def leftovers(folder: Path) -> list[Path]:
    return sorted(folder.glob(".sheet.rejects.csv.*.tmp"))


STOP_SCRIPT = """
import os, signal, sys
from pathlib import Path
from domain.ledger import Ledger
from infra.bootstrap import build_system
from infra.imports import import_file
from infra.settings import Settings

kind, sheet, stop_after, batch = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
committed = 0

def progress(rows):
    global committed
    committed += 1

original = Ledger.save

def save(self, *objects, **kwargs):
    if committed == stop_after:  # the next batch's commit: die right here
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, *objects, **kwargs)

Ledger.save = save
import_file(build_system(Settings()).ledger, kind, sheet, batch_size=batch, progress=progress)
"""


def stop_in_process(settings: Settings, sheet: Path, kind: str) -> None:
    """The commit of batch STOP_AFTER + 1 raises: nothing of it is saved."""
    with build_system(settings) as system:
        ledger = system.ledger
        committed = 0
        heads: list[int | None] = []

        def progress(rows: int) -> None:
            nonlocal committed
            committed += 1

        original = ledger.save

        def save(*objects: Any, **kwargs: Any) -> Any:
            if committed == STOP_AFTER:
                heads.append(ledger.recorder.max_notification_id())
                raise SimulatedCrash
            return original(*objects, **kwargs)

        ledger.save = save  # type: ignore[method-assign]
        with pytest.raises(SimulatedCrash):
            import_file(ledger, kind, sheet, batch_size=BATCH, progress=progress)
        assert heads and ledger.recorder.max_notification_id() == heads[0]


def stop_by_kill(settings: Settings, sheet: Path, kind: str, folder: Path) -> None:
    """A subprocess import SIGKILLed at the commit of batch STOP_AFTER + 1."""
    done = subprocess.run(
        [sys.executable, "-c", STOP_SCRIPT, kind, str(sheet), str(STOP_AFTER), str(BATCH)],
        env=env_for(settings, folder),
        cwd=Path.cwd(),
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()


@pytest.mark.parametrize("kind", ["enrollments", "contributions"])
@pytest.mark.parametrize("how", ["commit_raises", "sigkill"])
def test_rejects_are_on_disk_before_the_batch_commits_and_a_rerun_matches(
    settings: Settings, reference_settings: Settings, tmp_path: Path, kind: str, how: str
) -> None:
    folder = tmp_path / "import"
    people, sheet = sheets(folder, kind)
    reference_folder = tmp_path / "reference"
    for path in (people, sheet):  # the same files, imported without a stop
        if path is not None:
            (reference_folder / path.name).write_bytes(path.read_bytes())
    expected = uninterrupted(
        reference_settings,
        reference_folder / "people.csv" if people else None,
        reference_folder / sheet.name,
        kind,
    )
    expected_rows = rejects_rows(expected.decode())
    if people is not None:
        with build_system(settings) as system:
            import_file(system.ledger, "enrollments", people)

    if how == "commit_raises":
        stop_in_process(settings, sheet, kind)
    else:
        stop_by_kill(settings, sheet, kind, folder)

    # The stopped batch's rejects are already written, and privately: every rejected row
    # of the rows up to the end of that batch, in order, neutralised as in the final file.
    assert not (folder / "sheet.rejects.csv").exists()
    (temporary,) = leftovers(folder)
    assert stat.S_IMODE(temporary.stat().st_mode) == 0o600
    reached = (STOP_AFTER + 1) * BATCH
    written = rejects_rows(temporary.read_text(encoding="utf-8"))
    assert written == [r for r in expected_rows if int(r["row_no"]) < reached]
    assert any(STOP_AFTER * BATCH <= int(r["row_no"]) < reached for r in written)

    # A re-run: the batches before the stop are recorded, the stopped one is not.
    with build_system(settings) as system:
        report: ImportReport = import_file(system.ledger, kind, sheet, batch_size=BATCH)
    committed_rows = STOP_AFTER * BATCH
    refused_before = sum(1 for r in expected_rows if int(r["row_no"]) < committed_rows)
    assert report.already_recorded == committed_rows - refused_before
    assert report.accepted == ROWS - committed_rows - (len(expected_rows) - refused_before)
    assert report.rejected == len(expected_rows)
    assert (folder / "sheet.rejects.csv").read_bytes() == expected  # no row lost or doubled
    assert leftovers(folder) == []
    assert stat.S_IMODE((folder / "sheet.rejects.csv").stat().st_mode) == 0o600
    assert "'=HYPERLINK" in expected.decode() or kind == "contributions"


def test_a_clean_run_fsyncs_nothing_for_batches_without_rejects(
    ledger: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging costs an fsync only for a batch that has rejected rows."""
    rows = [enrollment(name=f"Worker {i}") for i in range(30)]
    rows[12]["village_code"] = "12.71.01.9999"
    sheet = write_csv(tmp_path / "sheet.csv", ENROLLMENT_COLUMNS, rows)
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    report = import_file(ledger, "enrollments", sheet, batch_size=10)
    assert report.rejected == 1
    # One batch staged its reject (the file, then its folder entry), then the commit (the
    # file, then the folder after the rename); the two clean batches none.
    assert len(synced) == 4
