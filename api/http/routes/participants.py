"""Participants: enroll, look up, status, history, contributions, erasure."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from api.http.auth import allowed
from api.http.bodies import ContributionIn, EnrollmentIn
from api.http.deps import MinPosition, Reveal, answered, command, reached, viewer
from api.http.responses import OrjsonResponse
from api.http.schemas import Enrolled, History, Paid, Status, Written, problems
from api.http.state import SystemDep
from api.services import participants, standing
from infra.api_keys import ApiKey

router = APIRouter(prefix="/v1/participants", tags=["participants"])

Enroller = Annotated[ApiKey, Depends(allowed("enroll"))]
Collector = Annotated[ApiKey, Depends(allowed("contribute"))]
Reader = Annotated[ApiKey, Depends(allowed("read_participant"))]
HistoryReader = Annotated[ApiKey, Depends(allowed("read_history"))]
Eraser = Annotated[ApiKey, Depends(allowed("erase"))]
AsOf = Annotated[date | None, Query(description="A day, YYYY-MM-DD: as the ledger knew it then.")]

READ = problems(401, 403, 404, 422, 503)
WRITE = problems(400, 401, 403, 404, 409, 422)


@router.post(
    "",
    status_code=201,
    response_model=Enrolled,
    responses={200: {"model": Enrolled, "description": "Already enrolled, same facts."}, **WRITE},
)
def enroll(body: EnrollmentIn, request: Request, system: SystemDep, _: Enroller) -> OrjsonResponse:
    """Enroll a worker (201), or answer the earlier enrollment of the same facts (200)."""
    command(request, "enroll")
    fields = body.model_dump(mode="json")
    fields["programmes"] = "+".join(body.programmes)
    return answered(request, participants.enroll(system, fields).as_dict())


@router.get("", response_model=Status, responses=READ)
def look_up(
    request: Request,
    system: SystemDep,
    key: Reader,
    nik: Annotated[str, Query(max_length=64, description="The worker's NIK.")],
    min_position: MinPosition = None,
    reveal: Reveal = False,
) -> OrjsonResponse:
    """Find a worker by NIK (a query parameter: never in a path, never logged)."""
    return _status(request, system, key, nik, None, min_position, reveal)


@router.get("/{participant_id}", response_model=Status, responses=READ)
def read(
    participant_id: UUID,
    request: Request,
    system: SystemDep,
    key: Reader,
    min_position: MinPosition = None,
    reveal: Reveal = False,
) -> OrjsonResponse:
    """A worker's status today."""
    return _status(request, system, key, str(participant_id), None, min_position, reveal)


@router.get("/{participant_id}/status", response_model=Status, responses=READ)
def status(
    participant_id: UUID,
    request: Request,
    system: SystemDep,
    key: Reader,
    as_of: AsOf = None,
    min_position: MinPosition = None,
    reveal: Reveal = False,
) -> OrjsonResponse:
    """Is this worker covered? From the read model when it has caught up to
    `min_position`, else from the events (and always from them for a past `as_of`)."""
    day = as_of.isoformat() if as_of else None
    return _status(request, system, key, str(participant_id), day, min_position, reveal)


def _status(
    request: Request,
    system: SystemDep,
    key: ApiKey,
    nik_or_id: str,
    as_of: str | None,
    min_position: int | None,
    reveal: bool,
) -> OrjsonResponse:
    caught_up = reached(request, min_position)
    return OrjsonResponse(
        standing.status(
            system, nik_or_id, as_of=as_of, viewer=viewer(key, reveal), read_model=caught_up
        )
    )


@router.get("/{participant_id}/history", response_model=History, responses=READ)
def history(
    participant_id: UUID, system: SystemDep, key: HistoryReader, reveal: Reveal = False
) -> OrjsonResponse:
    """Every recorded fact, oldest first; personal fields masked unless revealed to a
    role that may see them."""
    answer = participants.history(system, str(participant_id), viewer=viewer(key, reveal))
    return OrjsonResponse(answer.as_dict())


@router.post(
    "/{participant_id}/contributions",
    status_code=201,
    response_model=Paid,
    responses={200: {"model": Paid, "description": "This payment was recorded before."}, **WRITE},
)
def contribute(
    participant_id: UUID, body: ContributionIn, request: Request, system: SystemDep, _: Collector
) -> OrjsonResponse:
    """Record a contribution; the payment reference makes it idempotent."""
    command(request, "contribution")
    answer = participants.pay(
        system,
        str(participant_id),
        amount=body.amount,
        payment_ref=body.payment_ref,
        paid_on=body.paid_on.isoformat() if body.paid_on else None,
        channel=body.channel,
        agent_id=body.agent_id,
    )
    return answered(request, answer.as_dict())


@router.post("/{participant_id}/erasure", response_model=Written, responses=WRITE)
def erase(participant_id: UUID, request: Request, system: SystemDep, _: Eraser) -> OrjsonResponse:
    """Erase the worker's personal data (destroys the keys; the record stays)."""
    command(request, "erasure")
    return answered(
        request, participants.erase(system, str(participant_id)).as_dict(), created=False
    )
