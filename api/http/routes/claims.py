"""Claims: file, approve, reject, pay."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from api.http.auth import allowed
from api.http.bodies import ApprovalIn, ClaimIn, ClaimPaymentIn, RejectionIn
from api.http.deps import answered, command
from api.http.responses import OrjsonResponse
from api.http.schemas import ClaimWritten, problems
from api.http.state import SystemDep
from api.services import claims
from infra.api_keys import ApiKey

router = APIRouter(prefix="/v1/participants/{participant_id}/claims", tags=["claims"])

Officer = Annotated[ApiKey, Depends(allowed("claims"))]
WRITE = problems(400, 401, 403, 404, 409, 422)


@router.post("", status_code=201, response_model=ClaimWritten, responses=WRITE)
def file_claim(
    participant_id: UUID, body: ClaimIn, request: Request, system: SystemDep, _: Officer
) -> OrjsonResponse:
    """File a claim (checked against cover on the incident date)."""
    command(request, "file_claim")
    return answered(
        request,
        claims.file_claim(
            system,
            participant_id,
            programme=body.programme,
            kind=body.kind,
            incident_date=body.incident_date,
            filed_on=body.filed_on,
            work_related=body.work_related,
            description=body.description,
        ).as_dict(),
    )


@router.post("/{claim_id}/approval", status_code=201, response_model=ClaimWritten, responses=WRITE)
def approve_claim(
    participant_id: UUID,
    claim_id: UUID,
    body: ApprovalIn,
    request: Request,
    system: SystemDep,
    _: Officer,
) -> OrjsonResponse:
    """Approve a filed claim; the benefit follows from the rules (or is assessed)."""
    command(request, "approve_claim")
    return answered(
        request,
        claims.approve_claim(
            system, participant_id, claim_id, approved_on=body.approved_on, amount=body.amount
        ).as_dict(),
    )


@router.post("/{claim_id}/rejection", status_code=201, response_model=ClaimWritten, responses=WRITE)
def reject_claim(
    participant_id: UUID,
    claim_id: UUID,
    body: RejectionIn,
    request: Request,
    system: SystemDep,
    _: Officer,
) -> OrjsonResponse:
    """Reject a filed claim, with a reason."""
    command(request, "reject_claim")
    return answered(
        request,
        claims.reject_claim(
            system, participant_id, claim_id, reason=body.reason, rejected_on=body.rejected_on
        ).as_dict(),
    )


@router.post("/{claim_id}/payment", status_code=201, response_model=ClaimWritten, responses=WRITE)
def pay_claim(
    participant_id: UUID,
    claim_id: UUID,
    body: ClaimPaymentIn,
    request: Request,
    system: SystemDep,
    _: Officer,
) -> OrjsonResponse:
    """Pay an approved claim."""
    command(request, "pay_claim")
    return answered(
        request, claims.pay_claim(system, participant_id, claim_id, paid_on=body.paid_on).as_dict()
    )
