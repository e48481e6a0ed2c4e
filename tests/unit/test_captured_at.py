"""`Enrolled` and `ContributionPaid` version 2 keep when a device captured the fact;
version 1 events, stored before, read back with `captured_at` None (the upcaster)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import orjson
import pytest
from eventsourcing.persistence import Mapper, StoredEvent

from domain.commands import Enroll, RecordContribution, parse
from domain.errors import InvalidInputError
from domain.ledger import Ledger
from domain.participant import Participant
from infra.transcoder import ledger_transcoder
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment

CAPTURED = datetime(2025, 1, 6, 2, 30, tzinfo=UTC)


def test_capture_time_is_kept_and_old_events_upcast(ledger: Ledger) -> None:
    pid = ledger.enroll(
        parse(Enroll, {**enrollment(enrolled_on="2025-01-06"), "captured_at": CAPTURED})
    )
    ledger.record_contribution(
        parse(
            RecordContribution,
            {
                "participant_id": str(pid),
                "payment_ref": "CAP-1",
                "channel": "bank",
                "amount": MONTHLY_JKK_JKM_1_5M,
                "paid_on": "2025-01-07",
                "captured_at": CAPTURED,
            },
        )
    )
    enrolled, paid = ledger.get_history(pid)
    assert (enrolled.captured_at, paid.captured_at) == (CAPTURED, CAPTURED)

    mapper: Mapper[UUID] = Mapper(transcoder=ledger_transcoder())
    for event in (enrolled, paid):
        stored = mapper.to_stored_event(event)
        state = orjson.loads(stored.state)
        assert state.pop("class_version") == 2
        state.pop("captured_at")  # as version 1 stored it
        old = StoredEvent(
            stored.originator_id, stored.originator_version, stored.topic, orjson.dumps(state)
        )
        # the mapper's return type is the protocol, which has no captured_at
        assert mapper.to_domain_event(old).captured_at is None  # type: ignore[attr-defined]
    assert isinstance(enrolled, Participant.Enrolled)


def test_a_naive_capture_time_is_refused() -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse(Enroll, {**enrollment(), "captured_at": datetime(2025, 1, 6)})
    assert refused.value.code == "invalid_captured_at"
