"""Phase: the projection runner, a catch-up from position 0 and `rebuild()` as the CLI
runs it, against a bare loop that only reads and decodes the same pages."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eventsourcing.utils import get_topic

from infra.bootstrap import all_projections, projection_mapper
from tools.bench.config import PAGE_SIZE, SPLIT_FROM
from tools.bench.machine import profile_top
from tools.bench.stats import make_figure, median
from tools.bench.stores import BenchStore, log_head

if TYPE_CHECKING:
    from infra.bootstrap import System
    from tools.bench.suite import Suite


def rebuild(
    suite: Suite,
    kind: str,
    store: BenchStore,
    system: System,
    scale: int,
    months: int,
    repeats: int,
    after_catch_up: Callable[[], Any] = lambda: None,
    one_pass: bool = False,
) -> None:
    """Catch-up into a fresh view store, then `after_catch_up()` (the reads, which
    need the read models), then the bare decode loop and the rebuilds."""
    ledger = system.ledger
    views = system.views
    suite.views = views
    topics = sorted({get_topic(cls) for p in all_projections() for cls in p.handles})
    mapper = projection_mapper(ledger)
    head = log_head(ledger)

    def decode_loop() -> tuple[float, int]:
        count = 0
        started = time.perf_counter()
        position = 0
        while position < head:
            stop = min(position + PAGE_SIZE, head)
            page = ledger.recorder.select_notifications(
                start=position + 1, limit=stop - position, stop=stop, topics=topics
            )
            to_event = mapper.to_domain_event
            for n in page:
                to_event(n)
            count += len(page)
            position = stop
        return time.perf_counter() - started, count

    single = system.new_runner()  # everything in this process
    # as `ledger projections rebuild` runs it (`system.runner`): split on a big log if the
    # settings say so; built here so that a test can lower SPLIT_FROM
    runner = system.new_runner(workers=system.settings.workers(), split_from=SPLIT_FROM)
    split = runner._split(list(runner.projections.values()), head)
    catch_up_s: float | None = None
    rebuild_s: list[float] = []
    single_s: list[float] = []

    def rebuild_phase(times: int, *, beside_one_process: bool = False) -> None:
        """`times` rebuilds as the CLI runs them; with `beside_one_process`, each
        followed by the same rebuild unsplit (interleaved: the machine is noisy)."""
        with suite.phase(kind, scale, "rebuild", repeats=times) as ph:
            for _ in range(times):
                for which, into in ((runner, rebuild_s), (single, single_s))[
                    : 2 if beside_one_process else 1
                ]:
                    started = time.perf_counter()
                    which.rebuild()
                    into.append(time.perf_counter() - started)
            ph.events = head
            if split:
                # ru_maxrss of children: the largest worker so far (KiB on Linux)
                workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                ph.notes = (
                    f"split across {runner.workers} processes"
                    + (", each run followed by one unsplit" if beside_one_process else "")
                    + f"; peak RSS above is this process's; the largest worker "
                    f"peaked at {workers_mb:,.0f} MB"
                )
        if suite.profile:  # outside the phase: its time and memory are the timed runs' only
            suite.report.profiles[f"{kind}: projection rebuild"] = profile_top(single.rebuild)

    if not one_pass:
        with suite.phase(kind, scale, "catch_up") as ph:
            started = time.perf_counter()
            runner.catch_up()
            catch_up_s = time.perf_counter() - started
            ph.events = head
    else:
        # One pass is all a big scale affords: the rebuild (from position 0 into a
        # new generation, as a catch-up from 0 does) builds the read models the reads use.
        rebuild_phase(1)
    after_catch_up()
    base: list[float] = []
    with suite.phase(kind, scale, "decode_loop", repeats=repeats) as ph:
        for _ in range(repeats):
            seconds, count = decode_loop()
            base.append(count / seconds)
            ph.events = count
    matching = ph.events
    baseline_name = "bare loop: select_notifications (same pages, same topics) + decode"
    how = (
        f"split across {runner.workers} worker processes by participant (the decode "
        "loop is one process)"
        if split
        else "in one process"
    )
    if catch_up_s is not None:
        suite.add(
            make_figure(
                "catch_up_vs_decode_loop",
                [matching / catch_up_s],
                "events/s",
                baseline_values=base,
                baseline_name=baseline_name,
                store=kind,
                scale=scale,
                months=months,
                notes=f"from position 0 into a fresh view store, {how}; {matching:,} of {head:,} "
                "log "
                f"events match the projections' topics; pages of {PAGE_SIZE}",
            )
        )
        rebuild_phase(repeats, beside_one_process=split)
    rates = [matching / seconds for seconds in rebuild_s]
    suite.say(
        f"  rebuild {median(rates) or 0:,.0f} ev/s, decode loop {median(base) or 0:,.0f} ev/s"
    )
    suite.add(
        make_figure(
            "rebuild_vs_decode_loop",
            rates,
            "events/s",
            baseline_values=base,
            baseline_name=baseline_name,
            store=kind,
            scale=scale,
            months=months,
            notes=f"runner.rebuild() {how}: both projections into a new generation, then "
            f"swapped in; {matching:,} of {head:,} log events match"
            + (
                ""
                if catch_up_s is not None
                else "; at this scale one rebuild (before the loop) stands for catch-up too"
            ),
        )
    )
    if single_s:
        suite.add(
            make_figure(
                "rebuild_one_process_vs_decode_loop",
                [matching / s for s in single_s],
                "events/s",
                baseline_values=base,
                baseline_name=baseline_name,
                store=kind,
                scale=scale,
                months=months,
                notes=f"the same rebuild without the split: one process; {matching:,} events",
            )
        )
