"""Liveness, readiness and metrics: no API key needed (keep them on the internal network)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.http.errors import ApiProblem
from api.http.metrics import CONTENT_TYPE, Metrics
from api.http.responses import OrjsonResponse
from api.http.schemas import Health, Readiness, problems
from api.http.state import SystemDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz() -> OrjsonResponse:
    """The process is up and answering."""
    return OrjsonResponse({"status": "ok"})


@router.get("/readyz", response_model=Readiness, responses=problems(503))
def readyz(request: Request, system: SystemDep) -> OrjsonResponse:
    """The store answers and the read models are within the lag bound."""
    head = system.head()
    position = request.app.state.follower.position
    bound = request.app.state.settings.api_ready_lag
    if head - position > bound:
        raise ApiProblem(
            503,
            "projections_behind",
            f"The read models are {head - position:,} positions behind the log (bound {bound:,}).",
            headers={"Retry-After": "5"},
            head=head,
            position=position,
        )
    return OrjsonResponse(
        {"status": "ready", "head": head, "position": position, "lag": head - position}
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
            "description": "Prometheus text format.",
        }
    },
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: request latency by route, commands by outcome, projections."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)
