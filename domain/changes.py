"""The commands that change an enrolled participant: income, programmes, corrections,
death, withdrawal, erasure and claims. A part of the `Ledger` (a mixin it inherits), kept
apart so that each module stays of one concern; each method takes a typed command
(`domain.commands`) and saves what it changes in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.commands import (
    ApproveClaim,
    ChangeProgrammes,
    CorrectDetails,
    DeclareIncome,
    ErasePersonalData,
    FileClaim,
    PayClaim,
    RecordDeath,
    RejectClaim,
    Withdraw,
)
from domain.coverage import in_force
from domain.errors import ConflictError, InvalidInputError, RuleViolationError
from domain.participant import Participant
from domain.results import position_of
from domain.values import Nik, Period, Programme

if TYPE_CHECKING:
    from eventsourcing.persistence import ApplicationRecorder, Recording

    from domain.indexes import NikIndex
    from domain.rules import RuleBook
    from domain.transactions import PersonalDataVault


class ParticipantChanges:
    """The Ledger's commands about one enrolled participant (see `domain.ledger.Ledger`)."""

    if TYPE_CHECKING:  # what the Ledger provides
        rules: RuleBook
        vault: PersonalDataVault
        recorder: ApplicationRecorder

        def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]: ...
        def get_participant(self, participant_id: UUID) -> Participant: ...
        def get_personal_data(self, participant_id: UUID) -> dict[str, Any] | None: ...
        def _not_future(self, day: date | None, what: str) -> date: ...
        def _nik_index(self, nik: str) -> tuple[UUID, NikIndex | None]: ...
        def _point_nik(
            self, index_id: UUID, index: NikIndex | None, participant_id: UUID
        ) -> NikIndex: ...
        def _release_nik(self, nik: str) -> NikIndex | None: ...

    # --- changes to a participant -------------------------------------------------------

    def declare_income(self, command: DeclareIncome) -> int | None:
        """A new declared income from a month on. Returns the log position reached."""
        participant = self.get_participant(command.participant_id)
        participant.declare_income(
            declared_income=command.declared_income,
            from_month=command.from_month,
            declared_on=self._not_future(command.declared_on, "declaration date"),
        )
        return position_of(self.save(participant))

    def change_programmes(self, command: ChangeProgrammes) -> int | None:
        """Join or leave JHT from a month on. Returns the log position reached."""
        participant = self.get_participant(command.participant_id)
        participant.change_programmes(
            programmes=command.programmes,
            from_month=command.from_month,
            changed_on=self._not_future(command.changed_on, "change date"),
        )
        return position_of(self.save(participant))

    def correct_details(self, command: CorrectDetails) -> int | None:
        """Correct personal fields and/or village, occupation, sex. A corrected NIK moves
        the NIK index in the same transaction. Returns the log position reached."""
        participant = self.get_participant(command.participant_id)
        current = self.get_personal_data(command.participant_id)
        if current is None:
            raise RuleViolationError(
                "personal_data_erased", "This participant's personal data has been erased."
            )
        personal = dict(command.personal)
        nik = command.nik or Nik.parse(current["nik"])
        nik.check_person(
            sex=command.sex or participant.sex,
            birth_date=date.fromisoformat(personal.get("birth_date") or current["birth_date"]),
        )
        touched: list[Aggregate] = [participant]
        new_keys: list[UUID] = []
        shred: list[UUID] = []
        if nik.digits != current["nik"]:
            personal["nik"] = nik.digits
            index_id, index = self._nik_index(nik.digits)
            if index is not None and not index.released:
                raise ConflictError("already_enrolled", "The corrected NIK is already enrolled.")
            new_index = self._point_nik(index_id, index, participant.id)
            old_index = self._release_nik(current["nik"])
            if old_index is not None:
                touched.append(old_index)
                shred.append(old_index.key_id)
            touched.append(new_index)
            new_keys.append(new_index.key_id)
        participant.correct_details(
            personal=personal,
            corrected_on=self._not_future(command.corrected_on, "correction date"),
            village=command.village,
            occupation=command.occupation,
            sex=command.sex,
        )
        self.vault.ensure_keys(new_keys)
        try:
            recordings = self.save(*touched)
        except IntegrityError:
            raise ConflictError(
                "concurrent_change", "The participant changed meanwhile; retry."
            ) from None
        self.vault.shred(shred)
        return position_of(recordings)

    def record_death(self, command: RecordDeath) -> int | None:
        """Record a participant's death. Returns the log position reached."""
        participant = self.get_participant(command.participant_id)
        participant.record_death(died_on=self._not_future(command.died_on, "date of death"))
        return position_of(self.save(participant))

    def withdraw(self, command: Withdraw) -> int | None:
        """A participant leaves the scheme. Returns the log position reached."""
        participant = self.get_participant(command.participant_id)
        participant.withdraw(
            withdrawn_on=self._not_future(command.withdrawn_on, "withdrawal date"),
            reason=command.reason,
        )
        return position_of(self.save(participant))

    def erase_personal_data(self, command: ErasePersonalData) -> int | None:
        """Honour an erasure request: destroy the participant's keys, keep the record.
        Returns the log position reached (the head of the log when it was erased before).

        Idempotent: repeating it after an interruption finishes the key destruction."""
        participant = self.get_participant(command.participant_id)
        personal = self.get_personal_data(command.participant_id)
        nik = personal.get("nik") if personal is not None else None
        keys: list[UUID] = [participant.id]
        if participant.erased_on is None:
            participant.erase_personal_data(
                erased_on=self._not_future(command.erased_on, "erasure date")
            )
            touched: list[Aggregate] = [participant]
            index = self._release_nik(nik) if nik else None
            if index is not None:
                touched.append(index)
                keys.append(index.key_id)
            position = position_of(self.save(*touched))
        else:
            if nik:  # an erasure interrupted before its keys were destroyed
                _, index = self._nik_index(nik)
                if index is not None:
                    keys.append(index.key_id)
            position = self.recorder.max_notification_id()
        self.vault.shred(keys)
        return position

    # --- claims -------------------------------------------------------------------------

    def file_claim(self, command: FileClaim) -> UUID:
        """File a claim; returns its id."""
        return self._file_claim(command)[0]

    def _file_claim(self, c: FileClaim) -> tuple[UUID, int | None]:
        """The new claim's id, and the log position reached."""
        participant = self.get_participant(c.participant_id)
        personal = self.get_personal_data(c.participant_id) or {}
        claim_id = uuid4()
        participant.file_claim(
            claim_id=claim_id,
            programme=c.programme,
            kind=c.kind,
            incident_date=self._not_future(c.incident_date, "incident date"),
            filed_on=self._not_future(c.filed_on, "filing date"),
            work_related=c.work_related,
            details={"description": c.description},
            birth_date=date.fromisoformat(personal["birth_date"])
            if personal.get("birth_date")
            else None,
            rules=self.rules,
        )
        return claim_id, position_of(self.save(participant))

    def approve_claim(self, command: ApproveClaim) -> int:
        """Approve a filed claim; the benefit follows from the rules on the incident date
        (an officer gives the amount only for JKK care and incapacity benefits)."""
        return self._approve_claim(command)[0]

    def _approve_claim(self, c: ApproveClaim) -> tuple[int, int | None]:
        """The benefit approved, and the log position reached."""
        participant = self.get_participant(c.participant_id)
        claim = participant.claim(c.claim_id)
        benefit = self._benefit(participant, claim)
        if benefit is None:
            if c.amount is None:
                raise InvalidInputError(
                    "amount_required", "This JKK benefit is assessed: give the approved amount."
                )
            benefit = c.amount
        elif c.amount is not None and c.amount != benefit:
            raise InvalidInputError(
                "benefit_fixed_by_rules",
                f"This benefit is fixed by the rules at Rp {benefit:,}, not Rp {c.amount:,}.",
            )
        participant.approve_claim(
            claim_id=c.claim_id,
            amount=benefit,
            approved_on=self._not_future(c.approved_on, "approval date"),
        )
        return benefit, position_of(self.save(participant))

    def _benefit(self, participant: Participant, claim: Mapping[str, Any]) -> int | None:
        incident: date = claim["incident_date"]
        ruleset = self.rules.at(incident)
        if claim["programme"] == Programme.JKM:
            early = Period.containing(participant.enrolled_on) + ruleset.jkm_early_death_months
            if incident < _same_day_in(early, participant.enrolled_on):
                return ruleset.jkm_early_death_benefit
            return ruleset.jkm_benefit
        if claim["programme"] == Programme.JHT:
            return participant.jht_balance
        if claim["kind"] == "death":
            income = in_force(participant.incomes, Period.containing(incident), incident)
            return ruleset.jkk_death_income_multiple * income
        return None

    def reject_claim(self, command: RejectClaim) -> int | None:
        """Reject a filed claim, with its reason. Returns the log position reached."""
        participant = self.get_participant(command.participant_id)
        participant.reject_claim(
            claim_id=command.claim_id,
            reason=command.reason,
            rejected_on=self._not_future(command.rejected_on, "rejection date"),
        )
        return position_of(self.save(participant))

    def pay_claim(self, command: PayClaim) -> int | None:
        """Pay an approved claim. Returns the log position reached."""
        participant = self.get_participant(command.participant_id)
        participant.pay_claim(
            claim_id=command.claim_id, paid_on=self._not_future(command.paid_on, "payment date")
        )
        return position_of(self.save(participant))


def _same_day_in(month: Period, day: date) -> date:
    """`day`'s day-of-month in `month` (clamped to the month's end)."""
    for d in (day.day, 30, 29, 28):
        try:
            return date(month.year, month.month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")
