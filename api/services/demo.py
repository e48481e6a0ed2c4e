"""The demo's opening: a population to show (seeded when the ledger is empty), the
projections caught up, and a participant worth looking at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.services.progress import Tracker, no_progress
from api.services.projections import catch_up
from api.services.seeding import SeedReport, seed
from infra.bootstrap import System
from projections.queries import busiest_participants


@dataclass(frozen=True)
class DemoStart:
    seeded: SeedReport | None  # None when the ledger already held events
    head: int
    position: int
    sample: str  # the participant with the most contributions

    def as_dict(self) -> dict[str, Any]:
        return {
            "seeded": self.seeded.as_dict() if self.seeded else None,
            "head": self.head,
            "position": self.position,
            "sample": self.sample,
        }


def start(system: System, *, participants: int, tracker: Tracker = no_progress) -> DemoStart:
    """Seed `participants` workers (24 months, seed 7) if the log is empty, then build
    the projections."""
    seeded = None
    if system.head() == 0:
        seeded = seed(system, participants=participants, months=24, seed=7, tracker=tracker)
    positions = catch_up(system, tracker, "building the projections")
    return DemoStart(
        seeded, positions.head, positions.position, busiest_participants(system.views)[0]
    )
