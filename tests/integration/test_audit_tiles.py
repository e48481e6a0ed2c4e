"""The sealer's tiles against a tree held in memory, over a log big enough for three tile
levels (more than 256 * 256 leaves), with a log of synthetic notifications."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infra.audit.leaves import notification_leaf
from infra.audit.merkle import MemoryTree, root
from infra.audit.notes import NoteSigner, parse_checkpoint, parse_verifier_key
from infra.audit.proofs import SealedTree
from infra.audit.sealer import Sealer
from infra.view_store import SQLiteViewStore
from tests.rfc9162 import hash_leaf, verify_consistency, verify_inclusion


@dataclass
class Note:
    id: int
    originator_id: uuid.UUID
    originator_version: int
    topic: str
    state: bytes


class FakeLog:
    """The two recorder calls the sealer makes, over a list (positions with gaps, as
    PostgreSQL's can have)."""

    def __init__(self, notes: list[Note]) -> None:
        self.notes = notes

    def max_notification_id(self) -> int | None:
        return self.notes[-1].id if self.notes else None

    def select_notifications(self, start: int, limit: int, stop: int | None = None) -> list[Note]:
        chosen = [n for n in self.notes if n.id >= start and (stop is None or n.id <= stop)]
        return chosen[:limit]


def test_tiles_answer_like_the_tree_in_memory_across_three_tile_levels(tmp_path: Path) -> None:
    rng = random.Random(3)
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(50)]
    notes, position = [], 0
    for i in range(66_000):
        position += 1 if rng.random() < 0.99 else 3  # a few gaps
        notes.append(
            Note(
                position,
                ids[i % 50],
                i // 50 + 1,
                "domain.participant:X",
                rng.randbytes(rng.randint(0, 40)),
            )
        )
    log = FakeLog(notes)
    store = SQLiteViewStore(tmp_path / "views.db")
    signer = NoteSigner("test.example/log", Ed25519PrivateKey.generate())
    sealer = Sealer(
        log,  # type: ignore[arg-type]  # a fake log: the sealer reads notifications only
        store,
        signer,
        every=30_000,
        publish_dir=tmp_path / "cp",
        page_size=7_777,
    )
    sealer.catch_up(until=notes[40_000].id)  # two calls, so a call starts mid-tile
    report = sealer.catch_up(checkpoint=True)
    assert report.tree_size == len(notes)
    assert [c.tree_size for c in SealedTree(store).checkpoints()] == [30_000, 60_000, 66_000]

    memory = MemoryTree([hash_leaf(notification_leaf(n)) for n in notes])
    tree = SealedTree(store)
    for size in (1, 255, 256, 257, 65_535, 65_536, 65_537, 66_000, rng.randint(1, 66_000)):
        assert tree.root(size)[1] == root(memory, size), size
    verifier = parse_verifier_key(signer.verifier_key)
    last = parse_checkpoint((tmp_path / "cp" / "66000.checkpoint").read_text(), verifier)
    assert last.root == root(memory, 66_000)
    for index in (0, 255, 256, 65_535, 65_536, 65_999, rng.randrange(66_000)):
        proof = tree.inclusion(notes[index].id)
        assert proof.leaf_index == index
        assert verify_inclusion(index, 66_000, memory.leaves[index], proof.path, last.root)
    for old in (1, 256, 30_000, 65_536, 65_999):
        consistency = tree.consistency(old)
        assert verify_consistency(old, 66_000, root(memory, old), last.root, consistency.path)
    assert tree.size_at_position(notes[1000].id) == 1001
    store.close()


def small_log(count: int) -> FakeLog:
    origin = uuid.UUID(int=7)
    return FakeLog([Note(i, origin, i, "t", b"x%d" % i) for i in range(1, count + 1)])


def test_a_racing_sealer_is_refused_and_no_leaf_is_sealed_twice(tmp_path: Path) -> None:
    import pytest

    from infra.audit.sealer import ConcurrentSealerError

    log = small_log(1000)
    store = SQLiteViewStore(tmp_path / "views.db")
    signer = NoteSigner("test.example/log", Ed25519PrivateKey.generate())
    slow = Sealer(log, store, signer, page_size=100)  # type: ignore[arg-type]
    fast = Sealer(log, store, signer, page_size=100)  # type: ignore[arg-type]
    slow.catch_up(until=300)
    real_select = log.select_notifications

    def racing(start: int, limit: int, stop: int | None = None) -> list[Note]:
        page = real_select(start, limit, stop)
        log.select_notifications = real_select  # type: ignore[method-assign]
        fast.catch_up()  # the other sealer gets there first
        return page

    log.select_notifications = racing  # type: ignore[method-assign]
    with pytest.raises(ConcurrentSealerError):
        slow.catch_up()
    memory = MemoryTree([hash_leaf(notification_leaf(n)) for n in log.notes])
    assert SealedTree(store).size() == (1000, 1000)
    assert SealedTree(store).root()[1] == root(memory, 1000)
    assert slow.catch_up().sealed == 0  # and afterwards it simply finds nothing to do
    store.close()


def test_a_checkpoint_falls_due_after_t_seconds_if_the_tree_grew(tmp_path: Path) -> None:
    now = [1000.0]
    log = small_log(10)
    store = SQLiteViewStore(tmp_path / "views.db")
    signer = NoteSigner("test.example/log", Ed25519PrivateKey.generate())
    sealer = Sealer(
        log,  # type: ignore[arg-type]  # a fake log: the sealer reads notifications only
        store,
        signer,
        every=1000,
        seconds=60,
        clock=lambda: now[0],
    )
    assert sealer.catch_up().checkpoints == []  # 10 leaves, no time passed
    now[0] += 61
    assert [c.tree_size for c in sealer.catch_up().checkpoints] == [10]
    now[0] += 61
    assert sealer.catch_up().checkpoints == []  # nothing new to sign
    log.notes.append(Note(11, uuid.UUID(int=7), 11, "t", b"x11"))
    now[0] += 61
    assert [c.tree_size for c in sealer.catch_up().checkpoints] == [11]
    store.close()


def test_verify_over_a_log_with_gaps_from_a_position_in_a_gap(tmp_path: Path) -> None:
    from infra.audit.verify import verify_log

    origin = uuid.UUID(int=9)
    log = FakeLog(
        [
            Note(p, origin, i + 1, "t", b"s%d" % p)
            for i, p in enumerate(p for p in range(1, 1200) if p % 10 != 5)
        ]
    )
    store = SQLiteViewStore(tmp_path / "views.db")
    signer = NoteSigner("test.example/log", Ed25519PrivateKey.generate())
    Sealer(log, store, signer, every=300, page_size=111).catch_up()  # type: ignore[arg-type]
    verifier = parse_verifier_key(signer.verifier_key)
    whole = verify_log(log, store, verifier, signer.name)  # type: ignore[arg-type]
    assert whole.ok and whole.checked == len(log.notes)
    part = verify_log(log, store, verifier, signer.name, from_position=605)  # type: ignore[arg-type]
    assert part.ok and part.checked == len([n for n in log.notes if n.id >= 605])
    log.notes[700].state = b"altered"
    bad = verify_log(log, store, verifier, signer.name, from_position=605)  # type: ignore[arg-type]
    assert bad.first_bad_position == log.notes[700].id
    store.close()


def test_a_malformed_signing_key_is_a_configuration_error(tmp_path: Path) -> None:
    import pytest
    from pydantic import SecretStr

    from infra.audit.system import build_signer
    from infra.settings import ConfigurationError, Settings

    for bad in ("not base64!", "c2hvcnQ="):  # not base64; 5 bytes
        settings = Settings(var_dir=tmp_path, audit_signing_key=SecretStr(bad))
        with pytest.raises(ConfigurationError):
            build_signer(settings)
    seed = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="  # 32 bytes of 'A'
    signer = build_signer(Settings(var_dir=tmp_path, audit_signing_key=SecretStr(seed)))
    assert (
        signer.verifier_key
        == build_signer(
            Settings(var_dir=tmp_path / "other", audit_signing_key=SecretStr(seed))
        ).verifier_key
    )
    generated = build_signer(Settings(var_dir=tmp_path / "embedded"))
    assert (tmp_path / "embedded" / "audit-key").stat().st_mode & 0o777 == 0o600
    assert build_signer(Settings(var_dir=tmp_path / "embedded")).verifier_key == (
        generated.verifier_key
    )  # generated once, then kept
