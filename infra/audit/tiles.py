"""Where the tree lives: tiles of 256 hashes, as transparency logs store them.

Tile level t holds the hashes of tree level 8t: level-0 tiles the leaf hashes (with the
log position of each leaf beside them), level-1 tiles the roots of full level-0 tiles,
and so on. Any node of a perfect subtree is recomputed from one tile (at most 127 node
hashes), so a proof never rehashes the log. The rightmost tile of each level is partial
and grows until it is full; full tiles are never written again.

The tables live in the view store (an SQLite file of its own, or the ledger's PostgreSQL
schema), beside the sealer's one bookkeeping row and the signed checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infra.audit.merkle import HashSource, is_perfect, node_hash, perfect_root, split_point
from projections.store import Tx, ViewStore

TILE = 256
HEIGHT = 8  # tree levels per tile level: 2**8 = 256
HASH = 32
SEAL = "seal"  # the sealer's row in audit_seal


def create_tables(store: ViewStore) -> None:
    blob = "BYTEA" if store.dialect == "postgres" else "BLOB"
    with store.transaction() as tx:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS audit_tiles (level INTEGER NOT NULL, idx BIGINT NOT NULL,"
            f" width INTEGER NOT NULL, hashes {blob} NOT NULL, positions {blob},"
            " PRIMARY KEY (level, idx)) {without_rowid}"
        )
        tx.execute(
            "CREATE TABLE IF NOT EXISTS audit_seal (name TEXT NOT NULL PRIMARY KEY,"
            " tree_size BIGINT NOT NULL, position BIGINT NOT NULL,"
            " checkpoint_size BIGINT NOT NULL, checkpoint_at DOUBLE PRECISION NOT NULL)"
        )
        tx.execute(
            "CREATE TABLE IF NOT EXISTS audit_checkpoints (tree_size BIGINT NOT NULL PRIMARY KEY,"
            f" root {blob} NOT NULL, position BIGINT NOT NULL, note TEXT NOT NULL,"
            " signed_at TEXT NOT NULL)"
        )


def split_hashes(data: bytes) -> list[bytes]:
    return [data[i : i + HASH] for i in range(0, len(data), HASH)]


def pack_positions(positions: Sequence[int]) -> bytes:
    return b"".join(p.to_bytes(8, "big") for p in positions)


def unpack_positions(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 8], "big") for i in range(0, len(data), 8)]


class TileReader(HashSource):
    """MTH(D[lo:hi]) from the stored tiles, read inside one transaction (one snapshot).

    `overlay`: tiles not yet written (the sealer's page in progress), consulted first."""

    def __init__(self, tx: Tx, overlay: dict[tuple[int, int], bytes] | None = None) -> None:
        self.tx = tx
        self.overlay = overlay or {}
        self._tiles: dict[tuple[int, int], bytes] = {}

    def tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        found = self.overlay.get(key)
        if found is None:
            found = self._tiles.get(key)
        if found is None:
            rows = self.tx.query("SELECT hashes FROM audit_tiles WHERE level = ? AND idx = ?", key)
            found = bytes(rows[0][0]) if rows else b""
            self._tiles[key] = found
        return found

    def node(self, level: int, index: int) -> bytes:
        """The root of the perfect subtree of 2**level leaves starting at index << level."""
        tile_level, height = divmod(level, HEIGHT)
        first = index << height  # in the hashes of tree level 8 * tile_level
        data = self.tile(tile_level, first // TILE)
        start, count = first % TILE, 1 << height
        if len(data) < (start + count) * HASH:
            raise LookupError(f"node ({level}, {index}) is beyond the sealed tree")
        return perfect_root(split_hashes(data[start * HASH : (start + count) * HASH]))

    def subtree(self, lo: int, hi: int) -> bytes:
        if is_perfect(lo, hi):
            level = (hi - lo).bit_length() - 1
            return self.node(level, lo >> level)
        k = split_point(hi - lo)
        return node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def leaves(self, first: int, count: int) -> tuple[list[bytes], list[int]]:
        """Leaf hashes and positions of leaves first .. first+count-1 (one query)."""
        if count <= 0:
            return [], []
        rows = self.tx.query(
            "SELECT idx, hashes, positions FROM audit_tiles WHERE level = 0 "
            "AND idx >= ? AND idx <= ? ORDER BY idx",
            (first // TILE, (first + count - 1) // TILE),
        )
        hashes: list[bytes] = []
        positions: list[int] = []
        for idx, data, where in rows:
            lo = max(first - int(idx) * TILE, 0)
            hi = min(first + count - int(idx) * TILE, TILE)
            hashes += split_hashes(bytes(data)[lo * HASH : hi * HASH])
            positions += unpack_positions(bytes(where)[lo * 8 : hi * 8])
        return hashes, positions


def leaf_index_of(tx: Tx, position: int, tree_size: int) -> int | None:
    """The leaf index of a log position in the sealed tree (binary search over level-0
    tiles by their first position; positions ascend with leaves)."""
    tiles = (tree_size + TILE - 1) // TILE
    lo, hi = 0, tiles - 1
    while lo <= hi:  # the last tile whose first position <= position
        mid = (lo + hi) // 2
        first = tx.query("SELECT positions FROM audit_tiles WHERE level = 0 AND idx = ?", (mid,))
        if int.from_bytes(bytes(first[0][0])[:8], "big") <= position:
            lo = mid + 1
        else:
            hi = mid - 1
    if hi < 0:
        return None
    positions = unpack_positions(
        bytes(
            tx.query("SELECT positions FROM audit_tiles WHERE level = 0 AND idx = ?", (hi,))[0][0]
        )
    )
    if position in positions:
        index = hi * TILE + positions.index(position)
        return index if index < tree_size else None
    return None


def seal_state(tx: Tx) -> tuple[int, int, int, float]:
    """(tree size, last sealed position, last checkpoint's size, when it was signed)."""
    rows: list[Any] = tx.query(
        "SELECT tree_size, position, checkpoint_size, checkpoint_at FROM audit_seal WHERE name = ?",
        (SEAL,),
    )
    if not rows:
        return 0, 0, 0, 0.0
    size, position, checkpoint_size, at = rows[0]
    return int(size), int(position), int(checkpoint_size), float(at)
