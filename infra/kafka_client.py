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
    """Create the events topic and its dead-letter topic if missing; returns each one's
    partition count. An existing topic is left as it is (partitions are never changed
    behind the consumers' backs: that would move keys). A broker that is not up yet (or
    restarting) is waited for, up to `timeout` seconds."""
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    wanted = {
        settings.kafka_topic: settings.kafka_partitions,
        settings.dead_letter_topic(): min(settings.kafka_partitions, 3),
    }
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
                NewTopic(name, num_partitions=count, replication_factor=1)
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
