"""The one mechanism that feeds read models from the notification log.

A runner reads the log in pages (only the topics its projections handle), decodes each
page once, hands it to every projection, and commits the projections' writes together
with their new positions in one transaction: a crash before the commit loses the whole
page, a crash after it loses nothing, so no event is skipped or applied twice.

Projections keep their tables in generations (see `projections.store`); `rebuild()`
replays the log from position 0 into a new generation and makes it live in one
transaction. `replay()` builds projections up to a past position or recorded time in a
separate (scratch) store, for audits.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from projections.store import Tx, ViewStore

Event = Any  # a decoded domain event (eventsourcing aggregate event)


class Projection(ABC):
    """A read model: its tables, and how a page of events changes them."""

    name: str
    handles: ClassVar[tuple[type, ...]]  # event classes; others are not even read from the log
    tables: ClassVar[dict[str, str]]  # logical name -> CREATE TABLE with {table} and {without_rowid}

    @abstractmethod
    def process(self, tx: Tx, names: dict[str, str], events: Sequence[Event]) -> None:
        """Apply a page of events (already filtered to `handles`) inside `tx`.

        `names` maps the logical table names to this generation's physical tables."""

    def key_columns(self, table: str) -> str:
        """ORDER BY for comparing two generations row for row (the primary key)."""
        return "1"


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


def physical(table: str, generation: int) -> str:
    return f"{table}_g{generation}"


def live_tables(tx: Tx, projection: Projection) -> tuple[dict[str, str], int]:
    """The live generation's physical table names and its position, read inside `tx`."""
    rows = tx.query("SELECT generation, position FROM projections WHERE name = ? AND live = 1",
                    (projection.name,))
    if not rows:
        return {t: physical(t, 1) for t in projection.tables}, -1
    generation, position = int(rows[0][0]), int(rows[0][1])
    return {t: physical(t, generation) for t in projection.tables}, position


@dataclass(frozen=True)
class ProjectionState:
    name: str
    generation: int
    position: int
    live: bool
    updated_at: str


class ProjectionRunner:
    """Feeds projections from one application's log into one view store."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[Any], store: ViewStore,
                 projections: Sequence[Projection], *, page_size: int = 2000) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.page_size = page_size
        self._topics = {get_topic(cls) for p in projections for cls in p.handles}
        for projection in projections:
            self._ensure_live_generation(projection)

    # --- state ----------------------------------------------------------------------------

    def _ensure_live_generation(self, projection: Projection) -> None:
        with self.store.transaction() as tx:
            rows = tx.query("SELECT generation FROM projections WHERE name = ? AND live = 1",
                            (projection.name,))
            if not rows:
                self._create_generation(tx, projection, 1, live=True)

    def _create_generation(self, tx: Tx, projection: Projection, generation: int, live: bool) -> None:
        for table, ddl in projection.tables.items():
            tx.execute(f"DROP TABLE IF EXISTS {physical(table, generation)}")
            tx.execute(ddl.replace("{table}", physical(table, generation)))
        tx.execute("DELETE FROM projections WHERE name = ? AND generation = ?",
                   (projection.name, generation))
        tx.execute("INSERT INTO projections (name, generation, position, live, updated_at) "
                   "VALUES (?, ?, 0, ?, ?)", (projection.name, generation, int(live), _now()))

    def states(self) -> list[ProjectionState]:
        rows = self.store.query("SELECT name, generation, position, live, updated_at "
                                "FROM projections ORDER BY name, generation")
        return [ProjectionState(r[0], int(r[1]), int(r[2]), bool(r[3]), str(r[4])) for r in rows
                if r[0] in self.projections]

    def live_tables(self, tx: Tx, name: str) -> tuple[dict[str, str], int]:
        return live_tables(tx, self.projections[name])

    def position(self) -> int:
        """The lowest live position: every projection reflects at least this much of the log."""
        live = [s.position for s in self.states() if s.live]
        return min(live) if live else 0

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    # --- running --------------------------------------------------------------------------

    def catch_up(self, *, until: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> int:
        """Process the log up to its head (or `until`); returns the number of events applied."""
        applied = 0
        target = self.head() if until is None else until
        while True:
            done = self._run_page(target)
            if done is None:
                return applied
            applied += done
            if progress is not None:
                progress(self.position(), target)

    def run_forever(self, poll_seconds: float = 0.2, stop: Callable[[], bool] = lambda: False) -> None:
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
                page = [e for p, e in events if p > position and isinstance(e, wanted)]
                if page:
                    projection.process(tx, names, page)
                moved = tx.execute("UPDATE projections SET position = ?, updated_at = ? "
                                   "WHERE name = ? AND live = 1 AND position = ?",
                                   (stop, _now(), name, position))
                if moved != 1:  # another runner got there first: apply nothing twice
                    raise ConcurrentRunnerError(f"{name} moved past {position} meanwhile")
            return len(events)

    def _read(self, start: int, stop: int) -> list[tuple[int, Event]]:
        notifications = self.recorder.select_notifications(
            start=start, limit=stop - start + 1, stop=stop, topics=sorted(self._topics))
        to_event = self.mapper.to_domain_event
        return [(n.id, to_event(n)) for n in notifications]

    # --- rebuild --------------------------------------------------------------------------

    def rebuild(self, names: Iterable[str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
        """Replay the whole log into a new generation of each named projection (all by
        default), then make the new generations live in one transaction."""
        chosen = [self.projections[n] for n in (names or self.projections)]
        generations: dict[str, int] = {}
        with self.store.transaction() as tx:
            for projection in chosen:
                rows = tx.query("SELECT max(generation) FROM projections WHERE name = ?",
                                (projection.name,))
                generation = int(rows[0][0] or 0) + 1
                self._create_generation(tx, projection, generation, live=False)
                generations[projection.name] = generation
        self._fill(generations, self.head(), progress=progress)
        with self.store.transaction() as tx:
            if tx.dialect == "postgres":
                # Readers hold a share lock on `projections` from looking up the live
                # generation until their transaction ends: wait for them before dropping
                # the tables they may be about to read; later readers see the new ones.
                tx.execute("LOCK TABLE projections IN ACCESS EXCLUSIVE MODE")
            for projection in chosen:
                old = tx.query("SELECT generation FROM projections WHERE name = ? AND live = 1",
                               (projection.name,))
                tx.execute("UPDATE projections SET live = 0 WHERE name = ?", (projection.name,))
                tx.execute("UPDATE projections SET live = 1 WHERE name = ? AND generation = ?",
                           (projection.name, generations[projection.name]))
                for (generation,) in old:
                    for table in projection.tables:
                        tx.execute(f"DROP TABLE IF EXISTS {physical(table, int(generation))}")
                    tx.execute("DELETE FROM projections WHERE name = ? AND generation = ?",
                               (projection.name, generation))
        return generations

    def _fill(self, generations: dict[str, int], target: int, *,
              keep: Callable[[Event], bool] | None = None,
              progress: Callable[[int, int], None] | None = None) -> int:
        """Apply the log from its start to `target` to the given generation of each named
        projection, a page per transaction (only this runner writes to them: a rebuild's
        new generation, a scratch store). `keep` filters events. Returns the position of
        the last event applied."""
        chosen = [self.projections[name] for name in generations]
        last = position = 0
        while position < target:
            stop = min(position + self.page_size, target)
            events = self._read(position + 1, stop)
            if keep is not None:
                events = [(p, e) for p, e in events if keep(e)]
            if events:
                last = events[-1][0]
            with self.store.transaction() as tx:
                for projection in chosen:
                    generation = generations[projection.name]
                    page = [e for _, e in events if isinstance(e, projection.handles)]
                    if page:
                        projection.process(
                            tx, {t: physical(t, generation) for t in projection.tables}, page)
                    tx.execute("UPDATE projections SET position = ?, updated_at = ? "
                               "WHERE name = ? AND generation = ?",
                               (stop, _now(), projection.name, generation))
            position = stop
            if progress is not None:
                progress(position, target)
        return last


def replay(recorder: ApplicationRecorder, mapper: Mapper[Any], scratch: ViewStore,
           projections: Sequence[Projection], *, until_position: int | None = None,
           as_of: datetime | None = None, page_size: int = 2000,
           progress: Callable[[int, int], None] | None = None) -> int:
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
    return runner._fill(live, target, keep=lambda event: event.timestamp <= as_of,
                        progress=progress)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
