"""A client's verifier, written from RFC 9162's verification algorithms alone
(2.1.3.2 inclusion, 2.1.4.2 consistency). It deliberately imports nothing of the ledger:
the proofs the ledger builds are checked by code that did not build them."""

from __future__ import annotations

import hashlib


def hash_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2, step by step; `leaf` is the leaf's hash."""
    if leaf_index >= tree_size:  # 1
        return False
    fn, sn = leaf_index, tree_size - 1  # 2
    r = leaf  # 3
    for p in path:  # 4
        if sn == 0:  # 4a
            return False
        if fn & 1 or fn == sn:  # 4b
            r = hash_children(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    return sn == 0 and r == root  # 5


def verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2, step by step (equal sizes: the roots must be equal, no path)."""
    if first == second:
        return not path and first_hash == second_hash
    if first == 0 or first > second or not path:  # 1
        return False
    if first & (first - 1) == 0:  # 2: an exact power of two
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1  # 3
    while fn & 1:  # 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # 5
    for c in path[1:]:  # 6
        if sn == 0:  # 6a
            return False
        if fn & 1 or fn == sn:  # 6b
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0  # 7
