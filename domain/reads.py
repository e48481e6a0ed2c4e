"""The Ledger's queries: finding a participant (by id or NIK), its status on either
clock, its history and its personal data. A part of the `Ledger` (a mixin it inherits),
kept apart from the commands so that each module stays of one concern; nothing here
writes to the log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.clocks import effective_by, recorded_by, status_at
from domain.coverage import ParticipantStatus, status_on
from domain.errors import NotFoundError
from domain.indexes import blind_index
from domain.participant import Participant
from domain.values import Nik, parse_date

if TYPE_CHECKING:
    from eventsourcing.persistence import ApplicationRecorder, EventStore

    from domain.rules import RuleBook
    from domain.transactions import A


class ParticipantReads:
    """The Ledger's queries about participants (see `domain.ledger.Ledger`)."""

    if TYPE_CHECKING:  # what the Ledger provides
        _pepper: bytes
        rules: RuleBook
        today: Callable[[], date]
        recorder: ApplicationRecorder
        events: EventStore[UUID]
        personal_events: EventStore[UUID]

        def _get_or_none(self, aggregate_id: UUID, kind: type[A]) -> A | None: ...

    def find_participant(self, nik: str) -> UUID | None:
        """The participant a NIK belongs to, or None (also after erasure)."""
        index_id = blind_index(self._pepper, Nik.parse(nik).digits)
        last = next(iter(self.personal_events.get(index_id, desc=True, limit=1)), None)
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
                raise NotFoundError(
                    "participant_not_found", "No participant has this NIK."
                ) from None
            return found
        self.get_participant(participant_id)
        return participant_id

    def get_participant(self, participant_id: UUID) -> Participant:
        participant = self._get_or_none(participant_id, Participant)
        if participant is None:
            raise NotFoundError("participant_not_found", f"No participant {participant_id}.")
        return participant

    def get_status(
        self,
        participant_id: UUID,
        as_of: date | str | None = None,
        recorded_at: datetime | None = None,
    ) -> ParticipantStatus:
        """Status on `as_of` (the business clock; default today) from what the log held at
        `recorded_at` (the recording clock; default now). See `domain.clocks`."""
        day = parse_date(as_of, field="as-of date") if as_of is not None else self.today()
        if as_of is None and recorded_at is None:  # today as known now: the aggregate as is
            return status_on(self.get_participant(participant_id), day, self.rules)
        events = list(self.events.get(participant_id))
        if not events:
            raise NotFoundError("participant_not_found", f"No participant {participant_id}.")
        known = recorded_by(events, recorded_at)
        if not known:
            raise NotFoundError(
                "not_recorded_yet",
                f"Nothing about participant {participant_id} was recorded by "
                f"{recorded_at.isoformat() if recorded_at else 'then'}.",
            )
        return status_at(known, self.rules, as_of=day)

    def get_personal_data(self, participant_id: UUID) -> dict[str, Any] | None:
        """Current personal fields (decrypted), or None once erased."""
        events = list(self.personal_events.get(participant_id))
        if not any(isinstance(e, Participant.Enrolled) for e in events):
            raise NotFoundError("participant_not_found", f"No participant {participant_id}.")
        return personal_data_of(events)

    def participant_ids(self, limit: int = 10, start: int = 1) -> list[UUID]:
        """Participants in enrollment order, from the notification log."""
        topic = get_topic(Participant.Enrolled)
        return [
            UUID(str(n.originator_id))
            for n in self.recorder.select_notifications(start=start, limit=limit, topics=[topic])
        ]

    def get_history(
        self, participant_id: UUID, as_of: date | None = None, recorded_at: datetime | None = None
    ) -> list[Any]:
        """Every event of the participant, oldest first; personal fields None once erased
        (even where this process still holds the key in its cache). With `recorded_at`,
        only what the log held then; with `as_of`, only the facts in effect by that date
        (`domain.clocks`)."""
        participant = self.get_participant(participant_id)
        events = effective_by(
            recorded_by(self.personal_events.get(participant_id), recorded_at), as_of
        )
        if participant.erased_on is not None:
            for event in events:
                for name in getattr(type(event), "personal_fields", ()):
                    vars(event)[name] = None
        return events


def personal_data_of(events: Sequence[Any]) -> dict[str, Any] | None:
    """A participant's current personal fields from its (decrypted) events; None once
    erased or unreadable."""
    personal: dict[str, Any] = {}
    for event in events:
        if isinstance(event, Participant.PersonalDataErased):
            return None
        if isinstance(event, (Participant.Enrolled, Participant.DetailsCorrected)):
            if event.personal is None:
                return None  # the key is gone
            personal.update(event.personal)
    return personal or None
