"""Unit-test fixtures: the Ledger on the in-memory (POPO) store, clock pinned.

`ledger` here overrides the store-parametrised `ledger` of `tests/conftest.py`: unit
tests need no database. `make_ledger` is session-scoped (it only builds new ledgers), so
hypothesis tests can call it once per example without a function-scoped fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from types import TracebackType
from typing import Self

import pytest
from eventsourcing.persistence import ApplicationRecorder, Mapper

from domain.errors import LedgerError
from domain.ledger import Ledger
from domain.rules import RuleBook
from infra.transcoder import ledger_transcoder

# Late enough that every date used by the unit tests is in the past.
TODAY = date(2026, 6, 30)

MakeLedger = Callable[..., Ledger]


def new_ledger(
    *,
    today: date = TODAY,
    rules: RuleBook | None = None,
    recorder: ApplicationRecorder | None = None,
) -> Ledger:
    """An in-memory ledger; with `recorder`, a second application over the same log."""
    # Not build_system: unit tests run on no store, so the ledger is built in memory here.
    if recorder is None:
        return Ledger(
            mapper=Mapper(transcoder=ledger_transcoder()), today=lambda: today, rules=rules
        )

    shared: ApplicationRecorder = recorder

    class SharedLogLedger(Ledger):
        def construct_recorder(self) -> ApplicationRecorder:
            return shared

    return SharedLogLedger(
        mapper=Mapper(transcoder=ledger_transcoder()), today=lambda: today, rules=rules
    )


@pytest.fixture(scope="session")
def make_ledger() -> MakeLedger:
    return new_ledger


@pytest.fixture
def ledger(make_ledger: MakeLedger) -> Ledger:
    """A fresh in-memory ledger whose today is TODAY."""
    return make_ledger()


class Refusal:
    """`with refused(ledger, "code"):` asserts a LedgerError with that code and that the
    log did not move."""

    def __init__(self, ledger: Ledger | None, code: str) -> None:
        self.ledger = ledger
        self.code = code
        self.error: LedgerError | None = None

    def __enter__(self) -> Self:
        self.before = self.ledger.recorder.max_notification_id() if self.ledger else None
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if kind is None:
            raise AssertionError(f"expected a refusal with code {self.code!r}, nothing was raised")
        if not isinstance(error, LedgerError):
            return False  # let the unexpected exception propagate
        assert error.code == self.code, f"expected {self.code!r}, got {error!r}"
        self.error = error
        if self.ledger is not None:
            after = self.ledger.recorder.max_notification_id()
            assert after == self.before, f"log moved from {self.before} to {after} on a refusal"
        return True


@pytest.fixture(scope="session")
def refused() -> Callable[[Ledger | None, str], Refusal]:
    return Refusal
