"""The Ledger application: the scheme's commands and queries over one event log.

Every command validates everything first and saves all it changes in one transaction,
or raises a `LedgerError` with nothing written. Bulk variants (`enroll_many`,
`record_contributions`) take many rows, report each row's outcome, and save the
accepted ones in one transaction per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import EventStore, IntegrityError, Mapper, Recording
from eventsourcing.utils import get_topic
from lokal import normalize_phone

from domain.coverage import ParticipantStatus, in_force, settle, status_on
from domain.errors import (
    ConflictError,
    InvalidInputError,
    LedgerError,
    NotFoundError,
    RuleViolationError,
)
from domain.indexes import NikIndex, PaymentReference, blind_index, payment_reference_id
from domain.participant import Participant
from domain.regions import village
from domain.rules import RuleBook, default_rule_book
from domain.values import (
    Nik,
    Period,
    Programme,
    parse_channel,
    parse_date,
    parse_programmes,
    parse_rupiah,
    parse_segment,
    parse_sex,
)

# The latest calendar date anywhere in Indonesia (WIT, UTC+9): a date is "in the future"
# only when it has not begun in any of the country's time zones.
_WIT = timezone(timedelta(hours=9))

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")
Row = TypeVar("Row")


def today_in_indonesia() -> date:
    return datetime.now(_WIT).date()


class PersonalDataVault(Protocol):
    """Per-subject data keys, kept outside the event log (implemented in infra)."""

    def ensure_keys(self, key_ids: Iterable[UUID]) -> None:
        """Create keys for the ids that have none, durably, before events use them."""

    def shred(self, key_ids: Iterable[UUID]) -> None:
        """Destroy the keys: what they encrypted can never be read again."""


class _NoVault:
    """For a store without field encryption (the in-memory default in unit tests)."""

    def ensure_keys(self, key_ids: Iterable[UUID]) -> None:
        return None

    def shred(self, key_ids: Iterable[UUID]) -> None:
        return None


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


@dataclass
class _Batch:
    """Aggregates touched by a batch, so rows about one participant see each other."""

    aggregates: dict[UUID, Aggregate] = field(default_factory=dict)
    new_keys: list[UUID] = field(default_factory=list)
    niks: dict[str, UUID] = field(default_factory=dict)  # NIK -> participant, looked up once
    # Optimistic: skip reading the uniqueness indexes; a collision at save time means
    # "redo with the reads" (rare: repeats and duplicates), not a refusal.
    optimistic: bool = False


class Ledger(Application[UUID]):
    """Enrollments, contributions, claims and erasure for the scheme's participants."""

    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        Participant: 50}

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
        self.vault: PersonalDataVault = vault or _NoVault()
        self.rules = rules or default_rule_book()
        self.today = today
        super().__init__(env)
        # Aggregates need no personal data, so the repository's mapper may skip decryption;
        # the few reads that show personal data use `personal_events`.
        self.personal_events: EventStore[UUID] = (
            EventStore(mapper=personal_mapper, recorder=self.recorder)
            if personal_mapper is not None else self.events)

    def construct_mapper(self) -> Mapper[UUID]:
        return self._given_mapper or super().construct_mapper()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's `save()`, minus its two runtime-Protocol `isinstance` checks per
        object (about 40 µs each on Python 3.11, the largest single cost of bulk saves):
        the ledger only ever saves its own aggregates. Anything else goes the library's way.
        """
        if kwargs or not all(isinstance(obj, Aggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing = ProcessingEvent[UUID]()
        for aggregate in objs:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    # --- enrollment ---------------------------------------------------------------------

    def enroll(self, **row: Any) -> UUID:
        """Enroll one worker; see `enroll_many` for the fields. Returns the participant id
        (the existing one when the same enrollment is repeated)."""
        outcome = self._run_one(row, self._prepare_enrollment, lambda r: r, optimistic=True)
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome.participant_id

    def enroll_many(self, rows: Sequence[Mapping[str, Any]]) -> list[EnrollmentResult | LedgerError]:
        """Enroll many workers in one transaction; each row's id or the reason it was refused.

        Fields: nik, name, birth_date, sex (M/F), phone, address (optional), village_code,
        occupation, declared_income, programmes (`JKK+JKM[+JHT]`), channel, agent_id,
        enrolled_on, segment (optional, BPU).
        """
        return self._run_batch(rows, self._prepare_enrollment, lambda r: r)

    def _prepare_enrollment(self, row: Mapping[str, Any], batch: _Batch) -> EnrollmentResult:
        nik = Nik.parse(_text(row, "nik"))
        name = _text(row, "name")
        if not 1 <= len(name) <= 200:
            raise InvalidInputError("invalid_name", "A name has 1 to 200 characters.")
        birth_date = parse_date(row.get("birth_date", ""), field="birth date")
        sex = parse_sex(_text(row, "sex"))
        nik.check_person(sex=sex, birth_date=birth_date)
        enrolled_on = self._past_date(row.get("enrolled_on") or self.today(), "enrollment date")
        self.rules.at(enrolled_on)
        if birth_date >= enrolled_on:
            raise InvalidInputError("invalid_birth_date", "The birth date is not before enrollment.")
        channel, agent_id = parse_channel(_text(row, "channel"), row.get("agent_id"))
        personal = {
            "nik": nik.digits,
            "name": name,
            "birth_date": birth_date.isoformat(),
            "phone": _phone(row.get("phone")),
            "address": (str(row.get("address") or "").strip() or None),
        }
        index_id = blind_index(self._pepper, nik.digits)
        if index_id in batch.aggregates:
            raise ConflictError("already_enrolled", "This NIK appears twice in the batch.")
        # Optimistically, a new NIK needs no read: the index's creation collides in the
        # store if the NIK is known, and the command is then redone with the read.
        index = None if batch.optimistic else self._get_or_none(index_id, NikIndex)
        participant = Participant.enroll(
            personal=personal,
            enrolled_on=enrolled_on,
            village=village(_text(row, "village_code")).code,
            sex=sex,
            occupation=_occupation(row.get("occupation")),
            segment=parse_segment(str(row.get("segment") or "BPU")),
            programmes=parse_programmes(_text(row, "programmes")),
            declared_income=parse_rupiah(row.get("declared_income", ""), field="declared income"),
            channel=channel,
            agent_id=agent_id,
        )
        if index is None:
            index = NikIndex.register(index_id, participant.id)
        elif not index.released:
            return self._repeated_enrollment(participant, personal)
        else:
            index.reregister(participant.id)
        batch.aggregates[index.id] = index
        batch.aggregates[participant.id] = participant
        batch.new_keys += [participant.id, index.key_id]
        return EnrollmentResult(participant.id)

    def _repeated_enrollment(self, candidate: Participant, personal: dict[str, Any]) -> EnrollmentResult:
        """The same enrollment again (a re-imported sheet) answers with the original id;
        anything else under an enrolled NIK is a conflict."""
        existing_id = self.find_participant(personal["nik"])
        if existing_id is not None:
            existing = self.get_participant(existing_id)
            known = self.get_personal_data(existing_id) or {}
            same = (
                {k: known.get(k) for k in ("nik", "name", "birth_date")}
                == {k: personal[k] for k in ("nik", "name", "birth_date")}
                and (existing.enrolled_on, existing.village) == (candidate.enrolled_on, candidate.village)
            )
            if same:
                return EnrollmentResult(existing_id, replayed=True)
        raise ConflictError("already_enrolled", "This NIK is already enrolled.")

    # --- contributions ------------------------------------------------------------------

    def record_contribution(self, **row: Any) -> PaymentResult:
        """Record one payment (payment_ref, participant_id or nik, amount, paid_on, channel,
        agent_id). A repeat of a recorded reference with the same content returns the
        original result; with different content it is a conflict."""
        outcome = self._run_one(row, self._prepare_payment, lambda r: r, optimistic=True)
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    def record_contributions(
        self, rows: Sequence[Mapping[str, Any]]
    ) -> list[PaymentResult | LedgerError]:
        """Record many payments in one transaction; each row's result or refusal."""
        return self._run_batch(rows, self._prepare_payment, lambda r: r)

    def _prepare_payment(self, row: Mapping[str, Any], batch: _Batch) -> PaymentResult:
        payment_ref = _text(row, "payment_ref")
        if not 1 <= len(payment_ref) <= 64:
            raise InvalidInputError("invalid_payment_ref", "A payment reference has 1 to 64 characters.")
        amount = parse_rupiah(row.get("amount", ""))
        paid_on = self._past_date(row.get("paid_on") or self.today(), "payment date")
        channel, agent_id = parse_channel(_text(row, "channel"), row.get("agent_id"))
        participant = self._participant_for(row, batch)
        ref_id = payment_reference_id(payment_ref)
        earlier = batch.aggregates.get(ref_id) or (
            None if batch.optimistic else self._get_or_none(ref_id, PaymentReference))
        if isinstance(earlier, PaymentReference):
            return _repeated_payment(earlier, participant.id, amount, paid_on, channel)
        try:
            settlement = settle(participant, paid_on, amount, self.rules)
            participant.pay(settlement=settlement, payment_ref=payment_ref, paid_on=paid_on,
                            amount=amount, channel=channel, agent_id=agent_id)
        except LedgerError:
            # Optimistically the reference was not read: a re-sent older payment (a bank
            # file imported again) must be answered as a repeat, not refused as out of order.
            recorded = self._get_or_none(ref_id, PaymentReference) if batch.optimistic else None
            if recorded is None:
                raise
            return _repeated_payment(recorded, participant.id, amount, paid_on, channel)
        batch.aggregates[ref_id] = PaymentReference.use(
            payment_ref=payment_ref, participant_id=participant.id, amount=amount,
            paid_on=paid_on, channel=channel, first_month=settlement.first,
            months=settlement.months,
        )
        batch.aggregates[participant.id] = participant
        return PaymentResult(participant.id, payment_ref, settlement.first, settlement.months, amount)

    # --- group commit -------------------------------------------------------------------

    def execute_many(
        self, commands: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[EnrollmentResult | PaymentResult | LedgerError]:
        """Enrollments (`"enroll"`, the fields of `enroll_many`) and payments (`"pay"`,
        the fields of `record_contribution`) from many callers, in one transaction: each
        command's result or refusal, as the batch commands give them. A command only sees
        the store and the commands before it in the list. Used to group concurrent single
        commands into one commit (`infra.group_commit`)."""
        preparers = {"enroll": self._prepare_enrollment, "pay": self._prepare_payment}
        unknown = {kind for kind, _ in commands} - preparers.keys()
        if unknown:
            raise ValueError(f"unknown command kind(s): {', '.join(sorted(unknown))}")

        def prepare(command: tuple[str, Mapping[str, Any]], batch: _Batch) -> Any:
            kind, row = command
            return preparers[kind](row, batch)

        return self._run_batch(commands, prepare, lambda r: r)

    # --- changes to a participant -------------------------------------------------------

    def declare_income(self, participant_id: UUID, *, declared_income: int | str,
                       from_month: str | Period, declared_on: date | str | None = None) -> None:
        participant = self.get_participant(participant_id)
        participant.declare_income(
            declared_income=parse_rupiah(declared_income, field="declared income"),
            from_month=_period(from_month),
            declared_on=self._past_date(declared_on or self.today(), "declaration date"),
        )
        self.save(participant)

    def change_programmes(self, participant_id: UUID, *, programmes: str | Sequence[str],
                          from_month: str | Period, changed_on: date | str | None = None) -> None:
        participant = self.get_participant(participant_id)
        participant.change_programmes(
            programmes=parse_programmes(programmes if isinstance(programmes, str) else tuple(programmes)),
            from_month=_period(from_month),
            changed_on=self._past_date(changed_on or self.today(), "change date"),
        )
        self.save(participant)

    def correct_details(self, participant_id: UUID, *, corrected_on: date | str | None = None,
                        **changes: Any) -> None:
        """Correct personal fields (name, phone, address, birth_date, nik) and/or village_code,
        occupation, sex. A corrected NIK moves the NIK index in the same transaction."""
        participant = self.get_participant(participant_id)
        known = {"name", "phone", "address", "birth_date", "nik", "village_code", "occupation", "sex"}
        unknown = set(changes) - known
        if unknown:
            raise InvalidInputError("unknown_field", f"Cannot correct {', '.join(sorted(unknown))}.")
        current = self.get_personal_data(participant_id)
        if current is None:
            raise RuleViolationError(
                "personal_data_erased", "This participant's personal data has been erased.")
        personal: dict[str, Any] = {}
        if changes.get("name") is not None:
            personal["name"] = str(changes["name"]).strip()
            if not 1 <= len(personal["name"]) <= 200:
                raise InvalidInputError("invalid_name", "A name has 1 to 200 characters.")
        if changes.get("phone") is not None:
            personal["phone"] = _phone(changes["phone"])
        if changes.get("address") is not None:
            personal["address"] = str(changes["address"]).strip() or None
        if changes.get("birth_date") is not None:
            personal["birth_date"] = parse_date(changes["birth_date"], field="birth date").isoformat()
        sex = parse_sex(changes["sex"]) if changes.get("sex") is not None else None
        touched: list[Aggregate] = [participant]
        new_keys: list[UUID] = []
        shred: list[UUID] = []
        nik = Nik.parse(changes["nik"]) if changes.get("nik") is not None else Nik.parse(current["nik"])
        nik.check_person(sex=sex or participant.sex,
                         birth_date=date.fromisoformat(personal.get("birth_date") or current["birth_date"]))
        if nik.digits != current["nik"]:
            personal["nik"] = nik.digits
            new_index_id = blind_index(self._pepper, nik.digits)
            new_index = self._get_or_none(new_index_id, NikIndex)
            if new_index is None:
                new_index = NikIndex.register(new_index_id, participant.id)
            elif not new_index.released:
                raise ConflictError("already_enrolled", "The corrected NIK is already enrolled.")
            else:
                new_index.reregister(participant.id)
            old_index = self._get_or_none(blind_index(self._pepper, current["nik"]), NikIndex)
            if old_index is not None and not old_index.released:
                old_index.release()
                touched.append(old_index)
                shred.append(old_index.key_id)
            touched.append(new_index)
            new_keys.append(new_index.key_id)
        participant.correct_details(
            personal=personal,
            corrected_on=self._past_date(corrected_on or self.today(), "correction date"),
            village=village(changes["village_code"]).code if changes.get("village_code") else None,
            occupation=_occupation(changes["occupation"]) if changes.get("occupation") else None,
            sex=sex,
        )
        self.vault.ensure_keys(new_keys)
        try:
            self.save(*touched)
        except IntegrityError:
            raise ConflictError("concurrent_change", "The participant changed meanwhile; retry.") from None
        self.vault.shred(shred)

    def record_death(self, participant_id: UUID, *, died_on: date | str) -> None:
        participant = self.get_participant(participant_id)
        participant.record_death(died_on=self._past_date(died_on, "date of death"))
        self.save(participant)

    def withdraw(self, participant_id: UUID, *, withdrawn_on: date | str | None = None,
                 reason: str = "requested") -> None:
        participant = self.get_participant(participant_id)
        participant.withdraw(withdrawn_on=self._past_date(withdrawn_on or self.today(), "withdrawal date"),
                             reason=reason.strip()[:200] or "requested")
        self.save(participant)

    def erase_personal_data(self, participant_id: UUID, *,
                            erased_on: date | str | None = None) -> int | None:
        """Honour an erasure request: destroy the participant's keys, keep the record.
        Returns the log position reached (the head of the log when it was erased before).

        Idempotent: repeating it after an interruption finishes the key destruction."""
        participant = self.get_participant(participant_id)
        personal = self.get_personal_data(participant_id)
        keys: list[UUID] = [participant.id]
        if participant.erased_on is None:
            participant.erase_personal_data(
                erased_on=self._past_date(erased_on or self.today(), "erasure date"))
            touched: list[Aggregate] = [participant]
            if personal is not None and personal.get("nik"):
                index = self._get_or_none(blind_index(self._pepper, personal["nik"]), NikIndex)
                if index is not None and not index.released:
                    index.release()
                    touched.append(index)
                    keys.append(index.key_id)
            position = _position(self.save(*touched))
        else:
            if personal is not None and personal.get("nik"):
                index = self._get_or_none(blind_index(self._pepper, personal["nik"]), NikIndex)
                if index is not None:
                    keys.append(index.key_id)
            position = self.recorder.max_notification_id()
        self.vault.shred(keys)
        return position

    # --- claims -------------------------------------------------------------------------

    def file_claim(self, participant_id: UUID, *, programme: str, kind: str,
                   incident_date: date | str, filed_on: date | str | None = None,
                   work_related: bool = False, description: str = "") -> UUID:
        participant = self.get_participant(participant_id)
        code = programme.strip().upper()
        if code not in Programme.__members__:
            raise InvalidInputError("unknown_programme", f"'{programme}' is not a programme.")
        personal = self.get_personal_data(participant_id) or {}
        claim_id = uuid4()
        participant.file_claim(
            claim_id=claim_id, programme=code, kind=kind.strip().lower(),
            incident_date=self._past_date(incident_date, "incident date"),
            filed_on=self._past_date(filed_on or self.today(), "filing date"),
            work_related=work_related, details={"description": description.strip()[:2000]},
            birth_date=date.fromisoformat(personal["birth_date"]) if personal.get("birth_date") else None,
            rules=self.rules,
        )
        self.save(participant)
        return claim_id

    def approve_claim(self, participant_id: UUID, claim_id: UUID, *,
                      approved_on: date | str | None = None, amount: int | str | None = None) -> int:
        """Approve a filed claim; the benefit follows from the rules on the incident date
        (an officer gives the amount only for JKK care and incapacity benefits)."""
        participant = self.get_participant(participant_id)
        claim = participant.claim(claim_id)
        benefit = self._benefit(participant, claim)
        if benefit is None:
            if amount is None:
                raise InvalidInputError(
                    "amount_required", "This JKK benefit is assessed: give the approved amount.")
            benefit = parse_rupiah(amount)
        elif amount is not None and parse_rupiah(amount) != benefit:
            raise InvalidInputError(
                "benefit_fixed_by_rules",
                f"This benefit is fixed by the rules at Rp {benefit:,}, not Rp {parse_rupiah(amount):,}.")
        participant.approve_claim(claim_id=claim_id, amount=benefit,
                                  approved_on=self._past_date(approved_on or self.today(), "approval date"))
        self.save(participant)
        return benefit

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

    def reject_claim(self, participant_id: UUID, claim_id: UUID, *, reason: str,
                     rejected_on: date | str | None = None) -> None:
        participant = self.get_participant(participant_id)
        if not reason.strip():
            raise InvalidInputError("reason_required", "A rejection needs a reason.")
        participant.reject_claim(claim_id=claim_id, reason=reason.strip()[:200],
                                 rejected_on=self._past_date(rejected_on or self.today(), "rejection date"))
        self.save(participant)

    def pay_claim(self, participant_id: UUID, claim_id: UUID, *, paid_on: date | str | None = None) -> None:
        participant = self.get_participant(participant_id)
        participant.pay_claim(claim_id=claim_id,
                              paid_on=self._past_date(paid_on or self.today(), "payment date"))
        self.save(participant)

    # --- queries ------------------------------------------------------------------------

    def find_participant(self, nik: str) -> UUID | None:
        """The participant a NIK belongs to, or None (also after erasure)."""
        index_id = blind_index(self._pepper, Nik.parse(nik).digits)
        last = None
        for last in self.personal_events.get(index_id, desc=True, limit=1):
            pass
        pointer = getattr(last, "pointer", None)  # None when released, or its key destroyed
        return UUID(pointer["participant_id"]) if pointer else None

    def resolve(self, nik_or_id: str) -> UUID:
        """A participant id from either a participant id or a NIK."""
        text = nik_or_id.strip()
        try:
            participant_id = UUID(text)
        except ValueError:
            found = self.find_participant(text)
            if found is None:
                raise NotFoundError("participant_not_found", "No participant has this NIK.") from None
            return found
        self.get_participant(participant_id)
        return participant_id

    def get_participant(self, participant_id: UUID) -> Participant:
        participant = self._get_or_none(participant_id, Participant)
        if participant is None:
            raise NotFoundError("participant_not_found", f"No participant {participant_id}.")
        return participant

    def get_status(self, participant_id: UUID, as_of: date | str | None = None) -> ParticipantStatus:
        day = parse_date(as_of, field="as-of date") if as_of is not None else self.today()
        return status_on(self.get_participant(participant_id), day, self.rules)

    def get_personal_data(self, participant_id: UUID) -> dict[str, Any] | None:
        """Current personal fields (decrypted), or None once erased."""
        personal: dict[str, Any] = {}
        for event in self.personal_events.get(participant_id):
            if isinstance(event, Participant.PersonalDataErased):
                return None
            if isinstance(event, (Participant.Enrolled, Participant.DetailsCorrected)):
                if event.personal is None:
                    return None  # the key is gone
                personal.update(event.personal)
        if not personal:
            raise NotFoundError("participant_not_found", f"No participant {participant_id}.")
        return personal

    def participant_ids(self, limit: int = 10, start: int = 1) -> list[UUID]:
        """Participants in enrollment order, from the notification log."""
        topic = get_topic(Participant.Enrolled)
        return [UUID(str(n.originator_id)) for n in self.recorder.select_notifications(
            start=start, limit=limit, topics=[topic])]

    def get_history(self, participant_id: UUID) -> list[Any]:
        """Every event of the participant, oldest first; personal fields None once erased
        (even where this process still holds the key in its cache)."""
        participant = self.get_participant(participant_id)
        events = list(self.personal_events.get(participant_id))
        if participant.erased_on is not None:
            for event in events:
                for name in getattr(type(event), "personal_fields", ()):
                    vars(event)[name] = None
        return events

    # --- helpers ------------------------------------------------------------------------

    def _participant_for(self, row: Mapping[str, Any], batch: _Batch) -> Participant:
        if row.get("participant_id"):
            try:
                participant_id = UUID(str(row["participant_id"]))
            except ValueError:
                raise InvalidInputError("invalid_participant_id", "Not a participant id.") from None
        else:
            nik = _text(row, "nik")
            found = batch.niks.get(nik) or self.find_participant(nik)
            if found is None:
                raise NotFoundError("participant_not_found", "No participant has this NIK.")
            batch.niks[nik] = participant_id = found
        cached = batch.aggregates.get(participant_id)
        if isinstance(cached, Participant):
            return cached
        return self.get_participant(participant_id)

    def _get_or_none(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        if kind is not Participant:
            # Index aggregates have a handful of events and no snapshots: one read.
            aggregate = _fold(None, self.events.get(aggregate_id))
            return aggregate if isinstance(aggregate, kind) else None
        try:
            aggregate = self.repository.get(aggregate_id, projector_func=_fold)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def _past_date(self, value: date | str, what: str) -> date:
        day = parse_date(value, field=what)
        if day > self.today():
            raise InvalidInputError("date_in_future", f"The {what} {day.isoformat()} is in the future.")
        return day

    def _run_batch(
        self, rows: Sequence[Row], prepare: Callable[[Row, _Batch], Any], result: Callable[[Any], R],
    ) -> list[R | LedgerError]:
        batch = _Batch(optimistic=True)
        outcomes: list[R | LedgerError] = []
        for row in rows:
            before = len(batch.aggregates)
            try:
                outcomes.append(result(prepare(row, batch)))
            except LedgerError as error:
                # Commands check everything before they change anything, so a refused row
                # leaves the batch as it was (the unit tests hold every command to that).
                if len(batch.aggregates) != before:
                    raise AssertionError(f"refused row changed the batch: {error!r}") from error
                outcomes.append(error)
        try:
            position = self._save_batch(batch)
        except _SaveConflict:
            # A repeated or duplicate NIK or payment reference, or another writer changed
            # one of these participants meanwhile; nothing of the batch was written. Redo
            # it a row per transaction, with the reads, so each row gets its own answer.
            return [self._run_one(row, prepare, result) for row in rows]
        return [_at(outcome, position) for outcome in outcomes]

    def _run_one(self, row: Row, prepare: Callable[[Row, _Batch], Any],
                 result: Callable[[Any], R], optimistic: bool = False) -> R | LedgerError:
        batch = _Batch(optimistic=optimistic)
        try:
            outcome = result(prepare(row, batch))
            position = self._save_batch(batch)
        except _SaveConflict:
            if optimistic:
                return self._run_one(row, prepare, result)
            return ConflictError("concurrent_change", "Another writer changed this meanwhile; retry.")
        except LedgerError as error:
            return error
        return _at(outcome, position)

    def _save_batch(self, batch: _Batch) -> int | None:
        """Save the batch in one transaction; the log position it reached (the head of the
        log when there was nothing to save)."""
        if not batch.aggregates:
            return self.recorder.max_notification_id()
        self.vault.ensure_keys(batch.new_keys)
        try:
            recordings = self.save(*batch.aggregates.values())
        except IntegrityError:
            self.vault.shred(batch.new_keys)  # made for aggregates that were not saved
            raise _SaveConflict from None
        return _position(recordings)


def _position(recordings: Sequence[Recording[UUID]]) -> int | None:
    """The notification id of the last recording (None if the store numbers none)."""
    return recordings[-1].notification.id if recordings else None


def _at(outcome: Any, position: int | None) -> Any:
    """A command's result with the log position its transaction reached."""
    if isinstance(outcome, (EnrollmentResult, PaymentResult)):
        return replace(outcome, position=position)
    return outcome


def _repeated_payment(earlier: PaymentReference, participant_id: UUID, amount: int,
                      paid_on: date, channel: str) -> PaymentResult:
    """The answer to a payment reference seen before: the original result for the same
    payment, a conflict for a different one."""
    if earlier.same_payment(participant_id, amount, paid_on, channel):
        return PaymentResult(participant_id, earlier.payment_ref, earlier.first_month,
                             earlier.months, amount, replayed=True)
    raise ConflictError(
        "payment_ref_conflict",
        f"Payment reference {earlier.payment_ref} was already recorded for a different payment "
        f"(Rp {earlier.amount:,} on {earlier.paid_on.isoformat()}).",
    )


class _SaveConflict(Exception):
    """The store refused a save: an aggregate it creates or changes was written meanwhile."""


def _fold(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply events in order: the library's `project_aggregate` without its per-event
    runtime-Protocol assertion (our events are the library's own aggregate events)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def _text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None or str(value).strip() == "":
        raise InvalidInputError(f"missing_{key}", f"The field '{key}' is required.")
    return str(value).strip()


def _phone(value: Any) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    e164 = normalize_phone(str(value))
    if e164 is None:
        raise InvalidInputError("invalid_phone", f"'{value}' is not an Indonesian phone number.")
    return e164


def _occupation(value: Any) -> str:
    text = str(value or "").strip().lower()
    if not 1 <= len(text) <= 64:
        raise InvalidInputError("invalid_occupation", "An occupation has 1 to 64 characters.")
    return text


def _period(value: str | Period) -> Period:
    return value if isinstance(value, Period) else Period.parse(value)


def _same_day_in(month: Period, day: date) -> date:
    """`day`'s day-of-month in `month` (clamped to the month's end)."""
    for d in (day.day, 30, 29, 28):
        try:
            return date(month.year, month.month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")
