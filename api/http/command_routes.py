"""POST routes that record one command about a participant, from a table.

Every such route is the same three steps: parse the body, call one service with the ids in
the path and the body's fields, answer with the position reached (201, or 200 for a
repeat). `routes/changes.py` and `routes/claims.py` list their commands as `CommandRoute`
rows and `add_command_routes` makes each row a route: the same path, operation id,
summary, description, request and response schemas and error statuses that a handler
written out by hand would document (`tests/unit/test_command_routes.py` holds them to it).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.http.deps import answered, command
from api.http.responses import OrjsonResponse
from api.http.schemas import problems
from api.http.state import SystemDep


@dataclass(frozen=True)
class CommandRoute:
    """One command's route under a router whose prefix names `{participant_id}`."""

    path: str  # under the prefix; each `{name_id}` in it is a UUID passed on to the service
    name: str  # the handler's name: the operation id and summary follow from it
    body: type[BaseModel]  # its fields are the service's keyword arguments
    metric: str  # the command's name in `ledger_commands_total`
    service: Callable[..., Any]  # (system, participant_id, *path ids, **fields) -> answer
    doc: str  # the operation's description


def add_command_routes(
    router: APIRouter,
    routes: Iterable[CommandRoute],
    *,
    guard: Any,
    response_model: type[BaseModel],
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> None:
    """Add each row of `routes` to `router` as a POST answering 201 with `response_model`
    (`responses`: the problems it may answer, by default those of any write); `guard` is
    the caller's dependency (`Annotated[ApiKey, Depends(allowed(...))]`)."""
    responses = problems(400, 401, 403, 404, 409, 422) if responses is None else responses
    for route in routes:
        router.add_api_route(
            route.path,
            _endpoint(route, guard),
            methods=["POST"],
            name=route.name,
            status_code=201,
            response_model=response_model,
            responses=responses,
        )


def _endpoint(route: CommandRoute, guard: Any) -> Callable[..., OrjsonResponse]:
    """The route's handler, with the signature FastAPI reads its parameters from."""
    ids = ["participant_id", *re.findall(r"\{(\w+)\}", route.path)]

    def endpoint(**given: Any) -> OrjsonResponse:
        request: Request = given["request"]
        command(request, route.metric)
        fields = given["body"].model_dump(exclude_none=True)  # unset: the service's default
        answer = route.service(given["system"], *(given[name] for name in ids), **fields)
        return answered(request, answer.as_dict())

    keyword = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            *(inspect.Parameter(name, keyword, annotation=UUID) for name in ids),
            inspect.Parameter("body", keyword, annotation=route.body),
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter("system", keyword, annotation=SystemDep),
            inspect.Parameter("_", keyword, annotation=guard),
        ],
        return_annotation=OrjsonResponse,
    )
    endpoint.__name__ = endpoint.__qualname__ = route.name
    endpoint.__doc__ = route.doc
    return endpoint
