"""Field agents' offline batches: each command answered on its own, in the order sent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import TypeAdapter, ValidationError

from api.http.auth import allowed, may
from api.http.bodies import BatchCommand, BatchIn
from api.http.errors import ledger_problem, problem_body, status_of, validation_problem
from api.http.metrics import Metrics
from api.http.responses import OrjsonResponse
from api.http.schemas import BatchAnswer, problems
from api.http.state import SystemDep
from api.services import batches
from infra.api_keys import ApiKey

router = APIRouter(prefix="/v1/batches", tags=["batches"])

Batcher = Annotated[ApiKey, Depends(allowed("batch"))]
_COMMAND = TypeAdapter(BatchCommand)
_ACTION = {"enrollment": "enroll", "contribution": "contribute"}


@router.post("", response_model=BatchAnswer, responses=problems(400, 401, 403, 422))
def run_batch(body: BatchIn, request: Request, system: SystemDep, key: Batcher) -> OrjsonResponse:
    """Run a device's commands. Each result carries the status that command alone would
    get (201 accepted, 200 a repeat or already recorded, 409 a changed resubmission,
    4xx refused) and its `position` or `problem`."""
    metrics: Metrics = request.app.state.metrics
    results: list[dict[str, Any] | None] = [None] * len(body.commands)
    runnable: list[tuple[int, batches.Command]] = []
    for index, raw in enumerate(body.commands):
        command_id = raw.get("command_id")
        named = command_id if isinstance(command_id, str) else None
        try:
            item = _COMMAND.validate_python(raw)
        except ValidationError as error:
            problem = validation_problem(error.errors(include_input=False))
            results[index] = {"command_id": named, "status": problem["status"], "problem": problem}
            metrics.command("batch", "validation_error")
            continue
        if not may(key.role, _ACTION[item.kind]):
            results[index] = {
                "command_id": str(item.command_id),
                "status": 403,
                "problem": problem_body(
                    403,
                    "forbidden",
                    f"The role '{key.role.value}' may not send {item.kind} commands.",
                ),
            }
            metrics.command(f"batch_{item.kind}", "forbidden")
            continue
        fields = item.model_dump(mode="json", exclude={"kind", "command_id", "captured_at"})
        if item.kind == "enrollment":
            fields["programmes"] = "+".join(fields["programmes"])
        runnable.append(
            (index, batches.Command(item.command_id, item.kind, item.captured_at, fields))
        )
    outcomes = batches.run(system, [command for _, command in runnable])
    for (index, command), outcome in zip(runnable, outcomes, strict=True):
        results[index] = _result(outcome)
        metrics.command(
            f"batch_{command.kind}",
            outcome.error.code
            if outcome.error
            else "repeat"
            if outcome.repeat
            else outcome.outcome,
        )
    return OrjsonResponse({"results": results})


def _result(outcome: batches.Outcome) -> dict[str, Any]:
    if outcome.error is not None:
        status, _ = status_of(outcome.error)
        return {
            "command_id": str(outcome.command_id),
            "status": status,
            "problem": ledger_problem(outcome.error),
        }
    status = 201 if outcome.outcome == "accepted" and not outcome.repeat else 200
    return {
        "command_id": str(outcome.command_id),
        "status": status,
        "position": outcome.position,
        "outcome": outcome.outcome,
        "repeat": outcome.repeat,
        "answer": outcome.answer,
    }
