"""The two clocks a question can be asked on (DESIGN.md, Auditors).

- The **business clock** (`as_of`, a date): the facts effective by that date, whenever
  they were recorded: enrollments by `enrolled_on`, payments by `paid_on` (settled in
  `paid_on` order, so the months they settle do not depend on what came later),
  declarations and programme changes from their own dates, deaths, withdrawals, claims and
  corrections by theirs.
- The **recording clock** (`recorded_at`, a UTC timestamp): what the log held then,
  the events recorded at or before it, as they were recorded.

Both together: the facts effective by `as_of` among those recorded by `recorded_at`.
Everything here is a pure function of a participant's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from domain.coverage import ParticipantStatus, status_on
from domain.participant import Participant
from domain.rules import RuleBook

# The date each kind of fact takes effect on the business clock.
_EFFECTIVE: dict[type, str] = {
    Participant.Enrolled: "enrolled_on",
    Participant.ContributionPaid: "paid_on",
    Participant.ContributionsResettled: "cause_paid_on",  # moves made by that payment
    Participant.IncomeDeclared: "declared_on",
    Participant.ProgrammesChanged: "changed_on",
    Participant.DetailsCorrected: "corrected_on",
    Participant.Died: "died_on",
    Participant.Withdrew: "withdrawn_on",
    Participant.PersonalDataErased: "erased_on",
    Participant.ClaimFiled: "filed_on",
    Participant.ClaimApproved: "approved_on",
    Participant.ClaimRejected: "rejected_on",
    Participant.ClaimPaid: "paid_on",
}


def effective_on(event: Any) -> date:
    """The date a participant event takes effect on the business clock."""
    day: date = getattr(event, _EFFECTIVE[type(event)])
    return day


def recorded_by(events: Iterable[Any], at: datetime | None) -> list[Any]:
    """The events recorded at or before `at` (all of them without `at`)."""
    return [e for e in events if at is None or e.timestamp <= at]


def effective_by(events: Iterable[Any], day: date | None) -> list[Any]:
    """The events in effect on `day` (all of them without `day`)."""
    return [e for e in events if day is None or effective_on(e) <= day]


def fold(events: Sequence[Any]) -> Participant:
    """The participant from its events in log order."""
    participant: Any = None
    for event in events:
        participant = event.mutate(participant)
    return participant


def village_on(events: Iterable[Any], day: date) -> str:
    """The village as corrected by `day`: of the corrections dated by then, the one
    recorded last; the enrolled village before any."""
    village = ""
    for event in events:
        corrects = (
            isinstance(event, Participant.DetailsCorrected)
            and event.village is not None
            and event.corrected_on <= day
        )
        if corrects or isinstance(event, Participant.Enrolled):
            village = event.village
    return village


def status_at(
    events: Sequence[Any], rules: RuleBook, *, as_of: date, recorded_at: datetime | None = None
) -> ParticipantStatus:
    """Status on `as_of` from the participant's events recorded by `recorded_at`.

    `status_on` already reads every dated fact by `as_of`; the village is the one fact
    it takes as it stands now, so it is read here by the corrections' own dates."""
    known = recorded_by(events, recorded_at)
    participant = fold(known)
    return replace(status_on(participant, as_of, rules), village=village_on(known, as_of))
