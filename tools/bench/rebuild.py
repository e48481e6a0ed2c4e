"""Phase: the projection runner, a catch-up from position 0 and `rebuild()` as the CLI
runs it, against two loops over the same log in one process (`tools.bench.decode`): the
bare loop (SQL pages + `orjson.loads`, the limit the issue measures against) and the
library's way (`select_notifications` + the projections' mapper).

Rates: positions/s (log rows, the whole log: against the bare loop, which reads them all)
and events applied/s (the rows whose topics the projections handle: against the mapper
loop, which reads only those)."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eventsourcing.utils import get_topic

from infra.bootstrap import all_projections, projection_mapper
from projections.split import SPLIT_FROM
from tools.bench.config import PAGE_SIZE
from tools.bench.decode import bare_loop, mapper_loop
from tools.bench.machine import profile_top
from tools.bench.stats import make_figure, median
from tools.bench.stores import BenchStore, log_head

if TYPE_CHECKING:
    from infra.bootstrap import System
    from tools.bench.suite import Suite

BARE = (
    "bare loop: SELECT rowid/notification_id, originator_id, originator_version, topic, "
    f"state of every stored event in position order, pages of {PAGE_SIZE}, orjson.loads "
    "on each state (JSON only: personal fields stay sealed), one process"
)
MAPPER = (
    "library loop: select_notifications (same pages, the projections' topics) + the "
    "projections' mapper to domain events, one process"
)


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
    need the read models), then the two decode loops and the rebuilds."""
    ledger = system.ledger
    suite.views = system.views
    topics = sorted({get_topic(cls) for p in all_projections() for cls in p.handles})
    mapper = projection_mapper(ledger)
    head = log_head(ledger)

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
    bare: list[float] = []  # positions/s
    with suite.phase(kind, scale, "bare_decode_loop", repeats=repeats) as ph:
        for _ in range(repeats):
            seconds, rows = bare_loop(store, ledger.recorder)
            bare.append(rows / seconds)
            ph.events = rows
        ph.notes = f"{median(bare) or 0:,.0f} positions/s"
    library: list[float] = []  # events/s
    with suite.phase(kind, scale, "decode_loop", repeats=repeats) as ph:
        for _ in range(repeats):
            seconds, count = mapper_loop(ledger.recorder, mapper, topics, head)
            library.append(count / seconds)
            ph.events = count
        ph.notes = f"{median(library) or 0:,.0f} events/s (select_notifications + mapper)"
    matching = ph.events
    how = (
        f"split across {runner.workers} worker processes by participant (the decode "
        "loops are one process)"
        if split
        else "in one process"
    )
    counts = f"{head:,} log positions, of which {matching:,} events match the projections' topics"

    def pair(name: str, seconds: list[float], what: str) -> None:
        """`name` in positions/s against the bare loop, and `<name>` with `mapper` in
        events applied/s against the library loop."""
        applied = [matching / s for s in seconds]
        suite.add(
            make_figure(
                f"{name}_vs_decode_loop",
                [head / s for s in seconds],
                "positions/s",
                baseline_values=bare,
                baseline_name=BARE,
                store=kind,
                scale=scale,
                months=months,
                notes=f"{what}; {counts}; events applied: {median(applied) or 0:,.0f}/s",
            ),
            make_figure(
                f"{name}_vs_mapper_decode_loop",
                applied,
                "events/s",
                baseline_values=library,
                baseline_name=MAPPER,
                store=kind,
                scale=scale,
                months=months,
                notes=f"events applied/s: {what}; {counts}",
            ),
        )

    if catch_up_s is not None:
        pair(
            "catch_up",
            [catch_up_s],
            f"from position 0 into a fresh view store, {how}; pages of {PAGE_SIZE}",
        )
        rebuild_phase(repeats, beside_one_process=split)
    suite.say(
        f"  rebuild {median([head / s for s in rebuild_s]) or 0:,.0f} positions/s, "
        f"bare loop {median(bare) or 0:,.0f} positions/s; "
        f"{median([matching / s for s in rebuild_s]) or 0:,.0f} events applied/s, "
        f"library loop {median(library) or 0:,.0f} events/s"
    )
    pair(
        "rebuild",
        rebuild_s,
        f"runner.rebuild() {how}: every projection into a new generation, then swapped in"
        + (
            ""
            if catch_up_s is not None
            else "; at this scale one rebuild (before the loops) stands for catch-up too"
        ),
    )
    if single_s:
        suite.add(
            make_figure(
                "rebuild_one_process_vs_decode_loop",
                [head / s for s in single_s],
                "positions/s",
                baseline_values=bare,
                baseline_name=BARE,
                store=kind,
                scale=scale,
                months=months,
                notes=f"the same rebuild without the split: one process; {counts}; events "
                f"applied: {median([matching / s for s in single_s]) or 0:,.0f}/s",
            )
        )
