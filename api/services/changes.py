"""Changes to an enrolled participant: income, programmes, details, death, withdrawal.

Each is parsed into its typed command and recorded (`participants.record`), answering
with the log position its transaction reached.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from api.services import participants
from domain.commands import (
    ChangeProgrammes,
    Command,
    CorrectDetails,
    DeclareIncome,
    RecordDeath,
    Withdraw,
)
from domain.errors import ConflictError
from infra.bootstrap import System


@dataclass(frozen=True)
class ChangeAnswer:
    """Whose record changed, and the log position the change reached."""

    participant_id: UUID
    position: int | None
    value: Any = None  # the ledger's answer, where it has one (a claim id, a benefit)

    def as_dict(self) -> dict[str, Any]:
        return {"participant_id": str(self.participant_id), "position": self.position}


@contextmanager
def one_writer() -> Iterator[None]:
    """Two changes to one participant at once: the second one's save collides in the store
    (nothing of it is written), and is answered as a conflict to retry, not a crash."""
    try:
        yield
    except IntegrityError:
        raise ConflictError(
            "concurrent_change", "The participant changed meanwhile; nothing was written, retry."
        ) from None


def change(
    system: System, kind: type[Command], participant_id: UUID, fields: Mapping[str, Any]
) -> ChangeAnswer:
    """Parse and record one command about `participant_id`."""
    with one_writer():
        recorded = participants.record(system, kind, {**fields, "participant_id": participant_id})
    return ChangeAnswer(participant_id, recorded.position, recorded.value)


def declare_income(
    system: System,
    participant_id: UUID,
    *,
    declared_income: int,
    from_month: str,
    declared_on: date | None = None,
) -> ChangeAnswer:
    """A new declared income, from a month on (dues follow its bracket)."""
    return change(
        system,
        DeclareIncome,
        participant_id,
        {"declared_income": declared_income, "from_month": from_month, "declared_on": declared_on},
    )


def change_programmes(
    system: System,
    participant_id: UUID,
    *,
    programmes: Sequence[str],
    from_month: str,
    changed_on: date | None = None,
) -> ChangeAnswer:
    """Join or leave JHT from a month on (JKK and JKM are mandatory)."""
    return change(
        system,
        ChangeProgrammes,
        participant_id,
        {"programmes": "+".join(programmes), "from_month": from_month, "changed_on": changed_on},
    )


def correct_details(
    system: System, participant_id: UUID, *, corrected_on: date | None = None, **changes: Any
) -> ChangeAnswer:
    """Correct personal fields, village, occupation or sex (only those given)."""
    given = {k: v for k, v in changes.items() if v is not None}
    return change(system, CorrectDetails, participant_id, {**given, "corrected_on": corrected_on})


def record_death(system: System, participant_id: UUID, *, died_on: date) -> ChangeAnswer:
    return change(system, RecordDeath, participant_id, {"died_on": died_on})


def withdraw(
    system: System,
    participant_id: UUID,
    *,
    withdrawn_on: date | None = None,
    reason: str = "requested",
) -> ChangeAnswer:
    return change(
        system, Withdraw, participant_id, {"withdrawn_on": withdrawn_on, "reason": reason}
    )
