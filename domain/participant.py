"""The Participant aggregate: one per person, with a random id, and its events.

Claims live on the participant too: eligibility, the one-JKM-claim rule and the legal hold
on erasure all need the participant's own history, so one consistency boundary serves.

Personal data (NIK, name, birth date, phone, address, claim details) sits only in the
attributes each event lists in `personal_fields`; the store encrypts those per
participant, and after erasure they read back as None. The aggregate keeps none of it in
its state, so snapshots hold no personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.claims import OPEN_CLAIM, check_claim, check_claim_kind
from domain.coverage import PaidSpan, Settlement
from domain.errors import ConflictError, InvalidInputError, NotFoundError, RuleViolationError
from domain.rules import RuleBook
from domain.settlement import plan_payment
from domain.values import PROGRAMME_ORDER, Period, Programme


class Participant(Aggregate):
    """A worker enrolled in the scheme."""

    # --- events -------------------------------------------------------------------------

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

        def apply(self, p: Participant) -> None:
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

        def apply(self, p: Participant) -> None:
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

        def apply(self, p: Participant) -> None:
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

        def apply(self, p: Participant) -> None:
            p.incomes.append((self.from_month, self.declared_income, self.declared_on))
            p.incomes.sort(key=lambda entry: entry[0])

    class ProgrammesChanged(Aggregate.Event):
        programmes: tuple[str, ...]
        from_month: Period
        changed_on: date

        def apply(self, p: Participant) -> None:
            p.programmes.append((self.from_month, tuple(self.programmes), self.changed_on))
            p.programmes.sort(key=lambda entry: entry[0])

    class DetailsCorrected(Aggregate.Event):
        personal_fields = ("personal",)
        personal: dict[str, Any] | None  # only the corrected personal fields
        corrected_on: date
        village: str | None
        occupation: str | None
        sex: str | None

        def apply(self, p: Participant) -> None:
            if self.village is not None:
                p.village = self.village
            if self.occupation is not None:
                p.occupation = self.occupation
            if self.sex is not None:
                p.sex = self.sex

    class Died(Aggregate.Event):
        died_on: date

        def apply(self, p: Participant) -> None:
            p.died_on = self.died_on

    class Withdrew(Aggregate.Event):
        withdrawn_on: date
        reason: str

        def apply(self, p: Participant) -> None:
            p.withdrawn_on = self.withdrawn_on

    class PersonalDataErased(Aggregate.Event):
        erased_on: date

        def apply(self, p: Participant) -> None:
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

        def apply(self, p: Participant) -> None:
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

        def apply(self, p: Participant) -> None:
            claim = p.claims[str(self.claim_id)]
            claim["status"] = "approved"
            claim["amount"] = self.amount
            claim["approved_on"] = self.approved_on

    class ClaimRejected(Aggregate.Event):
        claim_id: UUID
        programme: str
        rejected_on: date
        reason: str

        def apply(self, p: Participant) -> None:
            claim = p.claims[str(self.claim_id)]
            claim["status"] = "rejected"
            claim["closed_on"] = self.rejected_on

    class ClaimPaid(Aggregate.Event):
        claim_id: UUID
        programme: str
        paid_on: date
        amount: int

        def apply(self, p: Participant) -> None:
            claim = p.claims[str(self.claim_id)]
            claim["status"] = "paid"
            claim["paid_on"] = self.paid_on
            claim["closed_on"] = self.paid_on

    # --- state (set by the events above; annotations only for type checkers, since
    # annotated class attributes would become constructor arguments) --------------

    if TYPE_CHECKING:
        enrolled_on: date
        village: str
        sex: str
        occupation: str
        segment: str
        programmes: list[tuple[Period, tuple[str, ...], date]]
        incomes: list[tuple[Period, int, date]]
        payments: list[PaidSpan]
        paid_through: Period | None
        last_paid_on: date | None
        claims: dict[str, dict[str, Any]]
        died_on: date | None
        withdrawn_on: date | None
        erased_on: date | None

    # --- commands -----------------------------------------------------------------------

    @classmethod
    def enroll(cls, **facts: Any) -> Participant:
        return cls._create(cls.Enrolled, **facts)

    def _require_member(self, action: str) -> None:
        if self.died_on is not None:
            raise RuleViolationError(
                "participant_deceased",
                f"Cannot {action}: the participant died on {self.died_on.isoformat()}.",
            )
        if self.withdrawn_on is not None:
            raise RuleViolationError(
                "participant_withdrawn",
                f"Cannot {action}: the participant withdrew on {self.withdrawn_on.isoformat()}.",
            )

    def _require_on_or_after_enrollment(self, day: date, what: str) -> None:
        if day < self.enrolled_on:
            raise InvalidInputError(
                "date_before_enrollment",
                f"The {what} {day.isoformat()} is before enrollment on "
                f"{self.enrolled_on.isoformat()}.",
            )

    def pay(
        self,
        *,
        rules: RuleBook,
        payment_ref: str,
        paid_on: date,
        amount: int,
        channel: str,
        agent_id: str | None,
        captured_at: datetime | None = None,
    ) -> Settlement:
        """Record a payment, settled in `paid_on` order among the recorded ones (see
        `domain.settlement`); returns the months it settles. `captured_at`: when a field
        agent captured it offline, if so."""
        self._require_member("record a contribution")
        self._require_on_or_after_enrollment(paid_on, "payment date")
        plan = plan_payment(self, paid_on, amount, rules)
        # One timestamp for both events: on the recording clock they happen together.
        timestamp = self.ContributionPaid.create_timestamp()
        if plan.moves:
            self.trigger_event(
                self.ContributionsResettled,
                timestamp=timestamp,
                cause_ref=payment_ref,
                cause_paid_on=paid_on,
                moves=[move.as_fact() for move in plan.moves],
                paid_through=plan.paid_through_after_moves(self.payments),
            )
        self.trigger_event(
            self.ContributionPaid,
            timestamp=timestamp,
            payment_ref=payment_ref,
            paid_on=paid_on,
            amount=amount,
            first_month=plan.settlement.first,
            months=plan.settlement.months,
            by_programme=plan.settlement.by_programme,
            channel=channel,
            agent_id=agent_id,
            captured_at=captured_at,
        )
        return plan.settlement

    def has_payment(self, payment_ref: str) -> bool:
        """Whether this participant recorded a payment under `payment_ref` (spans from
        snapshots older than the references' keeping have none: the store decides then)."""
        return self.settled(payment_ref) is not None

    def settled(self, payment_ref: str) -> tuple[Period, int] | None:
        """(first month, months) the payment `payment_ref` settles now, if known here."""
        for span in self.payments:
            if span.payment_ref == payment_ref:
                return span.first, span.months
        return None

    def declare_income(
        self, *, declared_income: int, from_month: Period, declared_on: date
    ) -> None:
        self._require_member("declare income")
        self._require_not_before_enrollment_month(from_month)
        self._require_unpaid(from_month, "an income declaration")
        self.trigger_event(
            self.IncomeDeclared,
            declared_income=declared_income,
            from_month=from_month,
            declared_on=declared_on,
        )

    def change_programmes(
        self, *, programmes: tuple[str, ...], from_month: Period, changed_on: date
    ) -> None:
        self._require_member("change programmes")
        self._require_not_before_enrollment_month(from_month)
        self._require_unpaid(from_month, "a programme change")
        self.trigger_event(
            self.ProgrammesChanged,
            programmes=programmes,
            from_month=from_month,
            changed_on=changed_on,
        )

    def _require_unpaid(self, from_month: Period, what: str) -> None:
        """Paid months keep the terms they were paid at: changes start after them."""
        if self.paid_through is not None and from_month <= self.paid_through:
            raise RuleViolationError(
                "months_already_paid",
                f"Months up to {self.paid_through} are already paid; {what} can start from "
                f"{self.paid_through + 1}.",
            )

    def _require_not_before_enrollment_month(self, month: Period) -> None:
        if month < Period.containing(self.enrolled_on):
            raise InvalidInputError(
                "month_before_enrollment",
                f"{month} is before the month of enrollment "
                f"({Period.containing(self.enrolled_on)}).",
            )

    def correct_details(
        self,
        *,
        personal: dict[str, Any],
        corrected_on: date,
        village: str | None,
        occupation: str | None,
        sex: str | None,
    ) -> None:
        if self.erased_on is not None:
            raise RuleViolationError(
                "personal_data_erased", "This participant's personal data has been erased."
            )
        if not personal and village is None and occupation is None and sex is None:
            raise InvalidInputError("nothing_to_correct", "No corrected field was given.")
        self.trigger_event(
            self.DetailsCorrected,
            personal=personal,
            corrected_on=corrected_on,
            village=village,
            occupation=occupation,
            sex=sex,
        )

    def record_death(self, *, died_on: date) -> None:
        if self.died_on is not None:
            raise ConflictError(
                "already_deceased", f"A death on {self.died_on.isoformat()} is already recorded."
            )
        self._require_on_or_after_enrollment(died_on, "date of death")
        self.trigger_event(self.Died, died_on=died_on)

    def withdraw(self, *, withdrawn_on: date, reason: str) -> None:
        self._require_member("withdraw")
        self._require_on_or_after_enrollment(withdrawn_on, "withdrawal date")
        self.trigger_event(self.Withdrew, withdrawn_on=withdrawn_on, reason=reason)

    def erase_personal_data(self, *, erased_on: date) -> None:
        open_claims = [c for c in self.claims.values() if c["status"] in OPEN_CLAIM]
        if open_claims:
            raise RuleViolationError(
                "legal_hold_open_claim",
                "Personal data cannot be erased while a claim is open (legal hold).",
            )
        if self.jht_balance > 0:
            raise RuleViolationError(
                "legal_hold_jht_balance",
                f"Personal data cannot be erased while a JHT balance of Rp {self.jht_balance:,} "
                "is unpaid (legal hold).",
            )
        self.trigger_event(self.PersonalDataErased, erased_on=erased_on)

    @property
    def jht_balance(self) -> int:
        paid_in = sum(span.jht_amount for span in self.payments)
        paid_out = sum(
            c["amount"]
            for c in self.claims.values()
            if c["programme"] == Programme.JHT and c["status"] == "paid"
        )
        return paid_in - paid_out

    def file_claim(
        self,
        *,
        claim_id: UUID,
        programme: str,
        kind: str,
        incident_date: date,
        filed_on: date,
        work_related: bool,
        details: dict[str, Any],
        birth_date: date | None,
        rules: RuleBook,
    ) -> None:
        """Refuses a claim the rules do not allow (`domain.claims`; DOMAIN.md, Claims)."""
        check_claim_kind(programme, kind)
        self._require_on_or_after_enrollment(incident_date, "incident date")
        check_claim(
            self,
            programme=programme,
            kind=kind,
            incident_date=incident_date,
            filed_on=filed_on,
            work_related=work_related,
            birth_date=birth_date,
            rules=rules,
        )
        self.trigger_event(
            self.ClaimFiled,
            claim_id=claim_id,
            programme=programme,
            kind=kind,
            incident_date=incident_date,
            filed_on=filed_on,
            work_related=work_related,
            details=details,
        )

    def claim(self, claim_id: UUID) -> dict[str, Any]:
        try:
            return self.claims[str(claim_id)]
        except KeyError:
            raise NotFoundError(
                "claim_not_found", f"No claim {claim_id} for this participant."
            ) from None

    def approve_claim(self, *, claim_id: UUID, approved_on: date, amount: int) -> None:
        claim = self.claim(claim_id)
        if claim["status"] != "filed":
            raise ConflictError("claim_not_filed", f"The claim is {claim['status']}, not filed.")
        if approved_on < claim["filed_on"]:
            raise InvalidInputError("date_before_filing", "A claim is approved after it is filed.")
        self.trigger_event(
            self.ClaimApproved,
            claim_id=claim_id,
            programme=claim["programme"],
            approved_on=approved_on,
            amount=amount,
        )

    def reject_claim(self, *, claim_id: UUID, rejected_on: date, reason: str) -> None:
        claim = self.claim(claim_id)
        if claim["status"] != "filed":
            raise ConflictError("claim_not_filed", f"The claim is {claim['status']}, not filed.")
        if rejected_on < claim["filed_on"]:
            raise InvalidInputError("date_before_filing", "A claim is rejected after it is filed.")
        self.trigger_event(
            self.ClaimRejected,
            claim_id=claim_id,
            programme=claim["programme"],
            rejected_on=rejected_on,
            reason=reason,
        )

    def pay_claim(self, *, claim_id: UUID, paid_on: date) -> None:
        claim = self.claim(claim_id)
        if claim["status"] != "approved":
            raise ConflictError(
                "claim_not_approved", f"The claim is {claim['status']}, not approved."
            )
        if paid_on < claim["approved_on"]:
            raise InvalidInputError("date_before_approval", "A claim is paid after it is approved.")
        self.trigger_event(
            self.ClaimPaid,
            claim_id=claim_id,
            programme=claim["programme"],
            paid_on=paid_on,
            amount=claim["amount"],
        )


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
