"""The read models' administration: catch up, follow the log, rebuild, report status."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.services.progress import Tracker, no_progress
from domain.errors import InvalidInputError
from infra.bootstrap import System

# Below this many positions behind, catching up is quick: no progress is reported.
QUIET_CATCH_UP = 20_000


@dataclass(frozen=True)
class Positions:
    """Where the log's head and the projections stand."""

    head: int
    position: int

    def as_dict(self) -> dict[str, Any]:
        return {"head": self.head, "position": self.position}


def catch_up(
    system: System, tracker: Tracker = no_progress, label: str = "catching up"
) -> Positions:
    """Bring the projections to the head of the log."""
    runner = system.runner
    behind = runner.head() - runner.position()
    if behind >= QUIET_CATCH_UP:
        with tracker(label, runner.head()) as update:
            runner.catch_up(progress=update)
    elif behind > 0:
        runner.catch_up()
    return Positions(runner.head(), runner.position())


def follow(
    system: System,
    *,
    poll: float = 0.2,
    tracker: Tracker = no_progress,
    started: Callable[[int, str], None] = lambda position, store: None,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Catch up, then apply the log as it grows until `stop()` says so (after a page) or
    KeyboardInterrupt; `started` hears the position and the store it follows from.
    Returns where it stopped. Each page is one transaction, so stopping anywhere keeps
    every page applied exactly once."""
    runner = system.runner
    with contextlib.suppress(KeyboardInterrupt):
        catch_up(system, tracker)
        started(runner.position(), system.views.describe())
        runner.run_forever(poll_seconds=poll, stop=stop)
    return runner.position()


class UnknownProjectionError(InvalidInputError):
    """A projection name that is not one of the system's."""


@dataclass(frozen=True)
class RebuildAnswer:
    """The generation of each rebuilt projection, now live."""

    generations: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"generations": dict(self.generations)}


def rebuild(
    system: System, name: str | None = None, tracker: Tracker = no_progress
) -> RebuildAnswer:
    """Replay the whole log into fresh tables (one projection, or all), then swap them in."""
    runner = system.runner
    if name is not None and name not in runner.projections:
        raise UnknownProjectionError(
            "unknown_projection",
            f"unknown projection {name}; one of {', '.join(runner.projections)}",
        )
    with tracker(f"rebuilding {name or 'all'}", runner.head()) as update:
        generations = runner.rebuild([name] if name else None, progress=update)
    return RebuildAnswer(generations)


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    generation: int
    live: bool
    position: int
    head: int
    lag: int
    updated_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "generation": self.generation,
            "live": self.live,
            "position": self.position,
            "head": self.head,
            "lag": self.lag,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class StatusAnswer:
    """Each projection's generation, position and lag behind the log."""

    projections: list[ProjectionStatus]

    def as_dict(self) -> dict[str, Any]:
        return {"projections": self.as_rows()}

    def as_rows(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.projections]


def status(system: System) -> StatusAnswer:
    runner = system.runner
    head = runner.head()
    return StatusAnswer(
        [
            ProjectionStatus(
                s.name, s.generation, s.live, s.position, head, head - s.position, s.updated_at
            )
            for s in runner.states()
        ]
    )
