"""The log as a paged feed, for pull-based readers (personal fields left encrypted)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.http.auth import allowed
from api.http.responses import OrjsonResponse
from api.http.schemas import Feed, problems
from api.http.state import SystemDep
from api.services import feed
from infra.api_keys import ApiKey

router = APIRouter(prefix="/v1/events", tags=["events"])

Auditor = Annotated[ApiKey, Depends(allowed("read_feed"))]


@router.get("", response_model=Feed, responses=problems(401, 403, 422))
def events(
    system: SystemDep,
    _: Auditor,
    after: Annotated[int, Query(ge=0, le=2**62, description="A log position.")] = 0,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_PAGE)] = 100,
) -> OrjsonResponse:
    """Events at positions after `after`, oldest first; ask again from `next_after`."""
    return OrjsonResponse(feed.page(system, after=after, limit=limit).as_dict())
