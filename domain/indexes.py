"""Uniqueness indexes as tiny aggregates, saved in the same transaction as the fact they
guard: creating one twice collides in the store, so a duplicate is refused atomically.

- `NikIndex`: id derived from a keyed blind index of the NIK (HMAC under a secret
  pepper), so the NIK itself is never stored in clear. Its pointer to the participant is
  personal data, encrypted under a key of its own that erasure destroys.
- `PaymentReference`: id derived from the payment reference; remembers what the payment
  was and what it first settled, so a repeat with the same content is recognised (its
  months as now settled are the participant's: an earlier-dated payment may move them).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain.values import Period

_PAYMENT_REF_NAMESPACE = UUID("6f1c3f0e-2d0b-4b5e-9a57-1d2f7c3e8a41")


def blind_index(pepper: bytes, nik: str) -> UUID:
    """Keyed, one-way id for a NIK: lookup without storing or hashing it unkeyed."""
    digest = hmac.new(pepper, b"nik:" + nik.encode("ascii"), hashlib.sha256).digest()
    return UUID(bytes=digest[:16])


class NikIndex(Aggregate):
    """Which participant a NIK belongs to, while that participant's data exists."""

    class Registered(Aggregate.Created):
        personal_fields = ("pointer",)
        key_field = "key_id"  # encrypted under this key, not the originator's
        key_id: UUID
        pointer: dict[str, Any] | None  # {"participant_id": "..."}

        def apply(self, index: NikIndex) -> None:
            index.key_id = self.key_id
            index.released = False

    class Reregistered(Aggregate.Event):
        personal_fields = ("pointer",)
        key_field = "key_id"
        key_id: UUID
        pointer: dict[str, Any] | None

        def apply(self, index: NikIndex) -> None:
            index.key_id = self.key_id
            index.released = False

    class Released(Aggregate.Event):
        """The participant was erased or the NIK corrected away: the NIK is free again."""

        def apply(self, index: NikIndex) -> None:
            index.released = True

    if TYPE_CHECKING:
        key_id: UUID
        released: bool

    @classmethod
    def register(cls, index_id: UUID, participant_id: UUID) -> NikIndex:
        return cls._create(
            cls.Registered,
            id=index_id,
            key_id=uuid4(),
            pointer={"participant_id": str(participant_id)},
        )

    def reregister(self, participant_id: UUID) -> None:
        self.trigger_event(
            self.Reregistered, key_id=uuid4(), pointer={"participant_id": str(participant_id)}
        )

    def release(self) -> None:
        self.trigger_event(self.Released)


def payment_reference_id(payment_ref: str) -> UUID:
    return uuid5(_PAYMENT_REF_NAMESPACE, payment_ref)


class PaymentReference(Aggregate):
    """A payment reference, used once: the payment it names and the months it settled."""

    class Used(Aggregate.Created):
        payment_ref: str
        participant_id: UUID
        amount: int
        paid_on: date
        channel: str
        first_month: Period
        months: int

        def apply(self, ref: PaymentReference) -> None:
            ref.payment_ref = self.payment_ref
            ref.participant_id = self.participant_id
            ref.amount = self.amount
            ref.paid_on = self.paid_on
            ref.channel = self.channel
            ref.first_month = self.first_month
            ref.months = self.months

    if TYPE_CHECKING:
        payment_ref: str
        participant_id: UUID
        amount: int
        paid_on: date
        channel: str
        first_month: Period
        months: int

    @classmethod
    def use(cls, **facts: Any) -> PaymentReference:
        return cls._create(cls.Used, id=payment_reference_id(facts["payment_ref"]), **facts)

    def same_payment(self, participant_id: UUID, amount: int, paid_on: date, channel: str) -> bool:
        return (self.participant_id, self.amount, self.paid_on, self.channel) == (
            participant_id,
            amount,
            paid_on,
            channel,
        )
