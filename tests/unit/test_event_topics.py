"""Every participant event keeps the topic the log stores with it.

A topic (`module:QualName`) is a public contract: the log, the audit leaves and the Kafka
types are keyed by it, so moving an event class must never change it. The events are
defined in `domain.participant_events` and named on the aggregate, where the library
redefines them; this pins what it must keep.
"""

from __future__ import annotations

import re
from pathlib import Path

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic, resolve_topic

from domain import participant_events
from domain.commands import Enroll, RecordContribution, parse
from domain.ledger import Ledger
from domain.participant import Participant
from infra import envelope
from tests.factories import MONTHLY_JKK_JKM_1_5M, enrollment

ROOT = Path(__file__).resolve().parents[2]

# Recorded from the log before the events moved out of the aggregate's module: each one's
# stored topic, exactly.
RECORDED_TOPICS = {
    "Enrolled": "domain.participant:Participant.Enrolled",
    "ContributionPaid": "domain.participant:Participant.ContributionPaid",
    "ContributionsResettled": "domain.participant:Participant.ContributionsResettled",
    "IncomeDeclared": "domain.participant:Participant.IncomeDeclared",
    "ProgrammesChanged": "domain.participant:Participant.ProgrammesChanged",
    "DetailsCorrected": "domain.participant:Participant.DetailsCorrected",
    "Died": "domain.participant:Participant.Died",
    "Withdrew": "domain.participant:Participant.Withdrew",
    "PersonalDataErased": "domain.participant:Participant.PersonalDataErased",
    "ClaimFiled": "domain.participant:Participant.ClaimFiled",
    "ClaimApproved": "domain.participant:Participant.ClaimApproved",
    "ClaimRejected": "domain.participant:Participant.ClaimRejected",
    "ClaimPaid": "domain.participant:Participant.ClaimPaid",
}


def event_classes() -> dict[str, type]:
    """Every event class the aggregate names, but its library-made bases."""
    return {
        name: value
        for name, value in vars(Participant).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in ("Event", "Created")
    }


def test_every_event_keeps_its_recorded_topic_and_resolves_back() -> None:
    classes = event_classes()
    assert {name: get_topic(cls) for name, cls in classes.items()} == RECORDED_TOPICS
    for name, topic in RECORDED_TOPICS.items():
        assert resolve_topic(topic) is classes[name]
        # the class the aggregate records is the library's redefinition of the one
        # written in `domain.participant_events`, not that class itself
        assert issubclass(classes[name], getattr(participant_events, name))
    assert get_topic(Participant) == "domain.participant:Participant"  # snapshots


def test_the_kafka_types_and_the_documents_name_the_same_events() -> None:
    assert {
        topic: f"id.ledger.participant.{name}" for name, topic in RECORDED_TOPICS.items()
    } == envelope.TYPE_OF_TOPIC
    table = (ROOT / "docs" / "events.md").read_text()
    documented = re.findall(r"^\| `([A-Za-z]+)` \| \[schema\]\(schemas/\1\.json\)", table, re.M)
    assert sorted(documented) == sorted(RECORDED_TOPICS)
    schemas = {path.stem for path in (ROOT / "docs" / "schemas").glob("*.json")}
    assert schemas == set(RECORDED_TOPICS)


def test_the_log_stores_the_recorded_topics(ledger: Ledger) -> None:
    pid = ledger.enroll(parse(Enroll, enrollment(enrolled_on="2026-01-06")))
    # February's payment arrives after March's: the recorded one is resettled first
    for ref, paid_on in (("T1", "2026-01-10"), ("T3", "2026-03-10"), ("T2", "2026-02-10")):
        ledger.record_contribution(
            parse(
                RecordContribution,
                {
                    "participant_id": str(pid),
                    "payment_ref": ref,
                    "channel": "bank",
                    "amount": MONTHLY_JKK_JKM_1_5M,
                    "paid_on": paid_on,
                },
            )
        )
    stored = [
        n.topic
        for n in ledger.recorder.select_notifications(start=1, limit=100)
        if n.originator_id == pid
    ]
    assert stored == [
        RECORDED_TOPICS[name]
        for name in (
            "Enrolled",
            "ContributionPaid",
            "ContributionPaid",
            "ContributionsResettled",
            "ContributionPaid",
        )
    ]
