"""The participant's events: what can happen to a worker in the scheme, and how each
fact changes the participant's state (each event's `apply`).

The `Participant` aggregate (`domain.participant`) decides which of them to record. It
names each one as a class attribute (`Enrolled = participant_events.Enrolled`, ...), and
the event-sourcing library redefines it there as a subclass whose module and qualified
name are the aggregate's. So every event's topic (stored with it in the log, hashed into
the audit leaves, mapped to its CloudEvents type) stays
`domain.participant:Participant.<name>`, as when these classes were nested in the
aggregate. Record, match and name events as `Participant.<name>`: the classes here are
their bases, and their own topics are never stored.

Personal data sits only in the attributes each event lists in `personal_fields` (the
store encrypts those per participant; after erasure they read back as None); `apply`
copies none of it into the state, so snapshots hold no personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.coverage import MemberRecord, PaidSpan
from domain.values import PROGRAMME_ORDER, Period, Programme


class ParticipantState(MemberRecord, Protocol):
    """The state the events build: the `Participant` aggregate's attributes (the
    scheme's rules read them as a `MemberRecord`)."""

    sex: str
    occupation: str
    last_paid_on: date | None


class Enrolled(Aggregate.Created):
    personal_fields = ("personal",)
    personal: dict[str, Any] | None  # nik, name, birth_date, phone, address
    enrolled_on: date
    village: str
    sex: str
    occupation: str
    segment: str
    programmes: tuple[str, ...]
    declared_income: int
    channel: str
    agent_id: str | None
    # Version 2 adds when a field agent's device captured the fact (offline batches);
    # facts recorded before, and those not captured offline, have None.
    class_version = 2
    captured_at: datetime | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["captured_at"] = None

    def apply(self, p: ParticipantState) -> None:
        p.enrolled_on = self.enrolled_on
        p.village = self.village
        p.sex = self.sex
        p.occupation = self.occupation
        p.segment = self.segment
        first = Period.containing(self.enrolled_on)
        p.programmes = [(first, tuple(self.programmes), self.enrolled_on)]
        p.incomes = [(first, self.declared_income, self.enrolled_on)]
        p.payments = []
        p.paid_through = None
        p.last_paid_on = None
        p.claims = {}
        p.died_on = None
        p.withdrawn_on = None
        p.erased_on = None


class ContributionPaid(Aggregate.Event):
    payment_ref: str
    paid_on: date
    amount: int
    first_month: Period
    months: int
    by_programme: dict[str, int]
    channel: str
    agent_id: str | None
    # Version 2 adds when a field agent's device captured the fact (offline batches);
    # facts recorded before, and those not captured offline, have None.
    class_version = 2
    captured_at: datetime | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["captured_at"] = None

    @property
    def last_month(self) -> Period:
        return self.first_month + (self.months - 1)

    def apply(self, p: ParticipantState) -> None:
        span = _span(
            self.payment_ref,
            self.paid_on,
            self.amount,
            self.first_month,
            self.months,
            self.by_programme,
        )
        p.payments.append(span)
        if p.paid_through is None or p.paid_through < span.last:
            p.paid_through = span.last
        if p.last_paid_on is None or p.last_paid_on < self.paid_on:
            p.last_paid_on = self.paid_on


class ContributionsResettled(Aggregate.Event):
    """Recorded payments settle other months, because a payment dated before them
    arrived (`cause_ref`, paid on `cause_paid_on`; its `ContributionPaid` follows in
    the same transaction). Each move gives the payment's months before and after, so
    the recording clock shows the old settlement up to here and the new one after."""

    cause_ref: str
    cause_paid_on: date
    moves: list[dict[str, Any]]  # see `domain.settlement.Move.as_fact`
    paid_through: Period | None  # the last month paid once moved (before the cause)

    def apply(self, p: ParticipantState) -> None:
        # Paid spans never overlap, so a span's first month names it (spans from old
        # snapshots carry no reference).
        moved = {m["was_first_month"]: m for m in self.moves}
        p.payments = [
            _span(
                m["payment_ref"],
                s.paid_on,
                s.amount,
                m["first_month"],
                m["months"],
                m["by_programme"],
            )
            if (m := moved.get(s.first))
            else s
            for s in p.payments
        ]
        p.paid_through = max((s.last for s in p.payments), default=None)


class IncomeDeclared(Aggregate.Event):
    declared_income: int
    from_month: Period
    declared_on: date

    def apply(self, p: ParticipantState) -> None:
        p.incomes.append((self.from_month, self.declared_income, self.declared_on))
        p.incomes.sort(key=lambda entry: entry[0])


class ProgrammesChanged(Aggregate.Event):
    programmes: tuple[str, ...]
    from_month: Period
    changed_on: date

    def apply(self, p: ParticipantState) -> None:
        p.programmes.append((self.from_month, tuple(self.programmes), self.changed_on))
        p.programmes.sort(key=lambda entry: entry[0])


class DetailsCorrected(Aggregate.Event):
    personal_fields = ("personal",)
    personal: dict[str, Any] | None  # only the corrected personal fields
    corrected_on: date
    village: str | None
    occupation: str | None
    sex: str | None

    def apply(self, p: ParticipantState) -> None:
        if self.village is not None:
            p.village = self.village
        if self.occupation is not None:
            p.occupation = self.occupation
        if self.sex is not None:
            p.sex = self.sex


class Died(Aggregate.Event):
    died_on: date

    def apply(self, p: ParticipantState) -> None:
        p.died_on = self.died_on


class Withdrew(Aggregate.Event):
    withdrawn_on: date
    reason: str

    def apply(self, p: ParticipantState) -> None:
        p.withdrawn_on = self.withdrawn_on


class PersonalDataErased(Aggregate.Event):
    erased_on: date

    def apply(self, p: ParticipantState) -> None:
        p.erased_on = self.erased_on


class ClaimFiled(Aggregate.Event):
    personal_fields = ("details",)
    claim_id: UUID
    programme: str
    kind: str
    incident_date: date
    filed_on: date
    work_related: bool
    details: dict[str, Any] | None  # free-text description: sensitive (health)

    def apply(self, p: ParticipantState) -> None:
        p.claims[str(self.claim_id)] = {
            "programme": self.programme,
            "kind": self.kind,
            "incident_date": self.incident_date,
            "filed_on": self.filed_on,
            "status": "filed",
            "amount": 0,
            "paid_on": None,
            "closed_on": None,  # rejected or paid on
        }


class ClaimApproved(Aggregate.Event):
    claim_id: UUID
    programme: str
    approved_on: date
    amount: int

    def apply(self, p: ParticipantState) -> None:
        claim = p.claims[str(self.claim_id)]
        claim["status"] = "approved"
        claim["amount"] = self.amount
        claim["approved_on"] = self.approved_on


class ClaimRejected(Aggregate.Event):
    claim_id: UUID
    programme: str
    rejected_on: date
    reason: str

    def apply(self, p: ParticipantState) -> None:
        claim = p.claims[str(self.claim_id)]
        claim["status"] = "rejected"
        claim["closed_on"] = self.rejected_on


class ClaimPaid(Aggregate.Event):
    claim_id: UUID
    programme: str
    paid_on: date
    amount: int

    def apply(self, p: ParticipantState) -> None:
        claim = p.claims[str(self.claim_id)]
        claim["status"] = "paid"
        claim["paid_on"] = self.paid_on
        claim["closed_on"] = self.paid_on


def _span(
    payment_ref: str,
    paid_on: date,
    amount: int,
    first: Period,
    months: int,
    by_programme: dict[str, int],
) -> PaidSpan:
    return PaidSpan(
        paid_on=paid_on,
        first=first,
        months=months,
        programmes=tuple(sorted(by_programme, key=PROGRAMME_ORDER.index)),
        amount=amount,
        jht_amount=by_programme.get(Programme.JHT, 0),
        payment_ref=payment_ref,
    )
