"""Phase: reads. A participant's status from the ledger (its events) and from the
`participant_status` read model, against a bare read of the same events; coverage
queries at three levels; coverage on either clock beside the present-day query."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.regions import region_name  # noqa: F401 - keeps the regions table loaded
from domain.values import Period
from infra.transcoder import recorded_time
from projections.clock_queries import coverage_at, position_at
from projections.queries import coverage, participant_row
from tools.bench.config import SEED
from tools.bench.machine import profile_top
from tools.bench.stats import latency_figures
from tools.bench.stores import BenchStore

if TYPE_CHECKING:
    from tools.bench.suite import Suite


def reads(
    suite: Suite, kind: str, store: BenchStore, ledger: Any, scale: int, months: int, seeded: Any
) -> None:
    rng = random.Random(SEED)
    ids = [pid for pid in seeded.participant_ids if pid is not None]
    samples = 300 if suite.quick else 2000
    chosen = [rng.choice(ids) for _ in range(samples)]
    today = ledger.today()
    views = suite.views
    with suite.phase(kind, scale, "status_reads") as ph:
        for pid in chosen[:20]:  # warm-up: connections, caches, imports
            ledger.get_status(pid)
        ours, bare, rows = [], [], []
        for pid in chosen:
            t0 = time.perf_counter_ns()
            ledger.get_status(pid)
            t1 = time.perf_counter_ns()
            ledger.recorder.select_events(pid)
            t2 = time.perf_counter_ns()
            participant_row(views, str(pid), today, ledger.rules)
            t3 = time.perf_counter_ns()
            ours.append((t1 - t0) / 1e6)
            bare.append((t2 - t1) / 1e6)
            rows.append((t3 - t2) / 1e6)
        ph.events = len(chosen)
    if suite.profile:
        suite.report.profiles[f"{kind}: status reads (get_status)"] = profile_top(
            lambda: [ledger.get_status(pid) for pid in chosen[:200]]
        )
    note = (
        f"{samples} random participants of {len(ids):,}; warm OS cache; "
        "interleaved with the baseline per participant"
    )
    suite.add(
        *latency_figures(
            "status_read",
            ours,
            bare,
            "bare recorder.select_events(id) of the same participant "
            "(all its stored events, no decoding)",
            store=kind,
            scale=scale,
            months=months,
            notes=note,
        )
    )
    suite.add(
        *latency_figures(
            "status_row_read",
            rows,
            bare,
            "bare recorder.select_events(id)",
            store=kind,
            scale=scale,
            months=months,
            notes="participant_status read-model row (projections.queries.participant_row); "
            + note,
        )
    )
    end_month = Period.containing(today)
    month_choices = [end_month + -i for i in range(months)]
    villages = [str(v) for v in _sample_villages(ledger, chosen[:50])]
    with suite.phase(kind, scale, "coverage_queries") as ph:
        per_level = 30 if suite.quick else 100
        for level in ("nation", "province", "village"):
            latencies = []
            for i in range(per_level + 3):
                month = rng.choice(month_choices)
                region = rng.choice(villages)[:5] if level == "village" and villages else None
                t0 = time.perf_counter_ns()
                coverage(views, period=month, level=level, region=region)
                if i >= 3:  # the first few warm up
                    latencies.append((time.perf_counter_ns() - t0) / 1e6)
            ph.events += len(latencies)
            what = {
                "nation": "whole nation",
                "province": "all provinces",
                "village": "villages of one regency",
            }[level]
            suite.add(
                *latency_figures(
                    f"coverage_query_{level}",
                    latencies,
                    [],
                    "",
                    store=kind,
                    scale=scale,
                    months=months,
                    notes=f"{what}, random month of {months}; {per_level} queries",
                )
            )
    clock_reads(suite, kind, ledger, scale, months, rng, month_choices)


def clock_reads(
    suite: Suite,
    kind: str,
    ledger: Any,
    scale: int,
    months: int,
    rng: random.Random,
    month_choices: Sequence[Period],
) -> None:
    """Coverage of the whole nation as recorded at T and on business date D (issue 21),
    each interleaved with the present-day query of the same month: a sum over
    `coverage_log` against a sum over `coverage_monthly`. T is when the log's middle
    position was recorded (the seed records everything while it runs, so T falls midway
    through the ingest), D midway through the seeded history's business span; the month
    is random (for D, one that had begun by D)."""
    views = suite.views
    head = ledger.recorder.max_notification_id() or 0
    per_clock = 30 if suite.quick else 100
    # T: when the log's middle position was recorded (by positions, not by the clock: a
    # kept store measured again holds the earlier run's single commands, hours later)
    first, moment, last = (_recorded(ledger, p) for p in (1, max(head // 2, 1), head))
    position = position_at(ledger.recorder, ledger.mapper, moment, quick_stamp=recorded_time)
    today = ledger.today()
    start = min(month_choices).first_day
    day = start + (today - start) / 2
    begun = [m for m in month_choices if m.first_day <= day] or list(month_choices)
    clocks = {
        "recorded_at": (
            f"as recorded at T = {moment.isoformat(timespec='seconds')}, when the log's "
            f"middle position was recorded (the log was recorded from "
            f"{first.isoformat(timespec='seconds')} to {last.isoformat(timespec='seconds')}); "
            f"position {position:,} of {head:,} was the last recorded by T; "
            "each query finds T's position by recorded time, then sums the coverage_log "
            "rows recorded by then",
            list(month_choices),
        ),
        "as_of": (
            f"on business date D = {day.isoformat()}, midway between the history's first "
            f"day ({start.isoformat()}) and today ({today.isoformat()}); the sum of "
            "coverage_log rows in effect by D, month random among those begun by D",
            begun,
        ),
    }
    with suite.phase(kind, scale, "clock_coverage_queries") as ph:
        ph.notes = (
            f"T = {moment.isoformat(timespec='seconds')} (the middle position's recorded time; "
            f"{position:,} of {head:,} positions recorded by then); D = {day.isoformat()} "
            "(midway through the history)"
        )
        for clock, (what, choices) in clocks.items():
            ours, present = [], []
            for i in range(per_clock + 3):
                month = rng.choice(choices)
                t0 = time.perf_counter_ns()
                if clock == "recorded_at":
                    found = position_at(
                        ledger.recorder, ledger.mapper, moment, quick_stamp=recorded_time
                    )
                    answer = coverage_at(views, period=month, recorded_at=moment, position=found)
                else:
                    answer = coverage_at(views, period=month, as_of=day)
                t1 = time.perf_counter_ns()
                now = coverage(views, period=month)
                t2 = time.perf_counter_ns()
                if i >= 3:  # the first few warm up
                    ours.append((t1 - t0) / 1e6)
                    present.append((t2 - t1) / 1e6)
            ph.events += len(ours)
            counted = (
                f"the last query's month {month}: {answer['total']['active']:,} active "
                f"against {now['total']['active']:,} today"
            )
            suite.add(
                *latency_figures(
                    f"coverage_{clock}_nation",
                    ours,
                    present,
                    "present-day coverage of the same month (projections.queries.coverage)",
                    store=kind,
                    scale=scale,
                    months=months,
                    notes=f"whole nation, {what}; {per_clock} queries; {counted}",
                )
            )


def _recorded(ledger: Any, position: int) -> datetime:
    """When the event at `position` (or the first after it) was recorded."""
    (found,) = ledger.recorder.select_notifications(start=max(position, 1), limit=1)
    moment = recorded_time(found.state)
    if moment is None:
        moment = ledger.mapper.to_domain_event(found).timestamp
    return moment


def _sample_villages(ledger: Any, ids: Sequence[Any]) -> list[str]:
    out: list[str] = []
    for pid in ids:
        with contextlib.suppress(Exception):
            out.append(ledger.get_participant(pid).village)
    return out
