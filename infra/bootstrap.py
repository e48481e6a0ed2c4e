"""The one composition root: builds the running system from settings.

The CLI, the API's lifespan, consumers, tests and the benchmark call `build_system`; the
private part builders below are what it is made of, and the only other caller is
`RunnerSpawn` (a split rebuild's worker process builds its own ledger, view store and
runner from the settings). Nothing else constructs the event store, the key vault, the
mapper, the view store, the runner or the group committer.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Self

from domain.ledger import Ledger
from domain.rules import RuleBook
from infra import sqlite_store
from infra.audit.system import Audit, build_audit
from infra.group_commit import GroupCommitter
from infra.key_tables import PostgresKeyVault, SQLiteKeyVault
from infra.keyed_recorders import attach, recorder_topic, sweep_stranded_keys
from infra.log_rows import log_rows
from infra.personal_data import KeyVault, PersonalDataMapper
from infra.settings import Database, Settings, load_rule_book, load_secrets, parse_database_url
from infra.transcoder import ledger_transcoder
from infra.view_store import PostgresViewStore, SQLiteViewStore, postgres_location
from projections.bulk import DEFAULT_MEMORY_MB, positions_per_share
from projections.coverage import CoverageProjection
from projections.coverage_flows import CoverageFlowsProjection
from projections.coverage_log import CoverageLogProjection
from projections.participant_status import ParticipantStatusProjection
from projections.runner import Projection, ProjectionRunner, replay
from projections.split import SPLIT_FROM
from projections.store import ViewStore


def event_store_env(db: Database) -> dict[str, str]:
    """The eventsourcing library's settings for a database, under the app's own prefix."""
    if db.kind == "sqlite":
        assert db.path is not None
        env = {"PERSISTENCE_MODULE": sqlite_store.TOPIC, "SQLITE_DBNAME": str(db.path)}
    else:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": db.name,
            "POSTGRES_HOST": db.host,
            "POSTGRES_PORT": str(db.port),
            "POSTGRES_USER": db.user,
            "POSTGRES_PASSWORD": db.password,
            "POSTGRES_SCHEMA": db.schema,
        }
    # New data keys are written by the recorder, with the events that use them.
    env["APPLICATION_RECORDER_TOPIC"] = recorder_topic(db.kind)
    # Prefixed, so that stray unprefixed variables in the process environment lose.
    return {f"{Ledger.name.upper()}_{key}": value for key, value in env.items()}


def _build_vault(db: Database, master_key: bytes) -> KeyVault:
    if db.kind == "sqlite":
        assert db.path is not None
        return SQLiteKeyVault(db.path.with_name(db.path.stem + "-keys.db"), master_key)
    return PostgresKeyVault(db.conninfo, master_key, schema=db.schema)


def _build_ledger(settings: Settings, *, decrypt: bool = True) -> Ledger:
    """The ledger on the configured store, with personal data encrypted per participant."""
    db = parse_database_url(settings.database_url)
    if db.kind == "sqlite":
        assert db.path is not None
        db.path.parent.mkdir(parents=True, exist_ok=True)
    secrets = load_secrets(settings)
    vault = _build_vault(db, secrets.master_key)
    transcoder = ledger_transcoder()
    ledger = Ledger(
        env=event_store_env(db),
        pepper=secrets.nik_pepper,
        vault=vault,
        rules=load_rule_book(settings),
        mapper=PersonalDataMapper(transcoder, vault, decrypt=False),
        personal_mapper=PersonalDataMapper(transcoder, vault, decrypt=decrypt),
    )
    attach(ledger.recorder, vault)
    sweep_stranded_keys(ledger.recorder)
    return ledger


def _build_view_store(settings: Settings) -> ViewStore:
    """Where the read models live: `<db>-views.db` beside the SQLite store, or the
    ledger's PostgreSQL schema."""
    db = parse_database_url(settings.database_url)
    if db.kind == "sqlite":
        assert db.path is not None
        db.path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteViewStore(_views_path(db))
    return PostgresViewStore(db.conninfo, schema=db.schema)


def _views_path(db: Database) -> Path:
    assert db.path is not None
    return db.path.with_name(db.path.stem + "-views.db")


def _view_store_location(settings: Settings) -> str:
    """The `location` of the view store `_build_view_store(settings)` opens."""
    db = parse_database_url(settings.database_url)
    if db.kind == "sqlite":
        return f"sqlite:///{_views_path(db).resolve()}"
    return postgres_location(db.conninfo, db.schema)


def all_projections(rules: RuleBook | None = None) -> list[Projection]:
    """Every read model; `rules`: the ledger's rule book (lapses depend on the grace)."""
    return [
        ParticipantStatusProjection(),
        CoverageProjection(),
        CoverageFlowsProjection(rules),
        CoverageLogProjection(),
    ]


_KNOWN = tuple(type(p) for p in all_projections())  # what a worker can build again


def _build_runner(
    ledger: Ledger,
    store: ViewStore,
    projections: list[Projection] | None = None,
    page_size: int = 2000,
    *,
    settings: Settings | None = None,
    split_from: int = SPLIT_FROM,
    memory_mb: int = DEFAULT_MEMORY_MB,
    share_positions: int | None = None,
) -> ProjectionRunner:
    """A runner feeding the projections from the ledger's log. It decodes without
    decrypting: read models hold no personal data, so no key is ever looked up.

    Given the `settings` the ledger and store were built from, a rebuild of a log of at
    least `split_from` positions is split across `settings.workers()` processes. A bulk
    build folds within `memory_mb` (or `share_positions` at a time, if given)."""
    chosen = projections or all_projections(ledger.rules)
    # Workers rebuild what they can build again: these projections, into this very store.
    spawn = (
        RunnerSpawn(settings, tuple(p.name for p in chosen), page_size)
        if settings is not None
        and all(type(p) in _KNOWN for p in chosen)
        and store.location == _view_store_location(settings)
        else None
    )
    mapper = projection_mapper(ledger)
    return ProjectionRunner(
        ledger.recorder,
        mapper,
        store,
        chosen,
        page_size=page_size,
        spawn=spawn,
        workers=settings.workers() if settings is not None else 1,
        split_from=split_from,
        rows=log_rows(ledger.recorder, mapper),
        share_positions=share_positions or positions_per_share(memory_mb),
    )


@dataclass(frozen=True)
class RunnerSpawn:
    """Builds, in a worker process, the runner `_build_runner` built from these settings
    (its own connections to the same stores). It pickles: settings and names only."""

    settings: Settings
    projections: tuple[str, ...]
    page_size: int

    @contextmanager
    def __call__(self) -> Iterator[ProjectionRunner]:
        # Not `build_system`: a worker needs no committer, and its runner must never split.
        ledger = _build_ledger(self.settings, decrypt=False)
        try:
            store = _build_view_store(self.settings)
            try:
                yield _build_runner(
                    ledger,
                    store,
                    [p for p in all_projections(ledger.rules) if p.name in self.projections],
                    page_size=self.page_size,
                    # the workers share the budget
                    memory_mb=max(1, self.settings.rebuild_memory_mb // self.settings.workers()),
                )  # no settings: it never splits
            finally:
                store.close()
        finally:
            _close_ledger(ledger)


def projection_mapper(ledger: Ledger) -> PersonalDataMapper:
    return PersonalDataMapper(ledger_transcoder(), ledger.vault, decrypt=False)


def event_mapper() -> PersonalDataMapper:
    """Decodes stored events without decrypting and without a key vault: for consumers
    that receive the ledger's events elsewhere (Kafka) and hold no keys at all."""
    return PersonalDataMapper(ledger_transcoder(), None, decrypt=False)


def build_reporting_store(settings: Settings | None = None) -> ViewStore:
    """The reporting consumers' own store (`LEDGER_REPORTING_DATABASE_URL`, by default
    `var/reporting.db`): SQLite file or a PostgreSQL schema, the read models' tables."""
    settings = settings or Settings()
    db = parse_database_url(settings.reporting_url())
    if db.kind == "sqlite":
        assert db.path is not None
        db.path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteViewStore(db.path)
    return PostgresViewStore(db.conninfo, schema=db.schema)


def _close_ledger(ledger: Ledger) -> None:
    ledger.close()
    vault = ledger.vault
    if isinstance(vault, KeyVault):
        vault.close()


@dataclass
class System:
    """Everything a process needs, built once from settings, closed once.

    The ledger is built at once. The view store, the runner and the group committer are
    built on first use (a status query needs none of them, and the committer starts a
    writer thread), then kept; `close()` closes what was built, newest first. Use it as a
    context manager, or call `close()`.
    """

    settings: Settings
    ledger: Ledger
    _views: ViewStore | None = field(default=None, repr=False)
    _runner: ProjectionRunner | None = field(default=None, repr=False)
    _committer: GroupCommitter | None = field(default=None, repr=False)
    _reporting: ViewStore | None = field(default=None, repr=False)
    _audit: Audit | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def views(self) -> ViewStore:
        """The read models' store (opened on first use)."""
        with self._lock:
            self._check_open()
            if self._views is None:
                self._views = _build_view_store(self.settings)
            return self._views

    @property
    def runner(self) -> ProjectionRunner:
        """The runner feeding every projection into `views` (built on first use); a big
        rebuild is split as the settings say."""
        views = self.views
        with self._lock:
            if self._runner is None:
                self._runner = _build_runner(
                    self.ledger,
                    views,
                    settings=self.settings,
                    memory_mb=self.settings.rebuild_memory_mb,
                )
            return self._runner

    @property
    def committer(self) -> GroupCommitter:
        """The group committer single commands go through (its writer starts on first use)."""
        with self._lock:
            self._check_open()
            if self._committer is None:
                self._committer = GroupCommitter(self.ledger)
            return self._committer

    def new_runner(
        self,
        projections: list[Projection] | None = None,
        *,
        views: ViewStore | None = None,
        page_size: int = 2000,
        workers: int | None = None,
        split_from: int = SPLIT_FROM,
        share_positions: int | None = None,
    ) -> ProjectionRunner:
        """A runner of its own (not the kept `runner`) on this ledger, into `views` (the
        system's store unless given), for callers that need other projections, pages or
        stores (tests, the benchmark). It never splits a rebuild unless `workers` says
        across how many processes (for a log of at least `split_from` positions)."""
        settings = (
            None
            if workers is None
            else self.settings.model_copy(update={"rebuild_workers": workers})
        )
        return _build_runner(
            self.ledger,
            views if views is not None else self.views,
            projections,
            page_size,
            settings=settings,
            split_from=split_from,
            memory_mb=self.settings.rebuild_memory_mb,
            share_positions=share_positions,
        )

    @property
    def reporting(self) -> ViewStore:
        """The reporting consumers' own store (opened on first use; see
        `build_reporting_store`)."""
        with self._lock:
            self._check_open()
            if self._reporting is None:
                self._reporting = build_reporting_store(self.settings)
            return self._reporting

    @property
    def audit(self) -> Audit:
        """The audit log's signer, sealer and sealed tree over the ledger and `views`
        (built on first use, then kept: its tables are made and the checkpoints swept to
        their files once per process). Seal from one thread at a time."""
        views = self.views
        with self._lock:
            if self._audit is None:
                self._audit = build_audit(self.settings, self.ledger, views)
            return self._audit

    def head(self) -> int:
        """The log's last position (0 while it is empty)."""
        return self.ledger.recorder.max_notification_id() or 0

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the system is closed")

    def close(self) -> None:
        """Answer what the committer holds, then close the view store and the ledger."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            committer, views, reporting = self._committer, self._views, self._reporting
        try:
            if committer is not None:
                committer.close()
            if reporting is not None:
                reporting.close()
        finally:
            try:
                if views is not None:
                    views.close()
            finally:
                _close_ledger(self.ledger)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@contextmanager
def scratch_views() -> Iterator[ViewStore]:
    """An empty view store in a temporary folder, removed afterwards (for replays)."""
    with tempfile.TemporaryDirectory(prefix="ledger-replay-") as folder:
        scratch = SQLiteViewStore(Path(folder) / "views.db")
        try:
            yield scratch
        finally:
            scratch.close()


def replay_into(
    ledger: Ledger,
    scratch: ViewStore,
    *,
    until_position: int | None = None,
    as_of: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> int:
    """Every projection built into the empty `scratch` store from the log's start up to
    `until_position`, or from the events recorded by `as_of`, folding within `memory_mb`
    as a rebuild does; the position it reflects."""
    mapper = projection_mapper(ledger)
    return replay(
        ledger.recorder,
        mapper,
        scratch,
        all_projections(ledger.rules),
        until_position=until_position,
        as_of=as_of,
        progress=progress,
        rows=log_rows(ledger.recorder, mapper),
        share_positions=positions_per_share(memory_mb),
    )


def build_system(settings: Settings | None = None, *, decrypt: bool = True) -> System:
    """The system on the configured stores. With `decrypt=False` the ledger never
    decrypts personal data (a process that only projects or relays events)."""
    settings = settings or Settings()
    return System(settings=settings, ledger=_build_ledger(settings, decrypt=decrypt))


__all__ = ["System", "build_system", "event_store_env"]
