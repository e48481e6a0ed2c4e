"""What a read model needs of its database: transactions that run `?`-style SQL.

The drivers (an SQLite file of their own, or tables in PostgreSQL) live in
`infra.view_store`; projections see only this interface. SQL written here uses `?`
placeholders, `ON CONFLICT ... DO UPDATE` upserts and `{without_rowid}` in CREATE TABLE
(the driver renders each for its database).

Each projection's tables exist in generations: `<table>_g<N>`. The `projections` table
records, per projection and generation, the log position it has processed and whether it
is the live one. A rebuild fills generation N+1 beside the live one and a single
transaction makes it live, so readers see the old tables or the new ones, never half.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any


class Tx(ABC):
    """One transaction: SQL in the `?` style whatever the database."""

    dialect: str  # "sqlite" or "postgres": for the few statements that differ

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters (nothing when `rows` is empty)."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows a SELECT returns."""

    @abstractmethod
    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        rows: Sequence[Sequence[Any]],
        on_conflict: str = "",
    ) -> None:
        """INSERT many rows at once, then `on_conflict` (e.g. an upsert clause). `types`
        are the columns' SQL types. Keys must be unique within `rows` when `on_conflict`
        updates."""

    def query_in(
        self, select: str, column: str, values: Sequence[Any], chunk: int = 500
    ) -> list[tuple[Any, ...]]:
        """`select` (up to its WHERE) for rows whose `column` is one of `values`, in chunks
        that stay under the databases' parameter limits."""
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            rows += self.query(f"{select} WHERE {column} IN ({', '.join('?' * len(part))})", part)
        return rows


class ViewStore(ABC):
    """A connection to the view database, with the projections' bookkeeping table."""

    dialect: str
    location: str  # which database (and schema) this is: equal locations, same tables

    def __init__(self) -> None:
        self._lock = threading.RLock()

    # --- running SQL ----------------------------------------------------------------------

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Tx]:
        """One transaction, committed when the block ends (rolled back if it raises)."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as tx:
            return tx.query(sql, params)

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    @abstractmethod
    def describe(self) -> str:
        """Where the read models are, for people."""

    # --- bookkeeping ----------------------------------------------------------------------

    def setup(self) -> None:
        with self.transaction() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS projections ("
                " name TEXT NOT NULL, generation INTEGER NOT NULL, position BIGINT NOT NULL,"
                " live INTEGER NOT NULL, updated_at TEXT NOT NULL,"
                " PRIMARY KEY (name, generation))"
            )


__all__ = ["Tx", "ViewStore"]
