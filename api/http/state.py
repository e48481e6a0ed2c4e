"""What the API's lifespan builds, and the dependencies routes use to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from domain.ledger import Ledger
from infra.bootstrap import build_ledger, build_runner, build_view_store, close_ledger
from infra.settings import Settings
from projections.runner import ConcurrentRunnerError, ProjectionRunner
from projections.store import ViewStore


@dataclass
class ApiSystem:
    """The running system as the API uses it."""

    ledger: Ledger
    views: ViewStore
    runner: ProjectionRunner

    def catch_up(self) -> int:
        try:
            return self.runner.catch_up()
        except ConcurrentRunnerError:  # another worker process applied that page
            return 0

    def position(self) -> int:
        return self.runner.position()

    def head(self) -> int:
        return self.runner.head()

    def projection_positions(self) -> list[tuple[str, int, int]]:
        head = self.runner.head()
        return [(s.name, s.position, head) for s in self.runner.states() if s.live]

    def close(self) -> None:
        try:
            self.views.close()
        finally:
            close_ledger(self.ledger)


def open_system(settings: Settings) -> ApiSystem:
    ledger = build_ledger(settings)
    views = build_view_store(settings)
    return ApiSystem(ledger, views, build_runner(ledger, views, settings=settings))


def system(request: Request) -> ApiSystem:
    found: ApiSystem = request.app.state.system
    return found


SystemDep = Annotated[ApiSystem, Depends(system)]
