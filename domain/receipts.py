"""Receipts for commands sent with a client-generated id (field agents' offline batches).

A device captures commands without signal and sends them later, perhaps more than once.
Each command carries a `command_id` (a UUID the device made) and a keyed digest of its
content. The first time a command is accepted, a `CommandReceipt` with that id records
the digest and the answer; the same id again with the same digest gets the same answer
and changes nothing, with another digest it is a conflict (as ODK Central and
KoboToolbox answer a changed resubmission). A refused command leaves no receipt.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import ConflictError


class CommandReceipt(Aggregate):
    """One accepted command: what it was (its digest) and what it was answered."""

    class Recorded(Aggregate.Created):
        kind: str
        digest: str
        captured_at: datetime
        agent_id: str | None
        outcome: str  # "accepted", or "already_recorded" (the facts were there before)
        answer: dict[str, Any]  # plain JSON, no personal data (ids, months, amounts)

        def apply(self, receipt: CommandReceipt) -> None:
            receipt.kind = self.kind
            receipt.digest = self.digest
            receipt.captured_at = self.captured_at
            receipt.agent_id = self.agent_id
            receipt.outcome = self.outcome
            receipt.answer = dict(self.answer)

    if TYPE_CHECKING:
        kind: str
        digest: str
        captured_at: datetime
        agent_id: str | None
        outcome: str
        answer: dict[str, Any]

    @classmethod
    def record(
        cls,
        command_id: UUID,
        *,
        kind: str,
        digest: str,
        captured_at: datetime,
        agent_id: str | None,
        outcome: str,
        answer: dict[str, Any],
    ) -> CommandReceipt:
        return cls._create(
            cls.Recorded,
            id=command_id,
            kind=kind,
            digest=digest,
            captured_at=captured_at,
            agent_id=agent_id,
            outcome=outcome,
            answer=answer,
        )

    def check_same(self, digest: str) -> None:
        """Refuse a resubmission under this id whose content changed."""
        if digest != self.digest:
            raise ConflictError(
                "command_id_conflict",
                f"Command {self.id} was recorded before with different content; "
                "send a changed command under a new command_id.",
            )
