"""A participant's use cases: find them, say where they stand, record what they did.

Writes go through the system's group committer where the ledger groups that command
(enrollments and payments), so concurrent callers share commits; every write answers
with the log position it reached, which a caller can wait for the projections to pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from api.services.clocks import Clocks, clocks
from api.services.viewer import ERASED, Viewer, describe_event, mask, mask_name
from domain.commands import Command, Enroll, ErasePersonalData, RecordContribution, parse
from domain.coverage import ParticipantStatus
from domain.ledger import EnrollmentResult, PaymentResult
from domain.results import Executed
from domain.values import Period
from infra.bootstrap import System


def resolve(system: System, nik_or_id: str) -> UUID:
    """The participant a NIK or a participant id names (`participant_not_found` if none)."""
    return system.ledger.resolve(nik_or_id)


# --- queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusAnswer:
    """A participant's status on a day as the log held it at a time, with NIK and name as
    the viewer may see them, and the clocks and log position it reflects."""

    status: ParticipantStatus
    nik: str  # in full, masked, or "(erased)"
    name: str
    revealed: bool  # NIK and name are in the clear (the viewer may see them and they exist)
    clocks: Clocks | None = None

    def as_dict(self) -> dict[str, Any]:
        body = self.status.as_dict()
        if self.clocks is not None:  # as_of: the day asked (default today), as before
            body["recorded_at"] = self.clocks.as_dict()["recorded_at"]
            body["position"] = self.clocks.position
        if self.revealed:
            body["nik"], body["name"] = self.nik, self.name
        return body


def status(
    system: System,
    nik_or_id: str,
    *,
    as_of: str | None = None,
    recorded_at: str | None = None,
    viewer: Viewer,
) -> StatusAnswer:
    """Is this worker covered? Status, programmes and paid-through month on `as_of`
    (YYYY-MM-DD, the business clock; default today), from what the log held at
    `recorded_at` (a timestamp, the recording clock; default now)."""
    ledger = system.ledger
    participant_id = ledger.resolve(nik_or_id)
    at = clocks(system, as_of, recorded_at)
    result = ledger.get_status(participant_id, at.as_of, recorded_at=at.recorded_at)
    personal = ledger.get_personal_data(participant_id)
    if personal is None:
        return StatusAnswer(result, ERASED, ERASED, revealed=False, clocks=at)
    if viewer.sees_personal_data:
        return StatusAnswer(result, personal["nik"], personal["name"], revealed=True, clocks=at)
    return StatusAnswer(
        result, mask(personal["nik"]), mask_name(personal["name"]), revealed=False, clocks=at
    )


@dataclass(frozen=True)
class HistoryAnswer:
    """A participant's facts, oldest first, as plain JSON events: all, or those in effect
    by `as_of` among those recorded by `recorded_at`."""

    participant_id: UUID
    events: list[dict[str, Any]]
    clocks: Clocks | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"participant_id": str(self.participant_id), "events": self.events}
        if self.clocks is not None:
            body.update(self.clocks.as_dict())
        return body


def history(
    system: System,
    nik_or_id: str,
    *,
    as_of: str | None = None,
    recorded_at: str | None = None,
    viewer: Viewer,
) -> HistoryAnswer:
    """The participant's events, personal fields masked unless the viewer may see them;
    with `recorded_at`, what the ledger had recorded by then; with `as_of`, the facts in
    effect by that date."""
    ledger = system.ledger
    participant_id = ledger.resolve(nik_or_id)
    at = clocks(system, as_of, recorded_at)
    events = [
        describe_event(e, viewer)
        for e in ledger.get_history(participant_id, as_of=at.as_of, recorded_at=at.recorded_at)
    ]
    return HistoryAnswer(participant_id, events, at)


# --- commands -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentAnswer:
    """The months a payment settled, and the log position it reached."""

    participant_id: UUID
    payment_ref: str
    first_month: Period
    last_month: Period
    months: int
    amount: int
    replayed: bool  # the same payment was recorded before: nothing new was written
    position: int | None

    @classmethod
    def of(cls, result: PaymentResult) -> PaymentAnswer:
        return cls(
            result.participant_id,
            result.payment_ref,
            result.first_month,
            result.last_month,
            result.months,
            result.amount,
            result.replayed,
            result.position,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "participant_id": str(self.participant_id),
            "payment_ref": self.payment_ref,
            "first_month": str(self.first_month),
            "last_month": str(self.last_month),
            "months": self.months,
            "amount": self.amount,
            "replayed": self.replayed,
            "position": self.position,
        }


def pay(
    system: System,
    nik_or_id: str,
    *,
    amount: str | int,
    payment_ref: str,
    paid_on: str | None = None,
    channel: str = "bank",
    agent_id: str | None = None,
    captured_at: datetime | None = None,
) -> PaymentAnswer:
    """Record one contribution through the group committer. The participant is found
    first (an unknown NIK is `participant_not_found` whatever else is wrong)."""
    participant_id = system.ledger.resolve(nik_or_id)
    command = parse(
        RecordContribution,
        {
            "participant_id": participant_id,
            "payment_ref": payment_ref,
            "amount": amount,
            "paid_on": paid_on,
            "channel": channel,
            "agent_id": agent_id,
            "captured_at": captured_at,
        },
    )
    result: PaymentResult = system.committer.submit(command).result()
    return PaymentAnswer.of(result)


@dataclass(frozen=True)
class EnrollmentAnswer:
    """The enrolled participant's id, and the log position it reached."""

    participant_id: UUID
    replayed: bool  # the same enrollment was recorded before: nothing new was written
    position: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "participant_id": str(self.participant_id),
            "replayed": self.replayed,
            "position": self.position,
        }


def enroll(system: System, fields: Mapping[str, Any]) -> EnrollmentAnswer:
    """Enroll one worker through the group committer (the fields of an enrollment row)."""
    result: EnrollmentResult = system.committer.submit(parse(Enroll, fields)).result()
    return EnrollmentAnswer(result.participant_id, result.replayed, result.position)


@dataclass(frozen=True)
class ErasureAnswer:
    """Whose personal data was erased, and the log position that reached."""

    participant_id: UUID
    position: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"participant_id": str(self.participant_id), "position": self.position}


def erase(system: System, nik_or_id: str) -> ErasureAnswer:
    """Erase a participant's personal data: destroys the keys, keeps the record."""
    ledger = system.ledger
    participant_id = ledger.resolve(nik_or_id)
    return ErasureAnswer(
        participant_id, ledger.erase_personal_data(ErasePersonalData(participant_id))
    )


@dataclass(frozen=True)
class Recorded:
    """Any command recorded: its kind, whom it was about, its answer and the log position
    it reached."""

    command: str
    participant_id: UUID | None
    value: Any  # the ledger's answer (see `domain.results.Executed`)
    position: int | None

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, PaymentResult):
            value = PaymentAnswer.of(value).as_dict()
        elif isinstance(value, EnrollmentResult):
            value = {"participant_id": str(value.participant_id), "replayed": value.replayed}
        elif isinstance(value, UUID):
            value = str(value)
        return {
            "command": self.command,
            "participant_id": str(self.participant_id) if self.participant_id else None,
            "result": value,
            "position": self.position,
        }


def record(system: System, kind: type[Command], fields: Mapping[str, Any]) -> Recorded:
    """Parse `fields` into a command of `kind` (`domain.commands`) and record it:
    enrollments and payments through the group committer (sharing commits with the
    concurrent callers), any other command in a transaction of its own."""
    command: Any = parse(kind, fields)
    if isinstance(command, Enroll | RecordContribution):
        result = system.committer.submit(command).result()
        executed = Executed(result, result.position)
    else:
        executed = system.ledger.execute(command)
    participant_id = getattr(command, "participant_id", None) or getattr(
        executed.value, "participant_id", None
    )
    return Recorded(kind.__name__, participant_id, executed.value, executed.position)
