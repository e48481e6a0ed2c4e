"""Kafka use cases: relay the log, run a reporting group member, report their lag.

Each takes a built `System` (`infra.bootstrap.build_system`, usually with `decrypt=False`:
neither the relay nor the consumers read personal data) and returns a typed answer.
Without `LEDGER_KAFKA_BOOTSTRAP` each refuses with a configuration error before opening
anything, so the embedded set-up never needs a broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from consumers.relay import Relay
from consumers.reporting import ReportingConsumer
from infra import kafka_client
from infra.bootstrap import System, all_projections, event_mapper


@dataclass(frozen=True)
class RelayAnswer:
    """Where the relay stands: its acknowledged position against the log's head."""

    topic: str
    position: int
    head: int
    lag: int
    published: int  # messages acknowledged in total (re-sent ones included)
    sent_now: int = 0  # messages this run sent
    checkpoint_size: int = 0  # tree size of the last signed checkpoint published

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PartitionAnswer:
    partition: int
    offset: int
    end: int
    lag: int


@dataclass(frozen=True)
class GroupAnswer:
    """A reporting group's stored offsets against the topic's end offsets."""

    group: str
    topic: str
    lag: int
    partitions: list[PartitionAnswer]
    applied_now: int = 0
    dead_letters_now: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def relay(
    system: System,
    *,
    once: bool = False,
    page_size: int = 5000,
    stop: Callable[[], bool] = lambda: False,
) -> RelayAnswer:
    """Publish the log from the last acknowledged position: to the head (`once`), or
    following it until `stop()`."""
    kafka_client.bootstrap(system.settings)
    kafka_client.ensure_topics(system.settings)
    worker = Relay(system.ledger, system.views, system.settings, page_size=page_size)
    try:
        sent = worker.run(once=once, stop=stop)
    finally:
        worker.close()
    return _relay_answer(worker, sent)


def relay_status(system: System) -> RelayAnswer:
    kafka_client.bootstrap(system.settings)
    return _relay_answer(Relay(system.ledger, system.views, system.settings), 0)


def _relay_answer(worker: Relay, sent: int) -> RelayAnswer:
    state = worker.status()
    return RelayAnswer(
        state.topic,
        state.position,
        state.head,
        state.lag,
        state.published,
        sent,
        state.checkpoint_size,
    )


def member(system: System, group: str | None = None) -> ReportingConsumer:
    """A reporting group member writing into the system's reporting store."""
    return ReportingConsumer(
        system.settings, system.reporting, event_mapper(), all_projections(), group=group
    )


def consume(
    system: System,
    *,
    group: str | None = None,
    stop: Callable[[], bool] = lambda: False,
    exit_when_idle: float | None = None,
) -> GroupAnswer:
    """Run one member of the reporting group until `stop()` (or idle that long)."""
    kafka_client.bootstrap(system.settings)
    kafka_client.ensure_topics(system.settings)
    worker = member(system, group)
    worker.run(stop=stop, exit_when_idle=exit_when_idle)
    answer = group_status(system, group)
    return GroupAnswer(
        answer.group, answer.topic, answer.lag, answer.partitions, worker.applied, worker.dead
    )


def group_status(system: System, group: str | None = None) -> GroupAnswer:
    """The group's lag per partition: what `ledger consume --status` and metrics show."""
    kafka_client.bootstrap(system.settings)
    worker = member(system, group)
    lags = worker.lag()
    return GroupAnswer(
        worker.group,
        worker.topic,
        sum(p.lag for p in lags),
        [PartitionAnswer(p.partition, p.next_offset, p.end_offset, p.lag) for p in lags],
    )


# --- what the metrics endpoint shows -------------------------------------------------------


@dataclass(frozen=True)
class CommittedLag:
    """One partition: the group's offset committed to Kafka against the partition's end."""

    partition: int
    committed: int | None  # None: the group never committed on this partition
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - (self.committed or 0), 0)


@dataclass(frozen=True)
class KafkaLag:
    """The relay's acknowledged position against the log's head (from the ledger's store),
    and the reporting group's committed offsets against the topic's end offsets (from the
    broker: `partitions` is None when it did not answer in time, `error` says why)."""

    relay: RelayAnswer
    group: str
    topic: str
    partitions: list[CommittedLag] | None
    error: str | None = None


def lag_probe(system: System, timeout: float = 1.5) -> kafka_client.LagProbe | None:
    """A broker probe for `kafka_lag`, or None when Kafka is not configured (the embedded
    default: nothing to show, nothing to connect to)."""
    if not system.settings.kafka_bootstrap:
        return None
    return kafka_client.LagProbe(system.settings, timeout)


def kafka_lag(system: System, probe: kafka_client.LagProbe) -> KafkaLag:
    """Where the relay and the reporting group stand, for /metrics. The broker is asked
    through `probe`, whose calls are bounded by its timeout; the relay's position is the
    ledger's own (no broker needed)."""
    settings = system.settings
    relay_now = relay_status(system)
    group, topic = settings.kafka_group, settings.kafka_topic
    try:
        rows = probe.offsets(group, topic)
    except Exception as error:  # noqa: BLE001 - a broker away is a reading, not a failure
        return KafkaLag(relay_now, group, topic, None, f"{type(error).__name__}: {error}")
    return KafkaLag(relay_now, group, topic, [CommittedLag(*row) for row in rows])
