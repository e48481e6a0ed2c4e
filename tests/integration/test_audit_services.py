"""The audit use cases as every way in calls them (`api.services.audit`, `.exports`), on
a seeded store, SQLite and PostgreSQL: JSON shapes, exports, recount, refusals."""

from __future__ import annotations

import base64
import csv
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from api.services import audit, audit_checks, exports
from domain.errors import LedgerError
from infra.audit.merkle import MemoryTree, root
from infra.bootstrap import System
from tests.rfc9162 import hash_leaf, verify_consistency, verify_inclusion
from tools.seed import seed_population


@pytest.fixture
def seeded(system: System) -> System:
    seed_population(system.ledger, participants=30, months=12, seed=11, end=date(2026, 6, 30))
    return system


def b(text: str) -> bytes:
    return base64.b64decode(text)


def test_checkpoint_prove_and_consistency_answer_in_the_issues_shapes(seeded: System) -> None:
    first = audit.checkpoint(seeded)
    assert first.new and first.tree_size == seeded.head()
    again = audit.checkpoint(seeded)
    assert not again.new and again.tree_size == first.tree_size  # nothing new to sign
    seed_population(seeded.ledger, participants=5, months=3, seed=12, end=date(2026, 6, 30))
    second = audit.checkpoint(seeded)
    assert second.tree_size > first.tree_size

    body = audit.consistency(seeded, old_size=first.tree_size, new_size=second.tree_size).as_dict()
    assert list(body) == ["old_size", "new_size", "old_root", "new_root", "path"]
    assert verify_consistency(
        first.tree_size, second.tree_size, first.root, second.root, [b(p) for p in body["path"]]
    )
    proof = audit.prove(seeded, position=3).as_dict()
    assert list(proof) == ["leaf_index", "tree_size", "leaf_hash", "root", "path"]
    assert proof["tree_size"] == second.tree_size  # the latest checkpoint by default
    assert verify_inclusion(
        2, second.tree_size, b(proof["leaf_hash"]), [b(p) for p in proof["path"]], second.root
    )
    old = audit.prove(seeded, position=3, checkpoint_size=first.tree_size)
    assert verify_inclusion(2, first.tree_size, old.leaf_hash, old.path, first.root)
    # "What did the log hold at T": the tree as it stood when the first checkpoint was cut.
    moment = _recorded_at(seeded, first.position).isoformat()
    at = audit.prove(seeded, position=3, recorded_at=moment)
    assert at.tree_size >= first.tree_size and at.root == root(_memory(seeded), at.tree_size)
    verified = audit_checks.verify(seeded, recorded_at=moment)
    assert verified.ok and verified.tree_size == at.tree_size


def _recorded_at(system: System, position: int) -> Any:
    from infra.bootstrap import projection_mapper

    notification = system.ledger.recorder.select_notifications(start=position, limit=1)[0]
    event = projection_mapper(system.ledger).to_domain_event(notification)
    return event.timestamp  # type: ignore[attr-defined]  # the protocol lacks timestamp


def _memory(system: System) -> MemoryTree:
    from infra.audit.leaves import notification_leaf

    return MemoryTree(
        [
            hash_leaf(notification_leaf(n))
            for n in system.ledger.recorder.select_notifications(start=1, limit=10**6)
        ]
    )


def test_verify_reads_kept_checkpoints_from_a_folder(seeded: System, tmp_path: Path) -> None:
    audit.checkpoint(seeded)
    folder = audit.verifier_key(seeded).publish_dir
    answer = audit_checks.verify(seeded, checkpoint_files=[Path(folder)])
    assert answer.ok and answer.checkpoints >= 1
    forged = tmp_path / "forged.checkpoint"
    note = next(Path(folder).glob("*.checkpoint")).read_text()
    forged.write_text(note.replace(note.split("\n")[2], base64.b64encode(b"\0" * 32).decode()))
    refused = audit_checks.verify(seeded, checkpoint_files=[forged])
    assert not refused.ok and "signature" in refused.problems[0]


def test_recount_agrees_then_lists_an_altered_read_model_row(seeded: System) -> None:
    from projections.coverage import CoverageProjection
    from projections.runner import live_tables

    answer = audit_checks.recount_coverage(seeded)
    assert answer.equal and answer.cells >= 12 and answer.active > 100
    month = audit_checks.recount_coverage(seeded, period="2026-03")
    assert month.equal and month.period == "2026-03" and 0 < month.active < answer.active
    with seeded.views.transaction() as tx:
        names, _ = live_tables(tx, CoverageProjection())
        tx.execute(
            f"UPDATE {names['coverage_monthly']} SET active = active - 1 WHERE month = ?",
            (2026 * 12 + 2,),
        )
    altered = audit_checks.recount_coverage(seeded, period="2026-03")
    assert altered.differences and {d["column"] for d in altered.differences} == {"active"}
    assert all(
        d["live"] == d["recount"] - 1 and d["month"] == "2026-03" for d in altered.differences
    )


def test_exports_stream_each_kind_and_say_what_they_were_cut_at(
    seeded: System, tmp_path: Path
) -> None:
    out = tmp_path / "events.jsonl"
    answer = exports.export(seeded, kind="events", fmt="jsonl", out=out, since="5", until="60")
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert answer.rows == len(rows) == 56 and [r["position"] for r in rows] == list(range(5, 61))
    meta = orjson.loads(Path(f"{out}.meta.json").read_bytes())
    assert meta["tree_size"] == seeded.head() and meta["rows"] == 56
    assert b(meta["root"]) == root(_memory(seeded), seeded.head())
    for row in rows:  # docs/audit.md's recipe recomputes each leaf from the row alone
        assert b(row["leaf_hash"]) == hash_leaf(_leaf(row))
        assert b"Siti" not in b(row["state"]) and "nik" not in row

    for kind, fmt in (("status", "csv"), ("coverage", "parquet")):
        path = tmp_path / f"{kind}.{fmt}"
        done = exports.export(seeded, kind=kind, fmt=fmt, out=path)
        assert done.rows > 0 and done.cut.tree_size == seeded.head()
    with (tmp_path / "status.csv").open() as handle:
        status = list(csv.DictReader(handle))
    assert len(status) == 30 and "name" not in status[0]
    import pyarrow.parquet as pq

    cells = pq.read_table(tmp_path / "coverage.parquet")
    assert (
        cells.num_rows
        == exports.export(seeded, kind="coverage", fmt="jsonl", out=tmp_path / "c.jsonl").rows
    )
    march = exports.export(
        seeded, kind="coverage", fmt="csv", out=tmp_path / "m.csv", since="2026-03", until="2026-03"
    )
    assert 0 < march.rows < cells.num_rows


def _leaf(row: dict[str, Any]) -> bytes:
    import struct
    import uuid

    topic, state = row["topic"].encode(), b(row["state"])
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


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda s, p: audit.consistency(s, old_size=50, new_size=10), "invalid_sizes"),
        (lambda s, p: audit.prove(s, position=10**7), "position_not_sealed"),
        (lambda s, p: audit.prove(s, position=1, checkpoint_size=10**7), "size_not_sealed"),
        (
            lambda s, p: audit_checks.verify(s, checkpoint_files=[p / "missing"]),
            "checkpoint_not_found",
        ),
        (lambda s, p: exports.export(s, kind="nothing", fmt="csv", out=p / "x"), "unknown_export"),
        (lambda s, p: exports.export(s, kind="events", fmt="xls", out=p / "x"), "unknown_format"),
        (
            lambda s, p: exports.export(s, kind="status", fmt="csv", out=p / "x", since="1"),
            "status_has_no_range",
        ),
        (lambda s, p: audit_checks.recount_coverage(s, period="2026-13"), "invalid_period"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_bad_requests_are_refused_with_a_code(
    seeded: System, tmp_path: Path, call: Any, code: str
) -> None:
    with pytest.raises(LedgerError) as refused:
        call(seeded, tmp_path)
    assert refused.value.code == code


def test_verify_divides_into_ranges(seeded: System) -> None:
    from tests.integration.test_audit import change

    size = audit.checkpoint(seeded).tree_size
    middle = size // 2
    first = audit_checks.verify(seeded, until_position=middle)
    second = audit_checks.verify(seeded, from_position=middle + 1)
    assert first.ok and second.ok and first.checked + second.checked == size
    change(seeded.settings, middle + 7)
    assert audit_checks.verify(seeded, until_position=middle).ok  # the damage is in the other half
    assert audit_checks.verify(seeded, from_position=middle + 1).first_bad_position == middle + 7
