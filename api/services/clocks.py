"""The two clocks every question may name, parsed once for every way in (issue 21).

- `as_of` (a date, YYYY-MM-DD) is always the business clock: the facts in effect by that
  date, whenever they were recorded.
- `recorded_at` (an ISO timestamp, UTC unless it says otherwise; a bare date means its
  end) is always the recording clock: what the log held at that moment.

Both may be given together. Every answer states the clocks it used and the log position
it reflects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from api.services.moments import parse_moment
from domain.values import parse_date
from infra.bootstrap import System
from infra.transcoder import recorded_time
from projections.clock_queries import position_at


@dataclass(frozen=True)
class Clocks:
    """The clocks a question was asked on, and the log position its answer reflects."""

    as_of: date | None  # None: every fact, whatever its date
    recorded_at: datetime | None  # None: the whole log as it stands
    position: int  # the last log position the answer counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
            "position": self.position,
        }


def parse_as_of(text: str | None) -> date | None:
    """A business date (`--as-of`), or None."""
    return parse_date(text, field="as-of date") if text else None


def parse_recorded_at(text: str | None) -> datetime | None:
    """A recorded time (`--recorded-at`), or None."""
    return parse_moment(text) if text else None


def clocks(system: System, as_of: str | None, recorded_at: str | None) -> Clocks:
    """Both clocks parsed; the position is the last one recorded by `recorded_at`, else
    the log's head now."""
    day, moment = parse_as_of(as_of), parse_recorded_at(recorded_at)
    ledger = system.ledger
    position = (
        position_at(ledger.recorder, ledger.mapper, moment, quick_stamp=recorded_time)
        if moment is not None
        else system.head()
    )
    return Clocks(day, moment, position)
