"""What a read model is to the runner: its tables, the events it handles, and how a page
of those events changes the tables (`Projection`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from projections.store import Tx

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

    # --- bulk: a rebuild folds into memory and writes each table once (`projections.bulk`)

    # True when the projection implements the three methods below: then a rebuild or a
    # replay folds a whole share of the participants in memory and writes it in bulk.
    bulk: ClassVar[bool] = False

    def bulk_state(self) -> Any:
        """An empty in-memory state for a bulk build of some participants from position 0."""
        raise NotImplementedError

    def bulk_fold(
        self, state: Any, keys: Sequence[str], events: Sequence[Event], positions: Sequence[int]
    ) -> None:
        """Fold events (already filtered to `handles`, in log order; `keys[i]` is the
        aggregate id of `events[i]` as text) into `state`, with the same functions as
        `process`."""
        raise NotImplementedError

    # True when some of the state's rows are final once folded (rows per event): then a
    # bulk build writes them between pages (`bulk_flush`) rather than holding them.
    flushes: ClassVar[bool] = False

    def bulk_flush(self, tx: Tx, names: dict[str, str], state: Any) -> None:
        """Write the rows in `state` that no later event can change (rows of the events
        folded so far, not sums or per-participant rows) and drop them from `state`, so
        that a bulk build's memory does not grow with them."""
        raise NotImplementedError

    def bulk_write(self, tx: Tx, names: dict[str, str], state: Any) -> None:
        """Write what `state` holds into a generation being built, rows in key order:
        per-participant rows are new (each share's participants are its own), sums are
        added to what other shares wrote."""
        raise NotImplementedError


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


__all__ = ["Event", "Projection", "keys_of"]
