"""Prometheus metrics for one app: request latency by route template, commands by
outcome, the projections' position and lag (read when scraped), and, when Kafka is
configured, the relay's and the reporting group's lag (read at most every few seconds, in
the background, so a scrape never waits long on a broker that is away).

Each app has a registry of its own (tests build several apps in one process). With
`ledger serve --workers N` every worker counts its own requests; a scrape reaches one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.services.streaming import KafkaLag

log = logging.getLogger("api.http")
access = logging.getLogger("api.http.access")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name, position, head
ProjectionPositions = Callable[[], Iterable[tuple[str, int, int]]]

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]


class _ProjectionCollector(Collector):
    def __init__(self, positions: Callable[[], ProjectionPositions | None]) -> None:
        self._positions = positions

    def collect(self) -> Iterator[Metric]:
        source = self._positions()
        if source is None:
            return
        position = GaugeMetricFamily(
            "ledger_projection_position",
            "Last log position the projection has processed.",
            labels=["projection"],
        )
        lag = GaugeMetricFamily(
            "ledger_projection_lag",
            "Log positions the projection is behind the head.",
            labels=["projection"],
        )
        try:
            rows = list(source())
        except Exception:  # a scrape must not fail because the store is down
            log.warning("projection positions unavailable for /metrics", exc_info=True)
            return
        for name, at, head in rows:
            position.add_metric([name], at)
            lag.add_metric([name], max(head - at, 0))
        yield position
        yield lag


T = TypeVar("T")


class Cached(Generic[T]):
    """The last value `read()` gave, read again in a background thread once it is older
    than `max_age` seconds; a caller waits at most `wait` seconds for a fresh one, else
    gets the previous one (None before any). A failed read keeps the previous value."""

    def __init__(self, read: Callable[[], T], *, max_age: float = 5.0, wait: float = 2.0) -> None:
        self._read = read
        self.max_age, self.wait = max_age, wait
        self._lock = threading.Lock()
        self._value: T | None = None
        self._at: float | None = None
        self._reader: threading.Thread | None = None

    def get(self) -> T | None:
        with self._lock:
            fresh = self._at is not None and time.monotonic() - self._at < self.max_age
            if not fresh and self._reader is None:
                self._reader = threading.Thread(target=self._refresh, daemon=True)
                self._reader.start()
            reader = self._reader
        if not fresh and reader is not None:
            reader.join(self.wait)
        return self._value

    def _refresh(self) -> None:
        value: T | None
        try:
            value = self._read()
        except Exception:  # the store or broker away: keep the last value, try again later
            log.warning("a metrics reading failed", exc_info=True)
            value = self._value
        with self._lock:
            self._value, self._at, self._reader = value, time.monotonic(), None


class _KafkaCollector(Collector):
    def __init__(self, reading: Callable[[], Cached[KafkaLag] | None]) -> None:
        self._reading = reading

    def collect(self) -> Iterator[Metric]:
        cached = self._reading()
        found = cached.get() if cached is not None else None
        if found is None:
            return
        relay = found.relay
        topic = [relay.topic]
        yield _gauge(
            "ledger_kafka_relay_position",
            "Last log position the relay published and the broker acknowledged.",
            ["topic"],
            [(topic, relay.position)],
        )
        yield _gauge(
            "ledger_kafka_relay_lag",
            "Log positions the relay is behind the head of the log.",
            ["topic"],
            [(topic, relay.lag)],
        )
        yield _gauge(
            "ledger_kafka_relay_checkpoint_size",
            "Tree size of the last signed checkpoint the relay published.",
            ["topic"],
            [(topic, relay.checkpoint_size)],
        )
        yield _gauge(
            "ledger_kafka_up",
            "Whether the broker answered the last look at the consumer group (1) or not (0).",
            [],
            [([], 0 if found.partitions is None else 1)],
        )
        if found.partitions is None:
            return
        labels = ["group", "topic", "partition"]
        at = [([found.group, found.topic, str(p.partition)], p) for p in found.partitions]
        yield _gauge(
            "ledger_kafka_consumer_lag",
            "Messages between the group's committed offset and the partition's end.",
            labels,
            [(key, p.lag) for key, p in at],
        )
        yield _gauge(
            "ledger_kafka_consumer_committed_offset",
            "The group's offset committed to Kafka (0: none yet).",
            labels,
            [(key, p.committed or 0) for key, p in at],
        )
        yield _gauge(
            "ledger_kafka_topic_end_offset",
            "The partition's end offset on the broker.",
            ["topic", "partition"],
            [([found.topic, str(p.partition)], p.end) for p in found.partitions],
        )


def _gauge(
    name: str, text: str, labels: list[str], rows: list[tuple[list[str], int]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


class Metrics:
    """The app's registry and instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "ledger_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.commands = Counter(
            "ledger_commands",
            "Commands by kind and outcome (accepted, repeat, refused code).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.positions: ProjectionPositions | None = None
        self.registry.register(_ProjectionCollector(lambda: self.positions))
        self.kafka: Cached[KafkaLag] | None = None  # None: Kafka not configured
        self.registry.register(_KafkaCollector(lambda: self.kafka))

    def command(self, kind: str, outcome: str) -> None:
        self.commands.labels(kind, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request under its route template (never the concrete path, which
    may hold an id) and writes the access log line: no query string, so no NIK."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the caller gets if the app raises before answering

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "(unmatched)"
            self.metrics.latency.labels(scope["method"], route, str(status)).observe(elapsed)
            access.info("%s %s %d %.1fms", scope["method"], route, status, elapsed * 1000)
