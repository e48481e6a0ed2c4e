"""`ledger audit ...` and `ledger export ...` as an auditor runs them: real processes on a
seeded store, JSON checked by the independent RFC 9162 verifier, exit codes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from domain.ledger import Ledger
from infra.audit.notes import parse_checkpoint, parse_verifier_key
from infra.settings import Settings
from tests.conftest import TEST_MASTER_KEY, TEST_PEPPER
from tests.integration.test_audit import change
from tests.rfc9162 import verify_inclusion
from tools.seed import seed_population

LEDGER = str(Path(sys.executable).with_name("ledger"))


@pytest.fixture
def run(settings: Settings, ledger: Ledger, tmp_path: Path) -> Any:
    """`ledger` in a process of its own, on a store seeded here (checkpoints every 100)."""
    seed_population(ledger, participants=30, months=12, seed=5, end=date(2026, 6, 30))
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": settings.database_url,
        "LEDGER_VAR_DIR": str(tmp_path / "var"),
        "LEDGER_NIK_PEPPER": TEST_PEPPER,
        "LEDGER_MASTER_KEY": TEST_MASTER_KEY,
        "LEDGER_AUDIT_CHECKPOINT_EVERY": "100",
        "COLUMNS": "200",
    }

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LEDGER, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )

    return invoke


def b(text: str) -> bytes:
    return base64.b64decode(text)


def test_an_auditor_checks_the_log_end_to_end(
    run: Any, settings: Settings, ledger: Ledger, tmp_path: Path
) -> None:
    key = run("audit", "key")
    assert key.returncode == 0, key.stderr
    verifier = parse_verifier_key(key.stdout.strip())

    signed = run("audit", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    head = parse_checkpoint(signed.stdout, verifier)  # the signature checks out
    size = head.tree_size
    assert size == ledger.recorder.max_notification_id()
    kept = parse_checkpoint(
        (tmp_path / "ledger-checkpoints" / "100.checkpoint").read_text()
        if settings.database_url.startswith("sqlite")
        else (tmp_path / "var" / "checkpoints" / "100.checkpoint").read_text(),
        verifier,
    )

    proof = json.loads(run("audit", "prove", "--position", "7", "--json").stdout)
    assert set(proof) == {"leaf_index", "tree_size", "leaf_hash", "root", "path"}
    assert proof["tree_size"] == size and b(proof["root"]) == head.root
    assert verify_inclusion(
        proof["leaf_index"], size, b(proof["leaf_hash"]), [b(p) for p in proof["path"]], head.root
    )
    early = json.loads(
        run("audit", "prove", "--position", "7", "--checkpoint", "100", "--json").stdout
    )
    assert verify_inclusion(6, 100, b(early["leaf_hash"]), [b(p) for p in early["path"]], kept.root)

    exported = run("export", "events", "--format", "parquet", "--out", "all.parquet", "--json")
    assert exported.returncode == 0, exported.stderr
    answer = json.loads(exported.stdout)
    assert (answer["rows"], answer["tree_size"], b(answer["root"])) == (size, size, head.root)
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "all.parquet").column("position").to_pylist() == list(
        range(1, size + 1)
    )

    change(settings, 123)
    bad = run("audit", "verify", "--json")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["first_bad_position"] == 123
    assert "position 123 was changed" in bad.stderr
    beyond = run("audit", "prove", "--position", "999999")
    assert beyond.returncode == 1 and "[position_not_sealed]" in beyond.stderr
    assert "Traceback" not in beyond.stderr
