"""A participant's status for callers that want it fast: from the `participant_status`
read model when it may answer, else from the events (`participants.status`).

The read model knows the present only: it answers for today, when its row exists, when
the caller does not ask to see personal data and when the caller's `min_position` is
reached (the HTTP layer waits for that). Anything else is answered from the events.
Either way the answer says where it came from and the log position it reflects.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from api.services import participants
from api.services.viewer import Viewer
from infra.bootstrap import System
from projections.queries import participant_row

_FROM_ROW = (
    "participant_id",
    "status",
    "paid_through",
    "arrears_months",
    "village",
    "segment",
    "enrolled_on",
    "declared_income",
    "open_claims",
    "died_on",
    "withdrawn_on",
    "position",
)


def status(
    system: System,
    nik_or_id: str,
    *,
    as_of: str | None = None,
    viewer: Viewer,
    read_model: bool = True,
) -> dict[str, Any]:
    """The status on `as_of` (default today), with `source` and `position`."""
    today = system.ledger.today()
    if read_model and not viewer.sees_personal_data and as_of in (None, today.isoformat()):
        # A participant id is looked up in the row alone (resolving it would read the
        # participant's events: the cost this path exists to avoid); a NIK is resolved.
        participant_id = _uuid(nik_or_id) or participants.resolve(system, nik_or_id)
        row = participant_row(system.views, str(participant_id), today, system.ledger.rules)
        if row is not None:
            return _from_row(row, today)
    participant_id = participants.resolve(system, nik_or_id)
    head = system.head()
    body = participants.status(system, str(participant_id), as_of=as_of, viewer=viewer).as_dict()
    body["participant_id"] = str(body["participant_id"])
    return {**body, "source": "events", "position": head}


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text.strip())
    except ValueError:
        return None


def _from_row(row: dict[str, Any], day: date) -> dict[str, Any]:
    body = {k: row[k] for k in _FROM_ROW}
    body.update(
        as_of=day.isoformat(),
        programmes=row["programmes"].split("+"),
        erased=row["erased_on"] is not None,
        source="read_model",
    )
    return body
