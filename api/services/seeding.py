"""A synthetic population recorded through the ledger's own commands (`ledger seed`)."""

from __future__ import annotations

from api.services.progress import Tracker, no_progress
from infra.bootstrap import System
from tools.seed import SeedReport, seed_population

__all__ = ["SeedReport", "seed"]


def seed(
    system: System, *, participants: int, months: int, seed: int, tracker: Tracker = no_progress
) -> SeedReport:
    """Seed `participants` workers with `months` months of history, up to this month.
    The same seed gives the same history; meant for an empty ledger."""
    with tracker("seeding", None) as update:
        return seed_population(
            system.ledger, participants=participants, months=months, seed=seed, progress=update
        )
