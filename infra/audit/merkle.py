"""The RFC 9162 Merkle tree (Certificate Transparency 2.0), on `hashlib`.

Hashing (RFC 9162 2.1.1): a leaf is `SHA-256(0x00 ‖ bytes)`, an interior node
`SHA-256(0x01 ‖ left ‖ right)`, the empty tree `SHA-256()`. The tree over n leaves splits
at k, the largest power of two below n, so every tree is a row of perfect subtrees.

Proofs are built exactly as RFC 9162 2.1.3.1 (`PATH`) and 2.1.4.1 (`PROOF`/`SUBPROOF`)
define them, over any `HashSource` that can give the hash of a range of leaves: an
in-memory list in tests, the stored tiles (`infra.audit.tiles`) in the ledger.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

_sha256 = hashlib.sha256

EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 2.1.1: the hash of one leaf's bytes."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 2.1.1: the hash of an interior node."""
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def is_perfect(lo: int, hi: int) -> bool:
    """Whether leaves [lo, hi) form one stored subtree: a power of two, aligned."""
    size = hi - lo
    return size > 0 and size & (size - 1) == 0 and lo % size == 0


def perfect_root(hashes: list[bytes]) -> bytes:
    """The root of a perfect subtree given its 2^k bottom hashes, level by level."""
    level = hashes
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class HashSource(Protocol):
    """Anything that can give MTH(D[lo:hi]), the hash of the tree over leaves lo..hi-1."""

    def subtree(self, lo: int, hi: int) -> bytes: ...


def root(source: HashSource, size: int) -> bytes:
    """MTH(D[size]): the tree's root at a size."""
    return EMPTY_ROOT if size == 0 else source.subtree(0, size)


def inclusion_path(source: HashSource, index: int, size: int) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n]): the audit path of leaf `index` in the tree of `size`,
    deepest sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:  # PATH(m, D[lo:hi]); the sibling found at this step goes last
        k = split_point(hi - lo)
        if m < k:
            path.append(source.subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(source.subtree(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_path(source: HashSource, old: int, new: int) -> list[bytes]:
    """RFC 9162 2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    path: list[bytes] = []
    lo, hi, m, complete = 0, new, old, True
    while True:  # SUBPROOF(m, D[lo:hi], complete)
        n = hi - lo
        if m == n:
            if not complete:
                path.append(source.subtree(lo, hi))
            break
        k = split_point(n)
        if m <= k:
            path.append(source.subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(source.subtree(lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    path.reverse()
    return path


class MemoryTree:
    """A tree over leaf hashes held in memory (tests, small exports)."""

    def __init__(self, leaf_hashes: list[bytes] | None = None) -> None:
        self.leaves: list[bytes] = list(leaf_hashes or [])
        self._cache: dict[tuple[int, int], bytes] = {}

    def append(self, leaf: bytes) -> None:
        self.leaves.append(leaf)

    def subtree(self, lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return self.leaves[lo]
        perfect = is_perfect(lo, hi)
        if perfect and (lo, hi) in self._cache:
            return self._cache[(lo, hi)]
        k = split_point(hi - lo)
        value = node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))
        if perfect:  # a perfect subtree never changes as leaves are appended
            self._cache[(lo, hi)] = value
        return value


class CompactRange:
    """The right edge of a growing tree: the roots of its perfect subtrees, largest first.
    Appending is amortised one node hash per leaf; the root at the current size is a fold."""

    def __init__(self, size: int = 0, peaks: list[bytes] | None = None) -> None:
        self.size = size
        self.peaks: list[bytes] = list(peaks or [])  # one per set bit of size, high to low

    def append(self, leaf: bytes) -> None:
        peaks = self.peaks
        peaks.append(leaf)
        size = self.size
        while size & 1:  # each trailing one bit: two equal subtrees merge
            right = peaks.pop()
            peaks[-1] = node_hash(peaks[-1], right)
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.peaks:
            return EMPTY_ROOT
        value = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            value = node_hash(peak, value)
        return value

    @classmethod
    def from_source(cls, source: HashSource, size: int) -> CompactRange:
        """The compact range of the first `size` leaves of a stored tree."""
        peaks, lo = [], 0
        for bit in reversed(range(size.bit_length())):
            if size >> bit & 1:
                peaks.append(source.subtree(lo, lo + (1 << bit)))
                lo += 1 << bit
        return cls(size, peaks)


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: whether `path` proves the tree of `new` leaves extends `old`."""
    if old == new:
        return not path and old_root == new_root
    if not 0 < old < new or not path:
        return False
    if old & (old - 1) == 0:
        path = [old_root, *path]
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not (fn & 1 or fn == 0):
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0
