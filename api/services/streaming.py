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
    return RelayAnswer(state.topic, state.position, state.head, state.lag, state.published, sent)


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
