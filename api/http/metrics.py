"""Prometheus metrics for one app: request latency by route template, commands by
outcome, and the projections' position and lag (read when scraped).

Each app has a registry of its own (tests build several apps in one process). With
`ledger serve --workers N` every worker counts its own requests; a scrape reaches one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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
