"""The API-key file: digests only, roles checked, changes seen by another store within its
reload interval."""

from __future__ import annotations

import hashlib
import stat
import time
from pathlib import Path

import pytest

from domain.errors import InvalidInputError, NotFoundError
from infra.api_keys import ApiKeyStore, Role, parse_role


def test_a_key_is_stored_as_its_digest_only(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key, record = ApiKeyStore(path).add("auditor", "ops desk")
    text = path.read_text()
    assert key not in text
    assert hashlib.sha256(key.encode()).hexdigest() in text
    assert record.role is Role.AUDITOR and record.label == "ops desk"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_lookup_revoke_and_reload_across_stores(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    server = ApiKeyStore(path, reload_seconds=0.05)
    assert server.lookup("lk_nothing") is None
    key, record = ApiKeyStore(path).add(Role.COLLECTOR)  # another process, say the CLI
    time.sleep(0.06)
    found = server.lookup(key)
    assert found is not None and found.role is Role.COLLECTOR
    ApiKeyStore(path).revoke(record.key_id[:8])
    time.sleep(0.06)
    assert server.lookup(key) is None
    assert [k.revoked_at is not None for k in server.all()] == [True]


def test_unknown_role_and_unknown_id_are_refused_with_codes(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as bad_role:
        parse_role("superuser")
    assert bad_role.value.code == "unknown_role"
    assert parse_role("Claims-Officer") is Role.CLAIMS_OFFICER
    with pytest.raises(NotFoundError) as missing:
        ApiKeyStore(tmp_path / "keys.json").revoke("abcdef")
    assert missing.value.code == "api_key_not_found"
