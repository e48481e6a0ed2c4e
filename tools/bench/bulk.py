"""Phase: bulk ingest (`seed_population`), against our own stored rows written by a bare
insert in one transaction; and the store's bytes per event."""

from __future__ import annotations

import contextlib
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from tools.bench.baselines import raw_copy, raw_sqlite, sample_step
from tools.bench.config import BATCH, SEED
from tools.bench.machine import profile_top
from tools.bench.report import Figure
from tools.bench.stats import make_figure, median, ratio
from tools.bench.stores import (
    BenchStore,
    close_quietly,
    fresh_store,
    log_head,
    open_system,
    store_size,
    system_on,
)
from tools.seed import seed_population

if TYPE_CHECKING:
    from tools.bench.suite import Suite


def bulk(
    suite: Suite,
    kind: str,
    store: BenchStore,
    scale: int,
    months: int,
    end: date,
    repeats: int,
    plan: Any,
) -> tuple[Any, Any]:
    rates: list[float] = []
    kept: tuple[Any, Any] = (None, None)
    with suite.phase(kind, scale, "bulk_ingest", repeats=repeats) as ph:
        for attempt in range(repeats):
            with contextlib.ExitStack() as stack:
                target = (
                    store
                    if attempt == 0
                    else stack.enter_context(fresh_store(kind, suite.workdir, suite.postgres_url))
                )
                system = open_system(target)
                marks: dict[str, float] = {}

                def mark(done: int, total: int, _marks: dict[str, float] = marks) -> None:
                    if done >= scale and "enrolled" not in _marks:
                        _marks["enrolled"] = time.perf_counter()

                started = time.perf_counter()
                try:
                    seeded = seed_population(
                        system.ledger,
                        participants=scale,
                        months=months,
                        seed=SEED,
                        end=end,
                        batch_size=BATCH,
                        progress=mark,
                        plan=plan,
                    )
                except Exception:
                    close_quietly(system)
                    raise
                # the plan is made before (the plan phase); only the writing counts
                plan_seconds = seeded.planning_seconds
                seconds = time.perf_counter() - started - plan_seconds
                rates.append(seeded.events / seconds)
                ph.events = seeded.events
                enroll_s = marks.get("enrolled", started) - started - plan_seconds
                suite.say(
                    f"  bulk: {seeded.events:,} events in {seconds:.1f} s "
                    f"({rates[-1]:,.0f} ev/s; enrollments {enroll_s:.1f} s)"
                )
                if attempt == 0:
                    kept = (system, seeded)
                    planning = (
                        f"planning {plan_seconds:.1f} s excluded"
                        if plan is None
                        else "planned before, in the plan phase"
                    )
                    ph.notes = (
                        f"{seeded.events:,} events; enrollments ~{max(enroll_s, 0):.1f} s, "
                        f"history {seconds - max(enroll_s, 0):.1f} s ({planning})"
                    )
                else:
                    close_quietly(system)
        if suite.profile:
            with (
                fresh_store(kind, suite.workdir, suite.postgres_url) as extra,
                system_on(extra) as extra_system,
            ):
                suite.report.profiles[f"{kind}: bulk ingest (seed_population)"] = profile_top(
                    lambda: seed_population(
                        extra_system.ledger,
                        participants=min(scale, 300),
                        months=months,
                        seed=SEED,
                        end=end,
                        batch_size=BATCH,
                    )
                )
    suite.bulk_rates = rates
    if rates:  # saved now, without its baseline: a long run stopped later keeps the rate
        suite.add(bulk_figure(kind, scale, months, rates, []))
    return kept


def bulk_figure(
    kind: str, scale: int, months: int, rates: list[float], baseline: list[float]
) -> Figure:
    name = (
        "raw sqlite3 executemany, one transaction" if kind == "sqlite" else "COPY, one transaction"
    )
    return make_figure(
        "ingest_bulk_vs_raw_sqlite",
        rates,
        "events/s",
        baseline_values=baseline,
        baseline_name=f"{name}, our own stored rows (same bytes) into a stored_events-shaped table",
        store=kind,
        scale=scale,
        months=months,
        notes=f"seed_population, batches of {BATCH}; planning excluded; ~1% of the facts "
        "(deaths, claims, income changes) go one command each"
        + ("" if baseline else "; the raw baseline was not measured (yet)"),
    )


def raw_baseline(
    suite: Suite, kind: str, store: BenchStore, ledger: Any, scale: int, months: int, repeats: int
) -> None:
    """The bulk figure's baseline (our stored rows inserted raw) and bytes per event. A
    big log is sampled (`sample_step`): the rate and the raw bytes are per row inserted."""
    rates: list[float] = []
    raw_bytes = None
    events = log_head(ledger)
    every = sample_step(events)
    rows = 0
    sampled = ""  # what the notes say of the sample (set before a failure could skip it)
    with suite.phase(kind, scale, "raw_baseline", repeats=repeats) as ph:
        for _ in range(repeats):
            if kind == "sqlite":
                rows, seconds, raw_bytes = raw_sqlite(store, suite.workdir, every)
            else:
                rows, seconds, raw_bytes = raw_copy(store, every)
            rates.append(rows / seconds)
            ph.events = rows
        sampled = (
            ""
            if every == 1
            else f"a sample of the log, one position in {every} ({rows:,} of {events:,} rows); "
        )
        ph.notes = f"{sampled}{median(rates) or 0:,.0f} rows/s"
        suite.say(f"  raw: {ph.notes}")
    ours_bytes, detail = store_size(kind, store, ledger)
    suite.report.figures = [
        f
        for f in suite.report.figures
        if not (f.name == "ingest_bulk_vs_raw_sqlite" and (f.store, f.scale) == (kind, scale))
    ]
    figure = bulk_figure(kind, scale, months, suite.bulk_rates, rates)
    if sampled:
        figure.notes += f"; the baseline inserted {sampled}its rows/s stand for the whole log"
    suite.add(figure)
    per_event = ours_bytes / events if events else None
    raw_per_event = raw_bytes / rows if raw_bytes and rows else None
    suite.add(
        Figure(
            name="store_bytes_per_event",
            value=per_event,
            unit="bytes/event",
            baseline=raw_per_event,
            ratio=ratio(per_event, raw_per_event),
            baseline_name="the raw baseline table holding the same rows",
            store=kind,
            scale=scale,
            months=months,
            higher_is_better=False,
            notes=f"{events:,} events; {detail}"
            + ("" if every == 1 else f"; the raw table's bytes per row of {sampled.rstrip('; ')}"),
        )
    )
