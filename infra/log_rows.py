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
        return self.decode_all([row])[0]

    def decode_all(self, rows: Sequence[LogRow]) -> list[Event]:
        """`decode` of each row, in one loop (the hot loop of a rebuild)."""
        if not self._plain:
            to_event = self.mapper.to_domain_event
            return [to_event(StoredEvent(UUID(r[1]), r[2], r[3], r[4])) for r in rows]
        classes, loads = self._classes, self.transcoder.decode
        new, assign = object.__new__, object.__setattr__
        events: list[Event] = []
        append = events.append
        for _, key, version, topic, state in rows:
            known = classes.get(topic)
            if known is None:
                cls = resolve_topic(topic)
                known = classes[topic] = (
                    cls,
                    getattr(cls, "class_version", 1),
                    getattr(cls, "personal_fields", ()),
                )
            cls, class_version, personal = known
            values: dict[str, Any] = loads(state)
            if values.pop("class_version", 1) != class_version:  # an upcast: the mapper's way
                append(self.mapper.to_domain_event(StoredEvent(UUID(key), version, topic, state)))
                continue
            values["originator_id"] = key
            values["originator_version"] = version
            if personal:
                values.pop(PII_FIELD, None)
                for name in personal:
                    values[name] = None
            event: Event = new(cls)
            assign(event, "__dict__", values)
            append(event)
        return events


# A UUID's 32 hex digits as `str(UUID)` spells it (the read models' key), by SQLite: a
# Python f-string per row cost more than the rest of the reading.
_DASHED = (
    "substr(originator_id, 1, 8) || '-' || substr(originator_id, 9, 4) || '-' || "
    "substr(originator_id, 13, 4) || '-' || substr(originator_id, 17, 4) || '-' || "
    "substr(originator_id, 21)"
)


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
            f"SELECT rowid, {_DASHED}, originator_version, topic, state FROM {self.table}"
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
            cursor.sqlite_cursor.row_factory = None  # plain tuples, as `LogRow` is
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return rows


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
