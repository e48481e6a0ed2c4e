"""The library's application recorders, writing new data keys with the events that use them.

`KeyVault.ensure_keys` keeps a new key in memory; the personal-data mapper marks the keys
the events being saved are encrypted with; these recorders write exactly those, inside the
save (see `infra.personal_data`):

- PostgreSQL: the keys table is in the events' schema, so the keys are inserted in the
  events' own transaction (the library's `_insert_events` hook, run before the events).
- SQLite: the keys live in a file of their own, so no transaction spans both. The events
  are inserted first (which takes the log's write lock), then the keys commit, then the
  events commit. A kill between the two commits strands one batch of keys; the key file
  remembers that batch with the log position its first event would have taken, and the
  next save (or `sweep_stranded_keys` at start) removes it if the log never got there.

Selected by `APPLICATION_RECORDER_TOPIC` (`infra.bootstrap`); `attach` gives a recorder
its vault. The PostgreSQL recorder is in `infra.keyed_postgres` (psycopg is optional).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import get_topic

from infra.key_tables import SQLiteKeyVault
from infra.personal_data import KeyVault


class KeyedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    vault_class = SQLiteKeyVault
    vault: SQLiteKeyVault | None = None

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        try:
            ids = super().insert_events(stored_events, **kwargs)
        except BaseException:
            if self.vault is not None:
                self.vault.restore_pending()
            raise
        if self.vault is not None:
            self.vault.saved()
        return ids

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)  # now holding the write lock
        if self.vault is not None and ids:
            self.vault.write_with_events(first_position=int(ids[0]))
        return ids

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every event of each aggregate, in one query per 500 ids (a batch's pre-read)."""
        found: dict[UUID, list[StoredEvent]] = {}
        for start in range(0, len(originator_ids), 500):
            chunk = [i.hex for i in originator_ids[start : start + 500]]
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT originator_id, originator_version, topic, state FROM "
                    f"{self.events_table_name} WHERE originator_id IN "
                    f"({','.join('?' * len(chunk))}) ORDER BY originator_id, originator_version",
                    chunk,
                )
                for row in c.fetchall():
                    originator = UUID(row["originator_id"])
                    found.setdefault(originator, []).append(
                        StoredEvent(
                            originator_id=originator,
                            originator_version=row["originator_version"],
                            topic=row["topic"],
                            state=row["state"],
                        )
                    )
        return found


def recorder_topic(kind: str) -> str:
    """The `APPLICATION_RECORDER_TOPIC` for a store kind ("sqlite" or "postgres"); the
    PostgreSQL one is named, not imported (psycopg is an optional dependency)."""
    if kind == "sqlite":
        return get_topic(KeyedSQLiteApplicationRecorder)
    return "infra.keyed_postgres:KeyedPostgresApplicationRecorder"


def attach(recorder: ApplicationRecorder, vault: KeyVault) -> None:
    """Let `recorder` write `vault`'s new keys with the events that use them."""
    kind: type[KeyVault] | None = getattr(recorder, "vault_class", None)
    if kind is None or not isinstance(vault, kind):
        return  # the vault keeps writing keys at once
    recorder.vault = vault  # type: ignore[attr-defined]
    vault.writes_with_events = True


def sweep_stranded_keys(recorder: ApplicationRecorder) -> int:
    """Remove the keys a killed SQLite save stranded (see the module); returns how many.
    Cheap when there are none: no lock is taken unless the key file names a batch the log
    has not reached."""
    if not isinstance(recorder, KeyedSQLiteApplicationRecorder) or recorder.vault is None:
        return 0
    first = recorder.vault.stranded_after()
    if first is None or (recorder.max_notification_id() or 0) >= first:
        return 0
    # Hold the log's write lock, so no save is between its two commits right now.
    connection = sqlite3.connect(recorder.datastore.pool.db_name, isolation_level=None, timeout=60)
    try:
        connection.execute("BEGIN IMMEDIATE")
        head = (
            connection.execute(f"SELECT MAX(rowid) FROM {recorder.events_table_name}").fetchone()[0]
            or 0
        )
        dropped = recorder.vault.drop_stranded(int(head))
        connection.execute("ROLLBACK")
    finally:
        connection.close()
    return dropped
