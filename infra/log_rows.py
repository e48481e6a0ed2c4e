"""The log's stored rows, read straight from the event table for a bulk rebuild.

`projections.bulk` folds the log into read models and needs, per page, only each
participant event's position, aggregate id (as the read models' text key), version,
topic and stored state: no notification objects, no UUIDs. The topics and an optional
range of aggregate ids (a share of the participants) are filtered in SQL, so rows of
other shares are never returned to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic
from psycopg.sql import SQL, Composed, Identifier

from infra.personal_data import PII_FIELD, PersonalDataMapper
from projections.bulk import LogRow, LogRows
from projections.projection import Event


def log_rows(recorder: ApplicationRecorder, mapper: Mapper[Any]) -> LogRows | None:
    """A reader of `recorder`'s rows decoding with `mapper`, or None for a store it does
    not know."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SQLiteLogRows(recorder, mapper)
    if isinstance(recorder, PostgresApplicationRecorder):
        return PostgresLogRows(recorder, mapper)
    return None


class _Decoder:
    """Decodes rows as `mapper.to_domain_event` does, without its per-event overhead:
    the event's class resolved once per topic, no UUID built for the id (the folds key by
    the text), the personal fields left unread as the projections' mapper leaves them.
    Anything else (an old class version to upcast, a mapper that decrypts, compresses or
    enciphers) goes through the mapper itself."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self.transcoder = mapper.transcoder
        plain = (
            isinstance(mapper, PersonalDataMapper)
            and not mapper.decrypt
            and mapper.cipher is None
            and mapper.compressor is None
        )
        self._plain = plain
        self._classes: dict[str, tuple[type, int, tuple[str, ...]]] = {}

    def decode(self, row: LogRow) -> Event:
        _, key, version, topic, state = row
        known = self._classes.get(topic)
        if known is None:
            cls = resolve_topic(topic)
            known = self._classes[topic] = (
                cls,
                getattr(cls, "class_version", 1),
                getattr(cls, "personal_fields", ()),
            )
        cls, class_version, personal = known
        if not self._plain:
            return self.mapper.to_domain_event(StoredEvent(UUID(key), version, topic, state))
        values: dict[str, Any] = self.transcoder.decode(state)
        if values.pop("class_version", 1) != class_version:  # an upcast: the mapper's way
            return self.mapper.to_domain_event(StoredEvent(UUID(key), version, topic, state))
        values["originator_id"] = key
        values["originator_version"] = version
        if personal:
            values.pop(PII_FIELD, None)
            for name in personal:
                values[name] = None
        event: Event = object.__new__(cls)
        object.__setattr__(event, "__dict__", values)
        return event


def _dashed(hex_id: str) -> str:
    """A UUID's 32 hex digits as `str(UUID)` spells it (the read models' key)."""
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


class SQLiteLogRows(_Decoder):
    """Pages of `stored_events` (rowid = log position; ids stored as 32 hex digits)."""

    def __init__(self, recorder: SQLiteApplicationRecorder, mapper: Mapper[Any]) -> None:
        super().__init__(mapper)
        self.recorder = recorder
        self.table = recorder.events_table_name

    def __call__(
        self, start: int, stop: int, topics: Sequence[str], low: str | None, high: str | None
    ) -> list[LogRow]:
        sql = (
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.table}"
            f" WHERE rowid BETWEEN ? AND ? AND topic IN ({', '.join('?' * len(topics))})"
        )
        params: list[Any] = [start, stop, *topics]
        if low is not None:
            sql += " AND originator_id >= ?"
            params.append(low)
        if high is not None:
            sql += " AND originator_id < ?"
            params.append(high)
        sql += " ORDER BY rowid"
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [(r[0], _dashed(r[1]), r[2], r[3], r[4]) for r in rows]


class PostgresLogRows(_Decoder):
    """Pages of the events table (ids as `uuid`: compared and rendered as text here)."""

    def __init__(self, recorder: PostgresApplicationRecorder, mapper: Mapper[Any]) -> None:
        super().__init__(mapper)
        self.recorder = recorder
        self.table = SQL("{}.{}").format(
            Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
        )

    def __call__(
        self, start: int, stop: int, topics: Sequence[str], low: str | None, high: str | None
    ) -> list[LogRow]:
        where: SQL | Composed = SQL("notification_id BETWEEN %s AND %s AND topic = ANY(%s)")
        params: list[Any] = [start, stop, list(topics)]
        if low is not None:
            where += SQL(" AND originator_id >= %s::uuid")
            params.append(low)
        if high is not None:
            where += SQL(" AND originator_id < %s::uuid")
            params.append(high)
        statement = SQL(
            "SELECT notification_id, originator_id::text AS id, originator_version, topic, state"
            " FROM {} WHERE {} ORDER BY notification_id"
        ).format(self.table, where)
        with self.recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, params)
            rows = cursor.fetchall()
        return [
            (
                r["notification_id"],
                r["id"],
                r["originator_version"],
                r["topic"],
                bytes(r["state"]),
            )
            for r in rows
        ]
