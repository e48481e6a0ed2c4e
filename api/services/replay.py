"""The projections as they stood at a past point, for audits; and live against a replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.services.moments import month_or_this, parse_moment
from api.services.progress import Tracker, no_progress
from domain.errors import InvalidInputError
from infra.bootstrap import System, all_projections, replay_into, scratch_views
from projections.queries import compare as compare_stores
from projections.queries import coverage


@dataclass(frozen=True)
class ReplayAnswer:
    """Where a replay stopped and the month's active count it gives; with `compared`,
    how the live projections differ from it (empty: equal row for row)."""

    position: int
    recorded_at: str | None  # the events recorded by then (ISO), when asked for
    period: str
    active: int
    by_programme: dict[str, int]
    compared: bool = False
    differences: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "position": self.position,
            "recorded_at": self.recorded_at,
            "period": self.period,
            "active": self.active,
            "by_programme": self.by_programme,
        }
        if self.compared:
            body["compared"] = True
            body["differences"] = self.differences
        return body


def replay(
    system: System,
    *,
    until_position: int | None = None,
    recorded_at: str | None = None,
    compare: bool = False,
    period: str | None = None,
    tracker: Tracker = no_progress,
) -> ReplayAnswer:
    """Replay the whole log into a scratch store up to a position or a recorded time
    (every table as it stood, for auditors; a count alone is quicker from `coverage`), and
    summarise `period` (default this month). With `compare` (at the head only), also
    bring the live projections to that position and compare them row for row."""
    if compare and (until_position is not None or recorded_at is not None):
        raise InvalidInputError(
            "compare_at_head",
            "--compare replays to the head of the log; "
            "leave out --until-position and --recorded-at.",
        )
    moment = parse_moment(recorded_at) if recorded_at else None
    month = month_or_this(period)
    differences: list[str] = []
    with scratch_views() as scratch:
        with tracker("replaying", until_position or system.head()) as update:
            position = replay_into(
                system.ledger,
                scratch,
                until_position=until_position,
                as_of=moment,
                progress=update,
                memory_mb=system.settings.rebuild_memory_mb,
            )
        summary = coverage(scratch, period=month)
        if compare:
            system.runner.catch_up(until=position)
            differences = compare_stores(system.views, scratch, all_projections())
    return ReplayAnswer(
        position,
        moment.isoformat() if moment else None,
        str(month),
        summary["total"]["active"],
        summary["total"]["by_programme"],
        compared=compare,
        differences=differences,
    )
