"""kafka-python clients built from settings, and the ledger's topics.

Only the relay and the reporting consumers import this; without `LEDGER_KAFKA_BOOTSTRAP`
nothing calls it and no broker is needed.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from infra.settings import ConfigurationError, Settings

# Delivery settings of the relay's producer: idempotent (the default, kept on by leaving
# acks/retries compatible), every in-sync replica acknowledges, batches of up to 256 KB
# collected for at most 5 ms (measured: the Python client, not the broker, is the limit).
PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "batch_size": 256 * 1024,
    "max_in_flight_requests_per_connection": 5,
    "delivery_timeout_ms": 120_000,
    "request_timeout_ms": 30_000,
    "retry_backoff_ms": 200,
    "reconnect_backoff_max_ms": 2_000,
}


def bootstrap(settings: Settings) -> str:
    """The configured bootstrap servers, or a clear error when Kafka is not configured."""
    if not settings.kafka_bootstrap:
        raise ConfigurationError(
            "LEDGER_KAFKA_BOOTSTRAP is not set: Kafka is not configured "
            "(start a broker with `ledger services start kafka`)"
        )
    return settings.kafka_bootstrap


def producer(settings: Settings, **overrides: Any) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap(settings),
        client_id="ledger-relay",
        **{**PRODUCER_CONFIG, **overrides},
    )


def consumer(settings: Settings, group: str | None, **overrides: Any) -> Any:
    """A consumer that commits nothing by itself: offsets live with the read models."""
    from kafka import KafkaConsumer

    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap(settings),
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 2000,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
        "reconnect_backoff_max_ms": 2_000,
        "client_id": "ledger-reporting",
    }
    config.update(overrides)
    return KafkaConsumer(**config)


def admin(settings: Settings) -> Any:
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bootstrap(settings), client_id="ledger-admin")


def ensure_topics(settings: Settings, timeout: float = 180) -> dict[str, int]:
    """Create the events topic, its dead-letter topic and the checkpoints' topic if
    missing; returns each one's partition count. An existing topic is left as it is
    (partitions are never changed behind the consumers' backs: that would move keys). A
    broker that is not up yet (or restarting) is waited for, up to `timeout` seconds.

    The checkpoints' topic has one partition (checkpoints in signing order) and keeps its
    messages for ever: a third party must be able to read every checkpoint ever signed."""
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    wanted = {
        settings.kafka_topic: settings.kafka_partitions,
        settings.dead_letter_topic(): min(settings.kafka_partitions, 3),
        settings.checkpoint_topic(): 1,
    }
    configs = {settings.checkpoint_topic(): {"retention.ms": "-1", "retention.bytes": "-1"}}
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = admin(settings)
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
            continue
        try:
            existing = set(client.list_topics())
            missing = [
                NewTopic(
                    name,
                    num_partitions=count,
                    replication_factor=1,
                    topic_configs=configs.get(name, {}),
                )
                for name, count in wanted.items()
                if name not in existing
            ]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):  # made meanwhile elsewhere
                    client.create_topics(missing, timeout_ms=30_000)
            return partition_counts(client, list(wanted))
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
        finally:
            client.close()


def partition_counts(client: Any, topics: list[str]) -> dict[str, int]:
    described = client.describe_topics(topics)
    return {t["name"]: len(t["partitions"]) for t in described}


class LagProbe:
    """Reads a consumer group's committed offsets and a topic's end offsets from the broker
    over one kept admin connection, every call bounded by `timeout` seconds (a scrape of
    /metrics must not hang on a broker that is away). On any error the connection is
    dropped and the error raised; the next call connects again."""

    def __init__(self, settings: Settings, timeout: float = 1.5) -> None:
        self.settings = settings
        self.timeout_ms = int(timeout * 1000)
        self._client: Any = None

    def _admin(self) -> Any:
        if self._client is None:
            from kafka import KafkaAdminClient

            self._client = KafkaAdminClient(
                bootstrap_servers=bootstrap(self.settings),
                client_id="ledger-metrics",
                bootstrap_timeout_ms=self.timeout_ms,
                request_timeout_ms=self.timeout_ms,
                reconnect_backoff_max_ms=self.timeout_ms,
            )
        return self._client

    def offsets(self, group: str, topic: str) -> list[tuple[int, int | None, int]]:
        """(partition, committed offset or None, end offset) for each partition of `topic`."""
        from kafka import TopicPartition
        from kafka.admin import OffsetSpec

        try:
            client = self._admin()
            described = client.describe_topics([topic])
            parts = sorted(p["partition_index"] for t in described for p in t["partitions"])
            tps = [TopicPartition(topic, p) for p in parts]
            ends = client.list_partition_offsets(
                dict.fromkeys(tps, OffsetSpec.LATEST), timeout_ms=self.timeout_ms
            )
            committed = self._committed(client, group, tps)
        except Exception:
            self.close()
            raise
        rows = []
        for tp in tps:
            mark = committed.get(tp)
            at = mark.offset if mark is not None and mark.offset >= 0 else None
            rows.append((tp.partition, at, int(ends[tp].offset)))
        return rows

    def _committed(self, client: Any, group: str, tps: list[Any]) -> dict[Any, Any]:
        """The group's committed offsets; a retriable refusal (a fresh broker has no group
        coordinator until its offsets topic exists) is asked again within the timeout."""
        from kafka.errors import KafkaError

        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            try:
                found: dict[Any, Any] = client.list_group_offsets({group: tps}).get(group, {})
                return found
            except KafkaError as error:
                if not error.retriable or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
