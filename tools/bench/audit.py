"""Phase: the audit log. The sealer (an empty tree to the head, one checkpoint) and
`verify_log` (recompute, compare, check checkpoints), each against a bare loop that
reads the same events from the store, page by page, and SHA-256es each one's stored
bytes: the least any verifier of the log must do. Interleaved per repeat, since the
machine is noisy. SHA-256 over the same bytes already in memory is recorded beside them
(`audit_sha256_in_memory`) to show what bounds both: the store's read, not the hashing."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from infra.audit.notes import parse_verifier_key
from infra.audit.sealer import Sealer
from infra.audit.system import build_signer
from infra.audit.tiles import create_tables
from infra.audit.verify import verify_log
from projections.store import ViewStore
from tools.bench.config import NATIONAL_YEAR, PAGE_SIZE
from tools.bench.stats import make_figure

if TYPE_CHECKING:
    from tools.bench.suite import Suite

MEMORY_SAMPLE = 500_000  # events hashed in memory (a million workers' log is 14 GB)


def read_and_hash(recorder: Any) -> int:
    """The baseline: every stored event read in pages and its state bytes hashed."""
    count, position, sha = 0, 0, hashlib.sha256
    while True:
        page = recorder.select_notifications(start=position + 1, limit=PAGE_SIZE)
        if not page:
            return count
        for notification in page:
            sha(notification.state).digest()
        count += len(page)
        position = int(page[-1].id)


def measure(
    recorder: Any, views: ViewStore, settings: Any, repeats: int = 3
) -> dict[str, list[float]]:
    """events/s of each repeat: baseline, seal, verify, memory (SHA-256 in memory)."""
    signer = build_signer(settings)
    verifier = parse_verifier_key(signer.verifier_key)
    create_tables(views)
    states = in_memory_sample(recorder)
    runs: dict[str, list[float]] = {"baseline": [], "seal": [], "verify": [], "memory": []}
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        events = read_and_hash(recorder)
        runs["baseline"].append(events / (time.perf_counter() - started))
        with views.transaction() as tx:  # an empty tree each time
            for table in ("audit_tiles", "audit_seal", "audit_checkpoints"):
                tx.execute(f"DELETE FROM {table}")
        sealer = Sealer(
            recorder, views, signer, every=10**12, publish_dir=None, page_size=PAGE_SIZE
        )
        started = time.perf_counter()
        sealer.catch_up(checkpoint=True)
        runs["seal"].append(events / (time.perf_counter() - started))
        started = time.perf_counter()
        report = verify_log(recorder, views, verifier, signer.name, page_size=PAGE_SIZE)
        runs["verify"].append(events / (time.perf_counter() - started))
        if not report.ok:
            raise RuntimeError(f"verify failed on an untouched store: {report.problems}")
        started = time.perf_counter()
        for state in states:
            hashlib.sha256(state).digest()
        runs["memory"].append(len(states) / (time.perf_counter() - started))
    return runs


def in_memory_sample(recorder: Any) -> list[bytes]:
    """The stored bytes of the first `MEMORY_SAMPLE` events (all of a small log): enough
    for a rate of SHA-256 in memory, without holding a big log's gigabytes."""
    states: list[bytes] = []
    position = 0
    while len(states) < MEMORY_SAMPLE:
        page = recorder.select_notifications(
            start=position + 1, limit=min(PAGE_SIZE, MEMORY_SAMPLE - len(states))
        )
        if not page:
            break
        states.extend(bytes(n.state) for n in page)
        position = int(page[-1].id)
    return states


def audit(
    suite: Suite, kind: str, store: Any, ledger: Any, scale: int, months: int, repeats: int
) -> None:
    """Seal and verify the seeded store (its view store: `suite.views`)."""
    views = suite.views
    if views is None:  # the rebuild phase opens it; without it there is nothing to measure
        return
    with suite.phase(kind, scale, "audit", repeats=repeats) as ph:
        runs = measure(ledger.recorder, views, store.settings(), repeats)
        ph.events = int(ledger.recorder.max_notification_id() or 0)
        common: dict[str, Any] = {
            "store": kind,
            "scale": scale,
            "months": months,
            "baseline_name": "read + SHA-256 of each stored event",
        }
        verify = make_figure(
            "audit_verify_vs_read_sha256",
            runs["verify"],
            "events/s",
            baseline_values=runs["baseline"],
            **common,
        )
        verify.notes = (
            f"a national year ({NATIONAL_YEAR:,} events) verifies in "
            f"{NATIONAL_YEAR / (verify.value or 1) / 3600:.1f} h in one process"
        )
        suite.add(
            make_figure(
                "audit_seal_vs_read_sha256",
                runs["seal"],
                "events/s",
                baseline_values=runs["baseline"],
                **common,
            ),
            verify,
            make_figure(
                "audit_sha256_in_memory",
                runs["memory"],
                "events/s",
                store=kind,
                scale=scale,
                months=months,
                notes="SHA-256 of the same stored bytes, already in memory (the first "
                f"{MEMORY_SAMPLE:,} events at most)",
            ),
        )
        ph.notes = verify.notes
