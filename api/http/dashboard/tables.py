"""The numbers behind each chart, as tables: shown under "Show data", downloaded as CSV,
and drawn by `api.http.dashboard.page`. One function makes them from the service's
answer, so the chart, its table and its CSV cannot disagree."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from api.services.dashboard import Dashboard

Cell = str | int | float


@dataclass(frozen=True)
class Table:
    """A chart's data: a caption, column headers (with units) and rows."""

    name: str
    caption: str
    headers: tuple[str, ...]
    rows: list[tuple[Cell, ...]]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.headers)
        writer.writerows(self.rows)
        return out.getvalue()


def percent(ratio: float) -> float:
    return round(ratio * 100, 4)  # the service's ratios carry 6 decimals


def tables(d: Dashboard) -> dict[str, Table]:
    """Every chart's table, by name (the name is also the CSV's)."""
    t = d.target
    target_rows: list[tuple[Cell, ...]] = [
        ("national target (participants)", t["target"]),
        ("active participants, Indonesia", t["nation_active"]),
        ("progress to the target (%)", percent(t["progress"])),
    ]
    if d.region:
        target_rows += [
            (f"active participants, {d.region_name}", t["region_active"]),
            (f"{d.region_name}'s share of the nation (%)", percent(t["region_share"])),
        ]
    ranked = sorted(d.children, key=lambda r: (-r["active"], r["region"]))
    found = [
        Table(
            "target",
            f"Progress to the national target, {d.period}",
            ("measure", "value"),
            target_rows,
        ),
        Table(
            "programmes",
            f"Active participants by programme, {d.region_name}",
            (
                "month",
                "active participants",
                "JKK participants",
                "JKM participants",
                "JHT participants",
            ),
            [
                (
                    m["period"],
                    m["active"],
                    m["by_programme"]["JKK"],
                    m["by_programme"]["JKM"],
                    m["by_programme"]["JHT"],
                )
                for m in d.months
            ],
        ),
        Table(
            "flows",
            f"Joins, lapses and reinstatements, {d.region_name}",
            (
                "month",
                "joined (participants)",
                "lapsed (participants)",
                "reinstated (participants)",
            ),
            [(m["period"], m["joined"], m["lapsed"], m["reinstated"]) for m in d.months],
        ),
        Table(
            "children",
            f"Regions one level below {d.region_name}, {d.period}",
            (
                "region code",
                "region",
                "active participants",
                "active the month before (participants)",
                "change (participants)",
            ),
            [
                (r["region"], r["name"] or r["region"], r["active"], r["previous"], r["change"])
                for r in ranked
            ],
        ),
        Table(
            "channels",
            f"Enrollments and contributions by channel, {d.period}",
            ("channel", "enrollments (count)", "contributions (payments)", "contributions (Rp)"),
            [
                (c["channel"], c["enrollments"], c["contributions"], c["contribution_amount"])
                for c in d.channels
            ],
        ),
        Table(
            "agents",
            f"Busiest field agents, {d.period}",
            (
                "field agent",
                "enrollments (count)",
                "contributions (payments)",
                "contributions (Rp)",
            ),
            [
                (a["agent_id"], a["enrollments"], a["contributions"], a["contribution_amount"])
                for a in d.agents
            ],
        ),
        Table(
            "log",
            "Log position and projection lag",
            ("measure", "value"),
            [
                ("log head (position)", d.head),
                ("figures reflect (position)", d.position),
                ("projection lag (events)", d.lag),
            ],
        ),
    ]
    return {table.name: table for table in found}


NAMES = ("target", "programmes", "flows", "children", "channels", "agents", "log")
