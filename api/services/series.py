"""A coverage time series: one region's active participants, month by month."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInputError
from domain.regions import LEVELS, parse_region
from domain.values import Period
from infra.bootstrap import System
from projections.queries import PREFIX
from projections.queries import coverage as coverage_query

MAX_MONTHS = 120


@dataclass(frozen=True)
class SeriesAnswer:
    """Month by month, as the read models stand at `position`."""

    position: int
    region: str | None
    programme: str | None
    months: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "region": self.region,
            "programme": self.programme,
            "months": self.months,
        }


def series(
    system: System, *, start: str, end: str, region: str | None = None, programme: str | None = None
) -> SeriesAnswer:
    """Active participants (and by programme) of `region` (the nation if none) for each
    month from `start` to `end`, at most ten years."""
    first, last = Period.parse(start), Period.parse(end)
    if last < first:
        raise InvalidInputError("invalid_range", "The series ends before it starts.")
    if last - first >= MAX_MONTHS:
        raise InvalidInputError("range_too_long", f"A series has at most {MAX_MONTHS} months.")
    code = parse_region(region) if region else None  # unknown_region, invalid_region
    level = next((lv for lv in LEVELS if code and PREFIX[lv] >= len(code)), "nation")
    months, position = [], 0
    for offset in range(last - first + 1):
        month = first + offset
        answer = coverage_query(
            system.views, period=month, level=level, region=code, programme=programme
        )
        position = answer["position"]
        total = answer["total"]
        months.append(
            {
                "period": str(month),
                "active": total["active"],
                "by_programme": total["by_programme"],
                "enrollments": total["enrollments"],
                "contributions": total["contributions"],
            }
        )
    return SeriesAnswer(position, code, programme, months)
