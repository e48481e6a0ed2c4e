"""Coverage counts: live after catching the projections up, or as recorded at a time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.services.moments import month_or_this, parse_moment
from api.services.progress import Tracker, no_progress
from api.services.projections import catch_up
from domain.errors import InvalidInputError
from domain.regions import LEVELS, parse_region
from domain.values import PROGRAMME_ORDER
from infra.bootstrap import System, replay_into, scratch_views
from infra.safe_files import PrivateCsv, check_destination
from projections.coverage import PROGRAMMES
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
        return cls(
            report["position"],
            report["period"],
            report["level"],
            report["region"],
            report["programme"],
            report["rows"],
            report["total"],
            report.get("national_target"),
            as_of,
        )

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "position": self.position,
            "period": self.period,
            "level": self.level,
            "region": self.region,
            "programme": self.programme,
            "rows": self.rows,
            "total": self.total,
        }
        if self.national_target:
            body["national_target"] = self.national_target
        if self.as_of is not None:
            body["as_of"] = self.as_of
        return body


def coverage(
    system: System,
    *,
    period: str | None = None,
    level: str = "nation",
    region: str | None = None,
    programme: str | None = None,
    as_of: str | None = None,
    tracker: Tracker = no_progress,
    catch_up_first: bool = True,
) -> CoverageAnswer:
    """Counts for `period` (default this month) at `level`, within `region`; live (the
    projections first brought to the head of the log), or as recorded at `as_of`."""
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
    moment = parse_moment(as_of) if as_of is not None else None
    target = system.ledger.rules.at(month.first_day).national_target_active
    if moment is None:
        if catch_up_first:  # a server keeps them caught up itself and never blocks on it
            catch_up(system, tracker)
        return CoverageAnswer.of(
            coverage_query(
                system.views,
                period=month,
                level=level,
                region=code,
                programme=wanted,
                national_target=target,
            )
        )
    with scratch_views() as scratch:
        with tracker("replaying", system.head()) as update:
            position = replay_into(system.ledger, scratch, as_of=moment, progress=update)
        report = coverage_query(
            scratch,
            period=month,
            level=level,
            region=code,
            programme=wanted,
            national_target=target,
        )
    report["position"] = position
    return CoverageAnswer.of(report, as_of=moment.isoformat())


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
