"""API keys for the HTTP API: only a SHA-256 digest of each key is kept, with its role.

The keys live in one JSON file (`LEDGER_API_KEYS_FILE`, default `<var>/api-keys.json`,
mode 0600), written whole under a temporary name and renamed into place under an
exclusive lock, so `ledger api-keys add` in one process and a running server in another
never see half a file. A server checks the file's identity (inode, size, mtime) at most
once a second and reloads it when it changed: a new or revoked key counts within seconds,
and a request costs one dictionary lookup, not a read.

Keys are 256 random bits, so a plain SHA-256 (no salt, no slow hash) is enough to make a
stolen file useless: nothing can be guessed from the digest of a random key.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from domain.errors import InvalidInputError, NotFoundError
from infra.settings import Settings


class Role(StrEnum):
    """What a caller of the HTTP API may do (the README's roles table)."""

    REGISTRAR = "registrar"
    COLLECTOR = "collector"
    CLAIMS_OFFICER = "claims_officer"
    AUDITOR = "auditor"
    REPORTER = "reporter"
    ADMIN = "admin"


KEY_PREFIX = "lk_"  # makes a leaked key easy to recognise in logs and secret scanners


@dataclass(frozen=True)
class ApiKey:
    """A key as stored: its digest, never the key."""

    key_id: str  # the first 12 hex digits of the digest: what `list` shows, `revoke` takes
    digest: str
    role: Role
    label: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise InvalidInputError(
            "unknown_role", f"'{text}' is not a role; one of {', '.join(r.value for r in Role)}."
        ) from None


def api_keys_path(settings: Settings) -> Path:
    return settings.api_keys_file or settings.var_dir / "api-keys.json"


class ApiKeyStore:
    """The key file, with `add`, `revoke` and `lookup` (the server's hot path)."""

    def __init__(self, path: Path, *, reload_seconds: float = 1.0) -> None:
        self.path = path
        self.reload_seconds = reload_seconds
        self._lock = threading.Lock()
        self._identity: tuple[int, int, int] | None = None
        self._checked = float("-inf")
        self._by_digest: dict[str, ApiKey] = {}

    # --- reading --------------------------------------------------------------------------

    def lookup(self, key: str) -> ApiKey | None:
        """The active key this secret is, or None. Sees changes made by other processes
        within `reload_seconds`."""
        now = time.monotonic()
        if now - self._checked >= self.reload_seconds:
            self._refresh(now)
        found = self._by_digest.get(digest_of(key))
        return found if found is not None and found.active else None

    def all(self) -> list[ApiKey]:
        """Every key ever added, revoked ones included, oldest first."""
        return self._read()

    def _refresh(self, now: float) -> None:
        with self._lock:
            self._checked = now
            identity = self._stat()
            if identity == self._identity:
                return
            self._by_digest = {k.digest: k for k in self._read()}
            self._identity = identity

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _read(self) -> list[ApiKey]:
        try:
            rows: list[dict[str, Any]] = orjson.loads(self.path.read_bytes())["keys"]
        except FileNotFoundError:
            return []
        return [ApiKey(**{**row, "role": Role(row["role"])}) for row in rows]

    # --- writing --------------------------------------------------------------------------

    def add(self, role: Role | str, label: str = "") -> tuple[str, ApiKey]:
        """Make a key for `role`; returns the key (shown once, never stored) and its record."""
        chosen = role if isinstance(role, Role) else parse_role(role)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = digest_of(key)
        record = ApiKey(
            key_id=digest[:12], digest=digest, role=chosen, label=label.strip(), created_at=_now()
        )
        with self._locked() as keys:
            keys.append(record)
        return key, record

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke the key with this id (or any unique prefix of at least 6 of its digits)."""
        wanted = key_id.strip().lower()
        with self._locked() as keys:
            matches = [
                i for i, k in enumerate(keys) if len(wanted) >= 6 and k.key_id.startswith(wanted)
            ]
            if len(matches) != 1:
                raise NotFoundError(
                    "api_key_not_found", f"No single API key has the id '{key_id}'."
                )
            index = matches[0]
            if keys[index].active:
                keys[index] = replace(keys[index], revoked_at=_now())
            return keys[index]

    @contextmanager
    def _locked(self) -> Iterator[list[ApiKey]]:
        """The keys, to change in place; written back whole when the block ends."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            keys = self._read()
            yield keys
            self._write(keys)
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, keys: list[ApiKey]) -> None:
        body = orjson.dumps({"keys": [asdict(k) for k in keys]}, option=orjson.OPT_INDENT_2)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(self.path)
        finally:
            temporary.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
