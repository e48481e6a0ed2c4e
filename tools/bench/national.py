"""BENCHMARKS.md's "A national year": how long 840 million events take at each rate the
report measured (hours = events / rate / 3600), in one process, and across the machines
of a Kafka consumer group (`BENCHMARKS-kafka.json`, when it is beside the report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tools.bench.cells import figure, measured_by, num, scales_of, stores_of
from tools.bench.config import KAFKA_PARTITIONS, NATIONAL_YEAR
from tools.bench.growth import rebuild_rates
from tools.bench.report import Report

KAFKA_JSON = "BENCHMARKS-kafka.json"


def load_kafka(folder: Path) -> dict[str, Any] | None:
    """The Kafka benchmark's results beside the report, if it was run."""
    path = folder / KAFKA_JSON
    if not path.exists():
        return None
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


def hours(rate: float | None, events: int = NATIONAL_YEAR) -> float | None:
    return events / rate / 3600 if rate else None


def national_rates(report: Report, store: str) -> list[tuple[str, int, float]]:
    """(what, participants, rate) for `store`, each at the largest scale that has it."""
    found: dict[str, tuple[str, int, float]] = {}
    for scale in scales_of(report, store):
        rates = rebuild_rates(report, store, scale)
        verify = figure(report, "audit_verify_vs_read_sha256", store, scale)
        for what, rate in (
            ("rebuild, events applied/s (`ledger projections rebuild`)", rates.applied),
            ("rebuild, log positions/s", rates.positions),
            ("bare decode loop, log positions/s (SQL pages + orjson.loads)", rates.bare),
            ("library decode loop, events/s (select_notifications + mapper)", rates.library),
            ("audit verify, log positions/s (`ledger audit verify`)", verify and verify.value),
        ):
            if rate:
                found[what] = (what, scale, rate)
    return list(found.values())


def national_section(report: Report, kafka: dict[str, Any] | None = None) -> list[str]:
    lines = [
        "## A national year",
        "",
        f"{NATIONAL_YEAR:,} events (about 70 million workers' contributions in a year, "
        "DESIGN.md) at each rate measured above, each from the largest scale that has it: "
        "hours = events ÷ rate ÷ 3600. A log position is a stored event of any kind; the "
        "rebuild applies the events whose topics the projections handle (about half of "
        "them in the seeded history).",
        "",
        "| rate | store | participants | measured by | rate /s | hours, one process |",
        "| --- | --- | ---: | --- | ---: | ---: |",
    ]
    for store in stores_of(report):
        for what, scale, rate in national_rates(report, store):
            lines.append(
                f"| {what} | {store} | {scale:,} | {measured_by(report, store, scale)} | "
                f"{num(rate)} | {num(hours(rate))} |"
            )
    if kafka and kafka.get("group_1_per_s"):
        member = float(kafka["group_1_per_s"])
        partitions = int(kafka.get("partitions") or KAFKA_PARTITIONS)
        participants = int(kafka.get("participants") or 0)
        lines.append(
            f"| Kafka reporting group, one member, events/s | sqlite | {participants:,} | "
            f"{KAFKA_JSON} ({int(kafka.get('events') or 0):,} events, {partitions} "
            f"partitions) | {num(member)} | {num(hours(member))} |"
        )
        lines += [
            "",
            f"Across machines: a topic of {partitions} partitions read by a consumer group "
            f"of {partitions} members on {partitions} machines, one partition each. Members "
            "divide the partitions and their rates add (per-participant rows are "
            "partition-local, region counts are sums), so the year takes "
            f"{NATIONAL_YEAR:,} ÷ ({partitions} × {num(member)}/s) = "
            f"**{num(hours(member * partitions))} h**, against {num(hours(member))} h for "
            "one member.",
        ]
    else:
        lines += [
            "",
            f"No Kafka benchmark beside this report (`python -m api.services.kafka_bench` "
            f"writes {KAFKA_JSON}); with it, this section divides a consumer group's year "
            f"across {KAFKA_PARTITIONS} partitions on {KAFKA_PARTITIONS} machines.",
        ]
    lines.append("")
    return lines
