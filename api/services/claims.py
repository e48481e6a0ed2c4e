"""Claims: file, approve (the benefit follows from the rules), reject, pay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from api.services.changes import change
from domain.commands import ApproveClaim, FileClaim, PayClaim, RejectClaim
from infra.bootstrap import System


@dataclass(frozen=True)
class ClaimAnswer:
    """The claim, its benefit when approved, and the log position the change reached."""

    participant_id: UUID
    claim_id: UUID
    position: int | None
    amount: int | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "participant_id": str(self.participant_id),
            "claim_id": str(self.claim_id),
            "position": self.position,
        }
        if self.amount is not None:
            body["amount"] = self.amount
        return body


def file_claim(
    system: System,
    participant_id: UUID,
    *,
    programme: str,
    kind: str,
    incident_date: date,
    filed_on: date | None = None,
    work_related: bool = False,
    description: str = "",
) -> ClaimAnswer:
    done = change(
        system,
        FileClaim,
        participant_id,
        {
            "programme": programme,
            "kind": kind,
            "incident_date": incident_date,
            "filed_on": filed_on,
            "work_related": work_related,
            "description": description,
        },
    )
    return ClaimAnswer(participant_id, UUID(str(done.value)), done.position)


def approve_claim(
    system: System,
    participant_id: UUID,
    claim_id: UUID,
    *,
    approved_on: date | None = None,
    amount: int | None = None,
) -> ClaimAnswer:
    done = change(
        system,
        ApproveClaim,
        participant_id,
        {"claim_id": claim_id, "approved_on": approved_on, "amount": amount},
    )
    return ClaimAnswer(participant_id, claim_id, done.position, int(done.value))


def reject_claim(
    system: System,
    participant_id: UUID,
    claim_id: UUID,
    *,
    reason: str,
    rejected_on: date | None = None,
) -> ClaimAnswer:
    done = change(
        system,
        RejectClaim,
        participant_id,
        {"claim_id": claim_id, "reason": reason, "rejected_on": rejected_on},
    )
    return ClaimAnswer(participant_id, claim_id, done.position)


def pay_claim(
    system: System, participant_id: UUID, claim_id: UUID, *, paid_on: date | None = None
) -> ClaimAnswer:
    done = change(system, PayClaim, participant_id, {"claim_id": claim_id, "paid_on": paid_on})
    return ClaimAnswer(participant_id, claim_id, done.position)
