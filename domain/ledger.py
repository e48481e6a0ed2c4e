"""The Ledger application: the scheme's commands and queries over one event log.

This module holds the application and its enrollment and payment commands (single, bulk
and grouped); the commands on an enrolled participant are in `domain.changes`, the
queries in `domain.reads`, the batches and the save in `domain.transactions`: mixins
and a base the `Ledger` inherits.

Commands are typed values (`domain.commands`; the edge parses strings into them). Every
command validates everything first and saves all it changes in one transaction, or
raises a `LedgerError` with nothing written. Bulk variants (`enroll_many`,
`record_contributions`) take many commands, report each one's outcome, and save the
accepted ones in one transaction per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import EventStore, Mapper

from domain.changes import ParticipantChanges
from domain.commands import (
    ApproveClaim,
    ChangeProgrammes,
    Command,
    CorrectDetails,
    DeclareIncome,
    Enroll,
    ErasePersonalData,
    FileClaim,
    PayClaim,
    RecordContribution,
    RecordDeath,
    RejectClaim,
    Withdraw,
)
from domain.errors import (
    InvalidInputError,
    LedgerError,
    NotFoundError,
)
from domain.indexes import NikIndex, PaymentReference, blind_index, payment_reference_id
from domain.participant import Participant
from domain.reads import ParticipantReads, personal_data_of
from domain.results import (
    EnrollmentResult,
    Executed,
    PaymentResult,
    already_enrolled,
    repeated_enrollment,
    repeated_payment,
)
from domain.rules import RuleBook, default_rule_book
from domain.transactions import (
    Batch,
    BatchingApplication,
    BeforeCommit,
    NoVault,
    PersonalDataVault,
    fold,
)

# The latest calendar date anywhere in Indonesia (WIT, UTC+9): a date is "in the future"
# only when it has not begun in any of the country's time zones.
_WIT = timezone(timedelta(hours=9))

A = TypeVar("A", bound=Aggregate)
C = TypeVar("C")
R = TypeVar("R")


def today_in_indonesia() -> date:
    return datetime.now(_WIT).date()


class Ledger(ParticipantChanges, ParticipantReads, BatchingApplication):
    """Enrollments, contributions, claims and erasure for the scheme's participants."""

    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        Participant: 50
    }

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        pepper: bytes = b"development pepper: set one in production",
        mapper: Mapper[UUID] | None = None,
        personal_mapper: Mapper[UUID] | None = None,
        vault: PersonalDataVault | None = None,
        rules: RuleBook | None = None,
        today: Callable[[], date] = today_in_indonesia,
    ) -> None:
        if len(pepper) < 16:
            raise ValueError("the NIK pepper must be at least 16 bytes")
        self._pepper = pepper
        self._given_mapper = mapper
        self.vault: PersonalDataVault = vault or NoVault()
        self.rules = rules or default_rule_book()
        self.today = today
        super().__init__(env)
        # Aggregates need no personal data, so the repository's mapper may skip decryption;
        # the few reads that show personal data use `personal_events`.
        self.personal_events: EventStore[UUID] = (
            EventStore(mapper=personal_mapper, recorder=self.recorder)
            if personal_mapper is not None
            else self.events
        )

    def construct_mapper(self) -> Mapper[UUID]:
        return self._given_mapper or super().construct_mapper()

    # --- enrollment ---------------------------------------------------------------------

    def enroll(self, command: Enroll) -> UUID:
        """Enroll one worker. Returns the participant id (the existing one when the same
        enrollment is repeated)."""
        outcome = self._run_one(command, self._prepare_enrollment, optimistic=True)
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome.participant_id

    def enroll_many(
        self, commands: Sequence[Enroll], *, before_commit: BeforeCommit | None = None
    ) -> list[EnrollmentResult | LedgerError]:
        """Enroll many workers in one transaction; each one's result or the reason it was
        refused (`before_commit`: see `domain.transactions.BeforeCommit`)."""
        return self._run_batch(commands, self._prepare_enrollment, before_commit)

    def _prepare_enrollment(self, command: Enroll, batch: Batch) -> EnrollmentResult:
        enrolled_on = self._not_future(command.enrolled_on, "enrollment date")
        self.rules.at(enrolled_on)
        if command.birth_date >= enrolled_on:
            raise InvalidInputError(
                "invalid_birth_date", "The birth date is not before enrollment."
            )
        index_id, index = self._nik_index(command.nik.digits, batch)
        participant = Participant.enroll(
            personal=command.personal(),
            enrolled_on=enrolled_on,
            village=command.village,
            sex=command.sex,
            occupation=command.occupation,
            segment=command.segment,
            programmes=command.programmes,
            declared_income=command.declared_income,
            channel=command.channel,
            agent_id=command.agent_id,
            captured_at=command.captured_at,
        )
        earlier = batch.enrolled.get(index_id)
        if earlier is not None:
            # Enrolled by an earlier row of this batch: answered as if that row had been
            # committed first, so where a file's batches begin never changes an answer.
            earlier_id, known = earlier
            earlier_participant = batch.aggregates[earlier_id]
            assert isinstance(earlier_participant, Participant)
            return repeated_enrollment(
                earlier_id, earlier_participant, known, participant, command.personal()
            )
        if index is not None and not index.released:
            batch.repeats += 1
            return self._repeated_enrollment(participant, command.personal(), index_id, batch)
        index = self._point_nik(index_id, index, participant.id)
        batch.aggregates[index.id] = index
        batch.aggregates[participant.id] = participant
        batch.new_keys += [participant.id, index.key_id]
        batch.enrolled[index_id] = (participant.id, command.personal())
        return EnrollmentResult(participant.id)

    def _repeated_enrollment(
        self, candidate: Participant, personal: dict[str, Any], index_id: UUID, batch: Batch
    ) -> EnrollmentResult:
        """The same enrollment again (a re-imported sheet) answers with the original id;
        anything else under an enrolled NIK is a conflict."""
        index_events = self._events(index_id, batch)  # decrypted: the pointer
        pointer = getattr(index_events[-1], "pointer", None) if index_events else None
        existing_id = UUID(pointer["participant_id"]) if pointer else None
        if existing_id is None:
            raise already_enrolled()
        # One read of the participant's events gives the aggregate and its personal data.
        events = self._events(existing_id, batch)
        known = personal_data_of(events) or {}
        return repeated_enrollment(existing_id, fold(None, events), known, candidate, personal)

    # --- contributions ------------------------------------------------------------------

    def record_contribution(self, command: RecordContribution) -> PaymentResult:
        """Record one payment. A repeat of a recorded reference with the same content
        returns the original result; with different content it is a conflict."""
        outcome = self._run_one(command, self._prepare_payment, optimistic=True)
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    def record_contributions(
        self,
        commands: Sequence[RecordContribution],
        *,
        before_commit: BeforeCommit | None = None,
    ) -> list[PaymentResult | LedgerError]:
        """Record many payments in one transaction; each one's result or refusal
        (`before_commit`: see `domain.transactions.BeforeCommit`)."""
        return self._run_batch(commands, self._prepare_payment, before_commit)

    def _prepare_payment(self, command: RecordContribution, batch: Batch) -> PaymentResult:
        paid_on = self._not_future(command.paid_on, "payment date")
        participant = self._participant_for(command, batch)
        payment_ref, amount, channel = command.payment_ref, command.amount, command.channel
        ref_id = payment_reference_id(payment_ref)
        earlier = batch.aggregates.get(ref_id) or (
            None if batch.optimistic else self._get_or_none(ref_id, PaymentReference)
        )
        if earlier is None and batch.optimistic and participant.has_payment(payment_ref):
            earlier = self._get_or_none(ref_id, PaymentReference)  # a re-sent payment
        if isinstance(earlier, PaymentReference):
            batch.repeats += 1
            return repeated_payment(
                earlier, participant.id, amount, paid_on, channel, participant.settled(payment_ref)
            )
        try:
            settlement = participant.pay(
                rules=self.rules,
                payment_ref=payment_ref,
                paid_on=paid_on,
                amount=amount,
                channel=channel,
                agent_id=command.agent_id,
                captured_at=command.captured_at,
            )
        except LedgerError:
            # Optimistically the reference was not read: a re-sent older payment (a bank
            # file imported again) must be answered as a repeat, not refused as out of order.
            recorded = self._get_or_none(ref_id, PaymentReference) if batch.optimistic else None
            if recorded is None:
                raise
            return repeated_payment(
                recorded, participant.id, amount, paid_on, channel, participant.settled(payment_ref)
            )
        batch.aggregates[ref_id] = PaymentReference.use(
            payment_ref=payment_ref,
            participant_id=participant.id,
            amount=amount,
            paid_on=paid_on,
            channel=channel,
            first_month=settlement.first,
            months=settlement.months,
        )
        batch.aggregates[participant.id] = participant
        return PaymentResult(
            participant.id, payment_ref, settlement.first, settlement.months, amount
        )

    # --- group commit -------------------------------------------------------------------

    def execute_many(
        self, commands: Sequence[Enroll | RecordContribution]
    ) -> list[EnrollmentResult | PaymentResult | LedgerError]:
        """Enrollments and payments from many callers, in one transaction: each command's
        result or refusal, as the batch commands give them. A command only sees the store
        and the commands before it in the list. Used to group concurrent single commands
        into one commit (`infra.group_commit`)."""
        preparers: dict[type, Callable[[Any, Batch], Any]] = {
            Enroll: self._prepare_enrollment,
            RecordContribution: self._prepare_payment,
        }
        unknown = {type(c).__name__ for c in commands if type(c) not in preparers}
        if unknown:
            raise ValueError(f"unknown command type(s): {', '.join(sorted(unknown))}")

        def prepare(command: Enroll | RecordContribution, batch: Batch) -> Any:
            return preparers[type(command)](command, batch)

        return self._run_batch(commands, prepare)

    # --- any command -------------------------------------------------------------------

    def execute(self, command: Command) -> Executed:
        """Any typed command in one transaction: its answer and the log position reached.
        What a way in that records commands of every kind calls (`api.services`)."""
        if isinstance(command, Enroll | RecordContribution):
            prepare: Callable[[Any, Batch], Any] = (
                self._prepare_enrollment if isinstance(command, Enroll) else self._prepare_payment
            )
            outcome = self._run_one(command, prepare, optimistic=True)
            if isinstance(outcome, LedgerError):
                raise outcome
            return Executed(outcome, outcome.position)
        if isinstance(command, FileClaim):
            return Executed(*self._file_claim(command))
        if isinstance(command, ApproveClaim):
            return Executed(*self._approve_claim(command))
        change: dict[type, Callable[[Any], int | None]] = {
            DeclareIncome: self.declare_income,
            ChangeProgrammes: self.change_programmes,
            CorrectDetails: self.correct_details,
            RecordDeath: self.record_death,
            Withdraw: self.withdraw,
            ErasePersonalData: self.erase_personal_data,
            RejectClaim: self.reject_claim,
            PayClaim: self.pay_claim,
        }
        if type(command) not in change:
            raise TypeError(f"not a command: {type(command).__name__}")
        return Executed(None, change[type(command)](command))

    # --- reading a batch's enrollments ahead ----------------------------------------------

    def _first_is_recorded(self, commands: Sequence[Any], prepare: Callable[..., Any]) -> bool:
        if prepare != self._prepare_enrollment or not commands:
            return False
        index_id = blind_index(self._pepper, commands[0].nik.digits)
        return any(True for _ in self.recorder.select_events(index_id, limit=1))

    def _read_ahead(
        self, commands: Sequence[Any], prepare: Callable[..., Any], batch: Batch
    ) -> None:
        """A batch of enrollments with reads: its NIK indexes, then the participants they
        point to, in a query each (when the store can), instead of two reads per row."""
        if prepare != self._prepare_enrollment:
            return
        index_ids = [blind_index(self._pepper, command.nik.digits) for command in commands]
        self._read_events_ahead(index_ids, batch)
        pointers = [
            getattr(events[-1], "pointer", None)
            for i in index_ids
            if (events := batch.read_ahead.get(i))
        ]
        self._read_events_ahead([UUID(p["participant_id"]) for p in pointers if p], batch)

    # --- the NIK index: the one place a NIK is pointed at a participant or released -----

    def _nik_index(self, nik: str, batch: Batch | None = None) -> tuple[UUID, NikIndex | None]:
        """The NIK's index id, and its aggregate if it exists. Within an optimistic batch
        it is not read: its creation then collides in the store if the NIK is known, and
        the command is redone with the read."""
        index_id = blind_index(self._pepper, nik)
        if batch is None:
            return index_id, self._get_or_none(index_id, NikIndex)
        if index_id in batch.enrolled:
            return index_id, None  # enrolled earlier in the batch: the caller answers
        if batch.optimistic:
            return index_id, None
        ahead = batch.read_ahead.get(index_id)
        if ahead is None:
            return index_id, self._get_or_none(index_id, NikIndex)
        index = fold(None, ahead) if ahead else None  # read with its batch
        return index_id, index if isinstance(index, NikIndex) else None

    def _point_nik(self, index_id: UUID, index: NikIndex | None, participant_id: UUID) -> NikIndex:
        """Point a free NIK (never registered, or released) at the participant."""
        if index is None:
            return NikIndex.register(index_id, participant_id)
        index.reregister(participant_id)
        return index

    def _release_nik(self, nik: str) -> NikIndex | None:
        """Free the NIK: the index released now, or None when there was nothing to release."""
        _, index = self._nik_index(nik)
        if index is None or index.released:
            return None
        index.release()
        return index

    # --- helpers ------------------------------------------------------------------------

    def _participant_for(self, command: RecordContribution, batch: Batch) -> Participant:
        if command.participant_id is not None:
            participant_id = command.participant_id
        else:
            assert command.nik is not None, "a payment names a participant or a NIK"
            nik = command.nik.digits
            found = batch.niks.get(nik) or self.find_participant(nik)
            if found is None:
                raise NotFoundError("participant_not_found", "No participant has this NIK.")
            batch.niks[nik] = participant_id = found
        cached = batch.aggregates.get(participant_id)
        if isinstance(cached, Participant):
            return cached
        return self.get_participant(participant_id)

    def _not_future(self, day: date | None, what: str) -> date:
        """The day (None: today), refused when it has not begun anywhere in Indonesia."""
        if day is None:
            return self.today()
        if day > self.today():
            raise InvalidInputError(
                "date_in_future", f"The {what} {day.isoformat()} is in the future."
            )
        return day
