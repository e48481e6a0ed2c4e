"""Changes to an enrolled worker: income, programmes, details, death, withdrawal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.http.auth import allowed
from api.http.bodies import CorrectionIn, DeathIn, IncomeIn, ProgrammesIn, WithdrawalIn
from api.http.command_routes import CommandRoute, add_command_routes
from api.http.schemas import Written
from api.services import changes
from infra.api_keys import ApiKey

router = APIRouter(prefix="/v1/participants/{participant_id}", tags=["changes"])

Registrar = Annotated[ApiKey, Depends(allowed("correct"))]

ROUTES = (
    CommandRoute(
        "/income",
        "declare_income",
        IncomeIn,
        "declare_income",
        changes.declare_income,
        "A new declared income from a month on.",
    ),
    CommandRoute(
        "/programmes",
        "change_programmes",
        ProgrammesIn,
        "change_programmes",
        changes.change_programmes,
        "Join or leave JHT from a month on.",
    ),
    CommandRoute(
        "/corrections",
        "correct_details",
        CorrectionIn,
        "correct_details",
        changes.correct_details,
        "Correct the given details (personal fields, village, occupation, sex).",
    ),
    CommandRoute(
        "/death",
        "record_death",
        DeathIn,
        "death",
        changes.record_death,
        "Record the worker's death (cover ends; a JKM or JKK claim may follow).",
    ),
    CommandRoute(
        "/withdrawal",
        "withdraw",
        WithdrawalIn,
        "withdrawal",
        changes.withdraw,
        "The worker leaves the scheme.",
    ),
)

add_command_routes(router, ROUTES, guard=Registrar, response_model=Written)
