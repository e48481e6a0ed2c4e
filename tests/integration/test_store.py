"""The event store under the ledger: snapshots, bulk transactions, concurrent writers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from uuid import UUID

from domain.commands import Enroll, RecordContribution, parse, run_parsed
from domain.ledger import EnrollmentResult, Ledger
from domain.participant import Participant
from domain.values import Period
from infra.bootstrap import build_system
from infra.settings import Settings
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment


def pay_monthly(ledger: Ledger, nik: str, first: Period, months: int, prefix: str) -> None:
    rows = [
        {
            "payment_ref": f"{prefix}-{i}",
            "nik": nik,
            "amount": MONTHLY_JKK_JKM_1_5M,
            "paid_on": (first + i).first_day.replace(day=5),
            "channel": "bank",
        }
        for i in range(months)
    ]
    outcomes = run_parsed(RecordContribution, rows, ledger.record_contributions)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes


def test_long_lived_participants_are_snapshotted_and_load_the_same(ledger: Ledger) -> None:
    person = enrollment(enrolled_on="2019-01-03")
    participant_id = ledger.enroll(parse(Enroll, person))
    pay_monthly(ledger, person["nik"], Period.parse("2019-01"), 72, "SNAP")

    participant: Participant = ledger.repository.get(participant_id)
    assert participant.version == 73
    assert ledger.snapshots is not None
    snapshots = list(ledger.snapshots.get(participant_id))
    assert [s.originator_version for s in snapshots] == [50]

    # Rebuild without the snapshot: replay every event onto a blank aggregate.
    replayed: Participant | None = None
    for event in ledger.events.get(participant_id):
        # the store's protocol type has no `mutate`; the library's aggregate events do
        replayed = event.mutate(replayed)  # type: ignore[attr-defined]
    assert isinstance(replayed, Participant)
    assert _same_state(replayed, participant)
    assert str(participant.paid_through) == "2024-12"
    assert ledger.get_status(participant_id, as_of=date(2024, 12, 20)).status == "active"


def _same_state(a: Participant, b: Participant) -> bool:
    skip = {"_pending_events", "_modified_on", "_created_on"}
    return {k: v for k, v in vars(a).items() if k not in skip} == {
        k: v for k, v in vars(b).items() if k not in skip
    }


def test_a_bulk_enrollment_is_one_transaction_with_contiguous_positions(ledger: Ledger) -> None:
    rows = [enrollment() for _ in range(300)]
    before = ledger.recorder.max_notification_id() or 0

    outcomes = run_parsed(Enroll, rows, ledger.enroll_many)

    assert all(isinstance(o, EnrollmentResult) and not o.replayed for o in outcomes)
    after = ledger.recorder.max_notification_id()
    # One Enrolled and one NikIndex.Registered per row, numbered without gaps.
    notifications = ledger.recorder.select_notifications(start=before + 1, limit=1000)
    assert len(notifications) == 600
    assert after == before + 600
    assert [n.id for n in notifications] == list(range(before + 1, after + 1))


def test_a_writer_that_loses_a_race_gets_an_answer_per_row(settings: Settings) -> None:
    # Two systems on the same store: two writers, as two processes would be.
    first_system, second_system = build_system(settings), build_system(settings)
    first, second = first_system.ledger, second_system.ledger
    try:
        shared, only_second = enrollment(), enrollment()
        ensure_keys = second.vault.ensure_keys
        raced: list[UUID] = []

        def first_writer_commits_meanwhile(key_ids: Iterable[UUID]) -> None:
            # Called by the second writer after it prepared its batch, just before saving.
            if not raced:
                raced.append(first.enroll(parse(Enroll, shared)))
            ensure_keys(key_ids)

        second.vault.ensure_keys = first_writer_commits_meanwhile  # type: ignore[method-assign]
        outcomes = run_parsed(
            Enroll, [dict(shared, name="Another Person"), only_second], second.enroll_many
        )

        assert raced, "the first writer did not interleave"
        assert [type(o).__name__ for o in outcomes] == ["ConflictError", "EnrollmentResult"]
        assert getattr(outcomes[0], "code", None) == "already_enrolled"
        assert first.find_participant(only_second["nik"]) is not None
        assert first.find_participant(shared["nik"]) == raced[0]
    finally:
        first_system.close()
        second_system.close()


def test_every_sqlite_connection_of_the_ledger_is_set_up_for_big_tables(
    sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    """The event store's pooled connections, the key table's and the view store's: a
    checkpoint per 80 MB of WAL and 128 MB of cache, not SQLite's 4 MB and 2 MB."""

    def pragmas(conn: sqlite3.Connection) -> tuple[int, int]:
        return (
            conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
            conn.execute("PRAGMA cache_size").fetchone()[0],
        )

    sqlite_ledger.enroll(parse(Enroll, enrollment()))  # the pool has made its connections by now
    datastore = sqlite_ledger.recorder.datastore  # type: ignore[attr-defined]
    handles = []
    for commit in (False, True):
        with datastore.get_connection(commit=commit) as connection:
            handles.append(connection._sqlite_conn)
    handles.append(sqlite_ledger.vault._conn)  # type: ignore[attr-defined]
    db_path = Path(datastore.pool.db_name)
    # The fixture's system is not reachable from here: a second one on the same store opens
    # the view store beside it.
    beside = build_system(Settings(database_url=f"sqlite:///{db_path}", var_dir=tmp_path / "var"))
    try:
        handles.append(beside.views._conn)  # type: ignore[attr-defined]
        assert [pragmas(h) for h in handles] == [(20000, -131072)] * 4
    finally:
        beside.close()
