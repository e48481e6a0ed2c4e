"""Field agents' offline batches: commands captured on a device, sent later, each with a
client-generated `command_id`, answered one by one in the order sent.

A command accepted once leaves a `CommandReceipt` (domain/receipts.py) holding a keyed
digest of its content and its answer: the same `command_id` again answers the same and
writes nothing; with changed content it is refused as a conflict. A refused command
leaves nothing behind, so it may be corrected and sent again under the same id.

The receipt is saved just after the command's own transaction. Were the process to die
between the two, a resubmission runs the command again, which the ledger recognises as
already recorded (the same NIK with the same facts, the same payment reference).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from api.services import participants
from domain.errors import InvalidInputError, LedgerError
from domain.receipts import CommandReceipt
from infra.bootstrap import System
from infra.settings import load_secrets

KINDS = ("enrollment", "contribution")


@dataclass(frozen=True)
class Command:
    """One command of a batch, typed by the caller's edge."""

    command_id: UUID
    kind: str  # "enrollment" or "contribution"
    captured_at: datetime
    fields: dict[str, Any]  # an enrollment row, or a payment naming participant_id or nik


@dataclass(frozen=True)
class Outcome:
    """How one command was answered: accepted (or already recorded), a repeat of an
    earlier submission, or refused with the ledger's error."""

    command_id: UUID
    answer: dict[str, Any] = field(default_factory=dict)
    outcome: str = "accepted"  # accepted | already_recorded | refused
    repeat: bool = False  # this command_id was answered before; nothing was written now
    error: LedgerError | None = None

    @property
    def position(self) -> int | None:
        position = self.answer.get("position")
        return int(position) if position is not None else None


def run(system: System, commands: list[Command]) -> list[Outcome]:
    """Each command in order, each on its own (one refused does not stop the others)."""
    key = load_secrets(system.settings).nik_pepper  # keys the digests: content is personal
    return [_one(system, command, key) for command in commands]


def digest(command: Command, key: bytes) -> str:
    """A keyed digest of everything the command says (its id aside)."""
    content = orjson.dumps(
        {"kind": command.kind, "captured_at": command.captured_at, "fields": command.fields},
        option=orjson.OPT_SORT_KEYS,
    )
    return hmac.new(key, b"command:" + content, hashlib.sha256).hexdigest()


def _one(system: System, command: Command, key: bytes) -> Outcome:
    content = digest(command, key)
    try:
        earlier = _receipt(system, command.command_id)
        if earlier is not None:
            earlier.check_same(content)
            return Outcome(command.command_id, dict(earlier.answer), earlier.outcome, repeat=True)
        answer = _execute(system, command)
    except LedgerError as error:
        return Outcome(command.command_id, outcome="refused", error=error)
    outcome = "already_recorded" if answer.get("replayed") else "accepted"
    receipt = CommandReceipt.record(
        command.command_id,
        kind=command.kind,
        digest=content,
        captured_at=command.captured_at,
        agent_id=command.fields.get("agent_id"),
        outcome=outcome,
        answer=answer,
    )
    try:
        system.ledger.save(receipt)
    except IntegrityError:  # the same command_id, sent again meanwhile, got there first
        earlier = _receipt(system, command.command_id)
        if earlier is None:
            raise
        try:
            earlier.check_same(content)
        except LedgerError as error:
            return Outcome(command.command_id, outcome="refused", error=error)
        return Outcome(command.command_id, dict(earlier.answer), earlier.outcome, repeat=True)
    return Outcome(command.command_id, answer, outcome)


def _execute(system: System, command: Command) -> dict[str, Any]:
    fields = dict(command.fields)
    if command.kind == "enrollment":
        fields["captured_at"] = command.captured_at
        return participants.enroll(system, fields).as_dict()
    if command.kind == "contribution":
        who = fields.pop("participant_id", None) or fields.pop("nik", None)
        if not who:
            raise InvalidInputError(
                "participant_required", "A contribution names its worker by participant_id or nik."
            )
        return participants.pay(
            system,
            str(who),
            amount=fields["amount"],
            payment_ref=fields["payment_ref"],
            paid_on=fields.get("paid_on"),
            channel=fields.get("channel") or "bank",
            agent_id=fields.get("agent_id"),
            captured_at=command.captured_at,
        ).as_dict()
    raise InvalidInputError("unknown_command", f"'{command.kind}' is not one of {KINDS}.")


def _receipt(system: System, command_id: UUID) -> CommandReceipt | None:
    try:
        found: object = system.ledger.repository.get(command_id)
    except AggregateNotFoundError:
        return None
    if not isinstance(found, CommandReceipt):  # an id that belongs to something else
        raise InvalidInputError("invalid_command_id", "This command_id is already in use.")
    return found
