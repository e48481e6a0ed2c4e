"""A projection's tables in generations: `<table>_g<N>`, one of them live.

The `projections` table records, per projection and generation, the log position it has
processed and whether it is the live one. A rebuild fills a generation beside the live
one and swaps it in (`swap_in`) in one transaction; what a killed rebuild left is dropped
by `sweep` once its lease (`projections.builds`) is no longer held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from projections import builds
from projections.projection import Projection
from projections.store import Tx, ViewStore


def physical(table: str, generation: int) -> str:
    return f"{table}_g{generation}"


def now() -> str:
    """The `updated_at` of a projection's row: UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ProjectionState:
    name: str
    generation: int
    position: int
    live: bool
    updated_at: str


def live_tables(tx: Tx, projection: Projection) -> tuple[dict[str, str], int]:
    """The live generation's physical table names and its position, read inside `tx`."""
    rows = tx.query(
        "SELECT generation, position FROM projections WHERE name = ? AND live = 1",
        (projection.name,),
    )
    if not rows:
        return {t: physical(t, 1) for t in projection.tables}, -1
    generation, position = int(rows[0][0]), int(rows[0][1])
    return {t: physical(t, generation) for t in projection.tables}, position


def ensure_live_generation(store: ViewStore, projection: Projection) -> None:
    """Create the projection's first generation, live and empty, unless it has one."""
    with store.transaction() as tx:
        rows = tx.query(
            "SELECT generation FROM projections WHERE name = ? AND live = 1", (projection.name,)
        )
        if not rows:
            create_generation(tx, projection, 1, live=True)


def create_generation(tx: Tx, projection: Projection, generation: int, live: bool) -> None:
    """(Re)create a generation's tables, empty, at position 0."""
    for table, ddl in projection.tables.items():
        tx.execute(f"DROP TABLE IF EXISTS {physical(table, generation)}")
        tx.execute(ddl.replace("{table}", physical(table, generation)))
    tx.execute(
        "DELETE FROM projections WHERE name = ? AND generation = ?", (projection.name, generation)
    )
    tx.execute(
        "INSERT INTO projections (name, generation, position, live, updated_at) "
        "VALUES (?, ?, 0, ?, ?)",
        (projection.name, generation, int(live), now()),
    )


def new_generations(store: ViewStore, chosen: list[Projection], owner: str) -> dict[str, int]:
    """A new, empty, not-live generation of each projection, recorded as built by the
    lease `owner`; their numbers by projection name."""
    generations: dict[str, int] = {}
    with store.transaction() as tx:
        for projection in chosen:
            rows = tx.query(
                "SELECT max(generation) FROM projections WHERE name = ?", (projection.name,)
            )
            generation = int(rows[0][0] or 0) + 1
            create_generation(tx, projection, generation, live=False)
            tx.execute(
                "INSERT INTO projection_builds (name, generation, owner) VALUES (?, ?, ?)",
                (projection.name, generation, owner),
            )
            generations[projection.name] = generation
    return generations


def swap_in(
    store: ViewStore, chosen: list[Projection], generations: Mapping[str, int], target: int
) -> None:
    """Make the new generations live at `target` and drop the old ones, in one transaction."""
    with store.transaction() as tx:
        if tx.dialect == "postgres":
            # Readers hold a share lock on `projections` from looking up the live
            # generation until their transaction ends: wait for them before dropping
            # the tables they may be about to read; later readers see the new ones.
            tx.execute("LOCK TABLE projections IN ACCESS EXCLUSIVE MODE")
        for projection in chosen:
            old = tx.query(
                "SELECT generation FROM projections WHERE name = ? AND live = 1",
                (projection.name,),
            )
            tx.execute("UPDATE projections SET live = 0 WHERE name = ?", (projection.name,))
            tx.execute(
                "UPDATE projections SET live = 1, position = ?, updated_at = ? "
                "WHERE name = ? AND generation = ?",
                (target, now(), projection.name, generations[projection.name]),
            )
            tx.execute(
                "DELETE FROM projection_builds WHERE name = ? AND generation = ?",
                (projection.name, generations[projection.name]),
            )
            for (generation,) in old:
                for table in projection.tables:
                    tx.execute(f"DROP TABLE IF EXISTS {physical(table, int(generation))}")
                tx.execute(
                    "DELETE FROM projections WHERE name = ? AND generation = ?",
                    (projection.name, generation),
                )


def drop_unfinished(
    store: ViewStore, projections: Mapping[str, Projection], generations: Mapping[str, int]
) -> None:
    """Drop unfinished (never live) generations."""
    with store.transaction() as tx:
        for name, generation in generations.items():
            for table in projections[name].tables:
                tx.execute(f"DROP TABLE IF EXISTS {physical(table, generation)}")
            tx.execute(
                "DELETE FROM projections WHERE name = ? AND generation = ? AND live = 0",
                (name, generation),
            )
            tx.execute(
                "DELETE FROM projection_builds WHERE name = ? AND generation = ?",
                (name, generation),
            )


def sweep(store: ViewStore, projections: Mapping[str, Projection]) -> int:
    """Drop every generation of these projections that is neither live nor being built
    by a rebuild still running (see `projections.builds`): what killed rebuilds left.
    Returns how many generations were dropped."""
    with store.transaction() as tx:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS projection_builds (name TEXT NOT NULL,"
            " generation INTEGER NOT NULL, owner TEXT NOT NULL,"
            " PRIMARY KEY (name, generation))"
        )
        rows = tx.query(
            "SELECT p.name, p.generation, b.owner FROM projections p"
            " LEFT JOIN projection_builds b"
            " ON b.name = p.name AND b.generation = p.generation"
            " WHERE p.live = 0"
        )
    dropped = 0
    owners: dict[str | None, bool] = {}
    for name, generation, owner in rows:
        if name not in projections:
            continue
        if owner not in owners:  # no owner: left by a version that recorded none
            owners[owner] = owner is not None and builds.is_held(store, owner)
        if not owners[owner]:
            dropped += _drop_abandoned(store, projections[name], int(generation), owner)
    for owner, held in owners.items():
        if owner is not None and not held:
            builds.forget(store, owner)
    return dropped


def _drop_abandoned(
    store: ViewStore, projection: Projection, generation: int, owner: str | None
) -> int:
    """Drop a generation found abandoned, unless it changed since (its rebuild may have
    made it live just before letting its lease go)."""
    with store.transaction() as tx:
        lock = " FOR UPDATE OF p" if tx.dialect == "postgres" else ""
        rows = tx.query(
            "SELECT p.live, b.owner FROM projections p LEFT JOIN projection_builds b"
            " ON b.name = p.name AND b.generation = p.generation"
            " WHERE p.name = ? AND p.generation = ?" + lock,
            (projection.name, generation),
        )
        if rows != [(0, owner)]:
            return 0
        for table in projection.tables:
            tx.execute(f"DROP TABLE IF EXISTS {physical(table, generation)}")
        tx.execute(
            "DELETE FROM projections WHERE name = ? AND generation = ?",
            (projection.name, generation),
        )
        tx.execute(
            "DELETE FROM projection_builds WHERE name = ? AND generation = ?",
            (projection.name, generation),
        )
    return 1
