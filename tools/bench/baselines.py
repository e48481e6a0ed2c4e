"""The baselines our figures are measured against, on the same data in the same run:
the library used as its tutorial does (`NaiveLedger`), and our own stored rows written
by a bare insert (`raw_sqlite`, `raw_copy`)."""

from __future__ import annotations

import math
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder

from infra.transcoder import DateAsISO
from tools.bench.stores import BenchStore

# The raw ingest baseline copies the whole log up to this many rows (100,000 participants
# x 24 months: 2.5 million), and above it a sample of about RAW_SAMPLE_ROWS, every k-th.
RAW_ALL_UP_TO = 3_000_000
RAW_SAMPLE_ROWS = 2_000_000


class NaiveParticipant(Aggregate):
    """The same facts as `Participant.Enrolled`/`ContributionPaid`, plain, no rules."""

    @event("Enrolled")
    def __init__(
        self,
        personal: dict[str, Any],
        enrolled_on: date,
        village: str,
        sex: str,
        occupation: str,
        segment: str,
        programmes: list[str],
        declared_income: int,
        channel: str,
        agent_id: str | None,
    ) -> None:
        self.village = village
        self.programmes = programmes
        self.paid = 0

    @event("ContributionPaid")
    def pay(
        self,
        payment_ref: str,
        paid_on: date,
        amount: int,
        first_month: str,
        months: int,
        by_programme: dict[str, int],
        channel: str,
        agent_id: str | None,
    ) -> None:
        self.paid += amount


class NaiveNikIndex(Aggregate):
    @event("Registered")
    def __init__(self, nik_hash: str, pointer: dict[str, str]) -> None:
        self.pointer = pointer

    @staticmethod
    def create_id(nik_hash: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_OID, nik_hash)


class NaivePaymentReference(Aggregate):
    @event("Used")
    def __init__(
        self,
        payment_ref: str,
        participant_id: str,
        amount: int,
        paid_on: date,
        channel: str,
        first_month: str,
        months: int,
    ) -> None:
        self.amount = amount

    @staticmethod
    def create_id(payment_ref: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, payment_ref)


class NaiveLedger(Application[uuid.UUID]):
    """The library as its tutorial uses it: default JSONTranscoder, one save per command."""

    name = "NaiveLedger"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())  # the library has no date transcoding

    def enroll(self, row: dict[str, Any]) -> uuid.UUID:
        participant = NaiveParticipant(
            personal={k: row[k] for k in ("nik", "name", "birth_date", "phone", "address")},
            enrolled_on=date.fromisoformat(row["enrolled_on"]),
            village=row["village_code"],
            sex=row["sex"],
            occupation=row["occupation"],
            segment="BPU",
            programmes=row["programmes"].split("+"),
            declared_income=int(row["declared_income"]),
            channel=row["channel"],
            agent_id=row["agent_id"],
        )
        index = NaiveNikIndex(nik_hash=row["nik"], pointer={"participant_id": str(participant.id)})
        self.save(participant, index)
        return participant.id

    def pay(self, participant_id: uuid.UUID, row: dict[str, Any]) -> None:
        participant: NaiveParticipant = self.repository.get(participant_id)
        share = row["amount"] // max(len(participant.programmes), 1)
        participant.pay(
            payment_ref=row["payment_ref"],
            paid_on=row["paid_on"],
            amount=row["amount"],
            first_month=row["first_month"],
            months=row["months"],
            by_programme=dict.fromkeys(participant.programmes, share),
            channel=row["channel"],
            agent_id=row["agent_id"],
        )
        reference = NaivePaymentReference(
            payment_ref=row["payment_ref"],
            participant_id=str(participant_id),
            amount=row["amount"],
            paid_on=row["paid_on"],
            channel=row["channel"],
            first_month=row["first_month"],
            months=row["months"],
        )
        self.save(participant, reference)


def sample_step(rows: int) -> int:
    """Every how many stored rows the raw baseline inserts one: 1 (all of them) up to
    `RAW_ALL_UP_TO` rows, else the step that leaves about `RAW_SAMPLE_ROWS`. Copying a
    whole log of 25 million rows again costs as much disk and time as the log itself,
    and a rate per row is measured as well on two million of them."""
    return 1 if rows <= RAW_ALL_UP_TO else math.ceil(rows / RAW_SAMPLE_ROWS)


def _chunks_sqlite(
    path: Path, every: int = 1, size: int = 100_000
) -> Iterator[list[tuple[Any, ...]]]:
    conn = sqlite3.connect(str(path))
    try:
        cursor = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            + ("" if every == 1 else "WHERE rowid % ? = 0 ")
            + "ORDER BY rowid",
            () if every == 1 else (every,),
        )
        while True:
            rows = cursor.fetchmany(size)
            if not rows:
                return
            yield rows
    finally:
        conn.close()


def raw_sqlite(store: BenchStore, workdir: Path, every: int = 1) -> tuple[int, float, int]:
    """executemany of our stored rows (every `every`-th) into a fresh file, one
    transaction; only the inserts and the commit are timed (rows are read from our store
    in chunks in between). Returns (rows, seconds, bytes of the file)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-raw-", dir=workdir))
    path = folder / "raw.db"
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")  # as the library's SQLite datastore
        conn.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        insert = "INSERT INTO stored_events VALUES (?, ?, ?, ?)"
        timed = 0.0
        count = 0
        conn.execute("BEGIN")
        for rows in _chunks_sqlite(store.sqlite_path, every):
            started = time.perf_counter()
            conn.executemany(insert, rows)
            timed += time.perf_counter() - started
            count += len(rows)
        started = time.perf_counter()
        conn.execute("COMMIT")
        timed += time.perf_counter() - started
        conn.close()
        size = sum(p.stat().st_size for p in folder.iterdir())
        return count, timed, size
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def raw_copy(store: BenchStore, every: int = 1) -> tuple[int, float, int]:
    """COPY of our stored rows (every `every`-th position) into a fresh stored-events-shaped
    table, one transaction. Returns (rows, seconds, bytes of the table)."""
    import psycopg

    assert store.schema and store.base_url
    table = f"raw_{uuid.uuid4().hex[:8]}"
    source_table = f'"{store.schema}"."ledger_events"'
    with psycopg.connect(store.base_url) as reader, psycopg.connect(store.base_url) as writer:
        writer.execute(
            f'CREATE TABLE "{store.schema}"."{table}" (originator_id uuid NOT NULL, '
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        writer.execute(f'CREATE UNIQUE INDEX ON "{store.schema}"."{table}" (notification_id)')
        writer.commit()
        timed = 0.0
        count = 0
        with reader.cursor(name="bench_source") as source, writer.cursor() as cursor:
            source.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {source_table} "
                + ("" if every == 1 else "WHERE notification_id %% %s = 0 ")
                + "ORDER BY notification_id",
                () if every == 1 else (every,),
            )
            with cursor.copy(
                f'COPY "{store.schema}"."{table}" (originator_id, originator_version, '
                "topic, state) FROM STDIN"
            ) as copy:
                while True:
                    rows = source.fetchmany(50_000)
                    if not rows:
                        break
                    started = time.perf_counter()
                    for row in rows:
                        copy.write_row(row)
                    timed += time.perf_counter() - started
                    count += len(rows)
                started = time.perf_counter()
            timed += time.perf_counter() - started  # the COPY's end
        started = time.perf_counter()
        writer.commit()
        timed += time.perf_counter() - started
        size = (
            writer.execute(
                "SELECT pg_total_relation_size(%s)", (f'"{store.schema}"."{table}"',)
            ).fetchone()
            or (0,)
        )[0]
        writer.execute(f'DROP TABLE "{store.schema}"."{table}"')
        writer.commit()
    return count, timed, int(size)
