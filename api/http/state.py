"""What routes reach through the app: the system the lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from infra.bootstrap import System


async def system(request: Request) -> System:
    found: System = request.app.state.system
    return found


SystemDep = Annotated[System, Depends(system)]
