"""The Participant aggregate: one per person, with a random id; its commands check the
scheme's rules and record the events (`domain.participant_events`, named here as
`Participant.Enrolled`, ...: the names their stored topics carry).

Claims live on the participant too: eligibility, the one-JKM-claim rule and the legal hold
on erasure all need the participant's own history, so one consistency boundary serves.

Personal data (NIK, name, birth date, phone, address, claim details) sits only in the
attributes each event lists in `personal_fields`; the store encrypts those per
participant, and after erasure they read back as None. The aggregate keeps none of it in
its state, so snapshots hold no personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import participant_events as events
from domain.claims import OPEN_CLAIM, check_claim, check_claim_kind
from domain.coverage import PaidSpan, Settlement
from domain.errors import ConflictError, InvalidInputError, NotFoundError, RuleViolationError
from domain.rules import RuleBook
from domain.settlement import plan_payment
from domain.values import Period, Programme


class Participant(Aggregate):
    """A worker enrolled in the scheme."""

    # --- events (`domain.participant_events`), each named here: the library redefines it
    # as `Participant.<name>` of this module, the topic stored with every such event, which
    # must never change (the log, the audit leaves and the Kafka types depend on it). To
    # type checkers each name is an alias, so `Participant.Enrolled` is a type; at run time
    # a plain class attribute (an annotated one would become a constructor argument). ---

    if TYPE_CHECKING:
        Enrolled: TypeAlias = events.Enrolled
        ContributionPaid: TypeAlias = events.ContributionPaid
        ContributionsResettled: TypeAlias = events.ContributionsResettled
        IncomeDeclared: TypeAlias = events.IncomeDeclared
        ProgrammesChanged: TypeAlias = events.ProgrammesChanged
        DetailsCorrected: TypeAlias = events.DetailsCorrected
        Died: TypeAlias = events.Died
        Withdrew: TypeAlias = events.Withdrew
        PersonalDataErased: TypeAlias = events.PersonalDataErased
        ClaimFiled: TypeAlias = events.ClaimFiled
        ClaimApproved: TypeAlias = events.ClaimApproved
        ClaimRejected: TypeAlias = events.ClaimRejected
        ClaimPaid: TypeAlias = events.ClaimPaid
    else:
        Enrolled = events.Enrolled
        ContributionPaid = events.ContributionPaid
        ContributionsResettled = events.ContributionsResettled
        IncomeDeclared = events.IncomeDeclared
        ProgrammesChanged = events.ProgrammesChanged
        DetailsCorrected = events.DetailsCorrected
        Died = events.Died
        Withdrew = events.Withdrew
        PersonalDataErased = events.PersonalDataErased
        ClaimFiled = events.ClaimFiled
        ClaimApproved = events.ClaimApproved
        ClaimRejected = events.ClaimRejected
        ClaimPaid = events.ClaimPaid

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


# Every event a participant can have, as the aggregate names them (their topics are the
# log's): the one list the read models that take them all and the Kafka envelope share.
PARTICIPANT_EVENTS: tuple[type, ...] = (
    Participant.Enrolled,
    Participant.ContributionPaid,
    Participant.ContributionsResettled,
    Participant.IncomeDeclared,
    Participant.ProgrammesChanged,
    Participant.DetailsCorrected,
    Participant.Died,
    Participant.Withdrew,
    Participant.PersonalDataErased,
    Participant.ClaimFiled,
    Participant.ClaimApproved,
    Participant.ClaimRejected,
    Participant.ClaimPaid,
)
