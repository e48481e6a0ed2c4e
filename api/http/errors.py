"""Every error the API answers, as an RFC 9457 problem document, mapped here once.

Our own handlers rather than a problem-details package: they are a few dozen lines, they
give every problem the ledger's stable `code`, and `fastapi-problem` 0.12 breaks
`/openapi.json` when a route documents a 422 (checked, ../shared/LIBRARIES.md).

The statuses by kind of `LedgerError` (`domain/errors.py`):

| kind | status | why |
| --- | --- | --- |
| `NotFoundError` | 404 | no participant or claim has that id |
| `ConflictError` | 409 | contradicts what the ledger holds (NIK enrolled, payment ref reused) |
| `InvalidInputError` | 422 | well-formed JSON whose content is wrong (bad NIK, unknown village) |
| `RuleViolationError` | 422 | valid input the scheme's rules refuse (claim outside cover) |

Schema violations found by FastAPI are 422 too (one rule: "your content is wrong" is 422);
a body that is not JSON at all is 400. Nothing a caller sends reaches the last-resort
handler: it answers 500 with no detail and logs the exception for the operator.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.http.responses import ProblemResponse
from domain.errors import (
    ConflictError,
    InvalidInputError,
    LedgerError,
    NotFoundError,
    RuleViolationError,
)

log = logging.getLogger("api.http")

# Most specific first: the first class an error is an instance of decides.
LEDGER_ERROR_STATUS: tuple[tuple[type[LedgerError], int, str], ...] = (
    (NotFoundError, 404, "Not found"),
    (ConflictError, 409, "Conflict with the recorded facts"),
    (InvalidInputError, 422, "Invalid input"),
    (RuleViolationError, 422, "Refused by the scheme's rules"),
    (LedgerError, 422, "Refused"),
)

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}
_TITLE_BY_STATUS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class ApiProblem(Exception):
    """A refusal made by the HTTP layer itself (authentication, roles, not ready yet)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = dict(headers or {})
        self.extra = extra


def status_of(error: LedgerError) -> tuple[int, str]:
    """The HTTP status and title for a refusal by the ledger."""
    for kind, status, title in LEDGER_ERROR_STATUS:
        if isinstance(error, kind):
            return status, title
    raise AssertionError("LedgerError is the last row")  # pragma: no cover


def problem_body(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The problem document (RFC 9457), with the ledger's stable `code` as an extension."""
    body: dict[str, Any] = {
        "type": f"urn:ledger:problem:{code}",
        "title": title or _TITLE_BY_STATUS.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    return body


def ledger_problem(error: LedgerError) -> dict[str, Any]:
    """A ledger refusal as a problem document (also used per command in a batch)."""
    status, title = status_of(error)
    return problem_body(status, error.code, error.message, title=title)


def validation_problem(errors: Sequence[Any]) -> dict[str, Any]:
    """FastAPI's validation errors, each naming its field; the input is never echoed
    (it may be a NIK)."""
    fields = []
    for e in errors:
        location = [str(part) for part in e.get("loc", ())]
        where = location[0] if location else "body"
        path = location[1:] if where in ("body", "query", "path", "header") else location
        fields.append(
            {
                "field": ".".join(path) or where,
                "in": where,
                "message": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
        )
    if any(f["type"] == "json_invalid" for f in fields):
        return problem_body(
            400, "malformed_body", "The request body is not valid JSON.", errors=fields
        )
    named = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return problem_body(422, "validation_error", named or "The request is invalid.", errors=fields)


def _respond(
    request: Request, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> ProblemResponse:
    body.setdefault("instance", request.url.path)
    return ProblemResponse(body, status_code=body["status"], headers=dict(headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: every error leaves as `application/problem+json`."""

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, exc: LedgerError) -> ProblemResponse:
        kind = getattr(request.state, "command", None)
        if kind is not None:
            request.app.state.metrics.command(kind, exc.code)
        return _respond(request, ledger_problem(exc))

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> ProblemResponse:
        return _respond(
            request, problem_body(exc.status, exc.code, exc.detail, **exc.extra), exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> ProblemResponse:
        return _respond(request, validation_problem(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        code = _CODE_BY_STATUS.get(exc.status_code, f"http_{exc.status_code}")
        detail = (
            exc.detail
            if isinstance(exc.detail, str)
            else _TITLE_BY_STATUS.get(exc.status_code, "Error")
        )
        return _respond(request, problem_body(exc.status_code, code, detail), exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> ProblemResponse:
        # The one place a bug surfaces: the operator gets the traceback, the caller nothing.
        log.error("unexpected error on %s %s", request.method, _route_of(request), exc_info=exc)
        return _respond(
            request,
            problem_body(
                500, "internal_error", "The ledger could not answer; the error is logged."
            ),
        )


def _route_of(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "(unmatched)")


def document_problems(app: FastAPI) -> None:
    """Make /openapi.json say what the handlers do: every 4xx and 5xx response is
    `application/problem+json` with the `Problem` schema (FastAPI would document its own
    validation error body as `application/json`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if status[:1] in ("4", "5"):
                        response["content"] = {"application/problem+json": problem}
        components = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
