"""The command routes made from tables (`api.http.command_routes`) document exactly what
the hand-written handlers they replaced documented: the same paths, operation ids,
summaries, descriptions, parameters, request and response schemas and error statuses.
The expectations below were read from /openapi.json before the fold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.http import create_app
from api.http.routes import changes, claims
from infra.settings import Settings

P = "/v1/participants/{participant_id}"
ERRORS = ["201", "400", "401", "403", "404", "409", "422"]
# path, operation id (less "_post"), body, answer, tag, summary, description
EXPECTED = [
    (f"{P}/income", "declare_income", "IncomeIn", "Written", "changes", "Declare Income",
     "A new declared income from a month on."),
    (f"{P}/programmes", "change_programmes", "ProgrammesIn", "Written", "changes",
     "Change Programmes", "Join or leave JHT from a month on."),
    (f"{P}/corrections", "correct_details", "CorrectionIn", "Written", "changes",
     "Correct Details",
     "Correct the given details (personal fields, village, occupation, sex)."),
    (f"{P}/death", "record_death", "DeathIn", "Written", "changes", "Record Death",
     "Record the worker's death (cover ends; a JKM or JKK claim may follow)."),
    (f"{P}/withdrawal", "withdraw", "WithdrawalIn", "Written", "changes", "Withdraw",
     "The worker leaves the scheme."),
    (f"{P}/claims", "file_claim", "ClaimIn", "ClaimWritten", "claims", "File Claim",
     "File a claim (checked against cover on the incident date)."),
    (f"{P}/claims/{{claim_id}}/approval", "approve_claim", "ApprovalIn", "ClaimWritten",
     "claims", "Approve Claim",
     "Approve a filed claim; the benefit follows from the rules (or is assessed)."),
    (f"{P}/claims/{{claim_id}}/rejection", "reject_claim", "RejectionIn", "ClaimWritten",
     "claims", "Reject Claim", "Reject a filed claim, with a reason."),
    (f"{P}/claims/{{claim_id}}/payment", "pay_claim", "ClaimPaymentIn", "ClaimWritten",
     "claims", "Pay Claim", "Pay an approved claim."),
]  # fmt: skip


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder: Path = tmp_path_factory.mktemp("openapi")
    settings = Settings(database_url=f"sqlite:///{folder / 'l.db'}", var_dir=folder / "var")
    schema: dict[str, Any] = create_app(settings, follow=False).openapi()  # no store opened
    return schema


@pytest.mark.parametrize(
    ("path", "name", "body", "answer", "tag", "summary", "description"),
    EXPECTED,
    ids=[row[1] for row in EXPECTED],
)
def test_each_command_route_documents_what_its_handler_did(
    openapi: dict[str, Any],
    path: str,
    name: str,
    body: str,
    answer: str,
    tag: str,
    summary: str,
    description: str,
) -> None:
    (method,) = openapi["paths"][path]
    operation = openapi["paths"][path][method]
    assert method == "post"
    slug = path.replace("{", "_").replace("}", "_").replace("/", "_")
    assert operation["operationId"] == f"{name}{slug}_post"
    assert (operation["summary"], operation["description"], operation["tags"]) == (
        summary,
        description,
        [tag],
    )
    assert [p["name"] for p in operation["parameters"]] == [
        "participant_id",
        *(["claim_id"] if "{claim_id}" in path else []),
    ]
    assert all(
        p["in"] == "path" and p["schema"]["format"] == "uuid" for p in operation["parameters"]
    )
    request = operation["requestBody"]
    assert request["required"] is True
    assert request["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{body}"
    }
    assert sorted(operation["responses"]) == ERRORS
    assert operation["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{answer}"
    }
    for status in ERRORS[1:]:
        assert operation["responses"][status]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert operation["security"] == [{"HTTPBearer": []}]


def test_the_tables_are_every_command_route_and_nothing_else(openapi: dict[str, Any]) -> None:
    routes = {route.name for route in (*changes.ROUTES, *claims.ROUTES)}
    assert routes == {row[1] for row in EXPECTED}
    under_participant = {
        path
        for path in openapi["paths"]
        if path.startswith(f"{P}/")
        and not path.endswith(("/contributions", "/status", "/history", "/erasure"))
    }
    assert under_participant == {row[0] for row in EXPECTED}
