"""The Merkle tree against RFC 6962's published test vectors, and every proof it builds
against the independent RFC 9162 verifier in tests/rfc9162.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from infra.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MemoryTree,
    consistency_path,
    inclusion_path,
    leaf_hash,
    root,
)
from tests.rfc9162 import verify_consistency, verify_inclusion

# RFC 6962 test data as published with the Certificate Transparency reference code.
VECTOR_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
VECTOR_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
VECTOR_INCLUSION = {  # (leaf index, tree size) -> path
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
VECTOR_CONSISTENCY = {  # (old, new) -> path
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def vector_tree() -> MemoryTree:
    return MemoryTree([leaf_hash(leaf) for leaf in VECTOR_LEAVES])


def test_roots_for_sizes_1_to_8_equal_the_rfc_6962_vectors() -> None:
    tree = vector_tree()
    assert root(tree, 0) == EMPTY_ROOT
    for size in range(1, 9):
        assert root(tree, size) == VECTOR_ROOTS[size - 1], size


def test_a_compact_range_gives_the_same_roots_as_it_grows() -> None:
    growing = CompactRange()
    for size, leaf in enumerate(VECTOR_LEAVES, start=1):
        growing.append(leaf_hash(leaf))
        assert growing.root() == VECTOR_ROOTS[size - 1]
    assert CompactRange.from_source(vector_tree(), 7).root() == VECTOR_ROOTS[6]


def test_published_proofs_are_the_ones_built_and_they_verify() -> None:
    tree = vector_tree()
    for (index, size), expected in VECTOR_INCLUSION.items():
        path = inclusion_path(tree, index, size)
        assert [p.hex() for p in path] == expected
        assert verify_inclusion(index, size, tree.leaves[index], path, VECTOR_ROOTS[size - 1])
    for (old, new), expected in VECTOR_CONSISTENCY.items():
        path = consistency_path(tree, old, new)
        assert [p.hex() for p in path] == expected
        assert verify_consistency(old, new, VECTOR_ROOTS[old - 1], VECTOR_ROOTS[new - 1], path)


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(
    size: int, data: st.DataObject
) -> None:
    tree = MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(size)])
    top = root(tree, size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = inclusion_path(tree, index, size)
    assert verify_inclusion(index, size, tree.leaves[index], path, top)
    assert not verify_inclusion(index, size, leaf_hash(b"forged"), path, top)
    if size > 1:
        other = (index + 1) % size
        assert not verify_inclusion(other, size, tree.leaves[index], path, top)


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_consistency_proof_verifies_and_a_forked_tree_does_not(
    size: int, data: st.DataObject
) -> None:
    old = data.draw(st.integers(min_value=1, max_value=size))
    tree = MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(size)])
    path = consistency_path(tree, old, size)
    assert verify_consistency(old, size, root(tree, old), root(tree, size), path)
    # A log that rewrote one of the first `old` leaves cannot prove it extends the old root.
    forked = MemoryTree(list(tree.leaves))
    forked.leaves[data.draw(st.integers(min_value=0, max_value=old - 1))] = leaf_hash(b"rewritten")
    forged_path = consistency_path(forked, old, size)
    assert not verify_consistency(old, size, root(tree, old), root(forked, size), forged_path)
