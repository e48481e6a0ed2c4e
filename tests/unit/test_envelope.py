"""The Kafka message of a ledger event (CloudEvents binary mode): out and back, and refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import orjson
import pytest

from domain.participant import Participant
from infra import envelope
from infra.bootstrap import event_mapper
from infra.transcoder import ledger_transcoder

SOURCE = b"/enrollment-ledger"


def stored_died(version: int = 3) -> tuple[bytes, str, object]:
    event = Participant.Died(  # type: ignore[call-arg]  # the library's event __init__
        originator_id=uuid4(),
        originator_version=version,
        timestamp=datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        died_on=date(2025, 1, 1),
    )
    stored = event_mapper().to_stored_event(event)
    return stored.state, stored.topic, event


def test_headers_name_the_event_and_a_message_decodes_back_to_it() -> None:
    state, topic, event = stored_died()
    key, headers = envelope.encode(41, event.originator_id, 3, topic, state, SOURCE)  # type: ignore[attr-defined]
    found = dict(headers)
    assert key == str(event.originator_id).encode()  # type: ignore[attr-defined]
    assert found["ce_type"] == b"id.ledger.participant.Died"
    assert found["ce_id"] == key + b":3"
    assert found["ce_time"] == b"2025-01-02T03:04:05.678901+00:00"
    assert found["ce_logposition"] == b"41" and found["ce_schemaversion"] == b"1"
    received = envelope.decode(key, state, headers)
    assert received.position == 41 and received.event_id == (key + b":3").decode()
    back = event_mapper().to_domain_event(received.stored)
    assert back == event


def test_the_quick_timestamp_read_agrees_with_parsing() -> None:
    state, topic, event = stored_died()
    quick = dict(envelope.encode(1, event.originator_id, 3, topic, state, SOURCE)[1])  # type: ignore[attr-defined]
    reordered = orjson.dumps(dict(reversed(list(orjson.loads(state).items()))))
    parsed = dict(envelope.encode(1, event.originator_id, 3, topic, reordered, SOURCE)[1])  # type: ignore[attr-defined]
    assert quick["ce_time"] == parsed["ce_time"]
    assert ledger_transcoder().decode(state)["timestamp"].isoformat().encode() == quick["ce_time"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h: [p for p in h if p[0] != "ce_type"], "missing_header"),
        (
            lambda h: [
                (n, b"id.ledger.participant.Exploded" if n == "ce_type" else v) for n, v in h
            ],
            "unknown_type",
        ),
        (
            lambda h: [(n, b"0.3" if n == "ce_specversion" else v) for n, v in h],
            "unsupported_specversion",
        ),
        (lambda h: [(n, b"not-a-uuid" if n == "ce_subject" else v) for n, v in h], "bad_header"),
        (lambda h: [(n, b"\xff" if n == "ce_id" else v) for n, v in h], "bad_header"),
    ],
)
def test_a_message_that_is_not_a_ledger_event_is_refused_with_a_reason(change, reason) -> None:
    state, topic, event = stored_died()
    key, headers = envelope.encode(1, event.originator_id, 3, topic, state, SOURCE)  # type: ignore[attr-defined]
    with pytest.raises(envelope.EnvelopeError) as refused:
        envelope.decode(key, state, change(headers))
    assert refused.value.reason == reason


def test_a_key_that_disagrees_with_the_subject_is_refused() -> None:
    state, topic, event = stored_died()
    _, headers = envelope.encode(1, event.originator_id, 3, topic, state, SOURCE)  # type: ignore[attr-defined]
    with pytest.raises(envelope.EnvelopeError, match="disagree"):
        envelope.decode(str(uuid4()).encode(), state, headers)
