"""The read models' databases: an SQLite file of their own, or tables in PostgreSQL.

The drivers behind `projections.store`'s interface, over `sqlite3` and `psycopg`, so
projections write their SQL once: `?` placeholders (rewritten for PostgreSQL),
`ON CONFLICT ... DO UPDATE` upserts, and `{without_rowid}` in CREATE TABLE (SQLite's
cheaper clustered tables).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.sqlite_store import BIG_TABLE_PRAGMAS
from projections.store import Tx, ViewStore

# From this many rows, PostgreSQL inserts go through COPY (see `SqlTx._copy_rows`).
COPY_FROM = 5000


class SqlTx(Tx):
    """One transaction on a DB-API cursor: SQL in the `?` style whatever the database."""

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

    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        rows: Sequence[Sequence[Any]],
        on_conflict: str = "",
    ) -> None:
        """SQLite: one compiled statement run per row in C. PostgreSQL: one statement with
        an array per column (`unnest`), so a page of rows costs one round trip and no
        per-row parsing."""
        if not rows:
            return
        if self.dialect == "postgres" and len(rows) >= COPY_FROM:
            self._copy_rows(table, columns, types, rows, on_conflict)
            return
        if self.dialect == "postgres":
            arrays = ", ".join(f"%b::{t}[]" for t in types)  # %b: sent in binary, unquoted
            self.cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) "
                + on_conflict,
                [list(column) for column in zip(*rows, strict=True)],
            )
            return
        self.cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            + on_conflict,
            rows,
        )

    def _copy_rows(
        self,
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        rows: Sequence[Sequence[Any]],
        on_conflict: str,
    ) -> None:
        """PostgreSQL, many rows (a bulk rebuild's tables): COPY, which skips building a
        Python array per column, in binary (`types` name each column's type: no numbers
        formatted as text and parsed back); with `on_conflict`, into a staging table
        first, then one INSERT ... SELECT that applies it."""
        names = ", ".join(columns)
        target = table
        if on_conflict:
            target = f"_stage_{table}"
            self.cursor.execute(
                f"CREATE TEMP TABLE {target} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
        with self.cursor.copy(f"COPY {target} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        if on_conflict:
            self.cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {target} " + on_conflict
            )
            self.cursor.execute(f"DROP TABLE {target}")


class SQLiteViewStore(ViewStore):
    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = str(path)
        self.location = f"sqlite:///{Path(path).resolve()}"
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=60
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "PRAGMA synchronous=NORMAL"
        )  # WAL: durable at checkpoints, never corrupt
        for pragma in BIG_TABLE_PRAGMAS:
            self._conn.execute(pragma)
        self.setup()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield SqlTx(cursor, self.dialect)
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
        self._conn: Any = psycopg.connect(
            conninfo, autocommit=True, options=f"-c search_path={schema}"
        )
        self.setup()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock, self._conn.transaction(), self._conn.cursor() as cursor:
            yield SqlTx(cursor, self.dialect)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def describe(self) -> str:
        return f"postgresql schema {self.schema}"


def postgres_location(conninfo: str, schema: str) -> str:
    return f"{conninfo} schema={schema}"
