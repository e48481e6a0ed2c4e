"""`before_commit` (domain.transactions.BeforeCommit): a bulk command shows its caller
every outcome before the transaction that records them, on every attempt, so a caller's
own record of the refusals (an import's rejects file) is never behind the log."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from domain.commands import Enroll, parse, run_parsed
from domain.errors import LedgerError
from domain.ledger import EnrollmentResult, Ledger
from tests.factories import enrollment


def codes(outcomes: list[Any]) -> list[str | None]:
    return [
        o.code if isinstance(o, LedgerError) else None if o is not None else "-" for o in outcomes
    ]


def watch(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, fail_saves: int = 0) -> list[Any]:
    """Record hook calls and commits, in order; the first `fail_saves` commits collide."""
    seen: list[Any] = []
    original = ledger.save

    def save(*objects: Any, **kwargs: Any) -> Any:
        seen.append("commit")
        if seen.count("commit") <= fail_saves:
            raise IntegrityError("another writer")
        return original(*objects, **kwargs)

    monkeypatch.setattr(ledger, "save", save)
    return seen


def test_the_hook_sees_every_row_before_the_commit(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = watch(ledger, monkeypatch)
    rows = [enrollment(), enrollment(phone="1"), enrollment(village_code="12.71.01.9999")]
    outcomes = run_parsed(Enroll, rows, ledger.enroll_many, before_commit=seen.append)
    assert seen[-1] == "commit" and len(seen) == 2
    assert codes(seen[0]) == [None, "invalid_phone", "unknown_village"] == codes(outcomes)


def test_a_batch_with_nothing_to_commit_still_shows_its_refusals(ledger: Ledger) -> None:
    seen: list[Any] = []
    rows = [enrollment(village_code="99"), enrollment(birth_date=date(2024, 2, 1))]
    run_parsed(Enroll, rows, ledger.enroll_many, before_commit=seen.append)
    assert [codes(s) for s in seen] == [["invalid_village_code", "invalid_birth_date"]]
    assert ledger.recorder.max_notification_id() is None


def test_a_redone_batch_shows_its_new_outcomes_before_its_commit(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = enrollment()
    ledger.enroll(parse(Enroll, taken))
    seen = watch(ledger, monkeypatch)
    rows = [enrollment(), {**taken, "name": "Someone Else"}]
    outcomes = run_parsed(Enroll, rows, ledger.enroll_many, before_commit=seen.append)
    # Optimistic first (the NIK index unread: both look fine), the save collides, the
    # batch is redone with the reads and shown again before the commit that counts.
    assert [s if s == "commit" else codes(s) for s in seen] == [
        [None, None],
        "commit",
        [None, "already_enrolled"],
        "commit",
    ]
    assert codes(outcomes) == [None, "already_enrolled"]


def test_a_batch_redone_one_command_at_a_time_shows_the_outcomes_so_far(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = watch(ledger, monkeypatch, fail_saves=2)  # another writer, twice
    rows = [
        enrollment(),
        enrollment(phone="1"),
        enrollment(village_code="12.71.01.9999"),
        enrollment(),
    ]
    outcomes = run_parsed(Enroll, rows, ledger.enroll_many, before_commit=seen.append)
    shown = [s if s == "commit" else codes(s) for s in seen]
    # The two batch attempts, then a commit per command with every row's outcome so far
    # ("-": not run yet; parse refusals are known from the start).
    assert shown == [
        [None, "invalid_phone", "unknown_village", None],
        "commit",
        [None, "invalid_phone", "unknown_village", None],
        "commit",
        [None, "invalid_phone", "unknown_village", "-"],
        "commit",
        [None, "invalid_phone", "unknown_village", None],
        "commit",
    ]
    assert all(isinstance(o, EnrollmentResult) for o in (outcomes[0], outcomes[3]))
