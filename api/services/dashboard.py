"""The coverage dashboard's figures: one answer per (month, region), for the page, its
data endpoint and its CSV downloads alike, so every view of a number is the same number.

It reads the read models as they stand (no catch-up: the page must answer fast), and says
which log position that is and how far the projections are behind the log's head.
Counts and rupiah per region, month, programme, channel and field agent only: no
participant appears in it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from domain.errors import InvalidInputError
from domain.ledger import Ledger
from domain.regions import parse_region, region_name
from domain.values import Period
from projections.dashboard import dashboard_figures, figures_position
from projections.store import ViewStore

MONTHS_SHOWN = 12
BUSIEST_AGENTS = 10


class DashboardSystem(Protocol):
    """What the dashboard needs of the running system (`infra.bootstrap.System`)."""

    @property
    def ledger(self) -> Ledger: ...

    @property
    def views(self) -> ViewStore: ...

    def head(self) -> int: ...


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows for one month and region."""

    period: str
    region: str  # '' for the nation
    region_name: str
    level: str
    child_level: str | None
    trail: list[dict[str, str]]  # the regions above and this one: [{region, name}, ...]
    position: int  # the log position the figures reflect
    head: int  # the log's last position when asked
    target: dict[str, Any]
    months: list[dict[str, Any]]
    children: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    agents: list[dict[str, Any]]

    @property
    def lag(self) -> int:
        """Events recorded but not yet in the figures."""
        return max(0, self.head - self.position)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "region": self.region,
            "region_name": self.region_name,
            "level": self.level,
            "child_level": self.child_level,
            "trail": self.trail,
            "position": self.position,
            "head": self.head,
            "lag": self.lag,
            "target": self.target,
            "months": self.months,
            "children": self.children,
            "channels": self.channels,
            "agents": self.agents,
        }


def dashboard(
    system: DashboardSystem,
    *,
    period: str | None = None,
    region: str | None = None,
    today: date | None = None,
) -> Dashboard:
    """The dashboard for `period` (`YYYY-MM`, default this month) and `region` (a province,
    regency, district or village code; default the nation)."""
    month = Period.parse(period) if period else Period.containing(today or system.ledger.today())
    code = parse_region(region) if region and region.strip() else ""
    if code and region_name(code) is None:
        raise InvalidInputError(
            "unknown_region",
            f"'{region}' is not a region code of the Home Affairs register "
            "(e.g. 32, 32.76, 32.76.01, 32.76.01.1001).",
        )
    head = system.head()  # before the figures: the lag is never understated
    figures = _figures(system.views, month, code)
    target = system.ledger.rules.for_month(month).national_target_active
    region_active = figures["months"][-1]["active"]
    nation = figures["nation_active"]
    return Dashboard(
        period=str(month),
        region=code,
        region_name=region_name(code) or code,
        level=figures["level"],
        child_level=figures["child_level"],
        trail=trail(code),
        position=max(0, figures["position"]),
        head=head,
        target={
            "target": target,
            "nation_active": nation,
            "progress": round(nation / target, 6) if target else 0.0,
            "region_active": region_active,
            "region_share": round(region_active / nation, 6) if nation else 0.0,
        },
        months=figures["months"],
        children=figures["children"],
        channels=figures["channels"],
        agents=figures["agents"],
    )


# The figures of the last few (store, month, region, position) asked for: the page, its
# JSON and its seven CSV downloads at one position cost one computation. Keyed by the
# position, so an entry is never stale; a new position makes new entries.
_CACHE: OrderedDict[tuple[str, int, str, int], dict[str, Any]] = OrderedDict()
_CACHE_SIZE = 32
_CACHE_LOCK = threading.Lock()


def _figures(views: ViewStore, month: Period, code: str) -> dict[str, Any]:
    key = (views.location, month.index, code, figures_position(views))
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    found = dashboard_figures(
        views, period=month, region=code, months=MONTHS_SHOWN, agents=BUSIEST_AGENTS
    )
    if found["position"] == key[3]:  # not moved on while computing
        with _CACHE_LOCK:
            _CACHE[key] = found
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return found


def forget_figures() -> None:
    """Empty the cache (for timing the computation itself)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def trail(code: str) -> list[dict[str, str]]:
    """The nation, then each region above `code`, then `code` itself."""
    cuts = [c for c in (2, 5, 8, 13) if c <= len(code)]
    return [{"region": "", "name": "Indonesia"}] + [
        {"region": code[:c], "name": region_name(code[:c]) or code[:c]} for c in cuts
    ]
