"""Coverage counts (the CLI's filters), a month-by-month series, the national target."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from api.http.auth import allowed
from api.http.bodies import Month
from api.http.deps import MinPosition, wait_for
from api.http.responses import OrjsonResponse
from api.http.schemas import Coverage, problems
from api.http.state import SystemDep
from api.services import coverage as coverage_service
from api.services import series as series_service
from infra.api_keys import ApiKey

router = APIRouter(prefix="/v1/coverage", tags=["coverage"])

Reporter = Annotated[ApiKey, Depends(allowed("read_coverage"))]
Level = Literal["nation", "province", "regency", "district", "village"]
Region = Annotated[
    str | None,
    Query(max_length=16, pattern=r"^[0-9.]*$", description="A region code: 32, 32.76, 3276 ..."),
]
Programme = Annotated[Literal["JKK", "JKM", "JHT"] | None, Query()]
READ = problems(401, 403, 422, 503)


@router.get("", response_model=Coverage, responses=READ)
def coverage(
    request: Request,
    system: SystemDep,
    _: Reporter,
    period: Annotated[Month | None, Query()] = None,
    level: Level = "nation",
    region: Region = None,
    programme: Programme = None,
    as_of: Annotated[
        str | None,
        Query(
            max_length=40,
            description="The business date (YYYY-MM-DD): the facts in "
            "effect by then, whenever recorded.",
        ),
    ] = None,
    recorded_at: Annotated[
        str | None,
        Query(
            max_length=40,
            description="The recording time (ISO timestamp, UTC unless "
            "it says; a date means its end): what the log held then.",
        ),
    ] = None,
    min_position: MinPosition = None,
) -> OrjsonResponse:
    """Active participants per region for a month (default this month), with activity;
    live, or on the business clock (`as_of`), the recording clock (`recorded_at`) or both,
    from the `coverage_log` read model (no replay)."""
    wait_for(request, min_position)
    answer = coverage_service.coverage(
        system,
        period=period,
        level=level,
        region=region,
        programme=programme,
        as_of=as_of,
        recorded_at=recorded_at,
        catch_up_first=False,
    )
    return OrjsonResponse(answer.as_dict())


@router.get("/series", responses=READ)
def series(
    request: Request,
    system: SystemDep,
    _: Reporter,
    start: Annotated[Month, Query(alias="from")],
    end: Annotated[Month, Query(alias="to")],
    region: Region = None,
    programme: Programme = None,
    min_position: MinPosition = None,
) -> OrjsonResponse:
    """Month by month, the active participants of one region (the nation by default)."""
    wait_for(request, min_position)
    answer = series_service.series(system, start=start, end=end, region=region, programme=programme)
    return OrjsonResponse(answer.as_dict())


@router.get("/target", responses=READ)
def target(
    request: Request,
    system: SystemDep,
    _: Reporter,
    period: Annotated[Month | None, Query()] = None,
    min_position: MinPosition = None,
) -> OrjsonResponse:
    """Progress to the national target of active participants."""
    wait_for(request, min_position)
    answer = coverage_service.coverage(system, period=period, catch_up_first=False)
    body = answer.as_dict()
    return OrjsonResponse(
        {
            "position": body["position"],
            "period": body["period"],
            **(body.get("national_target") or {}),
        }
    )
