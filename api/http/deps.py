"""What routes share: the caller's viewer, waiting for a log position, counting commands."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Query, Request

from api.http.errors import ApiProblem
from api.http.follower import Follower
from api.http.metrics import Metrics
from api.http.responses import OrjsonResponse
from api.services import Viewer
from infra.api_keys import ApiKey

# How long a read given `min_position` waits for the read models before answering 503.
MIN_POSITION_WAIT = 2.0
RETRY_AFTER_SECONDS = 1

MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**62,
        description="Answer only once the read models reflect this log position "
        "(a write's `position`); waits briefly, else 503 with Retry-After.",
    ),
]
Reveal = Annotated[
    bool,
    Query(description="Show personal data in the clear (roles that may see it; masked otherwise)."),
]


async def no_unknown_query(request: Request) -> None:
    """422 for a query parameter the route does not take: a misspelt `as_of` must not be
    silently ignored. (A dependency of the whole app.)"""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    known = _QUERY_NAMES.get(id(route))
    if known is None:
        known = _QUERY_NAMES[id(route)] = frozenset(_query_names(getattr(route, "dependant", None)))
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        names = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise ApiProblem(
            422,
            "unknown_parameter",
            f"Unknown query parameter(s): {names}.",
            errors=[
                {
                    "field": name[:40],
                    "in": "query",
                    "message": "Not a parameter of this route.",
                    "type": "unknown_parameter",
                }
                for name in unknown[:20]
            ],
        )


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> Iterator[str]:
    """The query parameters a route takes, its dependencies' included."""
    if dependant is None:
        return
    yield from (field.alias for field in dependant.query_params)
    for inner in dependant.dependencies:
        yield from _query_names(inner)


def viewer(key: ApiKey, reveal: bool = False) -> Viewer:
    return Viewer(role=key.role.value, reveal=reveal)


def follower(request: Request) -> Follower:
    found: Follower = request.app.state.follower
    return found


def reached(request: Request, min_position: int | None) -> bool:
    """Whether the read models reflect `min_position` (waiting briefly for them): True
    with no `min_position`. Reads that can also answer from the events use this."""
    if min_position is None:
        return True
    if follower(request).position >= min_position:
        return True
    head = request.app.state.system.head()
    if min_position > head:  # no write has reached it: waiting would never help
        raise ApiProblem(
            422,
            "position_beyond_log",
            f"Log position {min_position} is beyond the head of the log ({head}).",
            errors=[
                {
                    "field": "min_position",
                    "in": "query",
                    "message": "Beyond the head of the log.",
                    "type": "position_beyond_log",
                }
            ],
        )
    return follower(request).wait_for(min_position, MIN_POSITION_WAIT)


def wait_for(request: Request, min_position: int | None) -> None:
    """503 with Retry-After unless the read models reach `min_position` within the wait."""
    if not reached(request, min_position):
        raise ApiProblem(
            503,
            "projections_behind",
            f"The read models have not reached log position {min_position} yet "
            f"(at {follower(request).position}); retry shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            position=follower(request).position,
        )


def command(request: Request, kind: str) -> None:
    """Names the command this request runs, so its outcome is counted (a refusal is
    counted by the error handler under its code)."""
    request.state.command = kind


def answered(request: Request, body: dict[str, Any], *, created: bool = True) -> OrjsonResponse:
    """A write's answer: 201 when it recorded something, 200 when it was a repeat."""
    repeat = bool(body.get("replayed"))
    metrics: Metrics = request.app.state.metrics
    metrics.command(
        getattr(request.state, "command", "unknown"), "repeat" if repeat else "accepted"
    )
    return OrjsonResponse(body, status_code=200 if repeat or not created else 201)
