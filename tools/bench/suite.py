"""The suite: for each (store, scale), plan a population, then run the phases in order,
saving the report after each so a long run that must be stopped keeps what it measured."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.ledger import today_in_indonesia
from tools.bench.audit import audit
from tools.bench.bulk import bulk, bulk_figure, raw_baseline
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
from tools.bench.stores import (
    BenchStore,
    close_quietly,
    fresh_store,
    kept_store,
    load_ingested,
    open_system,
    postgres_available,
    reset_derived,
    save_ingested,
    wipe_kept,
)
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
        keep_dir: Path | None = None,
        ingest_only: bool = False,
    ) -> None:
        self.quick = quick
        self.keep_dir = keep_dir
        self.ingest_only = ingest_only
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
        with self.bulk_store(kind, participants, months) as store:
            ingested = load_ingested(store) if self.keep_dir is not None else None
            if ingested is None:
                if self.keep_dir is not None:
                    wipe_kept(store)
                system, report_seed = self.ingest(kind, store, participants, months)
            else:
                system, report_seed = self.reuse(kind, store, participants, months, *ingested)
            if system is None:
                return
            try:
                if self.ingest_only:
                    return
                self.measure(kind, store, system, participants, months, report_seed)
            finally:
                self.views = None  # the system's: closed with it
                close_quietly(system)
                if self.checkpoint is not None:
                    self.checkpoint(self.report)

    def bulk_store(self, kind: str, scale: int, months: int) -> Any:
        """Where the population is ingested: a fresh store, or with `keep_dir` a kept one
        (see `kept_store`) that a later run measures again without ingesting."""
        if self.keep_dir is None:
            return fresh_store(kind, self.workdir, self.postgres_url)
        return kept_store(kind, self.keep_dir, self.postgres_url, scale, months, SEED)

    def ingest(self, kind: str, store: BenchStore, scale: int, months: int) -> tuple[Any, Any]:
        """Plan, the fresh-store figures, then the bulk ingest into `store`."""
        end = today_in_indonesia()
        first_figure, first_phase = len(self.report.figures), len(self.report.phases)
        with self.phase(kind, scale, "plan") as ph:
            plan = plan_population(participants=scale, months=months, seed=SEED, end=end)
            ph.events = len(plan.people) + len(plan.actions)
            ph.notes = f"{len(plan.people):,} people, {len(plan.actions):,} later facts"
        commands = 400 if self.quick else 3000
        single_rows = single_command_rows(plan, commands)
        big = scale > 20_000
        if kind not in self.single_fresh:
            single_vs_naive(self, kind, scale, months, single_rows)
            self.save()
        reimport(self, kind, scale, months, plan, 1 if big else self.repeats)
        self.save()
        system, report_seed = bulk(
            self, kind, store, scale, months, end, 1 if big else self.repeats, plan
        )
        del plan  # the seed report keeps what the reads need
        if system is not None and self.keep_dir is not None:
            bulk_phase = self.report.phases[-1]
            save_ingested(
                store,
                {
                    "commit": self.report.machine.get("commit"),
                    "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                    "rates": self.bulk_rates,
                    "seconds": bulk_phase.seconds,
                    "events": bulk_phase.events,
                    "notes": bulk_phase.notes,
                    # everything the ingest measured, so a reuse reports it too
                    "figures": [f.as_dict() for f in self.report.figures[first_figure:]],
                    "phases": [asdict(p) for p in self.report.phases[first_phase:]],
                },
                report_seed,
            )
        self.save()
        return system, report_seed

    def reuse(
        self,
        kind: str,
        store: BenchStore,
        scale: int,
        months: int,
        manifest: dict[str, Any],
        report_seed: Any,
    ) -> tuple[Any, Any]:
        """A kept store ingested by an earlier run: its ingest figure is carried over (and
        says so); everything after it is measured now."""
        self.say(
            f"[{kind} {scale:,}] reusing the store ingested at commit {manifest['commit']} "
            f"({manifest['finished']}): {manifest['events']:,} events"
        )
        dropped = reset_derived(store, manifest)
        if dropped:
            self.say(f"  dropped what an earlier measuring run derived: {', '.join(dropped)}")
        self.bulk_rates = list(manifest["rates"])
        earlier = f"by an earlier run at commit {manifest['commit']} ({manifest['finished']})"
        figures = [Figure(**f) for f in manifest.get("figures", [])] or [
            bulk_figure(kind, scale, months, self.bulk_rates, [])
        ]
        for figure in figures:
            figure.notes = f"{figure.notes}; measured {earlier}".lstrip("; ")
            if figure.name == "ingest_single_vs_naive":
                self.single_fresh[kind] = figure.value or 0.0
        self.add(*figures)
        phases = [Phase(**p) for p in manifest.get("phases", [])] or [
            Phase(
                store=kind,
                scale=scale,
                name="bulk_ingest",
                seconds=float(manifest["seconds"]),
                events=int(manifest["events"]),
                notes=manifest["notes"],
            )
        ]
        for phase in phases:
            phase.notes = f"{phase.notes}; measured {earlier}".lstrip("; ")
        self.report.phases.extend(phases)
        return open_system(store), report_seed

    def measure(
        self,
        kind: str,
        store: BenchStore,
        system: Any,
        scale: int,
        months: int,
        report_seed: Any,
    ) -> None:
        """Everything measured on the ingested population."""
        ledger = system.ledger
        reps = 1 if scale > ONE_PASS_ABOVE else self.repeats

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
            one_pass=scale > ONE_PASS_ABOVE,
        )
        self.save()
        raw_baseline(self, kind, store, ledger, scale, months, reps)
        self.save()
        audit(self, kind, store, ledger, scale, months, reps)
        self.save()
        single_loaded(self, kind, ledger, scale, months, today_in_indonesia())

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
    keep_dir: Path | None = None,
    ingest_only: bool = False,
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
        "kept_stores": str(keep_dir) if keep_dir else None,
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
        keep_dir=keep_dir,
        ingest_only=ingest_only,
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
