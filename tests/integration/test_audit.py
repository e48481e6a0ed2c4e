"""The audit log on SQLite and PostgreSQL: a seeded store is sealed and checkpointed, then
tampered with as a hostile operator would (change, delete, insert, swap; rewrite the tree
and sign again), and `verify` must name the first bad position; proofs are checked by the
independent RFC 9162 verifier in tests/rfc9162.py, never by the code that built them.

Every test seeds a store of its own (its own copy of the same seeded population)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from domain.ledger import Ledger
from infra.audit.leaves import notification_leaf
from infra.audit.notes import parse_checkpoint
from infra.audit.system import Audit, build_audit
from infra.audit.verify import verify_log
from infra.bootstrap import System
from infra.settings import Settings, parse_database_url
from projections.store import ViewStore
from tests.rfc9162 import hash_leaf, verify_consistency, verify_inclusion
from tools.seed import seed_population

EVERY = 100  # a checkpoint per 100 leaves


@dataclass
class Sealed:
    settings: Settings
    ledger: Ledger
    store: ViewStore
    audit: Audit
    size: int
    system: System

    def verify(self, **options: Any) -> Any:
        return verify_log(
            self.ledger.recorder,
            self.store,
            self.audit.verifier,
            self.settings.audit_origin,
            **options,
        )


@pytest.fixture
def sealed(settings: Settings, system: System) -> Sealed:
    """A seeded store (40 participants, a year), sealed with checkpoints every 100 leaves."""
    settings = settings.model_copy(update={"audit_checkpoint_every": EVERY})
    ledger = system.ledger
    seed_population(ledger, participants=40, months=12, seed=7, end=date(2026, 6, 30))
    store = system.views
    audit = build_audit(settings, ledger, store)
    report = audit.sealer.catch_up(checkpoint=True)
    assert report.tree_size == (ledger.recorder.max_notification_id() or 0) > 4 * EVERY
    return Sealed(settings, ledger, store, audit, report.tree_size, system)


# --- tampering with the stored events, as SQL straight into the event store ---------------


@contextmanager
def raw_events(settings: Settings) -> Iterator[tuple[Any, str, str]]:
    """(a connection to the event store, the events table, its position column)."""
    db = parse_database_url(settings.database_url)
    if db.kind == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path, isolation_level=None)
        try:
            yield conn, "stored_events", "rowid"
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(db.conninfo, autocommit=True, options=f"-c search_path={db.schema}") as pg:
        table = pg.execute(
            "SELECT table_name FROM information_schema.columns WHERE "
            "table_schema = %s AND column_name = 'notification_id'",
            (db.schema,),
        ).fetchone()[0]  # type: ignore[index]  # the table exists
        yield pg, table, "notification_id"


def run(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.execute(sql, params)
    else:
        conn.execute(sql.replace("?", "%s"), params)


def change(settings: Settings, position: int) -> None:
    with raw_events(settings) as (conn, table, pos):
        row = fetch(conn, f"SELECT state FROM {table} WHERE {pos} = ?", (position,))
        run(
            conn,
            f"UPDATE {table} SET state = ? WHERE {pos} = ?",
            (bytes(row[0]).replace(b'"', b"'", 1), position),
        )


def delete(settings: Settings, position: int) -> None:
    with raw_events(settings) as (conn, table, pos):
        run(conn, f"DELETE FROM {table} WHERE {pos} = ?", (position,))


def insert(settings: Settings, position: int) -> None:
    """Renumber the events from `position` on one up and put a forged one in the gap."""
    with raw_events(settings) as (conn, table, pos):
        run(conn, f"UPDATE {table} SET {pos} = {pos} + 1000000 WHERE {pos} >= ?", (position,))
        run(conn, f"UPDATE {table} SET {pos} = {pos} - 1000000 + 1 WHERE {pos} >= 1000000")
        state = fetch(conn, f"SELECT state, topic FROM {table} WHERE {pos} = ?", (position + 1,))
        run(
            conn,
            f"INSERT INTO {table} ({pos}, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?, ?)",
            (position, originator(conn, uuid.uuid4()), 1, state[1], bytes(state[0])),
        )


def swap(settings: Settings, first: int, second: int) -> None:
    with raw_events(settings) as (conn, table, pos):
        run(conn, f"UPDATE {table} SET {pos} = -1 WHERE {pos} = ?", (first,))
        run(conn, f"UPDATE {table} SET {pos} = ? WHERE {pos} = ?", (first, second))
        run(conn, f"UPDATE {table} SET {pos} = ? WHERE {pos} = -1", (second,))


def fetch(conn: Any, sql: str, params: tuple[Any, ...]) -> Any:
    if isinstance(conn, sqlite3.Connection):
        return conn.execute(sql, params).fetchone()
    return conn.execute(sql.replace("?", "%s"), params).fetchone()


def originator(conn: Any, value: uuid.UUID) -> Any:
    return value.hex if isinstance(conn, sqlite3.Connection) else value


# --- verify names the first bad position ---------------------------------------------------


def test_verify_passes_on_the_untouched_store(sealed: Sealed) -> None:
    report = sealed.verify()
    assert report.ok, report.problems
    assert report.first_bad_position is None
    assert report.checked == report.tree_size == sealed.size
    assert report.root == sealed.audit.tree.root()[1]
    assert report.checkpoints == len(sealed.audit.tree.checkpoints()) >= 4


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        (lambda s, p: change(s, p), "changed"),
        (lambda s, p: delete(s, p), "deleted"),
        (lambda s, p: insert(s, p), "inserted"),
        (lambda s, p: swap(s, p, p + 5), "reordered"),
    ],
    ids=["change", "delete", "insert", "swap"],
)
def test_verify_names_the_first_bad_position(sealed: Sealed, tamper: Any, kind: str) -> None:
    position = sealed.size // 2 + 3
    tamper(sealed.settings, position)
    report = sealed.verify()
    assert not report.ok
    assert report.first_bad_position == position
    assert report.problems[0].kind == kind, report.problems[0]
    assert report.checked == sealed.size // 2 + 2  # every leaf before it checked out


def test_a_deleted_tail_and_the_first_event_are_named_too(sealed: Sealed) -> None:
    delete(sealed.settings, sealed.size)
    assert sealed.verify().first_bad_position == sealed.size
    change(sealed.settings, 1)
    assert sealed.verify().first_bad_position == 1


def test_verify_from_a_position_checks_only_from_there(sealed: Sealed) -> None:
    change(sealed.settings, 10)
    report = sealed.verify(from_position=300)
    assert report.ok and report.checked == sealed.size - 299
    assert sealed.verify().first_bad_position == 10


# --- checkpoints ---------------------------------------------------------------------------


def test_a_forged_checkpoint_signature_is_detected(sealed: Sealed) -> None:
    kept = sealed.audit.tree.checkpoints()[1]
    lines = kept.note.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # the same signature over another size
    report = sealed.verify(extra_notes=["\n".join(lines)])
    assert not report.ok
    assert [p.kind for p in report.problems] == ["signature"]
    assert report.first_bad_position is None  # the log itself is intact


def test_a_checkpoint_inconsistent_with_an_earlier_one_is_detected(sealed: Sealed) -> None:
    """The operator rewrites an old event, rebuilds the tree and signs it again with the
    same key; an auditor who kept an earlier checkpoint catches it."""
    kept = [c.note for c in sealed.audit.tree.checkpoints()]
    change(sealed.settings, 50)
    resealed = reseal(sealed, every=150)
    report = resealed.verify(extra_notes=kept)
    assert not report.ok
    kinds = {p.kind for p in report.problems}
    assert "inconsistent" in kinds
    # The rewritten tree itself is self-consistent: the rewrite shows only against the old
    # checkpoints, in the range between the last good one and the first bad one.
    assert report.problems[0].kind == "root_mismatch"
    assert report.first_bad_position == 1
    assert resealed.verify().ok


def reseal(sealed: Sealed, every: int) -> Sealed:
    with sealed.store.transaction() as tx:
        for table in ("audit_tiles", "audit_seal", "audit_checkpoints"):
            tx.execute(f"DELETE FROM {table}")
    settings = sealed.settings.model_copy(
        update={"audit_checkpoint_every": every, "audit_publish_dir": None}
    )
    audit = build_audit(settings, sealed.ledger, sealed.store)
    audit.sealer.publish_dir = None  # the operator does not overwrite published files
    size = audit.sealer.catch_up(checkpoint=True).tree_size
    return Sealed(settings, sealed.ledger, sealed.store, audit, size, sealed.system)


def test_checkpoints_are_published_as_files_and_never_rewritten(sealed: Sealed) -> None:
    files = sorted(sealed.audit.publish_dir.glob("*.checkpoint"))
    stored = sealed.audit.tree.checkpoints()
    assert len(files) == len(stored)
    for checkpoint in stored:
        path = sealed.audit.publish_dir / f"{checkpoint.tree_size}.checkpoint"
        parsed = parse_checkpoint(path.read_text(), sealed.audit.verifier)
        assert (parsed.tree_size, parsed.root) == (checkpoint.tree_size, checkpoint.root)
    sizes = [c.tree_size for c in stored]
    assert sizes[:4] == [EVERY, 2 * EVERY, 3 * EVERY, 4 * EVERY]
    # A second checkpoint at the same size is refused; the published file stays as it was.
    before = files[0].read_bytes()
    assert sealed.audit.sealer.catch_up(checkpoint=True).checkpoints == []
    assert files[0].read_bytes() == before


# --- proofs, checked by the independent verifier -------------------------------------------


def served_event(sealed: Sealed, position: int) -> bytes:
    """What a client is served for a position: the stored event, whose leaf it hashes."""
    page = sealed.ledger.recorder.select_notifications(start=position, limit=1)
    return notification_leaf(page[0])


def test_proofs_of_an_honest_store_verify(sealed: Sealed) -> None:
    checkpoints = [
        parse_checkpoint(c.note, sealed.audit.verifier) for c in sealed.audit.tree.checkpoints()
    ]
    old, new = checkpoints[0], checkpoints[-1]
    for position in (1, EVERY, sealed.size // 2, sealed.size):
        proof = sealed.audit.tree.inclusion(position, new.tree_size)
        assert verify_inclusion(
            proof.leaf_index,
            new.tree_size,
            hash_leaf(served_event(sealed, position)),
            proof.path,
            new.root,
        )
    early = sealed.audit.tree.inclusion(5, old.tree_size)
    assert verify_inclusion(
        4, old.tree_size, hash_leaf(served_event(sealed, 5)), early.path, old.root
    )
    consistency = sealed.audit.tree.consistency(old.tree_size, new.tree_size)
    assert verify_consistency(old.tree_size, new.tree_size, old.root, new.root, consistency.path)


def test_proofs_from_a_store_altered_after_a_checkpoint_fail(sealed: Sealed) -> None:
    """immudb GHSA-672p-m5jq-mrh8: a client must hold the server to the roots it kept, not
    to the roots the server sends with its proofs."""
    kept = parse_checkpoint(sealed.audit.tree.checkpoints()[2].note, sealed.audit.verifier)
    position = 42
    change(sealed.settings, position)
    # 1. Tiles untouched: the path still leads to the kept root, but the event served no
    # longer hashes to the sealed leaf.
    proof = sealed.audit.tree.inclusion(position, kept.tree_size)
    served = hash_leaf(served_event(sealed, position))
    assert verify_inclusion(41, kept.tree_size, proof.leaf_hash, proof.path, kept.root)
    assert not verify_inclusion(41, kept.tree_size, served, proof.path, kept.root)
    # 2. The hostile store rebuilds its tree from the altered events and signs it again.
    hostile = reseal(sealed, every=EVERY)
    proof = hostile.audit.tree.inclusion(position, kept.tree_size)
    served = hash_leaf(served_event(hostile, position))
    assert verify_inclusion(41, kept.tree_size, served, proof.path, proof.root)  # its own root
    assert proof.root != kept.root
    assert not verify_inclusion(41, kept.tree_size, served, proof.path, kept.root)
    grown = hostile.audit.tree.consistency(kept.tree_size, hostile.size)
    assert verify_consistency(
        kept.tree_size, hostile.size, grown.old_root, grown.new_root, grown.path
    )  # against the roots it sends: fine
    assert not verify_consistency(
        kept.tree_size, hostile.size, kept.root, grown.new_root, grown.path
    )  # against the root the client kept: caught


def test_the_sealer_is_exactly_once_across_calls_and_pages(sealed: Sealed, ledger: Ledger) -> None:
    from domain.commands import Enroll, parse
    from infra.audit.merkle import MemoryTree, root
    from tests.factories import enrollment

    for _ in range(3):
        ledger.enroll(parse(Enroll, enrollment()))
    sealed.audit.sealer.page_size = 2
    report = sealed.audit.sealer.catch_up()
    head = ledger.recorder.max_notification_id()
    assert report.tree_size == head and report.sealed == head - sealed.size
    assert sealed.audit.sealer.catch_up().sealed == 0
    leaves = [
        hash_leaf(notification_leaf(n))
        for n in ledger.recorder.select_notifications(start=1, limit=100_000)
    ]
    assert sealed.audit.tree.root()[1] == root(MemoryTree(leaves), len(leaves))


# --- the independent recount and the exports ----------------------------------------------


def caught_up_runner(sealed: Sealed) -> Any:
    runner = sealed.system.runner
    runner.catch_up()
    return runner


def test_the_recount_agrees_with_the_live_read_model_and_finds_an_altered_row(
    sealed: Sealed,
) -> None:
    from infra.audit.recount import differences, live_coverage, recount
    from infra.bootstrap import projection_mapper
    from projections.coverage import CoverageProjection
    from projections.runner import live_tables

    caught_up_runner(sealed)
    position, live = live_coverage(sealed.store)
    mapper = projection_mapper(sealed.ledger)
    counted = recount(sealed.ledger.recorder, mapper, until=position)
    assert position == sealed.size and len(counted) >= 12  # cells: months x villages
    assert sum(c[0] for c in counted.values()) > 200
    assert differences(live, counted) == []
    # One read-model cell altered by hand: the recount names exactly that cell and column.
    month, village = sorted(live)[len(live) // 2]
    with sealed.store.transaction() as tx:
        names, _ = live_tables(tx, CoverageProjection())
        tx.execute(
            f"UPDATE {names['coverage_monthly']} SET jkm = jkm + 1 WHERE month = ? AND village = ?",
            (month, village),
        )
    _, altered = live_coverage(sealed.store)
    found = differences(altered, counted)
    assert [(d["village"], d["column"], d["live"] - d["recount"]) for d in found] == [
        (village, "jkm", 1)
    ]


def test_a_parquet_export_of_all_events_has_the_logs_count_positions_and_root(
    sealed: Sealed, tmp_path: Any
) -> None:
    import base64

    import orjson
    import pyarrow.parquet as pq

    from infra.audit.export import EVENT_COLUMNS, ExportCut, event_rows, write_export

    size, top = sealed.audit.tree.root()
    cut = ExportCut(size, top, sealed.size)
    out = tmp_path / "events.parquet"
    rows = write_export(
        event_rows(sealed.ledger.recorder, first_index=0, start=1, stop=sealed.size, page_size=97),
        EVENT_COLUMNS,
        out,
        "parquet",
        cut.as_dict(),
    )
    table = pq.read_table(out)
    positions = table.column("position").to_pylist()
    stored = [int(n.id) for n in sealed.ledger.recorder.select_notifications(start=1, limit=10**6)]
    assert rows == table.num_rows == len(stored) == size
    assert positions == stored
    meta = orjson.loads(table.schema.metadata[b"ledger.export"])
    assert (meta["tree_size"], base64.b64decode(meta["root"])) == (size, top)
    # The root recomputed from the exported rows alone, by the independent code.
    from infra.audit.merkle import MemoryTree, root
    from tests.rfc9162 import hash_leaf

    leaves = [hash_leaf(_leaf_from_row(row)) for row in table.to_pylist()]
    assert leaves == table.column("leaf_hash").to_pylist()
    assert root(MemoryTree(leaves), size) == top
    assert b"Siti" not in out.read_bytes()  # personal fields stay encrypted


def _leaf_from_row(row: dict[str, Any]) -> bytes:
    """docs/audit.md's recipe: the leaf bytes from an exported row."""
    import struct

    topic = row["topic"].encode()
    state = row["state"]
    return (
        struct.pack(
            ">BQ16sQI",
            1,
            row["position"],
            uuid.UUID(row["originator_id"]).bytes,
            row["originator_version"],
            len(topic),
        )
        + topic
        + struct.pack(">I", len(state))
        + state
    )


def test_a_recorded_time_names_the_tree_as_it_stood_then(sealed: Sealed) -> None:
    from datetime import timedelta

    from infra.audit.proofs import position_recorded_by
    from infra.bootstrap import projection_mapper

    mapper = projection_mapper(sealed.ledger)
    recorder = sealed.ledger.recorder

    def recorded(position: int) -> Any:
        return mapper.to_domain_event(  # type: ignore[attr-defined]  # protocol lacks timestamp
            recorder.select_notifications(start=position, limit=1)[0]
        ).timestamp

    for position in (1, sealed.size // 3, sealed.size):
        moment = recorded(position)
        found = position_recorded_by(recorder, mapper, moment)
        assert found >= position and recorded(found) <= moment
        if found < sealed.size:
            assert recorded(found + 1) > moment
    assert position_recorded_by(recorder, mapper, recorded(1) - timedelta(days=1)) == 0
    size = sealed.audit.tree.size_at_position(sealed.size // 3)
    assert size == sealed.size // 3  # consecutive positions: leaf count = position
    report = sealed.verify(until_position=sealed.size // 3)
    assert report.ok and report.tree_size == report.checked == size
