"""The suite: for each (store, scale), plan a population, then run the phases in order,
saving the report after each so a long run that must be stopped keeps what it measured."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.ledger import today_in_indonesia
from tools.bench.audit import audit
from tools.bench.bulk import bulk, raw_baseline
from tools.bench.config import (
    BATCH,
    FULL_MONTHS,
    FULL_SCALES,
    ONE_PASS_ABOVE,
    PAGE_SIZE,
    QUICK_MONTHS,
    QUICK_SCALE,
    SEED,
    Progress,
)
from tools.bench.ingest import single_command_rows, single_loaded, single_vs_naive
from tools.bench.machine import PeakMemory, machine_facts
from tools.bench.reads import reads
from tools.bench.rebuild import rebuild
from tools.bench.reimport import reimport
from tools.bench.report import Figure, Phase, Report, keep_earlier
from tools.bench.stores import close_quietly, fresh_store, postgres_available
from tools.seed import plan_population


class Suite:
    def __init__(
        self,
        *,
        quick: bool,
        repeats: int,
        workdir: Path,
        progress: Progress,
        postgres_url: str | None,
        profile: bool,
        report: Report,
        checkpoint: Callable[[Report], None] | None,
    ) -> None:
        self.quick = quick
        self.repeats = max(1, repeats)
        self.workdir = workdir
        self.say = progress
        self.postgres_url = postgres_url
        self.profile = profile
        self.report = report
        self.checkpoint = checkpoint
        self.single_fresh: dict[str, float] = {}  # store -> our fresh-store single ev/s
        self.months = 0
        self.bulk_rates: list[float] = []
        self.views: Any = None

    # --- bookkeeping ----------------------------------------------------------------------

    def add(self, *figures: Figure) -> None:
        self.report.figures.extend(figures)

    @contextlib.contextmanager
    def phase(self, store: str, scale: int, name: str, *, repeats: int = 1) -> Iterator[Phase]:
        record = Phase(store=store, scale=scale, name=name, seconds=0.0, repeats=repeats)
        self.say(f"[{store} {scale:,}] {name} ...")
        started = time.perf_counter()
        with PeakMemory() as memory:
            try:
                yield record
            except Exception as error:  # noqa: BLE001 - a benchmark never fails on a phase
                message = f"{store} {scale:,} {name}: {type(error).__name__}: {error}"
                self.report.errors.append(message)
                record.notes = (record.notes + " " if record.notes else "") + f"FAILED: {error}"
                self.say(f"  error: {message}")
        record.seconds = round(time.perf_counter() - started, 3)
        record.peak_rss_mb = round(memory.peak, 1) if memory.peak is not None else None
        record.rss_growth_mb = (
            round(max(memory.peak - memory.start, 0.0), 1) if memory.peak is not None else None
        )
        self.report.phases.append(record)
        self.add(
            Figure(
                name=f"memory_{name}_peak_mb",
                value=record.peak_rss_mb,
                unit="MB",
                store=store,
                scale=scale,
                months=self.months,
                higher_is_better=False,
                notes=f"peak resident memory of the phase; it grew {record.rss_growth_mb} MB "
                "above the phase's starting RSS",
            )
        )
        self.say(
            f"  {name}: {record.seconds:.1f} s, peak RSS {record.peak_rss_mb} MB "
            f"{record.notes}".rstrip()
        )

    # --- one (store, scale) ---------------------------------------------------------------

    def run(self, kind: str, participants: int, months: int) -> None:
        self.months = months
        scale = participants
        end = today_in_indonesia()
        with self.phase(kind, scale, "plan") as ph:
            plan = plan_population(participants=participants, months=months, seed=SEED, end=end)
            ph.events = len(plan.people) + len(plan.actions)
            ph.notes = f"{len(plan.people):,} people, {len(plan.actions):,} later facts"
        commands = 400 if self.quick else 3000
        single_rows = single_command_rows(plan, commands)
        big = participants > 20_000
        bulk_repeats = 1 if big else self.repeats
        reps = 1 if participants > ONE_PASS_ABOVE else self.repeats

        if kind not in self.single_fresh:
            single_vs_naive(self, kind, scale, months, single_rows)
            self.save()
        reimport(self, kind, scale, months, plan, 1 if big else self.repeats)
        self.save()

        with fresh_store(kind, self.workdir, self.postgres_url) as store:
            system = None
            try:
                system, report_seed = bulk(
                    self, kind, store, scale, months, end, bulk_repeats, plan
                )
                del plan  # the seed report keeps what the reads need
                if system is None:
                    return
                ledger = system.ledger
                self.save()

                # Target figures first, each saved as it lands: a long run that must be
                # stopped keeps what it measured.
                def reads_then_save() -> None:
                    reads(self, kind, store, ledger, scale, months, report_seed)
                    self.save()

                rebuild(
                    self,
                    kind,
                    store,
                    system,
                    scale,
                    months,
                    reps,
                    after_catch_up=reads_then_save,
                    one_pass=participants > ONE_PASS_ABOVE,
                )
                self.save()
                raw_baseline(self, kind, store, ledger, scale, months, reps)
                self.save()
                audit(self, kind, store, ledger, scale, months, reps)
                self.save()
                single_loaded(self, kind, ledger, scale, months, end)
            finally:
                self.views = None  # the system's: closed with it
                if system is not None:
                    close_quietly(system)
                if self.checkpoint is not None:
                    self.checkpoint(self.report)

    def save(self) -> None:
        if self.checkpoint is not None:
            self.checkpoint(self.report)


def run_suite(
    quick: bool,
    scales: list[int] | None,
    stores: list[str],
    repeats: int,
    workdir: Path,
    progress: Progress = print,
    *,
    months: int | None = None,
    postgres_url: str | None = None,
    profile: bool | None = None,
    checkpoint: Callable[[Report], None] | None = None,
    previous: Report | None = None,
) -> Report:
    """Run the suite; `checkpoint(report)` after each completed (scale, store), so a long
    run leaves its results behind as it goes. With `previous`, its figures for the
    (store, scale) pairs not measured now are kept (a run in parts)."""
    scales = list(scales or ([QUICK_SCALE] if quick else list(FULL_SCALES)))
    months = months or (QUICK_MONTHS if quick else FULL_MONTHS)
    profile = quick if profile is None else profile
    workdir.mkdir(parents=True, exist_ok=True)
    report = Report(started=datetime.now(UTC).isoformat(timespec="seconds"))
    report.machine = machine_facts(postgres_url if "postgres" in stores else None)
    report.config = {
        "mode": "quick" if quick else "full",
        "scales": scales,
        "months": months,
        "stores": stores,
        "repeats": repeats,
        "seed": SEED,
        "batch": BATCH,
        "page_size": PAGE_SIZE,
        "profile": profile,
    }
    if previous is not None:
        keep_earlier(report, previous, {(s, n) for s in stores for n in scales})
    usable = []
    for kind in stores:
        if kind == "postgres":
            why = postgres_available(postgres_url)
            if why is not None:
                report.errors.append(f"postgres skipped: {why}")
                progress(f"postgres skipped: {why}")
                continue
        elif kind != "sqlite":
            report.errors.append(f"unknown store {kind!r} skipped")
            continue
        usable.append(kind)
    suite = Suite(
        quick=quick,
        repeats=repeats,
        workdir=workdir,
        progress=progress,
        postgres_url=postgres_url,
        profile=profile,
        report=report,
        checkpoint=checkpoint,
    )
    for participants in scales:
        for kind in usable:
            started = time.perf_counter()
            try:
                suite.run(kind, participants, months)
            except Exception as error:  # noqa: BLE001
                report.errors.append(f"{kind} {participants:,}: {type(error).__name__}: {error}")
                progress(f"  error: {error}")
            progress(f"[{kind} {participants:,}] done in {time.perf_counter() - started:.0f} s")
    report.finished = datetime.now(UTC).isoformat(timespec="seconds")
    return report
