"""The one mechanism that feeds read models from the notification log.

A runner reads the log in pages (only the topics its projections handle), decodes each
page once, hands it to every projection, and commits the projections' writes together
with their new positions in one transaction: a crash before the commit loses the whole
page, a crash after it loses nothing, so no event is skipped or applied twice.

Projections keep their tables in generations (see `projections.generations`); `rebuild()`
replays the log from position 0 into a new generation and makes it live in one
transaction. `replay()` builds projections up to a past position or recorded time in a
separate (scratch) store, for audits. A big rebuild can be split by participant across
worker processes (`projections.split`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from projections import builds
from projections import generations as generations_
from projections.bulk import LogRows, NotificationRows, fill_bulk
from projections.generations import (
    ProjectionState,
    create_generation,
    ensure_live_generation,
    live_tables,
    now,
    physical,
)
from projections.projection import Event, Projection, keys_of
from projections.split import SPLIT_FROM, Partition, RebuildError, Spawn, fill_split, share_of
from projections.store import Tx, ViewStore


class ConcurrentRunnerError(RuntimeError):
    """Another runner advanced a projection during this page; the page was rolled back."""


class ProjectionRunner:
    """Feeds projections from one application's log into one view store."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        store: ViewStore,
        projections: Sequence[Projection],
        *,
        page_size: int = 2000,
        spawn: Spawn | None = None,
        workers: int = 1,
        split_from: int = SPLIT_FROM,
        bulk_from: int = 100_000,
        rows: LogRows | None = None,
        share_positions: int | None = None,
    ) -> None:
        """`spawn`, `workers`: a rebuild of a log of at least `split_from` positions runs in
        `workers` processes, each built by `spawn` (without `spawn`, in this one).
        `bulk_from`: a catch-up from position 0 behind a log of at least that many
        positions builds the read models as a rebuild does (in bulk), then follows.
        `rows`: reads the log's stored rows for a bulk build (`projections.bulk`); by
        default through the recorder's `select_notifications`. `share_positions`: a bulk
        build folds at most that many log positions at a time (its memory bound; default
        `projections.bulk.positions_per_share()`)."""
        self.recorder = recorder
        self.mapper = mapper
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.page_size = page_size
        self.spawn = spawn
        self.workers = max(1, workers)
        self.split_from = split_from
        self.bulk_from = bulk_from
        self.rows = rows if rows is not None else NotificationRows(recorder, mapper)
        self.share_positions = share_positions
        self._topics = {get_topic(cls) for p in projections for cls in p.handles}
        for projection in projections:
            self._ensure_live_generation(projection)
        self.sweep()

    # --- state ----------------------------------------------------------------------------

    def sweep(self) -> int:
        """Drop every generation of these projections that is neither live nor being built
        by a rebuild still running (see `projections.builds`): what killed rebuilds left.
        Returns how many generations were dropped."""
        return generations_.sweep(self.store, self.projections)

    def _ensure_live_generation(self, projection: Projection) -> None:
        ensure_live_generation(self.store, projection)

    def states(self) -> list[ProjectionState]:
        rows = self.store.query(
            "SELECT name, generation, position, live, updated_at "
            "FROM projections ORDER BY name, generation"
        )
        return [
            ProjectionState(r[0], int(r[1]), int(r[2]), bool(r[3]), str(r[4]))
            for r in rows
            if r[0] in self.projections
        ]

    def live_tables(self, tx: Tx, name: str) -> tuple[dict[str, str], int]:
        return live_tables(tx, self.projections[name])

    def position(self) -> int:
        """The lowest live position: every projection reflects at least this much of the log."""
        live = [s.position for s in self.states() if s.live]
        return min(live) if live else 0

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    # --- running --------------------------------------------------------------------------

    def catch_up(
        self, *, until: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Process the log up to its head (or `until`); returns the number of events read.

        Read models that have nothing yet, behind a log of at least `bulk_from`
        positions (or one a rebuild would split), are built as a rebuild builds them (in
        bulk, or in worker processes, then swapped in), then followed here."""
        applied = 0
        target = self.head() if until is None else until
        chosen = list(self.projections.values())
        if (
            until is None
            and (
                self._split(chosen, target)
                or (target >= self.bulk_from and all(p.bulk for p in chosen))
            )
            and self.position() == 0
        ):
            self.rebuild(progress=progress)
            applied = target
        while True:
            done = self._run_page(target)
            if done is None:
                return applied
            applied += done
            if progress is not None:
                progress(self.position(), target)

    def run_forever(
        self, poll_seconds: float = 0.2, stop: Callable[[], bool] = lambda: False
    ) -> None:
        """Catch up, then follow the log as it grows (polling), until `stop()` says so."""
        while not stop():
            if self.catch_up() == 0:
                time.sleep(poll_seconds)

    def _run_page(self, target: int) -> int | None:
        """One page for every live projection behind `target`; None when all are there."""
        with self.store.transaction() as tx:
            if tx.dialect == "postgres":  # one runner at a time per projection: wait here
                tx.query("SELECT name FROM projections WHERE live = 1 FOR UPDATE")
            live = {name: self.live_tables(tx, name) for name in self.projections}
            behind = {n: v for n, v in live.items() if v[1] < target}
            if not behind:
                return None
            start = min(position for _, position in behind.values()) + 1
            stop = min(start + self.page_size - 1, target)
            events = self._read(start, stop)
            for name, (names, position) in behind.items():
                projection = self.projections[name]
                wanted = tuple(projection.handles)
                page = [(p, e) for p, e in events if p > position and isinstance(e, wanted)]
                if page:
                    projection.process_at(tx, names, [e for _, e in page], [p for p, _ in page])
                moved = tx.execute(
                    "UPDATE projections SET position = ?, updated_at = ? "
                    "WHERE name = ? AND live = 1 AND position = ?",
                    (stop, now(), name, position),
                )
                if moved != 1:  # another runner got there first: apply nothing twice
                    raise ConcurrentRunnerError(f"{name} moved past {position} meanwhile")
            return len(events)

    def _read(
        self, start: int, stop: int, partition: Partition | None = None
    ) -> list[tuple[int, Event]]:
        notifications = self.recorder.select_notifications(
            start=start, limit=stop - start + 1, stop=stop, topics=sorted(self._topics)
        )
        to_event = self.mapper.to_domain_event
        if partition is None:
            return [(n.id, to_event(n)) for n in notifications]
        count, index = partition.count, partition.index  # other shares are not even decoded
        return [
            (n.id, to_event(n)) for n in notifications if share_of(n.originator_id, count) == index
        ]

    # --- rebuild --------------------------------------------------------------------------

    def rebuild(
        self, names: Iterable[str] | None = None, progress: Callable[[int, int], None] | None = None
    ) -> dict[str, int]:
        """Replay the whole log into a new generation of each named projection (all by
        default), then make the new generations live in one transaction. A big log may be
        split across worker processes (see the constructor). If the replay fails, the new
        generations are dropped and the live ones stay as they were."""
        chosen = [self.projections[n] for n in (names or self.projections)]
        self.sweep()
        lease = builds.take(self.store)  # held before its generations exist
        try:
            return self._rebuild(chosen, lease.token, progress)
        finally:
            lease.release()

    def _rebuild(
        self, chosen: Sequence[Projection], owner: str, progress: Callable[[int, int], None] | None
    ) -> dict[str, int]:
        generations = generations_.new_generations(self.store, list(chosen), owner)
        target = self.head()
        try:
            if self._split(chosen, target):
                self._fill_split(generations, target, progress)
            else:
                self._fill(generations, target, progress=progress)
        except BaseException:
            self._drop(generations)
            raise
        generations_.swap_in(self.store, list(chosen), generations, target)
        return generations

    def _split(self, chosen: Sequence[Projection], target: int) -> bool:
        return (
            self.spawn is not None
            and self.workers > 1
            and target >= self.split_from
            and all(p.partitionable for p in chosen)
        )

    def _drop(self, generations: dict[str, int]) -> None:
        """Drop unfinished (never live) generations."""
        generations_.drop_unfinished(self.store, self.projections, generations)

    def _fill_split(
        self, generations: dict[str, int], target: int, progress: Callable[[int, int], None] | None
    ) -> None:
        """`_fill` in `self.workers` processes, one `Partition` each (`projections.split`)."""
        assert self.spawn is not None
        fill_split(self.spawn, self.workers, generations, target, progress)

    def _fill(
        self,
        generations: dict[str, int],
        target: int,
        *,
        keep: Callable[[Event], bool] | None = None,
        progress: Callable[[int, int], None] | None = None,
        partition: Partition | None = None,
    ) -> int:
        """Apply the log from its start to `target` to the given generation of each named
        projection, a page per transaction (only this runner writes to them: a rebuild's
        new generation, a scratch store). `keep` filters events. With `partition`, only
        that share of the aggregates, and the positions are left to the caller (the
        shares' pages commit in no common order). Returns the position of the last event
        applied."""
        chosen = [self.projections[name] for name in generations]
        if all(p.bulk for p in chosen):  # the fast path: fold in memory, write in bulk
            return fill_bulk(
                self.rows,
                self.store,
                chosen,
                generations,
                target,
                page_size=self.page_size,
                keep=keep,
                progress=progress,
                partition=partition,
                share_positions=self.share_positions,
            )
        last = position = 0
        while position < target:
            stop = min(position + self.page_size, target)
            events = self._read(position + 1, stop, partition)
            if keep is not None:
                events = [(p, e) for p, e in events if keep(e)]
            if events:
                last = events[-1][0]
            with self.store.transaction() as tx:
                for projection in chosen:
                    generation = generations[projection.name]
                    page = [(p, e) for p, e in events if isinstance(e, projection.handles)]
                    if page:
                        projection.process_at(
                            tx,
                            {t: physical(t, generation) for t in projection.tables},
                            [e for _, e in page],
                            [p for p, _ in page],
                        )
                    if partition is None:
                        tx.execute(
                            "UPDATE projections SET position = ?, updated_at = ? "
                            "WHERE name = ? AND generation = ?",
                            (stop, now(), projection.name, generation),
                        )
            position = stop
            if progress is not None:
                progress(position, target)
        return last


def replay(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    scratch: ViewStore,
    projections: Sequence[Projection],
    *,
    until_position: int | None = None,
    as_of: datetime | None = None,
    page_size: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    rows: LogRows | None = None,
    share_positions: int | None = None,
) -> int:
    """Build `projections` into the empty `scratch` store from the log's start up to
    `until_position`, or from the events recorded at or before `as_of` only (in bulk,
    see `projections.bulk`, when every projection folds in bulk, at most
    `share_positions` positions at a time). Returns the last position the result
    reflects."""
    runner = ProjectionRunner(
        recorder,
        mapper,
        scratch,
        projections,
        page_size=page_size,
        rows=rows,
        share_positions=share_positions,
    )
    head = runner.head()
    target = head if until_position is None else min(until_position, head)
    live = {state.name: state.generation for state in runner.states() if state.live}
    if as_of is None:
        if runner.position() == 0 and all(p.bulk for p in projections):
            runner._fill(live, target, progress=progress)
        else:
            runner.catch_up(until=target, progress=progress)
        return target
    return runner._fill(
        live, target, keep=lambda event: event.timestamp <= as_of, progress=progress
    )


__all__ = [
    "ConcurrentRunnerError",
    "Event",
    "Partition",
    "Projection",
    "ProjectionRunner",
    "ProjectionState",
    "RebuildError",
    "Spawn",
    "create_generation",
    "ensure_live_generation",
    "keys_of",
    "live_tables",
    "physical",
    "replay",
    "share_of",
]
