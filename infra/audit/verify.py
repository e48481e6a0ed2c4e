"""`verify`: recompute the tree from the stored events and hold it to what was sealed and
signed.

Three independent checks, in the spirit of one `check -> errors` each:
- every checkpoint's signature is the log key's, and each checkpoint is consistent with
  the next (an RFC 9162 consistency proof from the stored tiles, checked against both
  signed roots): a rewritten history cannot extend what was published;
- the stored events, read again in log order, give the sealed leaf hashes, leaf by leaf:
  the first that differs is named, as changed, deleted, inserted or reordered;
- the recomputed tree's root at every checkpoint's size is the signed root (this catches
  a store whose tiles were rewritten to match altered events).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import ApplicationRecorder

from infra.audit.leaves import leaf_hashes, notification_leaf
from infra.audit.merkle import CompactRange, consistency_path, leaf_hash, verify_consistency
from infra.audit.notes import Checkpoint, NoteError, Verifier, parse_checkpoint
from infra.audit.tiles import TILE, TileReader, create_tables, seal_state
from projections.store import ViewStore


@dataclass
class Problem:
    kind: str  # changed, deleted, inserted, reordered, root_mismatch, signature, inconsistent
    message: str
    position: int | None = None


@dataclass
class VerifyReport:
    ok: bool
    first_bad_position: int | None
    checked: int
    tree_size: int
    root: bytes
    checkpoints: int
    unsealed: int = 0
    problems: list[Problem] = field(default_factory=list)


def check_checkpoints(
    store: ViewStore, verifier: Verifier, origin: str, extra: list[str]
) -> tuple[list[Checkpoint], list[Problem]]:
    """Signatures, origins, duplicates and consistency of consecutive checkpoints."""
    problems: list[Problem] = []
    by_size: dict[int, Checkpoint] = {}
    with store.transaction() as tx:
        notes = [
            str(n) for (n,) in tx.query("SELECT note FROM audit_checkpoints ORDER BY tree_size")
        ]
    for note in notes + extra:
        try:
            checkpoint = parse_checkpoint(note, verifier)
        except NoteError as error:
            problems.append(
                Problem("signature", f"a checkpoint fails its signature check: {error}")
            )
            continue
        if checkpoint.origin != origin:
            problems.append(
                Problem("signature", f"a checkpoint of another log ({checkpoint.origin})")
            )
            continue
        known = by_size.get(checkpoint.tree_size)
        if known is not None and known.root != checkpoint.root:
            problems.append(
                Problem(
                    "inconsistent",
                    f"two signed checkpoints of size {checkpoint.tree_size} with different roots",
                )
            )
        by_size[checkpoint.tree_size] = checkpoint
    ordered = [by_size[s] for s in sorted(by_size)]
    with store.transaction() as tx:
        sealed = seal_state(tx)[0]
        reader = TileReader(tx)
        for old, new in itertools.pairwise(ordered):
            if new.tree_size > sealed:
                problems.append(
                    Problem(
                        "inconsistent",
                        f"checkpoint {new.tree_size} is beyond the sealed tree ({sealed} leaves)",
                    )
                )
                break
            path = consistency_path(reader, old.tree_size, new.tree_size)
            if not verify_consistency(old.tree_size, new.tree_size, old.root, new.root, path):
                problems.append(
                    Problem(
                        "inconsistent",
                        f"checkpoint {new.tree_size} is not consistent with "
                        f"checkpoint {old.tree_size}: the log was rewritten between them",
                    )
                )
    return ordered, problems


def verify_log(
    recorder: ApplicationRecorder,
    store: ViewStore,
    verifier: Verifier,
    origin: str,
    *,
    from_position: int | None = None,
    until_position: int | None = None,
    extra_notes: list[str] | None = None,
    page_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    create_tables(store)
    checkpoints, problems = check_checkpoints(store, verifier, origin, extra_notes or [])
    with store.transaction() as tx:
        sealed, last_sealed, _, _ = seal_state(tx)
    start = 0  # leaves before the first position from `from_position` on
    if from_position is not None and from_position > 1:
        start = _size_at(store, from_position - 1, sealed)
    with store.transaction() as tx:
        prefix = CompactRange.from_source(TileReader(tx), start)
    end = sealed
    if until_position is not None:
        end = min(end, _size_at(store, until_position, sealed))
    due = [c for c in checkpoints if start < c.tree_size <= end]
    good_size = max([c.tree_size for c in checkpoints if c.tree_size <= start], default=0)
    tree = prefix
    first_bad: Problem | None = None
    sealed_hashes: list[bytes] = []
    sealed_positions: list[int] = []
    index = start
    cursor = 0  # stored events are read from after this position
    if start:
        with store.transaction() as tx:
            cursor = TileReader(tx).leaves(start - 1, 1)[1][0]
    buffered: list[Any] = []
    computed: list[bytes] = []
    while index < end and first_bad is None:
        if not buffered:
            buffered = list(recorder.select_notifications(start=cursor + 1, limit=page_size))
            computed = leaf_hashes(buffered)
            computed.reverse()
            if not buffered:  # the log ends before the sealed tree does
                _hashes, positions = _sealed(store, index, 1)
                first_bad = Problem(
                    "deleted",
                    f"position {positions[0]} and every one after it were deleted",
                    positions[0],
                )
                break
            buffered.reverse()
        if not sealed_hashes:
            sealed_hashes, sealed_positions = _sealed(store, index, min(page_size, end - index))
            if not sealed_hashes:
                first_bad = Problem(
                    "tree_damaged",
                    f"the stored tree lacks leaf {index}: its tiles were deleted",
                    int(buffered[-1].id),
                )
                break
            sealed_hashes.reverse()
            sealed_positions.reverse()
        notification = buffered.pop()
        actual = computed.pop()
        cursor = int(notification.id)
        expected, expected_position = sealed_hashes.pop(), sealed_positions.pop()
        if actual != expected:
            nxt = buffered[-1] if buffered else _next(recorder, cursor)
            first_bad = _classify(store, index, end, notification, nxt, expected_position, expected)
            break
        tree.append(actual)
        index += 1
        while due and due[0].tree_size == index:
            checkpoint = due.pop(0)
            if tree.root() != checkpoint.root:
                first = _sealed(store, good_size, 1)[1][0]
                first_bad = Problem(
                    "root_mismatch",
                    f"the events up to position {cursor} do not give the root "
                    f"signed at tree size {checkpoint.tree_size}: an event from position {first} "
                    f"to {cursor} was altered and the stored tree rewritten to hide it",
                    first,
                )
                break
            good_size = checkpoint.tree_size
        if progress and index % page_size == 0:
            progress(index, end)
    if progress:
        progress(index, end)
    if first_bad is not None:
        problems.insert(0, first_bad)
    head = recorder.max_notification_id() or 0
    return VerifyReport(
        ok=not problems,
        first_bad_position=first_bad.position if first_bad else None,
        checked=index - start,
        tree_size=end,
        root=tree.root(),
        checkpoints=len(checkpoints),
        unsealed=max(0, head - last_sealed) if until_position is None else 0,
        problems=problems,
    )


def _size_at(store: ViewStore, position: int, sealed: int) -> int:
    from infra.audit.proofs import SealedTree

    return min(sealed, SealedTree(store).size_at_position(position))


def _sealed(store: ViewStore, first: int, count: int) -> tuple[list[bytes], list[int]]:
    with store.transaction() as tx:
        return TileReader(tx).leaves(first, count)


def _next(recorder: ApplicationRecorder, after: int) -> Any:
    page = recorder.select_notifications(start=after + 1, limit=1)
    return page[0] if page else None


def _classify(
    store: ViewStore,
    index: int,
    end: int,
    actual: Any,
    following: Any,
    expected_position: int,
    expected: bytes,
) -> Problem:
    """What happened at the first leaf that differs, and at which position."""
    stored_position = int(actual.id)
    if stored_position > expected_position:
        return Problem("deleted", f"position {expected_position} was deleted", expected_position)
    if stored_position < expected_position:
        return Problem("inserted", f"position {stored_position} was inserted", stored_position)
    if index + 1 < end:
        next_hash, next_position = _sealed(store, index + 1, 1)
        if leaf_hash(notification_leaf(actual, next_position[0])) == next_hash[0]:
            return Problem(
                "deleted",
                f"position {expected_position} was deleted and the positions after it renumbered",
                expected_position,
            )
    if (
        following is not None
        and leaf_hash(notification_leaf(following, expected_position)) == expected
    ):
        return Problem(
            "inserted",
            f"an event was inserted at position {expected_position} "
            "and the positions after it renumbered",
            expected_position,
        )
    with store.transaction() as tx:
        hashes, positions = TileReader(tx).leaves(index + 1, min(end - index - 1, 4 * TILE))
    if any(
        leaf_hash(notification_leaf(actual, p)) == h for h, p in zip(hashes, positions, strict=True)
    ):
        return Problem(
            "reordered",
            f"position {expected_position} holds an event sealed at a "
            "later position (events reordered)",
            expected_position,
        )
    return Problem("changed", f"position {expected_position} was changed", expected_position)
