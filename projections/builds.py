"""Who is building a generation: leases that die with the process holding them.

A rebuild fills a new generation of tables beside the live one for as long as it takes;
if its process is killed, nothing of it would ever finish or drop those tables. So a
rebuild holds a lease, named by a random token recorded beside its generations
(`projection_builds`), and a runner or rebuild that starts drops every generation that is
neither live nor owned by a lease still held.

A lease is a lock the operating system or the database releases when its holder dies, so
a dead rebuild cannot be mistaken for a slow one:
- PostgreSQL: a session-level advisory lock on the view store's connection (released when
  the session ends, however the client died);
- SQLite: an exclusive `flock` on a file beside the view database (released when the
  process's descriptors close, however it died).
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from projections.store import ViewStore

_held: set[str] = set()  # tokens held by this process (an advisory lock is re-entrant)
_held_lock = threading.Lock()


@dataclass
class BuildLease:
    token: str
    store: ViewStore
    fd: int | None = None  # SQLite: the locked file

    def release(self) -> None:
        """The build is over (its generations live or dropped): let the lease go."""
        if self.store.dialect == "postgres":
            with self.store.transaction() as tx:
                tx.query("SELECT pg_advisory_unlock(?::bigint)", (_key(self.token),))
        else:
            _lock_path(self.store, self.token).unlink(missing_ok=True)
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
        with _held_lock:
            _held.discard(self.token)


def take(store: ViewStore) -> BuildLease:
    """A new lease, held from now until released or this process dies."""
    token = uuid.uuid4().hex
    lease = BuildLease(token, store)
    if store.dialect == "postgres":
        with store.transaction() as tx:
            tx.query("SELECT pg_advisory_lock(?::bigint)", (_key(token),))
    else:
        lease.fd = os.open(_lock_path(store, token), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(lease.fd, fcntl.LOCK_EX)
    with _held_lock:
        _held.add(token)
    return lease


def is_held(store: ViewStore, token: str) -> bool:
    """Whether a live process (this one included) holds the lease `token`."""
    with _held_lock:
        if token in _held:
            return True
    if store.dialect == "postgres":
        with store.transaction() as tx:
            free = bool(tx.query("SELECT pg_try_advisory_lock(?::bigint)", (_key(token),))[0][0])
            if free:
                tx.query("SELECT pg_advisory_unlock(?::bigint)", (_key(token),))
        return not free
    try:
        fd = os.open(_lock_path(store, token), os.O_RDWR)
    except FileNotFoundError:
        return False  # released, or its holder died and was swept
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def forget(store: ViewStore, token: str) -> None:
    """Remove what a dead holder left of its lease (its generations are dropped)."""
    if store.dialect != "postgres":
        _lock_path(store, token).unlink(missing_ok=True)


def _key(token: str) -> int:
    """The advisory lock's 64-bit key: random tokens, so no clash across schemas."""
    return int.from_bytes(bytes.fromhex(token)[:8], "big", signed=True)


def _lock_path(store: ViewStore, token: str) -> Path:
    database = Path(store.location.removeprefix("sqlite:///"))
    return database.with_name(f"{database.name}.build-{token}.lock")
