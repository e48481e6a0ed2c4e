"""Key tables for `KeyVault`: an SQLite file of its own, or a PostgreSQL table."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from infra.personal_data import KeyVault
from infra.sqlite_store import BIG_TABLE_PRAGMAS


class SQLiteKeyVault(KeyVault):
    """Keys in their own SQLite file, with `secure_delete` so shredded keys are overwritten."""

    def __init__(self, path: Path | str, master_key: bytes) -> None:
        super().__init__(master_key)
        self.path = str(path)
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        self._db_lock = threading.Lock()
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.execute("PRAGMA journal_mode=WAL")
        # Every commit reaches the disk: a key must be durable before the events that use
        # it commit (in the log's file, whatever that file's own setting).
        self._conn.execute("PRAGMA synchronous=FULL")
        for pragma in BIG_TABLE_PRAGMAS:
            self._conn.execute(pragma)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS data_keys ("
            " key_id BLOB PRIMARY KEY, wrapped BLOB NOT NULL,"
            " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
            ") WITHOUT ROWID"
        )
        # The keys of the last save that wrote any, and the log position its first event
        # takes: if the log never reached it, that save died between the two commits.
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS key_batch (first_position INTEGER NOT NULL,"
            " key_ids BLOB NOT NULL)"
        )

    def _select(self, key_ids: list[UUID]) -> dict[UUID, bytes]:
        found: dict[UUID, bytes] = {}
        with self._db_lock:
            for start in range(0, len(key_ids), 500):
                chunk = key_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key_id, wrapped FROM data_keys WHERE key_id IN ({marks})",
                    [k.bytes for k in chunk],
                ).fetchall()
                found.update((UUID(bytes=row[0]), row[1]) for row in rows)
        return found

    def _insert(self, wrapped: dict[UUID, bytes]) -> None:
        with self._db_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR IGNORE INTO data_keys (key_id, wrapped) VALUES (?, ?)",
                    [(k.bytes, w) for k, w in wrapped.items()],
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def write_with_events(self, first_position: int) -> None:
        """Commit the pending keys of the events being saved, whose first takes log
        position `first_position`. Called by the recorder inside the events' transaction,
        holding the log's write lock, before the events commit; first removes the keys of
        an earlier save that never reached the log."""
        pending = self.take_pending()
        with self._db_lock:
            if not pending and self._marker() is None:
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._drop_stranded(first_position - 1)
                self._conn.executemany(
                    "INSERT INTO data_keys (key_id, wrapped) VALUES (?, ?)",
                    [(k.bytes, w) for k, w in pending.items()],
                )
                if pending:
                    self._conn.execute(
                        "INSERT INTO key_batch VALUES (?, ?)",
                        (first_position, b"".join(k.bytes for k in pending)),
                    )
            except sqlite3.IntegrityError as error:  # a key id taken meanwhile: a conflict
                self._conn.execute("ROLLBACK")
                raise IntegrityError(error) from error
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def stranded_after(self) -> int | None:
        """The first log position of the last save that wrote keys (None if none is known)."""
        with self._db_lock:
            marker = self._marker()
        return None if marker is None else int(marker[0])

    def drop_stranded(self, head: int) -> int:
        """Delete the keys of the last keyed save if the log (whose last committed position
        is `head`, read holding its write lock) never got its events. Returns how many."""
        with self._db_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                dropped = self._drop_stranded(head)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return dropped

    def _marker(self) -> tuple[int, bytes] | None:
        row = self._conn.execute("SELECT first_position, key_ids FROM key_batch").fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def _drop_stranded(self, head: int) -> int:
        marker = self._marker()
        if marker is None:
            return 0
        self._conn.execute("DELETE FROM key_batch")
        first_position, blob = marker
        if first_position <= head:
            return 0  # its events are in the log
        ids = [(blob[i : i + 16],) for i in range(0, len(blob), 16)]
        self._conn.executemany("DELETE FROM data_keys WHERE key_id = ?", ids)
        return len(ids)

    def _delete(self, key_ids: list[UUID]) -> None:
        with self._db_lock:
            self._conn.executemany(
                "DELETE FROM data_keys WHERE key_id = ?", [(k.bytes,) for k in key_ids]
            )
            # Old page images live on in the WAL until a checkpoint: fold it back and empty it.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def count(self) -> int:
        with self._db_lock:
            row = self._conn.execute("SELECT count(*) FROM data_keys").fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._db_lock:
            self._conn.close()


class PostgresKeyVault(KeyVault):
    """Keys in `<schema>.ledger_data_keys` of the ledger's PostgreSQL database."""

    def __init__(self, conninfo: str, master_key: bytes, schema: str = "public") -> None:
        import psycopg
        from psycopg import sql

        super().__init__(master_key)
        self._sql = sql
        self._conn: Any = psycopg.connect(conninfo, autocommit=True)
        self._db_lock = threading.Lock()
        self._table = sql.Identifier(schema, "ledger_data_keys")
        self._conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (key_id uuid PRIMARY KEY, wrapped bytea NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            ).format(self._table)
        )

    def _select(self, key_ids: list[UUID]) -> dict[UUID, bytes]:
        with self._db_lock:
            rows = self._conn.execute(
                self._sql.SQL("SELECT key_id, wrapped FROM {} WHERE key_id = ANY(%s)").format(
                    self._table
                ),
                (key_ids,),
            ).fetchall()
        return {row[0]: bytes(row[1]) for row in rows}

    def _insert(self, wrapped: dict[UUID, bytes]) -> None:
        with self._db_lock, self._conn.transaction(), self._conn.cursor() as cursor:
            cursor.executemany(
                self._sql.SQL(
                    "INSERT INTO {} (key_id, wrapped) VALUES (%s, %s) "
                    "ON CONFLICT (key_id) DO NOTHING"
                ).format(self._table),
                list(wrapped.items()),
            )

    def write_with_events(self, cursor: Any) -> None:
        """Insert the pending keys of the events being saved through `cursor`, in the
        events' own transaction: they commit together or not at all. A key id taken
        meanwhile fails the whole save as a conflict (no ON CONFLICT here)."""
        pending = self.take_pending()
        if pending:
            cursor.executemany(
                self._sql.SQL("INSERT INTO {} (key_id, wrapped) VALUES (%s, %s)").format(
                    self._table
                ),
                list(pending.items()),
            )

    def _delete(self, key_ids: list[UUID]) -> None:
        with self._db_lock:
            self._conn.execute(
                self._sql.SQL("DELETE FROM {} WHERE key_id = ANY(%s)").format(self._table),
                (key_ids,),
            )

    def count(self) -> int:
        with self._db_lock:
            row = self._conn.execute(
                self._sql.SQL("SELECT count(*) FROM {}").format(self._table)
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._db_lock:
            self._conn.close()
