"""Changes to an enrolled participant: income, programmes, details, death, withdrawal.

Each answers with the log position reached: the head of the log once the change was
saved, which is at or after the change's own position (enough to wait for it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.errors import ConflictError
from infra.bootstrap import System


@dataclass(frozen=True)
class ChangeAnswer:
    """Whose record changed, and a log position at or after the change."""

    participant_id: UUID
    position: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"participant_id": str(self.participant_id), "position": self.position}


@contextmanager
def one_writer() -> Iterator[None]:
    """Two changes to one participant at once: the second one's save collides in the store
    (nothing of it is written), and is answered as a conflict to retry, not a crash."""
    try:
        yield
    except IntegrityError:
        raise ConflictError("concurrent_change",
                            "The participant changed meanwhile; nothing was written, retry.") from None


def _done(system: System, participant_id: UUID) -> ChangeAnswer:
    return ChangeAnswer(participant_id, system.head())


def declare_income(system: System, participant_id: UUID, *, declared_income: int,
                   from_month: str, declared_on: date | None = None) -> ChangeAnswer:
    """A new declared income, from a month on (dues follow its bracket)."""
    with one_writer():
        system.ledger.declare_income(participant_id, declared_income=declared_income,
                                     from_month=from_month, declared_on=declared_on)
    return _done(system, participant_id)


def change_programmes(system: System, participant_id: UUID, *, programmes: Sequence[str],
                      from_month: str, changed_on: date | None = None) -> ChangeAnswer:
    """Join or leave JHT from a month on (JKK and JKM are mandatory)."""
    with one_writer():
        system.ledger.change_programmes(participant_id, programmes=list(programmes),
                                        from_month=from_month, changed_on=changed_on)
    return _done(system, participant_id)


def correct_details(system: System, participant_id: UUID, *, corrected_on: date | None = None,
                    **changes: Any) -> ChangeAnswer:
    """Correct personal fields, village, occupation or sex (only those given)."""
    given = {k: (v.isoformat() if isinstance(v, date) else v)
             for k, v in changes.items() if v is not None}
    with one_writer():
        system.ledger.correct_details(participant_id, corrected_on=corrected_on, **given)
    return _done(system, participant_id)


def record_death(system: System, participant_id: UUID, *, died_on: date) -> ChangeAnswer:
    with one_writer():
        system.ledger.record_death(participant_id, died_on=died_on)
    return _done(system, participant_id)


def withdraw(system: System, participant_id: UUID, *, withdrawn_on: date | None = None,
             reason: str = "requested") -> ChangeAnswer:
    with one_writer():
        system.ledger.withdraw(participant_id, withdrawn_on=withdrawn_on, reason=reason)
    return _done(system, participant_id)
