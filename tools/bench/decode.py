"""The rebuild's baselines: the least a reader of the log must do, on the same store.

- `bare_loop` (issue 19): every stored row in position order, one query fetched in pages
  of `PAGE_SIZE`, `orjson.loads` on each state. SQLite: the library's `stored_events` by
  `rowid`; PostgreSQL: `<schema>.ledger_events` by `notification_id` through a server-side
  (named) cursor. It parses JSON only: no event objects, no topic filter, and the
  personal fields stay sealed inside the state, as the read models never need them.
- `mapper_loop`: what the library offers a reader: `select_notifications` (same pages,
  the projections' topics) and the projections' mapper to domain events (no decryption).

Both return (seconds, rows): a rebuild's rate over theirs is the time ratio on one log.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from typing import Any

import orjson

from tools.bench.config import PAGE_SIZE
from tools.bench.stores import BenchStore


def bare_loop(store: BenchStore, recorder: Any) -> tuple[float, int]:
    """Read and JSON-decode every stored event of `store`'s log; (seconds, rows)."""
    table = recorder.events_table_name  # the library's name for this store's events table
    if store.kind == "sqlite":
        return _bare_sqlite(store, table)
    return _bare_postgres(store, table)


def _bare_sqlite(store: BenchStore, table: str) -> tuple[float, int]:
    conn = sqlite3.connect(str(store.sqlite_path))
    try:
        started = time.perf_counter()
        cursor = conn.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {table} ORDER BY rowid"
        )
        rows = _decode_pages(iter(lambda: cursor.fetchmany(PAGE_SIZE), []))
        return time.perf_counter() - started, rows
    finally:
        conn.close()


def _bare_postgres(store: BenchStore, table: str) -> tuple[float, int]:
    import psycopg
    from psycopg import sql

    assert store.schema and store.base_url
    query = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM {}.{} ORDER BY notification_id"
    ).format(sql.Identifier(store.schema), sql.Identifier(table))
    with psycopg.connect(store.base_url) as conn:
        started = time.perf_counter()
        # a named cursor lives on the server: rows come PAGE_SIZE at a time, never all
        with conn.cursor(name="bench_bare_loop") as cursor:
            cursor.itersize = PAGE_SIZE
            cursor.execute(query)
            rows = _decode_pages(iter(lambda: cursor.fetchmany(PAGE_SIZE), []))
        seconds = time.perf_counter() - started
        conn.rollback()  # it only read
    return seconds, rows


def _decode_pages(pages: Iterable[list[Any]]) -> int:
    loads = orjson.loads
    count = 0
    for page in pages:
        for row in page:
            loads(row[4])
        count += len(page)
    return count


def mapper_loop(recorder: Any, mapper: Any, topics: list[str], head: int) -> tuple[float, int]:
    """`select_notifications` (pages of `PAGE_SIZE`, the projections' topics) and the
    mapper's `to_domain_event` on each; (seconds, events)."""
    count = 0
    started = time.perf_counter()
    position = 0
    to_event = mapper.to_domain_event
    while position < head:
        stop = min(position + PAGE_SIZE, head)
        page = recorder.select_notifications(
            start=position + 1, limit=stop - position, stop=stop, topics=topics
        )
        for notification in page:
            to_event(notification)
        count += len(page)
        position = stop
    return time.perf_counter() - started, count
