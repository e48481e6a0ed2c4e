"""Keeping the read models caught up inside a long-running process (the HTTP server),
beside other processes that may be doing the same."""

from __future__ import annotations

from api.services.projections import Positions
from infra.bootstrap import System
from projections.runner import ConcurrentRunnerError


def catch_up(system: System) -> tuple[int, Positions]:
    """Apply what the log has beyond the read models; (events applied, where they stand).
    Another process that applied the same page first is no error: it is done."""
    runner = system.runner
    try:
        applied = runner.catch_up()
    except ConcurrentRunnerError:
        applied = 0
    return applied, Positions(runner.head(), runner.position())


def positions(system: System) -> Positions:
    runner = system.runner
    return Positions(runner.head(), runner.position())


def projection_positions(system: System) -> list[tuple[str, int, int]]:
    """(projection, position, head) of each live projection, for metrics."""
    runner = system.runner
    head = runner.head()
    return [(s.name, s.position, head) for s in runner.states() if s.live]
