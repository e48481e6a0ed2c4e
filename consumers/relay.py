"""The relay: publishes the ledger's log to Kafka, at least once, in log order per participant.

It reads participant events after its last published position, sends each as a
CloudEvents message (`infra.envelope`) keyed by participant id, and records the new
position only once the broker has acknowledged every message up to it (`acks=all`,
idempotent producer). A relay killed at any moment re-sends, on restart, what it had
sent but not yet recorded: consumers drop those duplicates by participant and version.

It also publishes the audit log's signed checkpoints (`audit_checkpoints`, signed by the
sealer) to a topic of their own, `<topic>.checkpoints`, oldest first, each once the events
it covers are acknowledged on the events topic, and records the last tree size published
the same way (at least once: a checkpoint may be sent again, never skipped).

The position lives in the ledger's view store (`relay_positions`, one row per topic). On
PostgreSQL the relay follows the log with the library's LISTEN/NOTIFY subscription; on
SQLite, which has none, it polls. Payloads are the stored bytes: nothing is decrypted,
nothing re-encoded.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Notification

from domain.ledger import Ledger
from infra import envelope, kafka_client
from infra.audit.tiles import create_tables as create_audit_tables
from infra.settings import Settings
from projections.store import ViewStore

log = logging.getLogger(__name__)

_DDL = (
    "CREATE TABLE IF NOT EXISTS relay_positions (topic TEXT NOT NULL PRIMARY KEY,"
    " position BIGINT NOT NULL, published BIGINT NOT NULL, updated_at TEXT NOT NULL)"
)


# Pages sent but not yet wholly acknowledged before the relay waits for them.
_MAX_PENDING_PAGES = 8
# While following by subscription, how often to look for newly signed checkpoints.
_CHECKPOINT_LOOK_SECONDS = 1.0


class RelayError(RuntimeError):
    """The broker refused or did not acknowledge a message; nothing was recorded for it."""


@dataclass(frozen=True)
class RelayStatus:
    topic: str
    position: int  # last log position published and acknowledged
    head: int  # the log's head now
    published: int  # messages acknowledged in total (re-sent duplicates included)
    checkpoint_size: int = 0  # tree size of the last checkpoint published and acknowledged

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class Relay:
    """Publishes one ledger's participant events to one topic."""

    def __init__(
        self,
        ledger: Ledger,
        store: ViewStore,
        settings: Settings,
        *,
        page_size: int = 5000,
        producer_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.topic = settings.kafka_topic
        self.checkpoint_topic = settings.checkpoint_topic()
        self._audit_tables = False
        self.page_size = page_size
        self._source = settings.kafka_source.encode()
        self._new_producer = producer_factory or (lambda: kafka_client.producer(settings))
        self._producer: Any = None
        with store.transaction() as tx:
            tx.execute(_DDL)

    # --- position ----------------------------------------------------------------------

    def position(self, topic: str | None = None) -> int:
        """The last position acknowledged on `topic` (default: the events' topic; on the
        checkpoints' topic, a tree size)."""
        rows = self.store.query(
            "SELECT position FROM relay_positions WHERE topic = ?", (topic or self.topic,)
        )
        return int(rows[0][0]) if rows else 0

    def status(self) -> RelayStatus:
        rows = self.store.query(
            "SELECT position, published FROM relay_positions WHERE topic = ?", (self.topic,)
        )
        position, published = (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)
        return RelayStatus(
            self.topic,
            position,
            self.ledger.recorder.max_notification_id() or 0,
            published,
            self.position(self.checkpoint_topic),
        )

    def _record(self, position: int, published: int, topic: str | None = None) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO relay_positions (topic, position, published, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (topic) DO UPDATE SET "
                "position = excluded.position, updated_at = excluded.updated_at, "
                "published = relay_positions.published + excluded.published",
                (topic or self.topic, position, published, now),
            )

    # --- publishing --------------------------------------------------------------------

    def connect(self) -> None:
        """Open the producer now rather than at the first page."""
        if self._producer is None:
            self._producer = self._new_producer()

    def _send(self, notifications: Sequence[Notification]) -> list[Any]:
        """Hand the participant events among `notifications` to the producer, in log order;
        their futures."""
        self.connect()
        send, topic, source, encode = self._producer.send, self.topic, self._source, envelope.encode
        published = envelope.TYPE_OF_TOPIC
        futures = []
        for n in notifications:
            if n.topic not in published:
                continue  # another aggregate's event (an index): passed over, not published
            key, headers = encode(
                n.id, n.originator_id, n.originator_version, n.topic, n.state, source
            )
            futures.append(send(topic, key=key, value=n.state, headers=headers))
        return futures

    def _settle(
        self, pending: deque[tuple[int, list[Any]]], *, wait: bool, topic: str | None = None
    ) -> None:
        """Record the position of each leading page whose every message the broker has
        acknowledged (all of them, flushing first, with `wait`). Raises `RelayError` at the
        first page with a failed message: nothing from there on is recorded."""
        if wait:
            self._producer.flush(timeout=150)
        while pending:
            position, futures = pending[0]
            if not wait and not all(f.is_done for f in futures):
                return
            failed = [f for f in futures if not f.succeeded()]
            if failed:
                raise RelayError(
                    f"{len(failed)} of {len(futures)} messages not acknowledged: "
                    f"{failed[0].exception!r}"
                )
            self._record(position, len(futures), topic)
            pending.popleft()

    def publish(self, notifications: Sequence[Notification], *, until: int | None = None) -> int:
        """Send the participant events among `notifications` (in log order), wait for the
        broker's acknowledgement of every one, then record the position (`until`, or the
        last notification's). Raises `RelayError`, having recorded nothing, if any was not
        acknowledged."""
        futures = self._send(notifications)
        last = until if until is not None else notifications[-1].id if notifications else None
        pending: deque[tuple[int, list[Any]]] = deque()
        if last is not None:
            pending.append((last, futures))
        self._settle(pending, wait=True)
        return len(futures)

    def catch_up(self, until: int | None = None) -> int:
        """Publish everything after the recorded position up to the head (or `until`).

        Pages are sent back to back without waiting (a wait per page would drain the
        producer's pipeline); each page's position is recorded once all its messages and
        all earlier ones are acknowledged, and at the end everything is. Returns the number
        of messages sent."""
        recorder = self.ledger.recorder
        head = (recorder.max_notification_id() or 0) if until is None else until
        position, sent = self.position(), 0
        pending: deque[tuple[int, list[Any]]] = deque()
        while position < head:
            stop = min(position + self.page_size, head)
            page = recorder.select_notifications(
                start=position + 1, limit=self.page_size, stop=stop, topics=envelope.EVENT_TOPICS
            )
            # The page covers positions up to `stop` (other aggregates' events are not
            # published), so the recorded position is `stop` even if nothing was sent.
            futures = self._send(page)
            sent += len(futures)
            pending.append((stop, futures))
            self._settle(pending, wait=len(pending) > _MAX_PENDING_PAGES)
            position = stop
        if pending:
            self._settle(pending, wait=True)
        self.publish_checkpoints()
        return sent

    def publish_checkpoints(self) -> int:
        """Send every signed checkpoint not published yet whose events are all acknowledged
        (its last position at or below the relay's), oldest first, to the checkpoints'
        topic; record the last tree size once the broker acknowledged them all. Raises
        `RelayError`, recording nothing, if one was not acknowledged. Returns how many."""
        if not self._audit_tables:  # a relay may run before any sealer made them
            create_audit_tables(self.store)
            self._audit_tables = True
        rows = self.store.query(
            "SELECT tree_size, position, note, signed_at FROM audit_checkpoints "
            "WHERE tree_size > ? AND position <= ? ORDER BY tree_size",
            (self.position(self.checkpoint_topic), self.position()),
        )
        if not rows:
            return 0
        self.connect()
        futures = []
        for size, position, note, signed_at in rows:
            key, headers = envelope.encode_checkpoint(
                int(size), int(position), str(signed_at), self._source
            )
            futures.append(
                self._producer.send(
                    self.checkpoint_topic, key=key, value=str(note).encode(), headers=headers
                )
            )
        self._settle(deque([(int(rows[-1][0]), futures)]), wait=True, topic=self.checkpoint_topic)
        return len(futures)

    def run(
        self,
        *,
        once: bool = False,
        stop: Callable[[], bool] = lambda: False,
        poll_seconds: float = 0.2,
        retry_seconds: float = 1.0,
        max_failures: int = 30,
    ) -> int:
        """Publish until `stop()` (or, with `once`, until the head). A failed send closes
        the producer and starts again from the recorded position (with `once`, at most
        `max_failures` times). Returns messages sent."""
        sent = failures = 0
        while True:
            try:
                if once:
                    return sent + self.catch_up()
                if self._follows_by_subscription():
                    sent += self._follow_subscription(stop)
                else:
                    sent += self._follow_polling(stop, poll_seconds)
                return sent
            except Exception as error:
                failures += 1
                if stop() or (once and failures > max_failures):
                    raise
                log.warning("relay: %s; resuming from position %d", error, self.position())
                self._reset_producer()
                time.sleep(retry_seconds)

    def _follows_by_subscription(self) -> bool:
        return type(self.ledger.recorder).__module__.startswith("eventsourcing.postgres")

    def _follow_polling(self, stop: Callable[[], bool], poll_seconds: float) -> int:
        sent = 0
        while not stop():
            done = self.catch_up()
            sent += done
            if done == 0:
                time.sleep(poll_seconds)
        return sent

    def _follow_subscription(self, stop: Callable[[], bool]) -> int:
        """Follow the log through the recorder's subscription (PostgreSQL: LISTEN/NOTIFY),
        sending what has arrived whenever the subscription has nothing more at hand."""
        arrived: queue.Queue[Notification | BaseException] = queue.Queue(maxsize=4 * self.page_size)
        # Every event, not only participants': the position then passes over the others,
        # so a relay at the head says so (lag 0) and restarts from there.
        subscription = self.ledger.recorder.subscribe(gt=self.position())
        reader = threading.Thread(target=_drain, args=(subscription, arrived), daemon=True)
        reader.start()
        sent = 0
        looked = 0.0
        try:
            while not stop():
                if time.monotonic() - looked > _CHECKPOINT_LOOK_SECONDS:
                    self.publish_checkpoints()
                    looked = time.monotonic()
                try:
                    first = arrived.get(timeout=0.2)
                except queue.Empty:
                    continue
                page = [first]
                while len(page) < self.page_size:
                    try:
                        page.append(arrived.get_nowait())
                    except queue.Empty:
                        break
                failure = next((item for item in page if isinstance(item, BaseException)), None)
                ready = [n for n in page if isinstance(n, Notification)]
                if ready:
                    sent += self.publish(ready)
                if failure is not None:
                    raise failure
        finally:
            subscription.stop()
            reader.join(timeout=10)
        return sent

    def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=5)
            except Exception:
                log.debug("relay: closing the old producer failed", exc_info=True)

    def close(self) -> None:
        self._reset_producer()


def _drain(subscription: Any, into: queue.Queue[Notification | BaseException]) -> None:
    try:
        for notification in subscription:
            into.put(notification)
    except BaseException as error:  # noqa: BLE001 - handed to the publishing thread
        into.put(error)
