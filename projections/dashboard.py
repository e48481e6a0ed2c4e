"""The coverage dashboard's figures, read from the coverage read models in one transaction.

Every query is an aggregate over a primary-key range: `month IN (...)` (or `=`) on the
first key column and the region as a range of village codes on the second, so the work
grows with the villages and agents inside the region for the months shown, never with
the participants. Numbers only: counts, rupiah, region codes and names, channel names
and field agents' ids; nothing about any one participant.
"""

from __future__ import annotations

from typing import Any

from domain.flows import FLOWS
from domain.regions import LEVELS, region_name
from domain.values import Period
from projections.coverage import PROGRAMMES, CoverageProjection
from projections.coverage_flows import CoverageFlowsProjection
from projections.generations import live_tables
from projections.queries import PREFIX, QueryError
from projections.store import ViewStore

# The level of a region code, from its length (dotted codes: 32, 32.76, 32.76.01, ...).
LEVEL_OF_WIDTH = {width: level for level, width in PREFIX.items()}
_SUMS = ("enrollments", "contributions", "contribution_amount")


def level_of(region: str) -> str:
    """`nation` for the empty code, else the level a code's length gives."""
    level = LEVEL_OF_WIDTH.get(len(region))
    if level is None or region_name(region) is None:
        raise QueryError(
            "unknown_region",
            f"'{region}' is not a province, regency, district or village code "
            "of the Home Affairs register (e.g. 32, 32.76, 32.76.01, 32.76.01.1001).",
        )
    return level


def child_level(level: str) -> str | None:
    """The level one step down (None below villages)."""
    index = LEVELS.index(level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


def _bounds(region: str) -> tuple[str, str]:
    return region, region + "~"  # '~' sorts after digits and '.'


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def figures_position(store: ViewStore) -> int:
    """The log position the dashboard's read models reflect (one cheap look-up)."""
    with store.transaction() as tx:
        return min(
            live_tables(tx, CoverageProjection())[1], live_tables(tx, CoverageFlowsProjection())[1]
        )


def dashboard_figures(
    store: ViewStore, *, period: Period, region: str = "", months: int = 12, agents: int = 10
) -> dict[str, Any]:
    """The figures behind every chart of the dashboard, for `region` ('' = the nation)
    as of `period`, with `months` months of history ending there."""
    level = level_of(region) if region else "nation"
    below = child_level(level)
    low, high = _bounds(region)
    shown = [period.index - i for i in range(months - 1, -1, -1)]
    with store.transaction() as tx:
        coverage, position = live_tables(tx, CoverageProjection())
        flows, flows_position = live_tables(tx, CoverageFlowsProjection())
        monthly, activity = coverage["coverage_monthly"], coverage["coverage_activity"]
        nation = tx.query(
            f"SELECT coalesce(sum(active), 0) FROM {monthly} WHERE month = ?", (period.index,)
        )[0][0]
        series = tx.query(
            f"SELECT month, sum(active), sum(jkk), sum(jkm), sum(jht) FROM {monthly} "
            f"WHERE month IN ({_marks(len(shown))}) AND village >= ? AND village < ? "
            "GROUP BY month",
            (*shown, low, high),
        )
        flow_rows = tx.query(
            f"SELECT month, {', '.join(f'sum({c})' for c in FLOWS)} "
            f"FROM {flows['coverage_flows']} "
            f"WHERE month IN ({_marks(len(shown))}) AND village >= ? AND village < ? "
            "GROUP BY month",
            (*shown, low, high),
        )
        children: list[tuple[Any, ...]] = []
        if below is not None:
            width = PREFIX[below]
            children = tx.query(
                f"SELECT substr(village, 1, {width}), month, sum(active) FROM {monthly} "
                "WHERE month IN (?, ?) AND village >= ? AND village < ? "
                f"GROUP BY substr(village, 1, {width}), month",
                (period.index - 1, period.index, low, high),
            )
        # Channels and agents from one pass over the month's activity in the region.
        activity_rows = tx.query(
            f"SELECT channel, agent_id, sum(enrollments), sum(contributions), "
            f"sum(contribution_amount) FROM {activity} "
            "WHERE month = ? AND village >= ? AND village < ? AND channel <> '' "
            "GROUP BY channel, agent_id",
            (period.index, low, high),
        )
    by_month = {int(m): [int(v) for v in rest] for m, *rest in series}
    flows_by_month = {int(m): [int(v) for v in rest] for m, *rest in flow_rows}
    history = []
    for month in shown:
        active, *programmes = by_month.get(month, [0, 0, 0, 0])
        flow = flows_by_month.get(month, [0, 0, 0])
        history.append(
            {
                "period": str(Period(month)),
                "active": active,
                "by_programme": dict(zip(PROGRAMMES, programmes, strict=True)),
                **dict(zip(FLOWS, flow, strict=True)),
            }
        )
    kids: dict[str, dict[str, Any]] = {}
    for code, month, active in children:
        row = kids.setdefault(
            str(code),
            {"region": str(code), "name": region_name(str(code)), "active": 0, "previous": 0},
        )
        row["active" if int(month) == period.index else "previous"] = int(active)
    for row in kids.values():
        row["change"] = row["active"] - row["previous"]
    channels: dict[str, list[int]] = {}
    agent_sums: dict[str, list[int]] = {}
    for channel, agent, *sums in activity_rows:
        for key, table in ((str(channel), channels), (str(agent), agent_sums)):
            if key:
                found = table.setdefault(key, [0, 0, 0])
                for i, value in enumerate(sums):
                    found[i] += int(value)
    busiest = sorted(agent_sums.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))[:agents]
    return {
        "position": min(position, flows_position),
        "period": str(period),
        "region": region,
        "level": level,
        "child_level": below,
        "nation_active": int(nation),
        "months": history,
        "children": [kids[code] for code in sorted(kids)],
        "channels": [
            {"channel": c, **dict(zip(_SUMS, v, strict=True))} for c, v in sorted(channels.items())
        ],
        "agents": [{"agent_id": a, **dict(zip(_SUMS, v, strict=True))} for a, v in busiest],
    }
