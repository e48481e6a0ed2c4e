"""The reporting consumer group: participant status and coverage, built from the topic.

Each member of the group owns some partitions and feeds what it reads to the very
projections the ledger runs (`projections.participant_status`, `projections.coverage`),
through the ledger's own non-decrypting mapper: no second rulebook. That works across
members because the projections keep per-participant rows (a participant's events all
sit in one partition) and otherwise only sums, which members add into side by side.

Exactly once into the read models, whatever Kafka redelivers:
- the next offset of each partition is written in the same transaction as the rows the
  batch changed (`consumer_offsets`), and on assignment the member seeks to it; offsets
  committed to Kafka are only a hint for tools;
- records below the stored offset (a batch read before a rebalance) are skipped;
- each participant's last applied version is kept (`consumer_versions`), so an event the
  relay published twice, or a replay of the topic, changes nothing.

A message that is not a ledger event (undecodable, unknown type, out of order, or refused
by a projection) goes to the dead-letter topic with the reason in its headers, and the
group carries on past it.

This module is a member's loop: polling, decoding, applying a batch through the
projections, dead letters. The offsets and versions it stores with each batch (and the
tables that hold them) are `consumers.reporting_progress`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Mapper

from consumers.reporting_progress import GroupProgress
from infra import envelope, kafka_client
from infra.settings import Settings
from projections.runner import Projection, live_tables
from projections.store import Tx, ViewStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    """A record the group could not apply, and why."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    reason: str
    error: str


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    next_offset: int  # stored with the read models
    end_offset: int  # the partition's end on the broker

    @property
    def lag(self) -> int:
        return max(self.end_offset - self.next_offset, 0)


class ReportingConsumer:
    """One member of the reporting group, writing into `store`."""

    def __init__(
        self,
        settings: Settings,
        store: ViewStore,
        mapper: Mapper[Any],
        projections: Sequence[Projection],
        *,
        group: str | None = None,
        consumer_factory: Callable[[], Any] | None = None,
        producer_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.mapper = mapper
        self.projections = list(projections)
        self.group = group or settings.kafka_group
        self.topic = settings.kafka_topic
        self.dead_letter_topic = settings.dead_letter_topic()
        self._new_consumer = consumer_factory or (
            lambda: kafka_client.consumer(settings, self.group)
        )
        self._new_producer = producer_factory or (
            lambda: kafka_client.producer(settings, linger_ms=0)
        )
        self._consumer: Any = None
        self._producer: Any = None
        self._assigned_at: float | None = None  # when the group last gave this member partitions
        self.applied = 0  # events applied by this member
        self.dead = 0  # records sent to the dead-letter topic by this member
        self.progress = GroupProgress(store, self.group, self.topic)
        self.progress.set_up(self.projections)

    # --- offsets -----------------------------------------------------------------------

    def stored_offsets(self, tx: Tx | None = None) -> dict[int, int]:
        """Each partition's next offset, as stored with the read models."""
        return self.progress.stored_offsets(tx)

    def lag(self) -> list[PartitionLag]:
        """Per partition: the stored offset against the broker's end offset."""
        from kafka import TopicPartition

        probe = kafka_client.consumer(self.settings, None)
        try:
            parts = sorted(probe.partitions_for_topic(self.topic) or ())
            ends = probe.end_offsets([TopicPartition(self.topic, p) for p in parts])
        finally:
            probe.close()
        stored = self.stored_offsets()
        return [
            PartitionLag(p, stored.get(p, 0), int(ends[TopicPartition(self.topic, p)]))
            for p in parts
        ]

    # --- running -----------------------------------------------------------------------

    def run(
        self, *, stop: Callable[[], bool] = lambda: False, exit_when_idle: float | None = None
    ) -> int:
        """Consume until `stop()`, or (with `exit_when_idle`) until that many seconds pass
        with nothing to read. Returns the number of events applied."""
        from kafka import ConsumerRebalanceListener
        from kafka.errors import KafkaError

        member = self

        class SeekToStored(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                return None  # every applied offset is already stored with its rows

            def on_partitions_assigned(self, assigned: Any) -> None:
                member._seek(assigned)

        while self._consumer is None:
            try:
                self._consumer = self._new_consumer()
            except KafkaError as error:  # no broker yet (or restarting): wait for one
                if stop():
                    return self.applied
                log.warning("reporting: %s; connecting again", error)
                time.sleep(1)
        self._consumer.subscribe([self.topic], listener=SeekToStored())
        idle_since = time.monotonic()
        try:
            while not stop():
                try:
                    batch = self._consumer.poll(timeout_ms=300)
                except KafkaError as error:  # the broker away: the client reconnects by itself
                    log.warning("reporting: %s; polling again", error)
                    time.sleep(1)
                    continue
                if batch:
                    self.apply(batch)
                    idle_since = time.monotonic()
                elif exit_when_idle is not None and self._idle(idle_since, exit_when_idle):
                    break
        finally:
            self.close()
        return self.applied

    def _idle(self, since: float, seconds: float) -> bool:
        """Idle time counts from the group's assignment (joining is not idling); a member
        given no partition at all stops after ten times as long (at least a minute)."""
        now = time.monotonic()
        if self._assigned_at is None:
            return now - since > max(60.0, 10 * seconds)
        return now - max(since, self._assigned_at) > seconds

    def _seek(self, assigned: Any) -> None:
        self._assigned_at = time.monotonic()
        stored = self.stored_offsets()
        for tp in assigned:
            if tp.partition in stored:
                self._consumer.seek(tp, stored[tp.partition])
            else:
                self._consumer.seek_to_beginning(tp)

    def apply(self, batch: dict[Any, list[Any]]) -> None:
        """Apply one poll's records, with their offsets, in one transaction; records that
        cannot be applied go to the dead-letter topic first."""
        try:
            dead = self._apply(batch, isolate=False)
        except _Refused:
            # A projection refused something in the batch: apply record by record, so the
            # refused ones are told apart and only they go to the dead letters.
            dead = []
            for tp, records in batch.items():
                for record in records:
                    dead += self._apply({tp: [record]}, isolate=True)
        self.dead += len(dead)
        if self._consumer is not None:
            from kafka import OffsetAndMetadata

            hint = {
                tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)
                for tp, records in batch.items()
                if records
            }
            try:
                self._consumer.commit_async(hint)  # a hint for tools; the truth is stored
            except Exception:
                log.debug("reporting: offset hint not committed", exc_info=True)

    def _apply(self, batch: dict[Any, list[Any]], *, isolate: bool) -> list[DeadLetter]:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.store.transaction() as tx:
            self.progress.lock_partitions(tx, sorted(tp.partition for tp in batch), now)
            stored = self.stored_offsets(tx)
            events, dead, ends = [], [], {}
            position_of: dict[int, int] = {}  # id(event): its log position (alive till the end)
            for tp, records in batch.items():
                fresh = [r for r in records if r.offset >= stored.get(tp.partition, 0)]
                if not fresh:
                    continue
                ends[tp.partition] = fresh[-1].offset + 1
                for record in fresh:
                    event, position, letter = self._decode(record)
                    if letter is not None:
                        dead.append(letter)
                    else:
                        events.append((record, event))
                        position_of[id(event)] = position
            events, out_of_order = self.progress.new_only(tx, events)
            dead += [_letter(record, "out_of_order", why) for record, why in out_of_order]
            if events:
                decoded = [event for _, event in events]
                if isolate:
                    tx.execute("SAVEPOINT record")
                try:
                    for projection in self.projections:
                        page = [e for e in decoded if isinstance(e, projection.handles)]
                        if page:  # coverage_log stamps rows with the log positions
                            projection.process_at(
                                tx,
                                live_tables(tx, projection)[0],
                                page,
                                [position_of[id(e)] for e in page],
                            )
                except Exception as error:
                    if not isolate:
                        raise _Refused from error
                    record = events[0][0]
                    dead.append(_letter(record, "refused", f"{type(error).__name__}: {error}"))
                    events = []
                    _rollback_to_offsets_only(tx)
            if events:
                self.progress.save_versions(tx, events)
            if dead:
                self._send_dead_letters(dead)  # before the commit: a crash re-sends, loses none
            self.progress.save_offsets(tx, ends, now)
        self.applied += len(events)
        return dead

    def _decode(self, record: Any) -> tuple[Any, int, DeadLetter | None]:
        """The record's event and log position, or its dead letter."""
        try:
            received = envelope.decode(record.key, record.value, record.headers)
        except envelope.EnvelopeError as error:
            return None, 0, _letter(record, error.reason, str(error))
        try:
            return self.mapper.to_domain_event(received.stored), received.position, None
        except Exception as error:  # noqa: BLE001 - any decoding failure is a dead letter
            return None, 0, _letter(record, "undecodable", f"{type(error).__name__}: {error}")

    def _send_dead_letters(self, dead: list[DeadLetter]) -> None:
        if self._producer is None:
            self._producer = self._new_producer()
        futures = [
            self._producer.send(
                self.dead_letter_topic,
                key=d.key,
                value=d.value,
                headers=[
                    *d.headers,
                    ("dlq_reason", d.reason.encode()),
                    ("dlq_error", d.error.encode()[:1000]),
                    ("dlq_topic", self.topic.encode()),
                    ("dlq_partition", str(d.partition).encode()),
                    ("dlq_offset", str(d.offset).encode()),
                    ("dlq_group", self.group.encode()),
                ],
            )
            for d in dead
        ]
        self._producer.flush(timeout=60)
        for future in futures:
            future.get(timeout=0)  # raises if the broker did not take it: nothing committed

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.close(autocommit=False)
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=5)


class _Refused(Exception):
    """A projection raised on a batch: it is retried record by record."""


def _letter(record: Any, reason: str, error: str) -> DeadLetter:
    headers = [(name, value) for name, value in record.headers or ()]
    return DeadLetter(
        record.partition, record.offset, record.key, record.value, headers, reason, error
    )


def _rollback_to_offsets_only(tx: Tx) -> None:
    """A single refused record: undo what the projection wrote for it, keep the
    transaction for the offsets (SQLite and PostgreSQL both have savepoints)."""
    tx.execute("ROLLBACK TO SAVEPOINT record")
