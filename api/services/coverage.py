"""Coverage counts: live, or on the business clock (`as_of`), the recording clock
(`recorded_at`) or both, from the read models after catching them up; no replay."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.services.clocks import Clocks, clocks
from api.services.moments import month_or_this
from api.services.progress import Tracker, no_progress
from api.services.projections import catch_up
from domain.errors import InvalidInputError
from domain.regions import LEVELS, parse_region
from domain.values import PROGRAMME_ORDER
from infra.bootstrap import System
from infra.safe_files import PrivateCsv, check_destination
from projections.clock_queries import coverage_at
from projections.coverage import PROGRAMMES
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
        return cls(
            report["period"],
            report["level"],
            report["region"],
            report["programme"],
            report["rows"],
            report["total"],
            at,
            report.get("national_target"),
        )

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            **self.clocks.as_dict(),
            "period": self.period,
            "level": self.level,
            "region": self.region,
            "programme": self.programme,
            "rows": self.rows,
            "total": self.total,
        }
        if self.national_target:
            body["national_target"] = self.national_target
        return body


def coverage(
    system: System,
    *,
    period: str | None = None,
    level: str = "nation",
    region: str | None = None,
    programme: str | None = None,
    as_of: str | None = None,
    recorded_at: str | None = None,
    tracker: Tracker = no_progress,
    catch_up_first: bool = True,
) -> CoverageAnswer:
    """Counts for `period` (default this month) at `level`, within `region`: the facts in
    effect by `as_of` (a business date) among those recorded by `recorded_at` (a
    timestamp); without either, everything recorded. The projections are first brought
    to the head of the log (a server keeps them caught up itself: `catch_up_first=False`),
    so any past `recorded_at` is a sum over what they hold; nothing is replayed."""
    # Every argument is checked before any work (a catch-up can take minutes).
    month = month_or_this(period)
    code = parse_region(region) if region else None
    if level not in LEVELS:
        raise InvalidInputError("invalid_level", f"Level is one of {', '.join(LEVELS)}.")
    wanted = programme.strip().upper() if programme else None
    if wanted is not None and wanted not in PROGRAMMES:
        raise InvalidInputError(
            "unknown_programme", f"Programme is one of {', '.join(PROGRAMMES)}."
        )
    target = system.ledger.rules.at(month.first_day).national_target_active
    at = clocks(system, as_of, recorded_at)
    if catch_up_first:
        catch_up(system, tracker)
    if at.as_of is None and at.recorded_at is None:
        report = coverage_query(
            system.views,
            period=month,
            level=level,
            region=code,
            programme=wanted,
            national_target=target,
        )
        return CoverageAnswer.of(report, Clocks(None, None, report["position"]))
    report = coverage_at(
        system.views,
        period=month,
        level=level,
        region=code,
        programme=wanted,
        as_of=at.as_of,
        recorded_at=at.recorded_at,
        position=at.position,
        national_target=target,
    )
    return CoverageAnswer.of(report, Clocks(at.as_of, at.recorded_at, report["position"]))


_ORDER = tuple(str(p) for p in PROGRAMME_ORDER)  # JKK, JKM, JHT
CSV_COLUMNS = (
    "period",
    "level",
    "region",
    "name",
    "active",
    *(p.lower() for p in _ORDER),
    "enrollments",
    "contributions",
    "contribution_amount",
    "claims_filed",
    "claims_paid",
    "benefits_paid",
    "position",
)


def check_csv_destination(path: Path) -> None:
    """Refuse, before any work, a CSV destination that cannot be written (`output_unwritable`)."""
    check_destination(path)


def csv_rows(answer: CoverageAnswer) -> list[list[Any]]:
    """The answer's rows as CSV cells, in `CSV_COLUMNS` order."""
    return [
        [
            answer.period,
            answer.level,
            r["region"],
            r["name"],
            r["active"],
            *(r["by_programme"][p] for p in _ORDER),
            r["enrollments"],
            r["contributions"],
            r["contribution_amount"],
            r["claims_filed"],
            r["claims_paid"],
            r["benefits_paid"],
            answer.position,
        ]
        for r in answer.rows
    ]


def write_csv(answer: CoverageAnswer, path: Path) -> Path:
    """The answer as a CSV file at `path`, written safely (`infra.safe_files`)."""
    with PrivateCsv(path, CSV_COLUMNS, mode=0o644) as file:  # counts only, no personal data
        file.write(csv_rows(answer))
        return file.commit()
