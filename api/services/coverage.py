"""Coverage counts: live, or on the business clock (`as_of`), the recording clock
(`recorded_at`) or both, from the read models after catching them up; no replay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.services.clocks import Clocks, clocks
from api.services.moments import month_or_this, normalise_region
from api.services.progress import Tracker, no_progress
from api.services.projections import catch_up
from infra.bootstrap import System
from projections.clock_queries import coverage_at
from projections.queries import coverage as coverage_query


@dataclass(frozen=True)
class CoverageAnswer:
    """Covered (active) participants and activity per region for a month, the national
    target's progress, the clocks asked on and the log position the counts reflect."""

    period: str
    level: str
    region: str | None
    programme: str | None
    rows: list[dict[str, Any]]
    total: dict[str, Any]
    clocks: Clocks
    national_target: dict[str, Any] | None = None

    @property
    def position(self) -> int:
        return self.clocks.position

    @classmethod
    def of(cls, report: dict[str, Any], at: Clocks) -> CoverageAnswer:
        return cls(report["period"], report["level"], report["region"], report["programme"],
                   report["rows"], report["total"], at, report.get("national_target"))

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            **self.clocks.as_dict(), "period": self.period, "level": self.level,
            "region": self.region, "programme": self.programme, "rows": self.rows,
            "total": self.total}
        if self.national_target:
            body["national_target"] = self.national_target
        return body


def coverage(system: System, *, period: str | None = None, level: str = "nation",
             region: str | None = None, programme: str | None = None,
             as_of: str | None = None, recorded_at: str | None = None,
             tracker: Tracker = no_progress) -> CoverageAnswer:
    """Counts for `period` (default this month) at `level`, within `region`: the facts in
    effect by `as_of` (a date) among those recorded by `recorded_at` (a timestamp);
    without either, everything recorded. The projections are first brought to the head
    of the log, so any past `recorded_at` is a sum over what they hold."""
    month = month_or_this(period)
    code = normalise_region(region)
    wanted = programme.upper() if programme else None
    target = system.ledger.rules.at(month.first_day).national_target_active
    at = clocks(system, as_of, recorded_at)
    catch_up(system, tracker)
    if at.as_of is None and at.recorded_at is None:
        report = coverage_query(system.views, period=month, level=level, region=code,
                                programme=wanted, national_target=target)
        return CoverageAnswer.of(report, Clocks(None, None, report["position"]))
    report = coverage_at(system.views, period=month, level=level, region=code,
                         programme=wanted, as_of=at.as_of, recorded_at=at.recorded_at,
                         position=at.position, national_target=target)
    return CoverageAnswer.of(report, Clocks(at.as_of, at.recorded_at, report["position"]))
