"""Changes to an enrolled worker: income, programmes, details, death, withdrawal."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from api.http.auth import allowed
from api.http.bodies import CorrectionIn, DeathIn, IncomeIn, ProgrammesIn, WithdrawalIn
from api.http.deps import answered, command
from api.http.responses import OrjsonResponse
from api.http.schemas import Written, problems
from api.http.state import SystemDep
from api.services import changes
from infra.api_keys import ApiKey

router = APIRouter(prefix="/v1/participants/{participant_id}", tags=["changes"])

Registrar = Annotated[ApiKey, Depends(allowed("correct"))]
WRITE = problems(400, 401, 403, 404, 409, 422)


@router.post("/income", status_code=201, response_model=Written, responses=WRITE)
def declare_income(
    participant_id: UUID, body: IncomeIn, request: Request, system: SystemDep, _: Registrar
) -> OrjsonResponse:
    """A new declared income from a month on."""
    command(request, "declare_income")
    return answered(
        request,
        changes.declare_income(
            system,
            participant_id,
            declared_income=body.declared_income,
            from_month=body.from_month,
            declared_on=body.declared_on,
        ).as_dict(),
    )


@router.post("/programmes", status_code=201, response_model=Written, responses=WRITE)
def change_programmes(
    participant_id: UUID, body: ProgrammesIn, request: Request, system: SystemDep, _: Registrar
) -> OrjsonResponse:
    """Join or leave JHT from a month on."""
    command(request, "change_programmes")
    return answered(
        request,
        changes.change_programmes(
            system,
            participant_id,
            programmes=body.programmes,
            from_month=body.from_month,
            changed_on=body.changed_on,
        ).as_dict(),
    )


@router.post("/corrections", status_code=201, response_model=Written, responses=WRITE)
def correct_details(
    participant_id: UUID, body: CorrectionIn, request: Request, system: SystemDep, _: Registrar
) -> OrjsonResponse:
    """Correct the given details (personal fields, village, occupation, sex)."""
    command(request, "correct_details")
    fields = body.model_dump(exclude={"corrected_on"}, exclude_none=True)
    return answered(
        request,
        changes.correct_details(
            system, participant_id, corrected_on=body.corrected_on, **fields
        ).as_dict(),
    )


@router.post("/death", status_code=201, response_model=Written, responses=WRITE)
def record_death(
    participant_id: UUID, body: DeathIn, request: Request, system: SystemDep, _: Registrar
) -> OrjsonResponse:
    """Record the worker's death (cover ends; a JKM or JKK claim may follow)."""
    command(request, "death")
    return answered(
        request, changes.record_death(system, participant_id, died_on=body.died_on).as_dict()
    )


@router.post("/withdrawal", status_code=201, response_model=Written, responses=WRITE)
def withdraw(
    participant_id: UUID, body: WithdrawalIn, request: Request, system: SystemDep, _: Registrar
) -> OrjsonResponse:
    """The worker leaves the scheme."""
    command(request, "withdrawal")
    return answered(
        request,
        changes.withdraw(
            system, participant_id, withdrawn_on=body.withdrawn_on, reason=body.reason
        ).as_dict(),
    )
