"""Answers from the sealed tree: roots, inclusion and consistency proofs, checkpoints,
and where a log position or a recorded time falls in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper

from domain.errors import InvalidInputError, NotFoundError
from infra.audit.merkle import consistency_path, inclusion_path, root
from infra.audit.tiles import TileReader, create_tables, leaf_index_of, seal_state
from projections.store import ViewStore


class ProofError(NotFoundError):
    """A proof the sealed tree cannot give (a position not sealed, a size beyond it)."""


@dataclass(frozen=True)
class InclusionProof:
    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    path: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    path: list[bytes]


@dataclass(frozen=True)
class StoredCheckpoint:
    tree_size: int
    root: bytes
    position: int
    note: str
    signed_at: str


class SealedTree:
    """Read-only view of the tree the sealer keeps in a view store."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store
        create_tables(store)

    def size(self) -> tuple[int, int]:
        """(tree size, last sealed log position)."""
        with self.store.transaction() as tx:
            size, position, _, _ = seal_state(tx)
        return size, position

    def root(self, size: int | None = None) -> tuple[int, bytes]:
        with self.store.transaction() as tx:
            sealed = seal_state(tx)[0]
            size = sealed if size is None else size
            self._check_size(size, sealed)
            return size, root(TileReader(tx), size)

    def inclusion(self, position: int, size: int | None = None) -> InclusionProof:
        with self.store.transaction() as tx:
            sealed = seal_state(tx)[0]
            size = sealed if size is None else size
            self._check_size(size, sealed)
            index = leaf_index_of(tx, position, size)
            if index is None:
                raise ProofError(
                    "position_not_sealed",
                    f"Log position {position} is not in the tree of {size} leaves.",
                )
            reader = TileReader(tx)
            hashes, _ = reader.leaves(index, 1)
            return InclusionProof(
                position,
                index,
                size,
                hashes[0],
                root(reader, size),
                inclusion_path(reader, index, size),
            )

    def consistency(self, old: int, new: int | None = None) -> ConsistencyProof:
        with self.store.transaction() as tx:
            sealed = seal_state(tx)[0]
            new = sealed if new is None else new
            self._check_size(new, sealed)
            if not 0 < old <= new:
                raise InvalidInputError(
                    "invalid_sizes", f"Sizes must satisfy 0 < OLD <= NEW ({old}, {new})."
                )
            reader = TileReader(tx)
            return ConsistencyProof(
                old, new, root(reader, old), root(reader, new), consistency_path(reader, old, new)
            )

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self.store.transaction() as tx:
            rows = tx.query(
                "SELECT tree_size, root, position, note, signed_at "
                "FROM audit_checkpoints ORDER BY tree_size"
            )
        return [
            StoredCheckpoint(int(s), bytes(r), int(p), str(n), str(a)) for s, r, p, n, a in rows
        ]

    def size_at_position(self, position: int) -> int:
        """How many leaves the tree had once position `position` was sealed."""
        with self.store.transaction() as tx:
            sealed, last, _, _ = seal_state(tx)
            if position >= last:
                return sealed
            reader = TileReader(tx)
            lo, hi = 0, sealed  # the number of leaves whose position <= position
            while lo < hi:
                mid = (lo + hi) // 2
                if reader.leaves(mid, 1)[1][0] <= position:
                    lo = mid + 1
                else:
                    hi = mid
            return lo

    def _check_size(self, size: int, sealed: int) -> None:
        if not 0 <= size <= sealed:
            raise ProofError(
                "size_not_sealed", f"The tree has {sealed} leaves sealed; {size} is beyond it."
            )


def position_recorded_by(
    recorder: ApplicationRecorder, mapper: Mapper[Any], moment: datetime, window: int = 2000
) -> int:
    """The last log position whose event was recorded at or before `moment` (0: none).

    Recorded times follow log order between transactions, but not quite within one (an
    event's time is taken when it is made, before its batch commits). So: a binary search
    over positions, then a look at the next `window` positions for any later one that
    was still recorded by then."""
    head = recorder.max_notification_id() or 0
    lo, hi = 1, head
    found = 0
    while lo <= hi:
        mid = (lo + hi) // 2
        page = recorder.select_notifications(start=mid, limit=1)
        if not page:
            hi = mid - 1
            continue
        event: Any = mapper.to_domain_event(page[0])
        if event.timestamp <= moment:
            found = int(page[0].id)
            lo = int(page[0].id) + 1
        else:
            hi = mid - 1
    start, end = found, min(head, found + window)
    while start < end:
        page = recorder.select_notifications(start=start + 1, limit=500, stop=end)
        if not page:
            break
        for notification in page:
            later: Any = mapper.to_domain_event(notification)
            if later.timestamp <= moment:
                found = int(notification.id)
        start = int(page[-1].id)
    return found
