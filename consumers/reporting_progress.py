"""The reporting group's own rows in the read models' store: how far it has applied.

Beside the projections' rows, the group keeps each partition's next offset
(`consumer_offsets`) and each participant's last applied version (`consumer_versions`).
The consumer (`consumers.reporting`) writes both in the same transaction as the rows a
batch changed, which is what makes the read models move exactly once whatever Kafka
redelivers: a member seeks to the stored offsets on assignment, and an event at or below
a participant's stored version is not applied again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from projections.runner import Projection, create_generation, keys_of
from projections.store import Tx, ViewStore

_TABLES = (
    (
        "CREATE TABLE IF NOT EXISTS consumer_offsets (grp TEXT NOT NULL, topic TEXT NOT NULL,"
        " part INTEGER NOT NULL, next_offset BIGINT NOT NULL, updated_at TEXT NOT NULL,"
        " PRIMARY KEY (grp, topic, part))"
    ),
    (
        "CREATE TABLE IF NOT EXISTS consumer_versions (participant_id TEXT NOT NULL PRIMARY KEY,"
        " version INTEGER NOT NULL)"
    ),
)


_SETUP_LOCK = 7_461_001  # PostgreSQL advisory lock: members create the tables one at a time


class GroupProgress:
    """One group's offsets on one topic, and the participant versions its members applied,
    in `store`."""

    def __init__(self, store: ViewStore, group: str, topic: str) -> None:
        self.store = store
        self.group = group
        self.topic = topic

    def set_up(self, projections: Sequence[Projection], attempts: int = 5) -> None:
        """The group's tables and the projections' first generation, if missing, in one
        transaction; on PostgreSQL under an advisory lock, so members starting together
        create them once (a second creation would drop a first member's rows)."""
        for attempt in range(attempts):
            try:
                with self.store.transaction() as tx:
                    if tx.dialect == "postgres":  # one member at a time (SQLite: always)
                        tx.query("SELECT pg_advisory_xact_lock(?)", (_SETUP_LOCK,))
                    for ddl in _TABLES:
                        tx.execute(ddl)
                    for projection in projections:
                        if not tx.query(
                            "SELECT generation FROM projections WHERE name = ? AND live = 1",
                            (projection.name,),
                        ):
                            create_generation(tx, projection, 1, live=True)
                return
            except Exception:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def stored_offsets(self, tx: Tx | None = None) -> dict[int, int]:
        """Each partition's next offset to apply, as stored with the read models."""
        sql = "SELECT part, next_offset FROM consumer_offsets WHERE grp = ? AND topic = ?"
        rows = (
            tx.query(sql, (self.group, self.topic))
            if tx is not None
            else self.store.query(sql, (self.group, self.topic))
        )
        return {int(p): int(o) for p, o in rows}

    def lock_partitions(self, tx: Tx, parts: list[int], now: str) -> None:
        """On PostgreSQL, lock the partitions' offset rows (made if missing) until `tx`
        ends. Two members meet on a partition only around a rebalance: so the later one
        sees what the earlier one applied. Other partitions' members go on side by side.
        (SQLite: one writer anyway.)"""
        if tx.dialect != "postgres":
            return
        tx.insert_rows(
            "consumer_offsets",
            ("grp", "topic", "part", "next_offset", "updated_at"),
            ("text", "text", "integer", "bigint", "text"),
            [(self.group, self.topic, p, 0, now) for p in parts],
            "ON CONFLICT (grp, topic, part) DO NOTHING",
        )
        tx.query(
            "SELECT part FROM consumer_offsets WHERE grp = ? AND topic = ? AND part "
            f"IN ({', '.join('?' * len(parts))}) ORDER BY part FOR UPDATE",
            (self.group, self.topic, *parts),
        )

    def new_only(
        self, tx: Tx, events: list[tuple[Any, Any]]
    ) -> tuple[list[tuple[Any, Any]], list[tuple[Any, str]]]:
        """Of `(record, event)` pairs in log order: those not applied yet, and those that
        skip a version (each with why: out of order). Events already applied (by
        participant version: a duplicate or a replay) are dropped."""
        if not events:
            return events, []
        pids = keys_of([event for _, event in events])
        seen = {
            pid: int(v)
            for pid, v in tx.query_in(
                "SELECT participant_id, version FROM consumer_versions",
                "participant_id",
                list(dict.fromkeys(pids)),
            )
        }
        kept, out_of_order = [], []
        for pid, (record, event) in zip(pids, events, strict=True):
            version = event.originator_version
            last = seen.get(pid, 0)
            if version <= last:
                continue  # a duplicate or a replay: already applied
            if version != last + 1:
                out_of_order.append((record, f"version {version} of {pid} after version {last}"))
                continue
            seen[pid] = version
            kept.append((record, event))
        return kept, out_of_order

    def save_versions(self, tx: Tx, events: list[tuple[Any, Any]]) -> None:
        """Each participant's last version among the applied `(record, event)` pairs."""
        pids = keys_of([event for _, event in events])
        latest = {
            pid: event.originator_version for pid, (_, event) in zip(pids, events, strict=True)
        }
        tx.insert_rows(
            "consumer_versions",
            ("participant_id", "version"),
            ("text", "integer"),
            list(latest.items()),
            "ON CONFLICT (participant_id) DO UPDATE SET version = excluded.version",
        )

    def save_offsets(self, tx: Tx, ends: dict[int, int], now: str) -> None:
        """Each partition's next offset (`ends`: partition -> offset)."""
        tx.insert_rows(
            "consumer_offsets",
            ("grp", "topic", "part", "next_offset", "updated_at"),
            ("text", "text", "integer", "bigint", "text"),
            [(self.group, self.topic, p, o, now) for p, o in sorted(ends.items())],
            "ON CONFLICT (grp, topic, part) DO UPDATE SET "
            "next_offset = excluded.next_offset, updated_at = excluded.updated_at",
        )
