"""The library's PostgreSQL application recorder, inserting new data keys in the events'
own transaction (see `infra.keyed_recorders`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from infra.key_tables import PostgresKeyVault


class KeyedPostgresApplicationRecorder(PostgresApplicationRecorder):
    vault_class = PostgresKeyVault
    vault: PostgresKeyVault | None = None

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        assert not self.datastore.enable_db_functions, "keys are written through _insert_events"
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
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        if self.vault is not None and stored_events:
            self.vault.write_with_events(curs)

    def select_events_of(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every event of each aggregate, in one query (a batch's pre-read)."""
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (list(originator_ids),))
            for row in curs.fetchall():
                found.setdefault(row["originator_id"], []).append(
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
                )
        return found
