"""The fast path of a rebuild or replay: fold the log in memory, write each table once.

The page path (`ProjectionRunner._run_page`) loads the state of each page's participants
from the tables, applies the page and upserts it back, a transaction per page: right for
following the log, but a rebuild from position 0 then rewrites every participant's rows
once per page, out of key order. Here a build from position 0:

- reads the log's rows straight from the event table (`LogRows`: the topics and a range
  of aggregate ids filtered in SQL, ids as text),
- folds them with each projection's own fold (`Projection.bulk_fold`, the same functions
  the page path applies, so the two cannot differ) into plain in-memory state keyed by
  participant,
- and writes each table once per share of the participants, rows in key order, or in
  log order where the keys follow it (`Projection.bulk_write`).

Memory is bounded by folding the participants in shares (ranges of ids) of at most a
given number of log positions each (`positions_per_share`: the rebuild's memory budget
over what a position costs): per-participant state of one share at a time; sums are added
share by share. Rows per event (coverage_log's deltas) are final once folded: they are
written every `FLUSH_POSITIONS` positions (`Projection.bulk_flush`), not held to the
share's end, which halved what a position costs (847 bytes to 465 at 100,000
participants). Each share reads the whole log again (its rows filtered in SQL). At a
million participants, the 7 shares of 4 GB (before the flushes; 3 since) spent a quarter
of the build reading, and 4 shares of 8 GB were no faster (770 s against 592, the machine
shared): the bigger state costs the folds what the fewer passes save.

All of it goes into a generation no reader sees until it is swapped in, so a killed build
leaves the live tables as they were.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from projections.generations import now, physical
from projections.projection import Event, Projection
from projections.split import Partition
from projections.store import ViewStore

# (position, aggregate id as `str(UUID)` spells it, version, topic, stored state)
LogRow = tuple[int, str, int, str, bytes]

# What a share's state and rows cost per log position, at their peak: measured 465 bytes
# (1,099 MB resident over the 62 MB before, one share of 2.48 million positions at 100,000
# participants; 847 bytes before the per-event rows were flushed as they come); rounded up.
BYTES_PER_POSITION = 500
DEFAULT_MEMORY_MB = 4096  # the settings' default `rebuild_memory_mb`
# Rows that no later event changes (`Projection.bulk_flush`) are written about this often
# (in log positions), rather than held until the share's end.
FLUSH_POSITIONS = 200_000


def positions_per_share(memory_mb: int = DEFAULT_MEMORY_MB) -> int:
    """How many log positions one process folds at a time within `memory_mb`."""
    return max(1, memory_mb * 2**20 // BYTES_PER_POSITION)


class LogRows(Protocol):
    """Reads the log's stored rows for a bulk build, and decodes them."""

    def __call__(
        self, start: int, stop: int, topics: Sequence[str], low: str | None, high: str | None
    ) -> list[LogRow]:
        """The rows at positions `start`..`stop` with one of `topics`, of aggregates whose
        id (32 lower-case hex digits) is >= `low` and < `high` (None: unbounded), in
        position order."""

    def decode(self, row: LogRow) -> Event:
        """The domain event a row holds, as the runner's mapper would decode it (its
        `originator_id` may be the text key: the folds use the keys)."""

    def decode_all(self, rows: Sequence[LogRow]) -> list[Event]:
        """`decode` of each of `rows`, in order."""


def id_ranges(
    count: int, partition: Partition | None = None
) -> list[tuple[str | None, str | None]]:
    """`count` ranges of ids, equal shares of the id space (ids are random), or of the
    `partition`'s part of it (a worker process of a split build folds its own range)."""
    space = 1 << 128
    low, high = 0, space
    if partition is not None:
        low = partition.index * space // partition.count
        high = (partition.index + 1) * space // partition.count
    bounds = [low + k * (high - low) // count for k in range(count + 1)]
    text = [None if b in (0, space) else f"{b:032x}" for b in bounds]
    return list(pairwise(text))


def shares_for(target: int, per_share: int | None = None) -> int:
    """How many shares of the participants a build up to `target` is folded in, at most
    `per_share` positions each (default: `positions_per_share()`)."""
    return max(1, -(-target // (per_share or positions_per_share())))


def fill_bulk(
    read: LogRows,
    store: ViewStore,
    chosen: Sequence[Projection],
    generations: dict[str, int],
    target: int,
    *,
    page_size: int,
    keep: Callable[[Event], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    partition: Partition | None = None,
    share_positions: int | None = None,
) -> int:
    """Build the given generation of each projection (empty, not live, or a scratch
    store's) from the log's start to `target`; see the module. `keep` filters events;
    with `partition`, only that part of the aggregates (here a range of ids, filtered in
    SQL, rather than the page path's remainders), and the positions are left to the
    caller; `share_positions`: at most that many positions are folded at a time (default
    `positions_per_share()`). Returns the position of the last event applied."""
    parts = partition.count if partition is not None else 1
    ranges = id_ranges(shares_for(target // parts, share_positions), partition)
    # The fold holds millions of small lists and dicts: with the cyclic collector on,
    # each of its passes walks all of them, and the build slows as the state grows. The
    # fold makes no cycles (reference counting frees everything), so it runs without.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _fill(
            read, store, chosen, generations, target, ranges, page_size, keep, progress, partition
        )
    finally:
        if collecting:
            gc.enable()


def _fill(
    read: LogRows,
    store: ViewStore,
    chosen: Sequence[Projection],
    generations: dict[str, int],
    target: int,
    ranges: list[tuple[str | None, str | None]],
    page_size: int,
    keep: Callable[[Event], bool] | None,
    progress: Callable[[int, int], None] | None,
    partition: Partition | None,
) -> int:
    topics = sorted({get_topic(cls) for p in chosen for cls in p.handles})
    names = [{t: physical(t, generations[p.name]) for t in p.tables} for p in chosen]
    decode_all = read.decode_all
    # which topics each projection handles, unless it handles all of them
    handled = [
        None
        if set(topics) <= {get_topic(c) for c in p.handles}
        else {get_topic(c) for c in p.handles}
        for p in chosen
    ]
    flushing = [j for j, p in enumerate(chosen) if p.flushes]
    last = 0
    for share, (low, high) in enumerate(ranges):
        states = [p.bulk_state() for p in chosen]
        position = 0
        while position < target:
            stop = min(position + page_size, target)
            rows = read(position + 1, stop, topics, low, high)
            events = decode_all(rows)
            if keep is not None:
                kept = [j for j, event in enumerate(events) if keep(event)]
                rows = [rows[j] for j in kept]
                events = [events[j] for j in kept]
            positions = [row[0] for row in rows]
            keys = [row[1] for row in rows]
            kinds = [row[3] for row in rows]
            if positions:
                last = max(last, positions[-1])
            for projection, folded, wanted in zip(chosen, states, handled, strict=True):
                if wanted is None:
                    projection.bulk_fold(folded, keys, events, positions)
                    continue
                picked = [j for j, kind in enumerate(kinds) if kind in wanted]
                if picked:
                    projection.bulk_fold(
                        folded,
                        [keys[j] for j in picked],
                        [events[j] for j in picked],
                        [positions[j] for j in picked],
                    )
            if flushing and stop // FLUSH_POSITIONS > position // FLUSH_POSITIONS:
                with store.transaction() as tx:
                    for j in flushing:
                        chosen[j].bulk_flush(tx, names[j], states[j])
            position = stop
            if progress is not None:
                progress((share * target + position) // len(ranges), target)
        with store.transaction() as tx:
            for projection, folded, tables in zip(chosen, states, names, strict=True):
                projection.bulk_write(tx, tables, folded)
            if partition is None and share == len(ranges) - 1:
                for projection in chosen:
                    tx.execute(
                        "UPDATE projections SET position = ?, updated_at = ? "
                        "WHERE name = ? AND generation = ?",
                        (target, now(), projection.name, generations[projection.name]),
                    )
        del states
    return last


class NotificationRows:
    """`LogRows` through the library's `select_notifications` and mapper, for a recorder
    that `infra.log_rows` does not read directly (slower: notification objects, UUIDs)."""

    def __init__(self, recorder: Any, mapper: Mapper[Any]) -> None:
        self.recorder = recorder
        self.mapper = mapper

    def __call__(
        self, start: int, stop: int, topics: Sequence[str], low: str | None, high: str | None
    ) -> list[LogRow]:
        found = self.recorder.select_notifications(
            start=start, limit=stop - start + 1, stop=stop, topics=list(topics)
        )
        return [
            (n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
            for n in found
            if (low is None or n.originator_id.hex >= low)
            and (high is None or n.originator_id.hex < high)
        ]

    def decode(self, row: LogRow) -> Event:
        return self.mapper.to_domain_event(StoredEvent(UUID(row[1]), row[2], row[3], row[4]))

    def decode_all(self, rows: Sequence[LogRow]) -> list[Event]:
        return [self.decode(row) for row in rows]
