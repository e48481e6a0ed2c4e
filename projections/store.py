"""Where read models live: an SQLite file of their own, or tables in PostgreSQL.

One small adapter over `sqlite3` and `psycopg` so projections write their SQL once:
`?` placeholders (rewritten for PostgreSQL), `ON CONFLICT ... DO UPDATE` upserts, and
`{without_rowid}` in CREATE TABLE (SQLite's cheaper clustered tables).

Each projection's tables exist in generations: `<table>_g<N>`. The `projections` table
records, per projection and generation, the log position it has processed and whether it
is the live one. A rebuild fills generation N+1 beside the live one and a single
transaction makes it live, so readers see the old tables or the new ones, never half.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


# Writes keyed by random ids (participants, payment references, data keys) touch pages all
# over big tables and indexes: with SQLite's defaults (2 MB of cache, a checkpoint per 4 MB
# of WAL) nearly every commit of a batch also checkpointed, with an fsync. With a checkpoint
# per 80 MB of WAL and up to 128 MB of cache per connection, measured on a log of a million
# participants: a rebuild's first 300,000 positions took 16.5 s instead of 23-25 s, and
# enrollments into it ran at 2,250/s instead of 1,800/s (no change on a small store).
# Durability is the same: the checkpoint moves committed pages, it does not commit them.
BIG_TABLE_PRAGMAS = ("PRAGMA cache_size=-131072", "PRAGMA wal_autocheckpoint=20000")


class ViewStore:
    """A connection to the view database, with the projections' bookkeeping table."""

    dialect: str
    location: str  # which database (and schema) this is: equal locations, same tables

    def __init__(self) -> None:
        self._lock = threading.RLock()

    # --- running SQL ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        raise NotImplementedError
        yield  # pragma: no cover

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as tx:
            return tx.query(sql, params)

    def close(self) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    # --- bookkeeping ----------------------------------------------------------------------

    def setup(self) -> None:
        with self.transaction() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS projections ("
                " name TEXT NOT NULL, generation INTEGER NOT NULL, position BIGINT NOT NULL,"
                " live INTEGER NOT NULL, updated_at TEXT NOT NULL,"
                " PRIMARY KEY (name, generation))"
            )


class Tx:
    """One transaction: SQL in the `?` style whatever the database."""

    def __init__(self, cursor: Any, dialect: str) -> None:
        self.cursor = cursor
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgres":
            sql = sql.replace("?", "%s").replace("{without_rowid}", "")
        else:
            sql = sql.replace("{without_rowid}", "WITHOUT ROWID")
        return sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        result = self.cursor.execute(self._sql(sql), params)
        return int(getattr(result, "rowcount", self.cursor.rowcount) or 0)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(self._sql(sql), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(self._sql(sql), params)
        return [tuple(row) for row in self.cursor.fetchall()]

    def query_in(self, select: str, column: str, values: Sequence[Any],
                 chunk: int = 500) -> list[tuple[Any, ...]]:
        """`select` (up to its WHERE) for rows whose `column` is one of `values`, in chunks
        that stay under the databases' parameter limits."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), chunk):
            part = values[start:start + chunk]
            rows += self.query(f"{select} WHERE {column} IN ({', '.join('?' * len(part))})", part)
        return rows

    def insert_rows(self, table: str, columns: Sequence[str], types: Sequence[str],
                    rows: Sequence[Sequence[Any]], on_conflict: str = "") -> None:
        """INSERT many rows at once. SQLite: one compiled statement run per row in C.
        PostgreSQL: one statement with an array per column (`unnest`), so a page of rows
        costs one round trip and no per-row parsing. `types` are the columns' SQL types.
        Keys must be unique within `rows` when `on_conflict` updates."""
        if not rows:
            return
        if self.dialect == "postgres":
            arrays = ", ".join(f"%b::{t}[]" for t in types)  # %b: sent in binary, unquoted
            self.cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) "
                + on_conflict, [list(column) for column in zip(*rows, strict=True)])
            return
        self.cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            + on_conflict, rows)


class SQLiteViewStore(ViewStore):
    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = str(path)
        self.location = f"sqlite:///{Path(path).resolve()}"
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                     timeout=60)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
        for pragma in BIG_TABLE_PRAGMAS:
            self._conn.execute(pragma)
        self.setup()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(cursor, self.dialect)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def describe(self) -> str:
        return f"sqlite:///{self.path}"


class PostgresViewStore(ViewStore):
    dialect = "postgres"

    def __init__(self, conninfo: str, schema: str = "public") -> None:
        import psycopg

        super().__init__()
        self.schema = schema
        self.location = postgres_location(conninfo, schema)
        self._conn: Any = psycopg.connect(conninfo, autocommit=True,
                                          options=f"-c search_path={schema}")
        self.setup()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock, self._conn.transaction(), self._conn.cursor() as cursor:
            yield Tx(cursor, self.dialect)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def describe(self) -> str:
        return f"postgresql schema {self.schema}"


def postgres_location(conninfo: str, schema: str) -> str:
    return f"{conninfo} schema={schema}"
