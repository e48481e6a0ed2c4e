"""A small closed-loop HTTP load generator: N threads, each with a keep-alive
connection, each sending its next request as soon as the last one was answered.

Bounded in count and in time, loopback only (the benchmark starts the servers it
drives). Every target is driven the same way, so the ratios between them are fair even
though a Python client is itself part of what is measured.
"""

from __future__ import annotations

import http.client
import itertools
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# (method, path, body or None) for the i-th request
Request = tuple[str, str, bytes | None]
Plan = Callable[[int], Request]
OnAnswer = Callable[[int, int, bytes], None]


@dataclass(frozen=True)
class LoadResult:
    """One run against one target."""

    name: str
    requests: int
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: tuple[float, ...] = ()

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500 or status == 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "p50_ms": round(self.percentile(0.50), 3),
            "p99_ms": round(self.percentile(0.99), 3),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def drive(
    name: str,
    base_url: str,
    plan: Plan,
    *,
    concurrency: int,
    seconds: float,
    limit: int,
    headers: dict[str, str] | None = None,
    on_answer: OnAnswer | None = None,
) -> LoadResult:
    """Send up to `limit` requests from `concurrency` threads for at most `seconds`."""
    target = urlsplit(base_url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    sent = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    deadline = time.perf_counter() + seconds
    common = {"Content-Type": "application/json", **(headers or {})}

    def worker() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        mine: list[float] = []
        seen: Counter[int] = Counter()
        try:
            while time.perf_counter() < deadline:
                index = next(sent)
                if index >= limit:
                    break
                method, path, body = plan(index)
                start = time.perf_counter()
                try:
                    connection.request(method, path, body=body, headers=common)
                    response = connection.getresponse()
                    payload = response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection(host, port, timeout=30)
                    status, payload = 0, b""
                mine.append((time.perf_counter() - start) * 1000)
                seen[status] += 1
                if on_answer is not None:
                    on_answer(index, status, payload)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)
                statuses.update(seen)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return LoadResult(name, len(latencies), elapsed, dict(statuses), tuple(latencies))


def median_of(results: list[LoadResult]) -> dict[str, Any]:
    """The medians over repeats of one target (rate, p50, p99), with their spread."""
    rates = [r.rate for r in results]
    return {
        "name": results[0].name,
        "repeats": len(results),
        "rates": rates,
        "rate": statistics.median(rates),
        "rate_min": min(rates),
        "rate_max": max(rates),
        "p50_ms": statistics.median(r.percentile(0.5) for r in results),
        "p99_ms": statistics.median(r.percentile(0.99) for r in results),
        "requests": sum(r.requests for r in results),
        "errors": sum(r.errors for r in results),
    }
