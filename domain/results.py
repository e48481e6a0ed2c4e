"""What the ledger's batchable commands answer: the result, and the log position reached."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Recording

from domain.errors import ConflictError
from domain.indexes import PaymentReference
from domain.values import Period


@dataclass(frozen=True)
class PaymentResult:
    participant_id: UUID
    payment_ref: str
    first_month: Period
    months: int
    amount: int
    replayed: bool = False  # True when the reference was already recorded with this content
    # The log position the command's transaction reached (its last recording's notification
    # id; for a repeat that wrote nothing, the head of the log when it was answered). Not
    # part of the result's equality: the same payment is the same answer wherever it landed.
    position: int | None = field(default=None, compare=False)

    @property
    def last_month(self) -> Period:
        return self.first_month + (self.months - 1)


@dataclass(frozen=True)
class EnrollmentResult:
    participant_id: UUID
    replayed: bool = False  # True when this NIK was already enrolled with these same facts
    position: int | None = field(default=None, compare=False)  # as in `PaymentResult`


@dataclass(frozen=True)
class Executed:
    """What `Ledger.execute` answers for any command: the command's own answer (the
    enrollment's or payment's result, a new claim's id, an approved benefit, or None)
    and the log position its transaction reached."""

    value: Any
    position: int | None


def position_of(recordings: Sequence[Recording[UUID]]) -> int | None:
    """The notification id of the last recording (None if the store numbers none)."""
    return recordings[-1].notification.id if recordings else None


def at_position(outcome: Any, position: int | None) -> Any:
    """A command's result with the log position its transaction reached."""
    if isinstance(outcome, (EnrollmentResult, PaymentResult)):
        return replace(outcome, position=position)
    return outcome


def repeated_enrollment(
    existing_id: UUID,
    existing: Any,
    known: Mapping[str, Any],
    candidate: Any,
    personal: Mapping[str, Any],
) -> EnrollmentResult:
    """The answer to a NIK enrolled before (`existing`, with its personal data `known`),
    for a re-imported sheet, a repeated row of one, a resent request: the same enrollment
    (`candidate`, `personal`) answers with the original id; anything else is a conflict."""
    same = {k: known.get(k) for k in ("nik", "name", "birth_date")} == {
        k: personal[k] for k in ("nik", "name", "birth_date")
    } and (existing.enrolled_on, existing.village) == (candidate.enrolled_on, candidate.village)
    if not same:
        raise already_enrolled()
    return EnrollmentResult(existing_id, replayed=True)


def already_enrolled() -> ConflictError:
    return ConflictError("already_enrolled", "This NIK is already enrolled.")


def repeated_payment(
    earlier: PaymentReference,
    participant_id: UUID,
    amount: int,
    paid_on: date,
    channel: str,
    settled: tuple[Period, int] | None = None,
) -> PaymentResult:
    """The answer to a payment reference seen before: for the same payment, its months as
    now `settled` (first month, months; a later-arriving, earlier-dated payment may have
    moved them since), else as first settled; a conflict for a different payment."""
    if earlier.same_payment(participant_id, amount, paid_on, channel):
        first, months = settled or (earlier.first_month, earlier.months)
        return PaymentResult(
            participant_id, earlier.payment_ref, first, months, amount, replayed=True
        )
    raise ConflictError(
        "payment_ref_conflict",
        f"Payment reference {earlier.payment_ref} was already recorded for a different payment "
        f"(Rp {earlier.amount:,} on {earlier.paid_on.isoformat()}).",
    )
