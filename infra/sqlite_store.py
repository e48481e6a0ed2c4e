"""The library's SQLite event store, with connections set up for big tables.

`eventsourcing.sqlite` opens its connections with SQLite's defaults; this factory is the
library's own, except that each new connection also gets `BIG_TABLE_PRAGMAS` (see there
for what they are worth). Selected by `PERSISTENCE_MODULE` (`infra.bootstrap`).
"""

from __future__ import annotations

from eventsourcing.persistence import Environment, EnvType
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
    SQLiteFactory,
)

# Writes keyed by random ids (participants, payment references, data keys) touch pages all
# over big tables and indexes: with SQLite's defaults (2 MB of cache, a checkpoint per 4 MB
# of WAL) nearly every commit of a batch also checkpointed, with an fsync. With a checkpoint
# per 80 MB of WAL and up to 128 MB of cache per connection, measured on a log of a million
# participants: a rebuild's first 300,000 positions took 16.5 s instead of 23-25 s, and
# enrollments into it ran at 2,250/s instead of 1,800/s (no change on a small store).
# Durability is the same: the checkpoint moves committed pages, it does not commit them.
BIG_TABLE_PRAGMAS = ("PRAGMA cache_size=-131072", "PRAGMA wal_autocheckpoint=20000")


class TunedSQLiteConnectionPool(SQLiteConnectionPool):
    """The library's pool; each new connection also gets `BIG_TABLE_PRAGMAS`."""

    # `_create_connection` is the abstract method `eventsourcing.persistence.ConnectionPool`
    # asks every pool subclass to implement (eventsourcing 9.5.6): the pool's extension point.
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        if not self.is_sqlite_memory_mode:
            cursor = connection.cursor()  # public: runs on the connection's own sqlite3 handle
            for pragma in BIG_TABLE_PRAGMAS:
                cursor.execute(pragma)
        return connection


class TunedSQLiteDatastore(SQLiteDatastore):
    """The library's datastore over a `TunedSQLiteConnectionPool`."""

    def __init__(self, plain: SQLiteDatastore) -> None:
        """Built with the settings of `plain`, the datastore `SQLiteFactory` made."""
        pool = plain.pool
        super().__init__(
            pool.db_name,
            lock_timeout=pool.lock_timeout,
            pool_size=pool.pool_size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.pool_timeout,
            max_age=pool.max_age,
            pre_ping=pool.pre_ping,
            single_row_tracking=plain.single_row_tracking,
            originator_id_type=plain.originator_id_type,
        )
        # eventsourcing 9.5.6: `SQLiteDatastore.__init__` constructs its pool itself (no
        # pool class attribute or construct_* hook), so the tuned pool replaces it here,
        # with the same arguments, before any connection is made.
        self.pool.close()
        self.pool = TunedSQLiteConnectionPool(
            db_name=pool.db_name,
            lock_timeout=pool.lock_timeout,
            pool_size=pool.pool_size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.pool_timeout,
            max_age=pool.max_age,
            pre_ping=pool.pre_ping,
        )


class TunedSQLiteFactory(SQLiteFactory):
    """`SQLiteFactory` whose recorders share a `TunedSQLiteDatastore`."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        # eventsourcing 9.5.6: `SQLiteFactory.__init__` reads the environment and builds
        # its datastore in one go (no construct_datastore hook); the recorders are made
        # later from the public `datastore` attribute, so swapping it here is enough.
        super().__init__(env)
        plain = self.datastore
        self.datastore = TunedSQLiteDatastore(plain)
        plain.close()


TOPIC = f"{__name__}:{TunedSQLiteFactory.__qualname__}"
