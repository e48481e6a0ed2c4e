"""Fresh places to measure in: a directory (SQLite) or a schema (PostgreSQL), and the
system built on one through the composition root (`build_system`)."""

from __future__ import annotations

import base64
import contextlib
import os
import pickle
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
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
    keys_file: Path | None = None  # a kept store's keys (see kept_store)

    @property
    def sqlite_path(self) -> Path:
        return self.folder / "ledger.db"

    def settings(self) -> Any:
        if self.keys_file is not None:
            keys = orjson.loads(self.keys_file.read_bytes())
            pepper, master = keys["nik_pepper"], keys["master_key"]
        else:
            pepper = base64.b64encode(os.urandom(32)).decode()
            master = base64.b64encode(os.urandom(32)).decode()
        return Settings(
            database_url=self.url,
            var_dir=self.folder / "var",
            nik_pepper=SecretStr(pepper),
            master_key=SecretStr(master),
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


# --- kept stores: a big population ingested once and measured again later ---------------

KEEP_SETTINGS = "settings.json"
KEEP_MANIFEST = "ingested.json"
KEEP_SEED = "seed.pickle"


@contextlib.contextmanager
def kept_store(
    kind: str, keep_dir: Path, postgres_url: str | None, scale: int, months: int, seed: int
) -> Iterator[BenchStore]:
    """A store that outlives the run: the folder `keep_dir/<kind>-<scale>x<months>-<seed>`
    (and for PostgreSQL the schema `bench_kept_<scale>x<months>_<seed>`), with its keys in
    `settings.json` so a later run can open it. Ingesting 1M participants takes hours; a
    later run measures rebuild, reads and audit on the same bytes without ingesting again.
    The data is synthetic (the bench's seeded population), never a real ledger."""
    folder = keep_dir / f"{kind}-{scale}x{months}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    keys = folder / KEEP_SETTINGS
    if not keys.exists():
        fd = os.open(keys, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(
                orjson.dumps(
                    {
                        "nik_pepper": base64.b64encode(os.urandom(32)).decode(),
                        "master_key": base64.b64encode(os.urandom(32)).decode(),
                    }
                )
            )
    if kind == "sqlite":
        yield BenchStore(kind, folder, f"sqlite:///{folder / 'ledger.db'}", keys_file=keys)
        return
    import psycopg

    assert postgres_url
    schema = f"bench_kept_{scale}x{months}_{seed}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    yield BenchStore(
        kind, folder, f"{postgres_url}?schema={schema}", schema, postgres_url, keys_file=keys
    )


def save_ingested(store: BenchStore, manifest: dict[str, Any], seed_report: Any) -> None:
    """Mark a kept store complete: what its ingest measured, the seed report the reads
    sample from, and what the ingest left (files or tables), so that a later run can drop
    whatever a measuring run derived (`reset_derived`). Written last, so a run killed
    during the ingest leaves no manifest (and the next run starts the store again)."""
    manifest = {**manifest, "ingested": _contents(store)}
    seed_file = store.folder / KEEP_SEED
    with seed_file.open("wb") as handle:
        pickle.dump(seed_report, handle, protocol=pickle.HIGHEST_PROTOCOL)
    seed_file.chmod(0o600)
    tmp = store.folder / (KEEP_MANIFEST + ".tmp")
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    tmp.replace(store.folder / KEEP_MANIFEST)


def load_ingested(store: BenchStore) -> tuple[dict[str, Any], Any] | None:
    """The manifest and seed report of a complete kept store, or None."""
    manifest = store.folder / KEEP_MANIFEST
    if not manifest.exists():
        return None
    with (store.folder / KEEP_SEED).open("rb") as handle:
        seed_report = pickle.load(handle)  # our own file, in our 0700 folder
    return orjson.loads(manifest.read_bytes()), seed_report


def wipe_kept(store: BenchStore) -> None:
    """Empty a kept store that has no manifest (an ingest that was stopped part way)."""
    if store.kind == "sqlite":
        for path in store.folder.glob("ledger.db*"):
            path.unlink()
        shutil.rmtree(store.folder / "var", ignore_errors=True)
        return
    import psycopg

    with psycopg.connect(store.base_url or "", autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{store.schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{store.schema}"')


def _contents(store: BenchStore) -> list[str]:
    """The files (SQLite) or tables (PostgreSQL) of a kept store."""
    if store.kind == "sqlite":
        return sorted(p.name for p in store.folder.iterdir() if p.name.startswith("ledger"))
    import psycopg

    with psycopg.connect(store.base_url or "") as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (store.schema,),
        ).fetchall()
    return sorted(str(name) for (name,) in rows)


def reset_derived(store: BenchStore, manifest: dict[str, Any]) -> list[str]:
    """Drop what an earlier measuring run derived from a kept store (read models, audit
    tiles, leases: every file or table the ingest did not leave), so that catch-up and the
    sealer start from nothing again. The log itself is kept as it is (a measuring run adds
    a few thousand commands to it). Returns what was dropped."""
    ingested = set(manifest.get("ingested", []))
    if not ingested:
        return []
    dropped = [name for name in _contents(store) if name not in ingested]
    if store.kind == "sqlite":
        for name in dropped:
            (store.folder / name).unlink(missing_ok=True)
        shutil.rmtree(store.folder / "var", ignore_errors=True)
        return dropped
    import psycopg

    with psycopg.connect(store.base_url or "", autocommit=True) as conn:
        for name in dropped:
            conn.execute(f'DROP TABLE IF EXISTS "{store.schema}"."{name}" CASCADE')
    return dropped
