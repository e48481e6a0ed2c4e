"""Nothing left behind by a kill (issue 20): SIGKILLed imports leave no orphan data key
(item 7), SIGKILLed rebuilds leave no half-built generation (item 6), and re-importing a
recorded sheet is no dearer than importing it (item 9). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from domain.ledger import Ledger
from domain.participant import Participant
from domain.regions import villages_by_province
from domain.values import Nik
from infra.bootstrap import System, all_projections, build_system
from infra.imports import ENROLLMENT_COLUMNS, import_file
from infra.personal_data import KeyVault
from infra.settings import Settings
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER

LEDGER = str(Path(sys.executable).with_name("ledger"))


def env_for(settings: Settings, folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LEDGER_DATABASE_URL": settings.database_url,
        "LEDGER_VAR_DIR": str(folder / "var"),
        "LEDGER_NIK_PEPPER": TEST_PEPPER,
        "LEDGER_MASTER_KEY": TEST_MASTER_KEY,
        "COLUMNS": "200",
    }


def write_sheet(path: Path, rows: int, seed: int = 1) -> Path:
    """`rows` valid enrollments with distinct NIKs."""
    villages = villages_by_province()["12"][:100]
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ENROLLMENT_COLUMNS)
        writer.writeheader()
        for i in range(rows):
            born = date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
            sex = "MF"[rng.randrange(2)]
            village = villages[i % len(villages)]
            nik = Nik.compose(village[:8], born, sex, i // len(villages) + 1).digits
            writer.writerow(
                {
                    "nik": nik,
                    "name": f"Worker {i}",
                    "birth_date": born.isoformat(),
                    "sex": sex,
                    "phone": "081234567890",
                    "village_code": village,
                    "occupation": "trader",
                    "declared_income": 1_500_000,
                    "programmes": "JKK+JKM",
                    "channel": "bank",
                    "agent_id": "",
                    "enrolled_on": "2024-01-10",
                }
            )
    return path


def participants(ledger: Ledger) -> int:
    return len(
        ledger.recorder.select_notifications(
            start=1,
            limit=1_000_000,
            topics=[Participant.Enrolled.__module__ + ":" + Participant.Enrolled.__qualname__],
        )
    )


def key_count(ledger: Ledger) -> int:
    assert isinstance(ledger.vault, KeyVault)
    return ledger.vault.count()


@pytest.fixture
def opened(settings: Settings) -> Iterator[System]:
    with build_system(settings) as system:
        yield system


# --- item 7: killed imports leave no orphan keys ----------------------------------------------


def test_killed_imports_leave_no_orphan_keys(settings: Settings, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "sheet.csv", 1_500)
    env = env_for(settings, tmp_path)
    rng = random.Random(7)
    killed_mid_way = 0
    watcher = build_system(settings)
    try:
        for _ in range(4):
            seen = watcher.head()
            process = subprocess.Popen(
                [LEDGER, "import", "enrollments", str(sheet)],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + 120
            while watcher.head() == seen and process.poll() is None:
                assert time.monotonic() < deadline, "the import made no progress"
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.3))  # then kill it at a random moment
            running = process.poll() is None
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            killed_mid_way += running
    finally:
        watcher.close()
    system = build_system(settings)  # a start sweeps what a kill may strand
    ledger = system.ledger
    try:
        enrolled = participants(ledger)
        assert enrolled > 0
        # Every participant has its own key and one for its NIK index entry; nothing else.
        assert key_count(ledger) == 2 * enrolled
        report = import_file(ledger, "enrollments", sheet)
        assert report.rejected == 0 and report.accepted + report.already_recorded == 1_500
        assert key_count(ledger) == 2 * participants(ledger) == 2 * 1_500
    finally:
        system.close()
    assert killed_mid_way >= 1


STRANDING_SCRIPT = """
import os, signal, sys
from infra.key_tables import SQLiteKeyVault
from infra.bootstrap import build_system
from infra.imports import import_file
from infra.settings import Settings
from pathlib import Path

original = SQLiteKeyVault.write_with_events
calls = 0

def write_then_die(self, first_position):
    global calls
    original(self, first_position)
    calls += 1
    if calls == 2:  # the second batch's keys are committed, its events not yet
        os.kill(os.getpid(), signal.SIGKILL)

SQLiteKeyVault.write_with_events = write_then_die
import_file(build_system(Settings()).ledger, "enrollments", Path(sys.argv[1]), batch_size=100)
"""


def test_a_save_killed_between_its_two_commits_strands_keys_the_next_start_removes(
    tmp_path: Path,
) -> None:
    """SQLite only: the keys live in a file of their own, so a kill can land between the
    keys' commit and the events' commit. Forced here at that exact point."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        var_dir=tmp_path / "var",
        nik_pepper=TEST_PEPPER,
        master_key=TEST_MASTER_KEY,
    )
    sheet = write_sheet(tmp_path / "sheet.csv", 300)
    done = subprocess.run(
        [sys.executable, "-c", STRANDING_SCRIPT, str(sheet)],
        env=env_for(settings, tmp_path),
        cwd=Path.cwd(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    import sqlite3

    keys = sqlite3.connect(tmp_path / "ledger-keys.db")
    stranded = keys.execute("SELECT count(*) FROM data_keys").fetchone()[0]
    keys.close()
    assert stranded == 2 * 200  # the first batch's keys and the dead one's
    system = build_system(settings)
    ledger = system.ledger
    try:
        assert participants(ledger) == 100
        assert key_count(ledger) == 2 * 100
        import_file(ledger, "enrollments", sheet)
        assert key_count(ledger) == 2 * participants(ledger) == 600
        # every participant's personal data still reads back
        for participant_id in ledger.participant_ids(limit=300):
            assert (ledger.get_personal_data(participant_id) or {}).get("name")
    finally:
        system.close()


# --- item 6: killed rebuilds leave nothing behind ---------------------------------------------

REBUILD_SCRIPT = """
from infra.bootstrap import build_system
from infra.settings import Settings

system = build_system(Settings(), decrypt=False)
runner = system.new_runner(page_size=20)
print("started", flush=True)
runner.rebuild(progress=lambda done, total: print("page", flush=True))
"""


def table_names(settings: Settings) -> set[str]:
    with build_system(settings) as system:
        store = system.views
        if store.dialect == "sqlite":
            rows = store.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = store.query(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
    return {str(r[0]) for r in rows}


def test_killed_rebuilds_leave_nothing_once_the_next_rebuild_starts(
    settings: Settings, tmp_path: Path, opened: System
) -> None:
    import_file(opened.ledger, "enrollments", write_sheet(tmp_path / "sheet.csv", 1_000))
    opened.new_runner().catch_up()
    before = table_names(settings)
    env = env_for(settings, tmp_path)
    rng = random.Random(3)
    for _ in range(4):  # each start sweeps what the kill before left; the last kill's stays
        process = subprocess.Popen(
            [sys.executable, "-c", REBUILD_SCRIPT],
            env=env,
            cwd=Path.cwd(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started", process.communicate()
        for _ in range(rng.randint(1, 5)):  # mid-way: a few pages in, many to come
            assert process.stdout.readline().strip() == "page", process.communicate()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert len(table_names(settings)) > len(before)  # the kills left half-built generations
    with build_system(settings) as fresh:
        runner = fresh.new_runner()  # a runner's start sweeps them
        assert table_names(settings) == before
        assert [s.live for s in runner.states()] == [True] * len(all_projections())
        runner.rebuild()
        assert all(s.live for s in runner.states())
        assert len(runner.states()) == len(all_projections())
        assert len(table_names(settings)) == len(before)


def test_a_running_rebuild_is_not_swept_by_another_runner(
    settings: Settings, tmp_path: Path, opened: System
) -> None:
    import_file(opened.ledger, "enrollments", write_sheet(tmp_path / "sheet.csv", 1_000))
    process = subprocess.Popen(
        [sys.executable, "-c", REBUILD_SCRIPT],
        env=env_for(settings, tmp_path),
        cwd=Path.cwd(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started", process.communicate()
        assert process.stdout.readline().strip() == "page", process.communicate()
        with build_system(settings) as other:
            other.new_runner()  # sweeps only what no running rebuild owns
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    finally:
        if process.poll() is None:
            process.kill()
    with build_system(settings) as other:
        states = other.new_runner().states()
        assert [s.live for s in states] == [True] * len(all_projections())
        assert {s.generation for s in states} == {2}
