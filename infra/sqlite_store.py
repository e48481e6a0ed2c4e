"""The library's SQLite event store, with connections set up for big tables.

`eventsourcing.sqlite` opens its connections with SQLite's defaults; this factory is the
library's own, except that each new connection also gets `BIG_TABLE_PRAGMAS` (see there
for what they are worth). Selected by `PERSISTENCE_MODULE` (`infra.bootstrap`).
"""

from __future__ import annotations

from eventsourcing.persistence import Environment, EnvType
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory

from projections.store import BIG_TABLE_PRAGMAS


class TunedSQLiteConnectionPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        if not self.is_sqlite_memory_mode:
            for pragma in BIG_TABLE_PRAGMAS:
                connection._sqlite_conn.execute(pragma)  # the library keeps no public handle
        return connection


class TunedSQLiteFactory(SQLiteFactory):
    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        # The datastore made its pool, but no connection yet: from now on they are tuned.
        self.datastore.pool.__class__ = TunedSQLiteConnectionPool


TOPIC = f"{__name__}:{TunedSQLiteFactory.__qualname__}"
