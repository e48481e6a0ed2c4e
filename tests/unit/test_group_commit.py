"""Group commit: concurrent single commands share transactions and still get the answers
they would get alone."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import date
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Mapper

from domain.commands import Enroll, ErasePersonalData, RecordContribution, parse
from domain.errors import ConflictError, InvalidInputError, LedgerError
from domain.ledger import EnrollmentResult, Ledger, PaymentResult
from infra.group_commit import Groupable, GroupCommitter
from infra.transcoder import ledger_transcoder
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment
from tests.unit.conftest import TODAY


class GatedLedger(Ledger):
    """Holds its first round until `gate` is set, recording each round's size, so a test
    can queue commands behind it deterministically."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.round_sizes: list[int] = []
        self.fail_next: BaseException | None = None

    def execute_many(self, commands: Sequence[Groupable]) -> list[Any]:
        self.entered.set()
        self.gate.wait(timeout=10)
        self.round_sizes.append(len(commands))
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return super().execute_many(commands)


# The committer is the unit under test here, on in-memory ledgers: built directly, not
# through build_system (which needs a store).
@pytest.fixture
def gated() -> GatedLedger:
    return GatedLedger(mapper=Mapper(transcoder=ledger_transcoder()), today=lambda: TODAY)


def queue_behind_first_round(
    committer: GroupCommitter, ledger: GatedLedger, commands: list[Groupable]
) -> list[Future[Any]]:
    """Submit one command, wait until the writer holds it, queue `commands` behind it."""
    first = committer.submit(parse(Enroll, enrollment()))
    assert ledger.entered.wait(timeout=10)
    futures = [first] + [committer.submit(command) for command in commands]
    ledger.gate.set()
    return futures


def payment(pid: Any, ref: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "payment_ref": ref,
        "participant_id": str(pid),
        "amount": MONTHLY_JKK_JKM_1_5M,
        "paid_on": "2024-02-05",
        "channel": "BANK",
    }
    row.update(overrides)
    return row


def test_commands_waiting_during_a_commit_share_the_next_one(gated: GatedLedger) -> None:
    rows = [enrollment() for _ in range(9)]
    with GroupCommitter(gated) as committer:
        futures = queue_behind_first_round(committer, gated, [parse(Enroll, r) for r in rows])
        results = [f.result(timeout=10) for f in futures]

    assert gated.round_sizes == [1, 9]
    assert committer.rounds == 2 and committer.commands == 10
    assert all(isinstance(r, EnrollmentResult) and not r.replayed for r in results)
    for row, result in zip(rows, results[1:], strict=True):
        assert gated.find_participant(row["nik"]) == result.participant_id
    # one transaction for the nine: their events are consecutive in the log
    assert gated.recorder.max_notification_id() == 2 * 10


def test_a_refused_command_does_not_stop_the_others_in_its_round(gated: GatedLedger) -> None:
    good = enrollment()
    with GroupCommitter(gated) as committer:
        futures = queue_behind_first_round(
            committer,
            gated,
            [
                parse(Enroll, enrollment(enrolled_on="2026-07-01")),  # after TODAY
                parse(Enroll, good),
                parse(RecordContribution, payment("00000000-0000-0000-0000-000000000000", "REF-1")),
            ],
        )
        with pytest.raises(InvalidInputError) as invalid:
            futures[1].result(timeout=10)
        accepted = futures[2].result(timeout=10)
        with pytest.raises(LedgerError) as missing:
            futures[3].result(timeout=10)

    assert invalid.value.code == "date_in_future"
    assert missing.value.code == "participant_not_found"
    assert gated.find_participant(good["nik"]) == accepted.participant_id
    assert gated.recorder.max_notification_id() == 2 * 2  # the two enrollments only


def test_a_malformed_command_is_refused_before_it_is_queued(gated: GatedLedger) -> None:
    with GroupCommitter(gated) as committer, pytest.raises(InvalidInputError) as invalid:
        committer.submit(parse(Enroll, enrollment(nik="12710155059")))  # one digit short
    assert invalid.value.code == "invalid_nik"
    assert committer.commands == 0 and gated.round_sizes == []


def test_a_repeat_in_the_same_round_gets_the_original_answer(gated: GatedLedger) -> None:
    row = enrollment()
    with GroupCommitter(gated) as committer:
        futures = queue_behind_first_round(
            committer, gated, [parse(Enroll, row), parse(Enroll, row)]
        )
        first, repeat = (f.result(timeout=10) for f in futures[1:])

    assert repeat.participant_id == first.participant_id
    assert repeat.replayed and not first.replayed
    assert gated.round_sizes == [1, 1, 1]  # the repeat waited for the next round


def test_a_reused_payment_reference_in_one_round_is_a_conflict(gated: GatedLedger) -> None:
    pid = gated.enroll(parse(Enroll, enrollment()))
    gated.round_sizes.clear()
    with GroupCommitter(gated) as committer:
        futures = queue_behind_first_round(
            committer,
            gated,
            [
                parse(RecordContribution, payment(pid, "BANK-77")),
                parse(RecordContribution, payment(pid, "BANK-77", amount=2 * MONTHLY_JKK_JKM_1_5M)),
            ],
        )
        paid = futures[1].result(timeout=10)
        with pytest.raises(ConflictError) as conflict:
            futures[2].result(timeout=10)

    assert isinstance(paid, PaymentResult) and paid.months == 1
    assert conflict.value.code == "payment_ref_conflict"
    assert gated.get_status(pid, date(2024, 2, 29)).status == "active"


def test_a_failed_commit_reaches_every_caller_of_its_round_and_the_writer_goes_on(
    gated: GatedLedger,
) -> None:
    gated.fail_next = OSError("disk full")
    with GroupCommitter(gated) as committer:
        futures = queue_behind_first_round(committer, gated, [])
        with pytest.raises(OSError, match="disk full"):
            futures[0].result(timeout=10)
        later = enrollment()
        pid = committer.enroll(parse(Enroll, later))

    assert gated.find_participant(later["nik"]) == pid
    assert gated.recorder.max_notification_id() == 2


def test_close_answers_what_was_submitted_and_refuses_more(gated: GatedLedger) -> None:
    committer = GroupCommitter(gated)
    futures = queue_behind_first_round(
        committer, gated, [parse(Enroll, enrollment()) for _ in range(3)]
    )
    committer.close()

    assert all(f.done() and f.exception() is None for f in futures)
    with pytest.raises(RuntimeError, match="closed"):
        committer.submit(parse(Enroll, enrollment()))
    with GroupCommitter(gated) as other, pytest.raises(TypeError, match="unknown command type"):
        other.submit(ErasePersonalData(uuid4()))  # type: ignore[arg-type]


def test_many_threads_at_once_all_land_with_fewer_commits(ledger: Ledger) -> None:
    people = [enrollment() for _ in range(16)]
    answers: dict[str, list[Any]] = {}
    with GroupCommitter(ledger) as committer:

        def field_agent(row: dict[str, Any]) -> None:
            pid = committer.enroll(parse(Enroll, row))
            answers[row["nik"]] = [pid] + [
                committer.record_contribution(
                    parse(
                        RecordContribution,
                        payment(pid, f"{row['nik']}-{m}", paid_on=f"2024-0{m}-15"),
                    )
                )
                for m in (1, 2, 3)
            ]

        threads = [threading.Thread(target=field_agent, args=(row,)) for row in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert sorted(answers) == sorted(p["nik"] for p in people)
    for row in people:
        pid, *paid = answers[row["nik"]]
        assert ledger.find_participant(row["nik"]) == pid
        assert [p.months for p in paid] == [1, 1, 1]
        assert ledger.get_status(pid, date(2024, 3, 31)).status == "active"
    assert committer.commands == 16 * 4
    assert committer.rounds <= committer.commands


def test_a_writer_killed_mid_round_leaves_no_caller_waiting(
    gated: GatedLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threading, "excepthook", lambda _: None)  # the thread's death is the point
    gated.fail_next = SystemExit()  # not an Exception: the writer thread ends
    committer = GroupCommitter(gated)
    futures = queue_behind_first_round(
        committer, gated, [parse(Enroll, enrollment()) for _ in range(2)]
    )

    with pytest.raises(SystemExit):
        futures[0].result(timeout=10)
    for waiting in futures[1:]:
        with pytest.raises(RuntimeError, match="stopped"):
            waiting.result(timeout=10)
    with pytest.raises(RuntimeError, match="closed"):
        committer.submit(parse(Enroll, enrollment()))
    committer.close()  # nothing left to stop: returns at once
    assert (gated.recorder.max_notification_id() or 0) == 0
