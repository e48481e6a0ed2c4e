"""Group commit on the real stores: concurrent field agents, fewer transactions than
commands, every command durable and answered as it would be alone."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from domain.commands import Enroll, RecordContribution, parse
from domain.ledger import Ledger
from infra.bootstrap import System
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment

AGENTS = 12
PAYMENTS = 3


def test_concurrent_single_commands_share_commits_and_all_land(
    ledger: Ledger, system: System
) -> None:
    people = [enrollment(enrolled_on="2024-01-03") for _ in range(AGENTS)]
    answers: dict[str, list[Any]] = {}
    failures: list[BaseException] = []
    before = ledger.recorder.max_notification_id() or 0

    with system.committer as committer:
        start = threading.Barrier(AGENTS)

        def field_agent(row: dict[str, Any]) -> None:
            try:
                start.wait(timeout=30)
                pid = committer.enroll(parse(Enroll, row))
                paid = [
                    committer.record_contribution(
                        parse(
                            RecordContribution,
                            payment_ref=f"BANK-{row['nik']}-{m}",
                            participant_id=str(pid),
                            amount=MONTHLY_JKK_JKM_1_5M,
                            paid_on=f"2024-0{m}-20",
                            channel="BANK",
                        )
                    )
                    for m in range(1, PAYMENTS + 1)
                ]
                # a repeat of a recorded payment is answered, not recorded again
                again = committer.record_contribution(
                    parse(
                        RecordContribution,
                        payment_ref=f"BANK-{row['nik']}-1",
                        participant_id=str(pid),
                        amount=MONTHLY_JKK_JKM_1_5M,
                        paid_on="2024-01-20",
                        channel="BANK",
                    )
                )
                answers[row["nik"]] = [pid, paid, again]
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                failures.append(error)

        threads = [threading.Thread(target=field_agent, args=(row,)) for row in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert failures == []
    assert committer.commands == AGENTS * (2 + PAYMENTS)
    assert committer.rounds < committer.commands  # concurrent callers shared commits
    for row in people:
        pid, paid, again = answers[row["nik"]]
        assert ledger.find_participant(row["nik"]) == pid
        assert [str(p.first_month) for p in paid] == ["2024-01", "2024-02", "2024-03"]
        assert again.replayed and again.first_month == paid[0].first_month
        assert ledger.get_status(pid, date(2024, 3, 31)).status == "active"
    # enrollment: participant + NIK index; payment: payment + reference; repeats: nothing
    written = (ledger.recorder.max_notification_id() or 0) - before
    assert written == AGENTS * 2 + AGENTS * PAYMENTS * 2
