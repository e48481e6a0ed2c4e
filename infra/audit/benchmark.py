"""The audit log's throughput beside a bare SHA-256 of the same events, in the same run.

Three figures per repeat, interleaved so that load on the machine hits them alike:
- baseline: read the log page by page from the store and SHA-256 each event's stored
  bytes (the least any verifier of the log must do);
- seal: the sealer from an empty tree to the head (leaves, tiles, one checkpoint);
- verify: `verify_log` over the sealed tree (recompute, compare, check checkpoints).
Also, for scale, SHA-256 over the same bytes already in memory (no store at all).

Standalone for now (`python -m infra.audit.benchmark`); it becomes a phase of
`tools/bench` when that package is on main.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from infra.audit.sealer import Sealer
from infra.audit.system import build_signer
from infra.audit.tiles import create_tables
from infra.audit.verify import verify_log
from projections.store import ViewStore

PAGE = 5000


def read_and_hash(recorder: Any) -> int:
    count, position = 0, 0
    sha = hashlib.sha256
    while True:
        page = recorder.select_notifications(start=position + 1, limit=PAGE)
        if not page:
            return count
        for n in page:
            sha(n.state).digest()
        count += len(page)
        position = int(page[-1].id)


def measure(recorder: Any, store: ViewStore, settings: Any, repeats: int = 3) -> dict[str, Any]:
    """Median events/s of the baseline, the sealer and verify, and their ratios."""
    signer = build_signer(settings)
    create_tables(store)
    states = [bytes(n.state) for n in recorder.select_notifications(start=1, limit=10**9)]
    runs: dict[str, list[float]] = {"baseline": [], "seal": [], "verify": [], "memory": []}
    events = len(states)
    for _ in range(repeats):
        started = time.perf_counter()
        read_and_hash(recorder)
        runs["baseline"].append(events / (time.perf_counter() - started))
        with store.transaction() as tx:
            for table in ("audit_tiles", "audit_seal", "audit_checkpoints"):
                tx.execute(f"DELETE FROM {table}")
        sealer = Sealer(recorder, store, signer, every=10**12, publish_dir=None, page_size=PAGE)
        started = time.perf_counter()
        sealer.catch_up(checkpoint=True)
        runs["seal"].append(events / (time.perf_counter() - started))
        started = time.perf_counter()
        report = verify_log(recorder, store, _verifier(signer), signer.name, page_size=PAGE)
        runs["verify"].append(events / (time.perf_counter() - started))
        assert report.ok, report.problems
        started = time.perf_counter()
        for state in states:
            hashlib.sha256(state).digest()
        runs["memory"].append(events / (time.perf_counter() - started))
    medians = {name: statistics.median(values) for name, values in runs.items()}
    return {"events": events, "repeats": repeats,
            **{f"{name}_per_s": round(value) for name, value in medians.items()},
            "seal_ratio": round(medians["seal"] / medians["baseline"], 3),
            "verify_ratio": round(medians["verify"] / medians["baseline"], 3),
            "national_year_verify_hours": round(840e6 / medians["verify"] / 3600, 2)}


def _verifier(signer: Any) -> Any:
    from infra.audit.notes import parse_verifier_key

    return parse_verifier_key(signer.verifier_key)


def main() -> None:
    from infra.bootstrap import build_ledger, build_view_store, close_ledger
    from infra.seed import seed_population
    from infra.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=5000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--no-seed", action="store_true", help="measure the store as it is")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ledger-audit-bench-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'ledger.db'}"
        settings = Settings(database_url=url, var_dir=Path(folder) / "var")
        ledger = build_ledger(settings, decrypt=False)
        store = build_view_store(settings)
        try:
            if not args.no_seed:
                seed_population(ledger, participants=args.participants, months=args.months,
                                seed=1)
            print(measure(ledger.recorder, store, settings, args.repeats))
        finally:
            store.close()
            close_ledger(ledger)


if __name__ == "__main__":
    main()
