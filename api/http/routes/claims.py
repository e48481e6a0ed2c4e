"""Claims: file, approve, reject, pay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.http.auth import allowed
from api.http.bodies import ApprovalIn, ClaimIn, ClaimPaymentIn, RejectionIn
from api.http.command_routes import CommandRoute, add_command_routes
from api.http.schemas import ClaimWritten
from api.services import claims
from infra.api_keys import ApiKey

router = APIRouter(prefix="/v1/participants/{participant_id}/claims", tags=["claims"])

Officer = Annotated[ApiKey, Depends(allowed("claims"))]

ROUTES = (
    CommandRoute(
        "",
        "file_claim",
        ClaimIn,
        "file_claim",
        claims.file_claim,
        "File a claim (checked against cover on the incident date).",
    ),
    CommandRoute(
        "/{claim_id}/approval",
        "approve_claim",
        ApprovalIn,
        "approve_claim",
        claims.approve_claim,
        "Approve a filed claim; the benefit follows from the rules (or is assessed).",
    ),
    CommandRoute(
        "/{claim_id}/rejection",
        "reject_claim",
        RejectionIn,
        "reject_claim",
        claims.reject_claim,
        "Reject a filed claim, with a reason.",
    ),
    CommandRoute(
        "/{claim_id}/payment",
        "pay_claim",
        ClaimPaymentIn,
        "pay_claim",
        claims.pay_claim,
        "Pay an approved claim.",
    ),
)

add_command_routes(router, ROUTES, guard=Officer, response_model=ClaimWritten)
