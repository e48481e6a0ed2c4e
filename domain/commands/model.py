"""The ledger's commands: one frozen dataclass per command, typed values only.

A date left out (`None`) means the ledger's today.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.values import Nik, Period

# --- the commands -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enroll:
    """Enroll a worker. `personal` facts are encrypted in the event; the rest are not."""

    nik: Nik
    name: str
    birth_date: date
    sex: str
    village: str  # a village code that exists, dotted
    occupation: str
    programmes: tuple[str, ...]
    declared_income: int
    channel: str
    agent_id: str | None = None
    phone: str | None = None  # E.164
    address: str | None = None
    segment: str = "BPU"
    enrolled_on: date | None = None
    captured_at: datetime | None = None  # when a field agent's device captured it (offline)

    def personal(self) -> dict[str, Any]:
        return {
            "nik": self.nik.digits,
            "name": self.name,
            "birth_date": self.birth_date.isoformat(),
            "phone": self.phone,
            "address": self.address,
        }


@dataclass(frozen=True, slots=True)
class RecordContribution:
    """Record a payment, for a participant named by id or by NIK (exactly one)."""

    payment_ref: str
    amount: int
    channel: str
    participant_id: UUID | None = None
    nik: Nik | None = None
    agent_id: str | None = None
    paid_on: date | None = None
    captured_at: datetime | None = None  # when a field agent's device captured it (offline)


@dataclass(frozen=True, slots=True)
class DeclareIncome:
    participant_id: UUID
    declared_income: int
    from_month: Period
    declared_on: date | None = None


@dataclass(frozen=True, slots=True)
class ChangeProgrammes:
    participant_id: UUID
    programmes: tuple[str, ...]
    from_month: Period
    changed_on: date | None = None


@dataclass(frozen=True, slots=True)
class CorrectDetails:
    """Correct personal fields (`personal`: name, phone, address, birth_date as ISO text;
    a value of None clears it), the NIK, the village, occupation or sex."""

    participant_id: UUID
    personal: Mapping[str, str | None] = field(default_factory=dict)
    nik: Nik | None = None
    village: str | None = None
    occupation: str | None = None
    sex: str | None = None
    corrected_on: date | None = None


@dataclass(frozen=True, slots=True)
class RecordDeath:
    participant_id: UUID
    died_on: date


@dataclass(frozen=True, slots=True)
class Withdraw:
    participant_id: UUID
    reason: str = "requested"
    withdrawn_on: date | None = None


@dataclass(frozen=True, slots=True)
class FileClaim:
    participant_id: UUID
    programme: str  # JKK, JKM or JHT
    kind: str
    incident_date: date
    work_related: bool = False
    description: str = ""
    filed_on: date | None = None


@dataclass(frozen=True, slots=True)
class ApproveClaim:
    """Approve a filed claim; `amount` only where the rules leave the benefit to an
    officer (JKK care and incapacity)."""

    participant_id: UUID
    claim_id: UUID
    amount: int | None = None
    approved_on: date | None = None


@dataclass(frozen=True, slots=True)
class RejectClaim:
    participant_id: UUID
    claim_id: UUID
    reason: str
    rejected_on: date | None = None


@dataclass(frozen=True, slots=True)
class PayClaim:
    participant_id: UUID
    claim_id: UUID
    paid_on: date | None = None


@dataclass(frozen=True, slots=True)
class ErasePersonalData:
    participant_id: UUID
    erased_on: date | None = None


Command = (
    Enroll
    | RecordContribution
    | DeclareIncome
    | ChangeProgrammes
    | CorrectDetails
    | RecordDeath
    | Withdraw
    | FileClaim
    | ApproveClaim
    | RejectClaim
    | PayClaim
    | ErasePersonalData
)
