"""Fresh places to measure in: a directory (SQLite) or a schema (PostgreSQL), and the
system built on one through the composition root (`build_system`)."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from infra.bootstrap import System, build_system
from infra.settings import Settings, parse_database_url


@dataclass
class BenchStore:
    """One fresh place to put a ledger: a directory (SQLite) or a schema (PostgreSQL)."""

    kind: str
    folder: Path
    url: str
    schema: str | None = None
    base_url: str | None = None

    @property
    def sqlite_path(self) -> Path:
        return self.folder / "ledger.db"

    def settings(self) -> Any:
        return Settings(
            database_url=self.url,
            var_dir=self.folder / "var",
            nik_pepper=SecretStr(base64.b64encode(os.urandom(32)).decode()),
            master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
        )

    def naive_env(self, name: str = "NaiveLedger") -> dict[str, str]:
        prefix = name.upper() + "_"
        if self.kind == "sqlite":
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.folder / "naive.db"),
            }
        else:
            db = parse_database_url(self.url)
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": db.name,
                "POSTGRES_HOST": db.host,
                "POSTGRES_PORT": str(db.port),
                "POSTGRES_USER": db.user,
                "POSTGRES_PASSWORD": db.password,
                "POSTGRES_SCHEMA": db.schema,
            }
        return {prefix + k: v for k, v in env.items()}


@contextlib.contextmanager
def fresh_store(kind: str, workdir: Path, postgres_url: str | None) -> Iterator[BenchStore]:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-", dir=workdir))
    schema = None
    try:
        if kind == "sqlite":
            yield BenchStore(kind, folder, f"sqlite:///{folder / 'ledger.db'}")
        else:
            import psycopg

            assert postgres_url
            schema = f"bench_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            yield BenchStore(kind, folder, f"{postgres_url}?schema={schema}", schema, postgres_url)
    finally:
        if schema is not None:
            with contextlib.suppress(Exception):
                import psycopg

                with psycopg.connect(postgres_url or "", autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        shutil.rmtree(folder, ignore_errors=True)


def open_system(store: BenchStore) -> System:
    """The system as every entry point builds it, on the store."""
    return build_system(store.settings())


def close_quietly(system: System) -> None:
    with contextlib.suppress(Exception):
        system.close()


@contextlib.contextmanager
def system_on(store: BenchStore) -> Iterator[System]:
    system = open_system(store)
    try:
        yield system
    finally:
        close_quietly(system)


def log_head(ledger: Any) -> int:
    return int(ledger.recorder.max_notification_id() or 0)


def store_size(kind: str, store: BenchStore, ledger: Any) -> tuple[int, str]:
    """Bytes of the event store (events and snapshots), and what else is on disk."""
    if kind == "sqlite":
        files = {p.name: p.stat().st_size for p in store.folder.iterdir() if p.is_file()}
        ours = sum(v for k, v in files.items() if k.startswith("ledger.db"))
        listed = ", ".join(f"{k} {v / 1e6:,.1f} MB" for k, v in sorted(files.items()))
        return ours, f"ledger.db incl. -wal/-shm (events + snapshots); all files: {listed}"
    import psycopg

    with psycopg.connect(store.base_url or "") as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 1",
            (store.schema,),
        ).fetchall()
    sizes = {name: int(size) for name, size in rows}
    ours = sum(v for k, v in sizes.items() if k in ("ledger_events", "ledger_snapshots"))
    listed = ", ".join(f"{k} {v / 1e6:,.1f} MB" for k, v in sizes.items())
    return ours, f"pg_total_relation_size of ledger_events + ledger_snapshots; all tables: {listed}"


def postgres_available(url: str | None) -> str | None:
    """None when PostgreSQL answers at `url`, else why not."""
    if not url:
        return "no PostgreSQL URL (set LEDGER_BENCH_POSTGRES_URL or --postgres-url)"
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001
        return f"PostgreSQL at {url.split('@')[-1]} unreachable: {type(error).__name__}: {error}"
    return None
