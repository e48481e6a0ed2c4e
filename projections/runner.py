"""The one mechanism that feeds read models from the notification log.

A runner reads the log in pages (only the topics its projections handle), decodes each
page once, hands it to every projection, and commits the projections' writes together
with their new positions in one transaction: a crash before the commit loses the whole
page, a crash after it loses nothing, so no event is skipped or applied twice.

Projections keep their tables in generations (see `projections.store`); `rebuild()`
replays the log from position 0 into a new generation and makes it live in one
transaction. `replay()` builds projections up to a past position or recorded time in a
separate (scratch) store, for audits.

A big rebuild can be split by participant across worker processes (`Partition`): each reads
the same pages, decodes and applies only its share, and writes into the same new
generation; the swap waits for all of them. That works because every projection here
keeps its state per aggregate and everything else as sums (`Projection.partitionable`).
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from projections import builds
from projections.store import Tx, ViewStore

Event = Any  # a decoded domain event (eventsourcing aggregate event)


class Projection(ABC):
    """A read model: its tables, and how a page of events changes them."""

    name: str
    handles: ClassVar[tuple[type, ...]]  # event classes; others are not even read from the log
    tables: ClassVar[
        dict[str, str]
    ]  # logical name -> CREATE TABLE with {table} and {without_rowid}
    # True when the tables hold rows per aggregate plus sums that shares of the aggregates
    # may add into concurrently (in a consistent key order): then a rebuild may be split.
    partitionable: ClassVar[bool] = False

    @abstractmethod
    def process(self, tx: Tx, names: dict[str, str], events: Sequence[Event]) -> None:
        """Apply a page of events (already filtered to `handles`) inside `tx`.

        `names` maps the logical table names to this generation's physical tables."""

    def key_columns(self, table: str) -> str:
        """ORDER BY for comparing two generations row for row (the primary key)."""
        return "1"

    def process_at(
        self, tx: Tx, names: dict[str, str], events: Sequence[Event], positions: Sequence[int]
    ) -> None:
        """`process`, for a projection that also needs each event's log position
        (`positions[i]` is that of `events[i]`); the others ignore them."""
        self.process(tx, names, events)


def keys_of(events: Sequence[Event]) -> list[str]:
    """Each event's aggregate id as text (the projections' row key), formatting each
    distinct id once: a page holds many events of the same participant."""
    text: dict[Any, str] = {}
    keys = []
    for event in events:
        originator = event.originator_id
        key = text.get(originator)
        if key is None:
            key = text[originator] = str(originator)
        keys.append(key)
    return keys


class ConcurrentRunnerError(RuntimeError):
    """Another runner advanced a projection during this page; the page was rolled back."""


class RebuildError(RuntimeError):
    """A worker of a split rebuild failed; the new generation was dropped, the live one kept."""


@dataclass(frozen=True)
class Partition:
    """Share `index` of `count`: the aggregates whose id, as a number, leaves that
    remainder. Participant ids are random, so the shares are about equal."""

    index: int
    count: int


def share_of(originator_id: UUID | str, count: int) -> int:
    """Which of `count` shares an aggregate belongs to."""
    return (originator_id if isinstance(originator_id, UUID) else UUID(originator_id)).int % count


# Builds, in a worker process, a runner equal to this one (its own connections); it must
# pickle, so it is built from settings (see `infra.bootstrap.RunnerSpawn`).
Spawn = Callable[[], AbstractContextManager["ProjectionRunner"]]


def physical(table: str, generation: int) -> str:
    return f"{table}_g{generation}"


def live_tables(tx: Tx, projection: Projection) -> tuple[dict[str, str], int]:
    """The live generation's physical table names and its position, read inside `tx`."""
    rows = tx.query(
        "SELECT generation, position FROM projections WHERE name = ? AND live = 1",
        (projection.name,),
    )
    if not rows:
        return {t: physical(t, 1) for t in projection.tables}, -1
    generation, position = int(rows[0][0]), int(rows[0][1])
    return {t: physical(t, generation) for t in projection.tables}, position


def ensure_live_generation(store: ViewStore, projection: Projection) -> None:
    """Create the projection's first generation, live and empty, unless it has one."""
    with store.transaction() as tx:
        rows = tx.query(
            "SELECT generation FROM projections WHERE name = ? AND live = 1", (projection.name,)
        )
        if not rows:
            create_generation(tx, projection, 1, live=True)


def create_generation(tx: Tx, projection: Projection, generation: int, live: bool) -> None:
    """(Re)create a generation's tables, empty, at position 0."""
    for table, ddl in projection.tables.items():
        tx.execute(f"DROP TABLE IF EXISTS {physical(table, generation)}")
        tx.execute(ddl.replace("{table}", physical(table, generation)))
    tx.execute(
        "DELETE FROM projections WHERE name = ? AND generation = ?", (projection.name, generation)
    )
    tx.execute(
        "INSERT INTO projections (name, generation, position, live, updated_at) "
        "VALUES (?, ?, 0, ?, ?)",
        (projection.name, generation, int(live), _now()),
    )


@dataclass(frozen=True)
class ProjectionState:
    name: str
    generation: int
    position: int
    live: bool
    updated_at: str


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
        split_from: int = 100_000,
    ) -> None:
        """`spawn`, `workers`: a rebuild of a log of at least `split_from` positions runs in
        `workers` processes, each built by `spawn` (without `spawn`, in this one)."""
        self.recorder = recorder
        self.mapper = mapper
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.page_size = page_size
        self.spawn = spawn
        self.workers = max(1, workers)
        self.split_from = split_from
        self._topics = {get_topic(cls) for p in projections for cls in p.handles}
        for projection in projections:
            self._ensure_live_generation(projection)
        self.sweep()

    # --- state ----------------------------------------------------------------------------

    def sweep(self) -> int:
        """Drop every generation of these projections that is neither live nor being built
        by a rebuild still running (see `projections.builds`): what killed rebuilds left.
        Returns how many generations were dropped."""
        with self.store.transaction() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS projection_builds (name TEXT NOT NULL,"
                " generation INTEGER NOT NULL, owner TEXT NOT NULL,"
                " PRIMARY KEY (name, generation))"
            )
            rows = tx.query(
                "SELECT p.name, p.generation, b.owner FROM projections p"
                " LEFT JOIN projection_builds b"
                " ON b.name = p.name AND b.generation = p.generation"
                " WHERE p.live = 0"
            )
        dropped = 0
        owners: dict[str | None, bool] = {}
        for name, generation, owner in rows:
            if name not in self.projections:
                continue
            if owner not in owners:  # no owner: left by a version that recorded none
                owners[owner] = owner is not None and builds.is_held(self.store, owner)
            if not owners[owner]:
                dropped += self._drop_abandoned(name, int(generation), owner)
        for owner, held in owners.items():
            if owner is not None and not held:
                builds.forget(self.store, owner)
        return dropped

    def _drop_abandoned(self, name: str, generation: int, owner: str | None) -> int:
        """Drop a generation found abandoned, unless it changed since (its rebuild may have
        made it live just before letting its lease go)."""
        with self.store.transaction() as tx:
            lock = " FOR UPDATE OF p" if tx.dialect == "postgres" else ""
            rows = tx.query(
                "SELECT p.live, b.owner FROM projections p LEFT JOIN projection_builds b"
                " ON b.name = p.name AND b.generation = p.generation"
                " WHERE p.name = ? AND p.generation = ?" + lock,
                (name, generation),
            )
            if rows != [(0, owner)]:
                return 0
            for table in self.projections[name].tables:
                tx.execute(f"DROP TABLE IF EXISTS {physical(table, generation)}")
            tx.execute(
                "DELETE FROM projections WHERE name = ? AND generation = ?", (name, generation)
            )
            tx.execute(
                "DELETE FROM projection_builds WHERE name = ? AND generation = ?",
                (name, generation),
            )
        return 1

    def _ensure_live_generation(self, projection: Projection) -> None:
        ensure_live_generation(self.store, projection)

    def _create_generation(
        self, tx: Tx, projection: Projection, generation: int, live: bool
    ) -> None:
        create_generation(tx, projection, generation, live)

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

        Read models that have nothing yet, behind a log big enough to split, are built as
        a rebuild builds them (in worker processes, then swapped in), then followed here."""
        applied = 0
        target = self.head() if until is None else until
        if (
            until is None
            and self._split(list(self.projections.values()), target)
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
                    (stop, _now(), name, position),
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
        generations: dict[str, int] = {}
        with self.store.transaction() as tx:
            for projection in chosen:
                rows = tx.query(
                    "SELECT max(generation) FROM projections WHERE name = ?", (projection.name,)
                )
                generation = int(rows[0][0] or 0) + 1
                self._create_generation(tx, projection, generation, live=False)
                tx.execute(
                    "INSERT INTO projection_builds (name, generation, owner) VALUES (?, ?, ?)",
                    (projection.name, generation, owner),
                )
                generations[projection.name] = generation
        target = self.head()
        try:
            if self._split(chosen, target):
                self._fill_split(generations, target, progress)
            else:
                self._fill(generations, target, progress=progress)
        except BaseException:
            self._drop(generations)
            raise
        with self.store.transaction() as tx:
            if tx.dialect == "postgres":
                # Readers hold a share lock on `projections` from looking up the live
                # generation until their transaction ends: wait for them before dropping
                # the tables they may be about to read; later readers see the new ones.
                tx.execute("LOCK TABLE projections IN ACCESS EXCLUSIVE MODE")
            for projection in chosen:
                old = tx.query(
                    "SELECT generation FROM projections WHERE name = ? AND live = 1",
                    (projection.name,),
                )
                tx.execute("UPDATE projections SET live = 0 WHERE name = ?", (projection.name,))
                tx.execute(
                    "UPDATE projections SET live = 1, position = ?, updated_at = ? "
                    "WHERE name = ? AND generation = ?",
                    (target, _now(), projection.name, generations[projection.name]),
                )
                tx.execute(
                    "DELETE FROM projection_builds WHERE name = ? AND generation = ?",
                    (projection.name, generations[projection.name]),
                )
                for (generation,) in old:
                    for table in projection.tables:
                        tx.execute(f"DROP TABLE IF EXISTS {physical(table, int(generation))}")
                    tx.execute(
                        "DELETE FROM projections WHERE name = ? AND generation = ?",
                        (projection.name, generation),
                    )
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
        with self.store.transaction() as tx:
            for name, generation in generations.items():
                for table in self.projections[name].tables:
                    tx.execute(f"DROP TABLE IF EXISTS {physical(table, generation)}")
                tx.execute(
                    "DELETE FROM projections WHERE name = ? AND generation = ? AND live = 0",
                    (name, generation),
                )
                tx.execute(
                    "DELETE FROM projection_builds WHERE name = ? AND generation = ?",
                    (name, generation),
                )

    def _fill_split(
        self, generations: dict[str, int], target: int, progress: Callable[[int, int], None] | None
    ) -> None:
        """`_fill` in `self.workers` processes, one `Partition` each; returns when all
        have finished, raises `RebuildError` (after stopping the others) if one fails."""
        assert self.spawn is not None
        context = multiprocessing.get_context("spawn")  # no inherited connections or locks
        messages: Any = context.Queue()
        count = self.workers
        workers = [
            context.Process(
                target=_fill_partition,
                daemon=True,
                args=(self.spawn, generations, target, Partition(k, count), messages),
            )
            for k in range(count)
        ]
        # One at a time until each has built its runner: building one creates any missing
        # tables, and concurrent CREATE TABLE IF NOT EXISTS fails on PostgreSQL.
        workers[0].start()
        reached = [0] * count
        finished: set[int] = set()
        try:
            while len(finished) < count:
                try:
                    kind, index, value = messages.get(timeout=0.5)
                except queues.Empty:
                    # a worker that exited cleanly has sent "done" (maybe still queued)
                    lost = [
                        k
                        for k, w in enumerate(workers)
                        if k not in finished and w.exitcode not in (None, 0)
                    ]
                    if lost:
                        raise RebuildError(
                            f"rebuild worker {lost[0]} of {count} died "
                            f"(exit code {workers[lost[0]].exitcode})"
                        ) from None
                    continue
                if kind == "error":
                    raise RebuildError(f"rebuild worker {index} of {count} failed: {value}")
                if kind == "ready":
                    if index + 1 < count:
                        workers[index + 1].start()
                    continue
                if kind == "done":
                    finished.add(index)
                else:
                    reached[index] = value
                if progress is not None:
                    progress(min(reached) if len(finished) < count else target, target)
        finally:
            for worker in workers:
                if worker.pid is None:
                    continue  # never started
                if worker.is_alive() and len(finished) < count:
                    worker.terminate()
                worker.join(timeout=30)
            messages.close()

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
                            (stop, _now(), projection.name, generation),
                        )
            position = stop
            if progress is not None:
                progress(position, target)
        return last


def _fill_partition(
    spawn: Spawn, generations: dict[str, int], target: int, partition: Partition, messages: Any
) -> None:
    """A split rebuild's worker process: its share of the log, then "done" (or "error")."""
    try:
        with spawn() as runner:
            messages.put(("ready", partition.index, 0))
            runner._fill(
                generations,
                target,
                partition=partition,
                progress=lambda done, _total: messages.put(("page", partition.index, done)),
            )
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises
        messages.put(("error", partition.index, f"{type(error).__name__}: {error}"))
    else:
        messages.put(("done", partition.index, target))
    finally:
        messages.close()
        messages.join_thread()


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
) -> int:
    """Build `projections` into the empty `scratch` store from the log's start up to
    `until_position`, or from the events recorded at or before `as_of` only. Returns the
    last position the result reflects."""
    runner = ProjectionRunner(recorder, mapper, scratch, projections, page_size=page_size)
    head = runner.head()
    target = head if until_position is None else min(until_position, head)
    if as_of is None:
        runner.catch_up(until=target, progress=progress)
        return target
    live = {state.name: state.generation for state in runner.states() if state.live}
    return runner._fill(
        live, target, keep=lambda event: event.timestamp <= as_of, progress=progress
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
