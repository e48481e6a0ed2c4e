"""Fixtures shared by every test.

- `store`: "sqlite" or "postgres"; tests that take `ledger`, `settings` or `database_url`
  run once per store. PostgreSQL comes from `LEDGER_TEST_POSTGRES_URL` (`make test` starts
  one); each test gets a schema of its own, dropped afterwards.
- In CI (`CI` set) nothing may be skipped: a missing PostgreSQL fails the run instead.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.ledger import Ledger
from infra.bootstrap import System, build_system
from infra.settings import Settings

POSTGRES_URL = os.environ.get("LEDGER_TEST_POSTGRES_URL", "")
IN_CI = bool(os.environ.get("CI"))

TEST_PEPPER = base64.b64encode(b"test pepper, 32 bytes long......").decode()
TEST_MASTER_KEY = base64.b64encode(b"M" * 32).decode()


def require_postgres() -> str:
    if not POSTGRES_URL:
        message = "PostgreSQL not configured: set LEDGER_TEST_POSTGRES_URL (make test does)"
        if IN_CI:
            pytest.fail(message + " — integration tests may not be skipped in CI")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose `schema` is fresh for this test."""
    import psycopg

    base = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{base}?schema={schema}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if store == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        nik_pepper=TEST_PEPPER,
        master_key=TEST_MASTER_KEY,
    )


@pytest.fixture
def system(settings: Settings) -> Iterator[System]:
    """The system as every entry point builds it, on a fresh store."""
    with build_system(settings) as built:
        yield built


@pytest.fixture
def ledger(system: System) -> Ledger:
    """The system's ledger, on a fresh store."""
    return system.ledger


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """The ledger on SQLite only, for tests about SQLite itself."""
    with build_system(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
            var_dir=tmp_path / "var",
            nik_pepper=TEST_PEPPER,
            master_key=TEST_MASTER_KEY,
        )
    ) as built:
        yield built.ledger


_skipped: list[str] = []
_library_cases: dict[str, list[int]] = {}  # class -> [passed, failed]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)
    if report.when == "call" and "LibraryCase" in report.nodeid:
        case = report.nodeid.split("::")[1]
        counts = _library_cases.setdefault(case, [0, 0])
        counts[0 if report.passed else 1] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show that the eventsourcing library's own test cases ran against our set-up."""
    if not _library_cases:
        return
    terminalreporter.section("eventsourcing library test cases against this project's set-up")
    for case, (passed, failed) in sorted(_library_cases.items()):
        terminalreporter.write_line(f"{case:<52} {passed}/{passed + failed} passed")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _skipped:
        print(f"\nCI: {len(_skipped)} test(s) skipped; skips are failures in CI:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
