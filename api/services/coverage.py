"""Coverage counts: live after catching the projections up, or as recorded at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.services.moments import month_or_this, normalise_region, parse_moment
from api.services.progress import Tracker, no_progress
from api.services.projections import catch_up
from infra.bootstrap import System, replay_into, scratch_views
from projections.queries import coverage as coverage_query


@dataclass(frozen=True)
class CoverageAnswer:
    """Covered (active) participants and activity per region for a month, the national
    target's progress, and the log position the counts reflect."""

    position: int
    period: str
    level: str
    region: str | None
    programme: str | None
    rows: list[dict[str, Any]]
    total: dict[str, Any]
    national_target: dict[str, Any] | None = None
    as_of: str | None = None  # counts as recorded at this time (ISO), when asked for

    @classmethod
    def of(cls, report: dict[str, Any], as_of: str | None = None) -> CoverageAnswer:
        return cls(report["position"], report["period"], report["level"], report["region"],
                   report["programme"], report["rows"], report["total"],
                   report.get("national_target"), as_of)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "position": self.position, "period": self.period, "level": self.level,
            "region": self.region, "programme": self.programme, "rows": self.rows,
            "total": self.total}
        if self.national_target:
            body["national_target"] = self.national_target
        if self.as_of is not None:
            body["as_of"] = self.as_of
        return body


def coverage(system: System, *, period: str | None = None, level: str = "nation",
             region: str | None = None, programme: str | None = None, as_of: str | None = None,
             tracker: Tracker = no_progress, catch_up_first: bool = True) -> CoverageAnswer:
    """Counts for `period` (default this month) at `level`, within `region`; live (the
    projections first brought to the head of the log), or as recorded at `as_of`."""
    month = month_or_this(period)
    code = normalise_region(region)
    wanted = programme.upper() if programme else None
    target = system.ledger.rules.at(month.first_day).national_target_active
    if as_of is None:
        if catch_up_first:  # a server keeps them caught up itself and never blocks on it
            catch_up(system, tracker)
        return CoverageAnswer.of(coverage_query(system.views, period=month, level=level,
                                                region=code, programme=wanted,
                                                national_target=target))
    moment = parse_moment(as_of)
    with scratch_views() as scratch:
        with tracker("replaying", system.head()) as update:
            position = replay_into(system.ledger, scratch, as_of=moment, progress=update)
        report = coverage_query(scratch, period=month, level=level, region=code,
                                programme=wanted, national_target=target)
    report["position"] = position
    return CoverageAnswer.of(report, as_of=moment.isoformat())
