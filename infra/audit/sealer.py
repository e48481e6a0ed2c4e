"""The sealer: follows the log like a projection and appends one leaf per stored event.

Each page of the log is sealed in one view-store transaction that reads the tree's
state (size, last position), appends the page's leaves to the rightmost tiles, writes
the tiles it changed and the new state, and signs a checkpoint when one is due: a crash
loses the whole page or nothing, and a second sealer that raced this one is refused by
the state row's guard (so the position is tracked exactly once).

Checkpoints are due every `every` leaves or `seconds` seconds (if the tree grew). They
are kept in `audit_checkpoints` (never rewritten: the tree size is the key) and published
as files beside the log, one note per tree size, for third parties to keep.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.persistence import ApplicationRecorder

from infra.audit.leaves import leaf_hashes
from infra.audit.merkle import perfect_root, root
from infra.audit.notes import Checkpoint, NoteSigner, checkpoint_text
from infra.audit.tiles import (
    HASH,
    SEAL,
    TILE,
    TileReader,
    create_tables,
    pack_positions,
    seal_state,
    split_hashes,
    unpack_positions,
)
from projections.store import Tx, ViewStore


class ConcurrentSealerError(RuntimeError):
    """Another sealer advanced the tree during this page; the page was rolled back."""


@dataclass
class SealReport:
    tree_size: int
    position: int
    sealed: int = 0  # leaves appended by this call
    checkpoints: list[Checkpoint] = field(default_factory=list)


class Sealer:
    """Seals `recorder`'s log into the tree kept in `store`."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        store: ViewStore,
        signer: NoteSigner,
        *,
        every: int = 10_000,
        seconds: float = 3600.0,
        publish_dir: Path | None = None,
        page_size: int = 5000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.recorder = recorder
        self.store = store
        self.signer = signer
        self.origin = signer.name
        self.every = max(1, every)
        self.seconds = seconds
        self.publish_dir = publish_dir
        self.page_size = page_size
        self.clock = clock
        create_tables(store)
        self._swept = False
        self._pending: dict[tuple[int, int], tuple[Any, ...]] = {}

    # --- following the log -----------------------------------------------------------------

    def catch_up(
        self,
        *,
        until: int | None = None,
        checkpoint: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> SealReport:
        """Seal every stored event not yet sealed (up to position `until`). `checkpoint`:
        sign one at the end even if none is due (unless the head already has one)."""
        with self.store.transaction() as tx:
            size, position, last_checkpoint, _ = seal_state(tx)
        report = SealReport(size, position)
        head = self.recorder.max_notification_id() or 0
        if until is not None:
            head = min(head, until)
        while position < head:
            # Pages end where a checkpoint falls due, so checkpoints come every `every` leaves.
            limit = min(self.page_size, max(1, last_checkpoint + self.every - size))
            page = self.recorder.select_notifications(start=position + 1, limit=limit, stop=head)
            if not page:
                break
            with self.store.transaction() as tx:
                size, position, made = self._seal_page(tx, size, position, page)
            report.sealed += len(page)
            report.checkpoints += made
            if made:
                last_checkpoint = made[-1].tree_size
            if progress:
                progress(position, head)
        with self.store.transaction() as tx:
            made = self._checkpoint_if_due(tx, force=checkpoint)
        report.checkpoints += made
        report.tree_size, report.position = size, position
        self.publish(report.checkpoints)
        return report

    def _seal_page(
        self, tx: Tx, size: int, position: int, page: Sequence[Any]
    ) -> tuple[int, int, list[Checkpoint]]:
        stored = seal_state(tx)
        self._pending.clear()
        if stored[:2] != (size, position):
            raise ConcurrentSealerError(f"the tree moved to {stored[0]} leaves meanwhile")
        tiles, positions = self._frontier(tx, size)
        changed: set[tuple[int, int]] = set()
        level0 = tiles[0]
        ids = positions
        index0 = size // TILE
        for notification, leaf in zip(page, leaf_hashes(page), strict=True):
            level0.append(leaf)
            ids.append(notification.id)
            if len(level0) == TILE:  # a full tile: its root goes one tile level up
                changed.add((0, index0))
                self._write(tx, 0, index0, level0, ids)
                carry = perfect_root(level0)
                level0.clear()
                ids.clear()
                index0 += 1
                self._carry(tx, tiles, size + 1, carry, changed)
            size += 1
        if level0:
            self._write(tx, 0, index0, level0, ids)
        for level in range(1, len(tiles)):
            count = size >> (8 * level)
            if tiles[level] and (level, count // TILE) in changed:
                self._write(tx, level, count // TILE, tiles[level])
        self._flush(tx)
        position = int(page[-1].id)
        self._save_state(tx, size, position, stored[0], stored[1])
        return size, position, self._checkpoint_if_due(tx, force=False)

    def _carry(
        self,
        tx: Tx,
        tiles: list[list[bytes]],
        new_size: int,
        carry: bytes,
        changed: set[tuple[int, int]],
    ) -> None:
        level = 1
        while True:
            if len(tiles) <= level:
                tiles.append([])
            tiles[level].append(carry)
            index = ((new_size >> (8 * level)) - 1) // TILE
            changed.add((level, index))
            if len(tiles[level]) < TILE:
                return
            self._write(tx, level, index, tiles[level])
            carry = perfect_root(tiles[level])
            tiles[level] = []
            level += 1

    def _frontier(self, tx: Tx, size: int) -> tuple[list[list[bytes]], list[int]]:
        """The partial rightmost tile of every level (hashes), and the level-0 positions."""
        tiles: list[list[bytes]] = []
        positions: list[int] = []
        level = 0
        while level == 0 or size >> (8 * level):
            count = size >> (8 * level)
            hashes: list[bytes] = []
            if count % TILE:
                rows = tx.query(
                    "SELECT hashes, positions FROM audit_tiles WHERE level = ? AND idx = ?",
                    (level, count // TILE),
                )
                data = bytes(rows[0][0])[: (count % TILE) * HASH]
                hashes = split_hashes(data)
                if level == 0:
                    positions = unpack_positions(bytes(rows[0][1]))[: count % TILE]
            tiles.append(hashes)
            level += 1
        return tiles, positions

    def _write(
        self,
        tx: Tx,
        level: int,
        index: int,
        hashes: list[bytes],
        positions: list[int] | None = None,
    ) -> None:
        """Queue a tile for this page's one batched write (a later write of the same tile
        within the page replaces the queued one)."""
        self._pending[(level, index)] = (
            level,
            index,
            len(hashes),
            b"".join(hashes),
            pack_positions(positions) if positions is not None else None,
        )

    def _flush(self, tx: Tx) -> None:
        tx.executemany(
            "INSERT INTO audit_tiles (level, idx, width, hashes, positions) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width,"
            " hashes = excluded.hashes, positions = excluded.positions",
            list(self._pending.values()),
        )
        self._pending.clear()

    def _save_state(
        self, tx: Tx, size: int, position: int, old_size: int, old_position: int
    ) -> None:
        updated = tx.execute(
            "UPDATE audit_seal SET tree_size = ?, position = ? WHERE name = ? "
            "AND tree_size = ? AND position = ?",
            (size, position, SEAL, old_size, old_position),
        )
        if updated == 1:
            return
        if old_size == 0 and not tx.query("SELECT 1 FROM audit_seal WHERE name = ?", (SEAL,)):
            tx.execute(
                "INSERT INTO audit_seal (name, tree_size, position, checkpoint_size, "
                "checkpoint_at) VALUES (?, ?, ?, 0, ?)",
                (SEAL, size, position, self.clock()),
            )
            return
        raise ConcurrentSealerError("another sealer advanced the tree meanwhile")

    # --- checkpoints ------------------------------------------------------------------------

    def _checkpoint_if_due(self, tx: Tx, *, force: bool) -> list[Checkpoint]:
        size, position, last_size, last_at = seal_state(tx)
        now = self.clock()
        grown = size > last_size
        if not grown or not (
            force or size - last_size >= self.every or now - last_at >= self.seconds
        ):
            return []
        top = root(TileReader(tx), size)
        note = self.signer.sign(checkpoint_text(self.origin, size, top))
        tx.execute(
            "INSERT INTO audit_checkpoints (tree_size, root, position, note, signed_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (size, top, position, note, datetime.fromtimestamp(now, UTC).isoformat()),
        )
        tx.execute(
            "UPDATE audit_seal SET checkpoint_size = ?, checkpoint_at = ? WHERE name = ?",
            (size, now, SEAL),
        )
        return [Checkpoint(self.origin, size, top, note)]

    def publish(self, checkpoints: list[Checkpoint]) -> None:
        """Write each checkpoint's note to `<publish_dir>/<tree size>.checkpoint` once. The
        first call also writes any the database holds that a crash kept off the disk."""
        if self.publish_dir is None:
            return
        if not self._swept:
            with self.store.transaction() as tx:
                rows = tx.query("SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size")
            checkpoints = [Checkpoint(self.origin, int(s), b"", str(n)) for s, n in rows]
            self._swept = True
        self.publish_dir.mkdir(parents=True, exist_ok=True)
        for checkpoint in checkpoints:
            path = self.publish_dir / f"{checkpoint.tree_size}.checkpoint"
            if path.exists():
                continue
            temporary = path.with_name(f".{path.name}.{os.getpid()}")
            temporary.write_text(checkpoint.note)
            try:
                os.link(temporary, path)  # never replaces a published note
            except FileExistsError:
                pass
            finally:
                temporary.unlink(missing_ok=True)
